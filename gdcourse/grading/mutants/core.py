"""Mutation scores: every mutant of every graded function, graded, classified, reported.

:func:`generate` makes an assignment's mutants (course operators first, so that a change a
course operator and a generic one both make is credited to the course one), dropping those
identical to the original or to an earlier mutant and those that do not compile.
:func:`run_assignment` grades them through the grader's own stages
(:mod:`~gdcourse.grading.mutants.pipeline`), several to a notebook (one per graded function:
each function's checks judge only that function; a notebook whose run did not end normally
is graded again one mutant at a time), and classifies each:

- **killed**: some test cell of its function lost points;
- **equivalent**: it scored full marks and :mod:`~gdcourse.grading.mutants.equivalent`
  lists it with the reason it cannot change any result;
- **survived**: full marks and not listed: a failure of the checks (or of the list).

A course mutant whose misconception is registered is **named** when a visible check of its
function named that misconception in the feedback.
"""

from __future__ import annotations

import difflib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdcourse.grading.misconceptions import MISCONCEPTIONS
from gdcourse.grading.mutants import equivalent as equivalent_list
from gdcourse.grading.mutants import pipeline, variants
from gdcourse.grading.mutants.operators import COURSE, GENERIC, Mutant, mutate_source, normal

__all__ = [
    "Result",
    "Scored",
    "assignments",
    "generate",
    "run_assignments",
    "sample",
    "summary_line",
]

SEED = 19
"""The seed of CI's sample (issue 19)."""


@dataclass
class Generated:
    """An assignment's mutants, and what was left out."""

    mutants: list[Mutant]
    identical: int = 0
    """Mutants whose code equals the original's or an earlier mutant's."""
    invalid: int = 0
    """Mutants that do not compile."""
    originals: dict[str, str] = field(default_factory=dict)


@dataclass
class Scored:
    """One graded mutant."""

    mutant: Mutant
    outcome: str  # killed, survived, equivalent
    named_as: list[str]
    failed: list[str]
    reason: str = ""

    @property
    def registered(self) -> bool:
        m = self.mutant.misconception
        return self.mutant.kind == "course" and m is not None and m in MISCONCEPTIONS

    @property
    def named(self) -> bool:
        return self.registered and self.mutant.misconception in self.named_as


@dataclass
class Result:
    """An assignment's mutation score."""

    assignment: str
    generated: Generated
    scored: list[Scored]
    correct: list[tuple[str, str, bool, list[str]]]
    """(function, variant, full marks, cells that lost points) of every correct variant."""
    seconds: float = 0.0
    stale: list[str] = field(default_factory=list)
    """Listed equivalents of this assignment that no mutant has any more."""

    def count(self, outcome: str) -> int:
        return sum(1 for s in self.scored if s.outcome == outcome)

    @property
    def non_equivalent(self) -> int:
        return len(self.scored) - self.count("equivalent")

    @property
    def registered(self) -> int:
        return sum(1 for s in self.scored if s.registered)

    @property
    def named(self) -> int:
        return sum(1 for s in self.scored if s.named)

    @property
    def correct_rejected(self) -> list[tuple[str, str, bool, list[str]]]:
        return [c for c in self.correct if not c[2]]

    @property
    def ok(self) -> bool:
        return (
            self.count("survived") == 0
            and not self.correct_rejected
            and self.named >= 0.95 * self.registered
        )

    def line(self) -> str:
        return (
            f"{self.assignment}: {self.count('killed')}/{self.non_equivalent} non-equivalent "
            f"killed, {self.count('equivalent')} equivalent, {self.named}/{self.registered} "
            f"named ({len(self.scored)} graded, {self.generated.identical} identical and "
            f"{self.generated.invalid} not compiling skipped; correct variants "
            f"{len(self.correct) - len(self.correct_rejected)}/{len(self.correct)} full marks)"
        )


def assignments(root: Path) -> list[str]:
    """Every assignment of the course: a master notebook and a student version."""
    return sorted(
        p.parent.name
        for p in (root / "solutions").glob("*/*.ipynb")
        if p.stem == p.parent.name and (root / "exercises" / p.stem / f"{p.stem}.ipynb").is_file()
    )


