"""Demo 2: a descent path on contour lines, with momentum and a replay (:func:`descent_2d`)."""

from __future__ import annotations

import dataclasses
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
    decades,
    fmt,
    grid_step,
    readonly,
)
from gdcourse.widgets._controls import (
    Button,
    Dropdown,
    FloatLogSlider,
    FloatSlider,
    Play,
)
from gdcourse.widgets._ports import port_of
from gdcourse.widgets._scene import contour_scene

__all__ = ["descent_2d"]

#: Grid points per axis of the contour lines.
CONTOUR_POINTS = 120


def _round_bowl() -> obj.Objective:
    quadratic = obj.ill_conditioned(1.0)
    return dataclasses.replace(
        quadratic,
        name="round bowl ½(x² + y²)",
        latex=r"f(x, y) = \tfrac12\,(x^2 + y^2)",
        window=((-11.0, 11.0), (-11.0, 11.0)),
    )


def _functions_2d() -> dict[str, obj.Objective]:
    return {
        "round_bowl": _round_bowl(),
        "bowl": obj.bowl,
        "shifted_bowl": obj.shifted_bowl,
        "ill_conditioned": obj.ill_conditioned(25.0),
        "rosenbrock": obj.rosenbrock,
    }


#: Start point and learning rate that show each 2-D objective at its most instructive
#: (on the sliders' grids, so that the browser shows exactly these values).
DEFAULTS_2D: Mapping[str, tuple[tuple[float, float], float]] = MappingProxyType(
    {
        "round_bowl": ((8.0, 9.0), 10**-0.5),
        "bowl": ((8.0, 9.0), 10**-0.5),
        "shifted_bowl": ((8.0, 9.0), 10**-0.5),
        "ill_conditioned": ((-9.0, 3.0), 10**-1.15),  # 2 / L = 0.08
        "rosenbrock": ((-1.5, 2.0), 1e-3),
    }
)

TITLES = {"rosenbrock": "Rosenbrock: (1 − x)² + 100 (y − x²)²"}


def _defaults(key: str, f: obj.Objective) -> tuple[tuple[float, float], float]:
    if key in DEFAULTS_2D:
        return DEFAULTS_2D[key]
    (xlo, xhi), (ylo, yhi) = f.window
    return (xlo + 0.85 * (xhi - xlo), ylo + 0.85 * (yhi - ylo)), 0.1


def _top_gap(f: obj.Objective) -> float:
    """A decade above the largest f(x) - f(x*) on the window's corners."""
    (xlo, xhi), (ylo, yhi) = f.window
    corners = np.array([[xlo, ylo], [xlo, yhi], [xhi, ylo], [xhi, yhi]])
    best = float(f.f(f.minimizers[0]))
    largest = max(float(f.f(corner)) - best for corner in corners)
    return decades(1.0, max(largest, 1.0))[1] * 10


def _scene(key: str, f: obj.Objective) -> dict[str, Any]:
    (xlo, xhi), (ylo, yhi) = f.window
    x, y = np.meshgrid(
        np.linspace(xlo, xhi, CONTOUR_POINTS), np.linspace(ylo, yhi, CONTOUR_POINTS)
    )
    z = np.asarray(f.f(np.stack([x, y])), dtype=np.float64)
    levels: int | np.ndarray = 20
    if key == "rosenbrock":
        low = max(float(z.min()), 1e-3 * float(z.max()) if z.max() > 0 else 1e-3)
        levels = np.geomspace(low if low > 0 else 1e-3, float(z.max()), 20)
    start, rate = _defaults(key, f)
    return {
        "name": f.name,
        "title": TITLES.get(key, f"f(x, y) = {f.name}"),
        "window": [list(f.window[0]), list(f.window[1])],
        "steps": [grid_step(xlo, xhi), grid_step(ylo, yhi)],
        "port": port_of(f),
        "best": float(f.f(f.minimizers[0])),
        "gap_top": _top_gap(f),
        "start": list(start),
        "rate": rate,
        "contours": contour_scene(x, y, z, levels, f.window),  # type: ignore[arg-type]
    }


