"""The student's side as the supervisor sees it: processes, pipes, limits.

:class:`Factory` is a fork of the supervisor made before the test cases were read,
which starts student processes in namespaces of their own
(:mod:`~gdcourse.grading.sandbox.namespaces`); :class:`Student` is one of them with
its pipes: requests out, replies, evidence and output in, the whole sandbox's memory
(files in its memory-backed folders included), CPU time and processes watched.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gdcourse.grading.sandbox import guard, namespaces, student
from gdcourse.grading.sandbox.frames import TOKEN_BYTES
from gdcourse.grading.sandbox.health import all_descendants, state
from gdcourse.grading.sandbox.kinds import Stop
from gdcourse.grading.sandbox.linux import clone_process

__all__ = ["Factory", "HostContext", "Stopped", "Student", "exit_reason"]

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
    copies: Mapping[str, Any] = field(default_factory=dict)
    """The banned regions' fingerprints (:mod:`~gdcourse.grading.sandbox.fingerprints`)."""


class Stopped(Exception):
    """The student's process ended or was stopped; ``reason`` says why, ``kind`` in a word."""

    def __init__(
        self, reason: str, *, exit_status: int | None = None, kind: Stop = Stop.ENDED
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_status = exit_status
        self.kind = kind


# ------------------------------------------------------------------------------- process tree


def _descendants(pid: int) -> list[int]:
    return all_descendants(pid, limit=10_000)


def _resident(pids: Sequence[int]) -> tuple[int, float]:
    """Resident set size (bytes) and CPU seconds of ``pids``, reaped children included: one
    read of ``/proc/PID/stat`` each, whose cost does not grow with the process's memory."""
    memory, ticks = 0, 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open(f"/proc/{pid}/stat") as file:
                fields = file.read().rpartition(")")[2].split()
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            memory += int(fields[21]) * _PAGE  # rss, in pages
    return memory, ticks / _TICKS


def _proportional(pids: Sequence[int]) -> int:
    """Proportional set size (bytes) of ``pids``: each shared page counted once in all.

    The kernel walks every page of the process to say it (``smaps_rollup``): for a
    student's process, which shares the host's NumPy and torch, tens of milliseconds.
    """
    memory = 0
    for pid in pids:
        with (
            contextlib.suppress(OSError, ValueError, IndexError),
            open(f"/proc/{pid}/smaps_rollup") as file,
        ):
            for line in file:
                if line.startswith("Pss:"):
                    memory += int(line.split()[1]) * 1024
                    break
    return memory


RESIDENT_SLACK = 16 << 20
"""How far a resident size read from the kernel's counters may lag the pages themselves
(counters cached per thread): the proportional size is read once the resident size comes
within this of the limit."""


# ------------------------------------------------------------------------------- the student


class Factory:
    """A fork of the supervisor made before the test cases were read: it starts students.

    The student's process inherits the memory of the process it is forked from.
    The factory knows the cells and the limits and nothing else, so no student
    process can find a case in its memory or its stack, whatever it inspects.
    Each student's process is cloned as the supervisor's child (``CLONE_PARENT``: the
    supervisor can wait for it), straight into namespaces of its own
    (:mod:`~gdcourse.grading.sandbox.namespaces`).
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

    def start(self) -> tuple[int, str, list[int]]:
        """A new student: its pid, its working folder when it shares the host's file system
        (isolation off; ``""`` otherwise), and our ends of its pipes (request, reply,
        evidence, output)."""
        self._socket.sendall(b"s")
        message, fds, _, _ = socket.recv_fds(self._socket, 4096, 4)
        parts = message.split(b" ", 2)
        if len(parts) != 3 or parts[0] != b"started" or not parts[1].isdigit() or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            raise RuntimeError(f"the sandbox could not start the student's process: {message!r}")
        return int(parts[1]), os.fsdecode(parts[2]), fds

    def close(self) -> None:
        self._socket.close()  # the factory ends when its socket closes
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _factory(context: HostContext, head: Mapping[str, Any], sock: socket.socket) -> int:
    limits = head["limits"]
    ids = os.getuid(), os.getgid()
    supervisor = os.pidfd_open(os.getppid())
    flags = namespaces.NAMESPACES if context.isolated else 0
    while sock.recv(1):
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        evidence_read, evidence_write = os.pipe()
        output_read, output_write = os.pipe()
        workdir = "" if context.isolated else tempfile.mkdtemp(prefix="gdcourse-work-")
        pid = clone_process(flags)
        if pid == 0:  # the student's process, the supervisor's child
            code = student.SETUP_FAILED
            try:
                sock.close()
                for fd in (request_write, reply_read, evidence_read, output_read):
                    os.close(fd)
                code = namespaces.enter(
                    context,
                    head,
                    limits,
                    student.Setup(
                        request_fd=request_read,
                        reply_fd=reply_write,
                        evidence_fd=evidence_write,
                        output_fd=output_write,
                        workdir=workdir,
                        limits={},
                        cell_seconds=float(limits["cell_seconds"]),
                        reply_bytes=int(limits["reply_bytes"]),
                        regions=context.regions,
                        transformer=context.transformer,
                        isolated=context.isolated,
                        probes=context.probes,
                        copies=context.copies,
                        bans=tuple(str(key) for key in head.get("bans", ())),
                    ),
                    ids,
                    supervisor,
                )
            finally:
                os._exit(code)
        for fd in (request_read, reply_write, evidence_write, output_write):
            os.close(fd)
        theirs = [request_write, reply_read, evidence_read, output_read]
        try:
            socket.send_fds(sock, [f"started {pid} ".encode() + os.fsencode(workdir)], theirs)
        finally:
            for fd in theirs:
                os.close(fd)
    return 0


def _own_pid(pid: int) -> int | None:
    """The pid ``pid`` has in its own PID namespace (the student's, where the sealed process
    numbers its test's process), from ``/proc/PID/status``; ``None`` when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as file:
            for line in file:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError, IndexError):
        return None
    return pid


class Student:
    """One student process and the pipes between it and us."""

    def __init__(self, factory: Factory, limits: Mapping[str, Any], isolated: bool) -> None:
        self.limits = limits
        self.isolated = isolated
        self.status: int | None = None
        self.pid, self.workdir, fds = factory.start()
        self.request, self.reply, self.evidence, self.output = fds
        self.buffer = b""
        self.output_text = bytearray()
        self.output_bytes = 0
        self.evidence_text = b""
        self.flooded = ""
        self.base_memory = _proportional([self.pid])
        self.last_watch = 0.0

    # ---------------------------------------------------------------- lifecycle
    def alive(self) -> bool:
        if self.status is not None:
            return False
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return True
        self.status = status
        return False

    def _wait(self, seconds: float) -> None:
        """Wait up to ``seconds`` for the student's process to end, woken by the kernel the
        moment it does (a pidfd), not by polling."""
        if self.status is not None:
            return
        try:
            watch = os.pidfd_open(self.pid)
        except OSError:
            return
        try:
            select.select([watch], [], [], seconds)
        finally:
            os.close(watch)
        self.alive()

    def kill(self) -> None:
        """Stop the whole student side: the process tree, then the student's process."""
        if self.status is not None:
            return
        for pid in [*_descendants(self.pid), self.pid]:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            self.status = os.waitpid(self.pid, 0)[1]

    def close(self) -> list[str]:
        """Ask the process to stop, make sure it did, and return late writes found."""
        with contextlib.suppress(OSError):
            self.send(student.OP_EXIT, b"\0" * TOKEN_BYTES, b"", ())
        self._wait(2.0)
        self.kill()
        if self.workdir:  # isolation off: the folder is on the host's file system
            shutil.rmtree(self.workdir, ignore_errors=True)
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

    def kill_strays(self, spare: int | None = None) -> None:
        """Kill every process of the student's besides the student's process itself (and
        ``spare``, the running test's process, between its cases, numbered as the student's
        PID namespace numbers it: what it started is killed).

        A process sent SIGKILL never runs its own code again, so it is not waited for; a
        process that has ended (a zombie: the last case's, which the sealed process reaps
        before its next fork) runs nothing. Only processes not yet killed are looked for
        again: one forked between the listing and the kill."""
        killed: set[int] = set()
        for attempt in range(5):
            strays = [
                pid
                for pid in _descendants(self.pid)
                if pid not in killed
                and state(pid) not in ("Z", "X", "")
                and (spare is None or _own_pid(pid) != spare)
            ]
            if not strays:
                return
            for pid in strays:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            if attempt:
                time.sleep(0.001 * attempt)

    def await_reply(self, token: bytes, deadline: float) -> bytes:
        """The payload of the one reply frame to ``token``; raises :class:`Stopped` or
        ``ValueError`` (a channel violation)."""
        limit = int(self.limits["reply_bytes"]) + TOKEN_BYTES + student.REPLY_HEAD
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
                raise Stopped("did not answer in time", kind=Stop.TIMEOUT)
            self._watch(now)
            ready, _, _ = select.select(
                [self.reply, self.evidence, self.output], [], [], min(0.05, deadline - now)
            )
            if self.reply in ready:
                chunk = os.read(self.reply, 1 << 16)
                if not chunk:
                    raise Stopped("ended", exit_status=self.exit_status())
                self.buffer += chunk
            self._pump_side_channels(0)
            if self.flooded:
                raise Stopped(self.flooded, kind=Stop.LIMIT)
            if not ready and not self.alive():
                raise Stopped("ended", exit_status=self.exit_status())

    def stray_bytes(self) -> bool:
        """Whether anything was written to the reply channel when nothing was asked."""
        ready, _, _ = select.select([self.reply], [], [], 0)
        if ready:
            with contextlib.suppress(OSError):
                self.buffer += os.read(self.reply, 1 << 16)
        return bool(self.buffer)

    def exit_status(self) -> int | None:
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
        resident, cpu = _resident(pids)
        files = self._files_in_memory()
        limits = self.limits
        # a process's proportional set size is at most its resident set size: only when the
        # resident size could pass the limit is the proportional one (costly) read
        memory = resident + files
        if memory + RESIDENT_SLACK - self.base_memory > int(limits["memory_bytes"]):
            memory = _proportional(pids) + files
        reason = ""
        if memory - self.base_memory > int(limits["memory_bytes"]):
            reason = f"used more than {int(limits['memory_bytes']) >> 20} MiB of memory"
        elif cpu > float(limits["cpu_seconds"]):
            reason = f"used more than {float(limits['cpu_seconds']):g} s of CPU time"
        if reason:
            self.kill()
            raise Stopped(reason, kind=Stop.LIMIT)


def exit_reason(stopped: Stopped) -> tuple[str, bool]:
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
