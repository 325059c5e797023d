"""The hub's environments and proxy, made by ``python3 -m gdcourse.hub`` (standard library only).

``env PREFIX``
    The shared environment, installed once for everyone: Debian's ``/usr/bin/python3 -m
    venv`` in ``PREFIX`` (world-readable), with the course's package and the ``hub`` extra
    (JupyterLab, nbgrader, JupyterHub's single-user server) pinned by ``constraints.txt``.
    Its ``etc/jupyter`` gives every student the course id and the exchange, the *Assignment
    List* and *Validate*, and neither formgrader nor *Create Assignment*. Run again, it
    reinstalls only the course's package unless ``constraints.txt`` or ``pyproject.toml``
    changed (then it starts afresh).
``grader-env --shared PREFIX``
    Run as the grader account in its copy of the course: ``.venv`` there, layered on the
    shared environment (a ``.pth`` file puts the course's own ``gdcourse`` first, then the
    shared packages), plus what only grading needs; its ``etc/jupyter`` enables formgrader.
``proxy PREFIX``
    configurable-http-proxy from npm, in ``PREFIX/node_modules``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

from gdcourse.exchange.setup import hub_config
from gdcourse.hub import COURSE_ID, PROXY_PACKAGE

SYSTEM_PYTHON = Path("/usr/bin/python3")
"""Debian's Python: every account can run it (a pyenv Python under /root cannot be)."""
STAMP = ".gdcourse-hub-installed"
SITE = Path("lib") / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"

STUDENT_SERVER = {
    "ServerApp": {
        "jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": False,
            "nbgrader.server_extensions.course_list": False,
            "nbgrader.server_extensions.assignment_list": True,
            "nbgrader.server_extensions.validate_assignment": True,
        }
    }
}
"""Students' servers serve the Assignment List and Validate; formgrader's pages and the
instructors' course list are not served at all."""
STUDENT_LAB = {
    "disabledExtensions": {
        "@jupyter/nbgrader:formgrader": True,
        "@jupyter/nbgrader:create-assignment": True,
        "@jupyter/nbgrader:course-list": True,
    }
}
"""JupyterLab's plugins students do not get (``jupyter labextension disable --level=sys_prefix``
writes the same file)."""
GRADER_SERVER = {
    "ServerApp": {
        "jpserver_extensions": {
            "nbgrader.server_extensions.formgrader": True,
            "nbgrader.server_extensions.course_list": False,
            "nbgrader.server_extensions.assignment_list": False,
            "nbgrader.server_extensions.validate_assignment": False,
        }
    }
}
"""The formgrader service serves formgrader, and nothing else of nbgrader's."""


def _write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o644)


def _run(command: Sequence[str | os.PathLike[str]], **kwargs: object) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run(list(command), check=True, **kwargs)  # type: ignore[call-overload]


