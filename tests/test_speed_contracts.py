"""Recording decides by types, not phrases: an interrupt is a typed status, a retry a typed kind.

nbgrader's API turns every failure into a traceback's text; the recorder used to find
Ctrl-C by a traceback ending in ``KeyboardInterrupt`` and a competing writer by nine
phrases. Here the same decisions are made from the exceptions themselves: a text that
merely says ``database is locked`` or ends in ``KeyboardInterrupt`` decides nothing.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import warnings
from pathlib import Path

import psycopg
import pytest
import sqlalchemy
from nbgrader.api import InvalidEntry
from nbgrader.converters import Autograde

from gdcourse.course import Course
from gdcourse.grading import recording
from gdcourse.grading.recording import AppStatus, ErrorKind, error_kind, retrying, run_app

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "ps4_autograd"


def _busy(tmp_path: Path) -> sqlite3.OperationalError:
    """A real ``database is locked``: another connection holds the write lock."""
    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, timeout=0, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO t VALUES (1)")
    except sqlite3.OperationalError as error:
        return error
    finally:
        holder.close()
        other.close()
    raise AssertionError("the second writer was not refused")


def _integrity(tmp_path: Path, statement: str) -> sqlite3.IntegrityError:
    db = sqlite3.connect(tmp_path / "integrity.db")
    db.execute("CREATE TABLE IF NOT EXISTS t (x PRIMARY KEY, y NOT NULL)")
    db.execute("INSERT OR IGNORE INTO t VALUES (1, 1)")
    try:
        db.execute(statement)
    except sqlite3.IntegrityError as error:
        return error
    finally:
        db.close()
    raise AssertionError(statement)


def test_error_kinds_come_from_types_and_codes(tmp_path):
    busy = _busy(tmp_path)
    assert error_kind(busy) is ErrorKind.CONTENTION
    wrapped = sqlalchemy.exc.OperationalError("INSERT", {}, busy)
    assert error_kind(wrapped) is ErrorKind.CONTENTION
    duplicate = _integrity(tmp_path, "INSERT INTO t VALUES (1, 2)")
    assert error_kind(duplicate) is ErrorKind.CONTENTION
    assert error_kind(_integrity(tmp_path, "INSERT INTO t VALUES (2, NULL)")) is ErrorKind.FAILED
    assert error_kind(psycopg.errors.SerializationFailure()) is ErrorKind.CONTENTION
    assert error_kind(psycopg.errors.DeadlockDetected()) is ErrorKind.CONTENTION
    assert error_kind(psycopg.errors.UndefinedTable()) is ErrorKind.FAILED
    # the words alone decide nothing
    assert error_kind(RuntimeError("database is locked; UNIQUE constraint failed")) is (
        ErrorKind.FAILED
    )
    assert error_kind(RuntimeError("Traceback ...\nKeyboardInterrupt")) is ErrorKind.FAILED
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise RuntimeError("cleaning up") from interrupt
    except RuntimeError as error:
        assert error_kind(error) is ErrorKind.INTERRUPTED


def test_retrying_retries_contention_only(tmp_path, monkeypatch):
    monkeypatch.setattr(recording.time, "sleep", lambda seconds: None)
    busy = _busy(tmp_path)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise busy
        return "written"

    assert retrying(flaky) == "written" and len(calls) == 3
    calls.clear()

    def says_locked() -> None:
        calls.append(1)
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError):
        retrying(says_locked)
    assert len(calls) == 1


class _App:
    """An application that swallows Ctrl-C after logging it, as some of nbgrader's code does."""

    log = logging.getLogger("test_speed_contracts.app")

    def __init__(self, raised: BaseException | None) -> None:
        self.raised = raised

    def start(self) -> None:
        if self.raised is None:
            return
        try:
            raise self.raised
        except BaseException:
            self.log.error("Canceled")


def test_run_app_types_the_outcome():
    assert run_app(_App(None)).status is AppStatus.DONE
    assert run_app(_App(KeyboardInterrupt())).status is AppStatus.INTERRUPTED
    swallowed = run_app(_App(RuntimeError("KeyboardInterrupt")))
    assert swallowed.status is AppStatus.DONE  # logged and handled by the app: not ours


def test_nbgraders_own_wrapping_keeps_the_kind(tmp_path):
    """nbgrader re-raises a duplicate row as ``InvalidEntry`` inside its ``except``
    (``Gradebook.add_student``): the cause is kept and read."""
    duplicate = sqlalchemy.exc.IntegrityError(
        "INSERT", {}, _integrity(tmp_path, "INSERT INTO t VALUES (1, 2)")
    )
    try:
        try:
            raise duplicate
        except sqlalchemy.exc.IntegrityError as error:
            raise InvalidEntry(*error.args)  # noqa: B904 (as nbgrader writes it)
    except InvalidEntry as wrapped:
        assert error_kind(wrapped) is ErrorKind.CONTENTION


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course with one submission: nbgrader's autograde finds it, then meets the error."""
    folder = tmp_path_factory.mktemp("contracts")
    shutil.copy(ROOT / "nbgrader_config.py", folder / "nbgrader_config.py")
    (folder / "solutions" / ASSIGNMENT).mkdir(parents=True)
    master = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    shutil.copy(master, folder / "solutions" / ASSIGNMENT / master.name)
    submitted = folder / "submitted" / "ann" / ASSIGNMENT
    submitted.mkdir(parents=True)
    shutil.copy(master, submitted / master.name)
    return Course.open(folder)


def _recorder_meets(course, monkeypatch, error: BaseException) -> tuple[str | None, int]:
    """Record with nbgrader's autograde meeting ``error`` where it prepares the student."""
    calls = []

    def init_assignment(self, assignment_id, student_id):
        calls.append(1)
        raise error

    monkeypatch.setattr(Autograde, "init_assignment", init_assignment)
    monkeypatch.setattr(recording.time, "sleep", lambda seconds: None)
    with warnings.catch_warnings():  # as gdcourse grade records: nbgrader's own warnings aside
        warnings.simplefilter("ignore")
        return recording.Recorder(course, ASSIGNMENT).record("ann", {}), len(calls)


def test_ctrl_c_while_nbgrader_records_is_an_interrupt(course, monkeypatch):
    with pytest.raises(KeyboardInterrupt):
        _recorder_meets(course, monkeypatch, KeyboardInterrupt())


def test_a_message_ending_in_keyboardinterrupt_is_a_failure(course, monkeypatch):
    reason, calls = _recorder_meets(course, monkeypatch, RuntimeError("KeyboardInterrupt"))
    assert calls == 1
    assert reason == "nbgrader autograde failed: RuntimeError: KeyboardInterrupt"


def test_a_competing_writer_is_retried_then_reported(course, monkeypatch, tmp_path):
    busy = sqlalchemy.exc.OperationalError("UPDATE", {}, _busy(tmp_path))
    reason, calls = _recorder_meets(course, monkeypatch, busy)
    assert calls == recording.ATTEMPTS
    assert reason is not None and reason.startswith("nbgrader autograde failed: OperationalError")
