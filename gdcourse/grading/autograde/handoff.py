"""What the grading pipeline hands nbgrader's autograde to record: judged notebooks, by id.

``gdcourse grade`` reads, sanitizes, runs and judges a student's notebooks, then asks
nbgrader's autograde to record the student (:class:`~gdcourse.grading.recording.Recorder`).
It hands the judged notebooks over for that one call (:func:`handing`), keyed by nbgrader's
own ids (student, notebook); the preprocessors nbgrader calls take them from there
(:func:`handed`) instead of reading, sanitizing or running anything again. Outside such a
call (plain ``nbgrader autograde``, formgrader's button) nothing is handed and the
preprocessors run the pipeline themselves (:func:`gdcourse.grading.autograde.run.grade`).

The hand-off lives in a context variable: it holds for the thread (and the call) that
handed it, and is gone when the call returns, so nothing accumulates over a long run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType

from gdcourse.grading.autograde.judge import NotebookGrade
from gdcourse.grading.autograde.submission import Submission

__all__ = ["Graded", "NotHanded", "handed", "handing"]


@dataclass(frozen=True)
class Graded:
    """One notebook as the pipeline left it: the sanitized submission and its verdict."""

    submission: Submission
    grade: NotebookGrade


class NotHanded(LookupError):
    """nbgrader asked for a notebook the pipeline did not hand over in this call."""


_handed: ContextVar[Mapping[tuple[str, str], Graded] | None] = ContextVar(
    "gdcourse_handed", default=None
)


@contextlib.contextmanager
def handing(student: str, notebooks: Mapping[str, Graded]) -> Iterator[None]:
    """Hand ``student``'s judged ``notebooks`` (by notebook id) to the preprocessors nbgrader
    calls inside this block."""
    token = _handed.set(MappingProxyType({(student, name): g for name, g in notebooks.items()}))
    try:
        yield
    finally:
        _handed.reset(token)


def handed(student: str, notebook: str) -> Graded | None:
    """The judged notebook handed for nbgrader's ``student`` and ``notebook`` ids; ``None``
    when nothing is handed in this call (plain ``nbgrader autograde``).

    Raises :class:`NotHanded` when a hand-off is in progress but holds no such notebook:
    a run that grades everything once must not grade anything a second time.
    """
    current = _handed.get()
    if current is None:
        return None
    try:
        return current[(student, notebook)]
    except KeyError:
        raise NotHanded(
            f"the grading run did not hand over notebook {notebook!r} of student {student!r}; "
            "it is not graded a second time here"
        ) from None
