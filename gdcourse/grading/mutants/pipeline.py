"""Mutants graded the way ``gdcourse grade`` grades a submission.

A mutant is the student notebook (``exercises/<assignment>``) with every graded function
filled in with the master's solution, one of them changed (as
``tests/make_submissions.py`` makes the wrong-submission fixtures). Its bytes go through
the grader's own stages: read with bounds and sanitized on the master
(:func:`gdcourse.grading.autograde.submission.from_bytes`), made a job
(:func:`gdcourse.grading.autograde.run.prepare`), run in the sandbox on the local pool
(:class:`gdcourse.grading.runners.local.LocalRunner`, ``workers`` at a time, over one
warm host that imports what the assignment's submissions use), and judged here
(:func:`gdcourse.grading.autograde.run.judge_result`). Only nbgrader's recording, the
feedback pages and the report are left out: they write what the judge decided.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdcourse.grading import notebook as model
from gdcourse.grading.autograde import NotebookGrade, read_master
from gdcourse.grading.autograde import run as autorun
from gdcourse.grading.autograde.submission import from_bytes
from gdcourse.grading.sandbox import Limits

__all__ = [
    "MARKERS",
    "Graded",
    "SolutionCell",
    "Sources",
    "grade_notebooks",
    "notebook_with",
    "solution_cells",
]

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")

LIMITS = Limits(wall_seconds=60.0, cell_seconds=20.0, probe_seconds=20.0, cpu_seconds=60.0)
"""Limits for a mutant: a correct notebook takes about a second; a mutant that loops for
ever is stopped sooner than a student's notebook would be (it is killed either way)."""


@dataclass(frozen=True)
class SolutionCell:
    """A master's solution cell: its grade_id, its source without the solution markers,
    and the line ranges (1-based, inclusive) of its solution regions in that source."""

    grade_id: str
    source: str
    regions: tuple[tuple[int, int], ...]


Sources = dict[str, str]
"""grade_id -> the source of that solution cell in a notebook to grade."""


def solution_cells(master_path: Path) -> list[SolutionCell]:
    """The master's solution cells, in order."""
    content = json.loads(master_path.read_text(encoding="utf-8"))
    cells = []
    for cell in content.get("cells", []):
        if cell.get("cell_type") != "code" or not model.is_solution(cell):
            continue
        lines: list[str] = []
        regions: list[tuple[int, int]] = []
        start = 0
        for line in model.source_of(cell).splitlines():
            stripped = line.strip()
            if stripped == MARKERS[0]:
                start = len(lines) + 1
            elif stripped == MARKERS[1]:
                regions.append((start, len(lines)))
            else:
                lines.append(line)
        cells.append(SolutionCell(str(model.grade_id(cell)), "\n".join(lines), tuple(regions)))
    return cells


def notebook_with(student: dict[str, Any], sources: Sources) -> bytes:
    """The student notebook with the cells of ``sources`` (by grade_id) filled in, as the
    bytes a student would submit."""
    notebook = json.loads(json.dumps(student))
    for cell in notebook.get("cells", []):
        grade_id = model.grade_id(cell)
        if cell.get("cell_type") == "code" and grade_id in sources:
            cell["source"] = sources[grade_id]
    return json.dumps(notebook).encode()


@dataclass
class Graded:
    """What the grader made of one notebook."""

    key: str
    score: float
    max_score: float
    status: str
    misconceptions: dict[str, list[str]] = field(default_factory=dict)
    """function -> the misconceptions its visible checks named."""
    failed: list[str] = field(default_factory=list)
    """The test cells (grade_ids) that lost points."""
    messages: dict[str, str] = field(default_factory=dict)
    """grade_id -> the feedback of a test cell that lost points (visible cells only)."""

    @property
    def full_marks(self) -> bool:
        return self.score >= self.max_score > 0

    @classmethod
    def of(cls, key: str, grade: NotebookGrade) -> Graded:
        named: dict[str, list[str]] = {}
        failed, messages = [], {}
        for cell in grade.cells:
            if cell.misconceptions:
                named.setdefault(cell.function, []).extend(cell.misconceptions)
            if cell.score < cell.points:
                failed.append(cell.grade_id)
                if not cell.hidden:
                    messages[cell.grade_id] = cell.message
        return cls(key, grade.score, grade.max_score, grade.status, named, failed, messages)


