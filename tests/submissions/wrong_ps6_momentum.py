"""Wrong ps6_momentum submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps6_momentum"

_CHECKS = """
    if learn_rate <= 0:
        raise ValueError(f"learn_rate must be > 0, got {learn_rate}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")
"""

WRONG = {
    "momentum_on_gradient": (
        "gradient_descent_momentum",
        '''
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """Scales the gradient by the momentum; no velocity is remembered."""'''
        + _CHECKS
        + """
    x = np.array(start, dtype=float)
    path = [x.copy()]
    for _ in range(max_iter):
        step = learn_rate * momentum * np.asarray(gradient(x))
        if np.all(np.abs(step) <= tol):
            break
        x = x - step
        path.append(x.copy())
    return x, path
""",
    ),
    "uphill_sign_error": (
        "gradient_descent_momentum",
        '''
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """Adds the gradient to the velocity."""'''
        + _CHECKS
        + """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for _ in range(max_iter):
        v = momentum * v + learn_rate * gradient(x)
        if np.all(np.abs(v) <= tol):
            break
        x = x + v
        path.append(x.copy())
    return x, path
""",
    ),
    "start_missing_from_path": (
        "gradient_descent_momentum",
        '''
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """Only the points moved to are in the path."""'''
        + _CHECKS
        + """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = []
    for _ in range(max_iter):
        v = momentum * v - learn_rate * gradient(x)
        if np.all(np.abs(v) <= tol):
            break
        x = x + v
        path.append(x.copy())
    return x, path
""",
    ),
    "tolerance_on_gradient": (
        "gradient_descent_momentum",
        '''
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """Stops when the gradient is small, not when the step is."""'''
        + _CHECKS
        + """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for _ in range(max_iter):
        g = np.asarray(gradient(x), dtype=float)
        if np.all(np.abs(g) <= tol):
            break
        v = momentum * v - learn_rate * g
        x = x + v
        path.append(x.copy())
    return x, path
""",
    ),
    "argument_modified_in_place": (
        "gradient_descent_momentum",
        '''
import numpy as np


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """x is the caller's array itself (asarray makes no copy), updated with +=."""'''
        + _CHECKS
        + """
    x = np.asarray(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for _ in range(max_iter):
        v = momentum * v - learn_rate * gradient(x)
        if np.all(np.abs(v) <= tol):
            break
        x += v
        path.append(x.copy())
    return x, path
""",
    ),
    "uses_gdcourse": (
        "gradient_descent_momentum",
        '''
from gdcourse.optimizers import heavy_ball


def gradient_descent_momentum(gradient, start, learn_rate, momentum=0.9, max_iter=1000, tol=1e-6):
    """Right numbers, but gdcourse's own implementation does the work."""
    result = heavy_ball(
        gradient, start, learning_rate=learn_rate, momentum=momentum, max_iter=max_iter, tol=tol
    )
    return result.x, list(result.path)
''',
        "gdcourse",
    ),
    "momentum_not_squared": (
        "optimal_momentum_parameters",
        '''
import numpy as np


def optimal_momentum_parameters(A):
    """Nesterov's momentum (not squared) with the heavy-ball learning rate."""
    eigenvalues = np.linalg.eigvalsh(np.array(A, dtype=float))
    kappa = eigenvalues[-1] / eigenvalues[0]
    learn_rate = 4 / (np.sqrt(eigenvalues[-1]) + np.sqrt(eigenvalues[0])) ** 2
    momentum = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    return float(learn_rate), float(momentum)
''',
    ),
    "diagonal_instead_of_eigenvalues": (
        "optimal_momentum_parameters",
        '''
import numpy as np


def optimal_momentum_parameters(A):
    """Takes L and mu from the diagonal of A."""
    diagonal = np.diag(np.array(A, dtype=float))
    L, mu = diagonal.max(), diagonal.min()
    learn_rate = 4 / (np.sqrt(L) + np.sqrt(mu)) ** 2
    momentum = ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2
    return float(learn_rate), float(momentum)
''',
    ),
}
