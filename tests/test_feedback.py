"""Feedback pages: inert student text, MathML maths, one block per check, bounds that hold.

The HTML is read back with :mod:`html.parser` and checked element by element; the
last tests run the real ``nbgrader generate_feedback`` in a scratch course with
this repository's ``nbgrader_config.py``. tests/test_feedback_browser.py opens the
same pages in Chromium.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import hostile  # tests/hostile.py
import nbformat
import pytest

from gdcourse.grading.feedback import (
    CSP,
    Budget,
    FeedbackExporter,
    render_markdown,
    render_page,
    tex_to_mathml,
)
from gdcourse.grading.feedback import markdown as feedback_markdown

ROOT = Path(__file__).resolve().parents[1]
STUDENT = "mallory<b>"  # a folder name is the student id: it must be escaped too
NBGRADER = Path(sys.executable).parent / "nbgrader"
#: Elements that can run script, load a resource, navigate or submit.
DANGEROUS = {
    "script", "style", "iframe", "frame", "object", "embed", "link", "meta", "base", "svg",
    "form", "button", "video", "audio", "source", "track", "image", "use", "noscript",
    "template", "applet", "portal", "frameset", "textarea", "select", "option",
}  # fmt: skip


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, as a browser's tokenizer sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def tags(self, name: str) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == name]


def assert_inert(html: str, *, page: bool = False) -> Elements:
    """No element or attribute in ``html`` could run script or fetch anything."""
    parsed = Elements(html)
    for tag, attrs in parsed.elements:
        if page and tag in ("meta", "style"):  # the page's own head
            continue
        assert tag not in DANGEROUS, (tag, attrs)
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value)
            assert name not in ("style", "srcdoc", "formaction", "action", "poster", "xlink:href")
            if name == "src":
                assert (value or "").startswith("data:image/"), (tag, value)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:", "#")), value
                assert not (value or "").startswith(hostile.REMOTE) or tag == "a"
    return parsed


def test_script_in_a_markdown_cell_does_not_survive() -> None:
    html = render_markdown(hostile.HOSTILE_MARKDOWN)
    parsed = assert_inert(html)
    assert "<script" not in html.lower() and "<style" not in html.lower()
    assert "&lt;script&gt;" in html  # shown, as text
    assert not parsed.tags("a") or all(
        a.get("href") in (None, "#harmful-link", "#notes") for a in parsed.tags("a")
    )
    assert all(img.get("src") is None for img in parsed.tags("img"))


FRAGMENTS = [
    "<script>x()</script>", "<img src=x onerror=x()>", "<svg onload=x()>", "</p>", "<p>",
    "<a href='javascript:x()'>", "[l](javascript:x())", "![i](http://x/i.png)", "<style>",
    "<math><mtext><table><mglyph><style>", "<!--", "-->", "<![CDATA[", "]]>", "$x$",
    "$$\\text{<b>}$$", "`", "```", "\n", "\n\n", "<iframe srcdoc='<script>x()</script>'>",
    "<div style='background:url(http://x)'>", "&lt;script&gt;", "<noscript><p title='",
    "'>", '"', "<", ">", "</textarea>", "<textarea>", "<template>", "<base href=//x>",
    "<object data=//x>", "<a href=data:text/html,x>", "<img src='data:image/svg+xml,x'>",
    "<input onfocus=x() autofocus>", "<details ontoggle=x() open>", "<math href=//x>",
    "<mi xlink:href=//x>", "<maction actiontype=statusline>",
    "<annotation-xml encoding=text/html>",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(60))
def test_random_mixtures_of_hostile_fragments_stay_inert(seed: int) -> None:
    rng = random.Random(seed)
    source = "".join(rng.choice(FRAGMENTS) + rng.choice(["", " ", "x"]) for _ in range(30))
    assert_inert(render_markdown(source))


def test_maths_becomes_mathml() -> None:
    parsed = Elements(render_markdown("Inline $x^2$ and\n\n$$\\frac{a}{b}$$"))
    maths = parsed.tags("math")
    assert [m.get("display") for m in maths] == ["inline", "block"]
    assert parsed.tags("mfrac") and parsed.tags("msup")
    assert "$" not in "".join(parsed.text)


@pytest.mark.parametrize(
    "tex",
    [
        r"\def\a{\a\a}\a",  # a macro whose expansion never ends
        r"\newcommand{\b}{\b\b}\b",
        r"\href{javascript:x()}{y}",
        r"\style{background:url(http://x)}{y}",
        "{" * 50 + "x" + "}" * 50,  # deeper than the bound
        "x+" * 1500,  # longer than the bound
        r"\frac{",  # latex2mathml cannot read it
    ],
)
def test_formulas_over_a_bound_or_unsafe_are_shown_as_latex(tex: str) -> None:
    html = tex_to_mathml(tex)
    assert html.startswith('<code class="tex">$') and "<math" not in html


def test_text_inside_maths_is_escaped() -> None:
    html = render_markdown('$\\text{<img src=x onerror="x()">}$')
    parsed = assert_inert(html)
    assert parsed.tags("math") and not parsed.tags("img")
    assert '<img src=x onerror="x()">' in "".join(parsed.text).replace("\xa0", " ")


def test_a_cell_over_the_size_bound_is_shown_as_text() -> None:
    source = "<b>x</b>" * (feedback_markdown.MAX_CELL_CHARS // 8 + 1)
    html = render_markdown(source)
    assert "too long to render" in html and "<b>" not in html
    assert html.count("&lt;b&gt;") == feedback_markdown.SHOWN_CHARS // 8


@pytest.mark.parametrize(
    "source",
    [
        "<div>" * (feedback_markdown.MAX_DEPTH + 1) + "x",
        "<p><b>x" * (feedback_markdown.MAX_DEPTH + 1),
        "<br>" * (feedback_markdown.MAX_CELL_TAGS + 1),
    ],
)
def test_a_cell_over_the_nesting_or_tag_bound_is_shown_as_text(source: str) -> None:
    html = render_markdown(source)
    assert "too many or too deeply nested" in html
    assert_inert(html)
    assert "<div>" not in html and "<br>" not in html


def test_within_the_bounds_nesting_renders() -> None:
    html = render_markdown("<div>" * 20 + "x" + "</div>" * 20)
    assert html.count("<div>") == 20


def test_one_budget_bounds_a_whole_notebook() -> None:
    budget = Budget(chars=1000, tex_chars=10, tags=100)
    assert "<strong>" in render_markdown("**a**", budget=budget)
    assert "too long" in render_markdown("x" * 1000, budget=budget)
    assert "<math" in render_markdown("$x+1$", budget=budget)
    assert '<code class="tex">' in render_markdown("$x+y+z+w+v$", budget=budget)
    assert "too many" in render_markdown("<b>y</b>" * 60, budget=budget)


def test_images_only_as_data_urls_from_attachments() -> None:
    png = "iVBORw0KGgo="
    html = render_markdown(
        "![a](attachment:a.png) ![b](attachment:b.svg) ![c](attachment:missing.png)",
        attachments={"a.png": {"image/png": png}, "b.svg": {"image/svg+xml": "PHN2Zz4="}},
    )
    sources = [img.get("src") for img in Elements(html).tags("img")]
    assert sources == [f"data:image/png;base64,{png}", None, None]


def _page() -> str:
    notebook = nbformat.reads(json.dumps(hostile.autograded_notebook()), as_version=4)
    resources = {
        "nbgrader": {
            "assignment": "ps4_autograd",
            "notebook": "ps4_autograd",
            "student": "<img src=x onerror=x()>",
            "score": 0.5,
            "max_score": 3,
            "late_penalty": 0.5,
        }
    }
    html, _ = FeedbackExporter().from_notebook_node(notebook, resources)
    return str(html)


def test_page_has_the_csp_first_and_no_script_of_its_own() -> None:
    html = _page()
    head = html.split("<body>", 1)[0]
    assert head.index('<meta charset="utf-8">') < head.index("Content-Security-Policy")
    assert head.index("Content-Security-Policy") < head.index("<style>")
    assert f'content="{CSP}"' in head
    assert "default-src 'none'" in CSP and "script-src" not in CSP
    assert "<script" not in html.lower()
    assert_inert(html, page=True)


def test_page_total_first_then_one_block_per_check() -> None:
    html = _page()
    parsed = Elements(html)
    text = "".join(parsed.text)
    assert "Score: 0.5 of 3 points (after a late-submission penalty of 0.5 points)" in text
    assert "Student <img src=x onerror=x()>" in text
    assert text.index("Score:") < text.index("My notes")
    sections = [a for a in parsed.tags("section") if "gd-check" in (a.get("class") or "")]
    assert [s.get("id") for s in sections] == ["check-1", "check-2"]
    assert "train_autograd: visible checks, 0 of 1 point" in text
    assert "train_autograd: hidden checks, 0 of 2 points" in text
    cases = html.split('id="check-2"')[1].split("</section>")[0].count('<pre class="gd-case">')
    assert cases == 4
    visible = html.split('id="check-1"')[1].split("</section>")[0]
    assert visible.count('<pre class="gd-case">') == 2
    assert "&lt;/pre&gt;&lt;script&gt;" in visible  # the student's text, as text
    assert "<h2>All submissions" not in html


def test_page_never_shows_hidden_test_code() -> None:
    """ClearHiddenTests runs in nbgrader; even without it the page drops the hidden region."""
    html = _page()
    assert hostile.hidden_case_text() not in html
    assert "BEGIN HIDDEN TESTS" not in html and "END HIDDEN TESTS" not in html
    assert "matches the reference on unseen data" in html  # the docstring stays


def test_code_is_escaped_and_highlighted() -> None:
    html = _page()
    assert 'class="gd-code"' in html
    assert "&lt;/pre&gt;&lt;/div&gt;&lt;script&gt;" in html
    assert "1 &lt; 2 &amp;&amp; 3 &gt; 2" in html


def test_page_points_and_plurals_from_the_gradebook() -> None:
    cells: list[dict[str, Any]] = [
        {
            "cell_type": "code",
            "source": 'check("ps1", "f", f, cases=[])',
            "metadata": {"nbgrader": {"grade": True, "solution": False, "points": 1, "score": 1}},
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": "f: all 2 visible checks passed.\n",
                }
            ],
        }
    ]
    html = render_page(cells, assignment="ps1")
    text = "".join(Elements(html).text)
    assert "f: visible checks, 1 of 1 point" in text and "Score: 1 of 1 point" in text
    assert "f: all 2 visible checks passed." in text
    assert 'class="gd-check gd-pass"' in html


# ------------------------------------------------------------------ nbgrader generate_feedback


@pytest.fixture(scope="module")
def feedback_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch course: ps4 released, one hostile student autograded, feedback generated."""
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import SAWarning

    course = tmp_path_factory.mktemp("feedback-course")
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    (course / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(hostile.MASTER, course / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}"}
    run = dict(cwd=course, env=env, capture_output=True, text=True, check=False)
    done = subprocess.run([str(NBGRADER), "generate_assignment", "ps4_autograd"], **run)
    assert done.returncode == 0, done.stdout + done.stderr
    student = STUDENT
    target = course / "autograded" / student / "ps4_autograd"
    target.mkdir(parents=True)
    (target / "ps4_autograd.ipynb").write_text(json.dumps(hostile.autograded_notebook()))
    old_path = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]  # the gradebook runs `alembic`
    try:
        with (
            warnings.catch_warnings(),
            Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gdcourse") as gradebook,
        ):
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission
            gradebook.add_student(student)
            gradebook.add_submission("ps4_autograd", student)
            for grade_id, score in (
                ("test_train_autograd_visible", 1.0),
                ("test_train_autograd_hidden", 0.0),
            ):
                grade = gradebook.find_grade(grade_id, "ps4_autograd", "ps4_autograd", student)
                grade.auto_score = score
            comment = gradebook.find_comment(
                "train_autograd", "ps4_autograd", "ps4_autograd", student
            )
            comment.auto_comment = "AUTOMATIC COMMENT"
            comment.manual_comment = "Good start: see **lecture 3**. <script>x()</script>"
            gradebook.db.commit()
    finally:
        os.environ["PATH"] = old_path
    done = subprocess.run([str(NBGRADER), "generate_feedback", "ps4_autograd"], **run)
    assert done.returncode == 0, done.stdout + done.stderr
    return course


