"""What every demo shares: the :class:`Demo` widget, the status words, numbers as text, scenes.

A :class:`Demo` is an ordinary ipywidget (an ``anywidget.AnyWidget``) whose
front end is one ES module: ``_base.js`` (controls, the SVG figure, the status
line, the in-page computations' shared helpers) followed by the demo's own
script (``descent_1d.js`` and so on). The Python side holds the controls
(:mod:`gdcourse.widgets._controls`), computes with gdcourse at every change and
publishes the result in the synced ``shown`` trait; the front end draws what
``shown`` says. Without a kernel (the book's static pages) the front end
computes ``shown`` itself with its port of the demo, which the browser tests
hold to what this module computes.

Synced traits (the front end reads all of them, writes only ``values``):

``kind``
    The demo's name, ``"descent-1d"`` ...: which part of the script draws it.
``scene``
    What does not change with the controls: the figure's layout, titles, the data
    drawn and everything the in-page port needs (menus' functions, contour lines).
``inputs``
    The controls, in order: ``{"name", "kind", "label", "row", ...}`` (ranges, options).
``values``
    The controls' values by name.
``shown``
    What the figure and the status line show now (numbers as JSON, non-finite as null).
``error``, ``error_detail``
    The last exception raised while updating and its traceback (empty when none).
"""

from __future__ import annotations

import contextlib
import math
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import resources
from types import MappingProxyType
from typing import Any, ClassVar, cast

import anywidget
import numpy as np
import traitlets
from numpy.typing import ArrayLike, NDArray

from gdcourse.widgets._controls import Button, Control

__all__ = [
    "STATUS_COLORS",
    "WORDS",
    "Demo",
    "check_range",
    "classify",
    "contour_scene",
    "decades",
    "fmt",
    "front_end",
    "grid_step",
    "jsonable",
    "nice_ceil",
    "quantize",
    "readonly",
    "simplify",
]

Array = NDArray[np.float64]

#: The status words' colours: Okabe and Ito's palette, shown as a swatch beside the word.
STATUS_COLORS: Mapping[str, str] = MappingProxyType(
    {
        "converged": "#009E73",
        "oscillating": "#E69F00",
        "diverged": "#D55E00",
        "descending": "#0072B2",
    }
)

#: What each status word of a descent run means, for the status line.
WORDS: Mapping[str, str] = MappingProxyType(
    {
        "converged": "the steps became smaller than the tolerance",
        "oscillating": "each step overshoots the minimum and turns back",
        "diverged": "the steps grow instead of shrinking (more than tenfold)",
        "descending": "still moving downhill; more steps are needed",
    }
)

#: Drawing-only coordinates (curves, contour lines) travel as integers on this many steps
#: across their window: far finer than a pixel, a third of the size of full floats.
QUANTUM_STEPS = 4000
#: Contour lines keep their points to within this many quanta (a tenth of a pixel or so).
CONTOUR_TOLERANCE = 4.0


# --------------------------------------------------------------------------- numbers


def fmt(value: float) -> str:
    """A number for the status line: four significant digits, a real minus sign.

    >>> fmt(-0.000123456), fmt(13.0625), fmt(2.0e6)
    ('−0.0001235', '13.06', '2e+06')
    """
    return f"{value:.4g}".replace("-", "−")


