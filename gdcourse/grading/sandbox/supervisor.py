"""The supervisor of one submission: a process the student's code never runs in.

Forked by the host (:mod:`~gdcourse.grading.sandbox.host`) for each job, it

1. starts the student's process (:mod:`~gdcourse.grading.sandbox.processes`)
   in namespaces of its own (:mod:`~gdcourse.grading.sandbox.namespaces`);
2. asks it to run the notebook's code cells, then sends the cases one at a time
   and reads exactly one reply per request, matched by a random token. The student's
   process is sealed after its cells and answers each test's cases from a fork made for
   that test that never holds the reply channel (:mod:`~gdcourse.grading.sandbox.seal`);
   a write to the
   channel from there, a reply with another token, bytes beyond the one frame, a
   reply that arrives when nothing was asked: each is a channel violation that costs
   the test its points and sends the submission to a human;
3. between requests, kills every process the student's code left running but the
   test's own process, so nothing else outlives the request that started it;
4. watches the whole sandbox, not one process: the memory (proportional set
   size, plus its files in memory), CPU time and number of processes of every
   process in it, and the wall clock; the output is capped and a flood stops it;
5. restarts the student's process (running the cells again) after a test whose
   process had to be stopped, so that one endless loop costs only its own test;
6. reads, before it asks for the cells to run, what the student's process found when
   it compiled them: names in the notebook's code that reach around a ban
   (:func:`~gdcourse.grading.sandbox.fingerprints.evidence`), sent before any student
   code ran;
7. writes one JSON report, the only thing that goes back to the grader.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdcourse.grading.sandbox import seal, student
from gdcourse.grading.sandbox.frames import TOKEN_BYTES
from gdcourse.grading.sandbox.kinds import Status, Stop
from gdcourse.grading.sandbox.namespaces import PR_SET_CHILD_SUBREAPER
from gdcourse.grading.sandbox.processes import (
    Factory,
    HostContext,
    Stopped,
    Student,
    exit_reason,
)

__all__ = ["HostContext", "supervise"]


@dataclass
class _Test:
    name: str
    replies: list[str | None]
    stopped: str = ""
    stop: Stop = Stop.NONE
    shortcut: str = ""
    tamper: list[str] = field(default_factory=list)
    channel: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "test": self.name,
            "replies": self.replies,
            "stopped": self.stopped,
            "stop": self.stop.value,
            "shortcut": self.shortcut,
            "tamper": self.tamper,
            "channel": self.channel,
            "evidence": self.evidence,
        }


# ------------------------------------------------------------------------------- the job


def _read_line(fd: int) -> bytes:
    """One line of the job file (read byte-exact, so the next read starts after it)."""
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def supervise(context: HostContext, job_fd: int, write_report: Callable[[bytes], None]) -> None:
    """Run one job and write its report (the only output of a supervisor).

    The job file holds two JSON lines: the cells, limits and sets of bans, then the
    tests. The factory of student processes is forked between reading the two.
    """
    started = time.monotonic()
    os.lseek(job_fd, 0, os.SEEK_SET)
    head = json.loads(_read_line(job_fd))
    limits = head["limits"]
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    factory = Factory(context, head, job_fd)
    job = {**head, **json.loads(os.read(job_fd, 1 << 30))}
    os.close(job_fd)
    try:
        report = _run(context, factory, job, limits, started)
    finally:
        factory.close()
    found = report.pop("scan")
    for test, spec in zip(report["tests"], job["tests"], strict=False):
        evidence = found.get(",".join(sorted(spec["banned"])), [])
        test["evidence"] = [str(line)[:200] for line in evidence[:10]]
    write_report(json.dumps(report).encode())


def _first_frame(proc: Student, deadline: float) -> bytes:
    """The student's process's first frame (the scan's). Ending before it with
    :data:`~gdcourse.grading.sandbox.student.SETUP_FAILED` is the sandbox's failure (no
    student code has run): it is raised, and the job's report says the sandbox crashed."""
    try:
        return proc.await_reply(student.SCAN_TOKEN, deadline)
    except Stopped as stopped:
        status = stopped.exit_status
        if (
            status is not None
            and os.WIFEXITED(status)
            and os.WEXITSTATUS(status) == student.SETUP_FAILED
        ):
            raise RuntimeError(
                "the sandbox could not set up the student's process (namespaces, folders, "
                "limits or system-call filter) before any of the notebook's code ran"
            ) from None
        raise


