"""gdcourse: the helper library of a course on gradient descent.

The top-level namespace lists the modules; each is imported on first use, so
``import gdcourse`` costs nothing and ``python -m gdcourse`` works before the
course's dependencies are installed.

>>> import gdcourse
>>> gdcourse.optimizers.gradient_descent(lambda x: 2 * x - 4, 0.0, learning_rate=0.5).x
array(2.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "datasets",
    "grading",
    "objectives",
    "optimizers",
    "plotting",
    "reproducibility",
    "schedules",
    "widgets",
]

if TYPE_CHECKING:
    from gdcourse import (
        datasets,
        grading,
        objectives,
        optimizers,
        plotting,
        reproducibility,
        schedules,
        widgets,
    )


def __getattr__(name: str) -> Any:
    if name in __all__:
        return importlib.import_module(f"gdcourse.{name}")
    raise AttributeError(f"module 'gdcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