@pytest.mark.slow
def test_nbgrader_generate_feedback_writes_our_page(feedback_course: Path) -> None:
    page = feedback_course / "feedback" / STUDENT / "ps4_autograd" / "ps4_autograd.html"
    html = page.read_text(encoding="utf-8")
    assert f'content="{CSP}"' in html and "<script" not in html.lower()
    assert_inert(html, page=True)
    text = "".join(Elements(html).text)
    assert "Score: 1 of 3 points" in text  # the gradebook's total
    assert "train_autograd: visible checks, 1 of 1 point" in text  # the gradebook's grade
    assert "train_autograd: hidden checks, 0 of 2 points" in text
    assert "Student mallory<b>" in text
    assert "Good start: see lecture 3. <script>x()</script>" in text  # the grader's comment
    assert "AUTOMATIC COMMENT" not in text  # the verdicts are shown once, by the checks
    assert hostile.hidden_case_text() not in html and "BEGIN HIDDEN TESTS" not in html
    assert "<math" in html


@pytest.mark.parametrize("master", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=str)
def test_every_masters_text_and_maths_render_within_the_bounds(master: Path) -> None:
    """The bounds are far above what the course's own notebooks need: nothing falls back."""
    budget = Budget()
    notebook = json.loads(master.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            html = render_markdown("".join(cell["source"]), budget=budget)
            assert 'class="gd-note"' not in html and 'class="tex"' not in html, html[:300]
            assert "$" not in "".join(Elements(html).text)
    full = Budget()  # each master uses at most a quarter of any bound
    assert budget.chars > full.chars * 0.75 and budget.tex_chars > full.tex_chars * 0.75
    assert budget.tags > full.tags * 0.75


@pytest.mark.slow
def test_the_api_route_of_gdcourse_grade_writes_the_same_page(feedback_course: Path) -> None:
    """``gdcourse grade`` makes feedback through nbgrader's API with the course's config."""
    page = feedback_course / "feedback" / STUDENT / "ps4_autograd" / "ps4_autograd.html"
    expected = page.read_text(encoding="utf-8")
    page.unlink()
    script = (
        "from traitlets.config.loader import PyFileConfigLoader\n"
        "from nbgrader.apps import NbGraderAPI\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)\n"
        "outcome = api.generate_feedback('ps4_autograd')\n"
        "assert outcome['success'], outcome\n"
    )
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=feedback_course,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert page.read_text(encoding="utf-8") == expected


def _pages_through_the_api(course: Path, found: Any = None) -> dict[str, bytes]:
    """Every page ``api.generate_feedback`` writes for the course, in this process, with
    ``found`` preloaded (``gdcourse grade``'s feedback processes) or without."""
    import glob

    from nbgrader.apps import NbGraderAPI

    from gdcourse.course import Course
    from gdcourse.grading.feedback.exporter import preloaded
    from gdcourse.grading.gradebook import shared_engines

    opened = Course.open(course)
    shutil.rmtree(opened.feedback, ignore_errors=True)
    coursedir = opened.coursedir()
    coursedir.db_url = opened.db_url
    api = NbGraderAPI(coursedir=coursedir, config=coursedir.config)
    with warnings.catch_warnings(), shared_engines():
        warnings.simplefilter("ignore")
        with preloaded(found) if found is not None else contextlib.nullcontext():
            outcome = api.generate_feedback("ps4_autograd", glob.escape(STUDENT))
    assert outcome["success"], outcome
    return {str(p.relative_to(course)): p.read_bytes() for p in opened.feedback.rglob("*.html")}


@pytest.mark.slow
def test_preloaded_grades_write_the_page_the_gradebook_does(
    feedback_course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``gdcourse grade`` reads every page's grades, comments and totals in three queries;
    the pages are byte for byte nbgrader's own, with a grader's score, extra credit, comment
    and a late penalty, and when a key is missing (the page then asks the gradebook)."""
    from nbgrader.api import Gradebook

    from gdcourse.grading.feedback.exporter import Preloaded, preload

    course = tmp_path / "course"
    shutil.copytree(feedback_course, course)
    monkeypatch.setenv("PATH", f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "gdcourse") as gradebook:
        grade = gradebook.find_grade(
            "test_train_autograd_hidden", "ps4_autograd", "ps4_autograd", STUDENT
        )
        grade.manual_score, grade.extra_credit = 1.5, 0.25
        notebook = gradebook.find_submission_notebook("ps4_autograd", "ps4_autograd", STUDENT)
        notebook.late_submission_penalty = 0.5
        gradebook.db.commit()
    plain = _pages_through_the_api(course)
    text = b"".join(plain.values()).decode()
    assert "late-submission penalty of 0.5" in text and "Good start" in text
    found = preload(f"sqlite:///{course / 'gradebook.db'}", "gdcourse", "ps4_autograd")
    assert found.notebooks[(STUDENT, "ps4_autograd")][2] == 0.5
    assert found.grades[(STUDENT, "ps4_autograd", "test_train_autograd_hidden")][0] == 1.75
    assert _pages_through_the_api(course, found) == plain
    missing = Preloaded(grades={}, comments=found.comments, notebooks=found.notebooks)
    assert _pages_through_the_api(course, missing) == plain


def test_manually_graded_cells_show_points_and_the_graders_comment() -> None:
    cells = [
        {
            "cell_type": "markdown",
            "source": "My answer: the step is too large.",
            "metadata": {
                "nbgrader": {"grade": True, "solution": True, "points": 2, "score": 1.5,
                             "comment": "Almost: *why* does it diverge?"},
            },
        },
        {
            "cell_type": "markdown",
            "source": "Describe the plot.",
            "metadata": {"nbgrader": {"task": True, "points": 1, "score": 1, "comment": None}},
        },
    ]  # fmt: skip
    html = render_page(cells)
    text = "".join(Elements(html).text)
    assert "1.5 of 2 points" in text and "1 of 1 point" in text
    assert "Comment from your grader" in text and "<em>why</em>" in html
    assert text.count("Comment from your grader") == 1


def test_a_code_cell_is_highlighted_once_per_process_and_the_cache_is_bounded(monkeypatch):
    from gdcourse.grading.feedback import page as feedback_page

    monkeypatch.setattr(feedback_page, "_highlighted", {})
    monkeypatch.setattr(feedback_page, "MAX_HIGHLIGHTED", 3)
    made = []
    real = feedback_page._highlight_now

    def counted(code: str, language: str) -> str:
        made.append(code)
        return real(code, language)

    monkeypatch.setattr(feedback_page, "_highlight_now", counted)
    first = feedback_page._highlight("x = <b>1</b>\n", "python")
    assert feedback_page._highlight("x = <b>1</b>\n", "python") == first
    assert made == ["x = <b>1</b>\n"]  # the second page reuses the first one's HTML
    assert "<b>" not in first and "&lt;" in first  # still escaped, as highlighted
    for number in range(5):
        feedback_page._highlight(f"y = {number}\n", "python")
    assert len(feedback_page._highlighted) == 3  # the oldest went first
    assert ("x = <b>1</b>\n", "python") not in feedback_page._highlighted
