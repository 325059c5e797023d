"""Shared test configuration.

- A headless matplotlib backend for every test.
- ``python3 -m gdcourse test`` runs the suite on two pytest-xdist workers with
  ``--dist loadgroup``. Each test module is one group, so a module's expensive
  fixtures (a graded class, a running Jupyter server) are made once, in one worker;
  the modules that read or rebuild the built book share one group, so that a rebuild
  never runs beside a browser reading the same site.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parent.parent
SITE_MODULES = frozenset({"test_book.py", "test_book_browser.py", "test_book_claims.py"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        group = "built-site" if path.name in SITE_MODULES else path.relative_to(ROOT).as_posix()
        item.add_marker(pytest.mark.xdist_group(group))
