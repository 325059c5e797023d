"""A deadline on one machine: N student accounts submit through the shared exchange, then the
grader account collects, grades and releases feedback. Run as root (it makes the accounts)::

    .venv/bin/python benchmarks/deadline.py [--students 300] [--parallel 3]

Real Unix accounts (tests/support/accounts.py, removed at the end): a grader, who is the
course's instructor, in a staff group; N students in a students group. The admin's ``python3 -m
gdcourse.exchange setup`` makes the exchange; the grader generates and releases
``ps4_autograd`` (``nbgrader``, as the grader). Each student fetches it, writes their work (the
mix of ``benchmarks/grading.py``: correct, wrong, untouched and broken notebooks, some not
even JSON) and submits, ``--parallel`` at a time, as themselves: a process that has nbgrader
loaded already (as a student's JupyterLab has when they press *Submit* in the Assignment
List) forks, the child becomes the student (uid, groups) and runs nbgrader's submit with the
course's exchange classes. When the last submission is in (the deadline), the grader runs
``nbgrader collect``, ``python3 -m gdcourse grade`` (as an ordinary user, so every submission
is isolated by bubblewrap) and ``nbgrader release_feedback``; then every student fetches their
feedback. Printed: submissions lost or duplicated (must be 0), the slowest submit, the time
from the deadline to every grade and every feedback page, and the load average.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from grading import ASSIGNMENT, _master, submissions  # noqa: E402
from support.accounts import REACHABLE, Accounts, User, accounts, run_as  # noqa: E402

from gdcourse.exchange.setup import hub_config  # noqa: E402

COURSE_ID = "gdcourse"


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _own(path: Path, user: User) -> None:
    for directory, folders, files in os.walk(path):
        for name in [directory, *(os.path.join(directory, f) for f in folders + files)]:
            os.chown(name, user.uid, user.gid, follow_symlinks=False)


def _as_students(
    users: list[User],
    action: Callable[[User], None],
    *,
    parallel: int,
    logs: Path,
) -> dict[str, tuple[float, int]]:
    """Run ``action`` in a child that became each user, ``parallel`` at a time, from one
    process that imported nbgrader once; each user's (seconds, exit status)."""
    reader, writer = os.pipe()
    zygote = os.fork()
    if zygote == 0:  # reach the checkout and Python as an ordinary user would
        os.close(reader)
        code = 1
        try:
            sys.path.insert(0, str(ROOT / "tests" / "support"))
            from as_user import expose

            expose(list(REACHABLE))
            import nbgrader.apps  # noqa: F401  (loaded once, as in a running JupyterLab)

            results: dict[str, tuple[float, int]] = {}
            running: dict[int, tuple[User, float]] = {}
            queue = list(users)
            while queue or running:
                while queue and len(running) < parallel:
                    user = queue.pop(0)
                    log = os.open(
                        logs / f"{user.name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
                    )
                    started = time.monotonic()
                    pid = os.fork()
                    if pid == 0:
                        status = 1
                        try:
                            os.dup2(log, 1)
                            os.dup2(log, 2)
                            os.initgroups(user.name, user.gid)
                            os.setresgid(user.gid, user.gid, user.gid)
                            os.setresuid(user.uid, user.uid, user.uid)
                            os.chdir(user.home)
                            os.environ.clear()
                            os.environ.update(
                                HOME=str(user.home), USER=user.name, LOGNAME=user.name,
                                PATH=f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin", LANG="C.UTF-8",
                            )  # fmt: skip
                            action(user)
                            status = 0
                        except SystemExit as error:
                            status = error.code if isinstance(error.code, int) else 1
                        except BaseException:
                            traceback.print_exc()
                        finally:
                            os._exit(status)
                    os.close(log)
                    running[pid] = (user, started)
                pid, status = os.wait()
                user, started = running.pop(pid)
                results[user.name] = (
                    time.monotonic() - started,
                    os.waitstatus_to_exitcode(status),
                )
            os.write(writer, json.dumps(results).encode())
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        data = pipe.read()
    os.waitpid(zygote, 0)
    if not data:
        raise SystemExit("the students' process failed (see above)")
    return {name: (seconds, code) for name, (seconds, code) in json.loads(data).items()}


