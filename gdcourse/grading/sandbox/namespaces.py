"""The student's process before its first line of student code: namespaces and folders.

The factory of :mod:`~gdcourse.grading.sandbox.processes` clones the student's process
as the supervisor's child, straight into new user, mount, PID, network, IPC and UTS
namespaces (:data:`NAMESPACES`), where it is PID 1. :func:`enter` then maps its own ids,
gives it one private, size-capped tmpfs seen as each of its writable folders, makes
``/dev`` read-only, hides ``/proc``, sets its limits, and becomes the student's process
(:mod:`~gdcourse.grading.sandbox.student`). One process, not a helper and a child: each
process here is a copy of an interpreter that holds NumPy and torch, and costs its copy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gdcourse.grading.sandbox import linux, seal, student

if TYPE_CHECKING:
    from gdcourse.grading.sandbox.processes import HostContext

__all__ = ["NAMESPACES", "PRIVATE_FOLDERS", "PR_SET_CHILD_SUBREAPER", "enter"]

PR_SET_CHILD_SUBREAPER = 36

NAMESPACES = (
    linux.CLONE_NEWUSER
    | linux.CLONE_NEWNS
    | linux.CLONE_NEWPID
    | linux.CLONE_NEWNET
    | linux.CLONE_NEWIPC
    | linux.CLONE_NEWUTS
)
"""The namespaces each student's process is cloned into (with isolation on)."""


PRIVATE_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run")


def _mounts_beneath(folders: Sequence[str], mountinfo: str) -> list[str]:
    r"""The outermost mount points strictly inside ``folders``, from ``/proc/self/mountinfo``
    text: what the sandbox bound there (the package or Python of a course kept under
    ``/tmp``), which a private folder mounted on top must not hide.

    >>> info = "\n".join([
    ...     "1 0 0:1 / / ro - tmpfs x ro",
    ...     "2 1 0:2 / /tmp rw - tmpfs x rw",
    ...     r"3 2 8:1 /c/pkg /tmp/c\040d/pkg ro - ext4 /dev/sda1 ro",
    ...     r"4 3 0:3 / /tmp/c\040d/pkg/specs ro - tmpfs x ro",
    ...     "5 1 0:4 / /run rw - tmpfs x rw",
    ... ])
    >>> _mounts_beneath(("/tmp", "/run"), info)
    ['/tmp/c d/pkg']
    """
    points = []
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            points.append(fields[4].encode().decode("unicode_escape").encode("latin-1").decode())
    inside = sorted(
        {p for p in points for f in folders if p.startswith(f.rstrip("/") + "/")}, key=len
    )
    outermost: list[str] = []
    for point in inside:
        if not any(point.startswith(kept.rstrip("/") + "/") for kept in outermost):
            outermost.append(point)
    return outermost


def _private_folders(size: int) -> None:
    """Give the student one fresh tmpfs of ``size`` bytes, seen as each of
    :data:`PRIVATE_FOLDERS` (so that together they hold no more than ``size``), make
    ``/dev`` read-only (its device files still work), then bind back (read-only, as
    they were) the sandbox's own mounts that lay beneath those folders.

    ``/dev`` is the host's, shared by every submission it runs: writable, a file one
    submission left there would be read by the next.
    """
    with open("/proc/self/mountinfo", encoding="utf-8") as file:
        beneath = _mounts_beneath(PRIVATE_FOLDERS, file.read())
    handles = [(point, os.open(point, os.O_PATH | os.O_CLOEXEC)) for point in beneath]
    private = linux.MS_NOSUID | linux.MS_NODEV
    if os.path.ismount("/dev"):
        flags = os.statvfs("/dev").f_flag & (os.ST_NOSUID | os.ST_NODEV | os.ST_NOEXEC)
        linux.mount(None, "/dev", None, linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | flags)
    linux.mount("tmpfs", "/tmp", "tmpfs", private, f"size={size},mode=1777")
    for path in PRIVATE_FOLDERS:
        os.mkdir(f"/tmp/{path.strip('/').replace('/', '-')}", 0o1777)
        os.chmod(f"/tmp/{path.strip('/').replace('/', '-')}", 0o1777)
    for path in PRIVATE_FOLDERS[1:]:
        if os.path.isdir(path):
            source = f"/tmp/{path.strip('/').replace('/', '-')}"
            linux.mount(source, path, None, linux.MS_BIND)
    linux.mount("/tmp/tmp", "/tmp", None, linux.MS_BIND)
    for point, handle in handles:
        os.makedirs(point, exist_ok=True)
        linux.mount(f"/proc/self/fd/{handle}", point, None, linux.MS_BIND | linux.MS_REC)
        with contextlib.suppress(OSError):  # already read-only where the flag is locked
            linux.mount(
                None,
                point,
                None,
                linux.MS_REMOUNT | linux.MS_BIND | linux.MS_RDONLY | private,
            )
        os.close(handle)


def _vm_size() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def enter(
    context: HostContext,
    job: Mapping[str, Any],
    limits: Mapping[str, Any],
    setup: student.Setup,
    ids: tuple[int, int],
    supervisor: int,
) -> int:
    """In the student's process, just cloned (into :data:`NAMESPACES` when isolated) as the
    child of the supervisor, whose pidfd is ``supervisor``: the folders and limits, then
    the student's code (:func:`~gdcourse.grading.sandbox.student.main`, which never
    returns). Returns an exit status only when the supervisor is gone already."""
    import ctypes

    # Dies with the supervisor; one gone before this line is seen on its pidfd.
    linux.set_death_signal(signal.SIGKILL)
    gone, _, _ = select.select([supervisor], [], [], 0)
    os.close(supervisor)
    if gone:
        return 70
    # Orphans come back to this process (PID 1 of its namespace anyway, when isolated),
    # where the supervisor finds them among its descendants.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    base = _vm_size()
    workdir = setup.workdir
    if context.isolated:
        linux.map_own_ids(*ids)
        linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
        private = linux.MS_NOSUID | linux.MS_NODEV
        _private_folders(min(int(limits["tmp_bytes"]), int(limits["memory_bytes"])))
        workdir = "/tmp/work"
        os.mkdir(workdir, 0o700)
        linux.mount(
            "tmpfs", "/proc", "tmpfs", private | linux.MS_NOEXEC | linux.MS_RDONLY, "size=4k"
        )
        linux.set_hostname("sandbox")
    rlimits = {
        "RLIMIT_CPU": int(float(limits["cpu_seconds"])) + 1,
        "RLIMIT_AS": base + int(limits["memory_bytes"]),
        "RLIMIT_FSIZE": int(limits["file_bytes"]),
        "RLIMIT_NOFILE": int(limits["open_files"]),
        "RLIMIT_CORE": 0,
        "RLIMIT_MSGQUEUE": seal.mark_value(),  # lowered once the cells are over (seal.py)
    }
    if context.isolated:  # counted in the student's own user namespace
        rlimits["RLIMIT_NPROC"] = int(limits["processes"])
    student.main(dataclasses.replace(setup, workdir=workdir, limits=rlimits), job["cells"])
