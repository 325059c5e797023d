"""Specs of ``ps5_minibatch_sgd``: data loaders, mini-batch SGD by hand, then ``torch.nn``.

Cases name their data either as literals (``"inputs"``, ``"targets"``) or as
``"data": "crop_yields"`` (the course's 15 x 3 crop-yield inputs, with
``"standardise": True`` for zero-mean, unit-variance columns); tensors are float32
unless the case's ``"dtype"`` says ``"float64"``.

The probes never rely on one student function to test another: ``train_minibatch``
and ``train_model`` get a loader the probe builds itself (shuffled by a generator
seeded with the case's ``seed``), and ``train_model`` a model the probe builds with
the case's initial weights. Loaders are judged by what they yield: every row once
per epoch, in batches of the right size, shuffled, the same batches for equal
arguments and different ones for another seed.

>>> X, Y = data_tensors({"data": "crop_yields", "standardise": True})
>>> tuple(X.shape), tuple(Y.shape), X.dtype
((15, 3), (15, 2), torch.float32)
>>> round(float(X.mean()), 6) == 0.0
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

# torch.optim imports torch._dynamo (and with it sympy) when it builds its first optimizer.
# The secure grader forks each sandbox from an interpreter that has imported this module
# and no longer reaches every installed file; importing it here lets a student's
# optim.SGD(...) in train_model find it loaded.
import torch._dynamo  # noqa: F401

from gdcourse.grading.protocol import Case, FunctionSpec, Misconception, Tensor, Verdict
from gdcourse.grading.specs import (
    DEFAULT_TOLERANCES,
    MISCONCEPTIONS,
    Arguments,
    Spec,
    describe_call,
    describe_value,
)
from gdcourse.grading.specs.ps4_autograd import SUM_INSTEAD_OF_MEAN

__all__ = ["SPECS", "data_tensors", "probe_loader", "probe_model"]

DTYPES = ("float32", "float64")  # the first is the default


# ------------------------------------------------------------------ data


def data_tensors(case: Case) -> tuple[Any, Any]:
    """The case's inputs and targets as fresh 2-D tensors (float32 unless ``dtype`` says)."""
    import torch

    dtype = str(case.get("dtype", "float32"))
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
def _counting_dataset_class() -> type:
    from torch.utils.data import TensorDataset

    class CountingDataset(TensorDataset):
        """A TensorDataset that counts the rows drawn from it."""

        rows_drawn = 0

        def __getitem__(self, index: Any) -> Any:
            self.rows_drawn += 1
            return tuple(tensor[index] for tensor in self.tensors)

    return CountingDataset


def probe_loader(case: Case) -> Any:
    """A DataLoader over the case's data: ``batch_size``, shuffled by a generator seeded
    with ``seed`` (default 0); its dataset counts the rows drawn (``.rows_drawn``)."""
    import torch
    from torch.utils.data import DataLoader

    inputs, targets = data_tensors(case)
    generator = torch.Generator()
    generator.manual_seed(int(case.get("seed", 0)))
    dataset = _counting_dataset_class()(inputs, targets)
    return DataLoader(
        dataset, batch_size=int(case["batch_size"]), shuffle=True, generator=generator
    )


# ------------------------------------------------------------------ shared verdicts


def _verdict(
    function: str,
    case: Case,
    where: str,
    expected: str,
    got: str,
    hint: str,
    misconception: Misconception | None = None,
) -> Verdict:
    if misconception is not None:
        hint = f"{misconception.name}: {misconception.hint}"
    message = (
        f"Checked: {describe_call(function, case)}\n"
        f"  {where}: expected {expected}\n"
        f"  {' ' * len(where)}  got {got}\n"
        f"Hint: {hint}"
    )
    return Verdict(False, message, None if misconception is None else misconception.name)


def _common_failure(
    function: str, case: Case, student: Mapping[str, Any], hint: str
) -> Verdict | None:
    """Verdicts every custom judge starts with: the check could not run, the call raised,
    an argument changed in place."""
    if not isinstance(student, Mapping) or "__error__" in student:
        error = student.get("__error__") if isinstance(student, Mapping) else repr(student)
        return Verdict(
            False,
            f"Checked: {describe_call(function, case)}\n"
            f"The check could not run your function: {error}\nHint: {hint}",
        )
    raised = student.get("raised")
    if isinstance(raised, Mapping):
        types = raised.get("types") or ["an exception"]
        if "NotImplementedError" in types:
            hint = "the function is not written yet: replace `raise NotImplementedError()`."
        return _verdict(
            function,
            case,
            "what the call does",
            "it returns a result",
            f"it raised {types[0]}: {raised.get('message', '')}",
            hint,
        )
    modified = student.get("modified")
    if isinstance(modified, list) and modified:
        return _verdict(
            function,
            case,
            "the arguments after the call",
            "unchanged",
            f"{', '.join(map(str, modified))} changed in place",
            hint,
            MISCONCEPTIONS["argument_modified_in_place"],
        )
    return None


