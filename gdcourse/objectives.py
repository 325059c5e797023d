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
    "least_squares_gradient",
    "linear_model",
    "mse",
    "mse_gradient",
    "parabola",
    "ridge",
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
    r"""Mean squared error :math:`\frac1n \sum_i (\hat y^{(i)} - y^{(i)})^2`.

    >>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 0.0])))
    5.0
    """
    return ((y_pred - y) ** 2).mean()


def mse_gradient(x: ArrayLike, y: ArrayLike, w: float, b: float) -> tuple[float, float]:
    r"""Partial derivatives of the MSE of :math:`\hat y = b + wx` with respect to ``w`` and ``b``.

    .. math::
        \frac{\partial J}{\partial w} = \frac2n \sum_i (\hat y^{(i)} - y^{(i)})\,x^{(i)}, \qquad
        \frac{\partial J}{\partial b} = \frac2n \sum_i (\hat y^{(i)} - y^{(i)})

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


def _regression_arrays(inputs: ArrayLike, targets: ArrayLike) -> tuple[Array, Array, bool]:
    """Inputs as (n, d) and targets as (n, p) float64 copies; True when targets were 1-D."""
    X = _checks.finite_array("inputs", inputs, max_ndim=2)
    Y = _checks.finite_array("targets", targets, max_ndim=2)
    if X.ndim == 0 or Y.ndim == 0:
        raise ValueError("inputs and targets must have one row per observation, got scalars")
    if X.ndim == 1:
        X = X[:, None]
    single = Y.ndim == 1
    if single:
        Y = Y[:, None]
    if Y.shape[0] != X.shape[0]:
        raise ValueError(
            f"inputs and targets must have the same number of rows, "
            f"got {X.shape[0]} and {Y.shape[0]}"
        )
    return X, Y, single


def least_squares_gradient(
    inputs: ArrayLike, targets: ArrayLike, weights: ArrayLike, bias: ArrayLike
) -> tuple[Array, Array]:
    r"""The gradient of the MSE of :math:`\hat Y = X W^\top + \mathbf 1 b^\top`, vectorised.

    The loss is the mean over all :math:`n p` entries, as ``torch.nn.MSELoss`` computes it,
    :math:`J = \frac{1}{n\,p} \lVert \hat Y - Y \rVert^2`, so with the residuals
    :math:`R = \hat Y - Y`

    .. math::
        \nabla_W J = \frac{2}{n\,p} R^\top X, \qquad \nabla_b J = \frac{2}{n\,p} R^\top \mathbf 1 .

    For one output (:math:`p = 1`, 1-D ``targets``, ``weights`` of shape ``(d,)``) this is
    :math:`\frac2n X^\top (X w + b\mathbf 1 - \mathbf y)` and :math:`\frac2n \mathbf 1^\top
    (X w + b \mathbf 1 - \mathbf y)`, the single-output gradient of the book.

    Returns
    -------
    grad_weights : ndarray
        The shape of ``weights``: ``(p, d)``, or ``(d,)`` for 1-D targets.
    grad_bias : ndarray
        The shape of ``bias``: ``(p,)``, or ``()`` for 1-D targets.

    >>> X = np.array([[1.0], [2.0]])
    >>> least_squares_gradient(X, [0.0, 0.0], weights=[0.0], bias=1.0)
    (array([3.]), array(2.))
    """
    X, Y, single = _regression_arrays(inputs, targets)
    d, p = X.shape[1], Y.shape[1]
    W = _checks.finite_array("weights", weights, max_ndim=2)
    b = _checks.finite_array("bias", bias, max_ndim=1)
    if W.size != p * d or b.size != p:
        raise ValueError(
            f"weights must have {p} x {d} entries and bias {p} for inputs with {d} columns "
            f"and {p} target column(s), got shapes {W.shape} and {b.shape}"
        )
    residual = X @ W.reshape(p, d).T + b.reshape(p) - Y  # (n, p)
    scale = 2.0 / residual.size
    grad_W = scale * residual.T @ X
    grad_b = scale * residual.sum(axis=0)
    if single:
        return grad_W.reshape(d), np.array(grad_b[0])
    return grad_W, grad_b


def ridge(inputs: ArrayLike, targets: ArrayLike, *, alpha: float) -> tuple[Array, Array]:
    r"""The minimiser of the MSE plus a penalty on the weights (ridge regression).

    Minimises :math:`J_\alpha(W, b) = \frac{1}{n\,p} \lVert X W^\top + \mathbf 1 b^\top - Y
    \rVert^2 + \frac{\alpha}{2} \lVert W \rVert^2` over the weights and the bias; the bias
    is not penalised. The gradient of the penalty is :math:`\alpha W`, so gradient descent
    on :math:`J_\alpha` is ``torch.optim.SGD(..., weight_decay=alpha)`` applied to the
    weights only. ``alpha=0`` gives :func:`least_squares`.

    Solved stably: the bias is eliminated by centring, and the weights are the
    least-squares solution of the centred data stacked on :math:`\sqrt{n p \alpha/2}\, I`
    (``numpy.linalg.lstsq``, no normal equations).

    Returns
    -------
    weights, bias : ndarray
        As for :func:`least_squares`.

    >>> x, y = [0.0, 1.0, 2.0], [1.0, 3.0, 5.0]
    >>> w, b = ridge(x, y, alpha=0.0)
    >>> round(float(w[0]), 12), round(float(b), 12)
    (2.0, 1.0)
    >>> w, b = ridge(x, y, alpha=2.0)  # shrinks the slope towards 0
    >>> round(float(w[0]), 12), round(float(b), 12)
    (0.8, 2.2)
    """
    X, Y, single = _regression_arrays(inputs, targets)
    a = _checks.real_number("alpha", alpha)
    if a < 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")
    n, d = X.shape
    p = Y.shape[1]
    x_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    stacked_X = np.vstack([X - x_mean, np.sqrt(n * p * a / 2) * np.eye(d)])
    stacked_Y = np.vstack([Y - y_mean, np.zeros((d, p))])
    solution, *_ = np.linalg.lstsq(stacked_X, stacked_Y, rcond=None)  # (d, p)
    weights = np.array(solution.T, dtype=np.float64)
    bias = np.asarray(y_mean - weights @ x_mean, dtype=np.float64)
    if single:
        return weights[0], np.asarray(bias[0])
    return weights, bias
