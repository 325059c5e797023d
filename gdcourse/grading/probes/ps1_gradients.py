"""Probes of ``ps1_gradients``: gradients by central differences and by PyTorch autograd.

A case names a test function (``"f"``, a key of :data:`NUMPY_FUNCTIONS`) and gives
the point ``"x"`` (and ``"h"`` for the numerical gradient). ``numerical_gradient``
gets the NumPy version of the function, ``autograd_gradient`` the version that
also takes torch tensors (:func:`torch_functions`); both get ``x`` as a float64
array, watched for changes in place.

>>> arguments = numerical_inputs({"f": "bowl", "x": [1.0, 2.0], "h": 1e-4})
>>> f, x = arguments.args
>>> f(x), arguments.kwargs
(3.0, {'h': 0.0001})
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from gdcourse.grading.probes import Arguments, Case, Probe, make_probe

__all__ = ["NUMPY_FUNCTIONS", "PROBES", "autograd_inputs", "numerical_inputs", "torch_functions"]

# Each test function binds what it calls as defaults, when it is defined (see the package).


def bowl(
    x: Any, _asarray: Any = np.asarray, _float64: Any = np.float64, _float: type[float] = float
) -> float:
    """x0^2 + x1^2 / 2, the seed's bowl: central differences are exact on quadratics."""
    x = _asarray(x, dtype=_float64)
    return _float(x[0] ** 2 + x[1] ** 2 / 2)


def offset_squares(
    x: Any,
    _asarray: Any = np.asarray,
    _float64: Any = np.float64,
    _sum: Any = np.sum,
    _float: type[float] = float,
) -> float:
    """Sum of squares plus 1e6: harmless for autograd, but finite differences of f lose
    about 6 digits to cancellation."""
    x = _asarray(x, dtype=_float64)
    return _float(_sum(x**2) + 1e6)


def cubic(
    x: Any,
    _asarray: Any = np.asarray,
    _float64: Any = np.float64,
    _sum: Any = np.sum,
    _float: type[float] = float,
) -> float:
    """Sum of cubes."""
    x = _asarray(x, dtype=_float64)
    return _float(_sum(x**3))


def exp_sum(
    x: Any,
    _asarray: Any = np.asarray,
    _float64: Any = np.float64,
    _sum: Any = np.sum,
    _exp: Any = np.exp,
    _float: type[float] = float,
) -> float:
    """Sum of exponentials."""
    x = _asarray(x, dtype=_float64)
    return _float(_sum(_exp(x)))


def sin_cos(
    x: Any,
    _asarray: Any = np.asarray,
    _float64: Any = np.float64,
    _sin: Any = np.sin,
    _cos: Any = np.cos,
    _float: type[float] = float,
) -> float:
    """sin(x0) cos(x1)."""
    x = _asarray(x, dtype=_float64)
    return _float(_sin(x[0]) * _cos(x[1]))


def rosenbrock(
    x: Any, _asarray: Any = np.asarray, _float64: Any = np.float64, _float: type[float] = float
) -> float:
    """(1 - x0)^2 + 100 (x1 - x0^2)^2."""
    x = _asarray(x, dtype=_float64)
    return _float((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2)


NUMPY_FUNCTIONS: dict[str, Callable[[Any], float]] = {
    "bowl": bowl,
    "offset_squares": offset_squares,
    "cubic": cubic,
    "exp_sum": exp_sum,
    "sin_cos": sin_cos,
    "rosenbrock": rosenbrock,
}
"""The test functions ``numerical_gradient`` is called with, by the name cases use."""


@cache
def torch_functions() -> dict[str, Callable[[Any], Any]]:
    """The test functions for ``autograd_gradient``: the same formulas, on torch tensors
    (and on NumPy arrays, for code that calls f on arrays). Built once, on first use,
    so that checking ``numerical_gradient`` does not import torch."""
    import torch

    def torch_bowl(x: Any) -> Any:
        return x[0] ** 2 + x[1] ** 2 / 2

    def torch_offset_squares(x: Any) -> Any:
        return (x**2).sum() + 1e6

    def torch_cubic(x: Any) -> Any:
        return (x**3).sum()

    def torch_exp_sum(
        x: Any,
        _tensor: Any = torch.Tensor,
        _isinstance: Any = isinstance,
        _torch_exp: Any = torch.exp,
        _numpy_exp: Any = np.exp,
    ) -> Any:
        return (_torch_exp(x) if _isinstance(x, _tensor) else _numpy_exp(x)).sum()

    def torch_sin_cos(
        x: Any,
        _tensor: Any = torch.Tensor,
        _isinstance: Any = isinstance,
        _torch_sin: Any = torch.sin,
        _torch_cos: Any = torch.cos,
        _numpy_sin: Any = np.sin,
        _numpy_cos: Any = np.cos,
    ) -> Any:
        if _isinstance(x, _tensor):
            return _torch_sin(x[0]) * _torch_cos(x[1])
        return _numpy_sin(x[0]) * _numpy_cos(x[1])

    def torch_rosenbrock(x: Any) -> Any:
        return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2

    return {
        "bowl": torch_bowl,
        "offset_squares": torch_offset_squares,
        "cubic": torch_cubic,
        "exp_sum": torch_exp_sum,
        "sin_cos": torch_sin_cos,
        "rosenbrock": torch_rosenbrock,
    }


def _function(case: Case, functions: dict[str, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    name = case["f"]
    if name not in functions:
        raise ValueError(f"case f must be one of {sorted(functions)}, got {name!r}")
    return functions[name]


def numerical_inputs(case: Case) -> Arguments:
    """``numerical_gradient(f, x[, h=...])`` with the NumPy test function; x is a float64
    array, or with ``"x_as": "ints"`` a list of Python ints (x is array_like)."""
    kwargs = {"h": case["h"]} if "h" in case else {}
    if case.get("x_as") == "ints":
        point = [int(v) for v in case["x"]]
        return Arguments((_function(case, NUMPY_FUNCTIONS), point), kwargs=kwargs)
    x = np.array(case["x"], dtype=np.float64)
    return Arguments((_function(case, NUMPY_FUNCTIONS), x), kwargs=kwargs, watched={"x": x})


def autograd_inputs(case: Case) -> Arguments:
    """``autograd_gradient(f, x)`` with the test function that takes tensors; x is a float64
    array, or with ``"x_as": "ints"`` a list of Python ints (x is array_like)."""
    if case.get("x_as") == "ints":
        point = [int(v) for v in case["x"]]
        return Arguments((_function(case, torch_functions()), point))
    x = np.array(case["x"], dtype=np.float64)
    return Arguments((_function(case, torch_functions()), x), watched={"x": x})


PROBES: dict[str, Probe] = {
    "numerical_gradient": make_probe(numerical_inputs),
    "autograd_gradient": make_probe(autograd_inputs),
}
