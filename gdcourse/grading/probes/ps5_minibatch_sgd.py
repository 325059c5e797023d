"""Probes of ``ps5_minibatch_sgd``: data loaders, mini-batch SGD by hand, then ``torch.nn``.

Cases name their data either as literals (``"inputs"``, ``"targets"``) or as
``"data": "crop_yields"`` (the course's 15 x 3 crop-yield inputs, with
``"standardise": True`` for zero-mean, unit-variance columns); tensors are float32
unless the case's ``"dtype"`` says ``"float64"``.

The probes never rely on one student function to test another: ``train_minibatch``
and ``train_model`` get a loader the probe builds itself (shuffled by a generator
seeded with the case's ``seed``, over a dataset that counts the rows drawn), and
``train_model`` a model the probe builds with the case's initial weights. A loader
is probed by what it yields: the row indices of every batch of a few epochs.

>>> X, Y = data_tensors({"data": "crop_yields", "standardise": True})
>>> tuple(X.shape), tuple(Y.shape), X.dtype
((15, 3), (15, 2), torch.float32)
>>> round(float(X.mean()), 6) == 0.0
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

# torch.optim imports torch._dynamo (and with it sympy) when it builds its first optimizer.
# The secure grader forks each sandbox from an interpreter that has imported this module
# and no longer reaches every installed file; importing it here lets a student's
# optim.SGD(...) in train_model find it loaded.
import torch._dynamo  # noqa: F401

from gdcourse.grading.probes import (
    Arguments,
    Case,
    Probe,
    changed_arguments,
    exception_data,
    make_probe,
    snapshot,
)

__all__ = [
    "DTYPES",
    "LOADER_EPOCHS",
    "PROBES",
    "counting_dataset_class",
    "data_tensors",
    "loader_probe",
    "minibatch_inputs",
    "model_probe",
    "observed",
    "probe_loader",
    "probe_model",
    "probe_model_class",
    "train_model_inputs",
]

DTYPES = ("float32", "float64")  # the first is the default
LOADER_EPOCHS = 2
"""How many passes over each loader ``make_loader``'s probe draws."""


# ------------------------------------------------------------------ data


def data_tensors(case: Case) -> tuple[Any, Any]:
    """The case's inputs and targets as fresh 2-D tensors (float32 unless ``dtype`` says)."""
    import torch

    dtype = str(case.get("dtype", DTYPES[0]))
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if "data" in case:
        if case["data"] != "crop_yields":
            raise ValueError(f"data must be 'crop_yields', got {case['data']!r}")
        from gdcourse.datasets import crop_yields

        inputs, targets = crop_yields()
        if case.get("standardise", False):
            inputs = (inputs - inputs.mean(axis=0)) / inputs.std(axis=0)
    else:
        inputs = np.array(case["inputs"], dtype=np.float64)
        targets = np.array(case["targets"], dtype=np.float64)
    torch_dtype = getattr(torch, dtype)
    return (
        torch.tensor(inputs, dtype=torch_dtype),
        torch.tensor(targets, dtype=torch_dtype),
    )


@cache
def counting_dataset_class() -> type:
    """``CountingDataset``: a TensorDataset that counts the rows drawn from it."""
    from torch.utils.data import TensorDataset

    class CountingDataset(TensorDataset):
        """A TensorDataset that counts the rows drawn from it (``rows_drawn``)."""

        rows_drawn = 0

        def __getitem__(self, index: Any, _tuple: Any = tuple) -> Any:
            self.rows_drawn += 1
            return _tuple(tensor[index] for tensor in self.tensors)

    return CountingDataset


def probe_loader(case: Case) -> Any:
    """A DataLoader over the case's data: ``batch_size``, shuffled by a generator seeded
    with ``seed`` (default 0); its dataset counts the rows drawn (``.rows_drawn``)."""
    import torch
    from torch.utils.data import DataLoader

    inputs, targets = data_tensors(case)
    generator = torch.Generator()
    generator.manual_seed(int(case.get("seed", 0)))
    dataset = counting_dataset_class()(inputs, targets)
    return DataLoader(
        dataset, batch_size=int(case["batch_size"]), shuffle=True, generator=generator
    )


def _array(tensor: Any) -> np.ndarray[Any, Any]:
    return np.array(tensor.detach().cpu().numpy())


# ------------------------------------------------------------------ make_loader