def _nbgrader_app(name: str, *argv: str) -> None:
    """Run one nbgrader app in this process, as the Assignment List's server extension does."""
    import importlib

    module, cls = {
        "fetch": ("nbgrader.apps.fetchassignmentapp", "FetchAssignmentApp"),
        "submit": ("nbgrader.apps.submitapp", "SubmitApp"),
        "feedback": ("nbgrader.apps.fetchfeedbackapp", "FetchFeedbackApp"),
    }[name]
    app = getattr(importlib.import_module(module), cls)()
    app.initialize(list(argv))
    app.start()


def _grader(grader: User, course: Path, *command: str, timeout: float = 3600) -> float:
    started = time.monotonic()
    done = run_as(grader, list(command), cwd=course, timeout=timeout)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return elapsed


def _course(grader: User, course: Path, root: Path) -> None:
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    shutil.copy(_master(), course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    jupyter = grader.home / ".jupyter"
    jupyter.mkdir()
    (jupyter / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(root)!r}\n")
    _own(grader.home, grader)


def run(count: int, parallel: int) -> int:
    base = Path(tempfile.mkdtemp(prefix="gdx-deadline-"))
    base.chmod(0o755)
    root, logs = base / "exchange", base / "logs"
    logs.mkdir()
    print(f"load average at the start: {_load()}", flush=True)
    names = [f"s{index:03d}" for index in range(count)]
    master = json.loads(_master().read_text())
    work = dict(zip(names, (text for text, _ in submissions(master, count).values()), strict=True))
    started = time.monotonic()
    try:
        with accounts(["grader", *names], groups={"staff": ["grader"], "students": names}) as made:
            print(f"{count + 1} accounts made in {time.monotonic() - started:.1f} s", flush=True)
            return _round(made, names, work, base, root, logs, parallel)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _round(
    made: Accounts,
    names: list[str],
    work: dict[str, str],
    base: Path,
    root: Path,
    logs: Path,
    parallel: int,
) -> int:
    grader, students = made["grader"], [made[n] for n in names]
    course = grader.home / "course"
    setup = subprocess.run(
        [sys.executable, "-m", "gdcourse.exchange", "setup", "--root", str(root), "--course",
         COURSE_ID, "--instructor", grader.name, "--staff-group", made.groups["staff"],
         "--students-group", made.groups["students"]],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    print(setup.stdout.split("\n\n")[0], flush=True)
    _course(grader, course, root)
    for user in students:  # the hub's /etc/jupyter/nbgrader_config.py
        (user.home / ".jupyter").mkdir()
        (user.home / ".jupyter" / "nbgrader_config.py").write_text(hub_config(root, COURSE_ID))
        _own(user.home / ".jupyter", user)
    _grader(grader, course, "nbgrader", "generate_assignment", ASSIGNMENT, "--force")
    _grader(grader, course, "nbgrader", "release_assignment", ASSIGNMENT)

    fetched = _as_students(
        students, lambda u: _nbgrader_app("fetch", ASSIGNMENT), parallel=parallel, logs=logs
    )
    failed = [n for n, (_, code) in fetched.items() if code != 0]
    print(
        f"{len(fetched) - len(failed)} students fetched the assignment; failed: {failed}",
        flush=True,
    )

    by_name = {made[n].name: n for n in names}

    def submit(user: User) -> None:
        notebook = Path(ASSIGNMENT) / f"{ASSIGNMENT}.ipynb"
        notebook.write_text(work[by_name[user.name]], encoding="utf-8")
        _nbgrader_app("submit", ASSIGNMENT)

    window = time.monotonic()
    submitted = _as_students(students, submit, parallel=parallel, logs=logs)
    deadline = time.monotonic()
    load_submit = _load()
    slowest = max(submitted.items(), key=lambda item: item[1][0])
    failed = [n for n, (_, code) in submitted.items() if code != 0]
    print(
        f"{len(submitted) - len(failed)} submissions in {deadline - window:.1f} s, {parallel} at "
        f"a time; slowest submit {slowest[1][0]:.2f} s ({slowest[0]}); failed: {failed}; "
        f"load average {load_submit}",
        flush=True,
    )

    collect = _grader(grader, course, "nbgrader", "collect", ASSIGNMENT)
    grade = _grader(grader, course, "python3", "-m", "gdcourse", "grade", ASSIGNMENT)
    load_grade = _load()
    release = _grader(grader, course, "nbgrader", "release_feedback", ASSIGNMENT)
    to_feedback = time.monotonic() - deadline
    feedback = _as_students(
        students, lambda u: _nbgrader_app("feedback", ASSIGNMENT), parallel=parallel, logs=logs
    )
    to_students = time.monotonic() - deadline

    # lost or duplicated: in the exchange, in submitted/, in the grades, in the feedback
    inbound = root / COURSE_ID / "inbound"
    per_student = {user.name: 0 for user in students}
    for entry in inbound.iterdir():
        per_student[entry.name.split("+", 1)[0]] = (
            per_student.get(entry.name.split("+", 1)[0], 0) + 1
        )
    duplicated = sum(max(0, n - 1) for n in per_student.values())
    lost_in_exchange = [name for name, n in per_student.items() if n == 0]
    lost_in_collect = [
        user.name
        for user in students
        if not (course / "submitted" / user.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        or (course / "submitted" / user.name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text(
            encoding="utf-8"
        )
        != work[by_name[user.name]]
    ]
    extra = sorted({p.name for p in (course / "submitted").iterdir()} - set(per_student))
    with open(
        course / "reports" / ASSIGNMENT / "grades.csv", newline="", encoding="utf-8"
    ) as file:
        graded = [row for row in csv.DictReader(file)]
    graded_ids = {row.get("student_id") or row.get("student") or "" for row in graded}
    ungraded = sorted(set(per_student) - graded_ids)
    pages = list((course / "feedback").glob(f"*/{ASSIGNMENT}/{ASSIGNMENT}.html"))
    released = list((root / COURSE_ID / "feedback").glob("*.html"))
    fetched_pages = sum(
        1 for user in students if list((user.home / ASSIGNMENT / "feedback").rglob("*.html"))
    )
    result = {
        "students": len(students),
        "parallel": parallel,
        "submit_window_s": round(deadline - window, 1),
        "slowest_submit_s": round(slowest[1][0], 2),
        "median_submit_s": round(sorted(s for s, _ in submitted.values())[len(submitted) // 2], 2),
        "submit_failures": failed,
        "duplicated": duplicated,
        "lost_in_exchange": lost_in_exchange,
        "lost_or_altered_in_collect": lost_in_collect,
        "extra_in_submitted": extra,
        "ungraded": ungraded,
        "collect_s": round(collect, 1),
        "grade_s": round(grade, 1),
        "release_feedback_s": round(release, 1),
        "deadline_to_every_grade_s": round(collect + grade, 1),
        "deadline_to_every_feedback_page_released_s": round(to_feedback, 1),
        "deadline_to_every_page_fetched_by_its_student_s": round(to_students, 1),
        "feedback_pages": len(pages),
        "pages_released": len(released),
        "students_with_their_page": fetched_pages,
        "feedback_fetch_failures": [n for n, (_, code) in feedback.items() if code != 0],
        "load_average_during_submit": load_submit,
        "load_average_after_grading": load_grade,
        "load_average_at_the_end": _load(),
    }
    print(json.dumps(result, indent=1))
    lost = len(lost_in_exchange) + len(lost_in_collect) + len(ungraded)
    r = result
    print(
        f"\nlost: {lost}, duplicated: {duplicated + len(extra)}; slowest submit "
        f"{r['slowest_submit_s']} s; from the deadline: every grade "
        f"{r['deadline_to_every_grade_s']} s, every feedback page released "
        f"{r['deadline_to_every_feedback_page_released_s']} s, fetched by its student "
        f"({fetched_pages} of {len(students)}) "
        f"{r['deadline_to_every_page_fetched_by_its_student_s']} s"
    )
    return 0 if lost == 0 and duplicated == 0 and not extra and not failed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--parallel", type=int, default=3, help="submissions at a time")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the benchmark makes (and removes) the student accounts")
    pwd.getpwuid(0)
    return run(args.students, args.parallel)


if __name__ == "__main__":
    sys.exit(main())
