"""Reading and sanitizing a submission: the first two stages, and the only ones that see the file.

:func:`read_submission` reads a submitted notebook with every bound of
:mod:`gdcourse.grading.untrusted` (no links, a regular file, bounded size, UTF-8
JSON of bounded depth) and :func:`sanitize` rebuilds it on the master's
structure: test and read-only cells get the master's source, a duplicated or
unknown grade_id loses its role (the first copy counts), deleted cells come
back, the kernelspec is the master's, outputs, attachments and the student's
metadata are dropped. What it changed is noted. A file that cannot be read
becomes :func:`unreadable_notebook`: the master with empty answers, graded 0
with the reason. Nothing here raises on student input, and nothing here
writes a file.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdcourse.grading import untrusted
from gdcourse.grading.autograde.master import Master
from gdcourse.grading.notebook import grade_id as grade_id_of
from gdcourse.grading.notebook import (
    is_solution,
    nbgrader_meta,
    same_role,
    set_nbgrader_meta,
    source_of,
    without_hidden_tests,
)
from gdcourse.grading.settings import SubmissionBounds

__all__ = [
    "META_KEY",
    "Submission",
    "from_bytes",
    "read_notebook",
    "read_submission",
    "sanitize",
    "unreadable_notebook",
]

DEFAULT_BOUNDS = SubmissionBounds()
"""The built-in bounds: what ``c.SubmissionLimits.*`` does not set."""

META_KEY = "gdcourse"
"""Notebook metadata key under which the sanitizing notes travel to grading."""


@dataclass(frozen=True)
class Submission:
    """A sanitized submission: a notebook with the master's nbgrader structure.

    ``unreadable`` is the reason the file could not be read (the notebook is then
    :func:`unreadable_notebook`); ``notes`` what sanitizing changed.
    """

    notebook: dict[str, Any]
    notes: tuple[str, ...] = ()
    unreadable: str | None = None


def _new_cell_id() -> str:
    return uuid.uuid4().hex[:12]


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unreadable_notebook(master: Master, reason: str) -> dict[str, Any]:
    """The master with every solution cell emptied, marked as an unreadable submission."""
    notebook = copy.deepcopy(master.content)
    for cell in notebook.get("cells", []):
        if is_solution(cell):
            cell["source"] = "# The submitted notebook could not be read.\n"
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook.setdefault("metadata", {})[META_KEY] = {"unreadable": reason, "notes": [reason]}
    return notebook


def _unreadable(master: Master, reason: str) -> Submission:
    return Submission(unreadable_notebook(master, reason), (reason,), reason)


def from_bytes(
    data: bytes, master: Master, name: str, *, bounds: SubmissionBounds = DEFAULT_BOUNDS
) -> Submission:
    """Parse and sanitize a notebook file's bytes (bounded as :func:`read_submission`)."""
    try:
        content = untrusted.loads(data, max_bytes=bounds.notebook_bytes, what=name)
    except untrusted.Unreadable as error:
        return _unreadable(master, f"{name} is not a readable notebook: {error.reason}")
    notebook, notes = sanitize(content, master, bounds=bounds)
    return Submission(notebook, tuple(notes))


def read_notebook(
    base: str | os.PathLike[str],
    parts: Sequence[str],
    master: Master,
    *,
    bounds: SubmissionBounds = DEFAULT_BOUNDS,
) -> Submission:
    """Read ``base/parts...`` with every bound, without sanitizing (for a notebook the grader
    wrote itself, as nbgrader's second pass reads); unreadable as :func:`read_submission`."""
    name = parts[-1] if parts else "?"
    try:
        data = untrusted.read_regular_file(base, parts, max_bytes=bounds.notebook_bytes)
        content = untrusted.loads(data, max_bytes=bounds.notebook_bytes, what=name)
    except untrusted.Unreadable as error:
        return _unreadable(master, f"{name} is not a readable notebook: {error.reason}")
    if not isinstance(content, dict):
        return _unreadable(master, f"{name} is not a readable notebook: not a JSON object")
    return Submission(content)


def read_submission(
    base: str | os.PathLike[str],
    parts: Sequence[str],
    master: Master,
    *,
    bounds: SubmissionBounds = DEFAULT_BOUNDS,
) -> Submission:
    """Read ``base/parts...`` (e.g. ``submitted``, ``[student, assignment, name]``) safely and
    sanitize it, within ``bounds`` (``c.SubmissionLimits.*``); an unreadable file gives an
    :func:`unreadable_notebook` with the reason."""
    name = parts[-1] if parts else "?"
    try:
        data = untrusted.read_regular_file(base, parts, max_bytes=bounds.notebook_bytes)
    except untrusted.Unreadable as error:
        return _unreadable(master, f"{name} is not a readable notebook: {error.reason}")
    return from_bytes(data, master, name, bounds=bounds)


