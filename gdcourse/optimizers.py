r"""Gradient descent and its relatives, written to be read.

Every optimizer returns a frozen :class:`DescentResult`: the final point, the
whole path, the objective values along it (when ``f`` is given), the number of
updates, and why it stopped.

The stopping rule is the one the course teaches: at each iteration compute the
step (``learning_rate * grad(x)`` for plain gradient descent); if every component
of the step is at most ``tol`` in absolute value, stop *without* moving
(converged); otherwise move. A run that produces a non-finite number, or whose
iterate grows beyond ``divergence_threshold``, stops at once with
``reason == "diverged"`` and no overflow warning.

The first-order methods take a ``learning_rate`` that is either a number or a
schedule (:mod:`gdcourse.schedules`): a function of the update count ``k`` that
returns :math:`\eta_k`.
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
    "adam",
    "gradient_descent",
    "heavy_ball",
    "minibatch_sgd",
    "nesterov",
    "newton",
]

StopReason = Literal["tolerance", "max_iter", "diverged"]
Array = NDArray[np.float64]
Gradient = Callable[[Any], Any]
Objective = Callable[[Any], Any]
#: A learning rate: a number > 0, or a schedule ``k -> eta_k`` (see :mod:`gdcourse.schedules`).
LearningRate = float | Callable[[int], float]


def _rates(learning_rate: LearningRate) -> Callable[[int], float]:
    """The learning rate as a function of the step count, each value checked when used."""
    if not callable(learning_rate):
        eta = _checks.positive_float("learning_rate", learning_rate)
        return lambda k: eta

    def checked(k: int) -> float:
        value = learning_rate(k)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"learning_rate schedule must return a number, got {type(value).__name__} "
                f"{value!r} at step {k}"
            )
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(
                f"learning_rate schedule returned {value!r} at step {k}; "
                "learning rates must be finite and >= 0"
            )
        return float(value)

    return checked


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
    learning_rate: LearningRate,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Minimise a function by plain gradient descent, :math:`x_{k+1} = x_k - \eta_k\nabla f(x_k)`.

    Parameters
    ----------
    grad : callable
        The gradient: maps a point (float64 array with the shape of ``x0``) to an
        array of the same shape.
    x0 : float or array_like
        The start point. It is copied, never modified.
    learning_rate : float or callable
        The step size :math:`\eta > 0`, or a schedule ``k -> eta_k`` (``k = 0, 1, ...``
        counts updates; see :mod:`gdcourse.schedules`).
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
        lookahead=False,
        max_iter=max_iter,
        tol=tol,
        f=f,
        divergence_threshold=divergence_threshold,
    )


def heavy_ball(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: LearningRate,
    momentum: float = 0.9,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Gradient descent with heavy-ball (Polyak) momentum.

    The velocity starts at zero and each iteration computes
    :math:`v_{k+1} = \beta v_k - \eta_k \nabla f(x_k)`; the run stops without
    moving when every component of :math:`v_{k+1}` is at most ``tol``,
    otherwise :math:`x_{k+1} = x_k + v_{k+1}`. With ``momentum=0`` this is
    exactly :func:`gradient_descent`. For a constant learning rate the points are
    those of ``torch.optim.SGD(momentum=β)``; under a schedule they differ, because
    PyTorch multiplies the whole accumulated velocity by the current rate.

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
        lookahead=False,
        max_iter=max_iter,
        tol=tol,
        f=f,
        divergence_threshold=divergence_threshold,
    )


def nesterov(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: LearningRate,
    momentum: float = 0.9,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Nesterov's accelerated gradient: the heavy ball with the gradient taken ahead.

    Each iteration computes :math:`v_{k+1} = \beta v_k - \eta_k \nabla f(x_k + \beta v_k)`
    and, unless every component of :math:`v_{k+1}` is at most ``tol``,
    :math:`x_{k+1} = x_k + v_{k+1}`. The gradient is evaluated at the point the
    momentum is about to carry the iterate to, not at the iterate itself.

    ``torch.optim.SGD(momentum=β, nesterov=True)`` computes the same method in other
    variables: for a constant learning rate, its parameter after ``k`` steps is the
    look-ahead point :math:`x_k + \beta v_k` of this function's iterates.

    Parameters are those of :func:`heavy_ball`.

    Examples
    --------
    With ``momentum=0`` it is plain gradient descent:

    >>> grad = lambda p: np.array([1.0, 50.0]) * p
    >>> a = nesterov(grad, [1.0, 1.0], learning_rate=0.02, momentum=0.0)
    >>> b = gradient_descent(grad, [1.0, 1.0], learning_rate=0.02)
    >>> bool(np.array_equal(a.path, b.path))
    True
    """
    return _descend(
        grad,
        x0,
        learning_rate=learning_rate,
        momentum=_checks.unit_interval("momentum", momentum),
        lookahead=True,
        max_iter=max_iter,
        tol=tol,
        f=f,
        divergence_threshold=divergence_threshold,
    )


