"""The judge framework: verdicts and their text, tolerances, bans, and hostile student data.

Hidden feedback must not carry a case's inputs, the expected values, the student's values
or an exception's message (student code can copy hidden inputs into one); visible
feedback keeps all of them. Tolerances come from the case or the expected value, never
from what the student returned. Whatever the student's process sends back, every judge
returns a failing verdict instead of raising.
"""

from __future__ import annotations

import builtins
import json
import linecache
import math
import re
from collections.abc import Callable
from itertools import count
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcourse.grading import check, checks, masters
from gdcourse.grading.framework import (
    COULD_NOT_RUN,
    NOT_WRITTEN_HINT,
    SHORTCUTS,
    Spec,
    Tolerance,
    Verdict,
    check_banned,
    first_difference,
    format_verdict,
    hint_for,
)
from gdcourse.grading.misconceptions import MISCONCEPTIONS
from gdcourse.grading.probes import ps3_linear_regression as ps3_probes
from gdcourse.grading.protocol import Foreign, Tensor

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = checks.known_assignments()
_cells = count()


def _calls(assignment: str) -> list[checks.CheckCall]:
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        checks.parse_check_call("".join(c["source"]))
        for c in cells
        if c.get("metadata", {}).get("nbgrader", {}).get("grade")
    ]


CALLS = [(a, call) for a in ASSIGNMENTS for call in _calls(a)]
FUNCTIONS = sorted({(a, call.function) for a, call in CALLS})


def _cases(assignment: str, function: str, hidden: bool | None = None) -> list[dict[str, Any]]:
    return [
        case
        for a, call in CALLS
        if a == assignment and call.function == function and hidden in (None, call.hidden)
        for case in call.cases
    ]


def cell(source: str) -> dict[str, Any]:
    """Run ``source`` like a notebook cell (its source registered in linecache)."""
    filename = f"<framework-cell-{next(_cells)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


# ------------------------------------------------------------------ the text of a verdict

SAFE_PROBLEMS = {
    "wrong value",
    "not a finite number",
    "wrong shape",
    "wrong dtype",
    "wrong type",
    "wrong length",
    "missing",
    "argument changed in place",
    "not written yet",
    "could not be run",
    "returned a result where an exception is expected",
    "wrong batch sizes",
    "rows missing, repeated or mismatched",
    "not shuffled",
    "not reproducible",
    "the seed is not used",
    "wrong parameters",
}
RAISED = re.compile(r"raised (an|the wrong) exception \((\w+)\)")


def _safe_problem(problem: str) -> bool:
    if problem in SAFE_PROBLEMS:
        return True
    match = RAISED.fullmatch(problem)
    return match is not None and (
        match.group(2) == "an exception"
        or isinstance(getattr(builtins, match.group(2), None), type)
    )


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _telling(case: dict[str, Any]) -> list[str]:
    """Texts of a case's values that would give it away (not small integers like 1)."""
    texts = []
    for leaf in _leaves(case):
        if isinstance(leaf, float) and not leaf.is_integer():
            texts.append(repr(leaf))
        elif isinstance(leaf, str) and len(leaf) > 3:
            texts.append(leaf)
    return texts


