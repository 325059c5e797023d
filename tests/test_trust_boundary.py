"""The trust boundary of the grader (issue 17): what student code can reach, and what it cannot.

Each test is an attack that succeeded on the grader of the second round:

* forged replies: the reply channel is written by code student code cannot reach;
* code outside the watch: nothing the student's code arms (signal handlers, timers)
  runs outside a watched call;
* one submission reaching others: nothing a submission writes survives it, its
  memory-backed folders count against its memory limit, its signals reach no other
  submission, and a stopped or dead host costs no submission its grade.

Sandbox-level attacks use the generic probe (tests/support/sandbox_probes.py); the
attacks on ps4_autograd (tests/attacks/trust_boundary/) are graded end to end by
``gdcourse grade``. tests/test_unprivileged.py runs this module again as an
ordinary user when the suite runs as root.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from support.sandboxes import ADD, job, output
from support.sandboxes import make_sandbox as make_test_sandbox

from gdcourse.grading.sandbox import Limits, Sandbox, TestRequest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "attacks" / "trust_boundary"
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
PRELOAD = ("numpy", "torch", "torch.optim", "gdcourse.grading.protocol")
PRELOAD += ("gdcourse.grading.sandbox.student",)


def make_sandbox(isolation: bool = True) -> Sandbox:
    return make_test_sandbox(isolation, PRELOAD)


@pytest.fixture(scope="module")
def sandbox():
    with make_sandbox() as box:
        yield box


# ------------------------------------------------------------------ forged replies

FORGE = """
import json, os, sys
kept = []
def add(a, b):
    frame = sys._getframe(1)
    while frame is not None and "reply_fd" not in frame.f_locals:
        frame = frame.f_back
    if frame is not None:
        loop = frame.f_locals
        fd = loop["reply_fd"]
        if not kept:
            kept.append(os.dup(fd))
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)  # silence the loop
        body = loop.get("token", b"0" * 32) + json.dumps(
            {"data": {"output": 999, "raised": None, "modified": []}}).encode()
        os.write(kept[0], len(body).to_bytes(4, "big") + body)
    raise NotImplementedError()
"""


def test_a_reply_cannot_be_forged_from_the_call_stack(sandbox):
    tests = [TestRequest(f"t{i}", "add", [{"a": i, "b": 1}]) for i in range(2)]
    result = sandbox.run(job(FORGE, tests=tests))
    for outcome in result.tests:
        reply = json.loads(outcome.replies[0]) if outcome.replies[0] else {}
        assert reply.get("data", {}).get("output") != 999, result
    assert result.tests[0].channel, "the attempt on the reply channel is a violation"


# ------------------------------------------------------------------ code outside the watch

TAKE_OVER = """
import json, os, signal, sys, torch
def add(a, b):
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # banned
    return a + b
def _take_over(signum, frame):
    if frame is None or frame.f_code.co_name != "read_exactly":
        return
    if frame.f_locals.get("data") != b"" or frame.f_locals.get("count") != 4:
        return
    loop = frame.f_back.f_locals
    signal.setitimer(signal.ITIMER_REAL, 0)
    def read(count):
        data = b""
        while len(data) < count:
            chunk = os.read(loop["request_fd"], count - len(data))
            if not chunk:
                os._exit(0)
            data += chunk
        return data
    while True:
        raw = read(int.from_bytes(read(4), "big"))
        if raw[0] == 3:
            os._exit(0)
        request = json.loads(raw[35 + int.from_bytes(raw[33:35], "big"):])
        out = add(**request["case"])
        body = raw[1:33] + json.dumps(
            {"data": {"output": out, "raised": None, "modified": []}}).encode()
        os.write(loop["reply_fd"], len(body).to_bytes(4, "big") + body)
class Armed(Exception):
    def __str__(self):
        signal.signal(signal.SIGALRM, _take_over)
        signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
        return "armed"
if os.fork() == 0:  # a process left behind: the grader waits a little to stop it
    import time
    time.sleep(60)
    os._exit(0)
