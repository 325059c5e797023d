"""What is particular to ps7_adaptive: references built on torch.optim, checked three ways.

The judge's public references run PyTorch's optimizers and schedulers, translated to the
book's conventions. These tests check the translation against gdcourse's own
implementations (which tests/test_optimizers.py checks against torch.optim in PyTorch's
conventions) and against PyTorch used the plain way, that the master agrees with both on
every case, that every mistake is named as itself wherever it shows (no two variants are
confused, even where both give nan), and that the numbers the notebook states are true.
The generic checks (variants named, fixtures caught, malformed data) are in
test_specs_ps456.py, which runs over ps7 too.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from gdcourse import optimizers, schedules
from gdcourse.datasets import thermometer
from gdcourse.grading import checks, masters
from gdcourse.grading.probes import ps7_adaptive as probes

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "ps7_adaptive"
MASTER = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"


def _cases(function: str, hidden: bool | None = None) -> list[dict[str, Any]]:
    cells = json.loads(MASTER.read_text(encoding="utf-8"))["cells"]
    found = []
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            call = checks.parse_check_call("".join(cell["source"]))
            if call.function == function and hidden in (None, call.hidden):
                found.extend(call.cases)
    return found


def _runs(function: str) -> list[dict[str, Any]]:
    """The cases on which the function returns (no ValueError expected)."""
    spec = checks.get_spec(ASSIGNMENT, function)
    return [
        case
        for case in _cases(function)
        if checks.decoded(checks.probe_safely(spec, spec.reference, case))["raised"] is None
    ]


def _call(function: str, fn: Any, case: dict[str, Any]) -> Any:
    inputs = probes.nesterov_inputs if function == "nesterov_momentum" else probes.adam_inputs
    built = inputs(case)
    return fn(*built.args, **built.kwargs)


def _gdcourse_rate(case: dict[str, Any]) -> Any:
    """The case's learning rate as gdcourse.schedules builds it."""
    rate = case["learning_rate"]
    if not isinstance(rate, dict):
        return rate
    ((kind, parameters),) = rate.items()
    if kind == "step_decay":
        return schedules.step_decay(
            parameters["eta0"], factor=parameters["factor"], every=parameters["every"]
        )
    if kind == "cosine":
        return schedules.cosine(
            parameters["eta0"], total=parameters["total"], eta_min=parameters.get("eta_min", 0.0)
        )
    return schedules.inverse_time(parameters["eta0"], decay=parameters["decay"])


def _gdcourse_path(function: str, case: dict[str, Any]) -> np.ndarray:
    """The same run by gdcourse.optimizers (the book's conventions), path padded with its
    last point where the run stopped on an exactly zero step."""
    built = (probes.nesterov_inputs if function == "nesterov_momentum" else probes.adam_inputs)(
        case
    )
    gradient, start = built.args
    options = {k: v for k, v in built.kwargs.items() if k not in ("learning_rate", "steps")}
    method = optimizers.nesterov if function == "nesterov_momentum" else optimizers.adam
    run = method(
        gradient,
        start,
        learning_rate=_gdcourse_rate(case),
        max_iter=case["steps"],
        tol=0.0,
        divergence_threshold=1e300,
        **options,
    )
    path = run.path
    missing = case["steps"] + 1 - len(path)
    return np.concatenate([path, np.repeat(path[-1:], missing, axis=0)]) if missing else path


# ------------------------------------------------------------------ the references


@pytest.mark.parametrize("function", ["nesterov_momentum", "adam"])
def test_torch_references_equal_gdcourse_and_the_master_on_every_case(function: str) -> None:
    spec = checks.get_spec(ASSIGNMENT, function)
    master = masters.load_reference(ASSIGNMENT, function, ROOT)
    cases = _runs(function)
    assert len(cases) >= 8
    for case in cases:
        theirs = np.array(_call(function, spec.reference, case)[1])
        ours = np.array(_call(function, master, case)[1])
        book = _gdcourse_path(function, case)
        assert theirs.shape == ours.shape == book.shape == (case["steps"] + 1, *ours.shape[1:])
        np.testing.assert_allclose(theirs, book, rtol=1e-10, atol=1e-12, err_msg=str(case))
        np.testing.assert_allclose(ours, book, rtol=1e-10, atol=1e-12, err_msg=str(case))


