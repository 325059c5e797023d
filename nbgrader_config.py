"""nbgrader configuration: the repository root is the course directory.

Masters live in ``solutions/<assignment>/`` (nbgrader's "source" folder) and
``nbgrader generate_assignment`` (or ``gdcourse release``) writes the student
versions to ``exercises/<assignment>/`` (nbgrader's "release" folder).
Instructor working folders (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``) sit next to this file and are git-ignored.
"""

from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

# ---------------------------------------------------------------- course layout (assignments)
c.CourseDirectory.course_id = "gdcourse"
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# ---------------------------------------------------------------- grading (secure autograder)
# Student code runs in a sandbox; the grader judges plain data against the master's reference
# (gdcourse.grading.autograde). No test-cell code runs; a broken or hostile submission is graded
# with a recorded reason and never stops the run.
c.Autograde.exporter_class = "gdcourse.grading.autograde.preprocessors.TolerantExporter"
c.Autograde.sanitize_preprocessors = [
    "gdcourse.grading.autograde.preprocessors.SanitizeSubmission",
]
c.Autograde.autograde_preprocessors = [
    "gdcourse.grading.autograde.preprocessors.SandboxExecute",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "gdcourse.grading.autograde.preprocessors.SaveReasons",
    "nbgrader.preprocessors.AssignLatePenalties",
]
# Collect copies regular files only: a link, a device or a pipe in a submission is refused,
# and the reason is kept for `gdcourse grade` to report (gdcourse.grading.collect).
c.ExchangeFactory.collect = "gdcourse.grading.collect.SafeCollect"

# Feedback: one self-contained HTML page per notebook, one block per check with its points,
# maths as MathML, student text sanitized and a Content-Security-Policy that runs no script and
# loads nothing (gdcourse.grading.feedback). Comments shown are the graders' own; the code of
# hidden tests is removed.
c.GenerateFeedback.exporter_class = "gdcourse.grading.feedback.FeedbackExporter"
c.GenerateFeedback.preprocessors = [
    "gdcourse.grading.feedback.GetFeedbackGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
]
c.ClearHiddenTests.enforce_metadata = False  # a student's "BEGIN HIDDEN TESTS" must not fail it
# ---------------------------------------------------------------- export (grades.csv)
# `nbgrader export` writes reports/grades.csv (git-ignored), every cell a spreadsheet could run
# as a formula made inert (gdcourse.grading.export).
c.ExportApp.plugin_class = "gdcourse.grading.export.SafeCsvExportPlugin"
