"""The shortcut guard, armed in the student's process before any student code runs.

Two hooks that student code cannot remove:

* a **profile function** (``sys.setprofile``) sees every Python call and every
  call of a C function. In a test's process (:mod:`~gdcourse.grading.sandbox.seal`)
  :func:`arm`'s ``ban`` replaces it, before any student code runs there, by one
  for which every entry into a region the test bans (:mod:`gdcourse.grading.shortcuts`),
  from code outside the banned regions, whatever the stack looks like, writes
  ``S <shortcut>`` on the evidence pipe and ends the process at once with status
  :data:`SHORTCUT_EXIT`: no result of that case ever leaves it. A region is known by
  its code objects and C functions, its source folders, and the fingerprints of its
  code (:mod:`~gdcourse.grading.sandbox.fingerprints`): which spelling or file name
  reached the code does not matter; a name is never a use. In the process that ran
  the cells, once the supervisor has marked them over (a hard resource limit lowered,
  see :func:`~gdcourse.grading.sandbox.seal.mark_cells_over`), entering any region
  is tampering: only a test's fork runs student code after the cells.
* an **audit hook** (PEP 578; it cannot be removed from Python) refuses what
  would take the watch apart: replacing the profile or trace function (but for
  ``ban``'s own call), adding an audit hook, ``ctypes`` (raw memory), new code
  objects (``code.__new__``, ``marshal`` outside the import system, ``compile`` of
  a file path or of a syntax tree), replacing the code or defaults of the guard's
  own functions, new functions from the guard's code, and starting other programs.
  A refusal raises in the student's code and writes ``T <event>`` on the evidence
  pipe.

Every piece of state the hooks use is bound as a default argument when they are
made (the audit hook refuses changes to defaults), as immutable values where
student code could reach them: there is no closure cell, module global or mutable
container for student code to change. The system-call filter
(:func:`gdcourse.grading.sandbox.linux.install_syscall_filter`) refuses threads, so
the one watched thread runs all the Python there is, and ``exec``, so no other
interpreter runs unwatched; a test's process keeps its signals blocked, so no
handler runs inside the profile function, where the interpreter would not profile
it. :func:`intact` tells the request loop whether the profile function is still
installed (an exception inside it would have removed it): a request answered
without it is tampering.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gdcourse.grading.shortcuts import Region

__all__ = ["REPORTED_REFUSALS", "SHORTCUT_EXIT", "TAMPER_EXIT", "arm", "code_ids", "window"]

SHORTCUT_EXIT = 86
"""Exit status of a student process that entered a banned shortcut during a request."""

TAMPER_EXIT = 87
"""Exit status of a student process whose watch was taken apart during a request."""

_REFUSED = frozenset(
    {
        "sys.setprofile",
        "sys.settrace",
        "sys.addaudithook",
        "code.__new__",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.forkpty",
        "pty.spawn",
        "subprocess.Popen",
        "_posixsubprocess.fork_exec",
    }
)

#: Every event the guard reports as ``refused: <event>`` (``ctypes.*`` aside): the judge repeats
#: only these names, the grader's own words, never text a student's process wrote.
REPORTED_REFUSALS = _REFUSED | {
    "object.__setattr__",
    "function.__new__",
    "compile",
    "marshal.loads",
}

_FUNCTION_FIELDS = frozenset({"__code__", "__defaults__", "__kwdefaults__"})


def window(banned: frozenset[str], call: Callable[..., Any], *arguments: Any) -> Any:
    """Run ``call(*arguments)`` as a graded request in which ``banned`` shortcuts count.

    The guard recognises this function's frame by its code object; ``banned``
    is read from the outermost such frame, which the request loop made.
    """
    return call(*arguments)


def code_ids(*objects: Any) -> frozenset[int]:
    """Ids of the code objects of functions, classes and modules, nested code included."""
    found: set[int] = set()

    def add_code(code: types.CodeType) -> None:
        if id(code) in found:
            return
        found.add(id(code))
        for constant in code.co_consts:
            if isinstance(constant, types.CodeType):
                add_code(constant)

    def add(value: Any, depth: int = 0) -> None:
        if isinstance(value, types.CodeType):
            add_code(value)
        elif isinstance(value, types.FunctionType):
            add_code(value.__code__)
        elif isinstance(value, staticmethod | classmethod):
            add(value.__func__, depth)
        elif isinstance(value, property):
            for part in (value.fget, value.fset, value.fdel):
                if part is not None:
                    add(part, depth)
        elif isinstance(value, type) and depth < 3:
            for item in vars(value).values():
                add(item, depth + 1)
        elif isinstance(value, types.ModuleType):
            for item in vars(value).values():
                if getattr(item, "__module__", None) == value.__name__:
                    add(item, depth + 1)

    for item in objects:
        add(item)
    return frozenset(found)


_Table = tuple[tuple[str, frozenset[int], frozenset[int], frozenset[int], tuple[str, ...]], ...]


_Copies = tuple[tuple[str, tuple[tuple[bytes, frozenset[tuple[str, ...]]], ...]], ...]
"""Region name -> (byte-code, the name tuples used with it) pairs, as tuples."""


def _region_table(regions: Iterable[Region]) -> _Table:
    return tuple((r.name, r.code_ids, r.builtin_ids, r.self_ids, r.prefixes) for r in regions)


def _make_report(
    table: tuple[tuple[str, frozenset[int], frozenset[int], frozenset[int], tuple[str, ...]], ...],
    window_code: types.CodeType,
    evidence_fd: int,
    mark: tuple[int, int] | None = None,
) -> Callable[[Any, Any, Any], None]:
    def report(
        caller: Any,
        code: Any,
        builtin: Any,
        _mark: Any = mark,
        _getrlimit: Any = resource.getrlimit,
        _tamper: int = TAMPER_EXIT,
        _table: Any = table,
        _window: Any = window_code,
        _fd: int = evidence_fd,
        _write: Any = os.write,
        _exit: Any = os._exit,
        _id: Any = id,
        _type: Any = type,
        _frozenset: Any = frozenset,
        _getattr: Any = getattr,
        _status: int = SHORTCUT_EXIT,
    ) -> None:
        # Which region is entered?
        name = None
        if code is not None:
            filename = code.co_filename
            for region, ids, _, _, prefixes in _table:
                if _id(code) in ids or (prefixes and filename.startswith(prefixes)):
                    name = region
                    break
        else:
            owner = _id(_getattr(builtin, "__self__", None))
            for region, _, cids, sids, _ in _table:
                if _id(builtin) in cids or owner in sids:
                    name = region
                    break
        if name is None:
            return
        # A call from inside the same region is not an entry: judged when it was entered.
        if caller is not None:
            inner = caller.f_code
            for region, ids, _, _, prefixes in _table:
                if region == name and (
                    _id(inner) in ids or (prefixes and inner.co_filename.startswith(prefixes))
                ):
                    return
        # After the cells (the supervisor lowered the mark) no shortcut's code runs in the
        # process that ran them: only in a test's fork, under its own ban. Code that does is
        # a cell that never gave the loop back.
        if _mark is not None and _getrlimit(_mark[0])[1] < _mark[1]:
            try:
                _write(_fd, b"T a shortcut ran in the student's process after its cells\n")
            finally:
                _exit(_tamper)
        # Only inside a graded request, and only if this request bans it.
        frame = caller
        outermost = None
        while frame is not None:
            if frame.f_code is _window:
                outermost = frame
            frame = frame.f_back
        if outermost is None:
            return
        banned = outermost.f_locals.get("banned")
        if _type(banned) is not _frozenset or name not in banned:
            return
        try:
            _write(_fd, b"S " + name.encode() + b"\n")
        finally:
            _exit(_status)

    return report


def _make_profile(
    table: tuple[tuple[str, frozenset[int], frozenset[int], frozenset[int], tuple[str, ...]], ...],
    report: Callable[[Any, Any, Any], None],
) -> Callable[[Any, str, Any], None]:
    all_code = frozenset().union(*(ids for _, ids, _, _, _ in table))
    all_builtins = frozenset().union(*(cids for _, _, cids, _, _ in table))
    all_selves = frozenset().union(*(sids for _, _, _, sids, _ in table))
    all_prefixes = tuple(p for *_, prefixes in table for p in prefixes)

    def profile(
        frame: Any,
        event: str,
        arg: Any,
        _ids: frozenset[int] = all_code,
        _cids: frozenset[int] = all_builtins,
        _sids: frozenset[int] = all_selves,
        _prefixes: tuple[str, ...] = all_prefixes,
        _report: Any = report,
        _id: Any = id,
        _getattr: Any = getattr,
    ) -> None:
        try:
            if event == "call":
                code = frame.f_code
                if _id(code) in _ids or (_prefixes and code.co_filename.startswith(_prefixes)):
                    _report(frame.f_back, code, None)
            elif event == "c_call" and (
                _id(arg) in _cids or (_sids and _id(_getattr(arg, "__self__", None)) in _sids)
            ):
                _report(frame, None, arg)
        except BaseException:  # an exception here would remove the profile function
            pass

    return profile


def _make_audit(
    evidence_fd: int,
    trusted: frozenset[int],
    import_codes: frozenset[int],
    installer: int,
) -> Callable[[str, tuple[Any, ...]], None]:
    def audit(
        event: str,
        args: tuple[Any, ...],
        _installer: int = installer,
        _refused: frozenset[str] = _REFUSED,
        _fields: frozenset[str] = _FUNCTION_FIELDS,
        _trusted: frozenset[int] = trusted,
        _importers: frozenset[int] = import_codes,
        _fd: int = evidence_fd,
        _write: Any = os.write,
        _id: Any = id,
        _type: Any = type,
        _str: Any = str,
        _getframe: Any = sys._getframe,
        _error: Any = PermissionError,
        _function: Any = types.FunctionType,
    ) -> None:
        refuse = False
        if event == "sys.setprofile" and _id(_getframe(1).f_code) == _installer:
            refuse = False  # the case process's own ban, installed by the guard's code
        elif event in _refused or event.startswith("ctypes."):
            refuse = True
        elif event == "object.__setattr__":
            # the guard's own functions keep their code and defaults; others may change
            refuse = (
                len(args) > 1
                and _type(args[0]) is _function
                and _type(args[1]) is _str
                and args[1] in _fields
                and _id(args[0].__code__) in _trusted
            )
        elif event == "function.__new__":
            refuse = bool(args) and _id(args[0]) in _trusted
        elif event in ("compile", "marshal.loads"):
            if event == "compile":
                filename = args[1] if len(args) > 1 else "/"
                suspicious = _type(filename) is not _str or filename.startswith("/")
            else:
                suspicious = True
            if suspicious:
                # allowed to the import system alone (its code, by identity)
                frame = _getframe(1)
                depth = 0
                allowed = False
                while frame is not None and depth < 4:
                    if _id(frame.f_code) in _importers:
                        allowed = True
                        break
                    frame = frame.f_back
                    depth += 1
                refuse = not allowed
        if refuse:
            # no contextlib here: a module global is something student code could replace
            try:  # noqa: SIM105
                _write(_fd, b"T " + event.encode()[:80] + b"\n")
            except BaseException:
                pass
            raise _error(f"{event} is not allowed while the grader runs this notebook")

    return audit


def _import_system_codes() -> frozenset[int]:
    """Code of the import system that compiles sources and loads byte-code."""
    import importlib._bootstrap_external as external

    compile_bytecode = getattr(external, "_compile_bytecode")  # noqa: B009 (private, untyped)
    parts: list[Any] = [compile_bytecode, external.SourceLoader.get_code]
    parts.append(external.SourceLoader.source_to_code)
    return code_ids(*parts)


def _make_ban(
    table: _Table, banned: frozenset[str], evidence_fd: int, copies: _Copies
) -> Callable[..., None]:
    """The profile function of a case process: an entry into a region of ``banned``, from
    code outside the banned regions, ends the process, whatever the stack looks like.

    Its usual path allocates no object the garbage collector tracks, and the case
    process keeps every signal blocked: no finalizer and no signal handler can run
    inside it, where the interpreter would not profile them.
    """
    chosen = [entry for entry in table if entry[0] in banned]
    ids = frozenset().union(*(entry[1] for entry in chosen))
    cids = frozenset().union(*(entry[2] for entry in chosen))
    sids = frozenset().union(*(entry[3] for entry in chosen))
    prefixes = tuple(prefix for entry in chosen for prefix in entry[4])
    # copies of banned code, recognised by byte-code and names (fingerprints.py)
    # (byte-code, names) pairs, in frozensets: the case's own code can read this function's
    # defaults, and a dict there could be emptied
    by_region = dict(copies)
    regions_of_copies = tuple(
        (
            entry[0],
            frozenset(
                (code_bytes, names)
                for code_bytes, all_names in by_region.get(entry[0], ())
                for names in all_names
            ),
        )
        for entry in chosen
    )
    pairs = frozenset().union(*(found for _, found in regions_of_copies))
    codes = frozenset(code_bytes for code_bytes, _ in pairs)

    def shortcut(
        code: Any,
        builtin: Any,
        _table: Any = tuple(chosen),
        _copies: Any = regions_of_copies,
        _fd: int = evidence_fd,
        _disable: Any = gc.disable,
        _write: Any = os.write,
        _exit: Any = os._exit,
        _id: Any = id,
        _getattr: Any = getattr,
        _status: int = SHORTCUT_EXIT,
    ) -> None:
        _disable()  # no finalizer runs from here to the end
        name = "a banned shortcut"
        for region, region_ids, region_cids, region_sids, region_prefixes in _table:
            if code is not None and (
                _id(code) in region_ids
                or (region_prefixes and code.co_filename.startswith(region_prefixes))
            ):
                name = region
            owner = _id(_getattr(builtin, "__self__", None))
            if builtin is not None and (_id(builtin) in region_cids or owner in region_sids):
                name = region
        if code is not None and name == "a banned shortcut":
            for region, found in _copies:
                if (code.co_code, code.co_names) in found:
                    name = region
        try:
            _write(_fd, b"S " + name.encode() + b"\n")
        finally:
            _exit(_status)

    def profile(
        frame: Any,
        event: str,
        arg: Any,
        _ids: frozenset[int] = ids,
        _cids: frozenset[int] = cids,
        _sids: frozenset[int] = sids,
        _prefixes: tuple[str, ...] = prefixes,
        _codes: frozenset[bytes] = codes,
        _pairs: frozenset[tuple[bytes, tuple[str, ...]]] = pairs,
        _shortcut: Any = shortcut,
        _id: Any = id,
        _getattr: Any = getattr,
        _base: Any = BaseException,
    ) -> None:
        try:
            if event == "call":
                code = frame.f_code
                if (
                    _id(code) in _ids
                    or (_prefixes and code.co_filename.startswith(_prefixes))
                    or (code.co_code in _codes and (code.co_code, code.co_names) in _pairs)
                ):
                    caller = frame.f_back
                    if caller is not None:
                        inner = caller.f_code
                        if (
                            _id(inner) in _ids
                            or (_prefixes and inner.co_filename.startswith(_prefixes))
                            or (
                                inner.co_code in _codes
                                and (inner.co_code, inner.co_names) in _pairs
                            )
                        ):
                            return  # inside a banned region: judged when it was entered
                    _shortcut(code, None)
            elif event == "c_call" and (
                _id(arg) in _cids or (_sids and _id(_getattr(arg, "__self__", None)) in _sids)
            ):
                inner = frame.f_code
                if _id(inner) in _ids or (_prefixes and inner.co_filename.startswith(_prefixes)):
                    return
                _shortcut(None, arg)
        except _base:  # an exception here would remove the profile function
            pass

    return profile


def arm(
    regions: Iterable[Region],
    evidence_fd: int,
    trusted: Iterable[Any] = (),
    copies: Mapping[str, Any] | None = None,
    mark: tuple[int, int] | None = None,
) -> tuple[Callable[[], bool], Callable[[Any], bool], Callable[[frozenset[str]], Any]]:
    """Install the profile function and the audit hook; return :func:`intact`, :func:`ban`
    and :func:`make_ban`.

    ``make_ban(banned)`` builds a case's profile function (in the sealed process, once per
    set of bans: building one walks every fingerprint of the banned regions, about 10 ms);
    ``ban(profile)``, in a test's process before any student code runs there, installs it.
    ``trusted`` lists the functions and modules whose code student code may not
    reuse (:func:`window` and the guard itself are always among them).
    """
    table = _region_table(regions)
    # read now, before any student code, into tuples no one can change
    frozen_copies: _Copies = tuple(
        (name, tuple(fingerprints.items())) for name, fingerprints in (copies or {}).items()
    )
    report = _make_report(table, window.__code__, evidence_fd, mark)
    profile = _make_profile(table, report)

    def intact(_get: Any = sys.getprofile, _profile: Any = profile) -> bool:
        """Whether the profile function is still the one installed."""
        return bool(_get() is _profile)

    def make_ban(
        banned: frozenset[str],
        _make: Any = _make_ban,
        _table: Any = table,
        _fd: int = evidence_fd,
        _copies: Any = frozen_copies,
    ) -> Any:
        """The profile function of a case for which every entry into ``banned`` counts."""
        return _make(_table, banned, _fd, _copies)

    def ban(
        case_profile: Any,
        _get: Any = sys.getprofile,
        _set: Any = sys.setprofile,
        _profile: Any = profile,
        _code: Any = _BAN_PROFILE_CODE,
        _getattr: Any = getattr,
    ) -> bool:
        """In a case process, before any student code runs there: replace the profile
        function by ``case_profile`` (made by :func:`make_ban`). Once per process (it
        refuses when the profile function is not the one :func:`arm` installed, or when
        ``case_profile`` is not a ban's profile function)."""
        if _get() is not _profile or _getattr(case_profile, "__code__", None) is not _code:
            return False
        _set(case_profile)
        return True

    trusted_ids = code_ids(
        window, arm, _make_report, _make_profile, _make_audit, _make_ban, *trusted
    )
    audit = _make_audit(evidence_fd, trusted_ids, _import_system_codes(), id(ban.__code__))
    sys.setprofile(profile)
    sys.addaudithook(audit)
    return intact, ban, make_ban


_BAN_PROFILE_CODE = next(
    const
    for const in _make_ban.__code__.co_consts
    if isinstance(const, types.CodeType) and const.co_name == "profile"
)
