"""Gradient descent and its relatives, written to be read.

Every optimizer returns a frozen :class:`DescentResult`: the final point, the
whole path, the objective values along it (when ``f`` is given), the number of
updates, and why it stopped.

The stopping rule is the one the course teaches: at each iteration compute the
step ``learning_rate * grad(x)``; if every component of the step is at most
``tol`` in absolute value, stop *without* moving (converged); otherwise move.
A run that produces a non-finite number, or whose iterate grows beyond
``divergence_threshold``, stops at once with ``reason == "diverged"`` and no
overflow warning.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gdcourse import _checks

__all__ = [
    "DescentResult",
    "SGDResult",
    "StopReason",
    "gradient_descent",
    "heavy_ball",
    "minibatch_sgd",
]

StopReason = Literal["tolerance", "max_iter", "diverged"]
Array = NDArray[np.float64]
Gradient = Callable[[Any], Any]
Objective = Callable[[Any], Any]


@dataclass(frozen=True)
class DescentResult:
    """The outcome of a descent run.

    Attributes
    ----------
    x : ndarray
        The last point reached, with the shape of the start point (0-d for a scalar).
    path : ndarray
        Every point visited, start first: shape ``(n_iter + 1, *x.shape)``.
    values : ndarray or None
        ``f`` at every point of ``path`` when ``f`` was given, else ``None``.
    n_iter : int
        Number of updates made (``len(path) - 1``).
    reason : {"tolerance", "max_iter", "diverged"}
        Why the run stopped.
    """

    x: Array
    path: Array
    values: Array | None
    n_iter: int
    reason: StopReason

    @property
    def converged(self) -> bool:
        """True when the run stopped because the step fell below the tolerance."""
        return self.reason == "tolerance"


def gradient_descent(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: float,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Minimise a function by plain gradient descent, :math:`x_{k+1} = x_k - \eta\nabla f(x_k)`.

    Parameters
    ----------
    grad : callable
        The gradient: maps a point (float64 array with the shape of ``x0``) to an
        array of the same shape.
    x0 : float or array_like
        The start point. It is copied, never modified.
    learning_rate : float
        The step size :math:`\eta > 0`.
    max_iter : int, optional
        The most updates to make (>= 0).
    tol : float, optional
        Stop when every component of the step is at most ``tol`` (>= 0).
    f : callable, optional
        The objective, evaluated along the path when given.
    divergence_threshold : float, optional
        Stop with ``reason="diverged"`` once the largest component of ``x``
        exceeds this in absolute value, or anything becomes non-finite.

    Returns
    -------
    DescentResult

    Examples
    --------
    The seed notebook's parabola :math:`f(x) = x^2 - 4x - 1` has its minimum
    :math:`f(2) = -5`:

    >>> result = gradient_descent(lambda x: 2 * x - 4, 10.0, learning_rate=0.1,
    ...                           f=lambda x: x**2 - 4 * x - 1)
    >>> result.reason, round(float(result.x), 4), round(float(result.values[-1]), 6)
    ('tolerance', 2.0, -5.0)
    """
    return _descend(
        grad,
        x0,
        learning_rate=learning_rate,
        momentum=0.0,
        max_iter=max_iter,
        tol=tol,
        f=f,
        divergence_threshold=divergence_threshold,
    )


