"""Probes of ``ps7_adaptive``: Nesterov momentum, Adam and a cosine learning-rate schedule.

A descent case names its objective (``"objective"``, a key of :data:`OBJECTIVES`;
the default ``"quadratic"`` is f(x) = 1/2 x^T A x - b^T x with the case's literal
``A`` and ``b``), gives ``start`` (a number, or a list passed as a float64 array
unless ``"start_as": "list"``), ``steps``, the method's options (``momentum``;
``betas`` and ``eps``) and ``learning_rate``: a number, or a schedule described by a
dict (see :func:`schedule_of`) that the probe hands over as a function ``k -> eta_k``:

>>> rate = schedule_of({"step_decay": {"eta0": 0.4, "factor": 0.5, "every": 1}})
>>> [rate(k) for k in range(3)]
[0.4, 0.2, 0.1]

A ``cosine_schedule`` case gives ``eta0``, ``total`` and perhaps ``eta_min``, and
``evaluate_up_to``: the probe calls the returned schedule at ``t = 0, 1, ...,
evaluate_up_to`` and reports the list of what it returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from gdcourse.datasets import thermometer
from gdcourse.grading.probes import Arguments, Case, Probe, make_probe
from gdcourse.grading.probes.ps6_momentum import quadratic_gradient, summarise_descent

__all__ = [
    "OBJECTIVES",
    "PROBES",
    "SCHEDULES",
    "adam_inputs",
    "cosine_inputs",
    "gradient_of",
    "nesterov_inputs",
    "schedule_of",
    "summarise_schedule",
]

OBJECTIVES = ("quadratic", "rosenbrock", "thermometer")
"""The objectives a descent case can name:

* ``quadratic``: f(x) = 1/2 x^T A x - b^T x, with the case's ``A`` (a number in one
  dimension) and ``b`` (default 0);
* ``rosenbrock``: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2;
* ``thermometer``: the mean squared error of the line b + w x / scale on the thermometer
  data (readings divided by the case's ``scale``, default 1: the raw, badly scaled
  readings), as a function of theta = (w, b).
