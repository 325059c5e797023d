"""The built book, shared by test modules that two pytest-xdist workers may run at once.

A build writes the site that browser tests in the other worker read. An advisory lock
(``flock`` on ``book/_build/.tests.lock``) keeps them apart: a build holds it
exclusively, a test that reads the site holds it shared for its own duration only, so a
build waits at most for one test of the other worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gdcourse.tools import bookbuild

LOCK = bookbuild.BUILD / ".tests.lock"
_reading: int | None = None  # this process's descriptor while a test reads the site


def _open() -> int:
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    return os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


@contextlib.contextmanager
def exclusive() -> Iterator[None]:
    """No other worker reads or builds the site inside the block."""
    if _reading is not None:  # a test that reads the site rebuilds it: change its lock
        fcntl.flock(_reading, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(_reading, fcntl.LOCK_SH)
        return
    fd = _open()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def build() -> Path:
    """The site, built first if anything changed."""
    with exclusive():
        return bookbuild.build_book(clean=False)


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """No other worker builds the site inside the block."""
    global _reading
    fd = _open()
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        _reading = fd
        yield
    finally:
        _reading = None
        os.close(fd)


def glued(page: str) -> dict[str, Any]:
    """The values a page glued into its text, as computed by its own code at build time."""
    path = bookbuild.BUILD / "jupyter_execute" / f"{page}.glue.json"
    values: dict[str, Any] = {}
    for name, output in json.loads(path.read_text(encoding="utf-8")).items():
        text = output["data"]["text/plain"]
        try:
            values[name] = float(text)
        except ValueError:
            values[name] = {"True": True, "False": False}.get(text, text.strip("'\""))
    return values


def html_text(site: Path, page: str) -> str:
    """The text of a built page, tags removed and white space squeezed."""
    html = (site / f"{page}.html").read_text(encoding="utf-8")
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
