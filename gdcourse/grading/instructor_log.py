"""The instructor's private log: the details of rules a submission broke on hidden cases.

What a student can read about a hidden test cell, and what the report and the gradebook say
of it, are the grader's fixed words (:mod:`gdcourse.grading.autograde.judge`): the evidence a
student's process gives on a hidden case (the banned call it named, what it wrote on the reply
channel, which case it was on) could carry a hidden input out. The instructor still needs those
details to judge the submission, so the judge keeps them apart
(:attr:`~gdcourse.grading.autograde.judge.NotebookGrade.private`) and they are written here
only: ``reports/<assignment>/private/rules.log``, in a folder of mode 0700, a file of mode 0600
(created so, and made so again if its mode was changed), one line per detail, each made one
plain line (:func:`~gdcourse.grading.escape.plain_line`), since the evidence is text the
student's process chose. Nothing else reads this file: feedback, the gradebook's comments,
``grades.csv``, ``report.md`` and ``report.json`` never hold its lines.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from gdcourse.grading.escape import plain_line, visible_id

__all__ = ["FILE", "FOLDER", "MAX_LINE", "log_path", "write_private"]

FOLDER = "private"
"""The instructor-only folder in ``reports/<assignment>/`` (mode 0700)."""

FILE = "rules.log"
"""The log's name in :data:`FOLDER` (mode 0600)."""

MAX_LINE = 2000
"""Characters of one detail kept (the evidence is the student's process's text)."""


def log_path(assignment_reports: str | os.PathLike[str]) -> Path:
    """Where the log of an assignment is, given its ``reports/<assignment>/`` folder."""
    return Path(assignment_reports) / FOLDER / FILE


def write_private(
    assignment_reports: str | os.PathLike[str],
    student: str,
    notebook: str,
    details: Sequence[str],
) -> None:
    """Append ``details`` about ``student``'s ``notebook`` to the assignment's private log,
    creating the folder (0700) and the file (0600) as needed; a link in their place is
    refused (``OSError``), so the log is never written through one."""
    if not details:
        return
    folder = Path(assignment_reports) / FOLDER
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not stat.S_ISDIR(folder.lstat().st_mode):
        raise OSError(f"{folder} is not a folder")
    folder.chmod(0o700)
    when = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    text = "".join(
        f"{when} {visible_id(student)} {plain_line(notebook, max_length=200)}: "
        f"{plain_line(detail, max_length=MAX_LINE)}\n"
        for detail in details
    )
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(folder / FILE, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
        os.write(descriptor, text.encode("utf-8", "replace"))
    finally:
        os.close(descriptor)
