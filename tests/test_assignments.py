"""Every assignment: naming, points, headers, the student release, and grading end to end.

Parametrised over the assignments that have a master in ``solutions/``, so a new
assignment is covered as soon as its master lands. The grading tests run
``nbgrader autograde`` at the root of a temporary copy of the course directory
(never the real gradebook), once per assignment for all its submissions.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from gdcourse.grading.checks import get_spec, parse_check_call
from gdcourse.grading.framework.spec import hint_for
from gdcourse.grading.misconceptions import MISCONCEPTIONS
from gdcourse.tools.release import generate_many

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import make_submissions  # noqa: E402

ASSIGNMENTS = sorted(
    p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file()
)
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN_MARKERS = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


def master(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)


def exercise(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)


def nbgrader_meta(cell: Any) -> dict[str, Any]:
    return dict(cell.metadata.get("nbgrader", {}))


def graded_functions(assignment: str) -> list[str]:
    return [
        nbgrader_meta(c)["grade_id"]
        for c in master(assignment).cells
        if c.cell_type == "code" and nbgrader_meta(c).get("solution")
    ]


def grade_cells(assignment: str) -> list[Any]:
    return [c for c in master(assignment).cells if nbgrader_meta(c).get("grade")]


def test_there_are_assignments() -> None:
    assert {"ps1_gradients", "ps2_gradient_descent", "ps3_linear_regression"} <= set(ASSIGNMENTS)


# ------------------------------------------------------------------ structure of the masters


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_canonical_header(assignment: str) -> None:
    for notebook in (master(assignment), exercise(assignment)):
        assert dict(notebook.metadata["kernelspec"]) == KERNELSPEC


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_title_names_the_assignment_as_the_book_does(assignment: str) -> None:
    """Every notebook opens with "# Assignment N: ...", N from its folder (``psN_...``), the
    name the book's assignment list and chapter endings use."""
    number = assignment.removeprefix("ps").partition("_")[0]
    for notebook in (master(assignment), exercise(assignment)):
        first = notebook.cells[0]
        assert first.cell_type == "markdown"
        assert first.source.startswith(f"# Assignment {number}: "), first.source.splitlines()[0]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_cell_ids_are_grade_ids_and_descriptive(assignment: str) -> None:
    notebook = master(assignment)
    ids = [cell.id for cell in notebook.cells]
    assert len(ids) == len(set(ids)), "duplicate cell ids"
    for cell in notebook.cells:
        meta = nbgrader_meta(cell)
        if meta:
            assert cell.id == meta["grade_id"], (cell.id, meta["grade_id"])
        assert not cell.id.startswith("cell-"), f"cell id {cell.id!r} is not descriptive"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_a_spec_and_self_contained_cell(assignment: str) -> None:
    functions = graded_functions(assignment)
    assert functions
    for cell in master(assignment).cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta.get("solution"):
            continue
        name = meta["grade_id"]
        assert get_spec(assignment, name).function == name
        tree = ast.parse(cell.source)
        defined = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
        assert name in defined, f"solution cell {name!r} does not define {name}"
        lines = cell.source.splitlines()
        begin = [ln.strip() for ln in lines].index("### BEGIN SOLUTION")
        assert all(not ln.startswith(("import ", "from ")) for ln in lines[begin:]), (
            f"{name}: imports belong at the top of the cell, outside the solution markers"
        )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_are_one_literal_check_call(assignment: str) -> None:
    functions = set(graded_functions(assignment))
    for cell in grade_cells(assignment):
        meta = nbgrader_meta(cell)
        grade_id = meta["grade_id"]
        call = parse_check_call(cell.source)
        assert call.assignment == assignment
        assert call.function in functions
        suffix = "hidden" if call.hidden else "visible"
        assert grade_id == f"test_{call.function}_{suffix}"
        first = ast.parse(cell.source.replace("### ", "# ")).body[0]
        assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
        assert "\n" not in first.value.value.strip(), "the docstring is one line"
        assert (HIDDEN_MARKERS[0] in cell.source) == call.hidden
        assert meta["locked"] is True


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_points_at_least_three_per_function_mostly_hidden(assignment: str) -> None:
    points: dict[str, dict[str, float]] = {}
    for cell in grade_cells(assignment):
        meta = nbgrader_meta(cell)
        call = parse_check_call(cell.source)
        kind = "hidden" if call.hidden else "visible"
        points.setdefault(call.function, {"hidden": 0.0, "visible": 0.0})[kind] += meta["points"]
        assert meta["points"] >= (2 if call.hidden else 1)
    assert set(points) == set(graded_functions(assignment))
    for function, split in points.items():
        assert split["hidden"] + split["visible"] >= 3, function
        assert split["hidden"] > split["visible"], function
        assert split["visible"] >= 1, f"{function} needs a visible test"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_has_no_pip_install_and_is_executed(assignment: str) -> None:
    for cell in master(assignment).cells:
        if cell.cell_type == "code":
            assert "pip install" not in cell.source
            assert cell.execution_count is not None, f"{cell.id} was not executed"
            if nbgrader_meta(cell).get("grade"):
                assert cell.outputs, f"{cell.id} has no output"


