"""Demo 4: full-batch, mini-batch and single-sample SGD side by side (:func:`batch_size`)."""

from __future__ import annotations

import base64
import math
from types import MappingProxyType
from typing import Any

import numpy as np

from gdcourse import optimizers
from gdcourse.datasets import synthetic_linear
from gdcourse.widgets._base import Demo, check_range, decades, fmt, readonly
from gdcourse.widgets._controls import FloatLogSlider, IntSlider

__all__ = ["batch_size"]

#: The shuffle seeds the seed slider offers.
SEEDS = range(100)


def shuffles(n_samples: int, epochs: int) -> np.ndarray:
    """The order in which :func:`~gdcourse.optimizers.minibatch_sgd` visits the rows.

    For each seed of :data:`SEEDS`, the permutation that ``np.random.default_rng(seed)``
    draws at each epoch: shape ``(len(SEEDS), epochs, n_samples)``. The order is the
    only thing the generator decides, and it depends on neither the batch size nor the
    learning rate, so this table is all a page without a kernel needs of NumPy's
    generator.
    """
    table = np.empty((len(SEEDS), epochs, n_samples), dtype=np.uint8)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for epoch in range(epochs):
            table[seed, epoch] = rng.permutation(n_samples)
    return table


class _BatchSize(Demo):
    DESCRIPTION = (
        "Mean squared error against epoch, on a log scale, for full-batch, mini-batch and "
        "single-sample gradient descent side by side."
    )
    SCRIPT = "batch_size.js"

    def __init__(
        self, *, batch_size: int, learning_rate: float, seed: int, epochs: int, n_samples: int
    ) -> None:
        inputs, targets = synthetic_linear(
            np.random.default_rng(2024),
            n_samples=n_samples,
            weights=(2.0, -1.0),
            bias=1.0,
            noise=0.5,
        )
        self._data = (inputs, targets)
        self._epochs = epochs
        self._n = n_samples
        controls = {
            "batch_size": IntSlider(
                value=batch_size, min=1, max=n_samples, description="batch size"
            ),
            "learning_rate": FloatLogSlider(
                value=learning_rate, min=-3, max=0, description="learning rate η"
            ),
            "seed": IntSlider(value=seed, min=SEEDS[0], max=SEEDS[-1], description="shuffle seed"),
        }
        table = shuffles(n_samples, epochs)
        scene = {
            "inputs": inputs.tolist(),
            "targets": targets.tolist(),
            "epochs": epochs,
            "shuffles": base64.b64encode(table.tobytes()).decode("ascii"),
        }
        super().__init__("batch-size", controls, scene=scene)
        self._cache: dict[tuple[float, int, int], optimizers.SGDResult] = {}
        self._guarded(self._refresh)

    def _run(self, rate: float, seed: int, size: int) -> optimizers.SGDResult:
        key = (rate, seed, size)
        if key not in self._cache:
            if len(self._cache) > 12:
                self._cache.clear()
            self._cache[key] = optimizers.minibatch_sgd(
                *self._data,
                learning_rate=rate,
                batch_size=size,
                epochs=self._epochs,
                rng=np.random.default_rng(seed),
            )
        return self._cache[key]

    def _compute(self) -> dict[str, Any]:
        c = self.controls
        rate, seed, size = (
            float(c["learning_rate"].value),
            int(c["seed"].value),
            int(c["batch_size"].value),
        )
        sizes = (self._n, size, 1)
        runs = [self._run(rate, seed, s) for s in sizes]
        initial = float(runs[0].epoch_losses[0])
        top = decades(1.0, initial)[1] * 10
        with np.errstate(all="ignore"):
            finite = np.concatenate([r.epoch_losses[np.isfinite(r.epoch_losses)] for r in runs])
            low = max(float(finite.min()), top * 1e-6)
        bottom = decades(low, 1.0)[0]
        words, parts = [], []
        for run, s in zip(runs, sizes, strict=True):
            final = float(run.epoch_losses[-1])
            ok = bool(np.isfinite(final)) and final <= initial
            words.append("finished" if ok else "diverged")
            parts.append(
                f"batch size {s}: {run.n_updates} updates, final MSE "
                + (fmt(final) if ok else "grows without bound (diverged)")
            )
        names = ("full", "mini", "single")
        return {
            "batch_size": size,
            "learning_rate": rate,
            "seed": seed,
            "sizes": sizes,
            "epoch_losses": MappingProxyType(
                {name: readonly(r.epoch_losses) for name, r in zip(names, runs, strict=True)}
            ),
            "batch_losses": MappingProxyType(
                {name: readonly(r.batch_losses) for name, r in zip(names, runs, strict=True)}
            ),
            "batches_per_epoch": tuple(math.ceil(self._n / s) for s in sizes),
            "n_updates": tuple(r.n_updates for r in runs),
            "runs": tuple(words),
            "ylim": (bottom, top),
            "status": "diverged" if "diverged" in words else "finished",
            "message": f"after {self._epochs} epochs: " + "; ".join(parts),
        }


def batch_size(
    *,
    batch_size: int = 10,
    learning_rate: float = 10**-1.3,
    seed: int = 0,
    epochs: int = 10,
    n_samples: int = 50,
) -> Demo:
    r"""Full-batch, mini-batch and single-sample SGD on the same synthetic data, side by side.

    The data are ``n_samples`` points of :math:`y = 2x_1 - x_2 + 1 + \varepsilon`
    (:func:`~gdcourse.datasets.synthetic_linear`, fixed). Each panel runs
    :func:`~gdcourse.optimizers.minibatch_sgd` for ``epochs`` passes from zero
    weights and shows the MSE of every batch (thin) and of the whole data set
    after every epoch (dots). Controls: ``batch_size`` (1 to ``n_samples``, for
    the middle panel), ``learning_rate`` (logarithmic, 0.001 to 1) and
    ``seed`` (0 to 99, the shuffling).

    Returns
    -------
    Demo
        ``state`` keys: ``batch_size``, ``learning_rate``, ``seed``, ``sizes`` (the
        three runs' batch sizes), ``epoch_losses`` and ``batch_losses``
        (``{"full", "mini", "single"}`` to arrays), ``batches_per_epoch``,
        ``n_updates`` (per run), ``runs`` (a status word per run), ``ylim`` (the
        plots' MSE range), ``status`` (``"diverged"`` when any run diverged, else
        ``"finished"``: SGD at a constant rate never meets a tolerance, so no run is called
        converged), ``message``, ``error``.

    Examples
    --------
    >>> demo = batch_size()
    >>> demo.state["n_updates"]
    (10, 50, 500)
    >>> demo.controls["batch_size"].value = 25
    >>> demo.state["n_updates"]
    (10, 20, 500)
    """
    if not 2 <= n_samples <= 200:
        raise ValueError(f"n_samples must be between 2 and 200, got {n_samples!r}")
    if not 1 <= epochs <= 50:
        raise ValueError(f"epochs must be between 1 and 50, got {epochs!r}")
    if not 1 <= batch_size <= n_samples:
        raise ValueError(f"batch_size must be between 1 and {n_samples}, got {batch_size!r}")
    check_range("learning_rate", learning_rate, 1e-3, 1.0)
    check_range("seed", seed, SEEDS[0], SEEDS[-1])
    return _BatchSize(
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        epochs=epochs,
        n_samples=n_samples,
    )
