"""Secure autograding inside nbgrader: sandboxed student code, judges in the grader.

``nbgrader_config.py`` replaces nbgrader's sanitizing and executing steps with
the preprocessors of this module, so that plain ``nbgrader autograde <a>`` (and
formgrader's button) grade this way and write nbgrader's own gradebook:

* :class:`TolerantExporter` reads a submission; a notebook that is not valid
  JSON (or not a notebook) becomes an empty copy of the master marked
  unreadable, so that it scores 0 with the reason instead of stopping the run.
* :class:`SanitizeSubmission` rebuilds the nbgrader metadata from the master:
  test and read-only cells get the master's source, a duplicated or unknown
  grade_id loses its metadata (the first copy counts), deleted cells come back,
  the kernelspec is the master's. What it changed is noted in the notebook.
* :class:`SandboxExecute` runs the student's code cells and the master's
  cases in a :mod:`~gdcourse.grading.sandbox`, judges the plain data that comes
  back against the master's reference solution (:func:`grade_notebook`), and
  writes each test cell's verdict as its output: an error output (0 points)
  with the message and hint, or a line saying that all checks passed.
* :class:`SaveReasons` (after nbgrader's ``SaveAutoGrades``) stores the reasons
  as the automatic comment of each graded function's solution cell.

No test-cell code runs anywhere: the cases are read from the master with
:func:`~gdcourse.grading.checks.parse_check_call`.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import json
import os
import re
import threading
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gdcourse.grading import checks
from gdcourse.grading.sandbox import (
    Job,
    Limits,
    Probe,
    SandboxError,
    SandboxResult,
    Zygote,
    shared_zygote,
)

__all__ = [
    "CellGrade",
    "GradedCell",
    "Master",
    "NotebookGrade",
    "SandboxExecute",
    "SanitizeSubmission",
    "SaveReasons",
    "TolerantExporter",
    "grade_notebook",
    "job_key",
    "judge_notebook",
    "make_job",
    "read_master",
    "read_submission",
    "remember",
    "sanitize",
    "shared_zygote",
    "student_cells",
    "unreadable_notebook",
]

META_KEY = "gdcourse"
"""Notebook metadata key under which grading notes travel from sanitizing to grading."""

UNREADABLE = "gdcourse_unreadable"
"""Key of nbconvert's resources where :class:`TolerantExporter` says a file was unreadable."""

LIMITS = Limits()
"""The sandbox limits of this process's grading (``gdcourse grade`` may change them)."""


# --------------------------------------------------------------------------- the master


@dataclass(frozen=True)
class GradedCell:
    """A test cell of the master: its grade_id, points and the ``check(...)`` it holds."""

    grade_id: str
    points: float
    call: checks.CheckCall


@dataclass(frozen=True)
class Master:
    """A master notebook as the grader needs it."""

    assignment: str
    notebook: str
    path: Path
    content: dict[str, Any]
    tests: tuple[GradedCell, ...]

    @property
    def cells_by_id(self) -> dict[str, dict[str, Any]]:
        """The master's nbgrader cells by grade_id."""
        found: dict[str, dict[str, Any]] = {}
        for cell in self.content.get("cells", []):
            grade_id = _nbgrader(cell).get("grade_id")
            if isinstance(grade_id, str):
                found.setdefault(grade_id, cell)
        return found


def _source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return source if isinstance(source, str) else ""


def _nbgrader(cell: Any) -> dict[str, Any]:
    if not isinstance(cell, Mapping):
        return {}
    metadata = cell.get("metadata")
    meta = metadata.get("nbgrader") if isinstance(metadata, Mapping) else None
    return dict(meta) if isinstance(meta, Mapping) else {}


_MASTERS: dict[tuple[str, float], Master] = {}
_MASTERS_LOCK = threading.Lock()


def read_master(path: str | os.PathLike[str]) -> Master:
    """Read a master notebook and the ``check(...)`` call of each of its test cells.

    A test cell is a code cell with nbgrader ``grade: true``, ``solution: false``;
    each must hold one literal ``check(...)`` call (``ValueError`` otherwise, naming
    the cell).
    """
    path = Path(path).resolve()
    key = (str(path), path.stat().st_mtime)
    with _MASTERS_LOCK:
        if key in _MASTERS:
            return _MASTERS[key]
    content = json.loads(path.read_text(encoding="utf-8"))
    tests = []
    for cell in content.get("cells", []):
        meta = _nbgrader(cell)
        if cell.get("cell_type") != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        grade_id = str(meta.get("grade_id"))
        try:
            call = checks.parse_check_call(_source(cell))
        except ValueError as error:
            raise ValueError(f"{path}: test cell {grade_id!r}: {error}") from None
        tests.append(GradedCell(grade_id, float(meta.get("points", 0)), call))
    assignment = path.parent.name
    master = Master(assignment, path.stem, path, content, tuple(tests))
    with _MASTERS_LOCK:
        _MASTERS[key] = master
    return master


