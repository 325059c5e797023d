"""The course's data sets: small, shipped in code, float64 NumPy by default.

Every loader returns a :class:`Dataset` (a named pair ``inputs, targets`` that
unpacks like a tuple). Pass ``backend="torch"`` for ``torch.Tensor`` objects
(float32 unless ``dtype`` says otherwise), or convert later with :func:`to_torch`.

>>> x, y = thermometer()
>>> x.shape, y.shape, x.dtype
((11,), (11,), dtype('float64'))
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gdcourse import _checks

if TYPE_CHECKING:
    import torch

__all__ = [
    "Dataset",
    "crop_yields",
    "polynomial_features",
    "synthetic_classes",
    "synthetic_curve",
    "synthetic_linear",
    "thermometer",
    "to_torch",
    "train_validation_split",
]

Backend = Literal["numpy", "torch"]


class Dataset(NamedTuple):
    """Inputs and targets, one row (or element) per observation."""

    inputs: Any
    targets: Any


def to_torch(data: Dataset, dtype: torch.dtype | None = None) -> Dataset:
    """Return ``data`` as PyTorch tensors (float32 by default, the dtype of ``torch.nn``).

    >>> import torch
    >>> x, y = to_torch(thermometer())
    >>> x.dtype, tuple(y.shape)
    (torch.float32, (11,))
    """
    import torch

    dtype = torch.float32 if dtype is None else dtype
    return Dataset(
        torch.as_tensor(np.asarray(data.inputs), dtype=dtype),
        torch.as_tensor(np.asarray(data.targets), dtype=dtype),
    )


def _finish(data: Dataset, backend: Backend, dtype: Any) -> Dataset:
    if backend == "numpy":
        np_dtype = np.float64 if dtype is None else np.dtype(dtype)
        return Dataset(data.inputs.astype(np_dtype), data.targets.astype(np_dtype))
    if backend == "torch":
        return to_torch(data, dtype)
    raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")


# Stevens, Antiga and Viehmann, *Deep Learning with PyTorch* (Manning, 2020), chapter 5.
_THERMOMETER_UNKNOWN = [35.7, 55.9, 58.2, 81.9, 56.3, 48.9, 33.9, 21.8, 48.4, 60.4, 68.4]
_THERMOMETER_CELSIUS = [0.5, 14.0, 15.0, 28.0, 11.0, 8.0, 3.0, -4.0, 6.0, 13.0, 21.0]


def thermometer(*, backend: Backend = "numpy", dtype: Any = None) -> Dataset:
    """Readings of a thermometer with unknown units against temperatures in °C.

    Eleven pairs from chapter 5 of E. Stevens, L. Antiga and T. Viehmann,
    *Deep Learning with PyTorch* (Manning, 2020), the example the seed notebook
    uses. ``inputs`` are the readings in the unknown unit (``t_u`` in the book),
    ``targets`` the temperatures in degrees Celsius (``t_c``). The relation is
    close to linear, with measurement noise.

    >>> x, y = thermometer()
    >>> float(x[0]), float(y[0])
    (35.7, 0.5)
    """
    data = Dataset(np.array(_THERMOMETER_UNKNOWN), np.array(_THERMOMETER_CELSIUS))
    return _finish(data, backend, dtype)


# Yields of apples and oranges against temperature (°F), rainfall (mm) and humidity (%):
# the example of Aakash N. S., "PyTorch basics: linear regression from scratch" (Jovian /
# Kaggle, 2020), five regions repeated three times with small changes (15 observations).
_CROP_INPUTS = [
    [73, 67, 43], [91, 88, 64], [87, 134, 58], [102, 43, 37], [69, 96, 70],
    [74, 66, 43], [91, 87, 65], [88, 134, 59], [101, 44, 37], [68, 96, 71],
    [73, 66, 44], [92, 87, 64], [87, 135, 57], [103, 43, 36], [68, 97, 70],
]  # fmt: skip
_CROP_TARGETS = [
    [56, 70], [81, 101], [119, 133], [22, 37], [103, 119],
    [57, 69], [80, 102], [118, 132], [21, 38], [104, 118],
    [57, 69], [82, 100], [118, 134], [20, 38], [102, 120],
]  # fmt: skip


def crop_yields(*, backend: Backend = "numpy", dtype: Any = None) -> Dataset:
    """Crop yields of five regions, three variants each: 15 observations, 3 inputs, 2 targets.

    Inputs are temperature (°F), rainfall (mm) and humidity (%); targets the
    yields of apples and oranges (tons per hectare). From Aakash N. S.,
    "PyTorch basics: linear regression from scratch" (Jovian, 2020; also on
    Kaggle), the example of the seed notebook's last section. The values are
    invented for teaching.

    >>> X, Y = crop_yields()
    >>> X.shape, Y.shape
    ((15, 3), (15, 2))
    """
    data = Dataset(np.array(_CROP_INPUTS, dtype=float), np.array(_CROP_TARGETS, dtype=float))
    return _finish(data, backend, dtype)


def synthetic_linear(
    rng: np.random.Generator,
    *,
    n_samples: int = 100,
    weights: ArrayLike = (2.0,),
    bias: float = 1.0,
    noise: float = 0.5,
    input_scale: float = 1.0,
    correlation: float = 0.0,
    backend: Backend = "numpy",
    dtype: Any = None,
) -> Dataset:
    r"""Draw ``n_samples`` samples: :math:`y = Xw + b + \varepsilon`, noise ~ N(0, noise²).

    Inputs are normal with mean 0, standard deviation ``input_scale`` and the same
    ``correlation`` between every pair of columns, shape ``(n_samples, len(weights))``;
    targets have shape ``(n_samples,)``. Correlated inputs make an ill-conditioned
    least-squares problem even though every column is standardised: for two inputs the
    condition number of their covariance is :math:`(1 + \rho)/(1 - \rho)`. Everything
    random comes from ``rng``, and ``correlation=0`` draws exactly what earlier versions drew.

    >>> X, y = synthetic_linear(np.random.default_rng(0), n_samples=5, weights=[1.0, -1.0])
    >>> X.shape, y.shape
    ((5, 2), (5,))
    >>> X, _ = synthetic_linear(
    ...     np.random.default_rng(0), n_samples=20_000, weights=[1.0, -1.0], correlation=0.9)
    >>> round(float(np.corrcoef(X.T)[0, 1]), 2)
    0.9
    """
    _require_generator(rng)
    n = _checks.positive_int("n_samples", n_samples)
    w = _checks.finite_array("weights", weights, max_ndim=1).reshape(-1)
    b = _checks.real_number("bias", bias)
    sigma = _checks.real_number("noise", noise)
    if sigma < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    scale = _checks.positive_float("input_scale", input_scale)
    rho = _checks.real_number("correlation", correlation)
    if w.size > 1 and not -1 / (w.size - 1) < rho < 1:
        raise ValueError(
            f"correlation must be in ({-1 / (w.size - 1):g}, 1) for {w.size} inputs "
            f"(so that the covariance is positive definite), got {correlation!r}"
        )
    X: NDArray[np.float64] = rng.normal(size=(n, w.size))
    if rho != 0.0:
        covariance = (1 - rho) * np.eye(w.size) + rho * np.ones((w.size, w.size))
        X = X @ np.linalg.cholesky(covariance).T
    X = X * scale
    y = X @ w + b + rng.normal(scale=sigma, size=n)
    return _finish(Dataset(X, y), backend, dtype)


def synthetic_classes(
    rng: np.random.Generator,
    *,
    n_samples: int = 200,
    weights: ArrayLike = (2.0, -1.0),
    bias: float = 0.5,
    separable: bool = False,
    backend: Backend = "numpy",
    dtype: Any = None,
) -> Dataset:
    r"""Draw two classes for logistic regression: labels 0 and 1 from the logistic model.

    The inputs are standard normal, shape ``(n_samples, len(weights))``. Each label is
    drawn from the model itself: :math:`y = 1` with probability
    :math:`\sigma(x^	op w + b)`, where :math:`\sigma(z) = 1 / (1 + e^{-z})`, else 0; so
    the classes overlap and maximum likelihood estimates ``weights`` and ``bias``. With
    ``separable=True`` the label is 1 exactly when :math:`x^	op w + b > 0`: a hyperplane
    separates the classes, and the cross-entropy has no minimiser. Targets have shape
    ``(n_samples,)`` and hold 0.0 and 1.0; everything random comes from ``rng``.

    >>> X, y = synthetic_classes(np.random.default_rng(0), n_samples=6)
    >>> X.shape, y.shape, sorted(set(y.tolist())) <= [0.0, 1.0]
    ((6, 2), (6,), True)
    >>> X, y = synthetic_classes(np.random.default_rng(0), n_samples=50, separable=True)
    >>> bool(np.all((X @ [2.0, -1.0] + 0.5 > 0) == (y == 1)))
    True
    """
    _require_generator(rng)
    n = _checks.positive_int("n_samples", n_samples)
    w = _checks.finite_array("weights", weights, max_ndim=1).reshape(-1)
    b = _checks.real_number("bias", bias)
    if not isinstance(separable, bool):
        raise TypeError(f"separable must be True or False, got {separable!r}")
    X: NDArray[np.float64] = rng.normal(size=(n, w.size))
    logits = X @ w + b
    if separable:
        y = (logits > 0).astype(np.float64)
    else:
        probabilities = 0.5 * (1.0 + np.tanh(0.5 * logits))  # sigma(z), without overflow
        y = (rng.uniform(size=n) < probabilities).astype(np.float64)
    return _finish(Dataset(X, y), backend, dtype)


def synthetic_curve(
    rng: np.random.Generator,
    *,
    n_samples: int = 30,
    noise: float = 0.2,
    backend: Backend = "numpy",
    dtype: Any = None,
) -> Dataset:
    r"""Draw a curved relation, :math:`y = \sin(\pi x) + \varepsilon` with :math:`x` in [-1, 1].

    The inputs are uniform on [-1, 1] and the noise :math:`\varepsilon` is normal with
    standard deviation ``noise``, so no model can have an expected squared error on new
    data below ``noise**2``. A straight line underfits this relation and a polynomial of
    high degree fitted to a few points overfits it: the data set of the book's chapter on
    validation. Inputs and targets have shape ``(n_samples,)``; everything random comes
    from ``rng``.

    >>> x, y = synthetic_curve(np.random.default_rng(0), n_samples=4)
    >>> x.shape, bool(np.all(np.abs(x) <= 1))
    ((4,), True)
    """
    _require_generator(rng)
    n = _checks.positive_int("n_samples", n_samples)
    sigma = _checks.real_number("noise", noise)
    if sigma < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    x = rng.uniform(-1.0, 1.0, size=n)
    y = np.sin(np.pi * x) + rng.normal(scale=sigma, size=n)
    return _finish(Dataset(x, y), backend, dtype)


def _require_generator(rng: Any) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )


def polynomial_features(x: ArrayLike, degree: int) -> NDArray[np.float64]:
    r"""The columns :math:`x, x^2, \dots, x^{\text{degree}}` of a 1-D input (no column of ones).

    A linear model of these features, :math:`\hat y = b + w_1 x + \dots + w_p x^p`, is a
    polynomial in :math:`x` but still linear in its parameters, so everything the book
    says about linear least squares applies to it. Keep :math:`x` within about [-1, 1]
    (standardise it first): the powers of large numbers make a badly conditioned matrix.

    >>> polynomial_features([1.0, 2.0, -1.0], degree=3)
    array([[ 1.,  1.,  1.],
           [ 2.,  4.,  8.],
           [-1.,  1., -1.]])
    """
    values = _checks.finite_array("x", x, max_ndim=1).reshape(-1)
    p = _checks.positive_int("degree", degree)
    return np.column_stack([values**power for power in range(1, p + 1)])


def train_validation_split(
    inputs: ArrayLike,
    targets: ArrayLike,
    *,
    validation_fraction: float,
    rng: np.random.Generator,
) -> tuple[Dataset, Dataset]:
    """Split the rows at random into a training set and a validation set.

    ``round(validation_fraction * n)`` rows, at least one and at most ``n - 1``, drawn
    without replacement from ``rng``, go to the validation set; the others, in their
    original order, to the training set. Fit on the first, judge on the second: the
    validation rows play the part of data the model has never seen.

    Returns
    -------
    train, validation : Dataset

    >>> x, y = np.arange(10.0), np.arange(10.0) * 2
    >>> train, validation = train_validation_split(
    ...     x, y, validation_fraction=0.3, rng=np.random.default_rng(0))
    >>> len(train.inputs), len(validation.inputs)
    (7, 3)
    >>> bool(np.all(validation.targets == 2 * validation.inputs))
    True
    """
    _require_generator(rng)
    X = np.asarray(inputs)
    Y = np.asarray(targets)
    if X.ndim == 0 or Y.ndim == 0 or X.shape[0] != Y.shape[0]:
        raise ValueError(
            "inputs and targets must have the same number of rows, "
            f"got shapes {X.shape} and {Y.shape}"
        )
    n = X.shape[0]
    if n < 2:
        raise ValueError(f"a split needs at least 2 rows, got {n}")
    fraction = _checks.real_number("validation_fraction", validation_fraction)
    if not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction!r}")
    n_validation = min(max(round(fraction * n), 1), n - 1)
    validation = np.sort(rng.choice(n, size=n_validation, replace=False))
    train = np.setdiff1d(np.arange(n), validation)
    return Dataset(X[train].copy(), Y[train].copy()), Dataset(
        X[validation].copy(), Y[validation].copy()
    )
