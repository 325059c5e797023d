"""One database engine per gradebook for a whole grading run.

nbgrader opens a new ``Gradebook`` (a new SQLAlchemy engine) about eight times per
submission it autogrades; each engine starts with an empty statement cache, inspects
the schema again and opens a new connection, which makes the gradebook the slowest
step of grading (measured by ``benchmarks/grading.py``). Inside :func:`shared_engines`,
every ``Gradebook`` for the same address reuses one engine, so statements are compiled
once and connections are pooled, and after the first for an address and a course it
skips the schema inspection, table creation and course check nbgrader repeats at every
open. Sessions and transactions are still nbgrader's own: what is written, and when it
is committed, does not change.
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

    opened: set[tuple[str, str]] = set()
    init = api.Gradebook.__init__

    def reopen(
        self: Any, db_url: str, course_id: str = "default_course", authenticator: Any = None
    ) -> None:
        """nbgrader's ``Gradebook.__init__``; after its first success for an address and a
        course, without the schema inspection, table creation and course check it repeats
        (the tables and the course row exist: nothing in the run removes them)."""
        key = (str(db_url), course_id)
        if key not in opened:
            init(self, db_url, course_id, authenticator)
            opened.add(key)
            return
        self.engine = cached_kept(db_url, echo=False, future=True)
        self.db = api.scoped_session(
            api.sessionmaker(autoflush=True, bind=self.engine, future=True)
        )
        self.course_id = course_id
        self.authenticator = authenticator

    def keep(*args: Any, **kwargs: Any) -> None:
        """``Gradebook.close`` disposes of its engine: a shared one stays until the block ends."""

    def cached_kept(url: Any, *args: Any, **kwargs: Any) -> Any:
        engine = cached(url, *args, **kwargs)
        engine.dispose = keep
        return engine

    api.create_engine = cached_kept
    api.Gradebook.__init__ = reopen
    try:
        yield
    finally:
        api.create_engine = create
        api.Gradebook.__init__ = init
        for engine in engines.values():
            del engine.dispose
            engine.dispose()
