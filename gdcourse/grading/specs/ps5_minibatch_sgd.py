"""Judge data of ``ps5_minibatch_sgd``: data loaders, mini-batch SGD by hand, then ``torch.nn``.

How each function is called on a case is in :mod:`gdcourse.grading.probes.ps5_minibatch_sgd`.
Loaders are judged by what they yield: every row once per epoch, in batches of the
right size, shuffled, the same batches for equal arguments and different ones for
another seed. The training loops are judged by their losses and the parameters they
leave behind, against the analytic MSE gradient in float64; the model by its
structure and its forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdcourse.grading.framework import (
    DEFAULT_TOLERANCES,
    WRONG_LENGTH,
    WRONG_SHAPE,
    WRONG_TYPE,
    WRONG_VALUE,
    FunctionSpec,
    Spec,
    Verdict,
    check_spec,
    common_failure,
    describe_value,
    mistake,
    read_outcome,
)
from gdcourse.grading.probes import Probe
from gdcourse.grading.probes import ps5_minibatch_sgd as probes
from gdcourse.grading.protocol import Case, Tensor
from gdcourse.grading.specs.ps4_autograd import SUM_INSTEAD_OF_MEAN_HINT

__all__ = ["SPECS", "LoaderSpec", "ModelSpec", "ObservedSpec", "sorted_order"]


def _array(tensor: Any) -> np.ndarray[Any, Any]:
    return np.array(tensor.detach().cpu().numpy())


# ------------------------------------------------------------------ make_loader


def _reference_loader(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
    """The loader the assignment asks for."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    generator = torch.Generator()
    generator.manual_seed(seed)
    return DataLoader(
        TensorDataset(inputs, targets),
        batch_size=batch_size,
        shuffle=True,
        generator=generator,
    )


