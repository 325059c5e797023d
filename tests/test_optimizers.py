"""Behaviour of gdcourse.optimizers that the book and the assignments rely on."""

import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from gdcourse import datasets, objectives, schedules
from gdcourse.optimizers import (
    DescentResult,
    adam,
    gradient_descent,
    heavy_ball,
    minibatch_sgd,
    nesterov,
    newton,
)


def test_parabola_minimum_is_two_with_value_minus_five():
    """x^2 - 4x - 1 is minimised at x = 2 where f(2) = -5 (the seed said +5)."""
    p = objectives.parabola
    result = gradient_descent(p.grad, 50.0, learning_rate=0.1, tol=1e-10, f=p.f)
    assert result.reason == "tolerance"
    assert result.converged
    assert_allclose(result.x, 2.0, atol=1e-8)
    assert_allclose(result.values[-1], -5.0, atol=1e-12)
    assert result.x.shape == ()
    assert result.path.shape == (result.n_iter + 1,)
    assert result.path[0] == 50.0


def test_shifted_bowl_minimum():
    """(x + 1)^2 + y^2/2 is minimised at (-1, 0)."""
    b = objectives.shifted_bowl
    result = gradient_descent(b.grad, [10.0, 10.0], learning_rate=0.1, max_iter=1000, tol=1e-9)
    assert result.reason == "tolerance"
    assert_allclose(result.x, [-1.0, 0.0], atol=1e-7)
    assert result.path.shape == (result.n_iter + 1, 2)
    assert_array_equal(result.path[0], [10.0, 10.0])


def test_stops_without_moving_when_step_is_below_tolerance():
    """The step that falls below tol is not taken, so the path ends at the last point moved to."""
    result = gradient_descent(lambda x: 2 * x, 1.0, learning_rate=0.25, tol=0.1)
    # steps: 0.5 (taken, x=0.5), 0.25 (taken, x=0.25), 0.125 (taken), 0.0625 <= 0.1 (stop)
    assert_array_equal(result.path, [1.0, 0.5, 0.25, 0.125])
    assert result.n_iter == 3
    assert result.reason == "tolerance"


def test_iteration_limit_is_reported():
    result = gradient_descent(objectives.parabola.grad, 50.0, learning_rate=1e-4, max_iter=7)
    assert result.reason == "max_iter"
    assert not result.converged
    assert result.n_iter == 7
    assert len(result.path) == 8


def test_zero_iterations_returns_the_start():
    result = gradient_descent(objectives.parabola.grad, 3.0, learning_rate=0.1, max_iter=0)
    assert result.n_iter == 0
    assert_array_equal(result.path, [3.0])


def test_divergence_is_reported_without_overflow_warnings():
    """On 20x^2 a learning rate above 2/40 diverges; the run stops early and quietly."""
    s = objectives.steep_parabola
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = gradient_descent(s.grad, 1.0, learning_rate=0.1, max_iter=10_000, f=s.f)
    assert result.reason == "diverged"
    assert result.n_iter < 100
    assert np.all(np.isfinite(result.path))
    assert np.all(np.isfinite(result.values))
    # Just below 2/L it converges, just above it diverges.
    assert gradient_descent(s.grad, 1.0, learning_rate=0.049, max_iter=10_000).converged
    assert gradient_descent(s.grad, 1.0, learning_rate=0.051, max_iter=10_000).reason == "diverged"


def test_divergence_to_infinity_in_one_step_is_caught():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = gradient_descent(lambda x: np.exp(x), 800.0, learning_rate=1.0)
    assert result.reason == "diverged"
    assert np.all(np.isfinite(result.path))


def test_input_array_is_never_modified():
    start = np.array([10.0, 10.0])
    before = start.copy()

    def grad(p):
        p += 1000.0  # a hostile gradient that writes into its argument
        return objectives.shifted_bowl.grad(p - 1000.0)

    result = gradient_descent(grad, start, learning_rate=0.1)
    assert_array_equal(start, before)
    assert_array_equal(result.path[0], before)
    assert result.converged


