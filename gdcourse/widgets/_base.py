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
from typing import Any, ClassVar

import anywidget
import numpy as np
import traitlets
from numpy.typing import NDArray

from gdcourse.widgets._controls import Button, Control

__all__ = [
    "STATUS_COLORS",
    "WORDS",
    "Demo",
    "check_range",
    "classify",
    "decades",
    "fmt",
    "front_end",
    "grid_step",
    "jsonable",
    "nice_ceil",
    "readonly",
]

Array = NDArray[np.float64]

#: The status words' colours: Okabe and Ito's palette, shown as a swatch beside the word.
STATUS_COLORS: Mapping[str, str] = MappingProxyType(
    {
        "converged": "#009E73",
        "oscillating": "#E69F00",
        "diverged": "#D55E00",
        "descending": "#0072B2",
        "finished": "#56B4E9",
    }
)

#: What each status word of a descent run means, for the status line.
WORDS: Mapping[str, str] = MappingProxyType(
    {
        "converged": "the steps became smaller than the tolerance",
        "oscillating": "each step overshoots the minimum and turns back",
        "diverged": "the steps grow instead of shrinking (more than tenfold)",
        "descending": "still moving downhill; more steps are needed",
        "finished": "ran every epoch and ended below its starting loss (SGD at a constant"
        " learning rate has no tolerance to stop at)",
    }
)


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


# --------------------------------------------------------------------------- front end

_SCRIPTS = resources.files("gdcourse.widgets")


#: The shared parts of every demo's front end, in order (the demo's own script comes last).
SHARED_SCRIPTS = ("_base.js", "_numbers.js", "_plot.js")


def front_end(script: str) -> str:
    """The ES module of a demo: the shared scripts followed by the demo's own ``script``."""
    parts = [(_SCRIPTS / name).read_text(encoding="utf-8") for name in (*SHARED_SCRIPTS, script)]
    return "\n".join(parts)


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
        """The front end moved a control: set it here, which runs the demo's update.

        The page sends all the values; only those that differ from the values it had are
        its change. (The others may be out of date by now: choosing another objective, say,
        moves the start and the learning rate here.)
        """
        new, old = change["new"], change["old"] or {}
        for name, value in new.items():
            control = self.controls.get(name)
            if control is None or isinstance(control, Button) or old.get(name) == value:
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
