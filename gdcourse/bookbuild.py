"""Build the course book: ``jupyter-book build book -W -n --keep-going``, offline-ready.

:func:`build_book` is what ``gdcourse book`` and ``gdcourse build`` run. It

1. installs the JavaScript the site serves itself (MathJax, require.js, the ipywidgets
   HTML manager) with ``npm ci`` from ``book/package-lock.json`` into the git-ignored
   ``book/node_modules`` (skipped when the lock file has not changed since the last install);
2. runs Jupyter Book with warnings as errors, nitpicky references and the execution cache
   (``book/_build/.jupyter_cache``), so that a rebuild with nothing changed executes nothing;
   the book's own Sphinx extension (``book/_ext/offline.py``) copies the JavaScript into the
   site and links the student notebooks from ``exercises/``;
3. verifies the result (:func:`verify_site`): every chapter rendered, the offline assets in
   place, no page loading a script from another host, every page downloadable as a notebook.

Any warning, failing cell or failed check raises :class:`BookBuildError`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = [
    "BOOK",
    "HTML",
    "BookBuildError",
    "build_book",
    "chapter_pages",
    "notebook_pages",
    "verify_site",
]

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BUILD = BOOK / "_build"
HTML = BUILD / "html"
NODE_MODULES = BOOK / "node_modules"
NPM_STAMP = NODE_MODULES / ".gdcourse-lock-sha256"

#: Files the site must serve itself, relative to the html folder.
OFFLINE_ASSETS = (
    "_static/vendor/mathjax/tex-mml-chtml.js",
    "_static/vendor/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "_static/vendor/requirejs/require.js",
    "_static/vendor/html-manager/embed-amd.js",
)

_SCRIPT_SRC = re.compile(r"<script[^>]*\ssrc=\"([^\"]+)\"", re.IGNORECASE)
_STYLESHEET = re.compile(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", re.IGNORECASE)


class BookBuildError(RuntimeError):
    """The book did not build cleanly (a warning, a failing cell, or a failed check)."""


def chapter_pages() -> list[str]:
    """The page names listed in ``book/_toc.yml``, in order (root first)."""
    toc = (BOOK / "_toc.yml").read_text(encoding="utf-8")
    names = re.findall(r"^\s*(?:root|-\s*file):\s*(\S+)\s*$", toc, re.MULTILINE)
    return [name.removesuffix(".md") for name in names]


def notebook_pages() -> list[str]:
    """The pages of :func:`chapter_pages` that are notebooks (a jupytext header with a kernel)."""
    return [
        page
        for page in chapter_pages()
        if (BOOK / f"{page}.md").read_text(encoding="utf-8").startswith("---\njupytext:")
    ]


def _npm_ci() -> None:
    lock = BOOK / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes() + (BOOK / "package.json").read_bytes()).hexdigest()
    if NPM_STAMP.exists() and NPM_STAMP.read_text() == digest:
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BookBuildError(
            "npm is needed once to install the book's offline JavaScript (MathJax, require.js, "
            "the ipywidgets HTML manager) from book/package-lock.json; install Node.js and npm "
            "(Debian: apt-get install -y npm) and build again"
        )
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    print("+", " ".join(command), f"(in {BOOK})", flush=True)
    result = subprocess.run(command, cwd=BOOK, check=False)
    if result.returncode != 0:
        raise BookBuildError(f"npm ci in {BOOK} failed with exit status {result.returncode}")
    NPM_STAMP.write_text(digest)


def _jupyter_book() -> str:
    candidate = Path(sys.executable).with_name("jupyter-book")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("jupyter-book")
    if found is None:
        raise BookBuildError(
            "jupyter-book is not installed: pip install -c constraints.txt -e '.[author]'"
        )
    return found


def verify_site(html: Path = HTML) -> None:
    """Check a built site; raise :class:`BookBuildError` listing every problem found."""
    problems: list[str] = []
    for page in chapter_pages():
        if not (html / f"{page}.html").is_file():
            problems.append(f"page {page}.html was not built")
    for asset in OFFLINE_ASSETS:
        if not (html / asset).is_file():
            problems.append(f"offline asset {asset} is missing")
    for html_file in sorted(html.glob("*.html")):
        text = html_file.read_text(encoding="utf-8")
        for url in [*_SCRIPT_SRC.findall(text), *_STYLESHEET.findall(text)]:
            if "://" in url or url.startswith("//"):
                problems.append(f"{html_file.name} loads {url} from another host")
    for page in notebook_pages():
        if not (html / "_sources" / f"{page}.ipynb").is_file():
            problems.append(f"{page} cannot be downloaded as a notebook (_sources/{page}.ipynb)")
    if problems:
        raise BookBuildError("the built book failed its checks:\n  " + "\n  ".join(problems))


def build_book(clean: bool = False) -> Path:
    """Build the book into ``book/_build/html`` and return that folder.

    Parameters
    ----------
    clean : bool
        Remove ``book/_build`` first, execution cache included, so that every page runs again.

    Raises
    ------
    BookBuildError
        On any Sphinx warning, failing cell, missing offline asset or failed check.
    """
    if clean and BUILD.exists():
        shutil.rmtree(BUILD)
    _npm_ci()
    command = [_jupyter_book(), "build", str(BOOK), "-W", "-n", "--keep-going"]
    print("+", " ".join(command), flush=True)
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        # Sphinx keeps its environment after a failed build, and an incremental rebuild would
        # not repeat the warnings of unchanged pages: forget it, so that the next build reads
        # every page again (executed pages still come from the cache).
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
        raise BookBuildError(
            f"the book build failed (exit status {result.returncode}): any warning or failing "
            "cell is an error; see the messages above"
        )
    verify_site(HTML)
    return HTML
