"""Specs: what each graded function is judged with, and the helpers custom specs share."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from gdcourse.grading.framework.compare import DEFAULT_TOLERANCES, Tolerance, first_difference
from gdcourse.grading.shortcuts import check_banned
from gdcourse.grading.framework.verdicts import (
    CHANGED_IN_PLACE,
    COULD_NOT_RUN,
    NO_EXCEPTION,
    NOT_WRITTEN,
    NOT_WRITTEN_HINT,
    WRONG_LENGTH,
    WRONG_TYPE,
    Outcome,
    Verdict,
    describe_outcome,
    describe_value,
    exception_name,
    raised_problem,
    read_outcome,
)
from gdcourse.grading.misconceptions import MISCONCEPTIONS, check_names
from gdcourse.grading.probes import Probe
from gdcourse.grading.protocol import Case

__all__ = [
    "FunctionSpec",
    "Spec",
    "check_spec",
    "common_failure",
    "could_not_run",
    "hint_for",
    "mistake",
]


class FunctionSpec(Protocol):
    """What an assignment's spec module declares for each graded function."""

    # Read-only properties, so that frozen dataclasses and plain attributes both fit.

    @property
    def function(self) -> str:
        """Name of the function, equal to the nbgrader grade_id of its solution cell."""
        ...

    @property
    def probe(self) -> Probe:
        """``probe(fn, case)``: the probe from ``gdcourse.grading.probes.<assignment>``."""
        ...

    @property
    def reference(self) -> Callable[..., Any]:
        """The right implementation from closed forms or gdcourse's public library, used by
        the visible checks (students have no master; hidden checks use the master's)."""
        ...

    @property
    def variants(self) -> Mapping[str, Callable[..., Any]]:
        """Wrong implementations, by registered misconception name."""
        ...

    @property
    def banned(self) -> Sequence[str]:
        """Shortcuts that give no credit (:data:`SHORTCUTS` or ``student:<function>``)."""
        ...

    @property
    def hint(self) -> str:
        """What to look at when the answer is wrong and no misconception matches."""
        ...

    @property
    def hints(self) -> Mapping[str, str]:
        """Misconception name -> this assignment's wording of its hint."""
        ...


    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Compare decoded probe data; never trusts ``student``'s types, shapes or values."""
        ...


def hint_for(spec: FunctionSpec, misconception: str) -> str:
    """The spec's wording of ``misconception``'s hint, else the registry's."""
    return spec.hints.get(misconception) or MISCONCEPTIONS[misconception].hint


def check_spec(spec: FunctionSpec) -> None:
    """Raise ``ValueError`` when a spec names an unknown misconception or shortcut."""
    where = f"spec of {spec.function}"
    check_names(spec.variants, f"{where}: variants")
    check_names(spec.hints, f"{where}: hints")
    check_names(getattr(spec, "variant_tolerances", {}), f"{where}: variant_tolerances")
    check_banned(spec.function, spec.banned)


def could_not_run(error: str, hint: str) -> Verdict:
    """The verdict when the probe's data says the function could not be called or read."""
    return Verdict(False, "your function", "", error, COULD_NOT_RUN, None, hint)


def mistake(
    spec: FunctionSpec,
    where: str,
    expected: str,
    got: str,
    problem: str,
    misconception: str | None = None,
) -> Verdict:
    """A failing verdict with the misconception's hint (in the spec's words) or the spec's."""
    hint = spec.hint if misconception is None else hint_for(spec, misconception)
    return Verdict(False, where, expected, got, problem, misconception, hint)


def common_failure(spec: FunctionSpec, outcome: Outcome) -> Verdict | None:
    """What every judge checks first: the probe's data is unusable, the call raised, or
    a watched argument changed in place."""
    if outcome.error is not None:
        return could_not_run(outcome.error, spec.hint)
    if outcome.raised is not None:
        verdict = mistake(
            spec,
            "what the call does",
            "it returns a result",
            describe_outcome(outcome),
            raised_problem(outcome.raised),
        )
        if "NotImplementedError" in outcome.raised:
            return replace(verdict, problem=NOT_WRITTEN, hint=NOT_WRITTEN_HINT)
        return verdict
    if outcome.modified:
        return mistake(
            spec,
            "the arguments after the call",
            "unchanged",
            f"{', '.join(outcome.modified)} changed in place",
            CHANGED_IN_PLACE,
            "argument_modified_in_place",
        )
    return None


