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

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from gdcourse.grading.misconceptions import MISCONCEPTIONS, check_names
from gdcourse.grading.probes import Probe
from gdcourse.grading.protocol import Case, Foreign, Tensor

__all__ = [
    "DEFAULT_TOLERANCES",
    "SHORTCUTS",
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
    "first_difference",
    "format_verdict",
    "hint_for",
    "mistake",
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

    ``message`` is transitional: :func:`gdcourse.grading.checks.judge_case` fills it
    with :func:`format_verdict`'s text for callers written before verdicts had parts.
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
    hint = f"{verdict.misconception}: {verdict.hint}" if verdict.misconception else verdict.hint
    if hint:
        lines.append(f"Hint: {hint}")
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


def _exception_name(types: Sequence[str]) -> str:
    """The first of ``types`` that is a built-in exception (a student's own class name is
    text the student chose, so it never reaches hidden feedback)."""
    for name in types:
        value = getattr(builtins, name, None)
        if isinstance(value, type) and issubclass(value, BaseException):
            return name
    return "an exception"


def raised_problem(types: Sequence[str]) -> str:
    """``"raised an exception (ValueError)"``, naming a built-in class only."""
    return f"raised an exception ({_exception_name(types)})"


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


# ------------------------------------------------------------------ comparing plain data


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance for ``|got - expected| <= atol + rtol * |expected|``."""

    rtol: float
    atol: float


DEFAULT_TOLERANCES: dict[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-6, atol=1e-9),
    "float32": Tolerance(rtol=1e-4, atol=1e-5),
    "float16": Tolerance(rtol=1e-2, atol=1e-3),
}


def _dtype_name(value: Any) -> str:
    if isinstance(value, np.ndarray | np.generic):
        return str(value.dtype)
    if isinstance(value, Tensor):
        return value.dtype
    return "float64"


def _is_real_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, np.generic):
        return value.dtype.kind in "iuf"
    return isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf"


def _floats(value: Any) -> np.ndarray[Any, Any] | None:
    """``value`` as a flat float64 array, or ``None`` when it does not fit (huge ints)."""
    try:
        with np.errstate(all="ignore"):
            return np.asarray(value).astype(np.float64).reshape(-1)
    except (OverflowError, TypeError, ValueError):
        return None


def first_difference(
    expected: Any,
    got: Any,
    where: str = "the result",
    *,
    tolerances: Mapping[str, Tolerance] = DEFAULT_TOLERANCES,
    case_dtype: str | None = None,
) -> Verdict | None:
    """Compare decoded probe data; a failing :class:`Verdict` at the first difference.

    The comparison is lenient where the assignments' contracts allow it (a list
    or tuple where a tuple is expected, a NumPy float where a Python float is,
    a NumPy array where a list of arrays is) and strict where it teaches
    something (a tensor is never a number; shapes and lengths must match).
    Values agree within the tolerance of ``case_dtype`` (the instructor's choice
    for the case) or else of the *expected* value's dtype, never of the dtype that
    came back: a student cannot loosen the check by returning float16. NaN matches
    NaN and infinities match themselves. The verdict carries no hint.

    >>> first_difference((1.0, [2.0]), [1.0, [2.0 + 1e-12]]) is None
    True
    >>> first_difference(np.array([1.0, 2.0]), np.array([1.0, 4.0])).where
    'the result[1]'
    >>> first_difference(2.0, np.float16(2.001)).problem
    'wrong value'
    """

    def tolerance(value: Any) -> Tolerance:
        name = case_dtype if case_dtype is not None else _dtype_name(value)
        found = tolerances.get(name) or DEFAULT_TOLERANCES.get(name) or tolerances.get("float64")
        return found or DEFAULT_TOLERANCES["float64"]

    def differs(where: str, wanted: str, came: str, problem: str) -> Verdict:
        return Verdict(False, where, wanted, came, problem)

    def first_bad(exp: np.ndarray[Any, Any], val: np.ndarray[Any, Any], tol: Tolerance) -> int:
        with np.errstate(all="ignore"):
            close = np.isclose(val, exp, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
        bad = np.flatnonzero(~close)
        return int(bad[0]) if bad.size else -1

    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return differs(where, describe_value(expected), describe_value(got), WRONG_TYPE)
        if got.dtype != expected.dtype:
            return differs(f"the dtype of {where}", expected.dtype, got.dtype, WRONG_DTYPE)
        return first_difference(
            expected.array, got.array, where, tolerances=tolerances, case_dtype=case_dtype
        )
    if isinstance(expected, Foreign):
        if isinstance(got, Foreign) and got.type == expected.type:
            return None
        return differs(where, describe_value(expected), describe_value(got), WRONG_TYPE)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is type(expected) and got == expected:
            return None
        problem = WRONG_VALUE if type(got) is type(expected) else WRONG_TYPE
        return differs(where, repr(expected), describe_value(got), problem)
    if isinstance(expected, np.ndarray) and expected.shape != ():
        if not isinstance(got, np.ndarray):
            return differs(where, describe_value(expected), describe_value(got), WRONG_TYPE)
        if got.dtype.kind not in "iuf" or (expected.dtype.kind == "f" and got.dtype.kind != "f"):
            return differs(
                f"the dtype of {where}", str(expected.dtype), str(got.dtype), WRONG_DTYPE
            )
        if got.shape != expected.shape:
            return differs(
                f"the shape of {where}", str(expected.shape), str(got.shape), WRONG_SHAPE
            )
        exp_flat, got_flat = _floats(expected), _floats(got)
        if exp_flat is None or got_flat is None:
            return differs(where, describe_value(expected), describe_value(got), WRONG_VALUE)
        index = first_bad(exp_flat, got_flat, tolerance(expected))
        if index < 0:
            return None
        position = np.unravel_index(index, expected.shape)
        finite = bool(np.isfinite(got_flat[index]))
        return differs(
            f"{where}[{', '.join(str(int(i)) for i in position)}]",
            describe_value(float(exp_flat[index])),
            describe_value(float(got_flat[index])) + ("" if finite else " (not finite)"),
            WRONG_VALUE if finite else NOT_FINITE,
        )
    if _is_real_scalar(expected):
        if isinstance(got, Tensor):
            return differs(where, describe_value(expected), describe_value(got), WRONG_TYPE)
        if not _is_real_scalar(got):
            return differs(
                where, f"a number like {describe_value(expected)}", describe_value(got), WRONG_TYPE
            )
        exp_flat, got_flat = _floats(expected), _floats(got)
        if exp_flat is None or got_flat is None:
            return differs(where, describe_value(expected), describe_value(got), WRONG_VALUE)
        if first_bad(exp_flat, got_flat, tolerance(expected)) < 0:
            return None
        finite = bool(np.all(np.isfinite(got_flat)))
        return differs(
            where,
            describe_value(float(exp_flat[0])),
            describe_value(float(got_flat[0])) + ("" if finite else " (not finite)"),
            WRONG_VALUE if finite else NOT_FINITE,
        )
    if isinstance(expected, tuple | list):
        if isinstance(got, np.ndarray) and got.ndim >= 1:
            got = list(got)
        if not isinstance(got, tuple | list):
            kind = "a tuple" if isinstance(expected, tuple) else "a list"
            return differs(where, f"{kind} of {len(expected)}", describe_value(got), WRONG_TYPE)
        if len(got) != len(expected):
            return differs(
                f"the length of {where}", str(len(expected)), str(len(got)), WRONG_LENGTH
            )
        for index, (exp_item, got_item) in enumerate(zip(expected, got, strict=True)):
            found = first_difference(
                exp_item,
                got_item,
                f"{where}[{index}]",
                tolerances=tolerances,
                case_dtype=case_dtype,
            )
            if found is not None:
                return found
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return differs(where, "a dict", describe_value(got), WRONG_TYPE)
        for key in expected:
            if key not in got:
                return differs(
                    f"{where}[{key!r}]", describe_value(expected[key]), "nothing", MISSING
                )
            found = first_difference(
                expected[key],
                got[key],
                f"{where}[{key!r}]",
                tolerances=tolerances,
                case_dtype=case_dtype,
            )
            if found is not None:
                return found
        return None
    return differs(where, describe_value(expected), describe_value(got), WRONG_TYPE)


# ------------------------------------------------------------------ shortcuts a spec bans

SHORTCUTS: tuple[str, ...] = (
    "gdcourse",
    "torch.optim",
    "torch.nn",
    "torch.autograd",
    "torch.func",
    "numpy.polyfit",
    "numpy.polynomial",
    "numpy.linalg.lstsq",
    "numpy.linalg.solve",
    "numpy.linalg.inv",
    "numpy.linalg.pinv",
    "numpy.gradient",
    "scipy",
    "sklearn",
    "jax",
    "autograd",
)
"""The names a spec's ``banned`` may hold, besides ``"student:<function>"`` (another
graded function of the student's own notebook). ``"gdcourse"`` is the course library's
algorithms (``gdcourse.optimizers``, ``gdcourse.objectives``; not its data sets or
plotting); ``"torch.autograd"`` covers ``Tensor.backward`` and
``torch.autograd.backward``/``grad``/``functional``. The grader's run-time guard
detects each of them, whatever the spelling."""

STUDENT_PREFIX = "student:"


def check_banned(function: str, banned: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``banned`` holds a name that is not a known shortcut.

    >>> check_banned("fit", ["numpy.polyfit", "student:predict"])
    >>> check_banned("fit", [".backward"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: spec of fit: banned name '.backward' is not a shortcut the grader knows; ...
    """
    if isinstance(banned, str):
        raise ValueError(f"spec of {function}: banned must be a sequence of names, not a string")
    for name in banned:
        known = name in SHORTCUTS or (
            isinstance(name, str)
            and name.startswith(STUDENT_PREFIX)
            and name.removeprefix(STUDENT_PREFIX).isidentifier()
        )
        if not known:
            raise ValueError(
                f"spec of {function}: banned name {name!r} is not a shortcut the grader knows; "
                f"allowed: {', '.join(SHORTCUTS)}, or '{STUDENT_PREFIX}<function>'"
            )


