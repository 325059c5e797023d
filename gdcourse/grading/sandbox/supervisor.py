"""The supervisor of one submission: a process the student's code never runs in.

Forked by the host (:mod:`~gdcourse.grading.sandbox.host`) for each job, it

1. starts the student's process through a small namespace helper, which enters
   new user, mount, PID, network, IPC and UTS namespaces, mounts private
   size-capped ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run`` and working folder,
   hides ``/proc``, and forks the student's process as PID 1 of the new PID
   namespace (:mod:`~gdcourse.grading.sandbox.student`);
2. asks it to run the notebook's code cells, then sends the cases one at a time
   and reads exactly one reply per request, matched by a random token. A reply
   with another token, bytes beyond the one frame, a reply that arrives when
   nothing was asked: each is a channel violation that costs the test its points
   and sends the submission to a human;
3. between requests, kills every process the student's code left running, so
   nothing outlives the request that started it;
4. watches the whole sandbox, not one process: the memory (proportional set
   size), CPU time and number of processes of every process in it, and the
   wall clock; the output is capped and a flood stops the process;
5. restarts the student's process (running the cells again) after a test whose
   process had to be stopped, so that one endless loop costs only its own test;
6. writes one JSON report, the only thing that goes back to the grader.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import select
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gdcourse.grading.sandbox import guard, linux, student
from gdcourse.grading.sandbox.frames import TOKEN_BYTES

__all__ = ["HostContext", "supervise"]

PR_SET_CHILD_SUBREAPER = 36
_PAGE = os.sysconf("SC_PAGE_SIZE")
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class HostContext:
    """What the host prepared once for every job."""

    regions: Sequence[Any]
    transformer: Any
    isolated: bool
    probes: Mapping[str, Mapping[str, Any]]
    """Assignment -> graded function -> probe (:mod:`gdcourse.grading.probes`)."""


@dataclass
class _Test:
    name: str
    replies: list[str | None]
    stopped: str = ""
    shortcut: str = ""
    tamper: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.name,
            "replies": self.replies,
            "stopped": self.stopped,
            "shortcut": self.shortcut,
            "tamper": self.tamper,
            "channel": self.channel,
        }


class _Stopped(Exception):
    """The student's process ended or was stopped; ``reason`` says why."""

    def __init__(self, reason: str, *, exit_status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_status = exit_status


# ------------------------------------------------------------------------------- process tree


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as file:
                found.extend(int(part) for part in file.read().split())
    return found


def _descendants(pid: int) -> list[int]:
    seen: list[int] = []
    stack = [pid]
    while stack and len(seen) < 10_000:
        for child in _children(stack.pop()):
            if child not in seen:
                seen.append(child)
                stack.append(child)
    return seen


def _usage(pids: Sequence[int]) -> tuple[int, float]:
    """Proportional set size (bytes) and CPU seconds of ``pids``, reaped children included."""
    memory, ticks = 0, 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rpartition(")")[2].split()
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            with open(f"/proc/{pid}/smaps_rollup") as file:
                for line in file:
                    if line.startswith("Pss:"):
                        memory += int(line.split()[1]) * 1024
                        break
    return memory, ticks / _TICKS


# ------------------------------------------------------------------------------- the student


class _Factory:
    """A fork of the supervisor made before the test cases were read: it starts students.

    The student's process inherits the memory of the process it is forked from.
    The factory knows the cells and the limits and nothing else, so no student
    process can find a case in its memory or its stack, whatever it inspects.
    Each student's namespace helper is forked through a short-lived middle process,
    so that it becomes the supervisor's child (the supervisor is a subreaper) and
    the supervisor can wait for it.
    """

    def __init__(self, context: HostContext, head: Mapping[str, Any], job_fd: int) -> None:
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.pid = os.fork()
        if self.pid == 0:
            code = 70
            try:
                os.close(job_fd)
                self._socket.close()
                code = _factory(context, head, theirs)
            finally:
                os._exit(code)
        theirs.close()

    def start(self) -> tuple[int, list[int]]:
        """A new student: the helper's pid and our ends of its pipes (request, reply,
        evidence, output, pid)."""
        self._socket.sendall(b"s")
        message, fds, _, _ = socket.recv_fds(self._socket, 64, 5)
        if not message.startswith(b"started ") or len(fds) != 5:
            for fd in fds:
                os.close(fd)
            raise RuntimeError(f"the sandbox could not start the student's process: {message!r}")
        return int(message.split()[1]), fds

    def close(self) -> None:
        self._socket.close()  # the factory ends when its socket closes
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _factory(context: HostContext, head: Mapping[str, Any], sock: socket.socket) -> int:
    limits = head["limits"]
    supervisor_pid = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    while sock.recv(1):
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        evidence_read, evidence_write = os.pipe()
        output_read, output_write = os.pipe()
        pid_read, pid_write = os.pipe()
        middle = os.fork()
        if middle == 0:
            middle_pid = os.getpid()
            if os.fork() == 0:  # the namespace helper, adopted by the supervisor
                code = 70
                try:
                    sock.close()
                    for fd in (request_write, reply_read, evidence_read, output_read, pid_read):
                        os.close(fd)
                    code = _helper(
                        context,
                        head,
                        limits,
                        student.Setup(
                            request_fd=request_read,
                            reply_fd=reply_write,
                            evidence_fd=evidence_write,
                            output_fd=output_write,
                            workdir="",
                            limits={},
                            cell_seconds=float(limits["cell_seconds"]),
                            reply_bytes=int(limits["reply_bytes"]),
                            regions=context.regions,
                            transformer=context.transformer,
                            isolated=context.isolated,
                            probes=context.probes,
                        ),
                        pid_write,
                        middle_pid,
                        supervisor_pid,
                    )
                finally:
                    os._exit(code)
            os._exit(0)
        os.waitpid(middle, 0)
        mine = (request_read, reply_write, evidence_write, output_write, pid_write)
        for fd in mine:
            os.close(fd)
        theirs = [request_write, reply_read, evidence_read, output_read, pid_read]
        try:
            socket.send_fds(sock, [b"started 0"], theirs)
        finally:
            for fd in theirs:
                os.close(fd)
    return 0


class _Student:
    """One student process, its namespace helper, and the pipes between them and us."""

    def __init__(self, factory: _Factory, limits: Mapping[str, Any], isolated: bool) -> None:
        self.limits = limits
        self.isolated = isolated
        self.status: int | None = None
        _, fds = factory.start()
        self.request, self.reply, self.evidence, self.output, pid_read = fds
        ready, _, _ = select.select([pid_read], [], [], 30.0)
        text = os.read(pid_read, 64) if ready else b""
        os.close(pid_read)
        parts = text.split()
        if len(parts) != 2 or not all(part.isdigit() for part in parts):
            raise RuntimeError(f"the sandbox could not start the student's process: {text!r}")
        self.helper, self.pid = int(parts[0]), int(parts[1])
        self.buffer = b""
        self.output_text = bytearray()
        self.output_bytes = 0
        self.evidence_text = b""
        self.flooded = ""
        self.base_memory = _usage([self.pid])[0]
        self.last_watch = 0.0

    # ---------------------------------------------------------------- lifecycle
    def alive(self) -> bool:
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.helper, os.WNOHANG)
        if pid == 0:
            return True
        self.status = status
        return False

    def kill(self) -> None:
        """Stop the whole student side: the process tree, then the helper."""
        if self.status is not None:
            return
        for pid in [*_descendants(self.helper), self.helper]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            self.status = os.waitpid(self.helper, 0)[1]

    def close(self) -> list[str]:
        """Ask the process to stop, make sure it did, and return late writes found."""
        with contextlib.suppress(OSError):
            self.send(student.OP_EXIT, b"\0" * TOKEN_BYTES, b"", ())
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and self.alive():
            time.sleep(0.01)
        self.kill()
        late = self._drain()
        for fd in (self.request, self.reply, self.evidence, self.output):
            with contextlib.suppress(OSError):
                os.close(fd)
        return late

    def _drain(self) -> list[str]:
        """Read what is left in the pipes once every writer is gone."""
        problems = []
        os.set_blocking(self.reply, False)
        with contextlib.suppress(OSError):
            while chunk := os.read(self.reply, 1 << 16):
                self.buffer += chunk
                if len(self.buffer) > 1 << 20:
                    break
        if self.buffer:
            problems.append(f"{len(self.buffer)} bytes were written to the reply channel late")
        self.buffer = b""
        self._pump_side_channels(0)
        return problems

    # ---------------------------------------------------------------- requests
    def send(self, operation: int, token: bytes, payload: bytes, banned: Sequence[str]) -> None:
        names = ",".join(banned).encode("ascii")
        body = bytes([operation]) + token + len(names).to_bytes(2, "big") + names + payload
        data = memoryview(len(body).to_bytes(4, "big") + body)
        while data:
            data = data[os.write(self.request, data) :]

    def kill_strays(self) -> None:
        """Kill every process of the student's besides the student's process itself."""
        for _ in range(5):
            strays = [pid for pid in _descendants(self.pid)]
            if not strays:
                return
            for pid in strays:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)

    def await_reply(self, token: bytes, deadline: float) -> bytes:
        """The payload of the one reply frame to ``token``; raises :class:`_Stopped` or
        ``ValueError`` (a channel violation)."""
        limit = int(self.limits["reply_bytes"]) + TOKEN_BYTES
        while True:
            if len(self.buffer) >= 4:
                size = int.from_bytes(self.buffer[:4], "big")
                if size > limit or size < TOKEN_BYTES:
                    raise ValueError(f"a reply frame of {size} bytes (the limit is {limit})")
                if len(self.buffer) >= 4 + size:
                    frame, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
                    if frame[:TOKEN_BYTES] != token:
                        raise ValueError("a reply to a request that was never made")
                    if self.buffer:
                        raise ValueError("more than one reply to one request")
                    return frame[TOKEN_BYTES:]
            now = time.monotonic()
            if now >= deadline:
                raise _Stopped("did not answer in time")
            self._watch(now)
            ready, _, _ = select.select(
                [self.reply, self.evidence, self.output], [], [], min(0.05, deadline - now)
            )
            if self.reply in ready:
                chunk = os.read(self.reply, 1 << 16)
                if not chunk:
                    raise _Stopped("ended", exit_status=self._exit_status())
                self.buffer += chunk
            self._pump_side_channels(0)
            if self.flooded:
                raise _Stopped(self.flooded)
            if not ready and not self.alive():
                raise _Stopped("ended", exit_status=self._exit_status())

    def stray_bytes(self) -> bool:
        """Whether anything was written to the reply channel when nothing was asked."""
        ready, _, _ = select.select([self.reply], [], [], 0)
        if ready:
            with contextlib.suppress(OSError):
                self.buffer += os.read(self.reply, 1 << 16)
        return bool(self.buffer)

    def _exit_status(self) -> int | None:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            if not self.alive() and self.status is not None:
                return self.status
            time.sleep(0.005)
        return None

    # ---------------------------------------------------------------- side channels
    def _pump_side_channels(self, timeout: float) -> None:
        ready, _, _ = select.select([self.evidence, self.output], [], [], timeout)
        for fd in ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                continue
            if fd == self.evidence:
                if len(self.evidence_text) < 1 << 16:
                    self.evidence_text += chunk
            else:
                self.output_bytes += len(chunk)
                room = int(self.limits["output_bytes"]) - len(self.output_text)
                if room > 0:
                    self.output_text += chunk[:room]
                if self.output_bytes > int(self.limits["flood_bytes"]) and not self.flooded:
                    flood = int(self.limits["flood_bytes"])
                    self.flooded = f"printed more than {flood} bytes and was stopped"
                    self.kill()

    def take_evidence(self, *, settle: bool = False) -> list[tuple[str, str]]:
        """Evidence lines since the last call, as ``(kind, text)`` (``S``: shortcut, ``T``:
        tampering refused). ``settle`` first reads what a process that just ended wrote."""
        if settle:
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                ready, _, _ = select.select([self.evidence], [], [], 0.05)
                if not ready:
                    break
                chunk = os.read(self.evidence, 1 << 16)
                if not chunk:
                    break
                if len(self.evidence_text) < 1 << 16:
                    self.evidence_text += chunk
        lines, _, rest = self.evidence_text.rpartition(b"\n")
        self.evidence_text = rest
        found = []
        for line in lines.split(b"\n"):
            kind, _, text = line.decode("ascii", "replace").partition(" ")
            if kind in ("S", "T") and text:
                found.append((kind, text[:120]))
        return found

    def _files_in_memory(self) -> int:
        """Bytes the student's files take in its memory-backed folders (one tmpfs)."""
        if not self.isolated:
            return 0
        try:
            info = os.statvfs(f"/proc/{self.pid}/root/tmp")
        except OSError:
            return 0
        return (info.f_blocks - info.f_bfree) * info.f_frsize

    def _watch(self, now: float) -> None:
        """Enforce the whole sandbox's memory, CPU and process limits."""
        if now - self.last_watch < 0.1:
            return
        self.last_watch = now
        pids = [self.pid, *_descendants(self.pid)]
        memory, cpu = _usage(pids)
        memory += self._files_in_memory()
        limits = self.limits
        reason = ""
        if memory - self.base_memory > int(limits["memory_bytes"]):
            reason = f"used more than {int(limits['memory_bytes']) >> 20} MiB of memory"
        elif cpu > float(limits["cpu_seconds"]):
            reason = f"used more than {float(limits['cpu_seconds']):g} s of CPU time"
        if reason:
            self.kill()
            raise _Stopped(reason)


