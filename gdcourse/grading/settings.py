"""The grader's settings as traitlets: what ``nbgrader_config.py`` may set, and their defaults.

Each class below is one section of the configuration, set like nbgrader's own in the course's
``nbgrader_config.py``, the instructor's ``~/.jupyter/nbgrader_config.py`` or a hub's
``/etc/jupyter/nbgrader_config.py`` (the course's file wins)::

    c.SandboxLimits.wall_seconds = 180.0
    c.SubmissionLimits.notebook_bytes = 64 * 1024**2
    c.GradeRun.workers = 4

* :class:`SandboxLimits`: the limits of one sandboxed submission
  (:class:`~gdcourse.grading.sandbox.Limits`);
* :class:`SubmissionLimits`: what a submitted folder and notebook may be before it is refused
  or cut (:class:`SubmissionBounds`);
* :class:`GradeRun`: how ``gdcourse grade`` runs (workers, window, the scheduler's timeout,
  retries of a gradebook write) (:class:`RunSettings`);
* :class:`GradeReport`: how much of each reason and list the instructor's report keeps
  (:class:`ReportSizes`).

``gdcourse grade`` reads them once (:func:`load_settings`) and hands the typed values to each
stage; plain ``nbgrader autograde`` and formgrader read them from nbgrader's own configuration
(the preprocessors of :mod:`gdcourse.grading.autograde.preprocessors`). A trait no file sets
keeps its default; a value that is not > 0 (>= 0 where 0 means "automatic") stops the run naming
the setting. ``python3 -m gdcourse.grading.settings`` lists every setting with its default and
help. Bounds that protect the grader itself (how deep a reply or a notebook's JSON may nest, how
many dimensions an array has) are not settings: they are constants of the modules that parse.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from traitlets import Float, Int
from traitlets.config import Config, Configurable

from gdcourse.grading.sandbox import Limits

__all__ = [
    "GradeReport",
    "GradeRun",
    "GraderSettings",
    "ReportSizes",
    "RunSettings",
    "SandboxLimits",
    "SubmissionBounds",
    "SubmissionLimits",
    "configured_limits",
    "describe",
    "load_config",
    "load_settings",
    "submission_bounds",
]

V = TypeVar("V")

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


@dataclass(frozen=True)
class SubmissionBounds:
    """What a submission may be: larger folders are refused, larger notebooks graded 0 with
    the reason, cells past ``cells`` dropped with a note."""

    notebook_bytes: int = 32 << 20
    cells: int = 2000
    folder_entries: int = 1000
    folder_bytes: int = 256 << 20

    def __post_init__(self) -> None:
        _positive(self, "SubmissionLimits")


@dataclass(frozen=True)
class RunSettings:
    """How ``gdcourse grade`` runs; ``workers`` and ``window`` 0 mean automatic."""

    workers: int = 0
    window: int = 0
    connect_seconds: float = 10.0
    no_worker_seconds: float = 120.0
    record_attempts: int = 6

    def __post_init__(self) -> None:
        _positive(self, "GradeRun", automatic=("workers", "window"))


@dataclass(frozen=True)
class ReportSizes:
    """How much of a reason, and how many items of a list, the report keeps per student."""

    reason_chars: int = 300
    items: int = 10
    reason_chars_json: int = 2000
    items_json: int = 100

    def __post_init__(self) -> None:
        _positive(self, "GradeReport")


def _positive(values: Any, section: str, automatic: tuple[str, ...] = ()) -> None:
    for field in dataclasses.fields(values):
        value = getattr(values, field.name)
        least = 0 if field.name in automatic else 1
        if isinstance(value, bool) or not isinstance(value, int | float) or value < least:
            allowed = ">= 0 (0: automatic)" if automatic and least == 0 else "> 0"
            raise ValueError(f"c.{section}.{field.name} must be {allowed}, got {value!r}")


_BOUNDS, _RUN, _SIZES = SubmissionBounds(), RunSettings(), ReportSizes()


class SubmissionLimits(Configurable):
    """What a submitted folder and notebook may be (every value > 0)."""

    notebook_bytes = Int(
        _BOUNDS.notebook_bytes,
        help="Largest notebook file read; a larger one is graded 0 with the reason.",
    ).tag(config=True)
    cells = Int(
        _BOUNDS.cells, help="Cells of a notebook that count; the rest are dropped, with a note."
    ).tag(config=True)
    folder_entries = Int(
        _BOUNDS.folder_entries,
        help="Files and folders a submission folder may hold; more is not graded, with the "
        "reason.",
    ).tag(config=True)
    folder_bytes = Int(
        _BOUNDS.folder_bytes,
        help="Bytes a submission folder may hold in all; more is not graded, with the reason.",
    ).tag(config=True)


class GradeRun(Configurable):
    """How gdcourse grade runs (its command-line options win)."""

    workers = Int(
        _RUN.workers,
        help="Submissions graded at once on this machine, and feedback processes (--workers); "
        "0: one per core.",
    ).tag(config=True)
    window = Int(
        _RUN.window,
        help="Jobs in flight at most (on this machine or a cluster); 0: twice the parallel "
        "sandboxes.",
    ).tag(config=True)
    connect_seconds = Float(
        _RUN.connect_seconds,
        help="Seconds to reach a Dask scheduler (--scheduler) before the run stops.",
    ).tag(config=True)
    no_worker_seconds = Float(
        _RUN.no_worker_seconds,
        help="Seconds a Dask cluster may have no worker before the run stops (the same "
        "command resumes it).",
    ).tag(config=True)
    record_attempts = Int(
        _RUN.record_attempts,
        help="Attempts at a gradebook write that meets another writer before the student's "
        "row says it failed.",
    ).tag(config=True)


class GradeReport(Configurable):
    """How much the instructor's report keeps of each student's reasons (every value > 0)."""

    reason_chars = Int(
        _SIZES.reason_chars, help="Characters of one reason shown in report.md."
    ).tag(config=True)
    items = Int(_SIZES.items, help="Items of one student's list shown in report.md.").tag(
        config=True
    )
    reason_chars_json = Int(
        _SIZES.reason_chars_json, help="Characters of one reason kept in report.json."
    ).tag(config=True)
    items_json = Int(
        _SIZES.items_json, help="Items of one student's list kept in report.json."
    ).tag(config=True)


SECTIONS: tuple[tuple[type[Configurable], type[Any]], ...] = (
    (SandboxLimits, Limits),
    (SubmissionLimits, SubmissionBounds),
    (GradeRun, RunSettings),
    (GradeReport, ReportSizes),
)
"""Each configurable section and the typed value it gives the stages."""


def _values(section: type[Configurable], kind: type[V], config: Config, base: V | None) -> V:
    """The ``kind`` value ``config`` gives: each trait the configuration sets, the others
    from ``base`` (default: the built-in defaults). ``ValueError`` names a bad setting."""
    base = base if base is not None else kind()
    chosen = {
        name: getattr(section(config=config), name)
        for name in section.class_trait_names(config=True)
        if name in config.get(section.__name__, {})
    }
    try:
        return dataclasses.replace(base, **chosen)  # type: ignore[type-var]
    except ValueError as error:
        if kind is Limits:  # its own message names the field as Limits.<name>
            raise ValueError(str(error).replace("Limits.", "c.SandboxLimits.")) from None
        raise


@dataclass(frozen=True)
class GraderSettings:
    """Every setting of the grader, typed: what each stage is handed."""

    limits: Limits = dataclasses.field(default_factory=Limits)
    submissions: SubmissionBounds = dataclasses.field(default_factory=SubmissionBounds)
    run: RunSettings = dataclasses.field(default_factory=RunSettings)
    report: ReportSizes = dataclasses.field(default_factory=ReportSizes)

    @classmethod
    def from_config(cls, config: Config) -> GraderSettings:
        """The settings ``config`` gives (``ValueError`` names a bad one)."""
        return cls(
            limits=_values(SandboxLimits, Limits, config, None),
            submissions=_values(SubmissionLimits, SubmissionBounds, config, None),
            run=_values(GradeRun, RunSettings, config, None),
            report=_values(GradeReport, ReportSizes, config, None),
        )


def submission_bounds(parent: Configurable) -> SubmissionBounds:
    """``c.SubmissionLimits.*`` of ``parent``'s configuration (nbgrader's own, for its
    preprocessors), the built-in bounds for the rest."""
    return _values(SubmissionLimits, SubmissionBounds, parent.config, None)


def load_settings(course_root: str | os.PathLike[str]) -> GraderSettings:
    """The grader's settings of the course at ``course_root``: those the configuration files
    nbgrader reads set (:func:`load_config`), the built-in defaults for the rest."""
    return GraderSettings.from_config(load_config(course_root))


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
    for section, kind in SECTIONS:
        traits: dict[str, Any] = section.class_traits(config=True)
        for name in (f.name for f in dataclasses.fields(kind)):
            trait = traits[name]
            lines.append(f"# {trait.help}")
            lines.append(f"c.{section.__name__}.{name} = {trait.default_value!r}")
    return "\n".join(lines)


def main() -> int:
    """``python3 -m gdcourse.grading.settings``: print :func:`describe`."""
    print(
        "# The grader's settings, with their defaults: set them in nbgrader_config.py "
        "(the course's, ~/.jupyter's or /etc/jupyter's), or in the course's git-ignored "
        "nbgrader_config_local.py (read last)."
    )
    print(describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
