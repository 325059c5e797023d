"""Whether the sandbox host can still finish its jobs: it has not ended, nor stayed stopped.

The grader (:class:`~gdcourse.grading.sandbox.client.Sandbox`) looks every
:data:`HEALTH_SECONDS` while it waits for a report, at the host's processes from the
one it started down to the supervisors (not the students' processes, whose states are
theirs to choose).
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["HEALTH_SECONDS", "HostLost", "all_descendants", "children", "is_host", "state"]


HEALTH_SECONDS = 1.0
"""How often a waiting job looks at the host's health, and how long a stopped host is given
before it counts as lost."""


class HostLost(Exception):
    def __init__(self, why: str, generation: int) -> None:
        super().__init__(why)
        self.generation = generation


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as file:
                found.extend(int(part) for part in file.read().split())
    return found


def all_descendants(pid: int, limit: int = 100_000) -> list[int]:
    """Every process below ``pid`` (at most ``limit``, each once), read from ``/proc``."""
    found: list[int] = []
    seen: set[int] = set()
    stack = [pid]
    while stack and len(found) < limit:
        for child in children(stack.pop()):
            if child not in seen:
                seen.add(child)
                found.append(child)
                stack.append(child)
    return found


def is_host(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"gdcourse.grading.sandbox.host" in file.read()
    except OSError:
        return False


def state(pid: int) -> str:
    """The state letter of ``pid`` (``/proc/PID/stat``), or ``""`` when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return ""