def _exception_data(error: BaseException) -> dict[str, Any]:
    return {"types": [cls.__name__ for cls in type(error).__mro__], "message": str(error)[:300]}


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


@dataclass(frozen=True)
class LoaderSpec:
    """Spec of ``make_loader``: judged by the batches its loaders yield."""

    function: str = "make_loader"
    forbidden: Sequence[str] = ("gdcourse",)
    epochs: int = 2
    hint: str = (
        "return DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, "
        "shuffle=True, generator=g) with g = torch.Generator() seeded by "
        "g.manual_seed(seed)."
    )

    @property
    def variants(self) -> dict[Misconception, Callable[..., Any]]:
        """Wrong loaders keyed by :class:`Misconception`."""
        return {
            MISCONCEPTIONS["loader_ignores_seed"]: _loader_fixed_seed,
            MISCONCEPTIONS["argument_modified_in_place"]: _loader_centres_in_place,
        }

    @staticmethod
    def reference(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
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

    def probe(self, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        """Make three loaders (equal arguments twice, then another seed) and draw from them.

        The second loader is drawn after the global torch seed has been reset, as any
        other code might: a loader that relies on global random state gives other batches.
        """
        import torch

        inputs, targets = data_tensors(case)
        snapshots = {"inputs": inputs.clone(), "targets": targets.clone()}
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
                        first, snapshots["inputs"], snapshots["targets"], self.epochs
                    ),
                }
                torch.manual_seed(987654321)  # some other code draws random numbers
                torch.rand(7)
                output["again"] = _draw_epochs(
                    again, snapshots["inputs"], snapshots["targets"], self.epochs
                )
                output["other_seed"] = _draw_epochs(
                    other, snapshots["inputs"], snapshots["targets"], self.epochs
                )
            except Exception as error:  # the student's exception is data, not a crash
                raised = _exception_data(error)
        modified = sorted(
            name
            for name, value in (("inputs", inputs), ("targets", targets))
            if not torch.equal(value, snapshots[name])
        )
        return {"output": output, "raised": raised, "modified": modified}

    def judge(
        self,
        case: Case,
        student: dict[str, Any],
        reference: dict[str, Any],
        variants: Mapping[Misconception, dict[str, Any]],
    ) -> Verdict:
        """Check the batches: partition of the rows, batch sizes, shuffling, seeding."""
        failure = _common_failure(self.function, case, student, self.hint)
        if failure is not None:
            return failure
        out = student.get("output")
        expected = reference["output"]
        fail = _loader_failure(out, expected, int(case.get("seed", 0)) + 1)
        if fail is not None:
            where, wanted, got, misconception = fail
            return _verdict(
                self.function,
                case,
                where,
                wanted,
                got,
                self.hint,
                None if misconception is None else MISCONCEPTIONS[misconception],
            )
        return Verdict(True, f"Checked: {describe_call(self.function, case)}: correct.")


def _epoch_sizes(epochs: Any) -> list[list[int]]:
    return [[len(batch) for batch in epoch] for epoch in epochs]


