r"""Interactive demos: move a slider, watch gradient descent behave.

Five functions, each returning a self-contained :class:`Demo` (an
``ipywidgets.VBox``) that computes with :mod:`gdcourse.optimizers` and
:mod:`gdcourse.objectives` and draws with :mod:`gdcourse.plotting`:

* :func:`descent_1d`: gradient descent on a function of one variable;
* :func:`descent_2d`: a descent path on contour lines, with momentum and play/step controls;
* :func:`fit_line`: fit a line to the thermometer data by hand, or one gradient step at a time;
* :func:`batch_size`: full-batch, mini-batch and single-sample SGD side by side;
* :func:`feature_scaling`: raw against normalised inputs under the same learning rate.

Each demo keeps its state on the returned object (nothing module-global), so any
number can live in one notebook. Tests and curious students can drive a demo
without a browser: ``demo.controls`` maps names to the control widgets, and
``demo.state`` is a read-only view of what the demo shows (the path, the status
word, the MSE, ...).

>>> demo = descent_1d()
>>> demo.controls["learning_rate"].value = 0.9
>>> demo.state["status"]
'oscillating'
>>> demo.controls["learning_rate"].value = 1.0
>>> demo.state["status"]
'oscillating'

How the figures are drawn, and why
----------------------------------
Each demo owns one Matplotlib :class:`~matplotlib.figure.Figure` on the Agg
canvas (pyplot is never used, so no figure can leak into pyplot's registry), and
shows it as a PNG ``<img>`` (with alt text) in an ``ipywidgets.HTML``. A control change moves the
existing artists (``set_data``, ``set_segments``) and then redraws as little as
possible: each axes is cached as pixels and redrawn only when its limits or
static content changed; the moving artists are blitted on top. The figure
limits are chosen from fixed windows or rounded to "nice" values, so most
changes are pure blits. Three approaches were measured in the kernel with
``benchmarks/widgets.py --compare`` (time from assigning a control's value to
the new PNG being in the demo's plot widget; 2 shared cores; the full table is in
README):

* **PNG widget + Agg, cached axes + blitting (chosen)**: per demo, median
  7 to 16 ms and 95th percentile 8 to 18 ms when the process has a core to
  itself (wall-clock time equal to CPU time), median 11 to
  21 ms and p95 21 to 41 ms with a load average of 7 to 9 (the first visit of
  an objective's contours costs one draw of about 0.2 s). The PNG is part of
  the widget state saved in the notebook, so the static book shows each demo's
  initial figure with no kernel and no extra JavaScript, and the display
  bundle also carries it as ``image/png`` for viewers with no widget support.
* **Output widget, figure rebuilt and re-displayed** (what ``interact`` with
  ``plt.show()`` does): median 100 ms, p95 212 ms (184 and 364 ms loaded)
  on the same 1-D figure, because every change builds a new figure and the
  inline backend renders it with ``bbox_inches="tight"``; the output also
  flickers while it is cleared.
* **ipympl canvas**: median 47 ms, p95 71 ms (118 ms median loaded): its canvas
  makes a full Agg draw of the figure at every change before the PNG diff is
  encoded; and a saved notebook shows it only through the ``jupyter-matplotlib``
  JavaScript bundle, which the book's offline widget manager does not have.

Bad input cannot reach the computations: every control offers only a valid
range, a diverging run stops early (the optimizers stop at non-finite or huge
iterates) and the plots keep fixed, sensible windows, and an exception inside
a callback is shown in the demo's error line instead of being lost in the log.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import io
import itertools
import math
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import ipywidgets as widgets
import matplotlib as mpl
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray
from PIL import Image as PILImage

from gdcourse import objectives as obj
from gdcourse import optimizers, plotting
from gdcourse.datasets import synthetic_linear, thermometer

__all__ = ["Demo", "batch_size", "descent_1d", "descent_2d", "feature_scaling", "fit_line"]

Array = NDArray[np.float64]

_DPI = 100
_STATUS_COLORS = MappingProxyType(
    {
        "converged": "#009E73",
        "oscillating": "#E69F00",
        "diverged": "#D55E00",
        "descending": "#0072B2",
    }
)


# --------------------------------------------------------------------------- rendering


class _Canvas:
    """An Agg figure rendered to PNG bytes, redrawing only what changed.

    Every axes is kept as pixels (its *slot*: a vertical band of the figure),
    cached by its *layout key*: limits, scales, title and a *scene* token that
    the demo sets with :meth:`set_scene` when it changes what the axes shows
    (another objective's contours, say). An axes is drawn again only for a key
    not in its cache, so going back to an earlier objective or window costs a
    copy of pixels. Artists registered with :meth:`animate` are left out of the
    cached pixels and drawn on top at every render.
    """

    #: Cached pixel copies per axes (each about 0.5 MB at the demos' sizes).
    CACHE_SIZE = 12

    def __init__(self, ncols: int, *, figsize: tuple[float, float]) -> None:
        with self.style():
            self.figure = Figure(figsize=figsize, dpi=_DPI)
            # Agg's blitting methods have no type hints.
            self.canvas: Any = FigureCanvasAgg(self.figure)
            axes = self.figure.subplots(1, ncols, squeeze=False)
        self.axes: list[Axes] = list(axes[0])
        self.figure.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.9, wspace=0.35)
        self._animated: list[Artist] = []
        self._scenes: list[Hashable] = [None] * ncols
        self._keys: list[tuple[Any, ...] | None] = [None] * ncols
        self._regions: list[Any] = [None] * ncols
        self._cache: list[OrderedDict[tuple[Any, ...], Any]] = [
            OrderedDict() for _ in range(ncols)
        ]
        self._blanks: list[Any] = []
        self.full_draws = 0
        self.axes_draws = 0
        self.renders = 0

    @staticmethod
    def style() -> contextlib.AbstractContextManager[Any]:
        """The course style, for code that creates artists."""
        return mpl.rc_context(plotting.STYLE)  # type: ignore[arg-type]

    def animate(self, *artists: Artist | None) -> None:
        """Mark artists that move at every update (they are blitted, never cached)."""
        for artist in artists:
            if artist is not None:
                artist.set_animated(True)
                self._animated.append(artist)

    def set_scene(self, index: int, token: Hashable) -> None:
        """Say what the static content of axes ``index`` now is (a hashable name for it)."""
        self._scenes[index] = token

    def _key(self, i: int) -> tuple[Any, ...]:
        ax = self.axes[i]
        return (
            tuple(ax.get_xlim()),
            tuple(ax.get_ylim()),
            ax.get_xscale(),
            ax.get_yscale(),
            ax.get_title(),
            self._scenes[i],
        )

    def _slots(self) -> list[Any]:
        """Non-overlapping vertical bands of the figure, one per axes (display units)."""
        from matplotlib.transforms import Bbox

        width, height = self.canvas.get_width_height()
        edges = [ax.get_position().transformed(self.figure.transFigure) for ax in self.axes]
        cuts = [0.0]
        for left, right in itertools.pairwise(edges):
            cuts.append(math.floor((left.x1 + right.x0) / 2))
        cuts.append(float(width))
        return [Bbox([[cuts[i], 0.0], [cuts[i + 1], float(height)]]) for i in range(len(edges))]

    def _remember(self, i: int, key: tuple[Any, ...], region: Any) -> None:
        cache = self._cache[i]
        cache[key] = region
        cache.move_to_end(key)
        while len(cache) > self.CACHE_SIZE:
            cache.popitem(last=False)
        self._regions[i], self._keys[i] = region, key

    def _full_draw(self) -> None:
        if not self._blanks:
            for ax in self.axes:
                ax.set_visible(False)
            self.canvas.draw()
            self._blanks = [self.canvas.copy_from_bbox(slot) for slot in self._slots()]
            for ax in self.axes:
                ax.set_visible(True)
        self.canvas.draw()  # leaves the animated artists out
        self.full_draws += 1
        for i, slot in enumerate(self._slots()):
            self._remember(i, self._key(i), self.canvas.copy_from_bbox(slot))

    def render(self) -> bytes:
        """Draw what changed and return the figure as PNG bytes."""
        self.renders += 1
        if not self._blanks:
            self._full_draw()
        keys = [self._key(i) for i in range(len(self.axes))]
        if keys != self._keys:
            renderer = self.canvas.get_renderer()
            slots = self._slots()
            for i, ax in enumerate(self.axes):
                if keys[i] == self._keys[i]:
                    continue
                if keys[i] in self._cache[i]:
                    self._remember(i, keys[i], self._cache[i][keys[i]])
                    continue
                self.canvas.restore_region(self._blanks[i])
                ax.draw(renderer)
                self.axes_draws += 1
                tight = ax.get_tightbbox(renderer)
                if tight is not None and (
                    tight.x0 < slots[i].x0 - 1 or tight.x1 > slots[i].x1 + 1
                ):  # labels spilled into a neighbour's band: draw everything
                    self._full_draw()
                    break
                self._remember(i, keys[i], self.canvas.copy_from_bbox(slots[i]))
        for region in self._regions:
            self.canvas.restore_region(region)
        for artist in self._animated:
            if artist.get_visible() and artist.axes is not None:
                artist.axes.draw_artist(artist)
        return self._png()

    def _png(self) -> bytes:
        width, height = self.canvas.get_width_height()
        rgba = PILImage.frombuffer(
            "RGBA", (width, height), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1
        )
        # An adaptive 256-colour palette: 3x smaller and faster to encode than RGB,
        # and indistinguishable for line art on a white background.
        image = rgba.convert("RGB").quantize(
            256, method=PILImage.Quantize.FASTOCTREE, dither=PILImage.Dither.NONE
        )
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()


def _nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= ``value`` (> 0)."""
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        candidate = mantissa * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def _decades(low: float, high: float) -> tuple[float, float]:
    """Log-axis limits at whole decades around ``[low, high]`` (both > 0)."""
    return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))


