"""Specifications of the graded functions, one module per assignment.

Each module ``gdcourse.grading.specs.<assignment>`` exposes ``SPECS``, a dict
from function name to a :class:`~gdcourse.grading.protocol.FunctionSpec`.
Most specs are a :class:`Spec`, which builds ``probe`` and ``judge`` from a few
parts so that every assignment gives feedback of the same shape:

* ``inputs(case)`` builds the call's arguments from a case (Python literals) and
  names the arrays whose modification by the function is a mistake;
* ``reference`` computes the right answer from closed forms or gdcourse's
  public library (it serves the visible checks: students have no master);
* ``variants`` are wrong implementations, one per :class:`Misconception`;
* the judge compares the student's data with the reference's, structure first
  (types, lengths, shapes, dtypes, finiteness), then values with tolerances
  chosen for the dtype, and names the misconception whose variant's data the
  student's data matches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcourse.grading.protocol import Case, Foreign, Misconception, Tensor, Verdict

__all__ = [
    "MISCONCEPTIONS",
    "Arguments",
    "Spec",
    "Tolerance",
    "describe_value",
    "first_difference",
]

# ------------------------------------------------------------------ the named mistakes

MISCONCEPTIONS: dict[str, Misconception] = {
    m.name: m
    for m in [
        Misconception(
            "uphill_sign_error",
            "the update steps uphill: gradient descent subtracts the scaled gradient, "
            "x_new = x - learn_rate * gradient(x).",
        ),
        Misconception(
            "mse_gradient_missing_factor_2",
            "the MSE gradient misses its factor 2: d/dw mean((b + w x - y)^2) = "
            "2 mean((b + w x - y) x).",
        ),
        Misconception(
            "sum_instead_of_mean",
            "a sum is used where a mean belongs, so the result is n times too large: "
            "divide by the number of samples (np.mean).",
        ),
        Misconception(
            "dw_db_swapped",
            "dw and db (or w and b) are swapped: dw carries the factor x, db does not.",
        ),
        Misconception(
            "gradient_outside_loop",
            "the gradient is computed once, before the loop: it changes with the parameters, "
            "so compute it again in every iteration.",
        ),
        Misconception(
            "losses_after_update",
            "the losses are recorded after the update: losses[i] is the loss at the "
            "parameters *before* update i, so losses[0] is the loss at the start.",
        ),
        Misconception(
            "gradients_not_zeroed",
            "the gradients are not zeroed between steps: backward() adds to .grad, so call "
            ".grad.zero_() (or optimizer.zero_grad()) in every step.",
        ),
        Misconception(
            "start_missing_from_path",
            "the start point is missing from the path: path[0] must be the start.",
        ),
        Misconception(
            "tolerance_on_gradient",
            "the tolerance is tested on the gradient instead of the step: stop when every "
            "|learn_rate * gradient(x)| <= tol.",
        ),
        Misconception(
            "argument_modified_in_place",
            "an argument was modified in place: work on a copy (np.array(x, dtype=float) "
            "copies; x -= ... or x[i] += ... on the caller's array changes it).",
        ),
        Misconception(
            "forward_difference",
            "this is a forward difference (f(x + h e_i) - f(x)) / h: use the central "
            "difference (f(x + h e_i) - f(x - h e_i)) / (2 h), which is far more accurate.",
        ),
        Misconception(
            "wrong_divisor",
            "the divisor is wrong: the two evaluation points x + h e_i and x - h e_i are "
            "2 h apart, so divide by 2 h.",
        ),
        Misconception(
            "tensors_returned",
            "torch tensors came back where plain numbers or NumPy arrays are asked for: "
            "convert with .item() (a float) or .detach().numpy() (an array).",
        ),
        Misconception(
            "loader_ignores_seed",
            "the loader ignores its seed: shuffle with a torch.Generator seeded by `seed` "
            "(DataLoader(..., shuffle=True, generator=g)).",
        ),
        Misconception(
            "momentum_on_gradient",
            "momentum is applied to the gradient instead of the velocity: "
            "v = momentum * v - learn_rate * gradient(x), then x = x + v.",
        ),
    ]
}

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


def describe_value(value: Any, limit: int = 6) -> str:
    """A short, readable description of decoded probe data, for feedback messages.

    >>> describe_value(np.array([1.5, 2.5]))
    'array([1.5, 2.5]) (float64, shape (2,))'
    >>> describe_value((1.0, [2.0, 3.0]))
    '(1.0, [2.0, 3.0])'
    """
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
        return f"an object of type {value.type}"
    if isinstance(value, np.generic):
        return f"{value.item()!r} (NumPy {value.dtype} scalar)"
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        text = f"{value:.10g}"
        return text if any(c in text for c in ".e") else text + ".0"
    if isinstance(value, tuple):
        inner = ", ".join(describe_value(item, limit) for item in value[:limit])
        return f"({inner}{', ...' if len(value) > limit else ''})"
    if isinstance(value, list):
        if len(value) > limit:
            head = ", ".join(describe_value(item, limit) for item in value[:3])
            tail = ", ".join(describe_value(item, limit) for item in value[-2:])
            return f"[{head}, ..., {tail}] (a list of {len(value)})"
        return "[" + ", ".join(describe_value(item, limit) for item in value) + "]"
    return repr(value)


def _is_real_scalar(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, np.generic):
        return value.dtype.kind in "iuf"
    return isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf"


def first_difference(
    expected: Any,
    got: Any,
    where: str = "the result",
    *,
    tolerances: Mapping[str, Tolerance] = DEFAULT_TOLERANCES,
    case_dtype: str = "float64",
) -> tuple[str, str, str] | None:
    """Compare decoded probe data; return ``(where, expected, got)`` at the first difference.

    The comparison is lenient where the assignments' contracts allow it (a list
    or tuple where a tuple is expected, a NumPy float where a Python float is,
    a NumPy array where a list of arrays is) and strict where it teaches
    something (a tensor is never a number; shapes and lengths must match;
    values agree within the tolerance of the coarser of ``case_dtype`` and
    the dtype that came back; NaN matches NaN and infinities match themselves).

    >>> first_difference((1.0, [2.0]), [1.0, [2.0 + 1e-12]]) is None
    True
    >>> first_difference(np.array([1.0, 2.0]), np.array([1.0, 4.0]))[0]
    'the result[1]'
    """

    def tolerance(value: Any) -> Tolerance:
        candidates = [tolerances.get(case_dtype), tolerances.get(_dtype_name(value))]
        known = [t for t in candidates if t is not None] or [DEFAULT_TOLERANCES["float64"]]
        return max(known, key=lambda t: (t.rtol, t.atol))

    def numbers_differ(exp: np.ndarray, val: np.ndarray, tol: Tolerance) -> int | None:
        exp = exp.astype(np.float64).reshape(-1)
        val = val.astype(np.float64).reshape(-1)
        with np.errstate(all="ignore"):
            close = np.isclose(val, exp, rtol=tol.rtol, atol=tol.atol, equal_nan=True)
        bad = np.flatnonzero(~close)
        return int(bad[0]) if bad.size else None

    if isinstance(expected, Tensor):
        if not isinstance(got, Tensor):
            return where, describe_value(expected), describe_value(got)
        if got.dtype != expected.dtype:
            return f"the dtype of {where}", expected.dtype, got.dtype
        return first_difference(
            expected.array, got.array, where, tolerances=tolerances, case_dtype=case_dtype
        )
    if isinstance(expected, Foreign):
        if isinstance(got, Foreign) and got.type == expected.type:
            return None
        return where, describe_value(expected), describe_value(got)
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        if type(got) is type(expected) and got == expected:
            return None
        return where, repr(expected), describe_value(got)
    if isinstance(expected, np.ndarray) and expected.shape != ():
        if not isinstance(got, np.ndarray):
            return where, describe_value(expected), describe_value(got)
        if got.dtype.kind not in "iuf" or (expected.dtype.kind == "f" and got.dtype.kind != "f"):
            return f"the dtype of {where}", str(expected.dtype), str(got.dtype)
        if got.shape != expected.shape:
            return f"the shape of {where}", str(expected.shape), str(got.shape)
        index = numbers_differ(expected, got, tolerance(got))
        if index is None:
            return None
        position = np.unravel_index(index, expected.shape)
        label = f"{where}[{', '.join(str(int(i)) for i in position)}]"
        return (
            label,
            describe_value(expected.reshape(-1)[index].item()),
            describe_value(got.reshape(-1)[index].item())
            + (" (not finite)" if not np.isfinite(got.reshape(-1)[index]) else ""),
        )
    if _is_real_scalar(expected):
        if isinstance(got, Tensor):
            return where, describe_value(expected), describe_value(got)
        if not _is_real_scalar(got):
            return where, f"a number like {describe_value(expected)}", describe_value(got)
        exp_arr = np.asarray(expected, dtype=np.float64)
        got_arr = np.asarray(got)
        if numbers_differ(exp_arr, got_arr, tolerance(got)) is None:
            return None
        suffix = "" if np.all(np.isfinite(got_arr)) else " (not finite)"
        return where, describe_value(float(exp_arr)), describe_value(float(got_arr)) + suffix
    if isinstance(expected, tuple | list):
        if isinstance(got, np.ndarray) and got.ndim >= 1:
            got = list(got)
        if not isinstance(got, tuple | list):
            kind = "a tuple" if isinstance(expected, tuple) else "a list"
            return where, f"{kind} of {len(expected)}", describe_value(got)
        if len(got) != len(expected):
            return f"the length of {where}", str(len(expected)), str(len(got))
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
            return where, "a dict", describe_value(got)
        for key in expected:
            if key not in got:
                return f"{where}[{key!r}]", describe_value(expected[key]), "nothing"
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
    return where, describe_value(expected), describe_value(got)


# ------------------------------------------------------------------ a spec built from parts


@dataclass(frozen=True)
class Arguments:
    """The positional and keyword arguments of one call, and the arrays to watch.

    ``watched`` maps an argument's name to the object passed; after the call,
    the probe reports every watched NumPy array or torch tensor whose values
    changed (an argument modified in place).
    """

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    watched: Mapping[str, Any] = field(default_factory=dict)


def _snapshot(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().clone()
    return None


def _unchanged(value: Any, snapshot: Any) -> bool:
    if snapshot is None:
        return True
    if isinstance(snapshot, np.ndarray):
        return (
            isinstance(value, np.ndarray)
            and value.shape == snapshot.shape
            and bool(np.array_equal(value, snapshot, equal_nan=True))
        )
    import torch

    return bool(torch.equal(value.detach(), snapshot)) or bool(
        torch.isnan(snapshot).any() and torch.allclose(value.detach(), snapshot, equal_nan=True)
    )


def _exception_data(error: BaseException) -> dict[str, Any]:
    return {
        "types": [cls.__name__ for cls in type(error).__mro__],
        "message": str(error)[:300],
    }


@dataclass(frozen=True)
class Spec:
    """A :class:`~gdcourse.grading.protocol.FunctionSpec` assembled from parts.

    Parameters
    ----------
    function:
        The graded function's name (its solution cell's grade_id).
    inputs:
        ``inputs(case) -> Arguments``: the call's arguments, built afresh each time.
    reference:
        The right implementation, from closed forms or gdcourse's public library.
    variants:
        Misconception name (a key of :data:`MISCONCEPTIONS`, or a
        :class:`Misconception`) -> a wrong implementation with the same signature.
    forbidden:
        Dotted names whose use in the student's source gives no credit (see
        :func:`gdcourse.grading.checks.forbidden_uses`).
    summarise:
        ``summarise(output, case)`` turns the function's return value into
        encodable data (default: the value itself).
    hint:
        What to look at when the answer is wrong and no misconception matches.
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
    inputs: Callable[[Case], Arguments]
    reference: Callable[..., Any]
    variants_by_name: Mapping[str | Misconception, Callable[..., Any]] = field(
        default_factory=dict
    )
    forbidden: Sequence[str] = ()
    summarise: Callable[[Any, Case], Any] | None = None
    hint: str = "compare your code with the formula in the text above the function."
    tolerances: Mapping[str, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCES)
    variant_tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    output_names: Sequence[str] = ()

    @property
    def variants(self) -> dict[Misconception, Callable[..., Any]]:
        """Wrong implementations keyed by :class:`Misconception`."""
        return {
            (MISCONCEPTIONS[key] if isinstance(key, str) else key): fn
            for key, fn in self.variants_by_name.items()
        }

    # -- probe: runs wherever fn lives (the sandbox, for a student's function)

    def probe(self, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        """Call ``fn`` on the case; report its output (or exception) and modified arguments."""
        arguments = self.inputs(case)
        snapshots = {name: _snapshot(value) for name, value in arguments.watched.items()}
        output: Any = None
        raised: dict[str, Any] | None = None
        try:
            result = fn(*arguments.args, **dict(arguments.kwargs))
            output = result if self.summarise is None else self.summarise(result, case)
        except Exception as error:  # the student's exception is data, not a crash
            raised = _exception_data(error)
        modified = sorted(
            name
            for name, value in arguments.watched.items()
            if not _unchanged(value, snapshots[name])
        )
        return {"output": output, "raised": raised, "modified": modified}

    # -- judge: runs in the grader's own process on decoded data

    def _difference(
        self,
        case: Case,
        expected: Mapping[str, Any],
        got: Mapping[str, Any],
        tolerance: Tolerance | None = None,
    ) -> tuple[str, str, str] | None:
        exp_raised = expected.get("raised")
        got_raised = got.get("raised")
        if isinstance(exp_raised, dict):
            wanted = str(exp_raised["types"][0])
            if isinstance(got_raised, dict) and wanted in got_raised.get("types", []):
                return None
            return (
                "what the call does",
                f"it raises {wanted} (e.g. {exp_raised.get('message', '')!r})",
                _describe_outcome(got),
            )
        if got_raised is not None:
            return "what the call does", "it returns a result", _describe_outcome(got)
        got_modified = got.get("modified")
        if not isinstance(got_modified, list):  # untrusted: a hostile sandbox may send anything
            return "the arguments after the call", "a list of names", repr(got_modified)[:80]
        if got_modified != expected.get("modified"):
            return (
                "the arguments after the call",
                "unchanged",
                f"{', '.join(map(str, got_modified))} changed in place",
            )
        tolerances = self.tolerances
        if tolerance is not None:
            tolerances = {dtype: tolerance for dtype in DEFAULT_TOLERANCES}
        case_dtype = str(case.get("dtype", "float64"))
        exp_out, got_out = expected.get("output"), got.get("output")
        names = list(self.output_names)
        if names and isinstance(exp_out, tuple) and len(exp_out) == len(names):
            if isinstance(got_out, np.ndarray) and got_out.ndim >= 1:
                got_out = list(got_out)
            if not isinstance(got_out, tuple | list) or len(got_out) != len(names):
                return "the result", f"a tuple ({', '.join(names)})", describe_value(got_out)
            for name, exp_item, got_item in zip(names, exp_out, got_out, strict=True):
                found = first_difference(
                    exp_item, got_item, name, tolerances=tolerances, case_dtype=case_dtype
                )
                if found is not None:
                    return found
            return None
        return first_difference(
            exp_out, got_out, "the result", tolerances=tolerances, case_dtype=case_dtype
        )

    def judge(
        self,
        case: Case,
        student: dict[str, Any],
        reference: dict[str, Any],
        variants: Mapping[Misconception, dict[str, Any]],
    ) -> Verdict:
        """Compare the student's decoded probe data with the reference's; name a mistake."""
        checked = describe_call(self.function, case)
        if not isinstance(student, dict) or "__error__" in student:
            error = student.get("__error__") if isinstance(student, dict) else repr(student)
            return Verdict(
                False,
                f"Checked: {checked}\nThe check could not run your function: {error}\n"
                f"Hint: {self.hint}",
            )
        difference = self._difference(case, reference, student)
        if difference is None:
            return Verdict(True, f"Checked: {checked}: correct.")
        where, expected_text, got_text = difference
        misconception = None
        for candidate, data in variants.items():
            if not isinstance(data, dict) or "__error__" in data:
                continue
            if self._difference(case, reference, data) is None:
                continue  # this variant happens to be right on this case
            loose = self.variant_tolerances.get(candidate.name)
            if self._difference(case, data, student, loose) is None:
                misconception = candidate
                break
        if misconception is None and student.get("modified"):
            misconception = MISCONCEPTIONS["argument_modified_in_place"]
        raised = student.get("raised")
        if misconception is not None:
            hint = f"{misconception.name}: {misconception.hint}"
        elif isinstance(raised, dict) and "NotImplementedError" in raised.get("types", []):
            hint = "the function is not written yet: replace `raise NotImplementedError()`."
        else:
            hint = self.hint
        message = (
            f"Checked: {checked}\n"
            f"  {where}: expected {expected_text}\n"
            f"  {' ' * len(where)}  got {got_text}\n"
            f"Hint: {hint}"
        )
        return Verdict(False, message, None if misconception is None else misconception.name)


def _describe_outcome(data: Mapping[str, Any]) -> str:
    raised = data.get("raised")
    if isinstance(raised, dict):
        types = raised.get("types") or ["an exception"]
        return f"it raised {types[0]}: {raised.get('message', '')}"
    return f"it returned {describe_value(data.get('output'))}"


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
