"""The registry of misconceptions: stable names, each one used, none invented by a spec."""

from __future__ import annotations

import importlib

import pytest

from gdcourse.grading import checks
from gdcourse.grading.misconceptions import MISCONCEPTIONS, check_names, get_misconception

#: Feedback, reports and the tests' fixtures quote these names: never rename one.
NAMES = {
    "argument_modified_in_place",
    "betas_swapped",
    "bias_correction_from_zero",
    "bias_correction_missing",
    "cosine_not_clamped",
    "cosine_without_half_shift",
    "diagonal_instead_of_eigenvalues",
    "dw_db_swapped",
    "epsilon_inside_sqrt",
    "finite_differences_not_autograd",
    "float32_tensor",
    "forward_difference",
    "gradient_not_at_lookahead",
    "gradient_outside_loop",
    "gradients_not_zeroed",
    "loader_ignores_seed",
    "lookahead_points_returned",
    "lookahead_sign_error",
    "losses_after_update",
    "momentum_not_squared",
    "momentum_on_gradient",
    "mse_gradient_missing_factor_2",
    "path_not_copied",
    "rate_bound_without_2",
    "schedule_before_step",
    "second_moment_not_squared",
    "smallest_eigenvalue",
    "start_missing_from_path",
    "sum_instead_of_mean",
    "tensors_returned",
    "tolerance_on_gradient",
    "uphill_sign_error",
    "wrong_divisor",
    # ps8_logistic
    "bias_regularised",
    "labels_plus_minus_one",
    "loss_not_from_logits",
    "optimizer_recreated_each_step",
    "penalty_without_half",
    "residual_sign_error",
    "sigmoid_applied_twice",
    "sigmoid_cancellation",
    "sigmoid_overflow",
    "sigmoid_sign_error",
    "smoothness_without_quarter",
}


def test_the_registry_keeps_every_name() -> None:
    assert set(MISCONCEPTIONS) == NAMES
    for name, misconception in MISCONCEPTIONS.items():
        assert misconception.name == name
        assert misconception.hint.endswith((".", ")")) and len(misconception.hint) > 30


def test_every_registered_name_is_used_by_some_spec() -> None:
    used = {"argument_modified_in_place"}  # any judge names it when an argument changed
    for assignment in checks.known_assignments():
        specs = importlib.import_module(f"gdcourse.grading.specs.{assignment}").SPECS
        for spec in specs.values():
            assert set(spec.variants) <= set(MISCONCEPTIONS)
            assert set(spec.hints) <= set(spec.variants) | {"argument_modified_in_place"}
            used |= set(spec.variants)
    assert used == set(MISCONCEPTIONS)


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown misconception 'sum'; registered names: .*"):
        get_misconception("sum")
    with pytest.raises(ValueError, match=r"^ps9 variants: unknown misconception 'x'"):
        check_names(["uphill_sign_error", "x"], "ps9 variants")
    assert get_misconception("wrong_divisor") is MISCONCEPTIONS["wrong_divisor"]
