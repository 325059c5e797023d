"""A real JupyterHub on loopback for tests/test_hub.py, set up as README's hub section says.

The shared environment and the proxy are cached in :data:`SHARED` (world-readable; the
environment is made again only when ``constraints.txt``, ``pyproject.toml`` or the edition's
``requirements.txt`` change, by ``python3 -m gdcourse.hub env`` itself), so a machine pays
the install once. Everything else (the edition, the exchange, the hub's state, the accounts'
homes) belongs to one run and is removed with it.

The hub loads the course's ``gdcourse/hub/jupyterhub_config.py`` unchanged (a root-owned
copy, as README tells the admin to make) plus one thing the test needs and an admin does
not: a service ``gdcourse-test`` whose token may start servers and make tokens for users,
so that the test can act as each of them through the hub's API.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
SHARED = Path(tempfile.gettempdir()) / "gdcourse-hub"
"""Kept between runs: ``env/`` (the shared environment) and ``proxy/`` (npm's folder)."""
DRIVER = "gdcourse-test"
DRIVER_SCOPES = [
    "admin:users",
    "admin:servers",
    "tokens",
    "list:services",
    "read:services",
    "read:roles",
]


def run_logged(command: list[str], *, cwd: Path = ROOT, timeout: float = 900) -> str:
    """Run ``command`` as root; its output, or an AssertionError that shows its end."""
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output[-5000:]}"
    return output


def gdcourse_hub(*arguments: str | os.PathLike[str], timeout: float = 900) -> str:
    """``python3 -m gdcourse.hub ...`` (Debian's Python) from the checkout, as README runs it."""
    return run_logged([SYSTEM_PYTHON, "-m", "gdcourse.hub", *map(str, arguments)], timeout=timeout)


def shared_folder(folder: Path = SHARED) -> Path:
    """The hub's environment cache, root's and written by root alone. In the machine's shared
    temporary folder another account could have made it first (or a link in its place) with an
    environment of its own in it, which root would then run: anything there that is not a
    folder of root's that only root can write is removed, not trusted, and made again."""
    with contextlib.suppress(FileNotFoundError):
        info = folder.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            folder.unlink()
        elif info.st_uid != 0 or info.st_mode & 0o022:
            shutil.rmtree(folder)
    folder.mkdir(mode=0o755, exist_ok=True)
    folder.chmod(0o755)
    return folder


class HTTPError(AssertionError):
    def __init__(self, status: int, url: str, body: str) -> None:
        super().__init__(f"HTTP {status} from {url}: {body[:500]}")
        self.status = status


def http(
    url: str,
    *,
    method: str = "GET",
    token: str | None = None,
    body: Any = None,
    form: Mapping[str, str] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = 120,
) -> tuple[int, str]:
    """One HTTP request; ``(status, text)``. A status of 400 or more raises :class:`HTTPError`."""
    headers = {"Authorization": f"token {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urlencode(form).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=timeout) as reply:
            return reply.status, reply.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        raise HTTPError(error.code, url, error.read().decode(errors="replace")) from None


def status_of(url: str, *, token: str | None = None) -> int:
    """The status a GET of ``url`` answers, without following a redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    try:
        return http(url, token=token, opener=urllib.request.build_opener(NoRedirect))[0]
    except HTTPError as error:
        return error.status


@dataclass
class Hub:
    """A running hub: its public address, the test's own token, its log."""

    url: str
    token: str
    log: Path
    process: subprocess.Popen[bytes]
    env: Path
    extra: dict[str, Any] = field(default_factory=dict)

    def api(self, path: str, *, method: str = "GET", body: Any = None) -> Any:
        """The hub's REST API (``/hub/api/PATH``) with the test's token; decoded JSON."""
        _, text = http(f"{self.url}/hub/api/{path}", method=method, token=self.token, body=body)
        return json.loads(text) if text else None

    def token_for(self, user: str) -> str:
        """A new API token of ``user``, with that user's own permissions (the hub's default).
        The hub learns of a user at their first log-in; one who has not logged in yet is added
        first (as the admin page's *Add Users* does)."""
        with contextlib.suppress(HTTPError):  # 409: the hub knows them already
            self.api(f"users/{user}", method="POST")
        made = self.api(f"users/{user}/tokens", method="POST", body={"note": "tests/test_hub.py"})
        return str(made["token"])

    def start_server(self, user: str, *, timeout: float = 180) -> None:
        """Spawn ``user``'s single-user server (as that account) and wait until it is ready."""
        with contextlib.suppress(HTTPError):  # 400: already running
            self.api(f"users/{user}/server", method="POST")
        deadline = time.monotonic() + timeout
        while True:
            model = self.api(f"users/{user}")
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{user}'s server did not start:\n{self.log_tail()}")
            time.sleep(0.5)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _wait_for_hub(hub: Hub, timeout: float) -> None:
    """Until the hub answers its API and the formgrader service answers on its own port."""
    deadline = time.monotonic() + timeout
    for url in (f"{hub.url}/hub/api/", f"{hub.extra['formgrader']}/services/formgrader/api"):
        while True:
            if hub.process.poll() is not None:
                raise RuntimeError(
                    f"jupyterhub exited ({hub.process.returncode}):\n{hub.log_tail()}"
                )
            try:
                http(url, timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, HTTPError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no answer from {url} within {timeout} s:\n{hub.log_tail()}")
            time.sleep(0.5)


def free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_hub(
    state: Path, *, env: Path, proxy: Path, settings: Mapping[str, str], timeout: float = 120
) -> Iterator[Hub]:
    """Run ``ENV/bin/jupyterhub`` as root with the course's configuration (copied into
    ``state``, root's, 0700) and the ``GDCOURSE_HUB_*`` ``settings``; stop it, with every server
    and service it started, on leaving."""
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copy(ROOT / "gdcourse" / "hub" / "jupyterhub_config.py", state / "course_config.py")
    token = secrets.token_hex(32)
    (state / "jupyterhub_config.py").write_text(
        f"""load_subconfig({str(state / "course_config.py")!r})
c.JupyterHub.services = [*c.JupyterHub.services, {{"name": {DRIVER!r}, "api_token": {token!r}}}]
c.JupyterHub.load_roles = [*c.JupyterHub.load_roles,
    {{"name": {DRIVER!r}, "services": [{DRIVER!r}], "scopes": {DRIVER_SCOPES!r}}}]
""",
        encoding="utf-8",
    )
    ports = {
        "PORT": free_port(),
        "API_PORT": free_port(),
        "PROXY_API_PORT": free_port(),
        "FORMGRADER_PORT": free_port(),
    }
    variables = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "GDCOURSE_HUB_ENV": str(env),
        "GDCOURSE_HUB_PROXY": str(proxy),
        "GDCOURSE_HUB_STATE": str(state),
        "GDCOURSE_HUB_IP": "127.0.0.1",
        **{f"GDCOURSE_HUB_{key}": str(value) for key, value in ports.items()},
        **settings,
    }
    log = state / "jupyterhub.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(env / "bin" / "jupyterhub"), "-f", str(state / "jupyterhub_config.py")],
            cwd=state,
            env=variables,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(f"http://127.0.0.1:{ports['PORT']}", token, log, process, env)
    hub.extra["formgrader"] = f"http://127.0.0.1:{ports['FORMGRADER_PORT']}"
    try:
        _wait_for_hub(hub, timeout)
        yield hub
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets the hub stop every server and service it started (cleanup_servers)
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    with contextlib.suppress(ProcessLookupError):  # the proxy, should it outlive the hub
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)


