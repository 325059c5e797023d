"""Probes of ``ps8_logistic``: the sigmoid, the cross-entropy and its gradient, gradient
descent on it, and training with ``torch.nn`` and ``torch.optim``.

A ``sigmoid`` case gives ``o``: a number (passed as a float) or a nested list (passed as
a float64 array, watched for changes in place; with ``"o_as": "float32"`` a float32 array,
watched too, and with ``"o_as": "list"`` the nested list itself: ``o`` is array_like).

The other cases name their data either as literals (``"X"``, an n x d nested list, and
``"y"``, n labels) or as ``"data": "classes"``, drawn by
:func:`gdcourse.datasets.synthetic_classes` from ``np.random.default_rng(seed)`` with the
case's ``n_samples``, ``weights``, ``bias`` and ``separable``. A case may multiply the
inputs by ``scale`` (default 1): large inputs make large logits, where a cross-entropy
computed from probabilities instead of logits breaks down. With ``"as": "lists"`` the
arrays are passed as nested lists (the functions take array_like inputs), and a
``loss_and_grad`` case may give ``"w_dtype": "float32"`` (the weights as a float32 array,
which the function must compute with in float64).

>>> X, y = data_arrays({"data": "classes", "seed": 0, "n_samples": 5})
>>> X.shape, y.shape, X.dtype
((5, 2), (5,), dtype('float64'))
>>> arguments = loss_inputs({"X": [[1.0], [2.0]], "y": [0.0, 1.0], "w": [0.5], "b": 0.0})
>>> [type(a).__name__ for a in arguments.args], sorted(arguments.watched)
(['ndarray', 'float', 'ndarray', 'ndarray'], ['X', 'w', 'y'])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# torch.optim imports torch._dynamo (and with it sympy) when it builds its first optimizer.
# The secure grader forks each sandbox from an interpreter that has imported this module
# and no longer reaches every installed file; importing it here lets a student's
# optim.Adam(...) find it loaded.
import torch._dynamo  # noqa: F401

from gdcourse.grading.probes import Arguments, Case, Probe, make_probe
from gdcourse.grading.probes.ps5_minibatch_sgd import probe_model

__all__ = [
    "DTYPES",
    "METHODS",
    "PROBES",
    "data_arrays",
    "fit_inputs",
    "loss_inputs",
    "sigmoid_inputs",
    "train_inputs",
    "train_probe",
]

DTYPES = ("float32", "float64")  # the first is the default of train_logistic's cases
METHODS = ("sgd", "momentum", "adam")
"""The optimizers ``train_logistic`` is asked for: ``torch.optim.SGD``, ``SGD`` with
``momentum=0.9``, and ``torch.optim.Adam`` with its default betas."""


def data_arrays(case: Case) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The case's inputs (n x d) and labels (n), fresh float64 arrays."""
    if "data" in case:
        if case["data"] != "classes":
            raise ValueError(f"data must be 'classes', got {case['data']!r}")
        from gdcourse.datasets import synthetic_classes

        options = {
            key: case[key] for key in ("n_samples", "weights", "bias", "separable") if key in case
        }
        X, y = synthetic_classes(np.random.default_rng(int(case.get("seed", 0))), **options)
    else:
        X = np.array(case["X"], dtype=np.float64)
        y = np.array(case["y"], dtype=np.float64)
    return np.array(X * float(case.get("scale", 1.0))), np.array(y)


_SIGMOID_AS = {"array": np.float64, "float32": np.float32}


def sigmoid_inputs(case: Case) -> Arguments:
    """``sigmoid(o)``: a float, a float64 or float32 array (watched), or a nested list."""
    literal = case["o"]
    kind = str(case.get("o_as", "array"))
    if kind not in (*_SIGMOID_AS, "list"):
        raise ValueError(f"o_as must be one of array, float32, list, got {kind!r}")
    if isinstance(literal, list):
        if kind == "list":
            return Arguments(args=(_nested_floats(literal),))
        o = np.array(literal, dtype=_SIGMOID_AS[kind])
        return Arguments(args=(o,), watched={"o": o})
    return Arguments(args=(float(literal),))


