"""nbgrader configuration of ``work/``, the students' own folder: the course's, unchanged.

JupyterLab's Assignment List reads the configuration twice: in the folder JupyterLab was
started from (the course root), then in the folder assignments are fetched to
(``c.Exchange.assignment_dir``, which the course sets to this ``work/``). Without this file
the second reading would find no course id and no exchange ("Error fetching courses!").
Everything else in ``work/`` is the students' and git-ignored.
"""

from pathlib import Path

load_subconfig(  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)
    "nbgrader_config.py", path=str(Path(__file__).resolve().parent.parent)
)
