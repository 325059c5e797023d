"""Write the ``ps8_logistic`` attack submissions graded by tests/test_attacks_ps8.py.

Each submission is the student version (``exercises/ps8_logistic/ps8_logistic.ipynb``)
with every answer cell filled by the master's solution, except the attacked
function(s), whose cell holds the scenario's code. Run
``python tests/attacks/ps8/make_ps8.py`` to regenerate.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ASSIGNMENT = "ps8_logistic"
MASTER = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
RELEASE = ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
FUNCTIONS = ("sigmoid", "loss_and_grad", "fit_gd", "train_logistic")

Notebook = dict[str, Any]


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)


def _find(nb: Notebook, grade_id: str) -> dict[str, Any]:
    return next(
        c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


def solution(function: str) -> str:
    """The master's answer cell of ``function`` without nbgrader's solution markers."""
    master = json.loads(MASTER.read_text(encoding="utf-8"))
    lines = _source(_find(master, function)).splitlines()
    return "\n".join(line for line in lines if line.strip() not in MARKERS)


MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def student(answers: dict[str, str], extra_cells: tuple[str, ...] = ()) -> Notebook:
    """The released notebook, each answer cell the master's solution unless ``answers`` gives
    it; ``extra_cells`` go after the last answer cell."""
    nb: Notebook = json.loads(RELEASE.read_text(encoding="utf-8"))
    for function in FUNCTIONS:
        _find(nb, function)["source"] = answers.get(function, solution(function))
    last = nb["cells"].index(_find(nb, FUNCTIONS[-1]))
    for offset, source in enumerate(extra_cells):
        cell: dict[str, Any] = {
            "cell_type": "code",
            "execution_count": None,
            "id": f"extra{offset}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        nb["cells"].insert(last + 1 + offset, cell)
    return copy.deepcopy(nb)


def _replace(function: str, old: str, new: str) -> str:
    """The master's ``function`` with ``old`` replaced (once, and it must be there)."""
    text = solution(function)
    if old not in text:
        raise ValueError(f"{old!r} is not in the master's {function}")
    return text.replace(old, new, 1)


def _header(function: str) -> str:
    """The master's cell of ``function`` up to and including its docstring."""
    text = solution(function)
    end = text.index('"""', text.index('"""') + 3) + 3
    return text[:end] + "\n"


# An object that claims to equal anything: returned where numbers or arrays are expected.
ALWAYS_EQUAL = """

class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __le__(self, other): return True
    def __gt__(self, other): return True
    def __ge__(self, other): return True
    def __abs__(self): return 0.0
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __array__(self, dtype=None, copy=None): return np.zeros(())
    __hash__ = float.__hash__


class Everything(np.ndarray):
    def __eq__(self, other): return np.ones(np.shape(other), dtype=bool)
    def __ne__(self, other): return np.zeros(np.shape(other), dtype=bool)
    def __sub__(self, other): return np.zeros(np.shape(other))
    __rsub__ = __sub__
    def __array_function__(self, func, types, args, kwargs): return True
    def __getattr__(self, name): return Anything(0)
"""


