"""The built book in headless Chromium, with every request that leaves the machine blocked.

On every page: no console error, no failed request, the maths typeset by MathJax with the
MathML that screen readers read, every figure present with alt text, the demos rendered from
their saved widget state, no broken internal link, and no violation of WCAG 2.1 AA of serious
or critical impact found by axe-core; and the search page finds "learning rate". The site is
served from 127.0.0.1 on a free port, as a student's browser would get it from a web server.

The demos respond without a kernel: opened from ``file://`` with the network cut, every
control of every demo is moved through its range with the keyboard, and after each change
the numbers behind the figure, the status line and the figure's text alternative must be
what gdcourse computes in Python for the same settings (``tests/widget_sweep.py``).
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import browser as browser_helpers  # tests/browser.py: Debian's Chromium, offline routing
import built_site
import pytest
import widget_sweep  # tests/widget_sweep.py: drive a demo, replay it in Python

from gdcourse import widgets
from gdcourse.tools import bookbuild

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.usefixtures("site_reader")]


PAGES = [*bookbuild.chapter_pages(), "genindex", "search"]
MATH_PAGES = [
    page
    for page in bookbuild.chapter_pages()
    if "$" in (bookbuild.BOOK / f"{page}.md").read_text(encoding="utf-8")
]
#: Pages with demos, and the demos each shows, in order (each called with no arguments).
DEMO_PAGES = {
    "gradient-descent": ("descent_1d", "descent_2d"),
    "linear-models": ("fit_line",),
    "beyond": ("batch_size", "feature_scaling"),
}
WIDGET_PAGES = {page: len(demos) for page, demos in DEMO_PAGES.items()}
DEMO_CASES = [
    (page, index, demo) for page, demos in DEMO_PAGES.items() for index, demo in enumerate(demos)
]
#: What a page shows when a widget cannot be rendered from saved state.
PLACEHOLDERS = (
    "Error displaying widget",
    "could not be displayed",
    "widget state could not be found",
    "Loading widget",
    "kernel",
)
#: axe-core, installed by npm from book/package-lock.json with the site's other scripts; the
#: test injects it into each page (the site itself does not serve it).
AXE = bookbuild.NODE_MODULES / "axe-core" / "axe.min.js"
#: The rule sets of WCAG 2.1 levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site.build()


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with browser_helpers.running_chromium() as chromium:
        yield chromium


@dataclass
class Visit:
    """A page as the browser saw it, with everything that went wrong while loading it."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)


def _open(context: Any, url: str) -> Visit:
    """Open ``url`` in a new page of ``context``, recording what goes wrong from then on, and
    return once the network is idle and MathJax has typeset the page."""
    page = context.new_page()
    result = Visit(page, blocked=browser_helpers.block_external_requests(context))
    page.on(
        "console",
        lambda m: result.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: result.page_errors.append(str(error)))
    page.on(
        "requestfailed",
        lambda request: result.failed_requests.append(f"{request.url} {request.failure}"),
    )
    page.on(
        "response",
        lambda response: (
            result.failed_requests.append(f"{response.url} {response.status}")
            if response.status >= 400
            else None
        ),
    )
    page.goto(url, wait_until="networkidle")
    # MathJax typesets asynchronously: wait until it says it is done.
    page.evaluate(
        "() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null"
    )
    return result


@pytest.fixture
def visit(browser: Any, base_url: str) -> Iterator[Any]:
    contexts: list[Any] = []

    def _visit(path: str) -> Visit:
        context = browser.new_context()
        contexts.append(context)
        return _open(context, f"{base_url}/{path}")

    yield _visit
    for context in contexts:
        context.close()


def _expected_figures(page: str) -> int:
    source = bookbuild.BOOK / f"{page}.md"
    return len(re.findall(r"^mystnb:\n  figure:", source.read_text(encoding="utf-8"), re.M))


