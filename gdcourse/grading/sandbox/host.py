"""The sandbox host: one warm process per grading run, inside bubblewrap, forking a
supervisor per submission.

Started by the client (:mod:`~gdcourse.grading.sandbox.client`) as
``python -I -m gdcourse.grading.sandbox.host FD`` inside ``bwrap`` (or, with
isolation switched off, as a plain process). It reads its configuration from
standard input, imports NumPy, torch and the probes once (a few seconds), makes
sure it can give each submission namespaces of its own, and says ``ready`` on
the control socket. Then, for each job (a memory file with the job's JSON and
the write end of a report pipe, passed over the socket), it forks a
:func:`~gdcourse.grading.sandbox.supervisor.supervise`; a fork costs
milliseconds, so no submission pays interpreter start-up or imports.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import json
import os
import signal
import socket
import sys
import traceback
from collections.abc import Sequence

from gdcourse.grading.sandbox.kinds import Status

__all__ = ["main"]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _check_namespaces() -> None:
    """Fail now, with the reason, if this host cannot give a submission namespaces: a child
    made the way each student's process is (:func:`~gdcourse.grading.sandbox.linux.clone_process`
    into :data:`~gdcourse.grading.sandbox.namespaces.NAMESPACES`) maps its ids and mounts."""
    from gdcourse.grading.sandbox import linux
    from gdcourse.grading.sandbox.namespaces import NAMESPACES

    uid, gid = os.getuid(), os.getgid()
    pid = linux.clone_process(NAMESPACES, sibling=False)
    if pid == 0:
        code = 1
        try:
            linux.map_own_ids(uid, gid)
            linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
            linux.mount("tmpfs", "/tmp", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=1m")
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise RuntimeError("the sandbox cannot create namespaces for a submission")


def _serve(control_fd: int) -> None:
    config = json.loads(sys.stdin.readline())
    sys.stdin.close()
    sock = socket.socket(fileno=control_fd)
    try:
        for path in config.get("extra_sys_path", []):
            sys.path.insert(0, path)
        from gdcourse.grading import shortcuts
        from gdcourse.grading.sandbox import student, supervisor

        student.preload([*config["preload"], *config["probe_modules"]])
        with contextlib.suppress(Exception):
            import torch

            torch.set_num_threads(1)
        from IPython.core.inputtransformer2 import TransformerManager

        from gdcourse.grading.sandbox import fingerprints

        regions = fingerprints.with_native(shortcuts.resolve_all())
        context = supervisor.HostContext(
            regions=regions,
            copies=fingerprints.of(regions),
            transformer=TransformerManager(),  # type: ignore[no-untyped-call]
            isolated=bool(config["isolated"]),
            probes={
                name.rpartition(".")[2]: sys.modules[name].PROBES
                for name in config["probe_modules"]
            },
        )
        if context.isolated:
            _check_namespaces()
    except BaseException:
        sock.sendall(b"failed: " + traceback.format_exc().encode())
        raise
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    # Every object made so far (NumPy, torch, the probes: hundreds of MiB) leaves the
    # collector's generations: a collection in a supervisor, a student's process or a case's
    # fork then never walks them, which would copy every page of this heap on write.
    gc.freeze()
    # A job forks this process six times and its student's process once per case: with the
    # heap in 2 MiB pages, each fork and exit costs a third of the core (README: Performance).
    from gdcourse.grading.sandbox import linux

    with open("/proc/self/maps", encoding="ascii") as maps:
        linux.collapse_heap(maps.read())
    sock.sendall(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 16, 4)
        except OSError:
            break
        if not message:
            break
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            report_fd = fds[1]
            try:
                sock.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                supervisor.supervise(context, fds[0], functools.partial(_write_all, report_fd))
                code = 0
            except BaseException:
                with contextlib.suppress(BaseException):
                    failure = {
                        "status": Status.CRASHED.value,
                        "reason": traceback.format_exc()[-2000:],
                    }
                    _write_all(report_fd, json.dumps(failure).encode())
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gdcourse.grading.sandbox.host CONTROL_FD`` (started by the client)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m gdcourse.grading.sandbox.host CONTROL_FD (started by the client)")
        return 2
    try:
        _serve(int(args[0]))
    except OSError as error:
        if error.errno != errno.EBADF:
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
