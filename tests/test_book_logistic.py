"""Every quantitative sentence of the chapter *Logistic regression*, checked.

The page glues what its prose states from its own code at build time; these tests read those
values back from the built book and check that the sentences around them are true (a bound is
a bound, a rate is quadratic, a "larger" is larger), recompute the key numbers independently
from the course's data set, and check that the built page shows them.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from pathlib import Path
from typing import Any

import built_site
import numpy as np
import pytest
import torch

from gdcourse import datasets

PAGE = "logistic-regression"

pytestmark = pytest.mark.usefixtures("site_reader")


@pytest.fixture(scope="module")
def site() -> Path:
    return built_site.build()


@pytest.fixture(scope="module")
def glued(site: Path) -> dict[str, Any]:
    """The values the page glued, as computed by its own code at build time."""
    return built_site.glued(PAGE)


@pytest.fixture(scope="module")
def prose(site: Path) -> str:
    """The page's text outside code, outputs and typeset maths, whitespace collapsed."""
    text = (site / f"{PAGE}.html").read_text(encoding="utf-8")
    text = re.sub(r"<(pre|script|style)\b.*?</\1>", " ", text, flags=re.DOTALL)
    text = re.sub(r'<span class="math[^"]*">.*?</span>', " ", text, flags=re.DOTALL)
    text = re.sub(r'<div class="math[^"]*">.*?</div>', " ", text, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The page's training and validation sets, drawn again."""
    X_all, y_all = datasets.synthetic_classes(np.random.default_rng(0), n_samples=400)
    train, validation = datasets.train_validation_split(
        X_all, y_all, validation_fraction=0.25, rng=np.random.default_rng(1)
    )
    return train.inputs, train.targets, validation.inputs, validation.targets


def _newton(X1: np.ndarray, y: np.ndarray, steps: int = 10) -> np.ndarray:
    theta = np.zeros(X1.shape[1])
    for _ in range(steps):
        p = 0.5 * (1 + np.tanh(0.5 * (X1 @ theta)))
        hessian = X1.T @ (X1 * (p * (1 - p))[:, None]) / len(y)
        theta = theta - np.linalg.solve(hessian, X1.T @ (p - y) / len(y))
    return theta


def test_the_page_shows_every_glued_number(prose: str, site: Path) -> None:
    """No glue role is left unrendered, and the sentences show the values they claim."""
    page = (site / f"{PAGE}.html").read_text(encoding="utf-8")
    assert "{glue" not in page and "glue:text" not in page
    assert "The training set has 300 observations" in prose
    assert "the validation set has 100" in prose
    assert "no minimiser" in prose.lower()
    assert page.count("<img") >= 4
    assert all(alt.strip() for alt in re.findall(r'<img[^>]*alt="([^"]*)"', page))


def test_sigmoid_forms(glued: dict[str, Any], prose: str) -> None:
    """e^o/(1+e^o) is nan at 800, 1 - sigmoid(-o) is 0 at -40, the stable form is not."""
    assert glued["lg_overflow_nan"] is True
    assert glued["lg_cancel_zero"] == 0.0
    assert glued["lg_sigmoid_m40"] == pytest.approx(math.exp(-40) / (1 + math.exp(-40)), rel=1e-12)
    assert f"where the sigmoid is {glued['lg_sigmoid_m40']:.3e}" in prose
    assert glued["lg_exp_overflow"] == pytest.approx(709.78, abs=0.01)
    with np.errstate(over="ignore"):
        assert np.isinf(np.exp(glued["lg_exp_overflow"] + 0.01))
        assert np.isfinite(np.exp(glued["lg_exp_overflow"] - 0.01))
    assert f"{glued['lg_exp_overflow']:.1f} (the logarithm of the largest float64)" in prose


def test_gradient_and_smoothness_bound(glued: dict[str, Any]) -> None:
    """The hand gradient agrees with autograd; L is lambda_max / (4n) and bounds the Hessian."""
    assert glued["lg_autograd_error"] < 1e-13
    assert glued["lg_loss_error"] < 1e-13
    X, y, _, _ = _data()
    assert glued["lg_n"] == len(y) == 300
    assert glued["lg_ones"] == pytest.approx(y.mean())
    X1 = np.column_stack([X, np.ones(len(y))])
    L = np.linalg.eigvalsh(X1.T @ X1)[-1] / (4 * len(y))
    assert glued["lg_L"] == pytest.approx(L, rel=1e-12)
    assert 0 < glued["lg_hessian_min"] <= glued["lg_hessian_max"] <= glued["lg_L"]


def test_separable_data_has_no_minimiser(glued: dict[str, Any], prose: str) -> None:
    """||w_k|| doubles or more per tenfold steps, the loss falls towards 0 at every step, and the
    penalty gives a finite minimiser."""
    checkpoints = [10, 100, 1000, 10000]
    norms = [glued[f"lg_sep_norm_{k}"] for k in checkpoints]
    losses = [glued[f"lg_sep_loss_{k}"] for k in checkpoints]
    assert all(later >= 2 * earlier for earlier, later in itertools.pairwise(norms))
    assert "Every tenfold increase in steps doubles" in prose
    assert all(0 < later < earlier for earlier, later in itertools.pairwise(losses))
    assert losses[-1] < 0.02
    assert glued["lg_sep_monotone"] is True
    assert glued["lg_sep_ridge_grad"] < 1e-12
    assert glued["lg_sep_ridge_norm"] < norms[-1]
    # the data really are separable, by the line that drew them
    Xs, ys = datasets.synthetic_classes(np.random.default_rng(2), n_samples=200, separable=True)
    assert np.array_equal(Xs @ np.array([2.0, -1.0]) + 0.5 > 0, ys == 1)


def test_newton_damped_and_quadratic(glued: dict[str, Any], prose: str) -> None:
    """Pure Newton from (3, 3, 3) blows up; damped Newton converges with full steps after the
    first; near the optimum each gradient norm is at most C times the previous one squared."""
    assert glued["lg_pure_third"] > 1e100 > 10 > glued["lg_pure_start"]
    assert glued["lg_pure_singular"] is True
    assert glued["lg_damped_first"] < 1
    assert glued["lg_damped_full_after"] is True
    assert glued["lg_damped_converged"] is True
    assert glued["lg_irls_diff"] < 1e-12
    steps = int(glued["lg_newton_steps"])
    assert steps == 6  # the table has the columns 0 to 6 and the text says "steps 3 to 5"
    grads = [glued[f"lg_newton_grad_{k}"] for k in range(steps + 1)]
    assert grads[steps] < 1e-12 <= grads[steps - 1]
    ratios = [grads[k + 1] / grads[k] ** 2 for k in (2, 3, 4)]
    assert max(ratios) <= glued["lg_newton_ratio_max"] < 10
    assert glued["lg_newton_full_steps"] is True
    assert f"at most {glued['lg_newton_ratio_max']:.1f} times the square" in prose


def test_methods_on_the_scaled_data(glued: dict[str, Any]) -> None:
    """The table: GD stays above 1e-6 for 300 steps, the heavy ball and Adam get below it,
    Newton first; scaling raised the local condition number; standardised GD is quick."""
    steps = glued["lg_steps"]
    assert glued["lg_gd_never_below"] is True and glued["lg_gd_gap_end"] > 1e-6
    assert glued["lg_newton_below"] <= glued["lg_newton_steps"]
    assert glued["lg_newton_below"] < glued["lg_adam_below"] < steps
    assert glued["lg_newton_below"] < glued["lg_hb_below"] < steps
    assert glued["lg_hb_gap_end"] < 1e-6 and glued["lg_adam_gap_end"] < 1e-6
    assert glued["lg_gd_standard_below"] < glued["lg_hb_below"]
    # the condition numbers at the minimiser, recomputed
    X, y, _, _ = _data()
    for scale, name in (([1.0, 10.0], "lg_kappa_star"), ([1.0, 1.0], "lg_kappa_star_standard")):
        X1 = np.column_stack([X * scale, np.ones(len(y))])
        theta = _newton(X1, y)
        p = 0.5 * (1 + np.tanh(0.5 * (X1 @ theta)))
        eigenvalues = np.linalg.eigvalsh(X1.T @ (X1 * (p * (1 - p))[:, None]) / len(y))
        assert glued[name] == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-6)
    assert glued["lg_kappa_star"] > 50 * glued["lg_kappa_star_standard"]


