"""Run untrusted student code in a sandbox and bring back plain data only.

The sandbox is split by process, each part a module:

* :mod:`~gdcourse.grading.sandbox.client`: the grader's side. Starts the host,
  hands it jobs, reads reports (:class:`Sandbox`, :class:`Job`, :class:`Limits`), with
  :mod:`~gdcourse.grading.sandbox.view` (what the host sees of the machine),
  :mod:`~gdcourse.grading.sandbox.health` (a lost host noticed) and
  :mod:`~gdcourse.grading.sandbox.kinds` (the report's typed words).
* :mod:`~gdcourse.grading.sandbox.stage`: the only code that runs as root (when
  the grader is root): a private view for bubblewrap, then nobody.
* :mod:`~gdcourse.grading.sandbox.host`: one warm process inside bubblewrap that
  forks a supervisor per submission.
* :mod:`~gdcourse.grading.sandbox.supervisor`: per submission, a process the
  student's code never runs in: requests and replies, limits, the report; with
  :mod:`~gdcourse.grading.sandbox.processes` (the student's processes as it sees
  them) and :mod:`~gdcourse.grading.sandbox.namespaces` (its namespaces and folders).
* :mod:`~gdcourse.grading.sandbox.student`: the student's process, confined, with
  the shortcut guard (:mod:`~gdcourse.grading.sandbox.guard`) armed; sealed after
  its cells, it answers each case from a fork (:mod:`~gdcourse.grading.sandbox.seal`).
* :mod:`~gdcourse.grading.sandbox.fingerprints`: banned code recognised by what it
  is, and the evidence a person should see.
* :mod:`~gdcourse.grading.sandbox.linux` and :mod:`~gdcourse.grading.sandbox.frames`:
  system calls and the framing of the request and reply pipes.
"""

from gdcourse.grading.sandbox.client import (
    DEFAULT_PRELOAD,
    IsolationUnavailable,
    Job,
    Limits,
    RunResult,
    Sandbox,
    SandboxError,
    Status,
    Stop,
    TestOutcome,
    TestRequest,
)

__all__ = [
    "DEFAULT_PRELOAD",
    "IsolationUnavailable",
    "Job",
    "Limits",
    "RunResult",
    "Sandbox",
    "SandboxError",
    "Status",
    "Stop",
    "TestOutcome",
    "TestRequest",
]
