"""The instructor's report of a grading run: distributions, misconceptions, who needs a human.

:func:`write_report` writes ``reports/<assignment>/``:

* ``report.md``: totals, a score-distribution plot per question (test cell) and
  of the total, the questions left untouched ("not attempted": the function is
  still the stub, which is not the same as a wrong answer), the most frequent
  misconceptions named by the feedback (each counted once per submission, with
  the students who showed them), every submission that needs a human with the
  reason (timeouts, crashes, missing or unreadable notebooks, tampering), and a
  table of all submissions;
* ``report.json``: the same data for scripts (plain JSON, unescaped; student ids
  as they are, which the file system bounds; every other string and list bounded);
* ``plots/<question>.png``.

Student ids, reasons, notes and misconception names may hold text a student
chose: in ``report.md`` each passes through
:func:`gdcourse.grading.escape.markdown_text`, so none can add a line, a heading,
a table row or a link.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdcourse.grading.escape import markdown_text, plain_line, visible_id
from gdcourse.grading.settings import ReportSizes

if TYPE_CHECKING:
    from gdcourse.grading.autograde import NotebookGrade

__all__ = ["StudentRecord", "plural", "write_report"]

#: Bounds of what the report repeats from a submission (characters, items); student ids
#: are never cut (the file system bounds them, and a cut could make two ids look one).
SIZES = ReportSizes()
"""The built-in sizes: what ``c.GradeReport.*`` does not set."""


@dataclass
class StudentRecord:
    """What the grading run knows about one student's submission.

    ``scores`` and ``max_scores`` map each question (test cell) to points;
    ``not_attempted`` lists the questions whose function was still the untouched
    stub; ``misconceptions`` the misconceptions the feedback named; ``needs_human``
    the reasons a person should look; ``notes`` what the grader undid; ``cell_errors``
    the first line of what each code cell raised when graded (before any check ran), so
    that a zero has its reason (a failed import leaves every graded function missing).
    """

    student: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    misconceptions: list[str] = field(default_factory=list)
    needs_human: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    cell_errors: list[str] = field(default_factory=list)
    hidden_rules: list[str] = field(default_factory=list)
    """The hidden test cells whose process broke the grader's rules; the details are in the
    instructor's private log (:mod:`gdcourse.grading.instructor_log`), never here."""

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    def add_notebook(self, grade: NotebookGrade, *, prefix: str = "") -> None:
        """Add one notebook's verdicts: misconceptions, untouched stubs, reasons, notes.

        ``prefix`` goes before each grade id to make the question's key (for
        instance ``"notebook:"`` when an assignment has several notebooks). Every
        list stays free of repeats. Scores are not touched: they come from the
        gradebook, where a grader may have changed them.
        """
        for cell in grade.cells:
            _extend(self.misconceptions, cell.misconceptions)
            if not cell.attempted:
                _extend(self.not_attempted, [prefix + cell.grade_id])
        _extend(self.needs_human, grade.needs_human)
        _extend(self.notes, grade.notes)
        graded_ids = {cell.grade_id for cell in grade.cells}
        _extend(
            self.hidden_rules,
            [
                prefix + line.split(" ", 1)[0]
                for line in grade.private
                if line.split(" ", 1)[0] in graded_ids
            ],
        )
        _extend(
            self.cell_errors,
            [
                f"{prefix}cell {index}: {plain_line(error, max_length=200)}"
                for index, error in grade.cell_errors
            ],
        )


def _extend(items: list[str], new: Iterable[str]) -> None:
    for item in new:
        if item not in items:
            items.append(item)


def plural(count: float, noun: str, nouns: str | None = None) -> str:
    """``count`` and ``noun``, in the plural unless ``count`` is exactly 1.

    >>> plural(1, "point"), plural(2, "point"), plural(0.5, "point"), plural(0, "submission")
    ('1 point', '2 points', '0.5 points', '0 submissions')
    >>> plural(1, "submission needs", "submissions need")
    '1 submission needs'
    """
    word = noun if count == 1 else (nouns if nouns is not None else noun + "s")
    return f"{count:g} {word}"


def _md(text: object, max_length: int = SIZES.reason_chars) -> str:
    return markdown_text(text, max_length=max_length)


