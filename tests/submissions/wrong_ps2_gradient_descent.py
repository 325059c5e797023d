"""Wrong ps2_gradient_descent submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps2_gradient_descent"

_LOOP = '''
import numpy as np


def gradient_descent(gradient, start, learn_rate, max_iter=1000, tol=1e-6):
    """Gradient descent from start; returns (x, path)."""
    if learn_rate <= 0:
        raise ValueError(f"learn_rate must be > 0, got {learn_rate}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
    x = np.array(start, dtype=float)
    path = [x.copy()]
    for _ in range(max_iter):
        step = learn_rate * gradient(x)
        if np.all(np.abs(step) <= tol):
            break
        x = x - step
        path.append(x.copy())
    return x, path
'''


def _edit(old, new):
    assert old in _LOOP, old
    return _LOOP.replace(old, new)


WRONG = {
    "uphill_sign_error": ("gradient_descent", _edit("x = x - step", "x = x + step")),
    "start_missing_from_path": ("gradient_descent", _edit("path = [x.copy()]", "path = []")),
    "tolerance_on_gradient": (
        "gradient_descent",
        _edit("np.abs(step) <= tol", "np.abs(gradient(x)) <= tol"),
    ),
    "gradient_outside_loop": (
        "gradient_descent",
        _edit(
            "    for _ in range(max_iter):\n        step = learn_rate * gradient(x)\n",
            "    step = learn_rate * gradient(x)\n    for _ in range(max_iter):\n",
        ),
    ),
    "argument_modified_in_place": (
        "gradient_descent",
        _edit("x = np.array(start, dtype=float)", "x = np.asarray(start, dtype=float)").replace(
            "x = x - step", "x -= step"
        ),
    ),
    "path_not_copied": (
        "gradient_descent",
        _edit("path = [x.copy()]", "path = [x]")
        .replace("x = x - step", "x -= step")
        .replace("path.append(x.copy())", "path.append(x)"),
    ),
    "rate_bound_without_2": (
        "max_learning_rate",
        '''
import numpy as np


def max_learning_rate(A):
    """One over the largest eigenvalue."""
    return float(1.0 / np.linalg.eigvalsh(np.asarray(A, dtype=float))[-1])
''',
    ),
    "smallest_eigenvalue": (
        "max_learning_rate",
        '''
import numpy as np


def max_learning_rate(A):
    """Two over the smallest eigenvalue."""
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=float)).min())
''',
    ),
}
