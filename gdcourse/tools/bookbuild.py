"""Build the course book: ``jupyter-book build book -W -n --keep-going``, offline-ready.

:func:`build_book` is what ``gdcourse book`` and ``gdcourse build`` run. It

1. installs the JavaScript the site serves itself (MathJax, require.js, the ipywidgets
   HTML manager, anywidget) with ``npm ci`` from ``book/package-lock.json`` into the git-ignored
   ``book/node_modules`` (skipped when the lock file has not changed since the last install);
2. runs Jupyter Book with warnings as errors, nitpicky references and the execution cache
   (``book/_build/.jupyter_cache``), so that a rebuild with nothing changed executes nothing
   (the cache is dropped when the package code the pages run has changed, see
   :func:`code_fingerprint`);
   the book's own Sphinx extension (``book/_ext/offline.py``) copies the JavaScript into the
   site and links the student notebooks from ``exercises/``;
3. verifies the result (:func:`verify_site`): every chapter rendered, the offline assets in
   place, no page loading a script from another host, every page downloadable as a notebook.

Any warning, failing cell or failed check raises :class:`BookBuildError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from gdcourse.tools.environment import run_logged

__all__ = [
    "BOOK",
    "HTML",
    "BookBuildError",
    "build_book",
    "chapter_pages",
    "code_fingerprint",
    "hub_url",
    "notebook_pages",
    "verify_site",
]

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "book"
BUILD = BOOK / "_build"
HTML = BUILD / "html"
NODE_MODULES = BOOK / "node_modules"
NPM_STAMP = NODE_MODULES / ".gdcourse-lock-sha256"
CACHE = BUILD / ".jupyter_cache"
CODE_STAMP = BUILD / ".gdcourse-code-sha256"
LOG = BUILD / "build.log"
"""Jupyter Book's whole output of the last build; the terminal gets a line per step."""
#: Parts of the package that no page runs (the tooling, the grader, the exchange, the hub,
#: the Validate extension):
#: changing them does not invalidate the book.
_NOT_RUN_BY_PAGES = ("tools", "grading", "exchange", "hub", "labextension", "validate.py")

#: Files the site must serve itself, relative to the html folder.
OFFLINE_ASSETS = (
    "_static/vendor/mathjax/tex-mml-chtml.js",
    "_static/vendor/mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "_static/vendor/requirejs/require.js",
    "_static/vendor/html-manager/embed-amd.js",
    "_static/vendor/anywidget/index.js",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXECUTING = re.compile(r"^(?P<page>\S+\.md): Executing notebook")
_EXECUTED = re.compile(r"^(?P<page>\S+\.md): Executed notebook in (?P<seconds>[0-9.]+) seconds")
#: ipykernel says this for every kernel it starts (the kernel listens on localhost only);
#: it stays in the log.
_KERNEL_OVER_TCP = "Kernel is running over TCP without encryption"
_FIGURE_CELL = re.compile(r"^mystnb:\n  figure:", re.MULTILINE)
_SCRIPT_SRC = re.compile(r"<script[^>]*\ssrc=\"([^\"]+)\"", re.IGNORECASE)
_STYLESHEET = re.compile(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]+)\"", re.IGNORECASE)


class BookBuildError(RuntimeError):
    """The book did not build cleanly (a warning, a failing cell, or a failed check)."""


#: The environment variable that gives the pages a JupyterHub launch button
#: (``book/_ext/hub_launch.py``): your institution's hub address; unset, there is no button.
HUB_URL_VARIABLE = "GDCOURSE_BOOK_HUB_URL"
#: Top-level and second-level names reserved for examples (RFC 2606 and 6761): never a real hub.
_RESERVED_NAMES = ("example", "test", "invalid", "localhost", "local")