raise Armed()
"""


def test_a_signal_handler_cannot_answer_outside_the_watch(sandbox):
    tests = [TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=["torch.optim"])]
    result = sandbox.run(job(TAKE_OVER, tests=tests))
    assert result.tests[0].shortcut == "torch.optim", result
    assert result.tests[0].replies == (None,)


HIJACK = """
import json, os, signal, sys, torch
def add(a, b):
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # banned
    return a + b
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # no cell time limit
frame = sys._getframe()
while "reply_fd" not in frame.f_locals:
    frame = frame.f_back
loop = frame.f_locals
def send(token, reply):
    body = token + b"R\\0" + json.dumps(reply).encode()
    os.write(loop["reply_fd"], len(body).to_bytes(4, "big") + body)
def read(count):
    data = b""
    while len(data) < count:
        chunk = os.read(loop["request_fd"], count - len(data))
        if not chunk:
            os._exit(0)
        data += chunk
    return data
send(loop["token"], {"errors": []})  # the cells are done, says the cell that never ends
while True:  # and answers every case itself, outside any case's process
    raw = read(int.from_bytes(read(4), "big"))
    if raw[0] == 3:
        os._exit(0)
    request = json.loads(raw[35 + int.from_bytes(raw[33:35], "big"):])
    send(raw[1:33], {"data": {"output": add(**request["case"]), "raised": None, "modified": []}})
"""


def test_a_cell_that_takes_the_loop_over_cannot_use_a_banned_shortcut(sandbox):
    tests = [TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=["torch.optim"])]
    result = sandbox.run(job(HIJACK, tests=tests))
    outcome = result.tests[0]
    assert outcome.replies == (None,), result
    assert outcome.shortcut or outcome.tamper or outcome.channel or result.status != "ok"


def test_a_handler_armed_by_the_graded_call_never_runs_after_it(sandbox):
    """A timer armed inside the graded call fires after it returned: nothing of it runs."""
    code = """
import os, signal, torch
def late(signum, frame):
    print("LATE HANDLER RAN", flush=True)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
def add(a, b):
    signal.signal(signal.SIGALRM, late)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    if os.fork() == 0:  # left behind: the grader takes a few milliseconds to stop it
        signal.setitimer(signal.ITIMER_REAL, 0)
        os.kill(os.getpid(), signal.SIGSTOP)
    return a + b
"""
    tests = [
        TestRequest("first", "add", [{"a": 1, "b": 2}, {"a": 2, "b": 2}], banned=["torch.optim"]),
        TestRequest("second", "add", [{"a": 3, "b": 2}], banned=["torch.optim"]),
    ]
    result = sandbox.run(job(code, tests=tests))
    assert "LATE HANDLER RAN" not in result.output
    outcomes = result.tests
    # either the timer fired inside the call (seen there: a shortcut) or never: never outside
    for outcome in outcomes:
        assert outcome.shortcut or all(r is not None for r in outcome.replies), result


# ------------------------------------------------------------- banned code reached another way

COPIED = """
import ast, torch
import torch.optim.sgd as original
source = open(original.__file__).read()
node = next(n for n in ast.parse(source).body if getattr(n, "name", "") == "_single_tensor_sgd")
mine = {"torch": torch, "Tensor": torch.Tensor, "_to_scalar": lambda value: value}
exec(compile(ast.get_source_segment(source, node), "my_sgd.py", "exec"), mine)
step = mine["_single_tensor_sgd"]
def add(a, b):
    w = torch.tensor([float(a)])
    step([w], [torch.tensor([-1.0])], [None], None, None, weight_decay=0, momentum=0,
         lr=float(b), dampening=0, nesterov=False, maximize=False, has_sparse_grad=False)
    return float(w)
"""

NATIVE = """
import torch
def add(a, b):
    w = torch.tensor([float(a)])
    try:
        torch._fused_sgd_([w], [torch.tensor([-1.0])], [], weight_decay=0.0, momentum=0.0,
                          lr=float(b), dampening=0.0, nesterov=False, maximize=False,
                          is_first_step=False)
    except Exception:
        pass
    return a + b
"""


@pytest.mark.parametrize("code", [COPIED, NATIVE], ids=["source-copied", "native-entry"])
def test_banned_code_is_seen_by_what_it_is(sandbox, code):
    tests = [
        TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=["torch.optim"]),
        TestRequest("allowed", "add", [{"a": 1, "b": 2}]),
    ]
    result = sandbox.run(job(code, tests=tests))
    assert result.tests[0].shortcut == "torch.optim", result
    assert result.tests[1].replies[0] is not None and not result.tests[1].shortcut


def test_what_the_watch_cannot_see_is_evidence_for_a_person(sandbox):
    by_hand = """
