"""JupyterHub configuration for the course: ``jupyterhub -f /etc/jupyterhub/jupyterhub_config.py``.

The hub runs as root: it loads a root-owned copy of this file (README: ``cp`` it to
``/etc/jupyterhub/``), never one in a folder another account could change.

Who is who on the hub (README, "Running the course on a JupyterHub"):

- every person logs in as their own Unix account, with its password (PAM): students, the
  instructor and the teaching assistants; only members of the Unix group
  ``GDCOURSE_HUB_GROUP`` may log in;
- each gets a single-user JupyterLab from the shared environment ``GDCOURSE_HUB_ENV``
  (installed once for everyone by ``python3 -m gdcourse.hub env``), running as them, in
  their home folder; that environment's ``etc/jupyter`` shows students the *Assignment
  List* and *Validate* only;
- the grader account ``GDCOURSE_HUB_GRADER`` (an ordinary user, not an admin) holds the
  instructor's copy of the course in ``~/course`` with its environment ``~/course/.venv``
  (``python3 -m gdcourse.hub grader-env``); the hub runs formgrader there, as that account,
  as the service ``/services/formgrader/``, which only the accounts listed in
  ``GDCOURSE_HUB_FORMGRADERS`` (the instructor and the teaching assistants) may open. The
  service's token has no scope at all on the hub's API.

Every setting below comes from a ``GDCOURSE_HUB_*`` environment variable, with the default
a fresh machine set up as README says uses; set them in the hub's service unit, or edit the
defaults in a copy of this file. The hub runs as root (it starts each server as its user).
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

try:
    c = get_config()  # type: ignore[name-defined]  # (injected by JupyterHub's config loader)
    LOADED = True
except NameError:  # imported (a check, pytest's doctests), not loaded by JupyterHub
    from traitlets.config import Config

    c = Config()
    LOADED = False


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"GDCOURSE_HUB_{name}", default)


def _names(value: str) -> set[str]:
    return {name.strip() for name in value.split(",") if name.strip()}


ENV = Path(_setting("ENV", "/opt/gdcourse/env"))
"""The shared environment: students' servers and kernels, and the hub itself, run from it."""
PROXY = Path(_setting("PROXY", "/opt/gdcourse/proxy"))
"""The npm folder holding configurable-http-proxy (``python3 -m gdcourse.hub proxy``)."""
STATE = Path(_setting("STATE", "/srv/gdcourse-hub"))
"""The hub's own files (its database, cookie secret, pid files): root's alone, mode 0700."""
IP = _setting("IP", "127.0.0.1")
"""Where the hub's web pages listen: loopback until a TLS front end (nginx, Caddy) is put
before it; set ``0.0.0.0`` only behind one."""
PORT = int(_setting("PORT", "8000"))
API_PORT = int(_setting("API_PORT", "8081"))
PROXY_API_PORT = int(_setting("PROXY_API_PORT", "8001"))
FORMGRADER_PORT = int(_setting("FORMGRADER_PORT", "9999"))
GROUP = _setting("GROUP", "gdcourse")
"""The Unix group whose members may log in (students, instructor, teaching assistants)."""
GRADER = _setting("GRADER", "grader")
FORMGRADERS = _names(_setting("FORMGRADERS", "instructor"))
"""Who may open formgrader: the instructor and the teaching assistants, comma-separated."""
ADMINS = _names(_setting("ADMINS", ""))
"""Hub admins (the admin page, everyone's servers): none unless named."""
SERVICE = "formgrader"  # gdcourse.hub.FORMGRADER_SERVICE (this file is loaded, not imported)

# ---------------------------------------------------------------- the hub and its proxy
c.JupyterHub.ip = IP
c.JupyterHub.port = PORT
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = API_PORT
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(STATE / "jupyterhub.pid")
c.ConfigurableHTTPProxy.command = [
    str(PROXY / "node_modules" / ".bin" / "configurable-http-proxy")
]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{PROXY_API_PORT}"
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server it started

# ---------------------------------------------------------------- who logs in
# PAM checks the password of the machine's own accounts: the account that logs in is the one
# whose server runs, so Unix permissions (home folders, the exchange) hold on the hub as at a
# shell. No session is opened (containers rarely have a working pam_systemd).
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False
c.PAMAuthenticator.allowed_groups = {GROUP}
c.Authenticator.admin_users = ADMINS

# ---------------------------------------------------------------- each person's server
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(ENV / "bin" / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.ip = "127.0.0.1"
c.Spawner.environment = {"PATH": f"{ENV / 'bin'}:/usr/local/bin:/usr/bin:/bin"}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# ---------------------------------------------------------------- formgrader, as the grader
# nbgrader's "Using nbgrader with JupyterHub": a managed service that runs a Jupyter server
# with formgrader in the course folder, as the grader account. Its environment
# (~/course/.venv) enables formgrader and nothing else (gdcourse/hub/etc/grader).


def _home(account: str) -> Path:
    try:
        return Path(pwd.getpwnam(account).pw_dir)
    except KeyError:
        if LOADED:
            raise SystemExit(
                f"GDCOURSE_HUB_GRADER={account!r}: there is no such account; create it "
                "(README, Running the course on a JupyterHub) or name another"
            ) from None
        return Path("/home") / account


COURSE = _home(GRADER) / "course"
c.JupyterHub.services = [
    {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
        "command": [
            str(COURSE / ".venv" / "bin" / "python"),
            "-m",
            "jupyterhub.singleuser",
            f"--ServerApp.root_dir={COURSE}",
        ],
        "user": GRADER,
        "cwd": str(COURSE),
        "environment": {
            "JUPYTERHUB_DEFAULT_URL": "/formgrader",
            "PATH": f"{COURSE / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        },
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [f"access:services!service={SERVICE}"],
    }
]
c.JupyterHub.load_groups = {"formgraders": {"users": sorted(FORMGRADERS)}}
c.JupyterHub.load_roles = [
    {
        "name": "formgraders",
        "description": "open formgrader (the instructor and the teaching assistants)",
        "groups": ["formgraders"],
        "scopes": [f"access:services!service={SERVICE}"],
    },
]
