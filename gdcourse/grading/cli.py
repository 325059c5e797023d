"""``gdcourse grade ASSIGNMENT``: grade every submission securely, in parallel, into nbgrader.

1. The submissions are found (:mod:`~gdcourse.grading.intake`); those an earlier
   run recorded and that have not changed since are skipped
   (:mod:`~gdcourse.grading.journal`), unless ``regrade``.
2. One student at a time, while the runner has room, the submission folder is
   checked and its notebooks read and sanitized here; each notebook's job runs in
   a sandbox (:mod:`~gdcourse.grading.runners`): on this machine, ``workers`` at a
   time, or on the workers of a Dask cluster (``scheduler``).
3. Each result is judged here, and when a student's notebooks are all judged,
   nbgrader's own autograde records the verdicts handed to it (nothing is read or
   run again): only this process writes the gradebook, one student after
   another (:mod:`~gdcourse.grading.recording`); then the durable record.
4. After the last write, feedback (read-only forks) for everyone, the grades CSV
   and the instructor's report (:mod:`gdcourse.grading.report`).

Whatever goes wrong with one submission (a file that cannot be read, a
sandbox that breaks, a judge that fails, nbgrader refusing it) is recorded in
that submission's row with the reason; the run always ends with a CSV row and
a report line for every student. A run that is interrupted (Ctrl-C, killed, a
lost cluster) grades only what is missing when started again. The command says
what it is doing from its first second.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gdcourse.course import Course, find_root

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master
    from gdcourse.grading.journal import Journal
    from gdcourse.grading.report import StudentRecord
    from gdcourse.grading.runners import Runner
    from gdcourse.grading.runners.local import Background
    from gdcourse.grading.sandbox import Limits
    from gdcourse.grading.settings import GraderSettings

__all__ = ["GradeOptions", "check_command", "grade_command", "submission_problem"]

log = logging.getLogger(__name__)

JOURNAL = "graded.jsonl"
"""The durable record's name in ``reports/<assignment>/``."""


@dataclass(frozen=True)
class GradeOptions:
    """What ``gdcourse grade`` is asked, besides the assignment; ``None`` means "as the
    configuration says" (:mod:`gdcourse.grading.settings`), then the built-in default.

    ``workers``: sandboxes at once on this machine, and feedback processes
    (``c.GradeRun.workers``, else one per core). ``students``: grade only these.
    ``root``: the course (default: found from the working directory). ``settings``: every
    setting, instead of reading the configuration files. ``limits``: the sandbox's limits,
    over ``settings``. ``isolation``: refuse to grade where student code cannot be isolated.
    ``db_url``: the gradebook's address, remembered for the course's nbgrader commands
    (:mod:`gdcourse.grading.database`). ``scheduler`` or ``client``: run the sandboxes on
    a Dask cluster. ``regrade``: grade again what an earlier run recorded. ``window``: jobs
    in flight. ``connect_timeout``: seconds to reach the scheduler.
    """

    workers: int | None = None
    students: Sequence[str] | None = None
    root: str | os.PathLike[str] | None = None
    settings: GraderSettings | None = None
    limits: Limits | None = None
    isolation: bool = True
    db_url: str | None = None
    scheduler: str | None = None
    client: Any = None
    regrade: bool = False
    window: int | None = None
    connect_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.window is not None and self.window < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")


@dataclass
class _Run:
    """One run of ``gdcourse grade``: what its stages share, resolved once at the start."""

    assignment: str
    layout: Course
    options: GradeOptions
    settings: GraderSettings
    workers: int
    masters: dict[str, Master]
    masters_key: str
    journal: Journal
    records: dict[str, StudentRecord]
    started: float
    digests: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=lambda: {"start": 0.0, "grading": 0.0})

    @property
    def limits(self) -> Limits:
        return self.options.limits or self.settings.limits

    @property
    def window(self) -> int | None:
        return self.options.window or self.settings.run.window or None

    @property
    def connect_seconds(self) -> float:
        return self.options.connect_timeout or self.settings.run.connect_seconds


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _open_course(root: str | os.PathLike[str] | None, db_url: str | None) -> Course:
    try:
        return Course.open(root, db_url=db_url)
    except FileNotFoundError as error:
        raise SystemExit(f"gdcourse grade: {error}") from None


def _progress(total: int, description: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="submission", file=sys.stderr)


