"""The sandbox on its own: isolation by allow-list, whole-sandbox limits, the reply channel,
the shortcut guard, and nothing of the cases in the student's process.

One host with NumPy and torch and a generic probe (tests/support/sandbox_probes.py)
serves these tests; tests/test_grading.py runs the course's real probes end to end.
Where the machine can isolate (bubblewrap and user namespaces, as in CI), every test
runs isolated; as root, the host runs as nobody (gdcourse.grading.sandbox.stage).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path

import pytest
from support.sandboxes import ADD, job, make_sandbox, output

from gdcourse.grading.sandbox import (
    IsolationUnavailable,
    Limits,
    Status,
    Stop,
    TestRequest,
    linux,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def sandbox():
    with make_sandbox() as box:
        yield box


# ------------------------------------------------------------------ basics


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="cpu_seconds must be > 0, got 0"):
        Limits(cpu_seconds=0)


def test_plain_data_comes_back_and_cell_errors_are_recorded(sandbox):
    result = sandbox.run(job(ADD, "%matplotlib inline\nprint('hello')", "1 / 0", "!ls /"))
    assert result.status == "ok" and result.isolated
    assert output(result) == 3
    assert "hello" in result.output
    errors = json.loads(result.cells)["errors"]
    assert [index for index, _ in errors] == [2]
    assert errors[0][1].startswith("ZeroDivisionError")


def test_a_missing_function_is_reported(sandbox):
    result = sandbox.run(job("x = 1"))
    assert json.loads(result.tests[0].replies[0]) == {"missing": "add is not defined"}


def test_sandboxes_run_in_parallel(sandbox):
    """Three jobs' one-second sleeps overlap in time (each job says when its sleep began and
    ended, by the machine's clock): the sandboxes run side by side, however loaded the machine
    is (a bound on the total time failed on a busy one)."""
    results = []
    clock = "import time\nT0 = time.time()\ntime.sleep(1)\nT1 = time.time()"
    when = "def add(a, b):\n    return [T0, T1]\n"

    def one() -> None:
        results.append(sandbox.run(job(when, clock)))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    spans = [output(r) for r in results]
    assert all(end - start >= 1.0 for start, end in spans), spans
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans  # overlap


# ------------------------------------------------------------------ isolation


def test_student_code_sees_an_allow_list_of_the_machine(sandbox, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("gradebook")
    probe = f"""
import os, socket
def add(a, b):
    found = {{
        "uid": os.getuid(),
        "root": sorted(os.listdir("/")),
        "course": sorted(os.listdir({str(ROOT)!r})) if os.path.isdir({str(ROOT)!r}) else None,
        "secret": os.path.exists({str(secret)!r}),
        "proc": os.listdir("/proc"),
        "masters": os.path.exists({str(ROOT / "solutions")!r}),
        "specs": os.listdir({str(ROOT / "gdcourse" / "grading" / "specs")!r}),
    }}
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=1)
        found["net"] = "connected"
    except OSError as error:
        found["net"] = error.errno
    for path in ("/usr/x", {str(ROOT / "x")!r}, "/etc/x"):
        try:
            open(path, "w")
            found[path] = "written"
        except OSError:
            pass
    return found
"""
    found = output(sandbox.run(job(probe)))
    assert found["uid"] != 0
    # the package and the Python installation, and this test's probe (tests/support): no more
    assert set(found["course"]) <= {"gdcourse", ".venv", "tests"}
    assert not found["secret"] and not found["masters"]
    assert found["specs"] == [], "the judge's references must not be readable"
    assert found["proc"] == []
    assert found["net"] == 101  # ENETUNREACH: no network at all
    # a checkout under /tmp lies in the student's private /tmp: a write there is private
    private = str(ROOT).startswith(("/tmp/", "/var/tmp/", "/dev/shm/", "/run/"))
    written = {path for path, value in found.items() if value == "written"}
    assert written <= ({str(ROOT / "x")} if private else set()), written
    assert not (ROOT / "x").exists(), "nothing written in the sandbox survives"
    # the system folders, and the top folders of what the sandbox binds: the course checkout
    # (CI clones it under /check, a developer under /work or /home) and the Python installation
    bound = {ROOT, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    tops = {path.parts[1] for path in bound if len(path.parts) > 1}
    system = {"bin", "dev", "etc", "lib", "lib64", "proc", "root", "sbin", "tmp", "usr"}
    system |= {"home", "opt", "run", "var"}
    assert set(found["root"]) <= system | tops, set(found["root"]) - system - tops


def test_nothing_written_survives_the_run(sandbox):
    marker = f"gdcourse-test-{os.getpid()}"
    write = f"""
