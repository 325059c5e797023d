"""A run after one submission changed grades and rewrites that one only, feedback page included.

A course of three ``ps4_autograd`` submissions is graded once. Then each test changes one
thing and checks which files were written again (bytes and modification time): a changed
submission (``gdcourse grade`` again), a teaching assistant's score in the gradebook, a page
deleted or edited by hand (feedback again). Nothing else may be rewritten.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path

import pytest

from gdcourse.course import Course
from gdcourse.grading import cli as grading_cli
from gdcourse.grading.feedback.generate import KEYS, write_feedback
from gdcourse.grading.recording import gradebook
from gdcourse.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
CORRECT = Path(__file__).resolve().parent / "attacks" / "correct.ipynb"
ASSIGNMENT = "ps4_autograd"
TARGET = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
LIMITS = Limits(cpu_seconds=20, wall_seconds=60.0, cell_seconds=20.0, probe_seconds=12.0)
STUDENTS = ["ann", "ben", "cat"]


def _grade(course: Path) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = grading_cli.grade_command(ASSIGNMENT, workers=1, root=course, limits=LIMITS)
    return code, err.getvalue()


def _files(course: Path) -> dict[str, tuple[int, bytes]]:
    """Every autograded notebook and feedback page: path -> (modification time, bytes)."""
    found = {}
    for folder in ("autograded", "feedback"):
        for path in sorted((course / folder).rglob("*")):
            if path.is_file() and path.suffix in (".ipynb", ".html"):
                found[str(path.relative_to(course))] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


def _written(before: dict[str, tuple[int, bytes]], course: Path) -> set[str]:
    after = _files(course)
    assert set(before) <= set(after), set(before) - set(after)
    return {path for path in after if before.get(path) != after[path]}


def _page(student: str) -> str:
    return f"feedback/{student}/{TARGET.replace('.ipynb', '.html')}"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rerun")
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(MASTER, folder / "solutions" / TARGET)
    for student in STUDENTS:
        path = folder / "submitted" / student / TARGET
        path.parent.mkdir(parents=True)
        shutil.copy(CORRECT, path)
    code, err = _grade(folder)
    assert code == 0, err
    assert len([p for p in _files(folder) if p.endswith(".html")]) == len(STUDENTS), err
    return folder


@pytest.mark.slow
def test_a_rerun_regrades_and_rewrites_only_the_changed_submission(course):
    before = _files(course)
    notebook = json.loads(CORRECT.read_text())
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = text.replace("-=", "+=")  # the update goes uphill: wrong
    (course / "submitted" / "ben" / TARGET).write_text(json.dumps(notebook))
    code, err = _grade(course)
    assert code == 0, err
    assert "Graded 1 submission of" in err, err
    assert _written(before, course) == {f"autograded/ben/{TARGET}", _page("ben")}, err
    report = json.loads((course / "reports" / ASSIGNMENT / "report.json").read_text())
    totals = {s["student"]: s["total"] for s in report["students"]}
    assert totals["ann"] == totals["cat"] == 3.0 and totals["ben"] < 3.0, totals


def test_feedback_for_nothing_changed_writes_nothing(course):
    before = _files(course)
    assert write_feedback(Course.open(course), ASSIGNMENT, STUDENTS, 1) == 0
    assert _written(before, course) == set()


def test_a_score_changed_in_the_gradebook_rewrites_that_page_only(course):
    """A teaching assistant's score (formgrader writes the gradebook, no file changes)."""
    layout = Course.open(course)
    before = _files(course)
    with gradebook(layout.db_url, layout.course_id) as book:
        notebook = book.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, "ann")
        grade = notebook.grades[0]
        grade.manual_score = (
            (grade.auto_score or 0.0) + 0.5 if grade.manual_score is None else None
        )
        book.db.commit()
    assert write_feedback(layout, ASSIGNMENT, STUDENTS, 1) == 0
    assert _written(before, course) == {_page("ann")}


def test_a_page_deleted_or_edited_by_hand_is_written_again_alone(course):
    layout = Course.open(course)
    (course / _page("cat")).unlink()
    (course / _page("ann")).write_text("<p>edited</p>")
    before = _files(course)
    assert write_feedback(layout, ASSIGNMENT, STUDENTS, 1) == 0
    assert _written(before, course) == {_page("ann"), _page("cat")}
    assert "edited" not in (course / _page("ann")).read_text()
    keys = json.loads((course / "reports" / ASSIGNMENT / KEYS).read_text())
    assert sorted(keys) == STUDENTS
