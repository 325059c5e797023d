"""``gdcourse grade`` at scale: 100 and 1,000 submissions, on the local pool and on Dask.

Builds courses holding the ``ps4_autograd`` master and N generated submissions
(correct, wrong, untouched and broken ones, some not even JSON: the mix of
``benchmarks/grading.py``), then grades each with

* local: ``gdcourse grade ps4_autograd --workers W`` (one warm sandbox host here);
* dask: ``gdcourse grade ps4_autograd --scheduler ADDRESS`` on a Dask
  ``LocalCluster`` of W worker processes (one thread each) on the loopback
  interface, started fresh for each run (the cluster's start is not timed: it
  stands for a cluster that is already running).

Each run is a process of its own; it reports its own peak resident memory
(``getrusage(RUSAGE_SELF)``: the instructor's process only, not the sandboxes
nor the feedback processes it forks). The script prints submissions per second
(whole command, and the grading stage alone), peak memory, and how time and
memory grow from the smallest N to the largest (linear time: the ratio of the
times close to the ratio of the Ns; flat memory: a ratio close to 1). Every
run's scores must equal the local run's of the same N. Run from the repository
root::

    .venv/bin/python benchmarks/scale.py [--sizes 100 1000] [--workers 2] [--modes local dask]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grading import ASSIGNMENT, ROOT, _course, _master, _scores, submissions

SUMMARY = re.compile(
    r"Graded (\d+) submissions of \S+ in ([\d.]+) s \(start ([\d.]+) s, grading ([\d.]+) s, "
    r"feedback ([\d.]+) s, report ([\d.]+) s\)"
)


def _grade_here(course: Path, workers: int, scheduler: str | None) -> int:
    """In the measured process: grade, then print its peak RSS as the last line."""
    import resource

    sys.path.insert(0, str(ROOT))
    from gdcourse.grading.cli import grade_command

    code = grade_command(ASSIGNMENT, workers=workers, root=course, scheduler=scheduler)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"code": code, "peak_mib": peak_kib / 1024}), flush=True)
    return code


def _run(course: Path, workers: int, scheduler: str | None) -> dict[str, float]:
    command = [sys.executable, __file__, "--grade", str(course), "--workers", str(workers)]
    if scheduler:
        command += ["--scheduler", scheduler]
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    last = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    match = SUMMARY.search(done.stderr)
    if last.get("code") not in (0, 1) or match is None:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
        )
    n, total, start, grading, feedback, report = (float(x) for x in match.groups())
    return {
        "n": n,
        "wall": wall,
        "total": total,
        "start": start,
        "grading": grading,
        "feedback": feedback,
        "report": report,
        "peak_mib": float(last["peak_mib"]),
    }


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=["local", "dask"], default=["local", "dask"])
    parser.add_argument("--workdir", type=Path, default=ROOT / "benchmarks" / "_work" / "scale")
    parser.add_argument("--grade", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--scheduler", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grade is not None:
        return _grade_here(args.grade, args.workers, args.scheduler)
    if any(n < 1 for n in args.sizes) or args.workers < 1:
        raise SystemExit("--sizes and --workers must be >= 1")
    master_path = _master()
    master = json.loads(master_path.read_text())
    config = (ROOT / "nbgrader_config.py").read_text()
    results: dict[tuple[str, int], dict[str, float]] = {}
    differ = 0
    print(f"{os.cpu_count()} cores; load average at start {_load()}", flush=True)
    for n in sorted(args.sizes):
        subs = submissions(master, n)
        reference: dict[str, dict[str, float | None]] | None = None
        for mode in args.modes:
            course = args.workdir / f"{mode}_{n}"
            _course(course, config, master_path, subs)
            if mode == "local":
                result = _run(course, args.workers, None)
            else:
                from gdcourse.grading.runners.cluster import loopback_cluster

                with loopback_cluster(args.workers, silence_logs=40) as cluster:
                    result = _run(course, args.workers, cluster.scheduler_address)
            results[mode, n] = result
            scores = _scores(course)
            if len(scores) != n:
                differ += 1
                print(f"  {mode} {n}: {len(scores)} of {n} submissions in the gradebook")
            if reference is None:
                reference = scores
            elif scores != reference:
                differ += 1
                print(f"  {mode} {n}: scores differ from {args.modes[0]}'s")
            print(
                f"{mode:5} N={n:5}: {result['total']:7.1f} s in all "
                f"({n / result['total']:5.2f} submissions/s; start {result['start']:.1f} s, "
                f"grading {result['grading']:.1f} s = {n / result['grading']:.2f}/s, feedback "
                f"{result['feedback']:.1f} s, report {result['report']:.1f} s); instructor's peak "
                f"RSS {result['peak_mib']:.0f} MiB; load average {_load()}",
                flush=True,
            )
    small, large = min(args.sizes), max(args.sizes)
    if small != large:
        print(f"growth from N={small} to N={large} (x{large / small:g} submissions):")
        for mode in args.modes:
            a, b = results[mode, small], results[mode, large]
            print(
                f"  {mode:5}: time x{b['total'] / a['total']:.2f} (grading stage "
                f"x{b['grading'] / a['grading']:.2f}); instructor's peak RSS "
                f"x{b['peak_mib'] / a['peak_mib']:.2f} ({a['peak_mib']:.0f} -> "
                f"{b['peak_mib']:.0f} MiB)"
            )
    print(f"runs whose scores differ or are missing: {differ}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
