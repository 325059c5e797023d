"""What makes a sandbox job cheaper without changing what it guarantees (issue 17, speed).

* the host's heap in 2 MiB pages (``linux.collapse_heap``), so that its forks copy fewer
  page-table entries;
* a case's profile function made once per set of bans in the sealed process, and still
  nothing in it that a case's own code could change;
* one process per test, not per case: a fresh fork of the sealed process answers the
  test's cases one after the other; no other test sees what its cases left behind;
* a process that has ended (the last test's, not yet reaped) is not waited for between
  cases, and one still running is killed (but the test's own process).

The costs themselves are measured by ``benchmarks/throughput.py`` (README, Performance).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.sandboxes import ADD, job, make_sandbox, output

from gdcourse.grading.sandbox import TestRequest, linux, processes
from gdcourse.grading.sandbox.health import all_descendants, is_host

ROOT = Path(__file__).resolve().parent.parent


def _thp_mode() -> str:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return "never"
    return text.split("[", 1)[1].split("]", 1)[0] if "[" in text else "never"


def _anon_huge_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------ huge pages


def test_collapse_heap_only_touches_private_writable_anonymous_memory():
    maps = "\n".join(
        [
            "00400000-00a00000 r-xp 00000000 08:01 1 /usr/bin/python3",  # code
            "00c00000-01000000 rw-p 00000000 08:01 1 /usr/lib/libx.so",  # a file's data
            "7f0000000000-7f0000400000 rw-s 00000000 00:01 2 /dev/shm/x",  # shared
            "7f0000600000-7f0000700000 rw-p 00000000 00:00 0",  # under 2 MiB
        ]
    )
    assert linux.collapse_heap(maps) == 0


def test_collapse_heap_backs_this_process_with_huge_pages():
    """In a process of its own: a 64 MiB anonymous region written page by page."""
    code = (
        "import json, mmap, sys\n"
        "from gdcourse.grading.sandbox import linux\n"
        "region = mmap.mmap(-1, 64 << 20)\n"
        "for i in range(0, 64 << 20, 4096): region[i] = 1\n"
        "def huge():\n"
        "    for line in open('/proc/self/smaps_rollup'):\n"
        "        if line.startswith('AnonHugePages:'): return int(line.split()[1]) << 10\n"
        "before = huge()\n"
        "done = linux.collapse_heap(open('/proc/self/maps').read())\n"
        "print(json.dumps([before, done, huge(), region[4096 * 7]]))\n"
    )
    # an anonymous mmap of a Python mmap object is rw-s (shared): use the heap instead
    code = code.replace("region = mmap.mmap(-1, 64 << 20)", "region = bytearray(64 << 20)")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    before, done, after, value = json.loads(result.stdout)
    assert value == 1  # the contents are the same
    if _thp_mode() == "never":
        assert done == 0 and after == before
    else:
        assert done >= 32 << 20, result.stdout
        assert after - before >= 32 << 20, result.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="reads the host's memory map from outside")
def test_the_sandbox_host_holds_its_libraries_in_huge_pages():
    with make_sandbox() as box:
        result = box.run(job(ADD))
        assert result.status == "ok"
        assert box._process is not None
        # bwrap's command line names the host too; the host's memory is the largest
        hosts = [pid for pid in all_descendants(box._process.pid) if is_host(pid)]
        assert hosts
        huge = max(_anon_huge_kib(pid) for pid in hosts)
    if _thp_mode() == "never":
        assert huge == 0
    else:
        assert huge >= 16 << 10, huge  # at least 16 MiB of NumPy's and torch's heap


# ------------------------------------------------------------------ a case's ban


_BAN_SCRIPT = r"""
import json, os, sys, types
import torch, torch.optim
from gdcourse.grading import shortcuts
from gdcourse.grading.sandbox import fingerprints, guard

regions = fingerprints.with_native(shortcuts.resolve_all())
read, write = os.pipe()
intact, ban, make_ban = guard.arm(regions, write, copies=fingerprints.of(regions))
profile = make_ban(frozenset({"torch.optim", "torch.nn"}))
again = make_ban(frozenset({"torch.optim", "torch.nn"}))

def mutable(value, seen=()):
    if id(value) in seen:
        return []
    seen = (*seen, id(value))
    if isinstance(value, (dict, list, set, bytearray)):
        return [type(value).__name__]
    if isinstance(value, (tuple, frozenset)):
        return [kind for item in value for kind in mutable(item, seen)]
    if isinstance(value, types.FunctionType) and value.__code__.co_filename == guard.__file__:
        return [kind for item in (value.__defaults__ or ()) for kind in mutable(item, seen)]
    return []

