"""The grader's side of the sandbox: start the host inside bubblewrap, hand it jobs, read reports.

:class:`Sandbox` starts one host per grading run (:mod:`~gdcourse.grading.sandbox.host`)
inside ``bwrap`` with an allow-list view of the machine: ``/usr`` and the
Python installation read-only, the public ``gdcourse`` package read-only with its
grading specifications hidden, an empty private ``/tmp``, no network, no other
process visible, every capability dropped. Nothing of the course (masters,
gradebook, other students' work) is in that view. The host runs as the user who
grades (as ``nobody`` when that is root: :mod:`~gdcourse.grading.sandbox.stage`),
and gives each submission namespaces of its own inside it.

Where bubblewrap or unprivileged user namespaces are missing, :meth:`Sandbox.start`
raises :class:`IsolationUnavailable`, which says why and what to do; grading
without isolation needs ``isolation=False`` (``gdcourse grade --no-isolation``),
a choice made on purpose.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gdcourse.grading.sandbox.health import (
    HEALTH_SECONDS,
    HostLost,
    all_descendants,
    children,
    is_host,
    state,
)
from gdcourse.grading.sandbox.kinds import Status, Stop
from gdcourse.grading.sandbox.view import PACKAGE, binds, bwrap_arguments

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

log = logging.getLogger(__name__)

DEFAULT_PRELOAD = (
    "numpy",
    "torch",
    "torch.nn",
    "torch.optim",
    "torch._dynamo",
    "torch.utils.data",
    "matplotlib",
    "matplotlib.pyplot",
    "gdcourse",
    "gdcourse.datasets",
    "gdcourse.objectives",
    "gdcourse.optimizers",
    "gdcourse.plotting",
    "gdcourse.grading.protocol",
    "gdcourse.grading.sandbox.student",
)


def probe_modules() -> list[str]:
    """The probe module of every assignment (``gdcourse.grading.probes.<assignment>``)."""
    folder = PACKAGE / "grading" / "probes"
    return [f"gdcourse.grading.probes.{path.stem}" for path in sorted(folder.glob("ps*.py"))]


SANDBOX_UID = 65534
"""The user the sandbox runs as when the grader is root (``nobody``)."""


class SandboxError(RuntimeError):
    """The sandbox machinery itself failed (not the student's code)."""


class IsolationUnavailable(SandboxError):
    """Student code cannot be isolated on this machine; the message says why and what to do."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed submission, all for the whole sandbox.

    ``memory_bytes`` is what the submission's processes may use together on top of
    the pre-imported libraries, ``cpu_seconds`` their CPU time together,
    ``processes`` how many may exist at once. The code cells may run
    ``cell_seconds`` each, the cases of a test cell ``probe_seconds`` together,
    everything ``wall_seconds``. The first ``output_bytes`` of what it prints are
    kept; past ``flood_bytes`` it is stopped. A reply may hold ``reply_bytes``;
    each private folder (``/tmp`` and the others) ``tmp_bytes``.
    """

    cpu_seconds: float = 60.0
    wall_seconds: float = 120.0
    cell_seconds: float = 30.0
    probe_seconds: float = 30.0
    memory_bytes: int = 1 << 30
    processes: int = 64
    file_bytes: int = 8 << 20
    open_files: int = 64
    output_bytes: int = 64 << 10
    flood_bytes: int = 64 << 20
    reply_bytes: int = 8 << 20
    tmp_bytes: int = 64 << 20

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class TestRequest:
    """The cases of one test cell, asked of ``function`` one at a time."""

    __test__ = False  # not a pytest test class

    test: str
    function: str
    cases: Sequence[Mapping[str, Any]]
    banned: Sequence[str] = ()


@dataclass(frozen=True)
class Job:
    """One submission: its code cells in order, then its test cells' requests."""

    assignment: str
    cells: Sequence[str]
    tests: Sequence[TestRequest]
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> str:
        """Two JSON lines: the cells, the limits and the sets of bans (all a student process
        is forked with: what its code is scanned for), then the tests (read by the
        supervisor afterwards)."""
        bans = sorted({",".join(sorted(t.banned)) for t in self.tests if t.banned})
        head = json.dumps(
            {
                "assignment": self.assignment,
                "cells": list(self.cells),
                "limits": asdict(self.limits),
                "bans": bans,
            }
        )
        return (
            head
            + "\n"
            + json.dumps(
                {
                    "tests": [
                        {
                            "test": t.test,
                            "function": t.function,
                            "cases": list(t.cases),
                            "banned": list(t.banned),
                        }
                        for t in self.tests
                    ],
                },
                allow_nan=True,
            )
        )


@dataclass(frozen=True)
class TestOutcome:
    """What the supervisor saw of one test cell.

    ``replies[i]`` is the raw reply to case ``i`` (text the student's process
    wrote, to be parsed with bounds by the grader) or ``None``; ``stopped`` why
    the cases stopped; ``shortcut`` the banned shortcut that ended the process;
    ``tamper`` refused attempts at the grader's watch; ``channel`` violations of
    the reply channel; ``evidence`` what the notebook's code names that could reach
    a banned shortcut another way (names the watch cannot see used: a person should
    look when the test earned points; never a reason to take any away).
    """

    test: str
    replies: tuple[str | None, ...]
    stopped: str = ""
    """Why the cases stopped, in words for a person (see :attr:`stop` for code)."""
    shortcut: str = ""
    tamper: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    stop: Stop = Stop.NONE
    """Why the cases stopped, as a member: what code should compare."""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class RunResult:
    """The report of one sandboxed submission."""

    status: Status
    """How the run ended (a :class:`~gdcourse.grading.sandbox.kinds.Status`, equal to its
    word: ``result.status == "ok"`` still holds)."""
    reason: str
    cells: str | None
    cell_problems: tuple[str, ...]
    tests: tuple[TestOutcome, ...]
    output: str
    output_bytes: int
    seconds: float
    isolated: bool
    attempts: int
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds the supervisor spent starting processes, running the cells, asking the cases
    and stopping (for benchmarks)."""


def _text(value: Any, limit: int = 2000) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _texts(value: Any, count: int = 20) -> tuple[str, ...]:
    return tuple(_text(item, 300) for item in value[:count]) if isinstance(value, list) else ()


def parse_report(data: bytes, job: Job) -> RunResult:
    """The supervisor's report, checked against the job (it is built by our code, but holds
    what the student's process wrote)."""
    try:
        report = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise SandboxError(f"unreadable sandbox report: {error}") from None
    if not isinstance(report, dict):
        raise SandboxError("unreadable sandbox report: not an object")
    raw_tests = report.get("tests")
    raw_tests = raw_tests if isinstance(raw_tests, list) else []
    outcomes = []
    for index, request in enumerate(job.tests):
        raw = (
            raw_tests[index]
            if index < len(raw_tests) and isinstance(raw_tests[index], dict)
            else {}
        )
        replies = raw.get("replies")
        replies = replies if isinstance(replies, list) else []
        outcomes.append(
            TestOutcome(
                request.test,
                tuple(
                    replies[i] if i < len(replies) and isinstance(replies[i], str) else None
                    for i in range(len(request.cases))
                ),
                stopped=_text(raw.get("stopped"), 300),
                shortcut=_text(raw.get("shortcut"), 120),
                tamper=_texts(raw.get("tamper")),
                channel=_texts(raw.get("channel")),
                evidence=_texts(raw.get("evidence"), 10),
                stop=Stop.read(raw.get("stop", "")) if raw else Stop.NOT_RUN,
            )
        )
    cells = report.get("cells")
    return RunResult(
        status=Status.read(report.get("status")),
        reason=_text(report.get("reason")),
        cells=cells if isinstance(cells, str) else None,
        cell_problems=_texts(report.get("cell_problems")),
        tests=tuple(outcomes),
        output=_text(report.get("output"), 1 << 20),
        output_bytes=int(report.get("output_bytes", 0) or 0),
        seconds=float(report.get("seconds", 0.0) or 0.0),
        isolated=bool(report.get("isolated", False)),
        attempts=int(report.get("attempts", 0) or 0),
        timings={
            str(name): float(value)
            for name, value in (report.get("timings") or {}).items()
            if isinstance(value, int | float)
        },
    )


ISOLATION_HELP = (
    "Grading runs every submission inside bubblewrap with unprivileged user namespaces, and "
    "this machine cannot do that ({why}). To fix it: install bubblewrap (Debian/Ubuntu: "
    "'sudo apt-get install bubblewrap'), and allow unprivileged user namespaces "
    "('sysctl user.max_user_namespaces' must be above 0; on Ubuntu 24.04 and later also "
    "'sysctl kernel.apparmor_restrict_unprivileged_userns=0' or an AppArmor profile for "
    "bwrap). To grade without isolation, trusting every submission with your files and "
    "your account, pass --no-isolation (gdcourse grade) or set "
    "c.SandboxExecute.isolation = False (nbgrader_config.py)."
)


class Sandbox:
    """A warm sandbox host that runs :class:`Job` objects, several at once (thread-safe).

    ``isolation=False`` runs the host as an ordinary process: the shortcut guard,
    the system-call filter, the resource limits and the channel checks still
    apply, but student code can read what this user can read.
    """

    def __init__(
        self,
        *,
        isolation: bool = True,
        course_root: str | os.PathLike[str] | None = None,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        probes: Sequence[str] | None = None,
        extra_sys_path: Sequence[str] = (),
    ) -> None:
        self.isolation = isolation
        self.course_root = Path(course_root) if course_root is not None else None
        self._extra_sys_path = [str(Path(p).resolve()) for p in extra_sys_path]
        self._config = {
            "preload": list(preload),
            "probe_modules": list(probe_modules() if probes is None else probes),
            "extra_sys_path": self._extra_sys_path,
            "isolated": isolation,
        }
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._generation = 0
        """How many times the host was started: a job knows which host it was given."""

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ starting
    def command(self, control_fd: int) -> list[str]:
        """The command that starts the host (``bwrap ...`` unless isolation is off)."""
        python = [sys.executable, "-I", "-m", "gdcourse.grading.sandbox.host", str(control_fd)]
        if not self.isolation:
            return python
        bwrap = shutil.which("bwrap")
        if bwrap is None:
            raise IsolationUnavailable(ISOLATION_HELP.format(why="bubblewrap is not installed"))
        bound = binds(PACKAGE, self.course_root)
        extra: list[str] = self._extra_sys_path
        bound += [(path, path) for path in extra]
        before, after = bwrap_arguments(PACKAGE)
        if os.geteuid() == 0:
            stage = {
                "bwrap": bwrap,
                "binds": bound,
                "before": before,
                "after": after,
                "command": python,
                "uid": SANDBOX_UID,
                "gid": SANDBOX_UID,
            }
            return [
                sys.executable,
                "-I",
                "-m",
                "gdcourse.grading.sandbox.stage",
                json.dumps(stage),
            ]
        bind_args = [arg for source, target in bound for arg in ("--ro-bind", source, target)]
        return [bwrap, *before, *bind_args, *after, "--", *python]

    def start(self) -> None:
        """Start the host and wait until it has imported everything (a few seconds)."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": tempfile.gettempdir(),
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            command = self.command(child.fileno())
        except BaseException:
            parent.close()
            child.close()
            raise
        with tempfile.TemporaryFile() as errors:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                pass_fds=[child.fileno()],
                env=env,
                cwd="/",
                # not in the grader's process group: a Ctrl-C at the terminal interrupts the
                # grader, which stops the host by closing its socket, and never kills a running
                # job under it (whose report would then read as the grader's failure)
                process_group=0,
            )
            child.close()
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(self._config).encode() + b"\n")
            self._process.stdin.close()
            parent.settimeout(180)
            try:
                ready = parent.recv(1 << 16)
            except OSError as error:
                ready = str(error).encode()
            if not ready.startswith(b"ready"):
                parent.close()
                with contextlib.suppress(OSError):
                    self._process.kill()
                self._process.wait()
                self._process = None
                errors.seek(0)
                detail = (errors.read()[-3000:] + ready[-3000:]).decode(errors="replace").strip()
                if self.isolation:
                    why = f"the sandbox did not start: {detail or 'no reason given'}"
                    raise IsolationUnavailable(ISOLATION_HELP.format(why=why))
                raise SandboxError(f"the sandbox host failed to start: {detail}")
        parent.settimeout(None)
        self._socket = parent
        self._generation += 1

    def close(self) -> None:
        """Stop the host (running supervisors finish on their own limits)."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._socket is not None:
            self._socket.close()  # the host exits when its socket closes
            self._socket = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    # ------------------------------------------------------------------ the host's health
    def _tree(self) -> list[int]:
        """The host's processes, from the one this object started down to the host and its
        supervisors (not the students' processes, whose states are theirs to choose)."""
        process = self._process
        if process is None:
            return []
        found: list[int] = []
        stack = [(process.pid, False)]
        while stack and len(found) < 10_000:
            pid, last = stack.pop()
            found.append(pid)
            if last:
                continue
            host = is_host(pid)
            for child in children(pid):
                stack.append((child, host))
        return found

    def _lost(self, generation: int) -> tuple[bool, str]:
        """Whether the host that ran ``generation`` is only stopped (it might go on), and
        why it cannot finish its jobs (``""``: it can)."""
        if generation != self._generation:
            return False, "the sandbox host was restarted"
        process = self._process
        if process is None or process.poll() is not None:
            return False, "the sandbox host ended"
        stopped = [pid for pid in self._tree() if state(pid) in ("T", "t")]
        return True, f"the sandbox host was stopped (process {stopped[0]})" if stopped else ""

    def _recover(self, generation: int) -> None:
        """Stop the lost host of ``generation`` for good and start a new one (once)."""
        with self._lock:
            if generation != self._generation:
                return  # another job already did
            log.warning("the sandbox host was lost: restarting it")
            if self._process is not None:
                for pid in [self._process.pid, *all_descendants(self._process.pid)]:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
            self._stop_locked()
            self._start_locked()

    # ------------------------------------------------------------------ running
    def _submit(self, job: Job) -> tuple[int, int]:
        job_fd = os.memfd_create("gdcourse-job", os.MFD_CLOEXEC)
        try:
            data = memoryview(job.to_json().encode())
            while data:
                data = data[os.write(job_fd, data) :]
            read, write = os.pipe2(os.O_CLOEXEC)
            try:
                with self._lock:
                    for attempt in range(2):
                        if self._socket is None or (
                            self._process is not None and self._process.poll() is not None
                        ):
                            if attempt:
                                raise SandboxError("the sandbox host is not running")
                            log.warning("restarting the sandbox host")
                            self._stop_locked()
                            self._start_locked()
                        assert self._socket is not None
                        try:
                            socket.send_fds(self._socket, [b"job"], [job_fd, write])
                            generation = self._generation
                            break
                        except OSError as error:
                            self._socket = None
                            if attempt:
                                raise SandboxError(
                                    f"cannot reach the sandbox host: {error}"
                                ) from error
            finally:
                os.close(write)
            return read, generation
        finally:
            os.close(job_fd)

    def run(self, job: Job) -> RunResult:
        """Run one job in fresh namespaces and return the supervisor's report.

        A host that dies or is stopped while the job runs is noticed within
        :data:`HEALTH_SECONDS` or so, replaced, and the job run again on the new one
        (once): a lost host costs no submission its grade.
        """
        try:
            return self._run_once(job)
        except HostLost as lost:
            self._recover(lost.generation)
            log.warning("%s: running the job again", lost)
        try:
            return self._run_once(job)
        except HostLost as lost:
            self._recover(lost.generation)
            raise SandboxError(f"{lost}, twice while running this submission") from None

    def _run_once(self, job: Job) -> RunResult:
        read, generation = self._submit(job)
        limits = job.limits
        deadline = time.monotonic() + limits.wall_seconds + 60.0
        cap = len(job.tests) and sum(len(t.cases) for t in job.tests) * (limits.reply_bytes + 1024)
        cap = min(int(cap) + 4 * limits.output_bytes + (1 << 20), 256 << 20)
        chunks: list[bytes] = []
        size = 0
        stopped_since: float | None = None
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    raise SandboxError("the sandbox supervisor did not report in time")
                ready, _, _ = select.select([read], [], [], min(HEALTH_SECONDS, deadline - now))
                if not ready:
                    only_stopped, why = self._lost(generation)
                    if not why:
                        stopped_since = None
                    elif not only_stopped:
                        raise HostLost(why, generation)
                    elif stopped_since is None:
                        stopped_since = now
                    elif now - stopped_since >= HEALTH_SECONDS:
                        raise HostLost(why, generation)
                    continue
                chunk = os.read(read, 1 << 16)
                if not chunk:
                    break
                size += len(chunk)
                if size > cap:
                    raise SandboxError("the sandbox report is larger than allowed")
                chunks.append(chunk)
        finally:
            os.close(read)
        if not chunks:
            for _ in range(20):  # the host's end may take a moment to be seen
                _, why = self._lost(generation)
                if why:
                    raise HostLost(why, generation)
                time.sleep(0.1)
            raise SandboxError("the sandbox supervisor ended without a report")
        return parse_report(b"".join(chunks), job)
