"""The course's data sets: values, shapes, dtypes and provenance."""

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from gdcourse import datasets


def test_thermometer_is_the_seed_data():
    x, y = datasets.thermometer()
    assert x.dtype == np.float64 and x.shape == (11,) and y.shape == (11,)
    assert_array_equal(x[:3], [35.7, 55.9, 58.2])
    assert_array_equal(y[-3:], [6.0, 13.0, 21.0])
    assert "Deep Learning with PyTorch" in datasets.thermometer.__doc__


def test_crop_yields_shape_and_provenance():
    X, Y = datasets.crop_yields()
    assert X.shape == (15, 3) and Y.shape == (15, 2) and X.dtype == np.float64
    assert_array_equal(X[0], [73, 67, 43])
    assert_array_equal(Y[-1], [102, 120])
    assert "Aakash" in datasets.crop_yields.__doc__


def test_torch_backend_and_dtypes():
    x, _ = datasets.thermometer(backend="torch")
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float32
    X, _ = datasets.crop_yields(backend="torch", dtype=torch.float64)
    assert X.dtype == torch.float64 and tuple(X.shape) == (15, 3)
    x32, _ = datasets.thermometer(dtype=np.float32)
    assert x32.dtype == np.float32


def test_loaders_return_fresh_arrays():
    x, _ = datasets.thermometer()
    x[0] = -1000.0
    assert datasets.thermometer().inputs[0] == 35.7


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend must be 'numpy' or 'torch', got 'jax'"):
        datasets.thermometer(backend="jax")  # type: ignore[arg-type]


def test_synthetic_linear_is_reproducible_and_linear():
    a = datasets.synthetic_linear(
        np.random.default_rng(5), n_samples=500, weights=[3.0, -2.0], bias=0.5, noise=0.0
    )
    b = datasets.synthetic_linear(
        np.random.default_rng(5), n_samples=500, weights=[3.0, -2.0], bias=0.5, noise=0.0
    )
    assert_array_equal(a.inputs, b.inputs)
    np.testing.assert_allclose(a.targets, a.inputs @ [3.0, -2.0] + 0.5)
    noisy = datasets.synthetic_linear(np.random.default_rng(5), n_samples=2000, noise=0.5)
    residual = noisy.targets - (noisy.inputs[:, 0] * 2.0 + 1.0)
    assert 0.45 < residual.std() < 0.55


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_samples": 0}, "n_samples must be an integer >= 1, got 0"),
        ({"noise": -1.0}, "noise must be >= 0, got -1.0"),
        ({"input_scale": 0.0}, "input_scale must be > 0, got 0.0"),
    ],
)
def test_synthetic_linear_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.synthetic_linear(np.random.default_rng(0), **kwargs)


def test_synthetic_linear_needs_a_generator():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        datasets.synthetic_linear(0)  # type: ignore[arg-type]


def test_train_validation_split_is_a_partition():
    x = np.arange(20.0)
    y = 3 * x
    train, validation = datasets.train_validation_split(
        x, y, validation_fraction=0.25, rng=np.random.default_rng(1)
    )
    assert len(validation.inputs) == 5 and len(train.inputs) == 15
    assert sorted([*train.inputs, *validation.inputs]) == list(x)
    assert np.all(train.targets == 3 * train.inputs)
    assert np.all(validation.targets == 3 * validation.inputs)
    again = datasets.train_validation_split(
        x, y, validation_fraction=0.25, rng=np.random.default_rng(1)
    )
    assert np.array_equal(again[1].inputs, validation.inputs), "same generator, same split"
    other = datasets.train_validation_split(
        x, y, validation_fraction=0.25, rng=np.random.default_rng(2)
    )
    assert not np.array_equal(other[1].inputs, validation.inputs)


def test_train_validation_split_keeps_rows_together_and_at_least_one_each_side():
    X, Y = datasets.crop_yields()
    train, validation = datasets.train_validation_split(
        X, Y, validation_fraction=0.01, rng=np.random.default_rng(0)
    )
    assert validation.inputs.shape == (1, 3) and validation.targets.shape == (1, 2)
    row = np.flatnonzero((validation.inputs[0] == X).all(axis=1))[0]
    assert np.array_equal(Y[row], validation.targets[0])
    train, validation = datasets.train_validation_split(
        X, Y, validation_fraction=0.99, rng=np.random.default_rng(0)
    )
    assert len(train.inputs) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"validation_fraction": 0.0}, r"validation_fraction must be in \(0, 1\)"),
        ({"validation_fraction": 1.0}, r"validation_fraction must be in \(0, 1\)"),
    ],
)
def test_train_validation_split_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.train_validation_split(
            np.arange(5.0), np.arange(5.0), rng=np.random.default_rng(0), **kwargs
        )
    with pytest.raises(ValueError, match="same number of rows"):
        datasets.train_validation_split(
            np.arange(5.0), np.arange(4.0), validation_fraction=0.2, rng=np.random.default_rng(0)
        )


