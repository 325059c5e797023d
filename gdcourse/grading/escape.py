"""One escaping helper per language that grading output is written in: Markdown, CSV, HTML.

Student ids (folder names), check messages, reasons and notes can all hold text a
student chose. Every such string passes through exactly one of these helpers at
the boundary where it enters a file of that language, so that it is shown as the
literal text it is and can never add structure (a heading, a table row, a
formula, an element):

* :func:`markdown_text` for the instructor's ``report.md`` (CommonMark and
  GitHub-flavoured Markdown, as JupyterLab, GitHub and Jupyter Book render it);
* :func:`csv_cell` for ``grades.csv`` (a cell a spreadsheet would run as a
  formula becomes text; numbers stay numbers);
* :func:`html_text` for HTML element content and quoted attribute values.

Control characters, the Unicode controls that reorder text as it is shown (which
can make one student id look like another) and lone surrogates (a file name that is
not UTF-8, which no UTF-8 file can hold) are replaced by U+FFFD in Markdown, HTML and
CSV text. A student id is shown through :func:`visible_id` first, so that two
different ids never look alike (an invisible character, a Cyrillic letter that looks
Latin, two spellings of one accented letter).
"""

from __future__ import annotations

import html
import math
import re
from numbers import Real

__all__ = [
    "REPLACEMENT",
    "csv_cell",
    "html_text",
    "markdown_text",
    "plain_line",
    "visible_id",
]

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

#: C0 and C1 controls (tab, line feed and carriage return are handled apart), DEL, the
#: bidirectional formatting characters (Trojan-source style reordering) and lone surrogates
#: (what Python makes of bytes that are not UTF-8 in a file name; no UTF-8 file can hold one).
_CONTROLS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x84\x86-\x9f"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: What a CSV cell must not hold, each character replaced by one U+FFFD: the controls and
#: every line break (a tab becomes a space), reordering controls, lone surrogates.
_CSV_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)
#: Everything a Markdown or HTML renderer could take as the end of a line.
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: ASCII punctuation: CommonMark lets a backslash make any of it literal. An underscore between
#: two letters or digits cannot start or end emphasis, so it is left alone (``wrong_sign``).
_MARKDOWN_PUNCTUATION = re.compile(
    r"""([!"#$%'()*+,\-./:;=?@\[\\\]^`{|}~]|(?<![^\W_])_|_(?![^\W_]))"""
)
#: A plain decimal number, which a spreadsheet reads as a number and never as a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def plain_line(text: object, *, max_length: int | None = None) -> str:
    """``text`` as one line of plain text: line breaks become spaces, controls U+FFFD.

    Runs of whitespace are kept (they may matter in a message) except at both
    ends, which are stripped. With ``max_length``, a longer result is cut and
    ends with an ellipsis, so that it has ``max_length`` characters.

    >>> plain_line("two\\nlines\\r\\nhere ")
    'two lines here'
    >>> plain_line("abc\\u202edef\\x00")
    'abc\\ufffddef\\ufffd'
    >>> plain_line("x" * 10, max_length=5)
    'xxxx…'
    """
    if max_length is not None and max_length < 1:
        raise ValueError(f"max_length must be >= 1 or None, got {max_length}")
    line = _CONTROLS.sub(REPLACEMENT, _LINE_BREAKS.sub(" ", str(text)).replace("\t", " "))
    line = line.strip()
    if max_length is not None and len(line) > max_length:
        line = line[: max_length - 1] + "…"
    return line


