"""What the page draws but never computes: curves and contour lines, made small.

The front end draws these as they are; only the numbers of the demos' runs are held
to gdcourse's to 1e-9 (the browser tests). Coordinates travel as integers on a fine
grid of the plot's window (:func:`quantize`), contour lines simplified to within a
fraction of a pixel (:func:`simplify`) and as steps between points, which JSON writes
in a few characters each.
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["CONTOUR_TOLERANCE", "QUANTUM_STEPS", "contour_scene", "quantize", "simplify"]

Array = NDArray[np.float64]

#: Drawing-only coordinates travel as integers on this many steps across their window:
#: a tenth of a pixel or finer at the demos' sizes.
QUANTUM_STEPS = 4000
#: Contour lines keep their points to within this many quanta (under half a pixel).
CONTOUR_TOLERANCE = 4.0


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
