"""The book: its sources follow the house rules, and the built site is complete and offline.

The site is built once per session by ``gdcourse.tools.bookbuild.build_book`` (fast when nothing
changed: Sphinx is incremental and executed pages come from the jupyter-cache store).
"""

from __future__ import annotations

import html
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import built_site
import jupytext
import nbformat
import pytest

from gdcourse.tools import bookbuild

BOOK = bookbuild.BOOK
ROOT = BOOK.parent
PAGES = bookbuild.chapter_pages()
NOTEBOOK_PAGES = bookbuild.notebook_pages()
#: Numbered chapters that teach; each ends with self-check exercises.
TEACHING_CHAPTERS = [
    "gradients",
    "gradient-descent",
    "linear-models",
    "linear-regression",
    "convergence",
    "pytorch-regression",
    "generalisation",
    "beyond",
    "adaptive",
    "logistic-regression",
]
#: The graded assignments each teaching chapter points to (in its closing admonition).
CHAPTER_ASSIGNMENTS = {
    "gradients": ["ps1_gradients"],
    "gradient-descent": ["ps2_gradient_descent"],
    "linear-models": ["ps3_linear_regression"],
    "linear-regression": ["ps3_linear_regression", "ps4_autograd"],
    "convergence": [],
    "pytorch-regression": ["ps5_minibatch_sgd"],
    "generalisation": [],
    "beyond": ["ps6_momentum"],
    "adaptive": ["ps7_adaptive"],
    "logistic-regression": ["ps8_logistic"],
}
#: The released assignments: each must have its student notebook and a download link.
ASSIGNMENTS = [
    "ps1_gradients",
    "ps2_gradient_descent",
    "ps3_linear_regression",
    "ps4_autograd",
    "ps5_minibatch_sgd",
    "ps6_momentum",
    "ps7_adaptive",
    "ps8_logistic",
]
#: Every assignment the book announces, released or not.
ANNOUNCED = [*ASSIGNMENTS]
#: The demos of gdcourse.widgets and the chapter that shows each.
DEMOS = {
    "descent_1d": "gradient-descent",
    "descent_2d": "gradient-descent",
    "fit_line": "linear-models",
    "batch_size": "beyond",
    "feature_scaling": "beyond",
}
CANONICAL_HEADER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---
"""


pytestmark = pytest.mark.usefixtures("site_reader")


@pytest.fixture(scope="session")
def site() -> Path:
    return built_site.build()


def _source(page: str) -> str:
    return (BOOK / f"{page}.md").read_text(encoding="utf-8")


def _html(site: Path, page: str) -> str:
    return (site / f"{page}.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- sources


def test_toc_orders_the_chapters_of_the_issue():
    assert PAGES == [
        "index",
        "introduction",
        "gradients",
        "gradient-descent",
        "linear-models",
        "linear-regression",
        "convergence",
        "pytorch-regression",
        "generalisation",
        "beyond",
        "adaptive",
        "logistic-regression",
        "assignments",
        "notation",
        "primer",
        "glossary",
        "references",
        "acknowledgements",
    ]
    toc = (BOOK / "_toc.yml").read_text(encoding="utf-8")
    assert "numbered: true" in toc


@pytest.mark.parametrize("page", PAGES)
def test_page_starts_with_a_label_matching_its_file_name(page):
    text = _source(page)
    body = text[len(CANONICAL_HEADER) :] if text.startswith(CANONICAL_HEADER) else text
    first_line = body.lstrip("\n").splitlines()[0]
    assert first_line == f"({page})=", f"{page}.md must start with the label ({page})="


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_pages_have_the_one_canonical_header(page):
    assert _source(page).startswith(CANONICAL_HEADER)


def test_every_page_with_code_is_a_notebook_page_and_none_stores_outputs():
    code_pages = [page for page in PAGES if "```{code-cell}" in _source(page)]
    assert code_pages == NOTEBOOK_PAGES
    assert len(NOTEBOOK_PAGES) == 12
    assert not list(BOOK.glob("*.ipynb")), "pages are MyST Markdown, never stored notebooks"


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_pages_open_as_notebooks_with_jupytext(page):
    notebook = jupytext.read(BOOK / f"{page}.md")
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and not any(cell.outputs for cell in code)
    assert code[0].source.startswith("import"), "the first cell imports what the page needs"


def test_package_changes_drop_the_execution_cache(tmp_path, monkeypatch):
    build = tmp_path / "_build"
    cache = build / ".jupyter_cache"
    stamp = build / ".gdcourse-code-sha256"
    monkeypatch.setattr(bookbuild, "BUILD", build)
    monkeypatch.setattr(bookbuild, "CACHE", cache)
    monkeypatch.setattr(bookbuild, "CODE_STAMP", stamp)
    cache.mkdir(parents=True)
    stamp.write_text("fingerprint of the code of the last build")
    bookbuild._invalidate_if_code_changed("fingerprint of the code of the last build")
    assert cache.is_dir(), "unchanged code keeps the cache"
    bookbuild._invalidate_if_code_changed("fingerprint after an edit of gdcourse")
    assert not cache.exists(), "changed code drops the cache, so every page runs again"
    assert len(bookbuild.code_fingerprint()) == 64


def test_the_fingerprint_follows_what_pages_run_and_nothing_else(tmp_path: Path) -> None:
    package = tmp_path / "gdcourse"
    shutil.copytree(
        ROOT / "gdcourse", package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    before = bookbuild.code_fingerprint(package)
    (package / "tools" / "cli.py").write_text("# the command line changed\n", encoding="utf-8")
    (package / "grading" / "report.py").write_text("# the report changed\n", encoding="utf-8")
    assert bookbuild.code_fingerprint(package) == before
    (package / "optimizers.py").write_text("# an algorithm changed\n", encoding="utf-8")
    assert bookbuild.code_fingerprint(package) != before


@pytest.mark.parametrize("page", TEACHING_CHAPTERS)
def test_chapter_ends_with_self_check_solutions_and_its_assignment(page):
    text = _source(page)
    self_check = text.rindex("## Self-check")
    tail = text[self_check:]
    assert tail.count(":::{admonition} Exercise") >= 3
    assert tail.count("```{dropdown} Solution") == tail.count(":::{admonition} Exercise")
    named = re.findall(r"\*\*`(ps\d_[a-z_]+)`\*\*", tail)
    assert named == CHAPTER_ASSIGNMENTS[page]
    if named:
        assert "Graded assignment" in tail and "{ref}`assignments page <assignments>`" in tail


def test_assignments_are_named_one_way_throughout():
    """Assignment N, `psN_name`: never "problem set", and the number matches the folder."""
    for page in PAGES:
        text = _source(page)
        assert not re.search(r"problem set", text, re.IGNORECASE), page
        for folder, number in re.findall(r"`ps(\d)_[a-z_]+`\*\* \(Assignment (\d)\)", text):
            assert folder == number, page
    assignments = _source("assignments")
    for number, name in enumerate(ANNOUNCED, start=1):
        assert f"(assignment-ps{number})=\n### Assignment {number}, `{name}`:" in assignments
    introduction = _source("introduction")
    for number, name in enumerate(ANNOUNCED, start=1):
        assert f"Assignment {number}, `{name}`" in introduction


def test_one_notation_l_is_never_the_loss_and_data_are_never_subscripted_by_i():
    """The notation page's rules: L is the smoothness constant, (i) numbers observations."""
    for page in PAGES:
        text = _source(page)
        maths = " ".join(re.findall(r"\$\$?(.+?)\$\$?", text, re.DOTALL))
        assert not re.search(r"(?<![\\\w])L\((w|\\theta|W)", maths), f"{page}: L used as a loss"
        assert not re.search(r"\b[xyr]_\{?i\b", maths), f"{page}: observation as a subscript"
        assert not re.search(r"\\hat y_\{?i", maths), f"{page}: observation as a subscript"
        assert "s_x" not in maths, f"{page}: the standard deviation is \\sigma_x"
    notation = _source("notation")
    assert "$L$ is never a loss" in notation
    assert "$x_k$ is always a point reached by an algorithm" in notation


