"""Plain ``nbgrader autograde`` against ``gdcourse grade``, side by side, on the same submissions.

Builds two copies of a course holding the ``ps4_autograd`` master (the
repository's, or the test master of ``tests/attacks/`` while there is none) and
the same N submissions (default 40: correct, wrong and broken ones), then times

* baseline: stock nbgrader (no gdcourse configuration: a kernel per submission
  runs the test cells), ``nbgrader autograde ps4_autograd``;
* secure: ``gdcourse grade ps4_autograd --workers W`` (sandboxes, autograde into
  the gradebook, feedback, CSV and report),

checks that every honest submission gets the same scores from both, and prints
the throughput ratio. Run from the repository root::

    .venv/bin/python benchmarks/grading.py [--submissions 40] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ASSIGNMENT = "ps4_autograd"
STOCK_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "gdcourse"
c.CourseDirectory.root = __file__.rsplit("/", 1)[0]
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
"""


def _master() -> Path:
    real = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    return (
        real if real.is_file() else ROOT / "tests" / "attacks" / "_master" / f"{ASSIGNMENT}.ipynb"
    )


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _solution_text(master: dict, grade_id: str) -> str:
    for cell in master["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            text = _source(cell)
            return "\n".join(line for line in text.splitlines() if "### " not in line)
    raise LookupError(grade_id)


def submissions(master: dict, count: int) -> dict[str, tuple[str, bool]]:
    """Student -> (notebook JSON text, honest?) built from the release of ``master``."""
    release = json.loads(json.dumps(master))
    for cell in release["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        text = _source(cell)
        if meta.get("solution"):
            cell["source"] = re.sub(
                r"### BEGIN SOLUTION.*?### END SOLUTION",
                "# YOUR CODE HERE\nraise NotImplementedError()",
                text,
                flags=re.S,
            )
        elif "### BEGIN HIDDEN TESTS" in text:
            cell["source"] = text.split("### BEGIN HIDDEN TESTS")[0]
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    solutions = [
        cell["metadata"]["nbgrader"]["grade_id"]
        for cell in master["cells"]
        if cell["metadata"].get("nbgrader", {}).get("solution")
    ]

    def variant(transform: object) -> str:
        nb = json.loads(json.dumps(release))
        for cell in nb["cells"]:
            grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
            if grade_id in solutions:
                cell["source"] = transform(_solution_text(master, grade_id))  # type: ignore[operator]
        return json.dumps(nb, indent=1)

    kinds = [
        ("correct", lambda text: text, True),
        ("wrong", lambda text: text.replace("-=", "+=", 1), True),
        ("correct", lambda text: text, True),
        ("untouched", None, True),
        ("broken", lambda text: text + "\n    return (", False),
    ]
    result = {}
    for index in range(count):
        kind, transform, honest = kinds[index % len(kinds)]
        text = json.dumps(release, indent=1) if transform is None else variant(transform)
        if kind == "broken" and index % 10 == 9:
            text = text[: len(text) // 2]  # invalid JSON
        result[f"s{index:03d}_{kind}"] = (text, honest)
    return result


def _course(folder: Path, config: str, master: Path, subs: dict[str, tuple[str, bool]]) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    (folder / "solutions" / ASSIGNMENT).mkdir(parents=True)
    (folder / "nbgrader_config.py").write_text(config)
    shutil.copy(master, folder / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [str(BIN / "nbgrader"), "generate_assignment", ASSIGNMENT, "--force"],
        cwd=folder,
        check=True,
        capture_output=True,
        env=env,
    )
    for student, (text, _) in subs.items():
        target = folder / "submitted" / student / ASSIGNMENT
        target.mkdir(parents=True)
        (target / f"{ASSIGNMENT}.ipynb").write_text(text)


def _scores(folder: Path) -> dict[str, dict[str, float | None]]:
    sys.path.insert(0, str(ROOT))
    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, float | None]] = {}
    with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
        for submission in gradebook.assignment_submissions(ASSIGNMENT):
            for notebook in submission.notebooks:
                scores[submission.student_id] = {g.name: g.auto_score for g in notebook.grades}
    return scores


def _timed(command: list[str], folder: Path) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_work")
    args = parser.parse_args()
    master_path = _master()
    master = json.loads(master_path.read_text())
    subs = submissions(master, args.submissions)
    baseline, secure = args.workdir / "baseline", args.workdir / "secure"
    _course(baseline, STOCK_CONFIG, master_path, subs)
    _course(secure, (ROOT / "nbgrader_config.py").read_text(), master_path, subs)
    print(f"master: {master_path.relative_to(ROOT)}; {len(subs)} submissions", flush=True)

    stock = _timed([str(BIN / "nbgrader"), "autograde", ASSIGNMENT], baseline)
    ours = _timed(
        [sys.executable, "-m", "gdcourse", "grade", ASSIGNMENT, "--workers", str(args.workers)],
        secure,
    )
    stock_scores, our_scores = _scores(baseline), _scores(secure)
    honest = [student for student, (_, ok) in subs.items() if ok]
    differ = [s for s in honest if stock_scores.get(s) != our_scores.get(s)]
    n = len(subs)
    print(f"plain nbgrader autograde:   {stock:7.1f} s  ({stock / n:.2f} s per submission)")
    print(
        f"gdcourse grade ({args.workers} workers): {ours:7.1f} s  "
        f"({ours / n:.2f} s per submission; feedback, CSV and report included)"
    )
    print(f"throughput ratio: {stock / ours:.1f}x")
    same = len(honest) - len(differ)
    print(f"honest submissions with identical scores: {same}/{len(honest)}")
    for student in differ:
        print(
            f"  {student}: nbgrader {stock_scores.get(student)} gdcourse {our_scores.get(student)}"
        )
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
