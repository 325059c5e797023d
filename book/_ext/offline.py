"""Sphinx extension of the gdcourse book: offline assets, one upstream fix, student downloads.

* Copies MathJax, require.js, the ipywidgets HTML manager and anywidget from ``book/node_modules``
  (installed by ``npm ci`` from ``book/package-lock.json``; ``gdcourse book`` does that) into
  ``_static/vendor/`` of the built site, where ``_config.yml`` points ``mathjax_path`` and
  ``nb_ipywidgets_js``. A build without them fails, instead of quietly producing a site that
  needs a CDN.
* Drops duplicated ``<script>`` tags. sphinx-thebe adds its inline configuration
  (``const THEBE_JS_URL = ...``) once to the application and once to the builder, so every
  page declared the constant twice and the browser logged "Identifier 'THEBE_JS_URL' has
  already been declared".
* Puts the outputs back into the downloadable notebooks (``_sources/PAGE.ipynb``). MyST-NB
  1.4 writes the notebook it read, not the one it merged from the execution cache, so every
  page that came from the cache was offered for download without any output.
* Makes the downloadable notebooks read like their page (``downloads.py``): the numbers the
  prose glues in, references and admonitions in Markdown that JupyterLab renders.
* Turns each line ``% download: NAME`` of the assignments page into a ``{download}`` link to
  the student notebook ``exercises/NAME/NAME.ipynb`` (which Sphinx then copies into the site),
  or into a note that it is not released yet while that file does not exist. The page is read
  again on every build, so a newly released notebook appears without a clean build.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: What the site serves from ``_static/vendor``: (folder in node_modules, folder in the site,
#: glob patterns to copy).
VENDOR = (
    ("mathjax/es5", "mathjax", ("**/*",)),
    ("requirejs", "requirejs", ("require.js",)),
    (
        "@jupyter-widgets/html-manager/dist",
        "html-manager",
        ("embed-amd.js", "*.woff", "*.woff2", "*.ttf", "*.eot", "*.svg"),
    ),
    # anywidget's front end (an AMD module), which draws the gdcourse demos' widgets.
    ("anywidget/dist", "anywidget", ("index.js",)),
)


WIDGET_MANAGER = "vendor/html-manager/embed-amd.js"

#: Inline script (widget_prelude.js) placed before the widget manager on pages with widgets:
#:
#: * require.js paths: the manager finds its fonts relative to the module URI of
#:   "@jupyter-widgets/...", by default the page's own folder; map it to where the site
#:   serves the manager. The demos are anywidgets: map "anywidget" to the site's copy too,
#:   or the manager would ask a CDN for it.
#: * The widgets typeset labels with the MathJax 2 call ``MathJax.Hub.Queue``; the site runs
#:   MathJax 3, which has no ``Hub``, so every label threw "Cannot read properties of
#:   undefined (reading 'Queue')". A small adapter maps the call to MathJax 3.
WIDGET_PRELUDE = (Path(__file__).parent / "widget_prelude.js").read_text(encoding="utf-8")

ASSIGNMENTS_PAGE = "assignments"
_DOWNLOAD_MARKER = re.compile(r"^% download: ([a-z0-9_]+)[ \t]*$", re.MULTILINE)


def student_notebook(srcdir: Path, name: str) -> Path:
    """Where the released student notebook of assignment ``name`` lives."""
    return srcdir.parent / "exercises" / name / f"{name}.ipynb"


def download_markdown(srcdir: Path, name: str) -> str:
    """The Markdown that replaces ``% download: NAME`` on the assignments page."""
    if student_notebook(srcdir, name).is_file():
        return (
            f"{{download}}`Download the student notebook {name}.ipynb "
            f"<../exercises/{name}/{name}.ipynb>`"
        )
    return f"*The student notebook `{name}.ipynb` has not been released yet.*"


def _link_student_notebooks(app: Sphinx, docname: str, source: list[str]) -> None:
    if docname != ASSIGNMENTS_PAGE:
        return
    srcdir = Path(app.srcdir)
    source[0] = _DOWNLOAD_MARKER.sub(lambda m: download_markdown(srcdir, m.group(1)), source[0])


def _always_reread_assignments(
    app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]
) -> list[str]:
    return [ASSIGNMENTS_PAGE] if ASSIGNMENTS_PAGE in env.found_docs else []


def copy_vendor(node_modules: Path, static_dir: Path) -> list[Path]:
    """Copy the offline JavaScript from ``node_modules`` into ``static_dir / "vendor"``."""
    copied: list[Path] = []
    for source, target, patterns in VENDOR:
        src = node_modules / source
        if not src.is_dir():
            raise ExtensionError(
                f"{src} is missing: run 'npm ci' in book/ (gdcourse book does it) so that "
                "the site can serve MathJax, require.js and the widget manager itself"
            )
        dest = static_dir / "vendor" / target
        for pattern in patterns:
            for path in src.glob(pattern):
                if path.is_file() and not path.name.endswith(".map"):
                    out = dest / path.relative_to(src)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)
                    copied.append(out)
    return copied


def restore_outputs(sources_dir: Path, cache_dir: Path) -> list[Path]:
    """Merge cached outputs into every notebook in ``sources_dir`` that has none."""
    import nbformat
    from jupyter_cache import get_cache

    if not cache_dir.is_dir():
        return []
    cache = get_cache(str(cache_dir))
    restored = []
    for path in sorted(sources_dir.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        if not code or any(cell.get("outputs") for cell in code):
            continue
        try:
            _, merged = cache.merge_match_into_notebook(notebook)
        except KeyError:  # not in the cache (e.g. excluded from execution): leave it
            continue
        nbformat.write(merged, path)
        restored.append(path)
    return restored


def _finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    copy_vendor(Path(app.srcdir) / "node_modules", outdir / "_static")
    cache_path = getattr(app.config, "nb_execution_cache_path", "") or ""
    cache_dir = Path(cache_path) if cache_path else outdir.parent / ".jupyter_cache"
    restore_outputs(outdir / "_sources", cache_dir)
    from downloads import UnreadableMarkup, rewrite_downloads  # book/_ext, on Sphinx's path

    labels = app.env.get_domain("std").labels  # type: ignore[attr-defined]
    titles = {label: title for label, (_, _, title) in labels.items() if title}
    glue_folder = Path(app.env.mystnb_config.output_folder)  # type: ignore[attr-defined]
    try:
        rewrite_downloads(outdir / "_sources", glue_folder, titles)
    except UnreadableMarkup as error:
        raise ExtensionError(f"a downloadable notebook would show raw MyST: {error}") from None


def _dedupe_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        # sphinx-thebe's two copies differ only in filename: None once, "" the other time.
        filename = str(getattr(script, "filename", script) or "")
        attributes = getattr(script, "attributes", {})
        key = (filename, repr(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # Scripts that must run before the widget manager renders the saved widget state.
    for index, script in enumerate(unique):
        if str(getattr(script, "filename", "") or "").endswith(WIDGET_MANAGER):
            folder = context["pathto"]("_static/vendor/html-manager", 1)
            vendor = context["pathto"]("_static/vendor", 1)
            body = WIDGET_PRELUDE.replace("@FOLDER@", folder).replace("@VENDOR@", vendor)
            unique.insert(index, type(script)(None, body=body, priority=script.priority))
            break
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _finish)
    app.connect("source-read", _link_student_notebooks)
    app.connect("env-get-outdated", _always_reread_assignments)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