# --------------------------------------------------------------------------- sanitizing


def _new_cell_id() -> str:
    return uuid.uuid4().hex[:12]


def unreadable_notebook(master: Master, reason: str) -> dict[str, Any]:
    """The master with every solution cell emptied, marked as an unreadable submission."""
    notebook = copy.deepcopy(master.content)
    for cell in notebook.get("cells", []):
        if _nbgrader(cell).get("solution"):
            cell["source"] = "# The submitted notebook could not be read.\n"
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    notebook.setdefault("metadata", {})[META_KEY] = {"unreadable": reason, "notes": [reason]}
    return notebook


def sanitize(notebook: Any, master: Master) -> tuple[dict[str, Any], list[str]]:
    """A copy of a submitted notebook with the master's nbgrader structure, and what changed.

    Never raises on student input: whatever the submission holds, the result
    is a valid notebook whose nbgrader cells are those of the master.
    """
    notes: list[str] = []
    if not isinstance(notebook, Mapping) or not isinstance(notebook.get("cells"), list):
        reason = "the submission is not a Jupyter notebook (no list of cells)"
        result = unreadable_notebook(master, reason)
        return result, [reason]
    master_cells = master.cells_by_id
    master_order = [
        _nbgrader(cell).get("grade_id")
        for cell in master.content.get("cells", [])
        if isinstance(_nbgrader(cell).get("grade_id"), str)
    ]
    seen: set[str] = set()
    used_ids: set[str] = set()
    cells: list[dict[str, Any]] = []
    for raw in notebook["cells"]:
        if not isinstance(raw, Mapping) or raw.get("cell_type") not in ("code", "markdown", "raw"):
            notes.append("a cell that is not a notebook cell was dropped")
            continue
        cell: dict[str, Any] = {
            "cell_type": raw["cell_type"],
            "metadata": {},
            "source": _source(raw),
        }
        metadata = raw.get("metadata")
        if isinstance(metadata, Mapping):
            cell["metadata"] = {
                k: copy.deepcopy(v) for k, v in metadata.items() if k != "nbgrader"
            }
        meta = _nbgrader(raw)
        grade_id = meta.get("grade_id")
        if grade_id is not None or meta:
            if isinstance(grade_id, str) and grade_id in master_cells and grade_id not in seen:
                original = master_cells[grade_id]
                seen.add(grade_id)
                if meta != _nbgrader(original) and not _same_roles(meta, _nbgrader(original)):
                    notes.append(f"nbgrader metadata of cell {grade_id!r} was changed; restored")
                cell["metadata"]["nbgrader"] = copy.deepcopy(_nbgrader(original))
                role = _nbgrader(original)
                if not role.get("solution"):
                    # test and read-only cells: the master's source, whatever was submitted
                    if role.get("grade") and _edited(cell["source"], _source(original)):
                        notes.append(f"test cell {grade_id!r} was edited; the master's is used")
                    cell["source"] = _source(original)
                    cell["cell_type"] = original.get("cell_type", cell["cell_type"])
            elif isinstance(grade_id, str) and grade_id in seen:
                notes.append(f"cell {grade_id!r} appears more than once; only the first counts")
            else:
                notes.append(f"a cell with unknown nbgrader id {grade_id!r} is treated as plain")
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        cell_id = raw.get("id")
        if not isinstance(cell_id, str) or cell_id in used_ids or not _valid_id(cell_id):
            cell_id = _new_cell_id()
        used_ids.add(cell_id)
        cell["id"] = cell_id
        cells.append(cell)
    # Cells deleted from the submission come back after their predecessor in the master.
    for position, grade_id in enumerate(master_order):
        if grade_id in seen:
            continue
        original = copy.deepcopy(master_cells[str(grade_id)])
        meta = _nbgrader(original)
        if meta.get("solution"):
            original["source"] = "# This answer cell was missing from the submission.\n"
        notes.append(f"cell {grade_id!r} was missing from the submission; the master's was added")
        if original.get("cell_type") == "code":
            original["outputs"] = []
            original["execution_count"] = None
        original["id"] = _new_cell_id()
        index = len(cells)
        for previous in reversed(master_order[:position]):
            where = [i for i, c in enumerate(cells) if _nbgrader(c).get("grade_id") == previous]
            if where:
                index = where[0] + 1
                break
        else:
            index = 0
        cells.insert(index, original)
        seen.add(str(grade_id))
    metadata = notebook.get("metadata")
    result_metadata: dict[str, Any] = {}
    if isinstance(metadata, Mapping):
        result_metadata = {
            k: copy.deepcopy(v) for k, v in metadata.items() if k not in (META_KEY, "nbgrader")
        }
    master_meta = master.content.get("metadata", {})
    for key in ("kernelspec", "language_info"):
        if key in master_meta:
            if result_metadata.get(key) != master_meta[key] and key == "kernelspec":
                notes.append("the notebook's kernelspec was changed; the master's is used")
            result_metadata[key] = copy.deepcopy(master_meta[key])
    result_metadata[META_KEY] = {"notes": notes}
    return {
        "cells": cells,
        "metadata": result_metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }, notes


