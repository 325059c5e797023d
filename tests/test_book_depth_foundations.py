"""The depth sections of issue 18 in the foundation chapters, checked against their own numbers.

Autograd by hand (``gradients``), backtracking line search (``gradient-descent``), the Gaussian
likelihood and the minimum-norm solution (``linear-models``), and the strongly convex rate, the
first-order lower bound, damped Newton and BFGS (``convergence``). Each page glues the numbers
its sentences state; these tests read them back from the built book and check that every
sentence is true, recomputing what is cheap to recompute here.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import built_site
import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("site_reader")


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site.build()


_glued = built_site.glued


@pytest.fixture(scope="module")
def glued(site: Path) -> Any:
    return _glued


_html_text = built_site.html_text


# --------------------------------------------------------------------------- gradients


def test_graph_by_hand_matches_the_chain_rule_and_autograd(glued):
    """f = ln x1 + x1 x2 - sin x2 at (2, 5): the forward values and the adjoints."""
    v = glued("gradients")
    assert v["graph_a1"] == pytest.approx(math.log(2), rel=1e-15)
    assert v["graph_a3"] == pytest.approx(math.sin(5), rel=1e-15)
    assert v["graph_f"] == pytest.approx(math.log(2) + 10 - math.sin(5), rel=1e-15)
    assert v["graph_dx1"] == pytest.approx(0.5 + 5)
    assert v["graph_dx2"] == pytest.approx(2 - math.cos(5))
    assert v["graph_vs_autograd"] < 1e-14 and v["graph_f_vs_torch"] < 1e-14
    assert v["forward_mode_vs_reverse"] < 1e-14


def test_graph_listing_names_the_recorded_operations(site):
    text = _html_text(site, "gradients")
    for node in ("SubBackward0", "AddBackward0", "LogBackward0", "MulBackward0", "SinBackward0"):
        assert node in text, f"the printed graph has no {node}"


def test_reverse_mode_costs_a_constant_multiple_forward_mode_grows_with_d(glued):
    """Flops: forward plus backward = 2 forward, for every d; times: as the page says."""
    v = glued("gradients")
    for d in (10, 100, 1000):
        assert v[f"cost_flops_ratio_{d}"] == 2.0
    # the clock: overhead dominates at small d, the ratio approaches the count at large d
    assert v["cost_time_ratio_1000"] < v["cost_time_ratio_10"]
    assert 1.0 < v["cost_time_ratio_1000"] < 6.0
    # forward mode, d passes: ten times the inputs, several times the cost; far above reverse
    assert v["cost_fwdmode_ratio_100"] > 4 * v["cost_fwdmode_ratio_10"]
    assert v["cost_fwdmode_ratio_100"] > 10 * v["cost_time_ratio_100"]
    assert v["cost_fwdmode_ratio_10"] > 10


def test_nonscalar_backward_is_a_vector_jacobian_product(glued, site):
    v = glued("gradients")
    assert v["nonscalar_error_says_scalar"] is True
    assert v["vjp_vs_hand"] < 1e-14 and v["vjp_vs_scalar"] < 1e-14
    assert v["jacobian_vs_hand"] < 1e-14
    assert "grad can be implicitly created only for scalar outputs" in _html_text(
        site, "gradients"
    )
    # the Jacobian written by hand at (1, 2, 0.5), and v^T J for v = (3, -1)
    jacobian = np.array([[2.0, 1.0, 0.0], [0.0, 4.0, math.exp(0.5)]])
    eps = 1e-6
    point = np.array([1.0, 2.0, 0.5])

    def F(p: np.ndarray) -> np.ndarray:
        return np.array([p[0] * p[1], p[1] ** 2 + math.exp(p[2])])

    numeric = np.column_stack(
        [(F(point + eps * e) - F(point - eps * e)) / (2 * eps) for e in np.eye(3)]
    )
    np.testing.assert_allclose(numeric, jacobian, atol=1e-8)


def test_detach_no_grad_and_the_update_step(glued):
    v = glued("gradients")
    assert (v["detach_full"], v["detach_cut"]) == (6.0, 3.0)
    assert v["no_grad_records"] is False
    assert v["update_in_place_refused"] is True
    assert v["update_out_of_place_leaf"] is False
    assert v["update_no_grad_leaf"] is True
    assert v["update_no_grad_value"] == pytest.approx(3 - 0.1 * 6)
    assert v["update_chain_nodes"] > 3, "three recorded steps leave a graph that grew"


# --------------------------------------------------------------------------- gradient descent


def _boyd(p: np.ndarray) -> float:
    x, y = p
    return float(np.exp(x + 3 * y - 0.1) + np.exp(x - 3 * y - 0.1) + np.exp(-x - 0.1))


def _boyd_grad(p: np.ndarray) -> np.ndarray:
    x, y = p
    up, down, left = np.exp(x + 3 * y - 0.1), np.exp(x - 3 * y - 0.1), np.exp(-x - 0.1)
    return np.array([up + down - left, 3 * up - 3 * down])


def test_backtracking_accepts_only_sufficient_decrease(glued):
    """Every accepted step satisfies Armijo's condition, and the one before it did not."""
    v = glued("gradient-descent")
    path = np.array(json.loads(v["bt_path_json"]))
    rates = np.array(json.loads(v["bt_rates_json"]))
    alpha, beta = 0.1, 0.7
    assert len(rates) == v["bt_total_steps"] == len(path) - 1
    for x, x_next, eta in zip(path[:-1], path[1:], rates, strict=True):
        g = _boyd_grad(x)
        np.testing.assert_allclose(x_next, x - eta * g, rtol=1e-12, atol=1e-14)
        assert _boyd(x_next) <= _boyd(x) - alpha * eta * (g @ g) + 1e-14
        if eta < 1.0:  # the trial eta / beta was rejected
            assert _boyd(x - eta / beta * g) > _boyd(x) - alpha * eta / beta * (g @ g)
    assert v["bt_rate_first"] == pytest.approx(beta ** v["bt_first_shrinks"])
    assert v["bt_rate_min"] == v["bt_rate_first"], "the smallest rate is taken at the start"
    assert v["bt_rate_max"] == pytest.approx(rates.max())
    assert v["bt_rate_later_min"] == pytest.approx(rates[1:10].min())
    assert v["bt_rate_later_max"] == pytest.approx(rates[1:10].max())
    assert v["bt_monotone"] is True
    assert v["bt_grad_at_star"] < 1e-14, "(-ln 2 / 2, 0) is the minimiser"


