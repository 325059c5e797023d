"""Probes of ``ps2_gradient_descent``: the descent loop, and the largest stable learning rate.

``gradient_descent`` cases name a gradient (``"gradient"``, a key of
:data:`GRADIENT_NAMES`, with ``"A"`` for ``"quadratic"``) and give ``start`` (a number,
or a list passed as a float64 array unless ``"start_as": "list"``), ``learn_rate`` and
optionally ``max_iter`` and ``tol``. ``max_learning_rate`` cases give the matrix ``"A"``.

>>> arguments = descent_inputs({"gradient": "parabola", "start": 0.0, "learn_rate": 0.1})
>>> gradient, start, learn_rate = arguments.args
>>> float(gradient(3.0)), start, learn_rate
(2.0, 0.0, 0.1)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdcourse.grading.probes import Arguments, Case, Probe, make_probe

__all__ = ["GRADIENT_NAMES", "PROBES", "descent_inputs", "gradient_of", "max_rate_inputs"]

GRADIENT_NAMES = ("parabola", "steep", "cubic", "bowl", "shifted_bowl", "quadratic")
"""The gradients a case can name:

* ``parabola``: f(x) = x^2 - 4x - 1 (minimum f(2) = -5);
* ``steep``: f(x) = 20 x^2;
* ``cubic``: f(x) = 4x^3 - 10x + 10, the seed's non-convex example (local minimum at
  sqrt(5/6));
* ``bowl``: f(x, y) = x^2 + y^2 / 2;
* ``shifted_bowl``: f(x, y) = (x + 1)^2 + y^2 / 2, minimum at (-1, 0);
* ``quadratic``: f(x) = 1/2 x^T A x, with the case's ``A``.
"""


def gradient_of(case: Case) -> Callable[[Any], Any]:
    """The gradient the case names; it takes x as anything array-like and computes in
    float64. Everything it calls is bound when it is made."""
    name = case["gradient"]
    if name not in GRADIENT_NAMES:
        raise ValueError(f"case gradient must be one of {sorted(GRADIENT_NAMES)}, got {name!r}")
    if name == "parabola":

        def parabola(x: Any, _asarray: Any = np.asarray, _float64: Any = np.float64) -> Any:
            return 2 * _asarray(x, dtype=_float64) - 4

        return parabola
    if name == "steep":

        def steep(x: Any, _asarray: Any = np.asarray, _float64: Any = np.float64) -> Any:
            return 40 * _asarray(x, dtype=_float64)

        return steep
    if name == "cubic":

        def cubic(x: Any, _asarray: Any = np.asarray, _float64: Any = np.float64) -> Any:
            return 12 * _asarray(x, dtype=_float64) ** 2 - 10

        return cubic
    if name == "bowl":

        def bowl(
            p: Any, _asarray: Any = np.asarray, _array: Any = np.array, _float64: Any = np.float64
        ) -> Any:
            p = _asarray(p, dtype=_float64)
            return _array([2 * p[0], p[1]])

        return bowl
    if name == "shifted_bowl":

        def shifted_bowl(
            p: Any, _asarray: Any = np.asarray, _array: Any = np.array, _float64: Any = np.float64
        ) -> Any:
            p = _asarray(p, dtype=_float64)
            return _array([2 * (p[0] + 1), p[1]])

        return shifted_bowl

    matrix = np.array(case["A"], dtype=np.float64)

    def quadratic(
        p: Any,
        _A: Any = matrix,
        _asarray: Any = np.asarray,
        _float64: Any = np.float64,
        _matmul: Any = np.matmul,
    ) -> Any:
        return _matmul(_A, _asarray(p, dtype=_float64))

    return quadratic


def descent_inputs(case: Case) -> Arguments:
    """``gradient_descent(gradient, start, learn_rate[, max_iter=..., tol=...])``."""
    start: Any = case["start"]
    watched: dict[str, Any] = {}
    if isinstance(start, list) and case.get("start_as", "array") == "array":
        start = np.array(start, dtype=np.float64)
        watched["start"] = start
    kwargs = {key: case[key] for key in ("max_iter", "tol") if key in case}
    return Arguments((gradient_of(case), start, case["learn_rate"]), kwargs, watched)


def max_rate_inputs(case: Case) -> Arguments:
    """``max_learning_rate(A)`` with A a float64 array, watched."""
    matrix = np.array(case["A"], dtype=np.float64)
    return Arguments((matrix,), watched={"A": matrix})


PROBES: dict[str, Probe] = {
    "gradient_descent": make_probe(descent_inputs),
    "max_learning_rate": make_probe(max_rate_inputs),
}