class _Descent2D(Demo):
    DESCRIPTION = (
        "Left: contour lines of the chosen function of two variables with the descent path; "
        "right: the distance to the minimum value at each iteration, on a log scale."
    )
    SCRIPT = "descent_2d.js"

    def __init__(
        self,
        functions: Mapping[str, obj.Objective],
        *,
        objective: str,
        learning_rate: float | None,
        momentum: float,
        max_steps: int,
    ) -> None:
        self._functions = dict(functions)
        self._max_steps = max_steps
        f = self._functions[objective]
        start, default_rate = _defaults(objective, f)
        (xlo, xhi), (ylo, yhi) = f.window
        rate = default_rate if learning_rate is None else learning_rate
        controls = {
            "objective": Dropdown(
                options=[(o.name, key) for key, o in self._functions.items()],
                value=objective,
                description="f =",
            ),
            "learning_rate": FloatLogSlider(
                value=rate, min=-4, max=0, description="learning rate η"
            ),
            "momentum": FloatSlider(
                value=momentum, min=0.0, max=0.99, step=0.01, description="momentum β"
            ),
            "x0": FloatSlider(
                value=start[0], min=xlo, max=xhi, step=grid_step(xlo, xhi), description="start x₀"
            ),
            "y0": FloatSlider(
                value=start[1], min=ylo, max=yhi, step=grid_step(ylo, yhi), description="start y₀"
            ),
            "reset": Button(description="reset", tooltip="back to the start point"),
            "back": Button(description="◀ step back", tooltip="one iteration back"),
            "play": Play(value=0, min=0, max=max_steps, description="iteration shown"),
            "step": Button(description="step ▶", tooltip="one iteration forward"),
        }
        scene = {
            "objectives": {key: _scene(key, o) for key, o in self._functions.items()},
            "max_steps": max_steps,
            "tol": 1e-8,
            "threshold": 1e6,
        }
        rows = [
            ["objective", "learning_rate", "momentum"],
            ["x0", "y0"],
            ["reset", "back", "play", "step"],
        ]
        super().__init__("descent-2d", controls, rows=rows, scene=scene)
        self._result: optimizers.DescentResult | None = None
        self._guarded(self._refresh)

    def _changed(self, name: str) -> None:
        if name == "play":
            self._show_frame()
            return
        if name == "objective":
            self._use_objective(self.controls["objective"].value)
        self._refresh()

    def _clicked(self, name: str) -> None:
        play = self.controls["play"]
        assert isinstance(play, Play)
        play.playing = False
        if name == "reset":
            play.value = 0
        else:
            play.value = min(max(play.value + (1 if name == "step" else -1), 0), play.max)

    def _use_objective(self, key: str) -> None:
        """Move the start sliders into the objective's window and pick a rate that suits it."""
        f = self._functions[key]
        (xlo, xhi), (ylo, yhi) = f.window
        start, rate = _defaults(key, f)
        c = self.controls
        with self._quiet():
            c["x0"].set_range(xlo, xhi, start[0], grid_step(xlo, xhi))  # type: ignore[attr-defined]
            c["y0"].set_range(ylo, yhi, start[1], grid_step(ylo, yhi))  # type: ignore[attr-defined]
            c["learning_rate"].value = rate

    def _refresh(self) -> None:
        """A new run: computed whole, then shown at its last iteration."""
        c = self.controls
        f = self._functions[c["objective"].value]
        self._result = optimizers.heavy_ball(
            f.grad,
            [float(c["x0"].value), float(c["y0"].value)],
            learning_rate=float(c["learning_rate"].value),
            momentum=float(c["momentum"].value),
            max_iter=self._max_steps,
            tol=1e-8,
            f=f.f,
            divergence_threshold=1e6,
        )
        play = c["play"]
        assert isinstance(play, Play)
        with self._quiet():
            play.playing = False
            play.max = max(self._result.n_iter, 1)  # play runs to the last iteration
            play.value = self._result.n_iter
        self._show_frame()

    def _show_frame(self) -> None:
        state = self._compute()
        self._state.update(state)
        self._publish(state)

    def _publish(self, state: Mapping[str, Any]) -> None:
        # The part of the path drawn is the first frame + 1 points: the front end slices it.
        super()._publish({k: v for k, v in state.items() if k != "shown"})

    def _compute(self) -> dict[str, Any]:
        result = self._result
        assert result is not None and result.values is not None
        key = self.controls["objective"].value
        f = self._functions[key]
        frame = min(int(self.controls["play"].value), result.n_iter)
        shown = result.path[: frame + 1]
        best = float(f.f(f.minimizers[0]))
        # Fixed limits per objective: from 1e-12 to above the largest gap in the window.
        with np.errstate(all="ignore"):
            gap = np.clip(result.values - best, 1e-13, _top_gap(f) * 10)
        word = classify(result.path, result.reason)
        point = ", ".join(fmt(v) for v in shown[-1])
        message = (
            f"{WORDS[word]} (the whole run: {result.n_iter} iterations). "
            f"Showing iteration {frame}: ({point}), f = {fmt(float(result.values[frame]))}"
        )
        return {
            "objective": key,
            "start": readonly(result.path[0]),
            "learning_rate": float(self.controls["learning_rate"].value),
            "momentum": float(self.controls["momentum"].value),
            "path": readonly(result.path),
            "values": readonly(result.values),
            "gap": readonly(gap),
            "reason": result.reason,
            "frame": frame,
            "shown": readonly(shown),
            "status": word,
            "message": message,
        }


