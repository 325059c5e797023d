"""Feedback pages for a grading run: ``nbgrader generate_feedback``, one student at a time.

It runs after the last gradebook write, in forked processes that only read it. Each
student is named alone (a glob pattern that matches only that folder): an exclusion
list, which nbgrader splits on commas, would let an id such as ``x,bob`` take bob's page.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gdcourse.course import Course

__all__ = ["write_feedback"]

log = logging.getLogger(__name__)


def write_feedback(course: Course, assignment: str, students: Sequence[str], workers: int) -> int:
    """``nbgrader generate_feedback`` for ``students`` in ``workers`` forked processes.

    It runs after the last gradebook write: readers in parallel are safe, a reader beside
    the writer could make the writer wait for its lock. Returns the number of processes
    that failed.
    """
    import multiprocessing

    from tqdm import tqdm

    graded = {p.parent.name for p in course.autograded.glob(f"*/{assignment}")}
    wanted = [student for student in students if student in graded]
    chunks = [wanted[i::workers] for i in range(workers) if wanted[i::workers]]
    context = multiprocessing.get_context("fork")
    processes = []
    for chunk in chunks:
        process = context.Process(target=_batch, args=(course, assignment, chunk), daemon=True)
        process.start()
        processes.append(process)
    failures = 0
    with tqdm(total=len(wanted), desc="feedback", unit="submission", file=sys.stderr) as bar:
        for process, chunk in zip(processes, chunks, strict=True):
            process.join()
            if process.exitcode != 0:
                failures += 1
                log.warning("nbgrader generate_feedback failed (exit code %s)", process.exitcode)
            bar.update(len(chunk))
    return failures


def _batch(course: Course, assignment: str, students: Sequence[str]) -> None:
    """In a forked process: feedback for each of ``students``, one at a time.

    Each student is named alone, as a glob pattern that matches only that folder: an
    exclusion list (nbgrader splits it on commas) would let an id such as ``x,bob`` take
    bob's page away.
    """
    code = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nbgrader.apps import NbGraderAPI

            coursedir = course.coursedir()
            coursedir.db_url = course.db_url
            api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
            code = 0
            for student in students:
                outcome = api.generate_feedback(assignment, glob.escape(student))
                code = code or (0 if outcome.get("success") else 1)
    finally:
        os._exit(code)