def _row_index(x_row: Any, y_row: Any, inputs: Any, targets: Any) -> int:
    """Index of the data row equal to ``(x_row, y_row)``, or -1 when there is none."""
    import torch

    if not (isinstance(x_row, torch.Tensor) and isinstance(y_row, torch.Tensor)):
        return -1
    if x_row.shape != inputs.shape[1:] or y_row.shape != targets.shape[1:]:
        return -1
    match = (inputs == x_row).all(dim=1) & (targets == y_row).all(dim=1)
    found = torch.nonzero(match).flatten()
    return int(found[0]) if found.numel() else -1


def _draw_epochs(loader: Any, inputs: Any, targets: Any, epochs: int) -> list[Any]:
    """Row indices of every batch of ``epochs`` passes over ``loader`` (at most n + 1
    batches a pass), plus what came back when a batch is not an (inputs, targets) pair."""
    import torch

    n = int(inputs.shape[0])
    drawn: list[Any] = []
    for _ in range(epochs):
        batches: list[Any] = []
        for batch in itertools.islice(iter(loader), n + 1):
            if not (isinstance(batch, list | tuple) and len(batch) == 2):
                batches.append({"not_a_pair": batch})
                continue
            xs, ys = batch
            if not (isinstance(xs, torch.Tensor) and isinstance(ys, torch.Tensor)):
                batches.append({"not_a_pair": batch})
                continue
            if xs.dtype != inputs.dtype or ys.dtype != targets.dtype:
                batches.append({"dtype": [str(xs.dtype), str(ys.dtype)]})
                continue
            rows = [_row_index(xs[i], ys[i], inputs, targets) for i in range(min(len(xs), n))]
            batches.append(rows)
        drawn.append(batches)
    return drawn


