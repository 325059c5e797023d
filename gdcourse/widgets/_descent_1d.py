"""Demo 1: gradient descent on a function of one variable (:func:`descent_1d`)."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from gdcourse import objectives as obj
from gdcourse import optimizers
from gdcourse.widgets._base import (
    WORDS,
    Demo,
    check_range,
    classify,
    fmt,
    grid_step,
    nice_ceil,
    readonly,
)
from gdcourse.widgets._controls import Dropdown, FloatLogSlider, FloatSlider, IntSlider
from gdcourse.widgets._ports import port_of
from gdcourse.widgets._scene import quantize

__all__ = ["descent_1d"]

FUNCTIONS: Mapping[str, obj.Objective] = MappingProxyType(
    {"parabola": obj.parabola, "steep_parabola": obj.steep_parabola, "cubic": obj.cubic}
)
#: Points of each function's curve.
CURVE_POINTS = 400


def _curve(f: obj.Objective) -> dict[str, Any]:
    """The curve of ``f`` over its window, and the y-range both plots use."""
    low, high = f.window[0]
    grid = np.linspace(low, high, CURVE_POINTS)
    with np.errstate(all="ignore"):
        values = np.asarray(f.f(grid), dtype=np.float64)
    span = float(values.max() - values.min()) or 1.0
    ylim = (float(values.min()) - 0.08 * span, float(values.max()) + 0.08 * span)
    return {"n": CURVE_POINTS, "y": quantize(values, *ylim), "ylim": list(ylim)}


class _Descent1D(Demo):
    DESCRIPTION = (
        "Left: the curve of the chosen function with the gradient-descent steps drawn on it; "
        "right: the function value at each iteration."
    )
    SCRIPT = "descent_1d.js"

    def __init__(
        self,
        functions: Mapping[str, obj.Objective],
        *,
        function: str,
        start: float | None,
        learning_rate: float,
        steps: int,
    ) -> None:
        self._functions = dict(functions)
        low, high = self._functions[function].window[0]
        if start is None:
            start = low + 0.8 * (high - low)
        controls = {
            "function": Dropdown(
                options=[(o.name, key) for key, o in self._functions.items()],
                value=function,
                description="f(x) =",
            ),
            "start": FloatSlider(
                value=start, min=low, max=high, step=grid_step(low, high), description="start x₀"
            ),
            "learning_rate": FloatLogSlider(
                value=learning_rate, min=-3, max=0, description="learning rate η"
            ),
            "steps": IntSlider(value=steps, min=1, max=100, description="steps"),
        }
        scene = {
            "functions": {
                key: {
                    "name": f.name,
                    "title": f"f(x) = {f.name}",
                    "window": list(f.window[0]),
                    "port": port_of(f),
                    **_curve(f),
                }
                for key, f in self._functions.items()
            },
            "tol": 1e-6,
            "threshold": 1e6,
        }
        super().__init__("descent-1d", controls, scene=scene)
        self._current = function
        self._guarded(self._refresh)

    def _changed(self, name: str) -> None:
        if name == "function":
            self._use_function(self.controls["function"].value)
        self._refresh()

    def _use_function(self, key: str) -> None:
        """Move the start slider into the new function's window, 80 % across."""
        low, high = self._functions[key].window[0]
        start = self.controls["start"]
        assert isinstance(start, FloatSlider)
        with self._quiet():
            start.set_range(low, high, low + 0.8 * (high - low), grid_step(low, high))
        self._current = key

    def _compute(self) -> dict[str, Any]:
        c = self.controls
        key = c["function"].value
        f = self._functions[key]
        start, rate, steps = (
            float(c["start"].value),
            float(c["learning_rate"].value),
            int(c["steps"].value),
        )
        result = optimizers.gradient_descent(
            f.grad, start, learning_rate=rate, max_iter=steps, tol=1e-6, f=f.f,
            divergence_threshold=1e6,
        )  # fmt: skip
        path = result.path
        values = result.values if result.values is not None else np.full(len(path), np.nan)
        word = classify(path, result.reason)
        x_last, f_last = float(path[-1]), float(values[-1])
        low, high = f.window[0]
        where = (
            f"x = {fmt(x_last)}, f(x) = {fmt(f_last)}"
            if low <= x_last <= high
            else f"x = {fmt(x_last)} is off the plot"
        )
        return {
            "function": key,
            "start": start,
            "learning_rate": rate,
            "steps": steps,
            "path": readonly(path),
            "values": readonly(values),
            "reason": result.reason,
            "loss_xmax": nice_ceil(max(steps, 1)),
            "status": word,
            "message": f"{WORDS[word]}; after {result.n_iter} steps {where}",
        }


def descent_1d(
    *,
    function: str = "parabola",
    start: float | None = None,
    learning_rate: float = 0.1,
    steps: int = 20,
    functions: Mapping[str, obj.Objective] | None = None,
) -> Demo:
    r"""Gradient descent on a function of one variable.

    Controls: ``function`` (:data:`~gdcourse.objectives.parabola`
    :math:`x^2 - 4x - 1`, :data:`~gdcourse.objectives.steep_parabola` :math:`20x^2`,
    :data:`~gdcourse.objectives.cubic` :math:`4x^3 - 10x + 10`), ``start`` (within
    the function's plotting window), ``learning_rate`` (logarithmic, 0.001 to 1)
    and ``steps`` (1 to 100). Left: the curve with the steps on it; right:
    :math:`f(x_k)` against :math:`k`. The status says whether the run converged,
    oscillates, diverged or is still descending.

    Parameters
    ----------
    function : str, optional
        The initial choice: a key of ``functions``.
    start : float, optional
        The initial start point (default: 80 % across the function's window).
    learning_rate : float, optional
    steps : int, optional
    functions : mapping of str to Objective, optional
        The menu (default: the three above). Each must be one-dimensional. Functions
        of :mod:`gdcourse.objectives` also respond on a page without a kernel; others
        need one.

    Returns
    -------
    Demo
        ``state`` keys: ``function``, ``start``, ``learning_rate``, ``steps``,
        ``path`` (the points visited), ``values`` (:math:`f` along the path),
        ``reason`` (why the optimizer stopped), ``loss_xmax`` (the right end of the
        loss plot), ``status``, ``message``, ``error``.

    Examples
    --------
    >>> demo = descent_1d(function="steep_parabola", start=1.0, learning_rate=0.06)
    >>> demo.state["status"], demo.state["reason"]
    ('diverged', 'max_iter')
    >>> demo.controls["learning_rate"].value = 0.01
    >>> demo.state["status"], round(float(demo.state["path"][-1]), 3)
    ('descending', 0.0)
    """
    menu = FUNCTIONS if functions is None else functions
    if function not in menu:
        raise ValueError(f"function must be one of {sorted(menu)}, got {function!r}")
    for key, f in menu.items():
        if f.dim != 1:
            raise ValueError(f"functions[{key!r}] must be one-dimensional, got dim={f.dim}")
    window = menu[function].window[0]
    if start is not None:
        check_range("start", start, *window)
    check_range("learning_rate", learning_rate, 1e-3, 1.0)
    check_range("steps", steps, 1, 100)
    return _Descent1D(
        menu, function=function, start=start, learning_rate=learning_rate, steps=steps
    )
