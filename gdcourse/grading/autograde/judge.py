"""Judging: the sandbox's report against the references, in the grader's own process.

The sandbox brings back raw text per case; here it is parsed with bounds
(:mod:`gdcourse.grading.untrusted`), decoded, and compared by the function's
spec with the reference's data (the spec's public reference for visible checks,
so a student sees the same expected value in the notebook and the feedback; the
master's solution for hidden checks). What the supervisor saw of the channel,
the shortcut guard and the limits decides before any value does: a test with a
misused reply channel, a refused attempt at the grader's watch or a banned
shortcut scores nothing. Hidden cases are described without their inputs,
expected values, the student's values or exception messages.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gdcourse.grading import checks, framework, masters, shortcuts, untrusted
from gdcourse.grading.autograde.master import GradedCell, Master
from gdcourse.grading.sandbox import Limits, RunResult, guard

__all__ = ["CellGrade", "NotebookGrade", "References", "judge", "not_graded"]


@dataclass(frozen=True)
class CellGrade:
    """The verdict of one test cell.

    ``attempted`` is false when every case found the function still a stub
    (``raise NotImplementedError()``).
    """

    grade_id: str
    function: str
    points: float
    score: float
    message: str
    hidden: bool
    misconceptions: tuple[str, ...] = ()
    attempted: bool = True


@dataclass(frozen=True)
class NotebookGrade:
    """The verdicts of one submitted notebook, with what a human should know."""

    cells: tuple[CellGrade, ...]
    cell_errors: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = ()
    needs_human: tuple[str, ...] = ()
    status: str = "ok"
    output: str = ""
    seconds: float = 0.0
    private: tuple[str, ...] = ()
    """What only the instructor may read (:mod:`gdcourse.grading.instructor_log`): the
    details of rules broken on hidden cases, which ``needs_human`` gives in fixed words."""

    @property
    def score(self) -> float:
        return sum(cell.score for cell in self.cells)

    @property
    def max_score(self) -> float:
        return sum(cell.points for cell in self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "notes": list(self.notes),
            "needs_human": list(self.needs_human),
            "cell_errors": [list(item) for item in self.cell_errors],
            "cells": [
                {
                    "grade_id": c.grade_id,
                    "function": c.function,
                    "points": c.points,
                    "score": c.score,
                    "hidden": c.hidden,
                    "message": c.message,
                    "misconceptions": list(c.misconceptions),
                    "attempted": c.attempted,
                }
                for c in self.cells
            ],
        }


def not_graded(
    master: Master, reason: str, *, status: str, notes: Sequence[str] = ()
) -> NotebookGrade:
    """Zero for every test cell, with the reason, for a submission that could not be graded."""
    cells = tuple(
        CellGrade(
            t.grade_id, t.call.function, t.points, 0.0, f"Not graded: {reason}", t.call.hidden
        )
        for t in master.tests
    )
    return NotebookGrade(cells, notes=tuple(notes), needs_human=(reason,), status=status)


class References:
    """The reference's and the variants' data per case, computed once per grading run.

    Thread-safe; probing happens one case at a time (probes may redirect output).
    """

    def __init__(self, root: str | os.PathLike[str] | None) -> None:
        self.root = None if root is None else Path(root)
        self._data: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
        self._lock = threading.Lock()

    def reference_function(self, call: checks.CheckCall) -> Callable[..., Any]:
        spec = checks.get_spec(call.assignment, call.function)
        if call.hidden:
            return masters.load_reference(call.assignment, call.function, self.root)
        return checks.public_reference(spec)

    def get(
        self, call: checks.CheckCall, case: Mapping[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        key = json.dumps(
            [call.assignment, call.function, call.hidden, case], sort_keys=True, default=repr
        )
        with self._lock:
            if key not in self._data:
                spec = checks.get_spec(call.assignment, call.function)
                reference = checks.decoded(
                    checks.probe_safely(spec, self.reference_function(call), case)
                )
                if "__error__" in reference:
                    raise RuntimeError(
                        f"the reference of {call.function} failed on a case: "
                        f"{reference['__error__']}"
                    )
                variants = {
                    name: checks.decoded(checks.probe_safely(spec, variant, case))
                    for name, variant in spec.variants.items()
                }
                self._data[key] = (reference, variants)
            return self._data[key]


HIDDEN_FAILED = (
    "{function}: hidden checks failed.\n\n"
    "The hidden checks try inputs that are not shown. Their feedback is the same whatever "
    "went wrong: it names no case, input, value, exception, exit status or time, and "
    "repeats nothing your code printed, raised or returned. Make {function} right for "
    "every input the text above allows (other sizes, values and dtypes than the visible "
    "checks use).\n"
    "Hint: {hint}"
)
"""The whole feedback of a hidden test cell that did not pass: the grader's words only, the
same for every way of failing, so that nothing the student's process does on a hidden case
(what it returns, raises, prints or forges, how it exits, how long it takes) reaches the
student. The score itself is the one bit a hidden test cell must tell."""

HIDDEN_PASSED = "{function}: all {count} hidden checks passed."

HIDDEN_MISUSE = (
    "{grade_id}: the student's process broke the grader's rules during the hidden checks "
    "(the reply channel or the grader's watch); a person should look at this submission"
)
"""What a human is told of a hidden test cell whose process misused the reply channel or
refused the watch: fixed words, never the evidence lines the process could have written."""

HIDDEN_RUN = (
    "the run stopped after the hidden checks began ({status}); a person should look at "
    "this submission"
)
"""The notebook-level reason once a hidden case was asked: the status word only."""

HIDDEN_CELL_PROBLEM = "the student's process reported problems after the hidden checks began"


#: What the guard refuses, by the names it reports them with (``refused: <event>``).
KNOWN_REFUSALS = guard.REPORTED_REFUSALS | {"the profile function was removed"}


def _known_problem(problem: str) -> str:
    """``problem`` when it is one of the grader's own evidence lines (a refusal or a
    shortcut it knows by name), else :data:`HIDDEN_CELL_PROBLEM`."""
    kind, _, name = problem.partition(": ")
    if kind == "refused" and (name in KNOWN_REFUSALS or name.startswith("ctypes.")):
        return "refused: ctypes" if name.startswith("ctypes.") else problem
    if kind == "shortcut" and name in shortcuts.NAMES:
        return problem
    return HIDDEN_CELL_PROBLEM


def _fixed_shortcut(name: str) -> str:
    """The words for a banned shortcut the guard named: only names the grader knows (the
    evidence line is text a student's process can write)."""
    known = name in shortcuts.NAMES or (
        name.startswith(shortcuts.STUDENT_PREFIX)
        and name.removeprefix(shortcuts.STUDENT_PREFIX).isidentifier()
    )
    if known:
        return shortcuts.describe(name)
    return "a library function this exercise asks you to write yourself"


def _private_evidence(test: GradedCell, outcome: Any) -> str | None:
    """For the instructor's private log: what a hidden cell's process did against the
    rules (evidence lines it may have written itself), and the first case it left
    without a reply, with that case's inputs."""
    parts = []
    if outcome.channel:
        parts.append(f"reply channel misused: {'; '.join(outcome.channel[:3])}")
    if outcome.tamper:
        parts.append(f"refused: {', '.join(outcome.tamper[:3])}")
    if outcome.shortcut:
        parts.append(f"banned call: {outcome.shortcut}")
    if not parts:
        return None
    cases = test.call.cases
    missing = [i for i in range(len(cases)) if i >= len(outcome.replies) or not outcome.replies[i]]
    where = (
        f"first hidden case without a reply: {missing[0] + 1} of {len(cases)} "
        f"({cases[missing[0]]!r:.300})"
        if missing
        else f"all {len(cases)} hidden cases replied"
    )
    return f"{test.grade_id} ({test.call.function}, hidden): {'; '.join(parts)}; {where}"


def _judge_test(
    test: GradedCell,
    outcome: Any,
    references: References,
    limits: Limits,
    needs_human: list[str],
    private: list[str] | None = None,
) -> CellGrade:
    call = test.call
    function, hidden = call.function, call.hidden
    kind = "hidden" if hidden else "visible"
    spec = checks.get_spec(call.assignment, function)
    failures: list[str] = []
    misconceptions: list[str] = []
    blocked = False
    if outcome is None:
        blocked = True
        failures.append("The grader has no report of these checks; a person will look.")
        needs_human.append(f"{test.grade_id}: the sandbox did not report these checks")
    elif outcome.channel or outcome.tamper:
        blocked = True
        if hidden:
            failures.append("")
            needs_human.append(HIDDEN_MISUSE.format(grade_id=test.grade_id))
        if outcome.channel and not hidden:
            failures.append(
                "The grader's reply channel was misused while these checks ran, so they earn "
                "nothing; a person will look at this submission."
            )
            needs_human.append(
                f"{test.grade_id}: reply channel misused: {'; '.join(outcome.channel[:3])}"
            )
        if outcome.tamper and not hidden:
            failures.append(
                f"While these checks ran, the code tried to change how the grader watches it "
                f"({', '.join(outcome.tamper[:3])}), so they earn nothing; a person will look "
                "at this submission."
            )
            needs_human.append(f"{test.grade_id}: refused: {', '.join(outcome.tamper[:3])}")
    if outcome is not None and outcome.shortcut:
        blocked = True
        failures.append(
            f"{function} used {_fixed_shortcut(outcome.shortcut)}, which this exercise asks "
            "you to write yourself: no credit for these checks.\n"
            f"Hint: write {function} with plain Python, NumPy or tensor operations, as the "
            "text above the function describes."
        )
    if hidden and outcome is not None and private is not None:
        broken = _private_evidence(test, outcome)
        if broken is not None:
            private.append(broken)
    stub_cases = passed = 0
    for index, case in enumerate(call.cases):
        if blocked:
            break
        reply = outcome.replies[index] if index < len(outcome.replies) else None
        if reply is None:
            why = outcome.stopped or "the student's process stopped before this case"
            failures.append(f"Case {index + 1}: no result: {why}.")
            timed_out = getattr(outcome, "stop", "") == "timeout"  # the sandbox's Stop member
            if not hidden and (timed_out or "did not return" in outcome.stopped):
                needs_human.append(f"{test.grade_id}: {outcome.stopped}")
            break
        try:
            message = untrusted.loads(
                reply, max_bytes=limits.reply_bytes, what="the reply to a case"
            )
        except untrusted.Unreadable as error:
            failures.append(f"Case {index + 1}: the result could not be read ({error.reason}).")
            continue
        if not isinstance(message, dict):
            failures.append(f"Case {index + 1}: the result could not be read.")
            continue
        if "missing" in message:
            text = message["missing"] if isinstance(message["missing"], str) else "missing"
            failures.append(f"{text[:200]}: did its cell raise an error, or is it missing?")
            break
        if "data" in message:
            student = checks.decoded(message["data"])
        else:
            reported = message.get("error")
            text = reported[:300] if isinstance(reported, str) else "unknown error"
            student = {"__error__": text}
        reference, variants = references.get(call, case)
        verdict = spec.judge(case, student, reference, variants)
        if verdict.passed:
            passed += 1
            continue
        if verdict.problem == framework.NOT_WRITTEN:
            stub_cases += 1
        failures.append(
            framework.format_verdict(function, case, verdict, hidden=hidden, index=index + 1)
        )
        if verdict.misconception and verdict.misconception not in misconceptions:
            misconceptions.append(verdict.misconception)
    count = len(call.cases)
    attempted = not (stub_cases and stub_cases == len(failures))
    evidence = getattr(outcome, "evidence", ()) if outcome is not None else ()
    if evidence and not failures:
        # names in the notebook's code, found before it ran: no case can shape them
        needs_human.append(
            f"{test.grade_id}: earned its points, but the code names what reaches around "
            f"its ban where the watch cannot see ({'; '.join(evidence[:3])}): a person "
            "should look"
        )
    if hidden:
        # The student's process chose every failure above (its text, its kind, which case):
        # none of it is shown, and no misconception is recorded for a hidden case.
        if failures:
            text = HIDDEN_FAILED.format(function=function, hint=spec.hint)
        else:
            text = HIDDEN_PASSED.format(function=function, count=count)
        return CellGrade(
            test.grade_id,
            function,
            test.points,
            0.0 if failures else test.points,
            text,
            hidden,
            (),
            attempted=attempted,
        )
    if failures:
        # cases after a stop (no result, a missing function) were never answered: failed too
        header = f"{function}: {kind} checks failed."
        if not blocked:
            header = f"{function}: {count - passed} of {count} {kind} checks failed."
        message_text = "\n\n".join([header, *failures])
        score = 0.0
    else:
        message_text = f"{function}: all {count} {kind} checks passed."
        score = test.points
    return CellGrade(
        test.grade_id,
        function,
        test.points,
        score,
        message_text,
        hidden,
        tuple(misconceptions),
        attempted=attempted,
    )


def _cell_errors(result: RunResult, indices: Sequence[int]) -> tuple[tuple[int, str], ...]:
    if result.cells is None:
        return ()
    try:
        data = untrusted.loads(result.cells, max_bytes=1 << 20, what="the cells' report")
    except untrusted.Unreadable:
        return ()
    errors = data.get("errors") if isinstance(data, dict) else None
    found = []
    for item in errors[:200] if isinstance(errors, list) else []:
        if (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], int)
            and isinstance(item[1], str)
        ):
            index = indices[item[0]] if 0 <= item[0] < len(indices) else -1
            found.append((index, item[1][:2000]))
    return tuple(found)