def test_the_primer_is_linked_where_its_ideas_are_first_used():
    """The first chapter (in reading order) that uses each idea links to the primer."""
    reading_order = [p for p in PAGES if p not in ("notation", "primer", "glossary")]
    for idea in ("Hessian", "eigenvalue", "Lipschitz"):
        first = next(page for page in reading_order if idea in _source(page))
        assert "{ref}`primer" in _source(first), f"{first} uses {idea!r} without the primer"
    introduction = _source("introduction")
    assert "<primer>`" in introduction and "Lipschitz" in introduction


def test_the_accessibility_fix_names_controls_by_their_visible_text():
    spec = importlib.util.spec_from_file_location(
        "accessibility", BOOK / "_ext" / "accessibility.py"
    )
    assert spec is not None and spec.loader is not None
    accessibility = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(accessibility)
    navbar = (
        '<header class="bd-header navbar">'
        '<button class="btn search-button-field search-button__button pst-js-only" '
        'title="Search" aria-label="Search" data-bs-placement="bottom">'
        '<span class="search-button__default-text">Search</span></button>'
        '<button class="btn btn-sm pst-navbar-icon search-button search-button__button" '
        'title="Search" aria-label="Search"><i class="fa-solid fa-magnifying-glass"></i></button>'
        '<button class="theme-switch-button" aria-label="Color mode">'
        '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" title="Light"></i>'
        '<i class="theme-switch fa-solid fa-moon fa-lg" data-mode="dark"  title="Dark"></i>'
        "</button></header>"
    )
    fixed, n_search, n_icons = accessibility.fix_navbar(navbar)
    assert (n_search, n_icons) == (1, 2)
    assert 'title="Light"' not in fixed and 'title="Dark"' not in fixed
    assert fixed.count('aria-label="Search"') == 1, "the icon-only button keeps its name"
    assert 'aria-label="Color mode"' in fixed
    assert accessibility.fix_navbar(fixed)[0] == fixed, "fixing twice changes nothing"


