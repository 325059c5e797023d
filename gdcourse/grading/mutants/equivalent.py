"""Equivalent mutants, reviewed: each changes the code but cannot change any result.

A mutant that scores full marks and is not listed here is a survivor: the checks (or this
list) must be fixed. Each entry is the mutant's id (``function/operator/digest``, the
digest being of the mutant's whole cell, so an entry goes stale when the master's solution
changes and must be reviewed again) and a one-line reason a reviewer can verify against
the diff shown in ``mutation/<assignment>.md``.
"""

from __future__ import annotations

__all__ = ["EQUIVALENT"]

EQUIVALENT: dict[str, str] = {}