def _start(
    grad: Gradient, f: Objective | None, x0: ArrayLike, max_iter: int, tol: float
) -> tuple[Array, int, float]:
    """Check the arguments every method shares; return a float64 copy of x0."""
    if not callable(grad):
        raise TypeError(f"grad must be callable, got {type(grad).__name__} {grad!r}")
    if f is not None and not callable(f):
        raise TypeError(f"f must be callable or None, got {type(f).__name__} {f!r}")
    max_iter = _checks.non_negative_int("max_iter", max_iter)
    tol = _checks.real_number("tol", tol)
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol!r}")
    return _checks.finite_array("x0", x0), max_iter, tol


def _gradient(grad: Gradient, x: Array, name: str = "grad") -> Array:
    g = np.asarray(grad(x.copy()), dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(
            f"{name} must return an array of the start point's shape {x.shape}, "
            f"got shape {g.shape}"
        )
    return g


def _result(path: list[Array], f: Objective | None, reason: StopReason) -> DescentResult:
    path_array = np.array(path)
    with np.errstate(all="ignore"):
        values = None if f is None else _evaluate(f, path_array)
    return DescentResult(
        x=np.array(path_array[-1], dtype=np.float64),
        path=path_array,
        values=values,
        n_iter=len(path) - 1,
        reason=reason,
    )


def _move(
    path: list[Array], x: Array, step: Array, tol: float, threshold: float
) -> tuple[Array, StopReason | None]:
    """Take ``x + step`` unless the step is below ``tol`` or something is diverging."""
    if not np.all(np.isfinite(step)):
        return x, "diverged"
    if np.all(np.abs(step) <= tol):
        return x, "tolerance"
    x = x + step
    if not np.all(np.isfinite(x)):
        return x, "diverged"
    path.append(x.copy())
    if np.max(np.abs(x), initial=0.0) > threshold:
        return x, "diverged"
    return x, None


def _descend(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: LearningRate,
    momentum: float,
    lookahead: bool,
    max_iter: int,
    tol: float,
    f: Objective | None,
    divergence_threshold: float,
) -> DescentResult:
    x, max_iter, tol = _start(grad, f, x0, max_iter, tol)
    rate = _rates(learning_rate)
    threshold = _checks.positive_float("divergence_threshold", divergence_threshold)
    path = [x.copy()]
    velocity = np.zeros_like(x)
    reason: StopReason = "max_iter"
    # Overflow is detected by the finiteness checks, so numpy's warnings are noise.
    with np.errstate(all="ignore"):
        for k in range(max_iter):
            at = x + momentum * velocity if lookahead else x
            velocity = momentum * velocity - rate(k) * _gradient(grad, at)
            x, stop = _move(path, x, velocity, tol, threshold)
            if stop is not None:
                reason = stop
                break
    return _result(path, f, reason)


def adam(
    grad: Gradient,
    x0: ArrayLike,
    *,
    learning_rate: LearningRate,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    max_iter: int = 1000,
    tol: float = 1e-6,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Adam (Kingma and Ba, 2015): momentum with a step scaled per coordinate.

    With :math:`g_k = \nabla f(x_k)`, :math:`m_0 = s_0 = 0` and
    :math:`(\beta_1, \beta_2)` = ``betas``, iteration :math:`k = 0, 1, \dots` computes

    .. math::
        m_{k+1} = \beta_1 m_k + (1 - \beta_1) g_k, \qquad
        s_{k+1} = \beta_2 s_k + (1 - \beta_2) g_k^2, \\
        \hat m = \frac{m_{k+1}}{1 - \beta_1^{k+1}}, \qquad
        \hat s = \frac{s_{k+1}}{1 - \beta_2^{k+1}}, \qquad
        x_{k+1} = x_k - \eta_k \frac{\hat m}{\sqrt{\hat s} + \varepsilon},

    squares and roots taken per component. The divisions by :math:`1 - \beta^{k+1}`
    (bias correction) undo the pull of the zero start values towards zero. The run
    stops without moving when every component of the step is at most ``tol``.
    These are the updates of ``torch.optim.Adam`` (defaults included).

    Parameters
    ----------
    betas : (float, float), optional
        :math:`\beta_1, \beta_2`, each in [0, 1).
    eps : float, optional
        :math:`\varepsilon > 0`, added to the root (outside it), against division by zero.

    The other parameters are those of :func:`gradient_descent`.

    Examples
    --------
    The first step has length ``learning_rate`` in every coordinate, whatever the
    gradient's scale:

    >>> grad = lambda p: np.array([1.0, 1000.0]) * p
    >>> run = adam(grad, [1.0, 1.0], learning_rate=0.1, max_iter=1)
    >>> np.round(run.path[1], 6)
    array([0.9, 0.9])
    """
    x, max_iter, tol = _start(grad, f, x0, max_iter, tol)
    rate = _rates(learning_rate)
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    beta1 = _checks.unit_interval("betas[0]", betas[0])
    beta2 = _checks.unit_interval("betas[1]", betas[1])
    epsilon = _checks.positive_float("eps", eps)
    threshold = _checks.positive_float("divergence_threshold", divergence_threshold)
    path = [x.copy()]
    m = np.zeros_like(x)
    s = np.zeros_like(x)
    reason: StopReason = "max_iter"
    with np.errstate(all="ignore"):
        for k in range(max_iter):
            g = _gradient(grad, x)
            m = beta1 * m + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g * g
            m_hat = m / (1 - beta1 ** (k + 1))
            s_hat = s / (1 - beta2 ** (k + 1))
            step = -rate(k) * m_hat / (np.sqrt(s_hat) + epsilon)
            x, stop = _move(path, x, step, tol, threshold)
            if stop is not None:
                reason = stop
                break
    return _result(path, f, reason)


def newton(
    grad: Gradient,
    hessian: Callable[[Any], Any],
    x0: ArrayLike,
    *,
    max_iter: int = 100,
    tol: float = 1e-10,
    f: Objective | None = None,
    divergence_threshold: float = 1e10,
) -> DescentResult:
    r"""Newton's method for a stationary point of ``f``.

    The iteration is :math:`x_{k+1} = x_k - [\nabla^2 f(x_k)]^{-1} \nabla f(x_k)`.
    Each step jumps to the stationary point of the quadratic model of ``f`` at
    :math:`x_k`, so on a quadratic with a positive definite Hessian the first step
    lands on the minimiser. It looks for :math:`\nabla f = 0`, not for a minimum:
    where the Hessian is not positive definite the step can lead to a maximum or a
    saddle point. The run stops without moving when every component of the step
    is at most ``tol``.

    Parameters
    ----------
    hessian : callable
        Maps a point to the matrix of second derivatives (a number in one dimension).

    The other parameters are those of :func:`gradient_descent` (there is no learning rate).

    Raises
    ------
    ValueError
        When the Hessian at an iterate is singular, or of the wrong shape.

    Examples
    --------
    One step solves a quadratic :math:`\tfrac12 x^\top A x - c^\top x`:

    >>> A, c = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])
    >>> run = newton(lambda x: A @ x - c, lambda x: A, [5.0, -7.0])
    >>> run.n_iter, bool(np.allclose(run.path[1], np.linalg.solve(A, c)))
    (1, True)
    """
    x, max_iter, tol = _start(grad, f, x0, max_iter, tol)
    if not callable(hessian):
        raise TypeError(f"hessian must be callable, got {type(hessian).__name__} {hessian!r}")
    threshold = _checks.positive_float("divergence_threshold", divergence_threshold)
    path = [x.copy()]
    reason: StopReason = "max_iter"
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            g = _gradient(grad, x)
            h = np.asarray(hessian(x.copy()), dtype=np.float64)
            if h.shape != x.shape * 2 and not (x.ndim == 0 and h.size == 1):
                raise ValueError(
                    f"hessian must return a matrix of shape {x.shape * 2} at a point of "
                    f"shape {x.shape}, got shape {h.shape}"
                )
            try:
                step = -(g / h.reshape(()) if x.ndim == 0 else np.linalg.solve(h, g))
            except np.linalg.LinAlgError as error:
                raise ValueError(f"the Hessian at {x!r} is singular: no Newton step") from error
            if x.ndim == 0 and h.reshape(()) == 0:
                raise ValueError(f"the second derivative at {float(x)!r} is 0: no Newton step")
            x, stop = _move(path, x, np.asarray(step, dtype=np.float64), tol, threshold)
            if stop is not None:
                reason = stop
                break
    return _result(path, f, reason)


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
    learning_rate: LearningRate,
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
    learning_rate : float or callable
        A number > 0, or a schedule ``t -> eta_t`` called once per epoch with the
        epoch number ``t = 0, 1, ...`` (as PyTorch steps its learning-rate schedulers).
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
    rate = _rates(learning_rate)
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
        for epoch in range(epochs):
            eta = rate(epoch)
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
