"""A failing check reads well where a student sees it: a notebook, ``nbgrader validate``.

The notebook case runs a real kernel (what IPython prints is what JupyterLab shows);
``nbgrader validate`` runs for real on a wrong submission whose hint is a long
sentence. JupyterLab's Validate dialog shows that same ``nbgrader validate`` output
(no browser test measures the dialog itself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

from gdcourse.grading.checks import MESSAGE_WIDTH, CheckFailed, run_check, wrap_message

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = Path(sys.executable).parent / "nbgrader"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: A wrong submission whose hint is one sentence of about 350 characters.
WRONG = ROOT / "tests" / "submissions" / "ps7_adaptive" / "lookahead_sign_error.ipynb"


def _words(text: str) -> list[str]:
    return ANSI.sub("", text).split()


def _cell(notebook: Path, cell_id: str) -> str:
    return next(c.source for c in nbformat.read(notebook, 4).cells if c.id == cell_id)


def test_wrap_message_keeps_every_word_and_fits() -> None:
    message = "Checked: f(x=1)\n  the result: expected 1\n" + "Hint: " + "a long hint " * 40
    lines = wrap_message(message)
    assert all(len(line) <= MESSAGE_WIDTH for line in lines)
    assert " ".join(lines).split() == message.split()
    assert lines[:2] == ["Checked: f(x=1)", "  the result: expected 1"]


def test_the_message_is_the_whole_traceback() -> None:
    with pytest.raises(CheckFailed) as info:
        run_check("ps3_linear_regression", "mse", lambda y_pred, y: 0.0, cases=[
            {"y_pred": [1.0, 2.0], "y": [0.0, 0.0]}], hidden=False)  # fmt: skip
    assert isinstance(info.value, AssertionError)  # `except AssertionError` still catches it
    shown = info.value._render_traceback_()
    assert ANSI.sub("", shown[0]) == "mse: 1 of 1 visible checks failed."
    assert _words("\n".join(shown)) == str(info.value).split()


@pytest.mark.slow
def test_in_a_kernel_the_check_message_comes_first_with_no_frames(tmp_path: Path) -> None:
    """What IPython prints for a failing visible check: the message alone, wrapped."""
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.cells = [
        nbformat.v4.new_code_cell(_cell(WRONG, "setup")),
        nbformat.v4.new_code_cell(_cell(WRONG, "nesterov_momentum")),
        nbformat.v4.new_code_cell(_cell(WRONG, "test_nesterov_momentum_visible")),
    ]
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client.execute()
    errors = [o for o in notebook.cells[-1].outputs if o.output_type == "error"]
    assert len(errors) == 1, notebook.cells[-1].outputs
    lines = [ANSI.sub("", line) for line in errors[0].traceback]
    assert lines[0].startswith("nesterov_momentum: "), lines
    assert "visible checks failed." in lines[0], lines
    shown = "\n".join(lines)
    for frame_sign in ("Traceback", "File ", "checks.py", "---->", "Cell In", "check("):
        assert frame_sign not in shown, shown
    from gdcourse.grading.checks import get_spec
    from gdcourse.grading.framework.spec import hint_for

    hint = hint_for(get_spec("ps7_adaptive", "nesterov_momentum"), "lookahead_sign_error")
    assert " ".join(hint.split()) in " ".join(shown.split())  # its hint, in words
    assert "lookahead_sign_error" not in shown  # not the report's internal name
    assert all(len(line) <= MESSAGE_WIDTH for line in lines), shown
    assert errors[0].ename == "CheckFailed"


@pytest.mark.slow
def test_nbgrader_validate_prints_the_message_whole(tmp_path: Path) -> None:
    """Run as README tells students, in the course folder (its nbgrader_config.py), it shows
    each failed check's message whole, and no warning."""
    notebook = tmp_path / "ps7_adaptive.ipynb"
    notebook.write_bytes(WRONG.read_bytes())
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    env = {**os.environ, "PATH": f"{NBGRADER.parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run(
        [str(NBGRADER), "validate", str(notebook)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    out = done.stdout
    assert "VALIDATION FAILED" in out, out + done.stderr
    warned = [line for line in (out + done.stderr).splitlines() if "WARNING" in line]
    assert warned == [], warned  # e.g. ipykernel's "Kernel is running over TCP ..."
    # nbgrader shows each failing cell's source (its long lines cut), then "The error was:"
    errors = [part.split("=" * 20)[0] for part in out.split("The error was:")[1:]]
    assert errors, out
    for error in errors:
        assert not [line for line in error.splitlines() if line.endswith("...")], error
    from gdcourse.grading.checks import get_spec
    from gdcourse.grading.framework.spec import hint_for

    hint = hint_for(get_spec("ps7_adaptive", "nesterov_momentum"), "lookahead_sign_error")
    assert " ".join(hint.split()) in " ".join(out.split()), out
