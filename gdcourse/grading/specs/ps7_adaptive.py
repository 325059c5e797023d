"""Judge data of ``ps7_adaptive``: Nesterov momentum, Adam and a cosine schedule.

The public references are PyTorch's own: ``torch.optim.SGD(nesterov=True)``,
``torch.optim.Adam`` (under ``torch.optim.lr_scheduler.LambdaLR`` when the learning
rate is a schedule) and ``torch.optim.lr_scheduler.CosineAnnealingLR``, run in float64
on the probe's gradient (no autograd: the gradient is written into ``.grad``). The
student may use none of them (see :mod:`gdcourse.grading.shortcuts`).

Two of PyTorch's conventions differ from those of the book's chapter *Nesterov momentum
and Adam*, and the references translate them:

* PyTorch's Nesterov keeps a buffer (the book's tilde v_k) that is *subtracted*, multiplied by the
  current rate at each step, and its parameter is the look-ahead point
  ``x_k + momentum * v_k``. Fed the gradient already multiplied by ``eta_k`` and run
  with ``lr=1``, its buffer is exactly ``-v`` of the book's velocity under any schedule,
  and ``x_k = x~_k + momentum * v~_k`` (the book's tilde x_k and tilde v_k for PyTorch's
  parameter and buffer).
* ``CosineAnnealingLR`` rises again after ``T_max`` steps; the schedule asked for here
  stays at ``eta_min``.

>>> from gdcourse.grading.probes.ps7_adaptive import adam_inputs
>>> case = {"A": [[1.0, 0.0], [0.0, 1000.0]], "b": [0.0, 0.0], "start": [1.0, 1.0],
...         "learning_rate": 0.1, "steps": 1}
>>> arguments = adam_inputs(case)
>>> x, path = SPECS["adam"].reference(*arguments.args, **arguments.kwargs)
>>> np.round(x, 6).tolist()
[0.9, 0.9]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdcourse.grading.framework import FunctionSpec, Spec
from gdcourse.grading.probes import ps7_adaptive as probes

__all__ = ["SPECS"]

Array = NDArray[np.float64]
Gradient = Callable[[Any], Any]
LearningRate = float | Callable[[int], float]


def _rates(learning_rate: LearningRate) -> Callable[[int], float]:
    if callable(learning_rate):
        return learning_rate
    return lambda k: learning_rate


def _check_common(learning_rate: LearningRate, steps: int) -> None:
    if not callable(learning_rate) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 or a schedule, got {learning_rate!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps!r}")


def _check_nesterov(learning_rate: LearningRate, momentum: float, steps: int) -> None:
    _check_common(learning_rate, steps)
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")


def _check_adam(
    learning_rate: LearningRate, betas: tuple[float, float], eps: float, steps: int
) -> tuple[float, float]:
    _check_common(learning_rate, steps)
    beta1, beta2 = betas
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"betas must both be in [0, 1), got {betas!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps!r}")
    return beta1, beta2


def _check_cosine(eta0: float, total: int, eta_min: float) -> None:
    if not eta0 > 0:
        raise ValueError(f"eta0 must be > 0, got {eta0!r}")
    if total < 1:
        raise ValueError(f"total must be >= 1, got {total!r}")
    if not 0 <= eta_min < eta0:
        raise ValueError(f"eta_min must be in [0, eta0), got {eta_min!r}")


def _gradient(gradient: Gradient, x: Array) -> Array:
    return np.asarray(gradient(x.copy()), dtype=np.float64)


# ------------------------------------------------------------------ references: torch.optim


def _parameter(start: Any) -> Any:
    import torch

    return torch.tensor(np.array(start, dtype=np.float64), requires_grad=True)


def _set_gradient(parameter: Any, value: Array) -> None:
    import torch

    parameter.grad = torch.as_tensor(np.asarray(value, dtype=np.float64)).reshape(parameter.shape)


def _nesterov_reference(
    gradient: Gradient,
    start: Any,
    *,
    learning_rate: LearningRate,
    momentum: float = 0.9,
    steps: int,
) -> tuple[Array, list[Array]]:
    """``torch.optim.SGD(lr=1, momentum=momentum, nesterov=True)`` fed ``eta_k * gradient``;
    the book's iterates are its parameter plus ``momentum`` times its buffer."""
    import torch

    _check_nesterov(learning_rate, momentum, steps)
    rate = _rates(learning_rate)
    p = _parameter(start)
    if momentum > 0:
        optimizer = torch.optim.SGD([p], lr=1.0, momentum=momentum, nesterov=True)
    else:  # PyTorch refuses nesterov=True without momentum; it is plain gradient descent
        optimizer = torch.optim.SGD([p], lr=1.0)
    path = [p.detach().numpy().copy()]
    for k in range(steps):
        _set_gradient(p, rate(k) * _gradient(gradient, p.detach().numpy()))
        optimizer.step()
        x = p.detach().numpy().copy()
        if momentum > 0:
            x = x + momentum * optimizer.state[p]["momentum_buffer"].numpy()
        path.append(x)
    return path[-1].copy(), path


