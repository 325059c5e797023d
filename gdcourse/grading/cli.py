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
import logging
import os
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from gdcourse.course import Course
from gdcourse.grading import recording
from gdcourse.grading.escape import plain_line, visible_id
from gdcourse.grading.export import export_grades
from gdcourse.grading.feedback.generate import write_feedback
from gdcourse.grading.gradebook import shared_engines
from gdcourse.grading.intake import (
    find_misplaced,
    find_submissions,
    folder_digest,
    misplaced_reason,
    refused_ids,
    submission_problem,
)
from gdcourse.grading.journal import Journal, masters_digest
from gdcourse.grading.preflight import package_mismatch
from gdcourse.grading.report import StudentRecord, plural, write_report
from gdcourse.grading.runners import RunAborted, check_sandbox, describe, fingerprint
from gdcourse.grading.runners.local import Background, LocalRunner, start_local
from gdcourse.grading.sandbox import IsolationUnavailable, Limits
from gdcourse.grading.settings import configured_limits, load_config

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master
    from gdcourse.grading.runners import Runner

__all__ = ["check_command", "grade_command", "submission_problem"]

log = logging.getLogger(__name__)

JOURNAL = "graded.jsonl"
"""The durable record's name in ``reports/<assignment>/``."""

CONNECT_SECONDS = 10.0


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
    course: Path,
    *,
    isolation: bool,
    workers: int,
    scheduler: str | None,
    client: Any,
    window: int | None,
    connect_timeout: float,
    master_path: Path,
) -> Background[Runner[Any]]:
    """Start the run stage in the background; a scheduler is reached first (in seconds).

    The sandbox hosts import what ``master_path``'s submissions use, and its probes only.
    """
    if scheduler is None and client is None:
        local: Background[LocalRunner[Any]] = start_local(
            course, isolation=isolation, workers=workers, window=window, master_path=master_path
        )
        return cast("Background[Runner[Any]]", local)
    from gdcourse.grading.runners import cluster

    if client is None:
        assert scheduler is not None
        _say(f"Connecting to the Dask scheduler at {scheduler}...")
        client = cluster.connect(scheduler, timeout=connect_timeout)
    runner: cluster.DaskRunner[Any] = cluster.DaskRunner(
        client, course_root=str(course), isolation=isolation, window=window
    )

    def start() -> Runner[Any]:
        from gdcourse.grading.autograde import read_master

        runner.start(read_master(master_path))
        return runner

    return Background(start)


