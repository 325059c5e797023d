"""The sandbox on its own: plain data back, isolation, limits, and a zygote that survives.

A light zygote (NumPy and the protocol only) with the generic probe
``call_probe`` keeps these tests fast; tests/test_grading.py runs the real one.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from gdcourse.grading.sandbox import (
    COURSE_ROOT,
    Job,
    Limits,
    Probe,
    SandboxError,
    Zygote,
    call_probe,
)

PROBE = "gdcourse.grading.sandbox:call_probe"
ADD = "def add(a, b):\n    return a + b"


@pytest.fixture(scope="module")
def zygote():
    with Zygote(preload=("numpy", "gdcourse.grading.protocol")) as z:
        yield z


def job(*cells, cases=({"a": 1, "b": 2},), **limits):
    return Job(
        "demo",
        list(cells),
        [Probe("test_add", "add", list(cases))],
        probe=PROBE,
        limits=Limits(**{"wall_seconds": 10.0, **limits}),
    )


def test_limits_reject_nonsense():
    with pytest.raises(ValueError, match="cpu_seconds must be > 0, got 0"):
        Limits(cpu_seconds=0)


def test_call_probe_turns_errors_into_data():
    assert call_probe("demo", "f", lambda: 1 / 0, {}) == {
        "__error__": "ZeroDivisionError: division by zero"
    }


def test_plain_data_comes_back_and_cell_errors_are_recorded(zygote):
    result = zygote.run(
        job(
            "import numpy as np\n" + ADD.replace("a + b", "np.add(a, b)"),
            "%matplotlib inline\nprint('hello')",
            "1 / 0",
            cases=[{"a": 1, "b": 2}, {"a": [1.0], "b": [2.0]}],
        )
    )
    assert result.completed, result.reason
    assert result.outputs[("test_add", 0)] == {
        "__kind__": "npscalar",
        "dtype": "int64",
        "value": 3,
    }
    assert result.outputs[("test_add", 1)]["data"] == [3.0]
    assert result.cell_errors == [(2, "ZeroDivisionError: division by zero")]
    assert result.output == "hello\n"


def test_modules_not_preloaded_still_import_from_the_installation(zygote):
    """The installation's site-packages stays importable (torch.optim loads more on first use)."""
    code = "import tinycss2, email.mime.text\nprint(tinycss2.__name__)\n" + ADD
    result = zygote.run(job(code))
    assert result.cell_errors == []
    assert result.output == "tinycss2\n"
    assert result.outputs[("test_add", 0)] == 3


def test_a_missing_function_is_reported(zygote):
    result = zygote.run(job("x = 1"))
    assert result.missing == {"test_add": "add is not defined"}


def test_student_code_cannot_see_the_course_or_the_network(zygote, tmp_path):
    secret = COURSE_ROOT / "nbgrader_config.py"
    code = (
        "import os, socket\n"
        f"print(sorted(os.listdir({str(COURSE_ROOT)!r})))\n"
        f"print(os.path.exists({str(secret)!r}), os.path.exists({str(tmp_path)!r}))\n"
        "print(os.getuid(), os.getpid())\n"
        "try:\n    open('/tmp/x', 'w').write('x')\n    print('tmp ok')\n"
        "except OSError as e:\n    print(e)\n"
        f"try:\n    open({str(COURSE_ROOT / 'pwned')!r}, 'w')\n"
        "except OSError as e:\n    print('no write')\n"
        "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=1)\n"
        "except OSError as e: print('no network')\n" + ADD
    )
    result = zygote.run(job(code))
    lines = result.output.splitlines()
    if os.geteuid() == 0:  # as root (CI) namespaces are available: isolation is not optional
        assert result.isolated, result.warnings
    if result.isolated:
        assert lines[0] == "['.venv', 'gdcourse']"
        assert lines[1] == "False False"
        uid, pid = map(int, lines[2].split())
        assert uid != 0 and pid == 1
        assert "no write" in lines and "no network" in lines
    else:  # without namespaces the sandbox says so
        assert result.warnings
    assert not (COURSE_ROOT / "pwned").exists()
    assert result.outputs[("test_add", 0)] == 3


