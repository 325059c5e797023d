"""Sphinx extension of the gdcourse book: two accessibility fixes to the theme's navbar markup.

The book must meet WCAG 2.1 AA (the browser test runs axe-core on every page). The theme
(pydata-sphinx-theme, through sphinx-book-theme) writes two controls whose accessible name
does not contain their visible text (success criterion 2.5.3, "Label in Name"), which axe
reports as ``label-content-name-mismatch``:

* the search field button shows "Search Ctrl+K" but is named ``aria-label="Search"``:
  without the ``aria-label`` its name is its visible text (its ``title`` still says "Search");
* the colour-mode button is named "Color mode" while its icons carry ``title`` attributes
  ("Light", "Dark", "System Settings"), which Font Awesome turns into visible SVG titles:
  without them the icons are decorative and the button keeps its name.

The fix rewrites the built HTML files once the build has finished (an incremental build
leaves pages it did not rewrite fixed already). Every page with the theme's navbar must have
both controls, so a theme upgrade that changes the markup fails the build here instead of
silently leaving the violation in place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

#: The search buttons that show text ("Search", "Ctrl+K"); the icon-only one keeps its label.
_SEARCH_FIELD = re.compile(
    r'(<button class="btn search-button-field search-button__button[^"]*"[^>]*?)'
    r' aria-label="Search"'
)
#: The icons inside the colour-mode button.
_THEME_ICON = re.compile(r'(<i class="theme-switch [^"]*"[^>]*?) title="[^"]*"')
_NAVBAR = 'class="bd-header navbar'
_CONTROLS = ('class="btn search-button-field search-button__button', '<i class="theme-switch ')


def fix_navbar(html: str) -> tuple[str, int, int]:
    """Return ``html`` with both fixes applied, and how many search buttons and icons changed."""
    html, n_search = _SEARCH_FIELD.subn(r"\1", html)
    html, n_icons = _THEME_ICON.subn(r"\1", html)
    return html, n_search, n_icons


def fix_site(outdir: Path) -> list[Path]:
    """Apply :func:`fix_navbar` to every HTML file of a built site; return the files changed."""
    changed = []
    for path in sorted(outdir.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        if _NAVBAR not in text:
            continue
        fixed, _, _ = fix_navbar(text)
        if not all(control in fixed for control in _CONTROLS):
            raise ExtensionError(
                f"{path.name}: the theme's search button or colour-mode icons were not found "
                "(has the theme's markup changed?); see book/_ext/accessibility.py"
            )
        if fixed != text:
            path.write_text(fixed, encoding="utf-8")
            changed.append(path)
    return changed


def _finish(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder is None or app.builder.format != "html":
        return
    fix_site(Path(app.outdir))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("build-finished", _finish)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