def _title(f: obj.Objective) -> str:
    """The objective's formula as Matplotlib mathtext (its name when mathtext cannot parse it)."""
    from matplotlib.mathtext import MathTextParser

    text = "$" + f.latex.replace(r"\tfrac", r"\frac") + "$"
    try:
        MathTextParser("path").parse(text)
    except ValueError:
        return f.name
    return text


def _fmt(value: float) -> str:
    return f"{value:.4g}".replace("-", "−")


# --------------------------------------------------------------------------- the Demo widget


class Demo(widgets.VBox):  # type: ignore[misc]  # ipywidgets has no type hints
    """An interactive demo: controls, a figure, a status line and an error line.

    Every demo function returns one. Its attributes are the programmatic
    interface used by the tests (and handy in a notebook).

    Attributes
    ----------
    controls : Mapping[str, ipywidgets.Widget]
        The controls by name; set ``controls[name].value`` to move one.
        Buttons are there too: ``controls[name].click()`` presses one.
    state : Mapping[str, Any]
        A read-only view of what the demo shows now (arrays in it are read-only).
        Every demo has ``"status"`` (one word) and ``"message"`` (the status
        line as plain text), plus its own keys, listed by each demo function.
    plot : ipywidgets.HTML
        The figure: an ``<img class="widget-image gd-plot">`` holding the PNG as a
        ``data:`` URL, with alt text that describes the plot and its current status.
    png : bytes
        The figure as PNG, as last shown.
    status : ipywidgets.HTML
        The status line.
    error : ipywidgets.HTML
        Empty, or the last exception raised while updating, with its traceback.
    figure : matplotlib.figure.Figure
        The figure behind ``plot`` (drawn on the Agg canvas; pyplot never sees it).
    """

    #: What the figure shows, for its alt text (each demo says).
    _DESCRIPTION = "A figure of the demo."

    def __init__(self, kind: str, canvas: _Canvas, controls: Mapping[str, Any]) -> None:
        self._canvas = canvas
        self._kind = kind
        self._state: dict[str, Any] = {"status": "", "message": "", "error": ""}
        self._suspended = 0
        self.controls = MappingProxyType(dict(controls))
        self.state = MappingProxyType(self._state)
        self.figure = canvas.figure
        for name, control in self.controls.items():
            control.add_class(f"gd-control-{name.replace('_', '-')}")
        self.png = b""
        self.plot = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.plot.add_class("gd-plot-box")
        self.status = widgets.HTML()
        self.status.add_class("gd-status")
        self.error = widgets.HTML()
        self.error.add_class("gd-error")
        super().__init__(
            [*self._layout_controls(), self.plot, self.status, self.error],
            layout=widgets.Layout(width="100%", max_width="980px"),
        )
        self.add_class("gd-demo")
        self.add_class(f"gd-demo-{kind}")

    # Subclasses say how controls are laid out, what to compute and what to draw.
    def _layout_controls(self) -> list[Any]:
        boxes = [c for c in self.controls.values()]
        return [widgets.HBox(boxes, layout=widgets.Layout(flex_flow="row wrap"))]

    def _compute_and_draw(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ updating
    def _watch(self, *names: str) -> None:
        for name in names:
            self.controls[name].observe(self._on_change, names="value")

    def _on_change(self, change: Mapping[str, Any]) -> None:
        if not self._suspended:
            self._guarded(self._refresh)

    def _on_click(self, action: Callable[[], None]) -> Callable[[Any], None]:
        def handler(_button: Any) -> None:
            self._guarded(action)

        return handler

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Change several controls with a single redraw (by the caller) at the end."""
        self._suspended += 1
        try:
            yield
        finally:
            self._suspended -= 1

    def _guarded(self, action: Callable[[], None]) -> None:
        """Run an update; show any exception in the error line instead of losing it."""
        try:
            action()
        except Exception as exc:  # shown to the user, with its traceback
            summary = f"{type(exc).__name__}: {exc}"
            self._state["error"] = summary
            trace = "".join(traceback.format_exception(exc))
            self.error.value = (
                '<div style="color:#D55E00"><b>This update failed</b> (the figure shows the '
                f"last good state): {html.escape(summary)}"
                f"<details><summary>traceback</summary><pre>{html.escape(trace)}</pre>"
                "</details></div>"
            )
        else:
            if self._state["error"]:
                self._state["error"] = ""
                self.error.value = ""

    def _refresh(self) -> None:
        self._compute_and_draw()
        self._show(self._canvas.render())

    def _show(self, png: bytes) -> None:
        """Put a new PNG in the plot, described by its alt text.

        An ``<img>`` in an HTML widget rather than an ``ipywidgets.Image``, because
        the latter has no alt text; the width and height attributes reserve the
        space, so the page does not jump while the browser decodes a new image.
        """
        self.png = png
        width, height = self._canvas.canvas.get_width_height()
        alt = f"{self._DESCRIPTION} Now {self._state['status']}: {self._state['message']}"
        self.plot.value = (
            f'<img class="widget-image gd-plot" width="{width}" height="{height}" '
            'style="max-width:100%;height:auto" '
            f'alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'
        )

    def _set_status(self, word: str, message: str) -> None:
        self._state["status"] = word
        self._state["message"] = message
        color = _STATUS_COLORS.get(word, "#000000")
        self.status.value = (
            f'<span style="color:{color};font-weight:bold">{html.escape(word)}</span>'
            f"<span>: {html.escape(message)}</span>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, plus the current figure as PNG and a one-line text.

        Front ends with a widget manager (JupyterLab, Notebook 7, the book's
        saved-state manager) show the live widget; anything else (a notebook
        viewer, ``nbconvert`` without widget state) shows the figure instead of
        a long ``repr``.
        """
        bundle: dict[str, Any] | None = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = f"gdcourse demo {self._kind}: {self._state['status']}"
            if self.png:
                bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    def close(self) -> None:
        """Close the demo and every widget in it, so that it and its figure can be freed."""

        def close_tree(widget: Any) -> None:
            for child in getattr(widget, "children", ()):
                close_tree(child)
            widget.close()

        # Tolerates a half-built demo: ipywidgets calls close() from __del__ too.
        for child in getattr(self, "children", ()):
            close_tree(child)
        for control in getattr(self, "controls", {}).values():
            control.close()
            control.unobserve_all()  # a reference kept to a control must not keep the demo
            handlers = getattr(control, "_click_handlers", None)
            if handlers is not None:
                handlers.callbacks.clear()
        super().close()

    @property
    def render_stats(self) -> Mapping[str, int]:
        """How many renders, full figure draws and single-axes draws were made."""
        return MappingProxyType(
            {
                "renders": self._canvas.renders,
                "full_draws": self._canvas.full_draws,
                "axes_draws": self._canvas.axes_draws,
            }
        )


def _check_range(name: str, value: float, low: float, high: float) -> None:
    """Refuse a keyword option outside the range its control offers."""
    if not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


def _readonly(values: Any) -> Array:
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def _slider_style() -> dict[str, str]:
    return {"description_width": "initial"}


def _log_slider(description: str, value: float, low: float, high: float) -> Any:
    """A log-scale slider from ``low`` to ``high`` (powers of ten)."""
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=math.log10(low),
        max=math.log10(high),
        step=0.05,
        description=description,
        readout_format=".3g",
        continuous_update=True,
        style=_slider_style(),
    )


