"""The durable record of a grading run, and the folder digest it is keyed by.

The record is read back with bounds (a line cut short by a kill, or edited, is
ignored); tests/test_scale.py interrupts real runs and resumes them.
"""

from __future__ import annotations

from gdcourse.grading.intake import folder_digest
from gdcourse.grading.journal import MAX_LINE, Entry, Journal
from gdcourse.grading.report import StudentRecord


def _entry(student: str, digest: str = "d") -> Entry:
    return Entry(student, digest, "m", misconceptions=("sign",), needs_human=("timeout",))


def test_the_journal_keeps_the_last_entry_of_each_student_and_compacts(tmp_path):
    journal = Journal(tmp_path / "graded.jsonl")
    for entry in (_entry("ada", "1"), _entry("bob"), _entry("ada", "2")):
        journal.append(entry)
    journal.close()
    entries = Journal(tmp_path / "graded.jsonl").load()
    assert entries == {"ada": _entry("ada", "2"), "bob": _entry("bob")}
    assert len((tmp_path / "graded.jsonl").read_text().splitlines()) == 2  # compacted


def test_a_line_cut_short_or_forged_is_ignored(tmp_path):
    path = tmp_path / "graded.jsonl"
    good = _entry("ada").to_json()
    path.write_text(
        "\n".join(
            [
                good,
                '{"student": "bob", "digest": "d", "masters": "m", "needs_human": [1]}',
                "[" * 100_000,
                '{"student": "cy", "digest": "d", "masters": "m", "notes": "not a list"}',
                '{"student": "dee", "digest": "d", "masters": "m", "autograded": "yes"}',
                "x" * (MAX_LINE + 1),
                good[: len(good) // 2],  # a kill in the middle of a write
            ]
        )
    )
    assert set(Journal(path).load()) == {"ada"}


def test_an_entry_carries_what_the_report_needs(tmp_path):
    record = StudentRecord("ada", misconceptions=["uphill_sign_error"], notes=["cell restored"])
    record.not_attempted.append("test_x")
    entry = Entry.of(record, digest="d", masters="m")
    restored = StudentRecord("ada")
    Entry.from_json(entry.to_json()).restore(restored)  # type: ignore[union-attr]
    assert restored == record


def test_the_folder_digest_sees_every_change_and_follows_no_link(tmp_path):
    folder = tmp_path / "ada" / "ps4_autograd"
    folder.mkdir(parents=True)
    (folder / "ps4_autograd.ipynb").write_text("{}")
    first = folder_digest(folder)
    (folder / "extra.csv").write_text("1")
    second = folder_digest(folder)
    (folder / "extra.csv").unlink()
    assert folder_digest(folder) == first != second
    secret = tmp_path / "secret"
    secret.write_text("a")
    (folder / "link").symlink_to(secret)
    linked = folder_digest(folder)
    secret.write_text("b")
    assert folder_digest(folder) == linked  # the link's target name counts, not its content
