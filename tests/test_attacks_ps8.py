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
    "correct": ({}, False),
    "correct_with_warnings": ({}, False),
    "always_equal_object": ({"sigmoid": ZERO, "loss_and_grad": ZERO}, False),
    "shortcut_by_built_name": ({"sigmoid": ZERO, "fit_gd": ZERO}, False),
    "shortcut_on_hidden_cases_only": ({"fit_gd": (1.0, 0.0)}, False),
    "patched_comparisons_and_checks": ({"loss_and_grad": ZERO}, False),
    "error_leaks_inputs": ({"loss_and_grad": ZERO, "train_logistic": ZERO}, False),
    "float16_results": ({"train_logistic": ZERO}, False),
    "nan_inf_results": ({"train_logistic": ZERO}, False),
}


def _load_make() -> Any:
    spec = importlib.util.spec_from_file_location("ps8_make", HERE / "make.py")
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
    assert not stale, f"regenerate with: python tests/attacks/ps8/make.py ({stale})"


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


def _comments(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(sqlite(course)) as gradebook:
        nb = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return "\n".join(c.auto_comment or "" for c in nb.comments)


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
    shortcut = _comments(course, "shortcut_by_built_name")
    assert "fit_gd used" in shortcut and "torch.optim" in shortcut, shortcut
    assert "sigmoid used" in shortcut and "torch.nn" in shortcut, shortcut
    equal = _comments(course, "always_equal_object")
    assert "sigmoid" in equal and "loss_and_grad" in equal, equal
    patched = graded["students"]["patched_comparisons_and_checks"]
    assert "residual_sign_error" in patched["misconceptions"], patched
    float16 = _comments(course, "float16_results")
    assert "expected 0.6931471825" in float16 and "got 0.693359375" in float16, float16
    assert "got nan (not finite)" in _comments(course, "nan_inf_results")


@pytest.mark.slow
def test_a_shortcut_on_hidden_cases_is_named_to_the_instructor_alone(
    graded: dict[str, Any],
) -> None:
    """fit_gd uses torch.optim only for more steps than any visible case asks: the hidden
    cell scores nothing, the student reads the grader's fixed words, and the private log
    (not a file a student gets) names the banned call."""
    from gdcourse.grading.instructor_log import log_path

    course = graded["course"]
    student = "shortcut_on_hidden_cases_only"
    log = log_path(course / "reports" / ASSIGNMENT).read_text(encoding="utf-8")
    mine = [line for line in log.splitlines() if f" {student} " in line]
    assert any("(fit_gd, hidden): banned call: torch.optim" in line for line in mine), log
    comments = _comments(course, student)
    assert "fit_gd: hidden checks failed" in comments, comments
    assert "torch.optim" not in comments
    page = _page(course, student)
    section = page[page.index("fit_gd: hidden checks, 0 of 2 points</h2>") :]
    section = section[: section.index("</section>")]
    assert "fit_gd: hidden checks failed." in section
    assert "torch.optim" not in section and "banned" not in section, section


def _hidden_secrets() -> set[str]:
    """Texts of the hidden cases' inputs of loss_and_grad and train_logistic that no visible
    case holds, as the leaking submission writes them (Python lists of floats, float64 and
    float32)."""
    master = autograde.read_master(MASTER)
    functions = ("loss_and_grad", "train_logistic")
    visible = repr([t.call.cases for t in master.tests if not t.call.hidden])
    secrets = set()
    for test in master.tests:
        if not test.call.hidden or test.call.function not in functions:
            continue
        for case in test.call.cases:
            X, _ = data_arrays(case)
            for dtype in (np.float64, np.float32):
                rows = X.astype(dtype).tolist()
                secrets.add(repr(rows[0]))
            for key in ("w", "W0"):
                if key in case:
                    secrets.add(repr(case[key][0] if key == "W0" else case[key]))
    return {s for s in secrets if s not in visible}


@pytest.mark.slow
def test_hidden_inputs_never_reach_feedback(graded: dict[str, Any]) -> None:
    course = graded["course"]
    secrets = _hidden_secrets()
    assert len(secrets) >= 6, secrets
    page = _page(course, "error_leaks_inputs")
    comments = _comments(course, "error_leaks_inputs")
    assert "LEAK" in page  # the visible cases' messages are shown, with their inputs
    assert "hidden checks failed" in page
    for secret in secrets:
        assert secret not in page and secret not in comments, secret
    report = (course / "reports" / ASSIGNMENT / "report.md").read_text()
    assert not any(secret in report for secret in secrets)


@pytest.mark.slow
def test_printing_and_warning_keep_full_marks_and_are_shown(graded: dict[str, Any]) -> None:
    assert graded["scores"]["correct_with_warnings"] == graded["scores"]["correct"]
    assert graded["students"]["correct_with_warnings"]["needs_human"] == []