def test_result_is_frozen():
    result = gradient_descent(objectives.parabola.grad, 0.0, learning_rate=0.1)
    assert isinstance(result, DescentResult)
    with pytest.raises(AttributeError):
        result.n_iter = 0  # type: ignore[misc]


def test_values_are_none_without_f():
    assert gradient_descent(objectives.parabola.grad, 0.0, learning_rate=0.1).values is None


def test_momentum_zero_is_plain_gradient_descent_exactly():
    for objective, start, lr in [
        (objectives.parabola, 50.0, 0.1),
        (objectives.shifted_bowl, [10.0, 10.0], 0.3),
        (objectives.rosenbrock, [-1.5, 2.0], 1e-3),
        (objectives.steep_parabola, 1.0, 0.06),
    ]:
        plain = gradient_descent(objective.grad, start, learning_rate=lr, max_iter=500)
        ball = heavy_ball(objective.grad, start, learning_rate=lr, momentum=0.0, max_iter=500)
        assert_array_equal(ball.path, plain.path)
        assert ball.reason == plain.reason


def test_momentum_accelerates_an_ill_conditioned_bowl():
    q = objectives.ill_conditioned(100.0)
    plain = gradient_descent(q.grad, [10.0, 1.0], learning_rate=0.019, max_iter=20_000)
    fast = heavy_ball(q.grad, [10.0, 1.0], learning_rate=0.019, momentum=0.8, max_iter=20_000)
    assert plain.converged and fast.converged
    assert fast.n_iter * 4 < plain.n_iter
    assert_allclose(fast.x, [0.0, 0.0], atol=1e-4)


def _fit_normalised_thermometer(max_iter=100_000):
    x, y = datasets.thermometer()
    x_norm = x / x.max()

    def grad(params):
        dw, db = objectives.mse_gradient(x_norm, y, w=params[0], b=params[1])
        return np.array([dw, db])

    return (
        x,
        y,
        gradient_descent(grad, [0.0, 0.0], learning_rate=0.5, max_iter=max_iter, tol=1e-13),
    )


def test_thermometer_fit_matches_polyfit():
    """Normalised as in the seed (x / max x), descent matches np.polyfit to 1e-6 relative."""
    x, y, result = _fit_normalised_thermometer()
    assert result.converged
    w_norm, b = result.x
    slope, intercept = np.polyfit(x, y, 1)
    assert_allclose(w_norm / x.max(), slope, rtol=1e-6)
    assert_allclose(b, intercept, rtol=1e-6)


def test_minibatch_sgd_approaches_least_squares_on_crop_yields():
    X, Y = datasets.crop_yields()
    mean, std = X.mean(axis=0), X.std(axis=0)
    Xs = (X - mean) / std
    W_star, b_star = objectives.least_squares(Xs, Y)
    fit = minibatch_sgd(
        Xs, Y, learning_rate=0.05, batch_size=5, epochs=3000, rng=np.random.default_rng(0)
    )
    assert fit.weights.shape == (2, 3) and fit.bias.shape == (2,)
    assert fit.n_updates == 3000 * 3
    assert_allclose(fit.weights, W_star, rtol=0.05, atol=0.05)
    assert_allclose(fit.bias, b_star, rtol=1e-3)
    optimum = np.mean((Xs @ W_star.T + b_star - Y) ** 2)
    assert fit.epoch_losses[-1] < 1.05 * optimum
    assert fit.epoch_losses[-1] < 0.01 * fit.epoch_losses[0]