def hidden_began(master: Master, result: RunResult) -> bool:
    """Whether the student's process may have been asked a hidden case: from then on,
    whatever it says may carry a hidden input."""
    hidden = {test.grade_id for test in master.tests if test.call.hidden}
    return any(
        outcome.test in hidden
        and (
            any(reply is not None for reply in outcome.replies)
            or outcome.channel
            or outcome.tamper
            or outcome.shortcut
            or (
                outcome.stopped
                and getattr(outcome, "stop", "") != "not-run"
                and not outcome.stopped.startswith("not run")
            )
        )
        for outcome in result.tests
    )


def judge(
    master: Master,
    result: RunResult,
    indices: Sequence[int],
    *,
    references: References,
    limits: Limits,
    notes: Sequence[str] = (),
) -> NotebookGrade:
    """Judge one submission's sandbox report, test cell by test cell; never raises on it.

    Outcomes are matched to test cells by grade_id (the job asks visible checks first).
    Once a hidden case may have been asked, the run's own words (its stop reason, the
    problems its later attempts reported) are replaced by fixed ones. What the first
    attempt's cells reported (errors, refused tampering) comes before any case.
    """
    needs_human: list[str] = []
    private: list[str] = []
    began = hidden_began(master, result)
    if result.status != "ok":
        if began:
            needs_human.append(HIDDEN_RUN.format(status=_status_word(result.status)))
            private.append(f"the run stopped after the hidden checks began: {result.reason}")
        else:
            needs_human.append(result.reason or result.status)
    outcomes = {outcome.test: outcome for outcome in result.tests}
    cells = []
    for test in master.tests:
        outcome = outcomes.get(test.grade_id)
        try:
            cells.append(_judge_test(test, outcome, references, limits, needs_human, private))
        except Exception as error:  # the grader's own failure: this cell, this submission only
            reason = (
                f"{test.grade_id}: could not be judged"
                if test.call.hidden
                else f"{test.grade_id}: could not be judged ({type(error).__name__}: {error})"
            )
            needs_human.append(reason)
            cells.append(
                CellGrade(
                    test.grade_id,
                    test.call.function,
                    test.points,
                    0.0,
                    f"Not graded: {reason}",
                    test.call.hidden,
                )
            )
    cells = _hidden_attempted_as_visible(cells)
    for problem in result.cell_problems:
        if began and result.attempts > 1:
            # a later attempt's cells ran after a hidden case: only the grader's own words
            if _known_problem(problem) != problem:
                private.append(f"after the hidden checks began, the cells reported: {problem}")
            problem = _known_problem(problem)
        needs_human.append(f"while the cells ran: {problem}")
    cell_errors = _cell_errors(result, indices)
    for index, raised in cell_errors:
        if raised.startswith("CellTimeout"):
            needs_human.append(f"cell {index}: {raised}")
    return NotebookGrade(
        tuple(cells),
        cell_errors=cell_errors,
        notes=tuple(notes),
        needs_human=tuple(dict.fromkeys(n for n in needs_human if n)),
        status=result.status,
        output=result.output,
        seconds=result.seconds,
        private=tuple(dict.fromkeys(private)),
    )


_STATUS_WORDS = {
    "timeout": "time limit",
    "cells-failed": "the process ended",
    "channel": "reply channel misused",
}


def _status_word(status: str) -> str:
    return _STATUS_WORDS.get(status, "stopped")


def _hidden_attempted_as_visible(cells: list[CellGrade]) -> list[CellGrade]:
    """A hidden test cell counts as attempted when the visible cell of its function does:
    whether every hidden case met the stub is the student's process's choice, so it must
    not tell the report anything the visible checks do not."""
    visible = {cell.function: cell.attempted for cell in cells if not cell.hidden}
    return [
        replace(cell, attempted=visible[cell.function])
        if cell.hidden and cell.function in visible
        else cell
        for cell in cells
    ]
