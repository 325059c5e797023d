"""After the cells, the student's process is sealed; each test runs in a fork that dies with it.

The notebook's code cells run in the student's process, and what they leave
behind (signal handlers, timers, finalizers, hooks run at a fork, audit hooks,
copies of descriptors) could otherwise run later, outside any watched call, in
the process that talks to the supervisor. So, once the cells have run and
before the process says so, :func:`seal` makes sure that no student code can run
in it again:

* every timer is stopped, every signal blocked and every handler reset (a handler
  already due runs now, still in the cells' time), until a check finds it so;
* the garbage collector is switched off and its callbacks removed, so no
  finalizer runs here (the loop drops no object of the student's);
* the hooks that ``os.fork`` would run are emptied (student code cannot add
  audit hooks: the guard refuses them);
* every other descriptor of the request or reply channel is closed, and the
  channel's own descriptors must still be the ones the process started with.

Then :func:`ask_case` asks each test's cases of a fresh fork of the sealed process made for
that test, whose whole life after the fork is under the test's ban (the guard's ``ban``,
installed before any student code runs there): the ban covers everything it runs, whatever
its stack looks like; its signals stay blocked, so no handler or timer ever fires in it. It
reads one case at a time on a pipe of its own and writes each result, as one frame, on
another; it ends when the next test begins (or when it ends itself: a banned shortcut, its
own exit). In that fork, every descriptor that led to the request or reply channel leads
to a trap: a write there is reported as a violation, never read as a reply. The sealed
process frames each result as the reply; the fork never holds the reply channel. Bytes
beyond one result, or written when nothing was asked, stop it; the next case (if any)
gets a fresh fork.

Every function here binds what it uses as default arguments when this module is
imported (before any student code): replacing a module's attribute or a builtin
changes nothing they do, and the guard refuses changes to their code or defaults.
"""

from __future__ import annotations

import gc
import os
import resource
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from gdcourse.grading.sandbox.guard import TAMPER_EXIT

__all__ = [
    "MARK",
    "State",
    "ask_case",
    "end_test",
    "mark_cells_over",
    "mark_value",
    "prepare",
    "read_exactly",
    "seal",
    "trusted",
]

State = tuple[tuple[list[Any], ...], list[Any], Any, tuple[int, ...], tuple[tuple[int, int], ...]]
"""Fork-hook lists, ``gc.callbacks``, the original ``sys.unraisablehook``, the channel's
descriptors and their identities ``(st_dev, st_ino)``, all taken before the cells."""

_SIGNALS = tuple(sorted(signal.valid_signals()))
_BLOCKABLE = frozenset(_SIGNALS) - {signal.SIGKILL, signal.SIGSTOP}
_IGNORED = frozenset({signal.SIGPIPE, signal.SIGXFSZ})
_TIMERS = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
_MAX_FD = 1024
_CANNOT_FORK = 75 << 8
"""The wait status reported when no case process could be started (exit status 75)."""


MARK = resource.RLIMIT_MSGQUEUE
"""The limit whose hard value says whether the cells are over: the supervisor lowers it
(``prlimit``) once the cells have answered, and no process can raise a hard limit again. A
resource the student's process never uses (POSIX message queues)."""


def mark_value() -> int:
    """The hard value of :data:`MARK` while the cells run (set by
    :func:`~gdcourse.grading.sandbox.namespaces.enter`)."""
    hard = resource.getrlimit(MARK)[1]
    return int(min(hard if hard != resource.RLIM_INFINITY else 1 << 20, 1 << 20))


def mark_cells_over(pid: int) -> None:
    """From the supervisor: tell the guard of ``pid`` (and of its forks) that its cells are
    over; from now on no shortcut's code may run in it outside a test's fork."""
    value = mark_value() - 1
    resource.prlimit(pid, MARK, (value, value))