def _fingerprint(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _tree_digest(*roots: Path) -> str:
    """A digest of every file under ``roots`` (names and contents), caches excluded."""
    digest = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _extra(checkout: Path, name: str) -> list[str]:
    """``pyproject.toml``'s extra ``name``, less the course's own package."""
    project = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted: list[str] = project["optional-dependencies"][name]
    return [requirement for requirement in wanted if not requirement.startswith("gdcourse[")]


def student_nbgrader_config(exchange: Path) -> str:
    """The shared environment's ``etc/jupyter/nbgrader_config.py``: what every student's
    nbgrader reads (the course, its exchange and its classes, Validate's messages)."""
    return f'''"""nbgrader for every account of this environment (python3 -m gdcourse.hub env)."""

import sys

c = get_config()  # noqa: F821

{hub_config(exchange, COURSE_ID).rstrip()}
# Validate's kernel logs errors only; `nbgrader validate` is gdcourse's (gdcourse.validate).
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
if "nbgrader.apps.validateapp" in sys.modules:
    from gdcourse.validate import use_in_nbgrader_validate

    use_in_nbgrader_validate()
'''


def student_env(prefix: Path, *, edition: Path, checkout: Path, exchange: Path) -> None:
    """Create or update the shared environment in ``prefix`` (see the module's docstring):
    the student ``edition`` (``python3 -m gdcourse publish``) and its pinned environment,
    with the hub's packages pinned by ``checkout``'s ``constraints.txt``."""
    prefix, edition = prefix.absolute(), edition.absolute()
    constraints = checkout / "constraints.txt"
    requirements = edition / "requirements.txt"
    if not requirements.is_file():
        raise SystemExit(f"{edition} is no student edition: write one with gdcourse publish")
    fingerprint = _fingerprint(constraints, requirements, checkout / "pyproject.toml")
    package = _tree_digest(edition / "gdcourse", edition / "pyproject.toml")
    stamp = prefix / STAMP
    pip: list[str | os.PathLike[str]] = [prefix / "bin" / "python", "-m", "pip", "install"]
    pip += ["--progress-bar", "off", "-q"]
    if not (stamp.is_file() and stamp.read_text().split() == [fingerprint, package]):
        if stamp.is_file() and stamp.read_text().split()[:1] == [fingerprint]:
            # the same pins: only the edition's own package changed
            _run([*pip, "--no-deps", "--force-reinstall", edition])
        else:
            if prefix.exists():
                shutil.rmtree(prefix)
            _run([SYSTEM_PYTHON, "-m", "venv", prefix])
            _run([*pip, "--upgrade", "pip"])
            _run([*pip, "-c", constraints, "-r", requirements, edition, *_extra(checkout, "hub")])
    etc = prefix / "etc" / "jupyter"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(student_nbgrader_config(exchange), encoding="utf-8")
    _write_json(etc / "jupyter_server_config.json", STUDENT_SERVER)
    _write_json(etc / "labconfig" / "page_config.json", STUDENT_LAB)
    prefix.chmod(0o755)
    stamp.write_text(f"{fingerprint} {package}\n")


def grader_env(course: Path, *, shared: Path, constraints: Path, exchange: Path) -> Path:
    """``course/.venv`` for the grader account (see the module's docstring); returns it."""
    course = course.absolute()
    venv = course / ".venv"
    if venv.exists():
        shutil.rmtree(venv)
    _run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", venv])
    # the course's gdcourse (with the grader) before the shared environment's student one
    shared_site = shared.absolute() / SITE
    if not shared_site.is_dir():
        raise SystemExit(f"no shared environment at {shared}: make it first (gdcourse.hub env)")
    (venv / SITE / "gdcourse-hub.pth").write_text(f"{course}\n{shared_site}\n", encoding="utf-8")
    # the shared environment's commands (nbgrader, jupyter, ...), run by this environment's
    # Python, so that `source .venv/bin/activate` gives README's instructor commands
    shebang = f"#!{shared.absolute() / 'bin' / 'python'}"
    for script in sorted((shared / "bin").iterdir()):
        if script.is_symlink() or not script.is_file():
            continue
        with script.open("rb") as handle:
            first = handle.readline().rstrip().decode(errors="replace")
        target = venv / "bin" / script.name
        if first in (shebang, f"{shebang}3") and not target.exists():
            text = script.read_text(encoding="utf-8")
            target.write_text(f"#!{venv / 'bin' / 'python'}" + text[len(first) :])
            target.chmod(0o755)
    # the shared environment's Jupyter data (nbconvert's templates that formgrader renders with,
    # JupyterLab's extensions), which Jupyter looks for under this environment's prefix
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(shared.absolute() / "share" / "jupyter")
    only_grading = _extra(course, "instructor")
    if only_grading:
        python = venv / "bin" / "python"
        _run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--progress-bar",
                "off",
                "-q",
                "-c",
                constraints,
                *only_grading,
            ]
        )
    etc = venv / "etc" / "jupyter"
    # the course's nbgrader_config.py takes this exchange (gdcourse.course.exchange_root)
    _write_json(etc / "nbgrader_config.json", {"Exchange": {"root": str(exchange)}})
    _write_json(etc / "jupyter_server_config.json", GRADER_SERVER)
    return venv


def proxy(prefix: Path) -> Path:
    """Install configurable-http-proxy with npm in ``prefix``; returns its command."""
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the hub's proxy comes from npm: install it ('apt-get install -y npm')")
    command = prefix.absolute() / "node_modules" / ".bin" / "configurable-http-proxy"
    package = prefix / "node_modules" / "configurable-http-proxy" / "package.json"
    wanted = PROXY_PACKAGE.rsplit("@", 1)[1]
    if package.is_file() and json.loads(package.read_text())["version"] == wanted:
        return command
    prefix.mkdir(parents=True, exist_ok=True)
    _run(
        [
            npm,
            "install",
            "--prefix",
            prefix,
            "--no-audit",
            "--no-fund",
            "--omit=dev",
            PROXY_PACKAGE,
        ]
    )
    return command


def main(argv: Sequence[str] | None = None) -> int:
    """``python3 -m gdcourse.hub env|grader-env|proxy ...``."""
    here = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(
        prog="python3 -m gdcourse.hub",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    env = commands.add_parser("env", help="create or update the shared environment")
    env.add_argument("prefix", type=Path)
    env.add_argument("--exchange", type=Path, required=True, help="the exchange's root folder")
    env.add_argument(
        "--edition",
        type=Path,
        required=True,
        help="the student edition (python3 -m gdcourse publish DIR)",
    )
    grader = commands.add_parser("grader-env", help="the grader's .venv, in its course folder")
    grader.add_argument("--shared", type=Path, required=True, help="the shared environment")
    grader.add_argument("--exchange", type=Path, required=True, help="the exchange's root folder")
    grader.add_argument("--course", type=Path, default=Path.cwd())
    proxy_parser = commands.add_parser("proxy", help="install configurable-http-proxy")
    proxy_parser.add_argument("prefix", type=Path)
    args = parser.parse_args(argv)
    if args.command == "env":
        student_env(args.prefix, edition=args.edition, checkout=here, exchange=args.exchange)
    elif args.command == "grader-env":
        grader_env(
            args.course,
            shared=args.shared,
            exchange=args.exchange,
            constraints=args.course / "constraints.txt",
        )
    else:
        print(proxy(args.prefix))
    return 0
