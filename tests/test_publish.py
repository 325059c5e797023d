"""The student edition (``gdcourse publish``): nothing of the answers in it, and it works.

Every file of the edition (and of the published site) is searched, archives opened, HTML
read as a browser shows its text and notebooks as their cells' text, for every solution
cell body of every master (whitespace normalised, and each distinctive line of it) and every
hidden test case (its literal text, and the distinctive values drawn from it): zero hits. A
planted leak of each kind is found by the same search. The published package imports in an
interpreter that sees only the edition and the environment's third-party packages, and with
it each assignment's visible checks pass for the master's solutions and fail, with the
teaching message, for a wrong one.
"""

from __future__ import annotations

import ast
import fractions
import functools
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import built_site  # tests/built_site.py
import make_submissions  # tests/make_submissions.py
import pytest

from gdcourse.grading.checks import parse_check_call
from gdcourse.tools import publish

ROOT = Path(__file__).resolve().parents[1]
MASTERS = sorted((ROOT / "solutions").glob("*/*.ipynb"))
SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
#: A line of a solution shorter than this (normalised) is too common to tell a leak.
DISTINCTIVE_LINE = 24
#: Archives are opened this deep (an archive in an archive in an archive).
ARCHIVE_DEPTH = 3


# ------------------------------------------------------------------ what must not leak


@dataclass(frozen=True)
class Needle:
    """One thing no published file may hold."""

    text: str
    """Normalised (:func:`words`, or :func:`numbers` for ``numeric``)."""
    origin: str
    """Which master and cell it comes from, and what it is."""
    numeric: bool = False


def words(text: str) -> str:
    """Whitespace runs as one space: code compares however it was indented or wrapped."""
    return " ".join(text.split())


def numbers(text: str) -> str:
    """Only the numbers of ``text``, space-separated: a list of values matches however it
    is printed (Python, JSON, NumPy)."""
    return " " + " ".join(re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text.lower())) + " "


def _regions(source: str, markers: tuple[str, str]) -> list[str]:
    begin, end = (re.escape(m) for m in markers)
    return re.findall(rf"{begin}\n?(.*?){end}", source, flags=re.S)


def _cells(path: Path) -> Iterator[tuple[str, str, dict[str, object]]]:
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        source = cell["source"]
        meta = cell.get("metadata", {}).get("nbgrader", {})
        yield cell["cell_type"], "".join(source) if isinstance(source, list) else source, meta


def _numeric_values(value: object) -> Iterator[object]:
    """Every value of a case, lists and their members alike."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from _numeric_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numeric_values(item)


def _distinctive(value: object) -> bool:
    """A value that would not turn up in a file by chance, nor by working the exercise out: a
    number with six significant digits or more that is no fraction of small integers (the
    optimal momentum of a quadratic is one: students compute it), or a list of four numbers
    or more."""
    if isinstance(value, float):
        digits = numbers(repr(value)).strip().lstrip("-0.").replace(".", "")
        simple = float(fractions.Fraction(value).limit_denominator(1000)) == value
        return len(digits) >= 6 and not simple
    if isinstance(value, list | tuple):
        return len(numbers(json.dumps(value)).split()) >= 4
    return False


@functools.cache
def public_sources() -> tuple[str, str]:
    """The course's own public teaching material, as :func:`words` and :func:`numbers`: the
    book's pages, the student notebooks and the modules students get (the library, and the
    specs' public references). A line or value found there is taught in the open, so finding
    it in the edition says nothing; everything else of a master's solutions and hidden tests
    is looked for."""
    paths = [*sorted((ROOT / "book").glob("*.md")), *sorted((ROOT / "exercises").rglob("*.ipynb"))]
    paths += [ROOT / f for f in publish.package_files(ROOT) if f.endswith(".py")]
    texts = []
    for path in paths:
        if path.suffix == ".ipynb":
            texts += [source for _, source, _ in _cells(path)]
        else:
            texts.append(path.read_text(encoding="utf-8"))
    joined = "\n".join(texts)
    return words(joined), numbers(joined)


def needles_of(master: Path) -> list[Needle]:
    """What of ``master`` must not reach students: each solution region, each line of it and
    each value of a hidden case that the course does not teach in the open, and each hidden
    test cell and case as written."""
    public_text, public_numbers = public_sources()
    found: list[Needle] = []
    for _, source, meta in _cells(master):
        where = f"{master.relative_to(ROOT)} {meta.get('grade_id')}"
        for region in _regions(source, SOLUTION):
            if words(region) not in public_text:
                found.append(Needle(words(region), f"{where}: solution"))
            for line in region.splitlines():
                text = words(line)
                if len(text) >= DISTINCTIVE_LINE and text not in public_text:
                    found.append(Needle(text, f"{where}: solution line"))
        for region in _regions(source, HIDDEN):
            found.append(Needle(words(region), f"{where}: hidden test"))
            call = parse_check_call(region)
            for case in call.cases:
                found.append(Needle(words(repr(case)), f"{where}: hidden case"))
                for value in _numeric_values(case):
                    text = numbers(json.dumps(value))
                    if _distinctive(value) and text not in public_numbers:
                        found.append(Needle(text, f"{where}: hidden value {value!r}", True))
    return found


@pytest.fixture(scope="module")
def needles() -> list[Needle]:
    found = [needle for master in MASTERS for needle in needles_of(master)]
    kinds = {n.origin.rsplit(": ", 1)[1].split(" ")[0] for n in found}
    assert {"solution", "hidden"} <= kinds and any(n.numeric for n in found), kinds
    return found


# ------------------------------------------------------------------ reading every file


class _Text(HTMLParser):
    """An HTML or SVG file's text as a browser shows it (entities decoded, tags gone)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _json_strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        yield "".join(value)  # a notebook cell's source or output, one string a line
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _json_strings(item)