def test_format_verdict_visible_and_hidden() -> None:
    case = {"y_pred": [1.5, 2.5], "y": [0.25, 0.0]}
    verdict = Verdict(
        False,
        "the result",
        "3.3125",
        "6.625",
        "wrong value",
        "sum_instead_of_mean",
        MISCONCEPTIONS["sum_instead_of_mean"].hint,
    )
    visible = format_verdict("mse", case, verdict, hidden=False, index=1)
    assert visible.splitlines() == [
        "Checked: mse(y_pred=[1.5, 2.5], y=[0.25, 0.0])",
        "  the result: expected 3.3125",
        "              got 6.625",
        f"Hint: {MISCONCEPTIONS['sum_instead_of_mean'].hint}",
    ]
    hidden = format_verdict("mse", case, verdict, hidden=True, index=3)
    assert hidden.splitlines() == [
        "Hidden case 3: the result: wrong value.",
        f"Hint: {MISCONCEPTIONS['sum_instead_of_mean'].hint}",
    ]
    for secret in ("1.5", "2.5", "0.25", "3.3125", "6.625", "y_pred"):
        assert secret not in hidden
    assert format_verdict("mse", case, Verdict(True), hidden=True, index=2) == (
        "Hidden case 2: correct."
    )
    assert format_verdict("mse", case, Verdict(True), hidden=False, index=2) == (
        "Checked: mse(y_pred=[1.5, 2.5], y=[0.25, 0.0]): correct."
    )
    broken = Verdict(False, "your function", "", "KeyError: 'x'", COULD_NOT_RUN, None, "hint.")
    assert format_verdict("mse", case, broken, hidden=False, index=1).splitlines()[1:] == [
        "The check could not run your function: KeyError: 'x'",
        "Hint: hint.",
    ]
    assert format_verdict("mse", case, broken, hidden=True, index=1).splitlines() == [
        "Hidden case 1: your function: could not be run.",
        "Hint: hint.",
    ]


