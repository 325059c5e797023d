"""Shared test configuration.

- A headless matplotlib backend for every test.
- ``python3 -m gdcourse test`` runs the suite on two pytest-xdist workers with
  ``--dist loadfile``: a module's expensive fixtures (a graded class, a running
  Jupyter server) are made once, in one worker. The modules that read the built book
  use ``site_reader`` (tests/built_site.py), so no build runs while they read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def site_reader() -> Iterator[None]:
    """The test reads the built book: no worker rebuilds it meanwhile."""
    import built_site

    with built_site.reading():
        yield