def _scan(raw: bytes) -> dict[str, list[str]]:
    """The scan's frame (:data:`~gdcourse.grading.sandbox.student.SCAN_TOKEN`) as ban set ->
    evidence lines; anything malformed is no evidence."""
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        str(key): [line for line in lines if isinstance(line, str)]
        for key, lines in found.items()
        if isinstance(lines, list)
    }


def _run(
    context: HostContext,
    factory: Factory,
    job: Mapping[str, Any],
    limits: Mapping[str, Any],
    started: float,
) -> dict[str, Any]:
    wall_deadline = started + float(limits["wall_seconds"])
    tests = [_Test(str(t["test"]), [None] * len(t["cases"])) for t in job["tests"]]
    report: dict[str, Any] = {
        "status": Status.OK.value,
        "reason": "",
        "cells": None,
        "cell_problems": [],
        "attempts": 0,
        "isolated": context.isolated,
        "scan": {},
    }
    output = bytearray()
    output_bytes = 0
    next_test = 0
    timings = report["timings"] = {"start": 0.0, "cells": 0.0, "cases": 0.0, "close": 0.0}
    while next_test < len(tests) or report["attempts"] == 0:
        if time.monotonic() >= wall_deadline:
            for test in tests[next_test:]:
                if not test.stopped:
                    test.stop = Stop.NOT_RUN
                    seconds = float(limits["wall_seconds"])
                    test.stopped = f"not run: the submission's {seconds:g} s were used up"
            report["status"] = Status.TIMEOUT.value
            report["reason"] = f"wall-clock limit of {float(limits['wall_seconds']):g} s exceeded"
            break
        report["attempts"] += 1
        mark = time.monotonic()
        proc = Student(factory, limits, context.isolated)
        timings["start"] += time.monotonic() - mark
        try:
            next_test = _attempt(proc, job, tests, next_test, report, limits, wall_deadline)
        finally:
            mark = time.monotonic()
            late = proc.close()
            timings["close"] += time.monotonic() - mark
            if late and tests:
                tests[max(0, min(next_test, len(tests)) - 1)].channel.extend(late)
            output += proc.output_text[: max(0, int(limits["output_bytes"]) - len(output))]
            output_bytes += proc.output_bytes
            for kind, text in proc.take_evidence():
                where = min(next_test, len(tests)) - 1 if tests else None
                _attribute(tests, where, kind, text, report)
        if report["cells"] is None:
            break  # the cells did not finish: no test can run
    report["timings"] = {name: round(value, 4) for name, value in timings.items()}
    report["tests"] = [test.to_json() for test in tests]
    report["output"] = output.decode("utf-8", "replace")
    report["output_bytes"] = output_bytes
    report["seconds"] = time.monotonic() - started
    return report


def _attribute(
    tests: list[_Test], index: int | None, kind: str, text: str, report: dict[str, Any]
) -> None:
    if index is None or index < 0:
        report["cell_problems"].append(f"{'shortcut' if kind == 'S' else 'refused'}: {text}")
        return
    if kind == "S":
        tests[index].shortcut = tests[index].shortcut or text
    elif text not in tests[index].tamper:
        tests[index].tamper.append(text)


def _case_ended(
    proc: Student,
    tests: list[_Test],
    index: int,
    spec: Mapping[str, Any],
    status: int,
    report: dict[str, Any],
) -> None:
    """Record how a test's process ended without a result (the test's other cases are not
    asked; the student's process, sealed, goes on with the next test)."""
    reason, shortcut = exit_reason(Stopped("ended", exit_status=status))
    for kind, text in proc.take_evidence(settle=True):
        _attribute(tests, index, kind, text, report)
    test = tests[index]
    if shortcut and not test.shortcut:
        test.shortcut = "a banned shortcut"
    if not shortcut:
        test.stop = Stop.ENDED
        test.stopped = f"{spec['function']} {reason}"


