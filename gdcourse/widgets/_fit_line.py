"""Demo 3: fit a line to the thermometer data by hand, or a gradient step at a time."""

from __future__ import annotations

from typing import Any

import numpy as np

from gdcourse import objectives as obj
from gdcourse.datasets import thermometer
from gdcourse.plotting import loss_grid
from gdcourse.widgets._base import Demo, fmt, readonly
from gdcourse.widgets._controls import Button, FloatLogSlider, FloatSlider
from gdcourse.widgets._scene import contour_scene

__all__ = ["fit_line"]

W_RANGE = (-1.0, 2.0)
B_RANGE = (-40.0, 20.0)
STEPS = {"w": 1e-3, "b": 1e-2}
#: The x-range of the data plot, where the line is drawn.
X_RANGE = (15.0, 90.0)


class _FitLine(Demo):
    DESCRIPTION = (
        "Left: the thermometer data (degrees Celsius against the unknown unit) with the line "
        "y = b + wx and its residuals; right: contour lines of the mean squared error over "
        "(w, b) with the current point and the gradient steps taken."
    )
    SCRIPT = "fit_line.js"

    def __init__(self, *, w: float, b: float, learning_rate: float) -> None:
        x, y = thermometer()
        self._x, self._y = x, y
        (w_best,), b_best = obj.least_squares(x, y)
        self._best = (float(w_best), float(b_best))
        self._best_mse = float(obj.mse(obj.linear_model(x, *self._best), y))
        controls = {
            "w": FloatSlider(value=w, min=W_RANGE[0], max=W_RANGE[1], step=STEPS["w"],
                             description="slope w"),
            "b": FloatSlider(value=b, min=B_RANGE[0], max=B_RANGE[1], step=STEPS["b"],
                             description="intercept b"),
            "learning_rate": FloatLogSlider(value=learning_rate, min=-6, max=-3,
                                            description="learning rate η"),
            "step": Button(description="one gradient step", tooltip="(w, b) ← (w, b) − η ∇MSE"),
            "reset": Button(description="reset", tooltip="back to the first (w, b)"),
        }  # fmt: skip
        grid_w, grid_b, loss = loss_grid(x, y, W_RANGE, B_RANGE)
        low = max(float(loss.min()), 1e-6)
        scene = {
            "x": x.tolist(),
            "y": y.tolist(),
            "x_range": list(X_RANGE),
            "w_range": list(W_RANGE),
            "b_range": list(B_RANGE),
            "best": [*self._best, self._best_mse],
            "initial": [w, b],
            "contours": contour_scene(
                grid_w, grid_b, loss, np.geomspace(low, float(loss.max()), 25),
                (W_RANGE, B_RANGE),
            ),
        }  # fmt: skip
        rows = [["w", "b"], ["learning_rate", "step", "reset"]]
        super().__init__("fit-line", controls, rows=rows, scene=scene)
        self._initial = (w, b)
        self._params = (w, b)  # exact; the sliders show it to their resolution
        self._trail: list[tuple[float, float]] = [(w, b)]
        self._last_step = ""
        self._guarded(self._refresh)

    def _changed(self, name: str) -> None:
        """A slider moved. For ``w`` and ``b``: by the student, or by a value we set.

        The demo keeps the exact ``(w, b)`` itself. A value within half a slider
        step of it is the slider showing a value we set and is ignored, so
        gradient steps smaller than the sliders' resolution still accumulate.
        """
        if name in ("w", "b"):
            index = 0 if name == "w" else 1
            new = float(self.controls[name].value)
            if abs(new - self._params[index]) <= STEPS[name] / 2 + 1e-12:
                return
            params = list(self._params)
            params[index] = new
            self._params = (params[0], params[1])
            self._trail = [self._params]
            self._last_step = ""
        self._refresh()

    def _clicked(self, name: str) -> None:
        if name == "step":
            self._step()
        else:
            self._reset()

    def _set_params(self, w: float, b: float) -> tuple[float, float]:
        """Make ``(w, b)`` current (clamped to the sliders' ranges) and move the sliders."""
        (wlo, whi), (blo, bhi) = W_RANGE, B_RANGE
        self._params = (min(max(w, wlo), whi), min(max(b, blo), bhi))
        with self._quiet():
            for name, value in zip(("w", "b"), self._params, strict=True):
                slider = self.controls[name]
                assert isinstance(slider, FloatSlider)
                # On the slider's grid, so that the front end has nothing to snap.
                stops = round((value - slider.min) / slider.step)
                slider.value = min(slider.min + stops * slider.step, slider.max)
        return self._params

    def _step(self) -> None:
        w, b = self._params
        rate = float(self.controls["learning_rate"].value)
        dw, db = obj.mse_gradient(self._x, self._y, w, b)
        before = self._mse(w, b)
        wanted = (w - rate * dw, b - rate * db)
        got = self._set_params(*wanted)
        self._trail.append(got)
        after = self._mse(*got)
        if got != wanted:
            self._last_step = "clamped"
        else:
            self._last_step = "overshot" if after > before else "descending"
        self._refresh()

    def _reset(self) -> None:
        self._set_params(*self._initial)
        self._trail = [self._params]
        self._last_step = ""
        self._refresh()

    def _mse(self, w: float, b: float) -> float:
        return float(obj.mse(obj.linear_model(self._x, w, b), self._y))

    def _compute(self) -> dict[str, Any]:
        w, b = self._params
        x, y = self._x, self._y
        mse = self._mse(w, b)
        dw, db = obj.mse_gradient(x, y, w, b)
        rate = float(self.controls["learning_rate"].value)
        wb, bb = self._best
        message = (
            f"MSE = {fmt(mse)} at w = {fmt(w)}, b = {fmt(b)} "
            f"(least squares: MSE = {fmt(self._best_mse)} at w = {fmt(wb)}, b = {fmt(bb)}); "
            f"gradient (∂/∂w, ∂/∂b) = ({fmt(dw)}, {fmt(db)})"
            f"; the next step with η = {fmt(rate)} moves (w, b) by "
            f"({fmt(-rate * dw)}, {fmt(-rate * db)})"
        )
        word = self._last_step or "manual"
        if word == "overshot":
            message += f"; the last step overshot: η = {fmt(rate)} is too large here"
        elif word == "clamped":
            message += "; the last step left the sliders' range and was clamped"
        return {
            "w": w,
            "b": b,
            "mse": mse,
            "gradient": (dw, db),
            "learning_rate": rate,
            "fitted": readonly(obj.linear_model(x, w, b)),
            "trail": readonly(self._trail),
            "best": (wb, bb, self._best_mse),
            "status": word,
            "message": message,
        }


