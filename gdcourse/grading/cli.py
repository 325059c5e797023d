"""``gdcourse grade ASSIGNMENT``: grade every submission securely, in parallel, into nbgrader.

1. Every submission folder is checked (a real folder of regular files, the
   notebook a regular file of bounded size) and its notebook read and sanitized
   here (:mod:`gdcourse.grading.autograde.submission`).
2. Each runs in a sandbox of its own, ``workers`` at a time, all forked from one
   warm host (:mod:`gdcourse.grading.sandbox`); its replies are judged here.
3. As each submission's verdicts come back, nbgrader's own autograde records it
   (its ``SandboxExecute`` finds the verdicts made): only this process writes the
   gradebook, one submission after another.
4. After the last write, feedback (read-only forks), the grades CSV and the
   instructor's report (:mod:`gdcourse.grading.report`).

Whatever goes wrong with one submission (a file that cannot be read, a
sandbox that breaks, a judge that fails, nbgrader refusing it) is recorded in
that submission's row with the reason; the run always ends with a CSV row and
a report line for every student. The command says what it is doing from its
first second.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
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

from gdcourse.course import Course
from gdcourse.grading.collect import refused_reasons
from gdcourse.grading.export import export_grades
from gdcourse.grading.gradebook import shared_engines
from gdcourse.grading.report import StudentRecord, write_report
from gdcourse.grading.sandbox import IsolationUnavailable, Limits

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master, NotebookGrade, Submission
    from gdcourse.grading.sandbox import Sandbox

__all__ = ["grade_command", "submission_problem"]

log = logging.getLogger(__name__)

MAX_FOLDER_ENTRIES = 1000
MAX_FOLDER_BYTES = 256 << 20


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _open_course(root: str | os.PathLike[str] | None, db_url: str | None) -> Course:
    try:
        return Course.open(root, db_url=db_url)
    except FileNotFoundError as error:
        raise SystemExit(f"gdcourse grade: {error}") from None


def submission_problem(folder: Path) -> str | None:
    """Why a student's submission folder cannot be graded, or ``None``.

    The folder and everything in it must be real folders and regular files (no
    links, devices, pipes or sockets), at most :data:`MAX_FOLDER_ENTRIES` entries
    and :data:`MAX_FOLDER_BYTES` bytes: nbgrader copies every file it holds.
    """
    if folder.parent.is_symlink():
        return f"{folder.parent.name} is a symbolic link, not the student's folder"
    try:
        info = folder.lstat()
    except OSError as error:
        return f"{folder.name} cannot be read ({error.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder.parent.name}/{folder.name} is not a folder (a link or a file)"
    count, total = 0, 0
    for directory, folders, files in os.walk(folder, followlinks=False):
        for name in [*folders, *files]:
            count += 1
            path = Path(directory) / name
            relative = path.relative_to(folder)
            if count > MAX_FOLDER_ENTRIES:
                return f"the submission holds more than {MAX_FOLDER_ENTRIES} files"
            try:
                mode = path.lstat().st_mode
            except OSError as error:
                return f"{relative} cannot be read ({error.strerror})"
            if stat.S_ISLNK(mode):
                return f"{relative} is a symbolic link; a submission may hold regular files only"
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                return (
                    f"{relative} is not a regular file; a submission may hold regular files only"
                )
            if stat.S_ISREG(mode):
                total += path.lstat().st_size
                if total > MAX_FOLDER_BYTES:
                    return f"the submission is larger than {MAX_FOLDER_BYTES >> 20} MB"
    return None


def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / "nbgrader"
    return subprocess.run(
        [str(executable), *args], cwd=root, capture_output=True, text=True, check=False
    )


def _ensure_in_gradebook(course: Course, assignment: str, notebooks: Sequence[str]) -> None:
    """Register the assignment's cells in the gradebook (without touching ``exercises/``)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url) as gradebook:
        try:
            known = {nb.name for nb in gradebook.find_assignment(assignment).notebooks}
        except MissingEntry:
            known = set()
    if set(notebooks) <= known:
        return
    _say(f"Registering {assignment} in the gradebook (nbgrader generate_assignment)...")
    with tempfile.TemporaryDirectory(prefix="gdcourse-release-") as release:
        done = _nbgrader(
            course.root,
            "generate_assignment",
            assignment,
            "--force",
            f"--CourseDirectory.release_directory={release}",
            f"--CourseDirectory.db_url={course.db_url}",
        )
    if done.returncode != 0:
        raise SystemExit(
            f"gdcourse grade: could not register {assignment} in the gradebook "
            f"(nbgrader generate_assignment failed):\n{done.stdout}{done.stderr}"
        )


