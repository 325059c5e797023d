"""Unit tests of the specs of ps4_autograd, ps5_minibatch_sgd, ps6_momentum and ps7_adaptive.

The cases come from the masters' test cells (read as literals, never run), so the
tests check the checks that students and the grader actually get: the master's
solution passes against both references, every misconception variant is named on
some case, correct float32 work passes, tensors where floats belong are named,
shortcuts (torch.optim, torch.nn, gdcourse) are found, loaders are judged by their
seeding, and every wrong-submission fixture loses points with its named hint. What is
particular to ps7 (its references against torch.optim) is in test_specs_ps7.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from gdcourse.grading import checks, masters
from gdcourse.grading.framework import Verdict
from gdcourse.grading.framework.spec import hint_for
from gdcourse.grading.misconceptions import MISCONCEPTIONS
from gdcourse.grading.probes import ps5_minibatch_sgd, ps6_momentum
from gdcourse.grading.shortcuts import Watch

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENTS = ("ps4_autograd", "ps5_minibatch_sgd", "ps6_momentum", "ps7_adaptive")


def _master(assignment: str) -> dict[str, Any]:
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    notebook: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return notebook


def _source(cell: dict[str, Any]) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else str(source)


def _calls(assignment: str) -> list[checks.CheckCall]:
    calls = []
    for cell in _master(assignment)["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")
        if cell["cell_type"] == "code" and grade_id.startswith("test_"):
            calls.append(checks.parse_check_call(_source(cell)))
    return calls


def _cases(assignment: str, function: str, hidden: bool | None = None) -> list[dict[str, Any]]:
    return [
        case
        for call in _calls(assignment)
        if call.function == function and (hidden is None or call.hidden == hidden)
        for case in call.cases
    ]


FUNCTIONS = [
    (assignment, function)
    for assignment in ASSIGNMENTS
    for function in importlib.import_module(f"gdcourse.grading.specs.{assignment}").SPECS
]


def _judge(
    assignment: str,
    function: str,
    fn: Callable[..., Any],
    case: dict[str, Any],
    reference: Callable[..., Any] | None = None,
) -> Verdict:
    spec = checks.get_spec(assignment, function)
    reference = reference or checks.public_reference(spec)
    student = json.loads(json.dumps(checks.probe_safely(spec, fn, case), allow_nan=True))
    return checks.judge_case(spec, case, student, reference)


def _failures(assignment: str, function: str, fn: Callable[..., Any]) -> list[Verdict]:
    """Verdicts that failed, over every visible and hidden case of the master."""
    spec = checks.get_spec(assignment, function)
    master = masters.load_reference(assignment, function, ROOT)
    failed = []
    for call in _calls(assignment):
        if call.function != function:
            continue
        reference = master if call.hidden else checks.public_reference(spec)
        for case in call.cases:
            verdict = _judge(assignment, function, fn, case, reference)
            if not verdict.passed:
                failed.append(verdict)
    return failed


def _says_hint(assignment: str, function: str, name: str, verdict: Verdict) -> bool:
    """Whether the student's message gives misconception ``name``'s hint, in words (the
    name itself is the report's, never the student's)."""
    spec = checks.get_spec(assignment, function)
    words = hint_for(spec, name) if name in MISCONCEPTIONS else name
    return " ".join(words.split()) in " ".join(verdict.message.split())


# ------------------------------------------------------------------ the masters


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_master_solution_passes_against_both_references(assignment: str, function: str) -> None:
    master = masters.load_reference(assignment, function, ROOT)
    assert _cases(assignment, function, hidden=False), "no visible cases"
    assert _cases(assignment, function, hidden=True), "no hidden cases"
    assert _failures(assignment, function, master) == []
    public = checks.public_reference(checks.get_spec(assignment, function))
    for case in _cases(assignment, function, hidden=True):
        verdict = _judge(assignment, function, master, case, public)
        assert verdict.passed, verdict.message


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_every_variant_is_named_on_some_case(assignment: str, function: str) -> None:
    spec = checks.get_spec(assignment, function)
    for misconception, variant in spec.variants.items():
        failed = _failures(assignment, function, variant)
        assert failed, f"{misconception} passes every case of {function}"
        names = {verdict.misconception for verdict in failed}
        assert misconception in names, (misconception, names)
        assert any(_says_hint(assignment, function, misconception, v) for v in failed)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_master_header_and_ids(assignment: str) -> None:
    notebook = _master(assignment)
    assert notebook["metadata"]["kernelspec"] == {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    for cell in notebook["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta:
            assert cell["id"] == meta["grade_id"]
        if meta and meta.get("grade"):
            function = meta["grade_id"].removeprefix("test_").rsplit("_", 1)[0]
            assert meta["grade_id"] in (f"test_{function}_visible", f"test_{function}_hidden")
            assert meta["points"] == (1 if meta["grade_id"].endswith("visible") else 2)
            assert _source(cell).startswith('"""')
        if meta and meta.get("solution"):
            assert "gdcourse" not in _source(cell)
        if cell["cell_type"] == "code":
            assert "!pip" not in _source(cell)