@pytest.mark.parametrize("demo, page", sorted(DEMOS.items()))
def test_each_demo_is_embedded_on_its_chapter(demo, page):
    assert f"widgets.{demo}()" in _source(page)


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_figure_cell_has_alt_text_and_a_caption(page):
    text = _source(page)
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, re.DOTALL)
    for cell in cells:
        if "plt.subplots" in cell:
            assert "mystnb:" in cell and "alt:" in cell and "caption:" in cell, cell[:200]


def test_pytorch_chapter_chooses_the_device_once():
    text = _source("pytorch-regression")
    assert 'device = "cuda" if torch.cuda.is_available() else "cpu"' in text
    assert ".to(device)" in text


def test_repository_url_is_configured_in_one_place():
    config = (BOOK / "_config.yml").read_text(encoding="utf-8")
    urls = re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", config)
    assert urls == ["https://github.com/gdcourse/gdcourse-student"]  # the student edition
    assert re.search(r"^\s*binderhub_url: https://\S+", config, re.MULTILINE)
    # No placeholder hub, no Colab (issue 18): the hub comes from GDCOURSE_BOOK_HUB_URL.
    assert not re.search(r"^\s*(jupyterhub_url|colab_url):", config, re.MULTILINE)
    for page in PAGES:
        assert "github.com/gdcourse" not in _source(page), page


