"""The secure grader end to end: every attack and broken submission in tests/attacks/.

A temporary course (the repository's ``nbgrader_config.py`` and the master of
``ps4_autograd``) receives one submission per
scenario, plus a protected "bystander" student; ``gdcourse grade`` grades them
all twice. Each scenario must be graded (0 where the work is wrong or missing,
full marks where it is correct), with its reason in the gradebook and the
report, without modifying any submitted file, and with identical scores both
times.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gdcourse.cli import main
from gdcourse.grading import autograde
from gdcourse.grading.cli import grade_command
from gdcourse.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = Path(__file__).resolve().parent / "attacks"
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
VISIBLE, HIDDEN = "test_train_autograd_visible", "test_train_autograd_hidden"

FULL, ZERO = (1.0, 2.0), (0.0, 0.0)
# scenario -> (visible score, hidden score), and whether it must be flagged for a human
EXPECTED = {
    "correct": (FULL, False),
    "correct_with_warnings": (FULL, False),
    "untouched": (ZERO, False),
    "wrong_sign": (ZERO, False),
    "wrong_no_zero_grad": (ZERO, False),
    "patched_numpy_torch_comparisons": (ZERO, False),
    "patched_builtins": (ZERO, False),
    "ipython_ast_transformer": (ZERO, False),
    "ipython_input_transformer": (ZERO, False),
    "ipython_display_hook": (ZERO, False),
    "ipython_run_code": (ZERO, False),
    "always_equal_object": (ZERO, False),
    "shadowing_module_file": (ZERO, False),
    "files_outside_sandbox": (ZERO, False),
    "detects_grading_environment": (ZERO, False),
    "sys_exit_in_cell": (FULL, False),
    "sys_exit_in_function": (ZERO, False),
    "kills_own_process": (ZERO, None),
    "infinite_loop": (ZERO, True),
    "memory_bomb": (ZERO, False),
    "fork_bomb": (ZERO, False),
    "output_flood": (ZERO, True),
    "syntax_error_elsewhere": (FULL, False),
    "duplicated_cells": (FULL, False),
    "deleted_test_cells": (FULL, False),
    "edited_test_cells": (ZERO, False),
    "retyped_test_cells": (ZERO, False),
    "tampered_metadata": (FULL, False),
    "forged_grader_metadata": (FULL, False),
    "wrong_kernelspec": (FULL, False),
    "extra_files": (FULL, False),
    "renamed_notebook": (ZERO, True),
    "missing_notebook": (ZERO, True),
    "invalid_json": (ZERO, True),
}
EXTRA_FILES = {
    "extra_files": {"data.csv": "1,2\n", "numpy.py": "allclose = lambda *a, **k: True\n"},
    "shadowing_module_file": {"numpy.py": "allclose = lambda *a, **k: True\n"},
}
# Generous wall-clock limits, so that a loaded machine cannot time out honest work.
LIMITS = Limits(cpu_seconds=4, wall_seconds=40.0, cell_seconds=8.0, probe_seconds=12.0)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _scores(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in EXPECTED:
            try:
                nb = gradebook.find_submission_notebook("ps4_autograd", "ps4_autograd", student)
            except MissingEntry:
                continue
            grades = {g.name: g.score for g in nb.grades}
            scores[student] = (grades[VISIBLE], grades[HIDDEN])
    return scores


def _comments(course: Path, student: str) -> str:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        nb = gradebook.find_submission_notebook("ps4_autograd", "ps4_autograd", student)
        return "\n".join(c.auto_comment or "" for c in nb.comments)


def test_every_scenario_has_a_fixture_and_an_expectation():
    fixtures = {p.stem for p in ATTACKS.glob("*.ipynb")}
    assert fixtures == set(EXPECTED)


def test_the_fixtures_are_generated_from_the_current_master():
    spec = importlib.util.spec_from_file_location("make_fixtures", ATTACKS / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    stale = [
        name
        for name, content in module.scenarios().items()
        if (ATTACKS / f"{name}.ipynb").read_text()
        != (content if isinstance(content, str) else json.dumps(content, indent=1) + "\n")
    ]
    assert not stale, f"regenerate with: python tests/attacks/make_fixtures.py ({stale})"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(MASTER, course / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    for name in EXPECTED:
        folder = course / "submitted" / name / "ps4_autograd"
        folder.mkdir(parents=True)
        target = "my_ps4.ipynb" if name == "renamed_notebook" else "ps4_autograd.ipynb"
        if name != "missing_notebook":
            shutil.copy(ATTACKS / f"{name}.ipynb", folder / target)
        for filename, text in EXTRA_FILES.get(name, {}).items():
            (folder / filename).write_text(text)
    before = _digest(course / "submitted")
    master_before = _digest(course / "solutions")
    env_path = os.environ.get("PATH", "")
    autograde.LIMITS = LIMITS
    try:
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.chdir(course)  # the command finds the course from the working directory
        try:
            first_code = main(["grade", "ps4_autograd", "--workers", "2"])
        finally:
            monkeypatch.undo()
        first = _scores(course)
        gradebook_after_first = (course / "gradebook.db").stat().st_size
        second_code = grade_command("ps4_autograd", workers=2, root=course, limits=LIMITS)
        second = _scores(course)
    finally:
        os.environ["PATH"] = env_path
        autograde.LIMITS = Limits()
    return {
        "course": course,
        "codes": (first_code, second_code),
        "first": first,
        "second": second,
        "before": before,
        "after": _digest(course / "submitted"),
        "master_before": master_before,
        "gradebook_size": gradebook_after_first,
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_scenario_is_graded_with_the_expected_scores(graded, scenario):
    expected, _ = EXPECTED[scenario]
    assert graded["first"][scenario] == expected, _comments(graded["course"], scenario)


@pytest.mark.slow
def test_grading_twice_gives_identical_scores(graded):
    assert graded["codes"] == (0, 0)
    assert graded["first"] == graded["second"]
    assert set(graded["first"]) == set(EXPECTED)


@pytest.mark.slow
def test_no_submitted_file_and_no_master_is_modified(graded):
    course = graded["course"]
    assert graded["after"] == graded["before"]
    assert _digest(course / "solutions") == graded["master_before"]
    assert not (ROOT / "pwned.txt").exists()
    for path in course.rglob("*"):
        if path.is_file() and path.suffix in (".db", ".ipynb"):
            assert b"tampered" not in path.read_bytes()[-64:], path


@pytest.mark.slow
def test_reasons_are_in_the_gradebook_and_the_report(graded):
    course = graded["course"]
    assert "wrong_sign" in _comments(course, "wrong_sign") or "failed" in _comments(
        course, "wrong_sign"
    )
    loop = _comments(course, "infinite_loop")
    assert "did not return within 12 s" in loop or "ran out of CPU time" in loop, loop
    assert "not a readable notebook" in _comments(course, "invalid_json")
    assert "appears more than once" in _comments(course, "duplicated_cells")
    report = json.loads((course / "reports" / "ps4_autograd" / "report.json").read_text())
    flagged = {s["student"]: s["needs_human"] for s in report["students"] if s["needs_human"]}
    for scenario, (_, human) in EXPECTED.items():
        if human is not None:
            assert (scenario in flagged) == human, (scenario, flagged.get(scenario))
    assert "my_ps4.ipynb" in " ".join(flagged["renamed_notebook"])
    assert report["misconceptions"], "the wrong answers name no misconception"
    text = (course / "reports" / "ps4_autograd" / "report.md").read_text()
    assert "## Most frequent misconceptions" in text and "infinite_loop" in text
    assert (course / "reports" / "ps4_autograd" / "plots" / f"{HIDDEN}.png").stat().st_size > 0


@pytest.mark.slow
def test_csv_and_feedback_hide_the_hidden_tests(graded):
    course = graded["course"]
    csv = (course / "reports" / "ps4_autograd" / "grades.csv").read_text()
    assert "wrong_sign" in csv and "correct" in csv
    feedback = course / "feedback" / "wrong_sign" / "ps4_autograd" / "ps4_autograd.html"
    html = feedback.read_text()
    assert "hidden checks failed" in html
    hidden = autograde.read_master(MASTER).tests[-1].call
    assert hidden.hidden and f"x={hidden.cases[0]['x']!r}"[:20] not in html
    assert "BEGIN HIDDEN TESTS" not in html and "hidden=True" not in html


def _course(folder: Path, scenarios: list[str]) -> Path:
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(MASTER, folder / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    for name in scenarios:
        target = folder / "submitted" / name / "ps4_autograd"
        target.mkdir(parents=True)
        shutil.copy(ATTACKS / f"{name}.ipynb", target / "ps4_autograd.ipynb")
    return folder


@pytest.mark.slow
def test_plain_nbgrader_autograde_uses_the_sandbox(tmp_path):
    """`nbgrader autograde` at a course root (formgrader's button too) grades securely."""
    scenarios = ["correct", "patched_numpy_torch_comparisons", "duplicated_cells", "invalid_json"]
    course = _course(tmp_path, scenarios)
    nbgrader = Path(sys.executable).parent / "nbgrader"
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ['PATH']}"}
    for command in (["generate_assignment", "--force"], ["autograde"]):
        done = subprocess.run(
            [str(nbgrader), *command, "ps4_autograd"],
            cwd=course,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    scores = _scores(course)
    assert scores == {name: EXPECTED[name][0] for name in scenarios}
    assert (
        "CheckFailed"
        in (
            course / "autograded" / "invalid_json" / "ps4_autograd" / "ps4_autograd.ipynb"
        ).read_text()
    )


def test_sanitize_restores_the_masters_structure():
    master = autograde.read_master(MASTER)
    notebook = json.loads((ATTACKS / "tampered_metadata.ipynb").read_text())
    cleaned, notes = autograde.sanitize(notebook, master)
    metas = [c["metadata"].get("nbgrader", {}) for c in cleaned["cells"]]
    assert [m.get("points") for m in metas if m.get("grade")] == [1, 2]
    assert any("changed" in note for note in notes)
    assert notebook == json.loads((ATTACKS / "tampered_metadata.ipynb").read_text())


def test_an_unreadable_notebook_is_graded_zero_with_the_reason(tmp_path):
    master = autograde.read_master(MASTER)
    path = tmp_path / "ps4_autograd.ipynb"
    path.write_text("{ not json")
    notebook = autograde.read_submission(path, master)
    grade = autograde.grade_notebook(notebook, master)
    assert grade.score == 0 and grade.max_score == 3
    assert "not a readable notebook" in grade.needs_human[0]
    assert path.read_text() == "{ not json"