def _exit_reason(stopped: _Stopped) -> tuple[str, bool]:
    """Words for how the student's process ended, and whether a shortcut ended it."""
    status = stopped.exit_status
    if stopped.reason != "ended" or status is None:
        return stopped.reason, False
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code == guard.SHORTCUT_EXIT:
            return "used a banned shortcut", True
        if code == guard.TAMPER_EXIT:
            return "took the grader's watch apart", False
        return f"ended the process (exit status {code})", False
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number in (signal.SIGXCPU, signal.SIGKILL):
            return f"was stopped by {signal.Signals(number).name} (a CPU or memory limit?)", False
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        return f"was killed by {name}", False
    return "ended", False


# ------------------------------------------------------------------------------- the helper


PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run")


def _mounts_beneath(folders: Sequence[str], mountinfo: str) -> list[str]:
    r"""The outermost mount points strictly inside ``folders``, from ``/proc/self/mountinfo``
    text: what the sandbox bound there (the package or Python of a course kept under
    ``/tmp``), which a private folder mounted on top must not hide.

    >>> info = "\n".join([
    ...     "1 0 0:1 / / ro - tmpfs x ro",
    ...     "2 1 0:2 / /tmp rw - tmpfs x rw",
    ...     r"3 2 8:1 /c/pkg /tmp/c\040d/pkg ro - ext4 /dev/sda1 ro",
    ...     r"4 3 0:3 / /tmp/c\040d/pkg/specs ro - tmpfs x ro",
    ...     "5 1 0:4 / /run rw - tmpfs x rw",
    ... ])
    >>> _mounts_beneath(("/tmp", "/run"), info)
    ['/tmp/c d/pkg']
    """
    points = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(fields[4].encode().decode("unicode_escape").encode("latin-1").decode())
    inside = sorted(
        {p for p in points for f in folders if p.startswith(f.rstrip("/") + "/")}, key=len
    )
    outermost: list[str] = []
    for point in inside:
        if not any(point.startswith(kept.rstrip("/") + "/") for kept in outermost):
            outermost.append(point)
    return outermost


