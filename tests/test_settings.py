"""The grader's settings: every one that ``python3 -m gdcourse.grading.settings`` lists is
honoured when a configuration file sets it (the course's ``nbgrader_config.py``, or a hub's
``/etc/jupyter``, here a folder of ``JUPYTER_CONFIG_PATH``), the course's file winning; no
caller overwrites a module global; ``gdcourse grade`` takes one typed options object and says
its first line at once."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gdcourse.grading import settings
from gdcourse.grading.autograde import read_master, run, sanitize
from gdcourse.grading.intake import submission_problem
from gdcourse.grading.report import StudentRecord, write_report

ROOT = Path(__file__).resolve().parent.parent
PS4 = "ps4_autograd"
MASTER = ROOT / "solutions" / PS4 / f"{PS4}.ipynb"

#: A value for each setting, unlike its default; those of the first sections go in the hub's
#: file, the others in the course's (which also overrides one of the hub's).
VALUES: dict[str, Any] = {
    "SandboxLimits.cpu_seconds": 7.5,
    "SandboxLimits.wall_seconds": 11.0,
    "SandboxLimits.cell_seconds": 3.0,
    "SandboxLimits.probe_seconds": 4.0,
    "SandboxLimits.memory_bytes": 300 << 20,
    "SandboxLimits.processes": 9,
    "SandboxLimits.file_bytes": 1 << 20,
    "SandboxLimits.open_files": 33,
    "SandboxLimits.output_bytes": 4096,
    "SandboxLimits.flood_bytes": 1 << 22,
    "SandboxLimits.reply_bytes": 1 << 21,
    "SandboxLimits.tmp_bytes": 1 << 23,
    "SubmissionLimits.notebook_bytes": 4096,
    "SubmissionLimits.cells": 3,
    "SubmissionLimits.folder_entries": 2,
    "SubmissionLimits.folder_bytes": 10,
    "GradeRun.workers": 3,
    "GradeRun.window": 5,
    "GradeRun.connect_seconds": 2.5,
    "GradeRun.no_worker_seconds": 33.0,
    "GradeRun.record_attempts": 2,
    "GradeReport.reason_chars": 20,
    "GradeReport.items": 2,
    "GradeReport.reason_chars_json": 25,
    "GradeReport.items_json": 3,
}
HUB = ("SandboxLimits", "GradeRun")


def listed() -> dict[str, str]:
    """Every setting the listing prints, with its default as printed."""
    found = {}
    for line in settings.describe().splitlines():
        match = re.fullmatch(r"c\.(\w+\.\w+) = (.+)", line)
        if match:
            found[match[1]] = match[2]
    return found


class Stop(Exception):
    """Ends a grading run once the value under test is seen."""


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A course whose nbgrader_config.py sets half the settings; a hub's folder the rest."""
    root = tmp_path / "course"
    (root / "solutions" / PS4).mkdir(parents=True)
    (root / "solutions" / PS4 / MASTER.name).write_bytes(MASTER.read_bytes())
    (root / "submitted" / "ada" / PS4).mkdir(parents=True)
    (root / "submitted" / "ada" / PS4 / MASTER.name).write_bytes(MASTER.read_bytes())
    hub = tmp_path / "etc-jupyter"
    hub.mkdir()
    lines = {True: ["c = get_config()"], False: [(ROOT / "nbgrader_config.py").read_text()]}
    for name, value in VALUES.items():
        lines[name.split(".")[0] in HUB].append(f"c.{name} = {value!r}")
    lines[True].append("c.GradeRun.workers = 8")
    lines[False].append("c.GradeRun.workers = 3")  # the course's file wins over the hub's
    (hub / "nbgrader_config.py").write_text("\n".join(lines[True]) + "\n")
    (root / "nbgrader_config.py").write_text("\n".join(lines[False]) + "\n")
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(hub))
    return root


def test_the_listing_has_every_setting_and_each_has_a_check_here():
    assert set(listed()) == set(VALUES)
    for name, value in VALUES.items():
        assert repr(value) != listed()[name], f"{name}: the test value is the default"


def test_every_sandbox_limit_reaches_the_job(course):
    master = read_master(course / "solutions" / PS4 / MASTER.name)
    notebook, _ = sanitize(json.loads(MASTER.read_text()), master)
    prepared = run.prepare(notebook, master, limits=settings.load_settings(course).limits)
    assert not isinstance(prepared, run.NotebookGrade), prepared
    job, _ = prepared
    for name, value in VALUES.items():
        section, _, field = name.partition(".")
        if section == "SandboxLimits":
            assert getattr(job.limits, field) == value, name


def test_the_submission_bounds_refuse_and_cut(course, tmp_path):
    bounds = settings.load_settings(course).submissions
    master = read_master(course / "solutions" / PS4 / MASTER.name)
    from gdcourse.grading.autograde import read_submission

    read = read_submission(course / "submitted", ["ada", PS4, MASTER.name], master, bounds=bounds)
    assert read.unreadable and "larger than 4096 bytes" in read.unreadable  # notebook_bytes
    content = json.loads(MASTER.read_text())
    _, notes = sanitize(content, master, bounds=bounds)
    assert any("only the first 3 count" in note for note in notes), notes  # cells
    folder = tmp_path / "submitted" / "bob" / PS4
    folder.mkdir(parents=True)
    (folder / "a.txt").write_text("12345678901")  # 11 bytes
    assert "larger than" in str(submission_problem(folder, bounds))  # folder_bytes
    (folder / "a.txt").write_text("1")
    (folder / "b.txt").write_text("2")
    (folder / "c.txt").write_text("3")
    assert "more than 2 files" in str(submission_problem(folder, bounds))  # folder_entries


