"""The ``gdcourse`` command (also ``python -m gdcourse``).

Subcommands::

    build     set up .venv, build the book and the student release (README's first command)
    test      set up .venv and Chromium, build the book, run the whole test suite
    book      build the book site (warnings are errors; the execution cache is reused)
    release   regenerate exercises/ from solutions/ with nbgrader
    start     copy an assignment (or a book page, as a notebook) to work/ for a student
    grade     autograde every submission of an assignment in a sandbox, in parallel
    mutants   the mutation score of the hidden checks (mutants graded by the real grader)
    publish   write the student edition (no solutions, no hidden tests) to a folder

Only the standard library is imported here: every subcommand runs under a bare
``python3``, makes or updates the project environment (``.venv``) if needed and
moves into it.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from collections.abc import Sequence

from gdcourse.tools import environment as _environment

DESCRIPTION = "Build, test and grade the gdcourse course on gradient descent."


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gdcourse", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    commands.add_parser(
        "build",
        help="set up the project environment (.venv), build the book site and the student\n"
        "release; prints where the site is. Idempotent and fast when nothing changed.",
        description="Set up .venv from constraints.txt, build the book and regenerate exercises/.",
    )
    test = commands.add_parser(
        "test",
        help="set up the environment and Chromium, build the book, then run the whole test\n"
        "suite (pytest with doctests, ruff, mypy, nbval, browser tests).",
        description="Run the whole test suite; extra arguments go to pytest.",
    )
    test.add_argument("pytest_args", nargs=argparse.REMAINDER, help="passed on to pytest")

    book = commands.add_parser(
        "book",
        help="build the Jupyter Book site in book/_build/html with warnings as errors;\n"
        "unchanged pages come from the execution cache.",
        description="Build the book (jupyter-book build book -W -n --keep-going) for offline use.",
    )
    book.add_argument("--clean", action="store_true", help="drop the built site and cache first")

    release = commands.add_parser(
        "release",
        help="regenerate every student notebook in exercises/ from its master in solutions/\n"
        "(nbgrader generate_assignment); never edit exercises/ by hand.",
        description="Regenerate exercises/ from solutions/.",
    )
    release.add_argument("assignments", nargs="*", help="assignment names (default: all)")
    release.add_argument(
        "--force",
        action="store_true",
        help="replace exercises/<assignment>/ even where it was edited by hand",
    )

    start = commands.add_parser(
        "start",
        help="copy an assignment's student notebook to work/ASSIGNMENT/, or a book page as\n"
        "a notebook (its numbers filled in) to work/book/PAGE.ipynb: your own folder,\n"
        "which builds and releases never touch (exercises/ is regenerated).",
        description="Copy exercises/ASSIGNMENT/ to work/ASSIGNMENT/, or the built book's\n"
        "notebook of a page to work/book/PAGE.ipynb, to work on it.",
    )
    start.add_argument(
        "assignment", metavar="ASSIGNMENT_OR_PAGE", help="e.g. ps4_autograd, or gradients"
    )

    grade = commands.add_parser(
        "grade",
        help="autograde every submission in submitted/ for ASSIGNMENT in sandboxes, in\n"
        "parallel; write feedback, the grades CSV and a report for the instructor.",
        description="Grade every submission of ASSIGNMENT securely and in parallel.",
    )
    grade.add_argument(
        "assignment", nargs="?", help="e.g. ps2_gradient_descent (not needed with --check)"
    )
    grade.add_argument(
        "--workers",
        type=int,
        help="parallel graders on this machine, and feedback processes\n"
        "(default: c.GradeRun.workers of nbgrader_config.py, else the number of cores)",
    )
    grade.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the sandboxes on the workers of the Dask cluster whose scheduler is at\n"
        "ADDRESS (e.g. tcp://10.0.0.5:8786); judging, the gradebook, feedback and the\n"
        "report stay on this machine",
    )
    grade.add_argument(
        "--regrade",
        action="store_true",
        help="grade every submission again, also those an earlier (interrupted) run\n"
        "recorded and that have not changed since",
    )
    grade.add_argument(
        "--check",
        action="store_true",
        help="run one job in a sandbox on this machine (or on every worker of --scheduler),\n"
        "say whether student code runs isolated there, and exit",
    )
    grade.add_argument("--student", action="append", help="grade only these students")
    grade.add_argument(
        "--db",
        metavar="URL",
        help="the gradebook's address (default: c.CourseDirectory.db_url of\n"
        "nbgrader_config.py, else the course's gradebook.db), e.g.\n"
        "postgresql+psycopg://user@host/course",
    )
    grade.add_argument(
        "--no-isolation",
        action="store_true",
        help="grade even where student code cannot be isolated (bubblewrap and user\n"
        "namespaces missing): the code can then read and change what you can",
    )
    mutants = commands.add_parser(
        "mutants",
        help="grade mutants of every graded function's solution (and correct variants)\n"
        "through the real grader; print and write the mutation score (mutation/).",
        description="Mutation score of the hidden checks; see gdcourse/grading/mutants/cli.py.",
    )
    mutants.add_argument("mutant_args", nargs=argparse.REMAINDER, help="ASSIGNMENT... | --all")
    publish = commands.add_parser(
        "publish",
        help="write the student edition to DIR, ready to push as a repository of its own:\n"
        "the book's sources, exercises/, the package students import, a student README and\n"
        "environment; no master notebook, no solution, no hidden test.",
        description="Write the students' copy of the course to DIR (new, empty, or an earlier\n"
        "edition, whose files it replaces; nothing else there is touched).",
    )
    publish.add_argument("directory", metavar="DIR", help="e.g. ../gdcourse-student")
    publish.add_argument(
        "--site",
        action="store_true",
        help="also copy the built book (book/_build/html, from 'gdcourse book') to DIR/site/",
    )
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    """Run a subcommand that needs the course's dependencies (we are inside .venv)."""
    if args.command == "build":
        book = importlib.import_module("gdcourse.tools.bookbuild")
        release = importlib.import_module("gdcourse.tools.release")
        release.release([], only_changed=True)
        importlib.import_module("gdcourse.course").Course.open(_environment.ROOT).ensure_exchange()
        site = book.build_book(clean=False)
        print(f"\nThe book is built: {site / 'index.html'}")
        print(f"Open it in a browser, or serve it with: python3 -m http.server -d {site} 8000")
        print(
            "Students: python3 -m gdcourse start ASSIGNMENT (or a book PAGE, as a notebook) "
            "copies it to work/, your own folder."
        )
        return 0
    if args.command == "test":
        _environment.ensure_chromium()
        _environment.ensure_bubblewrap()
        _environment.ensure_postgresql()
        _environment.ensure_python3_venv()  # the hub test's shared environment (tests/test_hub.py)
        _environment.ensure_npm()  # the book's offline JavaScript and the hub's proxy
        # the book is built (when anything changed) by the first test that reads it
        # (tests/built_site.py), while the other worker runs tests that do not
        command = pytest_command(args.pytest_args)
        print("+", " ".join(command), flush=True)
        return subprocess.call(command, cwd=_environment.ROOT)
    if args.command == "book":
        site = importlib.import_module("gdcourse.tools.bookbuild").build_book(clean=args.clean)
        print(f"The book is built: {site / 'index.html'}")
        return 0
    if args.command == "release":
        release = importlib.import_module("gdcourse.tools.release")
        try:
            release.release(args.assignments, force=args.force)
        except ValueError as error:
            raise SystemExit(f"gdcourse release: {error}") from None
        return 0
    if args.command == "start":
        release = importlib.import_module("gdcourse.tools.release")
        try:
            folder = release.start(args.assignment)
        except (ValueError, FileExistsError) as error:
            raise SystemExit(f"gdcourse start: {error}") from None
        shown = f"{folder}/" if folder.is_dir() else str(folder)
        print(f"Your copy is in {shown}. Open it in JupyterLab: .venv/bin/jupyter lab {folder}")
        return 0
    if args.command == "publish":
        publish = importlib.import_module("gdcourse.tools.publish")
        try:
            edition = publish.publish(args.directory, site=args.site)
        except publish.PublishError as error:
            raise SystemExit(f"gdcourse publish: {error}") from None
        print(
            f"The student edition is in {edition.root}/ ({len(edition.files)} files"
            f"{', the built book in site/' if edition.site else ''}). Push it to the student "
            "repository that book/_config.yml names (repository: url)."
        )
        return 0
    if args.command == "mutants":
        mutants_main: int = importlib.import_module("gdcourse.grading.mutants.cli").main(
            args.mutant_args
        )
        return mutants_main
    if args.command == "grade":
        grading_cli = importlib.import_module("gdcourse.grading.cli")
        if args.check:
            checked: int = grading_cli.check_command(
                isolation=not args.no_isolation, scheduler=args.scheduler
            )
            return checked
        result: int = grading_cli.grade_command(
            args.assignment,
            workers=args.workers,
            students=args.student,
            isolation=not args.no_isolation,
            db_url=args.db,
            scheduler=args.scheduler,
            regrade=args.regrade,
        )
        return result
    raise AssertionError(args.command)  # argparse only lets known commands through


