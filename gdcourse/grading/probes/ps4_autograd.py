"""Probes of ``ps4_autograd``: fitting a line with PyTorch autograd.

A case gives the data as literals and their dtype; the probe builds 1-D tensors of
that dtype (``"float32"`` or ``"float64"``), watches them for changes in place, and
calls ``train_autograd(x, y, learn_rate, epochs[, w0=..., b0=...])``:

>>> case = {"x": [0.0, 1.0, 2.0], "y": [1.0, 3.0, 5.0], "dtype": "float32",
...         "learn_rate": 0.1, "epochs": 2}
>>> arguments = train_inputs(case)
>>> arguments.args[0].dtype, sorted(arguments.watched)
(torch.float32, ['x', 'y'])
"""

from __future__ import annotations

from typing import Any

from gdcourse.grading.probes import Arguments, Case, Probe, make_probe

__all__ = ["DTYPES", "PROBES", "tensor", "train_inputs"]

DTYPES = ("float32", "float64")


def tensor(values: Any, dtype: str) -> Any:
    """A torch tensor of ``values`` with the dtype named by ``dtype`` (float32 or float64)."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return torch.tensor(values, dtype=getattr(torch, dtype))


def train_inputs(case: Case) -> Arguments:
    """``train_autograd(x, y, learn_rate, epochs[, w0=..., b0=...])`` on the case's tensors."""
    dtype = str(case.get("dtype", "float64"))
    x = tensor(case["x"], dtype)
    y = tensor(case["y"], dtype)
    kwargs = {key: case[key] for key in ("w0", "b0") if key in case}
    return Arguments(
        args=(x, y, case["learn_rate"], case["epochs"]),
        kwargs=kwargs,
        watched={"x": x, "y": y},
    )


PROBES: dict[str, Probe] = {"train_autograd": make_probe(train_inputs)}