def _runner(
    course: Path, options: GradeOptions, run: _Run, master_path: Path
) -> Background[Runner[Any]]:
    """Start the run stage in the background; a scheduler is reached first (in seconds).

    The sandbox hosts import what ``master_path``'s submissions use, and its probes only.
    """
    from gdcourse.grading.runners.local import Background, LocalRunner, start_local

    if options.scheduler is None and options.client is None:
        local: Background[LocalRunner[Any]] = start_local(
            course,
            isolation=options.isolation,
            workers=run.workers,
            window=run.window,
            master_path=master_path,
        )
        return cast("Background[Runner[Any]]", local)
    from gdcourse.grading.runners import cluster

    client = options.client
    if client is None:
        assert options.scheduler is not None
        _say(f"Connecting to the Dask scheduler at {options.scheduler}...")
        client = cluster.connect(options.scheduler, timeout=run.connect_seconds)
    runner: cluster.DaskRunner[Any] = cluster.DaskRunner(
        client,
        course_root=str(course),
        isolation=options.isolation,
        window=run.window,
        no_worker_seconds=run.settings.run.no_worker_seconds,
    )

    def start() -> Runner[Any]:
        from gdcourse.grading.autograde import read_master

        runner.start(read_master(master_path))
        return runner

    return Background(start)


def grade_command(assignment: str, options: GradeOptions | None = None, **given: Any) -> int:
    """Grade ``assignment`` for every student in ``submitted/`` (or only ``students``).

    ``options`` (:class:`GradeOptions`), or its fields as keywords
    (``grade_command("ps4_autograd", workers=4, client=client)``), say how. The sandboxes
    run on this machine (``workers`` at a time), or on the workers of the Dask cluster
    whose scheduler is at ``scheduler`` (or that ``client``, a ``distributed.Client``, is
    connected to). Students an earlier run recorded, whose submission and masters have not
    changed, are not graded again unless ``regrade``. Every setting the options leave out
    comes from the configuration files nbgrader reads (:mod:`gdcourse.grading.settings`).

    Returns 0 when every submission was graded (some may need a human: see the
    report), 1 when nbgrader failed on some submission, 2 when there was nothing
    to grade, 3 when student code cannot be isolated (the message says what to do,
    or pass ``isolation=False`` on purpose), 4 when the Dask scheduler cannot be
    reached or was lost, 130 when interrupted (run again to grade the rest).
    """
    options = dataclasses.replace(options or GradeOptions(), **given)
    started = time.monotonic()
    try:  # the first line, before anything slow is imported
        _say(f"gdcourse grade {assignment}: course {find_root(options.root)}")
    except FileNotFoundError as error:
        raise SystemExit(f"gdcourse grade: {error}") from None
    from gdcourse.grading import recording
    from gdcourse.grading.database import remember_db_url
    from gdcourse.grading.escape import plain_line, visible_id
    from gdcourse.grading.intake import (
        find_misplaced,
        find_submissions,
        misplaced_reason,
        refused_ids,
    )
    from gdcourse.grading.preflight import package_mismatch
    from gdcourse.grading.report import plural
    from gdcourse.grading.runners import RunAborted
    from gdcourse.grading.settings import load_settings

    layout = _open_course(options.root, options.db_url)
    course = layout.root
    if options.db_url is not None:
        try:
            _say(remember_db_url(course, options.db_url))
        except ValueError as error:
            raise SystemExit(f"gdcourse grade --db: {error}") from None
    try:
        settings = options.settings or load_settings(course)
    except ValueError as error:
        raise SystemExit(f"gdcourse grade: {error}") from None
    recording.tools_on_path()
    source = layout.source / assignment
    masters_paths = sorted(source.glob("*.ipynb"))
    if not masters_paths:
        known = sorted(p.name for p in layout.source.glob("*") if any(p.glob("*.ipynb")))
        raise SystemExit(
            f"gdcourse grade: no master notebook in {source}; "
            f"the assignments of this course are: {', '.join(known) or 'none'}"
        )
    students = list(options.students) if options.students is not None else None
    everyone, _ = find_submissions(layout.submitted, assignment)
    folders, missing = find_submissions(layout.submitted, assignment, students)
    for student in missing:
        _say(f"gdcourse grade: no submission of {assignment} by {visible_id(student)!r}")
    # the whole class's, so that a run limited to some students keeps everyone in the report
    refused = refused_ids(everyone)
    misplaced = find_misplaced(layout.submitted, assignment, [p.stem for p in masters_paths])
    for path in misplaced.values():
        where = plain_line(path)
        _say(f"gdcourse grade: {where} is not graded: {misplaced_reason(assignment, path)}")
    for student, reason in refused.items():
        _say(f"gdcourse grade: {visible_id(student)!r} is not graded: the student id {reason}")
    folders = [p for p in folders if p.parent.name not in refused]
    if not folders and not refused and not misplaced:
        _say(f"gdcourse grade: nothing to grade in {layout.submitted}/*/{assignment}")
        return 2
    if not options.isolation:
        _say(
            "WARNING: grading WITHOUT isolation (--no-isolation): student code can read "
            "and change what your account can."
        )
    mismatch = package_mismatch()
    if mismatch is not None:
        _say(f"gdcourse grade: refusing to grade: {mismatch}")
        return 3
    from gdcourse.grading import autograde
    from gdcourse.grading.journal import Journal, masters_digest
    from gdcourse.grading.report import StudentRecord

    run = _Run(
        assignment=assignment,
        layout=layout,
        options=options,
        settings=settings,
        workers=options.workers or settings.run.workers or os.cpu_count() or 1,
        masters={},
        masters_key=masters_digest(masters_paths),
        journal=Journal(layout.reports / assignment / JOURNAL),
        records={p.parent.name: StudentRecord(p.parent.name) for p in folders},
        started=started,
    )
    try:
        starting = _runner(course, options, run, masters_paths[0])
    except RunAborted as error:
        _say(f"gdcourse grade: {error}")
        return 4
    _say(
        f"{plural(len(folders), 'submission')} found. Starting the sandboxes (they load NumPy "
        "and torch once, a few seconds) and nbgrader..."
    )
    run.masters.update({path.stem: autograde.read_master(path) for path in masters_paths})
    for student, reason in refused.items():
        run.records[student] = StudentRecord(
            student, needs_human=[f"not graded: the student id {reason}"]
        )
    for student, path in misplaced.items():
        run.records.setdefault(student, StudentRecord(student)).needs_human.append(
            f"not graded: {misplaced_reason(assignment, path)}"
        )
    return _grade_and_finish(run, folders, everyone, starting)