def _adam_reference(
    gradient: Gradient,
    start: Any,
    *,
    learning_rate: LearningRate,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    steps: int,
) -> tuple[Array, list[Array]]:
    """``torch.optim.Adam``; a schedule is applied by ``LambdaLR`` (base rate 1), stepped
    after each update as PyTorch asks."""
    import torch

    beta1, beta2 = _check_adam(learning_rate, betas, eps, steps)
    p = _parameter(start)
    scheduler = None
    if callable(learning_rate):
        optimizer = torch.optim.Adam([p], lr=1.0, betas=(beta1, beta2), eps=eps)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda k: float(learning_rate(k)))
    else:
        optimizer = torch.optim.Adam([p], lr=learning_rate, betas=(beta1, beta2), eps=eps)
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        _set_gradient(p, _gradient(gradient, p.detach().numpy()))
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        path.append(p.detach().numpy().copy())
    return path[-1].copy(), path


def _cosine_reference(eta0: float, *, total: int, eta_min: float = 0.0) -> Callable[[int], float]:
    """The rates of ``CosineAnnealingLR(T_max=total, eta_min=eta_min)`` for
    ``t <= total``, then ``eta_min``."""
    import torch

    _check_cosine(eta0, total, eta_min)
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=eta0)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total, eta_min=eta_min)
    rates = [float(optimizer.param_groups[0]["lr"])]
    for _ in range(total):
        optimizer.step()  # no gradient: nothing moves, but PyTorch sees the right order
        scheduler.step()
        rates.append(float(optimizer.param_groups[0]["lr"]))

    def schedule(t: int) -> float:
        return rates[t] if t < total else float(eta_min)

    return schedule


# ------------------------------------------------------------------ wrong variants


def _nesterov_variant(
    *,
    sign: float = 1.0,
    lookahead: float = 1.0,
    torch_form: bool = False,
    shift: int = 0,
    start_in_path: bool = True,
    copy_start: bool = True,
    copy_path: bool = True,
    on_gradient: bool = False,
) -> Callable[..., tuple[Any, list[Any]]]:
    """Nesterov's loop with one mistake switched on. ``lookahead`` multiplies
    ``momentum * v`` in the point where the gradient is taken (1 is right)."""

    def variant(
        gradient: Gradient,
        start: Any,
        *,
        learning_rate: LearningRate,
        momentum: float = 0.9,
        steps: int,
    ) -> tuple[Any, list[Any]]:
        _check_nesterov(learning_rate, momentum, steps)
        rate = _rates(learning_rate)
        x = np.array(start, dtype=float) if copy_start else np.asarray(start, dtype=float)
        v = np.zeros_like(x)
        path = [x.copy() if copy_path else x] if start_in_path else []
        for k in range(steps):
            if torch_form:  # PyTorch's SGD(nesterov=True): x is the look-ahead point
                g = _gradient(gradient, x)
                v = momentum * v + g
                x = x - rate(k) * (g + momentum * v)
            else:
                g = _gradient(gradient, x + lookahead * momentum * v)
                if on_gradient:  # the momentum scales the gradient, v keeps no memory
                    v = -rate(k + shift) * momentum * g
                else:
                    v = momentum * v - sign * rate(k + shift) * g
                if copy_start and copy_path:
                    x = x + v
                else:
                    x += v
            path.append(x.copy() if copy_path else x)
        return x, path

    return variant


