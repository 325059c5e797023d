"""The gdcourse command: help for every subcommand, clear errors, stdlib-only start-up."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gdcourse.tools import cli

ROOT = Path(__file__).resolve().parent.parent


def test_help_explains_each_subcommand(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for command, words in {
        "build": "book site and the student",
        "test": "whole test",
        "book": "warnings as errors",
        "release": "exercises/ from its master in solutions/",
        "grade": "in parallel",
        "publish": "student edition to DIR",
    }.items():
        assert command in out
        assert words in " ".join(out.split())


def test_python_dash_m_works_with_the_standard_library_only():
    """`python3 -m gdcourse` must start on a fresh machine, before anything is installed."""
    result = subprocess.run(
        [sys.executable, "-S", "-m", "gdcourse", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "usage: gdcourse" in result.stdout


def test_installed_console_script():
    script = Path(sys.executable).parent / "gdcourse"
    result = subprocess.run(
        [str(script), "grade", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "--workers" in result.stdout


def test_publish_refuses_a_folder_of_someone_elses_and_says_why(tmp_path):
    """`gdcourse publish DIR` writes the student edition; a non-empty folder that is not an
    earlier edition is left as it was, with a message naming what to do."""
    (tmp_path / "notes.txt").write_text("mine")
    result = subprocess.run(
        [sys.executable, "-m", "gdcourse", "publish", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "is not empty and is not a student edition" in result.stderr
    assert "nothing was written" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    edition = tmp_path / "edition"
    result = subprocess.run(
        [sys.executable, "-m", "gdcourse", "publish", str(edition)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"The student edition is in {edition}/" in result.stdout
    assert (edition / "exercises" / "ps1_gradients" / "ps1_gradients.ipynb").is_file()


def test_unknown_subcommand_is_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_grade_rejects_zero_workers():
    with pytest.raises(SystemExit, match="--workers must be >= 1, got 0"):
        cli.main(["grade", "ps2_gradient_descent", "--workers", "0"])


def test_missing_debian_package_is_installed_as_root_or_explained(monkeypatch):
    """The test command installs Chromium/npm itself as root, and says how otherwise."""
    from gdcourse.tools import environment as _environment

    commands = []
    monkeypatch.setattr(_environment, "_run", lambda command, **kw: commands.append(command))
    monkeypatch.setattr(_environment, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setattr(_environment.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(_environment.os, "geteuid", lambda: 0)
    _environment.ensure_chromium()
    assert commands[-1][:2] == ["apt-get", "install"] and commands[-1][-1] == "chromium"
    monkeypatch.setattr(_environment.os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match="sudo apt-get install -y chromium"):
        _environment.ensure_chromium()
    commands.clear()
    _environment.ensure_npm()  # npm is on PATH (as patched): nothing to do
    _environment.ensure_bubblewrap()  # and so is bwrap
    assert commands == []
    monkeypatch.setattr(
        _environment.shutil, "which", lambda name: None if name == "bwrap" else name
    )
    monkeypatch.setattr(_environment.os, "geteuid", lambda: 0)
    _environment.ensure_bubblewrap()
    assert commands[-1][:2] == ["apt-get", "install"] and commands[-1][-1] == "bubblewrap"
    # PostgreSQL (the gradebook tests' server) is found by its binaries
    monkeypatch.setattr(_environment, "postgresql_binaries", lambda: None)
    _environment.ensure_postgresql()
    assert commands[-1][:2] == ["apt-get", "install"] and commands[-1][-1] == "postgresql"
    monkeypatch.setattr(_environment.os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit, match="sudo apt-get install -y postgresql"):
        _environment.ensure_postgresql()


def test_postgresql_binaries_are_the_newest_installed_version(tmp_path, monkeypatch):
    from gdcourse.tools import environment as _environment

    for version in ("9.6", "15", "17"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for name in ("initdb", "postgres") if version != "17" else ("initdb",):
            (folder / name).write_text("")
    monkeypatch.setattr(_environment, "POSTGRESQL", tmp_path)
    assert _environment.postgresql_binaries() == tmp_path / "15" / "bin"  # 17 has no server


BARE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["release", "ps9_nope"], "gdcourse release: unknown assignment(s) 'ps9_nope'"),
        (["start", "ps9_nope"], "gdcourse start: unknown assignment or book page 'ps9_nope'"),
        (["grade", "ps9_nope"], "gdcourse grade: no master notebook"),
    ],
)
def test_every_subcommand_runs_in_the_project_environment_from_a_bare_python(
    command, expected, tmp_path
):
    """README's commands work as written: `python3 -m gdcourse X` needs no activated venv."""
    result = subprocess.run(
        [str(BARE_PYTHON), "-m", "gdcourse", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        # a home of its own: pip, if the environment is updated, keeps its cache there
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert expected in result.stderr, result.stderr[-2000:]
    assert "No module named" not in result.stderr


def test_test_passes_every_argument_after_it_to_pytest_as_written():
    args = cli.parse(["test", "--durations=5", "-p", "no:cacheprovider", "tests/test_cli.py"])
    assert args.command == "test"
    assert args.pytest_args == ["--durations=5", "-p", "no:cacheprovider", "tests/test_cli.py"]
    assert cli.parse(["test"]).pytest_args == []


def test_test_runs_two_workers_unless_told_otherwise():
    command = cli.pytest_command(["-x"])
    assert command[1:3] == ["-m", "pytest"]
    assert command[3:] == ["-n", "2", "--dist", "loadfile", "--no-loadscope-reorder", "-x"]
    assert cli.pytest_command(["-n", "0", "-x"])[3:] == ["-n", "0", "-x"]
    assert cli.pytest_command(["--numprocesses=1"])[3:] == ["--numprocesses=1"]


def test_the_environments_jupyterlab_opens_markdown_as_markdown(tmp_path):
    """ensure_lab_defaults leaves Markdown (README.md, report.md) to JupyterLab's Markdown
    viewer, removing the jupytext override earlier builds wrote, and opens MyST notebook files
    with jupytext, where JupyterLab reads defaults (labconfig in the environment), keeping
    other settings."""
    from jupyter_server.config_manager import BaseJSONConfigManager

    from gdcourse.tools import environment as _environment

    settings = tmp_path / _environment.LAB_DEFAULTS
    settings.parent.mkdir(parents=True)
    earlier = {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        "@jupyterlab/docmanager-extension:plugin": {
            "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"}
        },
    }
    settings.write_text(json.dumps(earlier))
    assert _environment.ensure_lab_defaults(tmp_path) == settings
    before = settings.stat().st_mtime_ns
    _environment.ensure_lab_defaults(tmp_path)  # idempotent: nothing rewritten
    assert settings.stat().st_mtime_ns == before
    read = BaseJSONConfigManager(config_dir=str(settings.parent)).get("default_setting_overrides")
    viewers = read["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers == {"myst": "Jupytext Notebook"}
    assert read["@jupyterlab/apputils-extension:themes"] == {"theme": "JupyterLab Dark"}
    fresh = tmp_path / "fresh"
    _environment.ensure_lab_defaults(fresh)
    read = json.loads((fresh / _environment.LAB_DEFAULTS).read_text())
    assert read["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"] == viewers
    # the viewer is the one jupytext's JupyterLab extension registers under that name, and
    # jupytext itself makes no viewer the default of Markdown
    extension = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-jupytext"
    assert any(
        "Jupytext Notebook" in p.read_text(errors="ignore") for p in extension.rglob("*.js")
    )
    assert not any("defaultViewers" in p.read_text() for p in extension.rglob("*.json"))


PIP_OUTPUT = """\
Collecting numpy>=1.26
  Downloading numpy-2.3.0-cp311-manylinux.whl (16.9 MB)
{collecting}
  .../setuptools/command/editable_wheel.py:354: BuildBackendWarning: Editable installation.
  !!
          Please be careful with folders in your working directory with the same
  !!
Installing collected packages: numpy, torch, gdcourse
Successfully installed gdcourse-0.1.0 numpy-2.3.0 torch-2.13.0
"""


@pytest.mark.parametrize("status", [0, 1])
def test_the_install_shows_steps_and_keeps_pips_output_in_a_log(
    tmp_path, monkeypatch, capsys, status
):
    """A first install prints a few progress lines, never a third-party warning (setuptools'
    BuildBackendWarning goes to .venv/install.log); a failed one shows pip's last lines."""
    from gdcourse.tools import environment as _environment

    collecting = "\n".join(f"Collecting package{i}" for i in range(40))
    output = tmp_path / "pip-output.txt"
    output.write_text(PIP_OUTPUT.format(collecting=collecting))
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!/bin/sh\ncat {output}\nexit {status}\n")
    fake_python.chmod(0o755)
    monkeypatch.setattr(_environment, "ROOT", tmp_path)
    monkeypatch.setattr(_environment, "INSTALL_LOG", tmp_path / ".venv" / "install.log")
    if status:
        with pytest.raises(SystemExit, match=r"all of it is in \.venv/install\.log"):
            _environment._pip(str(fake_python), ["-e", ".[dev]"], "installing gdcourse[dev]")
    else:
        _environment._pip(str(fake_python), ["-e", ".[dev]"], "installing gdcourse[dev]")
    shown = capsys.readouterr()
    assert shown.out.splitlines() == [
        "  installing gdcourse[dev]",
        "  resolved 20 packages ...",
        "  resolved 40 packages ...",
        "  installing 3 packages ...",
    ]
    log = (tmp_path / ".venv" / "install.log").read_text()
    assert "BuildBackendWarning" in log and "Successfully installed" in log
    assert ("BuildBackendWarning" in shown.err) == bool(status)
