"""Time one feedback page: gdcourse's exporter against nbgrader's default, side by side.

Usage (from the repository root)::

    .venv/bin/python benchmarks/feedback.py [--repeat 30]

Both render the same autograded ps4 notebook (tests/hostile.py's: the master with a
hostile student's markdown, code and check messages), with the same totals, and
without the gradebook (nbgrader's ``GetGrades`` costs both the same):

* **nbgrader**: nbconvert's ``HTMLExporter`` with nbgrader's ``feedback`` template and
  its ``CSSHTMLHeaderPreprocessor``, as ``nbgrader generate_feedback`` runs by default;
* **gdcourse**: :class:`gdcourse.grading.feedback.FeedbackExporter` (sanitizing,
  MathML, the bounds included).

The two are timed in turn, page after page, so that both see the same load. Prints
the median and 95th percentile per page, the ratio of the medians, the page
sizes and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hostile  # noqa: E402  (tests/hostile.py)
import nbformat  # noqa: E402

from gdcourse.grading.feedback import FeedbackExporter  # noqa: E402

RESOURCES = {"assignment": "ps4_autograd", "notebook": "ps4_autograd", "student": "mallory",
             "score": 0.0, "max_score": 3.0, "late_penalty": 0.0}  # fmt: skip


def nbgrader_exporter() -> Any:
    """nbconvert's HTML exporter configured as ``nbgrader generate_feedback`` configures it."""
    import nbgrader
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from traitlets.config import Config

    formgrader = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [str(formgrader / "templates")]
    config.HTMLExporter.extra_template_paths = [
        str(formgrader / "static" / "node_modules" / "bootstrap" / "dist" / "css")
    ]
    exporter = HTMLExporter(config=config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor(), enabled=True)
    return exporter


def timed(
    renders: dict[str, Callable[[], str]], repeat: int
) -> dict[str, tuple[list[float], int]]:
    """Time each render ``repeat`` times, interleaved, so that both see the same load."""
    sizes = {name: len(render()) for name, render in renders.items()}  # warm up
    times: dict[str, list[float]] = {name: [] for name in renders}
    for _ in range(repeat):
        for name, render in renders.items():
            start = time.perf_counter()
            render()
            times[name].append(time.perf_counter() - start)
    return {name: (times[name], sizes[name]) for name in renders}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="pages per exporter (default 30)")
    args = parser.parse_args()
    if args.repeat < 2:
        parser.error(f"--repeat must be >= 2, got {args.repeat}")
    warnings.simplefilter("ignore")
    notebook = nbformat.reads(json.dumps(hostile.autograded_notebook()), as_version=4)
    for cell in notebook.cells:  # what nbgrader's GetGrades adds from the gradebook
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            meta["score"] = 0.0
        if meta.get("solution") or meta.get("task"):
            meta["comment"] = ""
    ours = FeedbackExporter()
    theirs = nbgrader_exporter()

    def render(exporter: Any) -> Callable[[], str]:
        return lambda: str(exporter.from_notebook_node(notebook, {"nbgrader": dict(RESOURCES)})[0])

    rows = timed({"nbgrader default": render(theirs), "gdcourse": render(ours)}, args.repeat)
    print(f"{'exporter':<18}{'median (ms)':>12}{'p95 (ms)':>10}{'page (kB)':>11}")
    for name, (times, size) in rows.items():
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        median = statistics.median(times)
        print(f"{name:<18}{median * 1000:>12.1f}{p95 * 1000:>10.1f}{size / 1000:>11.1f}")
    ratio = statistics.median(rows["nbgrader default"][0]) / statistics.median(rows["gdcourse"][0])
    print(f"nbgrader default / gdcourse (medians): {ratio:.2f}x")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
