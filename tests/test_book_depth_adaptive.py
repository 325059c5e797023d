"""The depth sections of issue 18 in the adaptive chapter, checked against their own numbers.

AdaGrad and RMSProp before Adam, Reddi et al.'s example where Adam does not converge and
AMSGrad's fix, and Adam against SGD and momentum on mini-batches (``adaptive``). The page glues
the numbers its sentences state; these tests read them back from the built book and check that
every sentence is true, recomputing here, with code of their own, what is cheap to recompute.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import built_site
import numpy as np
import pytest

from gdcourse import datasets, optimizers

pytestmark = pytest.mark.usefixtures("site_reader")


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site.build()


_glued = built_site.glued


@pytest.fixture(scope="module")
def v(site: Path) -> dict[str, Any]:
    return _glued("adaptive")


@pytest.fixture(scope="module")
def text(site: Path) -> str:
    """The page's text, tags dropped, with Sphinx's typographic apostrophes made plain."""
    html = (site / "adaptive.html").read_text(encoding="utf-8")
    plain = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))
    return plain.replace("\u2019", "'").replace("&#8217;", "'")


def _floats(value: Any) -> list[float]:
    return [float(part) for part in str(value).split(",") if part]


def _correlated(noise: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The page's data: beyond.md's correlated draw, with a column of ones."""
    X, y = datasets.synthetic_linear(
        np.random.default_rng(0),
        n_samples=1000,
        weights=[2.0, -1.0],
        bias=0.5,
        noise=noise,
        correlation=0.9,
    )
    return np.column_stack([X, np.ones(len(y))]), y


# --------------------------------------------------------------------------- the lineage


def test_adagrad_and_rmsprop_make_torchs_steps_and_rmsprops_first_step_is_large(v, text):
    """RMSProp's uncorrected s makes its first step eta / sqrt(1 - beta2) = 10 eta."""
    import torch

    assert v["lineage_torch"] < 1e-12
    assert v["adagrad_first_step"] == pytest.approx(1.0, abs=1e-6)
    assert v["rmsprop_first_step"] == pytest.approx(1 / math.sqrt(1 - 0.99), rel=1e-6)
    assert v["rmsprop_first_step_min"] == pytest.approx(10.0, rel=1e-6)
    # PyTorch's own RMSprop, on a gradient of any size
    p = torch.tensor([1.0, -2.0], dtype=torch.float64)
    optimizer = torch.optim.RMSprop([p], lr=0.01)
    p.grad = torch.tensor([0.5, 40.0], dtype=torch.float64)
    optimizer.step()
    np.testing.assert_allclose(np.abs(p.numpy() - [1.0, -2.0]), 0.1, rtol=1e-6)
    assert "AdaGrad's first step moves each coordinate by 1.00" in text
    assert "RMSProp's by 10.00" in text


def _adagrad_minibatch(eta: float, epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """AdaGrad (eps = 1e-10) on the page's problem, seed 0, B = 32, written out here."""
    X1, y = _correlated()
    best = np.mean((X1 @ np.linalg.lstsq(X1, y, rcond=None)[0] - y) ** 2)
    rng = np.random.default_rng(0)
    theta, s = np.zeros(3), np.zeros(3)
    rates, gaps = [], [np.mean((X1 @ theta - y) ** 2) - best]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), 32):
            rows = order[start : start + 32]
            g = 2 * X1[rows].T @ (X1[rows] @ theta - y[rows]) / len(rows)
            s = s + g * g
            rate = eta / (np.sqrt(s) + 1e-10)
            theta = theta - rate * g
            rates.append(rate[0])
        gaps.append(np.mean((X1 @ theta - y) ** 2) - best)
    return np.array(rates), np.array(gaps)


