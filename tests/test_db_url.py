"""A gradebook on PostgreSQL is the gradebook of every command of the course, and git stays clean.

``gdcourse grade --db URL`` writes the address to the course's git-ignored
``nbgrader_config_local.py`` (mode 0600), which ``nbgrader_config.py`` loads last; the roster
import, ``nbgrader export``, formgrader and ``nbgrader release_feedback`` then use that
database, and none of them makes ``gradebook.db``. Setting the address by hand goes to the same
file, never to the tracked ``nbgrader_config.py``: ``git status`` prints nothing. The server
is the suite's real PostgreSQL (tests/postgres.py).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from browser import jupyter_server
from postgres import postgres_server

from gdcourse.course import Course
from gdcourse.grading.database import LOCAL_CONFIG, configured_db_url, remember_db_url
from gdcourse.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
PS4 = "ps4_autograd"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with postgres_server() as running:
        yield running


def _git(course: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=course,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _course(folder: Path) -> Path:
    """A course in a git repository of its own, committed: the repository's configuration
    and .gitignore, and the ps4 master."""
    course = folder / "course"
    (course / "solutions" / PS4).mkdir(parents=True)
    shutil.copy(ROOT / "solutions" / PS4 / f"{PS4}.ipynb", course / "solutions" / PS4)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copy(ROOT / ".gitignore", course)
    _git(course, "init", "-q")
    _git(course, "add", "-A")
    _git(course, "commit", "-q", "-m", "course")
    return course


def _run(course: Path, *command: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        list(command), cwd=course, env=env, capture_output=True, text=True, check=False
    )


def test_the_database_given_to_gdcourse_grade_is_every_commands(
    tmp_path, server, monkeypatch, capsys
):
    url = server.create_database("given")
    course = _course(tmp_path)
    monkeypatch.chdir(course)  # the command finds the course, and formgrader its config, here
    assert main(["grade", PS4, "--db", url]) == 2  # nothing submitted yet: the address is kept
    assert LOCAL_CONFIG in capsys.readouterr().err
    local = course / LOCAL_CONFIG
    assert stat.S_IMODE(local.stat().st_mode) == 0o600
    assert Course.open(course).db_url == url

    (course / "roster.csv").write_text(
        "id,first_name,last_name,email\nada,Ada,Lovelace,ada@example.org\n", encoding="utf-8"
    )
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    done = _run(course, nbgrader, "db", "student", "import", "roster.csv")
    assert done.returncode == 0, done.stderr[-3000:]
    query = "SELECT id, first_name, last_name FROM student"
    assert server.query("given", query) == [("ada", "Ada", "Lovelace")]

    from nbgrader.api import Gradebook

    with Gradebook(url, "gdcourse") as gradebook:  # what a graded round leaves there
        gradebook.add_assignment(PS4)
    done = _run(course, nbgrader, "export")
    assert done.returncode == 0, done.stderr[-3000:]
    with open(course / "reports" / "grades.csv", newline="", encoding="utf-8") as file:
        rows = [(row["assignment"], row["student_id"]) for row in csv.DictReader(file)]
    assert rows == [(PS4, "ada")]

    with jupyter_server(course) as jupyter:
        request = urllib.request.Request(
            f"{jupyter.base_url}/formgrader/api/students",
            headers={"Authorization": f"token {jupyter.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            students = json.loads(response.read())
    assert [(s["id"], s["last_name"]) for s in students] == [("ada", "Lovelace")]

    (course / "feedback" / "ada" / PS4).mkdir(parents=True)
    (course / "feedback" / "ada" / PS4 / f"{PS4}.html").write_text("<p>ok</p>")
    done = _run(course, nbgrader, "release_feedback", PS4)
    assert done.returncode == 0, done.stderr[-3000:]

    assert not list(course.rglob("gradebook.db*")), "a command used SQLite"
    assert _git(course, "status", "--porcelain", "--untracked-files=all") == ""


def test_the_address_set_by_hand_goes_where_git_does_not_look(tmp_path, server):
    url = server.create_database("by_hand")
    course = _course(tmp_path)
    (course / LOCAL_CONFIG).write_text(f"c.CourseDirectory.db_url = {url!r}\n")
    assert Course.open(course).db_url == url
    other = server.url("another")
    message = remember_db_url(course, other)  # --db again, with another address
    assert "another" in message and configured_db_url(course) == other
    assert (course / LOCAL_CONFIG).read_text().count("db_url") == 1
    assert _git(course, "status", "--porcelain", "--untracked-files=all") == ""


def test_an_address_with_a_password_is_not_printed(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    message = remember_db_url(tmp_path, "postgresql+psycopg://me:s3cret@db.example/course")
    assert "s3cret" not in message and "me:***@db.example" in message
    with pytest.raises(ValueError, match="one line"):
        remember_db_url(tmp_path, "sqlite:///x\nimport os")
