"""Wrong ps7_adaptive submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps7_adaptive"

_COSINE_CHECKS = """
    if not eta0 > 0:
        raise ValueError(f"eta0 must be > 0, got {eta0}")
    if total < 1:
        raise ValueError(f"total must be >= 1, got {total}")
    if not 0 <= eta_min < eta0:
        raise ValueError(f"eta_min must be in [0, eta0), got {eta_min}")
"""

_NESTEROV_CHECKS = """
    if not callable(learning_rate) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 or a schedule, got {learning_rate}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
"""

_ADAM_CHECKS = """
    beta1, beta2 = betas
    if not callable(learning_rate) and not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0 or a schedule, got {learning_rate}")
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"betas must both be in [0, 1), got {betas}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
"""

_NESTEROV_HEAD = '''
import numpy as np


def nesterov_momentum(gradient, start, *, learning_rate, momentum=0.9, steps):
    """{}"""'''

_ADAM_HEAD = '''
import numpy as np


def adam(gradient, start, *, learning_rate, betas=(0.9, 0.999), eps=1e-8, steps):
    """{}"""'''


def _nesterov(doc: str, body: str) -> str:
    return _NESTEROV_HEAD.format(doc) + _NESTEROV_CHECKS + body


def _adam(doc: str, loop: str) -> str:
    """An Adam cell whose loop body (after the rate and the gradient) is ``loop``."""
    return (
        _ADAM_HEAD.format(doc)
        + _ADAM_CHECKS
        + """
    x = np.array(start, dtype=float)
    m = np.zeros_like(x)
    s = np.zeros_like(x)
    path = [x.copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        g = np.asarray(gradient(x), dtype=float)
"""
        + loop
        + """        path.append(x.copy())
    return x, path
"""
    )


WRONG = {
    # ---------------------------------------------------------------- cosine_schedule
    "cosine_without_half_shift": (
        "cosine_schedule",
        '''
import math


def cosine_schedule(eta0, *, total, eta_min=0.0):
    """Uses cos itself as the factor, which falls to -1."""'''
        + _COSINE_CHECKS
        + """
    def schedule(t):
        return eta_min + (eta0 - eta_min) * math.cos(math.pi * min(t, total) / total)

    return schedule
""",
    ),
    "cosine_not_clamped": (
        "cosine_schedule",
        '''
import math


def cosine_schedule(eta0, *, total, eta_min=0.0):
    """Lets the cosine run on after total steps."""'''
        + _COSINE_CHECKS
        + """
    def schedule(t):
        return eta_min + (eta0 - eta_min) * (1 + math.cos(math.pi * t / total)) / 2

    return schedule
""",
    ),
    "cosine_off_by_one": (
        "cosine_schedule",
        '''
import math


def cosine_schedule(eta0, *, total, eta_min=0.0):
    """Counts t from 1, so schedule(0) is already the second rate."""'''
        + _COSINE_CHECKS
        + """
    def schedule(t):
        step = min(t + 1, total)
        return eta_min + (eta0 - eta_min) * (1 + math.cos(math.pi * step / total)) / 2

    return schedule
""",
        "schedule_before_step",
    ),
    "cosine_uses_gdcourse": (
        "cosine_schedule",
        '''
from gdcourse import schedules


def cosine_schedule(eta0, *, total, eta_min=0.0):
    """Right numbers, but gdcourse's own schedule does the work."""
    return schedules.cosine(eta0, total=total, eta_min=eta_min)
''',
        "gdcourse",
    ),
    # ---------------------------------------------------------------- nesterov_momentum
    "gradient_not_at_lookahead": (
        "nesterov_momentum",
        _nesterov(
            "The heavy ball: the gradient at x, not at the look-ahead point.",
            """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        v = momentum * v - rate * np.asarray(gradient(x), dtype=float)
        x = x + v
        path.append(x.copy())
    return x, path
""",
        ),
    ),
    "lookahead_sign_error": (
        "nesterov_momentum",
        _nesterov(
            "Looks ahead against the velocity: x - momentum * v.",
            """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        v = momentum * v - rate * np.asarray(gradient(x - momentum * v), dtype=float)
        x = x + v
        path.append(x.copy())
    return x, path
""",
        ),
    ),
    "lookahead_points_returned": (
        "nesterov_momentum",
        _nesterov(
            "PyTorch's form: the path holds its parameter, the look-ahead points.",
            """
    p = np.array(start, dtype=float)
    u = np.zeros_like(p)
    path = [p.copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        g = np.asarray(gradient(p), dtype=float)
        u = momentum * u + g
        p = p - rate * (g + momentum * u)
        path.append(p.copy())
    return p, path
""",
        ),
    ),
    "nesterov_schedule_before_step": (
        "nesterov_momentum",
        _nesterov(
            "Moves the schedule on before each update, so update k uses rate k + 1.",
            """
    x = np.array(start, dtype=float)
    v = np.zeros_like(x)
    path = [x.copy()]
    for k in range(steps):
        rate = learning_rate(k + 1) if callable(learning_rate) else learning_rate
        v = momentum * v - rate * np.asarray(gradient(x + momentum * v), dtype=float)
        x = x + v
        path.append(x.copy())
    return x, path
""",
        ),
        "schedule_before_step",
    ),
    "nesterov_uses_torch_optim": (
        "nesterov_momentum",
        '''
import numpy as np
import torch


def nesterov_momentum(gradient, start, *, learning_rate, momentum=0.9, steps):
    """Lets torch.optim.SGD(nesterov=True) make the steps, then converts its points."""
    p = torch.tensor(np.array(start, dtype=float), requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=1.0, momentum=momentum, nesterov=True)
    path = [p.detach().numpy().copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        g = rate * np.asarray(gradient(p.detach().numpy().copy()), dtype=float)
        p.grad = torch.as_tensor(g).reshape(p.shape)
        optimizer.step()
        buffer = optimizer.state[p]["momentum_buffer"].numpy()
        path.append(p.detach().numpy() + momentum * buffer)
    return path[-1], path
''',
        "torch.optim",
    ),
    # ---------------------------------------------------------------- adam
    "bias_correction_missing": (
        "adam",
        _adam(
            "Divides the raw averages, without bias correction.",
            """        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        x = x - rate * m / (np.sqrt(s) + eps)
""",
        ),
    ),
    "bias_correction_from_zero": (
        "adam",
        _adam(
            "Counts the updates from 0 in the bias correction.",
            """        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**k)
        s_hat = s / (1 - beta2**k)
        x = x - rate * m_hat / (np.sqrt(s_hat) + eps)
""",
        ),
    ),
    "epsilon_inside_sqrt": (
        "adam",
        _adam(
            "Adds eps under the square root.",
            """        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        m_hat = m / (1 - beta1 ** (k + 1))
        s_hat = s / (1 - beta2 ** (k + 1))
        x = x - rate * m_hat / np.sqrt(s_hat + eps)
""",
        ),
    ),
    "betas_swapped": (
        "adam",
        _adam(
            "Averages the gradient with beta2 and its square with beta1.",
            """        m = beta2 * m + (1 - beta2) * g
        s = beta1 * s + (1 - beta1) * g**2
        m_hat = m / (1 - beta2 ** (k + 1))
        s_hat = s / (1 - beta1 ** (k + 1))
        x = x - rate * m_hat / (np.sqrt(s_hat) + eps)
""",
        ),
    ),
    "second_moment_not_squared": (
        "adam",
        _adam(
            "Averages the gradient itself where its square belongs.",
            """        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g
        m_hat = m / (1 - beta1 ** (k + 1))
        s_hat = s / (1 - beta2 ** (k + 1))
        x = x - rate * m_hat / (np.sqrt(s_hat) + eps)
""",
        ),
    ),
    "adam_schedule_before_step": (
        "adam",
        '''
import numpy as np


def adam(gradient, start, *, learning_rate, betas=(0.9, 0.999), eps=1e-8, steps):
    """Counts the updates t = 1, 2, ...: right for the bias correction, one ahead for the
    schedule."""'''
        + _ADAM_CHECKS
        + """
    x = np.array(start, dtype=float)
    m = np.zeros_like(x)
    s = np.zeros_like(x)
    path = [x.copy()]
    for t in range(1, steps + 1):
        rate = learning_rate(t) if callable(learning_rate) else learning_rate
        g = np.asarray(gradient(x), dtype=float)
        m = beta1 * m + (1 - beta1) * g
        s = beta2 * s + (1 - beta2) * g**2
        x = x - rate * (m / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
        path.append(x.copy())
    return x, path
""",
        "schedule_before_step",
    ),
    "adam_uses_torch_optim": (
        "adam",
        '''
import numpy as np
import torch


def adam(gradient, start, *, learning_rate, betas=(0.9, 0.999), eps=1e-8, steps):
    """Lets torch.optim.Adam make the steps."""
    p = torch.tensor(np.array(start, dtype=float), requires_grad=True)
    optimizer = torch.optim.Adam([p], lr=1.0, betas=betas, eps=eps)
    path = [p.detach().numpy().copy()]
    for k in range(steps):
        rate = learning_rate(k) if callable(learning_rate) else learning_rate
        optimizer.param_groups[0]["lr"] = rate
        g = np.asarray(gradient(p.detach().numpy().copy()), dtype=float)
        p.grad = torch.as_tensor(g).reshape(p.shape)
        optimizer.step()
        path.append(p.detach().numpy().copy())
    return path[-1], path
''',
        "torch.optim",
    ),
}
