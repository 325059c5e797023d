"""nbgrader's autograde, wired to the secure grader (``nbgrader_config.py`` names these).

Inside ``gdcourse grade``, nbgrader only records: the pipeline hands each student's
judged notebooks to this call (:mod:`~gdcourse.grading.autograde.handoff`, keyed by
nbgrader's student and notebook ids), and every class below takes them from there,
reading, sanitizing and running nothing again. With nothing handed (plain
``nbgrader autograde``, formgrader's button), they run the same stages themselves:

* :class:`TolerantExporter` reads a notebook with every bound (no links, a
  regular file of bounded size, bounded JSON): a file that cannot be read
  becomes an empty copy of the master marked unreadable, graded 0 with the
  reason, instead of stopping the run. It does not sanitize: nbgrader's first
  pass hands the submission to :class:`SanitizeSubmission`, its second pass
  reads back what the first wrote.
* :class:`SanitizeSubmission` rebuilds it on the master's structure
  (:func:`~gdcourse.grading.autograde.submission.sanitize`).
* :class:`SandboxExecute` replaces nbgrader's ``Execute``: the submission runs in
  the sandbox and is judged here (:func:`~gdcourse.grading.autograde.run.grade`,
  the stages ``gdcourse grade`` runs); each test cell's verdict becomes its output (an
  error output with the message, or a line saying all checks passed). With
  ``isolation = True`` (the default) it refuses to run where the machine cannot
  isolate student code, and says what to do. The sandbox's limits are
  ``c.SandboxLimits.*`` of nbgrader's configuration (:mod:`gdcourse.grading.settings`).
* :class:`SaveReasons` (after nbgrader's ``SaveAutoGrades``) stores the reasons as
  the automatic comment of each graded function's solution cell.

Everything else (gradebook writes, late penalties, output limits) is nbgrader's own.
"""

from __future__ import annotations

import copy
import importlib
import json
import os
from pathlib import Path
from typing import Any

from traitlets import Bool

from gdcourse.course import Course, find_root
from gdcourse.grading.autograde import run
from gdcourse.grading.autograde.handoff import Graded, handed
from gdcourse.grading.autograde.judge import NotebookGrade
from gdcourse.grading.autograde.master import Master, read_master
from gdcourse.grading.autograde.submission import META_KEY, read_notebook, sanitize
from gdcourse.grading.instructor_log import write_private
from gdcourse.grading.notebook import grade_id, source_of
from gdcourse.grading.settings import SandboxLimits, submission_bounds

__all__ = ["SandboxExecute", "SanitizeSubmission", "SaveReasons", "TolerantExporter"]

UNREADABLE = "gdcourse_unreadable"
"""Key of nbconvert's resources where :class:`TolerantExporter` says a file was unreadable."""

# nbconvert, nbformat and nbgrader are untyped: they are used through ``Any``.
_nbformat: Any = importlib.import_module("nbformat")
_NotebookExporter: Any = importlib.import_module("nbconvert.exporters").NotebookExporter
_nbgrader_api: Any = importlib.import_module("nbgrader.api")
_Preprocessor: Any = importlib.import_module("nbgrader.preprocessors").NbGraderPreprocessor


def course_root_of(path: str | os.PathLike[str]) -> Path:
    """The course directory holding ``path`` (the nearest folder with nbgrader_config.py)."""
    return find_root(start=Path(path).resolve().parent)


def _master(root: Path, assignment: str, notebook: str) -> Master:
    return read_master(Course.open(root).master(assignment, notebook))


def _plain(nb: Any) -> Any:
    return json.loads(json.dumps(nb, default=str))


