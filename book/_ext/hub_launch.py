"""The book's JupyterHub launch button: shown only for a hub address given at build time.

sphinx-book-theme adds a *JupyterHub* button to every notebook page when
``launch_buttons.jupyterhub_url`` is set; the button sends the student to that hub, which pulls
the student edition (``repository.url`` of ``_config.yml``) into the student's account with
nbgitpuller and opens the page. A course repository cannot know its institution's hub, and a
placeholder address would send every student to a host that does not exist, so ``_config.yml``
sets none: the build reads the address from the environment variable ``GDCOURSE_BOOK_HUB_URL``
(``GDCOURSE_BOOK_HUB_URL=https://jupyter.your-university.edu python3 -m gdcourse book``, which
checks the value before it builds). Without it the pages have no JupyterHub button.
"""

from __future__ import annotations

import os
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

VARIABLE = "GDCOURSE_BOOK_HUB_URL"


def configure(
    config: Config | Any, environ: dict[str, str] | os._Environ[str] = os.environ
) -> None:
    """Set the theme's ``jupyterhub_url`` from :data:`VARIABLE`, or remove it when unset."""
    options = dict(config.html_theme_options or {})
    launch = dict(options.get("launch_buttons") or {})
    url = environ.get(VARIABLE, "").strip()
    if url:
        launch["jupyterhub_url"] = url
    else:
        launch.pop("jupyterhub_url", None)
    options["launch_buttons"] = launch
    config.html_theme_options = options


def _configure(app: Sphinx, config: Config) -> None:
    configure(config)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _configure)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
