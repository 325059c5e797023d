"""Hostile notebooks for the feedback tests: what a student could put where the feedback shows it.

:func:`autograded_notebook` is ps4's master as nbgrader's ``autograde`` leaves it
for a student who filled it with traps: markdown that tries to run script, fire
event handlers and load remote resources, maths (some of it hostile), code that
tries to close the page's ``<pre>``, and check messages carrying student text.
Every trap, if it worked, would set ``document.title`` to :data:`PWNED` or fetch
something from :data:`REMOTE`.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MASTER = ROOT / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"
PWNED = "pwned"
REMOTE = "http://example.invalid"
SET = f"document.title='{PWNED}'"

#: Markdown a student could write, each line a separate attempt.
HOSTILE_MARKDOWN = f"""\
## My notes <script>{SET}</script>

<img src=x onerror="{SET}"> <img src="{REMOTE}/pixel.png"> <video poster="{REMOTE}/p.png"></video>

<style>@import url({REMOTE}/a.css); body {{ background: url({REMOTE}/b.png) }}</style>
<link rel="stylesheet" href="{REMOTE}/c.css"><meta http-equiv="refresh" content="0;url={REMOTE}/">
<base href="{REMOTE}/">

<iframe src="{REMOTE}/frame"></iframe><iframe srcdoc="<script>parent.{SET}</script>"></iframe>
<object data="{REMOTE}/o"></object><embed src="{REMOTE}/e">

<svg onload="{SET}"><script>{SET}</script><image href="{REMOTE}/s.png"/></svg>

<a href="javascript:{SET}" id="js-link">a javascript link</a>, [another](javascript:{SET}),
<a href="data:text/html,<script>{SET}</script>">a data link</a>,
<a href="vbscript:msgbox(1)">vb</a>, <a href="#notes" onclick="{SET}">click</a>

<div style="background-image: url({REMOTE}/d.png)" onmouseover="{SET}">hover me</div>
<form action="{REMOTE}/f"><input name="q" autofocus onfocus="{SET}"><button>go</button></form>
<details open ontoggle="{SET}"><summary>details</summary>text</details>
<math><mtext><table><mglyph><style><img src=x onerror="{SET}">
<noscript><p title="</noscript><img src=x onerror={SET}>"></noscript>
<!-- <script>{SET}</script> -->

$$\\frac{{\\partial L}}{{\\partial w}}
  = \\frac{{2}}{{n}} \\sum_{{i=1}}^{{n}} (b + w x_i - y_i) x_i$$

Inline $\\eta = 0.5$, and hostile: $\\href{{javascript:{SET}}}{{x}}$
$\\text{{<img src=x onerror="{SET}">}}$ $\\def\\a{{\\a\\a}}\\a$
$\\style{{background:url({REMOTE}/m.png)}}{{y}}$
"""

#: A check message with student text in it (an exception's message, shown by a visible check).
VISIBLE_MESSAGE = (
    "train_autograd: 2 of 2 visible checks failed.\n\n"
    "Case 1 (float32): the slope: expected 13.64708184, got 12.5.\n"
    "Hint: the update must subtract the gradient (sign_error).\n\n"
    "Case 2 (float64): train_autograd raised ValueError: x\n"
    f"</pre><script>{SET}</script>\n## All submissions\n| mallory | 3 |"
)
HIDDEN_MESSAGE = (
    "train_autograd: 4 of 4 hidden checks failed.\n\n"
    "Hidden case 1: the slope is wrong (sign_error).\n\n"
    "Hidden case 2: the slope is wrong (sign_error).\n\n"
    "Hidden case 3: the intercept is wrong.\n\n"
    "Hidden case 4: the losses are wrong."
)
HOSTILE_CODE = (
    "import torch\n\n\ndef train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
    f'    """</pre></div><script>{SET}</script>"""\n'
    "    w = torch.tensor(w0, requires_grad=True)\n"
    "    return 0.0, 0.0, []  # 1 < 2 && 3 > 2\n"
)


def _error(message: str) -> dict[str, Any]:
    return {
        "output_type": "error",
        "ename": "CheckFailed",
        "evalue": message.split("\n", 1)[0],
        "traceback": message.splitlines(),
    }


def master() -> dict[str, Any]:
    return json.loads(MASTER.read_text(encoding="utf-8"))


def hidden_case_text() -> str:
    """A piece of the master's hidden test code that must never reach feedback."""
    for cell in master()["cells"]:
        source = "".join(cell["source"])
        if "BEGIN HIDDEN TESTS" in source:
            line = next(s for s in source.splitlines() if s.strip().startswith("{'x'"))
            return line.strip()[:60]
    raise AssertionError("the master has no hidden tests")


def autograded_notebook() -> dict[str, Any]:
    """ps4's master as autograde leaves a hostile student's submission."""
    notebook = copy.deepcopy(master())
    cells = notebook["cells"]
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        if grade_id == "train_autograd":
            cell["source"] = HOSTILE_CODE
        elif grade_id == "test_train_autograd_visible":
            cell["outputs"] = [_error(VISIBLE_MESSAGE)]
        elif grade_id == "test_train_autograd_hidden":
            cell["outputs"] = [_error(HIDDEN_MESSAGE)]
    cells.insert(
        1,
        {
            "cell_type": "markdown",
            "id": "student-notes",
            "metadata": {},
            "source": HOSTILE_MARKDOWN,
        },
    )
    cells.insert(
        2,
        {
            "cell_type": "code",
            "id": "student-extra",
            "metadata": {},
            "execution_count": None,
            "outputs": [
                {
                    "output_type": "stream",
                    "name": "stdout",
                    "text": f"This cell raised an error when graded: <script>{SET}</script>\n",
                }
            ],
            "source": "print('<b>hi</b>')",
        },
    )
    return notebook