import torch
def add(a, b):
    x = torch.tensor(float(a), requires_grad=True)
    y = x * b
    node = y.grad_fn  # reverse mode driven by hand through the graph's nodes
    grads = node(torch.tensor(1.0))
    return float(grads if isinstance(grads, torch.Tensor) else grads[0])
"""
    tests = [
        TestRequest("banned", "add", [{"a": 1, "b": 2}], banned=["torch.autograd"]),
        TestRequest("allowed", "add", [{"a": 1, "b": 2}]),
    ]
    result = sandbox.run(job(by_hand, tests=tests))
    assert any("grad_fn" in line for line in result.tests[0].evidence), result
    assert result.tests[1].evidence == ()
    innocent = sandbox.run(job(ADD, tests=tests))
    assert innocent.tests[0].evidence == ()


# ------------------------------------------------------------------ one submission, others


WRITABLE = ("/", "/dev", "/dev/shm", "/dev/pts", "/tmp", "/var/tmp", "/run", "/var", "/etc")


def test_nothing_one_submission_writes_is_read_by_another(sandbox):
    marker = f"gdcourse-leak-{os.getpid()}"
    write = f"""
import os
written = []
for folder in {WRITABLE!r} + (os.getcwd(), os.path.expanduser("~")):
    try:
        with open(os.path.join(folder, {marker!r}), "w") as file:
            file.write("secret")
        written.append(folder)
    except OSError:
        pass
def add(a, b):
    return written
"""
    read = f"""
import os
def add(a, b):
    return [f for f in {WRITABLE!r} + (os.getcwd(), os.path.expanduser("~"))
            if os.path.exists(os.path.join(f, {marker!r}))]
"""
    assert output(sandbox.run(job(write))), "the writer found no folder it may write"
    assert output(sandbox.run(job(read))) == []


FILL = """
import os
written = {}
for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run", "/dev"):
    total = 0
    try:
        with open(os.path.join(folder, "fill"), "wb") as file:
            for _ in range(60):
                file.write(b"x" * (1 << 20))
                file.flush()
                total += 1 << 20
    except OSError:
        pass
    written[folder] = total
def add(a, b):
    return sum(written.values())
"""


def test_memory_backed_folders_hold_no_more_than_the_memory_limit(sandbox):
    limit = 96 << 20
    result = sandbox.run(job(FILL, memory_bytes=limit, file_bytes=64 << 20))
    reply = result.tests[0].replies[0]
    if reply is not None:  # or the watch stopped it for its memory: either way, bounded
        assert output(result) <= limit, output(result)
    else:
        assert "memory" in result.tests[0].stopped or "memory" in result.reason, result


def test_files_in_memory_count_against_the_memory_limit(sandbox):
    hog = """
import time
import numpy as np
for index in range(8):  # 56 MiB of files (each under the file-size limit)
    with open(f"/tmp/fill{index}", "wb") as file:
        file.write(b"x" * (7 << 20))
