"""Seeding, so that every run of a page, a demo or a grader gives the same numbers.

The seed notebook imported ``set_seed`` from a module ``myrandom`` that was never
shipped; this is that helper, done properly.

>>> rng = set_seed(42)
>>> import random
>>> a = (random.random(), np.random.random(), rng.random())
>>> rng = set_seed(42)
>>> a == (random.random(), np.random.random(), rng.random())
True
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np

from gdcourse import _checks

if TYPE_CHECKING:
    import torch

__all__ = ["seed_worker", "set_seed", "torch_generator"]


def set_seed(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, NumPy's legacy global generator and PyTorch (CPU and CUDA).

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``; prefer
    passing that (or :func:`torch_generator`) explicitly over global state.
    """
    seed = _checks.non_negative_int("seed", seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeding the legacy global generator is the point
    import torch

    torch.manual_seed(seed)  # seeds CUDA devices too
    return np.random.default_rng(seed)


def torch_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed``, for ``DataLoader(generator=...)``.

    Two loaders built with generators of the same seed shuffle identically:

    >>> import torch
    >>> from torch.utils.data import DataLoader
    >>> order = lambda: [int(i) for i in DataLoader(range(6), shuffle=True,
    ...                                             generator=torch_generator(1))]
    >>> order() == order()
    True
    """
    seed = _checks.non_negative_int("seed", seed)
    import torch

    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def seed_worker(worker_id: int) -> None:
    """``DataLoader(worker_init_fn=seed_worker)``: seed NumPy and ``random`` in each worker
    from the seed PyTorch gave that worker."""
    import torch

    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)  # noqa: NPY002
    random.seed(worker_seed)
