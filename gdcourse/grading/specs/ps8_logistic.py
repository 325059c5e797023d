"""Judge data of ``ps8_logistic``: logistic regression from the sigmoid to ``torch.optim``.

The public references are closed forms in float64 NumPy for the three NumPy functions
(the sigmoid from ``np.logaddexp``, the cross-entropy as ``log(1 + e^o) - y o`` from
``np.logaddexp``), and PyTorch itself for ``train_logistic`` (``nn.BCEWithLogitsLoss``
and the asked ``torch.optim`` optimizer, in the case's dtype). Labels are 0 and 1;
the penalty ``alpha / 2 * ||w||^2`` leaves the bias alone.

>>> from gdcourse.grading.probes.ps8_logistic import loss_inputs
>>> case = {"X": [[1.0], [-1.0]], "y": [1.0, 0.0], "w": [0.0], "b": 0.0}
>>> loss, grad_w, grad_b = SPECS["loss_and_grad"].reference(*loss_inputs(case).args)
>>> round(loss, 6), grad_w.tolist(), grad_b
(0.693147, [-0.5], 0.0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdcourse.grading.framework import FunctionSpec, Spec, Tolerance
from gdcourse.grading.probes import ps8_logistic as probes
from gdcourse.grading.specs.ps5_minibatch_sgd import ObservedSpec

__all__ = ["SPECS"]

Array = NDArray[np.float64]


# ------------------------------------------------------------------ argument checks


def _check_data(X: Any, y: Any) -> tuple[Array, Array]:
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
        raise ValueError(
            f"X must be n x d and y hold n labels, got shapes {X.shape} and {y.shape}"
        )
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("the labels y must be 0 or 1")
    return X, y


def _check_alpha(alpha: float) -> None:
    if not alpha >= 0:
        raise ValueError(f"alpha must be >= 0, got {alpha!r}")


def _check_fit(learning_rate: float | None, steps: int, alpha: float) -> None:
    if learning_rate is not None and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 or None, got {learning_rate!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps!r}")
    _check_alpha(alpha)


def _check_train(method: str, learning_rate: float, epochs: int) -> None:
    if method not in probes.METHODS:
        raise ValueError(f"method must be one of {', '.join(probes.METHODS)}, got {method!r}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs!r}")


# ------------------------------------------------------------------ references


def _sigmoid(z: Any) -> Any:
    """sigmoid(o) = exp(-log(1 + e^-o)), accurate for every float64 o."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))


def _sigmoid_reference(z: Any) -> Any:
    return _sigmoid(z)


def _bound_rate(X: Array, alpha: float, quarter: float = 0.25, diagonal: bool = False) -> float:
    """1 / L with L = lambda_max(X1^T X1) / (4 n) + alpha, X1 = [X, 1] (with ``diagonal``,
    the largest diagonal entry of X1^T X1 in place of its largest eigenvalue)."""
    X1 = np.column_stack([X, np.ones(len(X))])
    gram = X1.T @ X1 / len(X)
    largest = np.max(np.diag(gram)) if diagonal else np.linalg.eigvalsh(gram)[-1]
    return float(1.0 / (quarter * largest + alpha))


def _loss_reference(
    w: Any, b: float, X: Any, y: Any, alpha: float = 0.0
) -> tuple[float, Array, float]:
    X, y = _check_data(X, y)
    _check_alpha(alpha)
    w = np.asarray(w, dtype=np.float64)
    z = X @ w + b
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + alpha / 2 * (w @ w)
    r = _sigmoid(z) - y
    return float(loss), X.T @ r / len(y) + alpha * w, float(np.mean(r))


def _fit_reference(
    X: Any, y: Any, *, learning_rate: float | None = None, steps: int, alpha: float = 0.0
) -> tuple[Array, float, list[float]]:
    X, y = _check_data(X, y)
    _check_fit(learning_rate, steps, alpha)
    rate = _bound_rate(X, alpha) if learning_rate is None else learning_rate
    w, b = np.zeros(X.shape[1]), 0.0
    losses: list[float] = []
    for _ in range(steps):
        loss, grad_w, grad_b = _loss_reference(w, b, X, y, alpha)
        losses.append(loss)
        w, b = w - rate * grad_w, b - rate * grad_b
    return w, b, losses


