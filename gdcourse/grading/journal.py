"""The durable record of a grading run, so that an interrupted run resumes where it stopped.

``reports/<assignment>/graded.jsonl`` holds one JSON line per submission that
``gdcourse grade`` recorded in the gradebook, appended (and flushed to disk)
after nbgrader committed that student's grades: the student, a digest of the
submission folder (:func:`gdcourse.grading.intake.folder_digest`), a digest of
the masters it was graded against, and what the report needs that the gradebook
does not hold (misconceptions, questions not attempted, reasons for a human,
notes). A run that is interrupted (Ctrl-C, killed, a machine that goes away)
and started again skips each student whose folder and masters are unchanged
and whose gradebook entry exists, and grades only the rest; ``--regrade``
grades everyone again.

The file is the grader's own, but its lines repeat text a student chose: it is
read back with bounds (line length, the shape of every field), and a line cut
short by a kill is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdcourse.grading.report import StudentRecord

__all__ = ["MAX_LINE", "Entry", "Journal", "masters_digest"]

MAX_LINE = 1 << 20
"""A longer line is not read back (the student is then graded again)."""

_LISTS = (
    "misconceptions",
    "not_attempted",
    "needs_human",
    "notes",
    "cell_errors",
    "hidden_rules",
)


def masters_digest(paths: Iterable[Path]) -> str:
    """A SHA-256 of the master notebooks (their names and contents), in name order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One recorded submission: who, what was graded, and what the report needs."""

    student: str
    digest: str
    masters: str
    misconceptions: tuple[str, ...] = ()
    not_attempted: tuple[str, ...] = ()
    needs_human: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    cell_errors: tuple[str, ...] = ()
    hidden_rules: tuple[str, ...] = ()
    autograded: bool = True
    """Whether nbgrader autograded it (``False``: refused, its grades zeroed with the reason)."""

    @classmethod
    def of(
        cls, record: StudentRecord, *, digest: str, masters: str, autograded: bool = True
    ) -> Entry:
        """The entry of a student's report record, graded from ``digest`` against ``masters``."""
        lists = {name: tuple(getattr(record, name)) for name in _LISTS}
        return cls(record.student, digest, masters, **lists, autograded=autograded)

    def restore(self, record: StudentRecord) -> None:
        """Put this entry's lists back into a report record (scores come from the gradebook)."""
        for name in _LISTS:
            items = getattr(record, name)
            items.extend(item for item in getattr(self, name) if item not in items)

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "student": self.student,
            "digest": self.digest,
            "masters": self.masters,
        }
        data.update({name: list(getattr(self, name)) for name in _LISTS})
        data["autograded"] = self.autograded
        return json.dumps(data, ensure_ascii=True)

    @classmethod
    def from_json(cls, line: str) -> Entry | None:
        """The entry of one line, or ``None`` when it is not one (cut short, edited)."""
        if len(line) > MAX_LINE:
            return None
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(data, dict):
            return None
        texts = [data.get(name) for name in ("student", "digest", "masters")]
        if not all(isinstance(text, str) for text in texts):
            return None
        lists: dict[str, tuple[str, ...]] = {}
        for name in _LISTS:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None
            lists[name] = tuple(value)
        autograded = data.get("autograded", True)
        if not isinstance(autograded, bool):
            return None
        return cls(str(texts[0]), str(texts[1]), str(texts[2]), **lists, autograded=autograded)


@dataclass
class Journal:
    """The append-only file of recorded submissions of one assignment."""

    path: Path
    _file: Any = field(default=None, repr=False)

    def load(self) -> dict[str, Entry]:
        """The last entry of each student (an unreadable line is skipped).

        When the file holds superseded lines, it is rewritten with the last entry of
        each student only (atomically), so that it does not grow from run to run.
        """
        entries: dict[str, Entry] = {}
        lines = 0
        try:
            with open(self.path, encoding="utf-8", errors="replace") as file:
                for line in file:
                    lines += 1
                    entry = Entry.from_json(line)
                    if entry is not None:
                        entries[entry.student] = entry
        except FileNotFoundError:
            return {}
        if lines > len(entries):
            self._rewrite(entries.values())
        return entries

    def _rewrite(self, entries: Iterable[Entry]) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "w", encoding="utf-8") as file:
            for entry in entries:
                file.write(entry.to_json() + "\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def append(self, entry: Entry) -> None:
        """Add one line and make it durable (flushed and synced) before returning."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        self._file.write(entry.to_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
