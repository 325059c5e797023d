"""The feedback page of one graded notebook: total first, then one block per check.

:func:`render_page` lays out a notebook as nbgrader's ``autograde`` left it (each
test cell's output is the verdict: an error output ``CheckFailed`` whose
traceback lines are the message, or a line saying that all checks passed) and as
nbgrader's ``GetGrades`` annotated it (points per cell, the total, graders'
comments). The page is one self-contained HTML file:

* the total score at the top, and a list of the checks linking to their blocks;
* each test cell a section headed by its function, whether its checks are
  visible or hidden, and the points earned ("train_autograd: hidden checks,
  0 of 2 points"); the verdict's summary line, then each failing case's message
  as its own preformatted, wrapped block;
* code as escaped, highlighted code (the test code folded away, the hidden
  tests' code never: it is removed before, and again here if it is still there);
* Markdown through :func:`~gdcourse.grading.feedback.markdown.render_markdown`;
* a Content-Security-Policy that lets no script run and nothing load (only the
  page's own inline style and ``data:`` images), and no script of its own.

Every string that comes from the notebook is escaped with
:func:`gdcourse.grading.escape.html_text` or sanitized.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdcourse.grading.escape import html_text
from gdcourse.grading.feedback.markdown import (
    MAX_IMAGE_BYTES,
    Budget,
    render_markdown,
)
from gdcourse.grading.notebook import (
    is_test_cell,
    nbgrader_meta,
    source_of,
    without_hidden_tests,
)

__all__ = ["CHECK_KEY", "CSP", "Check", "checks_of", "render_page"]

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy: no script, no request, only inline style and data images."""

CHECK_KEY = "gdcourse_check"
"""Cell metadata key where the exporter records a test cell's function and visibility."""

MAX_CODE_CHARS = 100_000
MAX_OUTPUT_CHARS = 20_000
MAX_BLOCKS = 50

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_VERDICT = re.compile(r"(?P<function>[A-Za-z_]\w*): .*?\b(?P<kind>visible|hidden) checks\b")
_IMAGE = re.compile(r"[A-Za-z0-9+/\s]+={0,2}\s*")


@dataclass(frozen=True)
class Check:
    """One test cell as the page shows it."""

    anchor: str
    function: str
    kind: str  # "visible", "hidden" or "" when unknown
    score: float
    points: float
    outputs: tuple[Mapping[str, Any], ...]

    @property
    def passed(self) -> bool:
        return self.score >= self.points

    @property
    def title(self) -> str:
        checks = f"{self.kind} checks" if self.kind else "checks"
        return f"{self.function}: {checks}, {_score(self.score, self.points)}"


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def _score(score: float, points: float) -> str:
    return f"{score:g} of {_points(points)}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = "".join(part for part in value if isinstance(part, str))
    return _ANSI.sub("", value) if isinstance(value, str) else ""


def _message(output: Mapping[str, Any]) -> str:
    """The verdict or error text of an output."""
    if output.get("output_type") == "error":
        lines = output.get("traceback")
        if output.get("ename") == "CheckFailed" and isinstance(lines, list):
            return _text("\n".join(line for line in lines if isinstance(line, str)))
        head = f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}"
        trace = _text("\n".join(x for x in lines if isinstance(x, str))) if lines else ""
        return f"{head}\n\n{trace}" if trace else head
    if output.get("output_type") == "stream":
        return _text(output.get("text"))
    data = output.get("data")
    return _text(data.get("text/plain")) if isinstance(data, Mapping) else ""


def checks_of(cells: Sequence[Mapping[str, Any]]) -> list[Check]:
    """The test cells of a notebook, in order, with function, visibility and points."""
    found: list[Check] = []
    for cell in cells:
        if not is_test_cell(cell):
            continue
        meta = nbgrader_meta(cell)
        outputs = tuple(o for o in cell.get("outputs", []) if isinstance(o, Mapping))
        first = next((_message(o) for o in outputs), "")
        verdict = _VERDICT.match(first)
        metadata = cell.get("metadata")
        described = metadata.get(CHECK_KEY) if isinstance(metadata, Mapping) else None
        described = described if isinstance(described, Mapping) else {}
        function = described.get("function") or (verdict and verdict["function"])
        kind = described.get("kind") or (verdict["kind"] if verdict else "")
        points = _number(meta.get("points")) or 0.0
        score = _number(meta.get("score"))
        if score is None:  # not from the gradebook: the verdict decides
            score = 0.0 if any(o.get("output_type") == "error" for o in outputs) else points
        found.append(
            Check(
                anchor=f"check-{len(found) + 1}",
                function=str(function or meta.get("grade_id") or "test"),
                kind=str(kind),
                score=score,
                points=points,
                outputs=outputs,
            )
        )
    return found


