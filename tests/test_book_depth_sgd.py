"""The depth sections of issue 18 on ridge, SGD's rates and the heavy ball, checked.

Each page glues the numbers its prose states from its own code at build time. These tests
read them back from the built book and check that the sentences around them are true, and
recompute the derivations (the ridge closed form's scaling, Polyak's parameters, the effective
step) independently where that is cheap.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import built_site
import numpy as np
import pytest

from gdcourse import objectives

pytestmark = pytest.mark.usefixtures("site_reader")


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site.build()


_glued = built_site.glued


@pytest.fixture(scope="module")
def gen(site: Path) -> dict[str, Any]:
    return _glued("generalisation")


@pytest.fixture(scope="module")
def bey(site: Path) -> dict[str, Any]:
    return _glued("beyond")


_html_text = built_site.html_text


# --------------------------------------------------------------------------- ridge


def test_ridge_closed_form_has_the_books_scaling(gen):
    """w = (Xc^T Xc + n alpha / 2 I)^-1 Xc^T yc minimises MSE + alpha/2 |w|^2; n alpha does not."""
    assert gen["rc_vs_library"] < 1e-10
    assert gen["rc_vs_descent"] < 1e-6  # gradient descent on the same objective
    assert gen["rc_other_scaling"] > 0.05  # the wrong factor is visibly another minimiser
    # independently, on data of our own: the formula and Exercise 5's conversion a = n alpha / 2
    rng = np.random.default_rng(0)
    X, y, alpha = rng.normal(size=(40, 3)), rng.normal(size=40), 0.3
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    w, _ = objectives.ridge(X, y, alpha=alpha)
    formula = np.linalg.solve(Xc.T @ Xc + 40 * alpha / 2 * np.eye(3), Xc.T @ yc)
    np.testing.assert_allclose(formula, w, rtol=1e-10)
    wrong = np.linalg.solve(Xc.T @ Xc + 40 * alpha * np.eye(3), Xc.T @ yc)
    assert np.max(np.abs(wrong - w)) > 1e-3


def test_standardise_before_ridge(gen):
    """Least squares ignores the unit, ridge does not, standardised ridge does not again."""
    assert gen["units_ls"] < 1e-8 and gen["units_standardised"] < 1e-8
    # "about the standard deviation of the yields themselves"
    assert 0.5 < gen["units_ridge"] / gen["units_target_std"] < 2
    # "measured in metres, the rainfall was almost penalised out of the model"
    assert gen["units_rain_m"] < gen["units_rain_mm"] / 50
    assert gen["units_rain_mm"] == pytest.approx(gen["units_rain_ls"], rel=0.01)


def test_a_penalised_bias_moves_by_ten_over_one_and_a_half(gen):
    assert gen["bias_shift_free_error"] < 1e-10
    assert gen["bias_shift_penalised"] == pytest.approx(10 / (1 + 1.0 / 2), rel=1e-10)
    assert gen["bias_shift_spread"] < 1e-10


def test_bias_variance(gen):
    """The decomposition holds on fresh targets; variance falls, bias^2 rises, best inside."""
    assert gen["bv_var_falls"] is True and gen["bv_bias2_positive"] is True
    assert gen["bv_var_first"] > 10 * gen["bv_var_last"]
    assert gen["bv_bias2_small"] < 0.01 < 0.1 < gen["bv_bias2_last"]
    assert gen["bv_best_inside"] is True and gen["bv_best_total"] > 0.04
    assert gen["bv_max_z"] < 3
    assert gen["bv_miss_ends"] > 3 * gen["bv_miss_inner"]
    assert gen["bv_alpha_min"] == pytest.approx(1e-5) and gen["bv_alpha_max"] == 1.0


def test_early_stopping_is_ridge_like(gen):
    assert gen["es_loop_error"] < 1e-8  # the spectral filter is the loop's iterate
    assert gen["es_train_falls"] is True
    assert 1 < gen["es_best_k"] < 1e9
    # "close to the best penalty found above"
    assert 1 / 3 < gen["es_alpha_equivalent"] / gen["best_alpha"] < 3
    assert gen["es_alpha_equivalent"] * gen["es_best_k"] > 0
    assert gen["es_last_validation"] > 5 * gen["es_best_validation"]
    # "reaches ... above the ... of the first step"
    assert gen["es_max_after"] > gen["es_first_validation"] > gen["es_best_validation"]
    assert gen["es_best_k"] < gen["es_k_max_after"] <= 1e9
    assert gen["es_ridge_correlation"] > 0.8  # "follow those of ridge"
    assert gen["es_ridge_best_validation"] == gen["ridge_val_best"]
    # "the two filters differ by at most 0.20": max of (1 - e^-x) - x / (1 + x)
    x = np.logspace(-4, 4, 200_001)
    gap = np.max(np.abs((1 - np.exp(-x)) - x / (1 + x)))
    assert gen["es_filter_gap"] == pytest.approx(gap, rel=1e-3)


# --------------------------------------------------------------------------- SGD


def test_sgd_rates_with_decreasing_and_constant_steps(bey):
    assert -1.15 < bey["rate_slope_good"] < -0.9  # the 1/k of the theorem
    # eta_0 t_0 = 0.2 / mu: slope between -2 eta_0 t_0 L and -2 eta_0 t_0 mu
    assert bey["rate_c_small_mu"] == pytest.approx(0.4)
    assert bey["rate_c_small_L"] == pytest.approx(0.4 * bey["rate_L"] / bey["rate_mu"])
    assert -bey["rate_c_small_L"] - 0.02 < bey["rate_slope_small"] < -bey["rate_c_small_mu"]
    assert bey["rate_final_good"] < bey["rate_floor_0005"] < bey["rate_floor_002"]
    # floors proportional to eta: rates 4 apart, floors about 4 apart
    assert 3.5 < bey["rate_floor_ratio"] < 5
    assert bey["rate_floor_ratio"] == pytest.approx(bey["rate_floor_002"] / bey["rate_floor_0005"])
    for eta in ("002", "0005"):  # the first-order prediction is "a little low"
        ratio = bey[f"rate_floor_{eta}"] / bey[f"rate_floor_pred_{eta}"]
        assert 1 < ratio < 1.25
    assert bey["rate_floor_pred_002"] == pytest.approx(4 * bey["rate_floor_pred_0005"])


def test_averaging_beats_the_last_iterate(bey):
    assert bey["avg_last"] == bey["rate_floor_002"]
    assert bey["avg_gain"] > 100
    assert bey["avg_gain"] == pytest.approx(bey["avg_last"] / bey["avg_final"])
    assert -1.15 < bey["avg_slope"] < -0.85
    for final in (bey["avg_final"], bey["avg_final_0005"]):  # "hardly matters any more"
        assert final == pytest.approx(bey["avg_predicted"], rel=0.3)
    assert bey["avg_m"] == 19_000


def test_reshuffling_against_replacement(bey):
    assert bey["rr_etanL_small"] < bey["rr_etanL_third"] <= 1.1 < 10 < bey["rr_etanL_large"]
    assert bey["rr_gain_small"] > 10
    assert 0.8 < bey["rr_gain_large"] < 1.25  # "within a factor" of each other
    assert 0.8 < bey["wr_slope"] < 1.2  # eta
    assert 2.5 < bey["rr_slope"] < 3.5  # "roughly eta^3"


# --------------------------------------------------------------------------- heavy ball


def _block_radius(eta_lambda: np.ndarray, beta: np.ndarray) -> np.ndarray:
    half = (1 + beta - eta_lambda) / 2
    root = np.sqrt(half.astype(complex) ** 2 - beta)
    return np.maximum(np.abs(half + root), np.abs(half - root))


def test_polyak_parameters_are_derived_and_optimal(bey):
    r = (math.sqrt(50) - 1) / (math.sqrt(50) + 1)
    assert bey["hb_r_polyak"] == pytest.approx(r, rel=1e-12)
    assert bey["hb_eta_polyak"] == pytest.approx(4 / (math.sqrt(50) + 1) ** 2, rel=1e-12)
    assert bey["hb_beta_polyak"] == pytest.approx(r**2, rel=1e-12)
    assert bey["hb_radius_polyak"] == pytest.approx(r, abs=1e-6)
    assert r - 1e-9 <= bey["hb_grid_best"] <= 1.01 * r
    assert bey["hb_grid_best_eta"] == pytest.approx(bey["hb_eta_polyak"], rel=0.05)
    assert bey["hb_grid_best_beta"] == pytest.approx(bey["hb_beta_polyak"], rel=0.05)
    # the run's rate: r times (400/200)^(1/200) from the double roots
    assert bey["hb_run_polyak"] / r == pytest.approx(2 ** (1 / 200), abs=1e-3)
    assert bey["hb_radius_08"] == pytest.approx(math.sqrt(0.8), rel=1e-9)
    assert bey["hb_run_08"] == pytest.approx(bey["hb_radius_08"], rel=1e-3)
    assert bey["hb_gd_rate"] == pytest.approx(49 / 51)
    # independently, for another condition number: nothing on a grid beats (sqrt k-1)/(sqrt k+1)
    kappa = 10.0
    etas, betas = np.meshgrid(np.linspace(0.01, 0.4, 300), np.linspace(0, 0.99, 300))
    radius = np.maximum(_block_radius(etas * 1.0, betas), _block_radius(etas * kappa, betas))
    r10 = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    assert r10 - 1e-9 <= radius.min() <= 1.02 * r10
    polyak = _block_radius(
        np.array([4 / (1 + math.sqrt(kappa)) ** 2 * lam for lam in (1.0, 3.0, kappa)]),
        np.array(r10**2),
    )
    np.testing.assert_allclose(polyak, r10, rtol=1e-6)  # every eigenvalue in between too


def test_effective_step(bey):
    assert bey["eff_velocity_error"] < 1e-12
    assert bey["eff_v100_ratio"] == pytest.approx((1 - 0.9**100) / 0.1, rel=1e-12)
    assert bey["eff_gd_4"] == pytest.approx(1 - 1e-4 / 0.1)
    assert bey["eff_gd_3"] == pytest.approx(1 - 1e-3 / 0.1)
    # 1 - rho against eta lambda / (1 - beta): 1% apart at 1e-4, "a little off" at 1e-3
    off_4 = (1 - bey["eff_root_4"]) / (1 - bey["eff_gd_4"]) - 1
    off_3 = (1 - bey["eff_root_3"]) / (1 - bey["eff_gd_3"]) - 1
    assert abs(off_4) < 0.02 < 0.05 < abs(off_3) < 0.2


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("page", "phrases"),
    [
        (
            "generalisation",
            [
                "The closed form, in the book",
                "Standardise before ridge",
                "Bias and variance",
                "Early stopping is a regulariser too",
            ],
        ),
        (
            "beyond",
            [
                "How fast SGD converges",
                "Averaging the iterates",
                "Reshuffling against sampling with replacement",
                "Polyak",
                "The effective learning rate",
            ],
        ),
    ],
)
def test_the_sections_render_with_their_numbers(site, page, phrases):
    text = _html_text(site, page)
    for phrase in phrases:
        assert phrase in text
    assert "glue:text" not in text and " nan " not in text.lower()
