"""Grading: the checks behind every test cell, and the secure autograder.

Notebook test cells call :func:`check`; the instructor's grader reads the same
calls from the master notebooks and runs them against sandboxed student code.
See :mod:`gdcourse.grading.protocol` for the contract between the two.

Two audiences, two modules: :mod:`gdcourse.grading.checks` is the students' (what a
notebook's check runs; published in the student edition), :mod:`gdcourse.grading.masters`
the instructor's (it reads the masters; never published). The first never imports the
second (tests/test_audiences.py).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from typing import Any

__all__ = ["check"]

INSTRUCTOR_MODULE = "gdcourse.grading.masters"
"""The instructor's reader of the masters: in the course repository, not in the edition."""


def check(
    assignment: str,
    function: str,
    fn: Any,
    *,
    cases: list[dict[str, Any]],
    hidden: bool = False,
) -> None:
    """Check ``fn`` (the student's ``function``) on ``cases``; raise ``CheckFailed`` (an
    ``AssertionError``) with feedback that teaches when a case fails. See
    :mod:`gdcourse.grading.checks`.

    A hidden check (only masters hold one) compares with the master's reference, read by
    the instructor's module where it is installed; where it is not (the student edition)
    it says that hidden checks run after submission.
    """
    __tracebackhide__ = True  # the student needs the message, not the grader's frames
    from gdcourse.grading.checks import run_check

    reference = _hidden_reference(assignment, function) if hidden else None
    run_check(assignment, function, fn, cases=cases, hidden=hidden, reference=reference)


def _hidden_reference(assignment: str, function: str) -> Callable[..., Any] | None:
    """The master's reference of ``function``, or ``None`` without the instructor's module.

    Looked up by name, at the call: the students' modules hold no import of it, and a
    visible check never loads it.
    """
    if importlib.util.find_spec(INSTRUCTOR_MODULE) is None:
        return None
    masters = importlib.import_module(INSTRUCTOR_MODULE)
    reference: Callable[..., Any] = masters.load_reference(assignment, function)
    return reference
