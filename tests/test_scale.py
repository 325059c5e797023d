"""Grading at scale, end to end, on real components: a Dask cluster and a PostgreSQL server.

* A ``LocalCluster`` of two worker processes on 127.0.0.1 (each started by a nanny,
  which starts a new one when a worker dies) grades a scratch course through
  ``gdcourse grade --scheduler`` into a PostgreSQL gradebook; a worker is killed
  while it runs a submission. Every submission is then graded (the killed one again,
  on a worker that lives), judged and recorded once, with the expected scores.
* On that gradebook, plain ``nbgrader autograde``, ``nbgrader export`` and
  formgrader's gradebook API work as well; two runs grading different assignments
  of one course at the same time, on a gradebook neither has created, lose no write.
* A local run stopped by Ctrl-C, then one killed outright, are restarted: the last
  grades only what is missing, and ends with the scores, report and CSV of the
  uninterrupted run above.

The PostgreSQL server (tests/postgres.py) is Debian's, run as an unprivileged user on
a Unix socket in a temporary folder, stopped at the end of the module; so is the
cluster.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from browser import jupyter_server
from courses import (
    ATTACKS,
    PS4,
    ROOT,
    SCORES,
    grade_process,
    journal_lines,
    make_course,
    ps4_scores,
    scores,
    sqlite,
)
from postgres import postgres_server

from gdcourse.grading import recording
from gdcourse.grading.cli import check_command

PS2 = "ps2_gradient_descent"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    with postgres_server() as running:
        yield running


@pytest.fixture(scope="module")
def cluster():
    from gdcourse.grading.runners.cluster import loopback_cluster

    with loopback_cluster(2) as cluster:
        yield cluster


def _busy_worker(cluster, deadline: float) -> tuple[str, str]:
    """A worker running a grading task now, and that task's key."""
    from distributed import Client

    with Client(cluster.scheduler_address, set_as_default=False) as client:
        while time.monotonic() < deadline:
            for address, keys in client.processing().items():
                running = [key for key in keys if str(key).startswith("gdcourse-run-")]
                if running:
                    return address, str(running[0])
            time.sleep(0.05)
    raise AssertionError("no grading task ever ran on the cluster")


def _report(course: Path) -> dict[str, dict[str, object]]:
    data = json.loads((course / "reports" / PS4 / "report.json").read_text())
    return {student["student"]: student for student in data["students"]}


@pytest.fixture(scope="module")
def on_dask(tmp_path_factory, server, cluster):
    """A course graded on the cluster into PostgreSQL, a worker killed mid-task."""
    url = server.create_database("course")
    course = make_course(tmp_path_factory.mktemp("dask"), db_url=url)  # db_url in the config
    process = grade_process(course, "--scheduler", cluster.scheduler_address)
    address, key = _busy_worker(cluster, time.monotonic() + 300)
    nanny = next(n for n in cluster.workers.values() if n.worker_address == address)
    os.kill(nanny.process.pid, signal.SIGKILL)  # the worker process, while it grades
    output, _ = process.communicate(timeout=600)
    return {
        "course": course,
        "url": url,
        "code": process.returncode,
        "output": output,
        "story": cluster.scheduler.story(key),
        "key": key,
        "report": _report(course) if process.returncode == 0 else {},
        "scores": ps4_scores(url),  # before a later test adds a late submission
        "csv": (course / "reports" / PS4 / "grades.csv").read_text(),
    }


def test_a_killed_worker_loses_no_submission(on_dask):
    assert on_dask["code"] == 0, on_dask["output"]
    assert "Grading on 2 Dask workers" in on_dask["output"]
    runs = [e for e in on_dask["story"] if e[0] == on_dask["key"] and e[2] == "processing"]
    assert len(runs) >= 2, on_dask["story"]  # the killed worker's task ran again, elsewhere
    # every submission judged and recorded once, with the scores local grading gives
    lines = journal_lines(on_dask["course"])
    assert sorted(line["student"] for line in lines) == sorted(SCORES), lines
    assert ps4_scores(on_dask["url"]) == SCORES
    assert set(on_dask["report"]) == set(SCORES)
    assert not (on_dask["course"] / "gradebook.db").exists()  # nothing went to SQLite


