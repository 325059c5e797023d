"""A student's Markdown as inert HTML, with the maths as MathML: no script, no remote resource.

:func:`render_markdown` renders with nbconvert's Markdown parser (mistune, the one
nbconvert uses for notebooks, which keeps ``$...$`` and ``$$...$$`` apart from the
text), turns each formula into MathML with ``latex2mathml`` (which Chromium and
Firefox render natively, so the page needs no MathJax), and passes the whole
result through bleach, the HTML sanitizer that nbconvert itself uses, with an
allow-list: plain structural HTML, images only as ``data:image`` URLs, links only
to ``http``, ``https``, ``mailto`` or a fragment, and MathML elements without
links or styles. Anything else is shown escaped, as text. The feedback page adds a
Content-Security-Policy as a second wall.

Every step has a bound, because each parser here is slower than linear on some
hostile input (bleach's html5lib on deep nesting, latex2mathml on long formulas):
a cell's size, a formula's size and brace depth, the number and nesting depth of
tags in a cell, and what one notebook may spend in total (:class:`Budget`). A cell
over a bound is shown as its source text, escaped; a formula over one as LaTeX.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gdcourse.grading.escape import html_text

__all__ = ["ALLOWED_TAGS", "Budget", "render_markdown", "sanitize_html", "tex_to_mathml"]

#: Bounds for one cell and for one formula.
MAX_CELL_CHARS = 50_000
MAX_CELL_TAGS = 10_000
MAX_DEPTH = 100
MAX_TEX_CHARS = 2_000
MAX_TEX_DEPTH = 40
MAX_MATHML_CHARS = 200_000
MAX_IMAGE_BYTES = 5 * 2**20
#: How much of a cell over a bound is shown as text.
SHOWN_CHARS = 20_000

_HTML_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "input", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul", "var",
}  # fmt: skip
_MATHML_TAGS = {
    "math", "menclose", "merror", "mfrac", "mi", "mmultiscripts", "mn", "mo", "mover",
    "mpadded", "mphantom", "mprescripts", "mroot", "mrow", "ms", "mspace", "msqrt", "mstyle",
    "msub", "msubsup", "msup", "mtable", "mtd", "mtext", "mtr", "munder", "munderover", "none",
}  # fmt: skip
ALLOWED_TAGS = frozenset(_HTML_TAGS | _MATHML_TAGS)
"""Elements kept in student HTML; any other is shown as escaped text."""

_MATHML_ATTRIBUTES = {
    "accent", "accentunder", "align", "columnalign", "columnlines", "columnspacing", "depth",
    "display", "displaystyle", "fence", "form", "frame", "height", "largeop", "linethickness",
    "lspace", "mathbackground", "mathcolor", "mathsize", "mathvariant", "maxsize", "minsize",
    "movablelimits", "notation", "rowalign", "rowlines", "rowspacing", "rspace", "scriptlevel",
    "separator", "stretchy", "symmetric", "voffset", "width",
}  # fmt: skip
_MATHML_NS = "http://www.w3.org/1998/Math/MathML"
_DATA_IMAGE = re.compile(r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+", re.I)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_LINK = re.compile(r"(?:https?://|mailto:|#)[^\s]*", re.I)
_CLASS = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,40}")
_NUMBER = re.compile(r"\d{1,5}")
_SAFE_VALUE = re.compile(r"[A-Za-z0-9 #%.,+\-]{0,100}")
_MACROS = re.compile(
    r"\\(?:def|gdef|edef|xdef|let|newcommand|renewcommand|providecommand|"
    r"DeclareMathOperator|href|url|style|class|cssId|html\w*|require)(?![A-Za-z])"
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)(?:\s[^>]*?)?(/?)>")
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Whether bleach keeps attribute ``name="value"`` on ``tag``."""
    if tag in _MATHML_TAGS:
        if tag == "math" and name == "xmlns":
            return value == _MATHML_NS
        return name in _MATHML_ATTRIBUTES and _SAFE_VALUE.fullmatch(value) is not None
    if name == "class" and tag in ("code", "div", "pre", "span"):
        # classes from the Markdown renderer and Pygments; never the page's own ("gd-...")
        return all(_CLASS.fullmatch(word) and not word.startswith("gd-") for word in value.split())
    if tag == "a":
        return (name == "href" and _LINK.fullmatch(value) is not None) or name == "title"
    if tag == "img":
        if name == "src":
            return _DATA_IMAGE.fullmatch(value) is not None
        if name in ("width", "height"):
            return _NUMBER.fullmatch(value) is not None
        return name in ("alt", "title")
    if tag == "input":  # the check boxes of Markdown task lists
        return (name == "type" and value == "checkbox") or name in ("checked", "disabled")
    if tag in ("td", "th"):
        return name in ("colspan", "rowspan") and _NUMBER.fullmatch(value) is not None
    if tag == "ol":
        return name == "start" and _NUMBER.fullmatch(value) is not None
    return tag == "details" and name == "open"