def hub_url(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The hub address of the book's JupyterHub launch button, or ``None`` for no button.

    >>> hub_url({}) is None
    True
    >>> hub_url({"GDCOURSE_BOOK_HUB_URL": "https://jupyter.uni-x.de/"})
    'https://jupyter.uni-x.de'

    Raises
    ------
    BookBuildError
        When :data:`HUB_URL_VARIABLE` is set to something that is not an https address of a
        real host (a placeholder such as ``jupyterhub.example.edu``, a query, plain http).
    """
    from urllib.parse import urlsplit

    value = environ.get(HUB_URL_VARIABLE, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    labels = (parts.hostname or "").split(".")
    problem = None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        problem = "it is not an https:// address of a host"
    elif parts.query or parts.fragment:
        problem = "a hub address has no query or fragment"
    elif len(labels) < 2 or labels[-1] in _RESERVED_NAMES or labels[-2] in _RESERVED_NAMES:
        problem = f"{parts.hostname} is a placeholder, not a real host"
    if problem:
        raise BookBuildError(
            f"{HUB_URL_VARIABLE}={value!r}: {problem}. Set it to the address of your "
            "institution's JupyterHub (https://host[:port][/path]), or leave it unset for pages "
            "without a JupyterHub button"
        )
    return value.rstrip("/")


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
            "the ipywidgets HTML manager, anywidget) from book/package-lock.json; install "
            "Node.js and npm "
            "(Debian: apt-get install -y npm) and build again"
        )
    command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
    print("+", " ".join(command), f"(in {BOOK})", flush=True)
    result = subprocess.run(command, cwd=BOOK, check=False)
    if result.returncode != 0:
        raise BookBuildError(f"npm ci in {BOOK} failed with exit status {result.returncode}")
    NPM_STAMP.write_text(digest)


def code_fingerprint(package: Path | None = None) -> str:
    """A hash of the code the pages run besides their own: the package and the pinned versions.

    The execution cache recognises a page by its own cells only; when the package changes
    (say, a demo or an optimizer), every page must run again, or the site would show outputs
    of code that no longer exists. The tooling and the grader are left out: no page runs them.
    """
    package = package or Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    files = [
        p
        for p in sorted(package.rglob("*"))
        if p.suffix in (".py", ".js", ".css") and "__pycache__" not in p.parts
        and p.relative_to(package).parts[0] not in _NOT_RUN_BY_PAGES
        and p.name != "__main__.py"
    ]  # fmt: skip
    for path in [*files, ROOT / "constraints.txt"]:
        if path.is_file():
            name = (
                path.relative_to(package).as_posix() if path.is_relative_to(package) else path.name
            )
            digest.update(name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _invalidate_if_code_changed(fingerprint: str) -> None:
    if CODE_STAMP.is_file() and CODE_STAMP.read_text() == fingerprint:
        return
    if CACHE.exists() or (BUILD / ".doctrees").exists():
        print("+ the gdcourse package changed since the last build: every page runs again")
    shutil.rmtree(CACHE, ignore_errors=True)
    shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)


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
        expected = len(_FIGURE_CELL.findall((BOOK / f"{page}.md").read_text(encoding="utf-8")))
        text = (html / f"{page}.html").read_text(encoding="utf-8")
        drawn = len(re.findall(r"<figure[^>]*>\s*<img ", text))
        if drawn < expected:
            problems.append(f"{page}.html shows {drawn} of its {expected} figures")
        if not (html / "_sources" / f"{page}.ipynb").is_file():
            problems.append(f"{page} cannot be downloaded as a notebook (_sources/{page}.ipynb)")
    if problems:
        raise BookBuildError("the built book failed its checks:\n  " + "\n  ".join(problems))


@contextlib.contextmanager
def _exclusive_build() -> Iterator[None]:
    """Hold a lock on ``book/_build`` so that concurrent builds (pytest-xdist) run in turn."""
    BUILD.mkdir(parents=True, exist_ok=True)
    with (BUILD / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


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
    with _exclusive_build():
        return _build(clean)


def progress_line(line: str) -> str | None:
    """What the terminal shows of one line of Jupyter Book's output, or ``None``.

    A page that runs (the slow step) is announced before and timed after; warnings and
    errors (which fail the build) and Sphinx's verdict are shown; the rest is in :data:`LOG`.

    >>> progress_line("/x/book/beyond.md: Executing notebook using local CWD [mystnb]")
    '  running beyond.md ...'
    >>> progress_line("/x/book/beyond.md: Executed notebook in 70.05 seconds [mystnb]")
    '  ran beyond.md in 70 s'
    >>> progress_line("reading sources... [ 24%] beyond") is None
    True
    >>> progress_line("[IPKernelApp] WARNING | Kernel is running over TCP without encryption.")
    >>> progress_line("/x/book/a.md:3: WARNING: undefined label: 'x'")
    "/x/book/a.md:3: WARNING: undefined label: 'x'"
    """
    text = _ANSI.sub("", line).rstrip()
    if match := _EXECUTING.match(text):
        return f"  running {Path(match['page']).name} ..."
    if match := _EXECUTED.match(text):
        return f"  ran {Path(match['page']).name} in {float(match['seconds']):.0f} s"
    if _KERNEL_OVER_TCP in text:
        return None
    if "WARNING" in text or "ERROR" in text or "Traceback" in text or text.startswith("build "):
        return text
    return None


def _build(clean: bool) -> Path:
    if clean:
        for child in BUILD.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            elif child.name != ".lock":
                child.unlink()
    fingerprint = code_fingerprint()
    _invalidate_if_code_changed(fingerprint)
    _npm_ci()
    command = [_jupyter_book(), "build", str(BOOK), "-W", "-n", "--keep-going"]
    print(
        f"Building the book ({' '.join(['jupyter-book', *command[1:]])}); pages run only when "
        f"their code changed. Full log: {LOG.relative_to(ROOT)}",
        flush=True,
    )
    # The pages' figures come from the kernel's inline backend: a backend chosen for the
    # calling process (tests set MPLBACKEND=Agg) would silently drop every figure.
    env = {key: value for key, value in os.environ.items() if key != "MPLBACKEND"}
    hub = hub_url(env)  # checked before the build starts; book/_ext/hub_launch.py reads it
    env.pop(HUB_URL_VARIABLE, None)
    if hub:
        env[HUB_URL_VARIABLE] = hub
    returncode = run_logged(command, LOG, progress_line, env)
    if returncode != 0:
        # Sphinx keeps its environment after a failed build, and an incremental rebuild would
        # not repeat the warnings of unchanged pages: forget it, so that the next build reads
        # every page again (executed pages still come from the cache).
        shutil.rmtree(BUILD / ".doctrees", ignore_errors=True)
        raise BookBuildError(
            f"the book build failed (exit status {returncode}): any warning or failing "
            f"cell is an error; see the messages above and the whole log in {LOG}"
        )
    try:
        verify_site(HTML)
    except BookBuildError:
        # Outputs in the cache may be what is wrong: make the next build run every page.
        CODE_STAMP.unlink(missing_ok=True)
        raise
    CODE_STAMP.write_text(fingerprint)
    return HTML
