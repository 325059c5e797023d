"""Feedback pages: one self-contained, script-free HTML page per graded notebook.

* :mod:`~.markdown`: a student's Markdown as inert HTML, maths as MathML, bounded;
* :mod:`~.page`: the page of one notebook, the total first, one block per check;
* :mod:`~.exporter`: the nbconvert exporter and grades preprocessor that
  ``nbgrader generate_feedback`` (and so ``gdcourse grade``) uses, as
  ``nbgrader_config.py`` configures it;
* :mod:`~.generate`: the pages of a grading run, each student named alone.
"""

from gdcourse.grading.feedback.exporter import FeedbackExporter, GetFeedbackGrades, describe_checks
from gdcourse.grading.feedback.markdown import (
    Budget,
    render_markdown,
    sanitize_html,
    tex_to_mathml,
)
from gdcourse.grading.feedback.page import CSP, render_page

__all__ = [
    "CSP",
    "Budget",
    "FeedbackExporter",
    "GetFeedbackGrades",
    "describe_checks",
    "render_markdown",
    "render_page",
    "sanitize_html",
    "tex_to_mathml",
]
