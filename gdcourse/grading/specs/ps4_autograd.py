"""Judge data of ``ps4_autograd``: fitting a line with PyTorch autograd.

The probe (:mod:`gdcourse.grading.probes.ps4_autograd`) calls
``train_autograd(x, y, learn_rate, epochs[, w0=..., b0=...])`` on tensors of the
case's dtype. The public reference runs the same descent in NumPy float64 with the
analytic gradient of :mod:`gdcourse.objectives`; correct float32 work agrees with it
within the float32 tolerance, which the case's ``"dtype"`` selects:

>>> from gdcourse.grading.probes.ps4_autograd import train_inputs
>>> case = {"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0], "dtype": "float32",
...         "learn_rate": 0.1, "epochs": 2}
>>> w, b, losses = SPECS["train_autograd"].reference(*train_inputs(case).args)
>>> [round(loss, 4) for loss in losses]
[11.6667, 3.2074]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdcourse.grading.framework import FunctionSpec, Spec
from gdcourse.grading.probes import ps4_autograd as probes

__all__ = ["SPECS", "SUM_INSTEAD_OF_MEAN_HINT"]


def _reference(
    x: Any, y: Any, learn_rate: float, epochs: int, w0: float = 0.0, b0: float = 0.0
) -> tuple[float, float, list[float]]:
    """Full-batch gradient descent on the MSE, in float64 NumPy (gdcourse.objectives)."""
    from gdcourse.objectives import linear_model, mse, mse_gradient

    xs = np.array(x.detach().cpu().numpy(), dtype=np.float64)
    ys = np.array(y.detach().cpu().numpy(), dtype=np.float64)
    w, b = float(w0), float(b0)
    losses: list[float] = []
    for _ in range(epochs):
        losses.append(float(mse(linear_model(xs, w, b), ys)))
        dw, db = mse_gradient(xs, ys, w, b)
        w, b = w - learn_rate * dw, b - learn_rate * db
    return w, b, losses


def _variant(
    *,
    sign: float = 1.0,
    zero_grad: bool = True,
    record_after: bool = False,
    reduction: str = "mean",
    once: bool = False,
    as_tensors: bool = False,
    normalise_in_place: bool = False,
    swap: bool = False,
) -> Callable[..., tuple[Any, Any, list[Any]]]:
    """The autograd loop of the solution with one mistake switched on."""

    def variant(
        x: Any, y: Any, learn_rate: float, epochs: int, w0: float = 0.0, b0: float = 0.0
    ) -> tuple[Any, Any, list[Any]]:
        import torch

        if normalise_in_place:
            x /= x.abs().max()  # rescales the caller's tensor too
        w: Any = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
        b: Any = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)

        def loss_at() -> Any:
            squared = (b + w * x - y) ** 2
            return squared.sum() if reduction == "sum" else squared.mean()

        losses: list[Any] = []
        first = loss_at()
        if once:
            first.backward()  # one gradient, reused by every update
        for _ in range(epochs):
            loss = first if once else loss_at()
            if not record_after:
                losses.append(loss if as_tensors else loss.item())
            if not once:
                loss.backward()
            with torch.no_grad():
                w_grad, b_grad = (b.grad, w.grad) if swap else (w.grad, b.grad)
                w -= sign * learn_rate * w_grad
                b -= sign * learn_rate * b_grad
                if record_after:
                    losses.append(loss_at().item())
            if zero_grad and not once:
                w.grad.zero_()
                b.grad.zero_()
        if as_tensors:
            return w, b, losses
        return w.item(), b.item(), losses

    return variant


SUM_INSTEAD_OF_MEAN_HINT = (
    "the loss sums the squared errors where the mean belongs, so the loss and its gradient "
    "are n times too large: use ((prediction - y) ** 2).mean()."
)
"""The hint of ``sum_instead_of_mean``, in PyTorch's terms (ps5 uses it too)."""

SPECS: dict[str, FunctionSpec] = {
    "train_autograd": Spec(
        function="train_autograd",
        probe=probes.PROBES["train_autograd"],
        reference=_reference,
        variants={
            "uphill_sign_error": _variant(sign=-1.0),
            "gradients_not_zeroed": _variant(zero_grad=False),
            "losses_after_update": _variant(record_after=True),
            "sum_instead_of_mean": _variant(reduction="sum"),
            "gradient_outside_loop": _variant(once=True),
            "tensors_returned": _variant(as_tensors=True),
            "argument_modified_in_place": _variant(normalise_in_place=True),
            "dw_db_swapped": _variant(swap=True),
        },
        banned=("torch.optim", "torch.nn", "gdcourse"),
        hints={"sum_instead_of_mean": SUM_INSTEAD_OF_MEAN_HINT},
        hint=(
            "in every epoch: compute the loss mean((b + w * x - y)**2) and record "
            "loss.item(); call loss.backward(); update w and b under torch.no_grad(); "
            "zero w.grad and b.grad. Return w.item(), b.item() and the list of floats."
        ),
        output_names=("w", "b", "losses"),
    ),
}