def _progress(total: int, label: str) -> Callable[[int], None]:
    started = time.monotonic()
    stream = sys.stderr
    live = stream.isatty()

    def show(done: int) -> None:
        if not live and done not in (total,) and done % 25:
            return
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        text = f"{label}: {done}/{total} graded, {elapsed:.0f} s, {rate:.1f}/s"
        print(("\r" if live else "") + text, end="" if live and done < total else "\n",
              file=stream, flush=True)  # fmt: skip

    return show


def grade_notebooks(
    root: Path,
    jobs: Iterable[tuple[str, str, bytes]],
    *,
    workers: int,
    isolation: bool = True,
    limits: Limits = LIMITS,
    label: str = "grading",
) -> dict[str, Graded]:
    """Grade ``(key, assignment, notebook bytes)`` through the grader's stages, ``workers``
    sandboxes at a time; key -> :class:`Graded`. Each assignment's notebooks run on a host
    of their own that imports what that assignment's submissions use and its probes only,
    as ``gdcourse grade`` starts it."""
    items = list(jobs)
    show = _progress(len(items), label)
    results: dict[str, Graded] = {}
    for assignment in dict.fromkeys(a for _, a, _ in items):
        mine = [(key, data) for key, a, data in items if a == assignment]
        _grade_one_assignment(root, assignment, mine, workers, isolation, limits, results, show)
    return results


def _grade_one_assignment(
    root: Path,
    assignment: str,
    items: Sequence[tuple[str, bytes]],
    workers: int,
    isolation: bool,
    limits: Limits,
    results: dict[str, Graded],
    show: Callable[[int], None],
) -> None:
    from gdcourse.grading.runners.local import LocalRunner
    from gdcourse.grading.sandbox import Sandbox

    master = read_master(root / "solutions" / assignment / f"{assignment}.ipynb")
    references = autorun.shared_references(root)
    sandbox = Sandbox(
        isolation=isolation,
        course_root=root,
        preload=autorun.preload_for(master),
        probes=[autorun.probe_module(assignment)],
    )
    sandbox.start()
    runner: LocalRunner[tuple[str, dict[str, Any], Any, list[int]]] = LocalRunner(sandbox, workers)
    name = f"{assignment}.ipynb"
    try:
        pending = iter(items)
        exhausted = False
        while True:
            while not exhausted and runner.pending() < runner.window:
                item = next(pending, None)
                if item is None:
                    exhausted = True
                    break
                key, data = item
                notebook = from_bytes(data, master, name).notebook
                prepared = autorun.prepare(notebook, master, limits=limits)
                if isinstance(prepared, NotebookGrade):
                    results[key] = Graded.of(key, prepared)
                    show(len(results))
                    continue
                job, indices = prepared
                runner.submit((key, notebook, job, indices), job)
            if runner.pending() == 0:
                if exhausted:
                    break
                continue
            for (key, notebook, job, indices), result in runner.wait():
                grade = autorun.judge_result(
                    notebook, master, job, indices, result, references=references
                )
                results[key] = Graded.of(key, grade)
                show(len(results))
    finally:
        runner.close()
        sandbox.close()


def student_notebook(root: Path, assignment: str) -> dict[str, Any]:
    """The student version of ``assignment`` (``exercises/``) as JSON."""
    path = root / "exercises" / assignment / f"{assignment}.ipynb"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def correct_sources(cells: Sequence[SolutionCell]) -> Sources:
    return {cell.grade_id: cell.source for cell in cells}