def _float_slider(description: str, value: float, low: float, high: float, step: float) -> Any:
    return widgets.FloatSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        readout_format=_fixed_format(step),
        style=_slider_style(),
    )


def _fixed_format(step: float) -> str:
    """A readout format with as many decimals as the step has (no ``7.11e-15`` for 0)."""
    return f".{max(0, -math.floor(math.log10(step) + 1e-9))}f"


def _grid_step(low: float, high: float) -> float:
    """A power of ten that gives a slider over ``[low, high]`` between 100 and 1000 stops."""
    return float(10.0 ** math.floor(math.log10((high - low) / 100)))


def _set_range(slider: Any, low: float, high: float, value: float, step: float) -> None:
    """Move a slider's range without it clamping through an invalid intermediate state."""
    if low > slider.max:
        slider.max = high
        slider.min = low
    else:
        slider.min = low
        slider.max = high
    slider.step = step
    slider.readout_format = _fixed_format(step)
    slider.value = min(max(value, low), high)


def _classify(path: Array, reason: str) -> str:
    """One word for how a descent run went: converged, oscillating, diverged or descending."""
    if reason == "diverged":
        return "diverged"
    if reason == "tolerance":
        return "converged"
    steps = np.diff(path.reshape(len(path), -1), axis=0)
    if len(steps) == 0:
        return "descending"
    with np.errstate(all="ignore"):
        lengths = np.linalg.norm(steps, axis=1)
        growing = len(steps) >= 3 and bool(np.all(np.diff(lengths[-3:]) > 0))
        if growing and lengths[-1] > 10 * lengths[0]:
            return "diverged"
        turns = np.sum(steps[1:] * steps[:-1], axis=1)
    if len(turns) >= 2 and np.all(turns[-2:] < 0):
        return "oscillating"
    return "descending"


_WORDS = MappingProxyType(
    {
        "converged": "the steps became smaller than the tolerance",
        "oscillating": "each step overshoots the minimum and turns back",
        "diverged": "the steps grow instead of shrinking (more than tenfold)",
        "descending": "still moving downhill; more steps are needed",
    }
)


# --------------------------------------------------------------------------- 1. one dimension

_FUNCTIONS_1D: Mapping[str, obj.Objective] = MappingProxyType(
    {"parabola": obj.parabola, "steep_parabola": obj.steep_parabola, "cubic": obj.cubic}
)


