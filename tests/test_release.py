"""gdcourse release: regenerates exercises/ and touches nothing an instructor owns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gdcourse.tools.release import ASIDE, assignments, release, start

ROOT = Path(__file__).resolve().parent.parent


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(
        ROOT / "solutions" / "ps3_linear_regression",
        course / "solutions" / "ps3_linear_regression",
    )
    # what an instructor has next to the course: none of it may change
    (course / "gradebook.db").write_bytes(b"not really sqlite, but it must stay as it is")
    for folder in ("submitted", "autograded", "feedback"):
        student = course / folder / "alice" / "ps3_linear_regression"
        student.mkdir(parents=True)
        (student / "ps3_linear_regression.ipynb").write_text('{"alice": "work"}')
    (course / "exercises" / "ps3_linear_regression").mkdir(parents=True)
    return course


def test_assignments_lists_the_masters() -> None:
    assert {"ps1_gradients", "ps2_gradient_descent", "ps3_linear_regression"} <= set(assignments())


def test_unknown_assignment_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    course = _course(tmp_path)
    before = _snapshot(course)
    with pytest.raises(ValueError, match=r"unknown assignment\(s\) 'ps9_nope'; known: ps3_"):
        release(["ps3_linear_regression", "ps9_nope"], root=course)
    assert _snapshot(course) == before


@pytest.mark.slow
def test_release_rewrites_exercises_only(tmp_path: Path) -> None:
    course = _course(tmp_path)
    generated = ("exercises/", ".gdcourse-cache/")
    owned = {
        name: data for name, data in _snapshot(course).items() if not name.startswith(generated)
    }
    (course / "exercises" / "ps3_linear_regression" / "stale.txt").write_text("old release")
    written = release(["ps3_linear_regression"], root=course, force=True)
    assert written == [course / "exercises" / "ps3_linear_regression"]
    after = _snapshot(course)
    assert {k: v for k, v in after.items() if not k.startswith(generated)} == owned
    released = sorted(k for k in after if k.startswith("exercises/"))
    assert released == ["exercises/ps3_linear_regression/ps3_linear_regression.ipynb"]
    committed = ROOT / "exercises" / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    assert after[released[0]][0] == committed.read_bytes()


@pytest.mark.slow
def test_only_changed_skips_what_is_up_to_date(tmp_path: Path) -> None:
    """`gdcourse build` stays fast: nothing is regenerated unless the master or release changed."""
    course = _course(tmp_path)
    exercise = course / "exercises" / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    assert release(["ps3_linear_regression"], root=course, only_changed=True)
    first = exercise.stat().st_mtime_ns
    assert release([], root=course, only_changed=True) == []
    assert exercise.stat().st_mtime_ns == first
    assert (
        exercise.read_bytes()
        == (ROOT / "exercises" / exercise.parent.name / exercise.name).read_bytes()
    )


@pytest.mark.slow
def test_a_release_never_overwrites_what_a_person_wrote(tmp_path: Path, capsys) -> None:
    """A student who filled in exercises/ in place keeps their work, whatever builds run."""
    course = _course(tmp_path)
    exercise = course / "exercises" / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    release(["ps3_linear_regression"], root=course)
    exercise.write_text("a student's answers")
    capsys.readouterr()
    assert release([], root=course, only_changed=True) == []
    assert exercise.read_text() == "a student's answers"
    message = " ".join(capsys.readouterr().out.split())
    aside = course / ASIDE / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    assert "was changed since it was generated" in message and str(ASIDE) in message
    assert "gdcourse start ps3_linear_regression" in message and "--force" in message
    committed = ROOT / "exercises" / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    assert aside.read_bytes() == committed.read_bytes()
    assert release(["ps3_linear_regression"], root=course, force=True) == [exercise.parent]
    assert exercise.read_bytes() == committed.read_bytes()


@pytest.mark.slow
def test_a_folder_never_generated_here_is_kept_unless_it_is_the_release(tmp_path: Path) -> None:
    course = _course(tmp_path)
    notebook = course / "exercises" / "ps3_linear_regression" / "ps3_linear_regression.ipynb"
    notebook.write_text("edited before any build")
    assert release(["ps3_linear_regression"], root=course) == []
    assert notebook.read_text() == "edited before any build"


def test_start_copies_the_exercise_to_a_folder_of_ones_own(tmp_path: Path) -> None:
    course = _course(tmp_path)
    shutil.copytree(
        ROOT / "exercises" / "ps3_linear_regression",
        course / "exercises" / "ps3_linear_regression",
        dirs_exist_ok=True,
    )
    copy = start("ps3_linear_regression", root=course)
    assert copy == course / "work" / "ps3_linear_regression"
    mine = copy / "ps3_linear_regression.ipynb"
    mine.write_text("my answers")
    with pytest.raises(FileExistsError, match="your work is there"):
        start("ps3_linear_regression", root=course)
    assert mine.read_text() == "my answers"
    with pytest.raises(ValueError, match="unknown assignment or book page 'ps9'"):
        start("ps9", root=course)


def test_start_copies_a_book_page_as_the_sites_notebook(tmp_path: Path) -> None:
    """`gdcourse start gradients`: the page as the site's notebook download (numbers filled in,
    tests/test_book.py checks them) in work/book/, never overwritten; a clear error before the
    book is built and for a page without code."""
    course = _course(tmp_path)
    (course / "book").mkdir()
    for page in ("gradients", "notation"):
        (course / "book" / f"{page}.md").write_text(f"# {page}\n")
    with pytest.raises(ValueError, match="the book is not built yet.*python3 -m gdcourse build"):
        start("gradients", root=course)
    sources = course / "book" / "_build" / "html" / "_sources"
    sources.mkdir(parents=True)
    (sources / "gradients.ipynb").write_text('{"cells": "as the site offers them"}')
    copy = start("gradients", root=course)
    assert copy == course / "work" / "book" / "gradients.ipynb"
    assert copy.read_text() == '{"cells": "as the site offers them"}'
    copy.write_text("my notes")
    with pytest.raises(FileExistsError, match=r"work/book/gradients.ipynb exists already"):
        start("gradients", root=course)
    assert copy.read_text() == "my notes"
    with pytest.raises(ValueError, match="'notation' runs no code"):
        start("notation", root=course)
    with pytest.raises(ValueError, match="book pages: gradients, notation"):
        start("gradient", root=course)
