"""Hidden inputs never reach a student through what the student's own process says.

The attacks on ``ps4_autograd`` (an exception's class, the choice of built-in
exception, the exit status, a forged evidence line or reply) are graded end to end
with the others in tests/test_grading.py. Here: a visible check asked after a hidden
one would show whatever the process learnt from the hidden case (so the grader asks
every visible check first), and the judge's own words for a hidden cell, whatever the
sandbox reports.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path

import pytest

from gdcourse.grading import autograde
from gdcourse.grading.autograde import run
from gdcourse.grading.autograde.judge import HIDDEN_FAILED, judge
from gdcourse.grading.checks import get_spec, probe_safely
from gdcourse.grading.sandbox import Limits, RunResult, TestOutcome

ROOT = Path(__file__).resolve().parent.parent
PS2 = ROOT / "solutions" / "ps2_gradient_descent" / "ps2_gradient_descent.ipynb"
PS4 = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
HIDDEN = "test_train_autograd_hidden"

# Counts the calls of gradient_descent in a file; max_learning_rate then raises the count,
# which a visible check shows in full. Asked in the master's order (gradient_descent's visible and
# hidden checks, then max_learning_rate's), the count includes the hidden calls.
COUNTER = """
import os
_gradient_descent = gradient_descent
COUNT = os.path.join("/tmp", "gradient_descent_calls")
open(COUNT, "w").close()


def gradient_descent(*args, **kwargs):
    with open(COUNT, "a") as file:  # a file: the count survives whatever process runs a case
        file.write("x")
    return _gradient_descent(*args, **kwargs)


def max_learning_rate(A):
    with open(COUNT) as file:
        raise ValueError(f"CALLS{len(file.read())}X")
