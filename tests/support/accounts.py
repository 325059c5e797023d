"""Real Unix accounts for tests of what one account can do to another (the suite runs as root).

:func:`accounts` creates users and groups with unique names (``gdx<tag>-<name>``) and home
folders of their own (mode 0700), and removes them afterwards, homes included, even when the
test fails. :func:`run_as` runs a command as one of them: its own uid, primary group and
supplementary groups (``initgroups``), a clean environment, its home as working folder. CI keeps
the checkout and Python in folders that no other account may enter (a mode-0700 clone, Python
under ``/root``); the command runs in a private mount namespace in which just those paths are
reachable (tests/support/as_user.py's :func:`expose`), and nothing on the machine changes.

Used by tests/test_exchange_accounts.py and benchmarks/deadline.py::

    with accounts(["ada", "alan"], groups={"students": ["ada", "alan"]}) as made:
        done = run_as(made["ada"], ["id", "-Gn"])
        assert made.groups["students"] in done.stdout.split()
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.base_prefix).resolve()
REACHABLE = (ROOT, PYTHON)
"""What a command run as a user can always reach: this checkout (with its ``.venv``) and the
Python installation the ``.venv`` is made from."""

SEPARATOR = "--"


@dataclass(frozen=True)
class User:
    """One account :func:`accounts` made."""

    name: str
    """Its login name (``gdx<tag>-<short name>``)."""
    uid: int
    gid: int
    """Its primary group (of its own name)."""
    home: Path


@dataclass(frozen=True)
class Accounts:
    """The users and groups :func:`accounts` made, by the short names it was given."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    """Short group name to the real group name."""

    def __getitem__(self, short: str) -> User:
        return self.users[short]


def _shadow(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run useradd, userdel, groupadd or groupdel; again while another process (a test on the
    other worker) holds the lock on /etc/passwd or /etc/group: they fail rather than wait."""
    for attempt in range(60):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0 or "lock" not in done.stderr.lower():
            break
        time.sleep(0.05 + 0.01 * attempt)
    return done


def _run(command: Sequence[str]) -> None:
    done = _shadow(command)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")


@contextmanager
def accounts(
    users: Iterable[str],
    groups: Mapping[str, Iterable[str]] | None = None,
    *,
    prefix: str = "gdx",
) -> Iterator[Accounts]:
    """Create ``users`` (short names) and ``groups`` (short name to member short names) as real
    accounts; remove them all on leaving, even after an error. Needs root."""
    if os.geteuid() != 0:
        raise PermissionError("creating accounts needs root (CI runs the suite as root)")
    tag = f"{prefix}{secrets.token_hex(3)}-"
    users, groups = list(users), {g: list(m) for g, m in (groups or {}).items()}
    for short in [*users, *groups]:
        if not short or len(tag + short) > 32 or not (tag + short).replace("-", "").isalnum():
            raise ValueError(f"account name {short!r}: letters and digits, 32 characters in all")
    unknown = {m for members in groups.values() for m in members} - set(users)
    if unknown:
        raise ValueError(f"group members that are not among the users: {sorted(unknown)}")
    made = Accounts()
    made_users: list[str] = []
    made_groups: list[str] = []
    try:
        for short in groups:
            _run(["groupadd", tag + short])
            made_groups.append(tag + short)
            made.groups[short] = tag + short
        for short in users:
            name = tag + short
            member_of = [made.groups[g] for g, members in groups.items() if short in members]
            command = ["useradd", "--create-home", "--user-group", "--shell", "/bin/sh"]
            _run([*command, *(["--groups", ",".join(member_of)] if member_of else []), name])
            made_users.append(name)
            entry = pwd.getpwnam(name)
            home = Path(entry.pw_dir)
            os.chmod(home, 0o700)
            made.users[short] = User(name, entry.pw_uid, entry.pw_gid, home)
        yield made
    finally:
        errors = []
        for name in reversed(made_users):
            done = _shadow(["userdel", "--force", "--remove", name])
            if done.returncode not in (0, 12):  # 12: the home could not be removed (reported)
                errors.append(f"userdel {name}: {done.stderr}")
        for name in reversed(made_groups):
            done = _shadow(["groupdel", name])
            if done.returncode != 0:
                errors.append(f"groupdel {name}: {done.stderr}")
        if errors:
            raise RuntimeError("could not remove every test account:\n" + "\n".join(errors))


def run_as(
    user: User,
    command: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    reach: Iterable[str | os.PathLike[str]] = (),
    timeout: float = 300,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` as ``user`` and return what it did (never raises on a non-zero exit).

    The environment holds ``HOME``, ``USER``, ``LOGNAME``, ``PATH`` (this checkout's
    ``.venv/bin`` first), ``LANG`` and ``env``; nothing of the caller's. ``reach`` adds paths
    the command must reach besides :data:`REACHABLE` (only needed inside a folder that others
    cannot enter). The working folder is ``cwd``, else the user's home.
    """
    variables = {
        "HOME": str(user.home),
        "USER": user.name,
        "LOGNAME": user.name,
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        **(env or {}),
    }
    paths = ":".join(str(Path(p).resolve()) for p in [*REACHABLE, *reach])
    wrapper = [
        sys.executable,
        str(Path(__file__).resolve()),
        user.name,
        str(cwd if cwd is not None else user.home),
        paths,
        *(f"{key}={value}" for key, value in variables.items()),
        SEPARATOR,
        *(str(part) for part in command),
    ]
    return subprocess.run(
        wrapper,
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        input=input,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
    )


def _become(argv: list[str]) -> None:
    """``accounts.py USER CWD PATHS [KEY=VALUE ...] -- COMMAND...``, as root: expose PATHS,
    become USER with its groups, and run COMMAND in CWD."""
    separator = argv.index(SEPARATOR)
    name, cwd, paths = argv[0], argv[1], [Path(p) for p in argv[2].split(":")]
    variables = dict(item.split("=", 1) for item in argv[3:separator])
    command = argv[separator + 1 :]
    from as_user import expose  # tests/support/, this script's folder

    entry = pwd.getpwnam(name)
    expose(paths)
    os.initgroups(name, entry.pw_gid)
    os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
    os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    os.chdir(cwd)
    os.execvpe(command[0], command, variables)


if __name__ == "__main__":
    _become(sys.argv[1:])
