"""A shared exchange with real, separate accounts: no student can reach another's work.

As root (CI), the test creates real Unix accounts (tests/support/accounts.py): an instructor
and a grader in a staff group, five students in a students group, and an account outside the
course. The admin's one-time ``python3 -m gdcourse.exchange setup`` makes the exchange;
everything after runs AS the account concerned, through ``nbgrader`` and the course's
``nbgrader_config.py`` wiring: the instructor releases, three students fetch and submit (one
again while under attack, one after the deadline), and other students try, as themselves, to
list, read, copy, overwrite, rename or delete another's submission or feedback or the
exchange's folders, to guess names, to replace the course's folder, to plant folders and links
where the instructor will write, and to pass work off under another's name or an earlier time.
Each attempt must fail for the right reason (the error the kernel gives, or collect's refusal),
and the data must be intact; the students still resubmit and fetch their own feedback; the
instructor collects the latest submission of each student and releases feedback. No folder of
the exchange is world-readable, and only the drop box is world-writable.

The same harness then shows that README's former advice (a root made with ``chmod ugo+rwx``,
nbgrader's own classes) lets a student take the course's folder over and read a classmate's
submission, and that the course's classes and its setup refuse such an exchange. Two fast tests
check setup itself without accounts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.accounts import Accounts, User, accounts, run_as

from gdcourse.exchange.layout import problems
from gdcourse.exchange.setup import Plan, SetupError, hub_config, setup

ROOT = Path(__file__).resolve().parent.parent
COURSE_ID = "gdcourse"
ASSIGNMENT = "ps1"
STOCK = "nbgrader.exchange.default"

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "answer", "metadata": {},
         "outputs": [], "source": "answer = None"},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}  # fmt: skip

# Run AS the attacker: each attempt, and the error it met ("ok" when it succeeded).
ATTEMPTS = r"""
import errno, json, os, shutil, sys
def attempt(op, *args):
    try:
        if op == "listdir": os.listdir(args[0])
        elif op == "read": open(args[0], "rb").read()
        elif op == "write": open(args[0], "ab").write(b"tampered")
        elif op == "create": open(args[0], "xb").close()
        elif op == "mkdir": os.mkdir(args[0])
        elif op == "rename": os.rename(args[0], args[1])
        elif op == "unlink": os.unlink(args[0])
        elif op == "rmdir": os.rmdir(args[0])
        elif op == "rmtree": shutil.rmtree(args[0])
        elif op == "copytree": shutil.copytree(args[0], args[1])
        elif op == "symlink": os.symlink(args[0], args[1])
        elif op == "link": os.link(args[0], args[1])
        elif op == "chmod": os.chmod(args[0], 0o777)
        elif op == "stat": os.stat(args[0])
        else: raise ValueError(op)
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]
print(json.dumps({label: attempt(*spec) for label, spec in json.load(sys.stdin).items()}))
"""


def _notebook(marker: str) -> str:
    notebook = json.loads(json.dumps(NOTEBOOK))
    notebook["cells"][0]["source"] = f"answer = {marker!r}"
    return json.dumps(notebook)


def _give(path: Path, user: User, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` (folders made as needed) as ``user``'s own file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    for part in [path, *path.parents]:
        if part == user.home or not str(part).startswith(str(user.home)):
            break
        os.chown(part, user.uid, user.gid)


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _tree(path: Path) -> dict[str, str]:
    """Every entry under ``path`` (read as root): its mode, owner and content's digest."""
    found = {}
    for entry in sorted(path.rglob("*")):
        info = entry.lstat()
        digest = hashlib.sha256(entry.read_bytes()).hexdigest() if entry.is_file() else ""
        found[str(entry.relative_to(path))] = f"{info.st_mode:o} {info.st_uid} {digest}"
    return found


