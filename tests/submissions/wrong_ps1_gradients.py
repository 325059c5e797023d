"""Wrong ps1_gradients submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps1_gradients"

WRONG = {
    "forward_difference": (
        "numerical_gradient",
        '''
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of f at x by finite differences."""
    point = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(point)
    for i in range(point.size):
        step = np.zeros_like(point)
        step[i] = h
        gradient[i] = (f(point + step) - f(point)) / h
    return gradient
''',
    ),
    "wrong_divisor": (
        "numerical_gradient",
        '''
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Gradient of f at x by central differences, divided by h."""
    point = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(point)
    for i in range(point.size):
        step = np.zeros_like(point)
        step[i] = h
        gradient[i] = (f(point + step) - f(point - step)) / h
    return gradient
''',
    ),
    "argument_modified_in_place": (
        "numerical_gradient",
        '''
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Central differences that move x itself back and forth."""
    x = np.asarray(x, dtype=np.float64)  # no copy when x already is a float64 array
    gradient = np.zeros_like(x)
    for i in range(x.size):
        x[i] += h
        upper = f(x)
        x[i] -= 2 * h
        lower = f(x)
        gradient[i] = (upper - lower) / (2 * h)
    return gradient
''',
    ),
    "tensors_returned": (
        "autograd_gradient",
        '''
import torch


def autograd_gradient(f, x):
    """The gradient, left as a tensor."""
    point = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    f(point).backward()
    return point.grad
''',
    ),
    "float32_tensor": (
        "autograd_gradient",
        '''
import numpy as np
import torch


def autograd_gradient(f, x):
    """Autograd in torch's default dtype, float32."""
    point = torch.tensor(np.asarray(x).tolist(), requires_grad=True)
    f(point).backward()
    return point.grad.numpy()
''',
    ),
    "finite_differences_not_autograd": (
        "autograd_gradient",
        '''
import numpy as np
import torch


def autograd_gradient(f, x):
    """Central differences on tensors: no autograd at all."""
    point = np.array(x, dtype=np.float64)
    gradient = np.zeros_like(point)
    h = 1e-6
    for i in range(point.size):
        step = np.zeros_like(point)
        step[i] = h
        upper = f(torch.tensor(point + step)).item()
        lower = f(torch.tensor(point - step)).item()
        gradient[i] = (upper - lower) / (2 * h)
    return gradient
''',
    ),
}
