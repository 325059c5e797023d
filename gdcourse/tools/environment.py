"""The project environment: a virtual environment in ``.venv`` pinned by ``constraints.txt``.

Standard library only: this runs under whatever ``python3`` a fresh machine has,
creates the environment when it is missing or out of date, and re-runs the
command inside it. Installing is skipped when neither ``pyproject.toml`` nor
``constraints.txt`` changed since the last install (a stamp file holds their hash).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
STAMP = VENV / ".gdcourse-installed"
CHROMIUM = Path("/usr/bin/chromium")
LAB_DEFAULTS = Path("etc") / "jupyter" / "labconfig" / "default_setting_overrides.json"
"""JupyterLab's default settings in an environment (``jupyter_config_path()`` reads them)."""


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def venv_python() -> Path:
    return VENV / "bin" / "python"


def in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def ensure_lab_defaults(venv: Path = VENV) -> Path:
    """Make the environment's JupyterLab open Markdown files as notebooks (jupytext).

    The book's pages are MyST Markdown notebooks; JupyterLab opens a ``.md`` file in its text
    editor unless the default viewer of the ``markdown`` file type is jupytext's notebook
    (what ``jupytext-config set-default-viewer`` sets, but for every user of ``.venv`` rather
    than in one home). Settings already there are kept. Returns the settings file.
    """
    path = venv / LAB_DEFAULTS
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    viewers = settings.setdefault("@jupyterlab/docmanager-extension:plugin", {}).setdefault(
        "defaultViewers", {}
    )
    wanted = {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
    if all(viewers.get(kind) == viewer for kind, viewer in wanted.items()):
        return path
    viewers.update(wanted)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


def _run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def ensure_venv() -> None:
    """Create or update ``.venv`` so that it matches ``pyproject.toml`` and ``constraints.txt``."""
    if sys.version_info < (3, 11):  # noqa: UP036 - runs under whatever python3 the machine has
        raise SystemExit(f"gdcourse needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not venv_python().exists():
        _run([sys.executable, "-m", "venv", str(VENV)])
    ensure_lab_defaults()
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    python = str(venv_python())
    print(
        "Installing the project environment in .venv (every package pinned by constraints.txt;"
        " a few minutes the first time, quiet unless something fails)...",
        flush=True,
    )
    _run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    _run(
        [python, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", "-e", ".[dev]"],
    )
    STAMP.write_text(fingerprint)


def _ensure_debian_package(package: str, present: bool, purpose: str) -> None:
    """Install a Debian package with apt when ``present`` is false (needs root and apt-get)."""
    if present:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(
            f"{purpose}; install it with 'sudo apt-get install -y {package}' (Debian/Ubuntu) "
            "and run the command again"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update", "-qq"], env=env)
    _run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", package], env=env)


def ensure_chromium() -> None:
    """Install Debian's Chromium for the browser tests when it is missing."""
    _ensure_debian_package(
        "chromium", CHROMIUM.exists(), f"the browser tests need Chromium at {CHROMIUM}"
    )


def ensure_bubblewrap() -> None:
    """Install Debian's bubblewrap when it is missing: the grader isolates student code with it."""
    _ensure_debian_package(
        "bubblewrap",
        shutil.which("bwrap") is not None,
        "grading (and its tests) isolates student code with bubblewrap",
    )


POSTGRESQL = Path("/usr/lib/postgresql")
"""Where Debian's PostgreSQL packages put each version's programs."""


def postgresql_binaries() -> Path | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with initdb and postgres, if any."""
    found = [
        folder
        for folder in POSTGRESQL.glob("*/bin")
        if (folder / "initdb").is_file() and (folder / "postgres").is_file()
    ]
    return max(found, key=lambda f: _version(f.parent.name), default=None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def ensure_postgresql() -> None:
    """Install Debian's PostgreSQL when it is missing: the tests grade into a real server."""
    _ensure_debian_package(
        "postgresql",
        postgresql_binaries() is not None,
        "the gradebook tests start a PostgreSQL server (/usr/lib/postgresql/*/bin/postgres)",
    )


def ensure_npm() -> None:
    """Install Debian's npm when it is missing: the book's offline JavaScript comes from npm."""
    _ensure_debian_package(
        "npm", shutil.which("npm") is not None, "building the book needs npm (Node.js)"
    )


def reexec_in_venv(argv: list[str]) -> None:
    """Replace this process with ``.venv/bin/python -m gdcourse ARGV``."""
    python = str(venv_python())
    os.execv(python, [python, "-m", "gdcourse", *argv])