def test_backtracking_guarantee_and_no_knowledge_of_L(glued):
    """The accepted rates are at least beta / L on the sublevel set, and the bound holds."""
    v = glued("gradient-descent")
    path = np.array(json.loads(v["bt_path_json"]))
    rates = np.array(json.loads(v["bt_rates_json"]))
    beta, alpha = 0.7, 0.1
    # mu and L over the sublevel set {f <= f(x0)}, sampled on a fine grid that covers it
    xs, ys = np.meshgrid(np.linspace(-4, 2, 301), np.linspace(-2, 2, 201))
    up, down, left = np.exp(xs + 3 * ys - 0.1), np.exp(xs - 3 * ys - 0.1), np.exp(-xs - 0.1)
    inside = up + down + left <= _boyd(path[0])
    a, b, c = (up + down + left)[inside], (3 * up - 3 * down)[inside], (9 * up + 9 * down)[inside]
    half_gap = np.sqrt(((a - c) / 2) ** 2 + b**2)
    mu_s, L_s = float(((a + c) / 2 - half_gap).min()), float(((a + c) / 2 + half_gap).max())
    assert rates.min() >= min(1.0, beta / L_s)
    f_star = 2 * math.sqrt(2) * math.exp(-0.1)
    gaps = np.array([_boyd(p) for p in path]) - f_star
    c_rate = 1 - 2 * mu_s * alpha * min(1.0, beta / L_s)
    assert np.all(gaps <= c_rate ** np.arange(len(gaps)) * gaps[0] + 1e-15)


