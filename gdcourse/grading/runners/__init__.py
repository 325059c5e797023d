"""The run stage of ``gdcourse grade``: where sandbox jobs run, here or on a Dask cluster.

A runner takes :class:`~gdcourse.grading.sandbox.Job` objects and gives back
each one's :class:`~gdcourse.grading.sandbox.RunResult` (or the error that
stopped it), in the order they finish. It never sees a reference, an expected
value or the gradebook: preparing jobs, judging results and recording them stay
in the instructor's process.

* :mod:`~.local`: a thread pool over one warm sandbox on this machine (the default).
* :mod:`~.cluster`: tasks on the workers of a Dask cluster, each worker with one warm
  sandbox of its own, started by a worker plugin (``gdcourse grade --scheduler``).
  Only this module imports Dask, and only when a scheduler is given.

Both hold at most :attr:`Runner.window` jobs at once, so that the instructor's
process never holds more notebooks than it has in flight.
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from gdcourse.grading.sandbox import IsolationUnavailable, Job, Limits, RunResult, Sandbox

__all__ = [
    "CHECK_JOB",
    "RunAborted",
    "Runner",
    "SandboxCheck",
    "check_sandbox",
    "describe",
    "fingerprint",
]

T = TypeVar("T")

PACKAGE = Path(__file__).resolve().parents[2]


class RunAborted(RuntimeError):
    """The run stage cannot go on (its cluster went away); the message says what to do."""


class Runner(Protocol[T]):
    """Where jobs run. ``T`` is the caller's tag of each job, handed back with its result."""

    description: str
    window: int
    """How many jobs the caller should keep in flight at most."""

    def submit(self, tag: T, job: Job) -> None:
        """Start ``job`` (it runs while the caller goes on)."""

    def pending(self) -> int:
        """How many submitted jobs have not been handed back yet."""

    def wait(self) -> list[tuple[T, RunResult | BaseException]]:
        """Block until at least one job has finished; hand back every finished one."""

    def close(self) -> None:
        """Stop: jobs not handed back are dropped."""


def fingerprint() -> str:
    """A digest of what runs in a sandbox: gdcourse's sandbox, probes and protocol sources.

    A Dask worker whose gdcourse differs from the instructor's would run other probes
    than the master's cases expect: workers compare it before they take work.
    """
    grading = PACKAGE / "grading"
    files = sorted(
        [
            *(grading / "sandbox").glob("*.py"),
            *(grading / "probes").glob("*.py"),
            grading / "protocol.py",
            grading / "shortcuts.py",
        ]
    )
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


CHECK_JOB = Job(
    "sandbox_check",
    [
        "import os, sys\n"
        "print('uid', os.getuid(), 'pid', os.getpid())\n"
        "print('home is empty:', not os.listdir(os.environ.get('HOME', '/tmp')))\n",
        "import numpy, torch\nprint('numpy', numpy.__version__, 'torch', torch.__version__)\n",
    ],
    [],
    Limits(wall_seconds=60.0, cell_seconds=30.0),
)
"""A job with no test cell: it only shows that student code runs, and where."""


@dataclass(frozen=True)
class SandboxCheck:
    """What :func:`check_sandbox` found on one machine."""

    host: str
    python: str
    fingerprint: str
    isolated: bool
    status: str
    seconds: float
    """How long the check job ran in the sandbox."""
    output: str = ""
    error: str = ""

    def summary(self, expected_fingerprint: str | None = None) -> str:
        if self.error:
            state = f"FAILED: {self.error}"
        elif not self.isolated:
            state = "ran WITHOUT isolation"
        else:
            state = "isolated (bubblewrap, user namespaces)"
        same = ""
        if expected_fingerprint is not None and self.fingerprint != expected_fingerprint:
            same = "; its gdcourse DIFFERS from yours (install the same version)"
        return (
            f"{self.host}: {state}; a job ran in {self.seconds:.2f} s (status {self.status}); "
            f"Python {self.python}{same}"
        )


def check_sandbox(
    isolation: bool = True,
    course_root: str | None = None,
    sandbox: Sandbox | None = None,
) -> SandboxCheck:
    """Start a sandbox (or use ``sandbox``), run :data:`CHECK_JOB` in it, say what happened.

    Never raises: an error (isolation unavailable, a host that does not start) is in
    ``error``. Runs on the instructor's machine or, through Dask, on each worker.
    """
    host = f"{socket.gethostname()} (pid {os.getpid()})"
    python = f"{platform.python_version()} at {sys.executable}"
    mine = fingerprint()
    own = sandbox is None
    try:
        if sandbox is None:
            root = course_root if course_root and os.path.isdir(course_root) else None
            sandbox = Sandbox(isolation=isolation, course_root=root)
            sandbox.start()
        result = sandbox.run(CHECK_JOB)
    except IsolationUnavailable as error:
        return SandboxCheck(host, python, mine, False, "refused", 0.0, error=str(error))
    except Exception as error:
        return SandboxCheck(
            host, python, mine, False, "failed", 0.0, error=f"{type(error).__name__}: {error}"
        )
    finally:
        if own and sandbox is not None:
            sandbox.close()
    problem = "" if result.status == "ok" else f"{result.status}: {result.reason}"
    return SandboxCheck(
        host,
        python,
        mine,
        result.isolated,
        result.status,
        result.seconds,
        output=result.output[:2000],
        error=problem,
    )


def describe(
    checks: Sequence[SandboxCheck], expected: str, *, isolation: bool = True
) -> tuple[str, bool]:
    """The lines of a check report, and whether every machine can grade (in isolation,
    unless ``isolation`` is false) with the same gdcourse as ``expected``."""
    lines = [check.summary(expected) for check in checks]
    ok = bool(checks) and all(
        (c.isolated or not isolation) and not c.error and c.fingerprint == expected for c in checks
    )
    return "\n".join(lines), ok
