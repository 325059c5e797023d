"""Probes of ``ps6_momentum``: heavy-ball momentum and its best parameters on a quadratic.

Every case describes the quadratic f(x) = 1/2 x^T A x - b^T x, whose gradient A x - b
the probe builds from the literal ``A`` and ``b`` (a number for a one-dimensional
problem, a symmetric positive definite matrix otherwise):

>>> gradient = quadratic_gradient({"A": [[2.0, 0.0], [0.0, 8.0]], "b": [2.0, 0.0]})
>>> gradient([1.0, 1.0]).tolist()
[0.0, 8.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdcourse.grading.probes import Arguments, Case, Probe, make_probe

__all__ = [
    "PROBES",
    "momentum_inputs",
    "optimal_inputs",
    "quadratic_gradient",
    "summarise_descent",
]


def quadratic_gradient(case: Case) -> Callable[[Any], Any]:
    """The gradient ``A x - b`` of the case's quadratic, returning a fresh float64 array.
    Everything it calls is bound when it is made."""
    A = np.array(case["A"], dtype=np.float64)
    b = np.array(case.get("b", 0.0), dtype=np.float64)

    def gradient(
        x: Any,
        _A: Any = A,
        _b: Any = b,
        _array: Any = np.array,
        _asarray: Any = np.asarray,
        _float64: Any = np.float64,
        _matmul: Any = np.matmul,
        _scalar: bool = A.ndim == 0,
    ) -> Any:
        point = _array(x, dtype=_float64)
        if _scalar:
            return _asarray(_A * point - _b, dtype=_float64)
        return _asarray(_matmul(_A, point) - _b, dtype=_float64)

    return gradient


def momentum_inputs(case: Case) -> Arguments:
    """``gradient_descent_momentum(gradient, start, learn_rate, **options)``.

    ``start`` is a float for a number, else a float64 array the probe watches
    (changing the caller's start point in place is a mistake), or the plain list
    when the case says ``"start_as": "list"``.
    """
    start_literal = case["start"]
    start: Any
    if isinstance(start_literal, list):
        as_list = case.get("start_as", "array") == "list"
        start = list(start_literal) if as_list else np.array(start_literal, dtype=np.float64)
    else:
        start = float(start_literal)
    kwargs = {key: case[key] for key in ("momentum", "max_iter", "tol") if key in case}
    watched = {"start": start} if isinstance(start, np.ndarray) else {}
    return Arguments(
        args=(quadratic_gradient(case), start, case["learn_rate"]),
        kwargs=kwargs,
        watched=watched,
    )


def summarise_descent(result: Any, case: Case) -> Any:
    """``(x, path)`` with the path stacked into one float64 array (a list of arrays, of
    lists or of floats all qualify); tensors and ragged paths are left as they came."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        return result
    x, path = result
    if isinstance(path, list | tuple) and path and not any(_is_tensor(p) for p in path):
        try:
            stacked = np.array(path, dtype=np.float64)
        except (TypeError, ValueError):
            return (x, path)
        return (x, stacked)
    return (x, path)


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch")


def optimal_inputs(case: Case) -> Arguments:
    """``A`` as a float64 array the probe watches, or the nested list for ``"A_as": "list"``."""
    if case.get("A_as", "array") == "list":
        return Arguments(args=([list(row) for row in case["A"]],))
    A = np.array(case["A"], dtype=np.float64)
    return Arguments(args=(A,), watched={"A": A})


PROBES: dict[str, Probe] = {
    "gradient_descent_momentum": make_probe(momentum_inputs, summarise_descent),
    "optimal_momentum_parameters": make_probe(optimal_inputs),
}
