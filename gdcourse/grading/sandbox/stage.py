"""The one step that runs with root's privileges: hand bubblewrap a view it can read, as nobody.

When the grader runs as root, the sandbox must not: a process whose user is
root in the initial user namespace escapes the process limit, and anything
that breaks out of the namespaces would be root. Bubblewrap started as an
ordinary user cannot read a course kept in a folder only root may enter (a
home directory with mode 0700). So this program, started by the client as
root with a JSON argument, does exactly this and nothing more:

1. enters a mount namespace of its own (private: nothing leaks to the machine);
2. opens every folder the sandbox needs (the Python installation, the package),
   mounts a small ``tmpfs`` over ``/tmp`` and binds each folder under a fresh,
   world-readable staging folder there;
3. drops to the sandbox's unprivileged user (all groups, ``no_new_privs``);
4. executes ``bwrap`` with the binds taken from the staging folder.

It is short on purpose: everything else runs unprivileged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from gdcourse.grading.sandbox import linux

__all__ = ["main"]

STAGE = "/tmp/gdcourse-stage"


def main(argv: Sequence[str] | None = None) -> int:  # returns only on a usage error
    """``python -I -m gdcourse.grading.sandbox.stage JSON`` (as root, started by the client)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m gdcourse.grading.sandbox.stage JSON (started by the client)")
        return 2
    if os.geteuid() != 0:
        print(
            "gdcourse.grading.sandbox.stage: only needed (and only run) as root", file=sys.stderr
        )
        return 2
    config = json.loads(args[0])
    binds: list[list[str]] = config["binds"]
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    # opened in the new namespace (a bind's source must belong to it), before /tmp is covered
    handles = [os.open(source, os.O_PATH | os.O_CLOEXEC) for source, _ in binds]
    folders = [os.path.isdir(source) for source, _ in binds]
    linux.mount("tmpfs", "/tmp", "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=1m,mode=755")
    os.mkdir(STAGE, 0o755)
    staged: list[str] = []
    for index, (_, destination) in enumerate(binds):
        handle, folder = handles[index], folders[index]
        target = f"{STAGE}/{index}"
        if folder:
            os.mkdir(target, 0o755)
        else:
            with open(target, "w"):
                pass
        linux.mount(f"/proc/self/fd/{handle}", target, None, linux.MS_BIND | linux.MS_REC)
        os.close(handle)
        staged += ["--ro-bind", target, destination]
    uid, gid = int(config["uid"]), int(config["gid"])
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    linux.no_new_privileges()
    bwrap = config["bwrap"]
    arguments = [*config["before"], *staged, *config["after"], "--", *config["command"]]
    os.execv(bwrap, [bwrap, *arguments])


if __name__ == "__main__":
    sys.exit(main())