def _grade_and_finish(
    run: _Run, folders: list[Path], everyone: list[Path], starting: Background[Runner[Any]]
) -> int:
    """Grade what is still to grade, then feedback, CSV and report."""
    from gdcourse.grading import recording
    from gdcourse.grading.gradebook import shared_engines
    from gdcourse.grading.intake import folder_digest

    layout = run.layout
    streams = sys.stdout, sys.stderr  # nbgrader's API and the probes redirect them
    with (
        warnings.catch_warnings(),
        _restored(streams),
        contextlib.closing(run.journal),
        shared_engines(),
    ):
        warnings.simplefilter("ignore")
        recording.prepare_gradebook(layout.db_url, layout.course_id)
        recording.ensure_assignment(layout, run.assignment, list(run.masters), _say)
        run.digests.update({p.parent.name: folder_digest(p) for p in folders})
        todo = _still_to_grade(run, folders)
        recording.ensure_students(layout.db_url, layout.course_id, [p.parent.name for p in todo])
        stopped, failed = 0, 0
        if todo:
            stopped, failed = _grade(run, todo, starting)
        if run.options.students is not None:
            _restore_others(run.journal, everyone, run.records)
    if stopped:
        return stopped
    try:
        return _finish(run, folders, len(todo), failed=failed)
    except KeyboardInterrupt:
        _say(
            "gdcourse grade interrupted while writing feedback and the report: every grade is "
            "recorded in the gradebook. Run the same command again to write them (nothing is "
            "graded again)."
        )
        return 130


def _restore_others(
    journal: Journal, everyone: Sequence[Path], records: dict[str, StudentRecord]
) -> None:
    """Put back, for the report, every student an earlier run recorded that this run (limited
    to some students) did not grade: the report stays the class's."""
    from gdcourse.grading.report import StudentRecord

    previous = journal.load()
    for folder in everyone:
        student = folder.parent.name
        entry = previous.get(student)
        if student not in records and entry is not None:
            record = records[student] = StudentRecord(student)
            entry.restore(record)