def _variant_verdicts(assignment: str, function: str) -> list[tuple[dict[str, Any], Verdict]]:
    """(case, verdict) for every variant, and for a function that returns nothing and one
    not written yet, on every case, against the public reference."""
    spec = checks.get_spec(assignment, function)
    reference = checks.public_reference(spec)

    def unwritten(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError()

    judged = []
    for variant in [*spec.variants.values(), lambda *args, **kwargs: None, unwritten]:
        for case in _cases(assignment, function):
            student = checks.probe_safely(spec, variant, case)
            judged.append((case, checks.judge_case(spec, case, student, reference)))
    return judged


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_hidden_text_is_made_of_safe_parts_only(assignment: str, function: str) -> None:
    """For every variant on every case, the hidden text is the place, a known kind of
    problem and the hint: no input, expected value or returned value."""
    spec = checks.get_spec(assignment, function)
    hints = {spec.hint, NOT_WRITTEN_HINT} | {hint_for(spec, name) for name in MISCONCEPTIONS}
    failed = 0
    for index, (case, verdict) in enumerate(_variant_verdicts(assignment, function), start=1):
        if verdict.passed:
            continue
        failed += 1
        text = format_verdict(function, case, verdict, hidden=True, index=index)
        first, hint = text.split("\n")
        assert first == f"Hidden case {index}: {verdict.where}: {verdict.problem}."
        assert _safe_problem(verdict.problem), verdict.problem
        assert hint.removeprefix("Hint: ") in hints
        for secret in _telling(case):
            assert secret not in first, (secret, first)
        for secret in (verdict.expected, verdict.got):
            if len(secret) > 3:
                assert secret not in text, (secret, text)
        assert "=" not in verdict.where, verdict.where
    assert failed


LEAKY_MSE = '''
import numpy as np


def mse(y_pred, y):
    """Puts the hidden inputs into its exception's class name and message."""
    leak = "_".join(str(v).replace(".", "p").replace("-", "m") for v in np.ravel(y_pred))
    raise type("Leak_" + leak, (ValueError,), {})(f"inputs were {list(y_pred)} and {list(y)}")
'''


def test_hidden_feedback_hides_what_the_students_exception_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GDCOURSE_ROOT", str(ROOT))
    mse = cell(LEAKY_MSE)["mse"]
    call = next(c for a, c in CALLS if c.function == "mse" and c.hidden)
    with pytest.raises(AssertionError) as failure:
        check("ps3_linear_regression", "mse", mse, cases=call.cases, hidden=True)
    text = str(failure.value)
    assert "Hidden case 1: what the call does: raised an exception (ValueError)." in text
    assert "Leak" not in text and "inputs were" not in text and "Checked" not in text
    for case in call.cases:
        for secret in _telling(case):
            assert secret not in text
    # the same mistake on a visible case shows everything, for the student to debug
    visible = next(c for a, c in CALLS if c.function == "mse" and not c.hidden)
    with pytest.raises(AssertionError) as failure:
        check("ps3_linear_regression", "mse", mse, cases=visible.cases)
    assert "inputs were" in str(failure.value) and "Checked: mse(" in str(failure.value)


SUM_MSE = """
import numpy as np


def mse(y_pred, y):
    return float(np.sum((y_pred - y) ** 2))
"""


def test_run_check_writes_hidden_text_for_hidden_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GDCOURSE_ROOT", str(ROOT))
    mse = cell(SUM_MSE)["mse"]
    call = next(c for a, c in CALLS if c.function == "mse" and c.hidden)
    with pytest.raises(AssertionError) as failure:
        check("ps3_linear_regression", "mse", mse, cases=call.cases, hidden=True)
    text = str(failure.value)
    assert re.match(rf"mse: \d of {len(call.cases)} hidden checks failed\.\n\nHidden case ", text)
    assert "Hidden case 1: the result: wrong value.\nHint: " in text
    assert "Checked" not in text and "expected" not in text and "got" not in text


# ------------------------------------------------------------------ tolerances


def test_tolerance_comes_from_the_case_or_the_expected_value() -> None:
    # a float16 answer does not loosen the check of a float64 expectation ...
    assert first_difference(2.0, np.float16(2.001953125)) is not None
    assert first_difference(np.array([2.0]), np.array([2.001953125], dtype=np.float16)) is not None
    # ... while the instructor's case dtype, or a float32 expectation, does
    assert first_difference(2.0, np.float16(2.001953125), case_dtype="float16") is None
    # a float16 result is of the wrong dtype even where it happens to be exact
    for exact in (np.float16(2.0), np.array([2.0, 0.5], dtype=np.float16)):
        expected = 2.0 if exact.ndim == 0 else np.array([2.0, 0.5])
        verdict = first_difference(expected, exact)
        assert verdict is not None and verdict.problem == "wrong dtype", verdict
        assert verdict.where == "the dtype of the result" and verdict.got == "float16"
    assert first_difference(np.float16(2.0), np.float16(2.0)) is None
    assert first_difference(2.0, np.float32(2.0)) is None  # float32 work stays accepted
    assert first_difference(np.float32(2.0), 2.0001) is None
    assert first_difference(np.float32(2.0), 2.001) is not None
    spec_tolerances = {"float64": Tolerance(rtol=1e-3, atol=0.0)}
    assert first_difference(2.0, 2.001, tolerances=spec_tolerances) is None


def test_a_float16_answer_with_a_wrong_learning_rate_fails() -> None:
    """ps4: the learning rate off by 0.3 %, returned as np.float16, fails every case that
    trains; judged with float16's tolerance (the old rule took the looser of expected and
    returned dtype) the same answer would have passed."""
    spec = checks.get_spec("ps4_autograd", "train_autograd")
    master = masters.load_reference("ps4_autograd", "train_autograd", ROOT)

    def off(x: Any, y: Any, learn_rate: float, epochs: int, **start: float) -> Any:
        w, b, losses = master(x, y, learn_rate * 1.003, epochs, **start)
        return np.float16(w), np.float16(b), [np.float16(loss) for loss in losses]

    def rounded_off(*args: Any, **start: float) -> Any:
        w, b, losses = off(*args, **start)
        return float(w), float(b), [float(loss) for loss in losses]

    cases = [c for c in _cases("ps4_autograd", "train_autograd") if c["epochs"] > 0]
    assert cases
    for case in cases:
        student = json.loads(json.dumps(checks.probe_safely(spec, off, case), allow_nan=True))
        assert not checks.judge_case(spec, case, student, master).passed, case
        reference = checks.probe_safely(spec, master, case)
        loose = {dtype: Tolerance(rtol=1e-2, atol=1e-3) for dtype in ("float32", "float64")}
        old_rule = Spec(
            function="train_autograd",
            probe=spec.probe,
            reference=master,
            tolerances=loose,
        )
        # the same float16-rounded values, handed back as Python floats (a float16 result is
        # now of the wrong dtype before any value is compared)
        rounded = json.loads(json.dumps(checks.probe_safely(spec, rounded_off, case)))
        decoded = {k: checks.decoded(v) for k, v in (("s", rounded), ("r", reference))}
        assert old_rule.judge(case, decoded["s"], decoded["r"], {}).passed, case


# ------------------------------------------------------------------ bans and names


def test_shortcut_names_are_exactly_the_guards() -> None:
    assert set(SHORTCUTS) == {
        "gdcourse",
        "torch.optim",
        "torch.nn",
        "torch.autograd",
        "torch.func",
        "numpy.polyfit",
        "numpy.polynomial",
        "numpy.linalg.lstsq",
        "numpy.linalg.solve",
        "numpy.linalg.inv",
        "numpy.linalg.pinv",
        "numpy.gradient",
        "scipy",
        "sklearn",
        "jax",
        "autograd",
    }


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_every_spec_bans_only_known_shortcuts(assignment: str, function: str) -> None:
    banned = checks.get_spec(assignment, function).banned
    check_banned(function, banned)
    assert "gdcourse" in banned
    for name in banned:
        assert name in SHORTCUTS or name.removeprefix("student:") in {f for _, f in FUNCTIONS}


@pytest.mark.parametrize(
    "banned", [[".backward"], ["scipy.optimize"], ["numerical_gradient"], ["student:"], "scipy"]
)
def test_unknown_bans_are_refused_at_definition(banned: Any) -> None:
    with pytest.raises(ValueError, match="spec of f: banned"):
        Spec(function="f", probe=ps3_probes.PROBES["mse"], reference=max, banned=banned)


@pytest.mark.parametrize("field", ["variants", "hints", "variant_tolerances"])
def test_unknown_misconceptions_are_refused_at_definition(field: str) -> None:
    value = {"sum_instead_of_the_mean": max if field == "variants" else "x"}
    if field == "variant_tolerances":
        value = {"sum_instead_of_the_mean": Tolerance(1.0, 1.0)}  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=f"spec of f: {field}: unknown misconception"):
        Spec(function="f", probe=ps3_probes.PROBES["mse"], reference=max, **{field: value})


