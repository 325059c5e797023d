"""Grades CSV: formula injection neutralised on both routes, written where git ignores it.

``nbgrader export`` runs for real in a scratch course made of this repository's
``nbgrader_config.py`` and ``.gitignore``, in its own git repository; the grading
round's outputs are then laid out there and ``git status`` must stay clean.
"""

from __future__ import annotations

import csv
import datetime
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from gdcourse.grading.export import COLUMNS, export_grades

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = Path(sys.executable).parent / "nbgrader"
EVIL_ID = '=HYPERLINK("http://x")'
STUDENTS = {
    EVIL_ID: {"first_name": "-2+3", "last_name": "@SUM(A1:A9)", "email": "a,b\n=1+1"},
    "alice": {"first_name": "Alice", "last_name": "Smith", "email": "alice@example.org"},
    "bob": {"first_name": None, "last_name": None, "email": None},
}


def _git(course: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=course, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A course with this repository's configuration, a gradebook and one submission."""
    # nbgrader's Gradebook runs the `alembic` command of its environment
    monkeypatch.setenv("PATH", f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}")
    course = tmp_path / "course"
    course.mkdir()
    for name in ("nbgrader_config.py", ".gitignore"):
        shutil.copy(ROOT / name, course / name)
    _git(course, "init", "-q")
    _git(course, "add", ".")
    _git(
        course,
        "-c", "user.name=t", "-c", "user.email=t@example.org",
        "commit", "-q", "-m", "course",
    )  # fmt: skip
    with (
        warnings.catch_warnings(),  # nbgrader's add_submission trips an SQLAlchemy warning
        Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gdcourse") as gradebook,
    ):
        warnings.simplefilter("ignore", SAWarning)
        gradebook.add_assignment("ps1", duedate=datetime.datetime(2030, 1, 31, 12, 0))
        gradebook.add_assignment("ps2")
        for student, names in STUDENTS.items():
            gradebook.add_student(student, **names)
        gradebook.add_submission("ps1", EVIL_ID, timestamp=datetime.datetime(2030, 1, 30, 9, 5))
    return course


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def _assert_inert(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column, value in row.items():
            if value.startswith(("=", "+", "-", "@", "\t", "\r")):
                float(value)  # only a plain number may start so
            assert column in COLUMNS


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(NBGRADER), *args], cwd=course, env=env, capture_output=True, text=True, check=False
    )


def test_nbgrader_export_writes_an_inert_csv_under_reports(course: Path) -> None:
    done = _nbgrader(course, "export")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SafeCsvExportPlugin" in done.stderr + done.stdout
    assert not (course / "grades.csv").exists()
    rows = _rows(course / "reports" / "grades.csv")
    _assert_inert(rows)
    assert len(rows) == 6  # 2 assignments x 3 students
    evil = next(r for r in rows if r["assignment"] == "ps1" and r["student_id"] != "alice"
                and r["student_id"] != "bob")  # fmt: skip
    assert evil["student_id"] == "'" + EVIL_ID
    assert evil["first_name"] == "'-2+3" and evil["last_name"] == "'@SUM(A1:A9)"
    assert evil["email"] == "a,b\ufffd=1+1"  # quoted; a line break is shown, never kept
    assert evil["timestamp"] == "2030-01-30 09:05:00"
    assert evil["duedate"] == "2030-01-31 12:00:00"
    assert evil["score"] == "0.0" and evil["max_score"] == "0.0"
    bob = next(r for r in rows if r["student_id"] == "bob" and r["assignment"] == "ps2")
    assert bob["first_name"] == "" and bob["timestamp"] == "" and bob["duedate"] == ""


def test_nbgrader_export_to_and_filters(course: Path) -> None:
    done = _nbgrader(course, "export", "--to", "mine.csv", "--assignment", "['ps1']")
    assert done.returncode == 0, done.stdout + done.stderr
    rows = _rows(course / "mine.csv")
    assert {r["assignment"] for r in rows} == {"ps1"} and len(rows) == 3


def test_export_grades_matches_the_plugin(course: Path) -> None:
    done = _nbgrader(course, "export", "--assignment", "['ps1']")
    assert done.returncode == 0, done.stdout + done.stderr
    ours = export_grades(
        f"sqlite:///{course / 'gradebook.db'}",
        course / "reports" / "ps1" / "grades.csv",
        assignments=["ps1"],
    )
    assert ours.read_bytes() == (course / "reports" / "grades.csv").read_bytes()
    _assert_inert(_rows(ours))
    only = export_grades(
        f"sqlite:///{course / 'gradebook.db'}", course / "x.csv", students=["alice"]
    )
    assert [r["student_id"] for r in _rows(only)] == ["alice", "alice"]


def test_a_grading_round_leaves_git_status_clean(course: Path) -> None:
    assert _nbgrader(course, "export").returncode == 0
    assert _nbgrader(course, "export", "--to", "grades.csv").returncode == 0
    export_grades(
        f"sqlite:///{course / 'gradebook.db'}", course / "reports" / "ps1" / "grades.csv"
    )
    outputs = [
        "submitted/alice/ps1/ps1.ipynb",
        "submitted/alice/ps1/timestamp.txt",
        "autograded/alice/ps1/ps1.ipynb",
        "feedback/alice/ps1/ps1.html",
        "reports/ps1/report.md",
        "reports/ps1/plots/total.png",
        "downloaded/ps1/extracted/alice.ipynb",
        "solution/ps1/ps1.ipynb",
        "source_with_tests/ps1/ps1.ipynb",
        "exchange/gdcourse/inbound/alice+ps1+2030/ps1.ipynb",
        "nbgrader.log",
        ".nbgrader.log",
        "gradebook.db-journal",
        "gradebook.db-wal",
        "subfolder/grades.csv",
    ]
    for name in outputs:
        path = course / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("student work")
    assert (course / "grades.csv").is_file() and (course / "gradebook.db").is_file()
    assert _git(course, "status", "--porcelain", "--untracked-files=all") == ""
