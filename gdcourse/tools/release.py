"""Regenerate the student notebooks in ``exercises/`` from the masters in ``solutions/``.

``exercises/`` is generated, never edited; students work on a copy of their own
(``gdcourse start``, :func:`start`). Still, a release never overwrites what a
person wrote: when ``exercises/<assignment>/`` differs from what was generated
last time (a student who filled in the notebook in place, say), it is left as
it is, the new release goes to ``.gdcourse-cache/release/<assignment>/`` and
the command says so; ``force=True`` (``gdcourse release --force``) replaces it.

``release(names)`` runs ``nbgrader generate_assignment`` once for the assignments due, in a
temporary copy of the course directory that holds only their masters and a
throw-away gradebook, then replaces ``exercises/<assignment>/`` with what it
produced. So releasing never touches the instructor's gradebook, ``submitted/``,
``autograded/`` or ``feedback/``, and the result depends on the master alone:
running it twice gives byte-identical files (a test compares the committed
exercises with a fresh generation).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["EditedRelease", "assignments", "generate", "generate_many", "release", "start"]

SOURCE = "solutions"
RELEASE = "exercises"
WORK = "work"
"""Students' own copies (git-ignored): ``gdcourse start`` puts a notebook there."""
BOOK = "book"
#: Where the built site keeps each page's notebook download (``gdcourse start PAGE`` copies it).
BOOK_SOURCES = Path(BOOK) / "_build" / "html" / "_sources"
#: Where ``release`` remembers what it generated (git-ignored).
STAMPS = Path(".gdcourse-cache") / "release.json"
#: Where a release goes when ``exercises/<assignment>/`` was edited by hand.
ASIDE = Path(".gdcourse-cache") / "release"


class EditedRelease(RuntimeError):
    """``exercises/<assignment>/`` differs from what was generated: it was edited by hand."""


def _digest(folder: Path) -> str:
    """Hash of every file below ``folder`` (names and bytes), or "" when it does not exist."""
    digest = hashlib.sha256()
    if not folder.is_dir():
        return ""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _root(root: str | os.PathLike[str] | None) -> Path:
    """The course at ``root``, by default this checkout."""
    from gdcourse.course import find_root

    return find_root(root if root is not None else Path(__file__).resolve().parents[2])


