"""set_seed and torch_generator make runs repeatable."""

import random

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from gdcourse.reproducibility import set_seed, torch_generator


def _draw():
    return (random.random(), float(np.random.random()), float(torch.rand(1)))  # noqa: NPY002


def test_set_seed_seeds_python_numpy_and_torch():
    set_seed(7)
    first = _draw()
    set_seed(7)
    assert _draw() == first
    set_seed(8)
    assert _draw() != first


def test_torch_generator_makes_loader_shuffling_repeatable():
    data = TensorDataset(torch.arange(20.0))

    def batches(seed):
        loader = DataLoader(data, batch_size=4, shuffle=True, generator=torch_generator(seed))
        return [b[0].tolist() for b in loader]

    assert batches(3) == batches(3)
    assert batches(3) != batches(4)


@pytest.mark.parametrize("bad", [-1, 1.5, "42"])
def test_bad_seed(bad):
    with pytest.raises((TypeError, ValueError), match="seed must be an integer >= 0"):
        set_seed(bad)
