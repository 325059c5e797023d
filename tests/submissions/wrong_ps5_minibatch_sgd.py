"""Wrong ps5_minibatch_sgd submissions, one mistake each (see tests/make_submissions.py)."""

ASSIGNMENT = "ps5_minibatch_sgd"

WRONG = {
    "loader_ignores_seed": (
        "make_loader",
        '''
import torch
from torch.utils.data import DataLoader, TensorDataset


def make_loader(inputs, targets, batch_size, seed=0):
    """Seeds the global generator: the order depends on whatever else draws from it."""
    torch.manual_seed(seed)
    return DataLoader(TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True)
''',
    ),
    "argument_modified_in_place": (
        "make_loader",
        '''
import torch
from torch.utils.data import DataLoader, TensorDataset


def make_loader(inputs, targets, batch_size, seed=0):
    """Standardises the caller's inputs in place."""
    inputs -= inputs.mean(dim=0)
    inputs /= inputs.std(dim=0)
    generator = torch.Generator().manual_seed(seed)
    dataset = TensorDataset(inputs, targets)
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)
''',
    ),
    "uphill_sign_error": (
        "train_minibatch",
        '''
import torch


def train_minibatch(loader, W, b, learn_rate, epochs):
    """Steps along the gradient instead of against it."""
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            loss = torch.mean((X @ W.T + b - Y) ** 2)
            losses.append(loss.item())
            loss.backward()
            with torch.no_grad():
                W += learn_rate * W.grad
                b += learn_rate * b.grad
                W.grad.zero_()
                b.grad.zero_()
    return losses
''',
    ),
    "gradients_not_zeroed": (
        "train_minibatch",
        '''
import torch


def train_minibatch(loader, W, b, learn_rate, epochs):
    """Forgets that backward() accumulates into .grad."""
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            loss = ((X @ W.T + b - Y) ** 2).mean()
            losses.append(loss.item())
            loss.backward()
            with torch.no_grad():
                W -= learn_rate * W.grad
                b -= learn_rate * b.grad
    return losses
''',
    ),
    "sum_instead_of_mean": (
        "train_minibatch",
        '''
import torch


def train_minibatch(loader, W, b, learn_rate, epochs):
    """Sums the squared errors of the batch instead of averaging them."""
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            loss = ((X @ W.T + b - Y) ** 2).sum()
            losses.append(loss.item())
            loss.backward()
            with torch.no_grad():
                W -= learn_rate * W.grad
                b -= learn_rate * b.grad
            W.grad.zero_()
            b.grad.zero_()
    return losses
''',
    ),
    "uses_torch_optim": (
        "train_minibatch",
        '''
import torch
from torch import optim


def train_minibatch(loader, W, b, learn_rate, epochs):
    """Right numbers, but optim.SGD does the update the exercise asks for."""
    optimizer = optim.SGD([W, b], lr=learn_rate)
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            optimizer.zero_grad()
            loss = ((X @ W.T + b - Y) ** 2).mean()
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
    return losses
''',
        "torch.optim",
    ),
    "tensors_returned": (
        "train_model",
        '''
import torch
from torch import nn, optim


def train_model(model, loader, learn_rate, epochs):
    """Keeps the loss tensors (and their graphs) instead of floats."""
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=learn_rate)
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            loss = criterion(model(X), Y)
            losses.append(loss)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return losses
''',
    ),
    "losses_after_update": (
        "train_model",
        '''
import torch
from torch import nn, optim


def train_model(model, loader, learn_rate, epochs):
    """Records each batch's loss after the optimizer step."""
    criterion = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=learn_rate)
    losses = []
    for _ in range(epochs):
        for X, Y in loader:
            optimizer.zero_grad()
            criterion(model(X), Y).backward()
            optimizer.step()
            with torch.no_grad():
                losses.append(criterion(model(X), Y).item())
    return losses
''',
    ),
}