def test_adagrads_rate_falls_like_one_over_root_k_and_the_others_level_off(v, text):
    """AdaGrad's sum never forgets: its rate falls by about 1/sqrt(2) from K/2 to K and its gap
    keeps falling; RMSProp and Adam keep a level rate and stay at a noise floor."""
    for key in ("adagrad", "rmsprop", "adam"):
        assert v[f"lin_{key}_inside"] is True, key
        assert v[f"lin_{key}_n_updates"] == 200 * 32  # 200 epochs of ceil(1000 / 32) batches
    assert abs(v["lin_adagrad_half"] - 1 / math.sqrt(2)) < 0.03
    assert v["lin_adagrad_quarters"] < 0.75
    for key in ("rmsprop", "adam"):
        assert 0.8 < v[f"lin_{key}_quarters"] < 1.25, key
    # the same run, written out here: the same rates and gaps
    rates, gaps = _adagrad_minibatch(v["lin_adagrad_eta"], 200)
    assert rates[-1] / rates[len(rates) // 2 - 1] == pytest.approx(v["lin_adagrad_half"])
    assert gaps[191:].mean() == pytest.approx(v["lin_adagrad_gap200"], rel=1e-9)
    assert rates[999] * math.sqrt(1000) < rates[-1] * math.sqrt(len(rates)), (
        "in the first thousand updates the rate falls more slowly than 1/sqrt(k)"
    )
    # AdaGrad keeps falling, the other two stay at their floors
    assert v["lin_adagrad_gap200"] < v["lin_adagrad_gap20"] / 5
    factors = [v[f"lin_{key}_gap20"] / v[f"lin_{key}_gap200"] for key in ("rmsprop", "adam")]
    assert v["lin_floor_factor"] == pytest.approx(max(factors))
    assert v["lin_floor_factor"] < 2
    assert v["lin_adagrad_gap200"] < min(v["lin_rmsprop_gap200"], v["lin_adam_gap200"])
    assert f"falls by the factor {v['lin_adagrad_half']:.2f}" in text


# --------------------------------------------------------------------------- AMSGrad


def _projected(big: float, small: float, period: int, steps: int, betas: Any, ams: bool):
    """Reddi et al.'s form, without bias correction: x_0 = 0, eta_k = 0.5 / sqrt(k + 1)."""
    beta1, beta2 = betas
    x, m, s, s_max, path = 0.0, 0.0, 0.0, 0.0, [0.0]
    for k in range(steps):
        g = big if k % period == 0 else small
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g * g
        s_max = max(s_max, s)
        x = x - 0.5 / math.sqrt(k + 1) * m / (math.sqrt(s_max if ams else s) + 1e-8)
        x = min(1.0, max(-1.0, x))
        path.append(x)
    return np.array(path)


def test_adam_goes_to_the_worst_point_and_amsgrad_to_the_best(v, text):
    """Theorem 1 of Reddi et al. (C = 3, beta1 = 0, beta2 = 1 / (1 + C^2)) and their
    experiment's sequence: Adam ends at +1, AMSGrad at -1; the defaults need a rarer gradient."""
    assert v["ams_torch"] < 1e-12
    assert v["ams_theorem_worst_regret"] == pytest.approx(2 * (3 - 2) / 3)
    for key in ("theorem", "experiment", "rare"):
        assert v[f"ams_{key}_adam_x"] > 0.95, key
    assert v["ams_theorem_amsgrad_x"] < -0.95 and v["ams_experiment_amsgrad_x"] < -0.9
    assert v["ams_defaults_adam_x"] < 0 and v["ams_defaults_amsgrad_x"] < 0, "not fooled"
    # AMSGrad on the rare sequence: on the side of the minimum, moving slowly towards it
    assert -1 < v["ams_rare_amsgrad_x"] < v["ams_rare_amsgrad_x_half"] < -0.5
    assert v["ams_rare_amsgrad_x_half"] - v["ams_rare_amsgrad_x"] < 0.05
    assert abs(v["ams_theorem_adam_regret"] - v["ams_theorem_worst_regret"]) < 0.02
    assert v["ams_theorem_amsgrad_regret"] < 0.05
    # the paper's own form (no bias correction), written out here: where Adam ends at +1 it
    # still does, and AMSGrad still ends below 0
    for big, small, period, steps, betas in [
        (3.0, -1.0, 3, 3000, (0.0, 1 / (1 + 3.0**2))),
        (1010.0, -10.0, 101, 20_000, (0.9, 0.99)),
        (10010.0, -10.0, 1001, 100_000, (0.9, 0.999)),
    ]:
        adam = _projected(big, small, period, steps, betas, ams=False)[-period:].mean()
        amsgrad = _projected(big, small, period, steps, betas, ams=True)[-period:].mean()
        assert adam > 0.95 and amsgrad < 0, (big, period, adam, amsgrad)
    # the guarantee is stated for what the paper proves, and no more
    assert "in the online convex setting" in text
    assert "It says nothing about the non-convex losses of neural networks" in text
    assert "Tran and Phong, 2019" in text


# --------------------------------------------------------------------------- mini-batches


def _minibatch_score(eta: float, seeds: range, noise: float = 0.5) -> float:
    """SGD by the library's minibatch_sgd (the page's loop): gap over the last five epochs."""
    X1, y = _correlated(noise)
    best = np.mean((X1 @ np.linalg.lstsq(X1, y, rcond=None)[0] - y) ** 2)
    scores = []
    for seed in seeds:
        fit = optimizers.minibatch_sgd(
            X1[:, :2],
            y,
            learning_rate=eta,
            batch_size=32,
            epochs=20,
            rng=np.random.default_rng(seed),
        )
        scores.append(np.mean(fit.epoch_losses[-5:] - best))
    return float(np.mean(scores))


def test_best_rates_are_inside_the_grid_over_several_seeds(v, text):
    """Issue 18's item 3 is a best rate on a grid's edge: here every best rate is interior,
    every failed rate is listed, and SGD's numbers are recomputed by the library's loop."""
    grid = _floats(v["mb_grid"])
    assert (grid[0], grid[-1]) == (v["mb_grid_min"], v["mb_grid_max"])
    assert v["mb_n_seeds"] == 5
    seeds = range(int(v["mb_n_seeds"]))
    for key in ("sgd", "momentum", "adam", "adagrad", "rmsprop"):
        eta = v[f"mb_{key}_eta"]
        assert v[f"mb_{key}_inside"] is True and 0 < grid.index(eta) < len(grid) - 1, key
        failed = _floats(v[f"mb_{key}_failed"])
        assert failed == grid[len(grid) - len(failed) :], f"{key}: every larger rate failed too"
        assert eta < v[f"mb_{key}_failed_from"], key
        means = _floats(v[f"mb_{key}_means"])
        assert means[grid.index(eta)] == pytest.approx(v[f"mb_{key}_gap"]) == min(means)
        assert v[f"mb_{key}_gap_min"] <= v[f"mb_{key}_gap"] <= v[f"mb_{key}_gap_max"]
    for key in ("sgd", "momentum", "adam"):  # right of the minimum, a larger rate ends higher
        means = _floats(v[f"mb_{key}_means"])
        right = [m for m in means[grid.index(v[f"mb_{key}_eta"]) :] if math.isfinite(m)]
        assert right == sorted(right), key
    # SGD's best score and its two neighbours, by gdcourse.optimizers.minibatch_sgd
    index = grid.index(v["mb_sgd_eta"])
    at_best = _minibatch_score(grid[index], seeds)
    assert at_best == pytest.approx(v["mb_sgd_gap"], rel=1e-9)
    assert at_best < _minibatch_score(grid[index - 1], seeds)
    assert at_best < _minibatch_score(grid[index + 1], seeds)
    assert "Every best rate lies inside the grid" in text
    # "from 0.005 for SGD with momentum to 0.2 for AdaGrad": the smallest and largest best rates
    etas = {key: v[f"mb_{key}_eta"] for key in ("sgd", "momentum", "adam", "adagrad", "rmsprop")}
    assert min(etas, key=etas.get) == "momentum" and max(etas, key=etas.get) == "adagrad"
    assert f"from {etas['momentum']:g} for SGD with momentum to {etas['adagrad']:g} for" in text


def test_no_winner_is_claimed_that_the_seeds_do_not_support(v, text):
    """The comparison says what five seeds can say: the spread, the lowest, the overlap."""
    names = {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam"}
    means = {key: v[f"mb_{key}_gap"] for key in names}
    assert v["mb_lowest"] == names[min(means, key=means.get)] == "SGD with momentum"
    assert "SGD with momentum lowest on average" in text
    assert v["mb_spread"] == pytest.approx(max(means.values()) / min(means.values()))
    overlap = max(v[f"mb_{key}_gap_min"] for key in names) < min(
        v[f"mb_{key}_gap_max"] for key in names
    )
    assert v["mb_ranges_overlap"] is overlap is True
    assert v["mb_spread"] < 5
    assert f"within a factor of {v['mb_spread']:.1f} of each other" in text
    # momentum's effective step eta / (1 - beta) equals SGD's best rate
    assert v["mb_momentum_effective"] == pytest.approx(v["mb_sgd_eta"])
    assert v["mb_momentum_eta"] == pytest.approx(v["mb_sgd_eta"] * (1 - 0.9))
    # at the best rate of 20 epochs the gaps still fall a little at the end
    assert 1 <= v["mb_level_min"] <= v["mb_level_max"] < 2.5


def test_adams_steps_near_the_minimum_keep_their_size_whatever_the_noise(v, text):
    """SGD steps by eta times the noise; RMSProp's and Adam's steps are a fraction of eta set
    by neither the gradient nor its noise."""
    assert v["noise_same_inputs"] is True
    assert v["noise_sgd_growth"] == pytest.approx(10, rel=0.05)
    assert 0.9 < v["noise_rmsprop_growth"] < 1.2
    assert 0.8 < v["noise_rmsprop_step"] < 1.1, "g / sqrt(s) has a root mean square close to 1"
    assert v["noise_adam_growth"] < 2
    assert v["noise_adam_step"] < v["noise_rmsprop_step"]
    for key in ("sgd", "rmsprop", "adam"):
        growth = v[f"noise_{key}_growth"]
        assert growth == pytest.approx(v[f"noise_{key}_step_10"] / v[f"noise_{key}_step"])
    assert f"SGD's steps grow by a factor of {v['noise_sgd_growth']:.1f}" in text


def test_the_new_sources_are_in_the_references(site):
    references = (site / "references.html").read_text(encoding="utf-8")
    for needle in ("Duchi", "Tieleman", "Reddi", "Phong"):
        assert needle in references, needle
