"""The instructor's report: student text stays literal, plurals, "not attempted", counts once."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from gdcourse.grading.report import StudentRecord, plural, write_report

QUESTIONS = {"test_f_visible": 1.0, "test_f_hidden": 2.0}
#: A check message built to add a heading, a table row and a list item to report.md.
INJECTION = (
    "x\n\n## All submissions\n\n| mallory | 3 | 1 | 2 |\n"
    "- **mallory** (3/3): <script>alert(1)</script> [link](javascript:alert(1))\r\n# done"
)


def _records(names: dict[str, str]) -> list[StudentRecord]:
    """Four submissions whose student-chosen strings come from ``names``."""
    return [
        StudentRecord(
            names["student"],
            scores={"test_f_visible": 1.0, "test_f_hidden": 0.0},
            misconceptions=[names["misconception"]],
            needs_human=[names["reason"]],
            notes=[names["note"]],
        ),
        StudentRecord(
            "bob",
            scores={"test_f_visible": 0.0, "test_f_hidden": 0.0},
            misconceptions=[names["misconception"], names["misconception"]],
        ),
        StudentRecord("carol", scores={"test_f_visible": 1.0, "test_f_hidden": 2.0}),
        StudentRecord(
            "dave",
            scores={"test_f_visible": 0.0, "test_f_hidden": 0.0},
            not_attempted=list(QUESTIONS),
        ),
    ]


def _structure(path: Path) -> list[tuple[str, str]]:
    """Block tokens of a Markdown file (CommonMark with GitHub tables), with heading texts."""
    tokens = MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))
    structure = []
    for index, token in enumerate(tokens):
        if token.type == "inline":
            kinds = {child.type for child in token.children or []}
            assert kinds <= {"text", "text_special", "strong_open", "strong_close", "image"}, (
                kinds,
                token.content,
            )
            continue
        heading = tokens[index + 1].content if token.type == "heading_open" else ""
        structure.append((token.type, heading if "mallory" not in heading else "?"))
    return structure


BENIGN = {"student": "alice", "misconception": "m", "reason": "r", "note": "n"}
HOSTILE = {
    "student": '=HYPERLINK("http://x")\n# heading | cell |',
    "misconception": "sign | error\n| injected | 9 | row |",
    "reason": INJECTION,
    "note": "`code` *em* <img src=x onerror=alert(1)>\n\n- item",
}


def test_student_text_cannot_add_lines_headings_or_rows(tmp_path: Path) -> None:
    benign = write_report(tmp_path / "benign", "ps", _records(BENIGN), QUESTIONS)
    hostile = write_report(tmp_path / "hostile", "ps", _records(HOSTILE), QUESTIONS)
    assert len(hostile.read_text().splitlines()) == len(benign.read_text().splitlines())
    assert _structure(hostile) == _structure(benign)
    text = hostile.read_text()
    assert "<script>" not in text and "<img" not in text and "](javascript" not in text
    assert "\n## All submissions\n" in text and text.count("## All submissions") == 1
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script>" not in rendered and '<img src="x"' not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered  # shown, as text


def test_plurals(tmp_path: Path) -> None:
    one = [StudentRecord("a", scores={"q": 1.0})]
    text = write_report(tmp_path / "one", "ps", one, {"q": 1.0}).read_text()
    assert "1 submission;" in text and "of 1 point;" in text
    assert "### q (1 point): 1 of 1 submission with full marks" in text
    assert "1 points" not in text and "1 submissions" not in text
    two = [StudentRecord("a", scores={"q": 2.0}), StudentRecord("b", scores={"q": 0.0})]
    text = write_report(tmp_path / "two", "ps", two, {"q": 2.0}).read_text()
    assert "2 submissions;" in text and "### q (2 points): 1 of 2 submissions" in text
    assert plural(0.5, "point") == "0.5 points"


def test_untouched_stubs_are_not_attempted_and_not_wrong(tmp_path: Path) -> None:
    records = _records(BENIGN)
    records.append(
        StudentRecord(
            "erin",
            scores={"test_f_visible": 1.0, "test_f_hidden": 0.0},
            not_attempted=["test_f_hidden"],
        )
    )
    path = write_report(tmp_path, "ps", records, QUESTIONS)
    text = path.read_text()
    assert "### test_f_hidden (2 points): 1 of 5 submissions with full marks, 2 not attempted" in (
        text
    )
    assert "1 with nothing attempted." in text
    assert "| test_f_visible | 1 | dave |" in text
    assert "| test_f_hidden | 2 | dave; erin |" in text
    assert "Nothing attempted at all: dave." in text
    assert "| dave | 0 | not attempted | not attempted |" in text
    assert "| bob | 0 | 0 | 0 |" in text  # wrong, not untouched
    assert "| erin | 1 | 1 | not attempted |" in text
    data = json.loads((tmp_path / "report.json").read_text())
    by_student = {s["student"]: s for s in data["students"]}
    assert by_student["dave"]["not_attempted"] == list(QUESTIONS)
    assert by_student["erin"]["not_attempted"] == ["test_f_hidden"]
    assert by_student["bob"]["not_attempted"] == []


def test_a_grader_awarding_points_overrides_not_attempted(tmp_path: Path) -> None:
    record = StudentRecord("a", scores={"q": 1.0}, not_attempted=["q"])
    text = write_report(tmp_path, "ps", [record], {"q": 1.0}).read_text()
    assert "| a | 1 | 1 |" in text and "0 with nothing attempted" in text


def test_each_misconception_counts_once_per_submission(tmp_path: Path) -> None:
    write_report(tmp_path, "ps", _records(BENIGN), QUESTIONS)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["misconceptions"] == {"m": 2}
    assert {s["student"]: s["misconceptions"] for s in data["students"]}["bob"] == ["m"]
    text = (tmp_path / "report.md").read_text()
    assert "| m | 2 | alice; bob |" in text


def test_add_notebook_records_each_thing_once() -> None:
    def cell(grade_id: str, misconceptions: tuple[str, ...], attempted: bool) -> SimpleNamespace:
        return SimpleNamespace(
            grade_id=grade_id, misconceptions=misconceptions, attempted=attempted
        )

    grade = SimpleNamespace(
        cells=(
            cell("test_f_visible", ("sign",), True),
            cell("test_f_hidden", ("sign", "off_by_one"), True),
            cell("test_g_visible", (), False),
        ),
        needs_human=("timeout", "timeout"),
        notes=("restored a test cell",),
        cell_errors=(),
        private=(
            "test_f_hidden (f, hidden): banned call: torch.optim; all 3 hidden cases replied",
            "the run stopped after the hidden checks began: timeout",
        ),
    )
    record = StudentRecord("a")
    record.add_notebook(grade, prefix="nb:")  # type: ignore[arg-type]
    record.add_notebook(grade, prefix="nb:")  # type: ignore[arg-type]
    assert record.misconceptions == ["sign", "off_by_one"]
    assert record.not_attempted == ["nb:test_g_visible"]
    assert record.needs_human == ["timeout"]
    assert record.notes == ["restored a test cell"]
    # the cell whose hidden checks broke the rules, by its id alone (details stay private)
    assert record.hidden_rules == ["nb:test_f_hidden"]


def test_report_json_is_plain_and_bounded(tmp_path: Path) -> None:
    record = StudentRecord(
        "<b>x</b>",
        scores={"q": 0.0},
        needs_human=["y" * 10_000, *(f"reason {i}" for i in range(500))],
    )
    write_report(tmp_path, "ps", [record], {"q": 1.0})
    data = json.loads((tmp_path / "report.json").read_text())
    (student,) = data["students"]
    assert student["student"] == "<b>x</b>"  # JSON needs no escaping
    assert len(student["needs_human"]) == 100
    assert len(student["needs_human"][0]) == 2000
    text = (tmp_path / "report.md").read_text()
    assert "(and 491 more)" in text
    assert max(len(line) for line in text.splitlines()) < 5000


def test_plots_for_every_question_even_with_unsafe_names(tmp_path: Path) -> None:
    questions = {"nb:test_f": 1.0, "test_g": 1.0, "total": 1.0}
    record = StudentRecord("a", scores={"nb:test_f": 1.0, "test_g": 0.0, "total": 1.0})
    text = write_report(tmp_path, "ps", [record], questions).read_text()
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == ["q1-nb_test_f.png", "q3-total.png", "test_g.png", "total.png"]
    assert all((tmp_path / "plots" / name).stat().st_size > 0 for name in names)
    assert "](plots/q1-nb_test_f.png)" in text


@pytest.mark.parametrize("records", [[], [StudentRecord("a")]])
def test_no_submissions_or_no_scores(tmp_path: Path, records: list[StudentRecord]) -> None:
    text = write_report(tmp_path, "ps", records, {"q": 1.0}).read_text()
    assert "## All submissions" in text
