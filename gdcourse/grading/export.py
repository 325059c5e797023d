"""Grades as CSV, with every cell a spreadsheet could run as a formula made inert.

Two routes write the same columns (nbgrader's own ``CsvExportPlugin`` columns)
through the same writer, :func:`write_grades`:

* ``nbgrader export`` uses :class:`SafeCsvExportPlugin` (``nbgrader_config.py``
  sets ``c.ExportApp.plugin_class``); without ``--to`` it writes
  ``reports/grades.csv`` under the course root, a git-ignored folder, instead of
  nbgrader's ``grades.csv`` in the current folder;
* ``gdcourse grade`` calls :func:`export_grades` for
  ``reports/<assignment>/grades.csv``.

Every text cell (student ids and names a student may have chosen, e-mails,
assignment names) goes through :func:`gdcourse.grading.escape.csv_cell` (student ids
through :func:`~gdcourse.grading.escape.visible_id` first), and
:mod:`csv` quotes commas, quotes and line breaks, which nbgrader's plugin does not.
"""

from __future__ import annotations

import csv
import importlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from gdcourse.grading.escape import csv_cell, visible_id

__all__ = ["COLUMNS", "SafeCsvExportPlugin", "export_grades", "grade_rows", "write_grades"]

#: The columns, in nbgrader's order.
COLUMNS = (
    "assignment",
    "duedate",
    "timestamp",
    "student_id",
    "last_name",
    "first_name",
    "email",
    "raw_score",
    "late_submission_penalty",
    "score",
    "max_score",
)

# nbgrader is untyped and heavy: imported when grades are exported, used through ``Any``.
_plugins: Any = importlib.import_module("nbgrader.plugins")


def grade_rows(
    gradebook: Any, *, assignments: Sequence[str] = (), students: Sequence[str] = ()
) -> Iterator[dict[str, Any]]:
    """One row per (assignment, student) of ``gradebook``, as nbgrader's CSV export makes it.

    Only ``assignments`` and ``students`` when given. A student without a
    submission gets 0 and an empty timestamp.
    """
    from nbgrader.api import MissingEntry

    wanted_assignments = {str(a) for a in assignments}
    wanted_students = {str(s) for s in students}
    for assignment in gradebook.assignments:
        if wanted_assignments and assignment.name not in wanted_assignments:
            continue
        for student in gradebook.students:
            if wanted_students and student.id not in wanted_students:
                continue
            row: dict[str, Any] = {
                "assignment": assignment.name,
                "duedate": assignment.duedate,
                "student_id": student.id,
                "last_name": student.last_name,
                "first_name": student.first_name,
                "email": student.email,
                "max_score": assignment.max_score,
            }
            try:
                submission = gradebook.find_submission(assignment.name, student.id)
            except MissingEntry:
                row.update(timestamp=None, raw_score=0.0, late_submission_penalty=0.0, score=0.0)
            else:
                penalty = submission.late_submission_penalty or 0.0
                row.update(
                    timestamp=submission.timestamp,
                    raw_score=submission.score,
                    late_submission_penalty=penalty,
                    score=max(0.0, submission.score - penalty),
                )
            yield row


def write_grades(rows: Any, destination: str | os.PathLike[str]) -> Path:
    """Write ``rows`` (mappings with :data:`COLUMNS`) as CSV, every cell through ``csv_cell``.

    Creates the destination's folder. Dates and times are written in ISO format. The
    student id is written as :func:`~gdcourse.grading.escape.visible_id` shows it (the id
    itself when it is printable ASCII), so that two ids never look alike in a spreadsheet.
    """
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in rows:
            cells = {column: _plain(row.get(column)) for column in COLUMNS}
            cells["student_id"] = visible_id(cells["student_id"] or "")
            writer.writerow([csv_cell(cells[column]) for column in COLUMNS])
    return path


def _plain(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    return isoformat(sep=" ") if callable(isoformat) and not isinstance(value, str) else value


def export_grades(
    gradebook_url: str,
    destination: str | os.PathLike[str],
    *,
    assignments: Sequence[str] = (),
    students: Sequence[str] = (),
) -> Path:
    """Export the grades of the gradebook at ``gradebook_url`` to the CSV file ``destination``.

    ``gradebook_url`` is an SQLAlchemy URL (``sqlite:///<course>/gradebook.db``);
    only ``assignments`` and ``students`` when given. Returns the file's path.
    """
    from nbgrader.api import Gradebook

    with Gradebook(gradebook_url) as gradebook:
        rows = list(grade_rows(gradebook, assignments=assignments, students=students))
    return write_grades(rows, destination)


class SafeCsvExportPlugin(_plugins.CsvExportPlugin):  # type: ignore[misc]
    """nbgrader's CSV export with formula injection neutralised and proper quoting.

    Without ``--to`` it writes ``reports/grades.csv`` in the course directory.
    """

    def default_destination(self) -> Path:
        coursedir = getattr(self.parent, "coursedir", None)
        root = Path(coursedir.root) if coursedir is not None else Path.cwd()
        return root / "reports" / "grades.csv"

    def export(self, gradebook: Any) -> None:
        destination = Path(self.to) if self.to else self.default_destination()
        self.log.info("Exporting grades to %s", destination)
        rows = grade_rows(gradebook, assignments=self.assignment, students=self.student)
        write_grades(list(rows), destination)
