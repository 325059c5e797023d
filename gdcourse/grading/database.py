"""The gradebook's address for every command of a course, kept out of git.

``gdcourse grade --db URL`` grades into the database at ``URL``; the instructor's next
commands (``nbgrader db student import``, ``nbgrader export``, formgrader,
``nbgrader release_feedback``) are nbgrader's own and read only configuration files. So the
address is written where they all read it: ``nbgrader_config_local.py`` at the course root,
which the course's ``nbgrader_config.py`` loads last, and which is git-ignored (the tracked
``nbgrader_config.py`` is never edited, so ``git status`` stays clean) and readable by its
owner only (an address may hold a password). An instructor who sets the address by hand
writes the same line in the same file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["LOCAL_CONFIG", "configured_db_url", "remember_db_url"]

LOCAL_CONFIG = "nbgrader_config_local.py"
"""This installation's own settings, next to ``nbgrader_config.py``; git-ignored."""

_HEADER = (
    "# This course installation's own nbgrader settings, loaded last by nbgrader_config.py.\n"
    "# Git-ignored, readable by its owner only. `gdcourse grade --db URL` writes the\n"
    "# gradebook's address here, so that nbgrader's commands and formgrader use it too.\n"
    "c = get_config()  # type: ignore[name-defined]  # noqa: F821\n"
)


def configured_db_url(course_root: str | os.PathLike[str]) -> str | None:
    """The gradebook address ``nbgrader_config_local.py`` sets, or ``None``."""
    path = Path(course_root) / LOCAL_CONFIG
    if not path.is_file():
        return None
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(LOCAL_CONFIG, path=str(path.parent)).load_config()
    value = config.get("CourseDirectory", {}).get("db_url")
    return value if isinstance(value, str) else None


def remember_db_url(course_root: str | os.PathLike[str], url: str) -> str:
    """Make ``url`` the gradebook of every command of the course at ``course_root``: write it
    to ``nbgrader_config_local.py`` (mode 0600, replaced atomically; the file's other lines
    are kept). Returns a sentence for the instructor."""
    if not url or "\n" in url or "\r" in url:
        raise ValueError(f"a database URL is one line, got {url!r}")
    root = Path(course_root)
    path = root / LOCAL_CONFIG
    if configured_db_url(root) == url:
        return f"The gradebook is {_shown(url)} (set in {path})."
    kept = []
    if path.is_file():
        kept = [
            line
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("c.CourseDirectory.db_url")
        ]
    text = "".join(kept) if kept else _HEADER
    if not text.endswith("\n"):
        text += "\n"
    text += f"c.CourseDirectory.db_url = {url!r}\n"
    descriptor, temporary = tempfile.mkstemp(dir=root, prefix=".nbgrader_config_local.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:  # mkstemp's mode: 0600
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return (
        f"The gradebook is now {_shown(url)}, for nbgrader's commands and formgrader too "
        f"(written to {path}, git-ignored)."
    )


def _shown(url: str) -> str:
    """``url`` without its password."""
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if sep and at and ":" in credentials:
        user = credentials.partition(":")[0]
        return f"{scheme}://{user}:***@{host}"
    return url
