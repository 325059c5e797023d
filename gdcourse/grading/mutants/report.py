"""The Markdown report of an assignment's mutation score (from its JSON data)."""

from __future__ import annotations

from typing import Any

__all__ = ["markdown"]


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(lines: list[str]) -> str:
    return "<br>".join(f"`{_cell(line)}`" for line in lines) or "-"


def markdown(data: dict[str, Any]) -> str:
    """The report: counts, course mutants, survivors, equivalents, correct variants."""
    mutants = data["mutants"]
    non_equivalent = data["graded"] - data["equivalent"]
    lines = [
        f"# Mutation score of {data['assignment']}",
        "",
        "Made by `python3 -m gdcourse mutants` (gdcourse/grading/mutants/). Instructors "
        "only: never published.",
        "",
        "| generated | identical, skipped | not compiling, skipped | graded | killed | "
        "survived | equivalent | course | named / registered |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {data['generated']} | {data['identical_skipped']} | "
        f"{data['not_compiling_skipped']} | {data['graded']} | {data['killed']} | "
        f"{data['survived']} | {data['equivalent']} | {data['course']} | "
        f"{data['named']} / {data['registered']} |",
        "",
        f"**{data['killed']}/{non_equivalent} non-equivalent mutants killed**, "
        f"{data['named']}/{data['registered']} course mutants with a registered "
        "misconception named in the feedback.",
        "",
    ]
    survivors = [m for m in mutants if m["outcome"] == "survived"]
    lines += ["## Survivors", ""]
    if survivors:
        lines += ["| id | change | diff |", "| --- | --- | --- |"]
        lines += [
            f"| `{m['id']}` | {_cell(m['change'])} | {_code(m['diff'])} |" for m in survivors
        ]
    else:
        lines.append("None.")
    lines += ["", "## Equivalent mutants (gdcourse/grading/mutants/equivalent.py)", ""]
    equivalents = [m for m in mutants if m["outcome"] == "equivalent"]
    if equivalents:
        lines += ["| id | diff | why no result can change |", "| --- | --- | --- |"]
        lines += [
            f"| `{m['id']}` | {_code(m['diff'])} | {_cell(m['reason'])} |" for m in equivalents
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        "## Course mutants",
        "",
        "| id | operator | change | misconception | outcome | named |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in mutants:
        if m["kind"] != "course":
            continue
        named = {True: "yes", False: "**no**", None: "-"}[m["named"]]
        lines.append(
            f"| `{m['id']}` | {m['operator']} | {_cell(m['change'])} | "
            f"{m['misconception'] or '-'} | {m['outcome']} | {named} |"
        )
    lines += ["", "## Correct variants (each must score full marks)", ""]
    lines += ["| function | variant | full marks |", "| --- | --- | --- |"]
    for v in data["correct_variants"]:
        ok = "yes" if v["full_marks"] else f"**no** ({', '.join(v['lost'])})"
        lines.append(f"| {v['function']} | {_cell(v['variant'])} | {ok} |")
    generic: dict[str, list[int]] = {}
    for m in mutants:
        if m["kind"] == "generic":
            counts = generic.setdefault(m["operator"], [0, 0])
            counts[0] += 1
            counts[1] += m["outcome"] == "killed"
    lines += ["", "## Generic mutants by operator", "", "| operator | mutants | killed |"]
    lines += ["| --- | --- | --- |"]
    lines += [f"| {op} | {n} | {k} |" for op, (n, k) in sorted(generic.items())]
    return "\n".join(lines) + "\n"
