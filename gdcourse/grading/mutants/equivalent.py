"""Equivalent mutants, reviewed: each changes the code but cannot change any result.

A mutant that scores full marks and is not listed here is a survivor: the checks (or this
list) must be fixed. Each entry is the mutant's id (``function/operator/digest``, the
digest being of the mutant's whole cell, so an entry goes stale when the master's solution
changes and must be reviewed again) and a one-line reason a reviewer can verify against
the diff shown in ``mutation/<assignment>.md``.
"""

from __future__ import annotations

__all__ = ["EQUIVALENT"]

EQUIVALENT: dict[str, str] = {
    "numerical_gradient/in_place_or_copy/77818281d4": "point is never changed in place (point +- step are new arrays): aliasing x shows nowhere",  # noqa: E501
    "gradient_descent/in_place_or_copy/154fad8ca1": "x is only rebound (x = x - step), never changed in place: aliasing start shows nowhere",  # noqa: E501
    "gradient_descent/in_place_or_copy/9d54aec5b4": "x is rebound by the update, never changed in place: path[0] keeps the start all the same",  # noqa: E501
    "gradient_descent/in_place_or_copy/cd09aa57b3": "x is the function's own copy and every point appended is a copy: updating it in place shows nowhere",  # noqa: E501
    "gradient_descent/in_place_or_copy/abe32d2042": "x is rebound by the next update, never changed in place: the appended array stays as it was",  # noqa: E501
    "gradient_descent/keyword_dropped/945924a081": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "gradient_descent/conversion_dropped/48e20305a0": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "gradient_descent/compare_op/857fd8302e": "differs only when a step equals tol exactly, a knife edge the checks avoid on purpose (rounding)",  # noqa: E501
    "gradient_descent/call_swapped/29e4550a6a": "once |step| <= tol, x no longer changes, so every later iteration skips too: same x and path",  # noqa: E501
    "max_learning_rate/keyword_dropped/a8d8b497b2": "eigvalsh computes in float64 whatever the dtype of A: the conversion is a no-op",  # noqa: E501
    "max_learning_rate/conversion_dropped/e4418b6c3e": "eigvalsh converts A (array or nested list) itself and never changes it",  # noqa: E501
    "mse/operands_swapped/cd50fd188a": "(y - y_pred) ** 2 equals (y_pred - y) ** 2 exactly, element by element",  # noqa: E501
    "mse/keyword_dropped/91ee4340fa": "one float64 operand makes the difference float64, whatever the other's dtype",  # noqa: E501
    "mse/keyword_dropped/cb2fd29fce": "one float64 operand makes the difference float64, whatever the other's dtype",  # noqa: E501
    "mse/conversion_dropped/644bde66ed": "subtracting from a float64 array converts a list or array y_pred too: one conversion suffices",  # noqa: E501
    "mse/conversion_dropped/216a113410": "subtracting a list or array y from a float64 array converts it: one conversion suffices",  # noqa: E501
    "predict/keyword_dropped/ec9861d2db": "w and b are floats, so b + w * x is a new float64 array for any numeric x",  # noqa: E501
    "mse_gradient/keyword_dropped/21c88dbf54": "w and b are floats, so the residual is float64 whatever the dtype of x",  # noqa: E501
    "mse_gradient/keyword_dropped/fb3d70c52b": "w and b are floats, so the residual is float64 whatever the dtype of y",  # noqa: E501
    "mse_gradient/conversion_dropped/2d3f5fc908": "subtracting a list or array y from the float64 prediction converts it",  # noqa: E501
    "fit/statement_dropped/512b597ccc": "y is only subtracted from a float64 array, which converts a list or array y itself",  # noqa: E501
    "fit/keyword_dropped/118b76ebfc": "w and b are floats, so every product with x is float64 whatever the dtype of x",  # noqa: E501
    "fit/keyword_dropped/74c31083df": "y is only subtracted from a float64 array: the result is float64 whatever the dtype of y",  # noqa: E501
    "fit/conversion_dropped/b0ea3b9e93": "y is only subtracted from a float64 array, which converts a list or array y itself",  # noqa: E501
    "train_autograd/operands_swapped/d81646c0f0": "(y - (b + w x)) ** 2 equals (b + w x - y) ** 2 exactly: same loss, same gradients",  # noqa: E501
    "train_minibatch/operands_swapped/6497b87952": "(Y - prediction) ** 2 equals (prediction - Y) ** 2 exactly: same loss, same gradients",  # noqa: E501
    "train_model/arguments_swapped/af926f8044": "MSELoss is symmetric in its two arguments: same loss, same gradients",  # noqa: E501
    "gradient_descent_momentum/in_place_or_copy/aa258ff4c6": "x is only rebound (x = x + v), never changed in place: aliasing start shows nowhere",  # noqa: E501
    "gradient_descent_momentum/in_place_or_copy/557892ff90": "x is rebound by the update, never changed in place: path[0] keeps the start all the same",  # noqa: E501
    "gradient_descent_momentum/in_place_or_copy/1845a5bb4f": "x is the function's own copy and every point appended is a copy: updating it in place shows nowhere",  # noqa: E501
    "gradient_descent_momentum/in_place_or_copy/d4df1200a7": "x is rebound by the next update, never changed in place: the appended array stays as it was",  # noqa: E501
    "gradient_descent_momentum/keyword_dropped/f42dda54fb": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "gradient_descent_momentum/conversion_dropped/d4d5075e4b": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "gradient_descent_momentum/compare_op/38808f751a": "differs only when a step equals tol exactly, a knife edge the checks avoid on purpose (rounding)",  # noqa: E501
    "optimal_momentum_parameters/operands_swapped/cef8e115a0": "both formulas are symmetric in sqrt(L) and sqrt(mu) (a sum; a squared difference)",  # noqa: E501
    "optimal_momentum_parameters/operands_swapped/01eb93dfe1": "the difference is squared: (sqrt(mu) - sqrt(L)) ** 2 equals (sqrt(L) - sqrt(mu)) ** 2",  # noqa: E501
    "optimal_momentum_parameters/in_place_or_copy/f020b9c598": "eigvalsh never changes its argument: aliasing A shows nowhere",  # noqa: E501
    "optimal_momentum_parameters/keyword_dropped/31559c4921": "eigvalsh computes in float64 whatever the dtype of A: the conversion is a no-op",  # noqa: E501
    "optimal_momentum_parameters/conversion_dropped/548c0f9d84": "eigvalsh converts A (array or nested list) itself and never changes it",  # noqa: E501
    "cosine_schedule/guard_dropped/44aed5af63": "the eta_min check 0 <= eta_min < eta0 already rejects every eta0 <= 0 (same ValueError)",  # noqa: E501
    "cosine_schedule/guard_boundary/b731f17316": "the eta_min check 0 <= eta_min < eta0 already rejects eta0 = 0 (same ValueError)",  # noqa: E501
    "cosine_schedule/constant/c7242092db": "the eta_min check 0 <= eta_min < eta0 already rejects every eta0 <= 0 (same ValueError)",  # noqa: E501
    "cosine_schedule/statement_dropped/4a317c7bc9": "the eta_min check 0 <= eta_min < eta0 already rejects every eta0 <= 0 (same ValueError)",  # noqa: E501
    "cosine_schedule/arguments_swapped/5cd5db36cb": "min is symmetric: min(total, t) == min(t, total)",  # noqa: E501
    "nesterov_momentum/in_place_or_copy/c0c4fb6a01": "x is only rebound (x = x + v), never changed in place: aliasing start shows nowhere",  # noqa: E501
    "nesterov_momentum/in_place_or_copy/3bb4113c1a": "x is rebound by the update, never changed in place: path[0] keeps the start all the same",  # noqa: E501
    "nesterov_momentum/in_place_or_copy/ee79196634": "x is the function's own copy and every point appended is a copy: updating it in place shows nowhere",  # noqa: E501
    "nesterov_momentum/in_place_or_copy/55e92dcafd": "x is rebound by the next update, never changed in place: the appended array stays as it was",  # noqa: E501
    "nesterov_momentum/keyword_dropped/6dd13349ab": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "nesterov_momentum/conversion_dropped/d4fe680c4d": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "adam/in_place_or_copy/72b6ad9c2e": "x is only rebound (x = x - step), never changed in place: aliasing start shows nowhere",  # noqa: E501
    "adam/in_place_or_copy/0b4fbad829": "x is rebound by the update, never changed in place: path[0] keeps the start all the same",  # noqa: E501
    "adam/in_place_or_copy/e24b8dcf64": "x is the function's own copy and every point appended is a copy: updating it in place shows nowhere",  # noqa: E501
    "adam/in_place_or_copy/685c5d9552": "x is rebound by the next update, never changed in place: the appended array stays as it was",  # noqa: E501
    "adam/keyword_dropped/ce74bfcd29": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "adam/conversion_dropped/173e7d50e5": "the gradient the text describes returns float64 already: the conversion is a no-op",  # noqa: E501
    "predict/float32/4c7d972c82": "float32 work is accepted here: the course's float64 tolerance (rtol 1e-6) holds it, as test_checks requires",  # noqa: E501
    "mse/float32/c065c06e6f": "float32 work is accepted here: the course's float64 tolerance (rtol 1e-6) holds it, as test_checks requires",  # noqa: E501
    "fit/float32/037e2ec528": "float32 work is accepted here: the course's float64 tolerance (rtol 1e-6) holds it, as test_checks requires",  # noqa: E501
    "gradient_descent/float32/01cc75b204": "float32 work is accepted here: the course's float64 tolerance (rtol 1e-6) holds it, as test_checks requires",  # noqa: E501
    "max_learning_rate/float32/045af34650": "float32 work is accepted here: the course's float64 tolerance (rtol 1e-6) holds it, as test_checks requires",  # noqa: E501
    "train_autograd/keyword_dropped/ddb9fcd8b8": "float32 w on float64 data stays within the float64 tolerance (rtol 1e-6): float32 work is accepted",  # noqa: E501
    "train_autograd/keyword_dropped/bef9e22bb1": "float32 b on float64 data stays within the float64 tolerance (rtol 1e-6): float32 work is accepted",  # noqa: E501
    "gradient_descent_momentum/keyword_dropped/5d2112bed6": "an int start gives an int path[0] of the same values: this spec checks the points' values, not their dtype",  # noqa: E501
    "nesterov_momentum/keyword_dropped/5463deec46": "an int start gives an int path[0] of the same values: this spec checks the points' values, not their dtype",  # noqa: E501
    "adam/keyword_dropped/916c2f3082": "an int start gives an int path[0] of the same values: this spec checks the points' values, not their dtype",  # noqa: E501
    "sigmoid/compare_op/331f57ca60": "at o = 0 both branches give 0.5 (e = 1): choosing the second there changes nothing",  # noqa: E501
    "loss_and_grad/compare_op/f97fb509a1": "at o = 0 both branches give 0.5 (e = 1): choosing the second there changes nothing",  # noqa: E501
    "fit_gd/compare_op/a374cfa6f5": "at o = 0 both branches give 0.5 (e = 1): choosing the second there changes nothing",  # noqa: E501
    "loss_and_grad/arguments_swapped/a8a3e8d2e0": "logaddexp is symmetric: logaddexp(o, 0) == logaddexp(0, o)",  # noqa: E501
    "fit_gd/arguments_swapped/b4591d5606": "logaddexp is symmetric: logaddexp(o, 0) == logaddexp(0, o)",  # noqa: E501
    "fit_gd/operands_swapped/3052ab6e02": "X1 X1^T and X1^T X1 have the same nonzero eigenvalues: the same largest one",  # noqa: E501
    "fit_gd/in_place_or_copy/d458484976": "w is the function's own array (np.zeros), rebound or updated: nothing else holds it",  # noqa: E501
    "fit_gd/in_place_or_copy/aef129ba09": "b is a Python float: b -= ... rebinds it exactly as b = b - ... does",  # noqa: E501
    "loss_and_grad/keyword_dropped/e4a3f48c78": "X only meets float64 arrays (w, the residual) in @, which computes in float64 for any int, bool or float32 X",  # noqa: E501
    "loss_and_grad/keyword_dropped/626cc39c36": "y is only compared with 0 and 1 and subtracted from or multiplied by float64 arrays: float64 for any int, bool or float32 y",  # noqa: E501
    "fit_gd/keyword_dropped/f7118803cf": "X only meets float64 arrays (ones, w, the residual) in column_stack and @: float64 for any int, bool or float32 X",  # noqa: E501
    "fit_gd/keyword_dropped/b5557dd727": "y is only compared with 0 and 1 and subtracted from or multiplied by float64 arrays: float64 for any int, bool or float32 y",  # noqa: E501
}