import os
for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock", "."):
    try:
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, {marker!r}), "w") as f:
            f.write("x")
    except OSError:
        pass
{ADD}"""
    check = f"""
import os
def add(a, b):
    return [f for f in ("/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock", ".")
            if os.path.exists(os.path.join(f, {marker!r}))]
"""
    assert output(sandbox.run(job(write))) == 3
    assert output(sandbox.run(job(check))) == []
    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run", "/run/lock"):
        assert not os.path.exists(os.path.join(folder, marker))


def test_without_bubblewrap_grading_refuses_and_says_what_to_do(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(IsolationUnavailable, match="apt-get install bubblewrap.*--no-isolation"):
        make_sandbox().start()


def test_without_isolation_the_guard_and_limits_still_hold():
    with make_sandbox(isolation=False) as box:
        result = box.run(job(ADD, "import os\nprint(os.getpid())"))
        assert output(result) == 3 and not result.isolated
        loop = box.run(job("def add(a, b):\n    while True: pass", probe_seconds=1.0))
        assert "did not return within 1 s" in loop.tests[0].stopped


# ------------------------------------------------------------------ limits of the whole sandbox


def test_a_fork_bomb_is_bounded_for_the_whole_sandbox(sandbox):
    bomb = """
import os, time
children = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(20)
        os._exit(0)
    children += 1
def add(a, b):
    return children
"""
    assert output(sandbox.run(job(bomb, processes=16))) < 16


def test_memory_is_limited_for_the_whole_sandbox_not_per_process(sandbox):
    hog = """
