"""One notebook model: only gdcourse/grading/notebook.py reads nbgrader's cell metadata and the
hidden-test markers, and it holds against any JSON a student can submit."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from gdcourse.grading import notebook

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "gdcourse"
OWNER = PACKAGE / "grading" / "notebook.py"
MARKERS = (notebook.HIDDEN_BEGIN, notebook.HIDDEN_END)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring constants of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _about_metadata(node: ast.AST) -> bool:
    return "meta" in ast.unparse(node).lower()


def readers_of_the_model(source: str) -> list[str]:
    """Where ``source`` reads nbgrader's cell metadata or a hidden-test marker itself."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings and any(m in node.value for m in MARKERS):
                found.append(f"line {line}: the marker {node.value!r}")
        elif isinstance(node, ast.Attribute) and node.attr == notebook.NBGRADER_KEY:
            if _about_metadata(node.value):
                found.append(f"line {line}: {ast.unparse(node)}")
        elif isinstance(node, ast.Subscript):
            key = node.slice
            if (
                isinstance(key, ast.Constant)
                and key.value == notebook.NBGRADER_KEY
                and _about_metadata(node.value)
            ):
                found.append(f"line {line}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "setdefault", "pop")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == notebook.NBGRADER_KEY
            and _about_metadata(node.func.value)
        ):
            found.append(f"line {line}: {ast.unparse(node)}")
    return found


def test_the_detector_finds_each_way_of_reading_the_model():
    planted = """
def f(cell, nb):
    a = cell["metadata"]["nbgrader"]
    b = cell.metadata.nbgrader
    c = cell.get("metadata", {}).get("nbgrader", {})
    d = "### BEGIN HIDDEN TESTS" in nb
    meta = cell["metadata"]
    e = meta.setdefault("nbgrader", {})
    info = resources["nbgrader"]  # nbconvert's resources, not a cell's metadata
"""
    assert len(readers_of_the_model(planted)) == 5, readers_of_the_model(planted)


def test_only_the_notebook_module_reads_nbgrader_metadata_and_the_markers():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == OWNER:
            continue
        found = readers_of_the_model(path.read_text(encoding="utf-8"))
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert not offenders, offenders


@pytest.mark.parametrize(
    "cell",
    [
        None,
        [],
        "cell",
        {"metadata": None},
        {"metadata": []},
        {"metadata": {"nbgrader": "x"}},
        {"metadata": {"nbgrader": {"grade_id": 7, "points": "9", "grade": 1}}},
        {"metadata": {"nbgrader": {"grade_id": "x" * 10_000, "points": float("nan")}}},
        {"metadata": {"nbgrader": {"points": True}}, "source": [1, None, "a"]},
        {"metadata": {"nbgrader": {"points": -3}}, "source": {"a": 1}},
        {"metadata": {"nbgrader": {"points": float("inf")}}, "source": 5},
    ],
)
def test_any_json_reads_as_a_cell_without_raising(cell):
    assert notebook.grade_id(cell) is None
    assert notebook.points(cell) == 0.0
    assert isinstance(notebook.source_of(cell), str)
    assert isinstance(notebook.nbgrader_meta(cell), dict)
    assert notebook.is_test_cell(cell) in (True, False)


def test_setting_metadata_repairs_a_malformed_cell_and_copies():
    role = {"grade_id": "t", "grade": True}
    cell = {"metadata": "junk"}
    notebook.set_nbgrader_meta(cell, role)
    role["grade"] = False
    assert notebook.nbgrader_meta(cell) == {"grade_id": "t", "grade": True}
    notebook.set_nbgrader_field(cell, "comment", "ok")
    assert notebook.nbgrader_meta(cell)["comment"] == "ok"


def test_without_hidden_tests_gives_the_student_version_of_every_test_cell():
    """The region nbgrader's release removes is the region the model removes."""
    compared = 0
    for master_path in sorted((ROOT / "solutions").glob("*/*.ipynb")):
        student_path = ROOT / "exercises" / master_path.parent.name / master_path.name
        master = json.loads(master_path.read_text(encoding="utf-8"))
        student = json.loads(student_path.read_text(encoding="utf-8"))
        released = {notebook.grade_id(c): notebook.source_of(c) for c in student["cells"]}
        for cell in master["cells"]:
            source = notebook.source_of(cell)
            if notebook.is_test_cell(cell) and notebook.has_hidden_tests(source):
                expected = released[notebook.grade_id(cell)].strip()
                assert notebook.without_hidden_tests(source).strip() == expected
                compared += 1
    assert compared >= 7  # every assignment has hidden checks


def test_an_unterminated_region_is_hidden_to_the_end():
    source = "visible()\n### BEGIN HIDDEN TESTS\nsecret()\n"
    assert notebook.without_hidden_tests(source) == "visible()\n"
