"""The grading loop of ``gdcourse grade``: read, run, judge and record, a bounded window at a time.

Students are read one at a time (:func:`gdcourse.grading.intake.read_student`)
only while the runner has room (:attr:`~gdcourse.grading.runners.Runner.window`
jobs in flight); each job's result is judged here as it comes back
(:func:`gdcourse.grading.autograde.run.judge_result`); when every notebook of a
student is judged, they are handed to nbgrader, which records the student
(:class:`~.recording.Recorder`), and the durable record is appended
(:class:`~.journal.Journal`). Each submission goes forward through the stages once:
nothing is read, sanitized, run or judged again to record it. The instructor's
process holds the notebooks and verdicts of the submissions in flight only, however
many there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdcourse.grading.autograde.handoff import Graded
from gdcourse.grading.intake import StudentWork, read_student
from gdcourse.grading.journal import Entry, Journal

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master, NotebookGrade, References
    from gdcourse.grading.recording import Recorder
    from gdcourse.grading.report import StudentRecord
    from gdcourse.grading.runners import Runner
    from gdcourse.grading.sandbox import Job, Limits
    from gdcourse.grading.settings import SubmissionBounds

__all__ = ["Outcome", "grade_stream"]

Tag = tuple[str, str, "Job", list[int]]
"""What travels with a job: student, notebook, the job, its cells' indices."""


@dataclass
class _Student:
    work: StudentWork
    record: StudentRecord
    waiting: int
    graded: dict[str, Graded] = field(default_factory=dict)


@dataclass
class Outcome:
    """What the loop did: students recorded, and those nbgrader failed to record."""

    recorded: int = 0
    failed: int = 0
    most_in_flight: int = 0


def grade_stream(
    folders: Iterable[Path],
    *,
    masters: Mapping[str, Master],
    digests: Mapping[str, str],
    masters_key: str,
    limits: Limits,
    runner: Runner[Any],
    references: References,
    recorder: Recorder,
    journal: Journal,
    records: Mapping[str, StudentRecord],
    done: Callable[[], None],
    bounds: SubmissionBounds | None = None,
    private: Callable[[str, str, tuple[str, ...]], None] | None = None,
) -> Outcome:
    """Grade and record every student of ``folders``, each read within ``bounds`` (default:
    the built-in ones) and run in a sandbox with ``limits``; ``done()`` after each one.
    ``private(student, notebook, details)`` receives what only the instructor may read of
    a verdict (:mod:`gdcourse.grading.instructor_log`)."""
    from gdcourse.grading.autograde import NotebookGrade, run

    outcome = Outcome()
    students: dict[str, _Student] = {}
    several = len(masters) > 1

    def add(student: _Student, name: str, grade: NotebookGrade) -> None:
        record = student.record
        if grade.private and private is not None:
            private(student.work.student, name, grade.private)
        record.add_notebook(grade, prefix=f"{name}:" if several else "")
        notes = student.work.notebooks[name].notes
        record.notes.extend(n for n in notes if n not in record.notes)
        student.graded[name] = Graded(student.work.notebooks[name], grade)
        student.waiting -= 1
        if student.waiting == 0:
            finish(student)

    def finish(student: _Student) -> None:
        work, record = student.work, student.record
        reason = recorder.record(work.student, student.graded)
        if reason is None:
            outcome.recorded += 1
            journal.append(Entry.of(record, digest=work.digest, masters=masters_key))
        else:
            outcome.failed += 1
            record.needs_human.append(reason)
        students.pop(work.student, None)
        done()

    def admit(folder: Path) -> None:
        student = folder.parent.name
        if bounds is None:
            work = read_student(folder, masters, digest=digests.get(student))
        else:
            work = read_student(folder, masters, digest=digests.get(student), bounds=bounds)
        record = records[student]
        record.needs_human.extend(n for n in work.notes if n not in record.needs_human)
        if work.refused:
            record.needs_human.extend(work.refused)
            try:
                recorder.refuse(student, work.refused)
            except Exception as error:  # this student's row only: never the class's run
                outcome.failed += 1
                record.needs_human.append(
                    f"the gradebook did not record it ({type(error).__name__}: {error})"[:300]
                )
            else:
                outcome.recorded += 1
                journal.append(
                    Entry.of(record, digest=work.digest, masters=masters_key, autograded=False)
                )
            done()
            return
        state = _Student(work, record, waiting=len(work.notebooks))
        students[student] = state
        for name, submission in work.notebooks.items():
            prepared = run.prepare(submission.notebook, masters[name], limits=limits)
            if isinstance(prepared, NotebookGrade):
                add(state, name, prepared)
                continue
            job, indices = prepared
            runner.submit((student, name, job, indices), job)

    pending = iter(folders)
    exhausted = False
    while True:
        while not exhausted and runner.pending() < runner.window:
            folder = next(pending, None)
            if folder is None:
                exhausted = True
            else:
                admit(folder)
        outcome.most_in_flight = max(outcome.most_in_flight, runner.pending())
        if runner.pending() == 0:
            if exhausted:
                return outcome
            continue
        for (student, name, job, indices), result in runner.wait():
            state = students[student]
            notebook = state.work.notebooks[name].notebook
            grade = run.judge_result(
                notebook, masters[name], job, indices, result, references=references
            )
            add(state, name, grade)
