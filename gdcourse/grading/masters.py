"""The instructor's reading of the master notebooks: the reference solutions hidden checks use.

Only instructors and the grader have masters (``solutions/``): this module is theirs,
never published in the student edition (``gdcourse/tools/publish.py`` lists it with the
instructor's files), and the students' module :mod:`gdcourse.grading.checks` never
imports it (tests/test_audiences.py). A hidden check run in the instructor's kernel gets
its reference from here through :func:`gdcourse.grading.check`; the grader's judge
(:mod:`gdcourse.grading.autograde.judge`) reads it directly.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from gdcourse.course import Course
from gdcourse.grading.notebook import grade_id, source_of

__all__ = ["load_reference", "master_path", "setup_cell_ids"]


def master_path(assignment: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The master of ``assignment`` in the course at ``root`` (see
    :func:`gdcourse.course.find_root`); it must exist."""
    path = Course.open(root).master(assignment)
    if not path.is_file():
        raise FileNotFoundError(f"no master notebook for {assignment!r} at {str(path)!r}")
    return path


def setup_cell_ids(cells: Iterable[Mapping[str, Any]]) -> list[str]:
    """grade_ids of the setup cells: read-only code cells whose grade_id starts with ``setup``."""
    return [
        str(grade_id(cell))
        for cell in cells
        if cell.get("cell_type") == "code" and (grade_id(cell) or "").startswith("setup")
    ]


_REFERENCE_CACHE: dict[tuple[str, float, str], Callable[..., Any]] = {}


def load_reference(
    assignment: str, function: str, root: str | os.PathLike[str] | None = None
) -> Callable[..., Any]:
    """The reference implementation of ``function`` from the master notebook.

    Runs the master's setup cells (grade_id ``setup...``) and then the solution
    cell whose grade_id is ``function``, in a fresh namespace (what they print
    is discarded), and returns the function it defines.
    """
    path = master_path(assignment, root)
    key = (str(path), path.stat().st_mtime, function)
    if key in _REFERENCE_CACHE:
        return _REFERENCE_CACHE[key]
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells = notebook.get("cells", [])
    setup = set(setup_cell_ids(cells))
    namespace: dict[str, Any] = {"__name__": f"gdcourse_reference_{assignment}"}
    found = False
    for cell in cells:
        cell_id = grade_id(cell)
        if cell.get("cell_type") != "code" or (cell_id not in setup and cell_id != function):
            continue
        code = compile(source_of(cell), f"<{assignment}:{cell_id}>", "exec")
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            exec(code, namespace)  # the master is the instructor's own, trusted code
        found = found or cell_id == function
    if not found or not callable(namespace.get(function)):
        raise LookupError(
            f"the master {str(path)!r} has no solution cell with grade_id {function!r} "
            "that defines that function"
        )
    reference: Callable[..., Any] = namespace[function]
    _REFERENCE_CACHE[key] = reference
    return reference
