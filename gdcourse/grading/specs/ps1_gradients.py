"""ps1_gradients: gradients by central differences and by PyTorch autograd.

Cases name a test function (``"f"``) from :data:`FUNCTIONS` and give the point
``"x"`` (and ``"h"`` for the numerical gradient). Every test function knows its
exact gradient and the exact value of its central difference, so the visible
checks need no numerical reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdcourse.grading.protocol import Case, FunctionSpec, Misconception
from gdcourse.grading.specs import Arguments, Spec, Tolerance

__all__ = ["FUNCTIONS", "SPECS", "ProbeFunction"]

Array = np.ndarray


@dataclass(frozen=True)
class ProbeFunction:
    """A function of a 1-D array, with its torch twin, gradient and central difference."""

    numpy: Callable[[Array], float]
    torch: Callable[[Any], Any]
    gradient: Callable[[Array], Array]
    central: Callable[[Array, float], Array]


def _sin(x: Any) -> Any:
    import torch

    return torch.sin(x) if isinstance(x, torch.Tensor) else np.sin(x)


def _cos(x: Any) -> Any:
    import torch

    return torch.cos(x) if isinstance(x, torch.Tensor) else np.cos(x)


def _exp(x: Any) -> Any:
    import torch

    return torch.exp(x) if isinstance(x, torch.Tensor) else np.exp(x)


def _rosenbrock(x: Any) -> Any:
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _rosenbrock_central(x: Array, h: float) -> Array:
    # (1 - x0)^2 + 100 (x1 - x0^2)^2 is a polynomial: the central difference of x0^4 is
    # 4 x0^3 + 4 x0 h^2, and of every term of degree <= 2 it is the exact derivative.
    return np.array(
        [
            -2 * (1 - x[0]) - 400 * x[1] * x[0] + 100 * (4 * x[0] ** 3 + 4 * x[0] * h**2),
            200 * (x[1] - x[0] ** 2),
        ]
    )


FUNCTIONS: dict[str, ProbeFunction] = {
    # x0^2 + x1^2 / 2, the seed's bowl: central differences are exact on quadratics.
    "bowl": ProbeFunction(
        numpy=lambda x: float(x[0] ** 2 + x[1] ** 2 / 2),
        torch=lambda x: x[0] ** 2 + x[1] ** 2 / 2,
        gradient=lambda x: np.array([2 * x[0], x[1]]),
        central=lambda x, h: np.array([2 * x[0], x[1]]),
    ),
    # sum of squares plus a large constant: harmless for autograd, but finite
    # differences of f lose about 6 digits to cancellation.
    "offset_squares": ProbeFunction(
        numpy=lambda x: float(np.sum(x**2) + 1e6),
        torch=lambda x: (x**2).sum() + 1e6,
        gradient=lambda x: 2 * x,
        central=lambda x, h: 2 * x,
    ),
    "cubic": ProbeFunction(
        numpy=lambda x: float(np.sum(x**3)),
        torch=lambda x: (x**3).sum(),
        gradient=lambda x: 3 * x**2,
        central=lambda x, h: 3 * x**2 + h**2,
    ),
    "exp_sum": ProbeFunction(
        numpy=lambda x: float(np.sum(np.exp(x))),
        torch=lambda x: _exp(x).sum(),
        gradient=lambda x: np.exp(x),
        central=lambda x, h: np.exp(x) * np.sinh(h) / h,
    ),
    "sin_cos": ProbeFunction(
        numpy=lambda x: float(np.sin(x[0]) * np.cos(x[1])),
        torch=lambda x: _sin(x[0]) * _cos(x[1]),
        gradient=lambda x: np.array([np.cos(x[0]) * np.cos(x[1]), -np.sin(x[0]) * np.sin(x[1])]),
        central=lambda x, h: (
            np.array([np.cos(x[0]) * np.cos(x[1]), -np.sin(x[0]) * np.sin(x[1])]) * np.sin(h) / h
        ),
    ),
    "rosenbrock": ProbeFunction(
        numpy=lambda x: float(_rosenbrock(x)),
        torch=_rosenbrock,
        gradient=lambda x: _rosenbrock_central(x, 0.0),
        central=_rosenbrock_central,
    ),
}


def _test_function(case: Case) -> ProbeFunction:
    name = case["f"]
    if name not in FUNCTIONS:
        raise ValueError(f"case f must be one of {sorted(FUNCTIONS)}, got {name!r}")
    return FUNCTIONS[name]


# ------------------------------------------------------------------ numerical_gradient


def _numpy_f(case: Case) -> Callable[[Any], float]:
    f = _test_function(case).numpy

    def objective(x: Any) -> float:
        return f(np.asarray(x, dtype=np.float64))

    return objective


def _numerical_inputs(case: Case) -> Arguments:
    x = np.array(case["x"], dtype=np.float64)
    kwargs = {"h": case["h"]} if "h" in case else {}
    return Arguments((_numpy_f(case), x), kwargs=kwargs, watched={"x": x})


def _numerical_reference(f: Callable[[Any], float], x: Any, h: float = 1e-5) -> Array:
    """Stands for the closed-form central difference; the spec's probe supplies the case."""
    raise RuntimeError("the closed-form reference needs the case: probe it through its spec")


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


