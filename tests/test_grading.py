"""The secure grader end to end: every attack and broken submission, graded by the real command.

A temporary course (the repository's ``nbgrader_config.py`` and the master of
``ps4_autograd``) receives one submission per scenario of tests/attacks/, plus
hostile files made here (a link to the master, a 100 MB notebook, invalid UTF-8,
JSON nested 100,000 deep, a student id that is a spreadsheet formula);
``gdcourse grade`` grades them all twice. Each scenario must be graded (0 where
the work is wrong, missing or cheats, full marks where it is correct), with its
reason in the gradebook and the report, without modifying any submitted file,
with identical scores both times, and with a CSV row and a report line for every
student: one submission never stops the run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gdcourse.grading import autograde
from gdcourse.grading.cli import grade_command
from gdcourse.grading.sandbox import Limits
from gdcourse.tools.cli import main

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = Path(__file__).resolve().parent / "attacks"
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
VISIBLE, HIDDEN = "test_train_autograd_visible", "test_train_autograd_hidden"

FULL, ZERO = (1.0, 2.0), (0.0, 0.0)
# scenario -> (visible score, hidden score), and whether it must be flagged for a human
# (None: either)
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
    # the second round
    "rebinds_the_probe": (ZERO, False),
    "forged_reply": (ZERO, True),
    "error_leaks_inputs": (ZERO, False),
    "float16_results": (ZERO, False),
    "shortcut_by_built_name": (ZERO, False),
    "deeply_nested_expression": (ZERO, False),
    "deeply_nested_result": (ZERO, False),
    "report_injection": (ZERO, False),
    "markdown_script": (FULL, False),
    "writes_outside_its_folders": (FULL, False),
    "forks_to_multiply_memory": (ZERO, True),
    "tampers_with_the_watch": (ZERO, True),
    # the third round: hidden inputs sent back through the student's own words
    "leak_by_exception_class": (ZERO, False),
    "leak_by_builtin_exception": (ZERO, False),
    "leak_by_exit_status": (ZERO, False),
    "leak_by_forged_evidence": (ZERO, None),
    "leak_by_forged_reply": (ZERO, None),
}
LEAKS = [name for name in EXPECTED if name.startswith("leak_by_")]
# Made here, not stored: students whose submission is a hostile file.
MADE = {
    "link_to_the_master": (ZERO, True),
    "huge_notebook": (ZERO, True),
    "invalid_utf8": (ZERO, True),
    "deeply_nested_json": (ZERO, True),
    '=HYPERLINK("example.invalid","x")': (FULL, False),
}
EXTRA_FILES = {
    "extra_files": {"data.csv": "1,2\n", "numpy.py": "allclose = lambda *a, **k: True\n"},
    "shadowing_module_file": {"numpy.py": "allclose = lambda *a, **k: True\n"},
}
MARKER = "gdcourse-attack-marker"
# Generous wall-clock limits, so that a loaded machine cannot time out honest work; a
# memory limit the forks of forks_to_multiply_memory pass together but not one by one.
LIMITS = Limits(
    cpu_seconds=20,
    wall_seconds=60.0,
    cell_seconds=20.0,
    probe_seconds=12.0,
    memory_bytes=1 << 30,
)


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _scores(course: Path) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in [*EXPECTED, *MADE]:
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


def _make_hostile(course: Path) -> None:
    """The submissions that are hostile files rather than notebooks."""
    folder = course / "submitted"
    master = course / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
    target = "ps4_autograd/ps4_autograd.ipynb"
    for name in MADE:
        (folder / name / "ps4_autograd").mkdir(parents=True)
    (folder / "link_to_the_master" / target).symlink_to(master)
    with open(folder / "huge_notebook" / target, "wb") as file:
        file.write(b'{"cells": [], "metadata": {}, "pad": "')
        file.write(b"x" * (100 << 20))
        file.write(b'"}')
    (folder / "invalid_utf8" / target).write_bytes(
        (ATTACKS / "correct.ipynb").read_bytes().replace(b"train_autograd", b"train_\xff\xfe", 1)
    )
    (folder / "deeply_nested_json" / target).write_text(
        '{"cells": [], "metadata": {"x": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    )
    shutil.copy(ATTACKS / "correct.ipynb", folder / '=HYPERLINK("example.invalid","x")' / target)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        # the command line reads the limits from the course's configuration, as an instructor
        # sets them (c.SandboxLimits.*); the call below passes the same limits itself
        config.writelines(
            f"\nc.SandboxLimits.{field.name} = {getattr(LIMITS, field.name)!r}"
            for field in dataclasses.fields(LIMITS)
        )
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
    _make_hostile(course)
    before = _digest(course / "submitted")
    master_before = _digest(course / "solutions")
    env_path = os.environ.get("PATH", "")
    try:
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.chdir(course)  # the command finds the course from the working directory
        try:
            first_code = main(["grade", "ps4_autograd", "--workers", "2"])
        finally:
            monkeypatch.undo()
        first = _scores(course)
        report_first = (course / "reports" / "ps4_autograd" / "report.json").read_text()
        second_code = grade_command("ps4_autograd", workers=2, root=course, limits=LIMITS)
        second = _scores(course)
    finally:
        os.environ["PATH"] = env_path
    return {
        "course": course,
        "codes": (first_code, second_code),
        "first": first,
        "second": second,
        "report_first": json.loads(report_first),
        "before": before,
        "after": _digest(course / "submitted"),
        "master_before": master_before,
    }


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted([*EXPECTED, *MADE]))
def test_scenario_is_graded_with_the_expected_scores(graded, scenario):
    expected, _ = {**EXPECTED, **MADE}[scenario]
    assert graded["first"][scenario] == expected, _comments(graded["course"], scenario)


@pytest.mark.slow
def test_rules_broken_on_hidden_cases_are_detailed_to_the_instructor_alone(graded):
    """The fixed words of a hidden cell's misuse have their details in the private log (mode
    0600 in a 0700 folder), and no file a student can get, nor the report, holds them."""
    from gdcourse.grading.autograde.judge import HIDDEN_MISUSE
    from gdcourse.grading.escape import visible_id
    from gdcourse.grading.instructor_log import log_path

    course = graded["course"]
    log = log_path(course / "reports" / "ps4_autograd")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600, oct(log.stat().st_mode)
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    lines = log.read_text(encoding="utf-8").splitlines()
    fixed = HIDDEN_MISUSE.format(grade_id=HIDDEN)
    misused = [
        s["student"] for s in graded["report_first"]["students"] if fixed in s["needs_human"]
    ]
    assert misused, "no fixture broke the rules on a hidden case"
    details = []
    for student in misused:
        mine = [line for line in lines if line.split(" ")[1] == visible_id(student)]
        assert mine, (student, lines)
        details += [line.split(": ", 1)[1] for line in mine]
    assert all(f"{HIDDEN} (train_autograd, hidden): " in d for d in details), details
    released = [course / "feedback", course / "reports" / "ps4_autograd"]
    files = [p for folder in released for p in folder.rglob("*") if p.is_file() and p != log]
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not any(detail in text for detail in details), path
    for student in misused:
        comments = _comments(course, student)
        assert not any(detail in comments for detail in details), student


@pytest.mark.slow
def test_grading_twice_gives_identical_scores(graded):
    assert graded["codes"] == (0, 0)
    assert graded["first"] == graded["second"]
    assert set(graded["first"]) == {*EXPECTED, *MADE}


@pytest.mark.slow
def test_every_student_has_a_csv_row_and_a_report_line(graded):
    course = graded["course"]
    students = {s["student"] for s in graded["report_first"]["students"]}
    assert students == {*EXPECTED, *MADE}
    csv = (course / "reports" / "ps4_autograd" / "grades.csv").read_text()
    for student in students - {"missing_notebook"}:
        assert student.replace('"', '""') in csv or student in csv, student


@pytest.mark.slow
def test_no_submitted_file_and_no_master_is_modified(graded):
    course = graded["course"]
    assert graded["after"] == graded["before"]
    assert _digest(course / "solutions") == graded["master_before"]
    assert not (ROOT / "pwned.txt").exists()
    for path in course.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix in (".db", ".ipynb"):
            assert b"tampered" not in path.read_bytes()[-64:], path


@pytest.mark.slow
def test_nothing_written_in_a_sandbox_survives(graded):
    for folder in ("/run/lock", "/run", "/var/tmp", "/dev/shm", "/tmp"):
        assert not os.path.exists(os.path.join(folder, MARKER)), folder


@pytest.mark.slow
def test_reasons_are_in_the_gradebook_and_the_report(graded):
    course = graded["course"]
    wrong = {s["student"]: s for s in graded["report_first"]["students"]}["wrong_sign"]
    assert "uphill_sign_error" in wrong["misconceptions"]  # named for the instructor
    assert "uphill_sign_error" not in _comments(course, "wrong_sign")  # the student: words
    loop = _comments(course, "infinite_loop")
    assert "did not return within 12 s" in loop, loop
    assert "not a readable notebook" in _comments(course, "invalid_json")
    assert "appears more than once" in _comments(course, "duplicated_cells")
    assert "torch.optim" in _comments(course, "shortcut_by_built_name")
    assert "symbolic link" in _comments(course, "link_to_the_master")
    assert "larger than" in _comments(course, "huge_notebook")
    assert "UTF-8" in _comments(course, "invalid_utf8")
    assert "nested too deeply" in _comments(course, "deeply_nested_json")
    report = graded["report_first"]
    flagged = {s["student"]: s["needs_human"] for s in report["students"] if s["needs_human"]}
    for scenario, (_, human) in {**EXPECTED, **MADE}.items():
        if human is not None:
            assert (scenario in flagged) == human, (scenario, flagged.get(scenario))
    assert "my_ps4.ipynb" in " ".join(flagged["renamed_notebook"])
    assert "reply channel" in " ".join(flagged["forged_reply"])
    assert "memory" in " ".join(flagged["forks_to_multiply_memory"])
    assert "sys.setprofile" in " ".join(flagged["tampers_with_the_watch"])
    assert report["misconceptions"], "the wrong answers name no misconception"
    assert (course / "reports" / "ps4_autograd" / "plots" / f"{HIDDEN}.png").stat().st_size > 0


@pytest.mark.slow
def test_hidden_inputs_never_reach_feedback(graded):
    course = graded["course"]
    master = autograde.read_master(MASTER)
    visible = repr([t.call.cases for t in master.tests if not t.call.hidden])
    secrets = {
        ", ".join(repr(v) for v in value[:3])
        for test in master.tests
        if test.call.hidden
        for case in test.call.cases
        for value in (case["x"], case["y"])
    }
    secrets = {text for text in secrets if text not in visible}  # only in hidden cases
    assert secrets
    for student in ("error_leaks_inputs", "wrong_sign", "float16_results"):
        page = (course / "feedback" / student / "ps4_autograd" / "ps4_autograd.html").read_text()
        comments = _comments(course, student)
        assert "hidden checks failed" in page
        for text in secrets:
            assert text not in page and text not in comments, (student, text)
        assert "BEGIN HIDDEN TESTS" not in page and "hidden=True" not in page


@pytest.mark.slow
def test_student_text_is_inert_in_report_csv_and_feedback(graded):
    course = graded["course"]
    report = (course / "reports" / "ps4_autograd" / "report.md").read_text()
    assert "\n- **mallory**" not in report and "\n| mallory |" not in report
    assert "<script>" not in report
    csv = (course / "reports" / "ps4_autograd" / "grades.csv").read_text()
    assert ",=HYPERLINK" not in csv and '"=HYPERLINK' not in csv
    page = course / "feedback" / "markdown_script" / "ps4_autograd" / "ps4_autograd.html"
    text = page.read_text()
    assert "<script>document.title" not in text
    assert "onerror=" not in text and "http://example.invalid" not in text


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
    autograded = course / "autograded" / "invalid_json" / "ps4_autograd" / "ps4_autograd.ipynb"
    assert "CheckFailed" in autograded.read_text()


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
    submission = autograde.read_submission(tmp_path, ["ps4_autograd.ipynb"], master)
    assert submission.unreadable and "not a readable notebook" in submission.unreadable
    grade = autograde.grade(
        submission.notebook,
        master,
        sandbox=None,
        references=None,  # type: ignore[arg-type]
    )
    assert grade.score == 0 and grade.max_score == 3
    assert "not a readable notebook" in grade.needs_human[0]
    assert path.read_text() == "{ not json"


@pytest.mark.slow
def test_the_notebook_and_the_grader_show_the_same_message(graded):
    """A visible check's text (float32 expectations included) is the same in the student's
    kernel and in what the grader records for feedback."""
    from gdcourse.grading.checks import CheckFailed, parse_check_call, run_check

    notebook = json.loads((ATTACKS / "wrong_sign.ipynb").read_text())
    namespace: dict = {}
    call = None
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        source = "".join(cell["source"])
        if grade_id.startswith("setup") or grade_id == "train_autograd":
            exec(source, namespace)
        if grade_id == VISIBLE:
            call = parse_check_call(source)
    assert call is not None
    with pytest.raises(CheckFailed) as failed:
        run_check(call.assignment, call.function, namespace["train_autograd"],
                  cases=call.cases, hidden=False)  # fmt: skip
    autograded = graded["course"] / "autograded" / "wrong_sign" / "ps4_autograd"
    graded_cells = json.loads((autograded / "ps4_autograd.ipynb").read_text())["cells"]
    cell = next(
        c for c in graded_cells if c["metadata"].get("nbgrader", {}).get("grade_id") == VISIBLE
    )
    recorded = "\n".join(line for o in cell["outputs"] for line in o.get("traceback", []))
    assert "expected 13.64708184" in str(failed.value)
    assert recorded == str(failed.value)


def _hidden_output(course: Path, student: str) -> str:
    """The hidden test cell's recorded verdict, as the feedback page shows it."""
    autograded = course / "autograded" / student / "ps4_autograd" / "ps4_autograd.ipynb"
    cells = json.loads(autograded.read_text())["cells"]
    cell = next(c for c in cells if c["metadata"].get("nbgrader", {}).get("grade_id") == HIDDEN)
    return "\n".join(
        line
        for o in cell["outputs"]
        for line in o.get("traceback", o.get("text", "").splitlines())
    )


