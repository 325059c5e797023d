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

Both decisions are made from types, never from text: nbgrader's applications run
through :func:`run_app`, which keeps the exceptions nbgrader raises or logs while
handling them, so Ctrl-C is :attr:`AppStatus.INTERRUPTED` and a retry needs
:attr:`ErrorKind.CONTENTION` (:func:`error_kind`: the error's type, SQLite's result
code, PostgreSQL's SQLSTATE, through SQLAlchemy's wrapping and the error's causes).
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from gdcourse.course import Course
    from gdcourse.grading.autograde.handoff import Graded

__all__ = [
    "AppOutcome",
    "AppStatus",
    "ErrorKind",
    "Recorder",
    "TableRace",
    "ensure_assignment",
    "ensure_students",
    "error_kind",
    "gradebook",
    "prepare_gradebook",
    "recorded_students",
    "retrying",
    "run_app",
]

T = TypeVar("T")

ATTEMPTS = 6
"""How many times a write that met another writer is tried."""

MAX_REASON_CHARS = 300
"""How much of a failure's message a report line carries."""


class ErrorKind(enum.Enum):
    """What a failed gradebook step was, told by the error's type and code, never its text."""

    CONTENTION = "another writer got there first"
    """A competing writer: SQLite busy or locked, a unique or primary key already taken, a
    table another process created first; PostgreSQL's serialization failure, deadlock,
    unique violation, duplicate table or object, lock not available. Worth trying again."""
    INTERRUPTED = "interrupted"
    """Ctrl-C (``KeyboardInterrupt``) reached the step."""
    FAILED = "failed"
    """Anything else: trying again would fail the same way."""


_SQLITE_CONTENTION = frozenset({5, 6})
"""SQLite's primary result codes SQLITE_BUSY and SQLITE_LOCKED (``database is locked``)."""
_SQLITE_DUPLICATE = frozenset({1555, 2067})
"""SQLite's SQLITE_CONSTRAINT_PRIMARYKEY and SQLITE_CONSTRAINT_UNIQUE."""
_POSTGRES_CONTENTION = frozenset({"40001", "40P01", "23505", "42P07", "42710", "55P03"})
"""SQLSTATEs of a competing writer: serialization failure, deadlock detected, unique
violation, duplicate table, duplicate object, lock not available."""
_CHAIN_LINKS = 16


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, then what it wraps: SQLAlchemy's driver error, the causes and contexts."""
    seen: set[int] = set()
    todo = [error]
    while todo and len(seen) < _CHAIN_LINKS:
        link = todo.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        for inner in (getattr(link, "orig", None), link.__cause__, link.__context__):
            if isinstance(inner, BaseException):
                todo.append(inner)


def _competing(error: BaseException) -> bool:
    if isinstance(error, TableRace):
        return True
    code = getattr(error, "sqlite_errorcode", None)  # sqlite3.Error (Python >= 3.11)
    if isinstance(code, int):
        return (code & 0xFF) in _SQLITE_CONTENTION or code in _SQLITE_DUPLICATE
    state = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)  # psycopg 3, 2
    return isinstance(state, str) and state in _POSTGRES_CONTENTION


def error_kind(error: BaseException) -> ErrorKind:
    """What ``error`` (or an error it wraps) was, by type and code: see :class:`ErrorKind`."""
    links = list(_chain(error))
    if any(isinstance(link, KeyboardInterrupt) for link in links):
        return ErrorKind.INTERRUPTED
    if any(_competing(link) for link in links):
        return ErrorKind.CONTENTION
    return ErrorKind.FAILED


class TableRace(RuntimeError):
    """Creating the gradebook's tables failed while another process created them."""


