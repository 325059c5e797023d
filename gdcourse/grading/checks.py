"""The student's checks: what every test cell runs in a notebook, and what the grader shares.

A test cell of a master notebook is one literal call (see
:mod:`gdcourse.grading.protocol`)::

    check("ps2_gradient_descent", "gradient_descent", gradient_descent, cases=[...])

Inside a notebook kernel, :func:`gdcourse.grading.check` calls :func:`run_check`,
which probes the function on each case and judges the data in the same
process. Visible checks compare with the spec's public reference (closed forms
and gdcourse's library: students have no master); hidden checks, which only
instructors run, compare with the reference solution of the master, which the
instructor's module :mod:`gdcourse.grading.masters` reads and
:func:`gdcourse.grading.check` passes in. This module is the students' audience:
it imports nothing that reads masters or knows a course directory (the student
edition publishes it as it is; tests/test_audiences.py keeps it so).

The secure grader runs no test-cell code. It reads each test cell of the
master with :func:`parse_check_call`, runs the probe on the student's function
inside a sandbox, brings back the JSON of its result, and judges it in its own
process (:mod:`gdcourse.grading.autograde`). Shortcuts that sidestep an exercise
are seen at run time, on what the code does, never on the names it uses: in the
grader by the sandbox's guard, in a student's kernel by
:class:`gdcourse.grading.shortcuts.Watch`.

Feedback text comes from :func:`gdcourse.grading.framework.format_verdict`:
visible checks show their inputs and expectations, hidden ones never do.
"""

from __future__ import annotations

import ast
import importlib
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gdcourse.grading.framework import FunctionSpec, Verdict, format_verdict
from gdcourse.grading.probes import run_probe
from gdcourse.grading.protocol import Case, decode
from gdcourse.grading.shortcuts import Watch, describe

__all__ = [
    "HIDDEN_AFTER_SUBMISSION",
    "MESSAGE_WIDTH",
    "CheckCall",
    "CheckFailed",
    "decoded",
    "get_spec",
    "judge_case",
    "parse_check_call",
    "probe_safely",
    "run_check",
    "wrap_message",
]


# ------------------------------------------------------------------ what a student sees

MESSAGE_WIDTH = 79
"""The longest line of a failed check's message as a student sees it. ``nbgrader validate``
(and JupyterLab's Validate dialog, which shows its output) indents error lines by 4 and cuts
them at 87 characters; 79 leaves room, and reads well in a notebook too."""


def wrap_message(message: str, width: int = MESSAGE_WIDTH) -> list[str]:
    """``message`` as lines of at most ``width`` characters, every word kept.

    Each line is wrapped on its own and keeps its indentation (continuations are
    indented two more); blank lines stay.

    >>> wrap_message("Hint: the update steps uphill, against the gradient.", width=24)
    ['Hint: the update steps', '  uphill, against the', '  gradient.']
    """
    lines: list[str] = []
    for line in message.splitlines():
        if len(line) <= width:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(
            line.strip(),
            width=width,
            initial_indent=indent,
            subsequent_indent=indent + "  ",
            break_on_hyphens=False,
        )
    return lines


class CheckFailed(AssertionError):
    """A check that failed: its message is all a student needs to see.

    IPython shows what ``_render_traceback_`` returns instead of a traceback, so a failing
    test cell prints the check's message, wrapped, and no frame of the grader's (nor the
    test cell's ``check(...)`` line, which the student can read above it). It is an
    ``AssertionError``: ``except AssertionError`` and nbgrader still treat it as a failed test.
    """

    def _render_traceback_(self) -> list[str]:
        lines = wrap_message(str(self)) or [type(self).__name__]
        return [f"\x1b[0;31m{lines[0]}\x1b[0m", *lines[1:]]


HIDDEN_AFTER_SUBMISSION = (
    "Hidden checks run in the grader, after you submit: this copy of the course has no "
    "reference solutions. Run the visible checks and Validate, then submit."
)
"""What a hidden check says where no master's reference is given (the student edition)."""


# ------------------------------------------------------------------ specs


def get_spec(assignment: str, function: str) -> FunctionSpec:
    """The :class:`FunctionSpec` of ``function`` in ``assignment``.

    >>> get_spec("ps3_linear_regression", "mse").function
    'mse'
    """
    if not isinstance(assignment, str) or not assignment.isidentifier():
        raise ValueError(
            f"assignment must be an assignment name like 'ps1_gradients', got {assignment!r}"
        )
    try:
        module = importlib.import_module(f"gdcourse.grading.specs.{assignment}")
    except ModuleNotFoundError as error:
        if error.name != f"gdcourse.grading.specs.{assignment}":
            raise
        raise ValueError(
            f"unknown assignment {assignment!r}; known: {', '.join(known_assignments())}"
        ) from None
    specs: Mapping[str, FunctionSpec] = module.SPECS
    if function not in specs:
        raise ValueError(
            f"assignment {assignment!r} has no graded function {function!r}; "
            f"its graded functions are: {', '.join(specs)}"
        )
    return specs[function]


