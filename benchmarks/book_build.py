"""Time the book build: clean, cached with nothing changed, and from the execution cache alone.

Usage (from the repository root)::

    .venv/bin/python benchmarks/book_build.py

1. **clean**: ``build_book(clean=True)`` drops ``book/_build`` (execution cache included) and
   executes every page;
2. **no change**: ``build_book()`` again; Sphinx finds nothing to read, nothing executes;
3. **from cache**: the site and Sphinx's environment are deleted but the jupyter-cache store is
   kept, so every page is read and rendered again with its outputs taken from the cache.

The build's own output goes to ``benchmarks/_work/book_build.log``; only the times are printed.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gdcourse.tools import bookbuild  # noqa: E402

LOG = ROOT / "benchmarks" / "_work" / "book_build.log"


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's and its children's stdout and stderr to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("ab") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    with output_to(LOG):
        step()
    return time.perf_counter() - start


def drop_site_keep_cache() -> None:
    shutil.rmtree(bookbuild.HTML, ignore_errors=True)
    shutil.rmtree(bookbuild.BUILD / ".doctrees", ignore_errors=True)
    shutil.rmtree(bookbuild.BUILD / "jupyter_execute", ignore_errors=True)


def main() -> int:
    LOG.unlink(missing_ok=True)
    python = sys.version.split()[0]
    print(f"book build on {platform.node()}: {os.cpu_count()} cores, Python {python}")
    clean = timed(lambda: bookbuild.build_book(clean=True))
    print(f"clean build (execute every page):            {clean:7.1f} s")
    unchanged = timed(lambda: bookbuild.build_book(clean=False))
    print(f"rebuild, nothing changed:                    {unchanged:7.1f} s")
    drop_site_keep_cache()
    from_cache = timed(lambda: bookbuild.build_book(clean=False))
    print(f"rebuild of every page from the exec. cache:  {from_cache:7.1f} s")
    executed = LOG.read_text(errors="replace").count("Executing notebook")
    print(f"pages executed in the three builds: {executed} (all in the clean build)")
    print(f"build log: {LOG.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
