"""Run untrusted student code in a fresh, confined process and bring back plain data only.

The grader never runs student code itself. It starts one *zygote* per grading
run: a clean Python process that imports NumPy, torch and the course's probes
once (about 3 s) and then waits on a Unix socket. Every submission is a
:class:`Job`; for each job the zygote forks a *supervisor*, which

1. enters new mount, PID, network, IPC and UTS namespaces (``unshare(2)``),
   makes every mount private, hides the course directory (a ``tmpfs`` over it,
   with only the Python installation and the public ``gdcourse`` package bound
   back read-only), ``/tmp``, ``/home`` and ``/root`` (again keeping only the
   Python installation), so that the gradebook, the masters and other students'
   work are not there to be read or written;
2. forks the *student process* (PID 1 of the new PID namespace: when it exits,
   the kernel kills every process it left behind), which mounts its own
   ``/proc``, moves into an empty working directory, sets resource limits (CPU
   time, address space, processes, file size, open files, no core dumps),
   sets ``no_new_privs``, drops to an unprivileged uid of its own, scrubs its
   environment, runs the student's code cells and calls the graded functions
   through the probe on each case;
3. reads the student process's output (keeping the first
   :attr:`Limits.output_bytes`, discarding and counting the rest) and its result
   records (JSON lines, capped), enforces the wall-clock limit, and writes one
   JSON report to the grader.

The fork costs milliseconds, so a submission pays neither interpreter start-up
nor imports. Where namespaces are not available (not root, or a kernel or
container that forbids them) the sandbox still runs with the limits and the
empty working directory, and says so: a :class:`SandboxResult` carries the
warning and the grader logs it.

Nothing that comes back is trusted: records are parsed defensively, and the
grader judges the decoded data in its own process (see
:mod:`gdcourse.grading.protocol`).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import errno
import importlib
import json
import logging
import os
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Job",
    "Limits",
    "Probe",
    "SandboxError",
    "SandboxResult",
    "Zygote",
    "call_probe",
    "shared_zygote",
    "spec_probe",
]

log = logging.getLogger(__name__)

COURSE_ROOT = Path(__file__).resolve().parents[2]
"""The course directory (repository root) that the sandbox hides."""

DEFAULT_PROBE = "gdcourse.grading.sandbox:spec_probe"
DEFAULT_PRELOAD = ("numpy", "torch", "gdcourse.grading.protocol", "gdcourse.grading.checks")

# Linux constants (linux/sched.h, linux/mount.h, linux/prctl.h).
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_PDEATHSIG = 1

UID_BASE = 200_000
"""Each sandbox runs as ``UID_BASE + supervisor pid``: a uid (and process limit) of its own."""


class SandboxError(RuntimeError):
    """The sandbox machinery itself failed (not the student's code)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed submission.

    ``memory_bytes`` is what the student's code may allocate on top of the
    pre-imported libraries (the address-space limit is set relative to them).
    The first ``output_bytes`` of what it prints are kept; past ``flood_bytes``
    it is stopped. Each code cell may run ``cell_seconds`` and the cases of each
    test cell ``probe_seconds`` (in a child process of their own), within
    ``wall_seconds`` for the whole submission.
    """

    cpu_seconds: int = 60
    wall_seconds: float = 120.0
    cell_seconds: float = 30.0
    probe_seconds: float = 30.0
    memory_bytes: int = 1 << 30
    processes: int = 64
    file_bytes: int = 8 << 20
    open_files: int = 64
    output_bytes: int = 64 << 10
    flood_bytes: int = 64 << 20
    record_bytes: int = 16 << 20

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class Probe:
    """The cases of one test cell: call ``function`` on each case through the probe."""

    test: str
    function: str
    cases: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class Job:
    """One submission to run: its code cells (in order) and the probes to run after them.

    ``probe`` names ``module:function``, called in the sandbox as
    ``probe(assignment, function_name, fn, case)`` and returning plain data
    (:func:`gdcourse.grading.protocol.encode`); its module must be preloaded by
    the zygote.
    """

    assignment: str
    cells: Sequence[str]
    probes: Sequence[Probe]
    probe: str = DEFAULT_PROBE
    limits: Limits = field(default_factory=Limits)

    def to_json(self) -> str:
        return json.dumps(
            {
                "assignment": self.assignment,
                "cells": list(self.cells),
                "probes": [
                    {"test": p.test, "function": p.function, "cases": list(p.cases)}
                    for p in self.probes
                ],
                "probe": self.probe,
                "limits": asdict(self.limits),
            },
            allow_nan=True,
        )


@dataclass(frozen=True)
class SandboxResult:
    """What came back from one sandboxed run.

    ``outputs`` maps ``(test, case index)`` to the probe's plain data (not yet
    decoded); ``missing`` maps a test to the reason its function could not be
    called, ``stopped`` to the reason its cases stopped (a time limit, say);
    ``cell_errors`` lists ``(cell index, error)`` for code cells that
    raised; ``status`` is ``"ok"``, ``"timeout"``, ``"cpu-limit"``,
    ``"killed"``, ``"exited"`` or ``"crashed"`` with ``reason`` in words.
    """

    outputs: Mapping[tuple[str, int], Any]
    missing: Mapping[str, str]
    stopped: Mapping[str, str]
    cell_errors: Sequence[tuple[int, str]]
    status: str
    reason: str
    output: str
    output_bytes: int
    seconds: float
    warnings: Sequence[str] = ()
    isolated: bool = False

    @property
    def completed(self) -> bool:
        """True when the student process ran every probe and exited normally."""
        return self.status == "ok"


# --------------------------------------------------------------------------- probes


def call_probe(
    assignment: str, function: str, fn: Callable[..., Any], case: Mapping[str, Any]
) -> Any:
    """A generic probe: ``fn(**case)`` as plain data, ``{"__error__": ...}`` if it raises.

    >>> call_probe("demo", "add", lambda a, b: a + b, {"a": 1, "b": 2})
    3
    """
    from gdcourse.grading.protocol import encode

    try:
        return encode(fn(**case))
    except Exception as error:  # the student's error is data here
        return {"__error__": f"{type(error).__name__}: {error}"}


def spec_probe(
    assignment: str, function: str, fn: Callable[..., Any], case: Mapping[str, Any]
) -> Any:
    """The course's probe: the function's spec (``get_spec``) calls it safely on the case."""
    checks = importlib.import_module("gdcourse.grading.checks")
    spec = checks.get_spec(assignment, function)
    return checks.probe_safely(spec, fn, case)


# --------------------------------------------------------------------------- the grader's side


def _pipe_cloexec() -> tuple[int, int]:
    read, write = os.pipe2(os.O_CLOEXEC)
    return read, write


class Zygote:
    """A pre-warmed process that forks one confined sandbox per :class:`Job`.

    Use as a context manager; :meth:`run` is thread-safe, so N threads give N
    sandboxes at once. The zygote is restarted once if it dies.

    ``keep`` lists paths under the hidden ones that the sandbox may read (the
    Python installation and the ``gdcourse`` package are always kept);
    ``extra_sys_path`` and ``preload`` let tests add modules of their own.
    """

    def __init__(
        self,
        *,
        preload: Sequence[str] = DEFAULT_PRELOAD,
        course_root: Path = COURSE_ROOT,
        hide: Sequence[str] | None = None,
        keep: Sequence[str] = (),
        extra_sys_path: Sequence[str] = (),
        isolate: bool = True,
    ) -> None:
        self._config = {
            "preload": list(preload),
            "course_root": str(Path(course_root).resolve()),
            "hide": list(hide) if hide is not None else _default_hidden(Path(course_root)),
            "keep": [str(Path(p).resolve()) for p in keep],
            "extra_sys_path": list(extra_sys_path),
            "isolate": isolate,
        }
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._socket: socket.socket | None = None
        self._warned = False

    # lifecycle -----------------------------------------------------------------
    def __enter__(self) -> Zygote:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the zygote and wait until it has imported everything (a few seconds)."""
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        workdir = tempfile.mkdtemp(prefix="gdcourse-zygote-")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": workdir,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2",
            "MPLBACKEND": "Agg",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        command = [sys.executable, "-I", "-m", "gdcourse.grading.sandbox", str(child.fileno())]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=None,
            pass_fds=[child.fileno()],
            cwd=workdir,
            env=env,
        )
        child.close()
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(self._config).encode() + b"\n")
        self._process.stdin.close()
        parent.settimeout(120)
        try:
            ready = parent.recv(4096)
        except OSError as error:
            ready = f"{error}".encode()
        if not ready.startswith(b"ready"):
            parent.close()
            self._process.kill()
            self._process.wait()
            self._process = None
            raise SandboxError(
                "the sandbox zygote failed to start (see its error output above): "
                + ready.decode(errors="replace")
            )
        parent.settimeout(None)
        self._socket = parent
        with contextlib.suppress(FileNotFoundError, OSError):
            os.rmdir(workdir)

    def close(self) -> None:
        """Stop the zygote (running sandboxes finish on their own limits)."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._socket is not None:
            self._socket.close()  # the zygote exits when its socket closes
            self._socket = None
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    # running -------------------------------------------------------------------
    def _submit(self, job: Job) -> int:
        """Hand the job to the zygote; return the read end of its report pipe."""
        job_fd = os.memfd_create("gdcourse-job", os.MFD_CLOEXEC)
        try:
            data = job.to_json().encode()
            view = memoryview(data)
            while view:
                written = os.write(job_fd, view)
                view = view[written:]
            read, write = _pipe_cloexec()
            try:
                with self._lock:
                    for attempt in range(2):
                        if self._socket is None or (
                            self._process is not None and self._process.poll() is not None
                        ):
                            if attempt:
                                raise SandboxError("the sandbox zygote is not running")
                            log.warning("restarting the sandbox zygote")
                            self._stop_locked()
                            self._start_locked()
                        assert self._socket is not None
                        try:
                            socket.send_fds(self._socket, [b"job"], [job_fd, write])
                            break
                        except OSError as error:
                            self._socket = None
                            if attempt:
                                raise SandboxError(f"cannot reach the zygote: {error}") from error
            finally:
                os.close(write)
            return read
        finally:
            os.close(job_fd)

    def run(self, job: Job) -> SandboxResult:
        """Run one job in a fresh sandbox and return what came back."""
        started = time.monotonic()
        read = self._submit(job)
        limit = job.limits
        deadline = started + limit.wall_seconds + 30.0
        cap = limit.record_bytes + 4 * limit.output_bytes + (1 << 20)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SandboxError("the sandbox supervisor did not report in time")
                ready, _, _ = select.select([read], [], [], remaining)
                if not ready:
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
        report = b"".join(chunks)
        if not report:
            raise SandboxError("the sandbox supervisor died without a report")
        result = _parse_report(report, time.monotonic() - started)
        if result.warnings and not self._warned:
            self._warned = True
            for warning in result.warnings:
                log.warning("sandbox: %s", warning)
        return result


_shared: Zygote | None = None
_shared_lock = threading.Lock()


def shared_zygote(course_root: str | os.PathLike[str] | None = None) -> Zygote:
    """This process's zygote for the course's assignments: started on first use, stopped at exit.

    Its sandboxes hide ``course_root`` (the course being graded), the checkout
    holding this package when it is a course too, ``/tmp``, ``/home`` and ``/root``;
    it preloads NumPy, torch and every assignment's spec.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            from gdcourse.grading import checks

            specs = [f"gdcourse.grading.specs.{name}" for name in checks.known_assignments()]
            root = Path(course_root) if course_root is not None else COURSE_ROOT
            zygote = Zygote(preload=[*DEFAULT_PRELOAD, *specs], course_root=root)
            zygote.start()
            atexit.register(zygote.close)
            _shared = zygote
        return _shared


