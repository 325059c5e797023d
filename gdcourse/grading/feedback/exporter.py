"""The nbconvert exporter and the grades preprocessor that nbgrader's ``generate_feedback`` uses.

``nbgrader_config.py`` sets ``c.GenerateFeedback.exporter_class`` to
:class:`FeedbackExporter` and puts :class:`GetFeedbackGrades` first among
``c.GenerateFeedback.preprocessors`` (then nbgrader's ``ClearHiddenTests``), so
plain ``nbgrader generate_feedback``, formgrader's button and ``gdcourse grade``
all write the same page (:func:`~gdcourse.grading.feedback.page.render_page`).
"""

from __future__ import annotations

import copy
import importlib
import re
from collections.abc import Mapping
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

__all__ = ["FeedbackExporter", "GetFeedbackGrades", "describe_checks"]

# nbconvert and nbgrader are untyped: used through ``Any``.
_Exporter: Any = importlib.import_module("nbconvert.exporters").Exporter
_GetGrades: Any = importlib.import_module("nbgrader.preprocessors").GetGrades

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
    ``SaveReasons``), so the page would say everything twice.
    """

    def _get_comment(self, cell: Any, resources: Any) -> None:
        comment = self.gradebook.find_comment(
            grade_id(cell),
            self.notebook_id,
            self.assignment_id,
            self.student_id,
        )
        set_nbgrader_field(cell, "comment", comment.manual_comment)