#: What one visit of a page records for the tests below: its maths, its figures (each image
#: scrolled into view first, so that it loads), axe-core's WCAG 2.1 AA results and its links.
SURVEY = """async (tags) => {
    const main = document.querySelector('main');
    const maths = {
        formulas: main.querySelectorAll('.math').length,
        typeset: main.querySelectorAll('.math mjx-container').length,
        errors: main.querySelectorAll('mjx-merror').length,
        containers: main.querySelectorAll('mjx-container').length,
        readable: main.querySelectorAll('mjx-container > mjx-assistive-mml > math').length,
    };
    const images = [];
    for (const img of document.querySelectorAll('article img')) {
        img.scrollIntoView();
        if (!img.complete) {
            await new Promise((done) => { img.onload = done; img.onerror = done; });
        }
        images.push({alt: img.getAttribute('alt') || '',
                     loaded: img.complete && img.naturalWidth > 0});
    }
    const axeResults = await axe.run(document,
        {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
    return {
        title: document.title,
        maths,
        figures: main.querySelectorAll('figure').length,
        images,
        axeEngine: axeResults.testEngine.name,
        violations: axeResults.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 5).map((node) => String(node.target)) })),
        links: [...document.querySelectorAll('a[href]')].map((a) => a.href),
    };
}"""


@dataclass
class Survey:
    """One page, loaded once, as every test of it sees it: what went wrong while loading and
    using it, and what :data:`SURVEY` recorded."""

    seen: Visit
    found: dict[str, Any]


@pytest.fixture(scope="module")
def survey(browser: Any, base_url: str) -> Iterator[Any]:
    """``survey(page)``: each page visited once for the module's per-page tests (visiting it
    once per test took twice as long)."""
    surveys: dict[str, Survey] = {}
    contexts: list[Any] = []

    def _survey(page: str) -> Survey:
        if page not in surveys:
            context = browser.new_context()
            contexts.append(context)
            seen = _open(context, f"{base_url}/{page}.html")
            assert AXE.is_file(), f"{AXE} is missing: gdcourse book installs it with npm ci"
            seen.page.add_script_tag(path=str(AXE))
            surveys[page] = Survey(seen, seen.page.evaluate(SURVEY, WCAG_21_AA))
        return surveys[page]

    yield _survey
    for context in contexts:
        context.close()


@pytest.mark.parametrize("page", PAGES)
def test_page_works_offline_without_errors(survey, page):
    seen = survey(page).seen
    assert seen.blocked == [], "the page asked for something from another host"
    assert seen.failed_requests == []
    assert seen.page_errors == []
    assert seen.console_errors == []
    assert survey(page).found["title"]


@pytest.mark.parametrize("page", MATH_PAGES)
def test_maths_is_typeset_by_mathjax(survey, page):
    maths = survey(page).found["maths"]
    assert maths["formulas"] > 0
    typeset, formulas = maths["typeset"], maths["formulas"]
    assert typeset >= formulas, f"{formulas - typeset} of {formulas} formulas were not typeset"
    assert maths["errors"] == 0, "MathJax reported a TeX error"
    # what a screen reader reads: MathJax's assistive MathML next to every formula
    assert maths["readable"] == maths["containers"] > 0


