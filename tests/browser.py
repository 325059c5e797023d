"""Helpers for the browser tests: Debian's headless Chromium, an offline page, a Jupyter server.

Shared by the tests that drive a browser (the widgets' live test, the book's
static-site test). Playwright for Python drives the system's ``/usr/bin/chromium``;
no browser is ever downloaded, and :func:`block_external_requests` makes every
request that leaves the machine fail, so a page that works here works offline.

>>> is_local_url("http://127.0.0.1:8888/lab"), is_local_url("https://cdn.example.org/x.js")
(True, False)
>>> is_local_url("data:image/png;base64,AAAA"), is_local_url("blob:http://localhost:1/ab")
(True, True)
>>> is_local_url("file:///srv/site/index.html")
True
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def launch_chromium(playwright: Any) -> Any:
    """Launch Debian's Chromium headless with Playwright (``playwright.chromium.launch``)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(
            f"the browser tests need Chromium at {CHROMIUM}: "
            "install it with 'apt-get install -y chromium'"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
    )


@contextlib.contextmanager
def running_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless (:func:`launch_chromium`), for the ``with`` block."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


def is_local_url(url: str) -> bool:
    """True for URLs that never leave the machine: loopback, ``file:``, ``data:``, ``blob:``..."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return parts.hostname is not None and (
        parts.hostname in LOCAL_HOSTS or f"[{parts.hostname}]" in LOCAL_HOSTS
    )


def block_external_requests(target: Any) -> list[str]:
    """Abort every request of ``target`` (a Playwright page or context) that is not local.

    Returns the list that collects the blocked URLs, so a test can show or check them.
    """
    blocked: list[str] = []

    def handle(route: Any) -> None:
        url = route.request.url
        if is_local_url(url):
            route.continue_()
        else:
            blocked.append(url)
            route.abort("blockedbyclient")

    target.route("**/*", handle)
    return blocked


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A running Jupyter server (JupyterLab 4, with Notebook 7 on the same port)."""

    root: Path
    port: int
    token: str
    process: subprocess.Popen[bytes]
    log: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """``base_url/path`` with the token as a query parameter."""
        separator = "&" if "?" in path else "?"
        return f"{self.base_url}/{path.lstrip('/')}{separator}token={self.token}"

    def api(self, path: str, method: str = "GET") -> Any:
        """Call the server's REST API and return the decoded JSON (``None`` when empty)."""
        request = urllib.request.Request(
            f"{self.base_url}/api/{path.lstrip('/')}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def jupyter_server(root: Path, *, timeout: float = 60.0) -> Iterator[JupyterServer]:
    """Run ``jupyter lab`` on 127.0.0.1 (free port, random token, no browser) serving ``root``.

    The server gets its own configuration, data and runtime folders, so nothing of
    the user's Jupyter set-up leaks in or out, and the app object is exposed as
    ``window.jupyterapp`` so a test can run commands. On exit every kernel is shut
    down, the server's process group is terminated (killed if it lingers) and its
    folders are removed.
    """
    port, token = free_port(), secrets.token_hex(16)
    home = Path(tempfile.mkdtemp(prefix="gdcourse-jupyter-"))
    config_dir = home / "config"
    config_dir.mkdir()
    expose = {"expose_app_in_browser": True}
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"LabApp": expose, "JupyterNotebookApp": expose})
    )
    # No "get notified about Jupyter news?" toast over the page.
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Every cell stays in the page: with JupyterLab's default windowing, cells scrolled out of
    # view are detached and re-rendered, which swaps a demo's <img> under a test's feet.
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "MPLBACKEND": "Agg",
        "PYTHONWARNINGS": "ignore",
    }
    command = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    log = home / "server.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = JupyterServer(root=root, port=port, token=token, process=process, log=log)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited early:\n{server.log_tail()}")
            try:
                server.api("status")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"jupyter lab did not answer within {timeout} s:\n{server.log_tail()}"
                    ) from None
                time.sleep(0.25)
        yield server
    finally:
        _stop(server)
        shutil.rmtree(home, ignore_errors=True)


def _stop(server: JupyterServer) -> None:
    with contextlib.suppress(Exception):
        for kernel in server.api("kernels") or []:
            server.api(f"kernels/{kernel['id']}", method="DELETE")
    process = server.process
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    process.wait(timeout=5)
