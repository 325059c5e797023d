"""nbgrader configuration: the repository root is the course directory.

Masters live in ``solutions/<assignment>/`` (nbgrader's "source" folder) and
``nbgrader generate_assignment`` (or ``gdcourse release``) writes the student
versions to ``exercises/<assignment>/`` (nbgrader's "release" folder).
Instructor working folders (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``, ``reports/``) and the exchange (``exchange/``, unless a hub names
another) sit next to this file and are git-ignored. README's instructor guide walks
through a term with them.
"""

import sys
from pathlib import Path

from gdcourse.course import exchange_root

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

# ---------------------------------------------------------------- course layout (assignments)
c.CourseDirectory.course_id = "gdcourse"
c.CourseDirectory.root = str(Path(__file__).resolve().parent)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"

# ---------------------------------------------------------------- exchange (release, submit)
# Where assignments, submissions and feedback travel between you and the students. A hub's
# shared exchange (c.Exchange.root in /etc/jupyter/nbgrader_config.py, set by its admin for
# everyone, or in your ~/.jupyter/nbgrader_config.py) is used when there is one; otherwise
# exchange/ in this course (git-ignored), never nbgrader's system folder
# /usr/local/share/nbgrader/exchange. Students' JupyterLab needs the same course id and exchange
# in a config file (README, "Set up the exchange"): the Assignment List reads no command line.
c.Exchange.root = exchange_root(c.CourseDirectory.root)
# A student who fetches from this folder (the Assignment List of a JupyterLab started here, or
# `nbgrader fetch_assignment`) gets the assignment in work/<assignment>/, git-ignored, where
# `python3 -m gdcourse start` puts copies too; submit and fetch_feedback use the same folder.
c.Exchange.assignment_dir = str(Path(c.CourseDirectory.root) / "work")

# ---------------------------------------------------------------- validate (students)
# `nbgrader validate` and JupyterLab's Validate button run the notebook in a kernel on
# loopback TCP, as every Jupyter kernel does; ipykernel 7 then logs "Kernel is running over
# TCP without encryption" into the student's output. That kernel logs errors only.
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# `nbgrader validate` is gdcourse's (gdcourse.validate): a path that holds no notebook is an error
# that says so (nbgrader's own prints nothing), and success says the hidden tests run after
# submission. Only a running `nbgrader validate` changes: no other command, nor JupyterLab.
if "nbgrader.apps.validateapp" in sys.modules:  # an nbgrader command is reading this file
    from gdcourse.validate import use_in_nbgrader_validate

    use_in_nbgrader_validate()

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
# A shared exchange (a hub's) must have the shape `python3 -m gdcourse.exchange setup` gives it,
# which no student account can subvert; every step refuses one that lacks it, and a submission
# is readable by the staff only (gdcourse.exchange). The course's own exchange/ is yours alone:
# there, the steps are nbgrader's. Students' steps (the student edition ships only these):
c.ExchangeFactory.submit = "gdcourse.exchange.student.SecureSubmit"
c.ExchangeFactory.fetch_assignment = "gdcourse.exchange.student.SecureFetchAssignment"
c.ExchangeFactory.fetch_feedback = "gdcourse.exchange.student.SecureFetchFeedback"
c.ExchangeFactory.list = "gdcourse.exchange.student.SecureList"
c.ExchangeFactory.release_assignment = "gdcourse.exchange.staff.SecureReleaseAssignment"
# Collect copies regular files only: a link, a device or a pipe in a submission is refused,
# and the reason is kept for `gdcourse grade` to report (gdcourse.grading.collect). What
# another account submitted counts only under its own name and time (gdcourse.exchange.staff).
c.ExchangeFactory.collect = "gdcourse.exchange.staff.SecureCollect"
# Feedback goes back through the exchange for submissions that came through it; one placed in
# submitted/ by hand has no exchange receipt to fetch it with, so it is listed for you to hand
# out instead of stopping the release with a traceback (gdcourse.grading.release_feedback).
c.ExchangeFactory.release_feedback = "gdcourse.exchange.staff.SecureReleaseFeedback"

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

# ---------------------------------------------------------------- this installation's own settings
# nbgrader_config_local.py next to this file (git-ignored, yours alone) holds what belongs to
# this copy of the course, not to the repository: the gradebook's address when it is not
# gradebook.db (`gdcourse grade --db URL` writes c.CourseDirectory.db_url there, so that
# nbgrader's commands and formgrader use the same database), or the grader's limits on this
# machine. It is read last, so it wins; git status stays clean (gdcourse.grading.database).
load_subconfig(str(Path(__file__).resolve().parent / "nbgrader_config_local.py"))  # type: ignore[name-defined]  # noqa: F821