# ------------------------------------------------------------------ ps4: train_autograd


def _train_float32_sum(
    x: Any, y: Any, learn_rate: float, epochs: int, w0: float = 0.0, b0: float = 0.0
) -> tuple[float, float, list[float]]:
    """A correct solution written differently: sum / n, parameters as 1-element tensors."""
    params = torch.tensor([float(w0), float(b0)], dtype=x.dtype, requires_grad=True)
    losses = []
    for _ in range(epochs):
        loss = torch.sum((params[1] + params[0] * x - y) ** 2) / len(x)
        losses.append(float(loss))
        loss.backward()
        with torch.no_grad():
            params -= learn_rate * params.grad
            params.grad.zero_()
    return float(params[0]), float(params[1]), losses


def test_float32_work_gets_full_credit() -> None:
    cases = [c for c in _cases("ps4_autograd", "train_autograd") if c["dtype"] == "float32"]
    assert cases
    for case in cases:
        verdict = _judge("ps4_autograd", "train_autograd", _train_float32_sum, case)
        assert verdict.passed, verdict.message
    # ... and the check is not blind: float32 with one wrong epoch fails
    case = {**cases[0], "epochs": cases[0]["epochs"] + 1}
    truncated = lambda *a, **k: (lambda r: (r[0], r[1], r[2][:-1]))(  # noqa: E731
        _train_float32_sum(*a, **k)
    )
    assert not _judge("ps4_autograd", "train_autograd", truncated, case).passed


def test_tensors_returned_is_named() -> None:
    def tensors(
        x: Any, y: Any, learn_rate: float, epochs: int, w0: float = 0.0, b0: float = 0.0
    ) -> Any:
        w, b, losses = _train_float32_sum(x, y, learn_rate, epochs, w0, b0)
        return torch.tensor(w), torch.tensor(b), [torch.tensor(loss) for loss in losses]

    case = _cases("ps4_autograd", "train_autograd", hidden=False)[0]
    verdict = _judge("ps4_autograd", "train_autograd", tensors, case)
    assert not verdict.passed
    assert verdict.misconception == "tensors_returned"
    assert ".item()" in verdict.message


def _watched(assignment: str, function: str, fn: Callable[..., Any]) -> list[str]:
    """The banned shortcuts ``fn`` enters on the first case of the master."""
    spec = checks.get_spec(assignment, function)
    case = next(c for call in _calls(assignment) if call.function == function for c in call.cases)
    with Watch(spec.banned, getattr(fn, "__globals__", None)) as watch:
        checks.probe_safely(spec, fn, case)
    return watch.found


@pytest.mark.parametrize(
    ("function", "body", "found"),
    [
        ("train_autograd", "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)",
         "torch.optim"),
        ("train_autograd", "torch.nn.MSELoss()(x, y)", "torch.nn"),
        ("train_autograd", "torch.nn.functional.mse_loss(x, y)", "torch.nn"),
        ("train_autograd", "gdcourse.objectives.mse(x.numpy(), y.numpy())", "gdcourse"),
    ],
)  # fmt: skip
def test_banned_shortcuts_are_seen_at_run_time(function: str, body: str, found: str) -> None:
    namespace: dict[str, Any] = {}
    exec(
        "import torch, gdcourse.objectives\n"
        f"def {function}(x, y, learn_rate, epochs, w0=0.0, b0=0.0):\n"
        f"    {body}\n    return 0.0, 0.0, [0.0] * epochs\n",
        namespace,
    )
    assert _watched("ps4_autograd", function, namespace[function]) == [found]


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
def test_master_solutions_use_nothing_banned(assignment: str, function: str) -> None:
    reference = masters.load_reference(assignment, function, ROOT)
    assert _watched(assignment, function, reference) == []


def test_train_model_may_use_nn_and_optim() -> None:
    spec = checks.get_spec("ps5_minibatch_sgd", "train_model")
    assert "torch.nn" not in spec.banned and "torch.optim" not in spec.banned


# ------------------------------------------------------------------ ps5: loaders


def _seeded(inputs: Any, targets: Any, batch_size: int, seed: int = 0) -> DataLoader[Any]:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        TensorDataset(inputs, targets), batch_size=batch_size, shuffle=True, generator=generator
    )


def _orders(loader: DataLoader[Any]) -> list[list[float]]:
    return [batch[0][:, 0].tolist() for batch in loader]


