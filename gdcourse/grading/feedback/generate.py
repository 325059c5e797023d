"""Feedback pages for a grading run: ``nbgrader generate_feedback``, one student at a time.

It runs after the last gradebook write, in forked processes that only read it. Each
student is named alone (a glob pattern that matches only that folder): an exclusion
list, which nbgrader splits on commas, would let an id such as ``x,bob`` take bob's page.

A page is written again only when what it is made from changed: each student's key
is a SHA-256 of the student's autograded notebooks, of the student's rows in the
gradebook (scores, extra credit, comments, the submission's time and extension, the
late penalty, the due date: a TA's change in formgrader counts) and of the renderer's
own source. The keys, with a SHA-256 of each page written, are kept in
``reports/<assignment>/feedback-keys.json`` (the instructor's folder, never a
student's); a page whose key is unchanged and whose file still has the bytes written
is left alone, so a run after one submission changed rewrites that student's page only.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdcourse.course import Course

__all__ = ["KEYS", "feedback_keys", "write_feedback"]

log = logging.getLogger(__name__)

KEYS = "feedback-keys.json"
"""The file, in ``reports/<assignment>/``, with each student's key and pages."""


def _digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.hexdigest()


def _renderer_digest() -> bytes:
    """The renderer's source (this package, the escaping and notebook modules) and
    nbgrader's version: a new renderer writes every page again."""
    import nbgrader

    here = Path(__file__).resolve().parent
    files = [*sorted(here.glob("*.py")), here.parent / "escape.py", here.parent / "notebook.py"]
    sources = [p.name.encode() + p.read_bytes() for p in files if p.is_file()]
    return _digest(*sources, nbgrader.__version__.encode()).encode()


def _gradebook_rows(course: Course, assignment: str) -> dict[str, bytes]:
    """Student -> what the gradebook holds of that student's submission of ``assignment``
    that a page shows, as canonical bytes."""
    from nbgrader import api

    from gdcourse.grading.recording import gradebook

    rows: dict[str, list[Any]] = {}
    with gradebook(course.db_url, course.course_id) as book:
        db = book.db
        found = (
            db.query(api.SubmittedAssignment.student_id, api.SubmittedAssignment.timestamp,
                     api.SubmittedAssignment.extension, api.Assignment.duedate)
            .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id)
            .filter(api.Assignment.name == assignment)
        )  # fmt: skip
        for student, timestamp, extension, duedate in found:
            rows.setdefault(student, []).append(
                ["s", str(timestamp), str(extension), str(duedate)]
            )
        notebooks = (
            db.query(api.SubmittedAssignment.student_id, api.SubmittedNotebook.id,
                     api.SubmittedNotebook.late_submission_penalty)
            .join(api.SubmittedNotebook,
                  api.SubmittedNotebook.assignment_id == api.SubmittedAssignment.id)
            .join(api.Assignment, api.SubmittedAssignment.assignment_id == api.Assignment.id)
            .filter(api.Assignment.name == assignment)
        )  # fmt: skip
        owner = {}
        for student, notebook, penalty in notebooks:
            owner[notebook] = student
            rows.setdefault(student, []).append(["n", notebook, penalty])
        for grade in db.query(api.Grade.notebook_id, api.Grade.cell_id, api.Grade.auto_score,
                              api.Grade.manual_score, api.Grade.extra_credit,
                              api.Grade.needs_manual_grade):  # fmt: skip
            if grade[0] in owner:
                rows[owner[grade[0]]].append(["g", *grade])
        for comment in db.query(api.Comment.notebook_id, api.Comment.cell_id,
                                api.Comment.auto_comment, api.Comment.manual_comment):  # fmt: skip
            if comment[0] in owner:
                rows[owner[comment[0]]].append(["c", *comment])
    return {
        student: json.dumps(sorted(items, key=repr), default=str).encode()
        for student, items in rows.items()
    }


def feedback_keys(course: Course, assignment: str, students: Sequence[str]) -> dict[str, str]:
    """Each of ``students``' key: what their feedback page is made from (see the module)."""
    renderer = _renderer_digest()
    rows = _gradebook_rows(course, assignment)
    keys = {}
    for student in students:
        folder = course.autograded / student / assignment
        notebooks = [
            part
            for path in sorted(folder.glob("*.ipynb"))
            for part in (path.name.encode(), path.read_bytes())
        ]
        keys[student] = _digest(renderer, rows.get(student, b""), *notebooks)
    return keys


def _pages(course: Course, assignment: str, student: str) -> dict[str, str]:
    """The student's feedback pages now: file name -> SHA-256 of its bytes."""
    folder = course.feedback / student / assignment
    if not folder.is_dir() or folder.is_symlink():
        return {}
    return {
        page.name: hashlib.sha256(page.read_bytes()).hexdigest()
        for page in sorted(folder.glob("*.html"))
        if page.is_file() and not page.is_symlink()
    }


def _load_keys(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _unchanged(entry: Any, key: str, pages: Mapping[str, str], notebooks: int) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("key") == key
        and entry.get("pages") == dict(pages)
        and len(pages) == notebooks
    )


def write_feedback(course: Course, assignment: str, students: Sequence[str], workers: int) -> int:
    """``nbgrader generate_feedback`` for those of ``students`` whose page is missing or made
    from something that changed (see the module), in ``workers`` forked processes.

    It runs after the last gradebook write: readers in parallel are safe, a reader beside
    the writer could make the writer wait for its lock. Returns the number of processes
    that failed.
    """
    graded = {p.parent.name for p in course.autograded.glob(f"*/{assignment}")}
    students = [student for student in students if student in graded]
    keys_path = course.reports / assignment / KEYS
    known = _load_keys(keys_path)
    keys = feedback_keys(course, assignment, students)
    counts = {s: len(list((course.autograded / s / assignment).glob("*.ipynb"))) for s in students}
    wanted = [
        student
        for student in students
        if not _unchanged(
            known.get(student), keys[student], _pages(course, assignment, student), counts[student]
        )
    ]
    failures = _generate(course, assignment, wanted, workers)
    for student in wanted:
        pages = _pages(course, assignment, student)
        if len(pages) == counts[student]:
            known[student] = {"key": keys[student], "pages": pages}
        else:
            known.pop(student, None)
    keys_path.parent.mkdir(parents=True, exist_ok=True)
    partial = keys_path.with_suffix(".partial")
    partial.write_text(json.dumps(known, sort_keys=True, indent=0), encoding="utf-8")
    partial.replace(keys_path)
    return failures


def _generate(course: Course, assignment: str, wanted: Sequence[str], workers: int) -> int:
    """``nbgrader generate_feedback`` for ``wanted`` in ``workers`` forked processes."""
    import multiprocessing

    from tqdm import tqdm

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

            from gdcourse.grading.feedback.exporter import preload, preloaded
            from gdcourse.grading.gradebook import shared_engines

            coursedir = course.coursedir()
            coursedir.db_url = course.db_url
            api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
            code = 0
            with shared_engines():  # one engine: nbgrader's statements compiled once per process
                # every page's grades in three queries, not a few per cell and page
                found = preload(course.db_url, course.course_id, assignment)
                with preloaded(found):
                    for student in students:
                        outcome = api.generate_feedback(assignment, glob.escape(student))
                        code = code or (0 if outcome.get("success") else 1)
    finally:
        os._exit(code)
