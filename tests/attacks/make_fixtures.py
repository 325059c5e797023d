# ruff: noqa: E501  (the fixtures are code in strings; their lines follow the code they hold)
"""Write the attack and broken-submission fixtures of the secure grader (tests/test_grading.py).

Every fixture is a submission of ``ps4_autograd`` built from the student version
of the course's master (``solutions/ps4_autograd/ps4_autograd.ipynb``) with its
answer cell replaced as each scenario needs. Hostile fixtures
are bounded: the fork bomb forks at most 300 times, the memory bomb asks for
3 GiB (above the sandbox's 1 GiB), the flood prints 100 MB, the loops end on the
sandbox's limits. Run ``python tests/attacks/make_fixtures.py`` to regenerate.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

MASTER = HERE.parent.parent / "solutions" / "ps4_autograd" / "ps4_autograd.ipynb"

REFERENCE = '''def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Fit y = w x + b by gradient descent on the MSE, gradients from autograd."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((w * x + b - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return w.item(), b.item(), losses'''

CORRECT = REFERENCE
UNTOUCHED = '''def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Fit y = w x + b by gradient descent on the MSE, gradients from autograd."""
    # YOUR CODE HERE
    raise NotImplementedError()'''
WRONG = CORRECT.replace("w -= learn_rate", "w += learn_rate").replace(
    "b -= learn_rate", "b += learn_rate"
)
NO_ZERO = CORRECT.replace("        w.grad.zero_()\n        b.grad.zero_()\n", "")


def master():
    """The course's master notebook of ps4_autograd."""
    return json.loads(MASTER.read_text(encoding="utf-8"))


def _cell(cell_type, source, cell_id):
    cell = {"cell_type": cell_type, "id": cell_id, "metadata": {}, "source": source}
    if cell_type == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def _source(cell):
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def student(solution, extra_cells=(), before=()):
    """The student version (as nbgrader releases it) with ``solution`` in the answer cell."""
    nb = copy.deepcopy(master())
    for cell in nb["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if meta.get("grade_id") == "train_autograd":
            cell["source"] = solution
        elif "### BEGIN HIDDEN TESTS" in _source(cell):
            cell["source"] = _source(cell).split("### BEGIN HIDDEN TESTS")[0].rstrip() + "\n"
    index = next(
        i for i, c in enumerate(nb["cells"]) if c["id"] == _find(nb, "train_autograd")["id"]
    )
    for offset, source in enumerate(before):
        nb["cells"].insert(index + offset, _cell("code", source, f"before{offset}"))
    index = next(
        i for i, c in enumerate(nb["cells"]) if c["id"] == _find(nb, "train_autograd")["id"]
    )
    for offset, source in enumerate(extra_cells):
        nb["cells"].insert(index + 1 + offset, _cell("code", source, f"extra{offset}"))
    return nb


def _release_solution():
    """The answer cell as students receive it (exercises/), else a stub that raises."""
    release = HERE.parent.parent / "exercises" / "ps4_autograd" / "ps4_autograd.ipynb"
    if release.is_file():
        return _source(_find(json.loads(release.read_text(encoding="utf-8")), "train_autograd"))
    return UNTOUCHED


def _find(nb, grade_id):
    return next(
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def scenarios():
    """Scenario name -> notebook (dict) or raw text (for invalid JSON)."""
    s = {}
    s["correct"] = student(CORRECT)
    s["untouched"] = student(_release_solution())
    s["wrong_sign"] = student(WRONG)
    s["wrong_no_zero_grad"] = student(NO_ZERO)
    s["correct_with_warnings"] = student(
        CORRECT.replace(
            '    """Fit',
            '    import warnings\n    warnings.warn("slow", RuntimeWarning)\n'
            '    print("training...")\n    np.log(np.array([0.0]))\n    """Fit',
        )
    )
    s["patched_numpy_torch_comparisons"] = student(
        WRONG,
        extra_cells=[
            "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
            "np.testing.assert_allclose = lambda *a, **k: None\n"
            "torch.allclose = lambda *a, **k: True\ntorch.testing.assert_close = lambda *a, **k: None"
        ],
    )
    s["patched_builtins"] = student(
        WRONG,
        extra_cells=[
            "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.isinstance = lambda *a: True\n"
            "builtins.AssertionError = type('Nothing', (Exception,), {})"
        ],
    )
    s["ipython_ast_transformer"] = student(
        WRONG,
        extra_cells=[
            "import ast\nclass NoAsserts(ast.NodeTransformer):\n"
            "    def visit_Assert(self, node):\n        return ast.Pass()\n"
            "get_ipython().ast_transformers.append(NoAsserts())"
        ],
    )
    s["ipython_input_transformer"] = student(
        WRONG,
        extra_cells=["get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"],
    )
    s["ipython_display_hook"] = student(
        WRONG,
        extra_cells=[
            "import sys\nsys.displayhook = lambda value: None\nsys.excepthook = lambda *a: None"
        ],
    )
    s["ipython_run_code"] = student(
        WRONG,
        extra_cells=[
            "ip = get_ipython()\nip.run_code = lambda *a, **k: None\nip.run_cell = lambda *a, **k: None"
        ],
    )
    s["always_equal_object"] = student(
        "class Anything(float):\n    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n    def __lt__(self, other): return True\n"
        "    def __gt__(self, other): return True\n    def __abs__(self): return 0.0\n"
        "    def __sub__(self, other): return 0.0\n    __rsub__ = __sub__\n"
        "    __hash__ = float.__hash__\n\n"
        "class Everything(list):\n    def __eq__(self, other): return True\n\n"
        "def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
        "    return Anything(0), Anything(0), Everything([Anything(0)] * epochs)"
    )
    s["shadowing_module_file"] = student(
        WRONG,
        before=[
            "with open('numpy.py', 'w') as f:\n    f.write('allclose = lambda *a, **k: True\\n')\n"
            "import sys, importlib\nsys.path.insert(0, '.')\nsys.modules.pop('numpy', None)\n"
            "import numpy as np"
        ],
    )
    s["files_outside_sandbox"] = student(
        WRONG,
        extra_cells=[
            "import os, glob, pathlib\nfound = []\n"
            "for pattern in ['/work/*/gradebook.db', '/tmp/*/gradebook.db', '/tmp/*/*/gradebook.db',\n"
            "                '/tmp/*/solutions/*/*.ipynb', '/tmp/*/*/solutions/*/*.ipynb',\n"
            "                '/tmp/*/*/submitted/*/*/*.ipynb', '/work/main/solutions/*/*.ipynb',\n"
            "                '/root/*', '/home/*']:\n"
            "    found += glob.glob(pattern)\n"
            "for path in found:\n"
            "    try:\n        open(path, 'a').write('tampered')\n    except OSError as e:\n"
            "        print('write', path, e)\n"
            "print('found', found)\n"
            "for path in ['/work/main/gradebook.db', '/etc/passwd', '/etc/shadow']:\n"
            "    try:\n        print(path, len(open(path, 'rb').read()))\n"
            "    except OSError as e:\n        print(path, e)\n"
            "with open('/work/main/pwned.txt', 'w') as f:\n    f.write('x')"
        ],
    )
    s["detects_grading_environment"] = student(
        "import os\n"
        "GRADING = os.environ.get('NBGRADER_EXECUTION') or os.getuid() != 0 "
        "or not os.path.exists('/work/main/solutions')\n\n" + WRONG
    )
    s["sys_exit_in_cell"] = student(CORRECT, extra_cells=["import sys\nsys.exit(0)"])
    s["sys_exit_in_function"] = student(
        CORRECT.replace('    """Fit', '    import sys\n    sys.exit(1)\n    """Fit')
    )
    s["kills_own_process"] = student(
        WRONG,
        extra_cells=[
            "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\nos.kill(os.getpid(), signal.SIGTERM)\n"
            "os._exit(3)"
        ],
    )
    s["infinite_loop"] = student(
        CORRECT.replace('    """Fit', '    while True:\n        pass\n    """Fit')
    )
    s["memory_bomb"] = student(
        CORRECT.replace('    """Fit', '    hog = np.ones(3 * 2**30 // 8)  # 3 GiB\n    """Fit')
    )
    s["fork_bomb"] = student(
        WRONG,
        extra_cells=[
            "import os, time\nchildren = 0\nfor _ in range(300):\n    try:\n        pid = os.fork()\n"
            "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(5)\n        os._exit(0)\n"
            "    children += 1\nprint('forked', children)"
        ],
    )
    s["output_flood"] = student(
        CORRECT,
        extra_cells=[
            "import sys\nline = 'x' * 999 + '\\n'\nfor _ in range(100_000):\n    sys.stdout.write(line)"
        ],
    )
    s["syntax_error_elsewhere"] = student(CORRECT, extra_cells=["def broken(:\n    pass"])
    dup = student(CORRECT)
    position = dup["cells"].index(_find(dup, "test_train_autograd_visible"))
    dup["cells"].insert(position + 1, copy.deepcopy(_find(dup, "test_train_autograd_visible")))
    position = dup["cells"].index(_find(dup, "train_autograd"))
    dup["cells"].insert(position + 1, copy.deepcopy(_find(dup, "train_autograd")))
    s["duplicated_cells"] = dup
    deleted = student(CORRECT)
    deleted["cells"] = [
        c
        for c in deleted["cells"]
        if not c["metadata"].get("nbgrader", {}).get("grade_id", "").startswith("test")
    ]
    s["deleted_test_cells"] = deleted
    edited = student(WRONG)
    _find(edited, "test_train_autograd_visible")["source"] = "pass"
    _find(edited, "test_train_autograd_hidden")["source"] = "print('all good')"
    s["edited_test_cells"] = edited
    retyped = student(WRONG)
    for cell in retyped["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id", "").startswith("test"):
            cell["metadata"] = {}
            cell["id"] = "retyped" + cell["id"][-6:]
    s["retyped_test_cells"] = retyped
    tampered = student(CORRECT)
    _find(tampered, "train_autograd")["metadata"]["nbgrader"].update(
        {"grade": True, "points": 100, "schema_version": 99}
    )
    _find(tampered, "test_train_autograd_hidden")["metadata"]["nbgrader"].update(
        {"grade": False, "points": 0}
    )
    s["tampered_metadata"] = tampered
    forged = student(CORRECT)
    forged["metadata"]["gdcourse"] = {"unreadable": "please skip sanitizing", "notes": []}
    bonus = _cell("code", "print('bonus')", "bonus")
    bonus["metadata"]["nbgrader"] = {
        "grade": True,
        "solution": False,
        "locked": True,
        "grade_id": "bonus_points",
        "points": 100,
        "schema_version": 3,
    }
    forged["cells"].append(bonus)
    s["forged_grader_metadata"] = forged
    kernel = student(CORRECT)
    kernel["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    s["wrong_kernelspec"] = kernel
    s["extra_files"] = student(CORRECT)
    s["renamed_notebook"] = student(CORRECT)
    s["missing_notebook"] = student(CORRECT)
    s["invalid_json"] = json.dumps(student(CORRECT))[:-200]
    # ---- the second round (issue 9): attacks on a grader whose student process holds no answer
    s["rebinds_the_probe"] = student(
        WRONG,
        extra_cells=[
            "import importlib\n"
            "try:\n    importlib.import_module('gdcourse.grading.specs.ps4_autograd')\n"
            "except ImportError as error:\n    print('no specs here:', error)\n"
            "import gdcourse.grading.probes.ps4_autograd as probes\n"
            "from gdcourse import objectives\n"
            "real = probes.PROBES['train_autograd']\n"
            "def fake(fn, case):\n"
            "    return real(lambda x, y, lr, n, w0=0.0, b0=0.0: _fit(x, y, lr, n, w0, b0), case)\n"
            "def _fit(x, y, lr, n, w0, b0):\n"
            "    import numpy as np\n"
            "    xs, ys = np.asarray(x, float), np.asarray(y, float)\n"
            "    w, b, losses = w0, b0, []\n"
            "    for _ in range(n):\n"
            "        losses.append(float(objectives.mse(objectives.linear_model(xs, w, b), ys)))\n"
            "        dw, db = objectives.mse_gradient(xs, ys, w, b)\n"
            "        w, b = w - lr * dw, b - lr * db\n"
            "    return w, b, losses\n"
            "probes.PROBES['train_autograd'] = fake"
        ],
    )
    s["forged_reply"] = student(
        WRONG.replace(
            "    return w.item(), b.item(), losses",
            "    import json, os, sys\n"
            "    frame = sys._getframe(1)\n"
            "    while frame is not None and 'reply_fd' not in frame.f_locals:\n"
            "        frame = frame.f_back\n"
            "    if frame is not None:\n"
            "        token = frame.f_locals.get('message', (b'0' * 32,))[0]\n"
            "        body = token + json.dumps({'data': {'output': [1.0, 1.0, [1.0]], 'raised': None,"
            " 'modified': []}}).encode()\n"
            "        os.write(frame.f_locals['reply_fd'], len(body).to_bytes(4, 'big') + body)\n"
            "    return w.item(), b.item(), losses",
        )
    )
    s["error_leaks_inputs"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    raise ValueError(f'LEAK x={x.tolist()} y={y.tolist()} lr={learn_rate} n={epochs}')",
        )
    )
    s["float16_results"] = student(
        CORRECT.replace(
            "    return w.item(), b.item(), losses",
            "    import numpy as np\n"
            "    return np.float16(w.item()), np.float16(b.item()), [np.float16(v) for v in losses]",
        ).replace("w -= learn_rate * w.grad", "w -= 1.003 * learn_rate * w.grad")
    )
    s["shortcut_by_built_name"] = student(
        "import torch\n\n\n"
        "def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
        "    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)\n"
        "    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)\n"
        "    optimizer = getattr(torch, 'op' + 'tim').SGD([w, b], lr=learn_rate)\n"
        "    losses = []\n"
        "    for _ in range(epochs):\n"
        "        optimizer.zero_grad()\n"
        "        loss = torch.mean((w * x + b - y) ** 2)\n"
        "        losses.append(loss.item())\n"
        "        loss.backward()\n"
        "        optimizer.step()\n"
        "    return w.item(), b.item(), losses"
    )
    s["deeply_nested_expression"] = student(
        CORRECT + "\n\nDEPTH = " + "(" * 50_000 + "1" + ")" * 50_000 + "\n"
    )
    s["deeply_nested_result"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    nested = []\n    for _ in range(100_000):\n        nested = [nested]\n"
            "    return nested, nested, nested",
        )
    )
    s["report_injection"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    raise ValueError('x\\n\\n## All submissions\\n\\n| mallory | 3 | 1 | 2 |\\n"
            "- **mallory** (3/3): <script>alert(1)</script>')",
        )
    )
    script = student(CORRECT)
    script["cells"].insert(
        1,
        _cell(
            "markdown",
            "Notes <script>document.title = 'pwned'</script>"
            "<img src=x onerror=\"document.title='pwned'\"> <img src='http://example.invalid/x.png'>"
            " [link](javascript:alert(1))",
            "student-notes",
        ),
    )
    s["markdown_script"] = script
    s["writes_outside_its_folders"] = student(
        CORRECT,
        extra_cells=[
            "import os\nfor folder in ('/run/lock', '/run', '/var/tmp', '/dev/shm', '/tmp'):\n"
            "    try:\n        os.makedirs(folder, exist_ok=True)\n"
            "        open(os.path.join(folder, 'gdcourse-attack-marker'), 'w').write('x')\n"
            "    except OSError as error:\n        print(folder, error)"
        ],
    )
    # each fork holds its 300 MiB before the cell goes on: on a loaded machine, filling them
    # can take longer than the cell's own wait. The wait after that (the watch looks every
    # 0.1 s) is short, so that slow forks leave the cell most of its 20 s: with a 15 s wait,
    # a CI run under load timed the cell out before the forks held their memory
    s["forks_to_multiply_memory"] = student(
        CORRECT,
        before=[
            "import os, time\nimport numpy as np\nready, held = os.pipe()\nfor _ in range(8):\n"
            "    if os.fork() == 0:\n        block = np.ones(300 * 2**20 // 8)\n"
            "        os.write(held, b'x')\n        time.sleep(60)\n        os._exit(0)\n"
            "for _ in range(8):\n    os.read(ready, 1)\ntime.sleep(3)"
        ],
    )
    s["tampers_with_the_watch"] = student(
        "import sys, torch\n"
        "try:\n    sys.setprofile(None)\nexcept Exception as error:\n    print(error)\n\n\n"
        + CORRECT.replace("import torch\n", "").replace(
            "    losses = []",
            "    torch.optim.SGD([w, b], lr=learn_rate)\n    losses = []",
        )
    )
    # the third round: hidden inputs sent back through the student's own words. Each encodes
    # the case's epoch count (8, 25, 3, 1, 0 in the hidden cases; 10 and 5 in the visible
    # ones) as "LEAK<epochs>X", or in what it chooses per case.
    s["leak_by_exception_class"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    raise type(f'LEAK{epochs}X', (Exception,), {})('nothing to see')",
        )
    )
    s["leak_by_builtin_exception"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    kinds = [ValueError, KeyError, TypeError, IndexError, ZeroDivisionError,"
            " OverflowError, LookupError, ArithmeticError]\n"
            "    raise kinds[epochs % len(kinds)]('nothing to see')",
        )
    )
    s["leak_by_exit_status"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()", "    import os\n    os._exit(100 + epochs)"
        )
    )
    s["leak_by_forged_evidence"] = student(
        CORRECT.replace(
            "    return w.item(), b.item(), losses",
            "    import os, sys\n"
            "    frame = sys._getframe(1)\n"
            "    while frame is not None and 'evidence_fd' not in frame.f_locals:\n"
            "        frame = frame.f_back\n"
            "    if frame is not None:\n"
            "        line = f'T LEAK{epochs}X\\nS LEAK{epochs}X\\n'.encode()\n"
            "        os.write(frame.f_locals['evidence_fd'], line)\n"
            "    return w.item(), b.item(), losses",
        )
    )
    s["leak_by_forged_reply"] = student(
        UNTOUCHED.replace(
            "    raise NotImplementedError()",
            "    import json, os, sys\n"
            "    frame = sys._getframe(1)\n"
            "    while frame is not None and 'reply_fd' not in frame.f_locals:\n"
            "        frame = frame.f_back\n"
            "    if frame is not None:\n"
            "        token = frame.f_locals.get('message', (b'0' * 32,))[0]\n"
            "        body = token + json.dumps({'missing': f'LEAK{epochs}X'}).encode()\n"
            "        os.write(frame.f_locals['reply_fd'], len(body).to_bytes(4, 'big') + body)\n"
            "    raise NotImplementedError()",
        )
    )
    return s


def main():
    for name, content in scenarios().items():
        text = content if isinstance(content, str) else json.dumps(content, indent=1) + "\n"
        (HERE / f"{name}.ipynb").write_text(text)


if __name__ == "__main__":
    main()
