"""One round of an assignment on a real JupyterHub, with real accounts, as README's hub section
sets it up ("Running the course on a JupyterHub").

As root (CI), on this machine, on loopback:

- the student edition (``gdcourse publish``) installed once for everyone, with Debian's
  Python, in a world-readable shared environment (``python3 -m gdcourse.hub env``), and
  configurable-http-proxy from npm (``python3 -m gdcourse.hub proxy``), both cached between
  runs; the exchange made once by ``python3 -m gdcourse.exchange setup``;
- real Unix accounts (an instructor, a teaching assistant, the grader account and 20 students),
  removed afterwards even on failure; the grader holds a copy of the course in ``~/course``
  with its environment (``python3 -m gdcourse.hub grader-env``);
- JupyterHub from the shared environment with the course's ``jupyterhub_config.py``: PAM
  log-in, each server spawned as its user, formgrader a service run by the grader account.

Then one round: the grader releases; one student logs in at the hub's login page in Chromium
and fetches and submits in the Assignment List (which has neither Formgrader nor Create
Assignment); two students' servers are spawned through the hub's API and fetch and submit
through their servers' REST API; the rest fetch and submit as themselves with nbgrader's
Assignment List object; one resubmits, one submits after the deadline; a fetch never
overwrites a student's work; the grader collects and runs ``gdcourse grade`` as itself (an
ordinary user, so grading isolates through bubblewrap); the teaching assistant grades by hand
in formgrader through the hub (a student cannot reach it, and its token holds no admin scope);
the grader releases feedback, students fetch it and the grades are exported.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.accounts import Accounts, User, accounts, run_as
from support.hub import (
    STUDENT_SCRIPT,
    SYSTEM_PYTHON,
    Hub,
    copy_course,
    ended_on_leaving,
    gdcourse_hub,
    http,
    process_environment,
    run_logged,
    running_hub,
    shared_folder,
    solved,
    status_of,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ASSIGNMENT = "ps1_gradients"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
FULL_MARKS = 6.0
COURSE = "gdcourse"
STUDENTS = [f"s{i:02d}" for i in range(1, 21)]
BROWSER, API = "s01", ("s02", "s03")
RESUBMITS, LATE = "s04", "s05"
WRONG = {"s03", "s07", "s10"}  # hand in the notebook as released: zero points
COMMENT = "Well named variables; see the hint on step sizes."
EDITION_PROBE = """\
import gdcourse, importlib.util, sys
print(sys.prefix, importlib.util.find_spec("gdcourse.grading.sandbox"),
      importlib.util.find_spec("gdcourse.grading.autograde"))"""
FEEDBACK_AT_THE_SHELL = (RESUBMITS, LATE, "s06", "s07")
"""Who fetches feedback at the shell (with the browser's and the API's students, enough to see
every kind: full marks, zero, the TA's change, the resubmission, the late one)."""
PASSWORD = "hub-" + os.urandom(8).hex()


def _as(user: User, command: list[str], *, env: Path, cwd: Path | None = None) -> str:
    """``command`` as ``user``, with the shared environment first on PATH (as on the hub)."""
    done = run_as(user, command, cwd=cwd, env={"PATH": f"{env}/bin:/usr/bin:/bin"})
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{user.name}: {' '.join(map(str, command))}:\n{output[-4000:]}"
    return output


def _grader(made: Accounts, command: str, *, env: Path) -> str:
    """README's instructor commands, as the grader account in ~/course with .venv activated."""
    grader = made["grader"]
    script = f"set -euo pipefail\ncd ~/course\nsource .venv/bin/activate\n{command}\n"
    return _as(grader, ["bash", "-c", script], env=env)


def _chromium_login(browser: Any, hub: Hub, user: str) -> Any:
    """Log in at the hub's login page as ``user``; the page, once JupyterLab has loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{re.escape(user)}/lab"), timeout=180_000)
    page.locator("#jp-MainMenu").wait_for(timeout=120_000)
    return page


def _nbgrader_menu(page: Any) -> list[str]:
    """The items of JupyterLab's *Nbgrader* menu, as a student sees them."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile("^Nbgrader$")).click()
    items = page.locator(".lm-Menu-content .lm-Menu-itemLabel")
    items.first.wait_for()
    return [text.strip() for text in items.all_inner_texts() if text.strip()]


def _assignment_list(page: Any) -> None:
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Assignment List$")).click()
    page.wait_for_function(
        "() => { const s = document.querySelector('#course_list_default');"
        f" return s && s.innerText.trim() === '{COURSE}'; }}",
        timeout=60_000,
    )


def _browser_fetch(page: Any) -> None:
    released = page.locator("#released_assignments_list > .list_item", has_text=ASSIGNMENT)
    released.get_by_role("button", name="Fetch").click()
    page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT).wait_for()


