"""The shortcuts an exercise may ban, and the code each one stands for.

A graded function may be banned from using what it asks the student to write
(``torch.optim`` in a hand-written descent loop, ``numpy.polyfit`` in a fit).
Bans are enforced on what the code *does*, never on the names it uses: a name
here resolves to code objects, C functions and source folders, and
:mod:`gdcourse.grading.sandbox.guard` watches every call a graded function
makes for an entry into one of them, whatever spelling reached it
(``getattr`` with built strings, ``importlib``, ``__import__``, ``exec`` of a
string, ``sys.modules``). A variable called ``grad`` is not a use of autograd.

``student:<name>`` bans another graded function of the student's own notebook.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NAMES",
    "STUDENT_PREFIX",
    "Region",
    "Watch",
    "check_banned",
    "describe",
    "resolve",
    "resolve_all",
    "student_ban",
]

NAMES: dict[str, str] = {
    "gdcourse": (
        "the course library's algorithms (gdcourse.optimizers, gdcourse.objectives, "
        "gdcourse.schedules)"
    ),
    "torch.optim": "torch.optim",
    "torch.nn": "torch.nn",
    "torch.autograd": "autograd (backward(), torch.autograd.grad, torch.autograd.functional)",
    "torch.func": "torch.func",
    "numpy.polyfit": "numpy.polyfit",
    "numpy.polynomial": "numpy.polynomial",
    "numpy.linalg.lstsq": "numpy.linalg.lstsq",
    "numpy.linalg.solve": "numpy.linalg.solve",
    "numpy.linalg.inv": "numpy.linalg.inv",
    "numpy.linalg.pinv": "numpy.linalg.pinv",
    "numpy.gradient": "numpy.gradient",
    "scipy": "SciPy",
    "sklearn": "scikit-learn",
    "jax": "JAX",
    "autograd": "the autograd package",
}
"""Every shortcut name a spec may ban, with the words feedback uses for it."""

STUDENT_PREFIX = "student:"

# name -> what it covers: ("package", dotted) every file of a package or module;
# ("function", "module:attr.path") a Python function (its code and nested code) or a C function;
# ("self", "module:attr.path") every C method bound to that object.
_TARGETS: dict[str, tuple[tuple[str, str], ...]] = {
    "gdcourse": (
        ("package", "gdcourse.optimizers"),
        ("package", "gdcourse.objectives"),
        ("package", "gdcourse.schedules"),
    ),
    "torch.optim": (("package", "torch.optim"),),
    "torch.nn": (("package", "torch.nn"),),
    "torch.autograd": (
        ("function", "torch:Tensor.backward"),
        ("function", "torch.autograd:backward"),
        ("function", "torch.autograd:grad"),
        ("package", "torch.autograd.functional"),
        ("self", "torch.autograd:Variable._execution_engine"),
    ),
    "torch.func": (("package", "torch.func"), ("package", "torch._functorch")),
    "numpy.polyfit": (("function", "numpy:polyfit"),),
    "numpy.polynomial": (("package", "numpy.polynomial"),),
    "numpy.linalg.lstsq": (("function", "numpy.linalg:lstsq"),),
    "numpy.linalg.solve": (("function", "numpy.linalg:solve"),),
    "numpy.linalg.inv": (("function", "numpy.linalg:inv"),),
    "numpy.linalg.pinv": (("function", "numpy.linalg:pinv"),),
    "numpy.gradient": (("function", "numpy:gradient"),),
    "scipy": (("package", "scipy"),),
    "sklearn": (("package", "sklearn"),),
    "jax": (("package", "jax"), ("package", "jaxlib")),
    "autograd": (("package", "autograd"),),
}


def describe(name: str) -> str:
    """The words feedback uses for a banned shortcut.

    >>> describe("torch.optim")
    'torch.optim'
    >>> describe("student:numerical_gradient")
    'your own numerical_gradient'
    """
    if name.startswith(STUDENT_PREFIX):
        return f"your own {name.removeprefix(STUDENT_PREFIX)}"
    return NAMES.get(name, name)


def student_ban(name: str) -> str | None:
    """The function name of a ``student:`` ban, else ``None``.

    >>> student_ban("student:numerical_gradient"), student_ban("torch.nn")
    ('numerical_gradient', None)
    """
    if name.startswith(STUDENT_PREFIX):
        return name.removeprefix(STUDENT_PREFIX)
    return None


def check_banned(function: str, banned: Sequence[str]) -> None:
    """Raise ``ValueError`` when a spec's ``banned`` holds a name the guard does not know.

    >>> check_banned("fit", ["numpy.polyfit", "student:predict"])
    >>> check_banned("fit", [".backward"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: spec of fit: banned name '.backward' is not a shortcut the grader knows; ...
    """
    if isinstance(banned, str):
        raise ValueError(f"spec of {function}: banned must be a sequence of names, not a string")
    for name in banned:
        own = student_ban(name) if isinstance(name, str) else None
        if name not in NAMES and not (own and own.isidentifier()):
            raise ValueError(
                f"spec of {function}: banned name {name!r} is not a shortcut the grader knows; "
                f"allowed: {', '.join(NAMES)}, or '{STUDENT_PREFIX}<function>'"
            )


@dataclass(frozen=True)
class Region:
    """The code one shortcut stands for, resolved in this interpreter.

    ``code_ids`` are ids of code objects (kept alive in ``keep``), ``builtin_ids``
    ids of C functions, ``self_ids`` ids of objects whose bound C methods count,
    ``prefixes`` source folders or files.
    """

    name: str
    code_ids: frozenset[int]
    builtin_ids: frozenset[int]
    self_ids: frozenset[int]
    prefixes: tuple[str, ...]
    keep: tuple[Any, ...] = ()


def _nested_code(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _nested_code(constant)


def _attribute(path: str) -> Any:
    module_name, _, attributes = path.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attributes.split("."):
        value = getattr(value, part)
    return value


def _function_code(value: Any) -> types.CodeType | None:
    # NumPy's array-function dispatchers keep the Python implementation aside.
    for candidate in (value, getattr(value, "_implementation", None)):
        code = getattr(candidate, "__code__", None)
        if isinstance(code, types.CodeType):
            return code
    return None


def _both(path: str, folder: bool) -> tuple[str, ...]:
    """A path as imported and as resolved (code records the path it was imported by)."""
    suffix = os.sep if folder else ""
    return tuple(dict.fromkeys([path.rstrip(os.sep) + suffix, os.path.realpath(path) + suffix]))


def _package_prefixes(dotted: str) -> tuple[str, ...]:
    """Source locations of a package (its folder) or module (its file), without importing it
    when it is not imported yet; nothing when it is not installed."""
    module = sys.modules.get(dotted)
    if module is not None:
        paths = list(getattr(module, "__path__", []) or [])
        if paths:
            return tuple(p for path in paths for p in _both(path, True))
        file = getattr(module, "__file__", None)
        return _both(file, False) if file else ()
    try:
        spec = importlib.util.find_spec(dotted)
    except (ImportError, ValueError):
        return ()
    if spec is None:
        return ()
    if spec.submodule_search_locations:
        return tuple(p for path in spec.submodule_search_locations for p in _both(path, True))
    return _both(spec.origin, False) if spec.origin else ()


def resolve(name: str) -> Region:
    """The :class:`Region` of a shortcut name (not ``student:`` ones)."""
    code_ids: set[int] = set()
    builtin_ids: set[int] = set()
    self_ids: set[int] = set()
    prefixes: list[str] = []
    keep: list[Any] = []
    for kind, target in _TARGETS[name]:
        if kind == "package":
            prefixes.extend(_package_prefixes(target))
            continue
        module_name = target.partition(":")[0]
        if module_name not in sys.modules and importlib.util.find_spec(module_name) is None:
            continue
        value = _attribute(target)
        keep.append(value)
        if kind == "self":
            self_ids.add(id(value))
            continue
        code = _function_code(value)
        if code is not None:
            code_ids.update(id(c) for c in _nested_code(code))
            keep.append(code)
        else:
            builtin_ids.add(id(value))
    return Region(
        name,
        frozenset(code_ids),
        frozenset(builtin_ids),
        frozenset(self_ids),
        tuple(dict.fromkeys(prefixes)),
        tuple(keep),
    )


def resolve_all(names: Iterable[str] = NAMES) -> tuple[Region, ...]:
    """Regions of every (non-``student:``) name, in a stable order."""
    return tuple(resolve(name) for name in names if student_ban(name) is None)


_RESOLVED: dict[str, Region] = {}


def _region(name: str) -> Region:
    if name not in _RESOLVED:
        _RESOLVED[name] = resolve(name)
    return _RESOLVED[name]


def _region_of_code(regions: Sequence[Region], code: types.CodeType) -> str | None:
    filename = code.co_filename
    for region in regions:
        if id(code) in region.code_ids or (
            region.prefixes and filename.startswith(region.prefixes)
        ):
            return region.name
    return None


class Watch:
    """Watch a call in this process for entries into banned shortcuts (a context manager).

    For a student's own kernel, where nothing is hostile: the visible checks tell a
    student that a shortcut earns no credit, as the grader's guard will
    (:mod:`gdcourse.grading.sandbox.guard`, which also resists tampering). ``found``
    lists the names entered, in order. ``namespace`` is where ``student:`` bans
    are looked up (the function's globals).
    """

    def __init__(self, banned: Iterable[str], namespace: Mapping[str, Any] | None = None) -> None:
        names = list(dict.fromkeys(banned))
        self.regions: list[Region] = [_region(n) for n in names if student_ban(n) is None]
        for name in names:
            own = student_ban(name)
            value = (namespace or {}).get(own) if own else None
            code = getattr(value, "__code__", None)
            if isinstance(code, types.CodeType):
                ids = frozenset(id(c) for c in _nested_code(code))
                self.regions.append(Region(name, ids, frozenset(), frozenset(), (), (code,)))
        self.found: list[str] = []
        self._previous: Any = None

    def __enter__(self) -> Watch:
        self._previous = sys.getprofile()
        if self.regions:
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)

    def _entered(self, name: str | None, caller: Any) -> None:
        if name is None:
            return
        if caller is not None and _region_of_code(self.regions, caller.f_code) is not None:
            return  # called from a banned region (polyfit calling lstsq): counted at its entry
        if name not in self.found:
            self.found.append(name)

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            self._entered(_region_of_code(self.regions, frame.f_code), frame.f_back)
        elif event == "c_call":
            owner = id(getattr(arg, "__self__", None))
            for region in self.regions:
                if id(arg) in region.builtin_ids or owner in region.self_ids:
                    self._entered(region.name, frame)
                    break