def readings(name: str, data: bytes, depth: int = 0) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for every way a person or program could read ``data``: its bytes
    as text, an HTML page's text, a notebook's and any JSON's strings, and every member of
    an archive (zip, wheel, tar, gzip), recursively."""
    lower = name.lower()
    if depth < ARCHIVE_DEPTH and (lower.endswith((".zip", ".whl")) or data[:4] == b"PK\x03\x04"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.infolist():
                if not member.is_dir():
                    yield from readings(
                        f"{name}!{member.filename}", archive.read(member), depth + 1
                    )
        return
    if depth < ARCHIVE_DEPTH and data[:2] == b"\x1f\x8b":
        unpacked = gzip.decompress(data)
        if tarfile.is_tarfile(io.BytesIO(unpacked)):
            yield from readings(f"{name}!tar", unpacked, depth)
        else:
            yield from readings(f"{name}!gunzip", unpacked, depth + 1)
        return
    if depth < ARCHIVE_DEPTH and lower.endswith((".tar", "!tar")):
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    yield from readings(f"{name}!{member.name}", extracted.read(), depth + 1)
        return
    text = data.decode("utf-8", errors="replace")
    yield name, text
    if lower.endswith((".html", ".htm", ".xhtml", ".svg", ".xml")) or "<html" in text[:500]:
        parser = _Text()
        parser.feed(text)
        parser.close()
        yield f"{name} (as shown)", "".join(parser.parts)
    if lower.endswith((".ipynb", ".json")):
        try:
            value = json.loads(text)
        except ValueError:
            return
        yield f"{name} (its strings)", "\n".join(_json_strings(value))


def search(folder: Path, needles: list[Needle]) -> list[str]:
    """``file: origin`` for every needle found in any reading of any file under ``folder``."""
    hits = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        name = str(path.relative_to(folder))
        for where, text in readings(name, path.read_bytes()):
            normalised, digits = words(text), None
            for needle in needles:
                if needle.numeric:
                    digits = digits if digits is not None else numbers(text)
                    found = needle.text in digits
                else:
                    found = needle.text in normalised
                if found:
                    hits.append(f"{where}: {needle.origin}: {needle.text[:80]!r}")
    return hits


# ------------------------------------------------------------------ the edition


@pytest.fixture(scope="module")
def edition(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("edition") / "gdcourse-student"
    publish.publish(folder)
    return folder


def test_the_edition_holds_no_solution_and_no_hidden_case(
    edition: Path, needles: list[Needle]
) -> None:
    assert search(edition, needles) == []


def test_the_edition_holds_no_master_and_no_grader_module(edition: Path) -> None:
    files = {p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()}
    assert not any(f.startswith("solutions/") for f in files)
    assert not any(p.name == "solutions" for p in edition.rglob("*"))
    for grader_only in ("sandbox", "autograde", "runners", "feedback", "tools"):
        assert not any(f"/{grader_only}/" in f for f in files if f.startswith("gdcourse/"))
    for module in ("cli", "gradebook", "recording", "report", "export", "journal", "collect"):
        assert f"gdcourse/grading/{module}.py" not in files
    assert "gdcourse/course.py" not in files
    exercises = sorted(f for f in files if f.startswith("exercises/"))
    assert exercises == sorted(
        p.relative_to(ROOT).as_posix() for p in (ROOT / "exercises").rglob("*") if p.is_file()
    )
    assert {"README.md", "pyproject.toml", "requirements.txt", "nbgrader_config.py"} <= files
    assert {"book/_toc.yml", "book/_config.yml", "book/package-lock.json"} <= files
    assert {"book/_ext/offline.py", "binder/requirements.txt", "work/nbgrader_config.py"} <= files


def test_the_edition_holds_no_mutant_report_or_variant(edition: Path) -> None:
    """Mutation testing (issue 19) is the instructor's: no module, report, mutant or variant."""
    from gdcourse.grading.mutants import variants

    files = {p.relative_to(edition).as_posix(): p for p in edition.rglob("*") if p.is_file()}
    assert not any(f.startswith(("mutation/", "gdcourse/grading/mutants/")) for f in files)
    reports = sorted((ROOT / "mutation").glob("*.json"))
    assert reports, "the committed mutation reports are missing"
    needles = {"mutation/", "gdcourse.grading.mutants"}
    for report in reports:
        needles |= {m["id"] for m in json.loads(report.read_text())["mutants"]}
    pages = [*(ROOT / "exercises").rglob("*.ipynb"), *(ROOT / "book").glob("*.md")]
    public = "".join(p.read_text() for p in pages)
    for written in variants.HANDWRITTEN.values():
        for entries in written.values():
            for _, text in entries:  # its longest line that no page or exercise has
                own = [ln.strip() for ln in text.splitlines() if ln.strip() not in public]
                needles.add(max(own, key=len))
    found = [
        (name, needle)
        for name, path in files.items()
        for text in [path.read_bytes().decode("utf-8", "replace")]
        for needle in needles
        if needle in text
    ]
    assert found == []


