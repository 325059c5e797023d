"""Verdicts, the probe data they judge, and the one function that writes feedback text.

A :class:`Verdict` says what differs (``where``), what kind of difference it is
(``problem``, safe for hidden cases), and, for visible cases only, what was expected
and what came back. :func:`format_verdict` turns it into text: with case values for
a visible case, with none at all for a hidden one. :func:`read_outcome` reads a
probe's decoded data defensively, since the student's process may send anything.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcourse.grading.protocol import Case, Foreign, Tensor

__all__ = [
    "CHANGED_IN_PLACE",
    "COULD_NOT_RUN",
    "MISSING",
    "NOT_FINITE",
    "NOT_WRITTEN",
    "NOT_WRITTEN_HINT",
    "NO_EXCEPTION",
    "WRONG_DTYPE",
    "WRONG_LENGTH",
    "WRONG_SHAPE",
    "WRONG_TYPE",
    "WRONG_VALUE",
    "Outcome",
    "Verdict",
    "describe_call",
    "describe_outcome",
    "describe_value",
    "exception_name",
    "format_verdict",
    "raised_problem",
    "read_outcome",
]

# ------------------------------------------------------------------ verdicts and their text

#: Categories of ``Verdict.problem`` (an exception's is built by :func:`raised_problem`).
WRONG_VALUE = "wrong value"
NOT_FINITE = "not a finite number"
WRONG_SHAPE = "wrong shape"
WRONG_DTYPE = "wrong dtype"
WRONG_TYPE = "wrong type"
WRONG_LENGTH = "wrong length"
MISSING = "missing"
CHANGED_IN_PLACE = "argument changed in place"
NOT_WRITTEN = "not written yet"
COULD_NOT_RUN = "could not be run"
NO_EXCEPTION = "returned a result where an exception is expected"

NOT_WRITTEN_HINT = "the function is not written yet: replace `raise NotImplementedError()`."


@dataclass(frozen=True)
class Verdict:
    """The judgement of one case.

    ``where`` says what differs ("losses[0]", "the shape of the result", "what the
    call does") and ``problem`` what kind of difference it is ("wrong value",
    "raised an exception (ValueError)", ...): both are free of case values and safe
    for hidden cases. ``expected`` and ``got`` describe the expected value and the
    student's value or exception; they may hold case values and the student's own
    text, so they are shown for visible cases only. ``misconception`` names a
    registered mistake the student's data matches (or is ``None``) and ``hint`` is
    that mistake's hint, or else the spec's general one.

    ``message`` is the verdict's feedback text where it was judged (visible or
    hidden, its case's number): :func:`gdcourse.grading.checks.judge_case` fills it
    with :func:`format_verdict`.
    """

    passed: bool
    where: str = ""
    expected: str = ""
    got: str = ""
    problem: str = ""
    misconception: str | None = None
    hint: str = ""
    message: str = field(default="", compare=False, repr=False)


def format_verdict(
    function: str, case: Case, verdict: Verdict, *, hidden: bool, index: int
) -> str:
    """The feedback text of one case; ``index`` is the case's number, counted from 1.

    A visible case shows the call, the expected value and the student's; a hidden
    case shows only what differs, the kind of problem and the hint, never an input,
    an expected value, a returned value or an exception's message.

    >>> verdict = Verdict(False, "the result", "3.0", "2.0", WRONG_VALUE, None, "add them.")
    >>> print(format_verdict("add", {"a": 1, "b": 2}, verdict, hidden=False, index=1))
    Checked: add(a=1, b=2)
      the result: expected 3.0
                  got 2.0
    Hint: add them.
    >>> print(format_verdict("add", {"a": 1, "b": 2}, verdict, hidden=True, index=2))
    Hidden case 2: the result: wrong value.
    Hint: add them.
    """
    if hidden:
        if verdict.passed:
            return f"Hidden case {index}: correct."
        where, problem = _one_line(verdict.where), _one_line(verdict.problem) or "wrong"
        lines = [
            f"Hidden case {index}: {where}: {problem}."
            if where
            else f"Hidden case {index}: {problem}."
        ]
    else:
        checked = describe_call(function, case)
        if verdict.passed:
            return f"Checked: {checked}: correct."
        if verdict.problem == COULD_NOT_RUN:
            lines = [
                f"Checked: {checked}",
                f"The check could not run your function: {verdict.got}",
            ]
        else:
            lines = [
                f"Checked: {checked}",
                f"  {verdict.where}: expected {verdict.expected}",
                f"  {' ' * len(verdict.where)}  got {verdict.got}",
            ]
    if verdict.hint:  # the misconception's name is the report's word, not the student's
        lines.append(f"Hint: {verdict.hint}")
    return "\n".join(lines)


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_call(function: str, case: Case) -> str:
    """``function(arg=value, ...)`` for a case, values shortened.

    >>> describe_call("mse", {"y_pred": [1.0, 2.0], "y": [0.0, 0.0]})
    'mse(y_pred=[1.0, 2.0], y=[0.0, 0.0])'
    """
    parts = []
    for key, value in case.items():
        text = repr(value)
        if len(text) > 60:
            text = text[:57] + "..."
        parts.append(f"{key}={text}")
    return f"{function}({', '.join(parts)})"


# ------------------------------------------------------------------ reading probe data


@dataclass(frozen=True)
class Outcome:
    """Decoded probe data, checked for form: what came back, what was raised
    (exception class names, most derived first, and the message), which watched
    arguments changed, or why the data is unusable (``error``)."""

    output: Any = None
    raised: tuple[str, ...] | None = None
    message: str = ""
    modified: tuple[str, ...] = ()
    error: str | None = None


def read_outcome(data: Any) -> Outcome:
    """An :class:`Outcome` from decoded probe data; malformed data sets ``error``.

    >>> read_outcome({"output": 1.0, "raised": None, "modified": []}).output
    1.0
    >>> read_outcome({"output": 1.0, "modified": 5}).error
    "malformed probe data: 'modified' is not a list of names"
    """
    if not isinstance(data, Mapping):
        return Outcome(error=f"malformed probe data: {type(data).__name__}")
    if "__error__" in data:
        error = data["__error__"]
        return Outcome(error=_clip(error if isinstance(error, str) else describe_value(error)))
    modified = data.get("modified", [])
    if not (isinstance(modified, list) and all(isinstance(name, str) for name in modified)):
        return Outcome(error="malformed probe data: 'modified' is not a list of names")
    raised = data.get("raised")
    if raised is None:
        return Outcome(output=data.get("output"), modified=tuple(modified[:20]))
    types = raised.get("types") if isinstance(raised, Mapping) else None
    if not (isinstance(types, list) and types and all(isinstance(t, str) for t in types)):
        return Outcome(error="malformed probe data: 'raised' is not an exception record")
    message = raised.get("message", "")
    return Outcome(
        raised=tuple(_clip(t, 80) for t in types[:50]),
        message=_clip(message if isinstance(message, str) else ""),
        modified=tuple(modified[:20]),
    )


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def exception_name(types: Sequence[str]) -> str:
    """The first of ``types`` that is a built-in exception (a student's own class name is
    text the student chose, so it never reaches hidden feedback)."""
    for name in types:
        value = getattr(builtins, name, None)
        if isinstance(value, type) and issubclass(value, BaseException):
            return name
    return "an exception"


def raised_problem(types: Sequence[str]) -> str:
    """``"raised an exception (ValueError)"``, naming a built-in class only."""
    return f"raised an exception ({exception_name(types)})"


def describe_outcome(outcome: Outcome) -> str:
    """``it raised T: message`` or ``it returned <value>``, for visible feedback."""
    if outcome.raised is not None:
        return f"it raised {outcome.raised[0]}: {outcome.message}"
    return f"it returned {describe_value(outcome.output)}"


def describe_value(value: Any, limit: int = 6, *, _depth: int = 0) -> str:
    """A short, readable description of decoded probe data, for feedback messages.

    Deeply nested or huge data is summarised, never printed whole.

    >>> describe_value(np.array([1.5, 2.5]))
    'array([1.5, 2.5]) (float64, shape (2,))'
    >>> describe_value((1.0, [2.0, 3.0]))
    '(1.0, [2.0, 3.0])'
    >>> describe_value([[[[[1.0]]]]])
    '[[[[...]]]]'
    """
    try:
        return _clip(_describe(value, limit, _depth), 400)
    except Exception:  # a value too odd to describe is described by its type
        return f"a value of type {type(value).__name__}"


def _describe(value: Any, limit: int, depth: int) -> str:
    if depth > 3:
        return "..."
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=limit, edgeitems=3, linewidth=200):
            text = repr(value).replace("\n", " ")
        text = " ".join(text.split())
        if ", dtype=" in text:
            text = text[: text.index(", dtype=")] + ")"
        return f"{text} ({value.dtype}, shape {value.shape})"
    if isinstance(value, Tensor):
        return f"a torch tensor of dtype {value.dtype}, shape {tuple(value.array.shape)}"
    if isinstance(value, Foreign):
        return f"an object of type {_clip(value.type, 100)}"
    if isinstance(value, np.generic):
        return f"{value.item()!r} (NumPy {value.dtype} scalar)"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        text = f"{value:.10g}"
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "an integer too large for a float"
    if isinstance(value, tuple):
        inner = ", ".join(_describe(item, limit, depth + 1) for item in value[:limit])
        return f"({inner}{', ...' if len(value) > limit else ''})"
    if isinstance(value, list):
        if len(value) > limit:
            head = ", ".join(_describe(item, limit, depth + 1) for item in value[:3])
            tail = ", ".join(_describe(item, limit, depth + 1) for item in value[-2:])
            return f"[{head}, ..., {tail}] (a list of {len(value)})"
        return "[" + ", ".join(_describe(item, limit, depth + 1) for item in value) + "]"
    if isinstance(value, dict):
        items = list(value.items())
        inner = ", ".join(
            f"{_clip(repr(key), 40)}: {_describe(item, limit, depth + 1)}"
            for key, item in items[:limit]
        )
        return "{" + inner + (", ..." if len(items) > limit else "") + "}"
    if isinstance(value, str):
        return repr(_clip(value, 200))
    return repr(value)