def test_check_runs_a_job_in_every_workers_sandbox(cluster, on_dask, capsys):
    # in the course graded above: each worker's warm sandbox runs the check
    assert check_command(root=on_dask["course"], scheduler=cluster.scheduler_address) == 0
    out = capsys.readouterr().out
    assert out.count("isolated (bubblewrap, user namespaces)") == 2, out
    assert "All 2 can grade." in out


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(bin_dir / "nbgrader"), *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_nbgrader_autograde_export_and_formgrader_use_the_postgresql_gradebook(
    on_dask, monkeypatch
):
    course, url = on_dask["course"], on_dask["url"]
    # a late submission, graded by plain nbgrader (formgrader's button does the same)
    late = course / "submitted" / "late" / PS4
    late.mkdir(parents=True)
    (late / f"{PS4}.ipynb").write_bytes((ATTACKS / "correct.ipynb").read_bytes())
    done = _nbgrader(course, "autograde", PS4, "--student=late")
    assert done.returncode == 0, done.stderr[-3000:]
    expected = {**SCORES, "late": SCORES["correct"]}
    assert ps4_scores(url) == expected

    done = _nbgrader(course, "export")
    assert done.returncode == 0, done.stderr[-3000:]
    with open(course / "reports" / "grades.csv", newline="") as file:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(file)}
    assert rows == {student: sum(points) for student, points in expected.items()}

    monkeypatch.chdir(course)  # formgrader reads nbgrader_config.py where it starts
    with jupyter_server(course) as jupyter:
        request = urllib.request.Request(
            f"{jupyter.base_url}/formgrader/api/submissions/{PS4}",
            headers={"Authorization": f"token {jupyter.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            answer = json.loads(response.read())
    assert {s["student"]: s["score"] for s in answer} == rows
    assert all(s["autograded"] for s in answer)


def test_two_instructors_grading_different_assignments_at_once_lose_no_write(tmp_path, server):
    url = server.create_database("shared")  # empty: the two runs race to create everything
    ps2 = ROOT / "tests" / "submissions" / PS2
    course = make_course(
        tmp_path,
        {
            PS4: {"ada": ATTACKS / "correct.ipynb", "bob": ATTACKS / "wrong_sign.ipynb"},
            PS2: {
                "ada": ROOT / "solutions" / PS2 / f"{PS2}.ipynb",
                "bob": ps2 / "uphill_sign_error.ipynb",
            },
        },
    )
    processes = [
        grade_process(course, "--assignment", name, "--db", url, "--workers", "1")
        for name in (PS4, PS2)
    ]
    for process in processes:
        output, _ = process.communicate(timeout=600)
        assert process.returncode == 0, output
    assert ps4_scores(url) == {"ada": SCORES["correct"], "bob": SCORES["wrong_sign"]}
    master = json.loads((ROOT / "solutions" / PS2 / f"{PS2}.ipynb").read_text())
    full = sum(
        float(meta["points"])
        for meta in (cell["metadata"].get("nbgrader", {}) for cell in master["cells"])
        if meta.get("grade") and not meta.get("solution")
    )
    totals = {student: sum(grades.values()) for student, grades in scores(url, PS2).items()}
    assert totals["ada"] == full and 0 <= totals["bob"] < full, totals
    assert server.query("shared", "SELECT id FROM student ORDER BY id") == [("ada",), ("bob",)]
    for name in (PS4, PS2):
        assert sorted(line["student"] for line in journal_lines(course, name)) == ["ada", "bob"]


def test_students_added_by_three_writers_at_once_are_added_once(server):
    url = server.create_database("race")
    recording.prepare_gradebook(url, "gdcourse")
    students = [f"student{i:02d}" for i in range(30)]
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def add(order: list[str]) -> None:
        barrier.wait()
        try:
            recording.ensure_students(url, "gdcourse", order)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=add, args=(order,))
        for order in (students, students[::-1], students[15:] + students[:15])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert server.query("race", "SELECT count(*), count(DISTINCT id) FROM student") == [(30, 30)]


def _wait_for_lines(course: Path, process: subprocess.Popen[str], count: int) -> None:
    """Block until the run has recorded ``count`` more students; fail if it ends first."""
    target = len(journal_lines(course)) + count
    deadline = time.monotonic() + 300
    while len(journal_lines(course)) < target:
        if process.poll() is not None:
            output, _ = process.communicate()
            raise AssertionError(f"the run ended before it was interrupted:\n{output}")
        assert time.monotonic() < deadline, "the run recorded nothing for 5 minutes"
        time.sleep(0.02)


def test_an_interrupted_run_grades_only_what_is_missing_and_ends_with_the_same_scores(
    tmp_path, on_dask
):
    course = make_course(tmp_path)  # the same submissions, graded here, into SQLite
    students = set(SCORES)

    # Ctrl-C once the first student is recorded: the run stops cleanly and says so
    first = grade_process(course, "--workers", "1")
    _wait_for_lines(course, first, 1)
    os.killpg(first.pid, signal.SIGINT)
    output, _ = first.communicate(timeout=120)
    assert first.returncode == 130, output
    assert "interrupted" in output and "Run the same command again" in output, output
    after_first = {line["student"] for line in journal_lines(course)}
    assert 1 <= len(after_first) < len(students), output

    # killed outright (no chance to clean up) once one more is recorded
    second = grade_process(course, "--workers", "1")
    _wait_for_lines(course, second, 1)
    os.killpg(second.pid, signal.SIGKILL)
    second.communicate(timeout=120)
    recorded = {line["student"] for line in journal_lines(course)}
    assert after_first < recorded < students

    # started again: grades only what is missing, each once
    third = grade_process(course)
    output, _ = third.communicate(timeout=600)
    assert third.returncode == 0, output
    skipped = f"{len(recorded)} of {len(students)} submissions were recorded by an earlier run"
    assert skipped in output, output
    newly = [line["student"] for line in journal_lines(course) if line["student"] not in recorded]
    assert sorted(newly) == sorted(students - recorded)
    assert json.loads(output.strip().splitlines()[-1])["dask_modules"] == []  # no Dask here
    for student in students:  # feedback for everyone, not only this run's
        assert (
            (course / "feedback" / student / PS4 / f"{PS4}.ipynb").with_suffix(".html").is_file()
        ), student

    # the same scores, report and CSV as the uninterrupted run
    assert ps4_scores(sqlite(course)) == SCORES == on_dask["scores"]
    assert _report(course) == on_dask["report"]
    assert (course / "reports" / PS4 / "grades.csv").read_text() == on_dask["csv"]