def _without_hidden(source: str) -> str:
    kept, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            kept.append(line)
    return "\n".join(kept).strip()


def _edited(submitted: str, master: str) -> bool:
    """Whether a test cell differs from both the master and the student version of it."""
    return submitted.strip() not in (master.strip(), _without_hidden(master))


def read_submission(path: str | os.PathLike[str], master: Master) -> dict[str, Any]:
    """Read and :func:`sanitize` a submitted notebook, as nbgrader's sanitizing step does.

    A file that is not a readable notebook gives :func:`unreadable_notebook`.
    """
    notebook, unreadable = _read_notebook(path, master)
    if unreadable:
        return notebook
    cleaned, _ = sanitize(notebook, master)
    return cleaned


def _read_notebook(
    path: str | os.PathLike[str], master: Master
) -> tuple[dict[str, Any], str | None]:
    """The notebook at ``path``, or :func:`unreadable_notebook` and why it is unreadable.

    Only the file decides: a submission cannot declare itself unreadable (its own
    ``gdcourse`` metadata is dropped by :func:`sanitize`).
    """
    import nbformat

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            text = Path(path).read_text(encoding="utf-8")
            notebook = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        result: dict[str, Any] = json.loads(json.dumps(notebook, default=str))
        return result, None
    except Exception as error:  # anything a file can be: graded as unreadable
        reason = f"{Path(path).name} is not a readable notebook ({type(error).__name__})"
        return unreadable_notebook(master, reason), reason


def _same_roles(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    keys = ("grade", "solution", "locked", "points", "grade_id")
    return all(a.get(key) == b.get(key) for key in keys)


def _valid_id(cell_id: str) -> bool:
    return 1 <= len(cell_id) <= 64 and all(c.isalnum() or c in "-_" for c in cell_id)


# --------------------------------------------------------------------------- grading


@dataclass(frozen=True)
class CellGrade:
    """The verdict of one test cell."""

    grade_id: str
    function: str
    points: float
    score: float
    message: str
    hidden: bool
    misconceptions: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotebookGrade:
    """The verdicts of one submitted notebook, with what a human should know."""

    cells: tuple[CellGrade, ...]
    cell_errors: tuple[tuple[int, str], ...] = ()
    notes: tuple[str, ...] = ()
    needs_human: tuple[str, ...] = ()
    status: str = "ok"
    output: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(cell.score for cell in self.cells)

    @property
    def max_score(self) -> float:
        return sum(cell.points for cell in self.cells)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "max_score": self.max_score,
            "status": self.status,
            "notes": list(self.notes),
            "needs_human": list(self.needs_human),
            "cell_errors": [list(item) for item in self.cell_errors],
            "cells": [
                {
                    "grade_id": c.grade_id,
                    "function": c.function,
                    "points": c.points,
                    "score": c.score,
                    "hidden": c.hidden,
                    "message": c.message,
                    "misconceptions": list(c.misconceptions),
                }
                for c in self.cells
            ],
        }


def _is_test_source(source: str) -> bool:
    if "BEGIN HIDDEN TESTS" in source:
        return True
    try:
        checks.parse_check_call(source)
    except (ValueError, RecursionError, MemoryError):
        return False
    return True


