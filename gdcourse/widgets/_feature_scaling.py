"""Demo 5: raw against normalised inputs under the same learning rate (:func:`feature_scaling`)."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdcourse import objectives as obj
from gdcourse import optimizers
from gdcourse.datasets import thermometer
from gdcourse.plotting import loss_grid
from gdcourse.widgets._base import Demo, classify, fmt, readonly
from gdcourse.widgets._controls import FloatLogSlider, IntSlider
from gdcourse.widgets._scene import contour_scene

__all__ = ["feature_scaling"]

Array = NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class _Problem:
    """Least squares of one input, with its loss and gradient."""

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


TITLES = {"raw": "raw inputs x", "normalised": "normalised inputs (x − mean) / std"}


class _FeatureScaling(Demo):
    DESCRIPTION = (
        "Contour lines of the mean squared error over (w, b) for raw (left) and normalised "
        "(right) thermometer inputs, each with the gradient-descent path from (0, 0) at the "
        "same learning rate."
    )
    SCRIPT = "feature_scaling.js"

    def __init__(self, *, learning_rate: float, steps: int) -> None:
        x, y = thermometer()
        self._mean, self._scale = float(x.mean()), float(x.std())
        self._problems = {
            "raw": _Problem(x, y),
            "normalised": _Problem((x - self._mean) / self._scale, y),
        }
        controls = {
            "learning_rate": FloatLogSlider(
                value=learning_rate, min=-5, max=0, description="learning rate η (both)"
            ),
            "steps": IntSlider(value=steps, min=1, max=300, description="steps"),
        }
        problems = {}
        for name, problem in self._problems.items():
            w_range, b_range = problem.window(square=name == "normalised")
            grid_w, grid_b, loss = loss_grid(problem.x, problem.y, w_range, b_range)
            low = max(float(loss.min()), 1e-6)
            (w_best,), b_best = obj.least_squares(problem.x, problem.y)
            rate = problem.max_stable_rate()
            problems[name] = {
                "x": problem.x.tolist(),
                "title": f"{TITLES[name]}; η < {rate:.2g} converges",
                "w_range": list(w_range),
                "b_range": list(b_range),
                "best": [float(w_best), float(b_best)],
                "max_stable_rate": rate,
                "contours": contour_scene(
                    grid_w,
                    grid_b,
                    loss,
                    np.geomspace(low, float(loss.max()), 25),
                    (w_range, b_range),
                ),
            }
        scene = {
            "y": y.tolist(),
            "mean": self._mean,
            "scale": self._scale,
            "problems": problems,
            "tol": 1e-8,
            "threshold": 1e6,
        }
        super().__init__("feature-scaling", controls, scene=scene)
        self._guarded(self._refresh)

    def _compute(self) -> dict[str, Any]:
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
            path = result.path
            word = classify(path, result.reason)
            words[name], paths[name] = word, readonly(path)
            losses[name] = problem.loss(path[-1])
            mse = "" if word == "diverged" else f", MSE {fmt(losses[name])}"
            parts.append(f"{name} inputs: {word} after {result.n_iter} steps{mse}")
        w_n, b_n = paths["normalised"][-1]
        if words["normalised"] != "diverged":
            w_orig = w_n / self._scale
            parts.append(
                f"normalised fit in original units: w = {fmt(w_orig)}, "
                f"b = {fmt(b_n - w_orig * self._mean)}"
            )
        return {
            "learning_rate": rate,
            "steps": steps,
            "paths": MappingProxyType(paths),
            "runs": MappingProxyType(words),
            "mse": MappingProxyType(losses),
            "max_stable_rate": MappingProxyType(
                {name: p.max_stable_rate() for name, p in self._problems.items()}
            ),
            "status": f"{words['raw']} / {words['normalised']}",
            "message": "; ".join(parts),
        }


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
