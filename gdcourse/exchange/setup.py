"""Make a course's shared exchange, once, as root: ``python3 -m gdcourse.exchange setup``.

It creates (or brings to :data:`gdcourse.exchange.layout.FOLDERS`) the root, the course's
folder and its outbound, inbound and feedback folders, with the owners, groups and modes that
no student account can subvert, and says what it did. Run again, it changes nothing and says so.
It refuses, changing nothing, an existing state it cannot vouch for: a folder on the way that
another account could swap, a symbolic link where a folder belongs, or a folder (or a released
assignment) owned by an account other than root or the instructor, which is what a student who
took over an exchange made the nbgrader way (``chmod ugo+rwx``) leaves behind. What was there
already and is safe (released assignments, submissions, feedback pages) is kept, and loses any
permission for other accounts that it had.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from gdcourse.exchange.layout import FOLDERS, problems

__all__ = ["Plan", "SetupError", "hub_config", "setup"]


class SetupError(Exception):
    """The exchange cannot be made safe as it is: nothing was changed."""


@dataclass(frozen=True)
class Plan:
    """Who the exchange's folders belong to."""

    root: Path
    course_id: str
    instructor: str
    staff_group: str
    students_group: str

    def ids(self, owner: str, group: str) -> tuple[int, int]:
        uid = 0 if owner == "root" else pwd.getpwnam(self.instructor).pw_uid
        names = {"root": "root", "staff": self.staff_group, "students": self.students_group}
        return uid, grp.getgrnam(names[group]).gr_gid


def _check_names(plan: Plan) -> None:
    if not plan.course_id or "/" in plan.course_id or plan.course_id.startswith("."):
        raise SetupError(f"--course {plan.course_id!r}: a plain name (no slash, no leading dot)")
    try:
        pwd.getpwnam(plan.instructor)
    except KeyError:
        raise SetupError(f"--instructor {plan.instructor!r}: no such account") from None
    for option, name in (
        ("--staff-group", plan.staff_group),
        ("--students-group", plan.students_group),
    ):
        try:
            grp.getgrnam(name)
        except KeyError:
            raise SetupError(f"{option} {name!r}: no such group (groupadd {name})") from None
    if plan.staff_group == plan.students_group:
        raise SetupError(
            "--staff-group and --students-group must differ: students would "
            "read each other's submissions"
        )


def _check_ancestors(root: Path) -> None:
    """Every folder above the root must be root's and not swappable by anyone else."""
    for ancestor in reversed(root.parents):
        info = os.lstat(ancestor)
        if stat.S_ISLNK(info.st_mode):
            raise SetupError(f"{ancestor} is a symbolic link: give the root by its real path")
        swappable = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
        if info.st_uid != 0 or swappable:
            raise SetupError(
                f"{ancestor} (above the exchange) is not root's alone "
                f"({stat.filemode(info.st_mode)}, uid {info.st_uid}): whoever can change it "
                "can replace the exchange"
            )


def _check_existing(plan: Plan, path: Path) -> None:
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise SetupError(f"{path} is {stat.filemode(info.st_mode)}, not a folder: move it aside")
    allowed = {0, pwd.getpwnam(plan.instructor).pw_uid}
    if info.st_uid not in allowed:
        try:
            name = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            name = f"uid {info.st_uid}"
        raise SetupError(
            f"{path} is owned by {name}, neither root nor the instructor {plan.instructor}: a "
            "student may have replaced it (an exchange made with chmod ugo+rwx lets anyone). "
            "Move it aside, check it, and run setup again"
        )


def _tighten(path: Path, gid: int, *, keep_other_read: bool = False) -> bool:
    """Take every permission for other accounts from what ``path`` holds; its group ``gid``.
    Refuses a symbolic link or a released file not owned by root or its folder's owner."""
    changed = False
    owner = os.lstat(path).st_uid
    for directory, folders, files in os.walk(path):
        for name in [*folders, *files]:
            entry = Path(directory) / name
            info = os.lstat(entry)
            if stat.S_ISLNK(info.st_mode):
                raise SetupError(f"{entry} is a symbolic link: move it aside")
            if path.name == "outbound" and info.st_uid not in (0, owner):
                raise SetupError(f"{entry} was released by uid {info.st_uid}, not the instructor")
            mask = 0o003 if keep_other_read else 0o007
            mode = stat.S_IMODE(info.st_mode)
            if mode & mask or info.st_gid != gid:
                os.chown(entry, -1, gid, follow_symlinks=False)
                os.chmod(entry, mode & ~mask, follow_symlinks=False)
                changed = True
    return changed


def setup(plan: Plan) -> list[str]:
    """Make the exchange of ``plan`` or bring it to shape; return what was done, one line each.

    Raises :class:`SetupError` (having changed nothing) on a state it cannot vouch for.
    """
    if os.geteuid() != 0:
        raise SetupError(
            "setup must run as root: the exchange's root and course folder are root's"
        )
    _check_names(plan)
    root = Path(os.path.abspath(plan.root))
    _check_ancestors(root)
    paths = [root / folder.name.replace("COURSE", plan.course_id) for folder in FOLDERS]
    for path in paths:
        if os.path.lexists(path):
            _check_existing(plan, path)
    done: list[str] = []
    if not root.parent.exists():
        root.parent.mkdir(mode=0o755, parents=True)
        done.append(f"created {root.parent} (root's, 0755)")
    for path, folder in zip(paths, FOLDERS, strict=True):
        uid, gid = plan.ids(folder.owner, folder.group)
        group = grp.getgrgid(gid).gr_name
        owner = "root" if uid == 0 else plan.instructor
        what = f"{owner}:{group} {stat.filemode(stat.S_IFDIR | folder.mode)}"
        if not os.path.lexists(path):
            path.mkdir(mode=0o700)
            os.chown(path, uid, gid)
            os.chmod(path, folder.mode)
            done.append(f"created {path} ({what}): {folder.why}")
            continue
        info = os.lstat(path)
        if (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (uid, gid, folder.mode):
            old = f"{stat.filemode(info.st_mode)} uid {info.st_uid} gid {info.st_gid}"
            os.chown(path, uid, gid, follow_symlinks=False)
            os.chmod(path, folder.mode, follow_symlinks=False)
            done.append(f"changed {path} from {old} to {what}: {folder.why}")
        if folder.name.count("/") == 1 and _tighten(
            path, gid, keep_other_read=folder.name.endswith("feedback")
        ):
            done.append(f"took other accounts' permissions from what {path} holds")
    left = problems(root, plan.course_id)
    if left:  # pragma: no cover (setup makes exactly the shape problems() checks)
        raise SetupError("the exchange is still unsafe:\n  " + "\n  ".join(left))
    return done or [
        f"{root} already has the safe shape for course {plan.course_id}: nothing to do"
    ]


def hub_config(root: str | os.PathLike[str], course_id: str) -> str:
    """The lines for every account's ``/etc/jupyter/nbgrader_config.py`` on the hub."""
    return f'''c.CourseDirectory.course_id = "{course_id}"
c.Exchange.root = "{root}"
c.ExchangeFactory.submit = "gdcourse.exchange.student.SecureSubmit"
c.ExchangeFactory.fetch_assignment = "gdcourse.exchange.student.SecureFetchAssignment"
c.ExchangeFactory.fetch_feedback = "gdcourse.exchange.student.SecureFetchFeedback"
c.ExchangeFactory.list = "gdcourse.exchange.student.SecureList"
'''
