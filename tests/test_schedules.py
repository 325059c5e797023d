"""Learning-rate schedules: the closed forms agree with PyTorch's schedulers."""

import math
import re

import pytest
import torch
from numpy.testing import assert_allclose

from gdcourse import schedules


def _torch_rates(make_scheduler, eta0, steps):
    """The learning rate PyTorch uses at steps 0, 1, ..., steps - 1."""
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=eta0)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_step_decay_is_torch_step_lr():
    ours = schedules.step_decay(0.3, factor=0.5, every=4)
    theirs = _torch_rates(
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5), 0.3, 20
    )
    assert_allclose([ours(t) for t in range(20)], theirs, rtol=1e-12)


def test_inverse_time_is_torch_lambda_lr():
    ours = schedules.inverse_time(0.2, decay=0.25)
    theirs = _torch_rates(
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.25 * t)), 0.2, 30
    )
    assert_allclose([ours(t) for t in range(30)], theirs, rtol=1e-12)


@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_is_torch_cosine_annealing_until_its_end(eta_min):
    ours = schedules.cosine(0.1, total=12, eta_min=eta_min)
    theirs = _torch_rates(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=eta_min),
        0.1,
        13,
    )
    assert_allclose([ours(t) for t in range(13)], theirs, rtol=1e-9, atol=1e-15)
    assert ours(12) == ours(40) == pytest.approx(eta_min), "flat after the end"


def test_constant_and_inverse_time_sums():
    """1/t rates: the sum grows without bound (like log t), the sum of squares does not."""
    schedule = schedules.inverse_time(1.0, decay=1.0)
    assert schedules.constant(0.5)(10**6) == 0.5
    partial = sum(schedule(t) for t in range(10_000))
    assert partial == pytest.approx(math.log(10_000) + 0.5772, abs=1e-3)
    assert sum(schedule(t) ** 2 for t in range(10_000)) < math.pi**2 / 6


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: schedules.constant(0.0), "eta0 must be > 0"),
        (lambda: schedules.step_decay(0.1, factor=1.5, every=2), "factor must be in (0, 1]"),
        (lambda: schedules.step_decay(0.1, factor=0.5, every=0), "every must be an integer >= 1"),
        (lambda: schedules.inverse_time(0.1, decay=-1.0), "decay must be >= 0"),
        (lambda: schedules.cosine(0.1, total=10, eta_min=0.2), "eta_min must be in [0, eta0)"),
    ],
)
def test_bad_parameters_are_named(make, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        make()


def test_step_must_be_a_non_negative_integer():
    schedule = schedules.step_decay(0.1, factor=0.5, every=2)
    with pytest.raises(ValueError, match="t must be an integer >= 0"):
        schedule(-1)
    with pytest.raises(TypeError, match="t must be an integer"):
        schedule(1.5)