_local = threading.local()


def _cleaner() -> Any:
    """bleach's cleaner with the allow-list, one per thread (a cleaner is not thread-safe)."""
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        import bleach

        cleaner = _local.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=_allowed_attribute,
            protocols={"http", "https", "mailto", "data"},
            strip=False,
            strip_comments=True,
        )
    return cleaner


def sanitize_html(html: str) -> str:
    """``html`` with every element and attribute outside the allow-list made inert text.

    Call it only on text within the bounds (see :func:`render_markdown`).

    >>> sanitize_html('<b onclick="x()">hi</b><script>alert(1)</script>')
    '<b>hi</b>&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> sanitize_html('<a href="javascript:alert(1)">x</a> <img src="http://x/y.png">')
    '<a>x</a> <img>'
    """
    return str(_cleaner().clean(html))


@dataclass
class Budget:
    """What one notebook may still spend on rendering student text (characters, tags).

    One budget is shared by every cell of a notebook, so a thousand cells each
    just within a cell's bounds cannot add up to minutes of work.
    """

    chars: int = 200_000
    tex_chars: int = 20_000
    tags: int = 20_000
    refused: int = 0
    """How many times :meth:`spend` said no."""

    def spend(self, *, chars: int = 0, tex_chars: int = 0, tags: int = 0) -> bool:
        """Take the amounts from the budget if all of them are left; say whether it did."""
        if chars > self.chars or tex_chars > self.tex_chars or tags > self.tags:
            self.refused += 1
            return False
        self.chars -= chars
        self.tex_chars -= tex_chars
        self.tags -= tags
        return True


def _brace_depth(tex: str) -> int:
    depth = deepest = 0
    for char in tex:
        if char == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif char == "}":
            depth = max(0, depth - 1)
    return deepest


def _as_tex(tex: str, display: bool) -> str:
    delimiter = "$$" if display else "$"
    return f'<code class="tex">{html_text(delimiter + tex + delimiter)}</code>'


def tex_to_mathml(tex: str, *, display: bool = False, budget: Budget | None = None) -> str:
    """A LaTeX formula as MathML, or as escaped LaTeX source when it cannot or must not be.

    Formulas over the bounds, defining macros (whose expansion is unbounded), asking
    for links or styles, or that latex2mathml cannot read are shown as source. The
    MathML still goes through :func:`sanitize_html` with the rest of the cell.

    >>> tex_to_mathml("x^2")  # doctest: +ELLIPSIS
    '<math xmlns=...MathML" display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup></mrow></math>'
    >>> tex_to_mathml(r"\\def\\a{\\a\\a}\\a")
    '<code class="tex">$\\\\def\\\\a{\\\\a\\\\a}\\\\a$</code>'
    """
    budget = budget if budget is not None else Budget()
    if (
        len(tex) > MAX_TEX_CHARS
        or _brace_depth(tex) > MAX_TEX_DEPTH
        or _MACROS.search(tex)
        or not budget.spend(tex_chars=len(tex))
    ):
        return _as_tex(tex, display)
    from latex2mathml.converter import convert

    try:
        mathml = str(convert(tex, display="block" if display else "inline"))
    except Exception:  # latex2mathml raises many kinds on bad input, RecursionError included
        return _as_tex(tex, display)
    return mathml if len(mathml) <= MAX_MATHML_CHARS else _as_tex(tex, display)


def _attachment_url(attachments: Mapping[str, Any], name: str) -> str:
    """A ``data:`` URL for an image attachment of the cell, or ``""``."""
    bundle = attachments.get(name)
    if not isinstance(bundle, Mapping):
        return ""
    for mime in ("image/png", "image/jpeg", "image/gif", "image/webp"):
        data = bundle.get(mime)
        if isinstance(data, list):
            data = "".join(part for part in data if isinstance(part, str))
        if not isinstance(data, str) or len(data) > MAX_IMAGE_BYTES * 4 // 3 + 4:
            continue
        compact = re.sub(r"\s+", "", data)
        if _BASE64.fullmatch(compact):
            return f"data:{mime};base64,{compact}"
    return ""