def test_minibatch_sgd_is_reproducible_with_its_generator():
    X, y = datasets.synthetic_linear(np.random.default_rng(1), n_samples=50)
    a = minibatch_sgd(
        X, y, learning_rate=0.1, batch_size=7, epochs=5, rng=np.random.default_rng(3)
    )
    b = minibatch_sgd(
        X, y, learning_rate=0.1, batch_size=7, epochs=5, rng=np.random.default_rng(3)
    )
    c = minibatch_sgd(
        X, y, learning_rate=0.1, batch_size=7, epochs=5, rng=np.random.default_rng(4)
    )
    assert_array_equal(a.batch_losses, b.batch_losses)
    assert not np.array_equal(a.batch_losses, c.batch_losses)
    assert len(a.batch_losses) == 5 * 8  # ceil(50 / 7) batches per epoch


def test_full_batch_sgd_is_gradient_descent():
    """With one batch of all rows, SGD takes exactly the gradient descent steps on the MSE."""
    x, y = datasets.thermometer()
    xn = x / x.max()
    fit = minibatch_sgd(
        xn, y, learning_rate=0.1, batch_size=11, epochs=20, rng=np.random.default_rng(0)
    )

    def grad(p):
        return np.array(objectives.mse_gradient(xn, y, w=p[0], b=p[1]))

    gd = gradient_descent(grad, [0.0, 0.0], learning_rate=0.1, max_iter=20, tol=0.0)
    assert_allclose([fit.weights[0], fit.bias], gd.x, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"learning_rate": 0.0}, ValueError, ["learning_rate", "0.0", "> 0"]),
        ({"learning_rate": -0.1}, ValueError, ["learning_rate", "-0.1", "> 0"]),
        ({"learning_rate": "fast"}, TypeError, ["learning_rate", "'fast'"]),
        ({"learning_rate": 0.1, "max_iter": -1}, ValueError, ["max_iter", "-1", ">= 0"]),
        ({"learning_rate": 0.1, "max_iter": 2.5}, TypeError, ["max_iter", "2.5"]),
        ({"learning_rate": 0.1, "tol": -1e-3}, ValueError, ["tol", ">= 0"]),
        ({"learning_rate": float("nan")}, ValueError, ["learning_rate", "finite"]),
    ],
)
def test_bad_arguments_are_named_in_the_error(kwargs, error, words):
    with pytest.raises(error) as info:
        gradient_descent(objectives.parabola.grad, 1.0, **kwargs)
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize("start", [float("nan"), [1.0, float("inf")], "ten", [[1.0], [2.0, 3.0]]])
def test_bad_start_point(start):
    with pytest.raises((ValueError, TypeError), match="x0"):
        gradient_descent(objectives.parabola.grad, start, learning_rate=0.1)


def test_gradient_of_the_wrong_shape_is_reported():
    with pytest.raises(ValueError, match=r"grad must return .* shape \(2,\).*got shape \(3,\)"):
        gradient_descent(lambda p: np.ones(3), [1.0, 2.0], learning_rate=0.1)


def test_momentum_outside_unit_interval():
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.0"):
        heavy_ball(objectives.parabola.grad, 1.0, learning_rate=0.1, momentum=1.0)


