"""``gdcourse grade ASSIGNMENT``: grade every submission securely, in parallel, into nbgrader.

1. Every submitted notebook is read and sanitized here and run in its own
   sandbox, ``workers`` at a time, all forked from one pre-warmed zygote (so no
   submission pays interpreter start-up or the torch import); its plain data is
   judged in this process against the master's reference solution.
2. As each submission's verdicts come back, nbgrader's own autograde grades it
   in this process, with the configuration of ``nbgrader_config.py``; its
   ``SandboxExecute`` finds the verdicts already made. Only this process writes
   the gradebook, one submission after another, so SQLite is never locked or
   corrupted.
3. After the last write, ``workers`` forked processes make the feedback
   (``nbgrader generate_feedback``: they only read the gradebook); then the
   grades CSV (``reports/<assignment>/grades.csv``) and the instructor's report
   (:mod:`gdcourse.grading.report`).

A submission that cannot be graded (missing or unreadable notebook, a timeout,
a crash, tampering) is graded 0 where it must be, with the reason, and listed
in the report; it never stops the run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdcourse.grading import checks
from gdcourse.grading.report import StudentRecord, write_report
from gdcourse.grading.sandbox import Limits, shared_zygote

if TYPE_CHECKING:
    from gdcourse.grading import autograde

__all__ = ["grade_command"]

log = logging.getLogger(__name__)


def _course_root(root: str | os.PathLike[str] | None) -> Path:
    try:
        return checks.course_root(root)
    except FileNotFoundError as error:
        raise SystemExit(f"gdcourse grade: {error}") from None


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "nbgrader"
    return subprocess.run(
        [str(executable), *args], cwd=root, capture_output=True, text=True, check=False
    )


def _ensure_in_gradebook(root: Path, assignment: str, notebooks: Sequence[str]) -> None:
    """Register the assignment's cells in the gradebook (without touching ``exercises/``)."""
    from nbgrader.api import Gradebook, MissingEntry

    db_url = f"sqlite:///{root / 'gradebook.db'}"
    if (root / "gradebook.db").exists():
        with Gradebook(db_url) as gradebook:
            try:
                known = {nb.name for nb in gradebook.find_assignment(assignment).notebooks}
            except MissingEntry:
                known = set()
        if set(notebooks) <= known:
            return
    with tempfile.TemporaryDirectory(prefix="gdcourse-release-") as release:
        done = _nbgrader(
            root,
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.release_directory={release}",
        )
    if done.returncode != 0:
        raise SystemExit(
            f"gdcourse grade: could not register {assignment} in the gradebook "
            f"(nbgrader generate_assignment failed):\n{done.stdout}{done.stderr}"
        )


def _load_config(root: Path) -> Any:
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(checks.CONFIG_FILE, path=str(root)).load_config()


def _progress(total: int, description: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="submission", file=sys.stderr)