# ------------------------------------------------------------------ specs


class FunctionSpec(Protocol):
    """What an assignment's spec module declares for each graded function."""

    # Read-only properties, so that frozen dataclasses and plain attributes both fit.

    @property
    def function(self) -> str:
        """Name of the function, equal to the nbgrader grade_id of its solution cell."""
        ...

    @property
    def probe(self) -> Probe:
        """``probe(fn, case)``: the probe from ``gdcourse.grading.probes.<assignment>``."""
        ...

    @property
    def reference(self) -> Callable[..., Any]:
        """The right implementation from closed forms or gdcourse's public library, used by
        the visible checks (students have no master; hidden checks use the master's)."""
        ...

    @property
    def variants(self) -> Mapping[str, Callable[..., Any]]:
        """Wrong implementations, by registered misconception name."""
        ...

    @property
    def banned(self) -> Sequence[str]:
        """Shortcuts that give no credit (:data:`SHORTCUTS` or ``student:<function>``)."""
        ...

    @property
    def hint(self) -> str:
        """What to look at when the answer is wrong and no misconception matches."""
        ...

    @property
    def hints(self) -> Mapping[str, str]:
        """Misconception name -> this assignment's wording of its hint."""
        ...

    @property
    def forbidden(self) -> Sequence[str]:
        """Transitional alias of :attr:`banned` for callers written before the rename."""
        ...

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Compare decoded probe data; never trusts ``student``'s types, shapes or values."""
        ...


