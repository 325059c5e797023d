"""Judge data of ``ps6_momentum``: heavy-ball momentum and its best parameters on a quadratic.

Every case describes the quadratic :math:`f(x) = \\tfrac12 x^\\top A x - b^\\top x`
(see :mod:`gdcourse.grading.probes.ps6_momentum`). The reference of the descent is
:func:`gdcourse.optimizers.heavy_ball`; that of the parameters is Polyak's closed form:

>>> from gdcourse.grading.probes.ps6_momentum import momentum_inputs
>>> case = {"A": [[2.0, 0.0], [0.0, 8.0]], "b": [2.0, 0.0], "start": [0.0, 1.0],
...         "learn_rate": 0.1, "momentum": 0.5}
>>> arguments = momentum_inputs(case)
>>> x, path = SPECS["gradient_descent_momentum"].reference(*arguments.args,
...                                                        **arguments.kwargs)
>>> np.round(x, 4).tolist(), len(path) > 1
([1.0, 0.0], True)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gdcourse.grading.framework import FunctionSpec, Spec
from gdcourse.grading.probes import ps6_momentum as probes

__all__ = ["SPECS"]

Array = NDArray[np.float64]
Gradient = Callable[[Any], Any]


# ------------------------------------------------------------------ gradient_descent_momentum


def _momentum_reference(
    gradient: Gradient,
    start: Any,
    learn_rate: float,
    momentum: float = 0.9,
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> tuple[Array, list[Array]]:
    """The public reference: :func:`gdcourse.optimizers.heavy_ball` (same stopping rule)."""
    from gdcourse.optimizers import heavy_ball

    _check_arguments(learn_rate, momentum, max_iter)
    result = heavy_ball(
        gradient,
        start,
        learning_rate=learn_rate,
        momentum=momentum,
        max_iter=max_iter,
        tol=tol,
        divergence_threshold=1e300,
    )
    return result.x, list(result.path)


def _check_arguments(learn_rate: float, momentum: float, max_iter: int) -> None:
    if learn_rate <= 0:
        raise ValueError(f"learn_rate must be > 0, got {learn_rate}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if max_iter < 0:
        raise ValueError(f"max_iter must be >= 0, got {max_iter}")


def _momentum_variant(
    *,
    sign: float = 1.0,
    on_gradient: bool = False,
    start_in_path: bool = True,
    stop_on_gradient: bool = False,
    copy_start: bool = True,
    copy_path: bool = True,
) -> Callable[..., tuple[Any, list[Any]]]:
    """A heavy-ball loop with one mistake switched on."""

    def variant(
        gradient: Gradient,
        start: Any,
        learn_rate: float,
        momentum: float = 0.9,
        max_iter: int = 1000,
        tol: float = 1e-6,
    ) -> tuple[Any, list[Any]]:
        _check_arguments(learn_rate, momentum, max_iter)
        x = np.array(start, dtype=float) if copy_start else np.asarray(start, dtype=float)
        v = np.zeros_like(x)
        path = [x.copy() if copy_path else x] if start_in_path else []
        for _ in range(max_iter):
            g = np.asarray(gradient(x), dtype=float)
            # momentum_on_gradient: the momentum scales the gradient, v keeps no memory
            v = -learn_rate * momentum * g if on_gradient else momentum * v - sign * learn_rate * g
            small = np.abs(g) <= tol if stop_on_gradient else np.abs(v) <= tol
            if np.all(small):
                break
            if copy_start and copy_path:
                x = x + v
            else:
                x += v
            path.append(x.copy() if copy_path else x)
        return x, path

    return variant


# The general hints speak of plain gradient descent; with momentum the step is the velocity.
_DESCENT_HINTS = {
    "uphill_sign_error": "the update steps uphill: the velocity subtracts the scaled "
    "gradient, v = momentum * v - learn_rate * gradient(x), and then x = x + v.",
    "tolerance_on_gradient": "the tolerance is tested on the gradient instead of the step: "
    "with momentum the step is the velocity, so stop (without moving) when every |v| <= tol.",
}
_PARAMETER_HINTS = {
    "diagonal_instead_of_eigenvalues": "L and mu are the largest and smallest *eigenvalues* "
    "of A (np.linalg.eigvalsh), not its largest and smallest diagonal entries; they agree "
    "only for diagonal A.",
}


def _optimal_reference(A: Any) -> tuple[float, float]:
    """Closed form for the heavy-ball method on a quadratic (Polyak, 1964)."""
    eigenvalues = np.linalg.eigvalsh(np.array(A, dtype=np.float64))
    root_l, root_mu = np.sqrt(eigenvalues[-1]), np.sqrt(eigenvalues[0])
    learn_rate = 4.0 / (root_l + root_mu) ** 2
    momentum = ((root_l - root_mu) / (root_l + root_mu)) ** 2
    return float(learn_rate), float(momentum)


def _optimal_not_squared(A: Any) -> tuple[float, float]:
    eigenvalues = np.linalg.eigvalsh(np.array(A, dtype=np.float64))
    root_l, root_mu = np.sqrt(eigenvalues[-1]), np.sqrt(eigenvalues[0])
    return float(4.0 / (root_l + root_mu) ** 2), float((root_l - root_mu) / (root_l + root_mu))


def _optimal_from_diagonal(A: Any) -> tuple[float, float]:
    diagonal = np.diag(np.array(A, dtype=np.float64))
    root_l, root_mu = np.sqrt(diagonal.max()), np.sqrt(diagonal.min())
    learn_rate = 4.0 / (root_l + root_mu) ** 2
    return float(learn_rate), float(((root_l - root_mu) / (root_l + root_mu)) ** 2)


def _optimal_in_place(A: Any) -> tuple[float, float]:
    matrix = np.asarray(A, dtype=float)
    matrix /= 1.0 + np.linalg.eigvalsh(matrix)[-1]  # rescales the caller's matrix
    return _optimal_reference(A)


SPECS: dict[str, FunctionSpec] = {
    "gradient_descent_momentum": Spec(
        function="gradient_descent_momentum",
        probe=probes.PROBES["gradient_descent_momentum"],
        reference=_momentum_reference,
        variants={
            "uphill_sign_error": _momentum_variant(sign=-1.0),
            "momentum_on_gradient": _momentum_variant(on_gradient=True),
            "start_missing_from_path": _momentum_variant(start_in_path=False),
            "tolerance_on_gradient": _momentum_variant(stop_on_gradient=True),
            "argument_modified_in_place": _momentum_variant(copy_start=False),
            "path_not_copied": _momentum_variant(copy_path=False),
        },
        banned=("gdcourse",),
        hints=_DESCENT_HINTS,
        hint=(
            "follow the update in the text: v starts at zero; v = momentum * v - learn_rate * "
            "gradient(x); stop without moving when every |v| <= tol; else x = x + v and append "
            "a copy of x to the path, whose first point is the start."
        ),
        output_names=("x", "path"),
    ),
    "optimal_momentum_parameters": Spec(
        function="optimal_momentum_parameters",
        probe=probes.PROBES["optimal_momentum_parameters"],
        reference=_optimal_reference,
        variants={
            "momentum_not_squared": _optimal_not_squared,
            "diagonal_instead_of_eigenvalues": _optimal_from_diagonal,
            "argument_modified_in_place": _optimal_in_place,
        },
        banned=("gdcourse",),
        hints=_PARAMETER_HINTS,
        hint=(
            "with L and mu the largest and smallest eigenvalues of A, return "
            "(4 / (sqrt(L) + sqrt(mu))**2, ((sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)))**2) "
            "as two floats."
        ),
    ),
}
