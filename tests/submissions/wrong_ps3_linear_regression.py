"""Wrong ps3_linear_regression submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps3_linear_regression"

_FIT = '''
import numpy as np


def fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Full-batch gradient descent on (w, b); returns (w, b, losses)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w, b = float(w0), float(b0)
    losses = []
    for _ in range(epochs):
        residual = b + w * x - y
        losses.append(float(np.mean(residual**2)))
        dw = 2 * np.mean(residual * x)
        db = 2 * np.mean(residual)
        w = w - learn_rate * dw
        b = b - learn_rate * db
    return float(w), float(b), losses
'''


def _fit(old, new):
    assert old in _FIT, old
    return _FIT.replace(old, new)


_GRADIENT = '''
import numpy as np


def mse_gradient(x, y, w, b):
    """(dw, db) of the mean squared error."""
    x = np.asarray(x, dtype=float)
    residual = b + w * x - np.asarray(y, dtype=float)
    dw = 2 * np.mean(residual * x)
    db = 2 * np.mean(residual)
    return float(dw), float(db)
'''


def _gradient(old, new):
    assert old in _GRADIENT, old
    return _GRADIENT.replace(old, new)


WRONG = {
    "sum_instead_of_mean": (
        "mse",
        '''
import numpy as np


def mse(y_pred, y):
    """Sum of the squared differences."""
    return float(np.sum((np.asarray(y_pred) - np.asarray(y)) ** 2))
''',
    ),
    "mse_gradient_missing_factor_2": (
        "mse_gradient",
        _gradient("dw = 2 * np.mean(residual * x)", "dw = np.mean(residual * x)").replace(
            "db = 2 * np.mean(residual)", "db = np.mean(residual)"
        ),
    ),
    "dw_db_swapped": (
        "mse_gradient",
        _gradient("return float(dw), float(db)", "return float(db), float(dw)"),
    ),
    "argument_modified_in_place": (
        "predict",
        '''
import numpy as np


def predict(x, w, b):
    """b + w x, computed in the caller's array."""
    x *= w
    x += b
    return x
''',
    ),
    "uphill_sign_error": (
        "fit",
        _fit("w = w - learn_rate * dw", "w = w + learn_rate * dw").replace(
            "b = b - learn_rate * db", "b = b + learn_rate * db"
        ),
    ),
    "losses_after_update": (
        "fit",
        _fit("        losses.append(float(np.mean(residual**2)))\n", "").replace(
            "        b = b - learn_rate * db\n",
            "        b = b - learn_rate * db\n"
            "        losses.append(float(np.mean((b + w * x - y) ** 2)))\n",
        ),
    ),
    "gradient_outside_loop": (
        "fit",
        _fit(
            "    for _ in range(epochs):\n        residual = b + w * x - y\n",
            "    residual = b + w * x - y\n    dw0 = 2 * np.mean(residual * x)\n"
            "    db0 = 2 * np.mean(residual)\n    for _ in range(epochs):\n"
            "        residual = b + w * x - y\n",
        )
        .replace("        dw = 2 * np.mean(residual * x)\n", "        dw = dw0\n")
        .replace("        db = 2 * np.mean(residual)\n", "        db = db0\n"),
    ),
    "shortcut_polyfit": (
        "fit",
        '''
import numpy as np


def fit(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """The least-squares line in closed form, with made-up losses."""
    w, b = np.polyfit(x, y, 1)
    return float(w), float(b), [0.0] * epochs
''',
        "numpy.polyfit",
    ),
}
