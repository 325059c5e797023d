r"""Learning-rate schedules: the learning rate :math:`\eta_t` as a function of a step count.

A schedule is a function of one integer ``t >= 0`` that returns a learning rate ``>= 0``
(zero only where a cosine schedule ends).
Whether ``t`` counts updates or epochs is the caller's choice:
:func:`gdcourse.optimizers.minibatch_sgd` calls it once per epoch, as PyTorch's
``torch.optim.lr_scheduler`` classes are stepped once per epoch; the descent methods of
:mod:`gdcourse.optimizers` call it once per update.

Each schedule here is written in closed form and agrees with its PyTorch counterpart
(``StepLR``, ``LambdaLR``, ``CosineAnnealingLR``), which the tests check.

>>> schedule = step_decay(0.1, factor=0.5, every=10)
>>> [schedule(t) for t in (0, 9, 10, 25)]
[0.1, 0.1, 0.05, 0.025]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from gdcourse import _checks

__all__ = ["Schedule", "constant", "cosine", "inverse_time", "step_decay"]

#: A learning-rate schedule: step count ``t >= 0`` to learning rate ``>= 0``.
Schedule = Callable[[int], float]


def _step(t: Any) -> int:
    return _checks.non_negative_int("t", t)


def constant(eta0: float) -> Schedule:
    r"""The same learning rate at every step, :math:`\eta_t = \eta_0`.

    >>> constant(0.1)(1000)
    0.1
    """
    eta = _checks.positive_float("eta0", eta0)

    def schedule(t: int) -> float:
        _step(t)
        return eta

    return schedule


def step_decay(eta0: float, *, factor: float, every: int) -> Schedule:
    r"""Multiply the learning rate by ``factor`` every ``every`` steps.

    :math:`\eta_t = \eta_0\, \gamma^{\lfloor t / s \rfloor}` with :math:`\gamma` = ``factor``
    in (0, 1] and :math:`s` = ``every``: PyTorch's ``StepLR(step_size=s, gamma=γ)``.

    >>> [step_decay(1.0, factor=0.1, every=2)(t) for t in range(5)]
    [1.0, 1.0, 0.1, 0.1, 0.010000000000000002]
    """
    eta = _checks.positive_float("eta0", eta0)
    gamma = _checks.positive_float("factor", factor)
    if gamma > 1:
        raise ValueError(f"factor must be in (0, 1] (a decay), got {factor!r}")
    period = _checks.positive_int("every", every)

    def schedule(t: int) -> float:
        return eta * gamma ** (_step(t) // period)

    return schedule


def inverse_time(eta0: float, *, decay: float) -> Schedule:
    r"""Decay like :math:`1/t`: :math:`\eta_t = \eta_0 / (1 + c\,t)` with :math:`c` = ``decay``.

    The sum of these rates diverges while the sum of their squares converges, the
    classic condition (Robbins and Monro, 1951) under which stochastic gradient descent
    converges to a minimiser instead of hovering around it.

    >>> [inverse_time(1.0, decay=1.0)(t) for t in range(4)]
    [1.0, 0.5, 0.3333333333333333, 0.25]
    """
    eta = _checks.positive_float("eta0", eta0)
    c = _checks.real_number("decay", decay)
    if c < 0:
        raise ValueError(f"decay must be >= 0, got {decay!r}")

    def schedule(t: int) -> float:
        return eta / (1 + c * _step(t))

    return schedule


def cosine(eta0: float, *, total: int, eta_min: float = 0.0) -> Schedule:
    r"""Half a cosine from ``eta0`` down to ``eta_min`` over ``total`` steps, then flat.

    :math:`\eta_t = \eta_{\min} + \tfrac12 (\eta_0 - \eta_{\min})(1 + \cos(\pi t / T))`
    for :math:`t \le T`: PyTorch's ``CosineAnnealingLR(T_max=T, eta_min=...)``. After
    :math:`T` steps the rate stays at ``eta_min`` (PyTorch's would rise again). With the
    default ``eta_min=0`` the rate at step ``total`` is 0, so the last update does nothing.

    >>> schedule = cosine(1.0, total=4)
    >>> [round(schedule(t), 4) for t in range(6)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """
    eta = _checks.positive_float("eta0", eta0)
    horizon = _checks.positive_int("total", total)
    low = _checks.real_number("eta_min", eta_min)
    if not 0 <= low < eta:
        raise ValueError(f"eta_min must be in [0, eta0) = [0, {eta!r}), got {eta_min!r}")

    def schedule(t: int) -> float:
        fraction = min(_step(t), horizon) / horizon
        return low + (eta - low) * (1 + math.cos(math.pi * fraction)) / 2

    return schedule