class _Descent1D(Demo):
    _DESCRIPTION = (
        "Left: the curve of the chosen function with the gradient-descent steps drawn on it; "
        "right: the function value at each iteration."
    )

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
        f = self._functions[function]
        low, high = f.window[0]
        if start is None:
            start = low + 0.8 * (high - low)
        controls = {
            "function": widgets.Dropdown(
                options=[(o.name, key) for key, o in self._functions.items()],
                value=function,
                description="f(x) =",
            ),
            "start": _float_slider("start x₀", start, low, high, _grid_step(low, high)),
            "learning_rate": _log_slider("learning rate η", learning_rate, 1e-3, 1.0),
            "steps": widgets.IntSlider(
                value=steps, min=1, max=100, description="steps", style=_slider_style()
            ),
        }
        canvas = _Canvas(2, figsize=(9.0, 3.4))
        super().__init__("descent-1d", canvas, controls)
        ax_curve, ax_loss = canvas.axes
        with canvas.style():
            self._curve = plotting.plot_function_descent(
                f.f, [start], ax=ax_curve, window=f.window[0]
            )
            self._loss = plotting.plot_loss([0.0], ax=ax_loss, label="f(xₖ)")
            self._loss.set_marker("o")
            self._loss.set_markersize(3)
            self._loss.set_color(plotting.COLORS["path"])
            ax_curve.legend(loc="upper center", fontsize="small", ncols=2)
        d = self._curve.descent
        canvas.animate(d.path, d.start, d.end, self._loss)
        self._current = ""
        self._watch("function", "start", "learning_rate", "steps")
        self._guarded(self._refresh)

    def _use_function(self, key: str) -> None:
        f = self._functions[key]
        (low, high), ax_curve, ax_loss = f.window[0], *self._canvas.axes
        grid = np.linspace(low, high, 400)
        with np.errstate(all="ignore"):
            values = np.asarray(f.f(grid), dtype=np.float64)
        self._curve.curve.set_data(grid, values)
        span = float(values.max() - values.min()) or 1.0
        ylim = (float(values.min()) - 0.08 * span, float(values.max()) + 0.08 * span)
        ax_curve.set_xlim(low, high)
        ax_curve.set_ylim(*ylim)
        ax_curve.set_title(_title(f))
        ax_loss.set_ylim(*ylim)
        ax_loss.set_title("f(xₖ) against iteration k")
        self._canvas.set_scene(0, key)
        self._canvas.set_scene(1, key)
        if self._current:
            start = self.controls["start"]
            with self._quiet():
                _set_range(start, low, high, low + 0.8 * (high - low), _grid_step(low, high))
        self._current = key

    def _compute_and_draw(self) -> None:
        c = self.controls
        key = c["function"].value
        if key != self._current:
            self._use_function(key)
        f = self._functions[key]
        result = optimizers.gradient_descent(
            f.grad,
            float(c["start"].value),
            learning_rate=float(c["learning_rate"].value),
            max_iter=int(c["steps"].value),
            tol=1e-6,
            f=f.f,
            divergence_threshold=1e6,
        )
        path = result.path
        values = result.values if result.values is not None else np.full(len(path), np.nan)
        d = self._curve.descent
        d.path.set_data(path, values)
        d.start.set_data(path[:1], values[:1])
        d.end.set_data(path[-1:], values[-1:])
        self._loss.set_data(np.arange(len(values)), values)
        self._canvas.axes[1].set_xlim(0, _nice_ceil(max(int(c["steps"].value), 1)))
        word = _classify(path, result.reason)
        x_last, f_last = float(path[-1]), float(values[-1])
        low, high = self._canvas.axes[0].get_xlim()
        where = (
            f"x = {_fmt(x_last)}, f(x) = {_fmt(f_last)}"
            if low <= x_last <= high
            else f"x = {_fmt(x_last)} is off the plot"
        )
        message = f"{_WORDS[word]}; after {result.n_iter} steps {where}"
        self._state.update(
            function=key,
            start=float(c["start"].value),
            learning_rate=float(c["learning_rate"].value),
            steps=int(c["steps"].value),
            path=_readonly(path),
            values=_readonly(values),
            reason=result.reason,
        )
        self._set_status(word, message)


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
        The menu (default: the three above). Each must be one-dimensional.

    Returns
    -------
    Demo
        ``state`` keys: ``function``, ``start``, ``learning_rate``, ``steps``,
        ``path`` (the points visited), ``values`` (:math:`f` along the path),
        ``reason`` (why the optimizer stopped), ``status``, ``message``, ``error``.

    Examples
    --------
    >>> demo = descent_1d(function="steep_parabola", start=1.0, learning_rate=0.06)
    >>> demo.state["status"], demo.state["reason"]
    ('diverged', 'max_iter')
    >>> demo.controls["learning_rate"].value = 0.01
    >>> demo.state["status"], round(float(demo.state["path"][-1]), 3)
    ('descending', 0.0)
    """
    menu = _FUNCTIONS_1D if functions is None else functions
    if function not in menu:
        raise ValueError(f"function must be one of {sorted(menu)}, got {function!r}")
    for key, f in menu.items():
        if f.dim != 1:
            raise ValueError(f"functions[{key!r}] must be one-dimensional, got dim={f.dim}")
    window = menu[function].window[0]
    if start is not None:
        _check_range("start", start, *window)
    _check_range("learning_rate", learning_rate, 1e-3, 1.0)
    _check_range("steps", steps, 1, 100)
    return _Descent1D(
        menu, function=function, start=start, learning_rate=learning_rate, steps=steps
    )


# --------------------------------------------------------------------------- 2. two dimensions


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
_DEFAULTS_2D: Mapping[str, tuple[tuple[float, float], float]] = MappingProxyType(
    {
        "round_bowl": ((8.0, 9.0), 10**-0.5),
        "bowl": ((8.0, 9.0), 10**-0.5),
        "shifted_bowl": ((8.0, 9.0), 10**-0.5),
        "ill_conditioned": ((-9.0, 3.0), 10**-1.15),  # 2 / L = 0.08
        "rosenbrock": ((-1.5, 2.0), 1e-3),
    }
)


class _Descent2D(Demo):
    _DESCRIPTION = (
        "Left: contour lines of the chosen function of two variables with the descent path; "
        "right: the distance to the minimum value at each iteration, on a log scale."
    )

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
        start, default_rate = self._defaults(objective)
        (xlo, xhi), (ylo, yhi) = self._functions[objective].window
        rate = default_rate if learning_rate is None else learning_rate
        controls = {
            "objective": widgets.Dropdown(
                options=[(o.name, key) for key, o in self._functions.items()],
                value=objective,
                description="f =",
            ),
            "x0": _float_slider("start x₀", start[0], xlo, xhi, _grid_step(xlo, xhi)),
            "y0": _float_slider("start y₀", start[1], ylo, yhi, _grid_step(ylo, yhi)),
            "learning_rate": _log_slider("learning rate η", rate, 1e-4, 1.0),
            "momentum": _float_slider("momentum β", momentum, 0.0, 0.99, 0.01),
            "play": widgets.Play(value=0, min=0, max=max_steps, interval=120, description="play"),
            "back": widgets.Button(description="◀ step back", tooltip="one iteration back"),
            "step": widgets.Button(description="step ▶", tooltip="one iteration forward"),
            "reset": widgets.Button(description="reset", tooltip="back to the start point"),
        }
        canvas = _Canvas(2, figsize=(9.0, 3.8))
        super().__init__("descent-2d", canvas, controls)
        self._contours: dict[str, Any] = {}
        self._current = ""
        self._gap_top = 1.0
        ax_path, ax_loss = canvas.axes
        with canvas.style():
            first = plotting.plot_contour_path(
                self._functions[objective].f,
                np.array([start]),
                ax=ax_path,
                window=self._functions[objective].window,
                n_points=120,
                log_levels=objective == "rosenbrock",
            )
            self._contours[objective] = first.contour
            self._loss = plotting.plot_loss([1.0], ax=ax_loss, log=True, ylabel="f(xₖ) − f(x*)")
            self._loss.set_color(plotting.COLORS["path"])
            (self._loss_now,) = ax_loss.plot([0], [1.0], "*", color="black", ms=10)
            ax_loss.set_xlim(0, max_steps)
            ax_loss.set_title("distance to the minimum value")
        assert first.descent is not None
        self._descent = first.descent
        canvas.animate(
            self._descent.path, self._descent.start, self._descent.end, self._loss, self._loss_now
        )
        self._result: optimizers.DescentResult | None = None
        self._watch("objective", "x0", "y0", "learning_rate", "momentum")
        controls["play"].observe(self._on_frame, names="value")
        controls["back"].on_click(self._on_click(lambda: self._move_frame(-1)))
        controls["step"].on_click(self._on_click(lambda: self._move_frame(+1)))
        controls["reset"].on_click(self._on_click(self._reset_frame))
        self._guarded(self._refresh)

    def _layout_controls(self) -> list[Any]:
        c = self.controls
        row = widgets.Layout(flex_flow="row wrap")
        return [
            widgets.HBox([c["objective"], c["learning_rate"], c["momentum"]], layout=row),
            widgets.HBox([c["x0"], c["y0"]], layout=row),
            widgets.HBox([c["reset"], c["back"], c["play"], c["step"]], layout=row),
        ]

    def _defaults(self, key: str) -> tuple[tuple[float, float], float]:
        if key in _DEFAULTS_2D:
            return _DEFAULTS_2D[key]
        (xlo, xhi), (ylo, yhi) = self._functions[key].window
        return (xlo + 0.85 * (xhi - xlo), ylo + 0.85 * (yhi - ylo)), 0.1

    def _use_objective(self, key: str) -> None:
        f = self._functions[key]
        ax = self._canvas.axes[0]
        if key not in self._contours:
            with self._canvas.style():
                self._contours[key] = plotting.plot_contour_path(
                    f.f, None, ax=ax, window=f.window, n_points=120,
                    log_levels=key == "rosenbrock",
                ).contour  # fmt: skip
        for name, contour in self._contours.items():
            contour.set_visible(name == key)
        (xlo, xhi), (ylo, yhi) = f.window
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
        ax.set_title(_title(f))
        self._canvas.set_scene(0, key)
        self._canvas.set_scene(1, key)
        self._gap_top = self._top_gap(f)
        if self._current:
            start, rate = self._defaults(key)
            with self._quiet():
                c = self.controls
                _set_range(c["x0"], xlo, xhi, start[0], _grid_step(xlo, xhi))
                _set_range(c["y0"], ylo, yhi, start[1], _grid_step(ylo, yhi))
                c["learning_rate"].value = rate
        self._current = key

    @staticmethod
    def _top_gap(f: obj.Objective) -> float:
        """A decade above the largest f(x) - f(x*) on the window's corners."""
        (xlo, xhi), (ylo, yhi) = f.window
        corners = np.array([[xlo, ylo], [xlo, yhi], [xhi, ylo], [xhi, yhi]])
        best = float(f.f(f.minimizers[0]))
        largest = max(float(f.f(corner)) - best for corner in corners)
        return _decades(1.0, max(largest, 1.0))[1] * 10

    def _compute_and_draw(self) -> None:
        c = self.controls
        key = c["objective"].value
        if key != self._current:
            self._use_objective(key)
        f = self._functions[key]
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
        with self._quiet():
            play = c["play"]
            play.playing = False
            if self._result.n_iter > play.max:
                play.max = self._result.n_iter
            play.value = self._result.n_iter
            play.max = max(self._result.n_iter, 1)  # play runs to the last iteration
        self._draw_frame()

    def _on_frame(self, change: Mapping[str, Any]) -> None:
        if not self._suspended:
            self._guarded(self._redraw_frame)

    def _redraw_frame(self) -> None:
        self._draw_frame()
        self._show(self._canvas.render())

    def _move_frame(self, delta: int) -> None:
        play = self.controls["play"]
        play.playing = False
        play.value = min(max(play.value + delta, 0), self._last_frame())

    def _reset_frame(self) -> None:
        play = self.controls["play"]
        play.playing = False
        play.value = 0

    def _last_frame(self) -> int:
        return 0 if self._result is None else self._result.n_iter

    def _draw_frame(self) -> None:
        result = self._result
        assert result is not None
        key = self.controls["objective"].value
        f = self._functions[key]
        frame = min(int(self.controls["play"].value), result.n_iter)
        shown = result.path[: frame + 1]
        d = self._descent
        d.path.set_data(shown[:, 0], shown[:, 1])
        d.start.set_data(shown[:1, 0], shown[:1, 1])
        d.end.set_data(shown[-1:, 0], shown[-1:, 1])
        assert result.values is not None
        best = float(f.f(f.minimizers[0]))
        # Fixed limits per objective: from 1e-12 to above the largest gap in the window.
        bottom, top = 1e-12, self._gap_top
        with np.errstate(all="ignore"):
            gap = np.clip(result.values - best, bottom / 10, top * 10)
        self._canvas.axes[1].set_ylim(bottom, top)
        self._loss.set_data(np.arange(frame + 1), gap[: frame + 1])
        self._loss_now.set_data([frame], gap[frame : frame + 1])
        word = _classify(result.path, result.reason)
        point = ", ".join(_fmt(v) for v in shown[-1])
        message = (
            f"{_WORDS[word]} (the whole run: {result.n_iter} iterations). "
            f"Showing iteration {frame}: ({point}), f = {_fmt(float(result.values[frame]))}"
        )
        self._state.update(
            objective=key,
            start=_readonly(result.path[0]),
            learning_rate=float(self.controls["learning_rate"].value),
            momentum=float(self.controls["momentum"].value),
            path=_readonly(result.path),
            values=_readonly(result.values),
            reason=result.reason,
            frame=frame,
            shown=_readonly(shown),
        )
        self._set_status(word, message)


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
    replay controls ``play``, ``step``, ``back`` and ``reset``, which move through
    the iterations of the run. Choosing an objective resets the start and the
    learning rate to values that suit it.

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
        The menu (default: the five above). Each must be two-dimensional.

    Returns
    -------
    Demo
        ``state`` keys: ``objective``, ``start``, ``learning_rate``, ``momentum``,
        ``path`` and ``values`` (the whole run), ``reason``, ``frame`` (the
        iteration shown) and ``shown`` (the part of the path drawn), ``status``,
        ``message``, ``error``.

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
        _check_range("learning_rate", learning_rate, 1e-4, 1.0)
    _check_range("momentum", momentum, 0.0, 0.99)
    return _Descent2D(
        menu,
        objective=objective,
        learning_rate=learning_rate,
        momentum=momentum,
        max_steps=max_steps,
    )