def _student(student: str) -> str:
    """A student id in Markdown: :func:`visible_id` (two ids never look alike), escaped,
    never cut (a cut could make two ids one)."""
    return markdown_text(visible_id(student))


def _students(students: Sequence[str], sizes: ReportSizes) -> str:
    """Student ids, as :func:`_student`, joined with '; ' (the first ten, then a count)."""
    shown = "; ".join(_student(student) for student in students[: sizes.items])
    if len(students) > sizes.items:
        shown += f" (and {len(students) - sizes.items} more)"
    return shown


def _md_list(items: Sequence[str], sizes: ReportSizes) -> str:
    """Unique items, escaped and bounded, joined with '; '."""
    unique = list(dict.fromkeys(items))
    shown = "; ".join(_md(item, sizes.reason_chars) for item in unique[: sizes.items])
    if len(unique) > sizes.items:
        shown += f" (and {len(unique) - sizes.items} more)"
    return shown


def _json_list(items: Sequence[str], sizes: ReportSizes) -> list[str]:
    unique = list(dict.fromkeys(items))[: sizes.items_json]
    return [item[: sizes.reason_chars_json] for item in unique]


def _plot_name(index: int, question: str) -> str:
    """A file name for the question's plot: the grade id when it is a safe name."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,100}", question) and question != "total":
        return f"{question}.png"
    return f"q{index}-{re.sub(r'[^A-Za-z0-9_-]', '_', question)[:60]}.png"


def _distribution(path: Path, title: str, values: Sequence[float], maximum: float) -> None:
    """A bar per score that occurs (and at 0 and full marks): scores are few and discrete."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    counts = Counter(round(value, 2) for value in values)
    scores = sorted({0.0, round(maximum, 2), *counts})
    figure = Figure(figsize=(4.5, 3.0), layout="constrained")
    ax = figure.add_subplot()
    ax.bar(
        [f"{score:g}" for score in scores],
        [counts.get(score, 0) for score in scores],
        color="#0072B2",
    )
    ax.set_title(plain_line(title, max_length=80), fontsize=10, parse_math=False)
    ax.set_xlabel(f"score (out of {maximum:g})")
    ax.set_ylabel("submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.savefig(path, dpi=90)


def _not_attempted(record: StudentRecord, question: str) -> bool:
    """The question's function was left a stub (and no grader gave points since)."""
    return question in record.not_attempted and not record.scores.get(question)


def write_report(
    directory: str | Path,
    assignment: str,
    records: Sequence[StudentRecord],
    questions: Mapping[str, float],
    *,
    sizes: ReportSizes = SIZES,
) -> Path:
    """Write the report of ``records`` into ``directory``; return the path of ``report.md``.

    ``questions`` maps each graded cell to its points, in notebook order; ``sizes``
    (``c.GradeReport.*``) bound how much of each reason and list is kept.
    """
    directory = Path(directory)
    plots = directory / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    total_max = sum(questions.values())
    ordered = sorted(records, key=lambda r: r.student)
    untouched = [r for r in records if questions and all(_not_attempted(r, q) for q in questions)]
    lines = [f"# Grading report: {_md(assignment)}", ""]
    totals = [record.total for record in records]
    if records:
        mean = sum(totals) / len(totals)
        full = sum(1 for t in totals if t >= total_max)
        zero = sum(1 for t in totals if t == 0)
        lines += [
            f"{plural(len(records), 'submission')}; mean {mean:.2f} of "
            f"{plural(total_max, 'point')}; {full} with full marks, {zero} with zero, "
            f"{len(untouched)} with nothing attempted.",
            "",
        ]
    else:
        lines += ["No submissions were graded.", ""]
    lines += ["## Score distributions", ""]
    _distribution(plots / "total.png", "total", totals, total_max)
    lines += ["![total](plots/total.png)", ""]
    for index, (question, points) in enumerate(questions.items(), start=1):
        values = [record.scores.get(question, 0.0) for record in records]
        name = _plot_name(index, question)
        _distribution(plots / name, question, values, points)
        full = sum(1 for v in values if v >= points)
        skipped = sum(1 for record in records if _not_attempted(record, question))
        lines += [
            f"### {_md(question)} ({plural(points, 'point')}): {full} of "
            f"{plural(len(values), 'submission')} with full marks, {skipped} not attempted",
            "",
            f"![{_md(question)}](plots/{name})",
            "",
        ]
    lines += ["## Not attempted", ""]
    lines += [
        "Questions whose function was still the untouched stub: scored 0, but not a wrong answer.",
        "",
    ]
    rows = []
    for question in questions:
        who = [r.student for r in ordered if _not_attempted(r, question)]
        if who:
            rows.append(f"| {_md(question)} | {len(who)} | {_students(who, sizes)} |")
    if rows:
        lines += ["| question | submissions | students |", "|---|---|---|", *rows]
        if untouched:
            lines += [
                "",
                f"Nothing attempted at all: {_students([r.student for r in untouched], sizes)}.",
            ]
    else:
        lines.append("None: every submission attempted every question.")
    counts = Counter(name for record in records for name in dict.fromkeys(record.misconceptions))
    lines += ["", "## Most frequent misconceptions", ""]
    if counts:
        lines += ["| misconception | submissions | students |", "|---|---|---|"]
        for name, count in counts.most_common():
            who = [r.student for r in ordered if name in r.misconceptions]
            lines.append(f"| {_md(name)} | {count} | {_students(who, sizes)} |")
    else:
        lines.append("None recognised.")
    lines += ["", "## Submissions that need a human", ""]
    flagged = [record for record in ordered if record.needs_human]
    if flagged:
        for record in flagged:
            lines.append(
                f"- **{_student(record.student)}** ({record.total:g}/{total_max:g}): "
                f"{_md_list(record.needs_human, sizes)}"
            )
    else:
        lines.append("None.")
    ruled = [record for record in ordered if record.hidden_rules]
    if ruled:
        lines += [
            "",
            "## Rules broken during hidden checks",
            "",
            "These cells earned nothing; the student's feedback gives only fixed words. What "
            "the process did (the banned call, the case) is in `private/rules.log`, readable "
            "by you alone.",
            "",
        ]
        for record in ruled:
            lines.append(
                f"- **{_student(record.student)}**: {_md_list(record.hidden_rules, sizes)}"
            )
    noted = {
        record.student: [note for note in record.notes if note not in record.needs_human]
        for record in ordered
    }
    if any(noted.values()):
        lines += ["", "## Changes the grader undid (tampering or accidents)", ""]
        for student, notes in noted.items():
            if notes:
                lines.append(f"- **{_student(student)}**: {_md_list(notes, sizes)}")
    errors = [record for record in ordered if record.cell_errors]
    if errors:
        lines += ["", "## Cells that raised an error when graded", ""]
        lines += [
            "Before any check ran; a function whose cell raised is missing to every check.",
            "",
        ]
        for record in errors:
            lines.append(
                f"- **{_student(record.student)}** ({record.total:g}/{total_max:g}): "
                f"{_md_list(record.cell_errors, sizes)}"
            )
    lines += ["", "## All submissions", ""]
    lines.append("| student | total | " + " | ".join(_md(q) for q in questions) + " |")
    lines.append("|---" * (len(questions) + 2) + "|")
    for record in ordered:
        cells = [
            "not attempted" if _not_attempted(record, q) else f"{record.scores.get(q, 0.0):g}"
            for q in questions
        ]
        lines.append(
            f"| {_student(record.student)} | {record.total:g} | " + " | ".join(cells) + " |"
        )
    report = directory / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data: dict[str, Any] = {
        "assignment": assignment,
        "questions": dict(questions),
        "misconceptions": {
            name[: sizes.reason_chars_json]: count
            for name, count in counts.most_common(sizes.items_json)
        },
        "students": [
            {
                "student": r.student,
                "total": r.total,
                "scores": r.scores,
                "not_attempted": [q for q in questions if _not_attempted(r, q)],
                "misconceptions": _json_list(r.misconceptions, sizes),
                "needs_human": _json_list(r.needs_human, sizes),
                "notes": _json_list(r.notes, sizes),
                "cell_errors": _json_list(r.cell_errors, sizes),
                "hidden_rules": _json_list(r.hidden_rules, sizes),
            }
            for r in ordered
        ],
    }
    (directory / "report.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return report