import os, time
import numpy as np
for _ in range(4):
    if os.fork() == 0:
        block = np.ones(200 * 2**20 // 8)  # 200 MB each: under the limit one by one
        time.sleep(30)
        os._exit(0)
time.sleep(10)
"""
    result = sandbox.run(job(ADD, hog, memory_bytes=400 << 20, cell_seconds=20.0))
    assert result.status is Status.CELLS_FAILED and result.tests[0].stop is Stop.NOT_RUN
    assert "used more than 400 MiB of memory" in result.reason


def test_cpu_time_is_limited_for_the_whole_sandbox(sandbox):
    spin = """
import os, time
for _ in range(2):
    if os.fork() == 0:
        while True:
            pass
time.sleep(20)
"""
    result = sandbox.run(job(ADD, spin, cpu_seconds=3.0, cell_seconds=20.0))
    assert "used more than 3 s of CPU time" in result.reason


def test_an_output_flood_stops_the_process(sandbox):
    flood = "import sys\nfor _ in range(200_000):\n    sys.stdout.write('x' * 999 + '\\n')"
    result = sandbox.run(job(ADD, flood, flood_bytes=1 << 20))
    assert "printed more than 1048576 bytes" in result.reason
    assert len(result.output) <= Limits().output_bytes


def test_a_function_that_never_returns_costs_only_its_own_test(sandbox):
    tests = [
        TestRequest("first", "add", [{"a": 1, "b": 2}]),
        TestRequest("loops", "add", [{"a": 3, "b": 0}, {"a": 4, "b": 0}]),
        TestRequest("after", "add", [{"a": 5, "b": 5}]),
    ]
    loop = "def add(a, b):\n    while a == 3:\n        pass\n    return a + b\n"
    result = sandbox.run(job(loop, tests=tests, probe_seconds=1.0))
    assert output(result, 0) == 3 and output(result, 2) == 10
    assert result.tests[1].replies == (None, None)
    assert "did not return within 1 s" in result.tests[1].stopped
    assert result.tests[1].stop is Stop.TIMEOUT and result.tests[2].stop is Stop.NONE
    assert result.attempts == 2  # a fresh process (cells run again) for the last test


def test_a_cell_that_never_ends_is_interrupted(sandbox):
    result = sandbox.run(job("while True:\n    pass", ADD, cell_seconds=1.0))
    assert output(result) == 3
    assert json.loads(result.cells)["errors"][0][1].startswith("CellTimeout")


def test_sys_exit_in_a_cell_does_not_stop_the_requests(sandbox):
    result = sandbox.run(job(ADD, "import sys\nsys.exit(0)"))
    assert output(result) == 3


# ------------------------------------------------------------------ the reply channel

FIND = """
import sys
def _local(name):
    frame = sys._getframe(1)
    while frame is not None and name not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals[name]
"""


def test_bytes_written_to_the_reply_channel_are_a_violation(sandbox):
    stray = (
        FIND
        + """
import os
def add(a, b):
    os.write(_local("reply_fd"), b"\\x00\\x00\\x00\\x05hello")
    return a + b
"""
    )
    outcome = sandbox.run(job(stray)).tests[0]
    assert outcome.replies == (None,) and outcome.channel


def test_a_forged_second_reply_is_a_violation(sandbox):
    forged = (
        FIND
        + """
import json, os
def add(a, b):
    token = _local("token")
    body = token + json.dumps({"data": {"output": 999, "raised": None, "modified": []}}).encode()
    os.write(_local("reply_fd"), len(body).to_bytes(4, "big") + body)
    return a + b
"""
    )
    result = sandbox.run(job(forged))
    assert result.tests[0].channel, "a write to the reply channel must be a violation"
    assert result.tests[0].replies == (None,)


def test_a_process_left_behind_cannot_answer_later_requests(sandbox):
    tests = [TestRequest(f"t{i}", "add", [{"a": i, "b": 0}]) for i in range(3)]
    behind = (
        FIND
        + """
import json, os, time
def add(a, b):
    fd = _local("reply_fd")
    if a == 0 and os.fork() == 0:
        time.sleep(1.0)
        os.write(fd, (40).to_bytes(4, "big") + b"x" * 40)
        os._exit(0)
    if a == 1:
        time.sleep(1.5)
    return a + b
"""
    )
    result = sandbox.run(job(behind, tests=tests))
    assert [output(result, i) for i in range(3)] == [0, 1, 2]
    assert not any(outcome.channel for outcome in result.tests), "killed before it could write"


def test_the_student_process_holds_no_case_but_the_one_asked(sandbox):
    tests = [
        TestRequest("visible", "add", [{"a": 1, "b": 2}]),
        TestRequest("hidden", "add", [{"a": "HIDDEN-INPUT-7f3a", "b": "x"}]),
    ]
    search = """
import gc, sys
def add(a, b):
    found = set()
    for obj in gc.get_objects():
        if isinstance(obj, dict):
            for value in list(obj.values()):
                if isinstance(value, str) and "HIDDEN-INPUT" in value:
                    found.add(value)
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, (str, bytes)) and "HIDDEN-INPUT" in str(value):
                found.add("frame")
        frame = frame.f_back
    return sorted(found) if a == 1 else a + b
"""
    result = sandbox.run(job(search, tests=tests))
    assert output(result, 0) == []  # asked the visible case: the hidden one is nowhere
    assert output(result, 1) == "HIDDEN-INPUT-7f3ax"


# ------------------------------------------------------------------ the shortcut guard

OPTIM = "torch.optim"


@pytest.mark.parametrize(
    "spelling",
    [
        "getattr(torch, 'op' + 'tim').SGD",
        "importlib.import_module('torch.' + 'optim').SGD",
        "__import__('torch.optim', fromlist=['SGD']).SGD",
        "sys.modules['torch.optim'].SGD",
        "eval(compile('torch.optim.SGD', '<s>', 'eval'))",
    ],
)
def test_a_banned_shortcut_is_seen_whatever_its_spelling(sandbox, spelling):
    code = f"""
