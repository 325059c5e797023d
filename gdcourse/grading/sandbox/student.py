"""The student's process: confine it, run the notebook's code cells, answer one request at a time.

This runs as PID 1 of a PID namespace of its own, forked by the supervisor's
namespace helper (:mod:`~gdcourse.grading.sandbox.supervisor`), with private
``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run`` and working folder, no ``/proc``
and no network. Before any student code runs it sets its resource limits,
gives up every capability, sets ``no_new_privs``, installs the system-call
filter and arms the shortcut guard (:mod:`~gdcourse.grading.sandbox.guard`);
every value the request loop needs afterwards is bound to a local variable
first, so that student code, which can change any module, cannot change the loop.

The process holds no reference implementation, no expected output and no case
but the one being asked: the probes (:mod:`gdcourse.grading.probes`) build
arguments and describe results, nothing more. Requests arrive one at a time
on the request pipe; each gets exactly one reply frame on the reply pipe,
headed by the request's token. Nothing here is trusted by the grader: the
supervisor checks the channel, the grader judges the data.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import resource
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from gdcourse.grading.sandbox import guard, linux
from gdcourse.grading.sandbox.frames import TOKEN_BYTES
from gdcourse.grading.shortcuts import Region, student_ban

__all__ = ["Setup", "main"]

REQUEST_LIMIT = 16 << 20


@dataclass(frozen=True)
class Setup:
    """What the student's process needs, prepared by its parent."""

    request_fd: int
    reply_fd: int
    evidence_fd: int
    output_fd: int
    workdir: str
    limits: Mapping[str, int]
    """``RLIMIT_*`` names to values, e.g. ``{"RLIMIT_CPU": 60}``."""
    cell_seconds: float
    reply_bytes: int
    regions: Sequence[Region]
    transformer: Any
    """IPython's ``TransformerManager`` (``%magic`` and ``!command`` lines), or ``None``."""
    isolated: bool
    probes: Mapping[str, Mapping[str, Any]]
    """Assignment -> graded function -> probe."""


class CellTimeout(BaseException):
    """Raised in a code cell that runs past its time."""


class _IPythonStub:
    """``get_ipython()`` for notebook code: magics do nothing, timing cell magics just run."""

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


def _describe(error: BaseException) -> str:
    try:
        return f"{type(error).__name__}: {error}"[:2000]
    except BaseException:
        return type(error).__name__


def _compile_cells(cells: Sequence[Any], transformer: Any) -> list[Any]:
    """Each cell as a code object, or the error its compilation raised (before the guard)."""
    compiled: list[Any] = []
    for index, source in enumerate(cells):
        try:
            if not isinstance(source, str):
                raise TypeError("a cell's source must be text")
            if transformer is not None:
                source = transformer.transform_cell(source)
            compiled.append(compile(source, f"<cell {index}>", "exec"))
        except BaseException as error:  # SyntaxError, RecursionError, MemoryError, ...
            compiled.append(error)
    return compiled


def _confine(setup: Setup) -> None:
    os.chdir(setup.workdir)
    linux.set_limits({getattr(resource, name): value for name, value in setup.limits.items()})
    if setup.isolated:
        linux.drop_capabilities()
    linux.no_new_privileges()
    linux.install_syscall_filter()
    keep = {setup.request_fd, setup.reply_fd, setup.evidence_fd}
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(setup.output_fd, 1)
    os.dup2(setup.output_fd, 2)
    for fd in range(3, 1024):
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.environ.clear()
    os.environ.update(
        {
            "PATH": "/usr/bin:/bin",
            "HOME": setup.workdir,
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
        }
    )
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-large write fails instead of killing
    import warnings

    warnings.resetwarnings()
    warnings.simplefilter("ignore")  # a warning printed by correct code never costs points


def _sentinel(name: str, fd: int) -> Callable[..., NoReturn]:
    """Stands in for the student's own ``name`` while a request that bans it runs."""

    def banned(
        *args: Any,
        _name: bytes = name.encode(),
        _fd: int = fd,
        _write: Any = os.write,
        _exit: Callable[[int], NoReturn] = os._exit,
        **kwargs: Any,
    ) -> NoReturn:
        try:
            _write(_fd, b"S student:" + _name + b"\n")
        finally:
            _exit(guard.SHORTCUT_EXIT)

    return banned


def main(setup: Setup, cells: Sequence[Any]) -> NoReturn:
    """Confine this process, run the cells, then answer requests until told to stop."""
    code = 0
    try:
        _confine(setup)
        compiled = _compile_cells(cells, setup.transformer)
        _serve(setup, compiled)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


OP_CELLS, OP_CASE, OP_EXIT = 1, 2, 3
"""Request operations (the first byte of a request frame's payload)."""


