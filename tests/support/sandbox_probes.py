"""A generic probe for the sandbox's own tests: ``fn(**case)``, its exception as data.

Loaded into a test sandbox host as the probe module of the assignment
``sandbox_probes``; every function name maps to the same probe.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


def call(fn: Any, case: Any) -> dict[str, Any]:
    try:
        return {"output": fn(**case), "raised": None, "modified": []}
    except Exception as error:
        return {
            "output": None,
            "raised": {"types": [type(error).__name__], "message": str(error)[:300]},
            "modified": [],
        }


PROBES: defaultdict[str, Any] = defaultdict(lambda: call)