def test_seeded_loader_is_deterministic_and_seed_dependent() -> None:
    inputs, targets = ps5_minibatch_sgd.data_tensors({"data": "crop_yields"})
    make_loader = masters.load_reference("ps5_minibatch_sgd", "make_loader", ROOT)
    first = make_loader(inputs, targets, 4, seed=5)
    torch.manual_seed(123)  # global state must not matter
    again = make_loader(inputs, targets, 4, seed=5)
    assert _orders(first) == _orders(again)
    assert _orders(make_loader(inputs, targets, 4, seed=6)) != _orders(first)
    assert sorted(x for batch in _orders(first) for x in batch) == sorted(inputs[:, 0].tolist())


@pytest.mark.parametrize(
    ("loader", "misconception", "words"),
    [
        (lambda i, t, n, seed=0: _seeded(i, t, n, 0), "loader_ignores_seed", "seed"),
        (
            lambda i, t, n, seed=0: (
                torch.manual_seed(seed),
                DataLoader(TensorDataset(i, t), batch_size=n, shuffle=True),
            )[1],
            "loader_ignores_seed",
            "global random state",
        ),
        (
            lambda i, t, n, seed=0: DataLoader(TensorDataset(i, t), batch_size=n),
            None,
            "shuffle=True",
        ),
        (lambda i, t, n, seed=0: _seeded(i, t, n + 1, seed), None, "batch sizes"),
        (lambda i, t, n, seed=0: [(i, t)], None, "DataLoader"),
        (
            lambda i, t, n, seed=0: _seeded(i, t[torch.randperm(len(t))], n, seed),
            None,
            "mismatched",
        ),
    ],
)
def test_loader_mistakes_are_explained(
    loader: Callable[..., Any], misconception: str | None, words: str
) -> None:
    case = {"data": "crop_yields", "batch_size": 4, "seed": 1}
    verdict = _judge("ps5_minibatch_sgd", "make_loader", loader, case)
    assert not verdict.passed
    assert verdict.misconception == misconception
    assert words in verdict.message


def test_loader_probe_leaves_global_random_state_alone() -> None:
    torch.manual_seed(2024)
    expected = torch.rand(3)
    torch.manual_seed(2024)
    spec = checks.get_spec("ps5_minibatch_sgd", "make_loader")
    spec.probe(_seeded, {"data": "crop_yields", "batch_size": 5})
    assert torch.equal(torch.rand(3), expected)


def test_probe_loader_counts_rows_and_is_seeded() -> None:
    case = {"data": "crop_yields", "batch_size": 4, "seed": 3}
    loader = ps5_minibatch_sgd.probe_loader(case)
    first = _orders(loader)
    assert first == _orders(ps5_minibatch_sgd.probe_loader(case))
    assert loader.dataset.rows_drawn == 15  # type: ignore[attr-defined]
    assert [len(b) for b in first] == [4, 4, 4, 3]


def test_bad_case_data_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, got 'int8'"):
        ps5_minibatch_sgd.data_tensors({"data": "crop_yields", "dtype": "int8"})
    with pytest.raises(ValueError, match="data must be 'crop_yields', got 'iris'"):
        ps5_minibatch_sgd.data_tensors({"data": "iris"})


# ------------------------------------------------------------------ ps5: the nn model


class _Doubled(torch.nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)

    def forward(self, x: Any) -> Any:
        return 2 * self.linear(x)