def heavy_ball(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: float,
    momentum: float = 0.9,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Gradient descent with heavy-ball (Polyak) momentum.

    The velocity starts at zero and each iteration computes
    :math:`v_{k+1} = \beta v_k - \eta \nabla f(x_k)`; the run stops without
    moving when every component of :math:`v_{k+1}` is at most ``tol``,
    otherwise :math:`x_{k+1} = x_k + v_{k+1}`. With ``momentum=0`` this is
    exactly :func:`gradient_descent`.

    Parameters
    ----------
    momentum : float, optional
        :math:`\beta`, in [0, 1).

    The other parameters are those of :func:`gradient_descent`.

    Examples
    --------
    On an ill-conditioned bowl momentum needs far fewer iterations:

    >>> grad = lambda p: np.array([1.0, 100.0]) * p
    >>> plain = gradient_descent(grad, [1.0, 1.0], learning_rate=0.01, max_iter=10_000)
    >>> fast = heavy_ball(grad, [1.0, 1.0], learning_rate=0.01, momentum=0.8, max_iter=10_000)
    >>> plain.n_iter > 5 * fast.n_iter
    True
    """
    return _descend(
        grad,
        x0,
        learning_rate=learning_rate,
        momentum=_checks.unit_interval("momentum", momentum),
        max_iter=max_iter,
        tol=tol,
        f=f,
        divergence_threshold=divergence_threshold,
    )


def _descend(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: float,
    momentum: float,
    max_iter: int,
    tol: float,
    f: Objective | None,
    divergence_threshold: float,
) -> DescentResult:
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__} {grad!r}")
    if f is not None and not callable(f):
        raise TypeError(f"f must be callable or None, got {type(f).__name__} {f!r}")
    eta = _checks.positive_float("learning_rate", learning_rate)
    max_iter = _checks.non_negative_int("max_iter", max_iter)
    tol = _checks.real_number("tol", tol)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    threshold = _checks.positive_float("divergence_threshold", divergence_threshold)
    x = _checks.finite_array("x0", x0)

    path = [x.copy()]
    velocity = np.zeros_like(x)
    reason: StopReason = "max_iter"
    # Overflow is detected by the finiteness checks below, so numpy's warnings are noise.
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            g = np.asarray(grad(x.copy()), dtype=np.float64)
            if g.shape != x.shape:
                raise ValueError(
                    f"grad must return an array of the start point's shape {x.shape}, "
                    f"got shape {g.shape}"
                )
            velocity = momentum * velocity - eta * g
            if not np.all(np.isfinite(velocity)):
                reason = "diverged"
                break
            if np.all(np.abs(velocity) <= tol):
                reason = "tolerance"
                break
            x = x + velocity
            if not np.all(np.isfinite(x)):
                reason = "diverged"
                break
            path.append(x.copy())
            if np.max(np.abs(x), initial=0.0) > threshold:
                reason = "diverged"
                break
        path_array = np.array(path)
        values = None if f is None else _evaluate(f, path_array)
    return DescentResult(
        x=np.array(path_array[-1], dtype=np.float64),
        path=path_array,
        values=values,
        n_iter=len(path) - 1,
        reason=reason,
    )


def _evaluate(f: Objective, path: Array) -> Array:
    return np.array([float(f(point)) for point in path], dtype=np.float64)


@dataclass(frozen=True)
class SGDResult:
    """The outcome of :func:`minibatch_sgd`.

    Attributes
    ----------
    weights : ndarray
        Shape ``(n_outputs, n_features)``, or ``(n_features,)`` for a 1-D target.
    bias : ndarray
        Shape ``(n_outputs,)``, or ``()`` for a 1-D target.
    batch_losses : ndarray
        The mean squared error of each mini-batch, before its update.
    epoch_losses : ndarray
        The mean squared error on the whole data set at the start and after
        every epoch: ``epochs + 1`` values.
    n_updates : int
        Number of parameter updates made.
    """

    weights: Array
    bias: Array
    batch_losses: Array
    epoch_losses: Array
    n_updates: int


def minibatch_sgd(
    inputs: ArrayLike,
    targets: ArrayLike,
    *,
    learning_rate: float,
    batch_size: int,
    epochs: int,
    rng: np.random.Generator,
    weights0: ArrayLike | None = None,
    bias0: ArrayLike | None = None,
) -> SGDResult:
    r"""Least squares by mini-batch stochastic gradient descent.

    The model is :math:`\hat Y = X W^\top + b` and the loss of a batch the mean
    of the squared errors over all its elements (what ``torch.nn.MSELoss``
    computes). Each epoch visits the rows in an order drawn from ``rng``; a
    ``batch_size`` equal to the number of rows is full-batch gradient descent,
    ``batch_size=1`` is single-sample SGD.

    Parameters
    ----------
    inputs : array_like, shape (n_samples, n_features) or (n_samples,)
    targets : array_like, shape (n_samples, n_outputs) or (n_samples,)
    learning_rate : float
    batch_size : int
        Between 1 and ``n_samples``.
    epochs : int
        Passes over the data (>= 0).
    rng : numpy.random.Generator
        The source of the shuffling; no global state is used.
    weights0, bias0 : array_like, optional
        Start values (zeros by default).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = X @ np.array([2.0, -1.0]) + 0.5
    >>> fit = minibatch_sgd(X, y, learning_rate=0.1, batch_size=20, epochs=50, rng=rng)
    >>> np.round(fit.weights, 3), round(float(fit.bias), 3)
    (array([ 2., -1.]), 0.5)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    X = _checks.finite_array("inputs", inputs, max_ndim=2)
    Y = _checks.finite_array("targets", targets, max_ndim=2)
    eta = _checks.positive_float("learning_rate", learning_rate)
    epochs = _checks.non_negative_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    if X.ndim == 0 or Y.ndim == 0:
        raise ValueError("inputs and targets must have one row per sample, got scalars")
    if X.ndim == 1:
        X = X[:, None]
    single_output = Y.ndim == 1
    if single_output:
        Y = Y[:, None]
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(
            f"inputs and targets must have the same number of rows, got {n} and {Y.shape[0]}"
        )
    if batch_size > n:
        raise ValueError(f"batch_size must be between 1 and {n} (the rows), got {batch_size}")
    n_out, n_in = Y.shape[1], X.shape[1]
    W = np.zeros((n_out, n_in))
    b = np.zeros(n_out)
    if weights0 is not None:
        W = _checks.finite_array("weights0", weights0).reshape(n_out, n_in)
    if bias0 is not None:
        b = _checks.finite_array("bias0", bias0).reshape(n_out)

    def loss(Xb: Array, Yb: Array) -> float:
        squares = (Xb @ W.T + b - Yb) ** 2
        return float(squares.sum() / squares.size)  # the mean, without np.mean's overhead

    batch_losses: list[float] = []
    epoch_losses = [loss(X, Y)]
    updates = 0
    with np.errstate(all="ignore"):
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                Xb, Yb = X[rows], Y[rows]
                residual = Xb @ W.T + b - Yb  # (batch, n_out)
                squares = residual**2
                batch_losses.append(float(squares.sum() / squares.size))
                scale = 2.0 / residual.size
                W = W - eta * scale * (residual.T @ Xb)
                b = b - eta * scale * residual.sum(axis=0)
                updates += 1
            epoch_losses.append(loss(X, Y))
            if not np.isfinite(epoch_losses[-1]):
                break
    if single_output:
        return SGDResult(W[0], b[0], np.array(batch_losses), np.array(epoch_losses), updates)
    return SGDResult(W, b, np.array(batch_losses), np.array(epoch_losses), updates)
