"""The shape of a shared exchange that no student account can subvert, and its check.

A shared exchange (one every account reaches, on a hub) is made once by its admin with
``python3 -m gdcourse.exchange setup`` (:mod:`gdcourse.exchange.setup`)::

    ROOT                 root:root        0711  drwx--x--x   nobody lists the courses
    ROOT/COURSE          root:STAFF       0751  drwxr-x--x   nobody but root renames its folders
    ROOT/COURSE/outbound INSTRUCTOR:STUDENTS 2750 drwxr-s---  students read the releases
    ROOT/COURSE/inbound  INSTRUCTOR:STAFF 3753  drwxr-s-wt  a drop box: anyone drops, nobody lists
    ROOT/COURSE/feedback INSTRUCTOR:STAFF 2771  drwxrws--x  pages found only by their secret name

A student cannot rename or replace the course's folder (the root and the course folder are
root's and writable by nobody else), cannot list the inbound folder or the feedback folder,
and cannot rename, delete or read another student's submission (the inbound folder is sticky;
each submission is its student's, readable by the staff group only). :func:`problems` says what
is wrong with an exchange that does not have this shape; every class in
:mod:`gdcourse.exchange.student` and :mod:`gdcourse.exchange.staff` refuses to use one.

An exchange whose root is the current account's own (the course's ``exchange/`` folder on one
person's machine) is *personal*: there is no other account to defend against, and the classes
behave as nbgrader's own.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["FOLDERS", "Folder", "is_personal", "problems"]


@dataclass(frozen=True)
class Folder:
    """One folder of a course in a shared exchange, as :mod:`gdcourse.exchange.setup` makes it."""

    name: str
    """Its path under the root (``COURSE`` stands for the course id)."""
    mode: int
    """Its permission bits, special bits included."""
    owner: str
    """``root`` or ``instructor``."""
    group: str
    """``root``, ``staff`` or ``students``."""
    why: str


FOLDERS = (
    Folder("", 0o711, "root", "root", "nobody lists the courses or renames one"),
    Folder("COURSE", 0o751, "root", "staff", "nobody but root renames or replaces its folders"),
    Folder("COURSE/outbound", 0o2750, "instructor", "students", "the course's students read it"),
    Folder(
        "COURSE/inbound", 0o3753, "instructor", "staff", "a drop box: anyone drops, nobody lists"
    ),
    Folder("COURSE/feedback", 0o2771, "instructor", "staff", "pages found by secret name only"),
)
"""The folders of a shared exchange, root first."""


def is_personal(root: str | os.PathLike[str]) -> bool:
    """Whether ``root`` is this account's own exchange (or not there yet): no checks apply."""
    try:
        return os.lstat(root).st_uid == os.geteuid()
    except FileNotFoundError:
        return True


def _describe(mode: int) -> str:
    return f"{stat.filemode(mode)} ({oct(stat.S_IMODE(mode))})"


def problems(root: str | os.PathLike[str], course_id: str) -> list[str]:
    """What makes ``root`` an exchange that one student could subvert (empty when none).

    Checks what every account can see (``lstat`` of each folder): the root and the course
    folder are real folders of root's that no one else can change; outbound and feedback can
    be changed by no one outside their owner and group; inbound is a drop box (sticky, not
    listable by others); no folder can be listed by every account.
    """
    found: list[str] = []
    base = Path(root)
    groups: dict[str, set[int]] = {"root": set(), "staff": set(), "students": set()}
    for folder in FOLDERS:
        path = base / folder.name.replace("COURSE", course_id)
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            found.append(f"{path} does not exist")
            break
        except PermissionError:
            found.append(f"{path} cannot be reached (its parent cannot be entered)")
            break
        mode = info.st_mode
        if not stat.S_ISDIR(mode):
            found.append(f"{path} is not a real folder ({stat.filemode(mode)})")
            break
        if folder.owner == "root" and info.st_uid != 0:
            found.append(
                f"{path} is owned by uid {info.st_uid}, not root: its owner can replace it"
            )
        if folder.owner == "root" and mode & 0o020:
            found.append(f"{path} can be changed by its whole group: {_describe(mode)}")
        if mode & stat.S_IROTH:
            found.append(f"{path} can be listed by every account: {_describe(mode)}")
        if mode & stat.S_IWOTH and not (mode & stat.S_ISVTX and folder.name.endswith("inbound")):
            found.append(f"{path} can be changed by every account: {_describe(mode)}")
        if folder.name.endswith("inbound") and not mode & stat.S_ISVTX:
            found.append(
                f"{path} is not sticky: a student could rename or delete another's submission"
            )
        if folder.name.endswith("outbound") and mode & 0o020:
            found.append(f"{path} can be changed by its group, the students: {_describe(mode)}")
        groups[folder.group].add(info.st_gid)
    if not found and (len(groups["staff"]) != 1 or groups["staff"] & groups["students"]):
        found.append(
            f"{base / course_id}, its inbound and its feedback must have one group (the "
            "staff), and outbound another (the students)"
        )
    return found