def test_logits_not_probabilities(glued: dict[str, Any]) -> None:
    """BCEWithLogitsLoss charges a logit of 30 with label 0 its 30 and pushes with slope 1;
    sigmoid + BCELoss clamps at 100 with slope 0, and from a wrong start never learns."""
    threshold = glued["lg_float32_saturation"]
    assert 16 < threshold < 18  # "above about 17" in the ps8 notebook
    around = torch.tensor([threshold - 0.1, threshold], dtype=torch.float32)
    assert torch.sigmoid(around).tolist()[0] < 1 == torch.sigmoid(around).tolist()[1]
    assert glued["lg_bce_logits_loss"] == pytest.approx(30.0)
    assert glued["lg_bce_logits_grad"] == pytest.approx(1.0)
    assert glued["lg_bce_prob_loss"] == pytest.approx(100.0)
    assert glued["lg_bce_prob_grad"] == 0.0
    assert glued["lg_wrong_start_logits"] >= glued["lg_train_accuracy_best"] - 1e-9
    assert glued["lg_wrong_start_probabilities"] < 0.5


def test_boundary_and_validation_accuracy(glued: dict[str, Any]) -> None:
    """The fitted parameters estimate (2, -1, 0.5); the validation accuracy is recomputed."""
    X, y, X_validation, y_validation = _data()
    theta = _newton(np.column_stack([X, np.ones(len(y))]), y)
    assert [glued["lg_w1"], glued["lg_w2"], glued["lg_b"]] == pytest.approx(theta.tolist())
    assert np.abs(theta - [2.0, -1.0, 0.5]).max() < 0.5
    accuracy = np.mean((X_validation @ theta[:2] + theta[2] > 0) == y_validation)
    assert glued["lg_accuracy_validation"] == pytest.approx(accuracy)
    truth = np.mean((X_validation @ [2.0, -1.0] + 0.5 > 0) == y_validation)
    assert glued["lg_accuracy_truth"] == pytest.approx(truth)
    assert 0.5 < glued["lg_accuracy_validation"] < 1 and glued["lg_accuracy_truth"] < 1
    assert glued["lg_n_validation"] == len(y_validation) == 100