class _NoLinear(torch.nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(in_features, out_features)

    def forward(self, x: Any) -> Any:
        return self.layer(x)


class _ExtraParameter(_Doubled):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.scale = torch.nn.Parameter(torch.ones(1))

    def forward(self, x: Any) -> Any:
        return self.linear(x)


class _Swapped(torch.nn.Module):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(out_features, in_features)

    def forward(self, x: Any) -> Any:
        return x


@pytest.mark.parametrize(
    ("model", "words"),
    [
        (_Doubled, "self.linear(x)"),
        (_NoLinear, "model.linear"),
        (_ExtraParameter, "parameters"),
        (_Swapped, "in_features"),
        (lambda i, o: torch.nn.Linear(i, o), "model.linear"),
        (lambda i, o: None, "nn.Module"),
    ],
)
def test_model_mistakes_are_explained(model: Callable[..., Any], words: str) -> None:
    case = {"in_features": 3, "out_features": 2}
    verdict = _judge("ps5_minibatch_sgd", "LinearRegressionModel", model, case)
    assert not verdict.passed
    assert words in verdict.message


def test_train_model_probe_does_not_use_the_students_model_class() -> None:
    case = _cases("ps5_minibatch_sgd", "train_model", hidden=False)[0]
    arguments = ps5_minibatch_sgd.train_model_inputs(case)
    model = arguments.args[0]
    assert model.linear.weight.tolist() == case["W0"]
    assert model.linear.bias.tolist() == case["b0"]


# ------------------------------------------------------------------ ps6


def _stopping_margins(case: dict[str, Any]) -> float:
    """The smallest relative distance of a velocity component from tol along the path."""
    gradient = ps6_momentum.quadratic_gradient(case)
    x = np.array(case["start"], dtype=float)
    v = np.zeros_like(x)
    tol = case.get("tol", 1e-6)
    margin = np.inf
    for _ in range(case.get("max_iter", 1000)):
        v = case.get("momentum", 0.9) * v - case["learn_rate"] * gradient(x)
        margin = min(margin, float(np.min(np.abs(np.abs(v) - tol))) / tol)
        if np.all(np.abs(v) <= tol):
            break
        x = x + v
    return margin


def test_momentum_cases_do_not_stop_on_a_knife_edge() -> None:
    """A correct solution that rounds differently must stop at the same iteration."""
    for case in _cases("ps6_momentum", "gradient_descent_momentum"):
        if case["learn_rate"] > 0 and 0 <= case.get("momentum", 0.9) < 1:
            assert _stopping_margins(case) > 1e-6, case


def test_momentum_zero_equals_gradient_descent() -> None:
    from gdcourse.optimizers import gradient_descent

    master = masters.load_reference("ps6_momentum", "gradient_descent_momentum", ROOT)
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    x, path = master(lambda p: A @ p, np.array([2.0, -2.0]), 0.1, momentum=0.0)
    plain = gradient_descent(lambda p: A @ p, [2.0, -2.0], learning_rate=0.1)
    np.testing.assert_array_equal(np.array(path), plain.path)
    np.testing.assert_array_equal(x, plain.x)


def test_optimal_parameters_are_polyaks() -> None:
    reference = checks.public_reference(
        checks.get_spec("ps6_momentum", "optimal_momentum_parameters")
    )
    learn_rate, momentum = reference([[1.0, 0.0], [0.0, 100.0]])
    assert learn_rate == pytest.approx(4 / 121)
    assert momentum == pytest.approx((9 / 11) ** 2)
    assert reference([[4.0]]) == pytest.approx((0.25, 0.0))


# ------------------------------------------------------------------ wrong submissions


def _registry(assignment: str) -> dict[str, tuple[str, ...]]:
    path = ROOT / "tests" / "submissions" / f"wrong_{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"_wrong_{assignment}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    assert assignment == module.ASSIGNMENT
    wrong: dict[str, tuple[str, ...]] = module.WRONG
    return wrong


WRONG = [
    (assignment, slug, entry)
    for assignment in ASSIGNMENTS
    for slug, entry in _registry(assignment).items()
]


@pytest.mark.parametrize(
    ("assignment", "slug", "entry"), WRONG, ids=[f"{a}-{s}" for a, s, _ in WRONG]
)
def test_wrong_submission_loses_points_with_its_hint(
    assignment: str, slug: str, entry: tuple[str, ...]
) -> None:
    function, source = entry[0], entry[1]
    hint = entry[2] if len(entry) > 2 else slug
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<{assignment}:{slug}>", "exec"), namespace)
    used = _watched(assignment, function, namespace[function])
    if used:  # a shortcut: the grader gives no credit and names what was used
        assert hint in used, used
        return
    failed = _failures(assignment, function, namespace[function])
    assert failed, f"{slug} passes every check"
    assert any(_says_hint(assignment, function, hint, v) for v in failed), [
        v.message for v in failed
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_fixture_is_written(assignment: str) -> None:
    folder = ROOT / "tests" / "submissions" / assignment
    assert sorted(p.stem for p in folder.glob("*.ipynb")) == sorted(_registry(assignment))


MALFORMED = [
    {"__error__": "TimeoutError: the sandbox ran out of time"},
    {"output": None, "raised": None, "modified": []},
    {
        "output": {
            "is_data_loader": True,
            "is_module": True,
            "is_linear": True,
            "first": [[["x"], [True]]],
            "again": 3,
            "other_seed": None,
            "parameters": 7,
            "forward": "no",
            "losses": "many",
            "W": [],
        },
        "raised": None,
        "modified": [5],
    },
    {"output": [1, [2, [3]]], "raised": {"types": ["ValueError"]}, "modified": ["x"]},
]
MALFORMED.append({**MALFORMED[2], "modified": []})


@pytest.mark.parametrize(("assignment", "function"), FUNCTIONS)
@pytest.mark.parametrize("student", MALFORMED)
def test_malformed_student_data_fails_with_a_message(
    assignment: str, function: str, student: dict[str, Any]
) -> None:
    """What a hostile or broken sandbox sends is judged, never crashes the judge."""
    spec = checks.get_spec(assignment, function)
    case = _cases(assignment, function, hidden=False)[0]
    verdict = checks.judge_case(spec, case, student, checks.public_reference(spec))
    assert not verdict.passed
    assert verdict.message.startswith("Checked: ")