def _adam_variant(
    *,
    correct_bias: bool = True,
    count_from: int = 1,
    eps_inside: bool = False,
    swap: bool = False,
    square: bool = True,
    shift: int = 0,
    sign: float = 1.0,
    start_in_path: bool = True,
    copy_path: bool = True,
    gradient_once: bool = False,
) -> Callable[..., tuple[Any, list[Any]]]:
    """Adam's loop with one mistake switched on."""

    def variant(
        gradient: Gradient,
        start: Any,
        *,
        learning_rate: LearningRate,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        steps: int,
    ) -> tuple[Any, list[Any]]:
        beta1, beta2 = _check_adam(learning_rate, betas, eps, steps)
        if swap:
            beta1, beta2 = beta2, beta1
        rate = _rates(learning_rate)
        x = np.array(start, dtype=float)
        m = np.zeros_like(x)
        s = np.zeros_like(x)
        path = [x.copy() if copy_path else x] if start_in_path else []
        first = _gradient(gradient, x)
        with np.errstate(all="ignore"):
            for k in range(steps):
                g = first if gradient_once else _gradient(gradient, x)
                m = beta1 * m + (1 - beta1) * g
                s = beta2 * s + (1 - beta2) * (g * g if square else g)
                t = k + count_from
                m_hat = m / (1 - beta1**t) if correct_bias else m
                s_hat = s / (1 - beta2**t) if correct_bias else s
                denominator = np.sqrt(s_hat + eps) if eps_inside else np.sqrt(s_hat) + eps
                step = sign * rate(k + shift) * m_hat / denominator
                if copy_path:
                    x = x - step
                else:
                    x -= step
                path.append(x.copy() if copy_path else x)
        return x, path

    return variant


def _cosine_variant(
    *, shift: int = 0, half_shift: bool = True, clamp: bool = True
) -> Callable[..., Callable[[int], float]]:
    """The cosine schedule with one mistake switched on."""

    def variant(eta0: float, *, total: int, eta_min: float = 0.0) -> Callable[[int], float]:
        _check_cosine(eta0, total, eta_min)

        def schedule(t: int) -> float:
            step = min(t + shift, total) if clamp else t + shift
            factor = math.cos(math.pi * step / total)
            return eta_min + (eta0 - eta_min) * ((1 + factor) / 2 if half_shift else factor)

        return schedule

    return variant


# ------------------------------------------------------------------ hints

_SCHEDULE_IN_LOOP = (
    "the learning rates are shifted by one: update k (k = 0, 1, ...) uses "
    "learning_rate(k), so the first update uses learning_rate(0). Calling the schedule "
    "with k + 1 (or PyTorch's scheduler.step() before optimizer.step()) skips the first rate."
)

_NESTEROV_HINTS = {
    "uphill_sign_error": "the update steps uphill: the velocity subtracts the scaled "
    "gradient, v = momentum * v - rate * gradient(x + momentum * v), then x = x + v.",
    "schedule_before_step": _SCHEDULE_IN_LOOP,
}

_ADAM_HINTS = {
    "uphill_sign_error": "the update steps uphill: Adam subtracts the scaled average "
    "gradient, x = x - rate * m_hat / (np.sqrt(s_hat) + eps).",
    "schedule_before_step": _SCHEDULE_IN_LOOP,
}