def retrying(action: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """``action()``, tried again (after a short random pause) while it fails because another
    writer got there first (:attr:`ErrorKind.CONTENTION`); any other error, or the last
    attempt's, is raised."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as error:
            if attempt == attempts - 1 or error_kind(error) is not ErrorKind.CONTENTION:
                raise
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


class AppStatus(enum.Enum):
    """How one of nbgrader's applications ended."""

    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


@dataclass(frozen=True)
class AppOutcome:
    """One run of an nbgrader application: its status, the errors it raised or logged while
    handling them (the objects, not their text) and their kind."""

    status: AppStatus
    errors: tuple[BaseException, ...] = ()

    @property
    def kind(self) -> ErrorKind | None:
        """The kind of the run's errors: contention only when every error was contention."""
        if self.status is AppStatus.DONE:
            return None
        if self.status is AppStatus.INTERRUPTED:
            return ErrorKind.INTERRUPTED
        kinds = {error_kind(error) for error in self._causes()}
        if ErrorKind.INTERRUPTED in kinds:
            return ErrorKind.INTERRUPTED
        if kinds == {ErrorKind.CONTENTION}:
            return ErrorKind.CONTENTION
        return ErrorKind.FAILED

    def _causes(self) -> tuple[BaseException, ...]:
        """The errors, less nbgrader's closing summary when it logged what it summarises."""
        from nbgrader.converters.base import NbGraderException

        real = tuple(e for e in self.errors if not isinstance(e, NbGraderException))
        return real or self.errors

    @property
    def reason(self) -> str:
        """The first error as one bounded line: its type and the first line of its message."""
        causes = self._causes()
        if not causes:
            return self.status.value
        first = causes[0]
        text = str(first).strip().splitlines()[:1]
        line = f"{type(first).__name__}: {text[0]}" if text else type(first).__name__
        return line[:MAX_REASON_CHARS]


class _Caught(logging.Handler):
    """Keeps every exception being handled when the application logs (nbgrader logs the
    errors it catches, inside its ``except`` blocks, and goes on)."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        handled = record.exc_info[1] if record.exc_info else sys.exc_info()[1]
        if handled is not None and all(handled is not e for e in self.errors):
            self.errors.append(handled)


def run_app(app: Any) -> AppOutcome:
    """``app.start()`` for one of nbgrader's applications, its outcome typed.

    nbgrader's own API (``capture_log``) turns every failure, Ctrl-C included, into a
    traceback's text; here the exceptions themselves are kept, so an interrupt is
    :attr:`AppStatus.INTERRUPTED` and a retry is decided by :func:`error_kind`.
    """
    caught = _Caught()
    app.log.addHandler(caught)
    try:
        app.start()
    except KeyboardInterrupt as error:
        return AppOutcome(AppStatus.INTERRUPTED, (*caught.errors, error))
    except Exception as error:
        errors = (*caught.errors, error)
        interrupted = any(error_kind(e) is ErrorKind.INTERRUPTED for e in errors)
        return AppOutcome(AppStatus.INTERRUPTED if interrupted else AppStatus.FAILED, errors)
    finally:
        app.log.removeHandler(caught)
    if any(isinstance(e, KeyboardInterrupt) for e in caught.errors):
        return AppOutcome(AppStatus.INTERRUPTED, tuple(caught.errors))
    return AppOutcome(AppStatus.DONE)


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
    from sqlalchemy.exc import DBAPIError

    book = Gradebook.__new__(Gradebook)
    try:
        Gradebook.__init__(book, url, course_id)
    except BaseException as error:
        if getattr(book, "db", None) is not None:
            book.db.remove()
        if getattr(book, "engine", None) is not None:
            book.engine.dispose()
        statement = error.statement if isinstance(error, DBAPIError) else None
        if isinstance(statement, str) and statement.lstrip().upper().startswith("CREATE "):
            # nbgrader found a table missing, then creating it failed: another process made it
            raise TableRace(f"creating the gradebook's tables in {url} raced") from error
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
    from nbgrader.apps import NbGraderAPI
    from nbgrader.converters import GenerateAssignment
    from nbgrader.utils import temp_attrs

    coursedir = course.coursedir()
    coursedir.db_url = course.db_url
    api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
    with tempfile.TemporaryDirectory(prefix="gdcourse-release-") as release:
        for attempt in range(ATTEMPTS):
            with temp_attrs(coursedir, assignment_id=assignment, release_directory=release):
                app = GenerateAssignment(coursedir=coursedir, parent=api)
                app.force = True
                app.create_assignment = True
                outcome = run_app(app)
            if outcome.status is AppStatus.INTERRUPTED:
                raise KeyboardInterrupt
            if outcome.status is AppStatus.DONE or outcome.kind is not ErrorKind.CONTENTION:
                break
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
    if outcome.status is not AppStatus.DONE:
        raise SystemExit(
            f"gdcourse grade: could not register {assignment} in the gradebook "
            f"(nbgrader generate_assignment failed): {outcome.reason}"
        )


class Recorder:
    """Writes students to the gradebook through nbgrader's autograde, one at a time."""

    def __init__(self, course: Course, assignment: str, *, attempts: int = ATTEMPTS) -> None:
        from nbgrader.apps import NbGraderAPI

        coursedir = course.coursedir()
        coursedir.db_url = course.db_url
        self.course = course
        self.assignment = assignment
        self.attempts = attempts  # c.GradeRun.record_attempts
        self.api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
        self.written = 0

    def record(self, student: str, graded: Mapping[str, Graded]) -> str | None:
        """Record ``student``'s judged notebooks (``graded``, by notebook name) through
        nbgrader's autograde; ``None``, or why nbgrader failed."""
        from nbgrader.converters import Autograde
        from nbgrader.utils import temp_attrs

        from gdcourse.grading.autograde.handoff import handing

        coursedir = self.api.coursedir
        outcome = AppOutcome(AppStatus.FAILED)
        for attempt in range(self.attempts):
            with (
                handing(student, graded),
                temp_attrs(coursedir, assignment_id=self.assignment, student_id=student),
            ):
                app = Autograde(coursedir=coursedir, parent=self.api)
                app.force = True
                app.create_student = True
                outcome = run_app(app)
            if outcome.status is AppStatus.DONE:
                self.written += 1
                return None
            if outcome.status is AppStatus.INTERRUPTED:
                raise KeyboardInterrupt  # the typed status: Ctrl-C while nbgrader recorded
            if outcome.kind is not ErrorKind.CONTENTION:
                break
            time.sleep(0.05 * 2**attempt * (1 + random.random()))
        return f"nbgrader autograde failed: {outcome.reason}"

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
