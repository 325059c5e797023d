"""Running a sanitized submission in the sandbox, and judging what it reported.

:func:`make_job` turns a sanitized notebook into a sandbox job: its code cells
(test cells excluded, the master's cases asked instead) and one request per
test cell with the function's banned shortcuts. :func:`grade` runs it and judges
it; whatever goes wrong, the result is a :class:`~.judge.NotebookGrade` for this
submission, never an exception that stops the others.

:func:`grade` is :func:`prepare`, ``Sandbox.run`` and :func:`judge_result` in one
call (what plain ``nbgrader autograde`` runs); ``gdcourse grade`` calls the three
apart, so that the run can happen elsewhere (a thread, a Dask worker) while
preparing and judging stay here, and hands each verdict on to the recorder
(:mod:`~.handoff`). Nothing here keeps a verdict.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gdcourse.grading import checks
from gdcourse.grading.autograde.judge import NotebookGrade, References, judge, not_graded
from gdcourse.grading.autograde.master import Master
from gdcourse.grading.autograde.submission import META_KEY
from gdcourse.grading.notebook import grade_id, has_hidden_tests, source_of
from gdcourse.grading.sandbox import Job, Limits, RunResult, Sandbox, SandboxError, TestRequest

__all__ = [
    "grade",
    "judge_result",
    "make_job",
    "preload_for",
    "prepare",
    "probe_module",
    "shared_references",
    "shared_sandbox",
    "student_cells",
]

MAX_TEST_LIKE_SOURCE = 20_000
"""A cell longer than this is never taken for a retyped test cell (and never parsed)."""


def _looks_like_test(source: str) -> bool:
    """A retyped or copied test cell (the grader asks the master's cases instead)."""
    if has_hidden_tests(source):
        return True
    if "check(" not in source or len(source) > MAX_TEST_LIKE_SOURCE:
        return False
    try:
        checks.parse_check_call(source)
    except (ValueError, RecursionError, MemoryError, SyntaxError):
        return False
    return True


def student_cells(notebook: Mapping[str, Any], master: Master) -> list[tuple[int, str]]:
    """``(index, source)`` of the code cells to run: every code cell but the test cells."""
    tests = {test.grade_id for test in master.tests}
    result = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code" or grade_id(cell) in tests:
            continue
        source = source_of(cell)
        if not _looks_like_test(source):
            result.append((index, source))
    return result


def make_job(notebook: Mapping[str, Any], master: Master, limits: Limits) -> tuple[Job, list[int]]:
    """The sandbox job of a sanitized notebook, and the notebook index of each job cell.

    Every visible test cell is asked before any hidden one, whatever the master's order:
    what the student's process says about a visible case is shown in detail, so it must
    not have seen a hidden input yet (the judge matches reports to cells by grade_id).
    """
    cells = student_cells(notebook, master)
    ordered = sorted(master.tests, key=lambda t: t.call.hidden)  # stable: master order kept
    tests = [
        TestRequest(
            t.grade_id,
            t.call.function,
            t.call.cases,
            tuple(checks.get_spec(t.call.assignment, t.call.function).banned),
        )
        for t in ordered
    ]
    job = Job(master.assignment, [source for _, source in cells], tests, limits)
    return job, [index for index, _ in cells]


def preload_for(master: Master) -> list[str]:
    """What the sandbox host imports once for ``master``'s submissions: every module the
    master's code cells import (a student's notebook is the master's, filled in), its
    assignment's probes, and what they load on first use.

    A module imported by every submission costs its import once in the host, instead of
    once per submission in each sandbox.
    """
    import ast
    import importlib.util

    names: list[str] = ["numpy", "gdcourse.grading.protocol", "gdcourse.grading.sandbox.student"]
    optimizers = False
    for cell in master.content.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = source_of(cell)
        optimizers = optimizers or "optim" in source
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    if optimizers and "torch" in names:
        names.append("torch._dynamo")  # an optimizer's first step imports it
    installed: dict[str, bool] = {}
    found = []
    for name in dict.fromkeys(names):
        top = name.partition(".")[0]
        if top not in installed:  # only the top level: a submodule's spec imports its parent
            try:
                installed[top] = importlib.util.find_spec(top) is not None
            except (ImportError, ValueError):
                installed[top] = False
        if installed[top]:
            found.append(name)
    return found


def probe_module(assignment: str) -> str:
    """The probe module of ``assignment`` (``gdcourse.grading.probes.<assignment>``)."""
    return f"gdcourse.grading.probes.{assignment}"


_shared: dict[tuple[str, bool, str | None], Sandbox] = {}
_references: dict[str, References] = {}
_shared_lock = threading.Lock()


def shared_sandbox(
    course_root: str | os.PathLike[str] | None,
    *,
    isolation: bool = True,
    master: Master | None = None,
) -> Sandbox:
    """This process's sandbox for a course: started on first use, stopped at exit.

    With ``master``, the host imports what that assignment's submissions use
    (:func:`preload_for`) and only its probes; without, a general set for every
    assignment. Raises :class:`~gdcourse.grading.sandbox.IsolationUnavailable` (with
    what to do) when isolation is asked for and the machine cannot give it.
    """
    assignment = master.assignment if master is not None else None
    key = (str(Path(course_root).resolve()) if course_root else "", isolation, assignment)
    with _shared_lock:
        if key not in _shared:
            if master is None:
                sandbox = Sandbox(isolation=isolation, course_root=course_root)
            else:
                sandbox = Sandbox(
                    isolation=isolation,
                    course_root=course_root,
                    preload=preload_for(master),
                    probes=[probe_module(master.assignment)],
                )
            sandbox.start()
            atexit.register(sandbox.close)
            _shared[key] = sandbox
        return _shared[key]


def shared_references(course_root: str | os.PathLike[str] | None) -> References:
    """This process's cache of reference data for a course."""
    key = str(Path(course_root).resolve()) if course_root else ""
    with _shared_lock:
        if key not in _references:
            _references[key] = References(course_root)
        return _references[key]


def _notes_of(notebook: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
    meta = notebook.get("metadata", {}).get(META_KEY, {})
    if not isinstance(meta, Mapping):
        return (), None
    notes = tuple(str(n) for n in meta.get("notes", []))
    unreadable = meta.get("unreadable")
    return notes, str(unreadable) if unreadable else None


def prepare(
    notebook: Mapping[str, Any], master: Master, *, limits: Limits | None = None
) -> tuple[Job, list[int]] | NotebookGrade:
    """The sandbox job of a sanitized notebook and its cells' indices, or, when there is
    nothing to run (an unreadable file, a notebook the job cannot be made of), its grade.

    ``limits`` are the caller's (``c.SandboxLimits.*``, :mod:`gdcourse.grading.settings`);
    without, the built-in ones."""
    notes, unreadable = _notes_of(notebook)
    if unreadable:
        return not_graded(master, unreadable, status="unreadable", notes=notes)
    try:
        return make_job(notebook, master, limits or Limits())
    except Exception as error:  # a bug of ours must not stop the class: this row only
        return not_graded(
            master,
            f"grader failure: {type(error).__name__}: {error}",
            status="grader-error",
            notes=notes,
        )


def judge_result(
    notebook: Mapping[str, Any],
    master: Master,
    job: Job,
    indices: Sequence[int],
    result: RunResult | BaseException,
    *,
    references: References,
) -> NotebookGrade:
    """Judge what the sandbox reported for ``job`` (or the error that stopped it), here.
    Never raises."""
    notes, _ = _notes_of(notebook)
    if isinstance(result, BaseException):
        reason = (
            str(result)
            if isinstance(result, SandboxError)
            else (f"{type(result).__name__}: {result}")
        )
        verdict = not_graded(
            master, f"grader failure: {reason}", status="grader-error", notes=notes
        )
    else:
        try:
            verdict = judge(
                master, result, indices, references=references, limits=job.limits, notes=notes
            )
        except Exception as error:  # a bug of ours must not stop the class: this row only
            verdict = not_graded(
                master,
                f"grader failure: {type(error).__name__}: {error}",
                status="grader-error",
                notes=notes,
            )
    return verdict


def grade(
    notebook: Mapping[str, Any],
    master: Master,
    *,
    sandbox: Sandbox,
    references: References,
    limits: Limits | None = None,
) -> NotebookGrade:
    """Grade a sanitized notebook: run it in the sandbox, judge it here. Never raises."""
    prepared = prepare(notebook, master, limits=limits)
    if isinstance(prepared, NotebookGrade):
        return prepared
    job, indices = prepared
    result: RunResult | BaseException
    try:
        result = sandbox.run(job)
    except Exception as error:  # judged as a grader failure of this submission only
        result = error
    return judge_result(notebook, master, job, indices, result, references=references)
