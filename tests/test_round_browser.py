"""One round of an assignment with a student in a real JupyterLab and an instructor at the shell.

On a scratch copy of the course (tests/support/scratch_course.py, made as for
tests/test_guide.py), with the course's own exchange, using only commands README shows:

1. A student, in JupyterLab (started from the course folder, with a Jupyter data folder of
   their own) in Debian's headless Chromium, opens *Nbgrader > Assignment List* before
   anything is released and reads "No courses found." (not "Error fetching courses!").
2. The instructor releases ``ps4_autograd`` (``nbgrader release_assignment``); the student
   refreshes the list, clicks **Fetch**, opens the notebook from the list, pastes the
   master's solution into the ``train_autograd`` cell, runs every cell from the *Run* menu
   and sees the visible check pass, clicks the toolbar's **Validate** and reads that the
   notebook passes, then clicks **Submit** in the list.
3. The instructor collects and grades (``nbgrader collect``, ``python3 -m gdcourse
   grade``), opens the student's feedback page (from ``file://``, offline) and the report
   (``reports/ps4_autograd/report.md`` in JupyterLab's Markdown preview): full marks on
   both, no script error on either page nor in JupyterLab, no error in the server's log.

A wrong solution fails the test at the visible check, run in the browser.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import pwd
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import block_external_requests, jupyter_server, running_chromium
from support.scratch_course import ROOT, blocks, scratch_course, section

from gdcourse.course import Course
from gdcourse.validate import SUCCESS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "ps4_autograd"
NOTEBOOK = f"work/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
SOLUTION_CELL = "train_autograd"
VISIBLE_CHECK = "test_train_autograd_visible"
PASSED = "train_autograd: all 2 visible checks passed."
FULL_MARKS = 3
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
#: The submissions the Assignment List shows (one row each, headed by its time stamp).
SUBMISSIONS = "#submitted_assignments_list .nested_list_item"

#: The open notebook panel of ``path`` (JupyterLab exposes its app as ``window.jupyterapp``).
PANEL = """const panel = [...window.jupyterapp.shell.widgets('main')]
    .find((w) => w.context && w.context.path === path);"""
KERNEL_IDLE = f"""(path) => {{ {PANEL}
    const session = panel && panel.sessionContext.session;
    return Boolean(session && session.kernel) && session.kernel.status === 'idle'
        && panel.content.widgets.length > 0; }}"""
CELL_INDEX = f"""([path, id]) => {{ {PANEL}
    return panel.content.widgets.findIndex((cell) => cell.model.id === id); }}"""
PANEL_ID = f"(path) => {{ {PANEL} return panel.id; }}"
SOURCE = f"""([path, id]) => {{ {PANEL}
    return panel.content.widgets.find((cell) => cell.model.id === id).model.sharedModel
        .getSource(); }}"""
#: Every code cell has run (or one failed, which stops the rest), and the kernel is idle.
RUN_DONE = f"""(path) => {{ {PANEL}
    const code = panel.content.widgets.filter((cell) => cell.model.type === 'code');
    const failed = code.some((cell) => cell.model.outputs.toJSON()
        .some((output) => output.output_type === 'error'));
    const kernel = panel.sessionContext.session.kernel;
    return failed || (kernel.status === 'idle'
        && code.every((cell) => cell.model.executionCount !== null)); }}"""
CODE_CELLS = f"""(path) => {{ {PANEL}
    return panel.content.widgets.filter((cell) => cell.model.type === 'code').map((cell) => ({{
        id: cell.model.id, count: cell.model.executionCount,
        outputs: cell.model.outputs.toJSON() }})); }}"""
DIRTY = f"(path) => {{ {PANEL} return panel.context.model.dirty; }}"
IMAGES_LOADED = """(selector) => [...document.querySelectorAll(selector + ' img')]
    .every((img) => img.complete && img.naturalWidth > 0)"""
WATCH_CSP = """window.__violations = [];
document.addEventListener('securitypolicyviolation',
    (event) => window.__violations.push(event.violatedDirective + ' ' + event.blockedURI));"""


def _environment_checkout() -> Path:
    """The checkout whose ``.venv`` runs these tests (this one in CI); the scratch course
    links its package and environment, which belong together (tests/support/scratch_course)."""
    checkout = Path(sys.prefix).parent
    if (checkout / ".venv").resolve() == Path(sys.prefix).resolve() and (
        checkout / "gdcourse" / "__init__.py"
    ).is_file():
        return checkout
    return ROOT


def _solution() -> str:
    """The master's ``train_autograd`` cell as a student writes it: without nbgrader's markers."""
    master = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    cells = json.loads(master.read_text(encoding="utf-8"))["cells"]
    (cell,) = [c for c in cells if c.get("id") == SOLUTION_CELL]
    lines = "".join(cell["source"]).splitlines()
    return "\n".join(line for line in lines if line.strip() not in MARKERS)


class Instructor:
    """README's instructor commands, each in a new ``bash`` that activates the environment."""

    def __init__(self, course: Path, home: Path) -> None:
        self.course = course
        self.env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
        self.shown = "\n".join(blocks(section("For instructors"), "bash"))

    def run(self, command: str, *, timeout: float) -> str:
        for line in ("source .venv/bin/activate", command):
            assert line in self.shown.splitlines(), f"README's instructor guide lacks {line!r}"
        done = subprocess.run(
            ["bash", "-c", f"set -euo pipefail\nsource .venv/bin/activate\n{command}\n"],
            cwd=self.course, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        log = done.stdout + done.stderr
        assert done.returncode == 0, f"{command}:\n{log[-6000:]}"
        assert "Traceback" not in log, f"{command}:\n{log[-6000:]}"
        return log


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return scratch_course(tmp_path, checkout=_environment_checkout())


@pytest.fixture
def chromium() -> Iterator[Any]:
    with running_chromium() as browser:
        yield browser


def _menu(page: Any, menu: str, item: str) -> None:
    """Choose ``menu > item`` in JupyterLab's menu bar, as a student does with the mouse."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def _cell(page: Any, panel_id: str, cell_id: str) -> Any:
    index = page.evaluate(CELL_INDEX, [NOTEBOOK, cell_id])
    assert index >= 0, f"no cell {cell_id!r} in {NOTEBOOK}"
    return page.locator(f'[id="{panel_id}"] .jp-Notebook .jp-Cell').nth(index)


COURSES_SHOWN = """() => {
    const shown = document.querySelector('#course_list_default');
    return shown && ['No courses found.', 'Error fetching courses!', 'gdcourse']
        .includes(shown.innerText.trim()); }"""


def _student_opens_the_assignment_list(page: Any) -> str:
    """Nbgrader > Assignment List; what its course menu says once the list has loaded."""
    _menu(page, "Nbgrader", "Assignment List")
    page.wait_for_function(COURSES_SHOWN, timeout=60_000)
    return str(page.locator("#course_list_default").inner_text()).strip()


def _student_fetches_and_opens(page: Any) -> str:
    """Assignment List: refresh, Fetch, then open the notebook from the list. Returns the
    panel's id."""
    page.locator("#refresh_assignments_list").click()
    page.wait_for_function(COURSES_SHOWN, timeout=60_000)
    released = page.locator("#released_assignments_list > .list_item", has_text=ASSIGNMENT)
    released.get_by_role("button", name="Fetch").click(timeout=60_000)
    fetched = page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    fetched.locator(".assignment-notebooks-link").click(timeout=60_000)
    fetched.locator(f"#nbgrader-gdcourse-{ASSIGNMENT} .item_name a", has_text=ASSIGNMENT).click()
    page.wait_for_function(KERNEL_IDLE, arg=NOTEBOOK, timeout=90_000)
    return str(page.evaluate(PANEL_ID, NOTEBOOK))


def _student_solves_and_runs(page: Any, panel_id: str) -> list[dict[str, Any]]:
    """Paste the solution over the stub, run every cell from the Run menu; the code cells."""
    solution = _solution()
    editor = _cell(page, panel_id, SOLUTION_CELL).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(solution)  # what a paste does: the text as it is
    assert page.evaluate(SOURCE, [NOTEBOOK, SOLUTION_CELL]) == solution
    _menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_DONE, arg=NOTEBOOK, timeout=120_000)
    return list(page.evaluate(CODE_CELLS, NOTEBOOK))


