"""Which objectives the front end can evaluate itself, on a page with no kernel.

``_base.js`` ports the functions and gradients of :mod:`gdcourse.objectives`
operation for operation (``OBJECTIVES`` there); :func:`port_of` names the port of
an :class:`~gdcourse.objectives.Objective`, or returns ``None`` for a function the
front end does not know (a demo's custom menu entry), which then responds only
with a kernel.

>>> port_of(obj.parabola), port_of(obj.ill_conditioned(4.0))
({'kind': 'parabola'}, {'kind': 'ill_conditioned', 'kappa': 4.0})
"""

from __future__ import annotations

from typing import Any

from gdcourse import objectives as obj

__all__ = ["port_of"]

_KNOWN = {
    "parabola": obj.parabola,
    "steep_parabola": obj.steep_parabola,
    "cubic": obj.cubic,
    "bowl": obj.bowl,
    "shifted_bowl": obj.shifted_bowl,
    "rosenbrock": obj.rosenbrock,
}


def port_of(objective: obj.Objective) -> dict[str, Any] | None:
    """The front end's port of ``objective`` (``{"kind": ..., parameters}``), or ``None``."""
    for kind, known in _KNOWN.items():
        if objective.f is known.f and objective.grad is known.grad:
            return {"kind": kind}
    f, grad = objective.f, objective.grad
    if (
        getattr(f, "__module__", "") == obj.__name__
        and getattr(f, "__qualname__", "") == "ill_conditioned.<locals>.f"
        and getattr(grad, "__qualname__", "") == "ill_conditioned.<locals>.grad"
        and objective.smoothness is not None
    ):
        return {"kind": "ill_conditioned", "kappa": float(objective.smoothness)}
    return None