def test_the_environment_is_the_students_pinned_as_the_courses(edition: Path) -> None:
    pins = dict(
        line.split("==")
        for line in (edition / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    course = publish._pins(ROOT)
    assert pins["torch"] == "2.13.0" and pins["nbgrader"] == course["nbgrader"]
    for name in ("jupyterlab", "notebook", "ipykernel", "numpy", "matplotlib", "anywidget"):
        assert pins[name] == course[name], name
    for tool in ("pytest", "ruff", "mypy", "playwright", "jupyter-book", "dask", "psycopg"):
        assert tool not in pins, tool
    assert all(course.get(name, version) == version for name, version in pins.items())
    assert len(pins) < len(course) * 3 // 4, len(pins)


def test_a_leak_of_each_kind_is_found(tmp_path: Path, needles: list[Needle]) -> None:
    """The search finds what it looks for: solution code highlighted in HTML, a hidden case
    in a notebook inside a zip inside a tarball, a hidden value printed by NumPy."""
    master = ROOT / "solutions" / "ps2_gradient_descent" / "ps2_gradient_descent.ipynb"
    own = needles_of(master)
    solution = next(n for n in own if n.origin.endswith(": solution"))
    line = next(n for n in own if n.origin.endswith(": solution line"))
    case = next(n for n in own if n.origin.endswith(": hidden case"))
    value = next(n for n in needles if n.numeric)
    folder = tmp_path / "planted"
    folder.mkdir()
    (folder / "clean.txt").write_text("nothing to see")
    assert search(folder, needles) == []

    code = "".join(
        f'<span class="n">{token}</span>\n' if token.strip() else token
        for token in re.split(r"(\s+)", line.text)
    )
    (folder / "page.html").write_text(f"<html><body><pre>{code}</pre></body></html>")
    lines = re.split(r"(?<=, )", case.text)  # a notebook stores a cell's source line by line
    notebook = {"cells": [{"cell_type": "code", "source": lines}]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/leak.ipynb", json.dumps(notebook))
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("bundle.zip")
        info.size = len(buffer.getvalue())
        archive.addfile(info, io.BytesIO(buffer.getvalue()))
    (folder / "download.tar.gz").write_bytes(tar_buffer.getvalue())
    printed = "[" + "  ".join(value.text.split()) + "]"  # NumPy's way: no commas
    (folder / "output.js").write_text(f"var x = '{printed}';")
    (folder / "solution.py").write_text(solution.text.replace(" ", "\n    ", 3))

    hits = search(folder, needles)
    assert any(h.startswith("page.html (as shown)") and line.origin in h for h in hits), hits
    assert any(h.startswith("download.tar.gz!tar!bundle.zip!inner/leak.ipynb") for h in hits)
    assert any(h.startswith("output.js") and value.origin in h for h in hits), hits
    assert any(h.startswith("solution.py") and solution.origin in h for h in hits), hits


@pytest.mark.slow
def test_the_published_site_holds_no_solution_and_no_hidden_case(
    tmp_path: Path, needles: list[Needle]
) -> None:
    built_site.build()
    with built_site.reading():
        site = publish.publish(tmp_path / "with-site", site=True)
    assert "site/index.html" in site.files and "site/_sources/gradients.ipynb" in site.files
    assert search(site.root / "site", needles) == []


# ------------------------------------------------------------------ the edition works


SCRIPT = r"""
import contextlib, importlib, io, json, pkgutil, sys
edition, site_packages, cases = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [edition]
sys.path.append(site_packages)  # third-party packages only: no .pth file, no editable finder
import matplotlib
matplotlib.use("Agg")
import gdcourse
assert gdcourse.__file__.startswith(edition), gdcourse.__file__
modules = [m.name for m in pkgutil.walk_packages(gdcourse.__path__, "gdcourse.")]
for name in modules:
    importlib.import_module(name)
outside = [m.__name__ for name, m in list(sys.modules.items())
           if name.split(".")[0] == "gdcourse" and not (m.__file__ or edition).startswith(edition)]
assert not outside, outside
refused = []
for name in ("gdcourse.course", "gdcourse.tools.publish", "gdcourse.grading.sandbox",
             "gdcourse.grading.autograde", "gdcourse.grading.cli", "gdcourse.grading.feedback"):
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        refused.append(name)
try:
    from gdcourse.grading.checks import load_reference
except ImportError:
    refused.append("load_reference")
from gdcourse.grading.checks import CheckFailed

def run(cells):
    namespace = {"__name__": "__main__"}
    for grade_id, source in cells:
        try:
            with contextlib.redirect_stdout(io.StringIO()) as out:
                exec(compile(source, grade_id or "cell", "exec"), namespace)
        except CheckFailed as failed:
            return grade_id, str(failed)
    return None, ""

from gdcourse.grading import check
try:
    check("ps3_linear_regression", "mse", lambda y_pred, y: 0.0,
          cases=[{"y_pred": [1.0], "y": [0.0]}], hidden=True)
    hidden = "no error"
except CheckFailed as failed:
    hidden = str(failed)

results = {}
for assignment, variants in json.load(open(cases)).items():
    results[assignment] = {name: run(cells) for name, cells in variants.items()}
print(json.dumps({"modules": len(modules), "refused": refused, "hidden": hidden,
                  "results": results}))
"""


def _code_cells(notebook: object) -> list[tuple[str | None, str]]:
    cells = notebook.cells  # type: ignore[attr-defined]
    return [
        (cell.metadata.get("nbgrader", {}).get("grade_id"), cell.source)
        for cell in cells
        if cell.cell_type == "code"
    ]


@pytest.mark.slow
def test_the_package_imports_alone_and_its_visible_checks_teach(
    edition: Path, tmp_path: Path
) -> None:
    """In an interpreter that sees the edition and the third-party packages only: every
    module imports, grader-only ones do not exist, the visible checks pass for the master's
    solutions and fail with the usual message for a wrong one."""
    variants: dict[str, dict[str, list[tuple[str | None, str]]]] = {}
    wrong_picked = {}
    for master in MASTERS:
        assignment = master.parent.name
        wrongs = make_submissions.wrong_submissions(assignment)
        slug = next(iter(wrongs))
        wrong_picked[assignment] = wrongs[slug].function
        variants[assignment] = {
            "right": _code_cells(make_submissions.build(assignment, None)),
            "wrong": _code_cells(make_submissions.build(assignment, wrongs[slug])),
        }
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps(variants))
    site_packages = sysconfig.get_paths()["purelib"]
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", SCRIPT, str(edition), site_packages, str(cases)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MPLBACKEND": "Agg"},
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["modules"] >= 30
    assert len(report["refused"]) == 7, report["refused"]
    assert report["hidden"].startswith("Hidden checks run in the grader, after you submit")
    for assignment, results in report["results"].items():
        assert results["right"] == [None, ""], (assignment, results["right"])
        failed_cell, message = results["wrong"]
        function = wrong_picked[assignment]
        assert failed_cell is not None and failed_cell.startswith(f"test_{function}"), (
            assignment,
            results["wrong"],
        )
        assert f"{function}: " in message and "visible checks failed" in message, message
        assert "Hint" in message or "hint" in message, message


@pytest.mark.slow
def test_the_edition_builds_a_wheel_with_its_lab_extension_and_no_answer(
    edition: Path, tmp_path: Path, needles: list[Needle]
) -> None:
    """``pip install -e .`` in the edition (its README's quickstart) builds from its own
    pyproject.toml: the wheel holds the published modules and installs gdcourse's
    JupyterLab extension where JupyterLab finds it; nothing in it leaks."""
    source = tmp_path / "source"
    shutil.copytree(edition, source)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         str(source), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "wheel").glob("gdcourse-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    published = {f for f in publish.package_files(ROOT) if f.endswith((".py", ".js", ".json"))}
    assert published <= names, sorted(published - names)
    data = "gdcourse-0.1.0.data/data/share/jupyter/labextensions/gdcourse-validate/"
    assert {f"{data}package.json", f"{data}static/remoteEntry.js"} <= names
    assert not any("/sandbox/" in n or "/autograde/" in n or "/tools/" in n for n in names)
    assert search(tmp_path / "wheel", needles) == []


def test_student_checks_cuts_the_master_reader_out() -> None:
    source = (ROOT / "gdcourse" / "grading" / "checks.py").read_text(encoding="utf-8")
    cut = publish.student_checks(source)
    tree = ast.parse(cut)
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}
    assert not defined & set(publish.MASTER_READER)
    assert "gdcourse.course" not in cut and "run_check" in defined
    assert publish.student_checks(cut) == cut  # nothing left to cut


