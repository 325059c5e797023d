"""Plots of the course, in one consistent, colour-blind-safe style.

Each function draws on ``ax`` (the current axes when omitted) and returns what it
drew, so a demo can update the artists in place. None calls ``plt.show()``.
The palette is Okabe and Ito's, which stays distinct under the common colour
vision deficiencies. Colour is never the only difference between two curves:
successive lines also change line style (the style's property cycle), loss curves
can carry markers (``plot_loss(..., marker=...)``), and descent paths have their
own markers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.style
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.contour import QuadContourSet
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "COLORS",
    "LINESTYLES",
    "MARKERS",
    "ContourArtists",
    "DescentArtists",
    "FitArtists",
    "loss_grid",
    "plot_contour_path",
    "plot_fit",
    "plot_function_descent",
    "plot_loss",
    "plot_loss_surface",
    "use_style",
]

#: Okabe-Ito colours by role.
COLORS = {
    "function": "#0072B2",  # blue
    "path": "#D55E00",  # vermillion
    "start": "#009E73",  # bluish green
    "end": "#000000",
    "data": "#0072B2",
    "fit": "#E69F00",  # orange
    "residual": "#CC79A7",  # reddish purple
    "reference": "#56B4E9",  # sky blue
}
_CYCLE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
#: Line styles paired with the colours, so that curves differ in more than colour.
LINESTYLES: list[Any] = ["-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), "-", "--"]
#: Markers for curves that need one more distinguishing feature (see :func:`plot_loss`).
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

STYLE: dict[str, Any] = {
    "axes.prop_cycle": cycler(color=_CYCLE) + cycler(linestyle=LINESTYLES),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.frameon": False,
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.bbox": "tight",
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the course style to every later figure (a notebook's first cell calls this)."""
    matplotlib.style.use(STYLE)