@contextlib.contextmanager
def ended_on_leaving(made: Any) -> Iterator[None]:
    """On leaving, kill (by pid) any process still running as one of the accounts ``made``
    (tests/support/accounts.py): a server or kernel the hub could not stop, should it have
    died, must not keep an account from being removed."""
    try:
        yield
    finally:
        uids = {user.uid for user in made.users.values()}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if entry.stat().st_uid in uids:
                        os.kill(int(entry.name), signal.SIGKILL)


def process_environment(uid: int, name: str) -> dict[str, str]:
    """The environment of the running process of ``uid`` that has ``name=...`` in it."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != uid:
                continue
            raw = (entry / "environ").read_bytes().split(b"\0")
            variables = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
            if name in variables:
                return variables
    raise LookupError(f"no process of uid {uid} has {name} in its environment")


def copy_course(destination: Path) -> Path:
    """``destination``: what this checkout would commit (its tracked and new files), as a git
    repository: the course the grader account clones."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=destination, check=True)
    subprocess.run([*git, "add", "-A"], cwd=destination, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "course"], cwd=destination, check=True)
    return destination


STUDENT_SCRIPT = """\
# A student at JupyterLab's Assignment List, without the browser (tests/support/hub.py):
# python STUDENT_SCRIPT HOME ASSIGNMENT STEP...; a step is fetch, submit, fetch_feedback (the
# list's buttons, nbgrader's own AssignmentList behind them) or a notebook copied in as the work.
import json, shutil, sys
from pathlib import Path
from nbgrader.server_extensions.assignment_list.handlers import AssignmentList
root, assignment, *steps = sys.argv[1:]
tab = AssignmentList()
tab.root_dir = root
buttons = {"fetch": tab.fetch_assignment, "submit": tab.submit_assignment,
           "fetch_feedback": tab.fetch_feedback}
for step in steps:
    if step not in buttons:
        shutil.copy(step, Path(root) / assignment / f"{assignment}.ipynb")
        continue
    reply = buttons[step]("gdcourse", assignment)
    print(step, json.dumps(reply, default=str), flush=True)
    if not reply.get("success"):
        sys.exit(1)
"""


def solved(master: Path, released: Path) -> dict[str, Any]:
    """The released notebook with every solution cell as the master has it, without nbgrader's
    markers: a student's complete, right answer."""
    markers = {"### BEGIN SOLUTION", "### END SOLUTION"}
    answers = {
        cell["id"]: "\n".join(
            line for line in "".join(cell["source"]).splitlines() if line.strip() not in markers
        )
        for cell in json.loads(master.read_text(encoding="utf-8"))["cells"]
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    notebook: dict[str, Any] = json.loads(released.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell.get("id") in answers:
            cell["source"] = answers[cell["id"]]
    return notebook