def _browser_submit(page: Any) -> None:
    rows = "#submitted_assignments_list .nested_list_item"
    before = page.locator(rows).count()
    fetched = page.locator("#fetched_assignments_list > .list_item", has_text=ASSIGNMENT)
    fetched.get_by_role("button", name="Submit").click()
    page.wait_for_function(
        "([s, n]) => document.querySelectorAll(s).length > n", arg=[rows, before]
    )


def _server_action(hub: Hub, user: str, token: str, action: str) -> Any:
    """Press the Assignment List's ``action`` button through ``user``'s server (REST)."""
    _, text = http(
        f"{hub.url}/user/{user}/assignments/{action}",
        method="POST",
        token=token,
        form={"course_id": COURSE, "assignment_id": ASSIGNMENT},
    )
    reply = json.loads(text)
    assert reply["success"], reply
    return reply


def _page_config(hub: Hub, user: str, token: str) -> dict[str, Any]:
    _, html = http(f"{hub.url}/user/{user}/lab", token=token)
    found = re.search(
        r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.DOTALL
    )
    assert found, html[:2000]
    config: dict[str, Any] = json.loads(found[1])
    return config


def _feedback_total(path: Path) -> str:
    """The feedback page's total line, as text ("Score: 6 of 6 points")."""
    found = re.search(r'<p class="gd-total">(.*?)</p>', path.read_text(encoding="utf-8"))
    assert found, path.read_text(encoding="utf-8")[:2000]
    return re.sub(r"<[^>]+>", "", found[1]).strip()


def test_a_cache_another_account_made_first_is_not_trusted(tmp_path: Path) -> None:
    """The shared environment's cache in /tmp: a folder another account made (with a planted
    environment), one others may write, or a link, is replaced by a fresh folder of root's."""
    if os.geteuid() != 0:
        pytest.fail("the hub test runs as root (CI does): it makes accounts")
    planted = tmp_path / "theirs"
    (planted / "env" / "bin").mkdir(parents=True)
    (planted / "env" / "bin" / "python3").write_text("#!/bin/sh\n")
    os.chown(planted, 4242, 4242)
    made = shared_folder(planted)
    assert made.stat().st_uid == 0 and list(made.iterdir()) == []
    assert made.stat().st_mode & 0o777 == 0o755
    writable = tmp_path / "writable"
    writable.mkdir(mode=0o777)
    writable.chmod(0o777)
    (writable / "env").mkdir()
    assert list(shared_folder(writable).iterdir()) == []
    link = tmp_path / "link"
    link.symlink_to(planted)
    assert shared_folder(link).is_dir() and not link.is_symlink()
    kept = shared_folder(tmp_path / "ours")
    (kept / "env").mkdir()
    assert [p.name for p in shared_folder(kept).iterdir()] == ["env"]  # root's own is kept


def test_a_round_on_a_jupyterhub() -> None:
    from browser import running_chromium

    timings: dict[str, float] = {}
    started = time.monotonic()
    # every account must reach the exchange, the hub's copy of the work files and the edition:
    # a world-traversable folder (pytest's own are root's alone)
    base = Path(tempfile.mkdtemp(prefix="gdcourse-hub-run-"))
    base.chmod(0o755)
    try:
        _round(base, timings, running_chromium)
    finally:
        shutil.rmtree(base, ignore_errors=True)
        timings["total"] = time.monotonic() - started
        print("hub round timings (s):", {k: round(v, 1) for k, v in timings.items()})


