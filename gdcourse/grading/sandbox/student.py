"""The student's process: confine it, run the notebook's code cells, answer one request at a time.

This runs as PID 1 of a PID namespace of its own, cloned by the factory into its namespaces
(:mod:`~gdcourse.grading.sandbox.namespaces`), with one private, size-capped tmpfs as
its ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run`` and working folder, a read-only
``/dev``, no ``/proc`` and no network, in a session of its own. Before any student code
runs it sets its resource limits, gives up every capability, sets ``no_new_privs``,
installs the system-call filter and arms the shortcut guard
(:mod:`~gdcourse.grading.sandbox.guard`); every value the request loop needs afterwards
is bound to a local variable first, so that student code, which can change any module,
cannot change the loop.

The process holds no reference implementation, no expected output and no case
but the one being asked: the probes (:mod:`gdcourse.grading.probes`) build
arguments and describe results, nothing more. The cells run here; then the process
is sealed and each test's cases run in a fork of it made for that test, under the
test's ban (:mod:`~gdcourse.grading.sandbox.seal`). Each request gets exactly one reply
frame on the reply pipe, headed by the request's token and written by this process, never
by the test's fork. Nothing here is trusted by the grader: the supervisor checks the
channel, the grader judges the data.
"""

from __future__ import annotations

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
from gdcourse.grading.sandbox.seal import read_exactly as _read_exactly
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
    copies: Mapping[str, Any]
    """The banned regions' fingerprints (:mod:`~gdcourse.grading.sandbox.fingerprints`)."""
    bans: Sequence[str] = ()
    """The job's sets of bans, each comma-joined: what the cells are scanned for."""


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
    os.setsid()  # a session and process group of its own: no signal to a group leaves it
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
    start = 3  # close everything else: a few close_range calls, not a thousand closes
    for fd in sorted(keep):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, 1024)
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


SETUP_FAILED = 71
"""The exit status of a student's process that could not be set up (namespaces, folders,
limits, filter): it ends with it before its first frame, so before any student code ran,
and the supervisor reports the sandbox's failure, not the notebook's."""


def main(setup: Setup, cells: Sequence[Any]) -> NoReturn:
    """Confine this process, run the cells, then answer requests until told to stop."""
    code = SETUP_FAILED
    try:
        _confine(setup)
        compiled = _compile_cells(cells, setup.transformer)
        _report_scan(setup, compiled)
        code = 0
        _serve(setup, compiled)
    except BaseException:
        code = code or 70
    finally:
        os._exit(code)


SCAN_TOKEN = b"\0" * TOKEN_BYTES
"""Heads the first frame on the reply channel, written before any request and so before
any student code ran: what the cells name that reaches around each set of bans. No
request's token is ever this one."""


def _report_scan(setup: Setup, compiled: list[Any]) -> None:
    """Scan the compiled cells for each set of bans and send the result as the first frame
    (read by the supervisor before it asks for the cells to run)."""
    from gdcourse.grading.sandbox import fingerprints

    found = {key: fingerprints.evidence(compiled, key.split(",")) for key in setup.bans}
    body = SCAN_TOKEN + json.dumps(found).encode()
    _write_all(setup.reply_fd, len(body).to_bytes(4, "big") + body)


OP_CELLS, OP_CASE, OP_EXIT, OP_TEST = 1, 2, 3, 4
"""Request operations (the first byte of a request frame's payload): ``OP_TEST`` is the first
case of a test (a new test's process), ``OP_CASE`` every other case."""

REPLY, ENDED = b"R", b"E"
"""Reply kinds (the byte after a reply frame's token): a result's JSON follows, or the test's
process ended without one (its 4-byte wait status follows). The next byte is 1 when the
test's process wrote to a descriptor of the request or reply channel (a violation); the
four after it are that process's pid (the supervisor spares it between the test's cases)."""

REPLY_HEAD = 6
"""Bytes of a reply frame between the token and the result: kind, violation byte, pid."""