def nice_ceil(value: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten that is >= ``value`` (> 0).

    >>> nice_ceil(7), nice_ceil(20), nice_ceil(101)
    (10.0, 20.0, 200.0)
    """
    exponent = math.floor(math.log10(value))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        candidate = mantissa * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)  # pragma: no cover - the loop always returns


def decades(low: float, high: float) -> tuple[float, float]:
    """Log-axis limits at whole decades around ``[low, high]`` (both > 0).

    >>> decades(0.03, 250.0)
    (0.01, 1000.0)
    """
    return 10.0 ** math.floor(math.log10(low)), 10.0 ** math.ceil(math.log10(high))


def grid_step(low: float, high: float) -> float:
    """A power of ten that gives a slider over ``[low, high]`` between 100 and 1000 stops."""
    return float(10.0 ** math.floor(math.log10((high - low) / 100)))


def classify(path: Array, reason: str) -> str:
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


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Refuse a keyword option outside the range its control offers."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")


def readonly(values: Any) -> Array:
    """A read-only float64 copy, for a demo's ``state``."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready Python: arrays to lists, non-finite numbers to ``None``.

    >>> jsonable({"a": np.array([1.0, np.inf]), "b": (np.float64(2.5), "x")})
    {'a': [1.0, None], 'b': [2.5, 'x']}
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            return jsonable(value.astype(object))
        return value.tolist() if value.dtype != object else [jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def quantize(values: Any, low: float, high: float) -> list[int | None]:
    """Drawing-only coordinates as integers on :data:`QUANTUM_STEPS` steps of ``[low, high]``.

    The front end maps them back with ``low + i * (high - low) / QUANTUM_STEPS``; values
    outside the window keep their place (negative or above the top), non-finite become null.

    >>> quantize([0.0, 0.5, 1.0, np.nan], 0.0, 1.0)
    [0, 2000, 4000, None]
    """
    array = np.asarray(values, dtype=np.float64)
    with np.errstate(all="ignore"):
        steps = np.round((array - low) / (high - low) * QUANTUM_STEPS)
    finite = np.isfinite(steps) & (np.abs(steps) < 1e9)
    return [int(s) if ok else None for s, ok in zip(steps.tolist(), finite.tolist(), strict=True)]


def contour_scene(
    x: Array,
    y: Array,
    z: Array,
    levels: int | ArrayLike,
    window: tuple[tuple[float, float], tuple[float, float]],
) -> list[dict[str, Any]]:
    """Contour lines of ``z`` over the grid ``x, y``, as the front end draws them.

    ``levels`` is a count (levels chosen as Matplotlib's ``contour`` chooses them) or the
    levels themselves; each line is coloured by its level on the viridis map, as
    Matplotlib colours contour lines. Returns ``[{"level", "color", "lines"}]`` with each
    line a flat list of quantized ``x, y`` pairs (see :func:`quantize`).
    """
    import contourpy
    from matplotlib import colormaps
    from matplotlib.colors import Normalize, to_hex
    from matplotlib.ticker import MaxNLocator

    zmin, zmax = float(np.nanmin(z)), float(np.nanmax(z))
    chosen: Array
    if isinstance(levels, int):
        chosen = np.asarray(MaxNLocator(levels + 1).tick_values(zmin, zmax), dtype=np.float64)
        chosen = chosen[(chosen > zmin) & (chosen < zmax)]
    else:
        chosen = np.asarray(levels, dtype=np.float64)
    norm = Normalize(float(chosen.min()), float(chosen.max()))
    cmap = colormaps["viridis"]
    generator = contourpy.contour_generator(x, y, z, line_type=contourpy.LineType.Separate)
    (xlo, xhi), (ylo, yhi) = window
    out = []
    for level in chosen:
        lines = []
        for line in cast(list[Array], generator.lines(float(level))):
            qx = quantize(line[:, 0], xlo, xhi)
            qy = quantize(line[:, 1], ylo, yhi)
            points = np.array(
                [
                    (px, py)
                    for px, py in zip(qx, qy, strict=True)
                    if px is not None and py is not None
                ],
                dtype=np.int64,
            ).reshape(-1, 2)
            points = simplify(points, CONTOUR_TOLERANCE)
            if len(points) >= 2:
                # The first point, then the steps between points: small integers.
                lines.append(
                    np.concatenate([points[:1], np.diff(points, axis=0)]).ravel().tolist()
                )
        out.append({"level": float(level), "color": to_hex(cmap(norm(level))), "lines": lines})
    return out


def simplify(points: NDArray[np.int64], tolerance: float) -> NDArray[np.int64]:
    """Douglas and Peucker's simplification: drop points within ``tolerance`` of the line kept.

    >>> simplify(np.array([[0, 0], [5, 1], [10, 0], [10, 10]]), 2.0).tolist()
    [[0, 0], [10, 0], [10, 10]]
    """
    if len(points) <= 2:
        return points
    keep = np.zeros(len(points), dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    p = points.astype(np.float64)
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        a, b = p[first], p[last]
        inner = p[first + 1 : last]
        ab = b - a
        length = math.hypot(*ab)
        if length == 0:
            distance = np.hypot(*(inner - a).T)
        else:
            distance = np.abs(ab[0] * (inner[:, 1] - a[1]) - ab[1] * (inner[:, 0] - a[0])) / length
        worst = int(np.argmax(distance))
        if distance[worst] > tolerance:
            middle = first + 1 + worst
            keep[middle] = True
            stack += [(first, middle), (middle, last)]
    return points[keep]


# --------------------------------------------------------------------------- front end

_SCRIPTS = resources.files("gdcourse.widgets")


def front_end(script: str) -> str:
    """The ES module of a demo: the shared ``_base.js`` followed by the demo's ``script``."""
    base = (_SCRIPTS / "_base.js").read_text(encoding="utf-8")
    own = (_SCRIPTS / script).read_text(encoding="utf-8")
    return f"{base}\n{own}"


def _stylesheet() -> str:
    return (_SCRIPTS / "_base.css").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the Demo widget


class Demo(anywidget.AnyWidget):
    """An interactive demo: controls, a figure, a status line and an error line.

    Every demo function returns one. Its attributes are the programmatic
    interface used by the tests (and handy in a notebook).

    Attributes
    ----------
    controls : Mapping[str, Control]
        The controls by name; set ``controls[name].value`` to move one (as the front
        end does), ``controls[name].click()`` presses a button.
    state : Mapping[str, Any]
        A read-only view of what the demo shows now (arrays in it are read-only).
        Every demo has ``"status"`` (one word), ``"message"`` (the status line as
        plain text) and ``"error"``, plus its own keys, listed by each demo function.
    alt_text : str
        The figure's text alternative: what it shows, and its status now.
    """

    kind = traitlets.Unicode("").tag(sync=True)
    scene = traitlets.Dict().tag(sync=True)
    inputs: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    values = traitlets.Dict().tag(sync=True)
    shown = traitlets.Dict().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    error_detail = traitlets.Unicode("").tag(sync=True)

    _css = _stylesheet()

    #: What the figure shows, for its text alternative (each demo says).
    DESCRIPTION: ClassVar[str] = "A figure of the demo."
    #: The demo's own part of the front end, in this package (each demo says).
    SCRIPT: ClassVar[str] = ""

    def __init__(
        self,
        kind: str,
        controls: Mapping[str, Control],
        *,
        rows: Sequence[Sequence[str]] | None = None,
        scene: Mapping[str, Any],
    ) -> None:
        self._state: dict[str, Any] = {"status": "", "message": "", "error": ""}
        self._suspended = 0
        self.controls: Mapping[str, Control] = MappingProxyType(dict(controls))
        self.state: Mapping[str, Any] = MappingProxyType(self._state)
        layout = [list(row) for row in rows] if rows is not None else [list(controls)]
        row_of = {name: i for i, row in enumerate(layout) for name in row}
        missing = set(controls) - set(row_of)
        if missing:
            raise ValueError(f"controls {sorted(missing)} are in no row")
        self._rows = row_of
        super().__init__(
            kind=kind,
            scene={**scene, "description": self.DESCRIPTION, "colors": dict(STATUS_COLORS)},
        )
        for name, control in self.controls.items():
            if isinstance(control, Button):
                control.on_click(self._button_handler(name))
            else:
                control.observe(self._value_handler(name), names="value")
            control.observe(lambda _c: self._publish_inputs(), names=["min", "max", "step"])
        self.observe(self._front_values, names="values")
        self.on_msg(self._front_message)
        self._publish_inputs()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Each demo's front end is the shared script followed by its own.
        if "SCRIPT" in cls.__dict__ and cls.SCRIPT:
            cls._esm = front_end(cls.SCRIPT)
        super().__init_subclass__(**kwargs)

    # ------------------------------------------------------------------ what subclasses write
    def _compute(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """Compute what the demo shows for the controls' values: a dict for ``state``.

        It must hold ``"status"`` and ``"message"``; the default :meth:`_publish` sends
        every key to the front end.
        """
        raise NotImplementedError

    def _changed(self, name: str) -> None:
        """A control's value changed (by the student or by code): recompute by default."""
        self._refresh()

    def _clicked(self, name: str) -> None:  # pragma: no cover - demos with buttons override
        """A button was pressed."""

    # ------------------------------------------------------------------ updating
    def _refresh(self) -> None:
        state = self._compute()
        self._state.update(state)
        self._publish(state)

    def _publish(self, state: Mapping[str, Any]) -> None:
        self._publish_values()
        self.shown = jsonable(state)

    def _publish_values(self) -> None:
        self.values = {
            name: control.json_value()
            for name, control in self.controls.items()
            if not isinstance(control, Button)
        }

    def _publish_inputs(self) -> None:
        self.inputs = [
            {"name": name, "row": self._rows[name], **control.spec()}
            for name, control in self.controls.items()
        ]

    def _button_handler(self, name: str) -> Callable[[Button], None]:
        def handler(_button: Button) -> None:
            self._guarded(lambda: self._clicked(name))

        return handler

    def _value_handler(self, name: str) -> Callable[[Any], None]:
        def handler(_change: Any) -> None:
            if not self._suspended:
                self._guarded(lambda: self._changed(name))

        return handler

    def _front_values(self, change: Mapping[str, Any]) -> None:
        """The front end moved a control: set it here, which runs the demo's update."""
        new = change["new"]
        for name, value in new.items():
            control = self.controls.get(name)
            if control is None or isinstance(control, Button):
                continue
            if value != control.json_value():
                try:
                    control.value = value
                except traitlets.TraitError as error:
                    self._show_error(error)
        if new != self.values:  # e.g. a value was clamped: tell the front end
            self._publish_values()

    def _front_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, Mapping) and "ping" in content:
            # A view asks whether a kernel is there: say so, and it sends its changes here.
            self.send({"pong": content["ping"]})
        elif isinstance(content, Mapping) and "click" in content:
            control = self.controls.get(str(content["click"]))
            if isinstance(control, Button):
                control.click()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Change several controls with a single update (by the caller) at the end."""
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
            self._show_error(exc)
        else:
            if self._state["error"]:
                self._state["error"] = ""
                self.error = ""
                self.error_detail = ""

    def _show_error(self, exc: BaseException) -> None:
        summary = f"{type(exc).__name__}: {exc}"
        self._state["error"] = summary
        self.error_detail = "".join(traceback.format_exception(exc))
        self.error = summary

    # ------------------------------------------------------------------ reading
    @property
    def alt_text(self) -> str:
        return f"{self.DESCRIPTION} Now {self._state['status']}: {self._state['message']}"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, and a one-line text for front ends without widgets."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            data["text/plain"] = f"gdcourse demo {self.kind}: {self._state['status']}"
        return bundle

    def close(self) -> None:
        """Close the demo, so that it and its controls can be freed."""
        for control in getattr(self, "controls", {}).values():
            control.unobserve_all()
            if isinstance(control, Button):
                control._handlers.clear()
        super().close()
