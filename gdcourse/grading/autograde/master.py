"""The master notebook as the grader needs it: its nbgrader cells and the cases of its test cells.

The master is the instructor's own file, so it is trusted; still, nothing here runs
its code: each test cell must be one literal ``check(...)`` call
(:func:`gdcourse.grading.checks.parse_check_call`).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcourse.grading import checks
from gdcourse.grading.notebook import grade_id as grade_id_of
from gdcourse.grading.notebook import is_test_cell, nbgrader_meta, points, source_of

__all__ = ["GradedCell", "Master", "nbgrader_meta", "read_master", "source_of"]


@dataclass(frozen=True)
class GradedCell:
    """A test cell of the master: its grade_id, points and the ``check(...)`` it holds."""

    grade_id: str
    points: float
    call: checks.CheckCall


@dataclass(frozen=True)
class Master:
    """A master notebook: where it is, its content, its test cells in order."""

    assignment: str
    notebook: str
    path: Path
    content: dict[str, Any]
    tests: tuple[GradedCell, ...]

    @property
    def cells_by_id(self) -> dict[str, dict[str, Any]]:
        """The master's nbgrader cells by grade_id (the first of each)."""
        found: dict[str, dict[str, Any]] = {}
        for cell in self.content.get("cells", []):
            grade_id = grade_id_of(cell)
            if grade_id is not None:
                found.setdefault(grade_id, cell)
        return found

    @property
    def max_score(self) -> float:
        return sum(test.points for test in self.tests)


_MASTERS: dict[tuple[str, float], Master] = {}
_LOCK = threading.Lock()


def read_master(path: str | os.PathLike[str]) -> Master:
    """Read a master notebook and the ``check(...)`` call of each of its test cells.

    A test cell is a code cell with nbgrader ``grade: true``, ``solution: false``;
    each must hold one literal ``check(...)`` call (``ValueError`` otherwise,
    naming the cell). Cached by path and modification time.
    """
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime)
    with _LOCK:
        if key in _MASTERS:
            return _MASTERS[key]
    content = json.loads(path.read_text(encoding="utf-8"))
    tests = []
    for cell in content.get("cells", []):
        if not is_test_cell(cell):
            continue
        grade_id = str(grade_id_of(cell))
        try:
            call = checks.parse_check_call(source_of(cell))
        except ValueError as error:
            raise ValueError(f"{path}: test cell {grade_id!r}: {error}") from None
        tests.append(GradedCell(grade_id, points(cell), call))
    master = Master(path.parent.name, path.stem, path, content, tuple(tests))
    with _LOCK:
        _MASTERS[key] = master
    return master