def student_cells(notebook: Mapping[str, Any], master: Master) -> list[tuple[int, str]]:
    """``(index, source)`` of the code cells to run: every code cell but the test cells."""
    tests = {test.grade_id for test in master.tests}
    result = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        if _nbgrader(cell).get("grade_id") in tests:
            continue
        source = _source(cell)
        if _is_test_source(source):
            continue  # a retyped or copied test cell: the grader runs the master's
        result.append((index, source))
    return result


def _function_source(notebook: Mapping[str, Any], function: str) -> str:
    """The student's code for ``function``: its solution cell and any cell defining it."""
    parts = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        if _nbgrader(cell).get("grade_id") == function or _defines(source, function):
            parts.append(source)
    return "\n\n".join(parts)


def _defines(source: str, function: str) -> bool:
    if function not in source:
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return f"def {function}" in source
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return True
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == function for t in node.targets
        ):
            return True
    return False


def make_job(notebook: Mapping[str, Any], master: Master, limits: Limits) -> tuple[Job, list[int]]:
    """The sandbox job of a sanitized notebook, and the notebook index of each job cell."""
    cells = student_cells(notebook, master)
    probes = [Probe(t.grade_id, t.call.function, t.call.cases) for t in master.tests]
    job = Job(master.assignment, [source for _, source in cells], probes, limits=limits)
    return job, [index for index, _ in cells]


def job_key(job: Job) -> str:
    """A digest that identifies a job (the same code and cases give the same key)."""
    return hashlib.sha256(job.to_json().encode()).hexdigest()


_precomputed: dict[str, NotebookGrade] = {}
_precomputed_lock = threading.Lock()
_judge_lock = threading.Lock()


def grade_notebook(
    notebook: Mapping[str, Any],
    master: Master,
    *,
    zygote: Zygote | None = None,
    limits: Limits | None = None,
    root: str | os.PathLike[str] | None = None,
) -> NotebookGrade:
    """Grade a sanitized notebook: run it in a sandbox, judge every test cell here.

    Results are remembered by job (:func:`job_key`), so grading the same code
    again, in the same process, costs nothing (``gdcourse grade`` grades in
    parallel first, then lets nbgrader write the gradebook from one process).
    """
    limits = limits or LIMITS
    meta = notebook.get("metadata", {}).get(META_KEY, {})
    notes = tuple(str(n) for n in meta.get("notes", [])) if isinstance(meta, Mapping) else ()
    unreadable = meta.get("unreadable") if isinstance(meta, Mapping) else None
    if unreadable:
        cells = tuple(
            CellGrade(
                t.grade_id,
                t.call.function,
                t.points,
                0.0,
                f"Not graded: {unreadable}",
                t.call.hidden,
            )
            for t in master.tests
        )
        return NotebookGrade(
            cells, notes=notes, needs_human=(str(unreadable),), status="unreadable"
        )
    job, indices = make_job(notebook, master, limits)
    key = job_key(job)
    with _precomputed_lock:
        if key in _precomputed:
            return _precomputed[key]
    zygote = zygote or shared_zygote(root)
    try:
        result = zygote.run(job)
    except SandboxError as error:
        cells = tuple(
            CellGrade(
                t.grade_id, t.call.function, t.points, 0.0, f"Not graded: {error}", t.call.hidden
            )
            for t in master.tests
        )
        return NotebookGrade(
            cells, notes=notes, needs_human=(f"grader failure: {error}",), status="grader-error"
        )
    with _judge_lock:  # probes redirect sys.stdout: one judge at a time in this process
        grade = judge_notebook(notebook, master, result, indices, notes, root=root)
    with _precomputed_lock:
        _precomputed[key] = grade
    return grade