def _student_validates(page: Any, panel_id: str) -> dict[str, Any]:
    """Click the notebook toolbar's Validate; what the dialog said (the dialog is then closed)."""
    page.locator(f'[id="{panel_id}"] .jp-Toolbar .validate-button').click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)  # Validate saves, then runs the notebook in a new kernel
    said = {
        "title": dialog.locator(".jp-Dialog-header").inner_text(),
        "body": dialog.locator(".jp-Dialog-body").inner_text(),
        "success": dialog.locator(".validation-success").count(),
    }
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached")
    return said


def _student_submits(page: Any) -> None:
    """Assignment List: Submit; returns once the list shows one submission more."""
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="Assignments").click()
    before = page.locator(SUBMISSIONS).count()
    fetched = page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    fetched.get_by_role("button", name="Submit").click()
    page.wait_for_function(
        "([selector, before]) => document.querySelectorAll(selector).length > before",
        arg=[SUBMISSIONS, before],
        timeout=60_000,
    )
    assert not page.locator("#submission-message").count(), "Invalid Submission"


def _feedback_page(chromium: Any, path: Path) -> dict[str, Any]:
    """Open a feedback page from ``file://`` as a student would, offline; what it shows."""
    context = chromium.new_context()
    context.add_init_script(WATCH_CSP)
    blocked = block_external_requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None
    )
    try:
        page.goto(path.as_uri(), wait_until="load")
        return {
            "title": page.title(),
            "total": page.locator(".gd-total").inner_text(),
            "passed": page.locator(".gd-summary li.gd-pass").all_inner_texts(),
            "failed": page.locator(".gd-summary li.gd-fail").all_inner_texts(),
            "violations": page.evaluate("window.__violations"),
            "errors": errors,
            "blocked": blocked,
        }
    finally:
        context.close()


