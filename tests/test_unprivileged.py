"""The grader holds for an instructor who is an ordinary user, as on a shared hub.

As root (CI), the whole attack suite (tests/test_grading.py) runs again as a user
with no privileges and a home folder of its own, reaching this checkout and
Python through tests/support/as_user.py. As an ordinary user, the suite already
runs that way; this test then checks that the sandbox is fully isolated for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SUPPORT = Path(__file__).resolve().parent / "support"
UID = 4242


@pytest.mark.slow
def test_the_attack_suite_passes_for_an_ordinary_user():
    if os.geteuid() != 0:
        from gdcourse.grading.sandbox import Job, Limits, Sandbox, TestRequest

        job = Job(
            "sandbox_probes",
            ["def add(a, b):\n    return a + b\n"],
            [TestRequest("t", "add", [{"a": 1, "b": 2}])],
            Limits(wall_seconds=30.0),
        )
        with Sandbox(
            preload=("numpy", "gdcourse.grading.protocol", "gdcourse.grading.sandbox.student"),
            probes=["sandbox_probes"],
            extra_sys_path=[str(SUPPORT)],
            course_root=ROOT,
        ) as box:
            result = box.run(job)
        assert result.isolated and result.status == "ok"
        return
    # pytest's own temporary folders are root's alone: the user's home is made beside them
    home = Path(tempfile.mkdtemp(prefix="gdcourse-ordinary-user-"))
    os.chmod(home, 0o700)
    os.chown(home, UID, UID)
    command = [
        sys.executable,
        str(SUPPORT / "as_user.py"),
        str(UID),
        str(home),
        f"{ROOT}:{Path(sys.base_prefix).resolve()}",
        "--",
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-x",
        "--basetemp",
        str(home / "pytest"),
        "-k",  # plain nbgrader's route into the same sandbox is tested as root
        "not test_plain_nbgrader_autograde_uses_the_sandbox",
        str(ROOT / "tests" / "test_grading.py"),
        str(ROOT / "tests" / "test_sandbox.py"),
        str(ROOT / "tests" / "test_trust_boundary.py"),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=1500)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
