"""The course directory: the one place that knows where everything of a course lives.

The repository root is an nbgrader course directory (``nbgrader_config.py`` at its
root). :func:`find_root` finds it (for hidden checks in a kernel, which need only
the masters); :meth:`Course.open` reads ``nbgrader_config.py`` with nbgrader's own
``CourseDirectory``, so that every path and the gradebook's address come from the
same configuration nbgrader uses (an instructor who moves the gradebook to
PostgreSQL, or renames a folder, changes it in one place).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CONFIG_FILE", "Course", "find_root"]

CONFIG_FILE = "nbgrader_config.py"


def find_root(
    root: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] | None = None
) -> Path:
    """The course directory: ``root``, else ``$GDCOURSE_ROOT``, else the nearest folder at or
    above ``start`` (default: the working directory) that holds ``nbgrader_config.py``.

    >>> import tempfile
    >>> course = Path(tempfile.mkdtemp())
    >>> _ = (course / CONFIG_FILE).write_text("c = get_config()")
    >>> (course / "submitted" / "ada").mkdir(parents=True)
    >>> find_root(start=course / "submitted" / "ada") == course.resolve()
    True
    """
    if root is None:
        root = os.environ.get("GDCOURSE_ROOT") or None
    if root is not None:
        path = Path(root).resolve()
        if not (path / CONFIG_FILE).is_file():
            raise FileNotFoundError(f"course root {str(path)!r} has no {CONFIG_FILE}")
        return path
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise FileNotFoundError(
        f"no course directory ({CONFIG_FILE}) at or above {str(here)!r}; run the command in "
        "the course folder or set GDCOURSE_ROOT. Hidden tests need the master notebooks, "
        "which only instructors have."
    )


@dataclass(frozen=True)
class Course:
    """A course directory as nbgrader's configuration describes it."""

    root: Path
    course_id: str
    source: Path
    """Masters (nbgrader's source folder): ``solutions/``."""
    release: Path
    """Student versions (nbgrader's release folder): ``exercises/``."""
    submitted: Path
    autograded: Path
    feedback: Path
    db_url: str
    """The gradebook's address (SQLite by default; PostgreSQL when configured)."""

    @property
    def reports(self) -> Path:
        """Where ``gdcourse grade`` writes CSVs and reports (git-ignored)."""
        return self.root / "reports"

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    def master(self, assignment: str, notebook: str | None = None) -> Path:
        """``<source>/<assignment>/<notebook or assignment>.ipynb``."""
        return self.source / assignment / f"{notebook or assignment}.ipynb"

    def config(self) -> Any:
        """The traitlets configuration of ``nbgrader_config.py`` (a fresh copy)."""
        from traitlets.config.loader import PyFileConfigLoader

        return PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()

    def coursedir(self) -> Any:
        """nbgrader's ``CourseDirectory`` for this course."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config())
        coursedir.root = str(self.root)
        return coursedir

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str] | None = None,
        *,
        start: str | os.PathLike[str] | None = None,
        db_url: str | None = None,
    ) -> Course:
        """The course at ``root`` (or found from ``start``), read with nbgrader's configuration;
        ``db_url`` overrides the configured gradebook."""
        return _open(find_root(root, start=start), db_url)


@functools.lru_cache(maxsize=16)
def _open(root: Path, db_url: str | None) -> Course:
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    return Course(
        root=root,
        course_id=str(coursedir.course_id),
        source=root / coursedir.source_directory,
        release=root / coursedir.release_directory,
        submitted=root / coursedir.submitted_directory,
        autograded=root / coursedir.autograded_directory,
        feedback=root / coursedir.feedback_directory,
        db_url=db_url or str(coursedir.db_url),
    )