def test_backtracking_against_fixed_rates(glued):
    v = glued("gradient-descent")
    assert v["fixed_all_above_diverge"] is True
    assert v["fixed_smallest_diverging"] == pytest.approx(v["fixed_largest_converging"] + 0.002)
    assert v["fixed_best_rate"] == v["fixed_largest_converging"], "fastest just below divergence"
    assert v["bt_steps"] < v["fixed_best_steps"] < v["fixed_slowest_steps"]
    assert v["bt_rate_max"] > v["fixed_largest_converging"]
    assert v["bt_evaluations"] > 2 * v["bt_total_steps"], "each step tries several rates"
    assert v["boyd_L_start"] > 4 * v["boyd_L_star"]
    assert v["boyd_limit_star"] == pytest.approx(2 / v["boyd_L_star"])
    assert v["boyd_limit_star"] > v["fixed_largest_converging"]


# --------------------------------------------------------------------------- linear models


def test_gaussian_likelihood_gives_least_squares_and_the_mse(glued):
    v = glued("linear-models")
    n = v["n_obs"]
    assert v["mle_sigma2"] == pytest.approx(v["mse_star"], rel=1e-12)
    assert v["mle_sigma"] == pytest.approx(v["mle_sigma2"] ** 0.5)
    assert v["mle_sigma_unbiased"] == pytest.approx((v["mle_sigma2"] * n / (n - 2)) ** 0.5)
    assert v["mle_grad_norm"] < 1e-9
    assert v["mle_nearby_min"] > v["mle_nll"]
    ssr = v["mle_sigma2"] * n
    nll = n / 2 * math.log(2 * math.pi * v["mle_sigma2"]) + ssr / (2 * v["mle_sigma2"])
    assert v["mle_nll"] == pytest.approx(nll, rel=1e-12)


def test_minimum_norm_solution(glued):
    v = glued("linear-models")
    assert v["mn_rank"] == 2
    assert abs(v["mn_eig_min"]) < 1e-12 * v["mn_eig_max"]
    assert v["mn_null_residual"] < 1e-12
    assert v["mn_gd_vs_pinv"] < 1e-9 and v["mn_lstsq_vs_pinv"] < 1e-9
    assert v["mn_mse_plus"] == pytest.approx(v["mn_mse_other"], rel=1e-10)
    assert v["mn_mse_plus"] == pytest.approx(v["mn_mse_star"], rel=1e-10)
    assert v["mn_norm_other"] == pytest.approx(math.hypot(v["mn_norm_plus"], 3.0), rel=1e-10)
    assert v["mn_off_distance"] == pytest.approx(v["mn_off_null_part"], rel=1e-9)
    assert v["mn_off_null_part"] == pytest.approx(1 / math.sqrt(5), rel=1e-12)  # (2-1+0)/sqrt5
    assert v["wide_zero_eigs"] == 50 - 20
    assert v["wide_gd_vs_pinv"] < 1e-9 and v["wide_train_mse"] < 1e-20
    # 2000 steps at eta = 1/L shrink the error by (1 - 1/kappa+)^2000: far below the tolerance
    assert (1 - 1 / v["wide_kappa_plus"]) ** 2000 < 1e-15


# --------------------------------------------------------------------------- convergence


def test_strongly_convex_rate(glued):
    v = glued("convergence")
    assert v["sc_kappa"] == pytest.approx(v["sc_L"])  # mu = 1
    assert v["sc_q"] == pytest.approx(1 - 1 / v["sc_L"])
    assert v["sc_gap_ratio_max"] <= 1.0 and v["sc_dist_ratio_max"] <= 1.0
    assert v["sc_grad_at_star"] < 1e-12
    assert 1.0 <= v["sc_hess_min_star"] < v["sc_hess_max_star"] <= v["sc_L"]
    assert v["sc_local_q2"] == pytest.approx((1 - v["sc_hess_min_star"] / v["sc_L"]) ** 2)
    assert v["sc_late_rate"] == pytest.approx(v["sc_local_q2"], abs=0.005)
    assert v["sc_late_rate"] < v["sc_q"], "the bound is pessimistic here"


