"""Correct variants: differently written right answers, which must score full marks.

Four are made from every master's solution, so a new assignment has them with nothing
written for it:

- ``prints``: the function prints what it is doing first;
- ``warns``: it raises a ``UserWarning`` first (warnings cost nothing);
- ``helper``: the work is done by a helper function the graded one calls;
- ``renamed``: every local name renamed, the docstring and comments dropped.

The others are written by hand in :data:`HANDWRITTEN`: loops for vectorised code and back,
float32 where the text allows it, other libraries the assignment allows. A check that
rejects any of them is a bug of the check. Each notebook holds the same kind of variant of
every function (a function without one keeps the master's solution).
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Sequence
from pathlib import Path

from gdcourse.grading.mutants.pipeline import SolutionCell

__all__ = ["AUTOMATIC", "HANDWRITTEN", "automatic", "composed", "notebooks"]

AUTOMATIC = ("prints", "warns", "helper", "renamed")
EACH_ALONE: tuple[tuple[str, ...], ...] = tuple((kind,) for kind in AUTOMATIC)
"""Every automatic variant, a notebook each."""


def _target(tree: ast.Module, name: str) -> ast.FunctionDef | None:
    """The graded function (or, for a class, its first method)."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
        if isinstance(node, ast.ClassDef) and node.name == name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    return item
    return None


def _body_start(function: ast.FunctionDef | ast.ClassDef) -> int:
    first = function.body[0] if function.body else None
    docstring = (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    )
    return 1 if docstring else 0


