"""gdcourse release: regenerates exercises/ and touches nothing an instructor owns."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gdcourse.release import assignments, release

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
    (course / "exercises" / "ps3_linear_regression" / "stale.txt").write_text("old release")
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
    written = release(["ps3_linear_regression"], root=course)
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
    exercise.write_text("edited by hand")  # a generated file edited by hand is regenerated
    assert release([], root=course, only_changed=True) == [exercise.parent]
    assert (
        exercise.read_bytes()
        == (ROOT / "exercises" / exercise.parent.name / exercise.name).read_bytes()
    )
