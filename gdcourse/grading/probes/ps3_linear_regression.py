"""Probes of ``ps3_linear_regression``: a straight line fitted to the thermometer data.

Cases give the data either as lists (``"x"``, ``"y"``) or by name
(``"data": "thermometer"``, optionally ``"x_scale"`` to rescale the inputs). Every
array the function gets is a fresh float64 array, watched for changes in place.

>>> x, y = case_data({"data": "thermometer", "x_scale": 0.5})
>>> x.shape == y.shape, x.dtype
(True, dtype('float64'))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdcourse.datasets import thermometer
from gdcourse.grading.probes import Arguments, Case, Probe, make_probe

__all__ = [
    "PROBES",
    "case_data",
    "fit_inputs",
    "gradient_inputs",
    "mse_inputs",
    "predict_inputs",
]


def _as_given(case: Case, value: np.ndarray[Any, Any]) -> Any:
    """``value``, or with ``"x_as": "list"`` a list of Python floats (the functions take
    array_like inputs)."""
    return [float(v) for v in value] if case.get("x_as") == "list" else value


def case_data(case: Case) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The case's ``(x, y)`` as fresh float64 arrays."""
    if "data" in case:
        if case["data"] != "thermometer":
            raise ValueError(f"case data must be 'thermometer', got {case['data']!r}")
        x, y = thermometer()
        return x * float(case.get("x_scale", 1.0)), y
    return np.array(case["x"], dtype=np.float64), np.array(case["y"], dtype=np.float64)


def predict_inputs(case: Case) -> Arguments:
    """``predict(x, w, b)``."""
    x = np.array(case["x"], dtype=np.float64)
    return Arguments((_as_given(case, x), case["w"], case["b"]), watched={"x": x})


def mse_inputs(case: Case) -> Arguments:
    """``mse(y_pred, y)``."""
    y_pred = np.array(case["y_pred"], dtype=np.float64)
    y = np.array(case["y"], dtype=np.float64)
    return Arguments((y_pred, y), watched={"y_pred": y_pred, "y": y})


def gradient_inputs(case: Case) -> Arguments:
    """``mse_gradient(x, y, w, b)``."""
    x, y = case_data(case)
    given = (_as_given(case, x), _as_given(case, y))
    return Arguments((*given, case["w"], case["b"]), watched={"x": x, "y": y})


def fit_inputs(case: Case) -> Arguments:
    """``fit(x, y, learn_rate, epochs[, w0=..., b0=...])``."""
    x, y = case_data(case)
    kwargs = {k: case[k] for k in ("w0", "b0") if k in case}
    given = (_as_given(case, x), _as_given(case, y))
    return Arguments(
        (*given, case["learn_rate"], case["epochs"]), kwargs=kwargs, watched={"x": x, "y": y}
    )


PROBES: dict[str, Probe] = {
    "predict": make_probe(predict_inputs),
    "mse": make_probe(mse_inputs),
    "mse_gradient": make_probe(gradient_inputs),
    "fit": make_probe(fit_inputs),
}