def test_nesterov_reference_is_torch_look_ahead_for_a_constant_rate() -> None:
    """Used the plain way, PyTorch's parameters are the look-ahead points x_k + beta v_k."""
    reference = checks.get_spec(ASSIGNMENT, "nesterov_momentum").reference
    A = np.array([[1.0, 0.0], [0.0, 100.0]])
    _, path = reference(lambda x: A @ x, [-10.0, 3.0], learning_rate=0.01, momentum=0.9, steps=100)
    path = np.array(path)
    p = torch.tensor([-10.0, 3.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.01, momentum=0.9, nesterov=True)
    theirs = [p.detach().numpy().copy()]
    for _ in range(100):
        p.grad = torch.as_tensor(A @ p.detach().numpy())
        optimizer.step()
        theirs.append(p.detach().numpy().copy())
    look_ahead = path[1:] + 0.9 * np.diff(path, axis=0)
    np.testing.assert_allclose(look_ahead, np.array(theirs)[1:], rtol=1e-12, atol=1e-12)
    assert np.abs(path - np.array(theirs)).max() > 0.1, "iterates and look-ahead points differ"


def test_under_a_schedule_pytorch_nesterov_used_plainly_is_another_method() -> None:
    """Why the reference feeds eta_k * gradient with lr=1: PyTorch with a scheduler scales
    the whole buffer by the current rate, which is not the book's velocity."""
    reference = checks.get_spec(ASSIGNMENT, "nesterov_momentum").reference
    A = np.array([[1.0, 0.0], [0.0, 10.0]])
    rate = probes.schedule_of({"step_decay": {"eta0": 0.05, "factor": 0.5, "every": 1}})
    _, path = reference(lambda x: A @ x, [1.0, 1.0], learning_rate=rate, momentum=0.9, steps=8)
    p = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=1.0, momentum=0.9, nesterov=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, rate)
    buffer = np.zeros(2)
    for _ in range(8):
        p.grad = torch.as_tensor(A @ p.detach().numpy())
        optimizer.step()
        scheduler.step()
        buffer = optimizer.state[p]["momentum_buffer"].numpy()
    plain_x = p.detach().numpy() + 0.9 * rate(7) * buffer
    assert np.abs(plain_x - path[-1]).max() > 1e-3


def test_cosine_reference_equals_gdcourse_and_holds_after_total() -> None:
    reference = checks.get_spec(ASSIGNMENT, "cosine_schedule").reference
    for eta0, total, eta_min in [(0.3, 100, 0.0), (2.0, 1, 0.0), (0.5, 7, 0.05)]:
        ours = reference(eta0, total=total, eta_min=eta_min)
        book = schedules.cosine(eta0, total=total, eta_min=eta_min)
        rates = [ours(t) for t in range(total + 20)]
        np.testing.assert_allclose(rates, [book(t) for t in range(total + 20)], atol=1e-15)
        assert rates[total:] == [eta_min] * 20


def test_probe_schedules_equal_gdcourse_schedules() -> None:
    descriptions = {
        "step_decay": {"eta0": 0.3, "factor": 0.7, "every": 3},
        "cosine": {"eta0": 0.5, "total": 7, "eta_min": 0.05},
        "inverse_time": {"eta0": 0.5, "decay": 1.0},
    }
    for kind, parameters in descriptions.items():
        rate = probes.schedule_of({kind: parameters})
        book = _gdcourse_rate({"learning_rate": {kind: parameters}})
        assert [rate(k) for k in range(30)] == pytest.approx([book(k) for k in range(30)])


