"""Attacks on ``ps8_logistic``, graded end to end by the real grader.

The submissions of tests/attacks/ps8/ (the student version, every function the
master's solution but the attacked ones) are graded together, as a class run:
``gdcourse grade`` with its sandbox (tests/support/grade.py, the limits of
tests/courses.py). Each attacked function scores nothing, every other function
keeps its marks, the reasons are in the gradebook, and no hidden input reaches
what a student can read.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from courses import grade_process, make_course, scores, sqlite

from gdcourse.grading import autograde
from gdcourse.grading.probes.ps8_logistic import data_arrays

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "attacks" / "ps8"
ASSIGNMENT = "ps8_logistic"
MASTER = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
FUNCTIONS = ("sigmoid", "loss_and_grad", "fit_gd", "train_logistic")
FULL, ZERO = (1.0, 2.0), (0.0, 0.0)

# scenario -> ({function: (visible, hidden)} for the functions that lose marks (the others
# keep (1, 2)), whether a human is asked to look)
EXPECTED: dict[str, tuple[dict[str, tuple[float, float]], bool]] = {
    "correct_with_warnings": ({}, False),
    "always_equal_object": ({"sigmoid": ZERO, "loss_and_grad": ZERO}, False),
    "banned_shortcuts": (
        {"sigmoid": ZERO, "loss_and_grad": (1.0, 0.0), "fit_gd": ZERO},
        False,
    ),
    "patched_comparisons_and_checks": ({"loss_and_grad": ZERO}, False),
    "leaks_inputs": ({"loss_and_grad": ZERO, "train_logistic": ZERO}, False),
    "non_finite_and_float16_results": ({"fit_gd": ZERO, "train_logistic": ZERO}, False),
}


def _load_make() -> Any:
    spec = importlib.util.spec_from_file_location("ps8_make", HERE / "make_ps8.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_scenario_has_a_fresh_fixture_and_an_expectation() -> None:
    make = _load_make()
    made = make.scenarios()
    assert set(made) == set(EXPECTED) == {p.stem for p in HERE.glob("*.ipynb")}
    stale = [
        name
        for name, notebook in made.items()
        if (HERE / f"{name}.ipynb").read_text(encoding="utf-8") != make.text(notebook)
    ]
    assert not stale, f"regenerate with: python tests/attacks/ps8/make_ps8.py ({stale})"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    course = make_course(
        tmp_path_factory.mktemp("ps8"),
        {ASSIGNMENT: {name: HERE / f"{name}.ipynb" for name in EXPECTED}},
    )
    process = grade_process(course, "--assignment", ASSIGNMENT, "--workers", "2")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output[-3000:]
    report = json.loads((course / "reports" / ASSIGNMENT / "report.json").read_text())
    return {
        "course": course,
        "scores": scores(sqlite(course), ASSIGNMENT),
        "students": {s["student"]: s for s in report["students"]},
    }


def _comments(course: Path, student: str, function: str | None = None) -> str:
    """The gradebook's comments on ``student``'s notebook (on ``function``'s cell alone)."""
    from nbgrader.api import Gradebook

    with Gradebook(sqlite(course)) as gradebook:
        nb = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return "\n".join(c.auto_comment or "" for c in nb.comments if function in (None, c.name))


def _page(course: Path, student: str) -> str:
    return (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_each_function_gets_the_expected_score(graded: dict[str, Any], scenario: str) -> None:
    losing, _ = EXPECTED[scenario]
    got = graded["scores"][scenario]
    expected = {
        f"test_{f}_{kind}": losing.get(f, FULL)[i]
        for f in FUNCTIONS
        for i, kind in enumerate(("visible", "hidden"))
    }
    assert got == expected, _comments(graded["course"], scenario)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_a_human_is_asked_only_where_expected(graded: dict[str, Any], scenario: str) -> None:
    _, human = EXPECTED[scenario]
    flagged = graded["students"][scenario]["needs_human"]
    assert bool(flagged) == human, flagged


@pytest.mark.slow
def test_the_reasons_are_in_the_gradebook(graded: dict[str, Any]) -> None:
    course = graded["course"]
    sigmoid = _comments(course, "banned_shortcuts", "sigmoid")
    assert "sigmoid used torch.nn, which this exercise asks" in sigmoid, sigmoid
    fit = _comments(course, "banned_shortcuts", "fit_gd")
    assert "fit_gd used torch.optim, which this exercise asks" in fit, fit
    for function in ("sigmoid", "loss_and_grad"):
        equal = _comments(course, "always_equal_object", function)
        assert f"{function}: 3 of 3 visible" in equal or "got 0.0" in equal, equal
    patched = graded["students"]["patched_comparisons_and_checks"]
    assert patched["misconceptions"] == ["residual_sign_error"], patched
    gradient = _comments(course, "patched_comparisons_and_checks", "loss_and_grad")
    assert "the gradient has the wrong sign" in gradient, gradient
    float16 = _comments(course, "non_finite_and_float16_results", "fit_gd")
    # w rounded to float16: of the wrong dtype, before its value (off in the 5th digit)
    assert "dtype of" in float16 and "expected float64" in float16, float16
    assert "got float16" in float16, float16
    train = _comments(course, "non_finite_and_float16_results", "train_logistic")
    assert "got nan (not finite)" in train, train


@pytest.mark.slow
def test_a_shortcut_on_hidden_cases_is_named_to_the_instructor_alone(
    graded: dict[str, Any],
) -> None:
    """loss_and_grad uses autograd only on more observations than any visible case has: the
    hidden cell scores nothing, the student reads the grader's fixed words, and the private
    log (not a file a student gets) names the banned call."""
    from gdcourse.grading.instructor_log import log_path

    course = graded["course"]
    student = "banned_shortcuts"
    log = log_path(course / "reports" / ASSIGNMENT).read_text(encoding="utf-8")
    mine = [line for line in log.splitlines() if f" {student} " in line]
    assert any("(loss_and_grad, hidden): banned call: torch.autograd" in line for line in mine), (
        log
    )
    comments = _comments(course, student, "loss_and_grad")
    assert "loss_and_grad: all 5 visible checks passed" in comments, comments
    assert "loss_and_grad: hidden checks failed" in comments, comments
    assert "autograd" not in comments
    page = _page(course, student)
    section = page[page.index("loss_and_grad: hidden checks, 0 of 2 points</h2>") :]
    section = section[: section.index("</section>")]
    assert "loss_and_grad: hidden checks failed." in section
    assert "autograd" not in section and "banned" not in section, section
    # the class report points the instructor at the log, naming the cell and nothing more
    # (its sigmoid and fit_gd make their banned calls on every case, hidden ones included)
    ruled = graded["students"][student]["hidden_rules"]
    assert "test_loss_and_grad_hidden" in ruled, ruled
    assert all(grade_id.endswith("_hidden") for grade_id in ruled), ruled
    report = (course / "reports" / ASSIGNMENT / "report.md").read_text(encoding="utf-8")
    part = report[report.index("## Rules broken during hidden checks") :]
    line = next(line for line in part.splitlines() if line.startswith(f"- **{student}**"))
    assert "test_loss_and_grad_hidden" in line, part
    assert "autograd" not in part and "torch" not in part
    others = [s for s, r in graded["students"].items() if r["hidden_rules"] and s != student]
    assert others == [], others


def _hidden_secrets() -> set[str]:
    """Texts of the hidden cases' inputs of loss_and_grad and train_logistic that no visible
    case holds, as the leaking submission writes them (Python lists of floats, float64 and
    float32: the inputs, their first rows, the labels, the weights)."""
    master = autograde.read_master(MASTER)
    functions = ("loss_and_grad", "train_logistic")
    visible = repr([t.call.cases for t in master.tests if not t.call.hidden])
    secrets = set()
    for test in master.tests:
        if not test.call.hidden or test.call.function not in functions:
            continue
        for case in test.call.cases:
            X, y = data_arrays(case)
            secrets.add(repr(y.tolist()))
            for dtype in (np.float64, np.float32):
                rows = X.astype(dtype).tolist()
                secrets |= {repr(rows), repr(rows[0])}
            if "w" in case:
                secrets.add(repr(case["w"]))
            if "W0" in case:
                secrets.add(repr(np.array(case["W0"], dtype=np.float32).tolist()))
    return {s for s in secrets if s not in visible}


def _leak_messages(hidden: bool) -> list[str]:
    """What the leaking submission raises on the hidden (or visible) cases, run here
    in-process."""
    from gdcourse.grading.probes.ps8_logistic import loss_inputs, train_inputs

    notebook = json.loads((HERE / "leaks_inputs.ipynb").read_text())
    namespace: dict[str, Any] = {}
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id", "")
        if grade_id in ("loss_and_grad", "train_logistic"):
            exec("".join(cell["source"]), namespace)
    master = autograde.read_master(MASTER)
    messages = []
    for test in master.tests:
        if test.call.hidden != hidden or test.call.function not in namespace:
            continue
        inputs = loss_inputs if test.call.function == "loss_and_grad" else train_inputs
        for case in test.call.cases:
            arguments = inputs(case)
            try:
                namespace[test.call.function](*arguments.args, **arguments.kwargs)
                _ = arguments.args[0].linear.weight  # what the probe reads after training
            except ValueError as error:
                messages.append(str(error))
    return [m for m in messages if m.startswith("LEAK")]


def test_the_secrets_are_what_the_leaking_submission_sends() -> None:
    """Each hidden case's leaked message (but one that a visible case sends too) holds at
    least one of the texts searched for."""
    secrets = _hidden_secrets()
    visible = _leak_messages(hidden=False)
    messages = [m for m in _leak_messages(hidden=True) if m not in visible]
    assert len(messages) >= 8, messages
    assert all(any(s in m for s in secrets) for m in messages), messages


def _hidden_sections(page: str) -> list[str]:
    """The feedback page's sections of the hidden test cells."""
    parts = page.split('<section class="gd-check')[1:]
    return [p.split("</section>")[0] for p in parts if "hidden checks, " in p.split("</h2>")[0]]


@pytest.mark.slow
def test_hidden_inputs_never_reach_feedback(graded: dict[str, Any]) -> None:
    """loss_and_grad raises with its arguments, train_logistic leaves a layer that raises
    with its inputs when the probe reads it: the visible checks show both messages (their
    inputs are public), and nothing a student reads holds a hidden input."""
    course = graded["course"]
    scenario = "leaks_inputs"
    secrets = _hidden_secrets()
    assert len(secrets) >= 6, secrets
    page = _page(course, scenario)
    assert "LEAK w=" in page and "LEAK X=" in page  # the visible cases' messages
    sections = _hidden_sections(page)
    assert len(sections) == len(FUNCTIONS), sections
    assert not any("LEAK" in section for section in sections)
    readable = {
        "page": page,
        "comments": _comments(course, scenario),
        "report": (course / "reports" / ASSIGNMENT / "report.md").read_text(),
        "csv": (course / "reports" / ASSIGNMENT / "grades.csv").read_text(),
    }
    for where, text in readable.items():
        for secret in secrets:
            assert secret not in text, (where, secret)


@pytest.mark.slow
def test_printing_and_warning_keep_full_marks(graded: dict[str, Any]) -> None:
    student = graded["students"]["correct_with_warnings"]
    assert student["total"] == 12.0 and student["needs_human"] == [], student
