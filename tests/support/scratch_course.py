"""A scratch copy of the course, and README's commands, for tests that play a round as written.

Used by tests/test_guide.py (README's instructor guide in one shell) and
tests/test_round_browser.py (a student in JupyterLab, an instructor at the shell).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(title: str) -> str:
    """README's ``## <title>`` section, up to the next ``## `` heading."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def blocks(text: str, language: str) -> list[str]:
    """The fenced code blocks of ``text`` in ``language``, in order."""
    return [code for lang, code in FENCE.findall(text) if lang == language]


def scratch_course(folder: Path, *, checkout: Path = ROOT) -> Path:
    """``folder/course``: a git repository holding what this checkout would commit.

    Its ``gdcourse`` and ``.venv`` are links to ``checkout``'s (this one by default), so
    nothing is installed. Both come from one checkout because ``python3 -m gdcourse``
    switches into the ``.venv`` next to its package (and would make one if none were there).
    """
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    course = folder / "course"
    for name in filter(None, listed):
        if name.startswith("gdcourse/") or not (ROOT / name).is_file():
            continue
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, course / name)
    (course / "gdcourse").symlink_to(checkout / "gdcourse")
    (course / ".venv").symlink_to(checkout / ".venv")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=course, check=True)
    # .gitignore's ".venv/" matches a folder, not this link to one
    with (course / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write("/.venv\n")
    subprocess.run([*git, "add", "-A"], cwd=course, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "course"], cwd=course, check=True)
    return course
