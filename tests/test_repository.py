"""The repository's promises: layout, two-command quickstart, CI, pinned environment."""

import re
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README's quickstart has no bash block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_starts_with_a_two_command_quickstart():
    readme = (ROOT / "README.md").read_text()
    first_section = readme.split("\n## ", 2)[1]
    assert first_section.startswith("Quickstart")
    assert _quickstart_commands() == ["python3 -m gdcourse build", "python3 -m gdcourse test"]


def test_ci_runs_the_readme_test_command_exactly():
    test_command = _quickstart_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in [line.strip() for line in ci]


def test_top_level_layout():
    for name in [
        "pyproject.toml",
        "README.md",
        "book",
        "exercises",
        "solutions",
        "gdcourse",
        "tests",
        "nbgrader_config.py",
        ".ci/run",
        "benchmarks",
        "constraints.txt",
    ]:
        assert (ROOT / name).exists(), name


def test_instructor_folders_and_build_outputs_are_ignored():
    for path in [
        "submitted/s1/a/a.ipynb",
        "autograded/x",
        "feedback/x",
        "gradebook.db",
        "book/_build/html/index.html",
        ".venv/bin/python",
        "reports/x",
        "roster.csv",
        "exchange/gdcourse/outbound/a/a.ipynb",
        "work/a/a.ipynb",
    ]:
        result = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert result.returncode == 0, f"{path} is not git-ignored"
    # what points the Assignment List at the course from work/ is committed
    kept = subprocess.run(
        ["git", "check-ignore", "-q", "work/nbgrader_config.py"], cwd=ROOT, check=False
    )
    assert kept.returncode == 1


def test_constraints_pin_every_package_and_torch_cpu():
    lines = [
        line.strip()
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line) for line in lines), [
        line for line in lines if "==" not in line
    ]
    assert "torch==2.13.0" in lines
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in lines}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += [r for r in extra if not r.startswith("gdcourse")]
    for requirement in requirements:
        name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is not pinned in constraints.txt"


def test_no_registry_host_names_are_committed():
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    hosts = [
        "pypi" + ".org",
        "files.pythonhosted" + ".org",
        "registry.npmjs" + ".org",
        "deb.debian" + ".org",
        "registry.yarnpkg" + ".com",
    ]
    offenders = []
    for name in files:
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 5_000_000:
            text = path.read_text(errors="ignore")
            offenders += [f"{name}: {host}" for host in hosts if host in text]
    assert not offenders