def _run_cells(
    compiled: list[Any], namespace: dict[str, Any], setup: Setup, restore: Callable[..., None]
) -> list[list[Any]]:
    """Run the notebook's code cells in this process; the errors they raised, as text."""
    setitimer = signal.setitimer
    errors: list[list[Any]] = []
    for index, code in enumerate(compiled):
        if isinstance(code, BaseException):
            errors.append([index, _describe(code)])
            continue
        try:
            setitimer(signal.ITIMER_REAL, setup.cell_seconds)
            try:
                exec(code, namespace)
            finally:
                setitimer(signal.ITIMER_REAL, 0)
        except BaseException as error:  # SystemExit and KeyboardInterrupt too
            restore()
            errors.append([index, _describe(error)])
        restore()
    return errors


def _payload(
    reply: Mapping[str, Any],
    reply_bytes: int,
    _dumps: Any = json.dumps,
    _describe: Any = _describe,
    _len: Any = len,
    _base: Any = BaseException,
) -> bytes:
    """A reply as the JSON bytes that go back (or the error that says why it cannot)."""
    try:
        payload: bytes = _dumps(reply, allow_nan=True).encode()
    except _base as error:
        payload = _dumps({"error": f"the result cannot be sent: {_describe(error)}"}).encode()
    if _len(payload) > reply_bytes:
        payload = _dumps({"error": f"the result is larger than {reply_bytes} bytes"}).encode()
    return payload


def _handle(
    text: bytes,
    namespace: dict[str, Any],
    probes: Mapping[str, Mapping[str, Any]],
    evidence_fd: int,
    reply_bytes: int,
    _loads: Any = json.loads,
    _payload: Any = _payload,
    _describe: Any = _describe,
    _ban_of: Any = student_ban,
    _sentinel: Any = _sentinel,
    _callable: Any = callable,
    _type: Any = type,
    _base: Any = BaseException,
) -> bytes:
    """One case, in the case process inside the guard's window: parse, build, call,
    describe, encode."""
    from gdcourse.grading.protocol import encode

    try:
        request = _loads(text)
        function = request["function"]
        probe = probes[request["assignment"]][function]
        fn = namespace.get(function)
        if not _callable(fn):
            why = "not defined" if fn is None else f"not a function ({_type(fn).__name__})"
            return _payload({"missing": f"{function} is {why}"}, reply_bytes)  # type: ignore[no-any-return]
        for name in request["banned"]:
            own = _ban_of(name)
            if own is not None and own in namespace:
                namespace[own] = _sentinel(own, evidence_fd)
        reply: Mapping[str, Any] = {"data": encode(probe(fn, request["case"]))}
    except _base as error:
        reply = {"error": _describe(error)}
    return _payload(reply, reply_bytes)  # type: ignore[no-any-return]


def _write_all(
    fd: int, data: bytes, _write: Any = os.write, _memoryview: Any = memoryview
) -> None:
    view = _memoryview(data)
    while view:
        view = view[_write(fd, view) :]