def loader_probe(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """Make three loaders (equal arguments twice, then the next seed) and draw from them.

    The second loader is drawn after the global torch seed has been reset, as any
    other code might: a loader that relies on global random state gives other batches.
    The output holds whether the first is a DataLoader, its type and its dataset's
    type, and the row indices of every batch of :data:`LOADER_EPOCHS` passes over each
    (``"first"``, ``"again"``, ``"other_seed"``).
    """
    import torch

    inputs, targets = data_tensors(case)
    watched = {"inputs": inputs, "targets": targets}
    snapshots = {name: snapshot(value) for name, value in watched.items()}
    batch_size = int(case["batch_size"])
    seed_kwargs = {"seed": case["seed"]} if "seed" in case else {}
    other_seed = int(case.get("seed", 0)) + 1
    output: dict[str, Any] | None = None
    raised: dict[str, Any] | None = None
    with torch.random.fork_rng(devices=[]):
        try:
            first = fn(inputs, targets, batch_size, **seed_kwargs)
            again = fn(inputs, targets, batch_size, **seed_kwargs)
            other = fn(inputs, targets, batch_size, seed=other_seed)
            dataset = getattr(first, "dataset", None)
            output = {
                "is_data_loader": isinstance(first, torch.utils.data.DataLoader),
                "type": f"{type(first).__module__}.{type(first).__qualname__}",
                "dataset_type": type(dataset).__qualname__,
                "first": _draw_epochs(
                    first, snapshots["inputs"], snapshots["targets"], LOADER_EPOCHS
                ),
            }
            torch.manual_seed(987654321)  # some other code draws random numbers
            torch.rand(7)
            output["again"] = _draw_epochs(
                again, snapshots["inputs"], snapshots["targets"], LOADER_EPOCHS
            )
            output["other_seed"] = _draw_epochs(
                other, snapshots["inputs"], snapshots["targets"], LOADER_EPOCHS
            )
        except Exception as error:  # the student's exception is data, not a crash
            raised = exception_data(error)
    return {"output": output, "raised": raised, "modified": changed_arguments(watched, snapshots)}


# ------------------------------------------------------------------ training loops


def observed(
    inputs: Callable[[Case], Arguments],
    observe: Callable[[tuple[Any, ...]], dict[str, Any]],
) -> Probe:
    """A probe whose output also reports the state after the call:
    ``{"losses": <returned value>, **observe(args)}``, where ``observe`` reads what the
    function was meant to change (the parameters it trained) from the call's
    positional arguments."""

    inner = make_probe(inputs)

    def probe(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
            returned = fn(*args, **kwargs)
            return {"losses": returned, **observe(args)}

        return inner(call, case)

    return probe


def minibatch_inputs(case: Case) -> Arguments:
    """``train_minibatch(loader, W, b, learn_rate, epochs)`` with the probe's loader and
    leaf tensors ``W``, ``b`` (requires_grad) from the case's ``W0``, ``b0``."""
    import torch

    loader = probe_loader(case)
    inputs, targets = loader.dataset.tensors
    dtype = inputs.dtype
    W = torch.tensor(case["W0"], dtype=dtype, requires_grad=True)
    b = torch.tensor(case["b0"], dtype=dtype, requires_grad=True)
    return Arguments(
        args=(loader, W, b, case["learn_rate"], case["epochs"]),
        watched={"inputs": inputs, "targets": targets},
    )


def _observe_parameters(args: tuple[Any, ...]) -> dict[str, Any]:
    loader, W, b = args[0], args[1], args[2]
    return {"W": _array(W), "b": _array(b), "rows_drawn": loader.dataset.rows_drawn}


@cache
def probe_model_class() -> type:
    """``ProbeModel``: the linear model ``train_model`` is checked with, independent of
    the student's ``LinearRegressionModel``."""
    from torch import nn

    class ProbeModel(nn.Module):
        """A model whose ``linear`` layer does the work."""

        def __init__(
            self,
            in_features: int,
            out_features: int,
            _module_init: Any = nn.Module.__init__,
            _linear: Any = nn.Linear,
        ) -> None:
            _module_init(self)
            self.linear = _linear(in_features, out_features)

        def forward(self, x: Any) -> Any:
            return self.linear(x)

    return ProbeModel


def probe_model(case: Case, dtype: Any) -> Any:
    """A linear model with the case's initial ``W0`` and ``b0``, in ``dtype``."""
    import torch

    W0 = torch.tensor(case["W0"], dtype=dtype)
    b0 = torch.tensor(case["b0"], dtype=dtype)
    model = probe_model_class()(W0.shape[1], W0.shape[0]).to(dtype)
    with torch.no_grad():
        model.linear.weight.copy_(W0)
        model.linear.bias.copy_(b0)
    return model


def train_model_inputs(case: Case) -> Arguments:
    """``train_model(model, loader, learn_rate, epochs)`` with the probe's model and loader."""
    loader = probe_loader(case)
    inputs, targets = loader.dataset.tensors
    model = probe_model(case, inputs.dtype)
    return Arguments(
        args=(model, loader, case["learn_rate"], case["epochs"]),
        watched={"inputs": inputs, "targets": targets},
    )


def _observe_model(args: tuple[Any, ...]) -> dict[str, Any]:
    model, loader = args[0], args[1]
    return {
        "W": _array(model.linear.weight),
        "b": _array(model.linear.bias),
        "rows_drawn": loader.dataset.rows_drawn,
    }


# ------------------------------------------------------------------ LinearRegressionModel


def model_probe(fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """Build the model (torch seeded with the case's ``seed``), describe it and run its
    forward pass on a fixed batch."""
    import torch

    in_features, out_features = int(case["in_features"]), int(case["out_features"])
    batch = torch.linspace(-1.0, 2.0, 4 * in_features).reshape(4, in_features)
    output: dict[str, Any] | None = None
    raised: dict[str, Any] | None = None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(case.get("seed", 0)))
        try:
            model = fn(in_features, out_features)
            linear = getattr(model, "linear", None)
            output = {
                "is_module": isinstance(model, torch.nn.Module),
                "type": f"{type(model).__module__}.{type(model).__qualname__}",
                "linear_type": f"{type(linear).__module__}.{type(linear).__qualname__}",
                "is_linear": isinstance(linear, torch.nn.Linear),
            }
            if output["is_module"]:
                output["parameters"] = sorted(name for name, _ in model.named_parameters())
            if output["is_linear"] and linear is not None:
                output["in_features"] = int(linear.in_features)
                output["out_features"] = int(linear.out_features)
                output["weight"] = _array(linear.weight)
                output["bias"] = None if linear.bias is None else _array(linear.bias)
                output["input"] = _array(batch)
                with torch.no_grad():
                    output["forward"] = model(batch)
        except Exception as error:  # the student's exception is data, not a crash
            raised = exception_data(error)
    return {"output": output, "raised": raised, "modified": []}


PROBES: dict[str, Probe] = {
    "make_loader": loader_probe,
    "train_minibatch": observed(minibatch_inputs, _observe_parameters),
    "LinearRegressionModel": model_probe,
    "train_model": observed(train_model_inputs, _observe_model),
}