"""

SCHEDULES = ("step_decay", "cosine", "inverse_time")
"""The schedules a ``learning_rate`` dict can name (the closed forms of
:mod:`gdcourse.schedules`, written out here because probes import no teaching code)."""


def _rosenbrock_gradient(
    p: Any,
    _asarray: Any = np.asarray,
    _array: Any = np.array,
    _float64: Any = np.float64,
) -> Any:
    x, y = _asarray(p, dtype=_float64)
    return _array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], dtype=_float64)


def _thermometer_gradient(case: Case) -> Callable[[Any], Any]:
    readings, temperatures = thermometer()
    scale = float(case.get("scale", 1.0))
    X = np.column_stack([readings / scale, np.ones_like(readings)])
    y = np.asarray(temperatures, dtype=np.float64)

    def gradient(
        theta: Any,
        _X: Any = X,
        _y: Any = y,
        _n: int = len(y),
        _asarray: Any = np.asarray,
        _float64: Any = np.float64,
        _matmul: Any = np.matmul,
    ) -> Any:
        residual = _matmul(_X, _asarray(theta, dtype=_float64)) - _y
        return 2 * _matmul(_X.T, residual) / _n

    return gradient


def gradient_of(case: Case) -> Callable[[Any], Any]:
    """The gradient of the case's objective, a fresh float64 array at each call.
    Everything it calls is bound when it is made."""
    name = case.get("objective", "quadratic")
    if name not in OBJECTIVES:
        raise ValueError(f"case objective must be one of {', '.join(OBJECTIVES)}, got {name!r}")
    if name == "rosenbrock":
        return _rosenbrock_gradient
    if name == "thermometer":
        return _thermometer_gradient(case)
    return quadratic_gradient(case)


def schedule_of(description: Mapping[str, Any]) -> Callable[[int], float]:
    """The schedule a case's ``learning_rate`` dict describes (one key, the schedule's name,
    whose value holds its parameters), as a function of ``k >= 0``:

    * ``{"step_decay": {"eta0", "factor", "every"}}``: eta0 * factor ** (k // every)
      (PyTorch's ``StepLR``);
    * ``{"cosine": {"eta0", "total", "eta_min" (default 0)}}``: half a cosine from eta0
      down to eta_min over ``total`` steps, then eta_min;
    * ``{"inverse_time": {"eta0", "decay"}}``: eta0 / (1 + decay * k).

    >>> rate = schedule_of({"cosine": {"eta0": 1.0, "total": 2}})
    >>> [rate(k) for k in range(4)]
    [1.0, 0.5, 0.0, 0.0]
    """
    if len(description) != 1 or next(iter(description)) not in SCHEDULES:
        raise ValueError(
            f"learning_rate must name one schedule of {', '.join(SCHEDULES)}, got {description!r}"
        )
    kind, parameters = next(iter(description.items()))
    eta0 = float(parameters["eta0"])
    if kind == "step_decay":

        def step_decay(
            k: int,
            _eta0: float = eta0,
            _factor: float = float(parameters["factor"]),
            _every: int = int(parameters["every"]),
        ) -> float:
            return _eta0 * _factor ** (k // _every)

        return step_decay
    if kind == "cosine":

        def cosine(
            k: int,
            _eta0: float = eta0,
            _low: float = float(parameters.get("eta_min", 0.0)),
            _total: int = int(parameters["total"]),
            _cos: Callable[[float], float] = math.cos,
            _pi: float = math.pi,
            _min: Any = min,
        ) -> float:
            return _low + (_eta0 - _low) * (1 + _cos(_pi * _min(k, _total) / _total)) / 2

        return cosine

    def inverse_time(
        k: int, _eta0: float = eta0, _decay: float = float(parameters["decay"])
    ) -> float:
        return _eta0 / (1 + _decay * k)

    return inverse_time


def _learning_rate(case: Case) -> Any:
    value = case["learning_rate"]
    return schedule_of(value) if isinstance(value, Mapping) else value


def _descent_inputs(case: Case, options: tuple[str, ...]) -> Arguments:
    """``fn(gradient, start, learning_rate=..., steps=..., **options)``; an array start is
    watched (changing the caller's start point in place is a mistake)."""
    literal = case["start"]
    start: Any
    if isinstance(literal, list):
        as_list = case.get("start_as", "array") == "list"
        start = list(literal) if as_list else np.array(literal, dtype=np.float64)
    else:
        start = float(literal)
    kwargs: dict[str, Any] = {"learning_rate": _learning_rate(case), "steps": case["steps"]}
    for key in options:
        if key in case:
            kwargs[key] = tuple(case[key]) if key == "betas" else case[key]
    watched = {"start": start} if isinstance(start, np.ndarray) else {}
    return Arguments(args=(gradient_of(case), start), kwargs=kwargs, watched=watched)


def nesterov_inputs(case: Case) -> Arguments:
    """``nesterov_momentum(gradient, start, learning_rate=..., steps=..[, momentum=..])``."""
    return _descent_inputs(case, ("momentum",))


def adam_inputs(case: Case) -> Arguments:
    """``adam(gradient, start, learning_rate=..., steps=..[, betas=..][, eps=..])``."""
    return _descent_inputs(case, ("betas", "eps"))


def cosine_inputs(case: Case) -> Arguments:
    """``cosine_schedule(eta0, total=..[, eta_min=..])``."""
    kwargs = {key: case[key] for key in ("total", "eta_min") if key in case}
    return Arguments(args=(case["eta0"],), kwargs=kwargs)


def summarise_schedule(result: Any, case: Case) -> Any:
    """``[schedule(t) for t in 0..evaluate_up_to]`` as they came back, when ``result`` is
    callable; anything else as it came (the judge says it is no function)."""
    if not callable(result):
        return result
    return [result(t) for t in range(int(case["evaluate_up_to"]) + 1)]


PROBES: dict[str, Probe] = {
    "cosine_schedule": make_probe(cosine_inputs, summarise_schedule),
    "nesterov_momentum": make_probe(nesterov_inputs, summarise_descent),
    "adam": make_probe(adam_inputs, summarise_descent),
}