def _edited(submitted: str, master: str) -> bool:
    """Whether a test cell differs from both the master and the student version of it."""
    return submitted.strip() not in (master.strip(), without_hidden_tests(master).strip())


def _valid_id(cell_id: Any) -> bool:
    return (
        isinstance(cell_id, str)
        and 1 <= len(cell_id) <= 64
        and all(c.isalnum() or c in "-_" for c in cell_id)
    )


def sanitize(
    notebook: Any, master: Master, *, bounds: SubmissionBounds = DEFAULT_BOUNDS
) -> tuple[dict[str, Any], list[str]]:
    """A new notebook with the submission's cells on the master's nbgrader structure, and notes.

    Never raises on student input and never changes ``notebook``: whatever the
    submission holds, the result is a valid notebook whose nbgrader cells are
    those of the master, built only from strings the submission supplied.
    """
    notes: list[str] = []
    raw_cells = notebook.get("cells") if isinstance(notebook, Mapping) else None
    if not isinstance(raw_cells, list):
        reason = "the submission is not a Jupyter notebook (no list of cells)"
        return unreadable_notebook(master, reason), [reason]
    if len(raw_cells) > bounds.cells:
        notes.append(
            f"the notebook has {len(raw_cells)} cells; only the first {bounds.cells} count"
        )
        raw_cells = raw_cells[: bounds.cells]
    master_cells = master.cells_by_id
    master_order = [
        grade_id
        for grade_id in map(grade_id_of, master.content.get("cells", []))
        if grade_id is not None
    ]
    seen: set[str] = set()
    used_ids: set[str] = set()
    cells: list[dict[str, Any]] = []
    dropped = 0
    for raw in raw_cells:
        if not isinstance(raw, Mapping) or raw.get("cell_type") not in ("code", "markdown", "raw"):
            dropped += 1
            continue
        cell: dict[str, Any] = {
            "cell_type": raw["cell_type"],
            "metadata": {},
            "source": source_of(raw),
        }
        meta = nbgrader_meta(raw)
        grade_id = meta.get("grade_id")
        if grade_id is not None or meta:
            if isinstance(grade_id, str) and grade_id in master_cells and grade_id not in seen:
                original = master_cells[grade_id]
                role = nbgrader_meta(original)
                seen.add(grade_id)
                if meta != role and not same_role(meta, role):
                    notes.append(f"nbgrader metadata of cell {grade_id!r} was changed; restored")
                set_nbgrader_meta(cell, role)
                if not role.get("solution"):
                    # test and read-only cells: the master's source, whatever was submitted
                    if role.get("grade") and _edited(cell["source"], source_of(original)):
                        notes.append(f"test cell {grade_id!r} was edited; the master's is used")
                    cell["source"] = source_of(original)
                    cell["cell_type"] = original.get("cell_type", cell["cell_type"])
            elif isinstance(grade_id, str) and grade_id in seen:
                notes.append(
                    f"cell {_short(grade_id)} appears more than once; only the first counts"
                )
            else:
                notes.append(
                    f"a cell with unknown nbgrader id {_short(grade_id)} is treated as plain"
                )
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        raw_id = raw.get("id")
        cell_id = raw_id if isinstance(raw_id, str) and _valid_id(raw_id) else _new_cell_id()
        if cell_id in used_ids:
            cell_id = _new_cell_id()
        used_ids.add(cell_id)
        cell["id"] = cell_id
        cells.append(cell)
    if dropped:
        notes.append(f"{dropped} entries that are not notebook cells were dropped")
    # Cells deleted from the submission come back after their predecessor in the master.
    for position, grade_id in enumerate(master_order):
        if grade_id in seen:
            continue
        original = copy.deepcopy(master_cells[str(grade_id)])
        if is_solution(original):
            original["source"] = "# This answer cell was missing from the submission.\n"
        notes.append(f"cell {grade_id!r} was missing from the submission; the master's was added")
        if original.get("cell_type") == "code":
            original["outputs"] = []
            original["execution_count"] = None
        original["id"] = _new_cell_id()
        index = 0
        for previous in reversed(master_order[:position]):
            where = [i for i, c in enumerate(cells) if grade_id_of(c) == previous]
            if where:
                index = where[0] + 1
                break
        cells.insert(index, original)
        seen.add(str(grade_id))
    metadata = notebook.get("metadata")
    if isinstance(metadata, Mapping) and metadata.get("kernelspec") != master.content.get(
        "metadata", {}
    ).get("kernelspec"):
        notes.append("the notebook's kernelspec was changed; the master's is used")
    result_metadata: dict[str, Any] = {
        key: copy.deepcopy(value)
        for key, value in master.content.get("metadata", {}).items()
        if key in ("kernelspec", "language_info")
    }
    result_metadata[META_KEY] = {"notes": notes}
    return {"cells": cells, "metadata": result_metadata, "nbformat": 4, "nbformat_minor": 5}, notes
