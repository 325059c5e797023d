"""What ``gdcourse grade`` checks before it starts anything: that its sandboxes will run this code.

Only the standard library is imported here, so that the check costs nothing to reach.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["package_mismatch"]

FIND_PACKAGE = "import importlib.util; print(importlib.util.find_spec('gdcourse').origin)"


def package_mismatch() -> str | None:
    """Why the sandboxes would import another gdcourse than this one, or ``None``.

    The sandbox's Python imports the package its environment installed (an editable
    install points at one checkout); graded from another checkout, it could not import
    it, which once read as "install bubblewrap". Asked of a fresh interpreter, run from
    the root folder so that no working directory can shadow the answer.
    """
    here = Path(__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            [sys.executable, "-c", FIND_PACKAGE],
            capture_output=True,
            text=True,
            cwd="/",
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{sys.executable} cannot be run ({error})"
    if done.returncode != 0:
        return (
            f"{sys.executable} cannot import gdcourse, which the sandboxes need: install it "
            f"in that environment (pip install -e {here.parent})"
        )
    installed = Path(done.stdout.strip()).resolve().parent
    if installed != here:
        return (
            f"this command's gdcourse is {here}, but {sys.executable} imports {installed}, "
            "and so would the sandboxes. Run gdcourse from the checkout its environment was "
            f"built for, or install this one there (pip install -e {here.parent})."
        )
    return None
