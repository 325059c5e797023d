r"""Objective functions with their gradients, and the least-squares toolkit.

One- and two-dimensional test functions are :class:`Objective` records, so a
demo or a test can ask each for its value, its gradient, where its minimum is,
and a sensible plotting window:

>>> parabola.f(2.0), parabola.grad(2.0)
(-5.0, 0.0)
>>> shifted_bowl.grad(np.array([10.0, 10.0]))
array([22., 10.])

The functions accept NumPy arrays and PyTorch tensors alike (only arithmetic
is used), so autograd can check the hand-written gradients.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gdcourse import _checks

__all__ = [
    "Objective",
    "bowl",
    "cubic",
    "ill_conditioned",
    "least_squares",
    "linear_model",
    "mse",
    "mse_gradient",
    "parabola",
    "rosenbrock",
    "shifted_bowl",
    "steep_parabola",
]

Array = NDArray[np.float64]


@dataclass(frozen=True)
class Objective:
    """A differentiable function of one or two variables, ready to minimise and plot.

    Attributes
    ----------
    name : str
        Short name used by the demos' menus.
    latex : str
        The formula, for titles and labels.
    f, grad : callable
        The function and its gradient.
    dim : int
        Number of variables (1 or 2).
    minimizers : tuple of ndarray
        Known local minimisers (the global one first).
    window : tuple of (low, high)
        A plotting range per variable that shows the interesting part.
    smoothness : float or None
        The Lipschitz constant :math:`L` of the gradient when it is global
        (quadratics); gradient descent converges on them for learning rates
        below :math:`2/L`. ``None`` when there is no global constant.
    """

    name: str
    latex: str
    f: Callable[[Any], Any]
    grad: Callable[[Any], Any]
    dim: int
    minimizers: tuple[Array, ...]
    window: tuple[tuple[float, float], ...]
    smoothness: float | None = None
    notes: str = field(default="", compare=False)


def _vector(*values: float) -> Array:
    return np.array(values, dtype=np.float64)


def _scalar(value: float) -> Array:
    return np.array(value, dtype=np.float64)


def _parabola(x: Any) -> Any:
    return x**2 - 4 * x - 1


def _parabola_grad(x: Any) -> Any:
    return 2 * x - 4


parabola = Objective(
    name="x² − 4x − 1",
    latex=r"f(x) = x^2 - 4x - 1",
    f=_parabola,
    grad=_parabola_grad,
    dim=1,
    minimizers=(_scalar(2.0),),
    window=((-3.0, 7.0),),
    smoothness=2.0,
    notes="Convex; minimum f(2) = -5.",
)


def _steep(x: Any) -> Any:
    return 20 * x**2


def _steep_grad(x: Any) -> Any:
    return 40 * x


steep_parabola = Objective(
    name="20x²",
    latex=r"f(x) = 20x^2",
    f=_steep,
    grad=_steep_grad,
    dim=1,
    minimizers=(_scalar(0.0),),
    window=((-2.0, 2.0),),
    smoothness=40.0,
    notes="Convex and steep: gradient descent diverges for learning rates above 2/40 = 0.05.",
)


def _cubic(x: Any) -> Any:
    return 4 * x**3 - 10 * x + 10


def _cubic_grad(x: Any) -> Any:
    return 12 * x**2 - 10


cubic = Objective(
    name="4x³ − 10x + 10",
    latex=r"f(x) = 4x^3 - 10x + 10",
    f=_cubic,
    grad=_cubic_grad,
    dim=1,
    minimizers=(_scalar(np.sqrt(10.0 / 12.0)),),
    window=((-2.0, 2.0),),
    smoothness=None,
    notes=(
        "Not convex and unbounded below: a local minimum at sqrt(5/6), a local maximum at "
        "-sqrt(5/6); descent started left of the maximum runs off to minus infinity."
    ),
)


def _bowl(p: Any) -> Any:
    return p[0] ** 2 + p[1] ** 2 / 2


def _bowl_grad(p: Any) -> Array:
    p = np.asarray(p, dtype=np.float64)
    return np.array([2 * p[0], p[1]])


bowl = Objective(
    name="x² + y²/2",
    latex=r"f(x, y) = x^2 + \frac{y^2}{2}",
    f=_bowl,
    grad=_bowl_grad,
    dim=2,
    minimizers=(_vector(0.0, 0.0),),
    window=((-11.0, 11.0), (-11.0, 11.0)),
    smoothness=2.0,
)


def _shifted_bowl(p: Any) -> Any:
    return (p[0] + 1) ** 2 + p[1] ** 2 / 2


def _shifted_bowl_grad(p: Any) -> Array:
    p = np.asarray(p, dtype=np.float64)
    return np.array([2 * (p[0] + 1), p[1]])


shifted_bowl = Objective(
    name="(x + 1)² + y²/2",
    latex=r"f(x, y) = (x + 1)^2 + \frac{y^2}{2}",
    f=_shifted_bowl,
    grad=_shifted_bowl_grad,
    dim=2,
    minimizers=(_vector(-1.0, 0.0),),
    window=((-12.0, 11.0), (-11.0, 11.0)),
    smoothness=2.0,
)


def ill_conditioned(condition_number: float = 25.0) -> Objective:
    r"""The quadratic :math:`f(x, y) = \tfrac12 (x^2 + \kappa y^2)` with condition number κ.

    >>> q = ill_conditioned(10.0)
    >>> q.grad(np.array([1.0, 1.0])), q.smoothness
    (array([ 1., 10.]), 10.0)
    """
    kappa = _checks.real_number("condition_number", condition_number)
    if kappa < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number!r}")

    def f(p: Any) -> Any:
        return (p[0] ** 2 + kappa * p[1] ** 2) / 2

    def grad(p: Any) -> Array:
        p = np.asarray(p, dtype=np.float64)
        return np.array([p[0], kappa * p[1]])

    return Objective(
        name=f"ill-conditioned bowl (κ = {kappa:g})",
        latex=rf"f(x, y) = \tfrac12\,(x^2 + {kappa:g}\,y^2)",
        f=f,
        grad=grad,
        dim=2,
        minimizers=(_vector(0.0, 0.0),),
        window=((-11.0, 11.0), (-4.0, 4.0)),
        smoothness=kappa,
    )


def _rosenbrock(p: Any) -> Any:
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _rosenbrock_grad(p: Any) -> Array:
    x, y = np.asarray(p, dtype=np.float64)
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


rosenbrock = Objective(
    name="Rosenbrock",
    latex=r"f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2",
    f=_rosenbrock,
    grad=_rosenbrock_grad,
    dim=2,
    minimizers=(_vector(1.0, 1.0),),
    window=((-2.0, 2.0), (-1.0, 3.0)),
    smoothness=None,
    notes="A curved, narrow valley: the classic hard case for plain gradient descent.",
)


# --------------------------------------------------------------------------- regression


def linear_model(x: Any, w: Any, b: Any) -> Any:
    r"""The linear model :math:`\hat y = b + w x`, elementwise.

    Works for NumPy arrays and PyTorch tensors.

    >>> linear_model(np.array([0.0, 1.0, 2.0]), w=2.0, b=1.0)
    array([1., 3., 5.])
    """
    return b + w * x


def mse(y_pred: Any, y: Any) -> Any:
    r"""Mean squared error :math:`\frac1n \sum_i (\hat y_i - y_i)^2`.

    >>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    return ((y_pred - y) ** 2).mean()