def _round(base: Path, timings: dict[str, float], running_chromium: Any) -> None:
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[name] = now - clock
        clock = now

    # ------------------------------------------------ the admin's one-time set-up (README)
    edition = base / "edition"
    run_logged([SYSTEM_PYTHON, "-m", "gdcourse", "publish", str(edition)])
    lap("publish")
    shared = shared_folder()
    env, proxy, exchange = shared / "env", shared / "proxy", base / "exchange"
    gdcourse_hub("env", env, "--edition", edition, "--exchange", exchange)
    lap("shared environment")
    gdcourse_hub("proxy", proxy)
    lap("proxy")
    people = ["instructor", "ta", "grader", *STUDENTS]
    groups = {
        "course": ["instructor", "ta", *STUDENTS],  # who may log in at the hub
        "staff": ["instructor", "ta", "grader"],
        "students": STUDENTS,
    }
    with accounts(people, groups) as made, ended_on_leaving(made):
        lap("accounts")
        names = {short: made[short].name for short in people}
        run_logged(
            [
                SYSTEM_PYTHON,
                "-m",
                "gdcourse.exchange",
                "setup",
                "--root",
                str(exchange),
                "--course",
                COURSE,
                "--instructor",
                names["grader"],
                "--staff-group",
                made.groups["staff"],
                "--students-group",
                made.groups["students"],
            ]
        )
        grader = made["grader"]
        course = copy_course(base / "course-repository")
        # README: the grader clones the course (here a copy of this checkout, the grader's)
        run_logged(["chown", "-R", f"{grader.uid}:{grader.gid}", str(course)])
        _as(grader, ["git", "clone", "-q", str(course), str(grader.home / "course")], env=env)
        _as(
            grader,
            [
                SYSTEM_PYTHON,
                "-m",
                "gdcourse.hub",
                "grader-env",
                "--shared",
                str(env),
                "--exchange",
                str(exchange),
            ],
            env=env,
            cwd=grader.home / "course",
        )
        lap("grader's course and environment")
        subprocess.run(["chpasswd"], input=f"{names[BROWSER]}:{PASSWORD}\n", text=True, check=True)
        settings = {
            "GDCOURSE_HUB_GROUP": made.groups["course"],
            "GDCOURSE_HUB_GRADER": names["grader"],
            "GDCOURSE_HUB_FORMGRADERS": f"{names['instructor']},{names['ta']}",
        }
        with running_hub(base / "hub", env=env, proxy=proxy, settings=settings) as hub:
            lap("hub started")
            try:
                _play(hub, made, names, base, env, timings, running_chromium, lap)
            except BaseException:  # what the hub, its servers and the service said
                print(f"jupyterhub's log at the failure:\n{hub.log_tail(200)}")
                raise


