"""The demos' controls on the Python side: values with ranges, a menu, buttons, a player.

A demo's controls are drawn by its front end (``_base.js``: native ``<input>``,
``<select>`` and ``<button>`` elements with labels); on the Python side each is a
small :class:`traitlets.HasTraits` object with the attributes and methods of the
ipywidgets control it stands for (``value``, ``min``, ``max``, ``step``,
``options``, ``observe``, ``click``), so a notebook, a test or a benchmark drives a
demo exactly as the front end does. Setting a value outside the range clamps it,
as ipywidgets' sliders do; a value that is not a menu option is refused.

>>> s = FloatLogSlider(value=0.1, min=-3, max=0, description="learning rate η")
>>> s.value = 50.0
>>> s.value
1.0
>>> IntSlider(value=3, min=1, max=10, description="steps").spec()["kind"]
'int'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import traitlets

__all__ = [
    "Button",
    "Control",
    "Dropdown",
    "FloatLogSlider",
    "FloatSlider",
    "IntSlider",
    "Play",
    "decimals",
]


def decimals(step: float) -> int:
    """How many decimals a readout needs for a grid of ``step`` (0.01 -> 2, 1 -> 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9))


class Control(traitlets.HasTraits):
    """A control of a demo: a ``value`` that the front end shows and the student moves."""

    #: What the front end draws: "float", "log", "int", "menu", "button" or "play".
    kind = "control"
    value: Any = traitlets.Any()
    description = traitlets.Unicode("")

    def spec(self) -> dict[str, Any]:
        """What the front end needs to draw the control (its value travels separately)."""
        return {"kind": self.kind, "label": self.description}

    def json_value(self) -> Any:
        return self.value


class _Slider(Control):
    min = traitlets.Float(0.0)
    max = traitlets.Float(1.0)
    step = traitlets.Float(0.1)

    def __init__(self, *, value: float, min: float, max: float, step: float, **kwargs: Any):
        if not min <= max:
            raise ValueError(f"min must be <= max, got min={min!r}, max={max!r}")
        super().__init__(min=min, max=max, step=step, **kwargs)
        self.value = value

    def _bounds(self) -> tuple[float, float]:
        return self.min, self.max

    @traitlets.validate("value")
    def _clamp(self, proposal: Any) -> Any:
        value = proposal["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise traitlets.TraitError(
                f"{self.description or 'value'} must be a number, got {value!r}"
            )
        low, high = self._bounds()
        if math.isnan(value):
            raise traitlets.TraitError(f"{self.description or 'value'} must not be NaN")
        return float(min(max(float(value), low), high))

    def set_range(self, low: float, high: float, value: float, step: float | None = None) -> None:
        """Move the range and the value at once (the value is clamped into the new range)."""
        with self.hold_trait_notifications():
            self.min, self.max = low, high
            if step is not None:
                self.step = step
            self.value = value

    def spec(self) -> dict[str, Any]:
        return {
            **super().spec(),
            "min": self.min,
            "max": self.max,
            "step": self.step,
            "decimals": decimals(self.step),
        }


class FloatSlider(_Slider):
    """A number between ``min`` and ``max`` on a grid of ``step``."""

    kind = "float"


class FloatLogSlider(_Slider):
    """A number between ``base**min`` and ``base**max``, on a grid of ``step`` in the exponent."""

    kind = "log"
    base = traitlets.Float(10.0)

    def __init__(
        self,
        *,
        value: float,
        min: float,
        max: float,
        step: float = 0.05,
        base: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(value=value, min=min, max=max, step=step, base=base, **kwargs)

    def _bounds(self) -> tuple[float, float]:
        return self.base**self.min, self.base**self.max


class IntSlider(_Slider):
    """A whole number between ``min`` and ``max``."""

    kind = "int"

    def __init__(self, *, value: int, min: int, max: int, **kwargs: Any) -> None:
        super().__init__(value=value, min=min, max=max, step=1, **kwargs)

    @traitlets.validate("value")
    def _clamp(self, proposal: Any) -> Any:
        return round(super()._clamp(proposal))

    def json_value(self) -> int:
        return int(self.value)


class Dropdown(Control):
    """One of a list of ``(label, key)`` options; ``value`` is the key."""

    kind = "menu"
    options: Any = traitlets.List()

    def __init__(self, *, options: Sequence[tuple[str, str]], value: str, **kwargs: Any) -> None:
        super().__init__(options=[tuple(o) for o in options], **kwargs)
        self.value = value

    @traitlets.validate("value")
    def _known(self, proposal: Any) -> str:
        keys = [key for _, key in self.options]
        if proposal["value"] not in keys:
            raise traitlets.TraitError(
                f"{self.description or 'value'} must be one of {keys}, got {proposal['value']!r}"
            )
        return str(proposal["value"])

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "options": [list(o) for o in self.options]}


class Button(Control):
    """A button: :meth:`click` runs the handlers given to :meth:`on_click`."""

    kind = "button"
    tooltip = traitlets.Unicode("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handlers: list[Callable[[Button], None]] = []

    def on_click(self, handler: Callable[[Button], None]) -> None:
        self._handlers.append(handler)

    def click(self) -> None:
        """Press the button, as the front end does."""
        for handler in list(self._handlers):
            handler(self)

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "tooltip": self.tooltip}


class Play(Control):
    """The frame of an animation: ``value`` from ``min`` to ``max``, one every ``interval`` ms."""

    kind = "play"
    min = traitlets.Int(0)
    max = traitlets.Int(1)
    interval = traitlets.Int(120)
    playing = traitlets.Bool(False)

    def __init__(self, *, value: int, min: int, max: int, **kwargs: Any) -> None:
        super().__init__(min=min, max=max, **kwargs)
        self.value = value

    @traitlets.validate("value")
    def _clamp(self, proposal: Any) -> int:
        return int(min(max(int(proposal["value"]), self.min), self.max))

    def spec(self) -> dict[str, Any]:
        return {**super().spec(), "min": self.min, "max": self.max, "interval": self.interval}
