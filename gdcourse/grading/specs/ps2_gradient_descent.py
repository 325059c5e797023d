"""ps2_gradient_descent: the descent loop, and the largest learning rate that converges.

``gradient_descent`` cases name a gradient from :data:`GRADIENTS` (``"gradient"``,
with ``"A"`` for ``"quadratic"``) and give ``start`` (a number, or a list passed as a
float64 array unless ``"start_as": "list"``), ``learn_rate`` and optionally
``max_iter`` and ``tol``. ``max_learning_rate`` cases give the matrix ``"A"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from gdcourse import optimizers
from gdcourse.grading.protocol import Case, FunctionSpec, Misconception
from gdcourse.grading.specs import Arguments, Spec

__all__ = ["GRADIENTS", "SPECS"]

Array = np.ndarray

GRADIENTS: dict[str, Callable[[Array, Case], Any]] = {
    # f(x) = x^2 - 4x - 1 (minimum f(2) = -5)
    "parabola": lambda x, case: 2 * x - 4,
    # f(x) = 20 x^2
    "steep": lambda x, case: 40 * x,
    # f(x) = 4x^3 - 10x + 10, the seed's non-convex example (local minimum at sqrt(5/6))
    "cubic": lambda x, case: 12 * x**2 - 10,
    # f(x, y) = x^2 + y^2 / 2
    "bowl": lambda p, case: np.array([2 * p[0], p[1]]),
    # f(x, y) = (x + 1)^2 + y^2 / 2, minimum at (-1, 0)
    "shifted_bowl": lambda p, case: np.array([2 * (p[0] + 1), p[1]]),
    # f(x) = 1/2 x^T A x
    "quadratic": lambda p, case: np.array(case["A"], dtype=np.float64) @ p,
}


def _gradient(case: Case) -> Callable[[Any], Any]:
    name = case["gradient"]
    if name not in GRADIENTS:
        raise ValueError(f"case gradient must be one of {sorted(GRADIENTS)}, got {name!r}")
    rule = GRADIENTS[name]

    def gradient(x: Any) -> Any:
        return rule(np.asarray(x, dtype=np.float64), case)

    return gradient


def _descent_inputs(case: Case) -> Arguments:
    start: Any = case["start"]
    watched: dict[str, Any] = {}
    if isinstance(start, list) and case.get("start_as", "array") == "array":
        start = np.array(start, dtype=np.float64)
        watched["start"] = start
    kwargs = {key: case[key] for key in ("max_iter", "tol") if key in case}
    return Arguments((_gradient(case), start, case["learn_rate"]), kwargs, watched)


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


PATH_NOT_COPIED = Misconception(
    "path_not_copied",
    "the path holds the same array many times: x -= step changes x in place, so append "
    "a copy (path.append(x.copy())) or write x = x - step.",
)


def _max_rate_inputs(case: Case) -> Arguments:
    matrix = np.array(case["A"], dtype=np.float64)
    return Arguments((matrix,), watched={"A": matrix})


def _max_rate_reference(A: Any) -> float:
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[-1])


def _max_rate_half(A: Any) -> float:
    return float(1.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[-1])


def _max_rate_smallest(A: Any) -> float:
    return float(2.0 / np.linalg.eigvalsh(np.asarray(A, dtype=np.float64))[0])


def _max_rate_diagonal(A: Any) -> float:
    return float(2.0 / np.max(np.diag(np.asarray(A, dtype=np.float64))))


RATE_WITHOUT_2 = Misconception(
    "rate_bound_without_2",
    "1/L is a safe rate, but not the largest: along an eigenvector with eigenvalue L the "
    "error is multiplied by (1 - learn_rate L) each step, which shrinks while "
    "learn_rate < 2/L.",
)
SMALLEST_EIGENVALUE = Misconception(
    "smallest_eigenvalue",
    "the limit comes from the largest eigenvalue of A (the steepest direction), not the "
    "smallest: learn_rate < 2 / lambda_max.",
)
DIAGONAL_ONLY = Misconception(
    "diagonal_instead_of_eigenvalues",
    "the diagonal of A is not its spectrum unless A is diagonal: use the largest "
    "eigenvalue (np.linalg.eigvalsh for a symmetric matrix).",
)

SPECS: dict[str, FunctionSpec] = {
    "gradient_descent": Spec(
        function="gradient_descent",
        inputs=_descent_inputs,
        reference=_descent_reference,
        variants_by_name={
            "uphill_sign_error": _descender(sign=-1.0),
            "start_missing_from_path": _descender(with_start=False),
            "tolerance_on_gradient": _descender(tol_on_gradient=True),
            "gradient_outside_loop": _descender(gradient_once=True),
            "argument_modified_in_place": _descender(in_place=True),
            PATH_NOT_COPIED: _descender(copy_path=False),
        },
        forbidden=("gdcourse", "scipy.optimize", "torch.optim"),
        output_names=("x", "path"),
        hint="x = float64 copy of start, path = [copy of x]; each iteration: step = "
        "learn_rate * gradient(x); stop if every |step| <= tol; else x = x - step and append "
        "a copy. ValueError for learn_rate <= 0 or max_iter < 0.",
    ),
    "max_learning_rate": Spec(
        function="max_learning_rate",
        inputs=_max_rate_inputs,
        reference=_max_rate_reference,
        variants_by_name={
            RATE_WITHOUT_2: _max_rate_half,
            SMALLEST_EIGENVALUE: _max_rate_smallest,
            DIAGONAL_ONLY: _max_rate_diagonal,
        },
        forbidden=("gdcourse", "scipy"),
        hint="gradient descent on 1/2 x^T A x multiplies the error along each eigenvector by "
        "(1 - learn_rate lambda); it converges from every start while learn_rate < "
        "2 / lambda_max.",
    ),
}
