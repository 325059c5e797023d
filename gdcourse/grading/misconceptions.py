"""The one registry of named mistakes that feedback can recognise.

A :class:`Misconception` is a mistake with a name (``sum_instead_of_mean``) and
the hint a student gets when their answer shows it. The names are stable: they
appear in feedback, in the instructor's report and in the tests' fixtures, so a
name is never changed once used. Every assignment's spec names its wrong
implementations ("variants") by these names only; a spec may word the hint of a
registered name in its own terms (``spec.hints``), but it cannot invent a name:
:func:`get_misconception` refuses unknown names with the list of known ones.

>>> get_misconception("sum_instead_of_mean").name
'sum_instead_of_mean'
>>> get_misconception("sum_instead_of_the_mean")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
ValueError: unknown misconception 'sum_instead_of_the_mean'; registered names: ...
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MISCONCEPTIONS", "Misconception", "check_names", "get_misconception"]


@dataclass(frozen=True)
class Misconception:
    """A named mistake, with the hint a student gets when their answer shows it."""

    name: str
    hint: str


_ALL = [
    # ------------------------------------------------------------ every descent loop
    Misconception(
        "uphill_sign_error",
        "the update steps uphill: gradient descent subtracts the scaled gradient, "
        "x_new = x - learn_rate * gradient(x).",
    ),
    Misconception(
        "gradient_outside_loop",
        "the gradient is computed once, before the loop: it changes with the parameters, "
        "so compute it again in every iteration.",
    ),
    Misconception(
        "losses_after_update",
        "the losses are recorded after the update: losses[i] is the loss at the "
        "parameters *before* update i, so losses[0] is the loss at the start.",
    ),
    Misconception(
        "start_missing_from_path",
        "the start point is missing from the path: path[0] must be the start.",
    ),
    Misconception(
        "tolerance_on_gradient",
        "the tolerance is tested on the gradient instead of the step: stop when every "
        "|learn_rate * gradient(x)| <= tol.",
    ),
    Misconception(
        "path_not_copied",
        "the path holds the same array many times: x -= step changes x in place, so append "
        "a copy (path.append(x.copy())) or write x = x - step.",
    ),
    Misconception(
        "argument_modified_in_place",
        "an argument was modified in place: work on a copy (np.array(x, dtype=float) "
        "copies; x -= ... or x[i] += ... on the caller's array changes it).",
    ),
    # ------------------------------------------------------------ losses and their gradients
    Misconception(
        "mse_gradient_missing_factor_2",
        "the MSE gradient misses its factor 2: d/dw mean((b + w x - y)^2) = "
        "2 mean((b + w x - y) x).",
    ),
    Misconception(
        "sum_instead_of_mean",
        "a sum is used where a mean belongs, so the result is n times too large: "
        "divide by the number of samples (np.mean).",
    ),
    Misconception(
        "dw_db_swapped",
        "dw and db (or w and b) are swapped: dw carries the factor x, db does not.",
    ),
    # ------------------------------------------------------------ numerical and autograd gradients
    Misconception(
        "forward_difference",
        "this is a forward difference (f(x + h e_j) - f(x)) / h: use the central "
        "difference (f(x + h e_j) - f(x - h e_j)) / (2 h), which is far more accurate.",
    ),
    Misconception(
        "wrong_divisor",
        "the divisor is wrong: the two evaluation points x + h e_j and x - h e_j are "
        "2 h apart, so divide by 2 h.",
    ),
    Misconception(
        "finite_differences_not_autograd",
        "this looks like finite differences, not autograd: make x a float64 tensor with "
        "requires_grad=True, call f(x).backward() and return x.grad as a NumPy array.",
    ),
    Misconception(
        "float32_tensor",
        "the gradient was computed in float32: torch.tensor(a_list) is float32, so create the "
        "tensor with dtype=torch.float64 (torch.tensor(x, dtype=torch.float64)).",
    ),
    # ------------------------------------------------------------ PyTorch
    Misconception(
        "gradients_not_zeroed",
        "the gradients are not zeroed between steps: backward() adds to .grad, so call "
        ".grad.zero_() (or optimizer.zero_grad()) in every step.",
    ),
    Misconception(
        "tensors_returned",
        "torch tensors came back where plain numbers or NumPy arrays are asked for: "
        "convert with .item() (a float) or .detach().numpy() (an array).",
    ),
    Misconception(
        "loader_ignores_seed",
        "the loader ignores its seed: shuffle with a torch.Generator seeded by `seed` "
        "(DataLoader(..., shuffle=True, generator=g)).",
    ),
    # ------------------------------------------------------------ learning rates and momentum
    Misconception(
        "rate_bound_without_2",
        "1/L is a safe rate, but not the largest: along an eigenvector with eigenvalue L the "
        "error is multiplied by (1 - learn_rate L) each step, which shrinks while "
        "learn_rate < 2/L.",
    ),
    Misconception(
        "smallest_eigenvalue",
        "the limit comes from the largest eigenvalue of A (the steepest direction), not the "
        "smallest: learn_rate < 2 / lambda_max.",
    ),
    Misconception(
        "diagonal_instead_of_eigenvalues",
        "the diagonal of A is not its spectrum unless A is diagonal: use the eigenvalues of A "
        "(np.linalg.eigvalsh for a symmetric matrix).",
    ),
    Misconception(
        "momentum_on_gradient",
        "momentum is applied to the gradient instead of the velocity: "
        "v = momentum * v - learn_rate * gradient(x), then x = x + v.",
    ),
    Misconception(
        "momentum_not_squared",
        "the momentum of the heavy-ball method is the *square* "
        "((sqrt(L) - sqrt(mu)) / (sqrt(L) + sqrt(mu)))**2; without the square it is the "
        "momentum of Nesterov's method, a different algorithm.",
    ),
    # ------------------------------------------------------------ Nesterov, Adam and schedules
    Misconception(
        "gradient_not_at_lookahead",
        "the gradient is taken at the current point x: that is the heavy ball, not Nesterov. "
        "Nesterov's method takes it at the look-ahead point, where the momentum is about to "
        "carry x: v = momentum * v - rate * gradient(x + momentum * v), then x = x + v.",
    ),
    Misconception(
        "lookahead_sign_error",
        "the look-ahead point lies on the wrong side of x: the sign convention of the velocity "
        "got mixed. With a velocity v that is added to x (v = momentum * v - rate * g) the "
        "look-ahead point is x + momentum * v; with PyTorch's buffer u, which is subtracted "
        "(x = x - rate * u), it is x - rate * momentum * u. Keep one convention.",
    ),
    Misconception(
        "lookahead_points_returned",
        "the path holds the look-ahead points x_k + momentum * v_k (what PyTorch's "
        "SGD(nesterov=True) keeps as its parameter), not the iterates x_k: the look-ahead "
        "point is only where the gradient is taken; x = x + v is what the path records.",
    ),
    Misconception(
        "schedule_before_step",
        "the learning rates are shifted by one step: update k (k = 0, 1, ...) uses the rate "
        "eta_k of the schedule, so the first update uses eta_0. Calling the schedule with "
        "k + 1, like PyTorch's scheduler.step() before optimizer.step(), skips the first rate.",
    ),
    Misconception(
        "bias_correction_missing",
        "Adam's bias correction is missing: m and s start at 0, so at update k = 0, 1, ... "
        "divide m by (1 - beta1**(k + 1)) and s by (1 - beta2**(k + 1)). Without it the early "
        "steps are several times too large (about 3.2 times at the first step with the "
        "default betas).",
    ),
    Misconception(
        "bias_correction_from_zero",
        "the bias correction counts updates from 0: at the first update 1 - beta1**0 = 0, and "
        "the division gives inf or nan. The exponent counts the updates including this one: "
        "k + 1 at update k, starting from k = 0.",
    ),
    Misconception(
        "epsilon_inside_sqrt",
        "eps belongs outside the square root: m_hat / (np.sqrt(s_hat) + eps). Inside it, "
        "np.sqrt(s_hat + eps) adds up to sqrt(eps) (1e-4 for eps = 1e-8) to the denominator "
        "and shrinks the steps wherever the gradients are small.",
    ),
    Misconception(
        "betas_swapped",
        "beta1 and beta2 are swapped: betas = (beta1, beta2), where beta1 (0.9 by default) "
        "averages the gradient, m = beta1 * m + (1 - beta1) * g, and beta2 (0.999) its square, "
        "s = beta2 * s + (1 - beta2) * g**2.",
    ),
    Misconception(
        "second_moment_not_squared",
        "s must average the *squared* gradient, component by component: "
        "s = beta2 * s + (1 - beta2) * g**2. Averaging g itself gives s that can be negative, "
        "whose square root is nan.",
    ),
    Misconception(
        "cosine_without_half_shift",
        "the cosine factor must fall from 1 to 0: (1 + cos(pi * t / total)) / 2. "
        "cos(pi * t / total) alone falls to -1, so the rates of the second half are below "
        "eta_min, even negative.",
    ),
    Misconception(
        "cosine_not_clamped",
        "after total steps the rate must stay at eta_min: use min(t, total) in the cosine. "
        "Left alone the cosine rises again after total (as PyTorch's CosineAnnealingLR does, "
        "a restart nobody asked for here).",
    ),
    # ------------------------------------------------------------ logistic regression
    Misconception(
        "sigmoid_overflow",
        "np.exp(o) overflows to inf for o above about 709, and inf / (1 + inf) is nan: use "
        "exp(o) / (1 + exp(o)) only where o < 0, and 1 / (1 + exp(-o)) where o >= 0, so that "
        "exp never sees a large positive argument.",
    ),
    Misconception(
        "sigmoid_sign_error",
        "the sign in the exponent is flipped: sigmoid(o) = 1 / (1 + exp(-o)), which is above "
        "1/2 for o > 0; 1 / (1 + exp(o)) is sigmoid(-o).",
    ),
    Misconception(
        "sigmoid_cancellation",
        "1 - sigmoid(-o) is exact in algebra but not in floating point: for o = -40 it "
        "subtracts two numbers that both round to 1 and gives 0 instead of 4e-18. For o < 0 "
        "compute exp(o) / (1 + exp(o)) directly.",
    ),
    Misconception(
        "residual_sign_error",
        "the gradient has the wrong sign: the derivative of log(1 + e^o) - y o is "
        "sigmoid(o) - y, predictions minus labels, so the gradient is X^T (sigmoid(o) - y) / n; "
        "y - sigmoid(o) points uphill.",
    ),
    Misconception(
        "bias_regularised",
        "the bias is regularised too: the penalty alpha / 2 * ||w||^2 holds the weights only, "
        "so the bias's gradient has no alpha * b (penalising b would pull the decision "
        "boundary towards the origin for no reason).",
    ),
    Misconception(
        "penalty_without_half",
        "the penalty is alpha / 2 * ||w||^2, whose gradient is alpha * w: alpha * ||w||^2 "
        "(with gradient 2 alpha w) is twice the asked regularisation.",
    ),
    Misconception(
        "labels_plus_minus_one",
        "log(1 + exp(-y o)) is the loss for labels -1 and 1; here the labels are 0 and 1, where "
        "it gives log 2 for every y = 0. With labels 0 and 1 the loss of one observation is "
        "log(1 + e^o) - y o (or convert the labels with 2 y - 1 first).",
    ),
    Misconception(
        "loss_not_from_logits",
        "the cross-entropy is computed from probabilities: once sigmoid(o) rounds to 0 or 1, "
        "its log is minus infinity (or clamped) and the loss and gradient are wrong. Compute "
        "it from the logits o: log(1 + e^o) - y o (np.logaddexp(0, o) - y * o, "
        "nn.BCEWithLogitsLoss).",
    ),
    Misconception(
        "smoothness_without_quarter",
        "the Hessian of the mean cross-entropy is X^T S X / n with S's entries "
        "sigmoid(o)(1 - sigmoid(o)) <= 1/4, so L = lambda_max(X1^T X1) / (4 n) (+ alpha): "
        "without the 1/4 the learning rate 1/L is four times too small.",
    ),
    Misconception(
        "sigmoid_applied_twice",
        "the sigmoid is applied twice: nn.BCEWithLogitsLoss applies it itself, so give it the "
        "logits model(X), not torch.sigmoid(model(X)).",
    ),
    Misconception(
        "optimizer_recreated_each_step",
        "the optimizer is created inside the loop: momentum's velocity and Adam's averages "
        "(and its bias-correction count) start again from zero at every step. Create the "
        "optimizer once, before the loop.",
    ),
]

MISCONCEPTIONS: dict[str, Misconception] = {m.name: m for m in _ALL}
"""Every misconception any assignment names, by name."""

if len(MISCONCEPTIONS) != len(_ALL):  # pragma: no cover - a duplicate is a programming error
    raise RuntimeError("a misconception name is registered twice")


def get_misconception(name: str) -> Misconception:
    """The registered misconception called ``name``; ``ValueError`` for any other name."""
    found = MISCONCEPTIONS.get(name) if isinstance(name, str) else None
    if found is None:
        raise ValueError(
            f"unknown misconception {name!r}; "
            f"registered names: {', '.join(sorted(MISCONCEPTIONS))}"
        )
    return found


def check_names(names: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming ``where`` when any of ``names`` is not registered.

    >>> check_names(["uphill_sign_error"], "ps2 gradient_descent variants")
    >>> check_names(["uphill"], "ps2 gradient_descent variants")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ps2 gradient_descent variants: unknown misconception 'uphill'; registered ...
    """
    for name in names:
        try:
            get_misconception(name)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