def markdown_text(text: object, *, max_length: int | None = None) -> str:
    """``text`` as literal inline Markdown that stays on its line (and in its table cell).

    Line breaks become spaces (:func:`plain_line`); ``&``, ``<`` and ``>`` become
    HTML entities (so no raw HTML, entity or autolink is recognised) and every
    other ASCII punctuation character is backslash-escaped (but an underscore
    between two letters or digits, which is inert), which CommonMark guarantees
    to render as that character: no heading, list, emphasis, code
    span, link, image, table cell separator or math delimiter can start inside
    the text. ``max_length`` bounds the text before escaping.

    >>> markdown_text("# title")
    '\\\\# title'
    >>> markdown_text("a | b\\n| c |")
    'a \\\\| b \\\\| c \\\\|'
    >>> markdown_text("<script>x</script>")
    '&lt;script&gt;x&lt;\\\\/script&gt;'
    >>> markdown_text("[click](javascript:alert(1))")
    '\\\\[click\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
    >>> markdown_text("2 * 3 = 6")
    '2 \\\\* 3 \\\\= 6'
    >>> markdown_text("wrong_sign _em_ a__b")
    'wrong_sign \\\\_em\\\\_ a\\\\_\\\\_b'
    """
    line = _MARKDOWN_PUNCTUATION.sub(r"\\\1", plain_line(text, max_length=max_length))
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def csv_cell(value: object) -> str | int | float:
    r"""``value`` as a CSV cell that a spreadsheet shows and never evaluates.

    A string that starts with ``=``, ``+``, ``-`` or ``@`` (which Excel, LibreOffice
    and Google Sheets may run as a formula) gets a leading ``'``, unless it is a plain
    number such as ``-1.5``. Numbers stay numbers (non-finite ones become text);
    ``None`` becomes an empty cell. Each control, line break, reordering control and
    lone surrogate becomes one U+FFFD (a terminal or a spreadsheet would act on them;
    UTF-8 cannot hold a surrogate, and one such cell would cost the whole file), each
    tab a space.
    Quoting of commas and quotes is left to :mod:`csv`.

    >>> csv_cell('=HYPERLINK("http://x")')
    '\'=HYPERLINK("http://x")'
    >>> csv_cell("-1.5"), csv_cell(-1.5), csv_cell("-1+2"), csv_cell("@SUM(A1)")
    ('-1.5', -1.5, "'-1+2", "'@SUM(A1)")
    >>> csv_cell(None), csv_cell(3), csv_cell("alice")
    ('', 3, 'alice')
    >>> csv_cell("red\x1b[31m\ntext\udcff") == "red\ufffd[31m\ufffdtext\ufffd"
    True
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    text = _CSV_UNSAFE.sub(REPLACEMENT, str(value).replace("\t", " "))
    if text.startswith(_FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def html_text(text: object, *, max_length: int | None = None) -> str:
    """``text`` escaped for HTML element content or a quoted attribute value.

    ``&``, ``<``, ``>``, ``"`` and ``'`` become character references; controls
    become U+FFFD; line breaks are kept (inside ``<pre>`` they matter).
    ``max_length`` bounds the text before escaping.

    >>> html_text('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> html_text("it's & done")
    'it&#x27;s &amp; done'
    """
    if max_length is not None and max_length < 1:
        raise ValueError(f"max_length must be >= 1 or None, got {max_length}")
    value = _CONTROLS.sub(REPLACEMENT, str(text).replace("\r\n", "\n").replace("\r", "\n"))
    if max_length is not None and len(value) > max_length:
        value = value[: max_length - 1] + "…"
    return html.escape(value, quote=True)


def visible_id(student: object) -> str:
    r"""A student id as printable ASCII that no other id shares: shown, never confused.

    Printable ASCII stays (a backslash is doubled); every other character (a control,
    an invisible one, a look-alike letter, a combining accent) is written as Python
    writes its code point, and bytes that are not UTF-8 as the surrogates Python reads
    them as (``\udcff``). The mapping is one-to-one, so two ids that differ are shown
    differently in the report and in the CSV.

    >>> print(visible_id("alice"), visible_id("\u0430lice"), visible_id("ali\u200bce"))
    alice \u0430lice ali\u200bce
    >>> print(visible_id("jos\u00e9"), visible_id("jose\u0301"), visible_id("x\x1b"))
    jos\xe9 jose\u0301 x\x1b
    >>> print(visible_id("a\\u0430"), visible_id("a\u0430"), visible_id("b\udcff"))
    a\\u0430 a\u0430 b\udcff
    """
    text = str(student).replace("\\", "\\\\")
    if text.isascii() and text.isprintable():
        return text
    return "".join(
        char
        if " " <= char <= "~"
        else char.encode("ascii", "backslashreplace").decode()
        if not char.isascii()
        else f"\\x{ord(char):02x}"
        for char in text
    )