@dataclass(frozen=True)
class _ClosedFormSpec(Spec):
    """A spec whose reference is a closed form of the case's test function."""

    closed_form: Callable[..., Any] | None = None

    def probe(self, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        if fn is self.reference and self.closed_form is not None:
            fn = functools.partial(self.closed_form, case)
        return super().probe(fn, case)


def _central_closed_form(case: Case, f: Any, x: Any, h: float = 1e-5) -> Array:
    return _test_function(case).central(np.array(x, dtype=np.float64), h)


# ------------------------------------------------------------------ autograd_gradient


def _torch_f(case: Case) -> Callable[[Any], Any]:
    return _test_function(case).torch


def _autograd_inputs(case: Case) -> Arguments:
    x = np.array(case["x"], dtype=np.float64)
    return Arguments((_torch_f(case), x), watched={"x": x})


def _autograd_reference(f: Callable[[Any], Any], x: Any) -> Array:
    """Stands for the closed-form gradient; the spec's probe supplies the case."""
    raise RuntimeError("the closed-form reference needs the case: probe it through its spec")


def _gradient_closed_form(case: Case, f: Any, x: Any) -> Array:
    point = np.array(x, dtype=np.float64)
    return np.asarray(_test_function(case).gradient(point), dtype=np.float64)


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


FINITE_DIFFERENCES = Misconception(
    "finite_differences_not_autograd",
    "this looks like finite differences, not autograd: make x a float64 tensor with "
    "requires_grad=True, call f(x).backward() and return x.grad as a NumPy array.",
)
FLOAT32 = Misconception(
    "float32_tensor",
    "the gradient was computed in float32: torch.tensor(a_list) is float32, so create the "
    "tensor with dtype=torch.float64 (torch.tensor(x, dtype=torch.float64)).",
)

SPECS: dict[str, FunctionSpec] = {
    "numerical_gradient": _ClosedFormSpec(
        function="numerical_gradient",
        inputs=_numerical_inputs,
        reference=_numerical_reference,
        closed_form=_central_closed_form,
        variants_by_name={
            "forward_difference": _difference_quotient(forward=True),
            "wrong_divisor": _difference_quotient(divisor=1.0),
            "argument_modified_in_place": _difference_quotient(in_place=True),
        },
        forbidden=(
            "gdcourse",
            "torch.autograd",
            "torch.func",
            ".backward",
            ".grad",
            "jax",
            "autograd",
            "scipy",
            "numpy.gradient",
        ),
        hint="for each i: (f(x + h e_i) - f(x - h e_i)) / (2 h), with e_i the i-th unit "
        "vector, on a float64 copy of x; return an array of x's shape.",
        tolerances={"float64": Tolerance(rtol=1e-6, atol=1e-6)},
    ),
    "autograd_gradient": _ClosedFormSpec(
        function="autograd_gradient",
        inputs=_autograd_inputs,
        reference=_autograd_reference,
        closed_form=_gradient_closed_form,
        variants_by_name={
            "tensors_returned": _autograd_tensor,
            FLOAT32: _autograd_float32,
            FINITE_DIFFERENCES: _finite_differences,
        },
        forbidden=("gdcourse", "numerical_gradient", "numpy.gradient", "scipy", "jax"),
        hint="make x a float64 tensor with requires_grad=True, call f(x).backward(), then "
        "return x.grad.detach().numpy().",
        tolerances={
            "float64": Tolerance(rtol=1e-9, atol=1e-9),
            "float32": Tolerance(rtol=1e-9, atol=1e-9),
        },
        # finite differences land within about 1e-4 of the truth, whatever step was used
        variant_tolerances={FINITE_DIFFERENCES.name: Tolerance(rtol=1e-3, atol=1e-3)},
    ),
}
