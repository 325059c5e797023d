"""A hostile student's feedback page in headless Chromium: no script runs, nothing loads.

The page is made by the feedback exporter from tests/hostile.py's notebook, whose
every trap would set ``document.title`` or fetch from ``example.invalid``. The page
is opened from ``file://`` (as a student opens a downloaded feedback file) with
every request that would leave the machine blocked and recorded. A second page
has the same traps pasted in raw, as if the sanitizer had missed all of them: the
Content-Security-Policy alone must then stop every script and every request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import browser as browser_helpers  # tests/browser.py: Debian's Chromium, offline routing
import hostile  # tests/hostile.py
import nbformat
import pytest
from playwright import sync_api

from gdcourse.grading.feedback import FeedbackExporter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TITLE = "Feedback: ps4_autograd"
SET = hostile.SET
REMOTE = hostile.REMOTE
#: What the sanitizer removes, pasted in raw: the CSP alone must hold. (A meta refresh is left
#: out: no CSP directive stops navigation, so that one is the sanitizer's alone.)
RAW = f"""
<script>{SET}</script>
<img src="x" onerror="{SET}"><img src="{REMOTE}/raw.png">
<style>@import url({REMOTE}/raw.css); @font-face {{ font-family: f; src: url({REMOTE}/f.woff) }}
  body {{ font-family: f; }}</style>
