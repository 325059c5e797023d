"""The machine as the sandbox host sees it: an allow-list of read-only binds for bubblewrap.

Never the course folder or a folder above it: only the system, the Python
installation and the ``gdcourse`` package (its grading specifications hidden).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["HIDDEN_IN_PACKAGE", "PACKAGE", "binds", "bwrap_arguments"]

PACKAGE = Path(__file__).resolve().parents[2]
"""The ``gdcourse`` package folder (bound read-only into the sandbox)."""

HIDDEN_IN_PACKAGE = ("grading/specs",)
"""Folders of the package the sandbox must not see: the specifications hold the reference
implementations and the wrong variants the judge compares against."""


def _python_roots() -> list[Path]:
    """The Python installation: its prefixes and the package folders on ``sys.path``."""
    roots = [Path(sys.base_prefix), Path(sys.prefix)]
    roots += [
        Path(entry)
        for entry in sys.path
        if entry and ("site-packages" in entry or "dist-packages" in entry)
    ]
    resolved: list[Path] = []
    for root in roots:
        for path in (root, root.resolve()):
            if path.is_dir() and path not in resolved:
                resolved.append(path)
    return resolved


def binds(package: Path, course_root: Path | None) -> list[tuple[str, str]]:
    """``(source, destination)`` pairs bound read-only: the system, Python, the package.

    Never the course folder or a folder above it: only the package and the Python
    installation inside it are bound, so masters, gradebook and submissions stay out.
    """
    course = (course_root or package.parent).resolve()
    binds: list[tuple[str, str]] = []
    for system in ("/usr", "/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        if os.path.exists(system):
            binds.append((system, system))
    for path in [*_python_roots(), package]:
        if str(path) == "/usr" or str(path).startswith("/usr/"):
            continue  # already there
        if path.resolve() == course or path.resolve() in course.parents:
            continue
        binds.append((str(path), str(path)))
    # the shortest first, so that nested binds land on top of their parents
    return sorted(dict.fromkeys(binds), key=lambda pair: len(pair[1]))


def bwrap_arguments(package: Path) -> tuple[list[str], list[str]]:
    """The bubblewrap command line (without the program) for the host's view of the machine,
    as the arguments before the read-only binds and those after them."""
    args = [
        "--unshare-all",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "HOME",
        "/tmp",
        "--setenv",
        "MPLBACKEND",
        "Agg",
        "--setenv",
        "OMP_NUM_THREADS",
        "1",
        "--setenv",
        "MKL_NUM_THREADS",
        "1",
        "--setenv",
        "OPENBLAS_NUM_THREADS",
        "1",
        "--setenv",
        "PYTHONDONTWRITEBYTECODE",
        "1",
        "--hostname",
        "sandbox",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", f"/{name}", f"/{name}"]
    after = []
    for hidden in HIDDEN_IN_PACKAGE:
        if (package / hidden).is_dir():
            after += ["--tmpfs", str(package / hidden)]
    after += ["--remount-ro", "/", "--chdir", "/tmp"]
    return args, after