def _serve(setup: Setup, compiled: list[Any]) -> None:
    """The request loop.

    The notebook's cells run here, in this process. Then the process is sealed
    (:func:`~gdcourse.grading.sandbox.seal.seal`): from then on no student code runs in
    it. Each test's cases are asked of a fresh fork made for that test
    (:func:`~gdcourse.grading.sandbox.seal.ask_case`) that lives entirely inside the
    guard's window and hands back only each result's bytes, on a pipe of its own; this
    process frames them as the reply. The test's process never holds the reply channel:
    the descriptors that led to it lead to a trap there, and a write to them is reported
    as a violation.

    Everything the loop uses is a local variable bound before the cells run, and the
    functions it calls keep what they use in their defaults: no module attribute,
    builtin or closure cell that student code could replace is looked up here.
    """
    import builtins
    from functools import partial

    from gdcourse.grading.sandbox import seal

    # Student code may replace builtins (isinstance, len, type...): the loop puts them back
    # before every step of its own.
    saved = builtins.__dict__.copy()

    def restore(_update: Any = builtins.__dict__.update, _saved: Any = saved) -> None:
        _update(_saved)

    write_raw, exit_now, from_bytes, frozen = os.write, os._exit, int.from_bytes, frozenset
    token_bytes, limit, length, base_error = TOKEN_BYTES, REQUEST_LIMIT, len, BaseException
    op_cells, op_case, op_exit, op_test, replied = OP_CELLS, OP_CASE, OP_EXIT, OP_TEST, REPLY
    tamper_exit = guard.TAMPER_EXIT
    read_exactly, write_all, run_cells, payload = _read_exactly, _write_all, _run_cells, _payload
    request_fd, reply_fd, evidence_fd = setup.request_fd, setup.reply_fd, setup.evidence_fd
    reply_bytes, window = setup.reply_bytes, guard.window
    state = seal.prepare((request_fd, reply_fd))
    seal_now, ask, end_test = seal.seal, seal.ask_case, seal.end_test
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
    shell = _IPythonStub(namespace)
    namespace["get_ipython"] = lambda: shell
    handle = partial(_handle, namespace=namespace, probes=setup.probes,
                     evidence_fd=evidence_fd, reply_bytes=reply_bytes)  # fmt: skip

    def on_alarm(signum: int, frame: Any, _seconds: float = setup.cell_seconds) -> None:
        raise CellTimeout(f"the cell ran longer than {_seconds:g} s")

    intact, ban, make_ban = guard.arm(
        setup.regions,
        evidence_fd,
        trusted=[
            _handle, _payload, _read_exactly, _write_all, _run_cells, restore, on_alarm,
            sys.modules[__name__],
            *seal.trusted(),
        ],
        copies=setup.copies,
        mark=(seal.MARK, seal.mark_value()),
    )  # fmt: skip
    signal.signal(signal.SIGALRM, on_alarm)
    sealed = False
    child: list[int] = []  # made again after the seal: the cells could have reached this one
    while True:
        restore()
        try:
            size = from_bytes(read_exactly(request_fd, 4), "big")
            if size > limit:
                return
            frame = read_exactly(request_fd, size)
        except base_error:
            return  # the supervisor is gone
        operation, token = frame[0], frame[1 : 1 + token_bytes]
        banned_size = from_bytes(frame[1 + token_bytes : 3 + token_bytes], "big")
        banned_text = frame[3 + token_bytes : 3 + token_bytes + banned_size].decode("ascii")
        banned = frozen(banned_text.split(",")) if banned_text else frozen()
        text = frame[3 + token_bytes + banned_size :]
        if operation == op_exit:
            if sealed:
                end_test(child)
            return
        if not intact():
            write_raw(evidence_fd, b"T the profile function was removed\n")
            exit_now(tamper_exit)
        if operation == op_cells and not sealed:
            errors = run_cells(compiled, namespace, setup, restore)
            out = replied + b"\0" + window(frozen(), payload, {"errors": errors}, reply_bytes)
            del errors
            if not seal_now(state):
                write_raw(evidence_fd, b"T the process could not be sealed after its cells\n")
                exit_now(tamper_exit)
            sealed = True
            # made after the seal: no student code ever runs where these are written
            profiles: dict[frozenset[str], Any] = {}
            child = []  # the running test's process
        elif operation in (op_case, op_test) and sealed:
            profile = profiles.get(banned)
            if profile is None:
                profile = profiles[banned] = make_ban(banned)
            new_test = operation == op_test
            out = ask(state, ban, profile, handle, text, reply_bytes, child, new_test)
        else:
            return
        if not intact():
            write_raw(evidence_fd, b"T the profile function was removed\n")
            exit_now(tamper_exit)
        body = token + out
        write_all(reply_fd, length(body).to_bytes(4, "big") + body)


def preload(names: Sequence[str]) -> None:
    """Import what every submission uses once, in the host, before any fork."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:  # a name from ``from x import y`` that is no module
            continue