<link rel="stylesheet" href="{REMOTE}/raw2.css">
<div style="background-image: url({REMOTE}/bg.png); width: 10px; height: 10px"></div>
<iframe src="{REMOTE}/frame"></iframe>
<iframe srcdoc="<script>parent.{SET}</script>"></iframe>
<object data="{REMOTE}/object"></object><embed src="{REMOTE}/embed">
<svg onload="{SET}"><script>{SET}</script><image href="{REMOTE}/svg.png"/></svg>
<video poster="{REMOTE}/poster.png"></video>
<a id="raw-js-link" href="javascript:{SET}">raw javascript link</a>
<form action="{REMOTE}/submit"><button id="raw-submit">submit</button></form>
<base href="{REMOTE}/">
"""
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  (event) => window.__violations.push(event.violatedDirective + ' ' + event.blockedURI));
"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("feedback-pages")
    notebook = nbformat.reads(json.dumps(hostile.autograded_notebook()), as_version=4)
    resources = {"nbgrader": {"assignment": "ps4_autograd", "notebook": "ps4_autograd",
                              "student": "mallory", "score": 0.0, "max_score": 3.0}}  # fmt: skip
    html, _ = FeedbackExporter().from_notebook_node(notebook, resources)
    sanitized = folder / "sanitized.html"
    sanitized.write_text(html, encoding="utf-8")
    raw = folder / "raw.html"
    raw.write_text(html.replace("<main>", "<main>" + RAW, 1), encoding="utf-8")
    return {"sanitized": sanitized, "raw": raw}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser_helpers.running_chromium() as browser:
        yield browser


@dataclass
class Visit:
    page: Any
    url: str
    responses: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture
def visit(chromium: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def _visit(path: Path) -> Visit:
        context = chromium.new_context()
        contexts.append(context)
        context.add_init_script(WATCH)
        page = context.new_page()
        seen = Visit(page, path.as_uri())

        def route(route: Any) -> None:  # the page itself is a file: the rest must not leave
            url = route.request.url
            if url.startswith("file:") or browser_helpers.is_local_url(url):
                route.continue_()
            else:
                seen.blocked.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        context.on("response", lambda response: seen.responses.append(response.url))
        page.on("dialog", lambda dialog: (seen.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(seen.url, wait_until="load")
        page.wait_for_timeout(500)
        return seen

    yield _visit
    for context in contexts:
        context.close()


def _try_everything(page: Any) -> None:
    """What a curious reader does: click links and buttons, hover, focus every input.

    Links to web sites are left alone: following one is the reader's choice, not the page's.
    """
    for selector in ("a", "button", "summary", "div", "input"):
        for element in page.query_selector_all(selector)[:40]:
            href = element.get_attribute("href") or ""
            try:
                if selector == "input":
                    element.focus()
                elif selector == "div":
                    element.hover(timeout=500)
                elif not href.startswith(("http:", "https:", "mailto:")):
                    element.click(timeout=500, no_wait_after=True)
            except sync_api.Error:
                pass  # hidden or covered: nothing a reader could do either
    page.wait_for_timeout(500)


def _assert_nothing_happened(seen: Visit) -> None:
    page = seen.page
    title, location = page.evaluate("() => [document.title, location.href]")
    assert title == TITLE and location.split("#")[0] == seen.url  # fragments stay in the page
    assert seen.blocked == [], f"requests that reached the network: {seen.blocked}"
    answered = [url for url in seen.responses if not url.startswith(("file:", "data:"))]
    assert answered == [], answered
    assert seen.dialogs == []
    # a frame whose source CSP refused shows Chromium's error page, fetched from nowhere
    frames = [frame.url for frame in page.frames[1:]]
    assert set(frames) <= {"about:blank", "about:srcdoc", "chrome-error://chromewebdata/"}, frames


def test_sanitized_page_runs_nothing_and_loads_nothing(visit: Any, pages: dict[str, Path]) -> None:
    seen = visit(pages["sanitized"])
    _try_everything(seen.page)
    _assert_nothing_happened(seen)
    assert seen.page.evaluate("() => document.scripts.length") == 0


def test_maths_is_native_mathml(visit: Any, pages: dict[str, Path]) -> None:
    seen = visit(pages["sanitized"])
    rendered = seen.page.evaluate(
        """() => [...document.querySelectorAll('math')].filter((m) =>
             m instanceof MathMLElement && m.getBoundingClientRect().width > 0).length"""
    )
    assert rendered >= 10
    fraction = seen.page.evaluate(
        """() => { const f = document.querySelector('mfrac').getBoundingClientRect();
                   const m = document.querySelector('mfrac mrow').getBoundingClientRect();
                   return [f.height, m.height]; }"""
    )
    assert fraction[0] > fraction[1] * 1.5, fraction  # numerator above denominator
    text = seen.page.inner_text("main")
    assert "$$" not in text and "\\frac" not in text.split("\\def")[0]


def test_checks_are_blocks_headed_by_function_visibility_and_points(
    visit: Any, pages: dict[str, Path]
) -> None:
    page = visit(pages["sanitized"]).page
    headings = page.locator("section.gd-check h2").all_inner_texts()
    assert headings == [
        "train_autograd: visible checks, 0 of 1 point",
        "train_autograd: hidden checks, 0 of 2 points",
    ]
    cases = page.locator("#check-2 pre.gd-case")
    assert cases.count() == 4
    heights = [box["height"] for box in (c.bounding_box() for c in cases.all()) if box]
    assert len(heights) == 4 and min(heights) > 0
    wrap = page.evaluate(
        "() => getComputedStyle(document.querySelector('pre.gd-case')).whiteSpace"
    )
    assert wrap == "pre-wrap"
    assert page.locator(".gd-total").inner_text() == "Score: 0 of 3 points"


def test_csp_alone_stops_what_a_sanitizer_might_miss(visit: Any, pages: dict[str, Path]) -> None:
    seen = visit(pages["raw"])
    for selector in ("#raw-js-link", "#raw-submit"):
        seen.page.click(selector, no_wait_after=True)
    seen.page.wait_for_timeout(500)
    _assert_nothing_happened(seen)
    violations = seen.page.evaluate("() => window.__violations")
    directives = {v.split()[0] for v in violations}
    assert {"script-src-elem", "img-src", "style-src-elem"} <= directives, violations
    assert any(REMOTE in v for v in violations), violations
