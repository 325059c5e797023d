"""Judge data of ``ps3_linear_regression``: a straight line fitted with NumPy.

The cases and how the functions are called on them are described in
:mod:`gdcourse.grading.probes.ps3_linear_regression`; the references come from
:mod:`gdcourse.objectives`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gdcourse import objectives
from gdcourse.grading.framework import FunctionSpec, Spec
from gdcourse.grading.probes import ps3_linear_regression as probes

__all__ = ["SPECS"]

NO_SHORTCUTS = (
    "gdcourse",
    "numpy.polyfit",
    "numpy.polynomial",
    "numpy.linalg.lstsq",
    "numpy.linalg.solve",
    "numpy.linalg.pinv",
    "numpy.linalg.inv",
    "sklearn",
    "scipy",
    "torch.autograd",
    "torch.optim",
    "torch.nn",
)


def _arrays(function: Any) -> Any:
    """``function`` with its two data arguments made float64 arrays first: the graded functions
    take array_like data (lists too), the library's formulas arrays."""

    def on_arrays(first: Any, second: Any, *rest: Any, **options: Any) -> Any:
        first = np.asarray(first, dtype=np.float64)
        if not isinstance(second, int | float):
            second = np.asarray(second, dtype=np.float64)
        return function(first, second, *rest, **options)

    return on_arrays


# ------------------------------------------------------------------ predict


def _predict_swapped(x: Any, w: float, b: float) -> Any:
    return w + b * np.asarray(x)


def _predict_in_place(x: Any, w: float, b: float) -> Any:
    x *= w
    x += b
    return x


# ------------------------------------------------------------------ mse


def _mse_reference(y_pred: Any, y: Any) -> float:
    return float(objectives.mse(np.asarray(y_pred), np.asarray(y)))


def _mse_sum(y_pred: Any, y: Any) -> float:
    return float(np.sum((np.asarray(y_pred) - np.asarray(y)) ** 2))


def _mse_in_place(y_pred: Any, y: Any) -> float:
    y_pred -= y
    y_pred **= 2
    return float(np.mean(y_pred))


# ------------------------------------------------------------------ mse_gradient


def _wrong_gradient(
    *, factor: float = 2.0, mean: bool = True, swap: bool = False, sign: float = 1.0
) -> Any:
    def gradient(x: Any, y: Any, w: float, b: float) -> tuple[float, float]:
        x, y = np.asarray(x), np.asarray(y)
        residual = b + w * x - y
        reduce = np.mean if mean else np.sum
        dw = sign * factor * float(reduce(residual * x))
        db = sign * factor * float(reduce(residual))
        return (db, dw) if swap else (dw, db)

    return gradient


def _gradient_in_place(x: Any, y: Any, w: float, b: float) -> tuple[float, float]:
    y -= b + w * x  # y now holds minus the residual
    return float(-2 * np.mean(y * x)), float(-2 * np.mean(y))


# ------------------------------------------------------------------ fit


def _fitter(
    *,
    gradient: Any = objectives.mse_gradient,
    sign: float = 1.0,
    record_after: bool = False,
    gradient_once: bool = False,
    in_place: bool = False,
) -> Any:
    def fit(
        x: Any,
        y: Any,
        learn_rate: float,
        epochs: int,
        w0: float = 0.0,
        b0: float = 0.0,
    ) -> tuple[float, float, list[float]]:
        w, b = float(w0), float(b0)
        losses: list[float] = []
        dw, db = gradient(x, y, w, b)
        for _ in range(epochs):
            if in_place:
                prediction = x
                prediction *= w
                prediction += b
            else:
                prediction = b + w * np.asarray(x)
            loss = float(np.mean((prediction - y) ** 2))
            if not record_after:
                losses.append(loss)
            if not gradient_once:
                dw, db = gradient(x, y, w, b)
            w -= sign * learn_rate * dw
            b -= sign * learn_rate * db
            if record_after:
                losses.append(float(np.mean((b + w * np.asarray(x) - y) ** 2)))
        return w, b, losses

    return fit


def _plain_gradient(x: Any, y: Any, w: float, b: float) -> tuple[float, float]:
    residual = b + w * np.asarray(x) - np.asarray(y)
    return float(2 * np.mean(residual * x)), float(2 * np.mean(residual))


SPECS: dict[str, FunctionSpec] = {
    "predict": Spec(
        function="predict",
        probe=probes.PROBES["predict"],
        reference=_arrays(objectives.linear_model),
        variants={
            "dw_db_swapped": _predict_swapped,
            "argument_modified_in_place": _predict_in_place,
        },
        banned=NO_SHORTCUTS,
        hint="predict returns b + w * x for every element of x, as a new array.",
    ),
    "mse": Spec(
        function="mse",
        probe=probes.PROBES["mse"],
        reference=_mse_reference,
        variants={
            "sum_instead_of_mean": _mse_sum,
            "argument_modified_in_place": _mse_in_place,
        },
        banned=NO_SHORTCUTS,
        hint="mse is the mean over all samples of (y_pred - y) ** 2, returned as a float.",
    ),
    "mse_gradient": Spec(
        function="mse_gradient",
        probe=probes.PROBES["mse_gradient"],
        reference=_arrays(objectives.mse_gradient),
        variants={
            "mse_gradient_missing_factor_2": _wrong_gradient(factor=1.0),
            "sum_instead_of_mean": _wrong_gradient(mean=False),
            "dw_db_swapped": _wrong_gradient(swap=True),
            "uphill_sign_error": _wrong_gradient(sign=-1.0),
            "argument_modified_in_place": _gradient_in_place,
        },
        banned=NO_SHORTCUTS,
        hint="with r = b + w x - y: dw = 2 mean(r x) and db = 2 mean(r); return (dw, db).",
        output_names=("dw", "db"),
    ),
    "fit": Spec(
        function="fit",
        probe=probes.PROBES["fit"],
        reference=_arrays(_fitter()),
        variants={
            "uphill_sign_error": _fitter(sign=-1.0),
            "losses_after_update": _fitter(record_after=True),
            "gradient_outside_loop": _fitter(gradient_once=True),
            "mse_gradient_missing_factor_2": _fitter(gradient=_wrong_gradient(factor=1.0)),
            "sum_instead_of_mean": _fitter(gradient=_wrong_gradient(mean=False)),
            "dw_db_swapped": _fitter(gradient=_wrong_gradient(swap=True)),
            "argument_modified_in_place": _fitter(gradient=_plain_gradient, in_place=True),
        },
        banned=NO_SHORTCUTS,
        hint="each epoch: record the MSE at (w, b), compute (dw, db) there, then "
        "w -= learn_rate * dw and b -= learn_rate * db.",
        output_names=("w", "b", "losses"),
    ),
}
