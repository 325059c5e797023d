"""After the cells, the student's process is sealed; each case runs in a fork that dies with it.

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

Then :func:`ask_case` runs each case in a fresh fork of the sealed process, whose
whole life after the fork is under the test's ban (the guard's ``ban``, installed
before any student code runs there): the ban covers everything it runs, whatever
its stack looks like; its signals stay blocked, so no handler or timer ever fires in
it; and it ends (``os._exit``) right after writing its result on a pipe of its own. In that fork,
every descriptor that led to the request or reply channel leads to a trap: a write
there is reported as a violation, never read as a reply. The sealed process frames
the result as the reply; the fork never holds the reply channel.

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
    "mark_cells_over",
    "mark_value",
    "prepare",
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
    """The hard value of :data:`MARK` while the cells run (set by the namespace helper)."""
    hard = resource.getrlimit(MARK)[1]
    return int(min(hard if hard != resource.RLIM_INFINITY else 1 << 20, 1 << 20))


def mark_cells_over(pid: int) -> None:
    """From the supervisor: tell the guard of ``pid`` (and of its forks) that its cells are
    over; from now on no shortcut's code may run in it outside a case's fork."""
    value = mark_value() - 1
    resource.prlimit(pid, MARK, (value, value))


def _fd_bound(
    _get: Any = resource.getrlimit, _which: int = resource.RLIMIT_NOFILE, _min: Any = min
) -> int:
    """One past the highest descriptor this process can hold (its limit, set before any
    student code, which student code cannot raise)."""
    return int(_min(_get(_which)[1], _MAX_FD))


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
    _fd_bound: Any = _fd_bound,
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
    _gc_freeze()  # a case's fork leaves every object made so far alone: no copy on write
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
    for fd in _range(3, _fd_bound()):
        if fd in channel:
            continue
        try:
            stat = _fstat(fd)
        except _errors:
            continue
        if (stat.st_dev, stat.st_ino) in identities:
            _close(fd)
    return sealed is True


def _case_main(
    handle: Callable[[bytes], bytes],
    text: bytes,
    result_fd: int,
    _gc_enable: Any = gc.enable,
    _write: Any = os.write,
    _close: Any = os.close,
    _exit: Any = os._exit,
    _memoryview: Any = memoryview,
) -> None:
    """The case process, under its ban from start to end; its signals stay blocked."""
    _gc_enable()
    payload = handle(text)
    view = _memoryview(payload)
    while view:
        view = view[_write(result_fd, view) :]
    _close(result_fd)  # the reply is complete now, not once this address space is torn down
    _exit(0)


def ask_case(
    state: State,
    ban: Callable[[Any], bool],
    profile: Any,
    handle: Callable[[bytes], bytes],
    text: bytes,
    reply_bytes: int,
    _case: Any = _case_main,
    _pipe: Any = os.pipe,
    _fork: Any = os.fork,
    _dup2: Any = os.dup2,
    _close: Any = os.close,
    _read: Any = os.read,
    _fstat: Any = os.fstat,
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
    _errors: Any = (OSError, ValueError),
    _fd_bound: Any = _fd_bound,
    _sleep: Any = time.sleep,
    _cannot_fork: int = _CANNOT_FORK,
    _tamper: int = TAMPER_EXIT,
) -> bytes:
    """Run one case in a fork; the reply's kind, violation byte and body (see
    :data:`~gdcourse.grading.sandbox.student.REPLY`)."""
    identities = state[4]
    pid = -1
    for _ in _range(100):  # what the last case left behind was killed: reap it, then fork
        try:
            while _waitpid(-1, _wnohang)[0] > 0:
                pass
        except _errors:
            pass
        try:
            result_read, result_write = _pipe()
            trap_read, trap_write = _pipe()
        except _errors:
            _sleep(0.01)
            continue
        try:
            pid = _fork()
            break
        except _errors:  # out of processes until the killed ones are reaped
            for fd in (result_read, result_write, trap_read, trap_write):
                _close(fd)
            _sleep(0.01)
    if pid < 0:
        return b"E\0" + _cannot_fork.to_bytes(4, "big")
    if pid == 0:
        code = 70
        try:
            for fd in _range(3, _fd_bound()):
                if fd in (result_write, trap_write):
                    continue
                try:
                    stat = _fstat(fd)
                except _errors:
                    continue
                if (stat.st_dev, stat.st_ino) in identities:
                    _dup2(trap_write, fd)
            _close(result_read)
            _close(trap_read)
            if ban(profile):
                _case(handle, text, result_write)
            else:
                code = _tamper
        finally:
            _exit(code)
    _close(result_write)
    _close(trap_write)
    watch = _pidfd_open(pid)
    data = b""
    too_large = ended_first = False
    try:
        while True:
            ready, _, _ = _select([result_read, watch], [], [])
            if result_read in ready:
                chunk = _read(result_read, 1 << 16)
                if not chunk:
                    break
                data += chunk
                if _len(data) > reply_bytes + 4096:
                    too_large = True
                    _kill(pid, _sigkill)
                    break
            elif watch in ready:  # ended; what it wrote before is still in the pipe
                ended_first = True
                _set_blocking(result_read, False)
                try:
                    while _len(data) <= reply_bytes + 4096:
                        chunk = _read(result_read, 1 << 16)
                        if not chunk:
                            break
                        data += chunk
                except _errors:
                    pass
                break
        complete = bool(data) and not too_large and not ended_first
        # a complete reply is taken at once; the process is reaped before the next case
        status = 0 if complete else _waitpid(pid, 0)[1]
        _set_blocking(trap_read, False)
        try:
            misused = b"\1" if _read(trap_read, 1) else b"\0"
        except _errors:
            misused = b"\0"
    finally:
        for fd in (result_read, trap_read, watch):
            _close(fd)
    ended: bytes = b"E" + misused + (status & 0xFFFFFFFF).to_bytes(4, "big")
    if status == 0 and data and not too_large:
        return b"R" + misused + data
    return ended


def trusted() -> list[Any]:
    """The functions whose code and defaults the guard must keep as they are."""
    return [seal, ask_case, _case_main]
