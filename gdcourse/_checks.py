"""Argument validation shared by the library: every message names the argument,
its value and what is allowed."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray


def positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    number = real_number(name, value)
    if not number > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def real_number(name: str, value: Any) -> float:
    """Return ``value`` as a finite float, or raise ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= 0, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    number = non_negative_int(name, value)
    if number < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return number


def unit_interval(name: str, value: Any) -> float:
    """Return ``value`` as a float in [0, 1), or raise."""
    number = real_number(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return number


def finite_array(name: str, value: Any, *, max_ndim: int | None = None) -> NDArray[np.float64]:
    """Return a float64 *copy* of ``value``; raise if it is not numeric and finite."""
    try:
        array = np.array(value, dtype=np.float64)  # always a copy: callers may update it
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a real number or an array of real numbers, got {value!r}"
        ) from error
    if max_ndim is not None and array.ndim > max_ndim:
        raise ValueError(
            f"{name} must have at most {max_ndim} dimension(s), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers, got {value!r}")
    return array