@pytest.mark.parametrize(
    ("cell", "status", "reason"),
    [
        ("while True:\n    pass", {"cpu-limit", "timeout"}, ("CPU", "wall-clock")),
        ("import time\ntime.sleep(60)", {"timeout"}, ("wall-clock",)),
        ("import os\nos._exit(4)", {"exited"}, ("status 4",)),
        (
            "import sys\nwhile True:\n    sys.stdout.write('x' * 10000)",
            {"killed"},
            ("printing",),
        ),
    ],
    ids=["cpu", "wall", "exit", "flood"],
)
def test_limits_stop_the_student_with_a_reason(zygote, cell, status, reason):
    started = time.monotonic()
    result = zygote.run(job(cell, cpu_seconds=2, wall_seconds=4.0, flood_bytes=1 << 20))
    assert time.monotonic() - started < 10
    assert result.status in status
    assert any(word in result.reason for word in reason), result.reason
    assert len(result.output) <= Limits().output_bytes


def test_memory_and_fork_bombs_fail_inside_the_sandbox(zygote):
    memory = "import numpy as np\nhog = np.ones(3 * 2**30 // 8)"
    fork = (
        "import os, time\nn = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(3)\n"
        "        os._exit(0)\n    n += 1\nprint(n)"
    )
    result = zygote.run(job(memory, fork, ADD, processes=32))
    assert "MemoryError" in result.cell_errors[0][1]
    if result.isolated:
        assert int(result.output.split()[-1]) < 32
    assert result.completed and result.outputs[("test_add", 0)] == 3


def test_a_function_that_never_returns_costs_only_its_own_checks(zygote):
    probes = [
        Probe("test_slow", "slow", [{"a": 1, "b": 2}]),
        Probe("test_add", "add", [{"a": 1, "b": 2}]),
    ]
    limits = Limits(wall_seconds=10.0, probe_seconds=1.5, cpu_seconds=5)
    cells = ["def slow(a, b):\n    while True:\n        pass", ADD]
    result = zygote.run(Job("demo", cells, probes, probe=PROBE, limits=limits))
    assert result.stopped == {"test_slow": "slow did not return within 1.5 s"}
    assert result.completed and result.outputs[("test_add", 0)] == 3


def test_a_cell_that_never_ends_is_interrupted(zygote):
    result = zygote.run(job("while True:\n    pass", ADD, cell_seconds=1.0, cpu_seconds=5))
    assert result.cell_errors == [(0, "CellTimeout: the cell ran longer than 1 s")]
    assert result.completed and result.outputs[("test_add", 0)] == 3


def test_sys_exit_in_a_cell_does_not_stop_the_probes(zygote):
    result = zygote.run(job("import sys\nsys.exit(0)", ADD))
    assert result.cell_errors == [(0, "SystemExit: 0")]
    assert result.outputs[("test_add", 0)] == 3


def test_patched_builtins_do_not_break_the_report(zygote):
    result = zygote.run(job("import builtins\nbuiltins.isinstance = lambda *a: True", ADD))
    assert result.completed and result.outputs[("test_add", 0)] == 3


def test_sandboxes_run_in_parallel(zygote):
    results = {}

    def run(i):
        results[i] = zygote.run(
            job("import time\ntime.sleep(1)\n" + ADD, cases=[{"a": i, "b": 1}])
        )

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert time.monotonic() - started < 3.5
    assert {i: r.outputs[("test_add", 0)] for i, r in results.items()} == {
        i: i + 1 for i in range(4)
    }


def test_the_zygote_is_restarted_when_it_dies():
    with Zygote(preload=("gdcourse.grading.protocol",)) as z:
        assert z._process is not None
        os.kill(z._process.pid, 9)
        z._process.wait()
        assert z.run(job(ADD)).outputs[("test_add", 0)] == 3


def test_without_isolation_the_sandbox_warns_and_still_limits():
    with Zygote(preload=("gdcourse.grading.protocol",), isolate=False) as z:
        result = z.run(job("while True:\n    pass", ADD, cpu_seconds=1, wall_seconds=3.0))
    assert result.warnings and "isolation switched off" in result.warnings[0]
    assert result.status in ("cpu-limit", "timeout")


def test_a_zygote_that_cannot_start_says_why():
    with pytest.raises(SandboxError, match="no_such_module"):
        Zygote(preload=("no_such_module",)).start()
