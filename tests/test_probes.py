"""The probes: what runs next to a student's code holds no answer and trusts no global.

The lead's sandbox imports only ``gdcourse.grading.probes.<assignment>`` in the
student's process. These tests check that such an import (and running every probe on
the masters' cases) loads no spec, no reference and none of gdcourse's teaching library;
that every callable a probe hands to the function under test is defined in a probe
module and looks up no global name when called; and that specs and probes agree.
"""

from __future__ import annotations

import ast
import dis
import importlib
import json
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gdcourse.grading import checks
from gdcourse.grading.probes import Arguments, exception_data, get_probe, make_probe

ROOT = Path(__file__).resolve().parent.parent
PROBES_DIR = ROOT / "gdcourse" / "grading" / "probes"
ASSIGNMENTS = sorted(p.stem for p in PROBES_DIR.glob("ps*.py"))


def _cases(assignment: str) -> dict[str, list[dict[str, Any]]]:
    """function -> every case of the master's test cells (visible and hidden)."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    cases: dict[str, list[dict[str, Any]]] = {}
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            call = checks.parse_check_call("".join(cell["source"]))
            cases.setdefault(call.function, []).extend(call.cases)
    return cases


def test_every_assignment_has_probes_and_specs() -> None:
    assert checks.known_assignments() == ASSIGNMENTS


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_specs_use_the_probes_of_their_assignment(assignment: str) -> None:
    probes = importlib.import_module(f"gdcourse.grading.probes.{assignment}").PROBES
    specs = importlib.import_module(f"gdcourse.grading.specs.{assignment}").SPECS
    assert set(probes) == set(specs) == set(_cases(assignment))
    for function, spec in specs.items():
        assert spec.probe is probes[function] is get_probe(assignment, function)


# ------------------------------------------------------------------ what a probe module imports

FORBIDDEN_PREFIXES = (
    "gdcourse.grading.specs",
    "gdcourse.grading.framework",
    "gdcourse.grading.misconceptions",
    "gdcourse.grading.checks",
    "gdcourse.objectives",
    "gdcourse.optimizers",
)

_IMPORT_AND_PROBE = """
import importlib, json, sys
assignment, cases = sys.argv[1], json.loads(sys.stdin.read())
module = importlib.import_module("gdcourse.grading.probes." + assignment)
ran = 0
for function, probe in module.PROBES.items():
    for case in cases[function]:
        probe(lambda *args, **kwargs: None, case)
        ran += 1