def _default_hidden(course_root: Path) -> list[str]:
    """The course, this package's checkout if it is a course, and the usual private places."""
    candidates = [
        str(Path(course_root).resolve()),
        *([str(COURSE_ROOT)] if (COURSE_ROOT / "nbgrader_config.py").is_file() else []),
        "/tmp",
        "/var/tmp",
        "/dev/shm",
        "/home",
        "/root",
    ]
    return list(dict.fromkeys(path for path in candidates if os.path.isdir(path)))


def _parse_report(report: bytes, seconds: float) -> SandboxResult:
    try:
        data = json.loads(report)
    except ValueError as error:
        raise SandboxError(f"unreadable sandbox report: {error}") from error
    outputs: dict[tuple[str, int], Any] = {}
    missing: dict[str, str] = {}
    stopped: dict[str, str] = {}
    cell_errors: list[tuple[int, str]] = []
    for line in data.get("records", []):
        # A record comes from the student process: anything may be in it.
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        kind = record.get("t")
        if kind == "case":
            test, index = record.get("test"), record.get("case")
            if isinstance(test, str) and isinstance(index, int) and "output" in record:
                outputs.setdefault((test, index), record["output"])
        elif kind in ("missing", "stopped"):
            test, why = record.get("test"), record.get("why")
            if isinstance(test, str) and isinstance(why, str):
                (missing if kind == "missing" else stopped).setdefault(test, why[:500])
        elif kind == "cell":
            index, message = record.get("index"), record.get("error")
            if isinstance(index, int) and isinstance(message, str):
                cell_errors.append((index, message[:2000]))
    return SandboxResult(
        outputs=outputs,
        missing=missing,
        stopped=stopped,
        cell_errors=cell_errors,
        status=str(data.get("status", "crashed")),
        reason=str(data.get("reason", "")),
        output=str(data.get("output", "")),
        output_bytes=int(data.get("output_bytes", 0)),
        seconds=seconds,
        warnings=[str(w) for w in data.get("warnings", [])],
        isolated=bool(data.get("isolated", False)),
    )


