"""One submission never stops, changes or hides the class's run, and the instructor is told.

A course of ``ps4_autograd`` receives the correct notebook under student ids made to be
misread (by nbgrader: ``x,bob``, ``b*``; by a person: an invisible character, a Cyrillic
letter, two spellings of one accent; by a file system or a database: bytes that are not
UTF-8, a control character), a notebook one folder too high and a notebook holding a lone
surrogate. ``gdcourse grade`` runs three times: the whole class, ``--student bob``, and
once interrupted while it writes feedback. Faster checks cover the bounds of the judge
and of the CSV and report writers on hostile values directly.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gdcourse.grading import cli as grading_cli
from gdcourse.grading.autograde import read_master, run
from gdcourse.grading.autograde.judge import judge
from gdcourse.grading.escape import visible_id
from gdcourse.grading.export import write_grades
from gdcourse.grading.report import StudentRecord, write_report
from gdcourse.grading.sandbox import Limits, RunResult, TestOutcome

ROOT = Path(__file__).resolve().parent.parent
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
CORRECT = Path(__file__).resolve().parent / "attacks" / "correct.ipynb"
TARGET = "ps4_autograd/ps4_autograd.ipynb"
LIMITS = Limits(cpu_seconds=20, wall_seconds=60.0, cell_seconds=20.0, probe_seconds=12.0)

GRADED = ["bob", "x,bob", "alice", "\u0430lice", "jos\u00e9"]
"""Ids that are graded: full marks each (``\u0430`` is Cyrillic)."""
REFUSED = {
    "b*": "'*'",
    "-rf": "starts with '-'",
    "two words": "a space",
    "bob+ps4_autograd": "'+'",
    os.fsdecode(b"inv\xff"): "not valid UTF-8",
    "ctl\x1b[31m": "control character",
    "ali\u200bce": "invisible",
    "jose\u0301": "NFC",
}
"""Ids that are refused, each with words of its reason."""
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


# ------------------------------------------------------------------ bounds, fast


def _shape_bomb(dimensions: int) -> str:
    big = "9" * 4000
    shape = ",".join([big] * dimensions)
    data = {"__kind__": "ndarray", "dtype": "float64", "shape": f"[{shape}]", "data": []}
    return json.dumps({"data": {"output": data, "raised": None, "modified": []}}).replace(
        f'"[{shape}]"', f"[{shape}]"
    )


def test_judging_a_reply_takes_a_bounded_time():
    """A reply whose decoding grew with numbers the student chose (an array shape of
    hundreds of 4,000-digit dimensions took a quadratic time: minutes at 8 MB) is judged
    at once; so are long strings, huge numbers and nesting at the limit."""
    master = read_master(MASTER)
    replies = [
        _shape_bomb(600),
        json.dumps({"data": {"output": ["\u00e9" * 10**6], "raised": None, "modified": []}}),
        '{"data": {"output": [' + ",".join(["9" * 4000] * 1000) + "]}}",
        '{"data": {"output": 1' + "1" * 10**6 + ".5}}",
        '{"data": {"output": ' + "[" * 60 + "]" * 60 + "}}",
    ]
    outcomes = tuple(
        TestOutcome(t.grade_id, tuple(replies[: len(t.call.cases)])) for t in master.tests
    )
    references = run.shared_references(ROOT)
    for test in master.tests:  # the references' data, computed once per run, first
        for case in test.call.cases:
            references.get(test.call, case)
    result = RunResult("ok", "", '{"errors": []}', (), outcomes, "", 0, 0.1, True, 1)
    started = time.monotonic()
    grade = judge(master, result, [], references=references, limits=Limits())
    assert time.monotonic() - started < 5.0
    assert grade.score == 0.0


def test_grades_csv_holds_no_control_character_and_tells_ids_apart(tmp_path):
    rows = [
        {"assignment": "ps4", "student_id": "alice", "first_name": "Bob\x1b[2J\x07"},
        {"assignment": "ps4", "student_id": "\u0430lice", "last_name": "a\nb\udcff"},
        {"assignment": "ps4", "student_id": "ali\u200bce", "email": "=1+2"},
    ]
    text = write_grades(rows, tmp_path / "grades.csv").read_text(encoding="utf-8")
    assert not CONTROLS.search(text.replace("\r\n", "\n").replace("\n", "")), repr(text)
    ids = [row["student_id"] for row in csv.DictReader(io.StringIO(text))]
    assert ids == ["alice", "\\u0430lice", "ali\\u200bce"]


def test_the_report_is_written_whatever_a_student_string_holds(tmp_path):
    """A file name that is not UTF-8 (a lone surrogate in Python) once cost the report of
    the whole class; ids that look alike are shown apart, in full."""
    students = ["alice", "\u0430lice", os.fsdecode(b"inv\xff"), "a" * 150 + "1", "a" * 150 + "2"]
    found = "found " + os.fsdecode(b"x\xfe.ipynb")
    records = [StudentRecord(student, needs_human=[found]) for student in students]
    report = write_report(tmp_path, "ps4", records, {"q": 1.0}).read_text(encoding="utf-8")
    rows = [line for line in report.splitlines() if line.startswith("| ") and "| 0 |" in line]
    assert len(rows) == len(set(rows)) == len(students), rows
    assert not CONTROLS.search(report)
    json.loads((tmp_path / "report.json").read_text())


# ------------------------------------------------------------------ the class's run


def _grade(course: Path, capsys, **options) -> tuple[int, str]:
    code = grading_cli.grade_command(
        "ps4_autograd", workers=2, root=course, limits=LIMITS, **options
    )
    return code, capsys.readouterr().err


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("class")
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(MASTER, folder / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    submitted = folder / "submitted"
    for student in [*GRADED, *REFUSED, "surrogate"]:
        path = submitted / student / TARGET  # a lone surrogate is the byte it stands for
        path.parent.mkdir(parents=True)
        shutil.copy(CORRECT, path)
    notebook = json.loads(CORRECT.read_text())
    notebook["cells"][0]["source"] = "Notes \\ud800"
    text = json.dumps(notebook).replace("Notes \\\\ud800", "Notes \\ud800")
    (submitted / "surrogate" / TARGET).write_text(text)
    (submitted / "carol").mkdir()
    shutil.copy(CORRECT, submitted / "carol" / "ps4_autograd.ipynb")
    (submitted / "dora" / "ps4_autograd").mkdir(parents=True)  # a file name that is not UTF-8
    shutil.copy(CORRECT, submitted / "dora" / "ps4_autograd" / os.fsdecode(b"\xff.ipynb"))
    return folder


@pytest.fixture(scope="module")
def first(course):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = grading_cli.grade_command("ps4_autograd", workers=2, root=course, limits=LIMITS)
    reports = course / "reports" / "ps4_autograd"
    assert (reports / "report.json").is_file(), (code, err.getvalue())
    return {
        "code": code,
        "err": err.getvalue(),
        "json": json.loads((reports / "report.json").read_text()),
        "md": (reports / "report.md").read_text(encoding="utf-8"),
        "csv": (reports / "grades.csv").read_text(encoding="utf-8"),
    }


@pytest.mark.slow
def test_every_well_formed_id_is_graded_and_recorded(course, first):
    assert first["code"] == 0, first["err"]
    totals = {s["student"]: s["total"] for s in first["json"]["students"]}
    for student in GRADED:
        assert totals[student] == 3.0, (student, first["err"])
    ids = [row["student_id"] for row in csv.DictReader(io.StringIO(first["csv"]))]
    assert sorted(ids) == sorted(visible_id(s) for s in [*GRADED, "surrogate", "dora"])
    assert not CONTROLS.search(first["csv"].replace("\r\n", "").replace("\n", ""))


@pytest.mark.slow
def test_an_id_nbgrader_misreads_takes_no_page_away(course, first):
    for student in ("bob", "x,bob"):
        page = course / "feedback" / student / "ps4_autograd" / "ps4_autograd.html"
        assert page.is_file(), (student, first["err"])


@pytest.mark.slow
def test_a_misread_id_is_refused_with_its_reason_and_shown_apart(first):
    reasons = {s["student"]: " ".join(s["needs_human"]) for s in first["json"]["students"]}
    for student, words in REFUSED.items():
        assert "not graded" in reasons[student] and words in reasons[student], (student, reasons)
        assert visible_id(student) in first["err"] or repr(visible_id(student)) in first["err"]
    table = first["md"].split("## All submissions")[1].splitlines()[3:]
    rows = [row.split(" | ")[0] for row in table if row.startswith("| ")]
    assert len(rows) == len(set(rows)) == len(reasons), rows
    assert not CONTROLS.search(first["md"])


@pytest.mark.slow
def test_a_notebook_one_folder_too_high_and_an_unreadable_one_are_said(first):
    reasons = {s["student"]: " ".join(s["needs_human"]) for s in first["json"]["students"]}
    assert "ps4_autograd/ps4_autograd.ipynb" in reasons["carol"]
    assert "ps4_autograd.ipynb" in first["err"] and "carol" in first["err"]
    assert "lone surrogate" in reasons["surrogate"]
    assert "no notebook ps4_autograd.ipynb (found: \ufffd.ipynb)" in reasons["dora"]


@pytest.mark.slow
def test_counts_are_said_in_words(first):
    assert f"{len(GRADED) + 2} submissions found" in first["err"]  # with surrogate, dora
    assert f"Graded {len(GRADED) + 2} submissions of ps4_autograd" in first["err"]
    assert re.search(r"\d+ submissions need a human", first["err"]), first["err"]


@pytest.mark.slow
def test_one_student_regraded_keeps_the_class_in_the_report(course, first, capsys):
    code, err = _grade(course, capsys, students=["bob"])
    assert code == 0, err
    report = json.loads((course / "reports" / "ps4_autograd" / "report.json").read_text())
    assert {s["student"] for s in report["students"]} == {
        s["student"] for s in first["json"]["students"]
    }
    assert "Graded 0 submissions of ps4_autograd (1 of 1 unchanged" in err, err


@pytest.mark.slow
def test_ctrl_c_while_writing_feedback_says_what_to_do(course, first, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from gdcourse.grading.feedback import generate

    monkeypatch.setattr(generate, "write_feedback", interrupted)  # the command imports it late
    code, err = _grade(course, capsys)
    assert code == 130
    assert "Run the same command again" in err and "Traceback" not in err


def test_a_mistyped_assignment_lists_the_known_ones(course):
    with pytest.raises(SystemExit) as stopped:
        grading_cli.grade_command("ps4_autogard", workers=1, root=course)
    assert "ps4_autograd" in str(stopped.value)


def test_a_checkout_the_environment_does_not_import_is_refused_with_the_reason(tmp_path):
    """Graded from a copy of the package, the sandboxes would import the installed one;
    the grader says so (it once said "install bubblewrap")."""
    shutil.copytree(
        ROOT / "gdcourse", tmp_path / "gdcourse", ignore=shutil.ignore_patterns("__pycache__")
    )
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from gdcourse.grading import preflight; print(preflight.package_mismatch())",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert f"this command's gdcourse is {tmp_path / 'gdcourse'}" in done.stdout, done.stdout
    assert "bubblewrap" not in done.stdout
    from gdcourse.grading import preflight

    assert preflight.package_mismatch() is None  # this checkout's own environment


def test_a_submission_that_fails_at_import_says_why_and_how_many_failed(tmp_path):
    """A cell that raised at import leaves the function missing: every visible check
    failed (not "1 of 2"), and the report says which cell raised what."""
    master = read_master(MASTER)
    missing = json.dumps({"missing": "train_autograd is not defined"})
    outcomes = tuple(
        TestOutcome(t.grade_id, (missing,) + (None,) * (len(t.call.cases) - 1))
        for t in master.tests
    )
    cells = json.dumps({"errors": [[0, "ModuleNotFoundError: No module named 'torchh'"]]})
    result = RunResult("ok", "", cells, (), outcomes, "", 0, 0.1, True, 1)
    grade = judge(master, result, [3], references=run.shared_references(ROOT), limits=Limits())
    visible = next(cell for cell in grade.cells if not cell.hidden)
    count = len(master.tests[0].call.cases)
    assert visible.message.startswith(f"train_autograd: {count} of {count} visible checks failed")
    record = StudentRecord("dana")
    record.add_notebook(grade)
    report = write_report(tmp_path, "ps4_autograd", [record], {"q": 3.0}).read_text()
    section = report.split("## Cells that raised an error when graded")[1]
    assert "dana" in section and "cell 3" in section and "torchh" in section


def test_release_feedback_of_a_mistyped_assignment_fails_naming_the_known_ones(tmp_path):
    """`nbgrader release_feedback` with a typo released nothing, said nothing, exited 0."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    (tmp_path / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(MASTER, tmp_path / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    nbgrader = Path(sys.executable).parent / "nbgrader"
    done = subprocess.run(
        [str(nbgrader), "release_feedback", "ps4_autogard"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "unknown assignment 'ps4_autogard'" in done.stderr and "ps4_autograd" in done.stderr