def mse_gradient(x: ArrayLike, y: ArrayLike, w: float, b: float) -> tuple[float, float]:
    r"""Partial derivatives of the MSE of :math:`\hat y = b + wx` with respect to ``w`` and ``b``.

    .. math::
        \frac{\partial L}{\partial w} = \frac2n \sum_i (\hat y_i - y_i)\,x_i, \qquad
        \frac{\partial L}{\partial b} = \frac2n \sum_i (\hat y_i - y_i)

    >>> mse_gradient([1.0, 2.0], [1.0, 2.0], w=1.0, b=0.0)
    (0.0, 0.0)
    >>> mse_gradient([1.0, 2.0], [0.0, 0.0], w=0.0, b=1.0)
    (3.0, 2.0)
    """
    x_arr = _checks.finite_array("x", x, max_ndim=1)
    y_arr = _checks.finite_array("y", y, max_ndim=1)
    if x_arr.shape != y_arr.shape:
        raise ValueError(f"x and y must have the same shape, got {x_arr.shape} and {y_arr.shape}")
    residual = b + w * x_arr - y_arr
    return float(2 * np.mean(residual * x_arr)), float(2 * np.mean(residual))


def least_squares(inputs: ArrayLike, targets: ArrayLike) -> tuple[Array, Array]:
    r"""The closed-form least-squares fit with an intercept: the ground truth for descent.

    Solves :math:`\min_{W, b} \lVert X W^\top + b - Y \rVert^2` with a numerically
    stable solver (``numpy.linalg.lstsq`` on ``[X, 1]``, never the normal equations).

    Returns
    -------
    weights : ndarray
        ``(n_outputs, n_features)``, or ``(n_features,)`` for a 1-D target.
    bias : ndarray
        ``(n_outputs,)``, or ``()`` for a 1-D target.

    >>> w, b = least_squares([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    >>> np.round(w, 12).tolist(), round(float(b), 12)
    ([2.0], 1.0)
    """
    X = _checks.finite_array("inputs", inputs, max_ndim=2)
    Y = _checks.finite_array("targets", targets, max_ndim=2)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or Y.ndim == 0:
        raise ValueError(f"inputs must be 1-D or 2-D with one row per sample, got {X.shape}")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(
            f"inputs and targets must have the same number of rows, "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )
    design = np.hstack([X, np.ones((X.shape[0], 1))])
    solution, *_ = np.linalg.lstsq(design, Y, rcond=None)
    weights, bias = solution[:-1], solution[-1]
    return np.array(weights.T, dtype=np.float64), np.asarray(bias, dtype=np.float64)
