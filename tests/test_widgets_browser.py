"""The demos live in a browser: JupyterLab 4 and Notebook 7 in Debian's headless Chromium.

A Jupyter server on 127.0.0.1 serves a temporary copy of ``tests/notebooks``;
the browser, which may reach nothing but that server, opens
``widgets_demo.ipynb``, runs every cell, checks that each demo found its kernel
(its front end then sends every change to Python instead of computing it in the
page), moves one control of each demo and checks that both the status text and
the pixels of the figure changed.
"""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import block_external_requests, jupyter_server, running_chromium
from PIL import Image, ImageChops

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).parent / "notebooks"
NOTEBOOK = "widgets_demo.ipynb"
DEMOS = ("descent-1d", "descent-2d", "fit-line", "batch-size", "feature-scaling")

# What to do to each demo, and a word the new status must contain.
ACTIONS: dict[str, tuple[str, str, str, str]] = {
    "descent-1d": ("readout", "learning-rate", "0.9", "oscillating"),
    "descent-2d": ("click", "reset", "", "Showing iteration 0"),
    "fit-line": ("click", "step", "", "descending"),
    "batch-size": ("readout", "batch-size", "25", "batch size 25"),
    "feature-scaling": ("readout", "learning-rate", "0.1", "diverged / converged"),
}

