"""The instructor's report of a grading run: distributions, misconceptions, who needs a human.

:func:`write_report` writes ``reports/<assignment>/``:

* ``report.md``: totals, a score-distribution plot per question (test cell) and
  of the total, the most frequent misconceptions named by the feedback (with the
  students who showed them), and every submission that needs a human, with the
  reason (timeouts, crashes, missing or unreadable notebooks, tampering);
* ``report.json``: the same data for scripts;
* ``plots/<question>.png``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StudentRecord", "write_report"]


@dataclass
class StudentRecord:
    """What the grading run knows about one student's submission."""

    student: str
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    misconceptions: list[str] = field(default_factory=list)
    needs_human: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.scores.values())


def _distribution(path: Path, title: str, values: Sequence[float], maximum: float) -> None:
    """A bar per score that occurs (and at 0 and full marks): scores are few and discrete."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    counts = Counter(round(value, 2) for value in values)
    scores = sorted({0.0, round(maximum, 2), *counts})
    figure = Figure(figsize=(4.5, 3.0), layout="constrained")
    ax = figure.add_subplot()
    ax.bar(
        [f"{score:g}" for score in scores],
        [counts.get(score, 0) for score in scores],
        color="#0072B2",
    )
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(f"score (out of {maximum:g})")
    ax.set_ylabel("submissions")
    from matplotlib.ticker import MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.savefig(path, dpi=90)


def write_report(
    directory: str | Path,
    assignment: str,
    records: Sequence[StudentRecord],
    questions: Mapping[str, float],
) -> Path:
    """Write the report of ``records`` into ``directory``; return the path of ``report.md``.

    ``questions`` maps each graded cell to its points, in notebook order.
    """
    directory = Path(directory)
    plots = directory / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    total_max = sum(questions.values())
    lines = [f"# Grading report: {assignment}", ""]
    totals = [record.total for record in records]
    if records:
        mean = sum(totals) / len(totals)
        lines += [
            f"{len(records)} submissions; mean {mean:.2f} of {total_max:g}; "
            f"{sum(1 for t in totals if t >= total_max)} full marks, "
            f"{sum(1 for t in totals if t == 0)} zero.",
            "",
        ]
    else:
        lines += ["No submissions were graded.", ""]
    lines += ["## Score distributions", ""]
    _distribution(plots / "total.png", "total", totals, total_max)
    lines += ["![total](plots/total.png)", ""]
    for question, points in questions.items():
        values = [record.scores.get(question, 0.0) for record in records]
        _distribution(plots / f"{question}.png", question, values, points)
        full = sum(1 for v in values if v >= points)
        lines += [
            f"### {question} ({points:g} points): {full} of {len(values)} full marks",
            "",
            f"![{question}](plots/{question}.png)",
            "",
        ]
    counts = Counter(name for record in records for name in dict.fromkeys(record.misconceptions))
    lines += ["## Most frequent misconceptions", ""]
    if counts:
        lines += ["| misconception | submissions | students |", "|---|---|---|"]
        for name, count in counts.most_common():
            who = sorted(r.student for r in records if name in r.misconceptions)
            lines.append(f"| {name} | {count} | {', '.join(who)} |")
    else:
        lines.append("None recognised.")
    lines += ["", "## Submissions that need a human", ""]
    flagged = [record for record in records if record.needs_human]
    if flagged:
        for record in flagged:
            reasons = "; ".join(dict.fromkeys(record.needs_human))
            lines.append(f"- **{record.student}** ({record.total:g}/{total_max:g}): {reasons}")
    else:
        lines.append("None.")
    noted = {
        record.student: [note for note in record.notes if note not in record.needs_human]
        for record in records
    }
    if any(noted.values()):
        lines += ["", "## Changes the grader undid (tampering or accidents)", ""]
        for student, notes in noted.items():
            if notes:
                lines.append(f"- **{student}**: {'; '.join(dict.fromkeys(notes))}")
    lines += ["", "## All submissions", ""]
    lines.append("| student | total | " + " | ".join(questions) + " |")
    lines.append("|---" * (len(questions) + 2) + "|")
    for record in sorted(records, key=lambda r: r.student):
        cells = [f"{record.scores.get(q, 0.0):g}" for q in questions]
        lines.append(f"| {record.student} | {record.total:g} | " + " | ".join(cells) + " |")
    report = directory / "report.md"
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    data: dict[str, Any] = {
        "assignment": assignment,
        "questions": dict(questions),
        "misconceptions": dict(counts.most_common()),
        "students": [
            {
                "student": r.student,
                "total": r.total,
                "scores": r.scores,
                "misconceptions": r.misconceptions,
                "needs_human": r.needs_human,
                "notes": r.notes,
            }
            for r in records
        ],
    }
    (directory / "report.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return report