"""


def _submission(master_path: Path, extra: str) -> dict:
    notebook = json.loads(master_path.read_text())
    for cell in notebook["cells"]:
        cell["source"] = "".join(cell["source"]).split("### BEGIN HIDDEN TESTS")[0]
    last = max(
        i
        for i, c in enumerate(notebook["cells"])
        if c["metadata"].get("nbgrader", {}).get("solution")
    )
    cell = copy.deepcopy(notebook["cells"][last])
    cell["metadata"] = {}
    cell["source"] = extra
    cell["outputs"] = []
    notebook["cells"].insert(last + 1, cell)
    return notebook


@pytest.mark.slow
def test_visible_checks_are_asked_before_any_hidden_one(tmp_path):
    master = autograde.read_master(PS2)
    visible = sum(
        len(t.call.cases)
        for t in master.tests
        if not t.call.hidden and t.call.function == "gradient_descent"
    )
    path = tmp_path / "ps2_gradient_descent.ipynb"
    path.write_text(json.dumps(_submission(PS2, COUNTER)))
    submission = autograde.read_submission(tmp_path, [path.name], master)
    grade = autograde.grade(
        submission.notebook,
        master,
        sandbox=run.shared_sandbox(ROOT, isolation=True, master=master),
        references=run.shared_references(ROOT),
        limits=Limits(wall_seconds=60.0),
    )
    shown = {cell.grade_id: cell.message for cell in grade.cells}
    assert grade.cells[0].score == grade.cells[0].points, shown  # the wrapper is right
    assert f"CALLS{visible}X" in shown["test_max_learning_rate_visible"], "\n".join(shown.values())
    assert "CALLS" not in shown["test_max_learning_rate_hidden"]


# ------------------------------------------------------------------ the judge's words


def _result(master: autograde.Master, hidden: TestOutcome, **fields) -> RunResult:
    outcomes = [
        hidden if t.call.hidden else TestOutcome(t.grade_id, (None,) * len(t.call.cases))
        for t in master.tests
    ]
    base = dict(
        status="ok",
        reason="",
        cells='{"errors": []}',
        cell_problems=(),
        tests=tuple(outcomes),
        output="",
        output_bytes=0,
        seconds=0.1,
        isolated=True,
        attempts=1,
    )
    return RunResult(**{**base, **fields})


def _hidden_cell(grade: autograde.NotebookGrade) -> autograde.CellGrade:
    return next(cell for cell in grade.cells if cell.hidden)


def _judged(hidden: TestOutcome, **fields) -> autograde.NotebookGrade:
    master = autograde.read_master(PS4)
    return judge(
        master,
        _result(master, hidden, **fields),
        [],
        references=run.shared_references(ROOT),
        limits=Limits(),
    )


def _reply(data: object) -> str:
    return json.dumps({"data": data})


RAISED = {"output": None, "modified": [], "raised": {"types": ["KeyError"], "message": "m"}}


@pytest.mark.parametrize(
    "outcome",
    [
        TestOutcome(HIDDEN, (_reply(RAISED),) + (None,) * 4),
        TestOutcome(HIDDEN, (None,) * 5, stopped="train_autograd ended the process (status 37)"),
        TestOutcome(HIDDEN, (None,) * 5, stopped="train_autograd did not return within 12 s"),
        TestOutcome(HIDDEN, (None,) * 5, tamper=("LEAK8X",)),
        TestOutcome(HIDDEN, (None,) * 5, channel=("LEAK8X",)),
        TestOutcome(HIDDEN, (None,) * 5, shortcut="LEAK8X"),
        TestOutcome(HIDDEN, (json.dumps({"missing": "LEAK8X"}),) + (None,) * 4),
        TestOutcome(HIDDEN, ("{not json LEAK8X",) + (None,) * 4),
    ],
    ids=["builtin", "exit", "timeout", "tamper", "channel", "shortcut", "missing", "garbage"],
)
def test_a_hidden_cell_says_only_the_graders_words(outcome):
    grade = _judged(outcome)
    cell = _hidden_cell(grade)
    assert cell.score == 0.0
    hint = get_spec("ps4_autograd", "train_autograd").hint
    assert cell.message == HIDDEN_FAILED.format(function="train_autograd", hint=hint)
    assert cell.misconceptions == ()
    told = "\n".join([*grade.needs_human, cell.message])
    for secret in ("LEAK8X", "37", "12 s", "KeyError"):
        assert secret not in told, secret


def test_after_a_hidden_case_the_runs_own_words_are_replaced():
    outcome = TestOutcome(HIDDEN, (None,) * 5, stopped="train_autograd was killed by SIGUSR1")
    grade = _judged(
        outcome,
        status="timeout",
        reason="wall-clock LEAK8X",
        cell_problems=("refused: LEAK8X", "refused: sys.setprofile"),
        attempts=2,
    )
    assert "while the cells ran: refused: sys.setprofile" in grade.needs_human
    assert not any("LEAK8X" in reason or "SIGUSR1" in reason for reason in grade.needs_human)


def test_a_hidden_cell_is_attempted_as_its_visible_cell_is():
    stub = {
        "output": None,
        "modified": [],
        "raised": {"types": ["NotImplementedError"], "message": ""},
    }
    outcome = TestOutcome(HIDDEN, tuple(_reply(stub) for _ in range(5)))
    grade = _judged(outcome)
    visible = next(cell for cell in grade.cells if not cell.hidden)
    assert _hidden_cell(grade).attempted == visible.attempted


def test_evidence_of_what_the_watch_cannot_see_goes_to_a_person():
    """The sandbox names what the notebook's code could use around a ban where no watch
    sees (found in its code before it ran); full marks with such evidence need a person."""
    master = autograde.read_master(PS4)
    references = run.shared_references(ROOT)
    spec = get_spec("ps4_autograd", "train_autograd")
    outcomes = []
    for test in master.tests:
        right = references.reference_function(test.call)
        rows = [probe_safely(spec, right, case) for case in test.call.cases]
        outcomes.append(
            TestOutcome(test.grade_id, tuple(map(_reply, rows)), evidence=("grad_fn.apply",))
        )
    result = replace(_result(master, outcomes[1]), tests=tuple(outcomes))
    grade = judge(master, result, [], references=references, limits=Limits())
    assert grade.score == grade.max_score, grade
    assert any("grad_fn.apply" in reason for reason in grade.needs_human), grade.needs_human