KERNEL_IDLE = """() => {
    const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = widget && widget.sessionContext && widget.sessionContext.session
        && widget.sessionContext.session.kernel;
    return Boolean(kernel) && kernel.status === 'idle';
}"""
ALL_DEMOS_LIVE = """(n) => {
    const demos = [...document.querySelectorAll('.gd-demo')];
    return demos.length === n && demos.every(d => d.gdcourse && d.gdcourse.live
        && d.querySelector('svg.gd-figure path'));
}"""
CHANGED = """([selector, status, alt]) => {
    const demo = document.querySelector(selector);
    return demo.querySelector('.gd-status').textContent !== status
        && demo.querySelector('svg.gd-figure').getAttribute('aria-label') !== alt;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("notebooks")
    shutil.copytree(NOTEBOOKS, root, dirs_exist_ok=True)
    with jupyter_server(root) as running:
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with running_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.blocked = block_external_requests(context)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def _run_all(page: Any, url: str) -> None:
    """Open the notebook, wait for its kernel, run every cell, wait until every demo is live."""
    page.goto(url)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_DEMOS_LIVE, arg=len(DEMOS), timeout=90_000)


def _pixels(page: Any, selector: str) -> Image.Image:
    """A screenshot of the demo's figure. Should the notebook re-render the output under the
    test, the element is looked up again (at most three times) rather than reported."""
    element = page.locator(f"{selector} svg.gd-figure")
    for attempt in range(3):
        try:
            element.scroll_into_view_if_needed()
            return Image.open(io.BytesIO(element.screenshot())).convert("RGB")
        except Exception as error:
            if "not attached to the DOM" not in str(error) or attempt == 2:
                raise
            page.wait_for_timeout(200)
    raise AssertionError("unreachable")


def _changed_fraction(before: Image.Image, after: Image.Image) -> float:
    if before.size != after.size:
        return 1.0
    difference = ImageChops.difference(before, after).convert("L").point(lambda v: v > 16)
    histogram = difference.histogram()
    return 1 - histogram[0] / (before.size[0] * before.size[1])


def _act(page: Any, demo: str) -> None:
    kind, control, value, _ = ACTIONS[demo]
    target = page.locator(f".gd-demo-{demo} .gd-control-{control}")
    target.scroll_into_view_if_needed()
    if kind == "readout":  # type into the slider's editable readout, as a student can
        readout = target.locator(".widget-readout")
        # fill() focuses and replaces the editable text in one step; clicking then typing
        # lost keystrokes now and then when the focus landed late on a loaded machine.
        readout.fill(value)
        readout.press("Enter")
    elif kind == "select":
        target.locator("select").select_option(label=value)
    else:
        target.click()


def _move_and_check(page: Any, demo: str) -> dict[str, Any]:
    selector = f".gd-demo-{demo}"
    status = page.locator(f"{selector} .gd-status").text_content()
    alt = page.locator(f"{selector} svg.gd-figure").get_attribute("aria-label")
    before = _pixels(page, selector)
    started = time.monotonic()
    _act(page, demo)
    try:
        page.wait_for_function(CHANGED, arg=[selector, status, alt], timeout=20_000)
    except Exception as error:
        now = page.locator(f"{selector} .gd-status").text_content()
        raise AssertionError(
            f"{demo}: nothing redrawn after {ACTIONS[demo]}; status {now!r}"
        ) from error
    elapsed = time.monotonic() - started
    after = _pixels(page, selector)
    new_status = page.locator(f"{selector} .gd-status").text_content()
    error = page.locator(f"{selector} .gd-error").text_content()
    live = page.locator(selector).evaluate("demo => demo.gdcourse.live")
    return {
        "live": live,
        "status": new_status,
        "error": error,
        "changed": _changed_fraction(before, after),
        "seconds": elapsed,
    }


def test_every_demo_responds_live_in_jupyterlab(page: Any, server: Any) -> None:
    """In JupyterLab 4, moving a control of each demo changes its status and its plot."""
    _run_all(page, server.url(f"lab/tree/{NOTEBOOK}"))
    assert page.locator(".gd-demo").count() == len(DEMOS)
    for demo in DEMOS:
        result = _move_and_check(page, demo)
        expected = ACTIONS[demo][3]
        assert expected in result["status"], (demo, result)
        assert result["error"] == "", (demo, result)
        assert result["live"], (demo, result)  # the kernel computed it
        assert result["changed"] > 0.002, (demo, result)  # pixels of the figure changed
    # A menu choice goes through the kernel too, and brings the start and rate that suit it.
    selector = ".gd-demo-descent-2d"
    status = page.locator(f"{selector} .gd-status").text_content()
    alt = page.locator(f"{selector} svg.gd-figure").get_attribute("aria-label")
    page.locator(f"{selector} .gd-control-objective select").select_option("rosenbrock")
    page.wait_for_function(CHANGED, arg=[selector, status, alt], timeout=20_000)
    assert "descending" in page.locator(f"{selector} .gd-status").text_content()
    rate = page.locator(f"{selector} .gd-control-learning-rate .gd-readout")
    assert rate.input_value() == "0.001"
    assert not page.locator("text=kernel required").count()
    for url in page.context.blocked:
        assert not url.startswith(server.base_url)


def test_demo_responds_live_in_notebook7(page: Any, server: Any) -> None:
    """In Notebook 7 the same notebook runs and the 1-D demo redraws when its rate changes."""
    # A copy of its own: a fresh kernel and a file that JupyterLab's autosave in the test
    # before cannot have filled with that session's widget outputs.
    copy = "widgets_demo_notebook7.ipynb"
    shutil.copy(NOTEBOOKS / NOTEBOOK, server.root / copy)
    _run_all(page, server.url(f"notebooks/{copy}"))
    assert page.locator(".jp-NotebookPanel").count() >= 1
    assert not page.locator(".jp-LabShell #jp-left-stack").count()  # Notebook 7, not Lab
    result = _move_and_check(page, "descent-1d")
    assert result["live"], result
    assert "oscillating" in result["status"], result
    assert result["changed"] > 0.002, result


#: A page that renders one demo's front end with no widget manager and no kernel: the
#: model keeps what is set and sends nothing, as the book's saved-state manager does.
STANDALONE = """<!doctype html><html><head><meta charset="utf-8"><style>%(css)s</style></head>
<body><main><div id="demo"></div></main><script type="module">
const state = %(state)s;
const model = {
    get: (key) => state[key], set: (key, value) => { state[key] = value; },
    save_changes() {}, send() {}, on() {}, off() {},
};
const url = URL.createObjectURL(new Blob([%(esm)s], {type: "text/javascript"}));
window.rendered = import(url).then((module) => {
    module.default.render({model, el: document.getElementById("demo")});
    return true;
});
</script></body></html>"""


def test_a_menu_entry_without_a_port_needs_a_kernel(chromium: Any, tmp_path: Path) -> None:
    """On a page with no kernel, a function the front end cannot compute says so, and the
    figure keeps the last state drawn; the course's own functions still respond."""
    import dataclasses
    import json

    from gdcourse import objectives, widgets

    custom = dataclasses.replace(objectives.parabola, grad=lambda x: 2 * x - 4, name="custom")
    demo = widgets.descent_1d(functions={"parabola": objectives.parabola, "custom": custom})
    state = {key: getattr(demo, key) for key in ("kind", "scene", "inputs", "values", "shown")}
    state |= {"error": "", "error_detail": ""}
    page_file = tmp_path / "demo.html"
    page_file.write_text(
        STANDALONE % {"css": demo._css, "state": json.dumps(state), "esm": json.dumps(demo._esm)},
        encoding="utf-8",
    )
    context = chromium.new_context()
    blocked = block_external_requests(context)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_file.as_uri())
        page.evaluate("window.rendered")
        root = page.locator(".gd-demo")
        alt = root.locator("svg.gd-figure").get_attribute("aria-label")
        root.locator("select").select_option("custom")
        assert "open this page in Jupyter" in root.locator(".gd-note").inner_text()
        assert root.locator("svg.gd-figure").get_attribute("aria-label") == alt
        root.locator("select").select_option("parabola")
        slider = root.locator(".gd-control-learning-rate input[type=range]")
        slider.focus()
        slider.press("End")
        assert root.locator(".gd-note").inner_text() == ""
        assert "oscillating" in root.locator(".gd-status").inner_text()
        assert errors == [] and blocked == []
    finally:
        context.close()