def judge_notebook(
    notebook: Mapping[str, Any],
    master: Master,
    result: SandboxResult,
    indices: Sequence[int],
    notes: Sequence[str] = (),
    *,
    root: str | os.PathLike[str] | None = None,
) -> NotebookGrade:
    """Judge the plain data a sandbox brought back, test cell by test cell."""
    if root is None:
        root = master.path.parents[2]
    needs_human: list[str] = []
    if not result.completed:
        needs_human.append(result.reason)
    cell_grades = []
    for test in master.tests:
        function = test.call.function
        failures: list[str] = []
        misconceptions: list[str] = []
        spec = checks.get_spec(test.call.assignment, function)
        forbidden = checks.forbidden_uses(_function_source(notebook, function), spec.forbidden)
        if forbidden:
            failures.append(
                f"{function} uses what this exercise asks you to write yourself: "
                + "; ".join(forbidden)
            )
        if test.grade_id in result.missing:
            failures.append(f"{result.missing[test.grade_id]}: run-time error or missing cell?")
        else:
            try:
                reference = checks.load_reference(test.call.assignment, function, root)
            except (OSError, LookupError, ValueError) as error:
                reference = None
                failures.append(f"grader failure: {error}")
                needs_human.append(f"no reference for {function}: {error}")
            for index, case in enumerate(test.call.cases):
                if reference is None:
                    break
                if (test.grade_id, index) not in result.outputs:
                    stopped = result.stopped.get(test.grade_id)
                    why = (
                        stopped or result.reason or "the student process stopped before this case"
                    )
                    failures.append(f"case {index + 1}: no result ({why})")
                    if stopped:
                        needs_human.append(f"{test.grade_id}: {stopped}")
                    break
                try:
                    verdict = checks.judge_case(
                        spec, case, result.outputs[(test.grade_id, index)], reference
                    )
                except Exception as error:  # a judge that fails must not stop the run
                    failures.append(f"case {index + 1}: could not be judged ({error})")
                    needs_human.append(f"{test.grade_id}: judging failed: {error}")
                    continue
                if not verdict.passed:
                    message = verdict.message
                    if test.call.hidden:
                        message = _redact_inputs(message, function, index)
                    failures.append(message)
                    if verdict.misconception and verdict.misconception not in misconceptions:
                        misconceptions.append(verdict.misconception)
        kind = "hidden" if test.call.hidden else "visible"
        count = len(test.call.cases)
        if failures:
            message = "\n\n".join([f"{function}: {kind} checks failed.", *failures])
            score = 0.0
        else:
            message = f"{function}: all {count} {kind} checks passed."
            score = test.points
        cell_grades.append(
            CellGrade(
                test.grade_id,
                function,
                test.points,
                score,
                message,
                test.call.hidden,
                tuple(misconceptions),
            )
        )
    cell_errors = tuple(
        (indices[i] if 0 <= i < len(indices) else -1, error) for i, error in result.cell_errors
    )
    for cell_index, cell_error in cell_errors:
        if cell_error.startswith("CellTimeout"):
            needs_human.append(f"cell {cell_index}: {cell_error}")
    return NotebookGrade(
        tuple(cell_grades),
        cell_errors=cell_errors,
        notes=tuple(notes),
        needs_human=tuple(dict.fromkeys(n for n in needs_human if n)),
        status=result.status,
        output=result.output,
        seconds=result.seconds,
    )


def _redact_inputs(message: str, function: str, index: int) -> str:
    """A hidden case's message without its inputs: what failed and the hint stay."""
    return re.sub(
        r"^(\s*)Checked: .*$",
        lambda m: f"{m.group(1)}Checked: {function} on hidden case {index + 1}",
        message,
        flags=re.MULTILINE,
    )


def remember(notebook: Mapping[str, Any], master: Master, grade: NotebookGrade) -> None:
    """Make a grade computed elsewhere the answer for this notebook in this process."""
    job, _ = make_job(notebook, master, LIMITS)
    with _precomputed_lock:
        _precomputed[job_key(job)] = grade


# --------------------------------------------------------------------------- nbgrader wiring

# nbconvert, nbformat and nbgrader are untyped: they are used through ``Any``.
_nbformat: Any = importlib.import_module("nbformat")
_NotebookExporter: Any = importlib.import_module("nbconvert.exporters").NotebookExporter
_nbgrader_api: Any = importlib.import_module("nbgrader.api")
_NbGraderPreprocessor: Any = importlib.import_module("nbgrader.preprocessors").NbGraderPreprocessor


def from_dict(data: Any) -> Any:
    return _nbformat.from_dict(data)


def NotebookNode(data: Any) -> Any:
    return _nbformat.NotebookNode(data)


def _master_for(resources: Mapping[str, Any]) -> Master:
    info = resources["nbgrader"]
    root = Path(info.get("course_root") or checks.course_root())
    return read_master(
        root / checks.SOURCE_DIRECTORY / info["assignment"] / f"{info['notebook']}.ipynb"
    )


