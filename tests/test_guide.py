"""README's instructor guide, run as written: one assignment's round on a scratch course.

The scratch course is a git repository holding what this checkout would commit (its
``gdcourse`` and ``.venv`` are links to this checkout's, so nothing is installed). The test
runs every ``bash`` block of README's *For instructors* section, in order, in one shell,
after writing its ``csv`` block to ``roster.csv``. A student plays their part in between as
JupyterLab's *Assignment List* would (tests/support/assignment_list.py): after the release
they fetch, fill in and submit; after the feedback is released they fetch it. A second
student's notebook is placed in ``submitted/`` by hand, from ``~/Downloads`` (a scratch home).

Then: every command succeeded; the exchange is the course's own ``exchange/``; the roster's
names are in the gradebook; ``release_feedback`` released the exchange submission's page and
listed the hand-placed one instead of failing; the student got their feedback; grades were
exported; and ``git status --porcelain`` is empty (every output is git-ignored).
"""

from __future__ import annotations

import csv
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from support.scratch_course import ROOT, blocks, scratch_course, section

ATTACKS = ROOT / "tests" / "attacks"
STUDENT = ROOT / "tests" / "support" / "assignment_list.py"
SYSTEM_EXCHANGE = Path("/usr/local/share/nbgrader/exchange")


