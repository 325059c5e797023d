"""Each objective's gradient is right (checked against autograd and central differences)."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from gdcourse import datasets, objectives

ALL = [
    objectives.parabola,
    objectives.steep_parabola,
    objectives.cubic,
    objectives.bowl,
    objectives.shifted_bowl,
    objectives.ill_conditioned(30.0),
    objectives.rosenbrock,
]


def _points(objective, rng):
    (low, high), *rest = objective.window
    if objective.dim == 1:
        return [np.float64(v) for v in rng.uniform(low, high, size=5)]
    (low2, high2) = rest[0]
    return [np.array([rng.uniform(low, high), rng.uniform(low2, high2)]) for _ in range(5)]


@pytest.mark.parametrize("objective", ALL, ids=lambda o: o.name)
def test_gradient_matches_autograd(objective):
    rng = np.random.default_rng(0)
    for point in _points(objective, rng):
        t = torch.tensor(point, dtype=torch.float64, requires_grad=True)
        objective.f(t).backward()
        assert_allclose(objective.grad(point), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("objective", ALL, ids=lambda o: o.name)
def test_minimizers_are_stationary_and_minimal(objective):
    for m in objective.minimizers:
        assert_allclose(objective.grad(m), np.zeros_like(m), atol=1e-12)
        rng = np.random.default_rng(1)
        for _ in range(20):
            nearby = m + rng.normal(scale=1e-3, size=m.shape)
            assert objective.f(nearby) >= objective.f(m)


def test_seed_functions_have_the_stated_values():
    assert objectives.parabola.f(2.0) == -5.0
    assert_allclose(objectives.bowl.grad(np.array([10.0, 10.0])), [20.0, 10.0])
    assert_allclose(objectives.shifted_bowl.grad(np.array([10.0, 10.0])), [22.0, 10.0])
    # The cubic has a local minimum at sqrt(5/6) but no global one: it is unbounded below.
    assert objectives.cubic.f(-10.0) < objectives.cubic.f(objectives.cubic.minimizers[0])


def test_ill_conditioned_rejects_kappa_below_one():
    with pytest.raises(ValueError, match="condition_number must be >= 1, got 0.5"):
        objectives.ill_conditioned(0.5)


def test_mse_gradient_matches_autograd():
    x, y = datasets.thermometer()
    w, b = 0.3, -2.0
    wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = objectives.mse(objectives.linear_model(torch.tensor(x), wt, bt), torch.tensor(y))
    loss.backward()
    assert_allclose(
        objectives.mse_gradient(x, y, w, b), (wt.grad.item(), bt.grad.item()), rtol=1e-12
    )


def test_mse_gradient_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(2,\)"):
        objectives.mse_gradient([1.0, 2.0, 3.0], [1.0, 2.0], 0.0, 0.0)


def test_least_squares_matches_polyfit_and_multi_output_lstsq():
    x, y = datasets.thermometer()
    w, b = objectives.least_squares(x, y)
    slope, intercept = np.polyfit(x, y, 1)
    assert_allclose([w[0], b], [slope, intercept], rtol=1e-10)
    X, Y = datasets.crop_yields()
    W, bias = objectives.least_squares(X, Y)
    assert W.shape == (2, 3) and bias.shape == (2,)
    # Optimality: the residual is orthogonal to every input column and to the constant.
    residual = X @ W.T + bias - Y
    assert_allclose(np.hstack([X, np.ones((15, 1))]).T @ residual, 0.0, atol=1e-6)


def test_least_squares_rejects_row_mismatch():
    with pytest.raises(ValueError, match="same number of rows, got 3 and 2"):
        objectives.least_squares([1.0, 2.0, 3.0], [1.0, 2.0])