report = {
    "mutable": mutable(profile),
    "same_code": profile.__code__ is again.__code__,
    "refuses_a_stranger": ban(lambda frame, event, arg: None),
    "still_the_watch": intact(),
    "installs": ban(profile),
}
report["profile_is_the_ban"] = sys.getprofile() is profile
print(json.dumps(report), flush=True)
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
print("not stopped", flush=True)
"""


def test_a_cases_ban_is_made_by_the_guard_and_holds_nothing_mutable():
    result = subprocess.run(
        [sys.executable, "-c", _BAN_SCRIPT], capture_output=True, text=True, cwd=ROOT
    )
    lines = result.stdout.splitlines()
    report = json.loads(lines[0])
    assert report == {
        "mutable": [],
        "same_code": True,
        "refuses_a_stranger": False,
        "still_the_watch": True,
        "installs": True,
        "profile_is_the_ban": True,
    }
    # the banned optimizer ended the process before it could print
    assert result.returncode == 86, result.stderr[-2000:]
    assert "not stopped" not in result.stdout


# ------------------------------------------------------------------ strays between cases


_STUDENT = r"""
import os, sys, time
ended = os.fork()
if ended == 0:
    os._exit(0)
os.waitid(os.P_PID, ended, os.WEXITED | os.WNOWAIT)  # ended, never reaped: a zombie
if sys.argv[1] == "running" and os.fork() == 0:
    while True:
        time.sleep(1)
print("ready", flush=True)
time.sleep(60)
"""


def _kill_strays_of(kind: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """A stand-in for a sealed student process with an ended child (and, for ``running``,
    a child still running); kill its strays; return the listings made and its children."""
    listings: list[int] = []
    real = processes._descendants

    def counted(pid: int) -> list[int]:
        listings.append(pid)
        return real(pid)

    monkeypatch.setattr(processes, "_descendants", counted)
    process = subprocess.Popen(
        [sys.executable, "-c", _STUDENT, kind], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        children = all_descendants(process.pid)
        student = object.__new__(processes.Student)
        student.pid = process.pid
        student.kill_strays()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            processes.state(pid) not in ("Z", "X", "") for pid in children
        ):
            time.sleep(0.01)
        assert all(processes.state(pid) in ("Z", "X", "") for pid in children)
        return listings, children
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_an_ended_case_is_not_waited_for(monkeypatch):
    listings, children = _kill_strays_of("ended", monkeypatch)
    assert len(children) == 1
    assert len(listings) == 1  # one look: the zombie is neither killed nor waited for


def test_a_running_stray_is_killed_between_cases(monkeypatch):
    listings, children = _kill_strays_of("running", monkeypatch)
    assert len(children) == 2
    assert len(listings) == 2  # killed, then one more look for what it might have forked


# ------------------------------------------------------------------ one process per test

STATEFUL = """
import os
calls = []
def add(a, b):
    calls.append(a)
    if a == 7:
        if os.fork() == 0:  # left behind by the call: killed before the next case
            import time
            time.sleep(60)
    return [os.getpid(), len(calls)]
"""


def test_a_tests_cases_share_its_process_and_no_other_test_sees_what_they_left():
    tests = [
        TestRequest("first", "add", [{"a": i, "b": 0} for i in (1, 7, 3)]),
        TestRequest("second", "add", [{"a": 9, "b": 0}, {"a": 8, "b": 0}]),
    ]
    with make_sandbox() as box:
        result = box.run(job(STATEFUL, tests=tests))
    assert result.status == "ok", result
    first = [output(result, 0, case) for case in range(3)]
    second = [output(result, 1, case) for case in range(2)]
    # one process answers a test's cases, in order, and keeps what they left (a list here)
    assert [count for _, count in first] == [1, 2, 3], first
    assert len({pid for pid, _ in first}) == 1, first
    # the next test starts again from the sealed process: nothing of the first test is in it
    assert [count for _, count in second] == [1, 2], second
    assert len({pid for pid, _ in second}) == 1 and second[0][0] != first[0][0], second
    assert not any(outcome.channel or outcome.stopped for outcome in result.tests), result


ONCE_AT_THE_CHANNEL = """
import os, sys
def add(a, b):
    if a == 1:  # the first case writes to what led to the reply channel: the trap
        frame = sys._getframe(1)
        while frame is not None and "reply_fd" not in frame.f_locals:
            frame = frame.f_back
        os.write(frame.f_locals["reply_fd"], b"x" * 5000)
    return a + b
"""


def test_a_write_to_the_channel_costs_its_own_case_only():
    """The trap outlives the case in the test's process: what the first case wrote there is
    read in full, and the test's next cases are not taken for writers."""
    tests = [TestRequest("t", "add", [{"a": 1, "b": 0}, {"a": 2, "b": 0}, {"a": 3, "b": 0}])]
    with make_sandbox() as box:
        result = box.run(job(ONCE_AT_THE_CHANNEL, tests=tests))
    outcome = result.tests[0]
    assert outcome.channel == ("the graded call wrote to the reply channel",), result
    assert outcome.replies[0] is None  # the writer's own reply is void
    assert [output(result, 0, case) for case in (1, 2)] == [2, 3], result


def test_a_reply_at_the_size_limit_comes_back_whole():
    """A result of exactly ``reply_bytes`` is a reply, not a frame too large for the channel
    (the frame adds the token, the kind, the violation byte and the pid)."""
    code = "def add(a, b):\n    return 'x' * a\n"
    with make_sandbox() as box:
        small = box.run(job(code, tests=[TestRequest("t", "add", [{"a": 10, "b": 0}])]))
        base = len(small.tests[0].replies[0] or "")
        assert base > 10, small
        cap = 4096
        case = {"a": 10 + cap - base, "b": 0}
        result = box.run(job(code, tests=[TestRequest("t", "add", [case])], reply_bytes=cap))
    outcome = result.tests[0]
    assert not outcome.channel, result
    assert len(outcome.replies[0] or "") == cap, result
    assert output(result) == "x" * case["a"]