def test_polynomial_features():
    features = datasets.polynomial_features(np.array([2.0, -0.5]), 4)
    assert np.array_equal(features, [[2, 4, 8, 16], [-0.5, 0.25, -0.125, 0.0625]])
    with pytest.raises(ValueError, match="degree must be an integer >= 1"):
        datasets.polynomial_features([1.0], 0)


def test_synthetic_curve_is_a_noisy_sine():
    x, y = datasets.synthetic_curve(np.random.default_rng(0), n_samples=2000, noise=0.2)
    assert x.min() >= -1 and x.max() <= 1
    residual = y - np.sin(np.pi * x)
    assert abs(residual.mean()) < 0.02
    assert abs(residual.std() - 0.2) < 0.01
    clean = datasets.synthetic_curve(np.random.default_rng(0), n_samples=5, noise=0.0)
    assert np.allclose(clean.targets, np.sin(np.pi * clean.inputs))
    with pytest.raises(ValueError, match="noise must be >= 0"):
        datasets.synthetic_curve(np.random.default_rng(0), noise=-1.0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        datasets.synthetic_curve(0)  # type: ignore[arg-type]


def test_synthetic_linear_correlated_inputs():
    """Correlation keeps each column standardised and makes the problem ill-conditioned."""
    rng = np.random.default_rng(0)
    X, y = datasets.synthetic_linear(
        rng, n_samples=50_000, weights=[2.0, -1.0], bias=0.5, noise=0.0, correlation=0.9
    )
    assert np.allclose(X.std(axis=0), 1.0, atol=0.02)
    assert abs(np.corrcoef(X.T)[0, 1] - 0.9) < 0.01
    assert np.allclose(y, X @ [2.0, -1.0] + 0.5)
    eigenvalues = np.linalg.eigvalsh(np.cov(X.T))
    assert eigenvalues[-1] / eigenvalues[0] == pytest.approx(19.0, rel=0.05)
    plain = datasets.synthetic_linear(np.random.default_rng(3), n_samples=4, weights=[1.0, 1.0])
    zero = datasets.synthetic_linear(
        np.random.default_rng(3), n_samples=4, weights=[1.0, 1.0], correlation=0.0
    )
    assert np.array_equal(plain.inputs, zero.inputs)
    with pytest.raises(ValueError, match=r"correlation must be in \(-0.5, 1\)"):
        datasets.synthetic_linear(rng, weights=[1.0, 1.0, 1.0], correlation=-0.6)


def test_synthetic_classes_follow_the_logistic_model():
    """Labels are 0/1, drawn with probability sigma(Xw + b): the frequency in a bin matches."""
    X, y = datasets.synthetic_classes(
        np.random.default_rng(1), n_samples=40_000, weights=[1.5], bias=-0.5
    )
    assert set(np.unique(y)) == {0.0, 1.0}
    near_zero = np.abs(1.5 * X[:, 0] - 0.5) < 0.05  # sigma about 1/2 there
    assert abs(y[near_zero].mean() - 0.5) < 0.05
    high = 1.5 * X[:, 0] - 0.5 > 2.0  # sigma(z) > 0.88 there
    assert y[high].mean() > 0.88
    X2, y2 = datasets.synthetic_classes(
        np.random.default_rng(1), n_samples=40_000, weights=[1.5], bias=-0.5
    )
    assert np.array_equal(X, X2) and np.array_equal(y, y2)


def test_synthetic_classes_separable_and_bad_input():
    X, y = datasets.synthetic_classes(np.random.default_rng(0), n_samples=30, separable=True)
    assert np.array_equal(y == 1.0, X @ [2.0, -1.0] + 0.5 > 0)
    with pytest.raises(TypeError, match="separable"):
        datasets.synthetic_classes(np.random.default_rng(0), separable=1)
    with pytest.raises(TypeError, match="rng"):
        datasets.synthetic_classes(0)
