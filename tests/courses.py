"""Small scratch courses for the grading-at-scale tests, and the scores they must get.

:func:`make_course` copies the repository's ``nbgrader_config.py`` and the masters of
the assignments asked for into a folder and adds one submission per scenario of
``tests/attacks/`` (``ps4_autograd``) or per notebook given. :data:`SCORES` holds
what each ``ps4_autograd`` scenario used here must score (the attack suite of
tests/test_grading.py checks the same against the whole grader).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from gdcourse.grading.sandbox import Limits

ROOT = Path(__file__).resolve().parent.parent
ATTACKS = Path(__file__).resolve().parent / "attacks"
GRADE = Path(__file__).resolve().parent / "support" / "grade.py"
PS4 = "ps4_autograd"
VISIBLE, HIDDEN = "test_train_autograd_visible", "test_train_autograd_hidden"

#: (visible, hidden) points of each scenario: correct, wrong, untouched, unreadable...
SCORES = {
    "correct": (1.0, 2.0),
    "invalid_json": (0.0, 0.0),
    "syntax_error_elsewhere": (1.0, 2.0),
    "untouched": (0.0, 0.0),
    "wrong_sign": (0.0, 0.0),
}

#: The limits of tests/test_grading.py: generous wall-clock limits on a loaded machine.
LIMITS = Limits(
    cpu_seconds=20, wall_seconds=60.0, cell_seconds=20.0, probe_seconds=12.0, memory_bytes=1 << 30
)


def make_course(
    folder: Path,
    submissions: Mapping[str, Mapping[str, Path]] | Iterable[str] = tuple(SCORES),
    *,
    db_url: str | None = None,
) -> Path:
    """A course in ``folder``: ``submissions`` maps each assignment to ``{student: notebook}``
    (or lists ps4_autograd scenarios of tests/attacks/); ``db_url`` goes into its
    nbgrader_config.py."""
    if not isinstance(submissions, Mapping):
        submissions = {PS4: {name: ATTACKS / f"{name}.ipynb" for name in submissions}}
    config = (ROOT / "nbgrader_config.py").read_text()
    if db_url is not None:
        config += f"\nc.CourseDirectory.db_url = {db_url!r}\n"
    (folder / "nbgrader_config.py").write_text(config)
    for assignment, notebooks in submissions.items():
        (folder / "solutions" / assignment).mkdir(parents=True)
        for master in (ROOT / "solutions" / assignment).glob("*.ipynb"):
            shutil.copy(master, folder / "solutions" / assignment / master.name)
        for student, notebook in notebooks.items():
            target = folder / "submitted" / student / assignment
            target.mkdir(parents=True)
            shutil.copy(notebook, target / f"{assignment}.ipynb")
    return folder


def scores(db_url: str, assignment: str = PS4) -> dict[str, dict[str, float]]:
    """Every student's score per test cell of ``assignment`` in the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    found: dict[str, dict[str, float]] = {}
    with Gradebook(db_url, "gdcourse") as gradebook:
        try:
            submissions = gradebook.assignment_submissions(assignment)
        except MissingEntry:
            return {}
        for submission in submissions:
            for notebook in submission.notebooks:
                found[submission.student_id] = {g.name: g.score for g in notebook.grades}
    return found


def ps4_scores(db_url: str) -> dict[str, tuple[float, float]]:
    """``(visible, hidden)`` of every student of ps4_autograd."""
    return {s: (g[VISIBLE], g[HIDDEN]) for s, g in scores(db_url).items()}


def sqlite(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def journal_lines(course: Path, assignment: str = PS4) -> list[dict[str, object]]:
    """The complete lines of the durable record of ``assignment``."""
    path = course / "reports" / assignment / "graded.jsonl"
    if not path.exists():
        return []
    lines = []
    for line in path.read_text().splitlines(keepends=True):
        if line.endswith("\n"):
            lines.append(json.loads(line))
    return lines


def grade_process(course: Path, *args: str, **popen: object) -> subprocess.Popen[str]:
    """``gdcourse grade`` in a process of its own (tests/support/grade.py), in its own
    process group, with the test limits; its last line of output says whether Dask was
    imported."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.Popen(
        [sys.executable, str(GRADE), str(course), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
        **popen,  # type: ignore[arg-type]
    )