@pytest.mark.parametrize("page", PAGES)
def test_page_meets_wcag_21_aa(survey, page):
    """axe-core finds no WCAG 2.1 A or AA violation of serious or critical impact."""
    found = survey(page).found
    assert found["axeEngine"] == "axe-core"
    failures = [
        f"{violation['id']} ({violation['impact']}): {violation['help']}; "
        + ", ".join(violation["targets"])
        for violation in found["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    assert failures == [], "\n".join(failures)


def test_axe_reports_what_it_should(visit):
    """The harness can fail: an unnamed button and an image without alt text are caught."""
    seen = visit("index.html")
    seen.page.add_script_tag(path=str(AXE))
    seen.page.evaluate(
        """() => document.querySelector("main").insertAdjacentHTML(
            "beforeend", '<button></button><img src="_static/logo.svg">')"""
    )
    results = seen.page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_21_AA
    )
    found = {(v["id"], v["impact"]) for v in results["violations"]}
    assert ("button-name", "critical") in found
    assert ("image-alt", "critical") in found


@pytest.mark.parametrize("page", bookbuild.notebook_pages())
def test_every_figure_is_present_with_alt_text(survey, page):
    found = survey(page).found
    assert found["figures"] == _expected_figures(page)
    assert len(found["images"]) >= found["figures"]
    for index, image in enumerate(found["images"]):
        alt = image["alt"]
        assert len(alt.strip()) > 20, f"image {index} has no useful alt text: {alt!r}"
        assert image["loaded"], f"image {index} ({alt[:40]}...) did not load"


@pytest.mark.parametrize("page, n_demos", sorted(WIDGET_PAGES.items()))
def test_demos_render_from_saved_widget_state(visit, page, n_demos):
    """Each demo shows its first state, described, and responds to a key over HTTP too."""
    seen = visit(f"{page}.html")
    demos = seen.page.locator("main .cell_output .gd-demo")
    demos.first.wait_for(state="visible", timeout=15_000)
    assert demos.count() == n_demos
    for index in range(n_demos):
        demo = demos.nth(index)
        demo.scroll_into_view_if_needed()
        assert demo.locator("input[type=range]").first.is_visible(), "sliders must be visible"
        figure = demo.locator("svg.gd-figure")
        assert figure.is_visible() and figure.get_attribute("role") == "img"
        box = figure.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        assert demo.locator(".gd-figure-layer path").count() >= 2, "the first state is drawn"
        alt = figure.get_attribute("aria-label") or ""
        status = demo.locator(".gd-status").inner_text()
        assert len(alt) > 60 and status.split(":")[0] in alt
        text = demo.inner_text()
        for placeholder in PLACEHOLDERS:
            assert placeholder not in text, f"demo {index} shows {placeholder!r}"
        slider = demo.locator("input[type=range]").first
        slider.focus()
        slider.press("Home")
        assert figure.get_attribute("aria-label") != alt, "the figure must follow the controls"
        assert demo.evaluate("d => d.gdcourse.live") is False
    assert seen.page_errors == [] and seen.console_errors == []
    assert seen.blocked == []


@pytest.fixture
def offline_tab(browser: Any) -> Iterator[Visit]:
    """A tab for pages opened from ``file://``, every request off the machine blocked."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    result = Visit(context.new_page(), blocked=browser_helpers.block_external_requests(context))
    result.page.on(
        "console", lambda m: result.console_errors.append(m.text) if m.type == "error" else None
    )
    result.page.on("pageerror", lambda error: result.page_errors.append(str(error)))
    result.page.set_default_timeout(20_000)
    yield result
    context.close()


def _open_demo(tab: Visit, site: Path, page: str, index: int) -> Any:
    tab.page.goto((site / f"{page}.html").as_uri())
    root = tab.page.locator("main .gd-demo").nth(index)
    root.wait_for(state="visible", timeout=30_000)
    root.scroll_into_view_if_needed()
    return root


@pytest.mark.parametrize("page, index, demo", DEMO_CASES)
def test_demo_responds_offline_with_gdcourses_numbers(offline_tab, site, page, index, demo):
    """From file://, network cut: every control through its range, ends included, by keyboard;
    after each change the page shows exactly what gdcourse computes for the same settings."""
    root = _open_demo(offline_tab, site, page, index)
    initial = root.evaluate("root => root.gdcourse.values")
    steps, _ = widget_sweep.sweep(offline_tab.page, root)
    names = {step.control for step in steps}
    assert names == set(getattr(widgets, demo)().controls), "every control was moved"
    assert not any(step.page["live"] for step in steps), "no kernel here: the page computed"
    statuses = {step.page["status"] for step in steps}
    assert len(statuses) > len(steps) // 3, "the demo responded to the changes"
    problems = widget_sweep.replay(getattr(widgets, demo), steps, initial=initial)
    assert problems == []
    assert offline_tab.blocked == [], "the page asked for something from another host"
    assert offline_tab.page_errors == [] and offline_tab.console_errors == []


def test_typed_values_are_formatted_as_python_formats_them(offline_tab, site):
    """Values typed into the readouts are used as typed; numbers exactly halfway between two
    four-digit roundings are shown as Python shows them (to the even neighbour)."""
    root = _open_demo(offline_tab, site, "linear-models", 0)
    for control, typed in (("w", "1.0625"), ("b", "-12.125")):
        readout = root.locator(f".gd-control-{control} .gd-readout")
        readout.fill(typed)
        readout.press("Enter")
    shown = root.evaluate("root => root.gdcourse.shown")
    assert (shown["w"], shown["b"]) == (1.0625, -12.125)
    demo = widgets.fit_line()
    demo.controls["w"].value = 1.0625
    demo.controls["b"].value = -12.125
    assert "at w = 1.062, b = −12.12" in demo.state["message"]
    assert shown["message"] == demo.state["message"]


@pytest.mark.parametrize("page", sorted(DEMO_PAGES))
def test_demo_controls_are_named_and_reached_by_keyboard(offline_tab, site, page):
    """Every control has a name a screen reader announces and is reached with Tab, in order;
    a menu works from the keyboard; the figure is an image whose name follows the state."""
    for index in range(len(DEMO_PAGES[page])):
        root = _open_demo(offline_tab, site, page, index)
        controls = root.evaluate(
            """(root) => [...root.querySelectorAll('input, select, button')].map(el => ({
                tag: el.tagName, type: el.type || '', id: el.id,
                name: el.labels && el.labels.length ? el.labels[0].textContent
                      : (el.getAttribute('aria-label') || el.textContent).trim(),
            }))"""
        )
        assert controls and all(len(c["name"]) >= 2 for c in controls), controls
        for control in controls:
            role = {"SELECT": "combobox", "BUTTON": "button"}.get(control["tag"])
            role = role or ("slider" if control["type"] == "range" else "textbox")
            assert root.get_by_role(role, name=control["name"], exact=True).count() >= 1
        first = root.locator("input, select, button").first
        first.focus()
        reached = [
            root.evaluate("() => document.activeElement.id || document.activeElement.className")
        ]
        for _ in controls[1:]:
            offline_tab.page.keyboard.press("Tab")
            reached.append(
                root.evaluate(
                    "() => document.activeElement.id || document.activeElement.className"
                )
            )
        expected = [c["id"] or "" for c in controls]
        assert [r for r, e in zip(reached, expected, strict=True) if e and r != e] == []
        menu = root.locator("select")
        if menu.count():
            before = menu.input_value()
            alt = root.locator("svg.gd-figure").get_attribute("aria-label")
            menu.focus()
            offline_tab.page.keyboard.press("ArrowDown")
            assert menu.input_value() != before
            assert root.locator("svg.gd-figure").get_attribute("aria-label") != alt
        assert root.get_by_role("img").count() == 1
    assert offline_tab.page_errors == [] and offline_tab.console_errors == []


def test_no_broken_internal_links(survey, base_url):
    links: set[str] = set()
    for page in PAGES:
        links.update(h for h in survey(page).found["links"] if h.startswith(base_url))
    assert len(links) > 50
    bodies: dict[str, str] = {}
    broken = []
    for link in sorted(links):
        url, fragment = urldefrag(link)
        if url not in bodies:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    bodies[url] = response.read().decode("utf-8", errors="replace")
            except OSError as error:
                broken.append(f"{link}: {error}")
                bodies[url] = ""
                continue
        path = urlsplit(url).path
        is_page = path.endswith((".html", "/"))
        if fragment and is_page and not re.search(rf'\bid="{re.escape(fragment)}"', bodies[url]):
            broken.append(f"{link}: no element with id {fragment!r}")
    assert broken == []


def test_search_finds_learning_rate(visit):
    seen = visit("search.html?q=learning+rate")
    results = seen.page.locator("#search-results li")
    results.first.wait_for(state="attached", timeout=20_000)
    hrefs = results.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert any(h and h.startswith("gradient-descent.html") for h in hrefs), hrefs
    assert seen.page_errors == [] and seen.console_errors == []
