"""Wrong ps4_autograd submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps4_autograd"

WRONG = {
    "uphill_sign_error": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Adds the gradient instead of subtracting it."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = ((w * x + b - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w += learn_rate * w.grad
            b += learn_rate * b.grad
            w.grad.zero_()
            b.grad.zero_()
    return w.item(), b.item(), losses
''',
    ),
    "gradients_not_zeroed": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Never zeroes .grad, so every step uses the sum of all gradients so far."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((b + w * x - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
    return w.item(), b.item(), losses
''',
    ),
    "losses_after_update": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Records the loss after each update instead of before it."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((b + w * x - y) ** 2)
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
            losses.append(torch.mean((b + w * x - y) ** 2).item())
        w.grad.zero_()
        b.grad.zero_()
    return w.item(), b.item(), losses
''',
    ),
    "tensors_returned": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Right numbers, but tensors where floats are asked for."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((b + w * x - y) ** 2)
        losses.append(loss)
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return w, b, losses
''',
    ),
    "sum_instead_of_mean": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Sums the squared errors: the loss and its gradient are n times too large."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.sum((b + w * x - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return w.item(), b.item(), losses
''',
    ),
    "gradient_outside_loop": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Computes the loss and its gradient once, before the loop."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    loss = torch.mean((b + w * x - y) ** 2)
    loss.backward()
    losses = []
    for _ in range(epochs):
        losses.append(loss.item())
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
    return w.item(), b.item(), losses
''',
    ),
    "argument_modified_in_place": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Scales the caller's x in place before fitting."""
    x /= x.abs().max()
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.mean((b + w * x - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= learn_rate * w.grad
            b -= learn_rate * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return w.item(), b.item(), losses
''',
    ),
    "uses_torch_optim": (
        "train_autograd",
        '''
import torch


def train_autograd(x, y, learn_rate, epochs, w0=0.0, b0=0.0):
    """Right numbers, but torch.optim does the update the exercise asks for."""
    w = torch.tensor(float(w0), dtype=x.dtype, requires_grad=True)
    b = torch.tensor(float(b0), dtype=x.dtype, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=learn_rate)
    losses = []
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = torch.mean((b + w * x - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return w.item(), b.item(), losses
''',
        "torch.optim",
    ),
}
