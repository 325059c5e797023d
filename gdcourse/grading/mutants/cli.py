"""``python3 -m gdcourse mutants ASSIGNMENT... | --all``: the mutation score of the hidden checks.

Prints a line per assignment, then, last, exactly::

    mutants: K/N non-equivalent killed, E equivalent, M/R named

and writes ``mutation/<assignment>.json`` and ``.md`` (``--no-report`` to leave them).
Exit status 0 when every non-equivalent mutant was killed, every correct variant scored
full marks and at least 95% of the course mutants with a registered misconception were
named; 1 otherwise; 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gdcourse.grading.mutants import core
from gdcourse.grading.mutants.report import markdown

__all__ = ["REPORTS", "main", "mutants_command"]

REPORTS = "mutation"
"""The reports' folder in the course root (the instructor's repository, never published)."""


def _root() -> Path:
    from gdcourse.course import find_root

    return Path(find_root()).resolve()


def write_reports(root: Path, results: Sequence[core.Result]) -> list[Path]:
    folder = root / REPORTS
    folder.mkdir(exist_ok=True)
    written = []
    for result in results:
        data = core.to_json(result)
        path = folder / f"{result.assignment}.json"
        path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        (folder / f"{result.assignment}.md").write_text(markdown(data), encoding="utf-8")
        written.append(path)
    return written


def mutants_command(
    names: Sequence[str] | None,
    *,
    workers: int = 2,
    isolation: bool = True,
    report: bool = True,
    root: Path | None = None,
) -> int:
    """Grade the mutants of ``names`` (None: every assignment); print the lines; 0 when every
    target is met."""
    root = root or _root()
    known = core.assignments(root)
    chosen = list(known if names is None else names)
    unknown = [n for n in chosen if n not in known]
    if unknown or not chosen:
        print(
            f"gdcourse mutants: unknown assignment {', '.join(map(repr, unknown))}; "
            f"the assignments of this course are: {', '.join(known)}"
            if unknown
            else "gdcourse mutants: which assignment? name one or more, or --all",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    counts = {n: len(core.generate(root, n).mutants) for n in chosen}
    print(
        f"gdcourse mutants: {sum(counts.values())} mutants of {len(chosen)} assignment(s) "
        f"({', '.join(f'{n} {c}' for n, c in counts.items())}), {workers} sandboxes at a time",
        file=sys.stderr,
        flush=True,
    )
    results = core.run_assignments(root, chosen, workers=workers, isolation=isolation)
    elapsed = time.monotonic() - started
    graded = sum(len(r.scored) for r in results)
    if report:
        written = write_reports(root, results)
        print(f"reports: {', '.join(str(p.with_suffix('.md')) for p in written)}", file=sys.stderr)
    for result in results:
        for scored in result.scored:
            if scored.outcome == "survived":
                print(f"  survivor {scored.mutant.ident}: {scored.mutant.label}", file=sys.stderr)
        for function, label, _, lost in result.correct_rejected:
            print(f"  correct variant rejected: {function} ({label}): {', '.join(lost)}",
                  file=sys.stderr)  # fmt: skip
        for ident in result.stale:
            print(f"  stale equivalent entry: {ident}", file=sys.stderr)
    print(
        f"{graded} mutants graded in {elapsed:.1f} s ({graded / elapsed:.2f} mutants/s)",
        file=sys.stderr,
    )
    for result in results:
        print(result.line())
    print(core.summary_line(results), flush=True)
    return 0 if all(r.ok for r in results) else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gdcourse mutants",
        description="Grade mutants of every graded function's reference solution, and "
        "correct variants, through the real grader; report the mutation score.",
    )
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    parser.add_argument("--all", action="store_true", help="every assignment of the course")
    parser.add_argument("--workers", type=int, default=2, help="sandboxes at a time (2)")
    parser.add_argument("--no-report", action="store_true", help="write no report files")
    parser.add_argument(
        "--no-isolation", action="store_true", help="grade without bubblewrap's namespaces"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.all and args.assignments:
        parser.error("name assignments or --all, not both")
    return mutants_command(
        None if args.all else args.assignments,
        workers=args.workers,
        isolation=not args.no_isolation,
        report=not args.no_report,
    )


if __name__ == "__main__":
    raise SystemExit(main())
