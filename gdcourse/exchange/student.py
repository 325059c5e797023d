"""What a student's nbgrader uses of the exchange: submit, fetch, fetch feedback, list.

Wired in ``nbgrader_config.py`` (and a hub's ``/etc/jupyter/nbgrader_config.py``, as
:func:`gdcourse.exchange.setup.hub_config` writes it) with ``c.ExchangeFactory.*``. On a
shared exchange each class first checks its shape (:func:`gdcourse.exchange.layout.problems`)
and refuses one that another student could have subverted, so that a submission never lands
in a folder a student made. nbgrader's own classes require the root to be writable by every
account (nbgrader issue 1225), which is what made that possible; these require the opposite.

A submission is created readable by its student and the staff group only (nbgrader makes it
world-readable and its folder world-writable), its secret (the key to its feedback page)
included. On the account's own exchange (:func:`gdcourse.exchange.layout.is_personal`) the
classes behave as nbgrader's.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.submit import ExchangeSubmit

from gdcourse.exchange.layout import is_personal, problems

__all__ = [
    "SUBMISSION_DIR_MODE",
    "SUBMISSION_FILE_MODE",
    "SecureFetchAssignment",
    "SecureFetchFeedback",
    "SecureList",
    "SecureSubmit",
    "refuse_unsafe",
]

SUBMISSION_DIR_MODE = 0o750
"""A submission's folders: its student's, entered and listed by the staff group (inbound's)."""
SUBMISSION_FILE_MODE = 0o640
"""A submission's files: its student's, read by the staff group."""

SETUP_HINT = (
    "Ask your course's admin to make the exchange with `python3 -m gdcourse.exchange setup` "
    "(README, 'A shared exchange')."
)


def refuse_unsafe(exchange: Any) -> None:
    """Fail an nbgrader exchange step whose shared exchange has an unsafe shape."""
    root, course_id = exchange.root, exchange.coursedir.course_id
    if is_personal(root):
        return
    found = problems(root, course_id) if course_id else []
    if found:
        exchange.fail(
            "Nothing was sent or read: any student could take over this exchange.\n  "
            + "\n  ".join(found)
            + "\n"
            + SETUP_HINT
        )


class _Checked:
    """``ensure_root`` for every class: nbgrader's on a personal exchange; else the shape."""

    root: str
    coursedir: Any

    def ensure_root(self) -> None:
        if is_personal(self.root):
            super().ensure_root()  # type: ignore[misc]
        else:
            refuse_unsafe(self)


class SecureFetchAssignment(_Checked, ExchangeFetchAssignment):  # type: ignore[misc]
    """nbgrader's fetch, from a shared exchange of the right shape only."""


class SecureFetchFeedback(_Checked, ExchangeFetchFeedback):  # type: ignore[misc]
    """nbgrader's fetch_feedback, from a shared exchange of the right shape only."""


class SecureList(_Checked, ExchangeList):  # type: ignore[misc]
    """nbgrader's list, of a shared exchange of the right shape only."""


def _write_private(path: str, text: str) -> None:
    """Write a new file readable by its owner and group only, from its first byte."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, SUBMISSION_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


class SecureSubmit(_Checked, ExchangeSubmit):  # type: ignore[misc]
    """nbgrader's submit, to a shared exchange of the right shape only, readable by the staff
    alone (the folder is made private before anything is copied into it)."""

    def copy_files(self) -> None:
        self.init_release()
        personal = is_personal(self.root)
        submission_secret = secrets.token_hex(64)
        dest_path = os.path.join(self.inbound_path, self.assignment_filename)
        name = self.assignment_filename
        cache_path = os.path.join(
            self.cache_path, name.rsplit("+", 1)[0] if self.add_random_string else name
        )
        self.log.info("Source: %s", self.src_path)
        self.log.info("Destination: %s", dest_path)
        self.check_filename_diff()
        os.mkdir(dest_path, 0o700)
        staging = os.path.join(dest_path, ".copying")  # do_copy makes its destination itself
        self.do_copy(self.src_path, staging)
        for entry in os.listdir(staging):
            os.rename(os.path.join(staging, entry), os.path.join(dest_path, entry))
        os.rmdir(staging)
        for receipt, text in (
            ("timestamp.txt", self.timestamp),
            ("submission_secret.txt", submission_secret),
        ):
            target = os.path.join(dest_path, receipt)
            if os.path.lexists(target):
                os.unlink(target)
            _write_private(target, text)
        if personal:  # as nbgrader's submit: the instructor is this same account
            self.set_perms(dest_path, fileperms=0o644, dirperms=0o755)
        else:
            self.set_perms(dest_path, fileperms=SUBMISSION_FILE_MODE, dirperms=SUBMISSION_DIR_MODE)
        os.makedirs(self.cache_path, exist_ok=True)
        self.do_copy(self.src_path, cache_path)
        for receipt, text in (
            ("timestamp.txt", self.timestamp),
            ("submission_secret.txt", submission_secret),
        ):
            with open(os.path.join(cache_path, receipt), "w", encoding="utf-8") as file:
                file.write(text)
        self.log.info(
            "Submitted as: %s %s %s",
            self.coursedir.course_id,
            self.coursedir.assignment_id,
            self.timestamp,
        )