def _optimizer(method: str, parameters: Any, learning_rate: float) -> Any:
    import torch

    if method == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate)
    return torch.optim.SGD(
        parameters, lr=learning_rate, momentum=0.9 if method == "momentum" else 0.0
    )


def _train_reference(
    model: Any, X: Any, y: Any, *, method: str, learning_rate: float, epochs: int
) -> list[float]:
    """The loop the assignment asks for, with PyTorch's own loss and optimizer."""
    from torch import nn

    _check_train(method, learning_rate, epochs)
    criterion = nn.BCEWithLogitsLoss()
    optimizer = _optimizer(method, model.parameters(), learning_rate)
    losses: list[float] = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(model(X).reshape(-1), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses


# ------------------------------------------------------------------ wrong variants


def _sigmoid_variant(kind: str) -> Callable[[Any], Any]:
    """The sigmoid with one mistake."""

    def variant(z: Any) -> Any:
        values = np.asarray(z, dtype=np.float64)
        with np.errstate(all="ignore"):
            if kind == "overflow":  # e^z / (1 + e^z): inf / inf for large z
                return np.exp(values) / (1 + np.exp(values))
            if kind == "sign":
                return 1 / (1 + np.exp(values))
            if kind == "cancellation":  # 1 - sigma(-z) for negative z: 1 - 1 = 0
                return np.where(values >= 0, _sigmoid(values), 1 - _sigmoid(-values))
            values[...] = _sigmoid(values)  # in place: the caller's array changes
            return values

    return variant


def _loss_variant(
    *,
    residual_sign: float = 1.0,
    mean: bool = True,
    bias_penalty: bool = False,
    penalty_half: bool = True,
    plus_minus_one: bool = False,
    from_probabilities: bool = False,
) -> Callable[..., tuple[float, Array, float]]:
    """loss_and_grad with one mistake switched on."""

    def variant(
        w: Any, b: float, X: Any, y: Any, alpha: float = 0.0
    ) -> tuple[float, Array, float]:
        X, y = _check_data(X, y)
        _check_alpha(alpha)
        w = np.asarray(w, dtype=np.float64)
        n = len(y)
        divisor = n if mean else 1
        z = X @ w + b
        with np.errstate(all="ignore"):
            if plus_minus_one:  # the loss for labels -1 and 1, used on 0 and 1
                terms = np.logaddexp(0.0, -y * z)
                r = -y * _sigmoid(-y * z)
            elif from_probabilities:
                p = 1 / (1 + np.exp(-z))
                terms = -(y * np.log(p) + (1 - y) * np.log(1 - p))
                r = p - y
            else:
                terms = np.logaddexp(0.0, z) - y * z
                r = residual_sign * (_sigmoid(z) - y)
            factor = 0.5 if penalty_half else 1.0
            penalty = factor * alpha * (w @ w + (b * b if bias_penalty else 0.0))
            loss = float(np.sum(terms) / divisor + penalty)
            grad_w = X.T @ r / divisor + 2 * factor * alpha * w
            grad_b = float(np.sum(r) / divisor + (2 * factor * alpha * b if bias_penalty else 0))
        return loss, grad_w, grad_b

    return variant


def _fit_variant(
    *,
    sign: float = 1.0,
    record_after: bool = False,
    once: bool = False,
    mean: bool = True,
    bias_penalty: bool = False,
    quarter: float = 0.25,
    diagonal: bool = False,
) -> Callable[..., tuple[Array, float, list[float]]]:
    """fit_gd with one mistake switched on (``mean=False``: the steps use sums, n times too
    large, while the losses recorded are still the mean J)."""

    def variant(
        X: Any, y: Any, *, learning_rate: float | None = None, steps: int, alpha: float = 0.0
    ) -> tuple[Array, float, list[float]]:
        X, y = _check_data(X, y)
        _check_fit(learning_rate, steps, alpha)
        gradient = _loss_variant(mean=mean, bias_penalty=bias_penalty)
        objective = _loss_variant(bias_penalty=bias_penalty)
        bound = _bound_rate(X, alpha, quarter, diagonal)
        rate = bound if learning_rate is None else learning_rate
        w, b = np.zeros(X.shape[1]), 0.0
        losses: list[float] = []
        _, first_w, first_b = gradient(w, b, X, y, alpha)
        with np.errstate(all="ignore"):
            for _ in range(steps):
                _, grad_w, grad_b = gradient(w, b, X, y, alpha)
                if once:
                    grad_w, grad_b = first_w, first_b
                if not record_after:
                    losses.append(objective(w, b, X, y, alpha)[0])
                w, b = w - sign * rate * grad_w, b - sign * rate * grad_b
                if record_after:
                    losses.append(objective(w, b, X, y, alpha)[0])
        return w, b, losses

    return variant


def _train_variant(
    *,
    zero_grad: bool = True,
    record_after: bool = False,
    as_tensors: bool = False,
    twice: bool = False,
    probabilities: bool = False,
    fresh_optimizer: bool = False,
) -> Callable[..., list[Any]]:
    """The nn/optim loop with one mistake switched on."""

    def variant(
        model: Any, X: Any, y: Any, *, method: str, learning_rate: float, epochs: int
    ) -> list[Any]:
        import torch
        from torch import nn

        _check_train(method, learning_rate, epochs)
        criterion: Any = nn.BCELoss() if probabilities else nn.BCEWithLogitsLoss()

        def loss_now() -> Any:
            logits = model(X).reshape(-1)
            if twice or probabilities:
                logits = torch.sigmoid(logits)
            return criterion(logits, y)

        optimizer = _optimizer(method, model.parameters(), learning_rate)
        losses: list[Any] = []
        for _ in range(epochs):
            if fresh_optimizer:
                optimizer = _optimizer(method, model.parameters(), learning_rate)
            if zero_grad:
                optimizer.zero_grad()
            loss = loss_now()
            if not record_after:
                losses.append(loss if as_tensors else loss.item())
            loss.backward()
            optimizer.step()
            if record_after:
                with torch.no_grad():
                    losses.append(loss_now().item())
        return losses

    return variant


# ------------------------------------------------------------------ hints

_FROM_LOGITS = (
    "the cross-entropy is computed from probabilities: once sigmoid(o) rounds to exactly 0 "
    "or 1 (|o| above about 37 in float64), log(sigmoid(o)) or log(1 - sigmoid(o)) is "
    "the log of 0 and the loss infinite or nan. Compute it from the logits o = X @ w + b: "
    "log(1 + e^o) - y o = np.logaddexp(0, o) - y * o."
)

SPECS: dict[str, FunctionSpec] = {
    "sigmoid": Spec(
        function="sigmoid",
        probe=probes.PROBES["sigmoid"],
        reference=_sigmoid_reference,
        variants={
            "sigmoid_overflow": _sigmoid_variant("overflow"),
            "sigmoid_sign_error": _sigmoid_variant("sign"),
            "sigmoid_cancellation": _sigmoid_variant("cancellation"),
            "argument_modified_in_place": _sigmoid_variant("in_place"),
        },
        banned=("gdcourse", "scipy", "sklearn", "torch.nn"),
        # relative accuracy down to the smallest normal numbers: sigmoid(-40) = 4e-18 is not 0
        tolerances={"float64": Tolerance(rtol=1e-9, atol=1e-300)},
        # cancellation's results differ from run to run by the rounding of 1 - p itself
        variant_tolerances={"sigmoid_cancellation": Tolerance(rtol=1e-2, atol=1e-300)},
        hint=(
            "sigmoid(o) = 1 / (1 + exp(-o)) for o >= 0 and exp(o) / (1 + exp(o)) for o < 0, "
            "component by component, as a float64 array of o's shape: no inf, no nan and no "
            "rounding to 0 for any o."
        ),
    ),
    "loss_and_grad": Spec(
        function="loss_and_grad",
        probe=probes.PROBES["loss_and_grad"],
        reference=_loss_reference,
        variants={
            "residual_sign_error": _loss_variant(residual_sign=-1.0),
            "sum_instead_of_mean": _loss_variant(mean=False),
            "bias_regularised": _loss_variant(bias_penalty=True),
            "penalty_without_half": _loss_variant(penalty_half=False),
            "labels_plus_minus_one": _loss_variant(plus_minus_one=True),
            "loss_not_from_logits": _loss_variant(from_probabilities=True),
        },
        banned=(
            "gdcourse",
            "scipy",
            "sklearn",
            "torch.nn",
            "torch.autograd",
            "torch.func",
            "jax",
            "autograd",
        ),
        hints={
            "loss_not_from_logits": _FROM_LOGITS,
            "sum_instead_of_mean": "a sum is used where a mean belongs, so the loss and the "
            "gradient are n times too large: J is the mean of the n terms, and its gradient "
            "X^T (sigmoid(o) - y) / n.",
        },
        output_names=("loss", "grad_w", "grad_b"),
        hint=(
            "with o = X @ w + b: loss = mean(np.logaddexp(0, o) - y * o) + alpha / 2 * w @ w; "
            "grad_w = X.T @ (sigmoid(o) - y) / n + alpha * w; grad_b = mean(sigmoid(o) - y); "
            "raise ValueError for labels other than 0 and 1 or alpha < 0."
        ),
    ),
    "fit_gd": Spec(
        function="fit_gd",
        probe=probes.PROBES["fit_gd"],
        reference=_fit_reference,
        variants={
            "uphill_sign_error": _fit_variant(sign=-1.0),
            "losses_after_update": _fit_variant(record_after=True),
            "gradient_outside_loop": _fit_variant(once=True),
            "sum_instead_of_mean": _fit_variant(mean=False),
            "bias_regularised": _fit_variant(bias_penalty=True),
            "smoothness_without_quarter": _fit_variant(quarter=1.0),
            "diagonal_instead_of_eigenvalues": _fit_variant(diagonal=True),
        },
        banned=(
            "gdcourse",
            "scipy",
            "sklearn",
            "torch.nn",
            "torch.optim",
            "torch.autograd",
            "torch.func",
            "jax",
            "autograd",
        ),
        hints={
            "uphill_sign_error": "the update steps uphill: w = w - learning_rate * grad_w and "
            "b = b - learning_rate * grad_b.",
            "sum_instead_of_mean": "a sum is used where a mean belongs: the gradient is "
            "X^T (sigmoid(o) - y) / n and the bias's mean(sigmoid(o) - y), so the steps are "
            "n times too large.",
            "diagonal_instead_of_eigenvalues": "L uses the largest *eigenvalue* of "
            "X1^T X1 (np.linalg.eigvalsh(X1.T @ X1)[-1]), not its largest diagonal entry: "
            "the two agree only when the columns of X1 are orthogonal.",
        },
        output_names=("w", "b", "losses"),
        hint=(
            "start at w = 0, b = 0; without a learning_rate use 1 / L, L = the largest "
            "eigenvalue of X1^T X1 / (4 n) + alpha, X1 = X with a column of ones; at each of "
            "the steps record the loss, then w -= learning_rate * grad_w, "
            "b -= learning_rate * grad_b."
        ),
    ),
    "train_logistic": ObservedSpec(
        function="train_logistic",
        probe=probes.PROBES["train_logistic"],
        reference=_train_reference,
        variants={
            "gradients_not_zeroed": _train_variant(zero_grad=False),
            "losses_after_update": _train_variant(record_after=True),
            "tensors_returned": _train_variant(as_tensors=True),
            "sigmoid_applied_twice": _train_variant(twice=True),
            "loss_not_from_logits": _train_variant(probabilities=True),
            "optimizer_recreated_each_step": _train_variant(fresh_optimizer=True),
        },
        banned=("gdcourse", "sklearn"),
        hints={
            "loss_not_from_logits": "sigmoid followed by nn.BCELoss loses what the logits "
            "knew: once sigmoid(o) rounds to 0 or 1, BCELoss clamps its log at -100 and the "
            "gradient vanishes. Give the logits model(X) to nn.BCEWithLogitsLoss, which "
            "computes log(1 + e^o) - y o stably.",
        },
        hint=(
            "criterion = nn.BCEWithLogitsLoss(); make the optimizer once, before the loop "
            "(SGD, SGD with momentum=0.9, or Adam, with lr=learning_rate); every epoch: "
            "optimizer.zero_grad(); loss = criterion(model(X).reshape(-1), y); record "
            "loss.item(); loss.backward(); optimizer.step()."
        ),
    ),
}