_COSINE_HINTS = {
    "schedule_before_step": "the schedule is shifted by one step: schedule(0) must be eta0, "
    "the rate of the very first update; the cosine's argument is pi * t / total, not "
    "pi * (t + 1) / total.",
}


SPECS: dict[str, FunctionSpec] = {
    "cosine_schedule": Spec(
        function="cosine_schedule",
        probe=probes.PROBES["cosine_schedule"],
        reference=_cosine_reference,
        variants={
            "schedule_before_step": _cosine_variant(shift=1),
            "cosine_without_half_shift": _cosine_variant(half_shift=False),
            "cosine_not_clamped": _cosine_variant(clamp=False),
        },
        banned=("gdcourse", "torch.optim"),
        hints=_COSINE_HINTS,
        hint=(
            "cosine_schedule returns a function of t: eta_min + (eta0 - eta_min) * "
            "(1 + cos(pi * min(t, total) / total)) / 2, a number for every t >= 0; raise "
            "ValueError for eta0 <= 0, total < 1 or eta_min outside [0, eta0)."
        ),
    ),
    "nesterov_momentum": Spec(
        function="nesterov_momentum",
        probe=probes.PROBES["nesterov_momentum"],
        reference=_nesterov_reference,
        variants={
            "gradient_not_at_lookahead": _nesterov_variant(lookahead=0.0),
            "lookahead_sign_error": _nesterov_variant(lookahead=-1.0),
            "lookahead_points_returned": _nesterov_variant(torch_form=True),
            "schedule_before_step": _nesterov_variant(shift=1),
            "uphill_sign_error": _nesterov_variant(sign=-1.0),
            "start_missing_from_path": _nesterov_variant(start_in_path=False),
            "argument_modified_in_place": _nesterov_variant(copy_start=False),
            "path_not_copied": _nesterov_variant(copy_path=False),
            "momentum_on_gradient": _nesterov_variant(on_gradient=True),
        },
        banned=("gdcourse", "torch.optim", "torch.nn"),
        hints=_NESTEROV_HINTS,
        output_names=("x", "path"),
        hint=(
            "follow the update in the text: v starts at zero; at update k, with rate = "
            "learning_rate(k) for a schedule, v = momentum * v - rate * gradient(x + momentum "
            "* v) and x = x + v; path holds the start and then a copy of x after every update."
        ),
    ),
    "adam": Spec(
        function="adam",
        probe=probes.PROBES["adam"],
        reference=_adam_reference,
        variants={
            "bias_correction_missing": _adam_variant(correct_bias=False),
            "bias_correction_from_zero": _adam_variant(count_from=0),
            "epsilon_inside_sqrt": _adam_variant(eps_inside=True),
            "betas_swapped": _adam_variant(swap=True),
            "second_moment_not_squared": _adam_variant(square=False),
            "schedule_before_step": _adam_variant(shift=1),
            "uphill_sign_error": _adam_variant(sign=-1.0),
            "start_missing_from_path": _adam_variant(start_in_path=False),
            "path_not_copied": _adam_variant(copy_path=False),
            "gradient_outside_loop": _adam_variant(gradient_once=True),
        },
        banned=("gdcourse", "torch.optim", "torch.nn"),
        hints=_ADAM_HINTS,
        output_names=("x", "path"),
        hint=(
            "follow the update in the text: m and s start at zero; at update k = 0, 1, ... "
            "m = beta1 * m + (1 - beta1) * g, s = beta2 * s + (1 - beta2) * g**2, "
            "m_hat = m / (1 - beta1**(k + 1)), s_hat = s / (1 - beta2**(k + 1)), "
            "x = x - rate * m_hat / (np.sqrt(s_hat) + eps); path holds the start and every x."
        ),
    ),
}