@pytest.mark.parametrize(
    "description",
    [{"linear": {"eta0": 1.0}}, {"cosine": {"eta0": 1.0, "total": 3}, "step_decay": {}}, {}],
)
def test_unknown_schedules_are_refused_clearly(description: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="learning_rate must name one schedule of step_decay"):
        probes.schedule_of(description)


# ------------------------------------------------------------------ the mistakes


@pytest.mark.parametrize("function", ["cosine_schedule", "nesterov_momentum", "adam"])
def test_every_mistake_is_named_as_itself_wherever_it_shows(function: str) -> None:
    """On every case where a variant fails, feedback names that variant's misconception
    and no other: bias correction from 0 and s averaging g both give nan, for instance, so
    the cases start where the first gradient is positive somewhere."""
    spec = checks.get_spec(ASSIGNMENT, function)
    reference = checks.public_reference(spec)
    for name, variant in spec.variants.items():
        for case in _cases(function):
            verdict = checks.judge_case(
                spec, case, checks.probe_safely(spec, variant, case), reference
            )
            assert verdict.passed or verdict.misconception == name, (name, case, verdict)


def test_schedule_mistakes_need_a_schedule_and_momentum_mistakes_momentum() -> None:
    """The cases are not blind: a shifted schedule is invisible at a constant rate, the
    look-ahead mistakes at momentum 0, so the cases hold both kinds."""
    cases = _cases("nesterov_momentum")
    assert any(isinstance(c["learning_rate"], dict) for c in cases)
    assert any(c.get("momentum", 0.9) == 0 for c in cases)
    spec = checks.get_spec(ASSIGNMENT, "nesterov_momentum")
    shifted = spec.variants["schedule_before_step"]
    for case in cases:
        if not isinstance(case["learning_rate"], dict):
            verdict = checks.judge_case(
                spec, case, checks.probe_safely(spec, shifted, case), spec.reference
            )
            assert verdict.passed, case


# ------------------------------------------------------------------ what the texts claim


def test_the_uncorrected_first_step_is_about_3_2_times_too_long() -> None:
    """The registry's hint of bias_correction_missing, with the default betas."""
    assert round((1 - 0.9) / math.sqrt(1 - 0.999), 1) == 3.2


def test_what_the_notebook_says_about_the_raw_thermometer_data() -> None:
    """Its last section: the gradient's components at 0 differ by about 65; Adam at
    learning rate 1 reaches the line within a few hundred updates but does not stay there;
    under cosine_schedule(1.0, total=5000) it does."""
    adam = masters.load_reference(ASSIGNMENT, "adam", ROOT)
    cosine_schedule = masters.load_reference(ASSIGNMENT, "cosine_schedule", ROOT)
    x, y = thermometer()
    X = np.column_stack([x, np.ones_like(x)])

    def gradient(theta: Any) -> Any:
        return 2 * X.T @ (X @ theta - y) / len(y)

    start = gradient(np.zeros(2))
    assert round(start[0] / start[1]) == 65
    best = np.mean((X @ np.linalg.lstsq(X, y, rcond=None)[0] - y) ** 2)

    def gaps(path: Any) -> Any:
        return np.mean((np.array(path) @ X.T - y) ** 2, axis=1) - best

    constant = gaps(adam(gradient, [0.0, 0.0], learning_rate=1.0, steps=5000)[1])
    assert 100 < int(np.argmax(constant < 1e-6)) < 1000
    assert constant[2000:].max() > 1.0
    cosine = gaps(
        adam(gradient, [0.0, 0.0], learning_rate=cosine_schedule(1.0, total=5000), steps=5000)[1]
    )
    assert 100 < int(np.argmax(cosine < 1e-6)) < 1000
    assert np.abs(cosine[2000:]).max() < 1e-9