def test_the_report_sizes_cut_reasons_and_lists(course, tmp_path):
    sizes = settings.load_settings(course).report
    record = StudentRecord("ada", needs_human=[f"{i}:" + "x" * 10 + "Z" * 100 for i in range(5)])
    text = write_report(tmp_path / "r", PS4, [record], {"q": 1.0}, sizes=sizes).read_text()
    assert "Z" * 15 not in text and "(and 3 more)" in text  # reason_chars, items
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    listed_reasons = data["students"][0]["needs_human"]
    assert len(listed_reasons) == 3 and all(len(r) <= 25 for r in listed_reasons)


def test_the_run_settings_reach_the_runner_and_the_recorder(course, monkeypatch):
    from gdcourse.grading import cli, recording
    from gdcourse.grading.cli import GradeOptions, grade_command
    from gdcourse.grading.runners import local

    seen: dict[str, Any] = {}

    class Runner:
        description = "a stand-in"

        def close(self) -> None:
            pass

    def start_local(course_root: Path, **options: Any) -> Any:
        seen.update(options)
        return local.Background(Runner)

    class Recorder(recording.Recorder):
        def __init__(self, *args: Any, attempts: int, **kwargs: Any) -> None:
            seen["attempts"] = attempts
            raise Stop

    monkeypatch.setattr(local, "start_local", start_local)
    monkeypatch.setattr(recording, "Recorder", Recorder)
    for step in ("prepare_gradebook", "ensure_assignment", "ensure_students"):
        monkeypatch.setattr(recording, step, lambda *args: None)  # the gradebook: not needed
    monkeypatch.setattr(cli, "_warm", lambda *args: None)  # the references: not needed here
    with pytest.raises(Stop):
        grade_command(PS4, GradeOptions(root=course))
    assert (seen["workers"], seen["window"], seen["attempts"]) == (3, 5, 2)


def test_the_cluster_timeouts_are_the_configured_ones(course, monkeypatch):
    from gdcourse.grading.cli import grade_command
    from gdcourse.grading.runners import RunAborted, cluster

    seen = {}

    def connect(address: str, *, timeout: float) -> Any:
        seen["timeout"] = timeout
        return "a client"

    def runner(client: Any, **options: Any) -> Any:
        seen.update(options)
        raise RunAborted("stopped by the test")

    monkeypatch.setattr(cluster, "connect", connect)
    monkeypatch.setattr(cluster, "DaskRunner", runner)
    assert grade_command(PS4, root=course, scheduler="tcp://127.0.0.1:9") == 4
    assert (seen["timeout"], seen["no_worker_seconds"]) == (2.5, 33.0)


def test_the_defaults_are_those_of_the_stages_they_replace():
    from gdcourse.grading import recording
    from gdcourse.grading.runners import cluster

    run_defaults = settings.RunSettings()
    assert run_defaults.no_worker_seconds == cluster.NO_WORKER_SECONDS
    assert run_defaults.connect_seconds == cluster.CONNECT_SECONDS
    assert run_defaults.record_attempts == recording.ATTEMPTS


def test_a_bad_value_stops_the_run_naming_the_setting(course):
    from gdcourse.grading.cli import grade_command

    with open(course / "nbgrader_config.py", "a") as config:
        config.write("c.SubmissionLimits.cells = 0\n")
    with pytest.raises(SystemExit, match=r"c\.SubmissionLimits\.cells must be > 0, got 0"):
        grade_command(PS4, root=course)


def test_no_module_global_holds_the_limits_for_callers_to_overwrite():
    assert not hasattr(run, "LIMITS")
    written = "run." + "LIMITS ="
    for path in (ROOT / "tests").glob("*.py"):
        assert written not in path.read_text(), path


def test_no_function_of_the_grading_command_takes_a_long_list_of_parameters():
    tree = ast.parse((ROOT / "gdcourse" / "grading" / "cli.py").read_text())
    long = {
        node.name: len(node.args.args) + len(node.args.kwonlyargs) + len(node.args.posonlyargs)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    assert max(long.values()) <= 6, long


def test_the_first_line_comes_before_the_slow_imports(tmp_path):
    """Idle, the first line comes after about 0.2 s (it was 2 to 4 s); 1.5 s allows a loaded
    machine."""
    course = tmp_path / "course"
    (course / "solutions" / PS4).mkdir(parents=True)
    (course / "solutions" / PS4 / MASTER.name).write_bytes(MASTER.read_bytes())
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "gdcourse", "grade", PS4],
        cwd=course,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = process.stderr.readline() if process.stderr else ""
    seconds = time.monotonic() - started
    process.kill()  # what follows is the run itself
    process.communicate(timeout=60)
    assert first == f"gdcourse grade {PS4}: course {course.resolve()}\n", first
    assert seconds < 1.5, seconds