def test_a_spec_words_a_registered_hint_its_own_way() -> None:
    ps4 = checks.get_spec("ps4_autograd", "train_autograd")
    ps3 = checks.get_spec("ps3_linear_regression", "mse")
    assert "((prediction - y) ** 2).mean()" in hint_for(ps4, "sum_instead_of_mean")
    assert hint_for(ps3, "sum_instead_of_mean") == MISCONCEPTIONS["sum_instead_of_mean"].hint


@pytest.mark.parametrize(
    ("function", "source", "found"),
    [
        (
            "numerical_gradient",
            "import numpy as np\n\ndef numerical_gradient(f, x, h=1e-5):\n"
            "    grad = np.zeros_like(x)\n    backward = grad\n    return grad\n",
            [],
        ),
        (
            "numerical_gradient",
            "import numpy as np, torch\n\ndef numerical_gradient(f, x, h=1e-5):\n"
            "    t = torch.tensor(np.asarray(x, dtype=float), requires_grad=True)\n"
            "    (t * t).sum().backward()\n    return t.grad.numpy()\n",
            ["torch.autograd"],
        ),
        (
            "autograd_gradient",
            "def numerical_gradient(f, x, h=1e-5):\n    return x\n\n"
            "def autograd_gradient(f, x):\n    return numerical_gradient(f, x)\n",
            ["student:numerical_gradient"],
        ),
    ],
)
def test_ps1_bans_are_seen_on_what_the_code_does(
    function: str, source: str, found: list[str]
) -> None:
    """A variable named grad or backward is no use of autograd; calling backward() is."""
    from gdcourse.grading.shortcuts import Watch

    spec = checks.get_spec("ps1_gradients", function)
    namespace: dict[str, Any] = {}
    exec(compile(source, "<cell>", "exec"), namespace)
    with Watch(spec.banned, namespace) as watch:
        namespace[function](lambda v: float((v * v).sum()), [1.0, 2.0])
    assert watch.found == found