def _private_folders(size: int) -> None:
    """Give the student one fresh tmpfs of ``size`` bytes, seen as each of
    :data:`PRIVATE_FOLDERS` (so that together they hold no more than ``size``), make
    ``/dev`` read-only (its device files still work), then bind back (read-only, as
    they were) the sandbox's own mounts that lay beneath those folders.

    ``/dev`` is the host's, shared by every submission it runs: writable, a file one
    submission left there would be read by the next.
    """
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        beneath = _mounts_beneath(PRIVATE_FOLDERS, file.read())
    handles = [(point, os.open(point, os.O_PATH | os.O_CLOEXEC)) for point in beneath]
    private = linux.MS_NOSUID | linux.MS_NODEV
    if os.path.ismount("/dev"):
        flags = os.statvfs("/dev").f_flag & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC)
        linux.mount(None, "/dev", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | flags)
    linux.mount("tmpfs", "/tmp", "tmpfs", private, f"size={size},mode=1777")
    for path in PRIVATE_FOLDERS:
        os.mkdir(f"/tmp/{path.strip('/').replace('/', '-')}", 0o1777)
        os.chmod(f"/tmp/{path.strip('/').replace('/', '-')}", 0o1777)
    for path in PRIVATE_FOLDERS[1:]:
        if os.path.isdir(path):
            source = f"/tmp/{path.strip('/').replace('/', '-')}"
            linux.mount(source, path, None, linux.MS_BIND)
    linux.mount("/tmp/tmp", "/tmp", None, linux.MS_BIND)
    for point, handle in handles:
        os.makedirs(point, exist_ok=True)
        linux.mount(f"/proc/self/fd/{handle}", point, None, linux.MS_BIND | linux.MS_REC)
        with contextlib.suppress(OSError):  # already read-only where the flag is locked
            linux.mount(
                None,
                point,
                None,
                linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | private,
            )
        os.close(handle)


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _helper(
    context: HostContext,
    job: Mapping[str, Any],
    limits: Mapping[str, Any],
    setup: student.Setup,
    pid_write: int,
    middle_pid: int,
    supervisor_pid: int,
) -> int:
    """The namespace helper: new namespaces and private folders, then the student as PID 1."""
    import ctypes
    import tempfile

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans come back to us, not to init
    # Adopted by the supervisor once the factory's middle process ends; from then on, we
    # end with the supervisor.
    deadline = time.monotonic() + 5.0
    while os.getppid() == middle_pid and time.monotonic() < deadline:
        time.sleep(0.001)
    linux.set_death_signal(signal.SIGKILL)
    if os.getppid() != supervisor_pid:
        return 70
    base = _vm_size()
    if context.isolated:
        uid, gid = os.getuid(), os.getgid()
        linux.unshare(
            linux.CLONE_NEWUSER
            | linux.CLONE_NEWNS
            | linux.CLONE_NEWPID
            | linux.CLONE_NEWNET
            | linux.CLONE_NEWIPC
            | linux.CLONE_NEWUTS
        )
        linux.map_own_ids(uid, gid)
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        private = linux.MS_NOSUID | linux.MS_NODEV
        _private_folders(min(int(limits["tmp_bytes"]), int(limits["memory_bytes"])))
        workdir = "/tmp/work"
        os.mkdir(workdir, 0o700)
        linux.mount(
            "tmpfs", "/proc", "tmpfs", private | linux.MS_NOEXEC | linux.MS_RDONLY, "size=4k"
        )
        linux.set_hostname("sandbox")
    else:
        workdir = tempfile.mkdtemp(prefix="gdcourse-work-")
    rlimits = {
        "RLIMIT_CPU": int(float(limits["cpu_seconds"])) + 1,
        "RLIMIT_AS": base + int(limits["memory_bytes"]),
        "RLIMIT_FSIZE": int(limits["file_bytes"]),
        "RLIMIT_NOFILE": int(limits["open_files"]),
        "RLIMIT_CORE": 0,
    }
    if context.isolated:  # counted in the student's own user namespace
        rlimits["RLIMIT_NPROC"] = int(limits["processes"])
    setup = dataclasses.replace(setup, workdir=workdir, limits=rlimits)
    pid = os.fork()
    if pid == 0:
        os.close(pid_write)
        student.main(setup, job["cells"])
    for fd in (setup.request_fd, setup.reply_fd, setup.evidence_fd, setup.output_fd):
        os.close(fd)
    os.write(pid_write, f"{os.getpid()} {pid}".encode())
    os.close(pid_write)
    _, status = os.waitpid(pid, 0)
    if not context.isolated:
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70