def test_first_order_lower_bound(glued):
    v = glued("convergence")
    assert v["lb_q"] == pytest.approx((10 - 1) / (10 + 1))
    assert 1.0 <= v["lb_eig_min"] < v["lb_eig_max"] <= 100.0
    assert v["lb_x_star_vs_q"] < 1e-12
    assert v["lb_tail_vs_q2k"] < 1e-9, "the bound is q^(2k) up to the truncation"
    assert v["lb_support_ok"] is True
    assert v["lb_min_ratio"] >= 1 - 1e-12, "no run beats the bound"
    assert v["lb_bound_100"] == pytest.approx(v["lb_q"] ** 200, rel=1e-6)
    assert v["lb_gd_100"] > v["lb_gdbest_100"] > 1e6 * v["lb_bound_100"]
    assert v["lb_hb_vs_bound"] < 1e-4 and v["lb_hb_100"] == pytest.approx(
        v["lb_bound_100"], rel=1e-4
    )


def test_damped_newton(glued):
    v = glued("convergence")
    path = [float(value) for value in v["soft_pure_path"].split(", ")]
    assert path[0] == 1.1 and abs(path[-1]) > 1e9, "pure Newton diverges from 1.1"
    assert all(abs(b) > abs(a) for a, b in itertools.pairwise(path))
    assert v["soft_pure_is_cube"] < 1e-3
    fractions = [float(t) for t in v["soft_damped_fractions"].split(", ")]
    assert fractions[0] < 1 and fractions[-1] == 1.0 and len(fractions) == v["soft_damped_steps"]
    assert v["soft_damped_end"] < 1e-12
    assert v["soft_far_first_fraction"] < 0.1
    robust = [float(t) for t in v["robust_damped_fractions"].split(", ")]
    assert len(robust) == v["robust_damped_steps"]
    assert min(robust) < 1 and robust[-3:] == [1.0, 1.0, 1.0], "damped, then full steps"
    assert v["robust_pure_dist_min"] > 1.0, "pure Newton does not converge"
    assert v["robust_damped_grad"] < 1e-12


def test_bfgs(glued):
    v = glued("convergence")
    assert v["bfgs_secant_max"] < 1e-12
    assert v["newton_damped_steps"] < v["bfgs_steps"] < v["gd_robust_steps"] / 10
    assert v["bfgs_ratio_last5"] < v["bfgs_ratio_first10"] / 2, "the convergence accelerates"
    # the theorem's step count for the exercise: 10 * 0.96^k <= 1e-6, and the lower bound's
    assert math.ceil(math.log(1e-7) / math.log(0.96)) == 395
    assert round(math.log(1e-7) / (2 * math.log(2 / 3))) == 20


def test_new_sections_are_in_the_built_pages(site):
    for page, headings in {
        "gradients": ["Inside autograd", "Forward mode and reverse mode", "detach"],
        "gradient-descent": ["Choosing the step by line search"],
        "linear-models": [
            "Why squares: the Gaussian likelihood",
            "When the minimiser is not unique",
        ],
        "convergence": [
            "Strongly convex functions",
            "How fast can a first-order method be?",
            "Damped Newton",
            "Quasi-Newton methods: BFGS",
        ],
    }.items():
        text = _html_text(site, page)
        for heading in headings:
            assert heading in text, f"{page} lacks {heading!r}"


def test_backtracking_exercise_on_20x2(site):
    """Exercise 5 of gradient-descent: eta_init = 1, nu = gamma = 1/2 on 20 x^2 from 1."""
    eta, shrinks = 1.0, 0
    while 20 * (1 - 40 * eta) ** 2 > 20 - 0.5 * eta * 40**2:
        eta, shrinks = eta / 2, shrinks + 1
    assert (eta, shrinks) == (1 / 64, 6)
    assert eta > 0.5 / 40, "above gamma / L"
    text = _html_text(site, "gradient-descent")
    assert "accepted after six shrinks" in text