# ------------------------------------------------------------------ fewer processes per job


def _status(pid: int) -> dict[str, list[str]]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return fields


SLEEPS_IN_ITS_CELL = "import time\ntime.sleep(3)\n" + ADD


def test_the_students_process_is_the_supervisors_own_child_and_pid_1():
    """The factory clones the student's process straight into its namespaces as the
    supervisor's child: no helper process, no middle process, between them."""
    import threading

    with make_sandbox() as box:
        assert box._process is not None
        done: list[object] = []
        runner = threading.Thread(target=lambda: done.append(box.run(job(SLEEPS_IN_ITS_CELL))))
        runner.start()
        try:
            student = None
            deadline = time.monotonic() + 20
            while student is None and time.monotonic() < deadline:
                tree = all_descendants(box._process.pid, limit=1000)
                levels = {}
                for pid in tree:
                    try:
                        levels[pid] = len(_status(pid)["NSpid"])
                    except OSError:
                        continue
                deepest = max(levels.values(), default=0)
                found = [pid for pid, level in levels.items() if level == deepest]
                if (
                    len(found) == 1
                    and deepest >= 2
                    and levels.get(int(_status(found[0])["PPid"][0]), 0) == deepest - 1
                ):
                    student = found[0]
                else:
                    time.sleep(0.05)
            assert student is not None, "no student process was found in the sandbox"
            assert _status(student)["NSpid"][-1] == "1"  # PID 1 of its own namespace
            supervisor = int(_status(student)["PPid"][0])
            assert is_host(supervisor)  # a fork of the host, outside the student's namespace
            children = [pid for pid in levels if _status(pid)["PPid"] == [str(supervisor)]]
            # the supervisor's children: the factory and the student's process, nothing else
            assert student in children and len(children) == 2, children
        finally:
            runner.join(60)
    assert done and getattr(done[0], "status", None) == "ok", done


FORGES_AN_EMPTY_SCAN = """
import os, torch
for fd in range(3, 64):  # every descriptor: the reply channel is one of them
    body = bytes(32) + b"{}"
    try:
        os.write(fd, len(body).to_bytes(4, "big") + body)
    except OSError:
        pass
def add(a, b):
    x = torch.tensor(float(a), requires_grad=True)
    return float(x.grad_fn is None) + b
"""


def test_the_scan_is_read_before_any_student_code_runs():
    """What the cells name is sent by the student's process before the first cell runs; a
    cell that forges the scan's frame is a channel violation and removes no evidence."""
    from gdcourse.grading.sandbox import student
    from gdcourse.grading.sandbox.frames import TOKEN_BYTES

    assert bytes(TOKEN_BYTES) == student.SCAN_TOKEN
    tests = [TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=["torch.autograd"])]
    with make_sandbox() as box:
        result = box.run(job(FORGES_AN_EMPTY_SCAN, tests=tests))
    assert result.status == "channel", result
    assert any("grad_fn" in line for line in result.tests[0].evidence), result


@pytest.mark.parametrize("call", ["clone3", "clone"])
def test_clone_process_makes_a_child_in_new_namespaces(call, monkeypatch):
    """``clone3``, and the older ``clone`` where ``clone3`` is refused (ENOSYS: an older
    kernel, a container's seccomp profile): a child in new user and PID namespaces, PID 1
    there, whose exit status this process reads."""
    if call == "clone":
        monkeypatch.setattr(linux, "_SYS_CLONE3", 1023)  # no such system call: ENOSYS
    read, write = os.pipe()
    pid = linux.clone_process(linux.CLONE_NEWUSER | linux.CLONE_NEWPID, sibling=False)
    if pid == 0:
        os.write(write, str(os.getpid()).encode())
        os._exit(7)
    os.close(write)
    inside = os.read(read, 16)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    assert inside == b"1" and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7


@pytest.mark.parametrize("master", sorted((ROOT / "solutions").glob("*/*.ipynb")), ids=str)
def test_the_bans_a_student_process_sees_are_the_visible_tests_own(master):
    """The job's head, which the student's process can read, names every set of bans (its
    cells are scanned for them): no set may belong to hidden tests alone, or the head would
    tell what a hidden test checks."""
    from gdcourse.grading.autograde import run
    from gdcourse.grading.autograde.master import read_master
    from gdcourse.grading.sandbox import Limits

    job, _ = run.make_job(json.loads(master.read_text()), read_master(master), Limits())
    head = json.loads(job.to_json().splitlines()[0])
    visible = {",".join(sorted(t.banned)) for t in job.tests if t.test.endswith("_visible")}
    assert set(head["bans"]) <= visible, (master.name, set(head["bans"]) - visible)
    assert not any("case" in key or "tests" in key for key in head), sorted(head)
