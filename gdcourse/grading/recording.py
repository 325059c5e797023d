"""Recording: the only stage of ``gdcourse grade`` that writes the gradebook.

nbgrader's own autograde records each student, one student after another, from the
instructor's process only; workers never touch the gradebook. :class:`Recorder`
hands it the student's judged notebooks for that call
(:mod:`~gdcourse.grading.autograde.handoff`): nbgrader's preprocessors record them
as they are, and read, sanitize or run nothing again. The gradebook is
nbgrader's: SQLite by default, or any server SQLAlchemy reaches, such as
PostgreSQL (``c.CourseDirectory.db_url = "postgresql+psycopg://..."``).

Several instructors may grade different assignments of one course at the same
time, on the same gradebook. nbgrader checks, then inserts, where the rows are
shared (the tables of a new gradebook, the course, each student), so two runs
can both find a row missing and one insert fail. Here every such step is made
before grading, and retried when another writer got there first
(:func:`prepare_gradebook`, :func:`ensure_students`); a write that still meets
a competing writer (SQLite's lock, a serialization failure) is retried too
(:class:`Recorder`).
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gdcourse.course import Course
    from gdcourse.grading.autograde.handoff import Graded

__all__ = [
    "Recorder",
    "ensure_assignment",
    "ensure_students",
    "gradebook",
    "prepare_gradebook",
    "recorded_students",
    "retrying",
]

T = TypeVar("T")

ATTEMPTS = 6
"""How many times a write that met another writer is tried."""

TRANSIENT = (
    "database is locked",
    "database table is locked",
    "could not serialize access",
    "deadlock detected",
    "duplicate key value",
    "already exists",
    "UNIQUE constraint failed",
    "UniqueViolation",
    "IntegrityError",
)
"""What a competing writer's error says (SQLite, PostgreSQL through SQLAlchemy)."""


def transient(error: BaseException | str) -> bool:
    """Whether ``error`` comes from a competing writer (worth trying again)."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return any(marker in text for marker in TRANSIENT)


def retrying(action: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """``action()``, tried again (after a short random pause) while it fails because another
    writer got there first; any other error, or the last attempt's, is raised."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:
            if attempt == attempts - 1 or not transient(error):
                raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def tools_on_path() -> None:
    """Put this Python's scripts folder on ``PATH``: nbgrader runs ``alembic`` and ``nbgrader``
    by name (a new gradebook asks ``alembic`` for its schema version)."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def _open(url: str, course_id: str) -> Any:
    """``Gradebook(url, course_id)``, its connections closed when opening fails (another
    writer created a table or a row first), so that a retry leaks none."""
    from nbgrader.api import Gradebook

    book = Gradebook.__new__(Gradebook)
    try:
        Gradebook.__init__(book, url, course_id)
    except BaseException:
        if getattr(book, "db", None) is not None:
            book.db.remove()
        if getattr(book, "engine", None) is not None:
            book.engine.dispose()
        raise
    return book


@contextlib.contextmanager
def gradebook(url: str, course_id: str) -> Iterator[Any]:
    """nbgrader's ``Gradebook`` for ``url`` (opening it may create the tables: retried)."""
    tools_on_path()
    book = retrying(lambda: _open(url, course_id))
    try:
        yield book
    finally:
        book.close()


def prepare_gradebook(url: str, course_id: str) -> None:
    """Create the gradebook's tables and course rows now, once, whoever else is writing.

    nbgrader's helpers open the gradebook with the course's id, others (its exporter)
    with ``default_course``: both rows are made here, so that no later step inserts one.
    """
    for course in dict.fromkeys((course_id, "default_course")):
        with gradebook(url, course):
            pass


def ensure_students(url: str, course_id: str, students: Iterable[str]) -> None:
    """Add every student missing from the gradebook, safe against a concurrent writer
    adding the same student (its row is then found, not inserted twice)."""
    from nbgrader.api import MissingEntry

    with gradebook(url, course_id) as book:
        known = {student.id for student in book.students}
        for student in students:
            if student in known:
                continue

            def add(student: str = student) -> None:
                try:
                    book.find_student(student)
                except MissingEntry:
                    book.add_student(student)  # raises InvalidEntry when another won the race

            try:
                retrying(add)
            except Exception:
                book.db.rollback()
                book.find_student(student)  # it exists (added by the other writer) or raises


