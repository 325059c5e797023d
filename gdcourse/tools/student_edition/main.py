"""``python -m gdcourse`` in the student edition: copy an assignment or a book page to ``work/``.

This file is the edition's ``gdcourse/__main__.py`` (``gdcourse publish`` writes it there);
the instructor's command (build, release, grade) is not part of the edition. Standard
library only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

MARKER = ".gdcourse-edition.json"
WORK = "work"


def course_root(start: Path | None = None) -> Path:
    """The edition: the nearest folder at or above ``start`` (the working directory) that
    holds ``.gdcourse-edition.json``, else the folder above this package."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / MARKER).is_file():
            return folder
    return Path(__file__).resolve().parents[1]


def start(name: str, root: Path) -> Path:
    """Copy ``exercises/NAME/`` to ``work/NAME/``, or a book page's notebook (from the built
    site in ``site/_sources/``) to ``work/book/NAME.ipynb``; never overwrite; return the copy."""
    assignments = sorted(
        p.name for p in (root / "exercises").glob("*") if (p / f"{p.name}.ipynb").is_file()
    )
    pages = sorted(p.stem for p in (root / "book").glob("*.md"))
    if name not in assignments and name not in pages:
        raise ValueError(
            f"unknown assignment or book page {name!r}; assignments: "
            f"{', '.join(assignments) or 'none'}; book pages: {', '.join(pages) or 'none'}"
        )
    if name in assignments:
        source, target = root / "exercises" / name, root / WORK / name
    else:
        source = root / "site" / "_sources" / f"{name}.ipynb"
        target = root / WORK / "book" / f"{name}.ipynb"
        if not source.is_file():
            raise ValueError(
                f"this copy of the course has no notebook of the page {name!r}: open "
                f"book/{name}.md in JupyterLab (right-click, Open With, Jupytext Notebook), "
                "or download the page as .ipynb from the course site"
            )
    shown = f"{target.relative_to(root)}{'/' if source.is_dir() else ''}"
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m gdcourse`` in the student edition."""
    parser = argparse.ArgumentParser(
        prog="gdcourse",
        description="The student edition of gdcourse, a course on gradient descent.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    begin = commands.add_parser(
        "start",
        help="copy an assignment to work/ASSIGNMENT/ (or a book page, as a notebook, to "
        "work/book/PAGE.ipynb): your own folder",
    )
    begin.add_argument("name", metavar="ASSIGNMENT_OR_PAGE", help="e.g. ps4_autograd")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    root = course_root()
    try:
        copy = start(args.name, root)
    except (ValueError, FileExistsError) as error:
        raise SystemExit(f"gdcourse start: {error}") from None
    shown = f"{copy}/" if copy.is_dir() else str(copy)
    print(f"Your copy is in {shown}. Open it in JupyterLab: .venv/bin/jupyter lab")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
