"""What the instructor's and the grader's nbgrader use of the exchange: release, collect,
release feedback. Not part of the student edition.

Wired in ``nbgrader_config.py`` with ``c.ExchangeFactory.*``. On a shared exchange
(:mod:`gdcourse.exchange.layout`) each class checks the exchange's shape first and creates
nothing but what it releases: the folders are the admin's (``python3 -m gdcourse.exchange
setup``), so neither the instructor nor the grader account needs to own them, and nothing in
them is ever made world-readable or world-writable.

Collect treats what another account put in the inbound folder as hostile
(:class:`SecureCollect`): a submission counts only from an account in the course's students
group (anyone can drop into inbound) and only for the account that owns it (a student
who submits under another's name, or renames their submission to another's, is refused and the
other's own latest submission is collected); a name nbgrader cannot parse is refused without
stopping the others; a submission changed after the time in its name (renamed to an earlier
time, edited after the deadline) takes the time of that change; and a file it holds that
another account owns (a hard link) is not copied. Its own account's submissions (the
instructor's, on a personal exchange) are taken as they are.
"""

from __future__ import annotations

import datetime
import glob
import grp
import os
import pwd
import shutil
import stat
from collections import defaultdict
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.utils import check_mode, parse_utc
from traitlets import Float

from gdcourse.exchange.layout import is_personal
from gdcourse.exchange.student import _Checked
from gdcourse.grading.collect import SafeCollect, plain_student_id
from gdcourse.grading.release_feedback import SafeReleaseFeedback

__all__ = ["RELEASE_DIR_MODE", "RELEASE_FILE_MODE", "SecureCollect", "SecureReleaseAssignment"]
__all__ += ["SecureReleaseFeedback"]

RELEASE_DIR_MODE = 0o750
"""A released assignment's folders: the instructor's, read by outbound's group, the students."""
RELEASE_FILE_MODE = 0o640


def _need_write(exchange: Any, path: str, what: str) -> None:
    if not os.access(path, os.W_OK | os.X_OK):
        owner = pwd.getpwuid(os.stat(path).st_uid).pw_name
        exchange.fail(
            f"You cannot {what}: {path} is writable by its owner ({owner}) and group only. "
            "Run this as the account given to `gdcourse.exchange setup --instructor`, or as a "
            "member of its --staff-group."
        )


class SecureReleaseAssignment(_Checked, ExchangeReleaseAssignment):  # type: ignore[misc]
    """nbgrader's release; on a shared exchange into the admin's folders, read by students."""

    def init_dest(self) -> None:
        if is_personal(self.root):
            super().init_dest()
            return
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.outbound_path = os.path.join(self.course_path, "outbound")
        self.inbound_path = os.path.join(self.course_path, "inbound")
        self.dest_path = os.path.join(self.outbound_path, self.coursedir.assignment_id)
        _need_write(self, self.outbound_path, "release")

    def copy_files(self) -> None:
        if is_personal(self.root):
            super().copy_files()
            return
        if os.path.lexists(self.dest_path):
            if not self.force:
                self.fail(
                    "Destination already exists, add --force to overwrite: "
                    f"{self.coursedir.course_id} {self.coursedir.assignment_id}"
                )
            shutil.rmtree(self.dest_path)
        self.log.info("Source: %s", self.src_path)
        self.log.info("Destination: %s", self.dest_path)
        self.do_copy(self.src_path, self.dest_path)
        self.set_perms(self.dest_path, fileperms=RELEASE_FILE_MODE, dirperms=RELEASE_DIR_MODE)
        self.log.info("Released as: %s %s", self.coursedir.course_id, self.coursedir.assignment_id)


def _utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None)


def last_change(path: str) -> datetime.datetime:
    """The latest status change (``ctime``, which no unprivileged account can set) of
    anything in the folder ``path``, itself included, in UTC."""
    latest = os.lstat(path).st_ctime
    for directory, folders, files in os.walk(path):
        for name in [*folders, *files]:
            latest = max(latest, os.lstat(os.path.join(directory, name)).st_ctime)
    return _utc(latest)