def _grade(run: _Run, todo: list[Path], starting: Background[Runner[Any]]) -> tuple[int, int]:
    """Grade and record ``todo``; ``(exit code if stopped else 0, nbgrader's failures)``."""
    from gdcourse.grading import autograde, recording
    from gdcourse.grading.instructor_log import write_private
    from gdcourse.grading.runners import RunAborted
    from gdcourse.grading.sandbox import IsolationUnavailable
    from gdcourse.grading.stream import grade_stream

    references = autograde.shared_references(run.layout.root)
    warm = threading.Thread(target=_warm, args=(references, run.masters), daemon=True)
    warm.start()
    try:
        runner = starting.wait()
    except IsolationUnavailable as error:
        _say(f"gdcourse grade: refusing to grade.\n{error}")
        return 3, 0
    except RuntimeError as error:  # a Dask worker with another gdcourse
        _say(f"gdcourse grade: refusing to grade: {error}")
        return 3, 0
    run.timings["start"] = time.monotonic() - run.started
    warm.join()
    recorder = recording.Recorder(
        run.layout, run.assignment, attempts=run.settings.run.record_attempts
    )
    _say(f"Grading on {runner.description}; nbgrader records each as it is judged.")
    try:
        with _progress(len(todo), "grading") as bar:
            outcome = grade_stream(
                todo,
                masters=run.masters,
                digests=run.digests,
                masters_key=run.masters_key,
                limits=run.limits,
                runner=runner,
                references=references,
                recorder=recorder,
                journal=run.journal,
                records=run.records,
                done=bar.update,
                bounds=run.settings.submissions,
                private=functools.partial(write_private, run.layout.reports / run.assignment),
            )
    except KeyboardInterrupt:
        _say(_stopped("interrupted", recorder.written, len(todo)))
        return 130, 0
    except RunAborted as error:
        _say(f"gdcourse grade: {error}\n" + _stopped("stopped", recorder.written, len(todo)))
        return 4, 0
    finally:
        runner.close()
    run.timings["grading"] = time.monotonic() - run.started - run.timings["start"]
    return 0, outcome.failed


def _stopped(what: str, written: int, total: int) -> str:
    return (
        f"gdcourse grade {what}: {written} of {total} submissions were recorded in the "
        "gradebook. Run the same command again: it grades only what is missing."
    )


def _still_to_grade(run: _Run, folders: Sequence[Path]) -> list[Path]:
    """The folders to grade: all with ``regrade``, else those no earlier run recorded as
    they are now (same submission, same masters, in the gradebook, autograded)."""
    from gdcourse.grading import recording

    layout = run.layout
    previous = run.journal.load()
    if run.options.regrade or not previous:
        return list(folders)
    in_gradebook = recording.recorded_students(
        layout.db_url, layout.course_id, run.assignment, list(run.masters)
    )
    todo = []
    for folder in folders:
        student = folder.parent.name
        entry = previous.get(student)
        if (
            entry is not None
            and entry.digest == run.digests[student]
            and entry.masters == run.masters_key
            and student in in_gradebook
            and (not entry.autograded or (layout.autograded / student / run.assignment).is_dir())
        ):
            entry.restore(run.records[student])
        else:
            todo.append(folder)
    skipped = len(folders) - len(todo)
    if skipped:
        _say(
            f"{skipped} of {len(folders)} submissions were recorded by an earlier run and have "
            "not changed since: not graded again (--regrade grades everything again)."
        )
    return todo


def _finish(run: _Run, folders: Sequence[Path], graded: int, *, failed: int) -> int:
    """Feedback for everyone, then the CSV and the report; the summary line."""
    from gdcourse.grading import recording
    from gdcourse.grading.export import export_grades
    from gdcourse.grading.feedback.generate import write_feedback
    from gdcourse.grading.report import plural, write_report

    layout, assignment, records = run.layout, run.assignment, run.records
    mark = time.monotonic()
    _say("Writing feedback...")
    write_feedback(layout, assignment, [p.parent.name for p in folders], run.workers)
    for folder in folders:
        student = folder.parent.name
        if (layout.autograded / student / assignment).is_dir() and not (
            layout.feedback / student / assignment
        ).is_dir():
            records[student].needs_human.append("feedback could not be made")
    run.timings["feedback"] = time.monotonic() - mark
    mark = time.monotonic()
    reports = layout.reports / assignment
    reports.mkdir(parents=True, exist_ok=True)
    questions = _collect(layout, assignment, run.masters, records)
    recording.retrying(
        lambda: export_grades(layout.db_url, reports / "grades.csv", assignments=[assignment])
    )
    report = write_report(
        reports, assignment, list(records.values()), questions, sizes=run.settings.report
    )
    run.timings["report"] = time.monotonic() - mark
    flagged = sum(1 for r in records.values() if r.needs_human)
    total = time.monotonic() - run.started
    unchanged = len(folders) - graded
    what = f"Graded {plural(graded, 'submission')} of {assignment}"
    if unchanged:
        what += (
            f" ({unchanged} of {len(folders)} unchanged since an earlier run, not graded again)"
        )
    timings = run.timings
    _say(
        f"{what} in {total:.1f} s "
        f"(start {timings['start']:.1f} s, grading {timings['grading']:.1f} s, "
        f"feedback {timings['feedback']:.1f} s, report {timings['report']:.1f} s); "
        f"{plural(flagged, 'submission needs', 'submissions need')} a human.\n"
        f"Report: {report}\nGrades: {reports / 'grades.csv'}\nFeedback: {layout.feedback}"
    )
    return 1 if failed else 0


