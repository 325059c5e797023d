"""Grading: the checks behind every test cell, and the secure autograder.

Notebook test cells call :func:`check`; the instructor's grader reads the same
calls from the master notebooks and runs them against sandboxed student code.
See :mod:`gdcourse.grading.protocol` for the contract between the two.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check"]


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
    :mod:`gdcourse.grading.checks`."""
    __tracebackhide__ = True  # the student needs the message, not the grader's frames
    from gdcourse.grading.checks import run_check

    run_check(assignment, function, fn, cases=cases, hidden=hidden)
