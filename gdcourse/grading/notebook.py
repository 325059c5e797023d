"""nbgrader's notebook model: the one module that reads a cell's nbgrader metadata and the
hidden-test markers.

A master notebook's cells carry nbgrader's metadata (``metadata.nbgrader``: ``grade_id``,
``grade``, ``solution``, ``locked``, ``points``); its test cells may hold a region between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` that the student version leaves out.
Every other module of the grader (reading the masters, sanitizing a submission, building its
sandbox job, recording, feedback) asks this module, so the schema is written once.

Everything here is bounded against a student's JSON: a cell, its metadata or its source may be
any JSON value; a malformed one reads as "no metadata", an empty source, no grade id. Nothing
here raises on student input.

>>> cell = {"cell_type": "code", "source": ["### BEGIN HIDDEN TESTS\\n", "x = 1\\n",
...         "### END HIDDEN TESTS\\n", "y = 2\\n"],
...         "metadata": {"nbgrader": {"grade": True, "solution": False, "grade_id": "t"}}}
>>> grade_id(cell), is_test_cell(cell), has_hidden_tests(source_of(cell))
('t', True, True)
>>> without_hidden_tests(source_of(cell))
'y = 2\\n'
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = [
    "HIDDEN_BEGIN",
    "HIDDEN_END",
    "MAX_GRADE_ID_CHARS",
    "NBGRADER_KEY",
    "ROLE_KEYS",
    "grade_id",
    "has_hidden_tests",
    "is_solution",
    "is_test_cell",
    "nbgrader_meta",
    "points",
    "same_role",
    "set_nbgrader_field",
    "set_nbgrader_meta",
    "source_of",
    "without_hidden_tests",
]

NBGRADER_KEY = "nbgrader"
"""The key of a cell's metadata under which nbgrader keeps its role."""

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"
"""nbgrader's markers of a hidden region (written as ``### BEGIN HIDDEN TESTS`` lines)."""

ROLE_KEYS = ("grade", "solution", "locked", "points", "grade_id")
"""The fields of nbgrader's metadata that decide what a cell is and what it is worth."""

MAX_GRADE_ID_CHARS = 200
"""A longer ``grade_id`` is no id (nbgrader's gradebook keeps names of up to 128 characters)."""


def source_of(cell: Any) -> str:
    """A cell's source as one string (notebooks store a string or a list of lines); ``""``
    for anything else."""
    if not isinstance(cell, Mapping):
        return ""
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(part for part in source if isinstance(part, str))
    return source if isinstance(source, str) else ""


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    """A copy of a cell's nbgrader metadata, ``{}`` when it has none or it is malformed."""
    if not isinstance(cell, Mapping):
        return {}
    metadata = cell.get("metadata")
    meta = metadata.get(NBGRADER_KEY) if isinstance(metadata, Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


def grade_id(cell: Any) -> str | None:
    """A cell's nbgrader ``grade_id``, or ``None`` (none, not a string, or too long)."""
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) and len(value) <= MAX_GRADE_ID_CHARS else None


def is_solution(cell: Any) -> bool:
    """A cell the student answers in (nbgrader ``solution: true``)."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_test_cell(cell: Any) -> bool:
    """An autograded test cell: a code cell nbgrader grades that holds no solution."""
    meta = nbgrader_meta(cell)
    return (
        isinstance(cell, Mapping)
        and cell.get("cell_type") == "code"
        and bool(meta.get("grade"))
        and not meta.get("solution")
    )


def points(cell: Any) -> float:
    """A cell's nbgrader ``points``: 0 when missing, not a finite number, or negative."""
    value = nbgrader_meta(cell).get("points")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    number = float(value)
    return number if math.isfinite(number) and number >= 0 else 0.0


def same_role(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two nbgrader metadata give a cell the same role (:data:`ROLE_KEYS`)."""
    return all(a.get(key) == b.get(key) for key in ROLE_KEYS)


def set_nbgrader_meta(cell: MutableMapping[str, Any], meta: Mapping[str, Any]) -> None:
    """Give ``cell`` a copy of ``meta`` as its nbgrader metadata (its other metadata kept)."""
    metadata = cell.get("metadata")
    if not isinstance(metadata, MutableMapping):
        metadata = cell["metadata"] = {}
    metadata[NBGRADER_KEY] = copy.deepcopy(dict(meta))


def set_nbgrader_field(cell: MutableMapping[str, Any], key: str, value: Any) -> None:
    """Set one field of ``cell``'s nbgrader metadata in place (as nbgrader's own
    preprocessors do, on the notebook they were handed)."""
    metadata = cell.get("metadata")
    if not isinstance(metadata, MutableMapping):
        metadata = cell["metadata"] = {}
    meta = metadata.get(NBGRADER_KEY)
    if not isinstance(meta, MutableMapping):
        meta = metadata[NBGRADER_KEY] = {}
    meta[key] = value


def has_hidden_tests(source: str) -> bool:
    """Whether a cell's source holds a hidden region (or the start of one)."""
    return HIDDEN_BEGIN in source


def without_hidden_tests(source: str) -> str:
    """``source`` without its hidden regions: every line from one holding the begin marker
    to the next holding the end marker, both included (to the end when it has none)."""
    if HIDDEN_BEGIN not in source:
        return source
    kept: list[str] = []
    hidden = False
    for line in source.splitlines(keepends=True):
        if HIDDEN_BEGIN in line:
            hidden = True
        elif hidden and HIDDEN_END in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)
