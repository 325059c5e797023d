"""Helpers of the sandbox tests (tests/test_sandbox.py, tests/test_trust_boundary.py): a
sandbox over the probes of tests/support/sandbox_probes.py, a job for it, and a reply's data."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gdcourse.grading.sandbox import Job, Limits, RunResult, Sandbox, TestRequest

SUPPORT = Path(__file__).resolve().parent
ROOT = SUPPORT.parents[1]
ASSIGNMENT = "sandbox_probes"
ADD = "def add(a, b):\n    return a + b\n"
PRELOAD = (
    "numpy",
    "torch",
    "torch.optim",
    "torch._dynamo",
    "gdcourse.grading.protocol",
    "gdcourse.grading.sandbox.student",
)


def make_sandbox(isolation: bool = True, preload: Sequence[str] = PRELOAD) -> Sandbox:
    """A sandbox that knows the test probes (``add`` and friends)."""
    return Sandbox(
        isolation=isolation,
        course_root=ROOT,
        preload=tuple(preload),
        probes=[ASSIGNMENT],
        extra_sys_path=[str(SUPPORT)],
    )


def job(*cells: str, tests: list[TestRequest] | None = None, **limits: Any) -> Job:
    """A job of ``cells``, asking ``add(1, 2)`` unless ``tests`` say otherwise."""
    tests = tests or [TestRequest("test_add", "add", [{"a": 1, "b": 2}])]
    return Job(ASSIGNMENT, list(cells), tests, Limits(**{"wall_seconds": 30.0, **limits}))


def output(result: RunResult, test: int = 0, case: int = 0) -> Any:
    """The data of one reply (its ``output`` when the probe described one)."""
    reply = result.tests[test].replies[case]
    assert reply is not None, result
    data = json.loads(reply)
    return data["data"]["output"] if "data" in data else data