# --------------------------------------------------------------------------- 3. fit a line


class _FitLine(Demo):
    _DESCRIPTION = (
        "Left: the thermometer data (degrees Celsius against the unknown unit) with the line "
        "y = b + wx and its residuals; right: contour lines of the mean squared error over "
        "(w, b) with the current point and the gradient steps taken."
    )
    _W_RANGE = (-1.0, 2.0)
    _B_RANGE = (-40.0, 20.0)

    def __init__(self, *, w: float, b: float, learning_rate: float) -> None:
        x, y = thermometer()
        self._x, self._y = x, y
        (w_best,), b_best = obj.least_squares(x, y)
        self._best = (float(w_best), float(b_best))
        self._best_mse = float(obj.mse(obj.linear_model(x, *self._best), y))
        controls = {
            "w": _float_slider("slope w", w, *self._W_RANGE, 1e-3),
            "b": _float_slider("intercept b", b, *self._B_RANGE, 1e-2),
            "learning_rate": _log_slider("learning rate η", learning_rate, 1e-6, 1e-3),
            "step": widgets.Button(
                description="one gradient step", tooltip="(w, b) ← (w, b) − η ∇MSE"
            ),
            "reset": widgets.Button(description="reset", tooltip="back to the first (w, b)"),
        }
        canvas = _Canvas(2, figsize=(9.0, 3.6))
        super().__init__("fit-line", canvas, controls)
        self._initial = (w, b)
        self._params = (w, b)  # exact; the sliders show it to their resolution
        self._trail: list[tuple[float, float]] = [(w, b)]
        self._last_step = ""
        ax_fit, ax_loss = canvas.axes
        with canvas.style():
            self._fit = plotting.plot_fit(
                x, y, w, b, ax=ax_fit, residuals=True, label="ŷ = b + wx"
            )
            ax_fit.set_xlim(15, 90)
            ax_fit.set_ylim(-25, 45)
            ax_fit.set_xlabel("reading in unknown units")
            ax_fit.set_ylabel("temperature (°C)")
            ax_fit.legend(loc="upper left", fontsize="small")
            ax_fit.set_title("data, line and residuals")
            surface = plotting.plot_loss_surface(
                x, y, w_range=self._W_RANGE, b_range=self._B_RANGE, ax=ax_loss, path=[(w, b)]
            )
            ax_loss.plot(*self._best, "P", color=plotting.COLORS["start"], ms=9)
            ax_loss.set_xlim(*self._W_RANGE)
            ax_loss.set_ylim(*self._B_RANGE)
            ax_loss.set_title("MSE over (w, b); ✚ least squares")
        assert surface.descent is not None
        self._point = surface.descent
        canvas.animate(self._fit.line, self._fit.residuals, *self._points())
        controls["w"].observe(self._on_param, names="value")
        controls["b"].observe(self._on_param, names="value")
        self._watch("learning_rate")
        controls["step"].on_click(self._on_click(self._step))
        controls["reset"].on_click(self._on_click(self._reset))
        self._guarded(self._refresh)

    def _points(self) -> tuple[Line2D, Line2D, Line2D]:
        return self._point.path, self._point.start, self._point.end

    def _on_param(self, change: Mapping[str, Any]) -> None:
        """A slider moved: by the student, or by the browser snapping our value to its grid.

        The demo keeps the exact ``(w, b)`` itself. A value within half a slider
        step of it is the browser's echo of a value we set and is ignored, so
        gradient steps smaller than the sliders' resolution still accumulate.
        """
        if self._suspended:
            return
        name = "w" if change["owner"] is self.controls["w"] else "b"
        index = 0 if name == "w" else 1
        new = float(change["new"])
        if abs(new - self._params[index]) <= self.controls[name].step / 2 + 1e-12:
            return
        params = list(self._params)
        params[index] = new
        self._params = (params[0], params[1])
        self._trail = [self._params]
        self._last_step = ""
        self._guarded(self._refresh)

    def _set_params(self, w: float, b: float) -> tuple[float, float]:
        """Make ``(w, b)`` current (clamped to the sliders' ranges) and move the sliders."""
        (wlo, whi), (blo, bhi) = self._W_RANGE, self._B_RANGE
        self._params = (min(max(w, wlo), whi), min(max(b, blo), bhi))
        with self._quiet():
            for name, value in zip(("w", "b"), self._params, strict=True):
                slider = self.controls[name]
                # On the slider's grid, so that the browser has nothing to snap.
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

    def _compute_and_draw(self) -> None:
        c = self.controls
        w, b = self._params
        x, y = self._x, self._y
        fitted = obj.linear_model(x, w, b)
        self._fit.line.set_data([15.0, 90.0], [b + 15.0 * w, b + 90.0 * w])
        assert self._fit.residuals is not None
        self._fit.residuals.set_segments(
            [np.array([[xi, yi], [xi, fi]]) for xi, yi, fi in zip(x, y, fitted, strict=True)]
        )
        trail = np.array(self._trail)
        path, start, end = self._points()
        path.set_data(trail[:, 0], trail[:, 1])
        start.set_data(trail[:1, 0], trail[:1, 1])
        end.set_data([w], [b])
        mse = self._mse(w, b)
        dw, db = obj.mse_gradient(x, y, w, b)
        rate = float(c["learning_rate"].value)
        wb, bb = self._best
        message = (
            f"MSE = {_fmt(mse)} at w = {_fmt(w)}, b = {_fmt(b)} "
            f"(least squares: MSE = {_fmt(self._best_mse)} at w = {_fmt(wb)}, b = {_fmt(bb)}); "
            f"gradient (∂/∂w, ∂/∂b) = ({_fmt(dw)}, {_fmt(db)})"
        )
        message += (
            f"; the next step with η = {_fmt(rate)} moves (w, b) by "
            f"({_fmt(-rate * dw)}, {_fmt(-rate * db)})"
        )
        word = self._last_step or "manual"
        if word == "overshot":
            message += f"; the last step overshot: η = {_fmt(rate)} is too large here"
        elif word == "clamped":
            message += "; the last step left the sliders' range and was clamped"
        self._state.update(
            w=w,
            b=b,
            mse=mse,
            gradient=(dw, db),
            learning_rate=rate,
            trail=_readonly(trail),
            best=(wb, bb, self._best_mse),
        )
        self._set_status(word, message)


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
        (``(dMSE/dw, dMSE/db)``), ``learning_rate``, ``trail`` (the points of the
        steps), ``best`` (least-squares ``(w, b, mse)``), ``status`` (``"manual"``,
        or after a step ``"descending"``, ``"overshot"`` or ``"clamped"``),
        ``message``, ``error``.

    Examples
    --------
    >>> demo = fit_line(w=0.5, b=-10.0)
    >>> round(demo.state["mse"], 3)
    32.436
    >>> demo.controls["step"].click()
    >>> demo.state["status"], demo.state["mse"] < 32.436
    ('descending', True)
    """
    for name, value, (low, high) in (("w", w, _FitLine._W_RANGE), ("b", b, _FitLine._B_RANGE)):
        if not low <= value <= high:
            raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    if not 1e-6 <= learning_rate <= 1e-3:
        raise ValueError(f"learning_rate must be between 1e-6 and 1e-3, got {learning_rate!r}")
    return _FitLine(w=w, b=b, learning_rate=learning_rate)


# --------------------------------------------------------------------------- 4. batch size


class _BatchSize(Demo):
    _DESCRIPTION = (
        "Mean squared error against epoch, on a log scale, for full-batch, mini-batch and "
        "single-sample gradient descent side by side."
    )

    def __init__(
        self, *, batch_size: int, learning_rate: float, seed: int, epochs: int, n_samples: int
    ) -> None:
        inputs, targets = synthetic_linear(
            np.random.default_rng(2024),
            n_samples=n_samples,
            weights=(2.0, -1.0),
            bias=1.0,
            noise=0.5,
        )
        self._data = (inputs, targets)
        self._epochs = epochs
        self._n = n_samples
        controls = {
            "batch_size": widgets.IntSlider(
                value=batch_size, min=1, max=n_samples, description="batch size",
                style=_slider_style(),
            ),
            "learning_rate": _log_slider("learning rate η", learning_rate, 1e-3, 1.0),
            "seed": widgets.IntSlider(
                value=seed, min=0, max=99, description="shuffle seed", style=_slider_style()
            ),
        }  # fmt: skip
        canvas = _Canvas(3, figsize=(9.6, 3.4))
        super().__init__("batch-size", canvas, controls)
        self._cache: dict[tuple[float, int, int], optimizers.SGDResult] = {}
        self._lines: list[tuple[Line2D, Line2D]] = []
        titles = (f"full batch ({n_samples})", "mini-batch", "single sample (1)")
        with canvas.style():
            for ax, title in zip(canvas.axes, titles, strict=True):
                batches = plotting.plot_loss([1.0], ax=ax, log=True, xlabel="epoch", ylabel="")
                batches.set_alpha(0.45)
                batches.set_linewidth(0.8)
                batches.set_label("batch MSE")
                epochs_line = plotting.plot_loss(
                    [1.0], ax=ax, log=True, xlabel="epoch", ylabel="", label="data-set MSE"
                )
                epochs_line.set_marker("o")
                epochs_line.set_markersize(3)
                epochs_line.set_color(plotting.COLORS["path"])
                ax.set_xlim(0, epochs)
                ax.set_title(title)
                self._lines.append((batches, epochs_line))
            canvas.axes[0].set_ylabel("MSE (log scale)")
            canvas.axes[0].legend(loc="upper right", fontsize="small")
        canvas.animate(*(line for pair in self._lines for line in pair))
        self._watch("batch_size", "learning_rate", "seed")
        self._guarded(self._refresh)

    def _run(self, rate: float, seed: int, size: int) -> optimizers.SGDResult:
        key = (rate, seed, size)
        if key not in self._cache:
            if len(self._cache) > 12:
                self._cache.clear()
            self._cache[key] = optimizers.minibatch_sgd(
                *self._data,
                learning_rate=rate,
                batch_size=size,
                epochs=self._epochs,
                rng=np.random.default_rng(seed),
            )
        return self._cache[key]

    def _compute_and_draw(self) -> None:
        c = self.controls
        rate, seed, size = (
            float(c["learning_rate"].value),
            int(c["seed"].value),
            int(c["batch_size"].value),
        )
        sizes = (self._n, size, 1)
        runs = [self._run(rate, seed, s) for s in sizes]
        initial = float(runs[0].epoch_losses[0])
        top = _decades(1.0, initial)[1] * 10
        with np.errstate(all="ignore"):
            finite = np.concatenate([r.epoch_losses[np.isfinite(r.epoch_losses)] for r in runs])
            low = max(float(finite.min()), top * 1e-6)
        bottom = _decades(low, 1.0)[0]
        words, parts = [], []
        for ax, run, s, (batches, epoch_line) in zip(
            self._canvas.axes, runs, sizes, self._lines, strict=True
        ):
            ax.set_ylim(bottom, top)
            per_epoch = math.ceil(self._n / s)
            with np.errstate(all="ignore"):
                batch_values = np.where(
                    np.isfinite(run.batch_losses), np.minimum(run.batch_losses, top * 100), np.nan
                )
                epoch_values = np.where(
                    np.isfinite(run.epoch_losses), np.minimum(run.epoch_losses, top * 100), np.nan
                )
            batches.set_data(np.arange(len(batch_values)) / per_epoch, batch_values)
            epoch_line.set_data(np.arange(len(epoch_values)), epoch_values)
            final = float(run.epoch_losses[-1])
            ok = bool(np.isfinite(final)) and final <= initial
            words.append("converged" if ok else "diverged")
            parts.append(
                f"batch size {s}: {run.n_updates} updates, final MSE "
                + (_fmt(final) if ok else "grows without bound (diverged)")
            )
        word = "diverged" if "diverged" in words else "converged"
        message = f"after {self._epochs} epochs: " + "; ".join(parts)
        self._state.update(
            batch_size=size,
            learning_rate=rate,
            seed=seed,
            epoch_losses=MappingProxyType(
                {
                    name: _readonly(r.epoch_losses)
                    for name, r in zip(("full", "mini", "single"), runs, strict=True)
                }
            ),
            n_updates=tuple(r.n_updates for r in runs),
            runs=tuple(words),
        )
        self._set_status(word, message)


def batch_size(
    *,
    batch_size: int = 10,
    learning_rate: float = 10**-1.3,
    seed: int = 0,
    epochs: int = 10,
    n_samples: int = 50,
) -> Demo:
    r"""Full-batch, mini-batch and single-sample SGD on the same synthetic data, side by side.

    The data are ``n_samples`` points of :math:`y = 2x_1 - x_2 + 1 + \varepsilon`
    (:func:`~gdcourse.datasets.synthetic_linear`, fixed). Each panel runs
    :func:`~gdcourse.optimizers.minibatch_sgd` for ``epochs`` passes from zero
    weights and shows the MSE of every batch (thin) and of the whole data set
    after every epoch (dots). Controls: ``batch_size`` (1 to ``n_samples``, for
    the middle panel), ``learning_rate`` (logarithmic, 0.001 to 1) and
    ``seed`` (0 to 99, the shuffling).

    Returns
    -------
    Demo
        ``state`` keys: ``batch_size``, ``learning_rate``, ``seed``,
        ``epoch_losses`` (``{"full", "mini", "single"}`` to arrays),
        ``n_updates`` (per run), ``runs`` (a status word per run), ``status``
        (``"diverged"`` when any run diverged, else ``"converged"``), ``message``,
        ``error``.

    Examples
    --------
    >>> demo = batch_size()
    >>> demo.state["n_updates"]
    (10, 50, 500)
    >>> demo.controls["batch_size"].value = 25
    >>> demo.state["n_updates"]
    (10, 20, 500)
    """
    if not 2 <= n_samples <= 200:
        raise ValueError(f"n_samples must be between 2 and 200, got {n_samples!r}")
    if not 1 <= epochs <= 50:
        raise ValueError(f"epochs must be between 1 and 50, got {epochs!r}")
    if not 1 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be between 1 and {n_samples}, got {batch_size!r}")
    _check_range("learning_rate", learning_rate, 1e-3, 1.0)
    _check_range("seed", seed, 0, 99)
    return _BatchSize(
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        epochs=epochs,
        n_samples=n_samples,
    )


# --------------------------------------------------------------------------- 5. feature scaling


@dataclasses.dataclass(frozen=True)
class _Problem:
    """Least squares of one input, with its loss and gradient from sufficient statistics."""

    x: Array
    y: Array

    def loss(self, p: Any) -> float:
        return float(obj.mse(obj.linear_model(self.x, p[0], p[1]), self.y))

    def grad(self, p: Any) -> Array:
        # Equal to objectives.mse_gradient (tested), without its per-call input checks.
        residual = p[1] + p[0] * self.x - self.y
        return np.array([2 * np.mean(residual * self.x), 2 * np.mean(residual)])

    def max_stable_rate(self) -> float:
        """2 / L, with L the largest eigenvalue of the MSE's (constant) Hessian."""
        hessian = 2 * np.array([[np.mean(self.x**2), np.mean(self.x)], [np.mean(self.x), 1.0]])
        return float(2 / np.linalg.eigvalsh(hessian)[-1])

    def window(self, *, square: bool) -> tuple[tuple[float, float], tuple[float, float]]:
        """Ranges of ``(w, b)`` that hold the start ``(0, 0)`` and the minimum, with margins.

        With ``square`` both ranges get the same span, so round contours look round.
        """
        (w,), b = obj.least_squares(self.x, self.y)
        spans = [(min(0.0, v), max(0.0, v)) for v in (float(w), float(b))]
        width = max(max(high - low for low, high in spans), 1e-3)
        ranges = []
        for low, high in spans:
            span = 2 * width if square else 2 * max(high - low, 1e-3)
            middle = (low + high) / 2
            ranges.append((middle - span / 2, middle + span / 2))
        return ranges[0], ranges[1]