def known_assignments() -> list[str]:
    """Names of the assignments that have a spec module."""
    folder = Path(__file__).parent / "specs"
    return sorted(p.stem for p in folder.glob("ps*.py"))


# ------------------------------------------------------------------ reading test cells


@dataclass(frozen=True)
class CheckCall:
    """One test cell's ``check(...)`` call, read without running it."""

    assignment: str
    function: str
    cases: list[dict[str, Any]]
    hidden: bool


def parse_check_call(source: str) -> CheckCall:
    """Read the single ``check(...)`` call of a test cell.

    The cell may hold a docstring, ``from gdcourse.grading import check``,
    comments and the hidden-test markers; anything else is an error, because
    a grader must be able to read the cases without running notebook code.

    >>> parse_check_call('''
    ... \"\"\"mse is the mean of squared differences.\"\"\"
    ... from gdcourse.grading import check
    ... check("ps3_linear_regression", "mse", mse, cases=[{"y_pred": [1.0], "y": [0.0]}])
    ... ''').cases
    [{'y_pred': [1.0], 'y': [0.0]}]
    """
    try:
        tree = ast.parse(source)  # the hidden-test markers are comments
    except SyntaxError as error:
        raise ValueError(f"test cell is not valid Python: {error}") from None
    calls: list[ast.Call] = []
    for index, node in enumerate(tree.body):
        if (
            index == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            continue  # the docstring
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "gdcourse.grading"
            and [(a.name, a.asname) for a in node.names] == [("check", None)]
        ):
            continue
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "check"
        ):
            calls.append(node.value)
            continue
        raise ValueError(
            f"test cell line {node.lineno}: only a docstring, "
            "'from gdcourse.grading import check' and one check(...) call are allowed, "
            f"got {ast.unparse(node)[:80]!r}"
        )
    if len(calls) != 1:
        raise ValueError(f"a test cell must hold exactly one check(...) call, found {len(calls)}")
    call = calls[0]
    if len(call.args) != 3 or not all(isinstance(a, ast.Constant) for a in call.args[:2]):
        raise ValueError(
            "check(...) takes three positional arguments: the assignment name, the function "
            "name (both string literals) and the function, e.g. "
            "check('ps3_linear_regression', 'mse', mse, cases=[...])"
        )
    assignment = call.args[0].value  # type: ignore[attr-defined]
    function = call.args[1].value  # type: ignore[attr-defined]
    if not isinstance(assignment, str) or not isinstance(function, str):
        raise ValueError("check(...): the assignment and function names must be strings")
    if not (isinstance(call.args[2], ast.Name) and call.args[2].id == function):
        raise ValueError(
            f"check(...): the third argument must be the function {function!r} itself, "
            f"got {ast.unparse(call.args[2])!r}"
        )
    keywords = {kw.arg: kw.value for kw in call.keywords}
    if None in keywords or not set(keywords) <= {"cases", "hidden"} or "cases" not in keywords:
        raise ValueError("check(...) takes the keywords cases=[...] and, optionally, hidden=True")
    try:
        cases = ast.literal_eval(keywords["cases"])
        hidden = ast.literal_eval(keywords["hidden"]) if "hidden" in keywords else False
    except ValueError:
        raise ValueError(
            "check(...): cases and hidden must be Python literals (numbers, strings, "
            "lists, dicts, booleans)"
        ) from None
    if not isinstance(cases, list) or not cases or not all(isinstance(c, dict) for c in cases):
        raise ValueError("check(...): cases must be a non-empty list of dicts")
    if not isinstance(hidden, bool):
        raise ValueError(f"check(...): hidden must be True or False, got {hidden!r}")
    return CheckCall(assignment, function, cases, hidden)


# ------------------------------------------------------------------ probing and judging


def probe_safely(spec: FunctionSpec, fn: Callable[..., Any], case: Case) -> dict[str, Any]:
    """``encode(spec.probe(fn, case))`` with warnings silenced; errors become data.

    See :func:`gdcourse.grading.probes.run_probe`, which does the work on the probe's
    side of the boundary (the sandbox needs no spec for it).
    """
    return run_probe(spec.probe, fn, case)