class SecureCollect(_Checked, SafeCollect):
    """:class:`~gdcourse.grading.collect.SafeCollect` that trusts no other account's names,
    times or files (see the module's description)."""

    late_change_grace = Float(
        120.0,
        help="Seconds a submission may change after the time in its name (nbgrader submit "
        "names it when it starts, then copies) before it takes the time of its last change.",
    ).tag(config=True)

    def _is_student(self, account: str, uid: int) -> bool:
        """Whether ``account`` is in the group of outbound, the course's students (on a shared
        exchange, where anyone may drop into inbound; on a personal one, any account is)."""
        if is_personal(self.root):
            return True
        students = os.lstat(os.path.join(self.course_path, "outbound")).st_gid
        try:
            return account in grp.getgrgid(students).gr_mem or pwd.getpwuid(uid).pw_gid == students
        except KeyError:
            return False

    def _record(self, path: str) -> dict[str, Any] | None:
        """The record of one inbound entry, or None (refused, with the reason logged)."""
        name = os.path.basename(path)
        parts = name.rsplit("+", 3)
        if len(parts) < 3 or not plain_student_id(parts[0]):
            self.log.error("Refused %r: not a name nbgrader submit gives", name)
            return None
        try:
            timestamp = parse_utc(parts[2])
        except (ValueError, OverflowError):
            self.log.error("Refused %r: its time %r cannot be read", name, parts[2])
            return None
        info = os.lstat(path)
        if info.st_uid == os.geteuid():
            return {"username": parts[0], "filename": name, "timestamp": timestamp}
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = f"uid {info.st_uid}"
        if owner != parts[0]:
            self.log.error(
                "Refused %r: it claims student %r but was made by account %r",
                name,
                parts[0],
                owner,
            )
            return None
        if not self._is_student(owner, info.st_uid):
            self.log.error(
                "Refused %r: account %r is not in the course's students group", name, owner
            )
            return None
        if not stat.S_ISDIR(info.st_mode):
            self.log.error("Refused %r: it is %s, not a folder", name, stat.filemode(info.st_mode))
            return None
        if not os.access(path, os.R_OK | os.X_OK):
            self.log.error("Refused %r: its student made it unreadable to you", name)
            return None
        changed = last_change(path)
        if changed > timestamp + datetime.timedelta(seconds=self.late_change_grace):
            self.log.warning(
                "%r was changed at %s, after the time in its name (%s): it counts as "
                "submitted at %s",
                name,
                changed,
                timestamp,
                changed,
            )
            timestamp = changed
        return {"username": parts[0], "filename": name, "timestamp": timestamp}

    def init_src(self) -> None:
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not check_mode(self.inbound_path, read=True, execute=True):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        student_id = self.coursedir.student_id or "*"
        pattern = os.path.join(self.inbound_path, f"{student_id}+{self.coursedir.assignment_id}+*")
        by_student: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for path in sorted(glob.glob(pattern)):
            record = self._record(path)
            if record is not None:
                by_student[record["username"]].append(record)
        self.timestamps = {
            record["filename"]: record["timestamp"]
            for records in by_student.values()
            for record in records
        }
        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
            try:
                self.duedate = gradebook.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                self.duedate = None
        self.src_records = []
        for records in by_student.values():
            records.sort(key=lambda item: item["timestamp"], reverse=True)
            in_time = [r for r in records if self.duedate and r["timestamp"] <= self.duedate]
            use_in_time = self.duedate is not None and self.before_duedate and in_time
            self.src_records.append(in_time[0] if use_in_time else records[0])

    def required_owner(self, src: str) -> int | None:
        uid = os.lstat(src).st_uid
        return None if uid == os.geteuid() else uid

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        other = self.required_owner(src) is not None
        super().do_copy(src, dest, log)
        timestamp = self.timestamps.get(os.path.basename(src))
        if other and timestamp is not None:  # the student's timestamp.txt is theirs to edit
            receipt = os.path.join(dest, "timestamp.txt")
            if os.path.lexists(receipt):
                os.unlink(receipt)
            with open(receipt, "x", encoding="utf-8") as file:
                file.write(timestamp.strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC")


class SecureReleaseFeedback(_Checked, SafeReleaseFeedback):
    """:class:`~gdcourse.grading.release_feedback.SafeReleaseFeedback`; on a shared exchange
    into the admin's feedback folder, by its owner or a member of the staff group."""

    def init_dest(self) -> None:
        if is_personal(self.root):
            super().init_dest()
            return
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.outbound_feedback_path = os.path.join(self.course_path, "feedback")
        self.dest_path = self.outbound_feedback_path
        _need_write(self, self.dest_path, "release feedback")