import importlib, sys, torch
def add(a, b):
    optimizer = {spelling}([torch.zeros(1, requires_grad=True)], lr=0.1)
    return a + b
"""
    tests = [
        TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=[OPTIM]),
        TestRequest("allowed", "add", [{"a": 1, "b": 2}]),
    ]
    result = sandbox.run(job(code, tests=tests))
    assert result.tests[0].shortcut == OPTIM and result.tests[0].replies == (None,)
    assert output(result, 1) == 3  # the same call, where it is not banned


def test_a_name_is_not_a_use(sandbox):
    innocent = """
import numpy as np
def add(a, b):
    grad = np.zeros(3)  # a variable called grad is not autograd
    optim = "torch.optim"
    return a + b
"""
    test = TestRequest("t", "add", [{"a": 1, "b": 2}], banned=["torch.autograd", OPTIM])
    result = sandbox.run(job(innocent, tests=[test]))
    assert output(result) == 3 and not result.tests[0].shortcut


def test_use_outside_a_graded_call_is_not_a_shortcut(sandbox):
    cell = "import torch\nopt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n"
    test = TestRequest("t", "add", [{"a": 1, "b": 2}], banned=[OPTIM])
    assert output(sandbox.run(job(cell + ADD, tests=[test]))) == 3


def test_a_banned_own_function_is_seen(sandbox):
    code = "def helper(x):\n    return x\ndef add(a, b):\n    return helper(a) + b\n"
    test = TestRequest("t", "add", [{"a": 1, "b": 2}], banned=["student:helper"])
    assert sandbox.run(job(code, tests=[test])).tests[0].shortcut == "student:helper"


@pytest.mark.parametrize(
    ("attack", "event"),
    [
        ("import sys\nsys.setprofile(None)", "sys.setprofile"),
        ("import sys\nsys.settrace(lambda *a: None)", "sys.settrace"),
        ("import ctypes\nctypes.string_at(id(1), 8)", "ctypes.string_at"),
        ("exec(compile('x = 1', '/usr/lib/python3/fake.py', 'exec'))", "compile"),
        ("import os\nos.system('true')", "os.system"),
    ],
)
def test_taking_the_watch_apart_is_refused_and_reported(sandbox, attack, event):
    result = sandbox.run(job(ADD, attack))
    assert output(result) == 3
    assert any(event in problem for problem in result.cell_problems), result.cell_problems
    assert "PermissionError" in json.loads(result.cells)["errors"][0][1]


def test_threads_and_programs_cannot_run_unwatched(sandbox):
    code = """
import os, threading
def add(a, b):
    found = []
    try:
        threading.Thread(target=lambda: None).start()
        found.append("thread")
    except RuntimeError:
        pass
    try:
        os.execv("/bin/true", ["true"])
    except OSError:
        pass
    return found
"""
    assert output(sandbox.run(job(code))) == []


def test_the_system_call_filter_is_for_this_machine():
    assert linux.syscall_filter_supported()


def test_the_host_is_restarted_when_it_dies():
    with make_sandbox() as box:
        assert box._process is not None
        box._process.kill()
        box._process.wait()
        assert output(box.run(job(ADD))) == 3


def test_a_student_process_that_cannot_be_set_up_is_the_sandboxs_failure(sandbox):
    """A limit no process may take (more open files than the kernel allows) stops the set-up
    of the student's process before any student code ran: the report says the sandbox
    could not set it up (``crashed``), never that the notebook's cells ended the process."""
    result = sandbox.run(job(ADD, open_files=1 << 30))
    assert result.status == "crashed", result
    assert "could not set up the student's process" in result.reason
    assert sandbox.run(job(ADD)).status == "ok"  # the next job is not affected