def automatic(kind: str, cell: SolutionCell) -> str | None:
    """The ``kind`` variant of a solution cell, or None when it does not apply."""
    tree = ast.parse(cell.source)
    function = _target(tree, cell.grade_id)
    if function is None:
        return None
    at = _body_start(function)
    if kind == "prints":
        function.body[at:at] = ast.parse(f"print('{cell.grade_id}: working...')").body
    elif kind == "warns":
        function.body[at:at] = ast.parse(
            "import warnings\n"
            f"warnings.warn('{cell.grade_id} is a slow implementation', UserWarning)"
        ).body
    elif kind == "helper":
        if function.name != cell.grade_id:  # a class: its methods stay where they are
            return None
        helper = copy.deepcopy(function)
        helper.name = f"_{cell.grade_id}_impl"
        call = ast.parse(f"return _{cell.grade_id}_impl(*args, **kwargs)").body
        function.args = ast.parse("def f(*args, **kwargs): pass").body[0].args  # type: ignore[attr-defined]
        function.body = call
        index = tree.body.index(function)
        tree.body.insert(index, helper)
    elif kind == "renamed":
        params = {a.arg for a in ast.walk(function) if isinstance(a, ast.arg)}
        local = {
            n.id
            for n in ast.walk(function)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and n.id not in params
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in local:
                node.id = f"{node.id}_"
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and _body_start(node):
                node.body = node.body[1:] or [ast.Pass()]
    else:
        raise ValueError(f"unknown variant kind {kind!r}; known: {', '.join(AUTOMATIC)}")
    ast.fix_missing_locations(tree)
    return ast.unparse(tree)


def composed(kinds: Sequence[str], cell: SolutionCell) -> str | None:
    """The automatic variants ``kinds`` applied one after the other (None if none applies)."""
    source: str | None = None
    for kind in kinds:
        changed = automatic(kind, SolutionCell(cell.grade_id, source or cell.source, ()))
        source = changed or source
    return source


def notebooks(
    root: Path,
    assignment: str,
    cells: Sequence[SolutionCell],
    *,
    kinds: Sequence[Sequence[str]] = EACH_ALONE,
    handwritten: int | None = None,
) -> list[tuple[str, dict[str, str]]]:
    """``(variant kind, grade_id -> source)`` of each correct-variant notebook: one per entry
    of ``kinds`` (automatic variants, composed), then the first ``handwritten`` (all)
    handwritten ones."""
    del root
    found: list[tuple[str, dict[str, str]]] = []
    for chain in kinds:
        sources = {}
        for cell in cells:
            text = composed(chain, cell)
            if text is not None:
                sources[cell.grade_id] = text
        if sources:
            found.append(("+".join(chain), sources))
    written = HANDWRITTEN.get(assignment, {})
    depth = max((len(v) for v in written.values()), default=0)
    if handwritten is not None:
        depth = min(depth, handwritten)
    for i in range(depth):
        sources = {}
        labels = []
        for function, entries in written.items():
            if i < len(entries):
                label, text = entries[i]
                sources[function] = text.strip("\n")
                labels.append(label)
        found.append((f"handwritten {i + 1}: " + "; ".join(labels), sources))
    return found


HANDWRITTEN: dict[str, dict[str, list[tuple[str, str]]]] = {
    "ps1_gradients": {
        "numerical_gradient": [
            (
                "vectorised over an identity matrix",
                """
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    point = np.asarray(x, dtype=float).copy()
    steps = h * np.eye(point.size)
    ups = np.array([f(point + e) for e in steps], dtype=float)
    downs = np.array([f(point - e) for e in steps], dtype=float)
    return (ups - downs) / (2.0 * h)
""",
            ),
            (
                "a list comprehension, coordinates changed and restored on a copy",
                """
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    work = [float(v) for v in x]

    def partial(i):
        up = list(work)
        down = list(work)
        up[i] += h
        down[i] -= h
        return (f(np.array(up)) - f(np.array(down))) / (2 * h)

    return np.array([partial(i) for i in range(len(work))], dtype=np.float64)
""",
            ),
        ],
        "autograd_gradient": [
            (
                "torch.autograd.grad with torch.from_numpy",
                """
import numpy as np
import torch


def autograd_gradient(f, x):
    point = torch.from_numpy(np.array(x, dtype=np.float64)).requires_grad_(True)
    (gradient,) = torch.autograd.grad(f(point), point)
    return gradient.numpy().astype(np.float64)
""",
            ),
            (
                "a float64 tensor from a list, printing its result",
                """
import numpy as np
import torch


def autograd_gradient(f, x):
    point = torch.tensor([float(v) for v in np.ravel(x)], dtype=torch.float64,
                         requires_grad=True)
    value = f(point)
    value.backward()
    result = np.array(point.grad.tolist(), dtype=np.float64)
    print("gradient", result)
    return result
""",
            ),
        ],
    },
    "ps2_gradient_descent": {
        "gradient_descent": [
            (
                "a while loop with a counter",
                """
import numpy as np


def gradient_descent(gradient, start, learn_rate, max_iter=1000, tol=1e-6):
    if learn_rate <= 0:
        raise ValueError("learn_rate must be positive")
    if max_iter < 0:
        raise ValueError("max_iter must not be negative")
    x = np.array(start, dtype=float)
    path = [np.copy(x)]
    count = 0
    while count < max_iter:
        step = learn_rate * np.asarray(gradient(x), dtype=float)
        if np.max(np.abs(step)) <= tol:
            break
        x = x - step
        path.append(np.copy(x))
        count += 1
    return x, path
""",
            ),
        ],
        "max_learning_rate": [
            (
                "the largest eigenvalue from eigh's vectors' Rayleigh quotients, with a warning",
                """
import warnings

import numpy as np


def max_learning_rate(A):
    matrix = np.array(A, dtype=float)
    values, _ = np.linalg.eigh(matrix)
    largest = max(values)
    warnings.warn("using eigh", UserWarning)
    return 2 / float(largest)
""",
            ),
        ],
    },
    "ps3_linear_regression": {
        "predict": [
            (
                "a loop over the elements",
                """
import numpy as np


def predict(x, w, b):
    out = np.empty(len(x), dtype=np.float64)
    for i, value in enumerate(x):
        out[i] = w * value + b
    return out
""",
            ),
        ],
        "mse": [
            (
                "a loop summing squares, divided by n",
                """
def mse(y_pred, y):
    total = 0.0
    for a, t in zip(y_pred, y):
        total += (float(a) - float(t)) ** 2
    return total / len(y)
""",
            ),
        ],
        "mse_gradient": [
            (
                "sums over the samples in a loop",
                """
def mse_gradient(x, y, w, b):
    n = len(x)
    dw = db = 0.0
    for xi, yi in zip(x, y):
        r = w * float(xi) + b - float(yi)
        dw += 2 * r * float(xi) / n
        db += 2 * r / n
    return dw, db
""",
            ),
        ],
        "fit": [
            (
                "np.dot for the sums, a list of losses built with +=",
                """
import numpy as np


def fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    x = np.array(x, dtype=float)
    y = np.array(y, dtype=float)
    n = x.size
    w = float(w0)
    b = float(b0)
    losses = []
    for epoch in range(epochs):
        r = w * x + b - y
        losses += [float(np.dot(r, r) / n)]
        grad_w = 2.0 * np.dot(r, x) / n
        grad_b = 2.0 * r.sum() / n
        w = w - learn_rate * grad_w
        b = b - learn_rate * grad_b
    return float(w), float(b), losses
""",
            ),
        ],
    },
    "ps4_autograd": {
        "train_autograd": [
            (
                "one parameter tensor, the mean as a sum over n, grad set to None",
                """
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    params = torch.tensor([float(w0), float(b0)], dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        residual = params[0] * x + params[1] - y
        loss = (residual * residual).sum() / len(x)
        losses.append(float(loss))
        loss.backward()
        with torch.no_grad():
            params -= learn_rate * params.grad
        params.grad = None
    return float(params[0]), float(params[1]), losses
""",
            ),
        ],
    },
    "ps5_minibatch_sgd": {
        "make_loader": [
            (
                "a seeded generator made by torch.Generator().manual_seed",
                """
import torch
from torch.utils.data import DataLoader, TensorDataset


def make_loader(inputs, targets, batch_size, seed=0):
    return DataLoader(
        TensorDataset(inputs, targets),
        batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(seed),
    )
""",
            ),
        ],
        "train_minibatch": [
            (
                "grads set to None, the residual's mean of squares by torch.mean",
                """
import torch


def train_minibatch(loader, W, b, learn_rate, epochs):
    losses = []
    for epoch in range(epochs):
        for X, Y in loader:
            prediction = torch.matmul(X, W.t()) + b
            loss = torch.mean(torch.square(prediction - Y))
            loss.backward()
            losses.append(float(loss.detach()))
            with torch.no_grad():
                W.sub_(learn_rate * W.grad)
                b.sub_(learn_rate * b.grad)
            W.grad = None
            b.grad = None
    return losses
""",
            ),
        ],
        "LinearRegressionModel": [
            (
                "the layer stored under another name, called through nn.Sequential",
                """
import torch
from torch import nn


class LinearRegressionModel(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x):
        return nn.Sequential(self.linear)(x)
""",
            ),
            (
                "forward through torch.nn.functional.linear",
                """
import torch
from torch import nn


class LinearRegressionModel(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features=in_features, out_features=out_features, bias=True)

    def forward(self, x):
        print("forward", tuple(x.shape))
        return torch.nn.functional.linear(x, self.linear.weight, self.linear.bias)
""",
            ),
        ],
        "train_model": [
            (
                "zero_grad(set_to_none=True) after the step, mse_loss",
                """
import torch
from torch import nn, optim


def train_model(model, loader, learn_rate, epochs):
    optimizer = optim.SGD(params=model.parameters(), lr=learn_rate)
    losses = []
    optimizer.zero_grad()
    for _ in range(epochs):
        for inputs, targets in loader:
            loss = nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
    return losses
""",
            ),
        ],
    },
    "ps6_momentum": {
        "gradient_descent_momentum": [
            (
                "PyTorch's form of the velocity (u = m u + g, x -= lr u)",
                """
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    if not learn_rate > 0:
        raise ValueError("learn_rate must be > 0")
    if momentum < 0 or momentum >= 1:
        raise ValueError("momentum must be in [0, 1)")
    if max_iter < 0:
        raise ValueError("max_iter must be >= 0")
    x = np.array(start, dtype=np.float64)
    velocity = np.zeros(x.shape)
    path = [x.copy()]
    for _ in range(max_iter):
        velocity = momentum * velocity - learn_rate * np.asarray(gradient(x), dtype=np.float64)
        if np.all(abs(velocity) <= tol):
            break
        x = x + velocity
        path.append(x.copy())
    return x, path
""",
            ),
        ],
        "optimal_momentum_parameters": [
            (
                "the condition number kappa",
                """
import math

import numpy as np


def optimal_momentum_parameters(A):
    values = np.linalg.eigvalsh(np.asarray(A, dtype=float))
    L, mu = float(values.max()), float(values.min())
    kappa = L / mu
    learn_rate = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    momentum = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    return learn_rate, momentum
""",
            ),
        ],
    },
    "ps7_adaptive": {
        "cosine_schedule": [
            (
                "a class with __call__, numpy's cos",
                """
import math

import numpy as np


class _Cosine:
    def __init__(self, eta0, total, eta_min):
        self.eta0, self.total, self.eta_min = eta0, total, eta_min

    def __call__(self, t):
        t = t if t < self.total else self.total
        factor = 0.5 * (1.0 + float(np.cos(np.pi * t / self.total)))
        return self.eta_min + (self.eta0 - self.eta_min) * factor


def cosine_schedule(eta0, *, total, eta_min=0.0):
    if eta0 <= 0:
        raise ValueError("eta0 must be > 0")
    if total < 1:
        raise ValueError("total must be >= 1")
    if eta_min < 0 or eta_min >= eta0:
        raise ValueError("eta_min must be in [0, eta0)")
    return _Cosine(eta0, total, eta_min)
""",
            ),
        ],
        "nesterov_momentum": [
            (
                "PyTorch's form: buffer u, look-ahead parameter tracked, iterates recovered",
                """
import numpy as np


def nesterov_momentum(gradient, start, *, learning_rate, momentum=0.9, steps):
    if not callable(learning_rate) and learning_rate <= 0:
        raise ValueError("learning_rate must be > 0")
    if momentum < 0 or momentum >= 1:
        raise ValueError("momentum must be in [0, 1)")
    if steps < 0:
        raise ValueError("steps must be >= 0")
    x = np.array(start, dtype=np.float64)
    v = np.zeros_like(x)
    path = [x.copy()]
    for k in range(steps):
        eta = learning_rate(k) if callable(learning_rate) else learning_rate
        ahead = x + momentum * v
        v = momentum * v - eta * np.asarray(gradient(ahead), dtype=np.float64)
        x = x + v
        path.append(x.copy())
    return x, path
""",
            ),
        ],
        "adam": [
            (
                "bias corrections folded into the step size",
                """
import math

import numpy as np


def adam(gradient, start, *, learning_rate, betas=(0.9, 0.999), eps=1e-8, steps):
    beta1, beta2 = betas
    if not callable(learning_rate) and learning_rate <= 0:
        raise ValueError("learning_rate must be > 0")
    if not (0 <= beta1 < 1) or not (0 <= beta2 < 1):
        raise ValueError("betas must be in [0, 1)")
    if eps <= 0:
        raise ValueError("eps must be > 0")
    if steps < 0:
        raise ValueError("steps must be >= 0")
    x = np.array(start, dtype=np.float64)
    m = np.zeros(x.shape)
    s = np.zeros(x.shape)
    path = [x.copy()]
    for k in range(1, steps + 1):
        eta = learning_rate(k - 1) if callable(learning_rate) else learning_rate
        g = np.asarray(gradient(x), dtype=np.float64)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * np.square(g)
        c1 = 1 - beta1**k
        c2 = 1 - beta2**k
        x = x - eta * (m / c1) / (np.sqrt(s / c2) + eps)
        path.append(x.copy())
    return x, path
""",
            ),
        ],
    },
    "ps8_logistic": {
        "sigmoid": [
            (
                "from logaddexp, no branch",
                """
import numpy as np


def sigmoid(o):
    o = np.asarray(o, dtype=np.float64)
    return np.exp(o - np.logaddexp(0.0, o))
""",
            ),
        ],
        "loss_and_grad": [
            (
                "theta = (w, b) against X with a column of ones, the loss from log1p",
                """
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must not be negative")
    X1 = np.column_stack([X, np.ones(len(X))])
    theta = np.append(np.asarray(w, dtype=np.float64), b)
    o = X1 @ theta
    terms = np.maximum(o, 0) + np.log1p(np.exp(-np.abs(o))) - y * o
    grad = X1.T @ (np.exp(o - np.logaddexp(0.0, o)) - y) / len(y)
    grad[:-1] += alpha * theta[:-1]
    return terms.mean() + 0.5 * alpha * np.sum(theta[:-1] ** 2), grad[:-1], grad[-1]
""",
            ),
        ],
        "fit_gd": [
            (
                "a loop over observations, the bound from the singular values",
                """
import math

import numpy as np


def fit_gd(X, y, *, learning_rate=None, steps, alpha=0.0):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if np.any((y != 0) & (y != 1)):
        raise ValueError("labels must be 0 or 1")
    if (learning_rate is not None and learning_rate <= 0) or steps < 0 or alpha < 0:
        raise ValueError("learning_rate must be > 0, steps and alpha >= 0")
    n, d = X.shape
    if learning_rate is None:
        largest = np.linalg.svd(np.column_stack([X, np.ones(n)]), compute_uv=False)[0]
        learning_rate = 1 / (largest**2 / (4 * n) + alpha)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(steps):
        o = X @ w + b
        losses.append(float(np.mean(np.logaddexp(0, o) - y * o) + alpha * (w @ w) / 2))
        grad_w, grad_b = alpha * w, 0.0
        for i in range(n):
            z = o[i]
            p = 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))
            grad_w = grad_w + (p - y[i]) * X[i] / n
            grad_b += (p - y[i]) / n
        w, b = w - learning_rate * grad_w, b - learning_rate * grad_b
    return w, b, losses
""",
            ),
        ],
        "train_logistic": [
            (
                "the functional loss, optimizers looked up in a dict",
                """
import torch
from torch import nn


def train_logistic(model, X, y, *, method, learning_rate, epochs):
    if learning_rate <= 0 or epochs < 0:
        raise ValueError("learning_rate must be > 0 and epochs >= 0")
    makers = {
        "sgd": lambda p: torch.optim.SGD(p, lr=learning_rate),
        "momentum": lambda p: torch.optim.SGD(p, lr=learning_rate, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=learning_rate),
    }
    if method not in makers:
        raise ValueError(f"method must be one of {sorted(makers)}")
    optimizer = makers[method](model.parameters())
    losses = []
    for _ in range(epochs):
        loss = nn.functional.binary_cross_entropy_with_logits(model(X).squeeze(1), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses
""",
            ),
        ],
    },
}
"""assignment -> function -> ``(what is different, the whole cell)``: correct solutions
written another way than the master's."""