def _nested_floats(literal: Any) -> Any:
    """A fresh nested list of Python floats (the case's own lists are never handed out)."""
    if isinstance(literal, list | tuple):
        return [_nested_floats(item) for item in literal]
    return float(literal)


def _as_lists(case: Case) -> bool:
    kind = str(case.get("as", "arrays"))
    if kind not in ("arrays", "lists"):
        raise ValueError(f"as must be arrays or lists, got {kind!r}")
    return kind == "lists"


def loss_inputs(case: Case) -> Arguments:
    """``loss_and_grad(w, b, X, y[, alpha=...])`` on float64 arrays (w, X, y watched), w
    float32 with ``w_dtype``, or nested lists with ``"as": "lists"``."""
    X, y = data_arrays(case)
    w_dtype = str(case.get("w_dtype", "float64"))
    if w_dtype not in DTYPES:
        raise ValueError(f"w_dtype must be one of {', '.join(DTYPES)}, got {w_dtype!r}")
    w = np.array(case["w"], dtype=w_dtype)
    kwargs = {"alpha": case["alpha"]} if "alpha" in case else {}
    if _as_lists(case):
        return Arguments(
            args=(w.tolist(), float(case["b"]), X.tolist(), y.tolist()), kwargs=kwargs
        )
    return Arguments(
        args=(w, float(case["b"]), X, y), kwargs=kwargs, watched={"w": w, "X": X, "y": y}
    )


def fit_inputs(case: Case) -> Arguments:
    """``fit_gd(X, y, steps=...[, learning_rate=...][, alpha=...])`` (X, y watched), on
    nested lists with ``"as": "lists"``."""
    X, y = data_arrays(case)
    kwargs = {key: case[key] for key in ("learning_rate", "steps", "alpha") if key in case}
    if _as_lists(case):
        return Arguments(args=(X.tolist(), y.tolist()), kwargs=kwargs)
    return Arguments(args=(X, y), kwargs=kwargs, watched={"X": X, "y": y})


def train_inputs(case: Case) -> Arguments:
    """``train_logistic(model, X, y, method=..., learning_rate=..., epochs=...)``.

    The model is the probe's own: an ``nn.Module`` whose ``linear`` layer is an
    ``nn.Linear(d, 1)`` with the case's weight ``W0`` (1 x d) and bias ``b0`` (1), in the
    case's dtype (float32 unless ``dtype`` says float64), as are X (n x d) and y (n).
    """
    import torch

    dtype_name = str(case.get("dtype", DTYPES[0]))
    if dtype_name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype_name!r}")
    dtype = getattr(torch, dtype_name)
    X_array, y_array = data_arrays(case)
    X = torch.tensor(X_array, dtype=dtype)
    y = torch.tensor(y_array, dtype=dtype)
    model = probe_model(case, dtype)
    kwargs = {key: case[key] for key in ("method", "learning_rate", "epochs") if key in case}
    return Arguments(args=(model, X, y), kwargs=kwargs, watched={"X": X, "y": y})


def _array(tensor: Any) -> np.ndarray[Any, Any]:
    return np.array(tensor.detach().cpu().numpy())


def train_probe(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """Call ``train_logistic`` and report ``{"losses": what it returned, "W": ..., "b": ...}``,
    the layer's weight and bias after the call (training changes the model in place).

    The call runs with PyTorch on one thread (the setting is restored after it): a case's
    tensors are a few hundred numbers, where more threads only add waiting, many times over
    when several checks share the machine's cores. The results do not depend on it.
    """
    import torch

    inner = make_probe(train_inputs)

    def call(model: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        returned = fn(model, *args, **kwargs)
        return {
            "losses": returned,
            "W": _array(model.linear.weight),
            "b": _array(model.linear.bias),
        }

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return inner(call, case)
    finally:
        torch.set_num_threads(threads)


PROBES: dict[str, Probe] = {
    "sigmoid": make_probe(sigmoid_inputs),
    "loss_and_grad": make_probe(loss_inputs),
    "fit_gd": make_probe(fit_inputs),
    "train_logistic": train_probe,
}
