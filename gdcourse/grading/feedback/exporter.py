"""The nbconvert exporter and the grades preprocessor that nbgrader's ``generate_feedback`` uses.

``nbgrader_config.py`` sets ``c.GenerateFeedback.exporter_class`` to
:class:`FeedbackExporter` and puts :class:`GetFeedbackGrades` first among
``c.GenerateFeedback.preprocessors`` (then nbgrader's ``ClearHiddenTests``), so
plain ``nbgrader generate_feedback``, formgrader's button and ``gdcourse grade``
all write the same page (:func:`~gdcourse.grading.feedback.page.render_page`).
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from traitlets import default

from gdcourse.grading.feedback.page import CHECK_KEY, render_page
from gdcourse.grading.notebook import (
    grade_id,
    has_hidden_tests,
    is_test_cell,
    set_nbgrader_field,
    source_of,
)

__all__ = [
    "FeedbackExporter",
    "GetFeedbackGrades",
    "Preloaded",
    "describe_checks",
    "preload",
    "preloaded",
]

# nbconvert and nbgrader are untyped: used through ``Any``.
_Exporter: Any = importlib.import_module("nbconvert.exporters").Exporter
_GetGrades: Any = importlib.import_module("nbgrader.preprocessors").GetGrades
_Preprocessor: Any = importlib.import_module("nbgrader.preprocessors").NbGraderPreprocessor

_CHECK_CALL = re.compile(r"""\bcheck\(\s*(['"])\w+\1\s*,\s*(['"])(?P<function>\w+)\2""")


def describe_checks(nb: Any) -> None:
    """Record in each test cell's metadata its function and whether its checks are hidden.

    It reads the test cell's source (the master's, restored by the sanitizer), so
    it must run before nbgrader's ``ClearHiddenTests`` removes the hidden call.
    """
    for cell in nb.get("cells", []):
        if not isinstance(cell, Mapping) or not is_test_cell(cell):
            continue
        source = source_of(cell)
        call = _CHECK_CALL.search(source)
        described = {"kind": "hidden" if has_hidden_tests(source) else "visible"}
        if call:
            described["function"] = call["function"]
        cell["metadata"][CHECK_KEY] = described


class FeedbackExporter(_Exporter):  # type: ignore[misc]
    """One self-contained, script-free HTML page per notebook: the student's feedback."""

    output_mimetype = "text/html"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".html"

    def from_notebook_node(
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        nb = copy.deepcopy(nb)
        describe_checks(nb)
        nb, resources = super().from_notebook_node(nb, resources, **kw)
        info = resources.get("nbgrader", {})
        metadata = nb.get("metadata", {})
        language = (
            metadata.get("language_info", {}).get("name")
            or metadata.get("kernelspec", {}).get("language")
            or "python"
        )

        def number(key: str) -> float | None:
            value = info.get(key)
            return float(value) if isinstance(value, int | float) else None

        page = render_page(
            nb.get("cells", []),
            assignment=str(info.get("assignment", "")),
            notebook=str(info.get("notebook") or resources.get("metadata", {}).get("name", "")),
            student=str(info.get("student", "")),
            score=number("score"),
            max_score=number("max_score"),
            late_penalty=number("late_penalty") or 0.0,
            language=str(language),
        )
        return page, resources


class GetFeedbackGrades(_GetGrades):  # type: ignore[misc]
    """nbgrader's ``GetGrades``, keeping only the comments a grader wrote.

    The automatic comments hold the same verdicts that the test cells show (see
    ``SaveReasons``), so the page would say everything twice. Inside :func:`preloaded`
    (``gdcourse grade``'s feedback) it reads the grades, comments and totals read for the
    whole run instead of asking the gradebook cell by cell; the page is the same.
    """

    _found: Preloaded | None = None

    def preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        found = _preloaded.get()
        info = resources["nbgrader"]
        key = (str(info["student"]), str(info["notebook"]))
        if found is None or key not in found.notebooks:
            asked: tuple[Any, Any] = super().preprocess(nb, resources)
            return asked
        self.notebook_id, self.assignment_id = info["notebook"], info["assignment"]
        self.student_id, self.db_url = info["student"], info["db_url"]
        self._found = found
        try:
            nb, resources = _Preprocessor.preprocess(self, nb, resources)
        except _Missing:
            self._found = None
            asked = super().preprocess(nb, resources)
            return asked
        finally:
            self._found = None
        score, max_score, late_penalty = found.notebooks[key]
        if late_penalty is None:
            late_penalty = 0
        else:
            self.log.warning(f"Late submission penalty: {late_penalty}")
        resources["nbgrader"]["score"] = score - late_penalty
        resources["nbgrader"]["max_score"] = max_score
        resources["nbgrader"]["late_penalty"] = late_penalty
        return nb, resources

    def _key(self, cell: Any) -> tuple[str, str, str]:
        return (str(self.student_id), str(self.notebook_id), str(grade_id(cell)))

    def _get_comment(self, cell: Any, resources: Any) -> None:
        if self._found is not None:
            try:
                set_nbgrader_field(cell, "comment", self._found.comments[self._key(cell)])
            except KeyError:
                raise _Missing from None
            return
        comment = self.gradebook.find_comment(
            grade_id(cell),
            self.notebook_id,
            self.assignment_id,
            self.student_id,
        )
        set_nbgrader_field(cell, "comment", comment.manual_comment)

    def _get_score(self, cell: Any, resources: Any) -> None:
        if self._found is None:
            super()._get_score(cell, resources)
            return
        try:
            score, points = self._found.grades[self._key(cell)]
        except KeyError:
            raise _Missing from None
        set_nbgrader_field(cell, "score", score)
        set_nbgrader_field(cell, "points", points)


# ------------------------------------------------------------------ one query per feedback run


@dataclass(frozen=True)
class Preloaded:
    """What nbgrader's ``GetGrades`` asks the gradebook, cell by cell, for every page of one
    assignment, read in three queries (:func:`preload`).

    Keys are nbgrader's own (student id, notebook name, cell name); a key nbgrader's
    lookup would find twice, or not at all, is left out, and that page asks the gradebook
    itself, as nbgrader does.
    """

    grades: Mapping[tuple[str, str, str], tuple[Any, Any]]
    """Grade and task cells: ``Grade.score`` and ``Grade.max_score``."""
    comments: Mapping[tuple[str, str, str], Any]
    """Solution and task cells: ``Comment.manual_comment``."""
    notebooks: Mapping[tuple[str, str], tuple[Any, Any, Any]]
    """``SubmittedNotebook.score``, ``max_score`` and ``late_submission_penalty``."""


_preloaded: ContextVar[Preloaded | None] = ContextVar("gdcourse_preloaded", default=None)


def _first_kind(rows: Any, order: tuple[str, ...]) -> dict[tuple[str, str, str], Any]:
    """``(student, notebook, cell, type, *values)`` rows as key -> values, the cell type
    that comes first in ``order`` winning (nbgrader looks for a grade cell, then a task
    cell of that name); a key with two rows of one type is dropped."""
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    doubled: set[tuple[tuple[str, str, str], str]] = set()
    for student, notebook, cell, kind, *values in rows:
        key = (str(student), str(notebook), str(cell))
        if kind in found.setdefault(key, {}):
            doubled.add((key, kind))
        found[key][kind] = values[0] if len(values) == 1 else tuple(values)
    chosen: dict[tuple[str, str, str], Any] = {}
    for key, kinds in found.items():
        for kind in order:
            if kind in kinds:
                if (key, kind) not in doubled:
                    chosen[key] = kinds[kind]
                break
    return chosen


def preload(db_url: str, course_id: str, assignment: str) -> Preloaded:
    """Every grade, comment and notebook total the pages of ``assignment`` show."""
    from nbgrader import api

    from gdcourse.grading.recording import gradebook

    def of_assignment(query: Any) -> Any:
        """``query`` (from a submitted notebook on) limited to ``assignment``, with the
        student's id and the notebook's name at hand."""
        return (
            query.join(api.Notebook, api.Notebook.id == api.SubmittedNotebook.notebook_id)
            .join(api.SubmittedAssignment,
                  api.SubmittedAssignment.id == api.SubmittedNotebook.assignment_id)
            .join(api.Assignment, api.Assignment.id == api.SubmittedAssignment.assignment_id)
            .filter(api.Assignment.name == assignment)
        )  # fmt: skip

    who = (api.SubmittedAssignment.student_id, api.Notebook.name)
    cell = (api.BaseCell.name, api.BaseCell.type)
    with gradebook(db_url, course_id) as book:
        db = book.db
        grades = of_assignment(
            db.query(*who, *cell, api.Grade.score, api.Grade.max_score)
            .select_from(api.Grade)
            .join(api.BaseCell, api.BaseCell.id == api.Grade.cell_id)
            .join(api.SubmittedNotebook, api.SubmittedNotebook.id == api.Grade.notebook_id)
        ).all()
        comments = of_assignment(
            db.query(*who, *cell, api.Comment.manual_comment)
            .select_from(api.Comment)
            .join(api.BaseCell, api.BaseCell.id == api.Comment.cell_id)
            .join(api.SubmittedNotebook, api.SubmittedNotebook.id == api.Comment.notebook_id)
        ).all()
        totals = of_assignment(
            db.query(*who, api.SubmittedNotebook.score, api.SubmittedNotebook.max_score,
                     api.SubmittedNotebook.late_submission_penalty)
            .select_from(api.SubmittedNotebook)
        ).all()  # fmt: skip
    notebooks: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
    twice: set[tuple[str, str]] = set()
    for student, notebook, score, max_score, penalty in totals:
        key = (str(student), str(notebook))
        if key in notebooks:
            twice.add(key)
        notebooks[key] = (score, max_score, penalty)
    for key in twice:
        del notebooks[key]
    return Preloaded(
        grades=_first_kind(grades, ("GradeCell", "TaskCell")),
        comments=_first_kind(comments, ("SolutionCell", "TaskCell")),
        notebooks=notebooks,
    )


@contextlib.contextmanager
def preloaded(found: Preloaded) -> Iterator[None]:
    """Within the block, :class:`GetFeedbackGrades` reads ``found`` instead of asking the
    gradebook cell by cell (nbgrader's ``GetGrades``, for every page)."""
    token = _preloaded.set(found)
    try:
        yield
    finally:
        _preloaded.reset(token)


class _Missing(LookupError):
    """A key the preloaded grades do not hold: the page asks the gradebook instead."""