def descent_2d(
    *,
    objective: str = "shifted_bowl",
    learning_rate: float | None = None,
    momentum: float = 0.0,
    max_steps: int = 150,
    functions: Mapping[str, obj.Objective] | None = None,
) -> Demo:
    r"""Gradient descent (with optional heavy-ball momentum) on a function of two variables.

    Controls: ``objective`` (a round bowl, the seed's :math:`x^2 + y^2/2` and
    :math:`(x + 1)^2 + y^2/2`, an ill-conditioned bowl with condition number 25,
    Rosenbrock's valley), the start ``x0`` and ``y0`` (within the plotted window),
    ``learning_rate`` (logarithmic, 1e-4 to 1), ``momentum`` (0 to 0.99), and the
    replay controls ``play`` (the iteration shown, with a play button), ``step``,
    ``back`` and ``reset``, which move through the iterations of the run. Choosing
    an objective resets the start and the learning rate to values that suit it.

    Parameters
    ----------
    objective : str, optional
        The initial choice: ``"round_bowl"``, ``"bowl"``, ``"shifted_bowl"``,
        ``"ill_conditioned"`` or ``"rosenbrock"`` (or a key of ``functions``).
    learning_rate : float, optional
        Default: a value suited to the objective.
    momentum : float, optional
    max_steps : int, optional
        The most iterations of a run (1 to 1000).
    functions : mapping of str to Objective, optional
        The menu (default: the five above). Each must be two-dimensional. Functions
        of :mod:`gdcourse.objectives` also respond on a page without a kernel; others
        need one.

    Returns
    -------
    Demo
        ``state`` keys: ``objective``, ``start``, ``learning_rate``, ``momentum``,
        ``path`` and ``values`` (the whole run), ``gap`` (:math:`f - f^*` along the
        run, clipped to the plot's range), ``reason``, ``frame`` (the iteration
        shown) and ``shown`` (the part of the path drawn), ``status``, ``message``,
        ``error``.

    Examples
    --------
    >>> demo = descent_2d()
    >>> demo.state["status"], demo.state["path"][0].tolist()
    ('converged', [8.0, 9.0])
    >>> demo.controls["reset"].click()
    >>> demo.state["frame"], len(demo.state["shown"])
    (0, 1)
    >>> demo.controls["step"].click()
    >>> demo.state["frame"]
    1
    """
    menu = _functions_2d() if functions is None else dict(functions)
    if objective not in menu:
        raise ValueError(f"objective must be one of {sorted(menu)}, got {objective!r}")
    for key, f in menu.items():
        if f.dim != 2:
            raise ValueError(f"functions[{key!r}] must be two-dimensional, got dim={f.dim}")
    if not 1 <= max_steps <= 1000:
        raise ValueError(f"max_steps must be between 1 and 1000, got {max_steps!r}")
    if learning_rate is not None:
        check_range("learning_rate", learning_rate, 1e-4, 1.0)
    check_range("momentum", momentum, 0.0, 0.99)
    return _Descent2D(
        menu,
        objective=objective,
        learning_rate=learning_rate,
        momentum=momentum,
        max_steps=max_steps,
    )