def _play(
    hub: Hub,
    made: Accounts,
    names: dict[str, str],
    base: Path,
    env: Path,
    timings: dict[str, float],
    running_chromium: Any,
    lap: Any,
) -> None:
    grader = made["grader"]
    course_dir = grader.home / "course"

    # the formgrader service: run by the grader account, with no admin scope on the hub
    service = hub.api("services/formgrader")
    assert service["roles"] == [], service  # the hub gives a service no role unless told
    held = process_environment(grader.uid, "JUPYTERHUB_API_TOKEN")
    assert held.get("JUPYTERHUB_SERVICE_NAME") == "formgrader", held.get("JUPYTERHUB_SERVICE_NAME")
    _, whoami = http(f"{hub.url}/hub/api/user", token=held["JUPYTERHUB_API_TOKEN"])
    scopes = json.loads(whoami)["scopes"]
    assert not [s for s in scopes if s.startswith("admin") or s in ("tokens", "servers")], scopes

    # a released notebook, solved and unsolved, that students copy in as their work
    master = course_dir / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    released = course_dir / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    work = base / "work"
    work.mkdir(mode=0o755)
    (work / "right.ipynb").write_text(json.dumps(solved(master, released)), encoding="utf-8")
    (work / "unsolved.ipynb").write_text(released.read_text(encoding="utf-8"), encoding="utf-8")
    for file in work.iterdir():
        file.chmod(0o644)
    lister = work / "assignment_list.py"
    lister.write_text(STUDENT_SCRIPT, encoding="utf-8")
    lister.chmod(0o644)

    def answer(short: str) -> Path:
        return work / ("unsolved.ipynb" if short in WRONG else "right.ipynb")

    _grader(made, f"nbgrader release_assignment {ASSIGNMENT}", env=env)
    lap("release")

    with running_chromium() as browser:
        # one student in the browser: log in, the Nbgrader menu, fetch
        page = _chromium_login(browser, hub, names[BROWSER])
        menu = _nbgrader_menu(page)
        assert "Assignment List" in menu, menu
        assert not {"Formgrader", "Create Assignment", "Course List"} & set(menu), menu
        _assignment_list(page)
        _browser_fetch(page)
        student = made[BROWSER]
        fetched = student.home / NOTEBOOK
        assert fetched.is_file() and fetched.stat().st_uid == student.uid
        _as(student, ["cp", str(answer(BROWSER)), str(fetched)], env=env)
        _browser_submit(page)
        lap("browser student: log in, fetch, submit")

        # two students through the hub's API: their servers, then the Assignment List's REST
        tokens = {short: hub.token_for(names[short]) for short in (*API, "ta")}
        for short in API:
            hub.start_server(names[short])
        lap("two servers spawned through the API")
        for short in API:
            name, token = names[short], tokens[short]
            config = _page_config(hub, name, token)
            disabled = config.get("disabledExtensions", [])
            for plugin in ("formgrader", "create-assignment", "course-list"):
                assert f"@jupyter/nbgrader:{plugin}" in disabled, disabled
            assert status_of(f"{hub.url}/user/{name}/formgrader", token=token) == 404
            assert (
                status_of(f"{hub.url}/user/{name}/formgrader/api/assignments", token=token) == 404
            )
            # the formgrader service is the staff's: the hub refuses a student's token
            assert (
                status_of(f"{hub.url}/services/formgrader/formgrader/api/assignments", token=token)
                == 403
            )
            _server_action(hub, name, token, "fetch")
            _as(made[short], ["cp", str(answer(short)), str(made[short].home / NOTEBOOK)], env=env)
            _server_action(hub, name, token, "submit")
        lap("two students through their servers")

        # the others as themselves, with the object behind the Assignment List's buttons
        python = str(env / "bin" / "python")

        def cli(short: str, *steps: str) -> str:
            """As the student, in one process: Assignment List actions (fetch, submit,
            fetch_feedback) and notebooks copied in as their work, in order."""
            user = made[short]
            return _as(user, [python, str(lister), str(user.home), ASSIGNMENT, *steps], env=env)

        others = [s for s in STUDENTS if s not in (BROWSER, *API, LATE)]
        first = {s: (work / "unsolved.ipynb" if s == RESUBMITS else answer(s)) for s in others}
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda s: cli(s, "fetch", str(first[s]), "submit"), others))
        lap(f"{len(others)} students fetch and submit")

        # a student's kernel imports the student edition, installed once for everyone: no
        # grader in it; and a student cannot enter the grader's course
        last = made[STUDENTS[-1]]
        said = _as(last, [python, "-c", EDITION_PROBE], env=env)
        assert said.split() == [str(env), "None", "None"], said
        assert run_as(last, ["ls", str(course_dir)]).returncode != 0

        # a fetch never overwrites a student's work: released again, fetched again
        mine = made[RESUBMITS].home / NOTEBOOK
        before = mine.read_bytes()
        _grader(made, f"nbgrader release_assignment {ASSIGNMENT} --force", env=env)
        refused = run_as(
            made[RESUBMITS],
            [python, str(lister), str(made[RESUBMITS].home), ASSIGNMENT, "fetch"],
            env={"PATH": f"{env}/bin:/usr/bin:/bin"},
        )
        assert refused.returncode == 1, refused
        assert "You already have a copy of the assignment" in refused.stdout, refused.stdout
        assert mine.read_bytes() == before
        # the resubmission: the right answer this time
        cli(RESUBMITS, str(answer(RESUBMITS)), "submit")

        # the deadline passes; one student submits after it
        # (rounded up to the second: rounded down, a submission made in the same second just
        # before it would count as late)
        deadline = (datetime.now(UTC) + timedelta(seconds=1)).replace(microsecond=0)
        stamp = deadline.strftime("%Y-%m-%d %H:%M:%S UTC")
        time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 1.5)
        cli(LATE, "fetch", str(answer(LATE)), "submit")
        lap("resubmission, late submission")

        # the grader: deadline, collect, grade (as itself: bubblewrap, no root)
        _grader(made, f"nbgrader db assignment add {ASSIGNMENT} --duedate='{stamp}'", env=env)
        _grader(made, f"nbgrader collect {ASSIGNMENT}", env=env)
        graded = _grader(made, f"python3 -m gdcourse grade {ASSIGNMENT}", env=env)
        assert "WITHOUT isolation" not in graded, graded[-3000:]
        lap("collect and grade")

        # the teaching assistant, in formgrader through the hub, with the TA's own token
        formgrader = f"{hub.url}/services/formgrader/formgrader/api"
        ta = tokens["ta"]
        _, text = http(f"{formgrader}/submission/{ASSIGNMENT}/{names['s06']}", token=ta)
        notebooks = json.loads(text)
        _, text = http(f"{formgrader}/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}", token=ta)
        submission = next(n for n in json.loads(text) if n["student"] == names["s06"])
        _, text = http(f"{formgrader}/comments?submission_id={submission['id']}", token=ta)
        comment = next(c for c in json.loads(text) if c["name"] == "numerical_gradient")
        http(
            f"{formgrader}/comment/{comment['id']}",
            method="PUT",
            token=ta,
            body={"manual_comment": COMMENT},
        )
        _, text = http(f"{formgrader}/grades?submission_id={submission['id']}", token=ta)
        grade = next(g for g in json.loads(text) if g["name"] == "test_numerical_gradient_hidden")
        http(
            f"{formgrader}/grade/{grade['id']}",
            method="PUT",
            token=ta,
            body={"manual_score": grade["max_score"] - 1, "extra_credit": None},
        )
        assert notebooks, notebooks
        lap("teaching assistant in formgrader")

        # feedback: generated again after the TA's grading, released, fetched by each student
        _grader(
            made,
            f"nbgrader generate_feedback {ASSIGNMENT} --student {names['s06']} --force",
            env=env,
        )
        _grader(made, f"nbgrader release_feedback {ASSIGNMENT}", env=env)
        page.locator("#refresh_assignments_list").click()
        submitted = page.locator("#submitted_assignments_list > .list_item", has_text=ASSIGNMENT)
        submitted.get_by_role("button", name="Fetch Feedback").click()
        page.locator("#submitted_assignments_list a", has_text="view feedback").first.wait_for()
        for short in API:
            _server_action(hub, names[short], tokens[short], "fetch_feedback")
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda s: cli(s, "fetch_feedback"), FEEDBACK_AT_THE_SHELL))
        lap("feedback released and fetched")

    # what each student got back, in their own home
    def feedback(short: str) -> Path:
        pages = sorted((made[short].home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert pages, f"{short} has no feedback"
        return pages[-1]

    for short in (BROWSER, *API, *FEEDBACK_AT_THE_SHELL):
        page_file = feedback(short)
        assert page_file.stat().st_uid == made[short].uid
        expected = 0.0 if short in WRONG else FULL_MARKS - (1 if short == "s06" else 0)
        total = _feedback_total(page_file)
        assert total.startswith(f"Score: {expected:g} of {FULL_MARKS:g} points"), (short, total)
    assert COMMENT in feedback("s06").read_text(encoding="utf-8")

    # the grades, exported by the grader
    _grader(made, "nbgrader export", env=env)
    rows = list(csv.DictReader(io.StringIO((course_dir / "reports" / "grades.csv").read_text())))
    scores = {row["student_id"]: float(row["score"]) for row in rows}
    assert set(scores) == {names[s] for s in STUDENTS}, scores
    assert scores[names["s06"]] == FULL_MARKS - 1 and scores[names[RESUBMITS]] == FULL_MARKS
    late = {row["student_id"]: row["timestamp"] > row["duedate"] for row in rows}
    assert [n for n, is_late in late.items() if is_late] == [names[LATE]], rows
