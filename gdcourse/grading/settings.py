"""The grader's settings as traitlets: what ``nbgrader_config.py`` may set, and their defaults.

:class:`SandboxLimits` holds the limits of one sandboxed submission
(:class:`~gdcourse.grading.sandbox.Limits`), one trait each, so that the course's
``nbgrader_config.py``, the instructor's ``~/.jupyter/nbgrader_config.py`` or a hub's
``/etc/jupyter/nbgrader_config.py`` set them as they set nbgrader's own::

    c.SandboxLimits.wall_seconds = 180.0
    c.SandboxLimits.memory_bytes = 2 * 1024**3

``gdcourse grade`` reads them from those files (:func:`configured_limits`), and plain
``nbgrader autograde`` and formgrader from nbgrader's own configuration (the
``SandboxExecute`` preprocessor); a trait no file sets keeps its default.
``python3 -m gdcourse.grading.settings`` lists every setting with its default and help.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from traitlets import Float, Int
from traitlets.config import Config, Configurable

from gdcourse.grading.sandbox import Limits

__all__ = ["SandboxLimits", "configured_limits", "describe", "load_config"]

_DEFAULT = Limits()

CONFIG_FILE = "nbgrader_config"


class SandboxLimits(Configurable):
    """The limits of one sandboxed submission, all for the whole sandbox (every value > 0)."""

    cpu_seconds = Float(
        _DEFAULT.cpu_seconds, help="CPU seconds the submission's processes may use together."
    ).tag(config=True)
    wall_seconds = Float(
        _DEFAULT.wall_seconds, help="Wall-clock seconds for everything a submission runs."
    ).tag(config=True)
    cell_seconds = Float(
        _DEFAULT.cell_seconds, help="Wall-clock seconds each code cell may run."
    ).tag(config=True)
    probe_seconds = Float(
        _DEFAULT.probe_seconds, help="Wall-clock seconds the cases of one test cell may run."
    ).tag(config=True)
    memory_bytes = Int(
        _DEFAULT.memory_bytes,
        help="Memory the submission's processes may use together, on top of the pre-imported "
        "libraries (its private folders count against it).",
    ).tag(config=True)
    processes = Int(_DEFAULT.processes, help="Processes a submission may have at once.").tag(
        config=True
    )
    file_bytes = Int(_DEFAULT.file_bytes, help="Largest file a submission may write.").tag(
        config=True
    )
    open_files = Int(
        _DEFAULT.open_files, help="Files a submission's process may hold open at once."
    ).tag(config=True)
    output_bytes = Int(
        _DEFAULT.output_bytes, help="Bytes of a submission's printed output that are kept."
    ).tag(config=True)
    flood_bytes = Int(
        _DEFAULT.flood_bytes, help="Printed output past which a submission is stopped."
    ).tag(config=True)
    reply_bytes = Int(
        _DEFAULT.reply_bytes, help="Largest reply a test cell's cases may send back."
    ).tag(config=True)
    tmp_bytes = Int(
        _DEFAULT.tmp_bytes, help="Size of each private writable folder (/tmp and the others)."
    ).tag(config=True)

    def limits(self, base: Limits | None = None) -> Limits:
        """The :class:`Limits` these settings give: each trait the configuration sets, the
        others from ``base`` (default: the built-in defaults). Raises ``ValueError``, naming
        the setting, for a value that is not > 0."""
        base = base if base is not None else Limits()
        section = self.config.get(type(self).__name__, {}) if self.config else {}
        chosen = {
            name: getattr(self, name) for name in self.trait_names(config=True) if name in section
        }
        try:
            return dataclasses.replace(base, **chosen)
        except ValueError as error:
            raise ValueError(str(error).replace("Limits.", "c.SandboxLimits.")) from None


def load_config(course_root: str | os.PathLike[str]) -> Config:
    """The configuration nbgrader's commands read for the course at ``course_root``: every
    ``nbgrader_config.py`` (or ``.json``) of ``jupyter_config_path()`` (a hub's
    ``/etc/jupyter``, the user's ``~/.jupyter``...), then the course's own, which wins."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    folders = [*reversed(jupyter_config_path()), str(Path(course_root))]
    merged = Config()
    for folder in dict.fromkeys(str(Path(f).resolve()) for f in folders):
        for loader, suffix in ((JSONFileConfigLoader, ".json"), (PyFileConfigLoader, ".py")):
            if (Path(folder) / (CONFIG_FILE + suffix)).is_file():
                merged.merge(loader(CONFIG_FILE + suffix, path=folder).load_config())
    return merged


def configured_limits(config: Config, base: Limits | None = None) -> Limits:
    """The sandbox limits ``config`` sets (``c.SandboxLimits.*``), the rest from ``base``."""
    return SandboxLimits(config=config).limits(base)


def describe() -> str:
    """Every setting of the grader, as a line of ``nbgrader_config.py`` with its default,
    preceded by its help.

    >>> print(describe().splitlines()[1])
    c.SandboxLimits.cpu_seconds = 60.0
    """
    lines = []
    traits: dict[str, Any] = SandboxLimits.class_traits(config=True)
    for name in (f.name for f in dataclasses.fields(Limits)):
        trait = traits[name]
        lines.append(f"# {trait.help}")
        lines.append(f"c.SandboxLimits.{name} = {trait.default_value!r}")
    return "\n".join(lines)


def main() -> int:
    """``python3 -m gdcourse.grading.settings``: print :func:`describe`."""
    print(
        "# The grader's settings, with their defaults: set them in nbgrader_config.py "
        "(the course's, ~/.jupyter's or /etc/jupyter's)."
    )
    print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