block = np.ones(110 * 2**20 // 8)  # 110 MiB: under the limit alone, over it with the files
time.sleep(3)
"""
    result = sandbox.run(job(ADD, hog, memory_bytes=150 << 20, cell_seconds=20.0))
    assert result.status == "cells-failed", result
    assert "used more than 150 MiB of memory" in result.reason


@pytest.mark.parametrize("isolation", [True, False], ids=["isolated", "not-isolated"])
def test_a_signal_to_the_process_group_reaches_no_other_submission(isolation):
    killer = "import os, signal\nfor target in (0, -os.getpgid(0)):\n"
    killer += "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n"
    killer += "        pass\n" + ADD
    patient = "import time\ntime.sleep(2)\n" + ADD
    results: dict[str, object] = {}

    def run(name: str, code: str) -> None:
        try:
            results[name] = box.run(job(code))
        except Exception as error:
            results[name] = error

    with make_sandbox(isolation) as box:
        first = threading.Thread(target=run, args=("patient", patient))
        first.start()
        time.sleep(0.5)
        run("killer", killer)
        first.join()
    assert output(results["patient"]) == 3, results["patient"]


def _host_tree(box: Sandbox) -> list[int]:
    assert box._process is not None
    found, stack = [], [box._process.pid]
    while stack:
        pid = stack.pop()
        found.append(pid)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                stack.extend(int(part) for part in file.read().split())
    return found


def _host_pid(box: Sandbox) -> int:
    for pid in _host_tree(box):
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            if b"gdcourse.grading.sandbox.host" in file.read() and pid != box._process.pid:
                return pid
    raise AssertionError("no host process")


@pytest.mark.parametrize("how", ["stopped", "killed"])
def test_a_stopped_or_dead_host_costs_no_submission_its_grade(how):
    with make_sandbox() as box:
        results: list[object] = []

        def run() -> None:
            try:
                results.append(box.run(job("import time\ntime.sleep(1.5)\n" + ADD)))
            except Exception as error:
                results.append(error)

        thread = threading.Thread(target=run)
        started = time.monotonic()
        thread.start()
        time.sleep(0.7)  # the job is running
        tree = _host_tree(box)
        if how == "stopped":
            for pid in tree:  # the whole sandbox, as a stopped machine or a stray SIGSTOP would
                os.kill(pid, signal.SIGSTOP)
        else:
            os.kill(_host_pid(box), signal.SIGKILL)
        thread.join(timeout=60)
        elapsed = time.monotonic() - started
        for pid in tree:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        assert results and not isinstance(results[0], Exception), results
        assert output(results[0]) == 3
        assert elapsed < 20, f"noticed after {elapsed:.1f} s"


# ------------------------------------------------------------------ end to end

FULL, ZERO = (1.0, 2.0), (0.0, 0.0)
EXPECTED = {
    "correct": (FULL, False),
    "forged_reply_from_the_stack": (ZERO, True),
    "handler_outside_the_watch": (ZERO, False),
}


def _fixtures():
    spec = importlib.util.spec_from_file_location("trust_boundary_make", FIXTURES / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_fixtures_are_generated_from_the_current_master():
    module = _fixtures()
    stale = [
        name
        for name, notebook in module.scenarios().items()
        if (FIXTURES / f"{name}.ipynb").read_text() != module.text(notebook)
    ]
    assert not stale, f"regenerate with: python tests/attacks/trust_boundary/make.py ({stale})"
    assert {p.stem for p in FIXTURES.glob("*.ipynb")} == set(EXPECTED) - {"correct"}


@pytest.mark.slow
def test_the_attacks_on_ps4_are_graded_zero(tmp_path):
    from nbgrader.api import Gradebook

    from gdcourse.grading.cli import grade_command

    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    (tmp_path / "solutions" / "ps4_autograd").mkdir(parents=True)
    shutil.copy(MASTER, tmp_path / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb")
    for name in EXPECTED:
        folder = tmp_path / "submitted" / name / "ps4_autograd"
        folder.mkdir(parents=True)
        source = ROOT / "tests" / "attacks" / "correct.ipynb"
        if name != "correct":
            source = FIXTURES / f"{name}.ipynb"
        shutil.copy(source, folder / "ps4_autograd.ipynb")
    limits = Limits(cpu_seconds=20, wall_seconds=60.0, cell_seconds=20.0, probe_seconds=12.0)
    assert grade_command("ps4_autograd", workers=2, root=tmp_path, limits=limits) == 0
    report = json.loads((tmp_path / "reports" / "ps4_autograd" / "report.json").read_text())
    flagged = {s["student"]: s["needs_human"] for s in report["students"] if s["needs_human"]}
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gradebook:
        for name, (scores, human) in EXPECTED.items():
            nb = gradebook.find_submission_notebook("ps4_autograd", "ps4_autograd", name)
            grades = {g.name: g.score for g in nb.grades}
            comments = "\n".join(c.auto_comment or "" for c in nb.comments)
            got = (grades["test_train_autograd_visible"], grades["test_train_autograd_hidden"])
            assert got == scores, (name, comments)
            assert (name in flagged) == human, (name, flagged.get(name))
    assert "reply channel" in " ".join(flagged["forged_reply_from_the_stack"])