forbidden = tuple(sys.argv[2:])
loaded = sorted(n for n in sys.modules if n.startswith(forbidden))
print(json.dumps({"ran": ran, "loaded": loaded}))
"""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_probe_module_loads_no_answer_in_a_fresh_interpreter(assignment: str) -> None:
    """Importing a probe module and running all its probes imports no spec, no judge
    and none of gdcourse.objectives / gdcourse.optimizers (python -I: isolated mode)."""
    cases = _cases(assignment)
    result = subprocess.run(
        [sys.executable, "-I", "-c", _IMPORT_AND_PROBE, assignment, *FORBIDDEN_PREFIXES],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ran"] == sum(len(c) for c in cases.values())
    assert report["loaded"] == []


def test_the_fresh_interpreter_check_can_fail() -> None:
    """The same check sees a spec module when one is imported (the test is not blind)."""
    code = "import sys, gdcourse.grading.specs.ps3_linear_regression; print(sorted(sys.modules))"
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    assert "gdcourse.objectives" in result.stdout
    assert "gdcourse.grading.specs.ps3_linear_regression" in result.stdout


ALLOWED_IMPORTS = (
    "numpy",
    "torch",
    "gdcourse.datasets",
    "gdcourse.grading.probes",
    "gdcourse.grading.protocol",
)
"""Besides the standard library."""


@pytest.mark.parametrize("path", sorted(PROBES_DIR.glob("*.py")), ids=lambda p: p.stem)
def test_probe_modules_import_only_what_probes_may(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names = [str(node.module)]
        else:
            continue
        for name in names:
            standard = name.split(".")[0] in sys.stdlib_module_names or name == "__future__"
            assert standard or any(
                name == ok or name.startswith(ok + ".") for ok in ALLOWED_IMPORTS
            ), f"{path.name} imports {name}"


# ------------------------------------------------------------------ what a probe hands over


def _handed(value: Any) -> Iterator[Callable[..., Any]]:
    """The Python functions an argument carries: itself, or the methods of its class (and of
    its dataset's class, for a loader) when that class comes from a probe module."""
    if isinstance(value, types.FunctionType):
        yield value
        return
    owners = [type(value), type(getattr(value, "dataset", None))]
    for owner in owners:
        if owner.__module__.startswith("gdcourse.grading.probes"):
            for attribute in vars(owner).values():
                if isinstance(attribute, types.FunctionType):
                    yield attribute


def _global_loads(code: types.CodeType) -> list[str]:
    """Names that ``code`` (or code nested in it) looks up in globals or builtins."""
    names = [
        str(instruction.argval)
        for instruction in dis.get_instructions(code)
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME")
    ]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names.extend(_global_loads(constant))
    return names


def _recorded_arguments(assignment: str) -> list[tuple[str, Arguments]]:
    module = importlib.import_module(f"gdcourse.grading.probes.{assignment}")
    recorded: list[tuple[str, Arguments]] = []
    for function, cases in _cases(assignment).items():
        for case in cases:

            def record(*args: Any, _function: str = function, **kwargs: Any) -> None:
                recorded.append((_function, Arguments(args, kwargs)))

            module.PROBES[function](record, case)
    return recorded


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_callables_handed_to_the_function_bind_what_they_use(assignment: str) -> None:
    """Objectives, gradients, models and datasets come from the probe module and look up
    no global name when called (they bind what they use as default arguments)."""
    seen = 0
    for function, arguments in _recorded_arguments(assignment):
        for value in [*arguments.args, *arguments.kwargs.values()]:
            for handed in _handed(value):
                seen += 1
                assert handed.__module__.startswith("gdcourse.grading.probes."), (
                    function,
                    handed,
                )
                assert _global_loads(handed.__code__) == [], (function, handed.__qualname__)
    if assignment in (
        "ps1_gradients",
        "ps2_gradient_descent",
        "ps5_minibatch_sgd",
        "ps7_adaptive",
        "ps8_logistic",
    ):
        assert seen, f"{assignment} hands over callables: the walk found none"


def test_global_lookups_are_seen() -> None:
    """The bytecode check is not blind: a function that calls np.sum is caught."""

    def leaky(x: Any) -> Any:
        return np.sum(x)

    def bound(x: Any, _sum: Any = np.sum) -> Any:
        return _sum(x)

    assert _global_loads(leaky.__code__) == ["np"]
    assert _global_loads(bound.__code__) == []


def test_handed_callables_survive_patched_module_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebinding numpy in a probe module (as student code could) changes nothing."""
    from gdcourse.grading.probes import ps1_gradients, ps2_gradient_descent

    bowl = ps1_gradients.NUMPY_FUNCTIONS["bowl"]
    gradient = ps2_gradient_descent.gradient_of({"gradient": "quadratic", "A": [[2.0]]})
    monkeypatch.setattr(ps1_gradients, "np", None)
    monkeypatch.setattr(ps2_gradient_descent, "np", None)
    assert bowl([1.0, 2.0]) == 3.0
    assert gradient([3.0]).tolist() == [6.0]


# ------------------------------------------------------------------ the toolkit


def test_make_probe_reports_output_exceptions_and_changes() -> None:
    def inputs(case: dict[str, Any]) -> Arguments:
        x = np.array(case["x"], dtype=float)
        return Arguments((x,), watched={"x": x})

    probe = make_probe(inputs, summarise=lambda output, case: float(output) * 2)
    assert probe(lambda x: x.sum(), {"x": [1.0, 2.0]}) == {
        "output": 6.0,
        "raised": None,
        "modified": [],
    }

    def in_place(x: Any) -> Any:
        x *= 2
        raise ValueError("done")

    data = probe(in_place, {"x": [1.0]})
    assert data["modified"] == ["x"]
    assert data["raised"] == exception_data(ValueError("done"))
    assert data["raised"]["types"][:2] == ["ValueError", "Exception"]


def test_exception_data_survives_a_broken_str() -> None:
    class Odd(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert exception_data(Odd()) == {
        "types": ["Odd", "Exception", "BaseException", "object"],
        "message": "",
    }


def test_get_probe_explains_unknown_names() -> None:
    with pytest.raises(ValueError, match="unknown assignment 'ps0_none'"):
        get_probe("ps0_none", "f")
    with pytest.raises(ValueError, match="no probe for 'fitt'.*predict, mse"):
        get_probe("ps3_linear_regression", "fitt")
    with pytest.raises(ValueError, match="assignment must be"):
        get_probe("../x", "f")
