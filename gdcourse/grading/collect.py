"""``nbgrader collect`` that copies regular files only (``nbgrader_config.py`` wires it in).

A student writes their submission into the exchange's inbound folder, so what
collect copies is theirs to choose: nbgrader's own collect follows symbolic
links (a link to the instructor's master would arrive as the student's work)
and reads devices and pipes (a link to ``/dev/zero`` never ends). This
collect copies regular files and folders and nothing else: a link, a device, a
pipe or a socket is refused, its path and the reason are logged, and the
reasons are kept beside the copy in :data:`REFUSED_FILE`, which
``gdcourse grade`` reports. A student id that is not a plain name (``..``, a
name with a slash, an empty name) is refused too.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.exchange import ignore_patterns

__all__ = ["REFUSED_FILE", "SafeCollect", "copy_regular_files", "refused_reasons"]

REFUSED_FILE = ".gdcourse-refused.json"
"""Written into a collected submission's folder: what collect refused to copy, and why."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def plain_student_id(student_id: str) -> bool:
    """Whether a student id can name a folder: not empty, no slash, not starting with a dot.

    >>> [plain_student_id(s) for s in ("ada", "=cmd", "..", "a/b", "", ".hidden")]
    [True, True, False, False, False, False]
    """
    return (
        bool(student_id)
        and "/" not in student_id
        and "\0" not in student_id
        and (not student_id.startswith("."))
    )


def _copy_file(source: str, destination: str, owner: int | None = None) -> None:
    """Copy one regular file without following a link put there after the check."""
    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{source} is {_kind(info.st_mode)}")
        if owner is not None and info.st_uid != owner:
            raise OSError(f"{source} belongs to another account (a hard link?)")
        with os.fdopen(os.dup(fd), "rb") as reader, open(destination, "xb") as writer:
            shutil.copyfileobj(reader, writer)
        os.utime(destination, ns=(info.st_atime_ns, info.st_mtime_ns))
    finally:
        os.close(fd)


def copy_regular_files(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    ignore: Callable[[str, list[str]], set[str]] | None = None,
    *,
    owner: int | None = None,
) -> list[str]:
    """Copy the folders and regular files under ``source``; return the refusals.

    Each refusal reads ``"<relative path> is a symbolic link: not copied"``.
    ``source`` itself must be a real folder. With ``owner`` (a uid), a file of another
    owner is refused too.
    """
    source, destination = Path(source), Path(destination)
    info = source.lstat()
    if not stat.S_ISDIR(info.st_mode):
        raise OSError(f"{source} is {_kind(info.st_mode)}, not a folder")
    refused: list[str] = []
    destination.mkdir(parents=True, exist_ok=True)
    for directory, folders, files in os.walk(source, followlinks=False):
        here = Path(directory)
        skipped = ignore(directory, [*folders, *files]) if ignore is not None else set()
        target = destination / here.relative_to(source)
        for name in list(folders):
            if name in skipped:
                folders.remove(name)
                continue
            mode = (here / name).lstat().st_mode
            if stat.S_ISLNK(mode):  # os.walk lists a link to a folder among the folders
                folders.remove(name)
                refused.append(
                    f"{(here / name).relative_to(source)} is a symbolic link: not copied"
                )
                continue
            (target / name).mkdir(exist_ok=True)
        for name in files:
            if name in skipped:
                continue
            path = here / name
            if name == REFUSED_FILE:
                refused.append(
                    f"{path.relative_to(source)} has a name the grader keeps for itself"
                )
                continue
            mode = path.lstat().st_mode
            if not stat.S_ISREG(mode):
                refused.append(f"{path.relative_to(source)} is {_kind(mode)}: not copied")
                continue
            try:
                _copy_file(str(path), str(target / name), owner)
            except OSError as error:
                refused.append(f"{path.relative_to(source)} could not be copied: {error}")
    return refused


def refused_reasons(folder: str | os.PathLike[str]) -> list[str]:
    """What collect refused for a submission folder (empty when it refused nothing)."""
    path = Path(folder) / REFUSED_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    reasons = data.get("refused") if isinstance(data, dict) else None
    return [str(r)[:300] for r in reasons[:20]] if isinstance(reasons, list) else []


class SafeCollect(ExchangeCollect):  # type: ignore[misc]
    """nbgrader's collect, copying regular files only and refusing odd student ids."""

    def init_src(self) -> None:
        super().init_src()
        kept: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = getattr(self, "src_records")  # noqa: B009 (untyped)
        for record in records:
            if plain_student_id(record["username"]):
                kept.append(record)
            else:
                self.log.error(
                    "Refused %r: the student id %r cannot name a folder",
                    record["filename"],
                    record["username"],
                )
        self.src_records = kept

    def required_owner(self, src: str) -> int | None:
        """The uid every file of the submission at ``src`` must have (None: any)."""
        return None

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        dir_size = self.get_size(src)
        if dir_size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(
                f"Directory size is too big. Size is {dir_size}, maximum size is "
                f"{1000 * self.coursedir.max_dir_size}"
            )
        ignore = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        try:
            refused = copy_regular_files(src, dest, ignore, owner=self.required_owner(src))
        except OSError as error:
            refused = [f"the submission is not a folder: {error}"]
            Path(dest).mkdir(parents=True, exist_ok=True)
        for reason in refused:
            self.log.error("Refused in %s: %s", src, reason)
        if refused:
            with open(Path(dest) / REFUSED_FILE, "w", encoding="utf-8") as file:
                json.dump({"refused": refused}, file, indent=1)
        if self.coursedir.groupshared:
            for directory, folders, files in os.walk(dest):
                for name in folders:
                    os.chmod(os.path.join(directory, name), 0o2770)
                for name in files:
                    os.chmod(os.path.join(directory, name), 0o660)