def grade_command(
    assignment: str,
    *,
    workers: int,
    students: list[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    isolation: bool = True,
    db_url: str | None = None,
    scheduler: str | None = None,
    client: Any = None,
    regrade: bool = False,
    window: int | None = None,
    connect_timeout: float = CONNECT_SECONDS,
) -> int:
    """Grade ``assignment`` for every student in ``submitted/`` (or only ``students``).

    The sandboxes run on this machine (``workers`` at a time), or on the workers of
    the Dask cluster whose scheduler is at ``scheduler`` (or that ``client``, a
    ``distributed.Client``, is connected to). ``window`` bounds the jobs in flight
    (default: twice the parallel sandboxes). Students an earlier run recorded, whose
    submission and masters have not changed, are not graded again unless ``regrade``.

    ``limits`` are the sandbox's; without, ``c.SandboxLimits.*`` of the configuration files
    nbgrader reads (:mod:`gdcourse.grading.settings`) over the built-in defaults.

    Returns 0 when every submission was graded (some may need a human: see the
    report), 1 when nbgrader failed on some submission, 2 when there was nothing
    to grade, 3 when student code cannot be isolated (the message says what to do,
    or pass ``isolation=False`` on purpose), 4 when the Dask scheduler cannot be
    reached or was lost, 130 when interrupted (run again to grade the rest).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if window is not None and window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    started = time.monotonic()
    layout = _open_course(root, db_url)
    course = layout.root
    _say(f"gdcourse grade {assignment}: course {course}")
    recording.tools_on_path()
    source = layout.source / assignment
    masters_paths = sorted(source.glob("*.ipynb"))
    if not masters_paths:
        known = sorted(p.name for p in layout.source.glob("*") if any(p.glob("*.ipynb")))
        raise SystemExit(
            f"gdcourse grade: no master notebook in {source}; "
            f"the assignments of this course are: {', '.join(known) or 'none'}"
        )
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
    if not isolation:
        _say(
            "WARNING: grading WITHOUT isolation (--no-isolation): student code can read "
            "and change what your account can."
        )
    mismatch = package_mismatch()
    if mismatch is not None:
        _say(f"gdcourse grade: refusing to grade: {mismatch}")
        return 3
    if limits is None:  # c.SandboxLimits.* of the configuration files nbgrader reads
        from gdcourse.grading.autograde.run import LIMITS

        try:
            limits = configured_limits(load_config(course), base=LIMITS)
        except ValueError as error:
            raise SystemExit(f"gdcourse grade: {error}") from None
    try:
        starting = _runner(
            course,
            isolation=isolation,
            workers=workers,
            scheduler=scheduler,
            client=client,
            window=window,
            connect_timeout=connect_timeout,
            master_path=masters_paths[0],
        )
    except RunAborted as error:
        _say(f"gdcourse grade: {error}")
        return 4
    _say(
        f"{plural(len(folders), 'submission')} found. Starting the sandboxes (they load NumPy "
        "and torch once, a few seconds) and nbgrader..."
    )
    from gdcourse.grading import autograde

    masters = {path.stem: autograde.read_master(path) for path in masters_paths}
    masters_key = masters_digest(masters_paths)
    records = {p.parent.name: StudentRecord(p.parent.name) for p in folders}
    for student, reason in refused.items():
        records[student] = StudentRecord(
            student, needs_human=[f"not graded: the student id {reason}"]
        )
    for student, path in misplaced.items():
        records.setdefault(student, StudentRecord(student)).needs_human.append(
            f"not graded: {misplaced_reason(assignment, path)}"
        )
    reports = layout.reports / assignment
    journal = Journal(reports / JOURNAL)
    streams = sys.stdout, sys.stderr  # nbgrader's API and the probes redirect them
    timings = {"start": 0.0, "grading": 0.0}
    with (
        warnings.catch_warnings(),
        _restored(streams),
        contextlib.closing(journal),
        shared_engines(),
    ):
        warnings.simplefilter("ignore")
        recording.prepare_gradebook(layout.db_url, layout.course_id)
        recording.ensure_assignment(layout, assignment, list(masters), _say)
        digests = {p.parent.name: folder_digest(p) for p in folders}
        todo = _still_to_grade(
            layout, assignment, masters, folders, digests, masters_key, journal, records, regrade
        )
        recording.ensure_students(layout.db_url, layout.course_id, [p.parent.name for p in todo])
        stopped, failed = 0, 0
        if todo:
            stopped, failed = _grade(
                layout, assignment, todo, starting, masters, masters_key, digests, journal,
                records, timings, started, limits,
            )  # fmt: skip
        if students is not None:
            _restore_others(journal, everyone, records)
    if stopped:
        return stopped
    try:
        return _finish(
            layout, assignment, masters, records, folders, len(todo), workers, timings, started,
            failed=failed,
        )  # fmt: skip
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
    previous = journal.load()
    for folder in everyone:
        student = folder.parent.name
        entry = previous.get(student)
        if student not in records and entry is not None:
            record = records[student] = StudentRecord(student)
            entry.restore(record)


def _grade(
    layout: Course,
    assignment: str,
    todo: list[Path],
    starting: Background[Runner[Any]],
    masters: dict[str, Master],
    masters_key: str,
    digests: dict[str, str],
    journal: Journal,
    records: dict[str, StudentRecord],
    timings: dict[str, float],
    started: float,
    limits: Limits,
) -> tuple[int, int]:
    """Grade and record ``todo``; ``(exit code if stopped else 0, nbgrader's failures)``."""
    from gdcourse.grading import autograde
    from gdcourse.grading.stream import grade_stream

    references = autograde.shared_references(layout.root)
    warm = threading.Thread(target=_warm, args=(references, masters), daemon=True)
    warm.start()
    try:
        runner = starting.wait()
    except IsolationUnavailable as error:
        _say(f"gdcourse grade: refusing to grade.\n{error}")
        return 3, 0
    except RuntimeError as error:  # a Dask worker with another gdcourse
        _say(f"gdcourse grade: refusing to grade: {error}")
        return 3, 0
    timings["start"] = time.monotonic() - started
    warm.join()
    recorder = recording.Recorder(layout, assignment)
    _say(f"Grading on {runner.description}; nbgrader records each as it is judged.")
    try:
        with _progress(len(todo), "grading") as bar:
            outcome = grade_stream(
                todo,
                masters=masters,
                digests=digests,
                masters_key=masters_key,
                limits=limits,
                runner=runner,
                references=references,
                recorder=recorder,
                journal=journal,
                records=records,
                done=bar.update,
            )
    except KeyboardInterrupt:
        _say(_stopped("interrupted", recorder.written, len(todo)))
        return 130, 0
    except RunAborted as error:
        _say(f"gdcourse grade: {error}\n" + _stopped("stopped", recorder.written, len(todo)))
        return 4, 0
    finally:
        runner.close()
    timings["grading"] = time.monotonic() - started - timings["start"]
    return 0, outcome.failed


def _stopped(what: str, written: int, total: int) -> str:
    return (
        f"gdcourse grade {what}: {written} of {total} submissions were recorded in the "
        "gradebook. Run the same command again: it grades only what is missing."
    )


def _still_to_grade(
    layout: Course,
    assignment: str,
    masters: dict[str, Master],
    folders: Sequence[Path],
    digests: dict[str, str],
    masters_key: str,
    journal: Journal,
    records: dict[str, StudentRecord],
    regrade: bool,
) -> list[Path]:
    """The folders to grade: all with ``regrade``, else those no earlier run recorded as
    they are now (same submission, same masters, in the gradebook, autograded)."""
    previous = journal.load()
    if regrade or not previous:
        return list(folders)
    in_gradebook = recording.recorded_students(
        layout.db_url, layout.course_id, assignment, list(masters)
    )
    todo = []
    for folder in folders:
        student = folder.parent.name
        entry = previous.get(student)
        if (
            entry is not None
            and entry.digest == digests[student]
            and entry.masters == masters_key
            and student in in_gradebook
            and (not entry.autograded or (layout.autograded / student / assignment).is_dir())
        ):
            entry.restore(records[student])
        else:
            todo.append(folder)
    skipped = len(folders) - len(todo)
    if skipped:
        _say(
            f"{skipped} of {len(folders)} submissions were recorded by an earlier run and have "
            "not changed since: not graded again (--regrade grades everything again)."
        )
    return todo


def _finish(
    layout: Course,
    assignment: str,
    masters: dict[str, Master],
    records: dict[str, StudentRecord],
    folders: Sequence[Path],
    graded: int,
    workers: int,
    timings: dict[str, float],
    started: float,
    *,
    failed: int,
) -> int:
    """Feedback for everyone, then the CSV and the report; the summary line."""
    mark = time.monotonic()
    _say("Writing feedback...")
    write_feedback(layout, assignment, [p.parent.name for p in folders], workers)
    for folder in folders:
        student = folder.parent.name
        if (layout.autograded / student / assignment).is_dir() and not (
            layout.feedback / student / assignment
        ).is_dir():
            records[student].needs_human.append("feedback could not be made")
    timings["feedback"] = time.monotonic() - mark
    mark = time.monotonic()
    reports = layout.reports / assignment
    reports.mkdir(parents=True, exist_ok=True)
    questions = _collect(layout, assignment, masters, records)
    recording.retrying(
        lambda: export_grades(layout.db_url, reports / "grades.csv", assignments=[assignment])
    )
    report = write_report(reports, assignment, list(records.values()), questions)
    timings["report"] = time.monotonic() - mark
    flagged = sum(1 for r in records.values() if r.needs_human)
    total = time.monotonic() - started
    unchanged = len(folders) - graded
    what = f"Graded {plural(graded, 'submission')} of {assignment}"
    if unchanged:
        what += (
            f" ({unchanged} of {len(folders)} unchanged since an earlier run, not graded again)"
        )
    _say(
        f"{what} in {total:.1f} s "
        f"(start {timings['start']:.1f} s, grading {timings['grading']:.1f} s, "
        f"feedback {timings['feedback']:.1f} s, report {timings['report']:.1f} s); "
        f"{plural(flagged, 'submission needs', 'submissions need')} a human.\n"
        f"Report: {report}\nGrades: {reports / 'grades.csv'}\nFeedback: {layout.feedback}"
    )
    return 1 if failed else 0


def check_command(
    *,
    root: str | os.PathLike[str] | None = None,
    isolation: bool = True,
    scheduler: str | None = None,
    client: Any = None,
    connect_timeout: float = CONNECT_SECONDS,
) -> int:
    """Run one job in a sandbox on this machine, or on every worker of a Dask cluster, and
    say for each whether student code runs isolated there. Returns 0 when every one can
    grade (isolated, unless ``isolation`` is false; the same gdcourse), 3 when not, 4 when
    the scheduler cannot be reached."""
    try:
        course_root: str | None = str(Course.open(root).root)
    except FileNotFoundError:
        course_root = None
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