def _axes(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


@dataclass(frozen=True)
class DescentArtists:
    """What :func:`plot_function_descent` and :func:`plot_contour_path` draw for a path."""

    path: Line2D
    start: Line2D
    end: Line2D


@dataclass(frozen=True)
class FunctionArtists:
    curve: Line2D
    descent: DescentArtists


@dataclass(frozen=True)
class ContourArtists:
    contour: QuadContourSet
    descent: DescentArtists | None


@dataclass(frozen=True)
class FitArtists:
    points: Any  # PathCollection
    line: Line2D
    residuals: LineCollection | None


def _path_artists(ax: Axes, xs: NDArray[Any], ys: NDArray[Any], label: str) -> DescentArtists:
    (path,) = ax.plot(xs, ys, "-o", color=COLORS["path"], ms=4, lw=1.2, label=label, zorder=3)
    (start,) = ax.plot(xs[:1], ys[:1], "s", color=COLORS["start"], ms=8, label="start", zorder=4)
    (end,) = ax.plot(xs[-1:], ys[-1:], "*", color=COLORS["end"], ms=11, label="end", zorder=5)
    return DescentArtists(path, start, end)


def plot_function_descent(
    f: Callable[[Any], Any],
    path: ArrayLike | None = None,
    *,
    ax: Axes | None = None,
    window: tuple[float, float] | None = None,
    n_points: int = 400,
    label: str = "descent steps",
) -> FunctionArtists:
    """Draw the curve of a function of one variable, and the descent steps on it.

    Parameters
    ----------
    f : callable
        Vectorised over NumPy arrays.
    path : array_like, optional
        The points visited, start first; an empty path draws only the curve.
    window : (low, high), optional
        The x-range; by default it covers the path with a margin.
    """
    ax = _axes(ax)
    points = np.asarray([] if path is None else path, dtype=float).reshape(-1)
    if window is None:
        low, high = (points.min(), points.max()) if points.size else (-1.0, 1.0)
        margin = max(1.0, 0.2 * (high - low))
        window = (low - margin, high + margin)
    grid = np.linspace(window[0], window[1], n_points)
    (curve,) = ax.plot(grid, f(grid), "-", color=COLORS["function"], lw=2, label="f(x)")
    with np.errstate(all="ignore"):
        values = np.asarray(f(points), dtype=float) if points.size else points
    descent = _path_artists(ax, points, values, label)
    ax.set_xlabel("x")
    ax.set_ylabel("f(x)")
    return FunctionArtists(curve, descent)


def plot_contour_path(
    f: Callable[[Any], Any],
    path: ArrayLike | None = None,
    *,
    ax: Axes | None = None,
    window: Sequence[tuple[float, float]] = ((-2.0, 2.0), (-2.0, 2.0)),
    levels: int | ArrayLike = 20,
    n_points: int = 200,
    log_levels: bool = False,
    label: str = "descent path",
) -> ContourArtists:
    """Contour lines of a function of two variables with a descent path on top.

    ``f`` must accept a stacked grid ``f(np.stack([X, Y]))`` (indexing ``p[0]``,
    ``p[1]``), as every :mod:`gdcourse.objectives` function does. With
    ``log_levels`` the levels are spaced logarithmically, which shows narrow
    valleys better.
    """
    ax = _axes(ax)
    (x0, x1), (y0, y1) = window
    X, Y = np.meshgrid(np.linspace(x0, x1, n_points), np.linspace(y0, y1, n_points))
    Z = np.asarray(f(np.stack([X, Y])), dtype=float)
    if log_levels and isinstance(levels, int):
        low = max(float(Z.min()), 1e-3 * float(Z.max()) if Z.max() > 0 else 1e-3)
        if low <= 0:
            low = 1e-3
        levels = np.geomspace(low, float(Z.max()), levels)
    contour = ax.contour(X, Y, Z, levels=levels, cmap="viridis", linewidths=0.8)
    descent = None
    if path is not None:
        points = np.asarray(path, dtype=float).reshape(-1, 2)
        descent = _path_artists(ax, points[:, 0], points[:, 1], label)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return ContourArtists(contour, descent)


def plot_loss(
    losses: ArrayLike,
    *,
    ax: Axes | None = None,
    label: str | None = None,
    log: bool = False,
    xlabel: str = "iteration",
    ylabel: str = "loss",
    linestyle: Any = None,
    marker: str | None = None,
    n_markers: int = 10,
) -> Line2D:
    """Loss against iteration (or epoch, or batch: say which with ``xlabel``).

    Colour and line style come from the style's cycle unless ``linestyle`` is given.
    With a ``marker`` (one of :data:`MARKERS`, say) about ``n_markers`` markers are
    spread along the curve, so that curves can be told apart without colour.
    """
    ax = _axes(ax)
    values = np.asarray(losses, dtype=float)
    options: dict[str, Any] = {"lw": 1.5, "label": label}
    if linestyle is not None:
        options["linestyle"] = linestyle
    if marker is not None:
        every = max(1, values.size // max(1, n_markers))
        # offset each curve's markers a little, so that markers of curves that
        # coincide do not hide each other
        offset = (len(ax.get_lines()) * every // 3) % every
        options.update(marker=marker, markevery=(offset, every), ms=5)
    (line,) = ax.plot(np.arange(values.size), values, **options)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return line


def plot_fit(
    x: ArrayLike,
    y: ArrayLike,
    w: float,
    b: float,
    *,
    ax: Axes | None = None,
    residuals: bool = False,
    label: str | None = None,
) -> FitArtists:
    """The data as points and the line :math:`\\hat y = b + w x`, optionally with residuals."""
    ax = _axes(ax)
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    points = ax.scatter(xs, ys, color=COLORS["data"], s=30, zorder=3, label="data")
    grid = np.array([xs.min(), xs.max()])
    if label is None:
        label = f"ŷ = {w:.3g} x {b:+.3g}"
    (line,) = ax.plot(grid, b + w * grid, "-", color=COLORS["fit"], lw=2, label=label)
    lines = None
    if residuals:
        segments = np.stack([np.column_stack([xs, ys]), np.column_stack([xs, b + w * xs])], 1)
        lines = LineCollection(
            list(segments), colors=COLORS["residual"], linewidths=1, label="residuals"
        )
        ax.add_collection(lines)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return FitArtists(points, line, lines)


def loss_grid(
    x: ArrayLike,
    y: ArrayLike,
    w_range: tuple[float, float],
    b_range: tuple[float, float],
    n_points: int = 120,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """The MSE of :math:`b + w x` on a grid of ``(w, b)``: returns ``W, B, L``."""
    xs = np.asarray(x, dtype=float).reshape(-1)
    ys = np.asarray(y, dtype=float).reshape(-1)
    W, B = np.meshgrid(np.linspace(*w_range, n_points), np.linspace(*b_range, n_points))
    # MSE expanded in sums, so the grid costs O(grid) rather than O(grid * n).
    n = xs.size
    sx, sy, sxx, sxy, syy = xs.sum(), ys.sum(), xs @ xs, xs @ ys, ys @ ys
    L = (W**2 * sxx + 2 * W * B * sx + n * B**2 - 2 * W * sxy - 2 * B * sy + syy) / n
    return W, B, L


def plot_loss_surface(
    x: ArrayLike,
    y: ArrayLike,
    *,
    w_range: tuple[float, float],
    b_range: tuple[float, float],
    ax: Axes | None = None,
    path: ArrayLike | None = None,
    levels: int = 25,
) -> ContourArtists:
    """Contours of the MSE over the parameter plane ``(w, b)``, with an optional path.

    ``path`` holds ``(w, b)`` rows. The levels are logarithmic, because the loss
    of a linear model grows quadratically away from its minimum.
    """
    ax = _axes(ax)
    W, B, L = loss_grid(x, y, w_range, b_range)
    low = max(float(L.min()), 1e-6)
    contour = ax.contour(
        W,
        B,
        L,
        levels=np.geomspace(low, float(L.max()), levels),
        cmap="viridis",
        linewidths=0.8,
    )
    descent = None
    if path is not None:
        points = np.asarray(path, dtype=float).reshape(-1, 2)
        descent = _path_artists(ax, points[:, 0], points[:, 1], "descent path")
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    return ContourArtists(contour, descent)