def decoded(data: Any) -> dict[str, Any]:
    """Decoded probe data, or ``{"__error__": why}``: never raises, whatever ``data`` is."""
    if isinstance(data, dict) and "__error__" in data:
        error = data["__error__"]
        return {"__error__": error[:300] if isinstance(error, str) else "malformed error report"}
    try:
        value = decode(data)
    except RecursionError:
        return {"__error__": "malformed probe data: nested too deeply"}
    except Exception as error:  # student data: anything may be wrong with it
        return {"__error__": f"malformed probe data: {str(error)[:200]}"}
    if not isinstance(value, dict):
        return {"__error__": f"malformed probe data: {type(value).__name__}"}
    return value


def judge_case(
    spec: FunctionSpec,
    case: Case,
    student_output: Any,
    reference_fn: Callable[..., Any],
    *,
    hidden: bool = False,
    index: int = 1,
) -> Verdict:
    """Judge one case in the trusted process.

    ``student_output`` is what :func:`probe_safely` returned for the student's
    function (plain data, e.g. after a JSON round trip). The reference and
    every misconception variant are probed here, in-process, and all data is
    decoded before ``spec.judge`` compares it. The verdict's transitional
    ``message`` holds :func:`~gdcourse.grading.framework.format_verdict`'s text for
    ``hidden`` and ``index`` (the case's number, from 1).
    """
    reference = decoded(probe_safely(spec, reference_fn, case))
    if "__error__" in reference:
        raise RuntimeError(
            f"the reference of {spec.function} failed on case {dict(case)!r}: "
            f"{reference['__error__']}"
        )
    variants: dict[str, dict[str, Any]] = {
        name: decoded(probe_safely(spec, variant, case)) for name, variant in spec.variants.items()
    }
    verdict = spec.judge(case, decoded(student_output), reference, variants)
    text = format_verdict(spec.function, case, verdict, hidden=hidden, index=index)
    return replace(verdict, message=text)


def run_check(
    assignment: str,
    function: str,
    fn: Callable[..., Any],
    *,
    cases: Sequence[Case],
    hidden: bool,
    reference: Callable[..., Any] | None = None,
) -> None:
    """Check ``fn`` on ``cases`` in this process; raise :class:`CheckFailed` that teaches.

    Visible checks compare with the spec's public reference and show each failing
    case's inputs, expectation and result; hidden checks compare with ``reference``, the
    master's reference solution (the instructor's :mod:`gdcourse.grading.masters` reads
    it), and say only what kind of thing went wrong, with the hint. A hidden check
    without ``reference`` says that hidden checks run after submission.
    """
    __tracebackhide__ = True  # IPython and pytest show the student the message, not our frames
    spec = get_spec(assignment, function)
    if not callable(fn):
        raise CheckFailed(
            f"{function} must be a function, got {type(fn).__name__}: run the cell that "
            f"defines {function} first."
        )
    if not isinstance(cases, list | tuple) or not cases:
        raise ValueError(f"cases must be a non-empty list of dicts, got {cases!r}")
    if not hidden:
        reference_fn = public_reference(spec)
    elif reference is not None:
        reference_fn = reference
    else:
        raise CheckFailed(HIDDEN_AFTER_SUBMISSION)
    failures = []
    for number, case in enumerate(cases, start=1):
        with Watch(spec.banned, getattr(fn, "__globals__", None)) as watch:
            data = probe_safely(spec, fn, case)
        if watch.found:
            used = ", ".join(describe(name) for name in watch.found)
            raise CheckFailed(
                f"{function} uses {used}, which this exercise asks you to write yourself: "
                "no credit.\n"
                f"Hint: write {function} with plain Python, NumPy or tensor operations, as the "
                "text above the function describes."
            )
        verdict = judge_case(spec, case, data, reference_fn, hidden=hidden, index=number)
        if not verdict.passed:
            failures.append(verdict.message)
    if failures:
        kind = "hidden" if hidden else "visible"
        header = f"{function}: {len(failures)} of {len(cases)} {kind} checks failed."
        raise CheckFailed("\n\n".join([header, *failures]))
    print(f"{function}: all {len(cases)} {'hidden' if hidden else 'visible'} checks passed.")


def public_reference(spec: FunctionSpec) -> Callable[..., Any]:
    """The spec's reference from closed forms / the public library (``spec.reference``)."""
    reference: Callable[..., Any] | None = getattr(spec, "reference", None)
    if reference is None or not callable(reference):
        raise TypeError(f"the spec of {spec.function} has no callable `reference`")
    return reference