def _progress(total: int, description: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="submission", file=sys.stderr)


class _Starting:
    """The sandbox host, started in a thread while this process imports nbgrader."""

    def __init__(self, course: Path, isolation: bool, master_path: Path) -> None:
        self.sandbox: Sandbox | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._start, args=(course, isolation, master_path), daemon=True
        )
        self._thread.start()

    def _start(self, course: Path, isolation: bool, master_path: Path) -> None:
        try:
            from gdcourse.grading.autograde import read_master, run

            master = read_master(master_path)
            self.sandbox = run.shared_sandbox(course, isolation=isolation, master=master)
        except BaseException as error:  # raised again where it is needed
            self.error = error

    def wait(self) -> Sandbox:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.sandbox is not None
        return self.sandbox


def grade_command(
    assignment: str,
    *,
    workers: int,
    students: list[str] | None = None,
    root: str | os.PathLike[str] | None = None,
    limits: Limits | None = None,
    isolation: bool = True,
    db_url: str | None = None,
) -> int:
    """Grade ``assignment`` for every student in ``submitted/`` (or only ``students``).

    Returns 0 when every submission was graded (some may need a human: see the
    report), 1 when nbgrader failed on some submission, 2 when there was nothing
    to grade, 3 when student code cannot be isolated on this machine (the message
    says what to do, or pass ``isolation=False`` on purpose).
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    started = time.monotonic()
    layout = _open_course(root, db_url)
    course = layout.root
    _say(f"gdcourse grade {assignment}: course {course}")
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    source = layout.source / assignment
    masters_paths = sorted(source.glob("*.ipynb"))
    if not masters_paths:
        raise SystemExit(f"gdcourse grade: no master notebook in {source}")
    submitted = layout.submitted
    folders = sorted(
        p / assignment
        for p in (submitted.iterdir() if submitted.is_dir() else [])
        if not p.name.startswith(".")
        and (p.is_symlink() or (p / assignment).exists() or (p / assignment).is_symlink())
    )
    if students:
        wanted = set(students)
        for student in sorted(wanted - {p.parent.name for p in folders}):
            _say(f"gdcourse grade: no submission of {assignment} by {student!r}")
        folders = [p for p in folders if p.parent.name in wanted]
    if not folders:
        _say(f"gdcourse grade: nothing to grade in {submitted}/*/{assignment}")
        return 2
    if not isolation:
        _say(
            "WARNING: grading WITHOUT isolation (--no-isolation): student code can read "
            "and change what your account can."
        )
    _say(
        f"{len(folders)} submissions found. Starting the sandbox (it loads NumPy and torch "
        "once, a few seconds) and nbgrader..."
    )
    starting = _Starting(course, isolation, masters_paths[0])
    from gdcourse.grading import autograde

    if limits is not None:
        autograde.run.LIMITS = limits
    masters = {path.stem: autograde.read_master(path) for path in masters_paths}
    records = {p.parent.name: StudentRecord(p.parent.name) for p in folders}
    streams = sys.stdout, sys.stderr  # nbgrader's API and the probes redirect them
    failed = 0
    timings: dict[str, float] = {}
    with warnings.catch_warnings(), _restored(streams), shared_engines():
        warnings.simplefilter("ignore")
        _ensure_in_gradebook(layout, assignment, list(masters))
        references = autograde.shared_references(course)
        warm = threading.Thread(target=_warm, args=(references, masters), daemon=True)
        warm.start()
        work: list[tuple[str, str, Submission]] = []
        refused: dict[str, list[str]] = {}
        for folder in folders:
            student = folder.parent.name
            problem = submission_problem(folder)
            if problem is not None:
                refused[student] = [problem]
                continue
            records[student].needs_human.extend(
                f"collect refused: {reason}" for reason in refused_reasons(folder)
            )
            for name, master in masters.items():
                submission = autograde.read_submission(
                    submitted, [student, assignment, f"{name}.ipynb"], master
                )
                if submission.unreadable and not (folder / f"{name}.ipynb").exists():
                    others = sorted(p.name for p in folder.glob("*.ipynb"))
                    found = f" (found: {', '.join(others)})" if others else ""
                    refused.setdefault(student, []).append(f"no notebook {name}.ipynb{found}")
                    continue
                work.append((student, name, submission))
        try:
            sandbox = starting.wait()
        except IsolationUnavailable as error:
            _say(f"gdcourse grade: refusing to grade.\n{error}")
            return 3
        timings["start"] = time.monotonic() - started
        warm.join()
        from nbgrader.apps import NbGraderAPI

        coursedir = layout.coursedir()
        coursedir.db_url = layout.db_url
        api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
        pending = Counter(student for student, _, _ in work if student not in refused)
        _say(f"Grading in {workers} sandboxes at a time; nbgrader records each as it is judged.")
        with _progress(len(folders), "grading") as bar, ThreadPoolExecutor(workers) as pool:
            for student, reasons in refused.items():
                records[student].needs_human.extend(reasons)
                _record_refused(layout, assignment, student, reasons)
                bar.update()
            futures = {
                pool.submit(
                    autograde.grade,
                    submission.notebook,
                    masters[name],
                    sandbox=sandbox,
                    references=references,
                ): (student, name, submission)
                for student, name, submission in work
                if student not in refused
            }
            for future in as_completed(futures):
                student, name, submission = futures[future]
                grade: NotebookGrade | None = None
                try:
                    grade = future.result()
                except Exception as error:  # grade() never raises; this is belt and braces
                    records[student].needs_human.append(f"{name}: grading failed: {error}")
                if grade is not None:
                    records[student].add_notebook(
                        grade, prefix=f"{name}:" if len(masters) > 1 else ""
                    )
                    records[student].notes.extend(
                        n for n in submission.notes if n not in records[student].notes
                    )
                pending[student] -= 1
                if pending[student]:
                    continue
                try:
                    outcome = api.autograde(assignment, student, force=True, create=True)
                except Exception as error:
                    outcome = {"success": False, "error": f"{type(error).__name__}: {error}"}
                if not outcome.get("success"):
                    failed += 1
                    last = str(outcome.get("error", "")).strip().splitlines()[-1:] or ["?"]
                    records[student].needs_human.append(f"nbgrader autograde failed: {last[0]}")
                bar.update()
    timings["grading"] = time.monotonic() - started - timings["start"]
    mark = time.monotonic()
    _say("Writing feedback...")
    _feedback(layout, assignment, [p.parent.name for p in folders], workers)
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
    export_grades(layout.db_url, reports / "grades.csv", assignments=[assignment])
    report = write_report(reports, assignment, list(records.values()), questions)
    timings["report"] = time.monotonic() - mark
    flagged = sum(1 for r in records.values() if r.needs_human)
    total = time.monotonic() - started
    _say(
        f"Graded {len(folders)} submissions of {assignment} in {total:.1f} s ({workers} "
        f"workers; start {timings['start']:.1f} s, grading {timings['grading']:.1f} s, "
        f"feedback {timings['feedback']:.1f} s, report {timings['report']:.1f} s); "
        f"{flagged} need a human.\n"
        f"Report: {report}\nGrades: {reports / 'grades.csv'}\nFeedback: {layout.feedback}"
    )
    return 1 if failed else 0


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
    from nbgrader.api import Gradebook, MissingEntry

    questions: dict[str, float] = {}
    for name, master in masters.items():
        for test in master.tests:
            key = f"{name}:{test.grade_id}" if len(masters) > 1 else test.grade_id
            questions[key] = test.points
    with Gradebook(course.db_url) as gradebook:
        for student, record in records.items():
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


def _feedback(course: Course, assignment: str, students: Sequence[str], workers: int) -> int:
    """``nbgrader generate_feedback`` for ``students`` in ``workers`` forked processes.

    It runs after the last gradebook write: readers in parallel are safe, a reader beside
    the writer could make the writer wait for its lock. Returns the number of processes
    that failed.
    """
    import multiprocessing

    graded = {p.parent.name for p in course.autograded.glob(f"*/{assignment}")}
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


def _feedback_batch(course: Course, assignment: str, exclude: Sequence[str]) -> None:
    """In a forked process: feedback for every autograded student not in ``exclude``."""
    code = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from nbgrader.apps import NbGraderAPI

            coursedir = course.coursedir()
            coursedir.db_url = course.db_url
            coursedir.student_id_exclude = ",".join(exclude)
            api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
            outcome = api.generate_feedback(assignment)
            code = 0 if outcome.get("success") else 1
    finally:
        os._exit(code)


def _warm(references: Any, masters: dict[str, Master]) -> None:
    """Compute the references' data for every case, off the critical path."""
    for master in masters.values():
        for test in master.tests:
            for case in test.call.cases:
                try:
                    references.get(test.call, case)
                except Exception:  # reported where it matters, when the test cell is judged
                    return


def _record_refused(course: Course, assignment: str, student: str, reasons: list[str]) -> None:
    """Zero every grade of a submission that cannot be graded, with the reasons as comments."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gradebook:
        gradebook.update_or_create_student(student)
        submission = gradebook.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
            for comment in notebook.comments:
                comment.auto_comment = "Not graded: " + "; ".join(reasons)
        gradebook.db.commit()