class TolerantExporter(_NotebookExporter):  # type: ignore[misc]
    """nbconvert's notebook exporter, reading submissions with bounds and without links.

    It validates a notebook once, after every preprocessor has run (nbconvert's
    ``optimistic_validation``), not after each of them: the notebook written is the same,
    and a preprocessor that broke it still fails the conversion, naming the last one.
    """

    optimistic_validation = Bool(
        True, help="Validate once, after all preprocessors (the notebook written is the same)."
    ).tag(config=True)

    def _preprocess(self, nb: Any, resources: Any) -> tuple[Any, Any]:
        """nbconvert's, without its first copy of the notebook: ``nb`` is already this
        conversion's own (``from_notebook_node`` copied it) and normalising copies it
        again."""
        resc = copy.deepcopy(resources)
        _, nbc = _nbformat.validator.normalize(nb)
        preprocessor = None
        for preprocessor in self._preprocessors:
            nbc, resc = preprocessor(nbc, resc)
        if preprocessor is not None:
            self._validate_preprocessor(nbc, preprocessor)
        return nbc, resc

    def from_filename(
        self, filename: str, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[Any, dict[str, Any]]:
        info = (resources or {}).get("nbgrader", {})
        path = Path(os.path.abspath(filename))
        given = _handed_for(resources or {})
        if given is not None:  # both passes: the notebook the pipeline sanitized, not the file
            submission = given.submission  # from_dict, below, copies it for nbgrader to change
        else:
            root = course_root_of(path)
            master = _master(root, str(info.get("assignment")), path.stem)
            relative = path.relative_to(root).parts
            # the first pass reads the submission, the second the sanitized notebook it wrote
            submission = read_notebook(
                root / relative[0], relative[1:], master, bounds=submission_bounds(self)
            )
        notebook = _nbformat.from_dict(submission.notebook)
        for cell in notebook.get("cells", []):
            if isinstance(cell, dict) and isinstance(cell.get("source"), list):
                cell["source"] = source_of(cell)  # as nbformat reads it: one string
        resources = self._init_resources(resources)
        resources[UNREADABLE] = submission.unreadable
        resources["metadata"]["path"] = str(path.parent)
        resources["metadata"]["name"] = path.stem
        output: tuple[Any, dict[str, Any]] = self.from_notebook_node(notebook, resources, **kw)
        return output


def _handed_for(resources: dict[str, Any]) -> Graded | None:
    """What the pipeline handed for this notebook (nbgrader's ids), or ``None``."""
    info = resources.get("nbgrader", {})
    return handed(str(info.get("student")), str(info.get("notebook")))


def _master_for(resources: dict[str, Any]) -> Master:
    info = resources["nbgrader"]
    path = resources.get("metadata", {}).get("path") or "."
    root = course_root_of(os.path.join(path, "x"))
    info.setdefault("course_root", str(root))
    return _master(root, info["assignment"], info["notebook"])


class SanitizeSubmission(_Preprocessor):  # type: ignore[misc]
    """Give a submission the master's nbgrader structure (see ``sanitize``)."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        if resources.get(UNREADABLE):
            return nb, resources  # already the master's structure, marked unreadable
        if _handed_for(resources) is not None:
            return nb, resources  # sanitized by the pipeline, which handed it over
        master = _master_for(resources)
        cleaned, notes = sanitize(_plain(nb), master, bounds=submission_bounds(self))
        for note in notes:
            self.log.warning("%s: %s", resources["nbgrader"]["student"], note)
        return _nbformat.from_dict(cleaned), resources


def _error_output(message: str) -> Any:
    return _nbformat.NotebookNode(
        {
            "output_type": "error",
            "ename": "CheckFailed",
            "evalue": message.split("\n", 1)[0],
            "traceback": message.splitlines() or [message],
        }
    )


def _stream(text: str) -> Any:
    return _nbformat.NotebookNode({"output_type": "stream", "name": "stdout", "text": text + "\n"})


class SandboxExecute(_Preprocessor):  # type: ignore[misc]
    """Replaces nbgrader's ``Execute``: grade in the sandbox, write verdicts as outputs."""

    isolation = Bool(
        True,
        help="Run student code isolated (bubblewrap and user namespaces). Grading refuses to "
        "start where that is impossible, unless this is switched off on purpose.",
    ).tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        given = _handed_for(resources)
        if given is not None:
            grade = given.grade  # judged by the pipeline for this run: nothing runs again
        else:
            master = _master_for(resources)
            root = resources["nbgrader"]["course_root"]
            grade = run.grade(
                _plain(nb),
                master,
                sandbox=run.shared_sandbox(root, isolation=self.isolation, master=master),
                references=run.shared_references(root),
                limits=SandboxLimits(parent=self).limits(),
            )
        by_id = {cell.grade_id: cell for cell in grade.cells}
        errors = dict(grade.cell_errors)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs = []
            cell_id = grade_id(cell)
            if cell_id in by_id:
                verdict = by_id[cell_id]
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
        if given is None and grade.private:  # gdcourse grade writes its own run's
            reports = Course.open(resources["nbgrader"]["course_root"]).reports
            info = resources["nbgrader"]
            write_private(reports / info["assignment"], student, info["notebook"], grade.private)
        resources.setdefault(META_KEY, {})["grade"] = grade
        return nb, resources


class SaveReasons(_Preprocessor):  # type: ignore[misc]
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
