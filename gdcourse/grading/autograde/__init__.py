"""Secure autograding inside nbgrader, one stage a module, in the order a submission meets them.

1. :mod:`~.master`: the master notebook and the literal cases of its test cells.
2. :mod:`~.submission`: read a submission with bounds, sanitize it on the master.
3. :mod:`~.run`: the sandbox job of a sanitized notebook, run and judged.
4. :mod:`~.judge`: the sandbox's report against the references, per test cell.
5. :mod:`~.handoff`: the judged notebooks ``gdcourse grade`` hands nbgrader to record.
6. :mod:`~.preprocessors`: what nbgrader calls (``nbgrader_config.py``): they record what
   was handed, or, for plain ``nbgrader autograde`` and formgrader, run the same stages.

No stage reaches back into an earlier one, and none runs test-cell code: the cases
are read from the master (:func:`gdcourse.grading.checks.parse_check_call`).
"""

from gdcourse.grading.autograde.judge import CellGrade, NotebookGrade, References, judge
from gdcourse.grading.autograde.master import GradedCell, Master, read_master
from gdcourse.grading.autograde.run import (
    grade,
    make_job,
    shared_references,
    shared_sandbox,
    student_cells,
)
from gdcourse.grading.autograde.submission import (
    Submission,
    read_submission,
    sanitize,
    unreadable_notebook,
)

__all__ = [
    "CellGrade",
    "GradedCell",
    "Master",
    "NotebookGrade",
    "References",
    "Submission",
    "grade",
    "judge",
    "make_job",
    "read_master",
    "read_submission",
    "sanitize",
    "shared_references",
    "shared_sandbox",
    "student_cells",
    "unreadable_notebook",
]