def grade_command(
    assignment: str,
    *,
    workers: int,
    students: list[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
) -> int:
    """Grade ``assignment`` for every student in ``submitted/`` (or only ``students``).

    Returns 0 when every submission was graded (some may need a human: see the
    report), 1 when nbgrader failed on some submission, 2 when there was
    nothing to grade.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    started = time.monotonic()
    course = _course_root(root)
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    source = course / checks.SOURCE_DIRECTORY / assignment
    masters = sorted(source.glob("*.ipynb"))
    if not masters:
        raise SystemExit(f"gdcourse grade: no master notebook in {source}")
    # The zygote imports torch while this process imports nbgrader.
    threading.Thread(target=_start_zygote, args=(course,), daemon=True).start()
    from gdcourse.grading import autograde

    if limits is not None:
        autograde.LIMITS = limits
    master_by_name = {path.stem: autograde.read_master(path) for path in masters}
    submitted = course / "submitted"
    folders = sorted(p for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    if students:
        wanted = set(students)
        unknown = wanted - {p.parent.name for p in folders}
        for student in sorted(unknown):
            print(f"gdcourse grade: no submission of {assignment} by {student!r}", file=sys.stderr)
        folders = [p for p in folders if p.parent.name in wanted]
    if not folders:
        print(f"gdcourse grade: nothing to grade in {submitted}/*/{assignment}", file=sys.stderr)
        return 2
    records = {p.parent.name: StudentRecord(p.parent.name) for p in folders}
    streams = sys.stdout, sys.stderr  # nbgrader's API and the probes redirect them
    failed = 0
    # One warnings context around all threads: filters are process-wide, and a worker's
    # catch_warnings must not restore the caller's (possibly "error") filters under another.
    with warnings.catch_warnings(), _restored(streams):
        warnings.simplefilter("ignore")
        warm = threading.Thread(target=_warm, args=(course, master_by_name), daemon=True)
        warm.start()  # the zygote imports torch meanwhile
        _ensure_in_gradebook(course, assignment, list(master_by_name))
        work = []
        for folder in folders:
            student = folder.parent.name
            for name in master_by_name:
                path = folder / f"{name}.ipynb"
                if path.is_file():
                    work.append((student, name, path))
                else:
                    others = sorted(p.name for p in folder.glob("*.ipynb"))
                    found = f" (found: {', '.join(others)})" if others else ""
                    records[student].needs_human.append(f"no notebook {name}.ipynb{found}")
        notebooks = [
            autograde.read_submission(path, master_by_name[name]) for _, name, path in work
        ]
        warm.join()
        zygote = shared_zygote(course)

        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = _load_config(course)
        coursedir = CourseDirectory(config=config)
        coursedir.root = str(course)
        api = NbGraderAPI(coursedir=coursedir, config=config)
        pending = Counter(student for student, _, _ in work)
        # 1 and 2, pipelined: sandboxes run `workers` at a time, all forked from the zygote;
        # as a submission's verdicts come back, nbgrader autogrades it here, the one process
        # that writes the gradebook (its SandboxExecute finds the verdicts already made).
        with _progress(len(folders), "grading") as bar, ThreadPoolExecutor(workers) as pool:
            futures = {
                pool.submit(
                    autograde.grade_notebook, notebook, master_by_name[name], zygote=zygote
                ): (student, name)
                for (student, name, _), notebook in zip(work, notebooks, strict=True)
            }
            for folder in folders:
                student = folder.parent.name
                if student not in pending:
                    # nbgrader stops on a submission without notebooks: record zeros ourselves
                    _record_missing(course, assignment, student, records[student].needs_human)
                    bar.update()
            for future in as_completed(futures):
                student, name = futures[future]
                try:
                    future.result()
                except Exception as error:  # recorded; nbgrader's run grades it again
                    records[student].needs_human.append(f"{name}: grading failed: {error}")
                pending[student] -= 1
                if pending[student]:
                    continue
                outcome = api.autograde(assignment, student, force=True, create=True)
                if not outcome.get("success"):
                    failed += 1
                    last = str(outcome.get("error", "")).strip().splitlines()[-1:] or ["?"]
                    records[student].needs_human.append(f"nbgrader autograde failed: {last[0]}")
                bar.update()
    graded_at = time.monotonic()
    # 3. feedback (the rest of it), CSV, report
    _feedback(course, assignment, [p.parent.name for p in folders], workers)
    feedback_at = time.monotonic()
    for folder in folders:
        student = folder.parent.name
        if (course / "autograded" / student / assignment).is_dir() and not (
            course / "feedback" / student / assignment
        ).is_dir():
            records[student].needs_human.append("feedback could not be made")
    reports = course / "reports" / assignment
    reports.mkdir(parents=True, exist_ok=True)
    questions = _collect(course, assignment, master_by_name, records)
    _export_csv(course, assignment, reports / "grades.csv")
    report = write_report(reports, assignment, list(records.values()), questions)
    flagged = sum(1 for r in records.values() if r.needs_human)
    now = time.monotonic()
    print(
        f"Graded {len(folders)} submissions of {assignment} in {now - started:.1f} s "
        f"({workers} workers; grading {graded_at - started:.1f} s, feedback "
        f"{feedback_at - graded_at:.1f} s, report {now - feedback_at:.1f} s); "
        f"{flagged} need a human.\n"
        f"Report: {report}\nGrades: {reports / 'grades.csv'}\n"
        f"Feedback: {course / 'feedback'}"
    )
    return 1 if failed else 0


@contextlib.contextmanager
def _restored(streams: tuple[Any, Any]) -> Iterator[None]:
    try:
        yield
    finally:
        sys.stdout, sys.stderr = streams


def _collect(
    course: Path,
    assignment: str,
    masters: dict[str, autograde.Master],
    records: dict[str, StudentRecord],
) -> dict[str, float]:
    """Fill the records from the gradebook and the verdicts; return the questions' points."""
    from nbgrader.api import Gradebook, MissingEntry

    from gdcourse.grading import autograde

    questions: dict[str, float] = {}
    for name, master in masters.items():
        for test in master.tests:
            questions[f"{name}:{test.grade_id}" if len(masters) > 1 else test.grade_id] = (
                test.points
            )
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, record in records.items():
            for name, master in masters.items():
                try:
                    submission = gradebook.find_submission_notebook(name, assignment, student)
                except MissingEntry:
                    record.needs_human.append(f"{name}: not in the gradebook")
                    continue
                for grade in submission.grades:
                    key = f"{name}:{grade.name}" if len(masters) > 1 else grade.name
                    record.scores[key] = float(grade.score or 0.0)
                    record.max_scores[key] = float(grade.max_score or 0.0)
                path = course / "submitted" / student / assignment / f"{name}.ipynb"
                if not path.is_file():
                    continue
                verdict = autograde.grade_notebook(autograde.read_submission(path, master), master)
                for cell in verdict.cells:
                    record.misconceptions.extend(cell.misconceptions)
                record.needs_human.extend(verdict.needs_human)
                record.notes.extend(verdict.notes)
    for record in records.values():
        record.needs_human = list(dict.fromkeys(record.needs_human))
        record.notes = list(dict.fromkeys(record.notes))
    return questions


def _feedback(course: Path, assignment: str, students: Sequence[str], workers: int) -> int:
    """``nbgrader generate_feedback`` for ``students`` in ``workers`` forked processes.

    It runs after the last gradebook write: readers in parallel are safe, a reader beside
    the writer could make the writer wait for its lock. The forks have nbgrader imported
    already. Returns the number of processes that failed.
    """
    import multiprocessing

    graded = {p.parent.name for p in (course / "autograded").glob(f"*/{assignment}")}
    wanted = [student for student in students if student in graded]
    chunks = [wanted[i::workers] for i in range(workers) if wanted[i::workers]]
    context = multiprocessing.get_context("fork")
    processes = []
    for chunk in chunks:
        exclude = sorted(graded - set(chunk))
        process = context.Process(
            target=_feedback_batch, args=(course, assignment, exclude), daemon=True
        )
        process.start()
        processes.append(process)
    failures = 0
    with _progress(len(wanted), "feedback") as bar:
        for process, chunk in zip(processes, chunks, strict=True):
            process.join()
            if process.exitcode != 0:
                failures += 1
                log.warning("nbgrader generate_feedback failed (exit code %s)", process.exitcode)
            bar.update(len(chunk))
    return failures


def _feedback_batch(course: Path, assignment: str, exclude: Sequence[str]) -> None:
    """In a forked process: feedback for every autograded student not in ``exclude``."""
    code = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nbgrader.apps import NbGraderAPI
            from nbgrader.coursedir import CourseDirectory

            config = _load_config(course)
            coursedir = CourseDirectory(config=config)
            coursedir.root = str(course)
            coursedir.student_id_exclude = ",".join(exclude)
            outcome = NbGraderAPI(coursedir=coursedir, config=config).generate_feedback(assignment)
            code = 0 if outcome.get("success") else 1
    finally:
        os._exit(code)


def _start_zygote(course: Path) -> None:
    with contextlib.suppress(Exception):  # a failure is raised again where it is needed
        shared_zygote(course)


def _warm(course: Path, masters: dict[str, autograde.Master]) -> None:
    """Load (and run once) every reference, off the critical path."""
    for master in masters.values():
        for test in master.tests:
            try:
                reference = checks.load_reference(test.call.assignment, test.call.function, course)
                spec = checks.get_spec(test.call.assignment, test.call.function)
                checks.probe_safely(spec, reference, test.call.cases[0])
            except Exception:  # reported where it matters, when the test cell is judged
                return


def _record_missing(course: Path, assignment: str, student: str, reasons: list[str]) -> None:
    """Zero every grade of a submission that holds none of the assignment's notebooks."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            for comment in notebook.comments:
                comment.auto_comment = "Not graded: " + "; ".join(reasons)
        gradebook.db.commit()


def _export_csv(course: Path, assignment: str, destination: Path) -> None:
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    plugin = CsvExportPlugin(to=str(destination), assignment=[assignment])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            plugin.export(gradebook)