def recorded_students(
    url: str, course_id: str, assignment: str, notebooks: Sequence[str]
) -> set[str]:
    """The students with an entry for every notebook of ``assignment`` in the gradebook."""
    from nbgrader.api import MissingEntry

    with gradebook(url, course_id) as book:
        try:
            submissions = book.assignment_submissions(assignment)
        except MissingEntry:
            return set()
        found = set()
        for submission in submissions:
            names = {notebook.name for notebook in submission.notebooks}
            if set(notebooks) <= names:
                found.add(submission.student_id)
        return found


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "nbgrader"
    return subprocess.run(
        [str(executable), *args], cwd=root, capture_output=True, text=True, check=False
    )


def ensure_assignment(
    course: Course, assignment: str, notebooks: Sequence[str], say: Callable[[str], None]
) -> None:
    """Register the assignment's cells in the gradebook (without touching ``exercises/``)."""
    from nbgrader.api import MissingEntry

    with gradebook(course.db_url, course.course_id) as book:
        try:
            known = {nb.name for nb in book.find_assignment(assignment).notebooks}
        except MissingEntry:
            known = set()
    if set(notebooks) <= known:
        return
    say(f"Registering {assignment} in the gradebook (nbgrader generate_assignment)...")
    with tempfile.TemporaryDirectory(prefix="gdcourse-release-") as release:
        done = retrying(
            lambda: _checked(
                _nbgrader(
                    course.root,
                    "generate_assignment",
                    assignment,
                    "--force",
                    f"--CourseDirectory.release_directory={release}",
                    f"--CourseDirectory.db_url={course.db_url}",
                )
            )
        )
    if done.returncode != 0:
        raise SystemExit(
            f"gdcourse grade: could not register {assignment} in the gradebook "
            f"(nbgrader generate_assignment failed):\n{done.stdout}{done.stderr}"
        )


def _checked(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if done.returncode != 0 and transient(done.stdout + done.stderr):
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return done


class Recorder:
    """Writes students to the gradebook through nbgrader's autograde, one at a time."""

    def __init__(self, course: Course, assignment: str) -> None:
        from nbgrader.apps import NbGraderAPI

        coursedir = course.coursedir()
        coursedir.db_url = course.db_url
        self.course = course
        self.assignment = assignment
        self.api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
        self.written = 0

    def record(self, student: str, graded: Mapping[str, Graded]) -> str | None:
        """Record ``student``'s judged notebooks (``graded``, by notebook name) through
        nbgrader's autograde; ``None``, or why nbgrader failed."""
        from gdcourse.grading.autograde.handoff import handing

        error = ""
        for attempt in range(ATTEMPTS):
            try:
                with handing(student, graded):
                    outcome = self.api.autograde(self.assignment, student, force=True, create=True)
            except Exception as raised:
                outcome = {"success": False, "error": f"{type(raised).__name__}: {raised}"}
            if outcome.get("success"):
                self.written += 1
                return None
            error = str(outcome.get("error", ""))
            if error.rstrip().endswith("KeyboardInterrupt"):
                raise KeyboardInterrupt  # nbgrader's capture_log catches everything: Ctrl-C too
            if not transient(error + str(outcome.get("log", ""))):
                break
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
        last = error.strip().splitlines()[-1:] or ["?"]
        return f"nbgrader autograde failed: {last[0]}"

    def refuse(self, student: str, reasons: Sequence[str]) -> None:
        """Zero every grade of a submission that cannot be graded, with the reasons."""

        def write() -> None:
            with gradebook(self.course.db_url, self.course.course_id) as book:
                book.update_or_create_student(student)
                submission = book.update_or_create_submission(self.assignment, student)
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade.auto_score = 0
                        grade.needs_manual_grade = False
                    for comment in notebook.comments:
                        comment.auto_comment = "Not graded: " + "; ".join(reasons)
                book.db.commit()

        retrying(write)
        self.written += 1
