"""One pipeline, one direction: each submission runs in the sandbox once per run, as configured.

A small course (tests/courses.py) gets a hook in its ``nbgrader_config.py`` that
writes one line to a file for every job a sandbox is asked to run: which code it
runs, which command's run it belongs to, and whether the sandbox isolates. Then
the real commands, each in a process of its own: ``gdcourse grade --no-isolation``
(the pipeline hands its verdicts to nbgrader's autograde, which must record them
without running anything again, and never in a sandbox with another isolation),
and plain ``nbgrader autograde`` (formgrader's route: nbgrader's preprocessors run
the pipeline themselves, isolated as the configuration says). Each readable
submission must run exactly once in each, an unreadable one never, and both
must give every submission its expected score. The same file sets two sandbox limits
(``c.SandboxLimits.*``, :mod:`gdcourse.grading.settings`): every job of both routes
must carry them.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from courses import PS4, SCORES, make_course, scores

from gdcourse.grading.autograde import read_master, run
from gdcourse.grading.autograde.submission import read_submission

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = ("correct", "wrong_sign", "syntax_error_elsewhere", "invalid_json")
COUNTER_ENV = "GDCOURSE_TEST_SANDBOX_RUNS"

CONFIGURED = {"cpu_seconds": 41.0, "wall_seconds": 97.0}

HOOK = """
# the grader's settings, as an instructor sets them
c.SandboxLimits.cpu_seconds = 41.0
c.SandboxLimits.wall_seconds = 97.0
# tests/test_pipeline.py: one line per sandbox job, in the file the environment names
import os as _os

if _os.environ.get("GDCOURSE_TEST_SANDBOX_RUNS"):
    import hashlib as _hashlib
    import json as _json

    from gdcourse.grading.sandbox import Sandbox as _Sandbox

    if not getattr(_Sandbox.run, "counted", False):
        _run = _Sandbox.run

        def _counted(self, job):
            line = {
                "phase": _os.environ["GDCOURSE_TEST_PHASE"],
                "cells": _hashlib.sha256(_json.dumps(list(job.cells)).encode()).hexdigest(),
                "isolation": self.isolation,
                "limits": {k: getattr(job.limits, k) for k in ("cpu_seconds", "wall_seconds")},
            }
            with open(_os.environ["GDCOURSE_TEST_SANDBOX_RUNS"], "a") as file:
                file.write(_json.dumps(line) + "\\n")
            return _run(self, job)

        _counted.counted = True
        _Sandbox.run = _counted
"""


def _command(course: Path, runs: Path, phase: str, *args: str) -> subprocess.CompletedProcess[str]:
    scripts = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        COUNTER_ENV: str(runs),
        "GDCOURSE_TEST_PHASE": phase,
        "PATH": scripts + os.pathsep + os.environ.get("PATH", ""),  # nbgrader runs alembic
    }
    return subprocess.run(
        list(args), cwd=course, env=env, capture_output=True, text=True, timeout=400, check=False
    )


def _digest(course: Path, student: str) -> str:
    """The digest of the code cells the pipeline runs for ``student`` (as the hook writes it)."""
    master = read_master(course / "solutions" / PS4 / f"{PS4}.ipynb")
    submission = read_submission(course / "submitted", [student, PS4, f"{PS4}.ipynb"], master)
    cells = [source for _, source in run.student_cells(submission.notebook, master)]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("pipeline"), STUDENTS)
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(HOOK)
    runs = course.parent / "runs.jsonl"
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    found = {}
    cli = _command(
        course, runs, "cli", sys.executable, "-m", "gdcourse", "grade", PS4, "--no-isolation"
    )
    assert cli.returncode == 0, cli.stdout[-3000:] + cli.stderr[-3000:]
    found["cli"] = scores(db_url)
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    plain = _command(course, runs, "nbgrader", nbgrader, "autograde", PS4, "--force")
    assert plain.returncode == 0, plain.stdout[-3000:] + plain.stderr[-3000:]
    found["nbgrader"] = scores(db_url)
    lines = [json.loads(line) for line in runs.read_text().splitlines()]
    digests = {student: _digest(course, student) for student in STUDENTS}
    return {"lines": lines, "digests": digests, "scores": found}


@pytest.mark.parametrize(("phase", "isolation"), [("cli", False), ("nbgrader", True)])
def test_each_submission_runs_once_with_the_isolation_configured(graded, phase, isolation):
    lines = [line for line in graded["lines"] if line["phase"] == phase]
    counts = Counter(line["cells"] for line in lines)
    readable = [s for s in STUDENTS if s != "invalid_json"]
    assert {s: counts[graded["digests"][s]] for s in readable} == dict.fromkeys(readable, 1)
    assert sum(counts.values()) == len(readable)  # the unreadable one never runs
    assert {line["isolation"] for line in lines} == {isolation}
    assert all(line["limits"] == CONFIGURED for line in lines), lines


@pytest.mark.parametrize("phase", ["cli", "nbgrader"])
def test_both_routes_give_every_submission_its_score(graded, phase):
    got = graded["scores"][phase]
    for student in STUDENTS:
        visible, hidden = SCORES[student]
        assert got[student] == {
            "test_train_autograd_visible": visible,
            "test_train_autograd_hidden": hidden,
        }, student


def test_a_notebook_not_handed_over_is_refused_not_graded_again():
    from gdcourse.grading.autograde.handoff import Graded, NotHanded, handed, handing
    from gdcourse.grading.autograde.judge import not_graded
    from gdcourse.grading.autograde.submission import Submission

    master = read_master(ROOT / "solutions" / PS4 / f"{PS4}.ipynb")
    graded = Graded(Submission({"cells": []}), not_graded(master, "test", status="unreadable"))
    assert handed("alice", PS4) is None  # nothing handed: the preprocessors grade themselves
    with handing("alice", {PS4: graded}):
        assert handed("alice", PS4) is graded
        with pytest.raises(NotHanded, match="not graded a second time"):
            handed("bob", PS4)
        with pytest.raises(NotHanded):
            handed("alice", "other_notebook")
    assert handed("alice", PS4) is None  # the hand-off ends with the call


def test_settings_come_from_the_configuration_files_with_their_defaults(tmp_path: Path) -> None:
    from gdcourse.grading.sandbox import Limits
    from gdcourse.grading.settings import configured_limits, describe, load_config

    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.SandboxLimits.memory_bytes = 2 * 1024**3\n"
    )
    base = Limits(cpu_seconds=7.0)
    limits = configured_limits(load_config(tmp_path), base=base)
    assert limits == Limits(cpu_seconds=7.0, memory_bytes=2 << 30)  # the rest from base
    (tmp_path / "nbgrader_config.py").write_text(
        "c = get_config()\nc.SandboxLimits.processes = 0\n"
    )
    with pytest.raises(ValueError, match=r"c\.SandboxLimits\.processes must be > 0, got 0"):
        configured_limits(load_config(tmp_path))
    listed = describe()
    for field in Limits.__dataclass_fields__:
        assert f"c.SandboxLimits.{field} = {getattr(Limits(), field)!r}" in listed