def _fd_bound(
    _get: Any = resource.getrlimit, _which: int = resource.RLIMIT_NOFILE, _min: Any = min
) -> int:
    """One past the highest descriptor this process can hold (its limit, set before any
    student code, which student code cannot raise)."""
    return int(_min(_get(_which)[1], _MAX_FD))


def _channel_copies(
    identities: tuple[tuple[int, int], ...],
    skip: tuple[int, ...],
    _range: Any = range,
    _fstat: Any = os.fstat,
    _errors: Any = (OSError, ValueError),
    _fd_bound: Any = _fd_bound,
) -> list[int]:
    """This process's descriptors, but ``skip``, that lead where the request or reply
    channel leads (same ``(st_dev, st_ino)`` as one in ``identities``)."""
    found = []
    for fd in _range(3, _fd_bound()):
        if fd in skip:
            continue
        try:
            stat = _fstat(fd)
        except _errors:
            continue
        if (stat.st_dev, stat.st_ino) in identities:
            found.append(fd)
    return found


def _fork_hook_lists() -> tuple[list[Any], ...]:
    """The interpreter's lists of ``os.register_at_fork`` hooks (found by a sentinel each)."""
    found: list[list[Any]] = []
    for where in ("before", "after_in_parent", "after_in_child"):

        def sentinel() -> None:
            return None

        os.register_at_fork(**{where: sentinel})
        holders = [r for r in gc.get_referrers(sentinel) if type(r) is list and sentinel in r]
        for holder in holders:
            holder.remove(sentinel)
        found.extend(holders[:1])
    return tuple(found)


