"""Interactive demos: move a slider, watch gradient descent behave (placeholder docstring)."""

from __future__ import annotations

from gdcourse.widgets._base import Demo
from gdcourse.widgets._batch_size import batch_size
from gdcourse.widgets._descent_1d import descent_1d
from gdcourse.widgets._descent_2d import descent_2d
from gdcourse.widgets._feature_scaling import feature_scaling
from gdcourse.widgets._fit_line import fit_line

__all__ = ["Demo", "batch_size", "descent_1d", "descent_2d", "feature_scaling", "fit_line"]
