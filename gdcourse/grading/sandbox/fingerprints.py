"""Banned code recognised by what it is, not by the file it was loaded from.

A region (:mod:`gdcourse.grading.shortcuts`) is known by the identity of its code
objects and by its source folders. Code compiled from a banned module's source (which
the sandbox can read) under another file name, or its code objects loaded again, has
neither. So the host, once, takes the *fingerprint* of every sizeable function of
each banned package it has imported: its byte-code and the names it uses (a
copy with other constants, line numbers or file name has the same). A case
process's ban (:func:`gdcourse.grading.sandbox.guard.arm`) counts a call into code
with a banned fingerprint as an entry into that region.

The native entry points behind a banned Python function are added to its region
(:data:`NATIVE`): the fused optimizer kernels torch.optim calls, for example.

What this does not see (README, "How grading is isolated"): a copy that was
edited (renamed variables change the names it uses), a package the host has not
imported, native code reached without a Python-level function call (NumPy's
gufuncs, a graph node called directly). For those the evidence goes to a person
(:func:`evidence`).
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from gdcourse.grading.shortcuts import Region

__all__ = ["MIN_BYTES", "NATIVE", "Copies", "evidence", "of", "with_native"]

MIN_BYTES = 64
"""Functions with less byte-code than this are not fingerprinted: a one-line method of a
banned package could be any student's code too."""

Copies = Mapping[str, Mapping[bytes, frozenset[tuple[str, ...]]]]
"""Region name -> byte-code -> the tuples of names (``co_names``) used with it."""

NATIVE: dict[str, tuple[str, ...]] = {
    "torch.optim": (
        "torch:_fused_sgd_",
        "torch:_fused_adam_",
        "torch:_fused_adamw_",
        "torch:_fused_adagrad_",
    ),
}
"""Shortcut name -> the C functions (``module:attribute``) behind it that a student could
call directly."""

SUSPECT: dict[str, tuple[str, ...]] = {
    "*": (
        "_getframe",
        "f_locals",
        "f_back",
        "get_referrers",
        "get_objects",
        "marshal",
        "CodeType",
        "spec_from_file_location",
        "module_from_spec",
        "SourceFileLoader",
        "SourcelessFileLoader",
        "register_at_fork",
        "setitimer",
        "cffi",
    ),
    "torch.optim": ("_fused_sgd_", "_fused_adam_", "_fused_adamw_", "_functional", "_foreach_"),
    "torch.autograd": ("grad_fn", "next_functions", "_execution_engine", "run_backward"),
    "torch.nn": ("_nn",),
    "torch.func": ("_functorch", "_C"),
    "numpy.linalg.lstsq": ("_umath_linalg", "lapack_lite"),
    "numpy.linalg.solve": ("_umath_linalg", "lapack_lite"),
    "numpy.linalg.inv": ("_umath_linalg", "lapack_lite"),
    "numpy.linalg.pinv": ("_umath_linalg", "lapack_lite"),
    "numpy.polyfit": ("_umath_linalg", "lapack_lite"),
}
"""Names in a notebook's code that reach around a ban (``*``: any ban). A name is never a
use: they send a submission that earned points to a person, never cost it any."""


def _codes(value: Any, depth: int = 0) -> Iterator[types.CodeType]:
    if isinstance(value, types.CodeType):
        yield value
        for constant in value.co_consts:
            yield from _codes(constant, depth)
    elif isinstance(value, types.FunctionType):
        yield from _codes(value.__code__, depth)
    elif isinstance(value, staticmethod | classmethod):
        yield from _codes(value.__func__, depth)
    elif isinstance(value, property):
        for part in (value.fget, value.fset, value.fdel):
            yield from _codes(part, depth)
    elif isinstance(value, type) and depth < 3:
        for item in list(vars(value).values()):
            yield from _codes(item, depth + 1)


def of(regions: Iterable[Region]) -> Copies:
    """The fingerprints of the banned regions' code imported in this interpreter."""
    found: dict[str, dict[bytes, set[tuple[str, ...]]]] = {}
    modules = [m for m in list(sys.modules.values()) if isinstance(m, types.ModuleType)]
    for region in regions:
        table = found.setdefault(region.name, {})
        values: list[Any] = list(region.keep)
        if region.prefixes:
            for module in modules:
                file = getattr(module, "__file__", None)
                if isinstance(file, str) and file.startswith(region.prefixes):
                    values += [
                        item
                        for item in list(vars(module).values())
                        if getattr(item, "__module__", None) == module.__name__
                    ]
        for value in values:
            for code in _codes(value):
                # only code that lives in the region (a decorator's wrapper from elsewhere,
                # stored in a banned class, is not the region's)
                inside = id(code) in region.code_ids or (
                    bool(region.prefixes) and code.co_filename.startswith(region.prefixes)
                )
                if inside and len(code.co_code) >= MIN_BYTES:
                    table.setdefault(code.co_code, set()).add(code.co_names)
    return {
        name: {key: frozenset(names) for key, names in table.items()}
        for name, table in found.items()
    }


def with_native(regions: Sequence[Region]) -> list[Region]:
    """The regions, each with the C functions of :data:`NATIVE` behind it added."""
    import importlib

    extended = []
    for region in regions:
        ids = set(region.builtin_ids)
        keep = list(region.keep)
        for target in NATIVE.get(region.name, ()):
            module_name, _, attribute = target.partition(":")
            module = sys.modules.get(module_name)
            if module is None:
                try:
                    module = importlib.import_module(module_name)
                except ImportError:
                    continue
            value = getattr(module, attribute, None)
            if value is not None:
                ids.add(id(value))
                keep.append(value)
        extended.append(dataclasses.replace(region, builtin_ids=frozenset(ids), keep=tuple(keep)))
    return extended


def _names(code: types.CodeType, depth: int = 0) -> Iterator[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, str) and len(constant) < 80:
            yield constant
        elif isinstance(constant, types.CodeType) and depth < 50:
            yield from _names(constant, depth + 1)


def evidence(codes: Sequence[Any], banned: Iterable[str]) -> list[str]:
    """What the notebook's code names that reaches around ``banned`` (see :data:`SUSPECT`),
    as ``"name (reaches around BAN)"`` lines; ``codes`` are its cells compiled (anything
    else, a cell that did not compile, is passed over), never run."""
    wanted: dict[str, str] = {}
    for ban in banned:
        if ban.startswith("student:"):
            continue
        for name in SUSPECT.get(ban, ()):
            wanted.setdefault(name, ban)
        for name in SUSPECT["*"]:
            wanted.setdefault(name, ban)
    if not wanted:
        return []
    found: dict[str, str] = {}
    for code in codes:
        if not isinstance(code, types.CodeType):
            continue
        for name in set(_names(code)):
            for suspect, ban in wanted.items():
                if name == suspect or (suspect.endswith("_") and name.startswith(suspect)):
                    found.setdefault(name, ban)
    return [f"{name} (reaches around {ban})" for name, ban in sorted(found.items())[:10]]