def _course_root_of(path: str) -> Path:
    for folder in Path(path).resolve().parents:
        if (folder / checks.CONFIG_FILE).is_file():
            return folder
    return checks.course_root()


class TolerantExporter(_NotebookExporter):  # type: ignore[misc]
    """nbconvert's notebook exporter, except that an unreadable notebook is graded as such."""

    def from_filename(
        self, filename: str, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[Any, dict[str, Any]]:
        info = (resources or {}).get("nbgrader", {})
        root = _course_root_of(filename)
        master = read_master(
            root / checks.SOURCE_DIRECTORY / str(info.get("assignment")) / Path(filename).name
        )
        content, unreadable = _read_notebook(filename, master)
        notebook = from_dict(content)
        resources = self._init_resources(resources)
        resources[UNREADABLE] = unreadable
        resources["metadata"]["path"] = os.path.dirname(filename)
        resources["metadata"]["name"] = Path(filename).stem
        output: tuple[Any, dict[str, Any]] = self.from_notebook_node(notebook, resources, **kw)
        return output


class SanitizeSubmission(_NbGraderPreprocessor):  # type: ignore[misc]
    """Give a submission the master's nbgrader structure (see :func:`sanitize`)."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        master = _master_for_nb(resources)
        if resources.get(UNREADABLE):
            return nb, resources  # TolerantExporter's stand-in for an unreadable file
        cleaned, notes = sanitize(_plain(nb), master)
        for note in notes:
            self.log.warning("%s: %s", resources["nbgrader"]["student"], note)
        return from_dict(cleaned), resources


def _plain(nb: Any) -> Any:
    return json.loads(json.dumps(nb, default=str))


def _master_for_nb(resources: dict[str, Any]) -> Master:
    info = resources["nbgrader"]
    path = resources.get("metadata", {}).get("path") or "."
    root = _course_root_of(os.path.join(path, "x"))
    info.setdefault("course_root", str(root))
    return _master_for(resources)


def _error_output(message: str) -> Any:
    return NotebookNode(
        {
            "output_type": "error",
            "ename": "CheckFailed",
            "evalue": message,
            "traceback": message.splitlines() or [message],
        }
    )


def _stream(text: str) -> Any:
    return NotebookNode({"output_type": "stream", "name": "stdout", "text": text + "\n"})


class SandboxExecute(_NbGraderPreprocessor):  # type: ignore[misc]
    """Replaces nbgrader's ``Execute``: grade in a sandbox, write verdicts as outputs."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        master = _master_for_nb(resources)
        notebook = _plain(nb)
        grade = grade_notebook(notebook, master, root=resources["nbgrader"]["course_root"])
        by_id = {cell.grade_id: cell for cell in grade.cells}
        errors = dict(grade.cell_errors)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in by_id:
                verdict = by_id[grade_id]
                if verdict.score < verdict.points:
                    cell.outputs.append(_error_output(verdict.message))
                else:
                    cell.outputs.append(_stream(verdict.message))
            elif index in errors:
                cell.outputs.append(
                    _stream(f"This cell raised an error when graded: {errors[index]}")
                )
        student = resources["nbgrader"]["student"]
        for reason in grade.needs_human:
            self.log.warning("%s needs a human: %s", student, reason)
        resources.setdefault(META_KEY, {})["grade"] = grade
        return nb, resources


class SaveReasons(_NbGraderPreprocessor):  # type: ignore[misc]
    """Store each graded function's verdicts as its solution cell's automatic comment."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        grade: NotebookGrade | None = resources.get(META_KEY, {}).get("grade")
        if grade is None:
            return nb, resources
        info = resources["nbgrader"]
        comments: dict[str, list[str]] = {}
        for cell in grade.cells:
            comments.setdefault(cell.function, []).append(
                f"{cell.grade_id}: {cell.score:g}/{cell.points:g}. {cell.message}"
            )
        general = list(dict.fromkeys([*grade.needs_human, *grade.notes]))
        with _nbgrader_api.Gradebook(info["db_url"]) as gradebook:
            for function, lines in comments.items():
                try:
                    comment = gradebook.find_comment(
                        function, info["notebook"], info["assignment"], info["student"]
                    )
                except _nbgrader_api.MissingEntry:
                    continue
                comment.auto_comment = "\n\n".join([*general, *lines])[:20000]
            gradebook.db.commit()
        return nb, resources