def parse(arguments: Sequence[str]) -> argparse.Namespace:
    """The command line, read; after ``test`` everything goes to pytest as written."""
    arguments = list(arguments)
    if arguments[:1] == ["test"] and not {"-h", "--help"} & set(arguments[1:2]):
        args = _parser().parse_args(["test"])
        args.pytest_args = arguments[1:]
        return args
    if arguments[:1] == ["mutants"] and not {"-h", "--help"} & set(arguments[1:2]):
        args = _parser().parse_args(["mutants"])
        args.mutant_args = arguments[1:]
        return args
    return _parser().parse_args(arguments)


def pytest_command(pytest_args: Sequence[str]) -> list[str]:
    """How ``gdcourse test`` runs pytest: on two xdist workers, one test module per worker
    at a time, the longest first (tests/conftest.py), unless the arguments choose the
    number of workers (``-n 0`` runs in this process)."""
    args = list(pytest_args)
    if not any(arg.startswith(("-n", "--numprocesses")) for arg in args):
        args = ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", *args]
    return [sys.executable, "-m", "pytest", *args]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``gdcourse`` and ``python -m gdcourse``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    args = parse(arguments)
    if args.command == "grade" and args.workers is not None and args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    if args.command == "grade" and not args.check and not args.assignment:
        raise SystemExit("gdcourse grade: which assignment? e.g. gdcourse grade ps4_autograd")
    # Every subcommand runs in the project environment: made or updated here if needed.
    if not _environment.in_project_venv():
        _environment.ensure_venv()
        if args.command in ("build", "test", "book"):
            _environment.ensure_npm()
        _environment.reexec_in_venv(arguments)
    return _dispatch(args)
