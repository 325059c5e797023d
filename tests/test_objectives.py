"""Each objective's gradient is right (checked against autograd and central differences)."""

import itertools

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


# ------------------------------------------------------------- vectorised gradient and ridge


def _autograd_mse(X, Y, W, b):
    """Gradients of torch.nn.MSELoss (mean over all entries) of X W^T + b."""
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    prediction = torch.tensor(X) @ Wt.T + bt
    torch.nn.MSELoss()(prediction, torch.tensor(Y)).backward()
    return Wt.grad.numpy(), bt.grad.numpy()


def test_vectorised_gradient_matches_autograd_for_several_outputs():
    rng = np.random.default_rng(0)
    X, Y = datasets.crop_yields()
    W, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    grad_W, grad_b = objectives.least_squares_gradient(X, Y, W, b)
    want_W, want_b = _autograd_mse(X, Y, W, b)
    assert_allclose(grad_W, want_W, rtol=1e-12)
    assert_allclose(grad_b, want_b, rtol=1e-12)
    assert grad_W.shape == (2, 3) and grad_b.shape == (2,)


def test_vectorised_gradient_for_one_output_is_the_scalar_formula():
    x, y = datasets.thermometer()
    grad_w, grad_b = objectives.least_squares_gradient(x, y, [0.3], -2.0)
    assert grad_w.shape == (1,) and grad_b.shape == ()
    assert_allclose([grad_w[0], grad_b], objectives.mse_gradient(x, y, w=0.3, b=-2.0), rtol=1e-12)
    # (2/n) X~^T (X~ theta - y) with X~ = [x 1], theta = (w, b)
    X1 = np.column_stack([x, np.ones_like(x)])
    theta = np.array([0.3, -2.0])
    assert_allclose([grad_w[0], grad_b], 2 / len(x) * X1.T @ (X1 @ theta - y), rtol=1e-12)


def test_vectorised_gradient_is_zero_at_the_least_squares_solution():
    X, Y = datasets.crop_yields()
    W, b = objectives.least_squares(X, Y)
    grad_W, grad_b = objectives.least_squares_gradient(X, Y, W, b)
    assert_allclose(grad_W, 0.0, atol=1e-8)
    assert_allclose(grad_b, 0.0, atol=1e-10)


def test_vectorised_gradient_checks_shapes():
    with pytest.raises(ValueError, match="weights must have 2 x 3 entries and bias 2"):
        objectives.least_squares_gradient(np.ones((4, 3)), np.ones((4, 2)), np.ones(3), np.ones(2))


def _ridge_objective_gradient(X, Y, W, b, alpha):
    grad_W, grad_b = objectives.least_squares_gradient(X, Y, W, b)
    return grad_W + alpha * W, grad_b


@pytest.mark.parametrize("alpha", [0.0, 0.01, 1.0, 100.0])
def test_ridge_solution_is_a_stationary_point_of_the_penalised_loss(alpha):
    X, Y = datasets.crop_yields()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    W, b = objectives.ridge(Z, Y, alpha=alpha)
    grad_W, grad_b = _ridge_objective_gradient(Z, Y, W, b, alpha)
    assert_allclose(grad_W, 0.0, atol=1e-9)
    assert_allclose(grad_b, 0.0, atol=1e-9)


def test_ridge_shrinks_the_weights_and_alpha_zero_is_least_squares():
    X, y = datasets.synthetic_curve(np.random.default_rng(3), n_samples=20)
    features = datasets.polynomial_features(X, 6)
    w0, b0 = objectives.ridge(features, y, alpha=0.0)
    w_ls, b_ls = objectives.least_squares(features, y)
    assert_allclose(w0, w_ls, rtol=1e-6)
    assert_allclose(b0, b_ls, rtol=1e-6)
    norms = [
        np.linalg.norm(objectives.ridge(features, y, alpha=a)[0]) for a in (0, 1e-3, 1e-1, 10)
    ]
    assert all(later < earlier for earlier, later in itertools.pairwise(norms))


def test_ridge_is_torch_weight_decay_on_the_weights_only():
    """Gradient descent with weight_decay=alpha on the weights converges to the ridge solution."""
    X, Y = datasets.crop_yields()
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    alpha = 0.5
    model = torch.nn.Linear(3, 2).double()
    optimizer = torch.optim.SGD(
        [
            {"params": [model.weight], "weight_decay": alpha},
            {"params": [model.bias], "weight_decay": 0.0},
        ],
        lr=0.2,
    )
    inputs, targets = torch.tensor(Z), torch.tensor(Y)
    for _ in range(2000):
        optimizer.zero_grad()
        torch.nn.MSELoss()(model(inputs), targets).backward()
        optimizer.step()
    W, b = objectives.ridge(Z, Y, alpha=alpha)
    assert_allclose(model.weight.detach().numpy(), W, rtol=1e-8)
    assert_allclose(model.bias.detach().numpy(), b, rtol=1e-8)


def test_ridge_rejects_a_negative_penalty():
    with pytest.raises(ValueError, match="alpha must be >= 0, got -1.0"):
        objectives.ridge([0.0, 1.0], [0.0, 1.0], alpha=-1.0)