def prepare(channel: tuple[int, ...]) -> State:
    """Take what :func:`seal` needs, before any student code runs."""
    identities = tuple((os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in channel)
    return (_fork_hook_lists(), gc.callbacks, sys.unraisablehook, channel, identities)


def seal(
    state: State,
    _signals: tuple[int, ...] = _SIGNALS,
    _blockable: frozenset[int] = _BLOCKABLE,
    _ignored: frozenset[int] = _IGNORED,
    _timers: tuple[int, ...] = _TIMERS,
    _mask: Any = signal.pthread_sigmask,
    _block: Any = signal.SIG_BLOCK,
    _set: Any = signal.signal,
    _get: Any = signal.getsignal,
    _dfl: Any = signal.SIG_DFL,
    _ign: Any = signal.SIG_IGN,
    _setitimer: Any = signal.setitimer,
    _sys: Any = sys,
    _setattr: Any = setattr,
    _gc_disable: Any = gc.disable,
    _gc_freeze: Any = gc.freeze,
    _fstat: Any = os.fstat,
    _close: Any = os.close,
    _range: Any = range,
    _len: Any = len,
    _frozenset: Any = frozenset,
    _errors: Any = (OSError, ValueError, RuntimeError, TypeError),
    _copies: Any = _channel_copies,
) -> bool:
    """Seal this process (see the module's text); whether every check held."""
    hooks, callbacks, unraisable, channel, identities = state
    for _ in _range(3):
        _setattr(_sys, "unraisablehook", unraisable)
        for timer in _timers:
            _setitimer(timer, 0)
        _mask(_block, _signals)
        for number in _signals:
            try:  # noqa: SIM105 (contextlib is a module attribute: not here)
                _set(number, _ign if number in _ignored else _dfl)
            except _errors:  # SIGKILL, SIGSTOP
                pass
        for _ in _range(4):  # backward jumps: a handler already due runs here, and is gone
            pass
    sealed = _len(_blockable - _frozenset(_mask(_block, ()))) == 0
    for number in _signals:
        try:
            handler = _get(number)
        except _errors:
            continue
        if handler is not _dfl and handler is not _ign and handler is not None:
            sealed = False
    _setattr(_sys, "unraisablehook", unraisable)
    _gc_disable()
    _gc_freeze()  # a test's fork leaves every object made so far alone: no copy on write
    del callbacks[:]
    for hook_list in hooks:
        del hook_list[:]
    for index in _range(_len(channel)):
        try:
            stat = _fstat(channel[index])
        except _errors:
            return False
        if (stat.st_dev, stat.st_ino) != identities[index]:
            sealed = False  # the channel's descriptor was replaced by the cells
    for fd in _copies(identities, channel):
        _close(fd)
    return sealed is True


def read_exactly(
    fd: int, count: int, _read: Any = os.read, _len: Any = len, _eof: Any = EOFError
) -> bytes:
    """``count`` bytes from ``fd`` (``EOFError`` when it ends first)."""
    data = b""
    while _len(data) < count:
        chunk = _read(fd, count - _len(data))
        if not chunk:
            raise _eof
        data += chunk
    return data


def _test_main(
    handle: Callable[[bytes], bytes],
    request_fd: int,
    result_fd: int,
    _read_exactly: Any = read_exactly,
    _from_bytes: Any = int.from_bytes,
    _gc_enable: Any = gc.enable,
    _write: Any = os.write,
    _exit: Any = os._exit,
    _memoryview: Any = memoryview,
    _len: Any = len,
    _eof: Any = EOFError,
) -> None:
    """A test's process, under its ban from start to end; its signals stay blocked. It
    answers its test's cases one after the other, each result as one frame (4-byte length,
    then the bytes), and ends when the sealed process closes its requests."""
    _gc_enable()
    while True:
        try:
            text = _read_exactly(request_fd, _from_bytes(_read_exactly(request_fd, 4), "big"))
        except _eof:
            _exit(0)
        payload = handle(text)
        view = _memoryview(_len(payload).to_bytes(4, "big") + payload)
        while view:
            view = view[_write(result_fd, view) :]


def end_test(
    child: list[int],
    _kill: Any = os.kill,
    _waitpid: Any = os.waitpid,
    _close: Any = os.close,
    _sigkill: int = signal.SIGKILL,
    _errors: Any = (OSError, ValueError, ChildProcessError),
) -> None:
    """Stop the running test's process (``child``: pid, request, result, trap and pidfd
    descriptors; emptied)."""
    if not child:
        return
    pid, fds = child[0], child[1:]
    del child[:]
    try:  # noqa: SIM105 (contextlib is a module attribute: not here)
        _kill(pid, _sigkill)
    except _errors:
        pass
    try:  # noqa: SIM105 (contextlib is a module attribute: not here)
        _waitpid(pid, 0)
    except _errors:
        pass
    for fd in fds:
        try:  # noqa: SIM105 (contextlib is a module attribute: not here)
            _close(fd)
        except _errors:
            pass


def ask_case(
    state: State,
    ban: Callable[[Any], bool],
    profile: Any,
    handle: Callable[[bytes], bytes],
    text: bytes,
    reply_bytes: int,
    child: list[int],
    new_test: bool,
    _test: Any = _test_main,
    _end_test: Any = end_test,
    _pipe: Any = os.pipe,
    _fork: Any = os.fork,
    _dup2: Any = os.dup2,
    _close: Any = os.close,
    _read: Any = os.read,
    _write: Any = os.write,
    _kill: Any = os.kill,
    _waitpid: Any = os.waitpid,
    _wnohang: int = os.WNOHANG,
    _pidfd_open: Any = os.pidfd_open,
    _set_blocking: Any = os.set_blocking,
    _select: Any = select.select,
    _exit: Any = os._exit,
    _sigkill: int = signal.SIGKILL,
    _range: Any = range,
    _len: Any = len,
    _from_bytes: Any = int.from_bytes,
    _memoryview: Any = memoryview,
    _errors: Any = (OSError, ValueError),
    _copies: Any = _channel_copies,
    _sleep: Any = time.sleep,
    _cannot_fork: int = _CANNOT_FORK,
    _tamper: int = TAMPER_EXIT,
) -> bytes:
    """Ask one case of a test of its test's process; the reply's kind, violation byte, the
    process's pid and body (see :data:`~gdcourse.grading.sandbox.student.REPLY`).

    The first case of a test (``new_test``) ends the previous test's process and forks a
    new one, under this test's ban; so does a case whose test's process has ended.
    ``child`` holds the running test's process (see :func:`end_test`)."""
    identities = state[4]
    if new_test:
        _end_test(child)
    elif child and _select([child[2], child[4]], [], [], 0)[0]:
        _end_test(child)  # it wrote when nothing was asked, or ended: a fresh one for this case
    if not child:
        pid = -1
        for _ in _range(100):  # what was killed before is reaped first, then the fork
            try:
                while _waitpid(-1, _wnohang)[0] > 0:
                    pass
            except _errors:
                pass
            try:
                request_read, request_write = _pipe()
                result_read, result_write = _pipe()
                trap_read, trap_write = _pipe()
            except _errors:
                _sleep(0.01)
                continue
            try:
                pid = _fork()
                break
            except _errors:  # out of processes until the killed ones are reaped
                for fd in (
                    request_read, request_write, result_read, result_write, trap_read, trap_write
                ):  # fmt: skip
                    _close(fd)
                _sleep(0.01)
        if pid < 0:
            return b"E\0" + b"\0\0\0\0" + _cannot_fork.to_bytes(4, "big")
        if pid == 0:
            code = 70
            try:
                for fd in (request_write, result_read, trap_read):
                    _close(fd)
                for fd in _copies(identities, (request_read, result_write, trap_write)):
                    _dup2(trap_write, fd)
                if ban(profile):
                    _test(handle, request_read, result_write)
                else:
                    code = _tamper
            finally:
                _exit(code)
        for fd in (request_read, result_write, trap_write):
            _close(fd)
        child[:] = [pid, request_write, result_read, trap_read, _pidfd_open(pid)]
    pid, request_write, result_read, trap_read, watch = child
    data = b""
    complete = ended = False
    try:
        view = _memoryview(_len(text).to_bytes(4, "big") + text)
        while view:
            view = view[_write(request_write, view) :]
        while not ended:
            ready, _, _ = _select([result_read, watch], [], [])
            if result_read in ready:
                chunk = _read(result_read, 1 << 16)
                if not chunk:
                    ended = True
                    break
                data += chunk
                if _len(data) >= 4 and _len(data) >= 4 + _from_bytes(data[:4], "big"):
                    complete = True
                    break
                if _len(data) > reply_bytes + 4096:
                    break  # too large: the process is stopped below
            elif watch in ready:  # ended; what it wrote before is still in the pipe
                ended = True
    except _errors:
        ended = True
    misused = b"\0"
    _set_blocking(trap_read, False)
    try:  # all of it: the trap outlives this case, and its next case starts with it empty
        for _ in _range(64):
            if not _read(trap_read, 1 << 16):
                break
            misused = b"\1"
    except _errors:
        pass
    size = _from_bytes(data[:4], "big") if _len(data) >= 4 else -1
    pid_bytes = (pid & 0xFFFFFFFF).to_bytes(4, "big")
    if complete and not ended and size <= reply_bytes + 4096 and _len(data) == 4 + size:
        return b"R" + misused + pid_bytes + data[4:]
    # ended without a whole result, wrote more than one, or one too large: it stops here
    status = 0
    if not ended:
        try:  # noqa: SIM105 (contextlib is a module attribute: not here)
            _kill(pid, _sigkill)
        except _errors:
            pass
    try:  # noqa: SIM105 (contextlib is a module attribute: not here)
        status = _waitpid(pid, 0)[1]
    except _errors:
        pass
    if not ended and status == 0:
        status = _sigkill  # killed here: reported as a stopped process, never as a result
    _end_test(child)
    return b"E" + misused + pid_bytes + (status & 0xFFFFFFFF).to_bytes(4, "big")


def trusted() -> list[Any]:
    """The functions whose code and defaults the guard must keep as they are."""
    return [seal, ask_case, end_test, _test_main, read_exactly, _channel_copies]
