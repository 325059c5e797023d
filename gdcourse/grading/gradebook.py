"""One database engine per gradebook for a whole grading run.

nbgrader opens a new ``Gradebook`` (a new SQLAlchemy engine) about eight times per
submission it autogrades; each engine starts with an empty statement cache, inspects
the schema again and opens a new connection, which makes the gradebook the slowest
step of grading (measured by ``benchmarks/grading.py``). Inside :func:`shared_engines`,
every ``Gradebook`` for the same address reuses one engine, so statements are compiled
once and connections are pooled. Sessions and transactions are still nbgrader's own:
what is written, and when it is committed, does not change.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["shared_engines"]

_lock = threading.Lock()


@contextlib.contextmanager
def shared_engines() -> Iterator[None]:
    """Within the block, nbgrader's gradebooks reuse one engine per database address."""
    import nbgrader.api as api

    create = api.create_engine
    engines: dict[str, Any] = {}

    def cached(url: Any, *args: Any, **kwargs: Any) -> Any:
        key = str(url)
        with _lock:
            if key not in engines:
                engines[key] = create(url, *args, **kwargs)
            return engines[key]

    api.create_engine = cached
    try:
        yield
    finally:
        api.create_engine = create
        for engine in engines.values():
            engine.dispose()
