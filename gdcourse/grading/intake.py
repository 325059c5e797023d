"""Finding and reading the submissions of an assignment: the first stage of ``gdcourse grade``.

:func:`find_submissions` lists the students' folders in ``submitted/``;
:func:`submission_problem` says why a folder cannot be graded (links, devices,
too many or too large files); :func:`folder_digest` fingerprints a folder so
that a restarted run knows what it already graded; :func:`read_student` reads
and sanitizes one student's notebooks, one student at a time, so that a run
never holds more of them than it has in flight.
"""

from __future__ import annotations

import hashlib
import os
import stat
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gdcourse.grading.escape import plain_line
from gdcourse.grading.settings import SubmissionBounds

if TYPE_CHECKING:
    from gdcourse.grading.autograde import Master, Submission

__all__ = [
    "DEFAULT_BOUNDS",
    "DIGEST_BYTES",
    "MAX_ID_LENGTH",
    "StudentWork",
    "find_misplaced",
    "find_submissions",
    "folder_digest",
    "misplaced_reason",
    "read_student",
    "refused_ids",
    "student_id_problem",
    "submission_problem",
]

DEFAULT_BOUNDS = SubmissionBounds()
"""The built-in bounds of a submission folder: what ``c.SubmissionLimits.*`` does not set."""
DIGEST_BYTES = 256 << 20
"""Bytes of a folder whose content its digest reads; past them, files count by size and time."""
MAX_REASON = 2000
"""The longest reason kept about one submission folder (file names are the student's)."""
MAX_ID_LENGTH = 100
"""The longest student id graded (nbgrader's gradebook keeps ids of up to 128 characters)."""

#: Characters nbgrader reads as more than a name: glob patterns (its commands find a
#: student's folders with ``glob``, so ``b*`` is also ``bob``) and the ``+`` that joins
#: student, assignment and time in its exchange's folder names.
_MISREAD = frozenset("*?[]+")


def student_id_problem(student: str) -> str | None:
    """Why ``student`` (a folder name in ``submitted/``) cannot be a student id, or ``None``
    (words that follow "the student id").

    An id is graded only if nbgrader, a file system and a person all read it as the same
    one name: valid UTF-8, in Unicode's composed form (NFC, so that ``é`` has one
    spelling), with no control, invisible or space character, none of ``* ? [ ] +``
    (which nbgrader reads as a pattern or a separator), not starting with ``-`` (an
    option to a command), and at most :data:`MAX_ID_LENGTH` characters. Such a
    submission is not graded and nothing is written for it in the gradebook: the report
    lists it with the reason (rename the folder to grade it).

    >>> student_id_problem("alice"), student_id_problem("jos\u00e9")
    (None, None)
    >>> student_id_problem("b*")
    "holds '*', which nbgrader reads as a pattern or a separator"
    >>> student_id_problem("ali\u200bce")
    'holds an invisible or control character (U+200B)'
    """
    if any(0xD800 <= ord(char) <= 0xDFFF for char in student):
        return "is not valid UTF-8 (its folder name holds other bytes)"
    if not student or len(student) > MAX_ID_LENGTH:
        return f"is empty or longer than {MAX_ID_LENGTH} characters"
    for char in student:
        category = unicodedata.category(char)
        if category[0] in "CZ":
            what = "a space" if category[0] == "Z" else "an invisible or control character"
            return f"holds {what} (U+{ord(char):04X})"
        if char in _MISREAD:
            return f"holds {char!r}, which nbgrader reads as a pattern or a separator"
    if student.startswith("-"):
        return "starts with '-', which a command reads as an option"
    if not unicodedata.is_normalized("NFC", student):
        return (
            "is not in Unicode's composed form (NFC): an accented letter is spelt as a "
            "letter and a combining accent, so it looks like another id"
        )
    return None