def fit_line(*, w: float = 0.2, b: float = 0.0, learning_rate: float = 1e-4) -> Demo:
    r"""Fit :math:`\hat y = b + wx` to the thermometer data by hand, or a gradient step at a time.

    Controls: ``w`` (−1 to 2) and ``b`` (−40 to 20) sliders, ``learning_rate``
    (logarithmic, 1e-6 to 1e-3), a ``step`` button that takes one gradient-descent
    step on the mean squared error from the current ``(w, b)``, and ``reset``.
    Left: the data, the line and the residuals; right: the MSE's contours over
    ``(w, b)`` with the current point and the steps taken since ``w`` or ``b`` was
    last moved by hand.

    Returns
    -------
    Demo
        ``state`` keys: ``w``, ``b``, ``mse`` (the MSE shown), ``gradient``
        (``(dMSE/dw, dMSE/db)``), ``learning_rate``, ``fitted`` (the line at the
        data's x), ``trail`` (the points of the steps), ``best`` (least-squares
        ``(w, b, mse)``), ``status`` (``"manual"``, or after a step ``"descending"``,
        ``"overshot"`` or ``"clamped"``), ``message``, ``error``.

    Examples
    --------
    >>> demo = fit_line(w=0.5, b=-10.0)
    >>> round(demo.state["mse"], 3)
    32.436
    >>> demo.controls["step"].click()
    >>> demo.state["status"], demo.state["mse"] < 32.436
    ('descending', True)
    """
    for name, value, (low, high) in (("w", w, W_RANGE), ("b", b, B_RANGE)):
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    if not 1e-6 <= learning_rate <= 1e-3:
        raise ValueError(f"learning_rate must be between 1e-6 and 1e-3, got {learning_rate!r}")
    return _FitLine(w=w, b=b, learning_rate=learning_rate)