def _loader_failure(
    out: Any, expected: Mapping[str, Any], other_seed: int
) -> tuple[str, str, str, str | None] | None:
    """``(where, expected, got, misconception)`` for the first problem with a loader's data."""
    if not isinstance(out, Mapping) or out.get("is_data_loader") is not True:
        got = out.get("type") if isinstance(out, Mapping) else describe_value(out)
        return "the result", "a torch.utils.data.DataLoader", f"an object of type {got}", None
    reference_sizes = _epoch_sizes(expected["first"])
    n = sum(reference_sizes[0])
    for label in ("first", "again", "other_seed"):
        epochs = out.get(label)
        if not isinstance(epochs, list) or len(epochs) != len(expected["first"]):
            return "the batches", "one pass per epoch", describe_value(epochs), None
        for number, epoch in enumerate(epochs):
            where = f"epoch {number} of the loader"
            if not isinstance(epoch, list) or not all(_is_row_list(b) for b in epoch):
                bad = next((b for b in epoch if not _is_row_list(b)), epoch)
                return (
                    f"the batches of {where}",
                    "pairs (inputs, targets) of tensors of the data's dtype",
                    describe_value(bad),
                    None,
                )
            sizes = [len(batch) for batch in epoch]
            if sizes != reference_sizes[number]:
                return (
                    f"the batch sizes of {where}",
                    str(reference_sizes[number]),
                    str(sizes),
                    None,
                )
            rows = sorted(row for batch in epoch for row in batch)
            if rows != list(range(n)):
                return (
                    f"the rows of {where}",
                    f"each of the {n} (input, target) rows exactly once",
                    "rows missing, repeated or with inputs and targets mismatched",
                    None,
                )
    first = out["first"]
    if all(sorted_order(epoch) for epoch in first):
        return (
            "the order of the rows",
            "shuffled rows (shuffle=True)",
            "the rows in their original order in every epoch",
            None,
        )
    if out["again"] != first:
        return (
            "the batches of two loaders made with equal arguments",
            "the same batches in the same order",
            "different batches: the shuffling is not seeded by `seed` (or depends on global "
            "random state)",
            "loader_ignores_seed",
        )
    if out["other_seed"] == first:
        return (
            f"the batches of a loader made with seed={other_seed}",
            "other batches than with the first seed",
            "the same batches: the seed is not used",
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


def _loader_fixed_seed(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
    return LoaderSpec.reference(inputs, targets, batch_size, 0)


def _loader_centres_in_place(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> Any:
    inputs -= inputs.mean(dim=0)  # feature scaling on the caller's tensor
    return LoaderSpec.reference(inputs, targets, batch_size, seed)


# ------------------------------------------------------------------ training loops


@dataclass(frozen=True)
class ObservedSpec(Spec):
    """A :class:`Spec` whose output also reports state after the call.

    ``observe(args)`` reads what the function was meant to change (the parameters
    it trained) from the call's positional arguments; the output is
    ``{"losses": <returned value>, **observe(args)}``.
    """

    observe: Callable[[tuple[Any, ...]], dict[str, Any]] = lambda args: {}

    def probe(self, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        """Like :meth:`Spec.probe`, with the state after the call in the output."""
        observe = self.observe

        def observed(*args: Any, **kwargs: Any) -> dict[str, Any]:
            returned = fn(*args, **kwargs)
            return {"losses": returned, **observe(args)}

        return Spec.probe(self, observed, case)

    def judge(
        self,
        case: Case,
        student: dict[str, Any],
        reference: dict[str, Any],
        variants: Mapping[Misconception, dict[str, Any]],
    ) -> Verdict:
        """:meth:`Spec.judge`, with the tolerances of the case's dtype (float32 by default,
        as the probe's tensors are)."""
        with_dtype = {**case, "dtype": case.get("dtype", DTYPES[0])}
        return Spec.judge(self, with_dtype, student, reference, variants)


def _array(tensor: Any) -> np.ndarray:
    return np.array(tensor.detach().cpu().numpy())


def _minibatch_inputs(case: Case) -> Arguments:
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


def _descend_batches(
    loader: Any, W: np.ndarray, b: np.ndarray, learn_rate: float, epochs: int
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Mini-batch gradient descent on the MSE over all elements, in float64 NumPy:
    ``dL/dW = 2/N R^T X`` and ``dL/db = 2/N sum(R)`` with ``R = X W^T + b - Y``."""
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


@cache
def _probe_model_class() -> type:
    from torch import nn

    class ProbeModel(nn.Module):
        """The linear model ``train_model`` is checked with (independent of the student's)."""

        def __init__(self, in_features: int, out_features: int) -> None:
            super().__init__()
            self.linear = nn.Linear(in_features, out_features)

        def forward(self, x: Any) -> Any:
            return self.linear(x)

    return ProbeModel


def probe_model(case: Case, dtype: Any) -> Any:
    """A linear model with the case's initial ``W0`` and ``b0``, in ``dtype``."""
    import torch

    W0 = torch.tensor(case["W0"], dtype=dtype)
    b0 = torch.tensor(case["b0"], dtype=dtype)
    model = _probe_model_class()(W0.shape[1], W0.shape[0]).to(dtype)
    with torch.no_grad():
        model.linear.weight.copy_(W0)
        model.linear.bias.copy_(b0)
    return model


def _train_model_inputs(case: Case) -> Arguments:
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


@dataclass(frozen=True)
class ModelSpec:
    """Spec of ``LinearRegressionModel``: an ``nn.Module`` whose ``linear`` does the work."""

    function: str = "LinearRegressionModel"
    forbidden: Sequence[str] = ("gdcourse",)
    hint: str = (
        "subclass nn.Module, call super().__init__() first, set "
        "self.linear = nn.Linear(in_features, out_features), and let forward(x) return "
        "self.linear(x)."
    )

    @property
    def variants(self) -> dict[Misconception, Callable[..., Any]]:
        """No named misconceptions: the judge explains each structural problem."""
        return {}

    @staticmethod
    def reference(in_features: int, out_features: int) -> Any:
        """The model the assignment asks for."""
        return _probe_model_class()(in_features, out_features)

    def probe(self, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
        """Build the model (torch seeded with the case's ``seed``), describe it and run
        its forward pass on a fixed batch."""
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
                raised = _exception_data(error)
        return {"output": output, "raised": raised, "modified": []}

    def judge(
        self,
        case: Case,
        student: dict[str, Any],
        reference: dict[str, Any],
        variants: Mapping[Misconception, dict[str, Any]],
    ) -> Verdict:
        """Check the structure, then the forward pass against ``x @ W.T + b``."""
        failure = _common_failure(self.function, case, student, self.hint)
        if failure is not None:
            return failure
        problem = _model_failure(student.get("output"), reference["output"])
        if problem is not None:
            where, wanted, got = problem
            return _verdict(self.function, case, where, wanted, got, self.hint)
        return Verdict(True, f"Checked: {describe_call(self.function, case)}: correct.")


def _model_failure(out: Any, expected: Mapping[str, Any]) -> tuple[str, str, str] | None:
    if not isinstance(out, Mapping):
        return "the result", "an nn.Module", describe_value(out)
    if out.get("is_module") is not True:
        return "the model", "an instance of a subclass of nn.Module", f"a {out.get('type')}"
    if out.get("is_linear") is not True:
        return "model.linear", "an nn.Linear layer", f"a {out.get('linear_type')}"
    for key in ("in_features", "out_features"):
        if out.get(key) != expected[key]:
            return f"model.linear.{key}", str(expected[key]), describe_value(out.get(key))
    if out.get("parameters") != expected["parameters"]:
        return (
            "the model's parameters",
            f"exactly {expected['parameters']}",
            describe_value(out.get("parameters")),
        )
    weight, bias, batch = out.get("weight"), out.get("bias"), out.get("input")
    forward = out.get("forward")
    if not isinstance(forward, Tensor):
        return "model(x)", "a torch tensor", describe_value(forward)
    if not (
        isinstance(weight, np.ndarray)
        and isinstance(bias, np.ndarray)
        and isinstance(batch, np.ndarray)
        and weight.shape == (expected["out_features"], expected["in_features"])
        and bias.shape == (expected["out_features"],)
        and batch.shape == expected["input"].shape
    ):
        return "model.linear's weight and bias", "arrays of the layer's shape", "others"
    with np.errstate(all="ignore"):
        wanted = batch.astype(np.float64) @ weight.astype(np.float64).T + bias
    if forward.array.shape != wanted.shape:
        return "the shape of model(x)", str(wanted.shape), str(forward.array.shape)
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
        inputs=_minibatch_inputs,
        reference=_minibatch_reference,
        variants_by_name={
            "uphill_sign_error": _minibatch_variant(sign=-1.0),
            "gradients_not_zeroed": _minibatch_variant(zero_grad=False),
            "losses_after_update": _minibatch_variant(record_after=True),
            SUM_INSTEAD_OF_MEAN: _minibatch_variant(reduction="sum"),
            "tensors_returned": _minibatch_variant(as_tensors=True),
        },
        forbidden=("torch.optim", "torch.nn", "gdcourse"),
        observe=_observe_parameters,
        hint=_MINIBATCH_HINT,
    ),
    "LinearRegressionModel": ModelSpec(),
    "train_model": ObservedSpec(
        function="train_model",
        inputs=_train_model_inputs,
        reference=_train_model_reference,
        variants_by_name={
            "uphill_sign_error": _train_model_variant(sign=-1.0),
            "gradients_not_zeroed": _train_model_variant(zero_grad=False),
            "losses_after_update": _train_model_variant(record_after=True),
            SUM_INSTEAD_OF_MEAN: _train_model_variant(reduction="sum"),
            "tensors_returned": _train_model_variant(as_tensors=True),
        },
        forbidden=("gdcourse",),
        observe=_observe_model,
        hint=(
            "criterion = nn.MSELoss(); optimizer = optim.SGD(model.parameters(), "
            "lr=learn_rate); for every epoch and batch (X, Y): loss = criterion(model(X), Y); "
            "record loss.item(); optimizer.zero_grad(); loss.backward(); optimizer.step()."
        ),
    ),
}
