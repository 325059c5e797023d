"""The master notebook as the grader needs it: its nbgrader cells and the cases of its test cells.

The master is the instructor's own file, so it is trusted; still, nothing here runs
its code: each test cell must be one literal ``check(...)`` call
(:func:`gdcourse.grading.checks.parse_check_call`).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcourse.grading import checks

__all__ = ["GradedCell", "Master", "nbgrader_meta", "read_master", "source_of"]


def source_of(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (notebooks store a string or a list of lines)."""
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """A cell's nbgrader metadata, ``{}`` when it has none or it is malformed."""
    if not isinstance(cell, Mapping):
        return {}
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


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
            grade_id = nbgrader_meta(cell).get("grade_id")
            if isinstance(grade_id, str):
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
        meta = nbgrader_meta(cell)
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = str(meta.get("grade_id"))
        try:
            call = checks.parse_check_call(source_of(cell))
        except ValueError as error:
            raise ValueError(f"{path}: test cell {grade_id!r}: {error}") from None
        tests.append(GradedCell(grade_id, float(meta.get("points", 0)), call))
    master = Master(path.parent.name, path.stem, path, content, tuple(tests))
    with _LOCK:
        _MASTERS[key] = master
    return master
