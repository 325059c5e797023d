"""Comparing decoded probe data: structure first, then values within a dtype's tolerance.

The tolerance of a value comes from the case's dtype (the instructor's choice) or
else from the *expected* value's dtype, never from what the student returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdcourse.grading.framework.verdicts import (
    MISSING,
    NOT_FINITE,
    WRONG_DTYPE,
    WRONG_LENGTH,
    WRONG_SHAPE,
    WRONG_TYPE,
    WRONG_VALUE,
    Verdict,
    describe_value,
)
from gdcourse.grading.protocol import Foreign, Tensor

__all__ = ["DEFAULT_TOLERANCES", "Tolerance", "first_difference"]


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


def _narrowed(expected: Any, got: Any, case_dtype: str | None) -> bool:
    """Whether ``got`` is a NumPy float16 where neither the case nor the expected value is:
    rounded to 11 bits, a value is wrong even where it happens to be exact (2.0), and a
    tolerance never comes from what the student returned.

    >>> _narrowed(2.0, np.float16(2.0), None), _narrowed(2.0, np.float32(2.0), None)
    (True, False)
    >>> _narrowed(2.0, np.float16(2.0), "float16"), _narrowed(np.float16(2), np.float16(2), None)
    (False, False)
    """
    if case_dtype == "float16" or _dtype_name(expected) == "float16":
        return False
    return isinstance(got, np.ndarray | np.generic) and got.dtype == np.float16


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
    came back: a student cannot loosen the check by returning float16, and a float16
    result is of the wrong dtype unless the case or the expected value is float16. NaN
    matches NaN and infinities match themselves. The verdict carries no hint.

    >>> first_difference((1.0, [2.0]), [1.0, [2.0 + 1e-12]]) is None
    True
    >>> first_difference(np.array([1.0, 2.0]), np.array([1.0, 4.0])).where
    'the result[1]'
    >>> first_difference(2.0, np.float16(2.0)).problem
    'wrong dtype'
    >>> first_difference(2.0, np.float16(2.001), case_dtype="float16") is None
    True
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
        if _narrowed(expected, got, case_dtype):
            return differs(f"the dtype of {where}", str(expected.dtype), "float16", WRONG_DTYPE)
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
        if _narrowed(expected, got, case_dtype):
            wanted = (
                _dtype_name(expected)
                if isinstance(expected, np.generic | np.ndarray)
                else ("float64")
            )
            return differs(f"the dtype of {where}", wanted, "float16", WRONG_DTYPE)
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