@dataclass(frozen=True)
class Spec:
    """A :class:`FunctionSpec` for a function judged by what one call returns.

    Parameters
    ----------
    function:
        The graded function's name (its solution cell's grade_id).
    probe:
        ``probe(fn, case)`` from ``gdcourse.grading.probes.<assignment>``.
    reference:
        The right implementation, from closed forms or gdcourse's public library.
    variants:
        Misconception name (registered in :mod:`gdcourse.grading.misconceptions`) ->
        a wrong implementation with the same signature.
    banned:
        Shortcuts that give no credit: names of :data:`SHORTCUTS` or
        ``"student:<function>"``.
    hint:
        What to look at when the answer is wrong and no misconception matches.
    hints:
        Misconception name -> this assignment's wording of its hint.
    tolerances:
        Per-dtype tolerances for values.
    variant_tolerances:
        Misconception name -> a looser tolerance for recognising that mistake when
        the student's numbers depend on a free choice (a finite-difference step, say).
    output_names:
        Names of the parts of a tuple result (``("w", "b", "losses")``), so that
        feedback says ``losses[0]`` rather than ``the result[2][0]``.
    """

    function: str
    probe: Probe
    reference: Callable[..., Any]
    variants: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    banned: Sequence[str] = ()
    hint: str = "compare your code with the formula in the text above the function."
    hints: Mapping[str, str] = field(default_factory=dict)
    tolerances: Mapping[str, Tolerance] = field(default_factory=lambda: DEFAULT_TOLERANCES)
    variant_tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    output_names: Sequence[str] = ()

    def __post_init__(self) -> None:
        check_spec(self)


    def _difference(
        self,
        case: Case,
        expected: Outcome,
        got: Outcome,
        tolerance: Tolerance | None = None,
    ) -> Verdict | None:
        if expected.raised is not None:
            wanted = expected.raised[0]
            if got.raised is not None and wanted in got.raised:
                return None
            problem = (
                NO_EXCEPTION
                if got.raised is None
                else f"raised the wrong exception ({exception_name(got.raised)})"
            )
            return Verdict(
                False,
                "what the call does",
                f"it raises {wanted} (e.g. {expected.message!r})",
                describe_outcome(got),
                problem,
            )
        if got.raised is not None:
            not_written = "NotImplementedError" in got.raised
            return Verdict(
                False,
                "what the call does",
                "it returns a result",
                describe_outcome(got),
                NOT_WRITTEN if not_written else raised_problem(got.raised),
            )
        if got.modified != expected.modified:
            return Verdict(
                False,
                "the arguments after the call",
                "unchanged",
                f"{', '.join(got.modified)} changed in place",
                CHANGED_IN_PLACE,
            )
        tolerances = self.tolerances
        if tolerance is not None:
            tolerances = {dtype: tolerance for dtype in DEFAULT_TOLERANCES}
        case_dtype = case.get("dtype")
        dtype = case_dtype if isinstance(case_dtype, str) else None
        exp_out, got_out = expected.output, got.output
        names = list(self.output_names)
        if names and isinstance(exp_out, tuple) and len(exp_out) == len(names):
            if isinstance(got_out, np.ndarray) and got_out.ndim >= 1:
                got_out = list(got_out)
            if not isinstance(got_out, tuple | list) or len(got_out) != len(names):
                return Verdict(
                    False,
                    "the result",
                    f"a tuple ({', '.join(names)})",
                    describe_value(got_out),
                    WRONG_TYPE if not isinstance(got_out, tuple | list) else WRONG_LENGTH,
                )
            for name, exp_item, got_item in zip(names, exp_out, got_out, strict=True):
                found = first_difference(
                    exp_item, got_item, name, tolerances=tolerances, case_dtype=dtype
                )
                if found is not None:
                    return found
            return None
        return first_difference(
            exp_out, got_out, "the result", tolerances=tolerances, case_dtype=dtype
        )

    def judge(
        self,
        case: Case,
        student: Any,
        reference: Any,
        variants: Mapping[str, Any],
    ) -> Verdict:
        """Compare the student's decoded probe data with the reference's; name a mistake."""
        got = read_outcome(student)
        if got.error is not None:
            return could_not_run(got.error, self.hint)
        expected = read_outcome(reference)
        if expected.error is not None:
            raise ValueError(f"the reference's probe data is unusable: {expected.error}")
        difference = self._difference(case, expected, got)
        if difference is None:
            return Verdict(True)
        misconception = None
        for name, data in variants.items():
            variant = read_outcome(data)
            if variant.error is not None:
                continue
            if self._difference(case, expected, variant) is None:
                continue  # this variant happens to be right on this case
            if self._difference(case, variant, got, self.variant_tolerances.get(name)) is None:
                misconception = name
                break
        if misconception is None and got.modified:
            misconception = "argument_modified_in_place"
        if misconception is not None:
            hint = hint_for(self, misconception)
        elif difference.problem == NOT_WRITTEN:
            hint = NOT_WRITTEN_HINT
        else:
            hint = self.hint
        return replace(difference, misconception=misconception, hint=hint)
