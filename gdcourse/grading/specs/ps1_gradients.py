"""Judge data of ``ps1_gradients``: gradients by central differences and by PyTorch autograd.

Cases name a test function (``"f"``) of :mod:`gdcourse.grading.probes.ps1_gradients`
and give the point ``"x"`` (and ``"h"`` for the numerical gradient). Every test
function has its exact gradient and the exact value of its central difference here,
so the visible checks need no numerical reference: the references recognise the
probe's test function and evaluate the closed form.

>>> from gdcourse.grading.probes.ps1_gradients import NUMPY_FUNCTIONS
>>> SPECS["numerical_gradient"].reference(NUMPY_FUNCTIONS["cubic"], [1.0, 2.0], 0.1).tolist()
[3.01, 12.01]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gdcourse.grading.framework import FunctionSpec, Spec, Tolerance
from gdcourse.grading.probes import ps1_gradients as probes

__all__ = ["CENTRAL_DIFFERENCES", "GRADIENTS", "SPECS"]

Array = np.ndarray[Any, Any]


def _rosenbrock_central(x: Array, h: float) -> Array:
    # (1 - x0)^2 + 100 (x1 - x0^2)^2 is a polynomial: the central difference of x0^4 is
    # 4 x0^3 + 4 x0 h^2, and of every term of degree <= 2 it is the exact derivative.
    return np.array(
        [
            -2 * (1 - x[0]) - 400 * x[1] * x[0] + 100 * (4 * x[0] ** 3 + 4 * x[0] * h**2),
            200 * (x[1] - x[0] ** 2),
        ]
    )


def _sin_cos_gradient(x: Array) -> Array:
    return np.array([np.cos(x[0]) * np.cos(x[1]), -np.sin(x[0]) * np.sin(x[1])])


GRADIENTS: dict[str, Callable[[Array], Array]] = {
    "bowl": lambda x: np.array([2 * x[0], x[1]]),
    "offset_squares": lambda x: 2 * x,
    "cubic": lambda x: 3 * x**2,
    "exp_sum": lambda x: np.exp(x),
    "sin_cos": _sin_cos_gradient,
    "rosenbrock": lambda x: _rosenbrock_central(x, 0.0),
}
"""The exact gradient of each test function."""

CENTRAL_DIFFERENCES: dict[str, Callable[[Array, float], Array]] = {
    # central differences are exact on quadratics
    "bowl": lambda x, h: np.array([2 * x[0], x[1]]),
    "offset_squares": lambda x, h: 2 * x,
    "cubic": lambda x, h: 3 * x**2 + h**2,
    "exp_sum": lambda x, h: np.exp(x) * np.sinh(h) / h,
    "sin_cos": lambda x, h: _sin_cos_gradient(x) * np.sin(h) / h,
    "rosenbrock": _rosenbrock_central,
}
"""The exact value of the central difference with step ``h`` of each test function."""


def _name_of(f: Any, functions: Mapping[str, Any]) -> str:
    """The name of the probe's test function ``f`` (the references know only those)."""
    for name, candidate in functions.items():
        if f is candidate:
            return name
    raise ValueError(
        "the closed-form references of ps1_gradients know only the probe's test functions "
        f"({', '.join(functions)}); call them through the spec's probe"
    )


# ------------------------------------------------------------------ numerical_gradient


def _numerical_reference(f: Callable[[Any], float], x: Any, h: float = 1e-5) -> Array:
    """The central difference of the probe's test function, in closed form."""
    name = _name_of(f, probes.NUMPY_FUNCTIONS)
    return CENTRAL_DIFFERENCES[name](np.array(x, dtype=np.float64), h)


def _difference_quotient(
    *, forward: bool = False, divisor: float = 2.0, in_place: bool = False
) -> Callable[..., Array]:
    def numerical_gradient(f: Callable[[Any], float], x: Any, h: float = 1e-5) -> Array:
        point = x if in_place else np.array(x, dtype=np.float64)
        gradient = np.zeros(point.shape)
        for i in range(point.size):
            if in_place:
                point[i] += h
                upper = f(point)
                point[i] -= 2 * h
                lower = f(point)
            else:
                step = np.zeros(point.shape)
                step[i] = h
                upper = f(point + step)
                lower = f(point) if forward else f(point - step)
            gradient[i] = (upper - lower) / (h if forward else divisor * h)
        return gradient

    return numerical_gradient


# ------------------------------------------------------------------ autograd_gradient


def _autograd_reference(f: Callable[[Any], Any], x: Any) -> Array:
    """The exact gradient of the probe's test function, in closed form."""
    name = _name_of(f, probes.torch_functions())
    return np.asarray(GRADIENTS[name](np.array(x, dtype=np.float64)), dtype=np.float64)


def _autograd_tensor(f: Callable[[Any], Any], x: Any) -> Any:
    import torch

    point = torch.tensor(np.asarray(x), dtype=torch.float64, requires_grad=True)
    f(point).backward()
    return point.grad


def _autograd_float32(f: Callable[[Any], Any], x: Any) -> Array:
    import torch

    point = torch.tensor(np.asarray(x).tolist(), requires_grad=True)
    f(point).backward()
    assert point.grad is not None
    return point.grad.numpy()


def _finite_differences(f: Callable[[Any], Any], x: Any) -> Array:
    import torch

    point = np.array(x, dtype=np.float64)
    h = 1e-5
    gradient = np.zeros(point.shape)
    for i in range(point.size):
        step = np.zeros(point.shape)
        step[i] = h
        upper = float(f(torch.tensor(point + step)))
        lower = float(f(torch.tensor(point - step)))
        gradient[i] = (upper - lower) / (2 * h)
    return gradient


SPECS: dict[str, FunctionSpec] = {
    "numerical_gradient": Spec(
        function="numerical_gradient",
        probe=probes.PROBES["numerical_gradient"],
        reference=_numerical_reference,
        variants={
            "forward_difference": _difference_quotient(forward=True),
            "wrong_divisor": _difference_quotient(divisor=1.0),
            "argument_modified_in_place": _difference_quotient(in_place=True),
        },
        banned=(
            "gdcourse",
            "torch.autograd",
            "torch.func",
            "jax",
            "autograd",
            "scipy",
            "numpy.gradient",
        ),
        hint="for each j: (f(x + h e_j) - f(x - h e_j)) / (2 h), with e_j the j-th unit "
        "vector, on a float64 copy of x; return an array of x's shape.",
        tolerances={"float64": Tolerance(rtol=1e-6, atol=1e-6)},
    ),
    "autograd_gradient": Spec(
        function="autograd_gradient",
        probe=probes.PROBES["autograd_gradient"],
        reference=_autograd_reference,
        variants={
            "tensors_returned": _autograd_tensor,
            "float32_tensor": _autograd_float32,
            "finite_differences_not_autograd": _finite_differences,
        },
        banned=("gdcourse", "student:numerical_gradient", "numpy.gradient", "scipy", "jax"),
        hint="make x a float64 tensor with requires_grad=True, call f(x).backward(), then "
        "return x.grad.detach().numpy().",
        tolerances={
            "float64": Tolerance(rtol=1e-9, atol=1e-9),
            "float32": Tolerance(rtol=1e-9, atol=1e-9),
        },
        # finite differences land within about 1e-4 of the truth, whatever step was used
        variant_tolerances={"finite_differences_not_autograd": Tolerance(rtol=1e-3, atol=1e-3)},
    ),
}