# --------------------------------------------------------------------------- the zygote


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str = ""
) -> None:
    libc = _libc()
    _check(
        libc.mount(
            source.encode() if source is not None else None,
            target.encode(),
            fstype.encode() if fstype is not None else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _serve(control_fd: int) -> None:
    """The zygote: read the configuration, preload, then fork a supervisor per job."""
    config = json.loads(sys.stdin.readline())
    sys.stdin.close()
    sock = socket.socket(fileno=control_fd)
    try:
        for path in config["extra_sys_path"]:
            sys.path.insert(0, path)
        for name in config["preload"]:
            importlib.import_module(name)
        with contextlib.suppress(Exception):
            import torch

            torch.set_num_threads(1)
        from IPython.core.inputtransformer2 import TransformerManager

        config["transformer"] = TransformerManager()  # type: ignore[no-untyped-call]
    except BaseException:
        sock.sendall(b"failed: " + traceback.format_exc().encode())
        raise
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    sock.sendall(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            break
        if not message:
            break
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sock.close()
                _supervise(config, fds[0], fds[1])
                code = 0
            except BaseException:
                with contextlib.suppress(BaseException):
                    _write_all(fds[1], _report_failure(traceback.format_exc()))
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


def _report_failure(text: str) -> bytes:
    return json.dumps(
        {"status": "crashed", "reason": "sandbox failure: " + text[-2000:], "records": []}
    ).encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_job(job_fd: int) -> dict[str, Any]:
    os.lseek(job_fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(job_fd, 1 << 20):
        chunks.append(chunk)
    os.close(job_fd)
    job: dict[str, Any] = json.loads(b"".join(chunks))
    return job


def _enter_namespaces(config: Mapping[str, Any], uid: int) -> list[str]:
    """Unshare namespaces and hide the course; return warnings (empty when fully isolated)."""
    if not config["isolate"]:
        return ["isolation switched off: student code can see this machine's files"]
    if os.geteuid() != 0:
        return [
            "not running as root, so no mount/PID/network namespaces: student code runs "
            "with limits only and can read files this user can read"
        ]
    libc = _libc()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        code = ctypes.get_errno()
        return [
            f"unshare(2) failed ({os.strerror(code)}): no namespaces, student code runs "
            "with limits only and can read files this user can read"
        ]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = [sys.base_prefix, sys.prefix, str(Path(__file__).resolve().parents[1]), *config["keep"]]
    keep = sorted({os.path.realpath(path) for path in keep})
    hidden: list[str] = []
    for path in sorted({os.path.realpath(path) for path in config["hide"]}, key=len):
        if not any(path == h or path.startswith(h + "/") for h in hidden):
            hidden.append(path)  # a path under a hidden one is hidden with it
    # Open every kept path before hiding its parent; bind it back from /proc/self/fd.
    handles: dict[str, int] = {}
    for path in keep:
        if any(path == h or path.startswith(h + "/") for h in hidden) and os.path.exists(path):
            handles[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
    for path in hidden:
        _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=755")
    for path, handle in sorted(handles.items()):
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{handle}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(handle)
    if "/tmp" in hidden:
        os.chmod("/tmp", 0o1777)
    with contextlib.suppress(OSError):
        name = b"sandbox"
        libc.sethostname(name, len(name))
    return []


def _supervise(config: dict[str, Any], job_fd: int, report_fd: int) -> None:
    """Runs as root in a fork of the zygote: confine, fork the student, collect, report."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    job = _read_job(job_fd)
    limits = Limits(**job["limits"])
    uid = UID_BASE + os.getpid()
    warnings = _enter_namespaces(config, uid)
    isolated = not warnings
    workdir = tempfile.mkdtemp(prefix="work-", dir="/tmp")
    if os.geteuid() == 0:
        os.chown(workdir, uid, uid)
    records_read, records_write = os.pipe()
    output_read, output_write = os.pipe()
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(records_read)
            os.close(output_read)
            os.close(report_fd)
            _student(config, job, limits, uid, workdir, records_write, output_write, isolated)
        finally:
            os._exit(0)
    os.close(records_write)
    os.close(output_write)
    report = _collect(pid, uid, limits, records_read, output_read, started, isolated)
    if not isolated:
        shutil.rmtree(workdir, ignore_errors=True)
    report["warnings"] = warnings
    report["isolated"] = isolated
    _write_all(report_fd, json.dumps(report).encode())
    os.close(report_fd)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of the sandbox's uid (left-overs of a fork bomb, say)."""
    if os.geteuid() != 0:
        return
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            with contextlib.suppress(OSError):
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    found = True
                    os.kill(int(entry), signal.SIGKILL)
        if not found:
            return


def _collect(
    pid: int,
    uid: int,
    limits: Limits,
    records_fd: int,
    output_fd: int,
    started: float,
    isolated: bool,
) -> dict[str, Any]:
    """Read the student's records and output until it exits or its time is up.

    In a PID namespace the kernel kills what the student left behind when its
    PID 1 exits; without one, every process of the sandbox's uid is killed.
    """

    def cleanup() -> None:
        if not isolated:
            _kill_uid(uid)

    deadline = started + limits.wall_seconds
    records = bytearray()
    output = bytearray()
    output_bytes = 0
    status: int | None = None
    reason = ""
    verdict = ""
    open_fds = {records_fd, output_fd}
    exited_at: float | None = None
    while open_fds:
        now = time.monotonic()
        if status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = raw
                exited_at = now
                cleanup()
        if status is None and now >= deadline:
            verdict, reason = "timeout", f"wall-clock limit of {limits.wall_seconds:g} s exceeded"
            os.kill(pid, signal.SIGKILL)
            cleanup()
            status = os.waitpid(pid, 0)[1]
            exited_at = now
        if exited_at is not None and now - exited_at > 2.0:
            break  # left-over writers: stop listening
        ready, _, _ = select.select(list(open_fds), [], [], 0.05)
        for fd in ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                open_fds.discard(fd)
                continue
            if fd == output_fd:
                output_bytes += len(chunk)
                if output_bytes > limits.flood_bytes and not verdict:
                    verdict = "killed"
                    reason = f"stopped after printing more than {limits.flood_bytes} bytes"
                    os.kill(pid, signal.SIGKILL)
                room = limits.output_bytes - len(output)
                if room > 0:
                    output += chunk[:room]
            else:
                records += chunk
                if len(records) > limits.record_bytes and not verdict:
                    verdict, reason = "killed", "result records exceeded their size limit"
                    os.kill(pid, signal.SIGKILL)
    if status is None:
        status = os.waitpid(pid, 0)[1]
    cleanup()
    for fd in (records_fd, output_fd):
        with contextlib.suppress(OSError):
            os.close(fd)
    lines = bytes(records[: limits.record_bytes]).decode(errors="replace").splitlines()
    done = any(line == '{"t": "done"}' for line in lines[-1:])
    if not verdict:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig == signal.SIGXCPU or (sig == signal.SIGKILL and _cpu_exhausted(limits)):
                verdict, reason = "cpu-limit", f"CPU time limit of {limits.cpu_seconds} s exceeded"
            else:
                name = (
                    signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
                )
                verdict, reason = "killed", f"the student process was killed by {name}"
        elif not done:
            code = os.WEXITSTATUS(status)
            verdict, reason = "exited", f"the student process exited early (status {code})"
        else:
            verdict, reason = "ok", ""
    return {
        "status": verdict,
        "reason": reason,
        "records": lines,
        "output": bytes(output).decode(errors="replace"),
        "output_bytes": output_bytes,
    }


def _cpu_exhausted(limits: Limits) -> bool:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime >= limits.cpu_seconds


# --------------------------------------------------------------------------- the student process


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


class _IPythonStub:
    """``get_ipython()`` in the sandbox: magics are ignored, timing cell magics just run."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def run_line_magic(self, name: str, line: str, *args: Any) -> None:
        return None

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        if name in ("time", "timeit", "capture", "prun"):
            exec(compile(cell, f"<%%{name}>", "exec"), self._namespace)

    def system(self, command: str) -> None:
        return None

    def getoutput(self, command: str) -> list[str]:
        return []


def _student(
    config: Mapping[str, Any],
    job: Mapping[str, Any],
    limits: Limits,
    uid: int,
    workdir: str,
    records_fd: int,
    output_fd: int,
    isolated: bool,
) -> None:
    """PID 1 of the sandbox: confine this process, then run the student's code and probes."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    if isolated:
        # A mount namespace of its own, so that the supervisor keeps the machine's /proc.
        with contextlib.suppress(OSError):
            _check(_libc().unshare(CLONE_NEWNS), "unshare")
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(workdir)
    # Limits: hard limits too, so that the student cannot raise them again.
    base = _vm_size()
    settings = [
        (resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1)),
        (resource.RLIMIT_AS, (base + limits.memory_bytes,) * 2),
        (resource.RLIMIT_FSIZE, (limits.file_bytes,) * 2),
        (resource.RLIMIT_NOFILE, (limits.open_files,) * 2),
        (resource.RLIMIT_CORE, (0, 0)),
    ]
    if os.geteuid() == 0:
        settings.append((resource.RLIMIT_NPROC, (limits.processes,) * 2))
    for which, value in settings:
        resource.setrlimit(which, value)
    _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    if os.geteuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    keep_fds = {0, 1, 2, records_fd}
    for fd in _open_fds():
        if fd not in keep_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/bin:/bin",
            "HOME": workdir,
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
        }
    )
    # Nothing of the course on the path but the Python installation itself (which may live in
    # the course's .venv and is mounted back read-only): modules imported lazily must load.
    installation = (sys.prefix + "/", sys.base_prefix + "/")
    sys.path[:] = [
        p
        for p in sys.path
        if p and (p.startswith(installation) or not p.startswith(config["course_root"] + "/"))
    ]
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails instead of killing
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115

    write = os.write
    dumps = json.dumps
    import builtins

    pristine = builtins.__dict__.copy()
    update = builtins.__dict__.update
    snapshot = builtins.__dict__.copy

    def emit(record: dict[str, Any]) -> None:
        update(pristine)  # student code may have replaced builtins that json needs
        try:
            data = (dumps(record, allow_nan=True) + "\n").encode()
        except (TypeError, ValueError) as error:
            data = (
                dumps({**record, "output": {"__error__": f"unencodable: {error}"}}) + "\n"
            ).encode()
        view = memoryview(data)
        while view:
            view = view[write(records_fd, view) :]

    module_name, _, attribute = job["probe"].partition(":")
    probe = getattr(importlib.import_module(module_name), attribute)
    transformer = config["transformer"]
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    shell = _IPythonStub(namespace)
    namespace["get_ipython"] = lambda: shell
    import warnings

    warnings.resetwarnings()
    warnings.simplefilter("ignore")
    # Captured before student code runs, which may replace what it finds in modules.
    fork, waitpid, kill, exit_now = os.fork, os.waitpid, os.kill, os._exit
    monotonic, sleep, setitimer = time.monotonic, time.sleep, signal.setitimer

    def on_alarm(signum: int, frame: Any) -> None:
        raise CellTimeout(f"the cell ran longer than {limits.cell_seconds:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    for index, source in enumerate(job["cells"]):
        try:
            # the grader's own steps run with the real builtins, the cell with the student's
            students = snapshot()
            update(pristine)
            try:
                code = compile(transformer.transform_cell(source), f"<cell {index}>", "exec")
            finally:
                update(students)
            setitimer(signal.ITIMER_REAL, limits.cell_seconds)
            try:
                exec(code, namespace)
            finally:
                setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too
            emit({"t": "cell", "index": index, "error": _describe(error)})
    update(pristine)  # probes (and the student's functions) see the real builtins

    def run_cases(item: Mapping[str, Any], fn: Callable[..., Any]) -> None:
        for index, case in enumerate(item["cases"]):
            try:
                output = probe(job["assignment"], item["function"], fn, case)
            except BaseException as error:
                output = {"__error__": _describe(error)}
            emit({"t": "case", "test": item["test"], "case": index, "output": output})

    for item in job["probes"]:
        fn = namespace.get(item["function"])
        if not callable(fn):
            why = "not defined" if fn is None else f"not a function ({type(fn).__name__})"
            emit({"t": "missing", "test": item["test"], "why": f"{item['function']} is {why}"})
            continue
        # Each test cell's cases run in a child with a time budget of their own, so that a
        # function that never returns costs only its own checks.
        try:
            pid = fork()
        except OSError:
            run_cases(item, fn)  # no process left (the student used them up): run here
            continue
        if pid == 0:
            try:
                run_cases(item, fn)
            finally:
                exit_now(0)
        deadline = monotonic() + limits.probe_seconds
        why = ""
        while True:
            done, status = waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFSIGNALED(status):
                    signal_number = os.WTERMSIG(status)
                    why = f"killed by signal {signal_number}"
                    if signal_number in (signal.SIGXCPU, signal.SIGKILL):
                        why = f"ran out of CPU time ({limits.cpu_seconds} s)"
                elif os.WEXITSTATUS(status) != 0:
                    why = f"ended the process (exit status {os.WEXITSTATUS(status)})"
                break
            if monotonic() > deadline:
                kill(pid, signal.SIGKILL)
                waitpid(pid, 0)
                why = f"did not return within {limits.probe_seconds:g} s"
                break
            sleep(0.005)
        if why:
            emit({"t": "stopped", "test": item["test"], "why": f"{item['function']} {why}"})
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
        sys.stderr.flush()
    emit({"t": "done"})


class CellTimeout(BaseException):
    """Raised in a cell that runs past :attr:`Limits.cell_seconds`."""


def _describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {error}"[:2000]
    except BaseException:
        return type(error).__name__


def _open_fds() -> Iterator[int]:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = [str(fd) for fd in range(3, 1024)]
    for name in names:
        if name.isdigit():
            yield int(name)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gdcourse.grading.sandbox FD``: the zygote (started by :class:`Zygote`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m gdcourse.grading.sandbox CONTROL_FD (started by Zygote)")
        return 2
    try:
        _serve(int(args[0]))
    except OSError as error:
        if error.errno != errno.EBADF:
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
