"""Judge data of ``ps2_gradient_descent``: the descent loop, and the largest stable rate.

The cases and how the functions are called on them are described in
:mod:`gdcourse.grading.probes.ps2_gradient_descent`; the reference of
``gradient_descent`` is :func:`gdcourse.optimizers.gradient_descent`, that of
``max_learning_rate`` the closed form 2 / lambda_max.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdcourse import optimizers
from gdcourse.grading.framework import FunctionSpec, Spec
from gdcourse.grading.probes import ps2_gradient_descent as probes

__all__ = ["SPECS"]

Array = np.ndarray[Any, Any]


def _descent_reference(
    gradient: Callable[[Any], Any],
    start: Any,
    learn_rate: float,
    max_iter: int = 1000,
    tol: float = 1e-6,
) -> tuple[Array, list[Array]]:
    result = optimizers.gradient_descent(
        gradient,
        start,
        learning_rate=learn_rate,
        max_iter=max_iter,
        tol=tol,
        divergence_threshold=1e300,
    )
    return result.x, list(result.path)


def _descender(
    *,
    sign: float = 1.0,
    with_start: bool = True,
    tol_on_gradient: bool = False,
    gradient_once: bool = False,
    in_place: bool = False,
    copy_path: bool = True,
) -> Callable[..., tuple[Any, list[Any]]]:
    def gradient_descent(
        gradient: Callable[[Any], Any],
        start: Any,
        learn_rate: float,
        max_iter: int = 1000,
        tol: float = 1e-6,
    ) -> tuple[Any, list[Any]]:
        if learn_rate <= 0 or max_iter < 0:
            raise ValueError("learn_rate must be > 0 and max_iter >= 0")
        x = start if in_place and isinstance(start, np.ndarray) else np.array(start, dtype=float)
        path = ([x.copy() if copy_path else x]) if with_start else []
        g = np.asarray(gradient(x), dtype=float)
        for _ in range(max_iter):
            if not gradient_once:
                g = np.asarray(gradient(x), dtype=float)
            step = learn_rate * g
            small = np.abs(g) <= tol if tol_on_gradient else np.abs(step) <= tol
            if np.all(small):
                break
            if in_place or not copy_path:
                x -= sign * step
            else:
                x = x - sign * step
            path.append(x.copy() if copy_path else x)
        return x, path

    return gradient_descent


def _max_rate_reference(A: Any) -> float:
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[-1])


def _max_rate_half(A: Any) -> float:
    return float(1.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[-1])


def _max_rate_smallest(A: Any) -> float:
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[0])


def _max_rate_diagonal(A: Any) -> float:
    return float(2.0 / np.max(np.diag(np.asarray(A, dtype=np.float64))))


SPECS: dict[str, FunctionSpec] = {
    "gradient_descent": Spec(
        function="gradient_descent",
        probe=probes.PROBES["gradient_descent"],
        reference=_descent_reference,
        variants={
            "uphill_sign_error": _descender(sign=-1.0),
            "start_missing_from_path": _descender(with_start=False),
            "tolerance_on_gradient": _descender(tol_on_gradient=True),
            "gradient_outside_loop": _descender(gradient_once=True),
            "argument_modified_in_place": _descender(in_place=True),
            "path_not_copied": _descender(copy_path=False),
        },
        banned=("gdcourse", "scipy", "torch.optim"),
        output_names=("x", "path"),
        hint="x = float64 copy of start, path = [copy of x]; each iteration: step = "
        "learn_rate * gradient(x); stop if every |step| <= tol; else x = x - step and append "
        "a copy. ValueError for learn_rate <= 0 or max_iter < 0.",
    ),
    "max_learning_rate": Spec(
        function="max_learning_rate",
        probe=probes.PROBES["max_learning_rate"],
        reference=_max_rate_reference,
        variants={
            "rate_bound_without_2": _max_rate_half,
            "smallest_eigenvalue": _max_rate_smallest,
            "diagonal_instead_of_eigenvalues": _max_rate_diagonal,
        },
        banned=("gdcourse", "scipy"),
        hints={
            "diagonal_instead_of_eigenvalues": "the diagonal of A is not its spectrum unless A "
            "is diagonal: use the largest eigenvalue (np.linalg.eigvalsh for a symmetric matrix).",
        },
        hint="gradient descent on 1/2 x^T A x multiplies the error along each eigenvector by "
        "(1 - learn_rate lambda); it converges from every start while learn_rate < "
        "2 / lambda_max.",
    ),
}