class _FeatureScaling(Demo):
    _DESCRIPTION = (
        "Contour lines of the mean squared error over (w, b) for raw (left) and normalised "
        "(right) thermometer inputs, each with the gradient-descent path from (0, 0) at the "
        "same learning rate."
    )

    def __init__(self, *, learning_rate: float, steps: int) -> None:
        x, y = thermometer()
        self._mean, self._scale = float(x.mean()), float(x.std())
        self._problems = {
            "raw": _Problem(x, y),
            "normalised": _Problem((x - self._mean) / self._scale, y),
        }
        controls = {
            "learning_rate": _log_slider("learning rate η (both)", learning_rate, 1e-5, 1.0),
            "steps": widgets.IntSlider(
                value=steps, min=1, max=300, description="steps", style=_slider_style()
            ),
        }
        canvas = _Canvas(2, figsize=(9.0, 3.8))
        super().__init__("feature-scaling", canvas, controls)
        self._descents: dict[str, plotting.DescentArtists] = {}
        titles = {
            "raw": "raw inputs x",
            "normalised": "normalised inputs (x − mean) / std",
        }
        with canvas.style():
            for ax, (name, problem) in zip(canvas.axes, self._problems.items(), strict=True):
                w_range, b_range = problem.window(square=name == "normalised")
                drawn = plotting.plot_loss_surface(
                    problem.x, problem.y, w_range=w_range, b_range=b_range, ax=ax,
                    path=[(0.0, 0.0)],
                )  # fmt: skip
                (w_best,), b_best = obj.least_squares(problem.x, problem.y)
                ax.plot([w_best], [b_best], "P", color=plotting.COLORS["start"], ms=9)
                ax.set_xlim(*w_range)
                ax.set_ylim(*b_range)
                ax.set_title(f"{titles[name]}; η < {problem.max_stable_rate():.2g} converges")
                assert drawn.descent is not None
                self._descents[name] = drawn.descent
                canvas.animate(drawn.descent.path, drawn.descent.start, drawn.descent.end)
        self._watch("learning_rate", "steps")
        self._guarded(self._refresh)

    def _compute_and_draw(self) -> None:
        rate = float(self.controls["learning_rate"].value)
        steps = int(self.controls["steps"].value)
        words, parts, paths, losses = {}, [], {}, {}
        for name, problem in self._problems.items():
            result = optimizers.gradient_descent(
                problem.grad,
                [0.0, 0.0],
                learning_rate=rate,
                max_iter=steps,
                tol=1e-8,
                divergence_threshold=1e6,
            )
            d = self._descents[name]
            path = result.path
            d.path.set_data(path[:, 0], path[:, 1])
            d.start.set_data(path[:1, 0], path[:1, 1])
            d.end.set_data(path[-1:, 0], path[-1:, 1])
            word = _classify(path, result.reason)
            words[name], paths[name] = word, _readonly(path)
            losses[name] = problem.loss(path[-1])
            mse = "" if word == "diverged" else f", MSE {_fmt(losses[name])}"
            parts.append(f"{name} inputs: {word} after {result.n_iter} steps{mse}")
        w_n, b_n = paths["normalised"][-1]
        if words["normalised"] != "diverged":
            w_orig = w_n / self._scale
            parts.append(
                f"normalised fit in original units: w = {_fmt(w_orig)}, "
                f"b = {_fmt(b_n - w_orig * self._mean)}"
            )
        self._state.update(
            learning_rate=rate,
            steps=steps,
            paths=MappingProxyType(paths),
            runs=MappingProxyType(words),
            mse=MappingProxyType(losses),
            max_stable_rate=MappingProxyType(
                {name: p.max_stable_rate() for name, p in self._problems.items()}
            ),
        )
        self._set_status(f"{words['raw']} / {words['normalised']}", "; ".join(parts))


