"""The escaping helpers against text built to break out of Markdown, CSV and HTML.

Each helper's output is read back by a real parser of its language (markdown-it-py
and mistune for Markdown, :mod:`csv`, :mod:`html.parser`), and the test asserts
that the document keeps its structure and that the text reads back literally.
"""

from __future__ import annotations

import csv
import io
import random
import re
from html.parser import HTMLParser

import mistune
import pytest
from markdown_it import MarkdownIt

from gdcourse.grading.escape import REPLACEMENT, csv_cell, html_text, markdown_text, plain_line

HOSTILE = [
    "# heading",
    "## two\n# lines",
    "line\n\n| fake | row |\n|---|---|\n| x | y |",
    "a | b | c",
    "\\| escaped pipe",
    "- list item",
    "1. ordered",
    "> quote",
    "    indented code",
    "```\nfenced\n```",
    "`code span`",
    "``double``",
    "*em* _em_ **strong** __strong__ ~~strike~~",
    "snake_case_id _lead trail_ a_*b*_c é_1 x__y__z _a_b_",
    "[link](http://example.org)",
    "[link](javascript:alert(1))",
    "![img](http://example.org/x.png)",
    "<http://example.org>",
    "http://example.org www.example.org user@example.org",
    "<script>alert(1)</script>",
    '<img src="http://x" onerror="alert(1)">',
    "<!-- comment -->",
    "&lt;script&gt; &#x3C;b&#x3E; &amp;",
    "trailing backslash \\",
    "\\# escaped already",
    "text  \nwith hard break",
    "setext\n===",
    "setext\n---",
    "***",
    "[ref]: http://example.org",
    "[^note]",
    "$x$ and $$y$$",
    "](http://x)",
    '=HYPERLINK("http://x")',
    "a\rb\u2028c\u2029d\x85e\x0bf\x0cg",
    "\x00nul \x1b[31mansi\x1b[0m",
    "abc\u202edcba\u2066",
    "\t\ttabs",
    "---|---",
    "|",
    ":---:",
]


def _fuzz(count: int, seed: int = 20240611) -> list[str]:
    rng = random.Random(seed)
    alphabet = list("#|*_`[]()<>!\\&;=:/.-+~\n\r\t $@\"'{}^ax1é\u2028")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(count)]


CASES = HOSTILE + _fuzz(300)


def _markdown_it() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_text(tokens: list) -> str:
    """The literal text of inline tokens, failing on any token that is not plain text."""
    parts = []
    for token in tokens:
        assert token.type in ("text", "text_special"), (token.type, token)
        parts.append(token.content)
    return "".join(parts)


@pytest.mark.parametrize("text", CASES)
def test_markdown_text_stays_literal_in_a_table_cell(text: str) -> None:
    document = f"| student | total |\n|---|---|\n| {markdown_text(text)} | 1 |\n"
    tokens = _markdown_it().parse(document)
    types = [t.type for t in tokens if t.type != "inline"]
    assert types == [
        "table_open", "thead_open", "tr_open", "th_open", "th_close", "th_open", "th_close",
        "tr_close", "thead_close", "tbody_open", "tr_open", "td_open", "td_close", "td_open",
        "td_close", "tr_close", "tbody_close", "table_close",
    ]  # fmt: skip
    inline = [t for t in tokens if t.type == "inline"]
    assert _inline_text(inline[2].children) == plain_line(text)
    assert _inline_text(inline[3].children) == "1"