# ------------------------------------------------------------------------------- the job


def _read_line(fd: int) -> bytes:
    """One line of the job file (read byte-exact, so the next read starts after it)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def supervise(context: HostContext, job_fd: int, write_report: Callable[[bytes], None]) -> None:
    """Run one job and write its report (the only output of a supervisor).

    The job file holds two JSON lines: the cells and limits, then the tests. The
    factory of student processes is forked between reading the two.
    """
    started = time.monotonic()
    os.lseek(job_fd, 0, os.SEEK_SET)
    head = json.loads(_read_line(job_fd))
    limits = head["limits"]
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    factory = _Factory(context, head, job_fd)
    job = {**head, **json.loads(os.read(job_fd, 1 << 30))}
    os.close(job_fd)
    try:
        report = _run(context, factory, job, limits, started)
    finally:
        factory.close()
    write_report(json.dumps(report).encode())


def _run(
    context: HostContext,
    factory: _Factory,
    job: Mapping[str, Any],
    limits: Mapping[str, Any],
    started: float,
) -> dict[str, Any]:
    wall_deadline = started + float(limits["wall_seconds"])
    tests = [_Test(str(t["test"]), [None] * len(t["cases"])) for t in job["tests"]]
    report: dict[str, Any] = {
        "status": "ok",
        "reason": "",
        "cells": None,
        "cell_problems": [],
        "attempts": 0,
        "isolated": context.isolated,
    }
    output = bytearray()
    output_bytes = 0
    next_test = 0
    timings = report["timings"] = {"start": 0.0, "cells": 0.0, "cases": 0.0, "close": 0.0}
    while next_test < len(tests) or report["attempts"] == 0:
        if time.monotonic() >= wall_deadline:
            for test in tests[next_test:]:
                test.stopped = test.stopped or (
                    f"not run: the submission's {float(limits['wall_seconds']):g} s were used up"
                )
            report["status"] = "timeout"
            report["reason"] = f"wall-clock limit of {float(limits['wall_seconds']):g} s exceeded"
            break
        report["attempts"] += 1
        mark = time.monotonic()
        proc = _Student(factory, limits, context.isolated)
        timings["start"] += time.monotonic() - mark
        try:
            next_test = _attempt(proc, job, tests, next_test, report, limits, wall_deadline)
        finally:
            mark = time.monotonic()
            late = proc.close()
            timings["close"] += time.monotonic() - mark
            if late and tests:
                tests[max(0, min(next_test, len(tests)) - 1)].channel.extend(late)
            output += proc.output_text[: max(0, int(limits["output_bytes"]) - len(output))]
            output_bytes += proc.output_bytes
            for kind, text in proc.take_evidence():
                where = min(next_test, len(tests)) - 1 if tests else None
                _attribute(tests, where, kind, text, report)
        if report["cells"] is None:
            break  # the cells did not finish: no test can run
    report["timings"] = {name: round(value, 4) for name, value in timings.items()}
    report["tests"] = [test.to_json() for test in tests]
    report["output"] = output.decode("utf-8", "replace")
    report["output_bytes"] = output_bytes
    report["seconds"] = time.monotonic() - started
    return report


def _attribute(
    tests: list[_Test], index: int | None, kind: str, text: str, report: dict[str, Any]
) -> None:
    if index is None or index < 0:
        report["cell_problems"].append(f"{'shortcut' if kind == 'S' else 'refused'}: {text}")
        return
    if kind == "S":
        tests[index].shortcut = tests[index].shortcut or text
    elif text not in tests[index].tamper:
        tests[index].tamper.append(text)


def _case_ended(
    proc: _Student,
    tests: list[_Test],
    index: int,
    spec: Mapping[str, Any],
    status: int,
    report: dict[str, Any],
) -> None:
    """Record how a case's process ended without a result (the test's other cases are not
    asked; the student's process, sealed, goes on with the next test)."""
    reason, shortcut = _exit_reason(_Stopped("ended", exit_status=status))
    for kind, text in proc.take_evidence(settle=True):
        _attribute(tests, index, kind, text, report)
    test = tests[index]
    if shortcut and not test.shortcut:
        test.shortcut = "a banned shortcut"
    if not shortcut:
        test.stopped = f"{spec['function']} {reason}"