def assignments(root: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the assignments that have a master ``solutions/<name>/<name>.ipynb``."""
    source = _root(root) / SOURCE
    return sorted(
        p.name for p in source.iterdir() if p.is_dir() and (p / f"{p.name}.ipynb").is_file()
    )


def generate(name: str, destination: Path, root: str | os.PathLike[str] | None = None) -> Path:
    """Generate the student version of ``name`` into ``destination/<name>/``; return that folder.

    :func:`generate_many` for one assignment.
    """
    return generate_many([name], destination, root)[name]


def generate_many(
    names: Sequence[str], destination: Path, root: str | os.PathLike[str] | None = None
) -> dict[str, Path]:
    """Generate the student version of each of ``names`` into ``destination/<name>/``.

    One ``nbgrader generate_assignment`` run (its assignment id a glob, ``*``) in a temporary
    course directory holding only these masters and a throw-away gradebook, so nothing of the
    real course directory but the masters is read, and nothing of it is written. Returns the
    folder of each name.
    """
    course = _root(root)
    known = assignments(course)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ValueError(
            f"unknown assignment {unknown[0]!r}: no master {SOURCE}/{unknown[0]}/"
            f"{unknown[0]}.ipynb; known: {', '.join(known) or 'none'}"
        )
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    with tempfile.TemporaryDirectory(prefix="gdcourse-release-") as scratch:
        work = Path(scratch)
        for name in names:
            shutil.copytree(
                course / SOURCE / name,
                work / SOURCE / name,
                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"),
            )
        command = [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_assignment",
            "*",  # every master copied above
            "--force",
            "--log-level=WARN",
            f"--CourseDirectory.root={work}",
            f"--CourseDirectory.source_directory={SOURCE}",
            f"--CourseDirectory.release_directory={RELEASE}",
            "--CourseDirectory.course_id=gdcourse",
            f"--CourseDirectory.db_url=sqlite:///{work / 'gradebook.db'}",
        ]
        # nbgrader runs `alembic` from PATH: put this environment's scripts first.
        scripts = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")]),
            "PYTHONWARNINGS": "ignore",
        }
        (work / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
        result = subprocess.run(
            command, cwd=work, capture_output=True, text=True, env=env, check=False
        )
        missing = [name for name in names if not (work / RELEASE / name).is_dir()]
        if result.returncode != 0 or missing:
            raise RuntimeError(
                f"nbgrader generate_assignment {', '.join(names)} failed (exit "
                f"{result.returncode}; not generated: {', '.join(missing) or 'none'}):\n"
                f"{result.stdout}{result.stderr}"
            )
        destination.mkdir(parents=True, exist_ok=True)
        folders = {}
        for name in names:
            staging = destination / f".{name}.new"
            if staging.exists():
                shutil.rmtree(staging)
            shutil.copytree(work / RELEASE / name, staging)
            target = destination / name
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
            folders[name] = target
    return folders


def release(
    names: Sequence[str],
    root: str | os.PathLike[str] | None = None,
    *,
    only_changed: bool = False,
    force: bool = False,
) -> list[Path]:
    """Regenerate ``exercises/<name>/`` for each name (all assignments when ``names`` is empty).

    Returns the folders written. Unknown names raise ``ValueError`` before
    anything is written. With ``only_changed`` an assignment is skipped when
    neither its master folder nor its generated folder changed since this
    function last generated it (``gdcourse build`` uses that to stay fast).

    A folder that differs from what was generated last time (or, the first time,
    from what is generated now) was edited by a person: it is kept, the new
    release is written to ``.gdcourse-cache/release/<name>/`` and a message says
    where, unless ``force`` is true.
    """
    course = _root(root)
    known = assignments(course)
    wanted = list(names) or known
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise ValueError(
            f"unknown assignment(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(known) or 'none'}"
        )
    stamps_file = course / STAMPS
    try:
        stamps = json.loads(stamps_file.read_text()) if stamps_file.exists() else {}
    except ValueError:
        stamps = {}
    keys = {
        name: [_digest(course / SOURCE / name), _digest(course / RELEASE / name)]
        for name in dict.fromkeys(wanted)
    }
    for name, key in keys.items():
        if only_changed and stamps.get(name) == key:
            print(f"{RELEASE}/{name} is up to date")
    due = [name for name, key in keys.items() if not (only_changed and stamps.get(name) == key)]
    written = []
    (course / STAMPS).parent.mkdir(exist_ok=True)  # git-ignored; on the course's file system
    with tempfile.TemporaryDirectory(prefix="fresh-", dir=course / STAMPS.parent) as fresh_folder:
        fresh = generate_many(due, Path(fresh_folder), course)  # one nbgrader run for all
        for name in due:
            current, key = course / RELEASE / name, keys[name]
            previous = stamps.get(name, [None, None])[1]
            someone_wrote = current.is_dir() and any(p.is_file() for p in current.rglob("*"))
            # edited since generated here, or never generated here and not what is generated
            # now: a person wrote it, keep it and put the release aside
            edited = previous is not None and key[1] != previous
            foreign = previous is None and _digest(fresh[name]) != key[1]
            if someone_wrote and not force and (edited or foreign):
                aside = _replace(fresh[name], course / ASIDE / name)
                print(_kept_message(course, name, aside))
                continue
            folder = _replace(fresh[name], current)
            print(f"released {folder.relative_to(course)}")
            stamps[name] = [key[0], _digest(folder)]
            written.append(folder)
    stamps_file.write_text(json.dumps(stamps, indent=1) + "\n")
    return written


def _replace(source: Path, target: Path) -> Path:
    """Move the folder ``source`` to ``target``, replacing what is there; return ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.rmtree(target)
    shutil.move(source, target)
    return target


def _kept_message(course: Path, name: str, aside: Path) -> str:
    return (
        f"{RELEASE}/{name}/ was changed since it was generated (did someone work in it?): "
        f"it is left as it is. The new release is in {aside.relative_to(course)}/. Work on a "
        f"copy of your own ('python3 -m gdcourse start {name}'), then replace {RELEASE}/{name}/ "
        f"with 'python3 -m gdcourse release --force {name}'."
    )


def start(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Copy an assignment, or a book page as a notebook, to ``work/`` for a student; return it.

    An assignment: ``exercises/<name>/`` to ``work/<name>/``. A book page (``book/<name>.md``
    that runs code): the notebook the built site offers for download, with its outputs and
    the numbers its text quotes filled in (``book/_build/html/_sources/<name>.ipynb``), to
    ``work/book/<name>.ipynb``. ``work/`` is the student's own folder: git-ignored and never
    touched by a build or a release. An existing copy is never overwritten.
    """
    course = _root(root)
    known = assignments(course)
    pages = sorted(p.stem for p in (course / BOOK).glob("*.md"))
    if name not in known and name not in pages:
        raise ValueError(
            f"unknown assignment or book page {name!r}; assignments: "
            f"{', '.join(known) or 'none'}; book pages: {', '.join(pages) or 'none'}"
        )
    if name in known:
        source, target = course / RELEASE / name, course / WORK / name
    else:
        notebook = f"{name}.ipynb"
        source, target = course / BOOK_SOURCES / notebook, course / WORK / BOOK / notebook
        if not source.is_file():
            built = (course / BOOK_SOURCES).is_dir()
            raise ValueError(
                f"the book page {name!r} runs no code, so it has no notebook: read it on the site"
                if built
                else f"the book is not built yet, so {name!r} has no notebook: run "
                "'python3 -m gdcourse build' first"
            )
    shown = f"{target.relative_to(course)}{'/' if name in known else ''}"
    if target.exists():
        raise FileExistsError(
            f"{shown} exists already: your work is there, open it; nothing was copied"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)
    return target