_highlighted: dict[tuple[str, str], str] = {}
MAX_HIGHLIGHTED = 256
"""Code cells a feedback process keeps highlighted (the assignment's own cells and its
test cells are the same in every student's page): the oldest goes first."""


def _highlight(code: str, language: str) -> str:
    """``code`` as highlighted HTML; a cell this process highlighted before is not
    highlighted again (the result depends on the code and the language alone)."""
    key = (code, language)
    known = _highlighted.get(key)
    if known is None:
        known = _highlight_now(code, language)
        if len(_highlighted) >= MAX_HIGHLIGHTED:
            del _highlighted[next(iter(_highlighted))]
        _highlighted[key] = known
    return known


def _highlight_now(code: str, language: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    if len(code) > MAX_CODE_CHARS:
        shown = code[:MAX_CODE_CHARS] + "\n…"
        return f'<div class="gd-code"><pre>{html_text(shown)}</pre></div>'
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = PythonLexer()
    return str(highlight(code, lexer, HtmlFormatter(cssclass="gd-code")))


def _blocks(message: str) -> str:
    """The verdict's summary line, then each case's message as a block of its own."""
    message = message[:MAX_OUTPUT_CHARS]
    parts = [part.strip("\n") for part in _BLANK_LINE.split(message) if part.strip()]
    if not parts:
        return ""
    html = [f'<p class="gd-verdict">{html_text(parts[0])}</p>']
    html += [f'<pre class="gd-case">{html_text(part)}</pre>' for part in parts[1:MAX_BLOCKS]]
    if len(parts) > MAX_BLOCKS:
        html.append(f'<p class="gd-note">({len(parts) - MAX_BLOCKS} more not shown)</p>')
    return "\n".join(html)


def _outputs(outputs: Sequence[Mapping[str, Any]]) -> str:
    """Outputs of an ordinary code cell: text, errors and PNG or JPEG images."""
    html = []
    for output in outputs:
        data = output.get("data")
        if isinstance(data, Mapping):
            for mime in ("image/png", "image/jpeg"):
                image = _text(data.get(mime))
                if image and len(image) <= MAX_IMAGE_BYTES and _IMAGE.fullmatch(image):
                    compact = re.sub(r"\s+", "", image)
                    html.append(
                        f'<img class="gd-output" alt="output" src="data:{mime};base64,{compact}">'
                    )
                    break
            else:
                text = _message(output)
                if text:
                    html.append(
                        f'<pre class="gd-output">{html_text(text[:MAX_OUTPUT_CHARS])}</pre>'
                    )
            continue
        text = _message(output)
        if text:
            kind = "gd-error" if output.get("output_type") == "error" else "gd-output"
            html.append(f'<pre class="{kind}">{html_text(text[:MAX_OUTPUT_CHARS])}</pre>')
    return "\n".join(html)


def _check_section(check: Check, cell: Mapping[str, Any], language: str) -> str:
    status = "gd-pass" if check.passed else "gd-fail"
    body = "\n".join(_blocks(_message(output)) for output in check.outputs)
    if not body:
        body = '<p class="gd-verdict">No result was recorded for these checks.</p>'
    code = without_hidden_tests(source_of(cell)).strip()
    folded = (
        f"<details><summary>Test code</summary>{_highlight(code, language)}</details>"
        if code
        else ""
    )
    return (
        f'<section class="gd-check {status}" id="{check.anchor}">\n'
        f"<h2>{html_text(check.title)}</h2>\n{body}\n{folded}\n</section>"
    )


def _graded_note(cell: Mapping[str, Any]) -> str:
    """Points and the grader's comment of a graded cell that is not a test cell."""
    meta = nbgrader_meta(cell)
    html = []
    score, points = _number(meta.get("score")), _number(meta.get("points"))
    if (meta.get("grade") or meta.get("task")) and points is not None and score is not None:
        html.append(f'<p class="gd-points">{html_text(_score(score, points))}</p>')
    comment = meta.get("comment")
    if isinstance(comment, str) and comment.strip():
        html.append(
            '<div class="gd-comment"><p class="gd-label">Comment from your grader</p>'
            f"{render_markdown(comment)}</div>"
        )
    return "\n".join(html)


def _cell(cell: Mapping[str, Any], check: Check | None, language: str, budget: Budget) -> str:
    if check is not None:
        return _check_section(check, cell, language)
    kind = cell.get("cell_type")
    source = source_of(cell)
    meta = nbgrader_meta(cell)
    if kind == "markdown":
        attachments = cell.get("attachments")
        html = render_markdown(
            source,
            attachments=attachments if isinstance(attachments, Mapping) else None,
            budget=budget,
        )
        return f'<div class="gd-cell gd-markdown">{html}{_graded_note(cell)}</div>'
    if kind == "code":
        label = "Your code" if meta.get("solution") else "Code"
        outputs = [o for o in cell.get("outputs", []) if isinstance(o, Mapping)]
        return (
            f'<div class="gd-cell"><p class="gd-label">{label}</p>'
            f"{_highlight(source, language)}{_outputs(outputs)}{_graded_note(cell)}</div>"
        )
    if source.strip():
        shown = source[:MAX_CODE_CHARS]
        return f'<div class="gd-cell"><pre class="gd-source">{html_text(shown)}</pre></div>'
    return ""


@functools.cache
def _style() -> str:
    from pygments.formatters import HtmlFormatter

    pygments = HtmlFormatter(style="default").get_style_defs(
        [".gd-code", ".gd-markdown .highlight"]
    )
    return _CSS + "\n" + str(pygments)


_CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f6f7f9; color: #1d2330;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 1rem 4rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
.gd-meta { color: #4a5468; margin: 0 0 .75rem; }
.gd-total { font-size: 1.25rem; margin: .5rem 0 1rem; }
.gd-summary ul { list-style: none; padding: 0; margin: 0; }
.gd-summary li { padding: .2rem .5rem; border-left: 4px solid; margin: .2rem 0; background: #fff; }
.gd-summary li.gd-pass { border-color: #1a7f37; }
.gd-summary li.gd-fail { border-color: #c62828; }
.gd-cell, .gd-check { background: #fff; border: 1px solid #d8dde6; border-radius: 6px;
  margin: 1rem 0; padding: .75rem 1rem; overflow-wrap: anywhere; }
.gd-check { border-left: 6px solid; }
.gd-check.gd-pass { border-left-color: #1a7f37; }
.gd-check.gd-fail { border-left-color: #c62828; }
.gd-check h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
.gd-label { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em;
  color: #4a5468; margin: 0 0 .25rem; }
.gd-verdict { font-weight: 600; white-space: pre-wrap; }
pre, code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
  font-size: .9rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .5rem 0; }
.gd-case, .gd-error { background: #fdf1f1; border: 1px solid #f0c4c4; border-radius: 4px;
  padding: .5rem .75rem; }
.gd-pass .gd-case { background: #f1f8f3; border-color: #bfdcc8; }
.gd-output, .gd-source { background: #f6f7f9; border-radius: 4px; padding: .5rem .75rem; }
.gd-code pre, .gd-markdown .highlight pre { background: #f6f7f9; border-radius: 4px;
  padding: .5rem .75rem; }
.gd-note { color: #4a5468; font-style: italic; }
.gd-comment { border-top: 1px dashed #d8dde6; margin-top: .75rem; padding-top: .5rem; }
.gd-markdown img, img.gd-output { max-width: 100%; height: auto; }
.gd-markdown table { border-collapse: collapse; }
.gd-markdown th, .gd-markdown td { border: 1px solid #d8dde6; padding: .2rem .5rem; }
math[display="block"] { display: block math; margin: .75rem 0; }
details summary { cursor: pointer; color: #4a5468; }
"""


def render_page(
    cells: Sequence[Mapping[str, Any]],
    *,
    assignment: str = "",
    notebook: str = "",
    student: str = "",
    score: float | None = None,
    max_score: float | None = None,
    late_penalty: float = 0.0,
    language: str = "python",
) -> str:
    """The feedback page of a notebook's ``cells`` (nbformat dicts) as one HTML document.

    ``score`` and ``max_score`` default to the sums over the test cells (the
    gradebook's totals, which count every graded cell, are better when known).
    """
    checks = checks_of(cells)
    by_cell = dict(zip([id(c) for c in cells if is_test_cell(c)], checks, strict=True))
    if max_score is None:
        max_score = sum(check.points for check in checks)
    if score is None:
        score = sum(check.score for check in checks)
    budget = Budget()
    body = "\n".join(_cell(cell, by_cell.get(id(cell)), language, budget) for cell in cells)
    title = f"Feedback: {notebook or assignment}"
    meta = " · ".join(
        part
        for part in (
            f"Assignment {html_text(assignment)}" if assignment else "",
            f"Notebook {html_text(notebook)}" if notebook else "",
            f"Student {html_text(student)}" if student else "",
        )
        if part
    )
    late = (
        f" (after a late-submission penalty of {html_text(_points(late_penalty))})"
        if late_penalty
        else ""
    )
    summary = "\n".join(
        f'<li class="{"gd-pass" if c.passed else "gd-fail"}"><a href="#{c.anchor}">'
        f"{html_text(c.title)}</a></li>"
        for c in checks
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html_text(title)}</title>
<style>{_style()}</style>
</head>
<body>
<main>
<header>
<h1>{html_text(title)}</h1>
<p class="gd-meta">{meta}</p>
<p class="gd-total">Score: <strong>{html_text(_score(score, max_score))}</strong>{late}</p>
<nav class="gd-summary" aria-label="checks"><ul>
{summary}
</ul></nav>
</header>
{body}
</main>
</body>
</html>
"""
