"""Shared test configuration.

- A headless matplotlib backend for every test.
- ``python3 -m gdcourse test`` runs the suite on two pytest-xdist workers with
  ``--dist loadfile --no-loadscope-reorder``: a module's expensive fixtures (a graded
  class, a running Jupyter server) are made once, in one worker, and the modules that
  take longest (:data:`LONGEST_FIRST`) are handed out first, so that no worker is left
  with a long module at the end while the other idles. The modules that read the built
  book use ``site_reader`` (tests/built_site.py), so no build runs while they read it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

LONGEST_FIRST = (
    "test_book_browser.py",  # first: it builds the book (if needed) while the other worker tests
    "test_hub.py",  # a real JupyterHub round (installs its shared environment on a new machine)
    "test_unprivileged.py",
    "test_exchange_accounts.py",
    "test_publish.py",
    "test_trust_boundary.py",
    "test_pipeline.py",
    "test_assignments.py",
    "test_mutants.py",  # a sample of mutants and the correct variants through the sandbox
    "test_attacks_ps8.py",
    "test_grading.py",
    "test_scale.py",
    "test_feedback.py",
    "test_release.py",
    "test_guide.py",
    "test_sandbox.py",
    "test_widgets_browser.py",
    "test_feedback_browser.py",
    "test_export.py",
    "test_db_url.py",
    "test_speed_rerun.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first (a stable sort: each module's tests stay in order)."""
    rank = {name: index for index, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> object:
    """With ``GDCOURSE_TIMELINE=FILE``, append when each test ran and on which worker (beside
    ``vmstat``'s record of the machine, it shows where the suite waits instead of working)."""
    path = os.environ.get("GDCOURSE_TIMELINE")
    if not path:
        return (yield)
    import json
    import time

    start = time.time()
    try:
        return (yield)
    finally:
        record = {
            "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "test": item.nodeid,
            "start": start,
            "seconds": time.time() - start,
        }
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")


@pytest.fixture
def site_reader() -> Iterator[None]:
    """The test reads the built book: no worker rebuilds it meanwhile."""
    import built_site

    with built_site.reading():
        yield
