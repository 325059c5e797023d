"""Two audiences apart: the student's check never imports the instructor's reader of the masters.

:mod:`gdcourse.grading.checks` is what a notebook's ``check`` runs, and what the student
edition publishes; :mod:`gdcourse.grading.masters` reads the master notebooks, which only
instructors have. The import graph of the student side (every import statement, at any
depth of a module, followed through gdcourse's modules) must stay inside the files
``gdcourse/tools/publish.py`` publishes, and never reach the instructor's modules; a
running visible check must not load them either; a hidden check where they are missing
says when hidden checks run.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gdcourse.tools import publish

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR = ("gdcourse.grading.masters", "gdcourse.course")


def _module_file(root: Path, module: str) -> Path | None:
    base = root / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(root: Path, module: str, path: Path) -> set[str]:
    """Every gdcourse module ``module`` (at ``path``) names in an import statement."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            if name.split(".")[0] != "gdcourse":
                continue
            parts = name.split(".")  # importing a.b.c runs a, a.b and a.b.c
            found.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return {name for name in found if _module_file(root, name) is not None}


def student_closure(root: Path) -> dict[str, str]:
    """Every gdcourse module the student's check can import, each with who imports it first.

    The roots: the student module, the package ``gdcourse.grading`` (whose ``check`` a
    notebook imports), and every spec and probe module (loaded by name, per assignment).
    """
    roots = ["gdcourse.grading", "gdcourse.grading.checks"]
    for folder in ("specs", "probes"):
        roots += [
            f"gdcourse.grading.{folder}.{p.stem}"
            for p in sorted((root / "gdcourse" / "grading" / folder).glob("*.py"))
            if p.stem != "__init__"
        ]
    seen = {name: "(root)" for name in roots}
    todo = list(roots)
    while todo:
        module = todo.pop()
        path = _module_file(root, module)
        assert path is not None, module
        for name in _imports(root, module, path):
            if name not in seen:
                seen[name] = module
                todo.append(name)
    return seen


def _instructor_reached(root: Path) -> dict[str, str]:
    closure = student_closure(root)
    return {m: by for m, by in closure.items() if m.startswith(INSTRUCTOR)}


def test_the_student_side_imports_nothing_of_the_instructor_side() -> None:
    closure = student_closure(ROOT)
    assert "gdcourse.grading.checks" in closure and len(closure) > 20, sorted(closure)
    assert _instructor_reached(ROOT) == {}
    # and nothing the student edition leaves out: every module reached is published
    files = {}
    for module in closure:
        path = _module_file(ROOT, module)
        assert path is not None, module
        files[module] = path.relative_to(ROOT).as_posix()
    unpublished = {
        m: f
        for m, f in files.items()
        if not any(fnmatch.fnmatchcase(f, p) for p in publish.STUDENT_FILES)
        or any(fnmatch.fnmatchcase(f, p) for p in publish.INSTRUCTOR_FILES)
    }
    assert unpublished == {}


def test_the_graph_sees_an_import_of_the_instructor_side(tmp_path: Path) -> None:
    """The check is not blind: a student module importing the reader, even inside a
    function and relatively, is found, with the module that imports it."""
    for relative in ("gdcourse/__init__.py", "gdcourse/grading/__init__.py"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    for folder in ("specs", "probes", "framework"):
        shutil.copytree(
            ROOT / "gdcourse" / "grading" / folder, tmp_path / "gdcourse" / "grading" / folder
        )
    for name in ("checks", "masters", "misconceptions", "protocol", "shortcuts"):
        shutil.copy(ROOT / f"gdcourse/grading/{name}.py", tmp_path / f"gdcourse/grading/{name}.py")
    shutil.copy(ROOT / "gdcourse/course.py", tmp_path / "gdcourse/course.py")
    assert _instructor_reached(tmp_path) == {}
    protocol = tmp_path / "gdcourse/grading/protocol.py"
    protocol.write_text(
        protocol.read_text() + "\n\ndef _later():\n    from . import masters\n    return masters\n"
    )
    assert _instructor_reached(tmp_path) == {
        "gdcourse.grading.masters": "gdcourse.grading.protocol",
        "gdcourse.course": "gdcourse.grading.masters",
    }


RUN_VISIBLE = """
import json, sys
from gdcourse.grading import check
from gdcourse.grading.checks import CheckFailed
check("ps3_linear_regression", "mse", lambda y_pred, y: sum((a - b) ** 2 for a, b in
      zip(y_pred, y)) / len(y), cases=[{"y_pred": [1.0, 3.0], "y": [0.0, 1.0]}])
try:
    check("ps3_linear_regression", "mse", lambda y_pred, y: 0.0,
          cases=[{"y_pred": [1.0], "y": [0.0]}])
    failed = ""
except CheckFailed as error:
    failed = str(error)
print(json.dumps({"failed": failed, "loaded": sorted(
    n for n in sys.modules if n.startswith(("gdcourse.grading.masters", "gdcourse.course")))}))
"""


@pytest.mark.slow
def test_a_visible_check_loads_nothing_of_the_instructor_side() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RUN_VISIBLE],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["failed"].startswith("mse: 1 of 1 visible checks failed."), report
    assert report["loaded"] == []


def test_a_hidden_check_without_the_instructor_module_says_when_hidden_checks_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gdcourse.grading as grading
    from gdcourse.grading.checks import HIDDEN_AFTER_SUBMISSION, CheckFailed

    monkeypatch.setattr(grading, "INSTRUCTOR_MODULE", "gdcourse.grading.no_such_module")
    with pytest.raises(CheckFailed) as failed:
        grading.check(
            "ps3_linear_regression", "mse", lambda y_pred, y: 0.0,
            cases=[{"y_pred": [1.0], "y": [0.0]}], hidden=True,
        )  # fmt: skip
    assert str(failed.value) == HIDDEN_AFTER_SUBMISSION