def _serve(setup: Setup, compiled: list[Any]) -> None:
    """The request loop. Its raw reading and writing use only functions bound here, before
    the cells run; everything that parses a request or builds a reply runs inside the
    guard's window, where a banned shortcut counts whatever code reaches it."""
    probes = setup.probes
    import builtins

    from gdcourse.grading.protocol import encode

    # Student code may replace builtins (isinstance, len, type...): the loop puts them back
    # before every step of its own.
    pristine, restore = builtins.__dict__.copy(), builtins.__dict__.update
    read_raw, write_raw, exit_now, setitimer = os.read, os.write, os._exit, signal.setitimer
    from_bytes, frozen, token_bytes = int.from_bytes, frozenset, TOKEN_BYTES
    failed = b'{"error": "the request failed inside the grader\'s watch"}'
    loads, dumps = json.loads, json.dumps
    request_fd, reply_fd, evidence_fd = setup.request_fd, setup.reply_fd, setup.evidence_fd
    reply_bytes, limit = setup.reply_bytes, REQUEST_LIMIT
    window, describe, ban_of, sentinel = guard.window, _describe, student_ban, _sentinel
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    shell = _IPythonStub(namespace)
    namespace["get_ipython"] = lambda: shell

    def on_alarm(signum: int, frame: Any) -> None:
        raise CellTimeout(f"the cell ran longer than {setup.cell_seconds:g} s")

    def read_exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = read_raw(request_fd, count - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def write_all(data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[write_raw(reply_fd, view) :]

    def frame_of(token: bytes, reply: Mapping[str, Any]) -> bytes:
        try:
            payload = dumps(reply, allow_nan=True).encode()
        except BaseException as error:
            payload = dumps({"error": f"the result cannot be sent: {describe(error)}"}).encode()
        if len(payload) > reply_bytes:
            payload = dumps({"error": f"the result is larger than {reply_bytes} bytes"}).encode()
        body = token + payload
        return len(body).to_bytes(4, "big") + body

    def handle(message: tuple[bytes, bytes]) -> bytes:
        """One case, inside the guard's window: parse, build, call, describe, encode."""
        token, text = message
        try:
            request = loads(text)
            function = request["function"]
            probe = probes[request["assignment"]][function]
            fn = namespace.get(function)
            if not callable(fn):
                why = "not defined" if fn is None else f"not a function ({type(fn).__name__})"
                return frame_of(token, {"missing": f"{function} is {why}"})
            swapped = {}
            for name in request["banned"]:
                own = ban_of(name)
                if own is not None and own in namespace:
                    swapped[own] = namespace[own]
                    namespace[own] = sentinel(own, evidence_fd)
            try:
                reply: Mapping[str, Any] = {"data": encode(probe(fn, request["case"]))}
            finally:
                namespace.update(swapped)
        except BaseException as error:
            reply = {"error": describe(error)}
        return frame_of(token, reply)

    intact = guard.arm(
        setup.regions,
        evidence_fd,
        trusted=[handle, frame_of, read_exactly, write_all, sys.modules[__name__]],
    )
    signal.signal(signal.SIGALRM, on_alarm)
    while True:
        restore(pristine)
        try:
            size = from_bytes(read_exactly(4), "big")
            if size > limit:
                return
            frame = read_exactly(size)
        except BaseException:
            return  # the supervisor is gone
        operation, token = frame[0], frame[1 : 1 + token_bytes]
        banned_size = from_bytes(frame[1 + token_bytes : 3 + token_bytes], "big")
        banned_text = frame[3 + token_bytes : 3 + token_bytes + banned_size].decode("ascii")
        banned = frozen(banned_text.split(",")) if banned_text else frozen()
        text = frame[3 + token_bytes + banned_size :]
        if operation == OP_EXIT:
            return
        if not intact():
            write_raw(evidence_fd, b"T the profile function was removed\n")
            exit_now(guard.TAMPER_EXIT)
        if operation == OP_CELLS:
            errors = []
            for index, code in enumerate(compiled):
                if isinstance(code, BaseException):
                    errors.append([index, describe(code)])
                    continue
                try:
                    setitimer(signal.ITIMER_REAL, setup.cell_seconds)
                    try:
                        exec(code, namespace)
                    finally:
                        setitimer(signal.ITIMER_REAL, 0)
                except BaseException as error:  # SystemExit and KeyboardInterrupt too
                    restore(pristine)
                    errors.append([index, describe(error)])
                restore(pristine)
            out = window(frozen(), frame_of, token, {"errors": errors})
        else:
            try:
                out = window(banned, handle, (token, text))
                if type(out) is not bytes:
                    raise TypeError
            except BaseException:
                # nothing that student code may have changed runs outside the window
                body = token + failed
                out = len(body).to_bytes(4, "big") + body
        if not intact():
            write_raw(evidence_fd, b"T the profile function was removed\n")
            exit_now(guard.TAMPER_EXIT)
        write_all(out)


def preload(names: Sequence[str]) -> None:
    """Import what every submission uses once, in the host, before any fork."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # a name from ``from x import y`` that is no module
            continue
