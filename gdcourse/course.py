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

__all__ = [
    "CONFIG_FILE",
    "EXCHANGE",
    "Course",
    "configured_exchange_root",
    "exchange_root",
    "find_root",
]

CONFIG_FILE = "nbgrader_config.py"
EXCHANGE = "exchange"
"""The course's own exchange folder (git-ignored), used when no Jupyter configuration names one."""


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


def configured_exchange_root(course_root: str | os.PathLike[str] | None = None) -> str | None:
    """``c.Exchange.root`` as set by a Jupyter configuration file outside the course, if any.

    nbgrader reads ``nbgrader_config.py`` (or ``.json``) from each folder of
    ``jupyter_config_path()``: the environment's ``etc/jupyter``, the user's
    ``~/.jupyter``, then ``/usr/local/etc/jupyter`` and ``/etc/jupyter``, where a
    hub's admin sets the exchange for everyone. The first that sets ``Exchange.root``
    wins, as in nbgrader; the course's own file (``course_root``) is not consulted.
    """
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    skip = Path(course_root).resolve() if course_root is not None else None
    for folder in jupyter_config_path():
        if skip is not None and Path(folder).resolve() == skip:
            continue
        for loader in (PyFileConfigLoader, JSONFileConfigLoader):
            name = "nbgrader_config" + (".py" if loader is PyFileConfigLoader else ".json")
            if not (Path(folder) / name).is_file():
                continue
            config = loader(name, path=str(folder)).load_config()
            root = config.get("Exchange", {}).get("root")
            if root:
                return str(root)
    return None


def exchange_root(course_root: str | os.PathLike[str]) -> str:
    """Where release, submit, collect and feedback meet: the exchange a Jupyter configuration
    outside the course names (a hub's ``/etc/jupyter/nbgrader_config.py``, the user's
    ``~/.jupyter``), else the course's own ``exchange/`` folder, which git ignores.

    ``nbgrader_config.py`` sets ``c.Exchange.root`` with it, so that a release never falls
    back to nbgrader's system-wide default (``/usr/local/share/nbgrader/exchange``, which
    root would create without a word) and a hub's shared exchange still wins.
    """
    return configured_exchange_root(course_root) or str(Path(course_root).resolve() / EXCHANGE)


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
    exchange: Path
    """nbgrader's exchange (``c.Exchange.root``): see :func:`exchange_root`."""

    @property
    def reports(self) -> Path:
        """Where ``gdcourse grade`` writes CSVs and reports (git-ignored)."""
        return self.root / "reports"

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    def ensure_exchange(self) -> Path | None:
        """Create the course's own exchange folder if it is the exchange and is missing.

        Without it, JupyterLab's Assignment List says "Error fetching courses!" until the
        first release creates it; with it (empty), the list says there is nothing to fetch
        yet. The folder gets the mode nbgrader's release would give it (``rwxrwxrwx``), so
        that the release does not warn about it. A shared exchange named outside the course
        (a hub's) is the admin's to create: left alone. Returns the folder created, if any.
        """
        own = (self.root / EXCHANGE).resolve()
        if self.exchange.resolve() != own or own.exists():
            return None
        own.mkdir()
        own.chmod(0o777)
        return own

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
        exchange=Path(config.get("Exchange", {}).get("root") or exchange_root(root)),
    )