def scenarios() -> dict[str, Notebook]:
    """Scenario name -> submitted notebook."""
    s: dict[str, Notebook] = {}
    # (1) duck-typed results: an ndarray subclass that equals anything, floats that do too
    s["always_equal_object"] = student(
        {
            "sigmoid": _header("sigmoid").replace(
                "import numpy as np\n", "import numpy as np\n" + ALWAYS_EQUAL
            )
            + "    return np.zeros(np.shape(o)).view(Everything)",
            "loss_and_grad": _header("loss_and_grad")
            + "    return Anything(0), np.zeros(np.shape(w)).view(Everything), Anything(0)",
        }
    )
    # (2) the shortcuts the spec bans: torch.nn's sigmoid for sigmoid and torch.optim with
    # autograd for fit_gd, reached by names built at run time; autograd for loss_and_grad
    # only where no visible check looks (more than 10 observations: the visible cases have 4)
    s["banned_shortcuts"] = student(
        {
            "sigmoid": _header("sigmoid") + "    import torch\n"
            "    t = torch.as_tensor(np.asarray(o, dtype=float))\n"
            "    return getattr(torch, 'n' + 'n').functional.sigmoid(t).numpy()",
            "loss_and_grad": _replace(
                "loss_and_grad",
                "    X = np.asarray(X, dtype=float)\n",
                "    if len(y) > 10:\n"
                "        import torch\n"
                "        wt = torch.tensor(np.asarray(w, dtype=float), requires_grad=True)\n"
                "        bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)\n"
                "        Xt = torch.as_tensor(np.asarray(X, dtype=float))\n"
                "        yt = torch.as_tensor(np.asarray(y, dtype=float))\n"
                "        o = Xt @ wt + bt\n"
                "        loss = torch.mean(torch.logaddexp(torch.zeros_like(o), o) - yt * o)"
                " + alpha / 2 * (wt @ wt)\n"
                "        loss.backward()\n"
                "        return loss.item(), wt.grad.numpy(), bt.grad.item()\n"
                "    X = np.asarray(X, dtype=float)\n",
            ),
            "fit_gd": _header("fit_gd") + "    import torch\n"
            "    X = torch.as_tensor(np.asarray(X, dtype=float))\n"
            "    y = torch.as_tensor(np.asarray(y, dtype=float))\n"
            "    if learning_rate is None:\n"
            "        X1 = torch.column_stack([X, torch.ones(len(X), dtype=X.dtype)])\n"
            "        L = torch.linalg.eigvalsh(X1.T @ X1)[-1].item() / (4 * len(X)) + alpha\n"
            "        learning_rate = 1 / L\n"
            "    w = torch.zeros(X.shape[1], dtype=X.dtype, requires_grad=True)\n"
            "    b = torch.zeros((), dtype=X.dtype, requires_grad=True)\n"
            "    optimizer = getattr(torch, 'op' + 'tim').SGD([w, b], lr=learning_rate)\n"
            "    losses = []\n"
            "    for _ in range(steps):\n"
            "        optimizer.zero_grad()\n"
            "        o = X @ w + b\n"
            "        loss = torch.mean(torch.logaddexp(torch.zeros_like(o), o) - y * o)"
            " + alpha / 2 * (w @ w)\n"
            "        losses.append(loss.item())\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "    return w.detach().numpy(), b.item(), losses",
        }
    )
    # (3) a wrong gradient, with the comparisons and the check helpers patched to pass
    s["patched_comparisons_and_checks"] = student(
        {
            "loss_and_grad": _replace(
                "loss_and_grad", "- y  # y_hat - y", "- y\n    error = -error  # y - y_hat"
            )
        },
        extra_cells=(
            "import numpy as np, torch\n"
            "import gdcourse.grading as grading\n"
            "np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
            "np.array_equal = lambda *a, **k: True\n"
            "np.testing.assert_allclose = lambda *a, **k: None\n"
            "torch.allclose = lambda *a, **k: True\n"
            "torch.testing.assert_close = lambda *a, **k: None\n"
            "grading.check = lambda *a, **k: None\n"
            "try:\n"
            "    import gdcourse.grading.checks as checks\n"
            "    checks.run_check = lambda *a, **k: None\n"
            "    checks.check = lambda *a, **k: None\n"
            "except Exception as error:\n"
            "    print('no checks here:', error)",
        ),
    )
    # (4) the inputs sent back in error messages: loss_and_grad raises with its arguments;
    # train_logistic trains, then leaves a layer whose weight raises with the inputs when
    # ps8's probe reads it after the call
    s["leaks_inputs"] = student(
        {
            "loss_and_grad": _header("loss_and_grad")
            + "    raise ValueError(f'LEAK w={np.asarray(w).tolist()} b={b!r} "
            "X={np.asarray(X).tolist()} y={np.asarray(y).tolist()}')",
            "train_logistic": _replace(
                "train_logistic",
                "    return losses",
                "    class Leaky:\n"
                "        @property\n"
                "        def weight(self):\n"
                "            raise ValueError(f'LEAK X={X.tolist()} W={W}')\n"
                "        bias = weight\n"
                "    W = model.linear.weight.tolist()\n"
                "    model._modules.pop('linear')\n"
                "    object.__setattr__(model, 'linear', Leaky())\n"
                "    return losses",
            ),
        }
    )
    # (5) float16 results (fit_gd), nan and inf once training is done (train_logistic)
    s["non_finite_and_float16_results"] = student(
        {
            "fit_gd": _replace(
                "fit_gd",
                "    return w, float(b), losses",
                "    return w.astype(np.float16), np.float16(b), [np.float16(v) for v in losses]",
            ),
            "train_logistic": _replace(
                "train_logistic",
                "    return losses",
                "    with torch.no_grad():\n"
                "        model.linear.weight.fill_(float('nan'))\n"
                "        model.linear.bias.fill_(float('inf'))\n"
                "    return [float('nan')] * len(losses)",
            ),
        }
    )
    # (6) correct, but every function prints and warns
    noisy = {}
    for function in FUNCTIONS:
        header = _header(function)
        noisy[function] = header + (
            "    import warnings\n"
            f"    print('computing {function}...')\n"
            f"    warnings.warn('{function} may be slow', RuntimeWarning)\n"
            "    warnings.warn('an old API', DeprecationWarning)\n"
            + solution(function)[len(header) :]
        )
    s["correct_with_warnings"] = student(noisy)
    return s


def text(notebook: Notebook) -> str:
    return json.dumps(notebook, indent=1) + "\n"


def main() -> None:
    for name, notebook in scenarios().items():
        (HERE / f"{name}.ipynb").write_text(text(notebook), encoding="utf-8")


if __name__ == "__main__":
    main()
