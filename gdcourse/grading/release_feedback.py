"""``nbgrader release_feedback`` for both routes a submission takes (``nbgrader_config.py``).

nbgrader releases a feedback page under a name derived from the secret that
``nbgrader submit`` gave the submission (``submission_secret.txt``, kept with
its ``timestamp.txt``); the student's ``fetch_feedback`` finds it by the same
secret, kept in their own cache. A submission the instructor placed in
``submitted/<student>/<assignment>/`` by hand has neither file, and nbgrader's
release stopped on it with ``FileNotFoundError ... timestamp.txt``, releasing
nothing after it. Its student could not fetch it anyway: there is no secret on
their side. So this release sends every page that came through the exchange, and
lists each hand-placed one, with its path, for the instructor to hand out (by
mail, the LMS). Nothing in ``submitted/`` or ``feedback/`` is changed, and the exchange
is created when missing, as ``release_assignment`` creates it.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.utils import notebook_hash

__all__ = ["RECEIPT_FILES", "SafeReleaseFeedback"]

RECEIPT_FILES = ("timestamp.txt", "submission_secret.txt")
"""What ``nbgrader submit`` writes with a submission, and what a release needs of it."""


class SafeReleaseFeedback(ExchangeReleaseFeedback):  # type: ignore[misc]
    """Release feedback of exchange submissions; list the hand-placed ones instead of failing."""

    # Create the exchange when it does not exist yet, as release_assignment does: a course whose
    # submissions all came by hand has never released through it, and nbgrader's own check
    # would stop here with "Unwritable directory, please contact your instructor".
    ensure_root = ExchangeReleaseAssignment.ensure_root

    def init_src(self) -> None:
        """nbgrader's source of pages, for an assignment the course knows (it has a master,
        or feedback): a mistyped name released nothing and said nothing; now it stops,
        naming the known ones."""
        super().init_src()
        coursedir: Any = self.coursedir
        root = Path(coursedir.root)
        masters = root / coursedir.source_directory
        known = {p.name for p in masters.glob("*") if any(p.glob("*.ipynb"))}
        known |= {p.name for p in (root / coursedir.feedback_directory).glob("*/*") if p.is_dir()}
        if coursedir.assignment_id not in known:
            self.fail(
                f"unknown assignment {coursedir.assignment_id!r}: the course's assignments "
                f"are {', '.join(sorted(known)) or 'none'} (those with a master in {masters} "
                "or feedback)"
            )

    def copy_files(self) -> None:
        coursedir: Any = self.coursedir
        excluded = set(filter(None, (coursedir.student_id_exclude or "").split(",")))
        pattern = re.escape(os.path.sep).join(
            [
                coursedir.format_path(
                    coursedir.feedback_directory,
                    "(?P<student_id>.*)",
                    coursedir.assignment_id,
                    escape=True,
                ),
                "(?P<notebook_id>.*).html",
            ]
        )
        released: list[str] = []
        by_hand: list[str] = []
        for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            match = re.match(pattern, html_file)
            if match is None:
                self.log.error("Could not match %r with %r", html_file, pattern)
                continue
            student_id, notebook_id = match.group("student_id"), match.group("notebook_id")
            if student_id in excluded:
                continue
            folder = Path(html_file).parent
            if not all((folder / name).is_file() for name in RECEIPT_FILES):
                by_hand.append(os.path.relpath(html_file, coursedir.root))
                continue
            timestamp = (folder / RECEIPT_FILES[0]).read_text(encoding="utf-8").strip()
            secret = (folder / RECEIPT_FILES[1]).read_text(encoding="utf-8")
            checksum = notebook_hash(secret=secret, notebook_id=notebook_id)
            temporary = os.path.join(self.dest_path, f"{checksum}-tmp.html")
            self.log.info(
                "Releasing feedback for student '%s' on assignment '%s/%s/%s' (%s)",
                student_id,
                coursedir.course_id,
                coursedir.assignment_id,
                notebook_id,
                timestamp,
            )
            shutil.copy(html_file, temporary)
            os.chmod(temporary, 0o644)  # its student reads it whatever the grader's umask
            shutil.move(temporary, os.path.join(self.dest_path, f"{checksum}.html"))
            released.append(student_id)
        if by_hand:
            self.log.warning(
                "Not released through the exchange, because these submissions were placed in "
                "submitted/ by hand (no %s) and their students have nothing to fetch them "
                "with; hand these pages out yourself:\n  %s",
                " or ".join(RECEIPT_FILES),
                "\n  ".join(by_hand),
            )
        if released:
            self.log.info(
                "Feedback released to %s for %d notebook(s)", self.dest_path, len(released)
            )