def generate(root: Path, assignment: str) -> Generated:
    """Every distinct, compiling mutant of ``assignment``'s solution cells."""
    master = root / "solutions" / assignment / f"{assignment}.ipynb"
    found: list[Mutant] = []
    generated = Generated(found)
    for cell in pipeline.solution_cells(master):
        original = normal(cell.source)
        generated.originals[cell.grade_id] = original
        seen = {original}
        for mutant in mutate_source(cell.grade_id, cell.source, cell.regions, COURSE + GENERIC):
            if not mutant.source:
                generated.invalid += 1
                continue
            try:
                compile(mutant.source, f"<mutant of {cell.grade_id}>", "exec")
                text = normal(mutant.source)
            except (SyntaxError, ValueError):
                generated.invalid += 1
                continue
            if text in seen:
                generated.identical += 1
                continue
            seen.add(text)
            found.append(mutant)
    return generated


def sample(generated: Generated, *, course: int, generic: int, seed: int = SEED) -> list[Mutant]:
    """A fixed sample: ``course`` course mutants (those naming a registered misconception
    first) and ``generic`` generic ones, drawn with ``seed``."""
    rng = random.Random(seed)
    registered = [m for m in generated.mutants if m.kind == "course" and m.misconception]
    others = [m for m in generated.mutants if m.kind == "course" and not m.misconception]
    chosen = rng.sample(registered, min(course, len(registered)))
    if len(chosen) < course:
        chosen += rng.sample(others, min(course - len(chosen), len(others)))
    plain = [m for m in generated.mutants if m.kind == "generic"]
    chosen += rng.sample(plain, min(generic, len(plain)))
    return sorted(chosen, key=generated.mutants.index)


def _pack(mutants: Sequence[Mutant]) -> list[list[Mutant]]:
    """Mutants in notebooks, at most one per function in each."""
    by_function: dict[str, list[Mutant]] = {}
    for mutant in mutants:
        by_function.setdefault(mutant.function, []).append(mutant)
    depth = max((len(v) for v in by_function.values()), default=0)
    return [[v[i] for v in by_function.values() if i < len(v)] for i in range(depth)]


def _functions(root: Path, assignment: str) -> dict[str, str]:
    """test cell grade_id -> the function it checks."""
    from gdcourse.grading.autograde import read_master

    master = read_master(root / "solutions" / assignment / f"{assignment}.ipynb")
    return {t.grade_id: t.call.function for t in master.tests}


def _diff(original: str, changed: str) -> list[str]:
    lines = difflib.unified_diff(original.splitlines(), changed.splitlines(), n=0, lineterm="")
    return [ln for ln in lines if ln[:1] in "+-" and not ln.startswith(("+++", "---"))][:12]