def test_the_guide_shows_the_course_config_as_it_is() -> None:
    """The exchange settings README quotes are the ones in nbgrader_config.py."""
    config = (ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    quoted = blocks(section("For instructors"), "python")[0]
    for line in quoted.splitlines():
        assert line in config, line


def _student(*actions: str) -> str:
    python = shlex.quote(str(ROOT / ".venv" / "bin" / "python"))
    script = shlex.quote(str(STUDENT))
    return f'{python} {script} "$PWD" ps4_autograd {shlex.join(actions)}\n'


def _listing(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*")) if folder.exists() else []


@pytest.mark.slow
def test_the_instructor_guide_runs_as_written(tmp_path: Path) -> None:
    guide = section("For instructors")
    course = scratch_course(tmp_path)
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    shutil.copy(ATTACKS / "wrong_sign.ipynb", home / "Downloads" / "ps4_autograd.ipynb")
    (course / "roster.csv").write_text(blocks(guide, "csv")[0], encoding="utf-8")

    script = ["set -euo pipefail\n"]
    for code in blocks(guide, "bash"):
        script.append(code)
        if "release_assignment" in code:  # the student fetches, fills in and submits
            correct = ATTACKS / "correct.ipynb"
            script.append(_student("courses", "fetch", f"fill={correct}", "submit"))
        if "release_feedback" in code:
            script.append(_student("fetch_feedback"))
    system_exchange_before = _listing(SYSTEM_EXCHANGE)
    env = {
        "PATH": "/usr/bin:/bin",  # a new shell: only README's commands put .venv on PATH
        "HOME": str(home),
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(
        ["bash", "-c", "".join(script)],
        cwd=course, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-6000:]
    assert "Traceback" not in log, log[-6000:]

    # the exchange is the course's own, and nbgrader's system folder was left alone
    assert (course / "exchange" / "gdcourse" / "outbound" / "ps4_autograd").is_dir()
    assert _listing(SYSTEM_EXCHANGE) == system_exchange_before
    assert 'courses {"success": true, "value": ["gdcourse"]}' in done.stdout  # the drop-down

    # the roster's names are in the gradebook; the exchange's student was added by grading
    with sqlite3.connect(course / "gradebook.db") as db:
        names = dict(db.execute("SELECT id, last_name FROM student").fetchall())
    me = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    assert names["ada"] == "Lovelace" and names["alan"] == "Turing", names
    assert me in names, names

    # both routes graded: the exchange's submission in full, alan's wrong one not
    with (course / "reports" / "grades.csv").open(newline="", encoding="utf-8") as handle:
        rows = {(r["student_id"], r["assignment"]): r for r in csv.DictReader(handle)}
    assert float(rows[(me, "ps4_autograd")]["score"]) == 3.0, rows
    assert float(rows[("alan", "ps4_autograd")]["score"]) == 0.0, rows

    # release_feedback: the exchange submission's page released and fetched back, the
    # hand-placed one listed for the instructor
    released = list((course / "exchange" / "gdcourse" / "feedback").glob("*.html"))
    assert len(released) == 1, released
    fetched = list((course / "work" / "ps4_autograd" / "feedback").glob("*/ps4_autograd.html"))
    assert len(fetched) == 1 and fetched[0].read_bytes() == released[0].read_bytes()
    assert "feedback/alan/ps4_autograd/ps4_autograd.html" in log, log[-4000:]

    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=course, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert status.stdout == "", status.stdout


@pytest.mark.slow
def test_release_feedback_releases_exchange_pages_and_lists_the_others(tmp_path: Path) -> None:
    """``nbgrader release_feedback`` (the real command) with one submission of each route."""
    from nbgrader.utils import notebook_hash

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    page = "<html><body>feedback</body></html>"
    for student in ("ada", "alan"):
        folder = tmp_path / "feedback" / student / "ps4_autograd"
        folder.mkdir(parents=True)
        (folder / "ps4_autograd.html").write_text(f"{page}{student}", encoding="utf-8")
    # ada came through the exchange: nbgrader submit's receipt is kept with her feedback
    ada = tmp_path / "feedback" / "ada" / "ps4_autograd"
    (ada / "timestamp.txt").write_text("2026-11-29 09:00:00.000000 UTC", encoding="utf-8")
    (ada / "submission_secret.txt").write_text("s3cret", encoding="utf-8")
    nbgrader = Path(sys.executable).parent / "nbgrader"
    done = subprocess.run(
        [str(nbgrader), "release_feedback", "ps4_autograd"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    assert "Traceback" not in log and "FileNotFoundError" not in log, log
    outbound = tmp_path / "exchange" / "gdcourse" / "feedback"
    name = notebook_hash(secret="s3cret", notebook_id="ps4_autograd")
    assert sorted(p.name for p in outbound.iterdir()) == [f"{name}.html"]
    assert (outbound / f"{name}.html").read_text(encoding="utf-8") == f"{page}ada"
    assert "hand these pages out yourself" in log
    assert "feedback/alan/ps4_autograd/ps4_autograd.html" in log
    assert "feedback/ada/" not in log.split("hand these pages out yourself")[1]


def test_a_hubs_exchange_wins_over_the_courses_own(tmp_path: Path, monkeypatch) -> None:
    """exchange_root: the course's exchange/ unless a Jupyter config outside it names one."""
    import jupyter_core.paths

    from gdcourse.course import exchange_root

    course, etc = tmp_path / "course", tmp_path / "etc" / "jupyter"
    course.mkdir()
    etc.mkdir(parents=True)
    monkeypatch.setattr(jupyter_core.paths, "jupyter_config_path", lambda: [str(etc)])
    assert exchange_root(course) == str(course.resolve() / "exchange")
    (etc / "nbgrader_config.py").write_text('c.Exchange.root = "/srv/nbgrader/exchange"\n')
    assert exchange_root(course) == "/srv/nbgrader/exchange"


def test_the_build_makes_the_assignment_list_work_before_any_release(tmp_path: Path) -> None:
    """Before the first release, the Assignment List (nbgrader's ExchangeList, which its
    server extension runs) failed with "Error fetching courses!": the exchange did not exist.
    ``gdcourse build`` creates the course's own exchange (Course.ensure_exchange), with the
    mode nbgrader's release gives it; the list is then empty, not an error."""
    import stat

    from nbgrader.auth import Authenticator
    from nbgrader.exchange import ExchangeError
    from nbgrader.exchange.default.list import ExchangeList

    from gdcourse.course import Course

    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    opened = Course.open(course)

    def listed() -> list[object]:
        config = opened.config()
        lister = ExchangeList(
            coursedir=opened.coursedir(), authenticator=Authenticator(config=config), config=config
        )
        return list(lister.start())

    with pytest.raises(ExchangeError):
        listed()
    assert opened.ensure_exchange() == course / "exchange"
    assert stat.S_IMODE((course / "exchange").stat().st_mode) == 0o777
    assert opened.ensure_exchange() is None  # there already: nothing to do
    assert listed() == []