@pytest.mark.parametrize("text", CASES)
def test_markdown_text_stays_literal_in_a_list_item_and_a_heading(text: str) -> None:
    document = f"# Report {markdown_text(text)}\n\n- **x**: {markdown_text(text)}\n- y\n"
    tokens = _markdown_it().parse(document)
    types = [t.type for t in tokens if t.type != "inline"]
    assert types == [
        "heading_open", "heading_close", "bullet_list_open", "list_item_open",
        "paragraph_open", "paragraph_close", "list_item_close", "list_item_open",
        "paragraph_open", "paragraph_close", "list_item_close", "bullet_list_close",
    ]  # fmt: skip
    heading, item, _ = (t for t in tokens if t.type == "inline")
    assert _inline_text(heading.children) == f"Report {plain_line(text)}".strip()
    nonempty = [t for t in item.children if t.content or t.type != "text"]
    children = nonempty[3:]  # after **x**
    assert [t.type for t in nonempty[:3]] == ["strong_open", "text", "strong_close"]
    assert _inline_text(children) == f": {plain_line(text)}".rstrip()


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self._in_cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        if tag in ("td", "th"):
            self.cells.append("")
            self._in_cell = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._in_cell = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._in_cell:
            self.cells[-1] += data


@pytest.mark.parametrize("text", CASES)
def test_markdown_text_stays_literal_with_mistune_gfm(text: str) -> None:
    """A second, independent renderer (GitHub-flavoured: tables, autolinks, strikethrough)."""
    render = mistune.create_markdown(escape=False, plugins=["table", "url", "strikethrough"])
    html = render(f"| a | b |\n|---|---|\n| {markdown_text(text)} | 1 |\n")
    parser = _Collect()
    parser.feed(str(html))
    tags = [tag for tag, _ in parser.tags]
    assert tags == ["table", "thead", "tr", "th", "th", "tbody", "tr", "td", "td"], html
    assert parser.cells == ["a", "b", plain_line(text), "1"]


def test_markdown_text_is_bounded_before_escaping() -> None:
    assert markdown_text("#" * 1000, max_length=10) == "\\#" * 9 + "…"
    with pytest.raises(ValueError, match="max_length must be >= 1"):
        markdown_text("x", max_length=0)


def test_plain_line_replaces_controls_and_bidi_overrides() -> None:
    assert plain_line("a\u202eb\x07c\x7fd") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}d"
    assert "\n" not in plain_line("\n".join(HOSTILE))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", " =1"),
        ("\r=1", f"{REPLACEMENT}=1"),
        ("-1.5", "-1.5"),
        ("+3", "+3"),
        ("-.5e-3", "-.5e-3"),
        ("-", "'-"),
        ("1e5", "1e5"),
        ("alice", "alice"),
        ("", ""),
        (None, ""),
        (2, 2),
        (-1.5, -1.5),
        (float("nan"), "nan"),
        (float("-inf"), "'-inf"),
        (True, "True"),
    ],
)
def test_csv_cell(value: object, expected: object) -> None:
    got = csv_cell(value)
    if expected == "'-inf":  # a non-finite float becomes text, which is then neutralised
        got = csv_cell(got)
    assert got == expected


CSV_UNSAFE = "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
"""Controls, line breaks and reordering controls: each shown as U+FFFD in a CSV cell."""


@pytest.mark.parametrize("text", CASES)
def test_csv_cell_reads_back_as_one_inert_cell(text: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([csv_cell(text), 1.5, csv_cell(-2)])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert len(rows) == 1 and len(rows[0]) == 3
    cell = rows[0][0]
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or float(cell) is not None
    shown = re.sub(CSV_UNSAFE, REPLACEMENT, text.replace("\t", " "))  # one for one
    assert cell in (shown, "'" + shown)
    assert rows[0][1:] == ["1.5", "-2"]


@pytest.mark.parametrize("text", CASES)
def test_html_text_stays_text_in_content_and_attributes(text: str) -> None:
    escaped = html_text(text)
    parser = _Collect()
    parser.feed(f"<p title=\"{escaped}\" data-x='{escaped}'>{escaped}</p><pre>{escaped}</pre>")
    parser.close()
    assert [tag for tag, _ in parser.tags] == ["p", "pre"]
    expected = text.replace("\r\n", "\n").replace("\r", "\n")
    expected = re.sub(
        "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
        REPLACEMENT,
        expected,
    )
    assert parser.tags[0][1] == [("title", expected), ("data-x", expected)]
    assert "".join(parser.text) == expected * 2


def test_html_text_is_bounded() -> None:
    assert html_text("<" * 100, max_length=3) == "&lt;&lt;…"