def _loader_fixed_seed(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
    return _reference_loader(inputs, targets, batch_size, 0)


def _loader_centres_in_place(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
    inputs -= inputs.mean(dim=0)  # feature scaling on the caller's tensor
    return _reference_loader(inputs, targets, batch_size, seed)


@dataclass(frozen=True)
class LoaderSpec:
    """Spec of ``make_loader``: judged by the batches its loaders yield."""

    function: str = "make_loader"
    probe: Probe = probes.PROBES["make_loader"]
    reference: Callable[..., Any] = _reference_loader
    variants: Mapping[str, Callable[..., Any]] = field(
        default_factory=lambda: {
            "loader_ignores_seed": _loader_fixed_seed,
            "argument_modified_in_place": _loader_centres_in_place,
        }
    )
    banned: Sequence[str] = ("gdcourse",)
    hint: str = (
        "return DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, "
        "shuffle=True, generator=g) with g = torch.Generator() seeded by "
        "g.manual_seed(seed)."
    )
    hints: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_spec(self)

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Check the batches: partition of the rows, batch sizes, shuffling, seeding."""
        got = read_outcome(student)
        failure = common_failure(self, got)
        if failure is not None:
            return failure
        expected = read_outcome(reference).output
        fail = _loader_failure(got.output, expected, int(case.get("seed", 0)) + 1)
        if fail is not None:
            where, wanted, came, problem, misconception = fail
            return mistake(self, where, wanted, came, problem, misconception)
        return Verdict(True)


def _epoch_sizes(epochs: Any) -> list[list[int]]:
    return [[len(batch) for batch in epoch] for epoch in epochs]


def _loader_failure(
    out: Any, expected: Mapping[str, Any], other_seed: int
) -> tuple[str, str, str, str, str | None] | None:
    """``(where, expected, got, problem, misconception)`` for the first problem with the
    data of a student's loaders (``out``, untrusted)."""
    if not isinstance(out, Mapping) or out.get("is_data_loader") is not True:
        kind = out.get("type") if isinstance(out, Mapping) else None
        got = kind if isinstance(kind, str) else describe_value(out)
        return (
            "the result",
            "a torch.utils.data.DataLoader",
            f"an object of type {got}",
            WRONG_TYPE,
            None,
        )
    reference_sizes = _epoch_sizes(expected["first"])
    n = sum(reference_sizes[0])
    for label in ("first", "again", "other_seed"):
        epochs = out.get(label)
        if not isinstance(epochs, list) or len(epochs) != len(expected["first"]):
            return "the batches", "one pass per epoch", describe_value(epochs), WRONG_LENGTH, None
        for number, epoch in enumerate(epochs):
            where = f"epoch {number} of the loader"
            if not isinstance(epoch, list) or not all(_is_row_list(b) for b in epoch):
                bad = (
                    next((b for b in epoch if not _is_row_list(b)), epoch)
                    if isinstance(epoch, list)
                    else epoch
                )
                return (
                    f"the batches of {where}",
                    "pairs (inputs, targets) of tensors of the data's dtype",
                    describe_value(bad),
                    WRONG_TYPE,
                    None,
                )
            sizes = [len(batch) for batch in epoch]
            if sizes != reference_sizes[number]:
                return (
                    f"the batch sizes of {where}",
                    str(reference_sizes[number]),
                    str(sizes),
                    "wrong batch sizes",
                    None,
                )
            rows = sorted(row for batch in epoch for row in batch)
            if rows != list(range(n)):
                return (
                    f"the rows of {where}",
                    f"each of the {n} (input, target) rows exactly once",
                    "rows missing, repeated or with inputs and targets mismatched",
                    "rows missing, repeated or mismatched",
                    None,
                )
    first = out["first"]
    if all(sorted_order(epoch) for epoch in first):
        return (
            "the order of the rows",
            "shuffled rows (shuffle=True)",
            "the rows in their original order in every epoch",
            "not shuffled",
            None,
        )
    if out["again"] != first:
        return (
            "the batches of two loaders made with equal arguments",
            "the same batches in the same order",
            "different batches: the shuffling is not seeded by `seed` (or depends on global "
            "random state)",
            "not reproducible",
            "loader_ignores_seed",
        )
    if out["other_seed"] == first:
        return (
            "the batches of a loader made with another seed",
            f"other batches than with the first seed (this loader had seed={other_seed})",
            "the same batches: the seed is not used",
            "the seed is not used",
            "loader_ignores_seed",
        )
    return None


def _is_row_list(batch: Any) -> bool:
    """Whether a batch came back as a list of row indices (ints, -1 for an unknown row)."""
    return isinstance(batch, list) and all(
        isinstance(row, int) and not isinstance(row, bool) for row in batch
    )


def sorted_order(epoch: Sequence[Sequence[int]]) -> bool:
    """Whether an epoch yields the rows in their original order."""
    rows = [row for batch in epoch for row in batch]
    return rows == sorted(rows)


# ------------------------------------------------------------------ training loops


@dataclass(frozen=True)
class ObservedSpec(Spec):
    """A :class:`Spec` for a training loop: its probe reports the losses returned and the
    parameters left behind (:func:`gdcourse.grading.probes.ps5_minibatch_sgd.observed`);
    values are compared with the tolerance of the case's dtype, float32 by default as
    the probe's tensors are."""

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """:meth:`Spec.judge` with the case's dtype defaulting to float32."""
        with_dtype = {**case, "dtype": case.get("dtype", probes.DTYPES[0])}
        return Spec.judge(self, with_dtype, student, reference, variants)


def _descend_batches(
    loader: Any, W: np.ndarray, b: np.ndarray, learn_rate: float, epochs: int
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Mini-batch gradient descent on the MSE over all elements, in float64 NumPy:
    ``dJ/dW = 2/N R^T X`` and ``dJ/db = 2/N sum(R)`` with ``R = X W^T + b - Y`` (the book's J)."""
    losses: list[float] = []
    for _ in range(epochs):
        for xs, ys in loader:
            X = np.array(xs.numpy(), dtype=np.float64)
            Y = np.array(ys.numpy(), dtype=np.float64)
            residual = X @ W.T + b - Y
            losses.append(float(np.mean(residual**2)))
            scale = 2.0 / residual.size
            W = W - learn_rate * scale * residual.T @ X
            b = b - learn_rate * scale * residual.sum(axis=0)
    return W, b, losses


def _minibatch_reference(
    loader: Any, W: Any, b: Any, learn_rate: float, epochs: int
) -> list[float]:
    """The public reference: the analytic MSE gradient in float64, written back into W, b."""
    import torch

    W_new, b_new, losses = _descend_batches(
        loader, _array(W).astype(np.float64), _array(b).astype(np.float64), learn_rate, epochs
    )
    with torch.no_grad():
        W.copy_(torch.from_numpy(W_new))
        b.copy_(torch.from_numpy(b_new))
    return losses


def _minibatch_variant(
    *,
    sign: float = 1.0,
    zero_grad: bool = True,
    record_after: bool = False,
    reduction: str = "mean",
    as_tensors: bool = False,
) -> Callable[..., list[Any]]:
    """The manual mini-batch loop of the solution with one mistake switched on."""

    def variant(loader: Any, W: Any, b: Any, learn_rate: float, epochs: int) -> list[Any]:
        import torch

        losses: list[Any] = []
        for _ in range(epochs):
            for X, Y in loader:

                def loss_at(X: Any = X, Y: Any = Y, W: Any = W, b: Any = b) -> Any:
                    squared = (X @ W.T + b - Y) ** 2
                    return squared.sum() if reduction == "sum" else squared.mean()

                loss = loss_at()
                if not record_after:
                    losses.append(loss if as_tensors else loss.item())
                loss.backward()
                with torch.no_grad():
                    W -= sign * learn_rate * W.grad
                    b -= sign * learn_rate * b.grad
                    if record_after:
                        losses.append(loss_at().item())
                if zero_grad:
                    W.grad.zero_()
                    b.grad.zero_()
        return losses

    return variant


def _train_model_reference(model: Any, loader: Any, learn_rate: float, epochs: int) -> list[float]:
    """The public reference: what nn.MSELoss with optim.SGD computes, in float64 NumPy."""
    return _minibatch_reference(loader, model.linear.weight, model.linear.bias, learn_rate, epochs)


def _train_model_variant(
    *,
    sign: float = 1.0,
    zero_grad: bool = True,
    record_after: bool = False,
    reduction: str = "mean",
    as_tensors: bool = False,
) -> Callable[..., list[Any]]:
    """The nn/optim loop of the solution with one mistake switched on."""

    def variant(model: Any, loader: Any, learn_rate: float, epochs: int) -> list[Any]:
        import torch
        from torch import nn

        criterion = nn.MSELoss(reduction=reduction)
        optimizer = torch.optim.SGD(model.parameters(), lr=learn_rate)
        losses: list[Any] = []
        for _ in range(epochs):
            for X, Y in loader:
                loss = criterion(model(X), Y)
                if not record_after:
                    losses.append(loss if as_tensors else loss.item())
                if zero_grad:
                    optimizer.zero_grad()
                (sign * loss).backward()
                optimizer.step()
                if record_after:
                    with torch.no_grad():
                        losses.append(criterion(model(X), Y).item())
        return losses

    return variant


# ------------------------------------------------------------------ LinearRegressionModel


def _reference_model(in_features: int, out_features: int) -> Any:
    """The model the assignment asks for."""
    return probes.probe_model_class()(in_features, out_features)


@dataclass(frozen=True)
class ModelSpec:
    """Spec of ``LinearRegressionModel``: an ``nn.Module`` whose ``linear`` does the work."""

    function: str = "LinearRegressionModel"
    probe: Probe = probes.PROBES["LinearRegressionModel"]
    reference: Callable[..., Any] = _reference_model
    #: No named misconceptions: the judge explains each structural problem.
    variants: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    banned: Sequence[str] = ("gdcourse",)
    hint: str = (
        "subclass nn.Module, call super().__init__() first, set "
        "self.linear = nn.Linear(in_features, out_features), and let forward(x) return "
        "self.linear(x)."
    )
    hints: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_spec(self)

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Check the structure, then the forward pass against ``x @ W.T + b``."""
        got = read_outcome(student)
        failure = common_failure(self, got)
        if failure is not None:
            return failure
        problem = _model_failure(got.output, read_outcome(reference).output)
        if problem is not None:
            return mistake(self, *problem)
        return Verdict(True)


def _model_failure(out: Any, expected: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """``(where, expected, got, problem)`` for the first problem with a model's data."""
    if not isinstance(out, Mapping):
        return "the result", "an nn.Module", describe_value(out), WRONG_TYPE
    if out.get("is_module") is not True:
        return (
            "the model",
            "an instance of a subclass of nn.Module",
            f"a {describe_value(out.get('type'))}",
            WRONG_TYPE,
        )
    if out.get("is_linear") is not True:
        return (
            "model.linear",
            "an nn.Linear layer",
            f"a {describe_value(out.get('linear_type'))}",
            WRONG_TYPE,
        )
    for key in ("in_features", "out_features"):
        if out.get(key) != expected[key]:
            return (
                f"model.linear.{key}",
                str(expected[key]),
                describe_value(out.get(key)),
                WRONG_VALUE,
            )
    if out.get("parameters") != expected["parameters"]:
        return (
            "the model's parameters",
            f"exactly {expected['parameters']}",
            describe_value(out.get("parameters")),
            "wrong parameters",
        )
    weight, bias, batch = out.get("weight"), out.get("bias"), out.get("input")
    forward = out.get("forward")
    if not isinstance(forward, Tensor):
        return "model(x)", "a torch tensor", describe_value(forward), WRONG_TYPE
    if not (
        isinstance(weight, np.ndarray)
        and isinstance(bias, np.ndarray)
        and isinstance(batch, np.ndarray)
        and weight.shape == (expected["out_features"], expected["in_features"])
        and bias.shape == (expected["out_features"],)
        and batch.shape == expected["input"].shape
    ):
        return (
            "model.linear's weight and bias",
            "arrays of the layer's shape",
            "others",
            WRONG_SHAPE,
        )
    with np.errstate(all="ignore"):
        wanted = batch.astype(np.float64) @ weight.astype(np.float64).T + bias
    if forward.array.shape != wanted.shape:
        return "the shape of model(x)", str(wanted.shape), str(forward.array.shape), WRONG_SHAPE
    tolerance = DEFAULT_TOLERANCES["float32"]
    got = forward.array.astype(np.float64)
    with np.errstate(all="ignore"):
        close = np.isfinite(got).all() and np.allclose(
            got, wanted, rtol=tolerance.rtol, atol=tolerance.atol
        )
    if not close:
        return (
            "model(x)",
            f"self.linear(x) = {describe_value(wanted)}",
            describe_value(got),
            WRONG_VALUE,
        )
    return None


# ------------------------------------------------------------------ SPECS

_MINIBATCH_HINT = (
    "for every epoch and every batch (X, Y) of the loader: loss = mean((X @ W.T + b - Y)**2); "
    "record loss.item(); loss.backward(); under torch.no_grad() update W -= learn_rate * W.grad "
    "and b -= learn_rate * b.grad; zero both gradients."
)

SPECS: dict[str, FunctionSpec] = {
    "make_loader": LoaderSpec(),
    "train_minibatch": ObservedSpec(
        function="train_minibatch",
        probe=probes.PROBES["train_minibatch"],
        reference=_minibatch_reference,
        variants={
            "uphill_sign_error": _minibatch_variant(sign=-1.0),
            "gradients_not_zeroed": _minibatch_variant(zero_grad=False),
            "losses_after_update": _minibatch_variant(record_after=True),
            "sum_instead_of_mean": _minibatch_variant(reduction="sum"),
            "tensors_returned": _minibatch_variant(as_tensors=True),
        },
        banned=("torch.optim", "torch.nn", "gdcourse"),
        hints={"sum_instead_of_mean": SUM_INSTEAD_OF_MEAN_HINT},
        hint=_MINIBATCH_HINT,
    ),
    "LinearRegressionModel": ModelSpec(),
    "train_model": ObservedSpec(
        function="train_model",
        probe=probes.PROBES["train_model"],
        reference=_train_model_reference,
        variants={
            "uphill_sign_error": _train_model_variant(sign=-1.0),
            "gradients_not_zeroed": _train_model_variant(zero_grad=False),
            "losses_after_update": _train_model_variant(record_after=True),
            "sum_instead_of_mean": _train_model_variant(reduction="sum"),
            "tensors_returned": _train_model_variant(as_tensors=True),
        },
        banned=("gdcourse",),
        hints={"sum_instead_of_mean": SUM_INSTEAD_OF_MEAN_HINT},
        hint=(
            "criterion = nn.MSELoss(); optimizer = optim.SGD(model.parameters(), "
            "lr=learn_rate); for every epoch and batch (X, Y): loss = criterion(model(X), Y); "
            "record loss.item(); optimizer.zero_grad(); loss.backward(); optimizer.step()."
        ),
    ),
}