def test_offline_javascript_is_pinned_and_not_committed():
    package = json.loads((BOOK / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((BOOK / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "book/node_modules/" in gitignore


def test_verify_site_rejects_cdn_scripts_and_missing_figures(site, tmp_path):
    broken = tmp_path / "html"
    for path in site.glob("*.html"):
        (broken / path.relative_to(site)).parent.mkdir(parents=True, exist_ok=True)
        (broken / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    page = broken / "gradients.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</head>", '<script src="https://cdn.example.org/x.js"></script></head>'
        ),
        encoding="utf-8",
    )
    figures = broken / "beyond.html"
    figures.write_text(
        re.sub(r"<figure[^>]*>\s*<img [^>]*>", "", figures.read_text(encoding="utf-8")),
        encoding="utf-8",
    )
    n_figures = len(re.findall(r"^mystnb:\n  figure:", _source("beyond"), re.MULTILINE))
    with pytest.raises(bookbuild.BookBuildError) as error:
        bookbuild.verify_site(broken)
    message = str(error.value)
    assert f"beyond.html shows 0 of its {n_figures} figures" in message
    assert "gradients.html shows" not in message
    assert "gradients.html loads https://cdn.example.org/x.js" in message
    assert "offline asset _static/vendor/mathjax/tex-mml-chtml.js is missing" in message


# --------------------------------------------------------------------------- built site


def test_build_succeeds_and_passes_its_own_checks(site):
    assert site == bookbuild.HTML
    bookbuild.verify_site(site)
    for page in PAGES:
        assert (site / f"{page}.html").is_file()


def test_a_rebuild_with_nothing_changed_executes_nothing(site, capfd):
    capfd.readouterr()
    with built_site.exclusive():
        bookbuild.build_book(clean=False)
    out, err = capfd.readouterr()
    assert "build succeeded" in out + err
    assert "Executing notebook" not in out + err


@pytest.mark.parametrize("page", PAGES)
def test_pages_load_scripts_only_from_the_site(site, page):
    html = _html(site, page)
    sources = re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
    assert sources
    assert all("://" not in src and not src.startswith("//") for src in sources), sources
    assert html.count("const THEBE_JS_URL") <= 1


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_math_pages_use_the_local_mathjax(site, page):
    html = _html(site, page)
    assert 'src="_static/vendor/mathjax/tex-mml-chtml.js' in html
    assert "cdn.jsdelivr.net" not in html


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_notebook_pages_are_downloadable_and_launchable(site, page):
    downloaded = nbformat.read(site / "_sources" / f"{page}.ipynb", as_version=4)
    nbformat.validate(downloaded)
    code = [cell for cell in downloaded.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    assert any(cell.outputs for cell in code), "the download carries the page's outputs"
    assert downloaded.metadata.kernelspec.name == "python3"
    html = _html(site, page)
    assert f"_sources/{page}.ipynb" in html
    repo = "gdcourse/gdcourse-student"  # the student edition: no solutions there
    assert f"https://mybinder.org/v2/gh/{repo}/main?urlpath=lab/tree/book/{page}.md" in html
    assert "colab.research.google.com" not in html  # Colab cannot open a MyST page (issue 18)
    hub = bookbuild.hub_url()  # a button only for a real hub given to the build
    pull = f"/hub/user-redirect/git-pull?repo=https%3A//github.com/{repo}&"
    assert (f"{hub}{pull}" in html) if hub else ("git-pull" not in html)


@pytest.mark.parametrize("page", sorted(set(DEMOS.values())))
def test_widget_pages_embed_saved_widget_state(site, page):
    html = _html(site, page)
    match = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>',
        html,
        re.DOTALL,
    )
    assert match, "the widget state must be saved at build time"
    state = json.loads(match.group(1))["state"]
    # Each demo is one anywidget model: its front end, its scene and its first state.
    demos = [model["state"] for model in state.values() if model["model_name"] == "AnyModel"]
    kinds = sorted(d["kind"] for d in demos)
    assert kinds == sorted(name.replace("_", "-") for name, p in DEMOS.items() if p == page)
    for demo in demos:
        assert f'registerDemo("{demo["kind"]}"' in demo["_esm"]
        assert demo["shown"]["status"] and demo["shown"]["message"]
        assert demo["values"] and demo["inputs"] and demo["scene"]
    assert '"anywidget": "_static/vendor/anywidget/index"' in html
    assert (site / "_static" / "vendor" / "anywidget" / "index.js").is_file()
    assert "data-jupyter-widgets-cdn-only" not in html  # its mere presence means CDN only
    views = html.count('type="application/vnd.jupyter.widget-view+json"')
    assert views == sum(1 for p in DEMOS.values() if p == page)
    assert 'src="_static/vendor/html-manager/embed-amd.js' in html
    assert 'src="_static/vendor/requirejs/require.js' in html


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_every_static_image_has_alt_text(site, page):
    html = _html(site, page)
    article = html[html.index("<article") : html.index("</article>")]
    images = re.findall(r"<img\b[^>]*>", article)
    for image in images:
        alt = re.search(r'\balt="([^"]*)"', image)
        assert alt and len(alt.group(1)) > 20, image[:200]


@pytest.mark.parametrize("name", ANNOUNCED)
def test_assignments_page_links_each_released_student_notebook(site, name):
    """A released notebook is linked; one still being written is announced, not linked."""
    assert f"% download: {name}\n" in _source("assignments")
    html = _html(site, "assignments")
    notebook = ROOT / "exercises" / name / f"{name}.ipynb"
    links = re.findall(rf'href="(_downloads/[0-9a-f]+/{name}\.ipynb)"', html)
    text = re.sub(r"<[^>]+>", "", html)
    announcement = f"The student notebook {name}.ipynb has not been released yet"
    if name in ASSIGNMENTS:
        assert notebook.is_file(), f"the student notebook {notebook} is missing"
    if notebook.is_file():
        assert len(links) == 1, f"no download link for {name}"
        assert (site / links[0]).read_bytes() == notebook.read_bytes()
        assert announcement not in text
    else:
        assert links == [] and announcement in text


def test_an_unreleased_notebook_is_announced_not_linked(tmp_path):
    spec = importlib.util.spec_from_file_location("offline", BOOK / "_ext" / "offline.py")
    assert spec is not None and spec.loader is not None
    offline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(offline)
    srcdir = tmp_path / "book"
    (tmp_path / "exercises" / "ps9_new").mkdir(parents=True)
    assert "not been released yet" in offline.download_markdown(srcdir, "ps9_new")
    (tmp_path / "exercises" / "ps9_new" / "ps9_new.ipynb").write_text("{}")
    assert offline.download_markdown(srcdir, "ps9_new") == (
        "{download}`Download the student notebook ps9_new.ipynb "
        "<../exercises/ps9_new/ps9_new.ipynb>`"
    )


def test_assignments_page_explains_the_workflow(site):
    text = re.sub(r"<[^>]+>", "", _html(site, "assignments"))
    for step in ("JupyterLab", "Validate", "Submit", "nbgrader validate"):
        assert step in text


def _downloads_module():
    spec = importlib.util.spec_from_file_location("downloads", BOOK / "_ext" / "downloads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["downloads"] = module
    spec.loader.exec_module(module)
    return module


def test_the_download_rewriter_knows_its_markup_and_refuses_the_rest():
    import doctest

    downloads = _downloads_module()
    assert doctest.testmod(downloads, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
    with pytest.raises(downloads.UnreadableMarkup, match=r"the role \{numref\}"):
        downloads.readable_markdown("See {numref}`fig-1`.", {})
    with pytest.raises(downloads.UnreadableMarkup, match="no glued value named 'rate'"):
        downloads.readable_markdown("{glue:text}`rate:.2f`", {})
    with pytest.raises(downloads.UnreadableMarkup, match="is never closed"):
        downloads.readable_markdown(":::{admonition} Exercise\nNo end.", {})


@pytest.mark.parametrize("page", bookbuild.notebook_pages())
def test_a_downloaded_page_reads_like_the_page(site, page):
    """The page's notebook download (what JupyterLab shows of it) has the numbers the page
    shows, in the same order, and no MyST role or directive left raw."""
    notebook = json.loads((site / "_sources" / f"{page}.ipynb").read_text(encoding="utf-8"))
    markdown = "\n".join(
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
    )
    raw = re.findall(r"\{[a-z][\w:-]*\}`|^(?::{3,}|`{3,})\{", markdown, re.MULTILINE)
    assert raw == [], f"{page}: MyST markup left raw in the download: {raw[:5]}"
    shown = [
        html.unescape(value)
        for value in re.findall(r'<span class="pasted-text">([^<]*)</span>', _html(site, page))
    ]
    assert len(shown) == _source(page).count("{glue:text}`")
    position = 0
    for value in shown:
        found = markdown.find(value, position)
        assert found >= 0, f"{page}: {value!r} (as on the page) is not in the download in order"
        position = found + len(value)
    # a code cell ran there as on the site: its outputs came along
    assert any(cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")


# --------------------------------------------------------------------------- issue 18


def _prose(site: Path, page: str) -> str:
    """The page's text outside code, outputs and typeset maths, whitespace collapsed."""
    text = _html(site, page)
    text = re.sub(r"<(pre|script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    text = re.sub(r'<span class="math[^"]*">.*?</span>', " ", text, flags=re.DOTALL)
    text = re.sub(r'<div class="math[^"]*">.*?</div>', " ", text, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def test_glossary_renders_its_maths_and_emphasis():
    """A definition's continuation line beginning with '+ ' became a list item and left its
    '$', '*' and '\\(' raw on the page (issue 18)."""
    for line in _source("glossary").splitlines():
        assert not re.match(r"\s+[-+*] ", line), f"a list marker in a definition: {line!r}"


def test_glossary_shows_no_raw_markup(site):
    text = _prose(site, "glossary")
    for raw in ("$", "\\(", "\\)", "*Linear*", "*Sublinear*"):
        assert raw not in text, f"{raw!r} shown raw on the glossary page"
    assert "convergence rate" in text and "Sublinear" in text


@pytest.mark.parametrize("page", NOTEBOOK_PAGES)
def test_no_glued_number_shows_zero_in_exponent_form(site, page):
    """An exact zero glued with an exponent format reads '0e+00' (issue 18)."""
    shown = re.findall(r'<span class="pasted-text">([^<]*)</span>', _html(site, page))
    zeros = [value for value in shown if re.fullmatch(r"[-+]?0(\.0*)?e[-+]?\d+", value)]
    assert zeros == [], f"{page} shows {zeros}"


@pytest.mark.parametrize("page", TEACHING_CHAPTERS)
def test_graded_assignment_box_links_each_page_once(site, page):
    """adaptive.md linked the assignments page twice in one sentence (issue 18)."""
    boxes = re.findall(
        r'<p class="admonition-title">Graded assignment</p>(.*?)</div>',
        _html(site, page),
        flags=re.DOTALL,
    )
    for box in boxes:
        targets = [href.split("#")[0] for href in re.findall(r'href="([^"]+)"', box)]
        assert len(targets) == len(set(targets)), f"{page}: {targets}"


def _book_titles() -> set[str]:
    titles = set()
    for page in PAGES:
        heading = re.search(r"^# (.+)$", _source(page), re.MULTILINE)
        assert heading, page
        titles.add(heading.group(1).strip())
    return titles


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_assignments_cite_chapters_by_their_current_titles(folder):
    """ps2, ps5 and ps6 cited *Beyond plain gradient descent*, a title no page has (issue 18)."""
    titles = _book_titles()
    cited_any = False
    for path in sorted((ROOT / folder).glob("ps*/*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            text = " ".join(cell.source.split())
            citations = r"chapters? ((?:\*[^*]+\*(?: \([^)]*\))?(?:,| and)? ?)+)"
            for group in re.findall(citations, text):
                for title in re.findall(r"\*([^*]+)\*", group):
                    cited_any = True
                    assert title in titles, f"{path.name} cites the chapter *{title}*"
    assert cited_any


def test_a_supremum_is_not_called_the_largest_rate(site):
    """There is no largest learning rate for which gradient descent converges (issue 18)."""
    for page in ("gradient-descent", "linear-regression"):
        text = _prose(site, page)
        assert "largest learning rate for which" not in text, page
        assert "largest learning rate the raw readings allow" not in text, page
    assert "no largest converging learning rate" in _prose(site, "gradient-descent")
    master = ROOT / "solutions" / "ps2_gradient_descent" / "ps2_gradient_descent.ipynb"
    assert "largest learning rate that still converges" not in master.read_text(encoding="utf-8")


def test_no_guaranteed_linear_rate_without_strong_convexity(site):
    """f(x, y) = x^2 has no positive smallest curvature and converges linearly: "guaranteed"."""
    text = _prose(site, "convergence")
    assert "there is no guaranteed linear rate" in text
    assert "there is no linear rate" not in text


def test_captions_name_what_is_plotted():
    """Fig 3.1's caption said f(x_k) for an axis of f(x_k) - f(2) (issue 18)."""
    source = _source("gradient-descent")
    figure = source[: source.index("name: fig-parabola-descent")]
    caption = figure[figure.rindex("caption:") :]
    assert "the gap $f(x_k) - f(2)$" in caption and "$f(x_k)$ against" not in caption
    assert 'ylabel="f(x_k) − f(2)"' in source[source.index("name: fig-parabola-descent") :]


def test_several_outputs_defines_x_before_using_it():
    """'Several outputs' used X before saying what it is (issue 18)."""
    source = _source("linear-regression")
    paragraph = source[source.index("**Several outputs.**") :]
    assert paragraph.index("matrix $X$") < paragraph.index("X W^\\top")


def test_one_standard_deviation_throughout():
    """Chapter 7 standardised with torch's n - 1 divisor, chapters 5 and 9 with n (issue 18).

    Standardising takes each column's standard deviation over the observations (``axis=0``,
    ``dim=0``); a spread over repeated simulations (``axis=1``, for a standard error) may and
    should divide by n - 1."""
    for page in NOTEBOOK_PAGES:
        for call in re.findall(r"\.std\(([^)]*)\)", _source(page)):
            if "axis=" not in call or "axis=0" in call:
                assert "ddof=1" not in call, f"{page}: .std({call})"
            if "dim=" in call:  # a torch tensor: its default divides by n - 1
                assert "correction=0" in call, f"{page}: .std({call})"


def test_a_chapter_title_is_not_made_a_word_of_the_sentence():
    """A bare {ref} inserts the chapter's whole title: "the 1/k of How fast gradient descent
    converges" (issue 18). After "of" or "the", or opening a sentence, give the link words."""
    for page in PAGES:
        source = _source(page)
        for match in re.finditer(r"\{ref\}`([\w-]+)`", source):
            if match.group(1) not in TEACHING_CHAPTERS:
                continue
            before = source[: match.start()]
            assert not re.search(r"(\b(of|the|The)\s+|[.!?]\s+|\n\n)$", before), (
                f"{page}: ...{' '.join(before[-40:].split())} {match.group(0)}"
            )


def test_the_books_gradient_descent_says_how_its_path_differs_from_ps2s():
    """The book returns an array where ps2 specifies a list (issue 18): the page says so."""
    text = " ".join(_source("gradient-descent").split())
    assert "return x, np.array(path)" in _source("gradient-descent")
    assert "assignment 2 asks for the list itself" in text
    master = ROOT / "solutions" / "ps2_gradient_descent" / "ps2_gradient_descent.ipynb"
    assert "`path` is a list" in master.read_text(encoding="utf-8")


def test_chapter_7_previews_the_noise_floor_instead_of_assuming_it():
    """Chapter 7 used the SGD noise floor two chapters before teaching it (issue 18)."""
    text = " ".join(_source("pytorch-regression").split())
    assert "A later chapter measures this {ref}`noise of the mini-batch gradient" in text
    assert "(see {ref}`beyond`)" not in text