def test_minibatch_sgd_bad_input():
    X, y = datasets.thermometer()
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same number of rows, got 11 and 10"):
        minibatch_sgd(X, y[:10], learning_rate=0.1, batch_size=2, epochs=1, rng=rng)
    with pytest.raises(ValueError, match="batch_size must be between 1 and 11"):
        minibatch_sgd(X, y, learning_rate=0.1, batch_size=12, epochs=1, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        minibatch_sgd(X, y, learning_rate=0.1, batch_size=2, epochs=1, rng=42)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- against torch.optim


def _torch_path(objective, start, make_optimizer, steps, make_scheduler=None):
    """The parameter after 0, 1, ..., steps updates of a torch.optim optimizer on f."""
    p = torch.tensor(np.asarray(start, dtype=np.float64), requires_grad=True)
    optimizer = make_optimizer([p])
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    path = [p.detach().numpy().copy()]
    for _ in range(steps):
        optimizer.zero_grad()
        objective.f(p).backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


PROBLEMS = [
    (objectives.ill_conditioned(50.0), [-10.0, 3.0]),
    (objectives.rosenbrock, [-1.5, 2.0]),
    (objectives.shifted_bowl, [10.0, 10.0]),
]
PROBLEM_IDS = ["ill-conditioned", "rosenbrock", "shifted-bowl"]


def _rate(objective):
    return (1e-3, 0.9) if objective is objectives.rosenbrock else (0.02, 0.8)


@pytest.mark.parametrize(("objective", "start"), PROBLEMS, ids=PROBLEM_IDS)
def test_heavy_ball_is_torch_sgd_momentum_for_a_constant_rate(objective, start):
    eta, beta = _rate(objective)
    ours = heavy_ball(objective.grad, start, learning_rate=eta, momentum=beta, max_iter=80, tol=0)
    theirs = _torch_path(
        objective, start, lambda ps: torch.optim.SGD(ps, lr=eta, momentum=beta), 80
    )
    assert_allclose(ours.path, theirs, rtol=1e-10, atol=1e-12)


def test_heavy_ball_and_torch_momentum_differ_under_a_schedule():
    """PyTorch scales the whole velocity by today's rate; the book's form only the new gradient."""
    q, start = PROBLEMS[0]
    schedule = schedules.step_decay(0.02, factor=0.5, every=10)
    ours = heavy_ball(q.grad, start, learning_rate=schedule, momentum=0.8, max_iter=40, tol=0)
    theirs = _torch_path(
        q,
        start,
        lambda ps: torch.optim.SGD(ps, lr=0.02, momentum=0.8),
        40,
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=10, gamma=0.5),
    )
    assert_allclose(ours.path[:11], theirs[:11], rtol=1e-10, atol=1e-12)
    assert np.abs(ours.path[11:] - theirs[11:]).max() > 0.1


@pytest.mark.parametrize(("objective", "start"), PROBLEMS, ids=PROBLEM_IDS)
def test_nesterov_is_torch_nesterov_at_the_look_ahead_point(objective, start):
    eta, beta = _rate(objective)
    ours = nesterov(objective.grad, start, learning_rate=eta, momentum=beta, max_iter=80, tol=0)
    theirs = _torch_path(
        objective,
        start,
        lambda ps: torch.optim.SGD(ps, lr=eta, momentum=beta, nesterov=True),
        80,
    )
    velocity = np.diff(ours.path, axis=0)  # v_{k+1} = x_{k+1} - x_k
    look_ahead = ours.path[1:] + beta * velocity
    assert_allclose(look_ahead, theirs[1:], rtol=1e-10, atol=1e-12)
    assert np.abs(ours.path - theirs).max() > 1e-3, "the iterates themselves differ"


@pytest.mark.parametrize(("objective", "start"), PROBLEMS, ids=PROBLEM_IDS)
@pytest.mark.parametrize(("betas", "eps"), [((0.9, 0.999), 1e-8), ((0.5, 0.9), 1e-3)])
def test_adam_is_torch_adam(objective, start, betas, eps):
    ours = adam(
        objective.grad, start, learning_rate=0.05, betas=betas, eps=eps, max_iter=60, tol=0
    )
    theirs = _torch_path(
        objective, start, lambda ps: torch.optim.Adam(ps, lr=0.05, betas=betas, eps=eps), 60
    )
    assert_allclose(ours.path, theirs, rtol=1e-10, atol=1e-12)


def test_adam_bias_correction_makes_the_first_step_the_learning_rate():
    """Without bias correction the first step would be (1 - 0.9) / sqrt(1 - 0.999) ~ 3.2 eta."""
    q = objectives.ill_conditioned(1000.0)
    run = adam(q.grad, [1.0, -1.0], learning_rate=0.01, max_iter=1)
    assert_allclose(run.path[1] - run.path[0], [-0.01, 0.01], rtol=1e-6)


