"""Wrong ps8_logistic submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps8_logistic"

_TRAIN_HEAD = """
import torch
from torch import nn


def train_logistic(model, X, y, *, method, learning_rate, epochs):
"""

_CHECKS = """    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
"""


def _make_optimizer() -> str:
    return """    def make_optimizer():
        if method == "sgd":
            return torch.optim.SGD(model.parameters(), lr=learning_rate)
        if method == "momentum":
            return torch.optim.SGD(model.parameters(), lr=learning_rate, momentum=0.9)
        if method == "adam":
            return torch.optim.Adam(model.parameters(), lr=learning_rate)
        raise ValueError(f"unknown method {method!r}: use 'sgd', 'momentum' or 'adam'")
"""


WRONG = {
    "sigmoid_overflow": (
        "sigmoid",
        '''
import numpy as np


def sigmoid(o):
    """The other textbook form, e^o / (1 + e^o): nan once e^o overflows."""
    e = np.exp(np.asarray(o, dtype=float))
    return e / (1 + e)
''',
    ),
    "sigmoid_cancellation": (
        "sigmoid",
        '''
import numpy as np


def sigmoid(o):
    """No overflow, by the symmetry sigmoid(o) = 1 - sigmoid(-o): tiny values are lost."""
    o = np.asarray(o, dtype=float)
    positive = 1 / (1 + np.exp(-np.abs(o)))
    return np.where(o >= 0, positive, 1 - positive)
''',
    ),
    "residual_sign_error": (
        "loss_and_grad",
        '''
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    """Labels minus predictions in the gradient: it points uphill."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    o = X @ w + b
    loss = np.mean(np.logaddexp(0, o) - y * o) + alpha / 2 * np.sum(w**2)
    p = np.exp(-np.logaddexp(0, -o))
    return float(loss), X.T @ (y - p) / len(y) + alpha * w, float(np.mean(y - p))
''',
    ),
    "sum_instead_of_mean": (
        "loss_and_grad",
        '''
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    """Sums over the observations: the 1/n is missing from the loss and the gradient."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    o = X @ w + b
    loss = np.sum(np.logaddexp(0, o) - y * o) + alpha / 2 * np.sum(w**2)
    p = np.exp(-np.logaddexp(0, -o))
    return float(loss), X.T @ (p - y) + alpha * w, float(np.sum(p - y))
''',
    ),
    "bias_regularised": (
        "loss_and_grad",
        '''
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    """Puts the bias into the penalty with the weights."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    theta = np.append(w, b)
    X1 = np.column_stack([X, np.ones(len(X))])
    o = X1 @ theta
    loss = np.mean(np.logaddexp(0, o) - y * o) + alpha / 2 * theta @ theta
    p = np.exp(-np.logaddexp(0, -o))
    grad = X1.T @ (p - y) / len(y) + alpha * theta
    return float(loss), grad[:-1], float(grad[-1])
''',
    ),
    "labels_plus_minus_one": (
        "loss_and_grad",
        '''
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    """The loss log(1 + exp(-y o)) of labels -1 and 1, used on labels 0 and 1."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    o = X @ w + b
    loss = np.mean(np.logaddexp(0, -y * o)) + alpha / 2 * w @ w
    s = -y * np.exp(-np.logaddexp(0, y * o))  # d/do log(1 + exp(-y o))
    return float(loss), X.T @ s / len(y) + alpha * w, float(np.mean(s))
''',
    ),
    "loss_not_from_logits": (
        "loss_and_grad",
        '''
import numpy as np


def loss_and_grad(w, b, X, y, alpha=0.0):
    """The cross-entropy from probabilities: log(0) once they round to 0 or 1."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must be >= 0")
    p = 1 / (1 + np.exp(-(X @ w + b)))
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)) + alpha / 2 * w @ w
    return float(loss), X.T @ (p - y) / len(y) + alpha * w, float(np.mean(p - y))