def _report_in_lab(page: Any, path: str) -> dict[str, Any]:
    """Open ``path`` (Markdown) in JupyterLab's Markdown preview, as an instructor reads it."""
    page.evaluate(
        "(path) => window.jupyterapp.commands.execute('docmanager:open',"
        " {path, factory: 'Markdown Preview'})",
        path,
    )
    preview = ".jp-MarkdownViewer .jp-RenderedMarkdown"
    page.locator(f"{preview} h1").wait_for(timeout=30_000)
    page.wait_for_function(IMAGES_LOADED, arg=preview, timeout=30_000)
    rows = page.locator(f"{preview} table").last.locator("tbody tr")
    return {
        "heading": page.locator(f"{preview} h1").inner_text(),
        "text": page.locator(preview).inner_text(),
        "images": page.locator(f"{preview} img").count(),
        "rows": [rows.nth(i).locator("td").all_inner_texts() for i in range(rows.count())],
    }


def test_a_round_in_jupyterlab(
    course: Path, chromium: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Release, fetch, solve, run, Validate, submit, collect, grade, read feedback and report."""
    home = tmp_path / "home"
    home.mkdir()
    # A Jupyter data folder of the student's own: nbgrader keeps a copy of each submission in
    # <data>/nbgrader_cache, and the Assignment List shows every copy there (other runs' too).
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    me = pwd.getpwuid(os.geteuid()).pw_name  # whom nbgrader submit records
    instructor = Instructor(course, home)
    # README's step 0, `python3 -m gdcourse build`, creates the course's exchange (the rest
    # of the build, the book and the release in exercises/, has no part in this round)
    Course.open(course).ensure_exchange()

    monkeypatch.chdir(course)  # README: students start JupyterLab from the course folder
    with jupyter_server(course) as server:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        blocked = block_external_requests(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        try:
            page.goto(server.url("lab"))
            page.wait_for_function("() => Boolean(window.jupyterapp)", timeout=60_000)
            page.evaluate("() => window.jupyterapp.restored.then(() => true)")

            # before the first release: an empty list, not "Error fetching courses!"
            assert _student_opens_the_assignment_list(page) == "No courses found."
            instructor.run(f"nbgrader release_assignment {ASSIGNMENT}", timeout=120)
            assert (course / "exchange" / "gdcourse" / "outbound" / ASSIGNMENT).is_dir()
            panel_id = _student_fetches_and_opens(page)
            cells = _student_solves_and_runs(page, panel_id)
            failed = [c for c in cells if any(o["output_type"] == "error" for o in c["outputs"])]
            assert failed == [], json.dumps(failed, indent=1)[-4000:]
            assert all(c["count"] is not None for c in cells), cells  # every cell ran
            visible = _cell(page, panel_id, VISIBLE_CHECK).locator(".jp-OutputArea-output")
            assert PASSED in visible.inner_text()

            said = _student_validates(page, panel_id)
            assert "Validation Results" in said["title"], said
            assert said["success"] == 1, said
            # gdcourse's JupyterLab extension: the hidden tests run after submission
            assert " ".join(said["body"].split()) == " ".join(SUCCESS.split()), said
            assert not page.evaluate(DIRTY, NOTEBOOK)  # Validate saved the notebook first
            on_disk = json.loads((course / NOTEBOOK).read_text(encoding="utf-8"))
            assert any(c.get("id") == SOLUTION_CELL and "".join(c["source"]) == _solution()
                       for c in on_disk["cells"])  # fmt: skip

            _student_submits(page)
            inbound = course / "exchange" / "gdcourse" / "inbound"
            assert [p.name.split("+")[:2] for p in inbound.iterdir()] == [[me, ASSIGNMENT]]

            instructor.run(f"nbgrader collect {ASSIGNMENT}", timeout=120)
            graded = instructor.run(f"python3 -m gdcourse grade {ASSIGNMENT}", timeout=300)

            report = _report_in_lab(page, f"reports/{ASSIGNMENT}/report.md")
            assert not errors, errors  # no script error in JupyterLab, student's or instructor's
            assert blocked == [], blocked
            logged = [line for line in server.log_tail(10_000).splitlines() if "[E " in line]
            assert logged == [], logged  # e.g. nbgrader reading another course's config
        except BaseException:  # what the page showed and the server said, for the failure
            with contextlib.suppress(Exception):
                page.screenshot(path=str(tmp_path / "jupyterlab.png"), full_page=True)
            print(f"JupyterLab at failure: {tmp_path / 'jupyterlab.png'}\n{server.log_tail(80)}")
            raise
        finally:
            context.close()

    assert report["heading"] == f"Grading report: {ASSIGNMENT}", report
    assert (
        f"1 submission; mean {FULL_MARKS:.2f} of {FULL_MARKS} points; 1 with full marks, "
        "0 with zero, 0 with nothing attempted." in report["text"]
    ), report["text"][:2000]
    assert [me, str(FULL_MARKS), "1", "2"] in report["rows"], report["rows"]
    assert report["images"] >= 3, report  # the total's and each question's distribution

    page_file = course / "feedback" / me / ASSIGNMENT / f"{ASSIGNMENT}.html"
    feedback = _feedback_page(chromium, page_file)
    assert feedback["title"] == f"Feedback: {ASSIGNMENT}", feedback
    assert feedback["total"] == f"Score: {FULL_MARKS} of {FULL_MARKS} points", feedback
    assert feedback["passed"] == [
        "train_autograd: visible checks, 1 of 1 point",
        "train_autograd: hidden checks, 2 of 2 points",
    ], feedback
    assert feedback["failed"] == [], feedback
    assert feedback["errors"] == [] and feedback["violations"] == [], feedback
    assert feedback["blocked"] == [], feedback

    with (course / "reports" / ASSIGNMENT / "grades.csv").open(newline="") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    assert scores == {me: FULL_MARKS}, (scores, graded[-3000:])
