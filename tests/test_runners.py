"""The run stage: a scheduler that cannot be reached, the workers' check, the fingerprint.

tests/test_scale.py grades on a real Dask cluster and kills one of its workers.
"""

from __future__ import annotations

import socket
import time

import pytest
from courses import make_course

from gdcourse.grading.cli import grade_command
from gdcourse.grading.runners import SandboxCheck, describe, fingerprint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_an_unreachable_scheduler_is_a_clear_error_within_seconds(tmp_path, capsys):
    course = make_course(tmp_path, ["correct"])
    port = _free_port()
    started = time.monotonic()
    code = grade_command(
        "ps4_autograd", workers=1, root=course, scheduler=f"tcp://127.0.0.1:{port}"
    )
    took = time.monotonic() - started
    message = capsys.readouterr().err
    assert code == 4 and took < 15, (took, message)
    assert f"tcp://127.0.0.1:{port}" in message and "connection refused" in message
    assert "Check that the scheduler is running" in message
    # a port that accepts connections but never speaks Dask (a hang, without the check)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        code = grade_command(
            "ps4_autograd", workers=1, root=course, scheduler=address, connect_timeout=3
        )
        took = time.monotonic() - started
    message = capsys.readouterr().err
    assert code == 4 and took < 10, (took, message)
    assert "no Dask scheduler answered" in message and "8786" in message
    code = grade_command("ps4_autograd", workers=1, root=course, scheduler="localhost:port")
    assert code == 4
    assert "is not a Dask scheduler address" in capsys.readouterr().err
    code = grade_command("ps4_autograd", workers=1, root=course, scheduler="gateway://gw:80/c1")
    assert code == 4
    assert "Dask here speaks no gateway://" in capsys.readouterr().err
    assert not (course / "gradebook.db").exists()  # nothing was started, nothing written


def test_the_check_report_says_who_cannot_grade():
    mine = fingerprint()
    good = SandboxCheck("tcp://a", "3.11", mine, True, "ok", 0.3)
    bare = SandboxCheck("tcp://b", "3.11", mine, False, "ok", 0.3)
    other = SandboxCheck("tcp://c", "3.11", "0" * 64, True, "ok", 0.3)
    broken = SandboxCheck("tcp://d", "3.11", mine, False, "refused", 0.0, error="no bwrap")
    assert describe([good], mine) == (good.summary(mine), True)
    assert not describe([good, bare], mine)[1]
    assert describe([good, bare], mine, isolation=False)[1]
    text, ok = describe([good, other, broken], mine)
    assert not ok and "DIFFERS" in text and "FAILED: no bwrap" in text


def test_the_fingerprint_changes_with_what_runs_in_the_sandbox(tmp_path, monkeypatch):
    from gdcourse.grading import runners

    package = tmp_path / "gdcourse"
    for part in ("sandbox", "probes"):
        (package / "grading" / part).mkdir(parents=True)
        (package / "grading" / part / "a.py").write_text("x = 1\n")
    (package / "grading" / "protocol.py").write_text("")
    (package / "grading" / "shortcuts.py").write_text("")
    monkeypatch.setattr(runners, "PACKAGE", package)
    before = runners.fingerprint()
    (package / "grading" / "probes" / "a.py").write_text("x = 2\n")
    assert runners.fingerprint() != before


@pytest.mark.slow
def test_a_cluster_left_without_workers_stops_the_run_and_says_how_to_resume():
    """Submissions in flight and no worker to run them (all died, none started): the run stops
    after ``no_worker_seconds`` with a message, instead of waiting for ever."""
    from distributed import Client

    from gdcourse.grading.runners import RunAborted
    from gdcourse.grading.runners.cluster import DaskRunner, loopback_cluster
    from gdcourse.grading.sandbox import Job, Limits, TestRequest

    job = Job(
        "sandbox_probes",
        ["def add(a, b):\n    return a + b\n"],
        [TestRequest("t", "add", [{"a": 1, "b": 2}])],
        Limits(wall_seconds=5.0),
    )
    with loopback_cluster(0) as cluster, Client(cluster) as client:
        runner: DaskRunner[str] = DaskRunner(
            client, course_root=None, isolation=False, no_worker_seconds=1.0, poll_seconds=0.2
        )
        assert runner.description.startswith("0 Dask workers (0 threads)")
        try:
            runner.submit("ada", job)
            started = time.monotonic()
            with pytest.raises(RunAborted) as stopped:
                runner.wait()
            took = time.monotonic() - started
        finally:
            runner.close()
    assert 1.0 < took < 10, took
    assert str(stopped.value) == (
        "the Dask cluster has had no worker for 1 s, with 1 submission in flight: start "
        "workers, then run the same command again to grade what is missing"
    )