def test_start_in_the_edition_copies_an_assignment_once(edition: Path, tmp_path: Path) -> None:
    work = edition / "work" / "ps1_gradients"
    run_edition = (
        "import runpy, sys; sys.path[:0] = ['.']; runpy.run_module('gdcourse', None, '__main__')"
    )
    command = [sys.executable, "-I", "-S", "-c", run_edition, "start", "ps1_gradients"]
    done = subprocess.run(command, cwd=edition, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert (work / "ps1_gradients.ipynb").read_bytes() == (
        ROOT / "exercises" / "ps1_gradients" / "ps1_gradients.ipynb"
    ).read_bytes()
    again = subprocess.run(command, cwd=edition, capture_output=True, text=True, check=False)
    assert again.returncode == 1 and "exists already" in again.stderr
    page = subprocess.run(
        [*command[:-1], "gradients"], cwd=edition, capture_output=True, text=True, check=False
    )
    assert page.returncode == 1 and "Open With, Jupytext Notebook" in page.stderr


# ------------------------------------------------------------------ where it is written


def test_a_folder_that_is_not_an_edition_is_refused_untouched(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("my own work")
    with pytest.raises(publish.PublishError, match="is not a student edition"):
        publish.publish(mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    with pytest.raises(publish.PublishError, match="outside it"):
        publish.publish(ROOT / "build" / "edition")


def test_republishing_replaces_its_own_files_and_keeps_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "edition"
    first = publish.publish(folder)
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / "NOTES.md").write_text("the instructor's own")
    stale = folder / "exercises" / "ps0_gone" / "ps0_gone.ipynb"
    stale.parent.mkdir()
    stale.write_text("{}")
    record = json.loads((folder / publish.MARKER).read_text())
    record["files"].append("exercises/ps0_gone/ps0_gone.ipynb")
    (folder / publish.MARKER).write_text(json.dumps(record))
    (folder / "README.md").write_text("edited by hand")

    second = publish.publish(folder)
    assert second.files == first.files
    assert (folder / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (folder / "NOTES.md").read_text() == "the instructor's own"
    assert not stale.parent.exists()  # what the last edition wrote and this one does not
    assert (folder / "README.md").read_text().startswith("# Gradient descent")

    record["files"] = ["../outside.txt"]
    (folder / publish.MARKER).write_text(json.dumps(record))
    with pytest.raises(publish.PublishError, match="not a path inside the edition"):
        publish.publish(folder)


def test_every_module_of_the_package_is_classified() -> None:
    """A new module is published only when someone decided students may have it."""
    files = publish.package_files(ROOT)
    assert "gdcourse/grading/checks.py" in files and "gdcourse/optimizers.py" in files
    assert not any(f.startswith(("gdcourse/tools/", "gdcourse/grading/sandbox/")) for f in files)


# ------------------------------------------------------------------ what students see

NBGRADER = Path(sys.executable).parent / "nbgrader"


def _nbgrader(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [str(NBGRADER), *args],
        cwd=cwd,
        env={**os.environ, "PATH": path, "PYTHONWARNINGS": "ignore", **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("where", ["course", "edition"])
def test_validate_names_a_path_that_holds_no_notebook(
    where: str, edition: Path, tmp_path: Path
) -> None:
    """nbgrader's own validate prints nothing for a mistyped path; the course's says so."""
    folder = edition if where == "edition" else tmp_path
    if where == "course":
        (tmp_path / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
        (tmp_path / "exercises").mkdir()
    env = {"PYTHONPATH": str(edition)} if where == "edition" else {}
    done = _nbgrader(
        ["validate", "work/ps1_gradient/ps1_gradient.ipynb", "exercises"], folder, **env
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Nothing was validated" in done.stderr
    assert "work/ps1_gradient/ps1_gradient.ipynb: there is no such file" in done.stderr
    assert "exercises: is a folder; name the notebook in it" in done.stderr
    assert "work/<assignment>/<assignment>.ipynb" in done.stderr


def test_the_assignments_page_validates_where_start_puts_the_notebook() -> None:
    page = (ROOT / "book" / "assignments.md").read_text(encoding="utf-8")
    paths = re.findall(r"nbgrader validate (\S+?)`", page)
    assert paths == ["work/ps1_gradients/ps1_gradients.ipynb"], paths
    assert "work/<assignment>/<assignment>.ipynb" in page


@pytest.mark.slow
def test_validate_in_the_edition_says_hidden_tests_come_later_and_shows_no_hidden_value(
    edition: Path, needles: list[Needle]
) -> None:
    """As a student runs it in the edition: success says what did not run yet; a wrong
    notebook's messages hold nothing of the hidden tests."""
    import nbformat

    assignment = "ps3_linear_regression"
    work = edition / "work" / "validate"
    work.mkdir(parents=True)
    nbformat.write(make_submissions.build(assignment, None), work / "right.ipynb")
    wrongs = make_submissions.wrong_submissions(assignment)
    for slug in list(wrongs)[:2]:
        nbformat.write(make_submissions.build(assignment, wrongs[slug]), work / f"{slug}.ipynb")
    done = _nbgrader(["validate", "work/validate/*.ipynb"], edition, PYTHONPATH=str(edition))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("VALIDATION FAILED") == 2, done.stdout
    assert done.stdout.count("Success! Your notebook passes all the visible tests.") == 1
    assert "hidden tests, on inputs you have not seen, run after you submit" in done.stdout
    shown = edition.parent / "validate-output"
    shown.mkdir()
    (shown / "stdout.txt").write_text(done.stdout + done.stderr)
    assert search(shown, needles) == []


@pytest.mark.slow
def test_feedback_on_wrong_submissions_shows_no_hidden_value(
    tmp_path: Path, needles: list[Needle]
) -> None:
    """Graded for real (gdcourse grade, sandboxes and all): the feedback pages of wrong
    submissions that fail hidden checks hold no hidden test, case or value drawn from one."""
    from courses import grade_process, make_course

    assignment = "ps2_gradient_descent"
    wrong = ROOT / "tests" / "submissions" / assignment
    students = {
        slug: wrong / f"{slug}.ipynb"
        for slug in ("uphill_sign_error", "tolerance_on_gradient", "rate_bound_without_2")
    }
    course = make_course(tmp_path, {assignment: students})
    process = grade_process(course, "--assignment", assignment, "--workers", "2")
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) == len(students), pages
    texts = [" ".join(_shown_text(page).split()) for page in pages]
    assert all("hidden checks" in text for text in texts), texts[0][:2000]
    assert any("hidden checks, 0 of" in text for text in texts), texts[0][:2000]
    # the pages show the student's own code, here the master's solutions but for one function
    hidden = [n for n in needles if ": hidden " in n.origin]
    assert search(course / "feedback", hidden) == []


def _shown_text(page: Path) -> str:
    parser = _Text()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return "".join(parser.parts)


OPEN_AND_NAME_THE_VIEW = """async ([path, factory]) => {
    const widget = await window.jupyterapp.commands.execute(
        'docmanager:open', factory ? {path, factory} : {path});
    await widget.context.ready;
    await widget.revealed;
    const kinds = ['jp-NotebookPanel', 'jp-FileEditor', 'jp-MarkdownViewer'];
    const nodes = [widget.node, widget.content && widget.content.node].filter(Boolean);
    const kind = kinds.find(k => nodes.some(node => node.classList.contains(k)));
    return kind || nodes.map(node => node.className).join(' / ');
}"""


@pytest.mark.slow
@pytest.mark.browser
def test_jupyterlab_as_the_build_sets_it_up_for_students(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In JupyterLab with the environment's settings and gdcourse's extension, installed as
    the build installs them: README.md and report.md open as Markdown, a book page as a
    notebook with *Open With > Jupytext Notebook*, and the Validate button's success dialog
    says what `nbgrader validate` says."""
    import nbformat
    from browser import block_external_requests, jupyter_server, running_chromium

    from gdcourse.tools import environment
    from gdcourse.validate import SUCCESS

    script = (environment.LAB_EXTENSION / "static" / "remoteEntry.js").read_text()
    assert " ".join(SUCCESS.split()) in " ".join(re.sub(r'"\s*\+\s*"', "", script).split())
    environment.ensure_lab_defaults(tmp_path / "venv")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "venv" / "share" / "jupyter"))
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", str(tmp_path / "venv" / "etc" / "jupyter"))
    course = tmp_path / "course"
    (course / "book").mkdir(parents=True)
    (course / "README.md").write_text("# Read me\n\nThe course.\n")
    (course / "report.md").write_text("# Report\n\n| student | score |\n| --- | --- |\n")
    shutil.copy(ROOT / "book" / "gradients.md", course / "book" / "gradients.md")
    (course / "nbgrader_config.py").write_bytes((ROOT / "nbgrader_config.py").read_bytes())
    notebook = make_submissions.build("ps3_linear_regression", None)
    nbformat.write(notebook, course / "right.ipynb")
    monkeypatch.chdir(course)
    with jupyter_server(course) as server, running_chromium() as chromium:
        page = chromium.new_page()
        block_external_requests(page)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url("lab"))
        page.wait_for_function("() => Boolean(window.jupyterapp)", timeout=60_000)
        page.evaluate("() => window.jupyterapp.restored.then(() => true)")
        opened = {
            name: page.evaluate(OPEN_AND_NAME_THE_VIEW, [name, factory])
            for name, factory in (
                ("README.md", None),
                ("report.md", None),
                ("book/gradients.md", "Jupytext Notebook"),
            )
        }
        assert opened == {
            "README.md": "jp-FileEditor",
            "report.md": "jp-FileEditor",
            "book/gradients.md": "jp-NotebookPanel",
        }, opened
        panel = page.evaluate(
            "async () => (await window.jupyterapp.commands.execute("
            "'docmanager:open', {path: 'right.ipynb'})).id"
        )
        page.locator(f'[id="{panel}"] .jp-Toolbar .validate-button').click(timeout=60_000)
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for(timeout=120_000)
        assert dialog.locator(".validation-success").count() == 1, dialog.inner_text()
        said = " ".join(dialog.locator(".jp-Dialog-body").inner_text().split())
        assert said == " ".join(SUCCESS.split()), said
        assert errors == []