# ------------------------------------------------------------------ hostile student data


def _deep(levels: int) -> Any:
    value: Any = 1.0
    for _ in range(levels):
        value = [value]
    return value


HOSTILE_RAW: list[Any] = [
    None,
    "1.0",
    [1, 2, 3],
    _deep(10_000),
    {"output": _deep(5_000), "raised": None, "modified": []},
    {"output": {"__kind__": "ndarray", "dtype": "float64", "shape": [1], "data": [10**400]}},
    {"output": {"__kind__": "ndarray", "dtype": "complex128", "shape": [1], "data": [1.0]}},
    {"output": {"__kind__": "ndarray", "dtype": "datetime64", "shape": [1], "data": [1]}},
    {"output": {"__kind__": "ndarray", "dtype": "nonsense", "shape": [1], "data": [1]}},
    {"output": {"__kind__": "npscalar", "dtype": "int8", "value": 10**6}},
    {"output": {"__kind__": "tuple", "items": 5}},
    {"output": 10**400, "raised": None, "modified": []},
    {"output": float("nan"), "raised": None, "modified": []},
    {"output": [float("inf")] * 100_000, "raised": None, "modified": []},
    {"output": "x" * 1_000_000, "raised": None, "modified": []},
    {"output": None, "raised": {"types": [7], "message": None}, "modified": []},
    {"output": None, "raised": {"types": ["E" * 10_000] * 10_000, "message": "m" * 10**6}},
    {"output": None, "raised": "ValueError", "modified": []},
    {"output": None, "raised": None, "modified": [["x"]]},
    {"__error__": {"nested": [1, 2]}},
]


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_hostile_raw_data_gets_a_failing_verdict(assignment: str, function: str) -> None:
    spec = checks.get_spec(assignment, function)
    case = _cases(assignment, function, hidden=False)[0]
    reference = checks.public_reference(spec)
    for index, raw in enumerate(HOSTILE_RAW, start=1):
        verdict = checks.judge_case(spec, case, raw, reference, hidden=True, index=index)
        assert not verdict.passed, raw if len(repr(raw)) < 200 else index
        assert verdict.message.startswith(f"Hidden case {index}: ")
        assert len(verdict.message) < 2_000
        visible = format_verdict(function, case, verdict, hidden=False, index=index)
        assert visible.startswith("Checked: ") and len(visible) < 5_000


def _random_value(rng: np.random.Generator, depth: int = 0) -> Any:
    kind = int(rng.integers(0, 14 if depth < 4 else 10))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind == 2:
        return int(rng.choice([0, -1, 7, 2**63, 10**400]))
    if kind == 3:
        return float(rng.choice([0.0, -0.0, 1.5, math.nan, math.inf, -math.inf, 1e308]))
    if kind == 4:
        return str(rng.choice(["", "ValueError", "x" * 500, "NotImplementedError"]))
    if kind == 5:
        dtype = str(rng.choice(["float64", "float32", "float16", "int64", "bool", "int8"]))
        shape = [tuple(), (0,), (3,), (2, 2), (1000,)][int(rng.integers(0, 5))]
        return (rng.normal(size=shape) * 10).astype(dtype)
    if kind == 6:
        return np.float16(rng.normal())
    if kind == 7:
        array = rng.normal(size=(int(rng.integers(0, 4)),)).astype(np.float32)
        return Tensor(array, str(rng.choice(["float32", "float64", "int8"])), True)
    if kind == 8:
        return Foreign(str(rng.choice(["torch.Tensor", "x" * 300])))
    if kind == 9:
        return int(rng.integers(-1, 20))
    items = [_random_value(rng, depth + 1) for _ in range(int(rng.integers(0, 5)))]
    if kind == 10:
        return items
    if kind == 11:
        return tuple(items)
    keys = [
        "output", "raised", "modified", "losses", "W", "b", "rows_drawn", "first", "again",
        "other_seed", "is_data_loader", "is_module", "is_linear", "parameters", "forward",
        "weight", "bias", "input", "in_features", "out_features", "types", "message", "type",
    ]  # fmt: skip
    return {str(rng.choice(keys)): item for item in items}