def _renderer(budget: Budget, attachments: Mapping[str, Any]) -> Any:
    from nbconvert.filters.markdown_mistune import IPythonRenderer
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    class Renderer(IPythonRenderer):
        """nbconvert's renderer with MathML maths, attachments only as data URLs, no mermaid."""

        def block_code(self, code: str, info: str | None = None) -> str:
            words = (info or "").split()
            if words:
                try:
                    lexer = get_lexer_by_name(words[0])
                except ClassNotFound:
                    pass
                else:
                    return str(highlight(code, lexer, HtmlFormatter()))
            return f"<pre><code>{html_text(code)}</code></pre>\n"

        def block_math(self, body: str) -> str:
            return tex_to_mathml(body, display=True, budget=budget)

        def multiline_math(self, text: str) -> str:
            return html_text(text)

        def latex_environment(self, name: str, body: str) -> str:
            tex = f"\\begin{{{name}}}{body}\\end{{{name}}}"
            return tex_to_mathml(tex, display=True, budget=budget)

        def inline_math(self, body: str) -> str:
            return tex_to_mathml(body, display=False, budget=budget)

        def _embed_image_or_attachment(self, src: str) -> str:
            if src.startswith("attachment:"):
                return _attachment_url(attachments, src[len("attachment:") :])
            return src  # the sanitizer keeps only data:image URLs

    return Renderer(
        escape=False,
        allow_harmful_protocols=False,
        exclude_anchor_links=True,
        attachments=dict(attachments),
    )


def _tags_and_depth(html: str) -> tuple[int, int]:
    """How many tags ``html`` has and how deep they nest (unclosed ones count as open)."""
    count = depth = deepest = 0
    for match in _TAG.finditer(html):
        count += 1
        closing, name, self_closing = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return count, deepest


def _as_text(source: str, why: str) -> str:
    shown = source[:SHOWN_CHARS] + ("\n…" if len(source) > SHOWN_CHARS else "")
    return (
        f'<p class="gd-note">{html_text(why)} It is shown as written.</p>'
        f'<pre class="gd-source">{html_text(shown)}</pre>'
    )


_rendered: dict[str, tuple[str, int, int, int]] = {}
"""Rendered cells of this process: key -> (HTML, characters, formula characters, tags spent)."""
MAX_RENDERED = 256
MAX_RENDERED_CHARS = 100_000


def _key(source: str, attachments: Mapping[str, Any]) -> str:
    import hashlib
    import json

    text = json.dumps([source, attachments], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def render_markdown(
    source: str,
    *,
    attachments: Mapping[str, Any] | None = None,
    budget: Budget | None = None,
) -> str:
    """A Markdown cell's ``source`` as safe HTML, maths as MathML, within the bounds.

    A class's notebooks share most of their Markdown (the assignment's own text): a
    cell this process rendered before, with nothing refused, is not rendered again. It
    costs the budget what it cost the first time and needs that much left, so the
    result is the one rendering it again would give.

    >>> print(render_markdown("**Hi** $x$ <script>x()</script>"))  # doctest: +ELLIPSIS
    <p><strong>Hi</strong> <math ...><mi>x</mi>...</math> &lt;script&gt;x()&lt;/script&gt;</p>
    """
    budget = budget if budget is not None else Budget()
    attachments = attachments or {}
    key = _key(source, attachments)
    known = _rendered.get(key)
    if known is None:
        fresh = Budget()
        html = _render(source, attachments, fresh)
        spent = (Budget.chars - fresh.chars, Budget.tex_chars - fresh.tex_chars)
        known = (html, *spent, Budget.tags - fresh.tags)
        if fresh.refused == 0 and len(html) <= MAX_RENDERED_CHARS:
            if len(_rendered) >= MAX_RENDERED:
                del _rendered[next(iter(_rendered))]
            _rendered[key] = known
        elif fresh.refused:
            return _render(source, attachments, budget)
    html, chars, tex_chars, tags = known
    if budget.spend(chars=chars, tex_chars=tex_chars, tags=tags):
        return html
    return _render(source, attachments, budget)  # what is left of the budget decides


def _render(source: str, attachments: Mapping[str, Any], budget: Budget) -> str:
    if len(source) > MAX_CELL_CHARS or not budget.spend(chars=len(source)):
        return _as_text(source, "This cell is too long to render.")
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    try:
        html = MarkdownWithMath(renderer=_renderer(budget, attachments)).render(source)
    except RecursionError:
        return _as_text(source, "This cell nests too deeply to render.")
    count, depth = _tags_and_depth(html)
    if count > MAX_CELL_TAGS or depth > MAX_DEPTH or not budget.spend(tags=count):
        return _as_text(source, "This cell has too many or too deeply nested elements to render.")
    return sanitize_html(html)