def hint_for(spec: FunctionSpec, misconception: str) -> str:
    """The spec's wording of ``misconception``'s hint, else the registry's."""
    return spec.hints.get(misconception) or MISCONCEPTIONS[misconception].hint


def check_spec(spec: FunctionSpec) -> None:
    """Raise ``ValueError`` when a spec names an unknown misconception or shortcut."""
    where = f"spec of {spec.function}"
    check_names(spec.variants, f"{where}: variants")
    check_names(spec.hints, f"{where}: hints")
    check_names(getattr(spec, "variant_tolerances", {}), f"{where}: variant_tolerances")
    check_banned(spec.function, spec.banned)


def could_not_run(error: str, hint: str) -> Verdict:
    """The verdict when the probe's data says the function could not be called or read."""
    return Verdict(False, "your function", "", error, COULD_NOT_RUN, None, hint)


def mistake(
    spec: FunctionSpec,
    where: str,
    expected: str,
    got: str,
    problem: str,
    misconception: str | None = None,
) -> Verdict:
    """A failing verdict with the misconception's hint (in the spec's words) or the spec's."""
    hint = spec.hint if misconception is None else hint_for(spec, misconception)
    return Verdict(False, where, expected, got, problem, misconception, hint)


def common_failure(spec: FunctionSpec, outcome: Outcome) -> Verdict | None:
    """What every judge checks first: the probe's data is unusable, the call raised, or
    a watched argument changed in place."""
    if outcome.error is not None:
        return could_not_run(outcome.error, spec.hint)
    if outcome.raised is not None:
        verdict = mistake(
            spec,
            "what the call does",
            "it returns a result",
            describe_outcome(outcome),
            raised_problem(outcome.raised),
        )
        if "NotImplementedError" in outcome.raised:
            return replace(verdict, problem=NOT_WRITTEN, hint=NOT_WRITTEN_HINT)
        return verdict
    if outcome.modified:
        return mistake(
            spec,
            "the arguments after the call",
            "unchanged",
            f"{', '.join(outcome.modified)} changed in place",
            CHANGED_IN_PLACE,
            "argument_modified_in_place",
        )
    return None


