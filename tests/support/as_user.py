"""Run a command as an ordinary user who can reach this checkout, as a shared hub's instructor.

Used by tests/test_unprivileged.py when the suite runs as root (as CI does): the
attack suite is run again as a user with no privileges, who owns nothing but a
home folder. CI keeps the checkout in a folder only root may enter (mode 0700)
and Python under /root; this script, run as root, gives the command a private
mount namespace in which each such folder on the way is covered by a small
world-readable tmpfs holding just the paths the command needs, bound back from
the real ones. Nothing on the machine changes: the namespace ends with the
command.

Usage: ``python as_user.py UID HOME PATH[:PATH...] -- COMMAND...``
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gdcourse.grading.sandbox import linux


def _blocked_ancestor(path: Path) -> Path | None:
    """The highest folder above ``path`` that others cannot enter, if any."""
    blocked = None
    for ancestor in reversed(path.parents):
        if ancestor == Path("/"):
            continue
        if not ancestor.stat().st_mode & stat.S_IXOTH:
            blocked = ancestor
            break
    return blocked


def expose(paths: list[Path]) -> None:
    """Give this process (root) a private mount namespace in which others can reach ``paths``.

    Also used by tests/support/accounts.py, whose users keep their groups.
    """
    linux.unshare(linux.CLONE_NEWNS)
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    handles = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths}
    covers: dict[Path, list[Path]] = {}
    for path in paths:
        blocked = _blocked_ancestor(path)
        if blocked is not None:
            covers.setdefault(blocked, []).append(path)
    for folder, inside in sorted(covers.items(), key=lambda item: len(str(item[0]))):
        linux.mount("tmpfs", str(folder), "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "mode=755")
        for path in inside:
            path.mkdir(parents=True, exist_ok=True)
            for part in [path, *path.parents]:
                if part == folder:
                    break
                os.chmod(part, 0o755)
            linux.mount(
                f"/proc/self/fd/{handles[path]}", str(path), None, linux.MS_BIND | linux.MS_REC
            )


def main(argv: list[str]) -> int:
    separator = argv.index("--")
    uid, home, paths = int(argv[0]), argv[1], [Path(p).resolve() for p in argv[2].split(":")]
    command = argv[separator + 1 :]
    expose(paths)
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    os.chdir(home)
    env = {
        "HOME": home,
        "USER": "gdcourse-ci",
        "LOGNAME": "gdcourse-ci",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
    }
    os.execvpe(command[0], command, env)
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
