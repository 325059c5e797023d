"""``gdcourse grade`` end to end against its floor: 1,000 ps4 submissions, core time per stage.

Builds a course holding the ``ps4_autograd`` master and N generated submissions (the
mix of ``benchmarks/grading.py``: correct, wrong, untouched and broken ones, some not
even JSON), then, on this machine, in this one run:

1. **grade**: ``gdcourse grade ps4_autograd --workers W`` in a process of its own
   (feedback, the CSV and the report included). Its core time (user + system) is
   that of the process and of everything it started: the sandboxes, the feedback
   processes, nbgrader's tools. As root the process runs in a cgroup of its own
   (cgroup v1 ``cpuacct``), which counts every descendant whether reaped or not;
   elsewhere ``wait4``'s resource usage counts those reaped. Inside the process each
   stage of the instructor's side is timed on its own thread clock (read and
   sanitize, prepare, judge, record, feedback, CSV and report); the rest of the
   core is the sandboxes' (and the threads that talk to them).
2. **floor**: the same cells and checks run in a warm interpreter (NumPy, torch and
   the checks imported first): for each distinct submission, its code cells and the
   master's test cells (hidden tests included) are executed in one namespace,
   errors caught per cell, timed on the process clock, five times before the grading
   run and five times after it (the machine's other work comes and goes: one sample of
   three once read twice another's); a text's floor is the median of its ten runs, the
   floor per submission the mean over the N submissions.
3. **re-run**: one submission is changed (a wrong one made correct), and the same
   command runs again: it must grade that one only, and rewrite that student's
   autograded notebook and feedback page only (every other page keeps its bytes
   and its modification time).

Prints submissions per second, the core time per submission against the floor (and
their ratio), each stage's share, the re-run's figures and the load average.
Targets (issue 17, on the 2-core machine): >= 8 submissions/s, <= 2x the floor, a
re-run that rewrites only the changed submission. Run from the repository root::

    .venv/bin/python benchmarks/throughput.py [--submissions 1000] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from grading import ASSIGNMENT, ROOT, _course, _master, _scores, submissions

CGROUP = Path("/sys/fs/cgroup/cpuacct")
STAGES = ("read", "prepare", "judge", "record", "feedback", "report")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- in the measured process -------------------------------------------------------------


def _grade_here(course: Path, workers: int, out: Path) -> int:
    """Grade ``course`` here, each instructor-side stage on a thread clock; write the figures."""
    sys.path.insert(0, str(ROOT))
    import gdcourse.grading.autograde.run as run
    import gdcourse.grading.cli as cli
    import gdcourse.grading.export as export
    import gdcourse.grading.feedback.generate as generate
    import gdcourse.grading.recording as recording
    import gdcourse.grading.report as report
    import gdcourse.grading.stream as stream

    spent = dict.fromkeys(STAGES, 0.0)
    children = {"feedback": 0.0}

    def timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[stage] += time.thread_time() - start

        return wrapper

    def forked(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            try:
                return function(*args, **kwargs)
            finally:
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                children["feedback"] += (after.ru_utime - before.ru_utime) + (
                    after.ru_stime - before.ru_stime
                )

        return wrapper

    stream.read_student = timed("read", stream.read_student)  # type: ignore[assignment]
    run.prepare = timed("prepare", run.prepare)  # type: ignore[assignment]
    run.judge_result = timed("judge", run.judge_result)  # type: ignore[assignment]
    recording.Recorder.record = timed("record", recording.Recorder.record)  # type: ignore[method-assign]
    recording.Recorder.refuse = timed("record", recording.Recorder.refuse)  # type: ignore[method-assign]
    # each hook where the name is looked up when called (the module that defines it)
    generate.write_feedback = timed("feedback", forked(generate.write_feedback))
    export.export_grades = timed("report", export.export_grades)
    report.write_report = timed("report", report.write_report)
    code = cli.grade_command(ASSIGNMENT, workers=workers, root=course)
    me = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        "code": code,
        "self": me.ru_utime + me.ru_stime,
        "stages": spent,
        "feedback_children": children["feedback"],
    }
    out.write_text(json.dumps(figures))
    return code


def _parts_here(out: Path) -> int:
    """In a cgroup of its own: what a fork and what a sandbox job cost, apart (core ms)."""
    import gc

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests"))
    from support.sandboxes import ADD, job, make_sandbox

    from gdcourse.grading.sandbox import TestRequest

    group = Path(os.environ["THROUGHPUT_CGROUP"]) if os.environ.get("THROUGHPUT_CGROUP") else None

    def core() -> float:
        if group is not None:
            return int((group / "cpuacct.usage").read_text()) / 1e9
        mine = resource.getrusage(resource.RUSAGE_SELF)
        theirs = resource.getrusage(resource.RUSAGE_CHILDREN)
        return mine.ru_utime + mine.ru_stime + theirs.ru_utime + theirs.ru_stime

    import numpy  # noqa: F401
    import torch  # noqa: F401

    from gdcourse.grading.sandbox import linux

    gc.freeze()
    figures: dict[str, float] = {}
    for name in ("fork", "fork_huge"):
        if name == "fork_huge":  # as the sandbox host does once it has imported everything
            with open("/proc/self/maps", encoding="ascii") as maps:
                linux.collapse_heap(maps.read())
        start = core()
        for _ in range(40):
            pid = os.fork()
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
        figures[name] = (core() - start) / 40
    sandbox = make_sandbox(isolation=True)
    try:
        sandbox.run(job(ADD))
        for cases in (1, 8):
            tests = [TestRequest("test_add", "add", [{"a": i, "b": 2} for i in range(cases)])]
            start = core()
            for _ in range(10):
                sandbox.run(job(ADD, tests=tests))
            figures[f"job_{cases}"] = (core() - start) / 10
    finally:
        sandbox.close()
    out.write_text(json.dumps(figures))
    return 0


def _parts() -> dict[str, float]:
    out = Path(os.environ.get("TMPDIR", "/tmp")) / f"throughput-parts-{os.getpid()}.json"
    with _cgroup() as group:
        env = {**os.environ, "THROUGHPUT_CGROUP": str(group) if group else ""}
        subprocess.run(
            [sys.executable, __file__, "--parts", str(out)], check=True, env=env,
            capture_output=True,
            preexec_fn=(lambda: (group / "cgroup.procs").write_text("0")) if group else None,
        )  # fmt: skip
    figures: dict[str, float] = json.loads(out.read_text())
    out.unlink()
    return figures


# --- the driver ----------------------------------------------------------------------------


@contextlib.contextmanager
def _cgroup() -> Iterator[Path | None]:
    """A fresh cpuacct cgroup (as root, where cgroup v1's cpuacct is mounted), or ``None``."""
    if os.geteuid() != 0 or not (CGROUP / "cgroup.procs").exists():
        yield None
        return
    group = CGROUP / f"gdcourse-throughput-{os.getpid()}"
    try:
        group.mkdir()
    except OSError:
        yield None
        return
    try:
        yield group
    finally:
        for _ in range(50):  # the group can be removed once its last process is gone
            try:
                group.rmdir()
                break
            except OSError:
                time.sleep(0.1)


def _grade(course: Path, workers: int) -> dict[str, Any]:
    """Run the measured process; its wall time, core time and stage figures."""
    out = course / ".throughput.json"
    command = [sys.executable, __file__, "--grade", str(course), "--workers", str(workers)]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with _cgroup() as group:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            preexec_fn=(lambda: (group / "cgroup.procs").write_text("0")) if group else None,
        )  # fmt: skip
        stdout, stderr = process.communicate()
        wall = time.perf_counter() - started
        core_cgroup = None
        if group is not None:
            core_cgroup = int((group / "cpuacct.usage").read_text()) / 1e9
    if process.returncode not in (0, 1) or not out.exists():
        raise SystemExit(f"{' '.join(command)} failed:\n{stdout[-3000:]}{stderr[-3000:]}")
    figures = json.loads(out.read_text())
    out.unlink()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reaped = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    figures.update(
        wall=wall,
        core_cgroup=core_cgroup,
        summary=next(
            (line for line in stderr.splitlines() if line.startswith("Graded ")), "(no summary)"
        ),
        stderr=stderr,
        children_total=reaped,
    )
    return figures


