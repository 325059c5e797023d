"""``gdcourse grade`` with the tests' limits, in a process of its own (tests/courses.py).

Usage: ``python grade.py COURSE [--assignment A] [--workers N] [--scheduler ADDRESS]
[--regrade] [--db URL]``. The last line printed is JSON: the exit code and whether
Dask was imported by the run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from courses import LIMITS, PS4

from gdcourse.grading.cli import grade_command


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("course")
    parser.add_argument("--assignment", default=PS4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler")
    parser.add_argument("--regrade", action="store_true")
    parser.add_argument("--db")
    args = parser.parse_args()
    code = grade_command(
        args.assignment,
        workers=args.workers,
        root=args.course,
        limits=LIMITS,
        scheduler=args.scheduler,
        regrade=args.regrade,
        db_url=args.db,
    )
    dask = sorted(name for name in sys.modules if name.split(".")[0] in ("dask", "distributed"))
    print(json.dumps({"code": code, "dask_modules": dask[:5]}), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
