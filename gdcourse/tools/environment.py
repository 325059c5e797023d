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
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
STAMP = VENV / ".gdcourse-installed"
INSTALL_LOG = VENV / "install.log"
"""pip's whole output of the last install; the terminal gets a line per step."""
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


LAB_VIEWERS = {"myst": "Jupytext Notebook"}
"""Default viewers the environment's JupyterLab gets: MyST notebook files (``.myst``,
``.mystnb``) open as notebooks. Markdown (``.md``) keeps JupyterLab's own viewer."""


LAB_EXTENSION = ROOT / "gdcourse" / "labextension" / "gdcourse-validate"
"""gdcourse's JupyterLab extension: the Validate button's success message (prebuilt, no npm)."""
LAB_EXTENSIONS = Path("share") / "jupyter" / "labextensions"
"""Where JupyterLab finds an environment's prebuilt extensions (``jupyter_path()``)."""


def ensure_lab_defaults(venv: Path = VENV) -> Path:
    """Make the environment's JupyterLab open Markdown files as Markdown and MyST notebook files
    as notebooks (jupytext), and install gdcourse's JupyterLab extension there (the Validate
    button's success message says that hidden tests run after submission).

    A ``.md`` file a student opens is a README or a grading report as often as a book page, and
    JupyterLab tells them apart by extension only: so Markdown keeps JupyterLab's own viewer
    (README.md and report.md read as documents), and a book page opens as a notebook with a
    right-click, *Open With*, *Jupytext Notebook* (or ``gdcourse start PAGE`` copies the built
    page as a notebook). Earlier builds made jupytext's notebook the default viewer of all
    Markdown; that one setting is removed, every other setting of the file is kept. The file is
    where JupyterLab reads an environment's defaults (``jupyter_config_path()``), for every user
    of ``.venv``. Returns the settings file.
    """
    installed = venv / LAB_EXTENSIONS / LAB_EXTENSION.name
    for source in sorted(p for p in LAB_EXTENSION.rglob("*") if p.is_file()):
        target = installed / source.relative_to(LAB_EXTENSION)
        if not target.is_file() or target.read_bytes() != source.read_bytes():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    path = venv / LAB_DEFAULTS
    settings = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    viewers = settings.setdefault("@jupyterlab/docmanager-extension:plugin", {}).setdefault(
        "defaultViewers", {}
    )
    stale = viewers.get("markdown") == "Jupytext Notebook"
    if not stale and all(viewers.get(kind) == viewer for kind, viewer in LAB_VIEWERS.items()):
        return path
    if stale:
        del viewers["markdown"]
    viewers.update(LAB_VIEWERS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


def _run(command: list[str], **kwargs: object) -> None:
    print("+", " ".join(command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **kwargs)  # type: ignore[call-overload]


def run_logged(
    command: list[str],
    log: Path,
    shown: Callable[[str], str | None],
    env: dict[str, str] | None = None,
) -> int:
    """Run ``command`` with its whole output in ``log``; the terminal gets what ``shown`` keeps.

    Returns the exit status. The book build and the install both report this way: a line per
    step on the terminal, every detail (warnings of third-party tools included) in the log.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with (
        log.open("w", encoding="utf-8") as out,
        subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
    ):
        assert process.stdout is not None
        for line in process.stdout:
            out.write(line)
            out.flush()
            line_shown = shown(line)
            if line_shown is not None:
                print(line_shown, flush=True)
    return process.returncode


_COLLECTING = re.compile(r"^Collecting (?P<name>[A-Za-z0-9._-]+)")
_INSTALLING = re.compile(r"^Installing collected packages: (?P<names>.*)$")


class InstallProgress:
    """What the terminal shows of pip's output: a count every 20 packages, errors, the end.

    >>> progress = InstallProgress()
    >>> [progress(f"Collecting package{i}>=1.0") for i in range(1, 21)][-1]
    '  resolved 20 packages ...'
    >>> progress("  Downloading numpy-2.3.0.whl (16 MB)") is None
    True
    >>> progress("Installing collected packages: a, b, c")
    '  installing 3 packages ...'
    >>> progress("Installing collected packages: pip")
    '  installing 1 package ...'
    >>> progress("ERROR: No matching distribution found for torch==9")
    'ERROR: No matching distribution found for torch==9'
    """

    def __init__(self) -> None:
        self.collected = 0

    def __call__(self, line: str) -> str | None:
        text = line.rstrip()
        if _COLLECTING.match(text):
            self.collected += 1
            if self.collected % 20 == 0:
                return f"  resolved {self.collected} packages ..."
            return None
        if match := _INSTALLING.match(text):
            count = len(match["names"].split(","))
            return f"  installing {count} package{'' if count == 1 else 's'} ..."
        if text.startswith("ERROR"):
            return text
        return None


def _pip(python: str, arguments: list[str], step: str) -> None:
    command = [python, "-m", "pip", "install", "--progress-bar", "off", *arguments]
    print(f"  {step}", flush=True)
    if run_logged(command, INSTALL_LOG, InstallProgress()) != 0:
        lines = INSTALL_LOG.read_text(encoding="utf-8", errors="replace").splitlines()
        print("\n".join(lines[-30:]), file=sys.stderr)
        raise SystemExit(
            f"installing the project environment failed ({' '.join(command[1:])}): the last "
            f"lines of pip's output are above, all of it is in {INSTALL_LOG.relative_to(ROOT)}"
        )


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
        "Installing the project environment in .venv, every package pinned by constraints.txt "
        f"(a few minutes the first time; pip's output goes to {INSTALL_LOG.relative_to(ROOT)})",
        flush=True,
    )
    _pip(python, ["--upgrade", "pip"], "upgrading pip")
    _pip(python, ["-c", "constraints.txt", "-e", ".[dev]"], "installing gdcourse[dev]")
    STAMP.write_text(fingerprint)
    print("  done", flush=True)


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


SYSTEM_PYTHON = Path("/usr/bin/python3")
"""Debian's Python: a JupyterHub's shared environment is made with it (gdcourse/hub)."""


def ensure_python3_venv() -> None:
    """Install Debian's python3-venv when missing: the JupyterHub test (tests/test_hub.py), as
    README's hub section, makes the students' shared environment with ``/usr/bin/python3 -m
    venv``, which every account can run (a Python under /root cannot be)."""
    present = SYSTEM_PYTHON.exists() and (
        subprocess.run(
            [str(SYSTEM_PYTHON), "-c", "import ensurepip, venv"], capture_output=True
        ).returncode
        == 0
    )
    _ensure_debian_package(
        "python3-venv", present, "the JupyterHub test needs Debian's python3 -m venv"
    )


def reexec_in_venv(argv: list[str]) -> None:
    """Replace this process with ``.venv/bin/python -m gdcourse ARGV``."""
    python = str(venv_python())
    os.execv(python, [python, "-m", "gdcourse", *argv])
