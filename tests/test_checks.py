"""The checks behind the test cells: reading them, probing, judging, references, shortcuts."""

from __future__ import annotations

import json
import linecache
import shutil
import warnings
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcourse.course import find_root as course_root
from gdcourse.grading import check
from gdcourse.grading.checks import (
    CheckCall,
    get_spec,
    judge_case,
    parse_check_call,
    probe_safely,
    public_reference,
    run_check,
)
from gdcourse.grading.framework import hint_for
from gdcourse.grading.masters import load_reference
from gdcourse.grading.protocol import dumps
from gdcourse.grading.shortcuts import Watch

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = sorted(
    p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
)
_cells = count()


def cell(source: str) -> dict[str, Any]:
    """Run ``source`` like a notebook cell (its source registered in linecache)."""
    filename = f"<test-cell-{next(_cells)}>"
    lines = source.splitlines(keepends=True)
    linecache.cache[filename] = (len(source), None, lines, filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def master_calls(assignment: str) -> list[CheckCall]:
    notebook = json.loads((ROOT / "solutions" / assignment / f"{assignment}.ipynb").read_text())
    return [
        parse_check_call("".join(c["source"]))
        for c in notebook["cells"]
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]


ALL_CALLS = [(a, call) for a in ASSIGNMENTS for call in master_calls(a)]
FUNCTIONS = sorted({(a, call.function) for a, call in ALL_CALLS})


def cases_of(assignment: str, function: str) -> list[dict[str, Any]]:
    return [
        case
        for a, call in ALL_CALLS
        if a == assignment and call.function == function
        for case in call.cases
    ]


# ------------------------------------------------------------------ reading test cells

GOOD_CELL = '''"""mse is the mean of squared differences."""
### BEGIN HIDDEN TESTS
from gdcourse.grading import check

check("ps3_linear_regression", "mse", mse, cases=[{"y_pred": [1.0], "y": [0.0]}], hidden=True)
### END HIDDEN TESTS
'''


def test_parse_check_call_reads_the_literal_call() -> None:
    call = parse_check_call(GOOD_CELL)
    assert call == CheckCall("ps3_linear_regression", "mse", [{"y_pred": [1.0], "y": [0.0]}], True)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n" + GOOD_CELL, "only a docstring"),
        (GOOD_CELL + "\nprint(1)\n", "only a docstring"),
        ('check("ps3_linear_regression", "mse", mse, cases=CASES)', "Python literals"),
        ('check("ps3_linear_regression", "mse", other, cases=[{}])', "function 'mse' itself"),
        ('check("ps3_linear_regression", "mse", mse, cases=[])', "non-empty list"),
        ('check("ps3_linear_regression", "mse", mse, cases=[{}], hidden=1)', "True or False"),
        ('check("ps3_linear_regression", "mse", mse, cases=[{}], extra=2)', "keywords"),
        ('"""doc"""\n', "exactly one check"),
        ("check(", "not valid Python"),
    ],
)
def test_parse_check_call_rejects_anything_else(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_check_call(source)


@pytest.mark.parametrize(
    ("assignment", "call"), ALL_CALLS, ids=lambda v: getattr(v, "function", v)
)
def test_every_master_test_cell_names_a_spec(assignment: str, call: CheckCall) -> None:
    assert call.assignment == assignment
    assert get_spec(assignment, call.function).function == call.function


def test_get_spec_explains_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown assignment 'ps0_nothing'.*ps1_gradients"):
        get_spec("ps0_nothing", "f")
    with pytest.raises(ValueError, match="no graded function 'fitt'.*predict, mse"):
        get_spec("ps3_linear_regression", "fitt")
    with pytest.raises(ValueError, match="assignment must be"):
        get_spec("../etc", "f")


# ------------------------------------------------------------------ references agree


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_public_reference_agrees_with_the_master_on_every_case(
    assignment: str, function: str
) -> None:
    """Visible checks (closed forms, library) and hidden ones (master) expect the same."""
    spec = get_spec(assignment, function)
    reference = load_reference(assignment, function, ROOT)
    for case in cases_of(assignment, function):
        public = probe_safely(spec, public_reference(spec), case)
        verdict = judge_case(spec, case, public, reference)
        assert verdict.passed, verdict.message


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_every_variant_is_caught_and_named_by_the_masters_cases(
    assignment: str, function: str
) -> None:
    """Each misconception loses points on the master's cases, and its feedback names it."""
    spec = get_spec(assignment, function)
    reference = load_reference(assignment, function, ROOT)
    cases = cases_of(assignment, function)
    visible = [c for a, call in ALL_CALLS if a == assignment and call.function == function
               and not call.hidden for c in call.cases]  # fmt: skip
    for misconception, variant in spec.variants.items():
        verdicts = [judge_case(spec, c, probe_safely(spec, variant, c), reference) for c in cases]
        failed = [v for v in verdicts if not v.passed]
        assert failed, f"{misconception} passes every case of {function}"
        assert any(v.misconception == misconception for v in failed), (
            misconception,
            [v.message for v in failed],
        )
        named = next(v for v in failed if v.misconception == misconception)
        assert f"Hint: {hint_for(spec, misconception)}" in named.message
        assert "expected" in named.message and "got" in named.message
    assert visible, f"{function} has no visible cases"


# ------------------------------------------------------------------ notebook checks

FIT_FLOAT32 = """
import numpy as np


def fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    w, b = np.float32(w0), np.float32(b0)
    losses = []
    for _ in range(epochs):
        r = b + w * x - y
        losses.append(float(np.mean(r * r)))
        w, b = w - learn_rate * 2 * np.mean(r * x), b - learn_rate * 2 * np.mean(r)
    return float(w), float(b), losses
"""

MSE_WARNS = """
import warnings

import numpy as np


def mse(y_pred, y):
    warnings.warn("a chatty but correct implementation", RuntimeWarning, stacklevel=1)
    print("computing...")
    return float(np.mean((np.asarray(y_pred) - np.asarray(y)) ** 2))
"""


def test_correct_float32_work_passes_visible_and_hidden_checks(monkeypatch: Any) -> None:
    monkeypatch.setenv("GDCOURSE_ROOT", str(ROOT))
    fit = cell(FIT_FLOAT32)["fit"]
    for call in master_calls("ps3_linear_regression"):
        if call.function == "fit":
            check("ps3_linear_regression", "fit", fit, cases=call.cases, hidden=call.hidden)


def test_warnings_and_prints_of_correct_code_cost_nothing(monkeypatch: Any) -> None:
    monkeypatch.setenv("GDCOURSE_ROOT", str(ROOT))
    mse = cell(MSE_WARNS)["mse"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as strict as pytest: the check must silence them
        for call in master_calls("ps3_linear_regression"):
            if call.function == "mse":
                check("ps3_linear_regression", "mse", mse, cases=call.cases, hidden=call.hidden)


def test_a_failing_check_teaches() -> None:
    gradient = cell(
        "def mse_gradient(x, y, w, b):\n"
        "    import numpy as np\n"
        "    r = b + w * np.asarray(x) - np.asarray(y)\n"
        "    return float(np.mean(r)) * 2, float(np.mean(r * x)) * 2\n"
    )["mse_gradient"]
    case = {"x": [1.0, 2.0], "y": [0.0, 0.0], "w": 0.0, "b": 1.0}
    with pytest.raises(AssertionError) as failure:
        run_check("ps3_linear_regression", "mse_gradient", gradient, cases=[case], hidden=False)
    message = str(failure.value)
    assert "1 of 1 visible checks failed" in message
    assert "Checked: mse_gradient(x=[1.0, 2.0], y=[0.0, 0.0], w=0.0, b=1.0)" in message
    assert "dw: expected 3.0" in message and "got 2.0" in message
    hint = hint_for(get_spec("ps3_linear_regression", "mse_gradient"), "dw_db_swapped")
    assert f"Hint: {hint}" in message and "dw_db_swapped" not in message


def test_unwritten_function_says_so() -> None:
    predict = cell("def predict(x, w, b):\n    raise NotImplementedError()\n")["predict"]
    with pytest.raises(AssertionError, match="not written yet"):
        check("ps3_linear_regression", "predict", predict, cases=[{"x": [1.0], "w": 1, "b": 0}])


def test_shortcuts_earn_no_credit_even_when_right() -> None:
    fit = cell(
        "import numpy as np\n\n\n"
        "def fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
        "    w, b = np.polyfit(x, y, 1)\n"
        "    return float(w), float(b), []\n"
    )["fit"]
    case = {"x": [0.0, 1.0], "y": [1.0, 3.0], "learn_rate": 0.1, "epochs": 0}
    with pytest.raises(AssertionError, match=r"uses numpy\.polyfit, which .* no credit"):
        check("ps3_linear_regression", "fit", fit, cases=[case])


def test_check_refuses_a_non_function() -> None:
    with pytest.raises(AssertionError, match="must be a function"):
        check("ps3_linear_regression", "mse", 3.0, cases=[{"y_pred": [1.0], "y": [1.0]}])


# ------------------------------------------------------------------ probing and judging


def test_probe_safely_turns_every_failure_into_data() -> None:
    spec = get_spec("ps3_linear_regression", "mse")
    raised = probe_safely(spec, lambda y_pred, y: 1 / 0, {"y_pred": [1.0], "y": [1.0]})
    assert raised["raised"]["types"][0] == "ZeroDivisionError"
    broken = probe_safely(spec, lambda y_pred, y: 0.0, {"no": "inputs"})
    assert broken["__error__"].startswith("KeyError")
    json.dumps(raised)


def test_judge_case_survives_malformed_student_data() -> None:
    spec = get_spec("ps3_linear_regression", "mse")
    reference = load_reference("ps3_linear_regression", "mse", ROOT)
    case = {"y_pred": [1.0], "y": [0.0]}
    for bad in [
        {"output": {"__kind__": "ndarray", "dtype": "float64", "shape": [5], "data": [1]}},
        {"__error__": "TimeoutError: too slow"},
        {"output": {"__kind__": "tensor", "dtype": "float32", "shape": [], "data": [1.0]}},
        {"output": "1.0", "raised": None, "modified": []},
        {"output": {"__kind__": "npscalar", "dtype": "float64", "value": 1.0}, "modified": 5},
        [1, 2, 3],
    ]:
        verdict = judge_case(spec, case, bad, reference)
        assert not verdict.passed
        assert "Checked: mse(" in verdict.message


def test_judge_case_accepts_the_json_round_trip() -> None:
    spec = get_spec("ps2_gradient_descent", "gradient_descent")
    reference = load_reference("ps2_gradient_descent", "gradient_descent", ROOT)
    case = {"gradient": "shifted_bowl", "start": [10.0, 10.0], "learn_rate": 0.1, "max_iter": 100}
    data = probe_safely(spec, reference, case)
    assert judge_case(spec, case, json.loads(json.dumps(data)), reference).passed
    assert json.loads(dumps(spec.probe(reference, case)))["raised"] is None


# ------------------------------------------------------------------ the master's reference


def test_load_reference_finds_the_course_root(tmp_path: Path, monkeypatch: Any) -> None:
    course = tmp_path / "course"
    (course / "solutions").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(
        ROOT / "solutions" / "ps3_linear_regression",
        course / "solutions" / "ps3_linear_regression",
    )
    deep = course / "autograded" / "alice" / "ps3_linear_regression"
    deep.mkdir(parents=True)
    monkeypatch.delenv("GDCOURSE_ROOT", raising=False)
    monkeypatch.chdir(deep)
    assert course_root() == course.resolve()
    predict = load_reference("ps3_linear_regression", "predict")
    assert predict(np.array([1.0, 2.0]), 2.0, 1.0).tolist() == [3.0, 5.0]
    with pytest.raises(LookupError, match="no solution cell with grade_id 'nothing'"):
        load_reference("ps3_linear_regression", "nothing")
    with pytest.raises(FileNotFoundError, match="no master notebook"):
        load_reference("ps9_missing", "f")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="set GDCOURSE_ROOT"):
        course_root()
    monkeypatch.setenv("GDCOURSE_ROOT", str(course))
    assert course_root() == course.resolve()


def test_load_reference_runs_only_setup_and_the_function_cell() -> None:
    fit = load_reference("ps3_linear_regression", "fit", ROOT)
    assert "mse_gradient" not in fit.__globals__  # self-contained: no other solution ran
    assert "x_data" in fit.__globals__  # the setup cell ran


# ------------------------------------------------------------------ shortcuts


WATCHED = {
    "attribute": "def f(x):\n    return np.polyfit(x, x, 1)",
    "alias": "def f(x):\n    from numpy import polyfit as p\n    return p(x, x, 1)",
    "built name": "def f(x):\n    return getattr(np, 'poly' + 'fit')(x, x, 1)",
    "importlib": "def f(x):\n    import importlib\n"
    "    return importlib.import_module('num' + 'py').polyfit(x, x, 1)",
    "exec": "def f(x):\n    scope = {'np': np, 'x': x}\n"
    "    exec('r = np.polyfit(x, x, 1)', scope)\n    return scope['r']",
    "sys.modules": "def f(x):\n    import sys\n    return sys.modules['numpy'].polyfit(x, x, 1)",
}


@pytest.mark.parametrize("spelling", sorted(WATCHED))
def test_a_shortcut_is_seen_at_run_time_whatever_its_spelling(spelling: str) -> None:
    fn = cell("import numpy as np\n" + WATCHED[spelling])["f"]
    with Watch(["numpy.polyfit"], fn.__globals__) as watch:
        fn(np.arange(3.0))
    assert watch.found == ["numpy.polyfit"]


def test_a_name_is_not_a_use() -> None:
    """A variable called grad is not autograd; a string naming a module uses nothing."""
    fn = cell(
        "import numpy as np\ndef f(x):\n    grad = np.zeros_like(x)\n"
        "    optim = 'torch.optim'\n    return grad\n"
    )["f"]
    with Watch(["torch.autograd", "torch.optim", "numpy.polyfit"]) as watch:
        fn(np.arange(3.0))
    assert watch.found == []


def test_the_data_sets_are_not_the_library_s_algorithms() -> None:
    fn = cell("from gdcourse.datasets import thermometer\ndef f():\n    return thermometer()")["f"]
    with Watch(["gdcourse"]) as watch:
        fn()
    assert watch.found == []
    use = cell("from gdcourse import objectives\ndef f(x):\n    return objectives.mse(x, x)")["f"]
    with Watch(["gdcourse"]) as watch:
        use(np.arange(3.0))
    assert watch.found == ["gdcourse"]


def test_a_student_s_own_banned_function_is_seen() -> None:
    namespace = cell("def helper(x):\n    return x\ndef f(x):\n    return helper(x)")
    with Watch(["student:helper"], namespace) as watch:
        namespace["f"](1)
    assert watch.found == ["student:helper"]


def test_check_names_the_shortcut_and_gives_no_credit() -> None:
    fn = cell(
        "import numpy as np\ndef fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
        "    w, b = np.polyfit(x, y, 1)\n    return float(w), float(b), [0.0] * epochs\n"
    )["fit"]
    case = cases_of("ps3_linear_regression", "fit")[0]
    with pytest.raises(AssertionError, match="fit uses numpy.polyfit, which this exercise asks"):
        check("ps3_linear_regression", "fit", fn, cases=[case])


def test_every_spec_forbids_gdcourse_itself() -> None:
    for assignment, function in FUNCTIONS:
        spec = get_spec(assignment, function)
        assert any(rule == "gdcourse" for rule in spec.banned), (assignment, function)


def test_a_builtin_as_the_function_is_judged_like_any_other() -> None:
    spec = get_spec("ps3_linear_regression", "mse")
    assert callable(public_reference(spec))
    fn: Callable[..., Any] = max
    with pytest.raises(AssertionError):
        check("ps3_linear_regression", "mse", fn, cases=[{"y_pred": [1.0], "y": [0.0]}])