def _attempt(
    proc: _Student,
    job: Mapping[str, Any],
    tests: list[_Test],
    first: int,
    report: dict[str, Any],
    limits: Mapping[str, Any],
    wall_deadline: float,
) -> int:
    """Run the cells, then tests from ``first`` on; return the index of the next test to run."""
    token = secrets.token_hex(TOKEN_BYTES // 2).encode()
    cells_deadline = min(
        wall_deadline,
        time.monotonic() + float(limits["cell_seconds"]) * max(1, len(job["cells"])) + 5.0,
    )
    timings = report["timings"]
    mark = time.monotonic()
    proc.send(student.OP_CELLS, token, b"", ())
    try:
        cells = proc.await_reply(token, cells_deadline)
    except _Stopped as stopped:
        reason, _ = _exit_reason(stopped)
        report["status"] = "cells-failed"
        report["reason"] = f"the notebook's code cells {reason}"
        for test in tests[first:]:
            test.stopped = f"not run: the notebook's code cells {reason}"
        return len(tests)
    except ValueError as error:
        report["status"] = "channel"
        report["reason"] = f"the reply channel was misused while the cells ran: {error}"
        for test in tests[first:]:
            test.channel.append(str(error))
        return len(tests)
    for kind, text in proc.take_evidence():
        _attribute(tests, None, kind, text, report)
    if report["cells"] is None:
        report["cells"] = cells[2:].decode("utf-8", "replace")
    proc.kill_strays()
    timings["cells"] += time.monotonic() - mark
    mark = time.monotonic()
    for index in range(first, len(tests)):
        spec = job["tests"][index]
        test = tests[index]
        deadline = min(wall_deadline, time.monotonic() + float(limits["probe_seconds"]))
        for number, case in enumerate(spec["cases"]):
            token = secrets.token_hex(TOKEN_BYTES // 2).encode()
            request = json.dumps(
                {
                    "assignment": job["assignment"],
                    "function": spec["function"],
                    "case": case,
                    "banned": list(spec["banned"]),
                }
            ).encode()
            if proc.stray_bytes():
                test.channel.append("bytes were written to the reply channel between requests")
                proc.buffer = b""
            proc.send(student.OP_CASE, token, request, spec["banned"])
            try:
                raw = proc.await_reply(token, deadline)
                if raw[1:2] != b"\0":
                    test.channel.append("the graded call wrote to the reply channel")
                if raw[:1] == student.ENDED:  # the case's process ended without a result
                    status = int.from_bytes(raw[2:6], "big")
                    _case_ended(proc, tests, index, spec, status, report)
                    break
                if raw[1:2] == b"\0":
                    test.replies[number] = raw[2:].decode("utf-8", "replace")
            except _Stopped as stopped:
                reason, shortcut = _exit_reason(stopped)
                for kind, text in proc.take_evidence(settle=True):
                    _attribute(tests, index, kind, text, report)
                if shortcut and not test.shortcut:
                    test.shortcut = "a banned shortcut"
                if not shortcut:
                    if stopped.reason == "did not answer in time":
                        reason = f"did not return within {float(limits['probe_seconds']):g} s"
                    test.stopped = f"{spec['function']} {reason}"
                timings["cases"] += time.monotonic() - mark
                return index + 1
            except ValueError as error:
                test.channel.append(str(error))
                proc.buffer = b""
            finally:
                proc.kill_strays()
            for kind, text in proc.take_evidence():
                _attribute(tests, index, kind, text, report)
    timings["cases"] += time.monotonic() - mark
    return len(tests)
