"""The shortcuts a spec may ban: the names the grader's run-time guard knows."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SHORTCUTS", "STUDENT_PREFIX", "check_banned"]


SHORTCUTS: tuple[str, ...] = (
    "gdcourse",
    "torch.optim",
    "torch.nn",
    "torch.autograd",
    "torch.func",
    "numpy.polyfit",
    "numpy.polynomial",
    "numpy.linalg.lstsq",
    "numpy.linalg.solve",
    "numpy.linalg.inv",
    "numpy.linalg.pinv",
    "numpy.gradient",
    "scipy",
    "sklearn",
    "jax",
    "autograd",
)
"""The names a spec's ``banned`` may hold, besides ``"student:<function>"`` (another
graded function of the student's own notebook). ``"gdcourse"`` is the course library's
algorithms (``gdcourse.optimizers``, ``gdcourse.objectives``; not its data sets or
plotting); ``"torch.autograd"`` covers ``Tensor.backward`` and
``torch.autograd.backward``/``grad``/``functional``. The grader's run-time guard
detects each of them, whatever the spelling."""

STUDENT_PREFIX = "student:"


def check_banned(function: str, banned: Sequence[str]) -> None:
    """Raise ``ValueError`` when ``banned`` holds a name that is not a known shortcut.

    >>> check_banned("fit", ["numpy.polyfit", "student:predict"])
    >>> check_banned("fit", [".backward"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: spec of fit: banned name '.backward' is not a shortcut the grader knows; ...
    """
    if isinstance(banned, str):
        raise ValueError(f"spec of {function}: banned must be a sequence of names, not a string")
    for name in banned:
        known = name in SHORTCUTS or (
            isinstance(name, str)
            and name.startswith(STUDENT_PREFIX)
            and name.removeprefix(STUDENT_PREFIX).isidentifier()
        )
        if not known:
            raise ValueError(
                f"spec of {function}: banned name {name!r} is not a shortcut the grader knows; "
                f"allowed: {', '.join(SHORTCUTS)}, or '{STUDENT_PREFIX}<function>'"
            )
