"""The judge side of grading: specs, verdicts, comparisons and the text of feedback.

Every graded function has a spec (a :class:`FunctionSpec`, most often a
:class:`Spec`) in ``gdcourse.grading.specs.<assignment>``. A spec joins two halves
that run in different places:

* its ``probe`` (from ``gdcourse.grading.probes.<assignment>``) calls a function on
  a case and returns plain data; it is the only part that runs where a student's
  function lives;
* everything else runs in the grader's own process: the ``reference`` (closed forms
  or gdcourse's public library), the ``variants`` (wrong implementations, each named
  by a misconception of :mod:`gdcourse.grading.misconceptions`), the tolerances, the
  hints and ``judge``, which compares the decoded data of the student's call with the
  reference's, structure first (types, lengths, shapes, dtypes, finiteness), then
  values, and names the misconception whose variant's data the student's data matches.

A judgement is a :class:`Verdict`: what differs (``where``), a category of problem
that is safe to show for a hidden case (``problem``), and, for visible cases only,
what was expected and what came back. :func:`format_verdict` is the one place that
turns a verdict into feedback text, with case values for visible cases and none at
all for hidden ones. Judges treat the student's data as hostile: whatever arrives,
they return a verdict rather than raise.
"""

from gdcourse.grading.framework.compare import DEFAULT_TOLERANCES, Tolerance, first_difference
from gdcourse.grading.framework.spec import (
    FunctionSpec,
    Spec,
    check_spec,
    common_failure,
    could_not_run,
    hint_for,
    mistake,
)
from gdcourse.grading.shortcuts import NAMES, STUDENT_PREFIX, check_banned

SHORTCUTS: tuple[str, ...] = tuple(NAMES)
"""The names a spec's ``banned`` may hold, besides ``"student:<function>"``
(:mod:`gdcourse.grading.shortcuts` says what each stands for)."""

from gdcourse.grading.framework.verdicts import (  # noqa: E402
    CHANGED_IN_PLACE,
    COULD_NOT_RUN,
    MISSING,
    NO_EXCEPTION,
    NOT_FINITE,
    NOT_WRITTEN,
    NOT_WRITTEN_HINT,
    WRONG_DTYPE,
    WRONG_LENGTH,
    WRONG_SHAPE,
    WRONG_TYPE,
    WRONG_VALUE,
    Outcome,
    Verdict,
    describe_call,
    describe_outcome,
    describe_value,
    exception_name,
    format_verdict,
    raised_problem,
    read_outcome,
)

__all__ = [
    "CHANGED_IN_PLACE",
    "COULD_NOT_RUN",
    "DEFAULT_TOLERANCES",
    "MISSING",
    "NOT_FINITE",
    "NOT_WRITTEN",
    "NOT_WRITTEN_HINT",
    "NO_EXCEPTION",
    "SHORTCUTS",
    "STUDENT_PREFIX",
    "WRONG_DTYPE",
    "WRONG_LENGTH",
    "WRONG_SHAPE",
    "WRONG_TYPE",
    "WRONG_VALUE",
    "FunctionSpec",
    "Outcome",
    "Spec",
    "Tolerance",
    "Verdict",
    "check_banned",
    "check_spec",
    "common_failure",
    "could_not_run",
    "describe_call",
    "describe_outcome",
    "describe_value",
    "exception_name",
    "first_difference",
    "format_verdict",
    "hint_for",
    "mistake",
    "raised_problem",
    "read_outcome",
]