def _attempt(
    proc: Student,
    job: Mapping[str, Any],
    tests: list[_Test],
    first: int,
    report: dict[str, Any],
    limits: Mapping[str, Any],
    wall_deadline: float,
) -> int:
    """Run the cells, then tests from ``first`` on; return the index of the next test to run."""
    token = secrets.token_hex(TOKEN_BYTES // 2).encode()
    cells_deadline = min(
        wall_deadline,
        time.monotonic() + float(limits["cell_seconds"]) * max(1, len(job["cells"])) + 5.0,
    )
    timings = report["timings"]
    mark = time.monotonic()
    try:
        # the scan's frame, written before any request (so before any student code ran)
        scan = _scan(_first_frame(proc, cells_deadline))
        if report["attempts"] == 1:
            report["scan"] = scan
        try:
            proc.send(student.OP_CELLS, token, b"", ())
        except OSError as error:  # ended before it read the request
            raise Stopped("ended", exit_status=proc.exit_status()) from error
        cells = proc.await_reply(token, cells_deadline)
    except Stopped as stopped:
        proc.kill()
        reason, _ = exit_reason(stopped)
        report["status"] = Status.CELLS_FAILED.value
        report["reason"] = f"the notebook's code cells {reason}"
        for test in tests[first:]:
            test.stop = Stop.NOT_RUN
            test.stopped = f"not run: the notebook's code cells {reason}"
        return len(tests)
    except ValueError as error:
        report["status"] = Status.CHANNEL.value
        report["reason"] = f"the reply channel was misused while the cells ran: {error}"
        for test in tests[first:]:
            test.channel.append(str(error))
        return len(tests)
    for kind, text in proc.take_evidence():
        _attribute(tests, None, kind, text, report)
    if report["cells"] is None:
        report["cells"] = cells[2:].decode("utf-8", "replace")
    with contextlib.suppress(OSError):  # gone already: its next reply will say so
        seal.mark_cells_over(proc.pid)
    proc.kill_strays()
    timings["cells"] += time.monotonic() - mark
    mark = time.monotonic()
    for index in range(first, len(tests)):
        spec = job["tests"][index]
        test = tests[index]
        deadline = min(wall_deadline, time.monotonic() + float(limits["probe_seconds"]))
        for number, case in enumerate(spec["cases"]):
            token = secrets.token_hex(TOKEN_BYTES // 2).encode()
            request = json.dumps(
                {
                    "assignment": job["assignment"],
                    "function": spec["function"],
                    "case": case,
                    "banned": list(spec["banned"]),
                }
            ).encode()
            if proc.stray_bytes():
                test.channel.append("bytes were written to the reply channel between requests")
                proc.buffer = b""
            operation = student.OP_TEST if number == 0 else student.OP_CASE
            proc.send(operation, token, request, spec["banned"])
            spare = None  # the test's process lives on between its cases
            try:
                raw = proc.await_reply(token, deadline)
                if raw[1:2] != b"\0":
                    test.channel.append("the graded call wrote to the reply channel")
                if raw[:1] == student.ENDED:  # the test's process ended without a result
                    status = int.from_bytes(raw[6:10], "big")
                    _case_ended(proc, tests, index, spec, status, report)
                    break
                spare = int.from_bytes(raw[2:6], "big")
                if raw[1:2] == b"\0":
                    test.replies[number] = raw[6:].decode("utf-8", "replace")
            except Stopped as stopped:
                proc.kill()  # the sealed process too: it would report its case's end late
                reason, shortcut = exit_reason(stopped)
                for kind, text in proc.take_evidence(settle=True):
                    _attribute(tests, index, kind, text, report)
                if shortcut and not test.shortcut:
                    test.shortcut = "a banned shortcut"
                if not shortcut:
                    if stopped.kind is Stop.TIMEOUT:
                        reason = f"did not return within {float(limits['probe_seconds']):g} s"
                    test.stop = stopped.kind
                    test.stopped = f"{spec['function']} {reason}"
                timings["cases"] += time.monotonic() - mark
                return index + 1
            except ValueError as error:
                test.channel.append(str(error))
                proc.buffer = b""
            finally:
                proc.kill_strays(spare=spare)
            for kind, text in proc.take_evidence():
                _attribute(tests, index, kind, text, report)
    timings["cases"] += time.monotonic() - mark
    return len(tests)
