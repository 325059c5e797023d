"""The checks of ps8_logistic: references, named mistakes, correct variants, shortcuts.

The cases come from the master's test cells (read as literals, never run), so these tests check
the checks that students and the grader get: the master passes against both references; every
misconception variant fails some case and is named there; every wrong-submission fixture loses
points with its hint; correct solutions written differently (float32, other formulas, other
PyTorch spellings) pass everything; the shortcuts each function bans are seen; the notebook's
own claims hold; and whatever a broken sandbox sends is judged, never crashes the judge.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from gdcourse.grading import checks, masters
from gdcourse.grading.framework import Verdict
from gdcourse.grading.framework.spec import hint_for
from gdcourse.grading.misconceptions import MISCONCEPTIONS
from gdcourse.grading.mutants.variants import HANDWRITTEN
from gdcourse.grading.shortcuts import Watch

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "ps8_logistic"
FUNCTIONS = ["sigmoid", "loss_and_grad", "fit_gd", "train_logistic"]


@cache
def _calls() -> tuple[checks.CheckCall, ...]:
    path = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return tuple(
        checks.parse_check_call("".join(cell["source"]))
        for cell in cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    )


def _cases(function: str, hidden: bool | None = None) -> list[dict[str, Any]]:
    return [
        case
        for call in _calls()
        if call.function == function and hidden in (None, call.hidden)
        for case in call.cases
    ]


def _failures(
    function: str,
    fn: Callable[..., Any],
    until: Callable[[Verdict], bool] | None = None,
    hidden: bool | None = None,
) -> list[Verdict]:
    """The failing verdicts of ``fn`` over the cases (visible or hidden ones only, if
    ``hidden`` says), each against the reference the grader uses there (the master for hidden
    cases, the public one for visible cases); with ``until``, the cases stop at the first
    verdict it accepts."""
    spec = checks.get_spec(ASSIGNMENT, function)
    master = masters.load_reference(ASSIGNMENT, function, ROOT)
    public = checks.public_reference(spec)
    failed = []
    for call in _calls():
        if call.function != function or hidden not in (None, call.hidden):
            continue
        for case in call.cases:
            student = json.loads(json.dumps(checks.probe_safely(spec, fn, case), allow_nan=True))
            verdict = checks.judge_case(spec, case, student, master if call.hidden else public)
            if not verdict.passed:
                failed.append(verdict)
                if until is not None and until(verdict):
                    return failed
    return failed


def _says_hint(function: str, name: str, verdict: Verdict) -> bool:
    words = hint_for(checks.get_spec(ASSIGNMENT, function), name)
    return " ".join(words.split()) in " ".join(verdict.message.split())


def _registry() -> dict[str, tuple[str, ...]]:
    path = ROOT / "tests" / "submissions" / f"wrong_{ASSIGNMENT}.py"
    spec = importlib.util.spec_from_file_location(f"_wrong_{ASSIGNMENT}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    wrong: dict[str, tuple[str, ...]] = module.WRONG
    return wrong


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny tensors train fastest on one thread (and two workers share two cores)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ------------------------------------------------------------------ the master and the variants


@pytest.mark.parametrize("function", FUNCTIONS)
def test_master_passes_against_both_references(function: str) -> None:
    assert _cases(function, hidden=False) and _cases(function, hidden=True)
    master = masters.load_reference(ASSIGNMENT, function, ROOT)
    assert _failures(function, master) == []
    spec = checks.get_spec(ASSIGNMENT, function)
    public = checks.public_reference(spec)
    for case in _cases(function, hidden=True):
        student = json.loads(json.dumps(checks.probe_safely(spec, master, case), allow_nan=True))
        verdict = checks.judge_case(spec, case, student, public)
        assert verdict.passed, verdict.message


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_variant_is_named_by_a_visible_case(function: str) -> None:
    """The grader names a misconception only where the case is visible (hidden feedback is
    fixed words), so each variant must be named there; hidden cases must fail it too."""
    spec = checks.get_spec(ASSIGNMENT, function)
    assert len(spec.variants) >= 4
    for name, variant in spec.variants.items():
        if name != "tensors_returned":  # any float check fails tensors: no hidden case needed
            assert _failures(function, variant, lambda v: True, hidden=True), name
        failed = _failures(
            function, variant, lambda v, name=name: v.misconception == name, hidden=False
        )
        assert failed, f"{name} passes every case of {function}"
        assert any(v.misconception == name and _says_hint(function, name, v) for v in failed), (
            name,
            {v.misconception for v in failed},
        )


WRONG = list(_registry().items())


def test_the_registry_has_the_brief_s_mistakes() -> None:
    hints = {entry[2] if len(entry) > 2 else slug for slug, entry in WRONG}
    assert len(WRONG) >= 6
    assert (
        {
            "residual_sign_error",
            "sum_instead_of_mean",
            "sigmoid_applied_twice",
            "loss_not_from_logits",
            "labels_plus_minus_one",
            "gradients_not_zeroed",
            "bias_regularised",
        }
        <= hints
        <= set(MISCONCEPTIONS)
    )
    folder = ROOT / "tests" / "submissions" / ASSIGNMENT
    assert sorted(p.stem for p in folder.glob("*.ipynb")) == sorted(slug for slug, _ in WRONG)


@pytest.mark.parametrize(("slug", "entry"), WRONG, ids=[slug for slug, _ in WRONG])
def test_wrong_submission_fails_with_its_hint(slug: str, entry: tuple[str, ...]) -> None:
    function, source = entry[0], entry[1]
    hint = entry[2] if len(entry) > 2 else slug
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{ASSIGNMENT}:{slug}>", "exec"), namespace)
    fn = namespace[function]
    assert _failures(function, fn, lambda v: True, hidden=True), f"{slug} passes the hidden checks"
    failed = _failures(function, fn, lambda v: _says_hint(function, hint, v), hidden=False)
    assert failed, f"{slug} passes every visible check"
    assert any(_says_hint(function, hint, v) for v in failed), [v.message for v in failed]


# ------------------------------------------------------------------ correct, written differently


def _sigmoid_tanh(o: Any) -> Any:
    """Exact in algebra, but 1 + tanh(o / 2) cancels for o far below 0 (a test helper only)."""
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(o, dtype=float)))


def _handwritten(function: str, description: str) -> Callable[..., Any]:
    """One of ps8's handwritten correct variants (``gdcourse mutants``), run here in-process:
    the same source the mutation run grades in the sandbox."""
    source = dict(HANDWRITTEN[ASSIGNMENT][function])[description]
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<variant {function}>", "exec"), namespace)
    found: Callable[..., Any] = namespace[function]
    return found


def _sigmoid_where(o: Any) -> Any:
    o = np.asarray(o, dtype=float)
    with np.errstate(over="ignore"):
        return np.where(o >= 0, 1 / (1 + np.exp(-o)), np.exp(o) / (1 + np.exp(o)))


def _sigmoid_torch(o: Any) -> Any:
    return torch.sigmoid(torch.as_tensor(np.asarray(o, dtype=float))).numpy()


def _sigmoid_loop(o: Any) -> Any:
    """One number at a time, with math, printing as it goes."""
    values = np.array(o, dtype=float)
    flat = values.reshape(-1)
    for j, value in enumerate(flat):
        flat[j] = (
            1 / (1 + math.exp(-value)) if value >= 0 else math.exp(value) / (1 + math.exp(value))
        )
    print("computed", flat.size, "values")
    return values if values.ndim else float(values)


def _loss_stacked(w: Any, b: float, X: Any, y: Any, alpha: float = 0.0) -> Any:
    """theta = (w, b) against X with a column of ones; the loss from log1p of exp(-|o|)."""
    y = np.asarray(y, dtype=float)
    if not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("labels must be 0 or 1")
    if alpha < 0:
        raise ValueError("alpha must not be negative")
    X1 = np.column_stack([X, np.ones(len(X))])
    theta = np.append(np.asarray(w, dtype=float), b)
    o = X1 @ theta
    terms = np.maximum(o, 0) + np.log1p(np.exp(-np.abs(o))) - y * o
    grad = X1.T @ (_sigmoid_tanh(o) - y) / len(y)
    grad[:-1] += alpha * theta[:-1]
    return terms.mean() + 0.5 * alpha * np.sum(theta[:-1] ** 2), grad[:-1], grad[-1]


@pytest.mark.parametrize(
    ("function", "fn"),
    [
        ("sigmoid", _handwritten("sigmoid", "from logaddexp, no branch")),
        ("sigmoid", _sigmoid_where),
        ("sigmoid", _sigmoid_torch),
        ("sigmoid", _sigmoid_loop),
        ("loss_and_grad", _loss_stacked),
        (
            "fit_gd",
            _handwritten("fit_gd", "a loop over observations, the bound from the singular values"),
        ),
        (
            "train_logistic",
            _handwritten("train_logistic", "the functional loss, optimizers looked up in a dict"),
        ),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_correct_variants_pass_everything(function: str, fn: Callable[..., Any]) -> None:
    assert _failures(function, fn) == []


def test_float32_training_passes_where_the_case_is_float32() -> None:
    """The probe hands float32 tensors unless the case says float64; tolerances follow."""
    float32 = [c for c in _cases("train_logistic") if c.get("dtype", "float32") == "float32"]
    assert float32 and any(c.get("dtype") == "float64" for c in _cases("train_logistic"))


# ------------------------------------------------------------------ shortcuts


def _watched(function: str, fn: Callable[..., Any]) -> list[str]:
    spec = checks.get_spec(ASSIGNMENT, function)
    case = _cases(function, hidden=False)[0]
    with Watch(spec.banned, getattr(fn, "__globals__", None)) as watch:
        checks.probe_safely(spec, fn, case)
    return watch.found


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_masters_use_nothing_banned(function: str) -> None:
    assert _watched(function, masters.load_reference(ASSIGNMENT, function, ROOT)) == []


def test_shortcuts_are_seen() -> None:
    def loss_by_autograd(w: Any, b: float, X: Any, y: Any, alpha: float = 0.0) -> Any:
        wt = torch.tensor(w, requires_grad=True)
        bt = torch.tensor(float(b), dtype=torch.float64, requires_grad=True)
        o = torch.tensor(X) @ wt + bt
        loss = torch.mean(torch.logaddexp(torch.zeros_like(o), o) - torch.tensor(y) * o)
        loss.backward()
        return loss.item(), wt.grad.numpy(), bt.grad.item()

    def fit_by_optim(X: Any, y: Any, *, learning_rate: Any = None, steps: int,
                     alpha: float = 0.0) -> Any:  # fmt: skip
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        return np.zeros(X.shape[1]), 0.0, [0.0] * max(steps, 0)

    assert "torch.autograd" in _watched("loss_and_grad", loss_by_autograd)
    assert "torch.optim" in _watched("fit_gd", fit_by_optim)
    spec = checks.get_spec(ASSIGNMENT, "train_logistic")
    assert "torch.nn" not in spec.banned and "torch.optim" not in spec.banned


# ------------------------------------------------------------------ the notebook's claims


def test_the_notebook_s_claims_hold() -> None:
    """losses[0] is ln 2; with "sgd", float64 and a zero start train_logistic and fit_gd agree;
    the autograd check of the notebook agrees to rounding."""
    from gdcourse.datasets import synthetic_classes

    fit_gd = masters.load_reference(ASSIGNMENT, "fit_gd", ROOT)
    train = masters.load_reference(ASSIGNMENT, "train_logistic", ROOT)
    loss_and_grad = masters.load_reference(ASSIGNMENT, "loss_and_grad", ROOT)
    X, y = synthetic_classes(np.random.default_rng(0), n_samples=200)
    _w, _b, losses = fit_gd(X, y, steps=40)
    assert losses[0] == pytest.approx(math.log(2), abs=1e-15)
    assert all(later <= earlier for earlier, later in itertools.pairwise(losses))
    model = nn.Linear(2, 1, dtype=torch.float64)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    torch_losses = train(model, torch.tensor(X), torch.tensor(y), method="sgd",
                         learning_rate=0.5, epochs=40)  # fmt: skip
    np.testing.assert_allclose(torch_losses, fit_gd(X, y, learning_rate=0.5, steps=40)[2],
                               rtol=1e-12)  # fmt: skip
    loss, grad_w, grad_b = loss_and_grad(np.array([0.3, -0.2]), 0.1, X, y, alpha=0.5)
    wt = torch.tensor([0.3, -0.2], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(0.1, dtype=torch.float64, requires_grad=True)
    J = nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(X) @ wt + bt, torch.tensor(y)
    ) + 0.25 * (wt @ wt)
    J.backward()
    assert J.item() == pytest.approx(loss, abs=1e-14)
    np.testing.assert_allclose(wt.grad.numpy(), grad_w, atol=1e-14)
    assert bt.grad.item() == pytest.approx(grad_b, abs=1e-14)


MALFORMED = [
    {"__error__": "TimeoutError: the sandbox ran out of time"},
    {"output": None, "raised": None, "modified": []},
    {"output": {"losses": "many", "W": [], "b": None}, "raised": None, "modified": [5]},
    {"output": [1, [2, [3]]], "raised": {"types": ["ValueError"]}, "modified": ["x"]},
    {"output": [float("nan"), [], "x"], "raised": None, "modified": []},
]


@pytest.mark.parametrize("function", FUNCTIONS)
@pytest.mark.parametrize("student", MALFORMED)
def test_malformed_student_data_fails_with_a_message(
    function: str, student: dict[str, Any]
) -> None:
    spec = checks.get_spec(ASSIGNMENT, function)
    case = _cases(function, hidden=False)[0]
    verdict = checks.judge_case(spec, case, student, checks.public_reference(spec))
    assert not verdict.passed
    assert verdict.message.startswith("Checked: ")


def test_a_cancelling_formula_is_named() -> None:
    """0.5 (1 + tanh(o / 2)) is the sigmoid in exact arithmetic, and rounds sigmoid(-40) to 0."""
    failed = _failures("sigmoid", _sigmoid_tanh)
    assert failed and {v.misconception for v in failed} == {"sigmoid_cancellation"}