def _mutate(value: Any, rng: np.random.Generator) -> Any:
    """``value`` (decoded probe data) with one random part replaced by a random value."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = list(value)[int(rng.integers(0, len(value)))]
        return {**value, key: _mutate(value[key], rng)}
    if isinstance(value, list | tuple) and value and rng.random() < 0.8:
        index = int(rng.integers(0, len(value)))
        items = list(value)
        items[index] = _mutate(items[index], rng)
        return type(value)(items) if isinstance(value, tuple) else items
    return _random_value(rng)


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_judges_never_raise_on_random_student_data(assignment: str, function: str) -> None:
    """Random structures, and the reference's own data with one part replaced, always get a
    verdict whose problem is one of the known, hidden-safe kinds."""
    spec = checks.get_spec(assignment, function)
    rng = np.random.default_rng(sum(map(ord, function)))
    for case in _cases(assignment, function, hidden=False)[:2]:
        reference = checks.decoded(checks.probe_safely(spec, checks.public_reference(spec), case))
        variants = {
            name: checks.decoded(checks.probe_safely(spec, variant, case))
            for name, variant in spec.variants.items()
        }
        for attempt in range(300):
            if attempt % 2:
                student = _mutate(reference, rng)
            else:
                student = {
                    "output": _random_value(rng),
                    "raised": _random_value(rng) if rng.random() < 0.3 else None,
                    "modified": _random_value(rng) if rng.random() < 0.3 else [],
                }
            verdict = spec.judge(case, student, reference, variants)
            assert isinstance(verdict, Verdict)
            for hidden in (True, False):
                text = format_verdict(function, case, verdict, hidden=hidden, index=1)
                assert len(text) < 5_000
            if not verdict.passed:
                assert _safe_problem(verdict.problem), verdict.problem


def test_a_judge_is_not_blind_to_a_right_answer() -> None:
    """The fuzzing above would pass vacuously if judges failed everything: they do not."""
    spec = checks.get_spec("ps3_linear_regression", "mse")
    case = {"y_pred": [1.0, 3.0], "y": [0.0, 0.0]}
    right: Callable[..., float] = lambda y_pred, y: 5.0  # noqa: E731
    reference = checks.public_reference(spec)
    assert checks.judge_case(spec, case, checks.probe_safely(spec, right, case), reference).passed


# ------------------------------------------------------------------ the plain-data boundary


def test_decode_bounds_depth_and_accepts_only_numeric_arrays() -> None:
    from gdcourse.grading.protocol import MAX_DEPTH, decode, encode

    assert decode(_deep(MAX_DEPTH - 1)) == _deep(MAX_DEPTH - 1)
    with pytest.raises(ValueError, match=f"nested more than {MAX_DEPTH} levels"):
        decode(_deep(MAX_DEPTH + 1))
    with pytest.raises(ValueError, match="not boolean, integer or floating"):
        decode({"__kind__": "ndarray", "dtype": "complex128", "shape": [1], "data": [1.0]})
    with pytest.raises(ValueError, match="does not fit dtype"):
        decode({"__kind__": "ndarray", "dtype": "float64", "shape": [1], "data": [10**400]})
    with pytest.raises(ValueError, match="cannot hold"):
        decode({"__kind__": "npscalar", "dtype": "int8", "value": 10**6})
    with pytest.raises(ValueError, match="unknown dtype"):
        decode({"__kind__": "ndarray", "dtype": "nonsense", "shape": [], "data": [1]})
    array = np.arange(6, dtype=np.int8).reshape(2, 3)
    assert decode(encode(array)).tolist() == array.tolist()


def test_the_protocol_loads_no_judge_code() -> None:
    """The sandbox imports the protocol: it must not bring the judge's modules with it."""
    import subprocess
    import sys

    code = (
        "import sys, gdcourse.grading.protocol; print('gdcourse.grading.framework' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr
