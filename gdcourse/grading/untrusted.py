"""Reading what a student controls: files and JSON, each with a bound on size and depth.

Every byte of a submission is hostile until checked. A submitted notebook is
opened without following links, must be a regular file of bounded size inside
the student's folder, must be UTF-8 JSON of bounded nesting; a reply from the
sandbox must be bounded JSON too. A violation raises :class:`Unreadable` with a
reason a person can act on; nothing here raises anything else on bad input,
and nothing here ever changes a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
from collections.abc import Sequence
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NOTEBOOK_BYTES",
    "Unreadable",
    "check_depth",
    "loads",
    "read_regular_file",
]

MAX_NOTEBOOK_BYTES = 32 << 20
"""The largest submitted notebook read (a course notebook is well under 1 MB)."""

MAX_DEPTH = 64
"""The deepest nesting of lists and objects accepted in student-controlled JSON."""


class Unreadable(ValueError):
    """Student data that cannot be read; ``reason`` says why in words for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _size(count: int) -> str:
    """A size as a person reads it: ``"32 MB"``, ``"1.5 MB"``, ``"4096 bytes"``."""
    return f"{count / 2**20:.3g} MB" if count >= 1 << 20 else f"{count} bytes"


def read_regular_file(
    base: str | os.PathLike[str], parts: Sequence[str], *, max_bytes: int = MAX_NOTEBOOK_BYTES
) -> bytes:
    """The bytes of ``base/parts[0]/.../parts[-1]``, which must be a regular file.

    No component below ``base`` may be a symbolic link (each is opened with
    ``O_NOFOLLOW`` relative to the previous one), the file must be a regular file
    (not a device, pipe or folder) and at most ``max_bytes`` long.

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "a.ipynb").write_text("{}")
    2
    >>> read_regular_file(folder, ["a.ipynb"])
    b'{}'
    >>> (folder / "b.ipynb").symlink_to(folder / "a.ipynb")
    >>> read_regular_file(folder, ["b.ipynb"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gdcourse.grading.untrusted.Unreadable: b.ipynb is a symbolic link; a submission must be ...
    """
    name = "/".join(parts)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(base, flags | os.O_DIRECTORY)
    except OSError as error:
        raise Unreadable(
            f"the folder {os.fspath(base)!r} cannot be opened ({error.strerror})"
        ) from None
    try:
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part in ("", ".", "..") or "/" in part:
                raise Unreadable(f"{name!r} is not a plain file name")
            try:
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise Unreadable(f"{name} is missing") from None
            except OSError as error:
                raise Unreadable(f"{name} cannot be read ({error.strerror})") from None
            wanted = stat.S_ISREG(info.st_mode) if last else stat.S_ISDIR(info.st_mode)
            if not wanted:
                what = _kind(info.st_mode)
                raise Unreadable(
                    f"{'/'.join(parts[: index + 1])} is {what}; a submission must be a regular "
                    "file inside the student's folder"
                )
            try:
                opened = os.open(
                    part, flags | (os.O_NONBLOCK if last else os.O_DIRECTORY), dir_fd=fd
                )
            except OSError as error:
                raise Unreadable(f"{name} cannot be opened ({error.strerror})") from None
            os.close(fd)
            fd = opened
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # replaced between the check and the open
            raise Unreadable(
                f"{name} is {_kind(info.st_mode)}; a submission must be a regular file"
            )
        if info.st_size > max_bytes:
            raise Unreadable(
                f"{name} is {_size(info.st_size)}; notebooks larger than "
                f"{_size(max_bytes)} are not read (clear the outputs and submit again)"
            )
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > max_bytes:
                raise Unreadable(f"{name} grew past {_size(max_bytes)} while being read")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise :class:`Unreadable` if lists and objects in ``value`` nest deeper than allowed,
    or if a string in it (a key too) holds a lone surrogate.

    JSON's ``\\ud800`` escapes make such strings, which no UTF-8 file, terminal or
    database can hold: one of them reaching the gradebook or a report would cost every
    student's. Iterative, so that the check itself cannot exhaust the stack.

    >>> check_depth([[1], {"a": [2]}], 3)
    >>> check_depth([[[[]]]], 3)
    Traceback (most recent call last):
    ...
    gdcourse.grading.untrusted.Unreadable: data nested deeper than 3 levels
    >>> check_depth({"cell": "x\\udcff"})
    Traceback (most recent call last):
    ...
    gdcourse.grading.untrusted.Unreadable: text that is not Unicode (a lone surrogate)
    """
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise Unreadable("text that is not Unicode (a lone surrogate)")
        elif isinstance(item, (list, dict)):
            if level > max_depth:
                raise Unreadable(f"data nested deeper than {max_depth} levels")
            children = [*item, *item.values()] if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)


def loads(
    data: bytes | str, *, max_bytes: int, max_depth: int = MAX_DEPTH, what: str = "the data"
) -> Any:
    """JSON text, within ``max_bytes`` and ``max_depth``; :class:`Unreadable` otherwise.

    >>> loads(b'{"a": [1, 2]}', max_bytes=100)
    {'a': [1, 2]}
    >>> loads("[" * 100_000, max_bytes=1 << 20, what="a reply")
    Traceback (most recent call last):
    ...
    gdcourse.grading.untrusted.Unreadable: a reply is not valid JSON (nested too deeply)
    """
    if len(data) > max_bytes:
        raise Unreadable(f"{what} is larger than {max_bytes} bytes")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise Unreadable(f"{what} is not UTF-8 text (byte {error.start})") from None
    else:
        text = data
    try:
        value = json.loads(text)
    except RecursionError:
        raise Unreadable(f"{what} is not valid JSON (nested too deeply)") from None
    except ValueError as error:
        message = str(error).split(":")[0][:80]
        raise Unreadable(f"{what} is not valid JSON ({message})") from None
    check_depth(value, max_depth)
    return value