@pytest.mark.slow
def test_masters_pass_nbval() -> None:
    """Every master, run top to bottom, reproduces its committed outputs (pytest --nbval)."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider", "solutions"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


# ------------------------------------------------------------------ the student release


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_has_no_solution_code_and_no_hidden_tests(assignment: str) -> None:
    text = (ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text()
    for marker in SOLUTION_MARKERS + HIDDEN_MARKERS:
        assert marker not in text
    student = exercise(assignment)
    student_source = "\n".join(c.source for c in student.cells if c.cell_type == "code")
    for cell in master(assignment).cells:
        if nbgrader_meta(cell).get("solution"):
            body = cell.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            for line in body.strip().splitlines():
                assert line.strip() not in student_source or len(line.strip()) < 12, line
        if nbgrader_meta(cell).get("grade") and parse_check_call(cell.source).hidden:
            for case in parse_check_call(cell.source).cases:
                assert repr(case) not in student_source, f"hidden case {case} leaked"
            assert "hidden=True" not in student_source
    for cell in student.cells:
        if cell.cell_type == "code":
            assert not cell.outputs


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_test_cells_print_nothing(assignment: str) -> None:
    """No test cell of the student's notebook ends with a value (a bare docstring): it would be the
    cell's output, which ``nbgrader validate`` tries to read as a score and warns about (a
    hidden-test cell left with only its docstring did, 8 warnings on a correct notebook)."""
    for cell in exercise(assignment).cells:
        if cell.cell_type == "code" and nbgrader_meta(cell).get("grade"):
            body = ast.parse(cell.source).body
            last = body[-1] if body else None
            assert isinstance(last, ast.stmt), cell.source
            bare = isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call)
            assert not bare, cell.source  # a check(...) call returns None: no output


@pytest.fixture(scope="module")
def fresh_generation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every assignment generated again from its master, in one nbgrader run."""
    return generate_many(ASSIGNMENTS, tmp_path_factory.mktemp("fresh"))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_equals_a_fresh_generation(
    assignment: str, fresh_generation: dict[str, Path]
) -> None:
    fresh = fresh_generation[assignment]
    committed = ROOT / "exercises" / assignment
    fresh_files = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed_files = sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    assert fresh_files == committed_files
    for name in fresh_files:
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), (
            f"exercises/{assignment}/{name} differs from a fresh generation: run "
            f"`gdcourse release {assignment}`"
        )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_exercise_fails_only_where_the_student_has_work(assignment: str, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    folder = tmp_path / assignment
    shutil.copytree(ROOT / "exercises" / assignment, folder)
    notebook = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.execute()
    failing = {
        cell.id
        for cell in notebook.cells
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs)
    }
    visible = {f"test_{name}_visible" for name in graded_functions(assignment)}
    assert failing == visible
    for cell in notebook.cells:
        if cell.id in visible:
            error = next(o for o in cell.outputs if o.output_type == "error")
            assert error.ename == "CheckFailed"  # an AssertionError that shows only its message
            assert error.traceback[0].endswith("visible checks failed.\x1b[0m"), error.traceback
            assert "NotImplementedError" in error.evalue
            assert "not written yet" in error.evalue


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_correct_work_passes_every_visible_check_without_the_master(
    assignment: str, tmp_path: Path
) -> None:
    """On a student's machine (no solutions/ anywhere above) right answers pass."""
    from nbclient import NotebookClient

    notebook = make_submissions.build(assignment, None)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.execute()  # raises CellExecutionError at the first failing cell
    # one text per visible test cell (a print may arrive as several stream chunks)
    outputs = [
        "".join(o.get("text", "") for o in cell.outputs)
        for cell in notebook.cells
        if cell.id.endswith("_visible")
    ]
    assert len(outputs) == len(graded_functions(assignment))
    assert all("visible checks passed" in text for text in outputs), outputs


# ------------------------------------------------------------------ grading end to end


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GDCOURSE_ROOT"}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONWARNINGS"] = "ignore"
    return env


Graded = tuple[Path, dict[str, dict[str, tuple[float, float]]], str]


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Graded]:
    """``graded(assignment)``: autograde once per assignment and session, then reuse."""
    results: dict[str, Graded] = {}

    def get(assignment: str) -> Graded:
        if assignment not in results:
            results[assignment] = _autograde(assignment, tmp_path_factory.mktemp(assignment))
        return results[assignment]

    return get


