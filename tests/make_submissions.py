"""Write the wrong-submission fixtures ``tests/submissions/<assignment>/<slug>.ipynb``.

Each fixture is the student version ``exercises/<assignment>/<assignment>.ipynb``
with every graded function filled in with the master's solution, except one,
which makes one known mistake. The mistakes live in one registry module per
assignment, ``tests/submissions/wrong_<assignment>.py``, which defines::

    ASSIGNMENT = "ps3_linear_regression"
    WRONG = {
        # slug: (function, source of the function's whole cell[, hint])
        "losses_after_update": ("fit", '''import numpy as np ... '''),
    }

``hint`` is the misconception name the feedback must show (default: the slug).
To add an assignment, add its registry module; nothing here changes.

Usage (from the repository root)::

    python tests/make_submissions.py              # every registry
    python tests/make_submissions.py ps1_gradients
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = ROOT / "tests" / "submissions"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@dataclass(frozen=True)
class Wrong:
    """One wrong submission: the function it gets wrong, that cell's source, the hint named."""

    function: str
    source: str
    hint: str | None = None


def registries() -> dict[str, ModuleType]:
    """The registry module of every assignment that has one, by assignment name."""
    found = {}
    for path in sorted(SUBMISSIONS.glob("wrong_*.py")):
        spec = importlib.util.spec_from_file_location(f"_gdcourse_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        found[module.ASSIGNMENT] = module
    return found


def wrong_submissions(assignment: str) -> dict[str, Wrong]:
    """slug -> :class:`Wrong`, from the assignment's registry."""
    return {slug: Wrong(*entry) for slug, entry in registries()[assignment].WRONG.items()}


def expected_hints(assignment: str) -> dict[str, tuple[str, str]]:
    """slug -> (function, misconception name the feedback must show)."""
    return {s: (w.function, w.hint or s) for s, w in wrong_submissions(assignment).items()}


def solution_sources(assignment: str) -> dict[str, str]:
    """grade_id -> source of the master's solution cells, solution markers removed."""
    master = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    sources = {}
    for cell in master.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            lines = [ln for ln in cell.source.splitlines() if ln.strip() not in MARKERS]
            sources[meta["grade_id"]] = "\n".join(lines)
    return sources


def build(assignment: str, wrong: Wrong | None) -> nbformat.NotebookNode:
    """The student version with every solution filled in, ``wrong`` replacing one."""
    student = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    correct = solution_sources(assignment)
    if wrong is not None and wrong.function not in correct:
        raise ValueError(f"{assignment} has no graded function {wrong.function!r}")
    for cell in student.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in correct:
            if wrong is not None and grade_id == wrong.function:
                cell.source = wrong.source.strip("\n")
            else:
                cell.source = correct[grade_id]
    return student


def write(assignment: str) -> list[Path]:
    """Write every fixture of ``assignment``; remove stale ones. Returns the files written."""
    folder = SUBMISSIONS / assignment
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for slug, wrong in wrong_submissions(assignment).items():
        path = folder / f"{slug}.ipynb"
        nbformat.write(build(assignment, wrong), path)
        written.append(path)
    for stale in set(folder.glob("*.ipynb")) - set(written):
        stale.unlink()
    return written


def main(argv: list[str]) -> int:
    available = registries()
    names = argv or sorted(available)
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"no registry for {unknown}; known: {sorted(available)}", file=sys.stderr)
        return 2
    for name in names:
        for path in write(name):
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