def run_assignments(
    root: Path,
    names: Sequence[str],
    *,
    workers: int,
    isolation: bool = True,
    chosen: dict[str, list[Mutant]] | None = None,
    correct: bool = True,
    variant_kinds: Sequence[Sequence[str]] | None = None,
    handwritten: int | None = None,
) -> list[Result]:
    """Grade the mutants (all, or ``chosen[assignment]``) and the correct variants of
    ``names``, in one pool; a :class:`Result` per assignment."""
    started = time.monotonic()
    plans: dict[str, tuple[Generated, list[Mutant]]] = {}
    jobs: list[tuple[str, str, bytes]] = []
    packs: dict[str, list[Mutant]] = {}
    variant_jobs: dict[str, tuple[str, list[tuple[str, str]]]] = {}
    for assignment in names:
        generated = generate(root, assignment)
        mutants = generated.mutants if chosen is None else chosen[assignment]
        plans[assignment] = (generated, mutants)
        cells = pipeline.solution_cells(root / "solutions" / assignment / f"{assignment}.ipynb")
        student = pipeline.student_notebook(root, assignment)
        base = pipeline.correct_sources(cells)
        for i, pack in enumerate(_pack(mutants)):
            key = f"{assignment}#m{i}"
            packs[key] = pack
            changed = {m.function: m.source for m in pack}
            jobs.append((key, assignment, pipeline.notebook_with(student, {**base, **changed})))
        if correct:
            for i, (label, sources) in enumerate(
                variants.notebooks(
                    root,
                    assignment,
                    cells,
                    kinds=variant_kinds or variants.EACH_ALONE,
                    handwritten=handwritten,
                )
            ):
                key = f"{assignment}#c{i}"
                variant_jobs[key] = (label, sorted(sources.items()))
                filled = pipeline.notebook_with(student, {**base, **sources})
                jobs.append((key, assignment, filled))
    label = "mutants" if len(names) > 1 else names[0]
    graded = pipeline.grade_notebooks(
        root, jobs, workers=workers, isolation=isolation, label=label
    )
    # a packed notebook whose run did not end normally: each of its mutants alone
    again: list[tuple[str, str, bytes]] = []
    for key, pack in packs.items():
        if len(pack) > 1 and graded[key].status != "ok":
            assignment = key.split("#")[0]
            cells = pipeline.solution_cells(
                root / "solutions" / assignment / f"{assignment}.ipynb"
            )
            student = pipeline.student_notebook(root, assignment)
            base = pipeline.correct_sources(cells)
            for j, mutant in enumerate(pack):
                alone = pipeline.notebook_with(student, {**base, mutant.function: mutant.source})
                again.append((f"{key}/{j}", assignment, alone))
    if again:
        graded.update(
            pipeline.grade_notebooks(
                root, again, workers=workers, isolation=isolation, label="one at a time"
            )
        )
    results = []
    for assignment in names:
        generated, mutants = plans[assignment]
        tests = _functions(root, assignment)
        scored = []
        for key, pack in packs.items():
            if key.split("#")[0] != assignment:
                continue
            for j, mutant in enumerate(pack):
                grade = graded.get(f"{key}/{j}") or graded[key]
                failed = [g for g in grade.failed if tests.get(g) == mutant.function]
                named_as = grade.misconceptions.get(mutant.function, [])
                if failed:
                    outcome, reason = "killed", ""
                elif mutant.ident in equivalent_list.EQUIVALENT:
                    outcome, reason = "equivalent", equivalent_list.EQUIVALENT[mutant.ident]
                else:
                    outcome, reason = "survived", ""
                scored.append(Scored(mutant, outcome, list(named_as), failed, reason))
        order = {m.ident: i for i, m in enumerate(mutants)}
        scored.sort(key=lambda s: order[s.mutant.ident])
        correct_results = []
        for key, (label_, chosen_sources) in variant_jobs.items():
            if key.split("#")[0] != assignment:
                continue
            grade = graded[key]
            for function, _ in chosen_sources:
                lost = [g for g in grade.failed if tests.get(g) == function]
                correct_results.append((function, label_, not lost, lost))
        known = {m.ident for m in generated.mutants}
        stale = [
            ident
            for ident in equivalent_list.EQUIVALENT
            if ident.split("/")[0] in generated.originals and ident not in known
        ]
        results.append(Result(assignment, generated, scored, correct_results, stale=stale))
    elapsed = time.monotonic() - started
    for result in results:
        result.seconds = elapsed
    return results


def summary_line(results: Sequence[Result]) -> str:
    """``mutants: K/N non-equivalent killed, E equivalent, M/R named`` over ``results``."""
    killed = sum(r.count("killed") for r in results)
    total = sum(r.non_equivalent for r in results)
    equivalent = sum(r.count("equivalent") for r in results)
    named = sum(r.named for r in results)
    registered = sum(r.registered for r in results)
    return (
        f"mutants: {killed}/{total} non-equivalent killed, {equivalent} equivalent, "
        f"{named}/{registered} named"
    )


def to_json(result: Result) -> dict[str, Any]:
    """The report's data (no times: the file changes only when a result does)."""
    originals = result.generated.originals
    return {
        "assignment": result.assignment,
        "generated": len(result.generated.mutants)
        + result.generated.identical
        + result.generated.invalid,
        "identical_skipped": result.generated.identical,
        "not_compiling_skipped": result.generated.invalid,
        "graded": len(result.scored),
        "killed": result.count("killed"),
        "survived": result.count("survived"),
        "equivalent": result.count("equivalent"),
        "course": sum(1 for s in result.scored if s.mutant.kind == "course"),
        "registered": result.registered,
        "named": result.named,
        "correct_variants": [
            {"function": f, "variant": v, "full_marks": ok, "lost": lost}
            for f, v, ok, lost in result.correct
        ],
        "mutants": [
            {
                "id": s.mutant.ident,
                "function": s.mutant.function,
                "kind": s.mutant.kind,
                "operator": s.mutant.operator,
                "change": s.mutant.label,
                "line": s.mutant.line,
                "misconception": s.mutant.misconception,
                "outcome": s.outcome,
                "named": s.named if s.registered else None,
                "named_as": s.named_as,
                "failed": s.failed,
                "reason": s.reason,
                "diff": _diff(originals[s.mutant.function], normal(s.mutant.source)),
            }
            for s in result.scored
        ],
    }
