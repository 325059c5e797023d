"""Sphinx extension of the gdcourse book: make the default Jupyter Book build work offline.

* Copies MathJax, require.js and the ipywidgets HTML manager from ``book/node_modules``
  (installed by ``npm ci`` from ``book/package-lock.json``; ``gdcourse book`` does that) into
  ``_static/vendor/`` of the built site, where ``_config.yml`` points ``mathjax_path`` and
  ``nb_ipywidgets_js``. A build without them fails, instead of quietly producing a site that
  needs a CDN.
* Drops duplicated ``<script>`` tags. sphinx-thebe adds its inline configuration
  (``const THEBE_JS_URL = ...``) once to the application and once to the builder, so every
  page declared the constant twice and the browser logged "Identifier 'THEBE_JS_URL' has
  already been declared".
"""

from __future__ import annotations

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
)


WIDGET_MANAGER = "vendor/html-manager/embed-amd.js"


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


def _copy_on_finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    copy_vendor(Path(app.srcdir) / "node_modules", Path(app.outdir) / "_static")


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
    # The widget manager finds its fonts relative to the require.js module URI of
    # "@jupyter-widgets/html-manager/dist/...", which by default is the page's own folder;
    # map it to where the site serves the manager.
    for index, script in enumerate(unique):
        if str(getattr(script, "filename", "") or "").endswith(WIDGET_MANAGER):
            folder = context["pathto"]("_static/vendor/html-manager", 1)
            body = (
                'require.config({paths: {"@jupyter-widgets/html-manager/dist": '
                f'"{folder}"}}}});'
            )
            unique.insert(index, type(script)(None, body=body, priority=script.priority))
            break
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("build-finished", _copy_on_finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