@dataclass(frozen=True)
class Spec:
    """A :class:`FunctionSpec` for a function judged by what one call returns.

    Parameters
    ----------
    function:
        The graded function's name (its solution cell's grade_id).
    probe:
        ``probe(fn, case)`` from ``gdcourse.grading.probes.<assignment>``.
    reference:
        The right implementation, from closed forms or gdcourse's public library.
    variants:
        Misconception name (registered in :mod:`gdcourse.grading.misconceptions`) ->
        a wrong implementation with the same signature.
    banned:
        Shortcuts that give no credit: names of :data:`SHORTCUTS` or
        ``"student:<function>"``.
    hint:
        What to look at when the answer is wrong and no misconception matches.
    hints:
        Misconception name -> this assignment's wording of its hint.
    tolerances:
        Per-dtype tolerances for values.
    variant_tolerances:
        Misconception name -> a looser tolerance for recognising that mistake when
        the student's numbers depend on a free choice (a finite-difference step, say).
    output_names:
        Names of the parts of a tuple result (``("w", "b", "losses")``), so that
        feedback says ``losses[0]`` rather than ``the result[2][0]``.
    """

    function: str
    probe: Probe
    reference: Callable[..., Any]
    variants: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    banned: Sequence[str] = ()
    hint: str = "compare your code with the formula in the text above the function."
    hints: Mapping[str, str] = field(default_factory=dict)
    tolerances: Mapping[str, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCES)
    variant_tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    output_names: Sequence[str] = ()

    def __post_init__(self) -> None:
        check_spec(self)

    @property
    def forbidden(self) -> Sequence[str]:
        """Transitional alias of :attr:`banned` for callers written before the rename."""
        return self.banned

    def _difference(
        self,
        case: Case,
        expected: Outcome,
        got: Outcome,
        tolerance: Tolerance | None = None,
    ) -> Verdict | None:
        if expected.raised is not None:
            wanted = expected.raised[0]
            if got.raised is not None and wanted in got.raised:
                return None
            problem = (
                NO_EXCEPTION
                if got.raised is None
                else f"raised the wrong exception ({_exception_name(got.raised)})"
            )
            return Verdict(
                False,
                "what the call does",
                f"it raises {wanted} (e.g. {expected.message!r})",
                describe_outcome(got),
                problem,
            )
        if got.raised is not None:
            not_written = "NotImplementedError" in got.raised
            return Verdict(
                False,
                "what the call does",
                "it returns a result",
                describe_outcome(got),
                NOT_WRITTEN if not_written else raised_problem(got.raised),
            )
        if got.modified != expected.modified:
            return Verdict(
                False,
                "the arguments after the call",
                "unchanged",
                f"{', '.join(got.modified)} changed in place",
                CHANGED_IN_PLACE,
            )
        tolerances = self.tolerances
        if tolerance is not None:
            tolerances = {dtype: tolerance for dtype in DEFAULT_TOLERANCES}
        case_dtype = case.get("dtype")
        dtype = case_dtype if isinstance(case_dtype, str) else None
        exp_out, got_out = expected.output, got.output
        names = list(self.output_names)
        if names and isinstance(exp_out, tuple) and len(exp_out) == len(names):
            if isinstance(got_out, np.ndarray) and got_out.ndim >= 1:
                got_out = list(got_out)
            if not isinstance(got_out, tuple | list) or len(got_out) != len(names):
                return Verdict(
                    False,
                    "the result",
                    f"a tuple ({', '.join(names)})",
                    describe_value(got_out),
                    WRONG_TYPE if not isinstance(got_out, tuple | list) else WRONG_LENGTH,
                )
            for name, exp_item, got_item in zip(names, exp_out, got_out, strict=True):
                found = first_difference(
                    exp_item, got_item, name, tolerances=tolerances, case_dtype=dtype
                )
                if found is not None:
                    return found
            return None
        return first_difference(
            exp_out, got_out, "the result", tolerances=tolerances, case_dtype=dtype
        )

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Compare the student's decoded probe data with the reference's; name a mistake."""
        got = read_outcome(student)
        if got.error is not None:
            return could_not_run(got.error, self.hint)
        expected = read_outcome(reference)
        if expected.error is not None:
            raise ValueError(f"the reference's probe data is unusable: {expected.error}")
        difference = self._difference(case, expected, got)
        if difference is None:
            return Verdict(True)
        misconception = None
        for name, data in variants.items():
            variant = read_outcome(data)
            if variant.error is not None:
                continue
            if self._difference(case, expected, variant) is None:
                continue  # this variant happens to be right on this case
            if self._difference(case, variant, got, self.variant_tolerances.get(name)) is None:
                misconception = name
                break
        if misconception is None and got.modified:
            misconception = "argument_modified_in_place"
        if misconception is not None:
            hint = hint_for(self, misconception)
        elif difference.problem == NOT_WRITTEN:
            hint = NOT_WRITTEN_HINT
        else:
            hint = self.hint
        return replace(difference, misconception=misconception, hint=hint)