def find_submissions(
    submitted: Path, assignment: str, students: Sequence[str] | None = None
) -> tuple[list[Path], list[str]]:
    """The submission folders ``submitted/<student>/<assignment>``, sorted, and the wanted
    ``students`` who have none. Links and files in place of a folder are listed too: they
    are refused with a reason when graded, not silently skipped."""
    folders = sorted(
        p / assignment
        for p in (submitted.iterdir() if submitted.is_dir() else [])
        if not p.name.startswith(".")
        and (p.is_symlink() or (p / assignment).exists() or (p / assignment).is_symlink())
    )
    if students is None:
        return folders, []
    wanted = set(students)
    missing = sorted(wanted - {p.parent.name for p in folders})
    return [p for p in folders if p.parent.name in wanted], missing


def find_misplaced(
    submitted: Path,
    assignment: str,
    notebooks: Sequence[str],
    students: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Students with no ``<assignment>`` folder but one of its notebooks one folder too high
    (``submitted/<student>/<notebook>.ipynb``), each with that notebook's path: not graded,
    but said, never skipped in silence."""
    found = {}
    wanted = None if students is None else set(students)
    for folder in sorted(submitted.iterdir() if submitted.is_dir() else []):
        if folder.name.startswith(".") or (wanted is not None and folder.name not in wanted):
            continue
        if folder.is_symlink() or not folder.is_dir() or os.path.lexists(folder / assignment):
            continue
        for name in notebooks:
            path = folder / f"{name}.ipynb"
            if path.is_file() and not path.is_symlink():
                found[folder.name] = path
                break
    return found


def refused_ids(folders: Sequence[Path]) -> dict[str, str]:
    """Student ids nbgrader or a person could misread, with why (never graded nor recorded)."""
    found = {}
    for folder in folders:
        problem = student_id_problem(folder.parent.name)
        if problem is not None:
            found[folder.parent.name] = f"{problem}: rename its folder in submitted/ to grade it"
    return found


def misplaced_reason(assignment: str, path: Path) -> str:
    """Why a notebook one folder too high is not graded, and where it belongs."""
    return (
        f"{path.name} lies in the student's folder itself; it must be in its {assignment}/ "
        f"folder ({path.parent.name}/{assignment}/{path.name}), where nbgrader looks"
    )


def submission_problem(folder: Path, bounds: SubmissionBounds = DEFAULT_BOUNDS) -> str | None:
    """Why a student's submission folder cannot be graded, or ``None``.

    The folder and everything in it must be real folders and regular files (no
    links, devices, pipes or sockets), at most ``bounds.folder_entries`` entries
    and ``bounds.folder_bytes`` bytes (``c.SubmissionLimits.*``): nbgrader copies
    every file it holds.
    """
    if folder.parent.is_symlink():
        return f"{folder.parent.name} is a symbolic link, not the student's folder"
    try:
        info = folder.lstat()
    except OSError as error:
        return f"{folder.name} cannot be read ({error.strerror})"
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder.parent.name}/{folder.name} is not a folder (a link or a file)"
    count, total = 0, 0
    for directory, folders, files in os.walk(folder, followlinks=False):
        for name in [*folders, *files]:
            count += 1
            path = Path(directory) / name
            relative = path.relative_to(folder)
            if count > bounds.folder_entries:
                return f"the submission holds more than {bounds.folder_entries} files"
            try:
                mode = path.lstat().st_mode
            except OSError as error:
                return f"{relative} cannot be read ({error.strerror})"
            if stat.S_ISLNK(mode):
                return f"{relative} is a symbolic link; a submission may hold regular files only"
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                return (
                    f"{relative} is not a regular file; a submission may hold regular files only"
                )
            if stat.S_ISREG(mode):
                total += path.lstat().st_size
                if total > bounds.folder_bytes:
                    return f"the submission is larger than {_megabytes(bounds.folder_bytes)}"
    return None


def _megabytes(count: int) -> str:
    return f"{count / 2**20:g} MB"


def folder_digest(folder: Path) -> str:
    """A SHA-256 of everything in a submission folder: names, kinds and contents.

    Links are not followed (their target's name is hashed), and nothing but regular
    files is opened; past :data:`DIGEST_BYTES` in all, or
    10,000 entries, a file counts by its size and modification
    time only (such a folder is refused anyway). The same folder gives the same digest
    in any run, on any machine.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.ipynb").write_text("{}")
    >>> before = folder_digest(folder)
    >>> before == folder_digest(folder)
    True
    >>> _ = (folder / "a.ipynb").write_text("{ }")
    >>> before == folder_digest(folder)
    False
    """
    digest = hashlib.sha256()
    try:
        top = folder.lstat()
    except OSError as error:
        digest.update(f"unreadable:{error.errno}".encode())
        return digest.hexdigest()
    if stat.S_ISLNK(top.st_mode):
        digest.update(b"link:" + os.fsencode(os.readlink(folder)))
        return digest.hexdigest()
    if not stat.S_ISDIR(top.st_mode):
        digest.update(f"not a folder:{top.st_mode}:{top.st_size}".encode())
        return digest.hexdigest()
    budget, entries = DIGEST_BYTES, 0
    for directory, folders, files in os.walk(folder, followlinks=False):
        folders.sort()
        for name in sorted(files) + folders:
            path = Path(directory) / name
            entries += 1
            digest.update(os.fsencode(str(path.relative_to(folder))) + b"\0")
            try:
                info = path.lstat()
            except OSError as error:
                digest.update(f"unreadable:{error.errno}\0".encode())
                continue
            if stat.S_ISLNK(info.st_mode):
                digest.update(b"link:" + os.fsencode(os.readlink(path)) + b"\0")
            elif stat.S_ISREG(info.st_mode) and info.st_size <= budget and entries <= 10_000:
                budget -= info.st_size
                digest.update(b"file:")
                _hash_file(digest, path)
            else:
                digest.update(f"{info.st_mode}:{info.st_size}:{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _hash_file(digest: hashlib._Hash, path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        digest.update(f"unreadable:{error.errno}\0".encode())
        return
    with os.fdopen(descriptor, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    digest.update(b"\0")


@dataclass
class StudentWork:
    """One student's submission, read and sanitized: what the run stage needs of it.

    ``refused`` holds the reasons when the folder cannot be graded at all; otherwise
    ``notebooks`` maps each notebook name to its sanitized submission, and
    ``notes`` says what the collect step refused.
    """

    student: str
    digest: str
    notebooks: dict[str, Submission] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_student(
    folder: Path,
    masters: Mapping[str, Master],
    *,
    digest: str | None = None,
    bounds: SubmissionBounds = DEFAULT_BOUNDS,
) -> StudentWork:
    """Read and sanitize every notebook of one student's folder (never raises on its content).

    Reasons name the student's files: each is one line of plain text (a file name that is
    not UTF-8 would make the gradebook refuse it, and with it the run).
    """
    from gdcourse.grading import autograde
    from gdcourse.grading.collect import refused_reasons  # nbgrader's exchange: imported late

    student, assignment = folder.parent.name, folder.name
    work = StudentWork(student, digest if digest is not None else folder_digest(folder))
    problem = submission_problem(folder, bounds)
    if problem is not None:
        work.refused.append(plain_line(problem, max_length=MAX_REASON))
        return work
    work.notes.extend(
        plain_line(f"collect refused: {reason}", max_length=MAX_REASON)
        for reason in refused_reasons(folder)
    )
    submitted = folder.parent.parent
    for name, master in masters.items():
        submission = autograde.read_submission(
            submitted, [student, assignment, f"{name}.ipynb"], master, bounds=bounds
        )
        if submission.unreadable and not (folder / f"{name}.ipynb").exists():
            others = sorted(p.name for p in folder.glob("*.ipynb"))
            found = f" (found: {', '.join(others)})" if others else ""
            work.refused.append(
                plain_line(f"no notebook {name}.ipynb{found}", max_length=MAX_REASON)
            )
            continue
        work.notebooks[name] = submission
    if work.refused:
        work.notebooks.clear()
    return work