def _autograde(assignment: str, course: Path) -> Graded:
    """Autograde the master, the untouched exercise and every wrong fixture of one assignment.

    Returns the course copy, ``{student: {grade_id: (score, max_score)}}`` and nbgrader's log.
    """
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "solutions" / assignment, course / "solutions" / assignment)

    def submit(student: str, source: Path | nbformat.NotebookNode) -> None:
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        target = folder / f"{assignment}.ipynb"
        if isinstance(source, Path):
            shutil.copy(source, target)
        else:
            nbformat.write(source, target)

    submit("master", ROOT / "solutions" / assignment / f"{assignment}.ipynb")
    submit("untouched", ROOT / "exercises" / assignment / f"{assignment}.ipynb")
    fixtures = ROOT / "tests" / "submissions" / assignment
    for path in sorted(fixtures.glob("*.ipynb")):
        submit(f"wrong-{path.stem}", path)
    # the course's own command: sandboxes two at a time, nbgrader's autograde records each
    result = subprocess.run(
        [sys.executable, "-m", "gdcourse", "grade", assignment, "--workers", "2"],
        cwd=course,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log

    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, tuple[float, float]]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gdcourse") as gradebook:
            for student in sorted(p.name for p in (course / "submitted").iterdir()):
                notebook = gradebook.find_submission_notebook(assignment, assignment, student)
                scores[student] = {
                    grade.name: (float(grade.score), float(grade.max_score))
                    for grade in notebook.grades
                }
    return course, scores, log


def _feedback(course: Path, student: str, assignment: str) -> dict[str, str]:
    """grade_id -> the text of the error each test cell showed in the autograded notebook.

    The grader's error output carries the summary line as ``evalue`` and the whole feedback
    (each case and its hint) as the ``traceback`` lines, which is what Jupyter shows.
    """
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    notebook = json.loads(path.read_text())
    texts = {}
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if grade_id and errors:
            texts[grade_id] = "\n".join(
                "\n".join([e.get("evalue", ""), *e.get("traceback", [])]) for e in errors
            )
    return texts


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_scores_full_marks(assignment: str, graded: Callable[[str], Graded]) -> None:
    _, scores, _ = graded(assignment)
    grades = scores["master"]
    assert grades and len(grades) == len(grade_cells(assignment))
    assert all(score == maximum > 0 for score, maximum in grades.values()), grades


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_exercise_scores_zero_without_errors(
    assignment: str, graded: Callable[[str], Graded]
) -> None:
    course, scores, log = graded(assignment)
    grades = scores["untouched"]
    assert len(grades) == len(grade_cells(assignment))
    assert all(score == 0 for score, _ in grades.values()), grades
    assert (course / "autograded" / "untouched" / assignment / f"{assignment}.ipynb").is_file()
    assert "| ERROR]" not in log, log


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_wrong_submissions_lose_points_and_get_named_hints(
    assignment: str, graded: Callable[[str], Graded]
) -> None:
    registries = make_submissions.registries()
    assert assignment in registries, (
        f"no wrong-submission registry tests/submissions/wrong_{assignment}.py"
    )
    expected = make_submissions.expected_hints(assignment)
    fixtures = {p.stem for p in (ROOT / "tests" / "submissions" / assignment).glob("*.ipynb")}
    assert fixtures == set(expected), "run python tests/make_submissions.py"
    course, scores, _ = graded(assignment)
    full = sum(maximum for _, maximum in scores["master"].values())
    for slug, (function, hint) in expected.items():
        grades = scores[f"wrong-{slug}"]
        total = sum(score for score, _ in grades.values())
        assert total < full, f"{slug} lost no points"
        lost = {gid for gid, (score, maximum) in grades.items() if score < maximum}
        assert lost <= {gid for gid in grades if gid.startswith(f"test_{function}_")}, (
            f"{slug}: points lost outside {function}: {sorted(lost)}"
        )
        feedback = _feedback(course, f"wrong-{slug}", assignment)
        # the student reads the misconception's hint in words; its name is the report's
        named = hint_for(get_spec(assignment, function), hint) if hint in MISCONCEPTIONS else hint
        words = " ".join(named.split())
        assert any(words in " ".join(feedback.get(gid, "").split()) for gid in lost), (
            f"{slug}: no feedback gives the hint of {hint!r}: {feedback}"
        )


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_fixtures_are_up_to_date(assignment: str) -> None:
    if assignment not in make_submissions.registries():
        pytest.fail(f"no wrong-submission registry tests/submissions/wrong_{assignment}.py")
    for slug, wrong in make_submissions.wrong_submissions(assignment).items():
        path = ROOT / "tests" / "submissions" / assignment / f"{slug}.ipynb"
        built = make_submissions.build(assignment, wrong)
        assert (
            nbformat.writes(built) + "\n" == path.read_text()
            or nbformat.writes(built) == path.read_text()
        ), f"{path} is stale: run python tests/make_submissions.py"