def test_adam_with_a_schedule_is_torch_adam_with_a_scheduler():
    q, start = PROBLEMS[0]
    ours = adam(q.grad, start, learning_rate=schedules.cosine(0.5, total=30), max_iter=30, tol=0)
    theirs = _torch_path(
        q,
        start,
        lambda ps: torch.optim.Adam(ps, lr=0.5),
        30,
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30),
    )
    assert_allclose(ours.path, theirs, rtol=1e-9, atol=1e-12)


def test_a_schedule_is_called_with_the_update_count():
    seen = []

    def schedule(k):
        seen.append(k)
        return 0.1

    gradient_descent(objectives.parabola.grad, 5.0, learning_rate=schedule, max_iter=4, tol=0)
    assert seen == [0, 1, 2, 3]
    decaying = gradient_descent(
        lambda x: np.ones_like(x),
        0.0,
        learning_rate=schedules.inverse_time(1.0, decay=1.0),
        max_iter=3,
        tol=0,
    )
    assert_allclose(decaying.path, [0.0, -1.0, -1.5, -1.5 - 1 / 3])


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_a_schedule_returning_a_bad_rate_is_reported(value):
    with pytest.raises(ValueError, match=r"schedule returned .* at step 2; learning rates must"):
        gradient_descent(
            objectives.parabola.grad, 5.0, learning_rate=lambda k: 0.1 if k < 2 else value
        )


def test_minibatch_sgd_calls_its_schedule_once_per_epoch():
    x, y = datasets.thermometer()
    xn = x / x.max()
    seen = []

    def schedule(t):
        seen.append(t)
        return 0.1

    fit = minibatch_sgd(
        xn, y, learning_rate=schedule, batch_size=4, epochs=3, rng=np.random.default_rng(0)
    )
    same = minibatch_sgd(
        xn, y, learning_rate=0.1, batch_size=4, epochs=3, rng=np.random.default_rng(0)
    )
    assert seen == [0, 1, 2]
    assert_array_equal(fit.epoch_losses, same.epoch_losses)


# --------------------------------------------------------------------------- Newton


def test_newton_solves_a_quadratic_in_one_step_whatever_its_conditioning():
    for kappa in (1.0, 1e3, 1e6):
        q = objectives.ill_conditioned(kappa)
        run = newton(q.grad, lambda p, k=kappa: np.diag([1.0, k]), [-10.0, 3.0])
        assert_allclose(run.path[1], [0.0, 0.0], atol=1e-12)
        assert run.n_iter == 1 and run.reason == "tolerance"


def test_newton_converges_quadratically_and_can_find_a_maximum():
    cubic = objectives.cubic
    root = np.sqrt(5 / 6)
    run = newton(cubic.grad, lambda x: 24 * x, 1.8, max_iter=10)
    errors = np.abs(run.path - root)
    # quadratic convergence: e_{k+1} is about e_k^2 f'''(r) / (2 f''(r)) = e_k^2 / (2 r)
    for k in range(1, 4):
        assert errors[k + 1] <= 1.1 * errors[k] ** 2 / (2 * root)
    uphill = newton(cubic.grad, lambda x: 24 * x, -1.2, max_iter=10)
    assert_allclose(uphill.x, -root, rtol=1e-12)  # the local maximum, not a minimum


def test_newton_reports_a_singular_hessian_and_a_wrong_shape():
    with pytest.raises(ValueError, match="singular"):
        newton(lambda p: np.array([p[0], 1.0]), lambda p: np.diag([1.0, 0.0]), [1.0, 1.0])
    with pytest.raises(ValueError, match="second derivative at 0.0 is 0"):
        newton(lambda x: x + 1, lambda x: 0.0, 0.0)
    with pytest.raises(ValueError, match=r"hessian must return a matrix of shape \(2, 2\)"):
        newton(lambda p: p, lambda p: np.eye(3), [1.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\)"),
        ({"betas": 0.9}, r"betas must be a pair"),
        ({"eps": 0.0}, r"eps must be > 0"),
    ],
)
def test_adam_bad_arguments(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        adam(objectives.parabola.grad, 1.0, learning_rate=0.1, **kwargs)