def submission_problem(folder: Path) -> str | None:
    """Why a student's submission folder cannot be graded, or ``None`` (see
    :func:`gdcourse.grading.intake.submission_problem`)."""
    from gdcourse.grading.intake import submission_problem as problem

    return problem(folder)


def check_command(
    *,
    root: str | os.PathLike[str] | None = None,
    isolation: bool = True,
    scheduler: str | None = None,
    client: Any = None,
    connect_timeout: float | None = None,
) -> int:
    """Run one job in a sandbox on this machine, or on every worker of a Dask cluster, and
    say for each whether student code runs isolated there. Returns 0 when every one can
    grade (isolated, unless ``isolation`` is false; the same gdcourse), 3 when not, 4 when
    the scheduler cannot be reached (within ``connect_timeout`` seconds, default
    ``c.GradeRun.connect_seconds``)."""
    from gdcourse.grading.runners import RunAborted, check_sandbox, describe, fingerprint
    from gdcourse.grading.settings import RunSettings, load_settings

    try:
        course_root: str | None = str(Course.open(root).root)
    except FileNotFoundError:
        course_root = None
    if connect_timeout is None:
        try:
            run = load_settings(course_root).run if course_root else RunSettings()
        except ValueError as error:
            raise SystemExit(f"gdcourse grade --check: {error}") from None
        connect_timeout = run.connect_seconds
    if scheduler is None and client is None:
        _say("Checking the sandbox on this machine...")
        checks = [check_sandbox(isolation, course_root)]
    else:
        from gdcourse.grading.runners import cluster

        try:
            if client is None:
                assert scheduler is not None
                client = cluster.connect(scheduler, timeout=connect_timeout)
        except RunAborted as error:
            _say(f"gdcourse grade --check: {error}")
            return 4
        _say(f"Checking the sandbox on every worker of {client.scheduler.address}...")
        checks = cluster.check_workers(client, course_root=course_root, isolation=isolation)
    text, ok = describe(checks, fingerprint(), isolation=isolation)
    print(text, flush=True)
    if ok:
        print(f"All {len(checks)} can grade.", flush=True)
        return 0
    print(
        "Some cannot grade: each needs the same gdcourse as yours, bubblewrap and "
        "unprivileged user namespaces (see README, 'Grading on a cluster').",
        flush=True,
    )
    return 3


@contextlib.contextmanager
def _restored(streams: tuple[Any, Any]) -> Iterator[None]:
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


def _collect(
    course: Course,
    assignment: str,
    masters: dict[str, Master],
    records: dict[str, StudentRecord],
) -> dict[str, float]:
    """Fill the records' scores from the gradebook; return the questions' points."""
    from nbgrader.api import MissingEntry

    from gdcourse.grading import recording

    questions: dict[str, float] = {}
    for name, master in masters.items():
        for test in master.tests:
            key = f"{name}:{test.grade_id}" if len(masters) > 1 else test.grade_id
            questions[key] = test.points
    with recording.gradebook(course.db_url, course.course_id) as gradebook:
        for student, record in records.items():
            if any(reason.startswith("not graded: ") for reason in record.needs_human):
                continue  # refused before nbgrader: nothing of it is in the gradebook
            for name in masters:
                try:
                    submission = gradebook.find_submission_notebook(name, assignment, student)
                except MissingEntry:
                    record.needs_human.append(f"{name}: not in the gradebook")
                    continue
                for grade in submission.grades:
                    key = f"{name}:{grade.name}" if len(masters) > 1 else grade.name
                    record.scores[key] = float(grade.score or 0.0)
                    record.max_scores[key] = float(grade.max_score or 0.0)
    for record in records.values():
        record.needs_human = list(dict.fromkeys(record.needs_human))
        record.notes = list(dict.fromkeys(record.notes))
    return questions


def _warm(references: Any, masters: dict[str, Master]) -> None:
    """Compute the references' data for every case, off the critical path."""
    for master in masters.values():
        for test in master.tests:
            for case in test.call.cases:
                try:
                    references.get(test.call, case)
                except Exception:  # reported where it matters, when the test cell is judged
                    return