def feature_scaling(*, learning_rate: float = 10**-3.5, steps: int = 100) -> Demo:
    r"""Raw against normalised thermometer inputs: the same learning rate on both loss surfaces.

    Left, the MSE of :math:`\hat y = b + wx` over :math:`(w, b)` for the raw
    readings :math:`x`; right, for the normalised readings :math:`(x - \bar x)/s`.
    Both runs start at :math:`(0, 0)` with the same ``learning_rate``
    (logarithmic, 1e-5 to 1) for ``steps`` iterations (1 to 300). The raw
    surface is a long, narrow valley (its Hessian's eigenvalues differ by a
    factor of thousands), so gradient descent diverges above η ≈ 3.4e-4 and
    crawls below it; the normalised surface is round, so η up to 1 converges in
    a few steps. Each title gives the largest stable learning rate, 2 / L.

    Returns
    -------
    Demo
        ``state`` keys: ``learning_rate``, ``steps``, ``paths``, ``runs`` (a status
        word per input), ``mse`` (final MSE per input), ``max_stable_rate`` (per
        input), ``status`` (``"<raw word> / <normalised word>"``), ``message``, ``error``.

    Examples
    --------
    >>> demo = feature_scaling(learning_rate=0.1, steps=100)
    >>> demo.state["status"]
    'diverged / converged'
    """
    if not 1e-5 <= learning_rate <= 1.0:
        raise ValueError(f"learning_rate must be between 1e-5 and 1, got {learning_rate!r}")
    if not 1 <= steps <= 300:
        raise ValueError(f"steps must be between 1 and 300, got {steps!r}")
    return _FeatureScaling(learning_rate=learning_rate, steps=steps)