def _factory_lines() -> str:
    """The course's ``c.ExchangeFactory.*`` wiring, read from its nbgrader_config.py."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    wiring = dict(config.ExchangeFactory)
    assert set(wiring) == {
        "submit", "fetch_assignment", "fetch_feedback", "list", "release_assignment",
        "collect", "release_feedback",
    }  # fmt: skip
    assert all(value.startswith("gdcourse.exchange.") for value in wiring.values())
    return "".join(f"c.ExchangeFactory.{key} = {value!r}\n" for key, value in wiring.items())


class Round:
    """The accounts, the exchange and the instructor's course of one test module."""

    def __init__(self, made: Accounts, base: Path) -> None:
        self.made, self.base = made, base
        self.root = base / "exchange"
        self.course = made["prof"].home / "course"
        self.inbound = self.root / COURSE_ID / "inbound"
        self.outbound = self.root / COURSE_ID / "outbound"
        self.feedback = self.root / COURSE_ID / "feedback"
        self.duedate = ""

    def nbgrader(
        self, who: str, *args: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_as(self.made[who], ["nbgrader", *args], cwd=cwd, timeout=120)

    def student_submissions(self, who: str) -> list[Path]:
        name = self.made[who].name
        return sorted(p for p in self.inbound.iterdir() if p.name.startswith(f"{name}+"))


@pytest.fixture(scope="module")
def world() -> Iterator[Round]:
    students = ["s1", "s2", "s3", "mallory", "eve"]
    base = Path(tempfile.mkdtemp(prefix="gdx-exchange-"))
    base.chmod(0o755)
    try:
        with accounts(
            ["prof", "grader", *students, "stranger"],  # stranger: an account of another course
            groups={"staff": ["prof", "grader"], "students": students},
        ) as made:
            here = Round(made, base)
            prof = made["prof"]
            _give(
                here.course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                prof,
                _notebook("x"),
            )
            _give(
                here.course / "nbgrader_config.py",
                prof,
                f"c = get_config()\nc.CourseDirectory.course_id = {COURSE_ID!r}\n"
                f"c.CourseDirectory.root = {str(here.course)!r}\n"
                'c.CourseDirectory.release_directory = "exercises"\n'
                f"c.Exchange.root = {str(here.root)!r}\n" + _factory_lines(),
            )
            for who in students:  # the hub's /etc/jupyter/nbgrader_config.py, as setup prints it
                user = made[who]
                _give(
                    user.home / ".jupyter" / "nbgrader_config.py",
                    user,
                    hub_config(here.root, COURSE_ID),
                )
            yield here
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _setup(here: Round, root: Path) -> subprocess.CompletedProcess[str]:
    made = here.made
    return subprocess.run(
        [sys.executable, "-m", "gdcourse.exchange", "setup", "--root", str(root), "--course",
         COURSE_ID, "--instructor", made["prof"].name, "--staff-group", made.groups["staff"],
         "--students-group", made.groups["students"]],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip


def _fetch_edit_submit(here: Round, who: str, marker: str, *, fetch: bool = True) -> str:
    edit = (
        "import pathlib, sys; "
        f"pathlib.Path('{ASSIGNMENT}/{ASSIGNMENT}.ipynb').write_text(sys.stdin.read())"
    )
    steps = [f"nbgrader fetch_assignment {ASSIGNMENT}"] if fetch else []
    steps += [f'python -c "{edit}"', f"nbgrader submit {ASSIGNMENT}"]
    return _ok(run_as(here.made[who], ["sh", "-ec", " && ".join(steps)], input=_notebook(marker)))


def _attempt(user: User, attempts: dict[str, tuple[tuple[object, ...], str]]) -> dict[str, str]:
    """Make each attempt AS ``user``; what each met (an errno name, or "ok")."""
    specs = {label: [str(part) for part in spec] for label, (spec, _) in attempts.items()}
    done = run_as(user, ["python", "-c", ATTEMPTS], input=json.dumps(specs))
    assert done.returncode == 0, done.stderr
    met: dict[str, str] = json.loads(done.stdout)
    return met


def _together(*steps: Callable[[], object]) -> list[object]:
    """Run independent steps (each as its own account) at once: nbgrader takes seconds to start."""
    with ThreadPoolExecutor(len(steps)) as pool:
        return [future.result() for future in [pool.submit(step) for step in steps]]


def _set_duedate(here: Round, when: datetime) -> None:
    """The assignment's deadline, set by the instructor (``nbgrader db assignment add``)."""
    here.duedate = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    add = ("db", "assignment", "add", ASSIGNMENT, f"--duedate={here.duedate}")
    _ok(here.nbgrader("prof", *add, cwd=here.course))


def test_students_cannot_reach_each_others_work(world: Round) -> None:
    here, made = world, world.made
    name = {who: made[who].name for who in made.users}

    # the admin makes the exchange once; again, it changes nothing
    done = _setup(here, here.root)
    assert done.returncode == 0 and "created" in done.stdout, done.stdout + done.stderr
    assert "SecureSubmit" in done.stdout  # it prints the hub's config lines
    again = _setup(here, here.root)
    assert again.returncode == 0 and "nothing to do" in again.stdout, again.stdout

    _ok(here.nbgrader("prof", "release_assignment", ASSIGNMENT, cwd=here.course))
    mallory = made["mallory"]  # she does not fetch: a copy of the notebook will do
    _give(mallory.home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", mallory, _notebook("x"))
    _together(
        lambda: _fetch_edit_submit(here, "s1", "s1-first"),
        lambda: _fetch_edit_submit(here, "s2", "s2-only"),
        lambda: (
            _fetch_edit_submit(here, "mallory", "mallory-own", fetch=False),
            _set_duedate(here, datetime.now(UTC)),
        ),
    )
    duedate = here.duedate
    (victim,) = here.student_submissions("s1")

    course = here.root / COURSE_ID
    before = {p: _tree(p) for p in (victim, here.outbound)}
    own = here.student_submissions("mallory")[0]
    released = here.outbound / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    inbound, feedback, outbound, exchange = here.inbound, here.feedback, here.outbound, here.root
    notebook, stem = f"{ASSIGNMENT}.ipynb", victim.name.rsplit("+", 1)[0]
    future = f"{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC"
    attempts = {  # label: (operation, arguments), expected error
        "list the exchange's root": (("listdir", exchange), "EACCES"),
        "list the course folder": (("listdir", course), "EACCES"),
        "list the inbound folder": (("listdir", inbound), "EACCES"),
        "list the feedback folder": (("listdir", feedback), "EACCES"),
        "rename the course folder away": (("rename", course, exchange / "old"), "EACCES"),
        "make a course folder of one's own": (("mkdir", exchange / "gdcourse2"), "EACCES"),
        "rename inbound to put one's own in its place": (
            ("rename", inbound, course / "old"), "EACCES"),
        "rename outbound": (("rename", outbound, course / "old"), "EACCES"),
        "delete the feedback folder": (("rmdir", feedback), "EACCES"),
        "pre-create the next assignment in outbound": (("mkdir", outbound / "ps2"), "EACCES"),
        "plant a link where the next release goes": (
            ("symlink", mallory.home, outbound / "ps2"), "EACCES"),
        "overwrite the released notebook": (("write", released), "EACCES"),
        "pre-create a feedback page": (("create", feedback / f"{'0' * 32}.html"), "EACCES"),
        "plant a link where feedback goes": (
            ("symlink", "/etc/passwd", feedback / f"{'1' * 32}.html"), "EACCES"),
        "list a known submission": (("listdir", victim), "EACCES"),
        "read a known submission": (("read", victim / notebook), "EACCES"),
        "read a submission's feedback secret": (
            ("read", victim / "submission_secret.txt"), "EACCES"),
        "copy a known submission": (("copytree", victim, mallory.home / "loot"), "EACCES"),
        "overwrite a file of a submission": (("write", victim / notebook), "EACCES"),
        "add a file to a submission": (("create", victim / "extra.ipynb"), "EACCES"),
        "rename a submission": (("rename", victim, inbound / "mine"), "EPERM"),
        "delete a submission": (("rmtree", victim), "EACCES"),
        "unlink a submission": (("rmdir", victim), "EPERM"),
        "open a submission up": (("chmod", victim), "EPERM"),
        "guess a submission's name without its random part": (("stat", inbound / stem), "ENOENT"),
        "guess a submission's random part": (
            ("stat", inbound / f"{stem}+AAAAAAAAAAAA"), "ENOENT"),
        "hard-link the released notebook into one's submission": (
            ("link", released, own / "stolen.ipynb"), "EPERM"),
        "rename one's own submission to another's name": (
            ("rename", own, inbound / f"{name['s2']}+{future}+x"),
            "ok"),  # allowed by the file system; collect refuses it (below)
        "drop a name collect cannot parse": (
            ("mkdir", inbound / f"{name['mallory']}+{ASSIGNMENT}+not a time+x"), "ok"),
        "drop a link to the instructor's course as a submission": (
            ("symlink", here.course, inbound / f"{name['mallory']}+{future}+y"), "ok"),
    }  # fmt: skip
    # as mallory, the attempts on s1's submission; meanwhile s1 submits again, s3 submits after
    # the deadline and eve submits under s3's name (nbgrader submit --student)
    eve = made["eve"]
    _give(eve.home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", eve, _notebook("eve-as-s3"))
    # and an account outside the course reads the release and drops a submission
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    outsider = {
        "list the released assignments, outside the course": (("listdir", outbound), "EACCES"),
        "read the released notebook, outside the course": (("read", released), "EACCES"),
        "drop a submission, outside the course": (
            ("mkdir", inbound / f"{name['stranger']}+{ASSIGNMENT}+{now}+z"),
            "ok"),  # anyone may drop into the box; collect refuses it (below)
    }  # fmt: skip
    met, stranger_met, *_ = _together(
        lambda: _attempt(made["mallory"], attempts),
        lambda: _attempt(made["stranger"], outsider),
        lambda: _fetch_edit_submit(here, "s3", "s3-late"),
        lambda: _ok(here.nbgrader("eve", "submit", ASSIGNMENT, "--student", name["s3"])),
        lambda: _fetch_edit_submit(here, "s1", "s1-second", fetch=False),  # s1 resubmits
    )
    assert isinstance(met, dict)
    assert stranger_met == {label: want for label, (_, want) in outsider.items()}
    wrong = {
        label: (met[label], want) for label, (_, want) in attempts.items() if met[label] != want
    }
    assert not wrong, f"attempts that did not fail as they should (met, wanted): {wrong}"
    assert {p: _tree(p) for p in (victim, here.outbound)} == before

    # the grader (staff, owning nothing) reads a submission
    assert "s1-first" in _ok(run_as(made["grader"], ["cat", str(victim / notebook)]))
    assert len(here.student_submissions("s1")) == 2  # the resubmission went in

    # s3 backdates the late submission (its name and timestamp.txt) after the deadline
    late = next(p for p in here.student_submissions("s3") if p.lstat().st_uid == made["s3"].uid)
    long_ago = "2000-01-01 00:00:00.000000 UTC"
    backdated = inbound / f"{name['s3']}+{ASSIGNMENT}+{long_ago}+{late.name.rsplit('+', 1)[1]}"
    forge = (
        f"import os; os.rename({str(late)!r}, {str(backdated)!r}); "
        f"open({str(backdated / 'timestamp.txt')!r}, 'w').write({long_ago!r})"
    )
    _ok(run_as(made["s3"], ["python", "-c", forge]))

    # the instructor collects the latest genuine submission of each student, and only those
    collected = _ok(here.nbgrader("prof", "collect", ASSIGNMENT, cwd=here.course))
    submitted = here.course / "submitted"
    assert sorted(p.name for p in submitted.iterdir()) == sorted(
        name[w] for w in ("s1", "s2", "s3")
    )
    for who, marker in (("s1", "s1-second"), ("s2", "s2-only"), ("s3", "s3-late")):
        text = (submitted / name[who] / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
        assert marker in text, who
    assert (
        f"claims student '{name['s2']}' but was made by account '{name['mallory']}'" in collected
    )
    assert f"claims student '{name['s3']}' but was made by account '{name['eve']}'" in collected
    assert "cannot be read" in collected and "not a folder" in collected  # the two odd names
    assert f"account '{name['stranger']}' is not in the course's students group" in collected
    late_time = (submitted / name["s3"] / ASSIGNMENT / "timestamp.txt").read_text()
    assert late_time[:19] > duedate[:19], late_time  # backdating did not make it in time

    # feedback: one page per student, released through the exchange, fetched by its student
    for who in ("s1", "s2", "s3"):
        page = here.course / "feedback" / name[who] / ASSIGNMENT
        _give(page / f"{ASSIGNMENT}.html", made["prof"], f"<p>feedback for {who}</p>")
        for receipt in ("timestamp.txt", "submission_secret.txt"):
            shutil.copy(submitted / name[who] / ASSIGNMENT / receipt, page / receipt)
            os.chown(page / receipt, made["prof"].uid, made["prof"].gid)
    _ok(here.nbgrader("prof", "release_feedback", ASSIGNMENT, cwd=here.course))
    pages = sorted(here.feedback.iterdir())
    assert len(pages) == 3
    # each student fetches their own page
    _together(
        *(
            lambda who=who: _ok(here.nbgrader(who, "fetch_feedback", ASSIGNMENT))
            for who in ("s1", "s2", "s3")
        ),
    )
    for who in ("s1", "s2", "s3"):
        fetched = list((made[who].home / ASSIGNMENT / "feedback").rglob("*.html"))
        assert [p.read_text() for p in fetched] == [f"<p>feedback for {who}</p>"], who

    # the feedback pages: not listable, not writable, not findable under another's id
    page_attempts = {
        "list the feedback pages": (("listdir", feedback), "EACCES"),
        "overwrite a feedback page": (("write", pages[0]), "EACCES"),
        "delete a feedback page": (("unlink", pages[0]), "EACCES"),
        "rename a feedback page": (("rename", pages[0], feedback / "x.html"), "EACCES"),
        "guess a page from the released notebook": (
            ("stat", feedback / f"{hashlib.md5(released.read_bytes()).hexdigest()}.html"),
            "ENOENT"),
    }  # fmt: skip
    met = _attempt(made["eve"], page_attempts)
    assert met == {label: want for label, (_, want) in page_attempts.items()}
    assert len(attempts) + len(outsider) + len(page_attempts) + 2 >= 25  # + eve's, s3's

    # no folder world-readable; none world-writable but the drop box; no file world-writable
    # (but for what mallory and stranger dropped in the box: theirs to open up, nobody's to find)
    droppers = {made["mallory"].uid, made["stranger"].uid}
    for path in [here.root, *here.root.rglob("*")]:
        mode = path.lstat().st_mode
        if path.parent == here.inbound and path.lstat().st_uid in droppers:
            continue
        if stat.S_ISDIR(mode):
            assert not mode & stat.S_IROTH, f"{path} {stat.filemode(mode)}"
            if mode & stat.S_IWOTH:
                assert path == here.inbound and mode & stat.S_ISVTX, (
                    f"{path} {stat.filemode(mode)}"
                )
        elif not stat.S_ISLNK(mode):
            assert not mode & stat.S_IWOTH, f"{path} {stat.filemode(mode)}"
            if path.parent.parent == here.inbound:  # a submission's files: the staff only
                assert not mode & stat.S_IROTH, f"{path} {stat.filemode(mode)}"


def test_readmes_former_exchange_is_taken_over_and_refused(world: Round) -> None:
    """chmod ugo+rwx and nbgrader's classes: a student replaces the course folder and reads a
    classmate's submission; the course's classes and its setup refuse that exchange."""
    here, made = world, world.made
    old = here.base / "old"
    old.mkdir()
    old.chmod(0o777)  # README's former advice: mkdir -p ROOT && chmod ugo+rwx ROOT
    stock = [
        f"--Exchange.root={old}",
        f"--ExchangeFactory.release_assignment={STOCK}.release_assignment.ExchangeReleaseAssignment",
        f"--ExchangeFactory.submit={STOCK}.submit.ExchangeSubmit",
        f"--ExchangeFactory.fetch_assignment={STOCK}.fetch_assignment.ExchangeFetchAssignment",
    ]
    _ok(
        here.nbgrader("prof", "release_assignment", ASSIGNMENT, "--force", *stock, cwd=here.course)
    )
    take_over = (
        f"cd {old} && mv {COURSE_ID} .{COURSE_ID} && mkdir -p {COURSE_ID}/inbound && "
        f"cp -r .{COURSE_ID}/outbound {COURSE_ID}/ && chmod -R a+rwX {COURSE_ID}"
    )
    _ok(run_as(made["mallory"], ["sh", "-ec", take_over]))
    victim = made["eve"]
    _give(victim.home / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", victim, _notebook("eve-secret-work"))
    _ok(run_as(victim, ["nbgrader", "submit", ASSIGNMENT, *stock]))
    read = run_as(
        made["mallory"], ["sh", "-c", f"cat {old}/{COURSE_ID}/inbound/*/{ASSIGNMENT}.ipynb"]
    )
    assert "eve-secret-work" in read.stdout  # the attack works on the former exchange

    # the course's classes refuse it: the student's submit, the instructor's collect
    refused, collect = _together(
        lambda: run_as(victim, ["nbgrader", "submit", ASSIGNMENT, f"--Exchange.root={old}"]),
        lambda: here.nbgrader("prof", "collect", ASSIGNMENT, *stock[:1], cwd=here.course),
    )  # fmt: skip
    assert isinstance(refused, subprocess.CompletedProcess)
    assert isinstance(collect, subprocess.CompletedProcess)
    assert refused.returncode != 0
    assert "any student could take over this exchange" in refused.stderr
    assert f"{old} can be changed by every account" in refused.stderr
    assert collect.returncode != 0 and "take over" in collect.stderr
    # and the admin's setup will not adopt a course folder a student made
    done = _setup(here, old)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"is owned by {made['mallory'].name}, neither root nor the instructor" in done.stderr


def _plan(root: Path, **change: str) -> Plan:
    """A setup plan with the system's own accounts (no accounts made: these checks are fast)."""
    names = {"instructor": "nobody", "staff_group": "staff", "students_group": "users", **change}
    return Plan(
        root, COURSE_ID, names["instructor"], names["staff_group"], names["students_group"]
    )


def test_setup_brings_a_former_exchange_to_shape_and_says_so(tmp_path: Path) -> None:
    """An exchange made the former way that no student took over: setup tightens it, keeps
    what it holds (a release, a submission), and a second run changes nothing."""
    base = tmp_path / "srv"
    base.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    root = base / "exchange"
    (root / COURSE_ID / "outbound" / ASSIGNMENT).mkdir(parents=True)
    (root / COURSE_ID / "inbound" / f"ada+{ASSIGNMENT}+t+r").mkdir(parents=True)
    (root / COURSE_ID / "inbound" / f"ada+{ASSIGNMENT}+t+r" / "a.ipynb").write_text("{}")
    root.chmod(0o777)
    (root / COURSE_ID / "inbound" / f"ada+{ASSIGNMENT}+t+r").chmod(0o777)
    assert problems(root, COURSE_ID)  # feedback is missing, the root can be changed by anyone
    done = setup(_plan(root))
    assert any(line.startswith(f"changed {root} from drwxrwxrwx") for line in done), done
    assert any("created" in line and line.split()[1].endswith("feedback") for line in done), done
    assert problems(root, COURSE_ID) == []
    submission = root / COURSE_ID / "inbound" / f"ada+{ASSIGNMENT}+t+r"
    assert stat.S_IMODE(submission.stat().st_mode) == 0o770  # others' permissions taken
    assert (submission / "a.ipynb").read_text() == "{}"
    assert setup(_plan(root)) == [
        f"{root} already has the safe shape for course {COURSE_ID}: nothing to do"
    ]


def test_setup_refuses_what_it_cannot_vouch_for(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone could swap the exchange below it
    with pytest.raises(SetupError, match="above the exchange.* is not root's alone"):
        setup(_plan(shared / "exchange"))
    (tmp_path / "real").mkdir(mode=0o755)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(SetupError, match="not a folder: move it aside"):
        setup(_plan(tmp_path / "link"))
    with pytest.raises(SetupError, match="must differ"):
        setup(_plan(tmp_path / "x", students_group="staff"))
    with pytest.raises(SetupError, match="no such group"):
        setup(_plan(tmp_path / "x", staff_group="gdx-no-such-group"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "real" / COURSE_ID).exists()