def _floor(
    master: dict[str, Any], texts: dict[str, str], repeat: int = 5
) -> dict[str, list[float]]:
    """Core seconds (process clock) of each distinct text's cells and checks, warm: one
    list of ``repeat`` runs per text."""
    import warnings

    sys.path.insert(0, str(ROOT))
    import numpy  # noqa: F401
    import torch  # noqa: F401

    from gdcourse.grading import check  # noqa: F401

    tests = [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in master["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
    ]
    seconds: dict[str, list[float]] = {}
    for text in sorted(set(texts.values())):
        runs = []
        for _ in range(repeat):
            start = time.process_time()
            try:
                notebook = json.loads(text)
            except ValueError:
                runs.append(time.process_time() - start)
                continue
            cells = [
                "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                for c in notebook["cells"]
                if c.get("cell_type") == "code"
                and not c["metadata"].get("nbgrader", {}).get("grade")
            ]
            namespace: dict[str, Any] = {"__name__": "__main__"}
            with warnings.catch_warnings(), contextlib.redirect_stdout(None):  # type: ignore[type-var]
                warnings.simplefilter("ignore")
                for source in [*cells, *tests]:
                    try:
                        exec(compile(source, "<cell>", "exec"), namespace)
                    except BaseException as error:
                        if isinstance(error, KeyboardInterrupt):
                            raise
            runs.append(time.process_time() - start)
        seconds[text] = runs
    return seconds


def _pages(course: Path) -> dict[str, tuple[int, bytes]]:
    """Every feedback page and autograded notebook: path -> (modification time, bytes)."""
    found = {}
    for folder in ("feedback", "autograded"):
        for path in sorted((course / folder).rglob("*")):
            if path.is_file() and path.suffix in (".html", ".ipynb"):
                found[str(path.relative_to(course))] = (path.stat().st_mtime_ns, path.read_bytes())
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / "benchmarks" / "_work" / "throughput"
    )
    parser.add_argument("--grade", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parts", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.grade is not None:
        return _grade_here(args.grade, args.workers, args.grade / ".throughput.json")
    if args.parts is not None:
        return _parts_here(args.parts)
    if args.submissions < 2 or args.workers < 1:
        raise SystemExit("--submissions must be >= 2 and --workers >= 1")
    master_path = _master()
    master = json.loads(master_path.read_text())
    subs = submissions(master, args.submissions)
    course = args.workdir / f"ps4_{args.submissions}"
    _course(course, (ROOT / "nbgrader_config.py").read_text(), master_path, subs)
    n = len(subs)
    print(
        f"{os.cpu_count()} cores; {n} submissions; {args.workers} sandboxes; "
        f"load average at start {_load()}",
        flush=True,
    )

    texts = {s: text for s, (text, _) in subs.items()}
    floor_before = _floor(master, texts)
    first = _grade(course, args.workers)
    load_after = _load()
    core = first["core_cgroup"] if first["core_cgroup"] is not None else first["children_total"]
    how = "cgroup cpuacct" if first["core_cgroup"] is not None else "wait4 rusage"
    floor_after = _floor(master, texts)

    def mean_floor(*halves: dict[str, list[float]]) -> float:
        """Over the submissions, the median of each one's runs in ``halves``."""
        return statistics.fmean(
            statistics.median([run for half in halves for run in half[text]])
            for text, _ in subs.values()
        )

    floor_mean = mean_floor(floor_before, floor_after)
    spread = (mean_floor(floor_before), mean_floor(floor_after))
    per = core / n
    print(first["summary"])
    print(
        f"end to end: {first['wall']:.1f} s, {n / first['wall']:.2f} submissions/s "
        f"(target >= 8); load average after {load_after}"
    )
    print(
        f"core per submission: {per * 1000:.0f} ms ({how}; whole run {core:.1f} s) against "
        f"the floor {floor_mean * 1000:.0f} ms: {per / floor_mean:.2f}x (target <= 2x; the "
        f"floor before and after grading {spread[0] * 1000:.0f} and {spread[1] * 1000:.0f} ms)"
    )
    stages = first["stages"]
    named = {
        "read and sanitize": stages["read"],
        "prepare jobs": stages["prepare"],
        "judge": stages["judge"],
        "record (nbgrader autograde, gradebook)": stages["record"],
        "feedback (instructor's side)": stages["feedback"],
        "feedback processes": first["feedback_children"],
        "CSV and report": stages["report"],
    }
    instructor = first["self"]
    rest = core - instructor - first["feedback_children"]
    print("where the core goes (ms per submission):")
    for name, seconds in named.items():
        print(f"  {name:40} {seconds / n * 1000:7.1f}")
    other = instructor - sum(stages.values())
    print(f"  {'instructor: start, threads, the rest':40} {other / n * 1000:7.1f}")
    print(f"  {'sandboxes (and other children)':40} {rest / n * 1000:7.1f}")

    parts = _parts()
    per_case = (parts["job_8"] - parts["job_1"]) / 7
    print(
        "the sandbox's parts (core ms; a trivial job of 1 and of 8 cases of one test, in the "
        f"same run): a job {parts['job_1'] * 1000 - per_case * 1000:.0f} + "
        f"{per_case * 1000:.0f} per case; one fork and exit of an interpreter holding NumPy and "
        f"torch {parts['fork'] * 1000:.1f}, {parts['fork_huge'] * 1000:.1f} with its heap in "
        "2 MiB pages"
    )

    # the re-run after one submission changed
    before = _pages(course)
    changed = next(s for s in subs if s.endswith("_wrong"))
    correct = next(text for s, (text, _) in subs.items() if s.endswith("_correct"))
    (course / "submitted" / changed / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_text(correct)
    again = _grade(course, args.workers)
    after = _pages(course)
    rewritten = sorted(p for p in after if before.get(p) != after[p])
    gone = sorted(set(before) - set(after))
    expected = {
        f"autograded/{changed}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
        f"feedback/{changed}/{ASSIGNMENT}/{ASSIGNMENT}.html",
    }
    print(f"re-run after {changed} changed: {again['wall']:.1f} s; {again['summary']}")
    print(f"  files rewritten: {len(rewritten)} ({', '.join(rewritten) or 'none'})")
    scores = _scores(course)
    full = sum(float(v or 0) for v in scores[changed].values())
    ok = set(rewritten) == expected and not gone and "Graded 1 submission " in again["summary"]
    verdict = "yes" if ok else "NO"
    print(f"  only the changed one regraded and rewritten: {verdict}; its score {full:g}")
    print(f"load average at the end {_load()}")
    if os.environ.get("THROUGHPUT_KEEP") is None:
        shutil.rmtree(course, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