@pytest.mark.slow
@pytest.mark.parametrize("scenario", LEAKS)
def test_hidden_feedback_is_the_graders_own_words(graded, scenario):
    """Whatever the student's process says on a hidden case (an exception's class, which
    built-in it raises, its exit status, a forged evidence line or reply), the hidden
    check's feedback is the grader's fixed text, and nothing a student can read (feedback
    page, gradebook comments, report, grades) holds what it encoded."""
    from gdcourse.grading.autograde.judge import HIDDEN_FAILED
    from gdcourse.grading.checks import get_spec

    course = graded["course"]
    hint = get_spec("ps4_autograd", "train_autograd").hint
    expected = HIDDEN_FAILED.format(function="train_autograd", hint=hint)
    assert _hidden_output(course, scenario) == expected
    hidden_epochs = (8, 25, 3, 1, 0)
    secrets = [f"LEAK{n}X" for n in hidden_epochs] + [f"status {100 + n}" for n in hidden_epochs]
    page = (course / "feedback" / scenario / "ps4_autograd" / "ps4_autograd.html").read_text()
    readable = {
        "page": page,
        "comments": _comments(course, scenario),
        "report": (course / "reports" / "ps4_autograd" / "report.md").read_text(),
        "csv": (course / "reports" / "ps4_autograd" / "grades.csv").read_text(),
    }
    for where, text in readable.items():
        for secret in secrets:
            assert secret not in text, (where, secret)
    hidden_section = page[page.index("hidden checks, 0 of 2 points</h2>") :]
    for name in ("Error", "LEAK", "status 1", "raised an", "ase 1"):
        assert name not in hidden_section.split("</section>")[0], name