''',
    ),
    "smoothness_without_quarter": (
        "fit_gd",
        '''
import numpy as np


def fit_gd(X, y, *, learning_rate=None, steps, alpha=0.0):
    """Takes L from least squares' habit, lambda_max(X1^T X1) / n, without the 1/4."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if learning_rate is not None and learning_rate <= 0:
        raise ValueError("learning_rate must be > 0")
    if steps < 0 or alpha < 0:
        raise ValueError("steps and alpha must be >= 0")
    n, d = X.shape
    if learning_rate is None:
        X1 = np.column_stack([X, np.ones(n)])
        learning_rate = 1 / (np.linalg.eigvalsh(X1.T @ X1 / n).max() + alpha)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(steps):
        o = X @ w + b
        losses.append(float(np.mean(np.logaddexp(0, o) - y * o) + alpha / 2 * w @ w))
        r = np.exp(-np.logaddexp(0, -o)) - y
        w, b = w - learning_rate * (X.T @ r / n + alpha * w), b - learning_rate * r.mean()
    return w, float(b), losses
''',
    ),
    "losses_after_update": (
        "fit_gd",
        '''
import numpy as np


def fit_gd(X, y, *, learning_rate=None, steps, alpha=0.0):
    """Records the loss after each update instead of before it."""
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("labels must be 0 or 1")
    if learning_rate is not None and learning_rate <= 0:
        raise ValueError("learning_rate must be > 0")
    if steps < 0 or alpha < 0:
        raise ValueError("steps and alpha must be >= 0")
    n, d = X.shape
    if learning_rate is None:
        X1 = np.column_stack([X, np.ones(n)])
        learning_rate = 1 / (np.linalg.eigvalsh(X1.T @ X1 / n).max() / 4 + alpha)
    w, b, losses = np.zeros(d), 0.0, []
    for _ in range(steps):
        r = np.exp(-np.logaddexp(0, -(X @ w + b))) - y
        w, b = w - learning_rate * (X.T @ r / n + alpha * w), b - learning_rate * r.mean()
        o = X @ w + b
        losses.append(float(np.mean(np.logaddexp(0, o) - y * o) + alpha / 2 * w @ w))
    return w, float(b), losses
''',
    ),
    "gradients_not_zeroed": (
        "train_logistic",
        _TRAIN_HEAD
        + '''    """Never zeroes the gradients: every step uses the sum of all gradients so far."""
'''
        + _CHECKS
        + _make_optimizer()
        + """    optimizer = make_optimizer()
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        loss = criterion(model(X).squeeze(1), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses
""",
    ),
    "sigmoid_applied_twice": (
        "train_logistic",
        _TRAIN_HEAD
        + '''    """Gives probabilities to BCEWithLogitsLoss, which applies the sigmoid again."""
'''
        + _CHECKS
        + _make_optimizer()
        + """    optimizer = make_optimizer()
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(torch.sigmoid(model(X)).reshape(-1), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses
""",
    ),
    "bce_on_probabilities": (
        "train_logistic",
        _TRAIN_HEAD
        + '''    """sigmoid then BCELoss: a confident mistake costs 100 and teaches nothing."""
'''
        + _CHECKS
        + _make_optimizer()
        + """    optimizer = make_optimizer()
    criterion = nn.BCELoss()
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = criterion(torch.sigmoid(model(X)).reshape(-1), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses
""",
        "loss_not_from_logits",
    ),
    "optimizer_recreated_each_step": (
        "train_logistic",
        _TRAIN_HEAD
        + '''    """Creates a new optimizer at every step: momentum and Adam forget their state."""
'''
        + _CHECKS
        + _make_optimizer()
        + """    make_optimizer()  # an unknown method is refused before the loop
    criterion = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(epochs):
        optimizer = make_optimizer()
        optimizer.zero_grad()
        loss = criterion(model(X).reshape(-1), y)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return losses
""",
    ),
}
