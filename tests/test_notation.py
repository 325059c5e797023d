"""One notation in the book and the assignments (issue 18).

``book/notation.md`` is the reference. These checks read the prose a student reads: every book
page's Markdown outside code (figure captions and alt texts included) and every assignment
master's Markdown cells. They fail on the clashes issue 18 names: a loss written ``L``, a batch
size written ``m``, ``k`` numbering outputs, ``b`` as a quadratic's linear term, ``x_i``/``e_i``
and ``n`` for the components and dimension of a point, ``e_k``/``u_k``/``p_k`` next to the
unit vectors ``e_j``, the unit vector ``u`` and the output count ``p``, and a symbol the
notation table gives two meanings. They also check that the chapter lists of the introduction
and of the assignments page never make a chapter title a word of a sentence.

They also check the launch buttons' configuration: no placeholder JupyterHub (the build takes
the hub from ``GDCOURSE_BOOK_HUB_URL``), no Colab button (Colab cannot open MyST pages);
tests/test_book.py checks the built pages. No book build is needed: everything here reads
sources.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gdcourse import objectives
from gdcourse.tools import bookbuild

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
PAGES = sorted(BOOK.glob("*.md"))
MASTERS = sorted((ROOT / "solutions").glob("*/*.ipynb"))

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(.*)$")
_CODE_LANGUAGES = {"", "python", "python3", "ipython3", "text", "bash", "console", "shell", "sh"}


def prose(markdown: str) -> str:
    """The text a reader reads: code blocks dropped, except a code cell's figure caption and
    alt text (its leading YAML block); MyST comments and the page's front matter dropped."""
    lines = markdown.splitlines()
    out: list[str] = []
    index = 0
    if lines and lines[0].strip() == "---":  # jupytext front matter
        index = lines.index("---", 1) + 1 if "---" in lines[1:] else len(lines)
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        if match is None:
            if not line.lstrip().startswith("%"):
                out.append(line)
            index += 1
            continue
        fence, info = match.groups()
        code = info.startswith("{code-cell}") or info.split(" ")[0].lower() in _CODE_LANGUAGES
        if not code:  # a directive (figure, dropdown, admonition, math): its body is prose
            out.append("")
            index += 1
            continue
        index += 1
        if index < len(lines) and lines[index].strip() == "---":  # a code cell's metadata
            index += 1
            while index < len(lines) and lines[index].strip() != "---":
                out.append(lines[index])
                index += 1
            index += 1
        while index < len(lines):
            closing = _FENCE.match(lines[index])
            index += 1
            if (
                closing
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not closing.group(2)
            ):
                break
        out.append("")
    text = "\n".join(out)
    return re.sub(r"`[^`\n]*`", "CODE", text)  # inline code and the targets of roles


def maths(text: str) -> list[str]:
    """The mathematics of some prose: $$...$$ displays and $...$ inline formulas."""
    text = text.replace(r"\$", "")
    found = [m.group(1) for m in re.finditer(r"\$\$(.+?)\$\$", text, re.DOTALL)]
    rest = re.sub(r"\$\$(.+?)\$\$", " ", text, flags=re.DOTALL)
    found += re.findall(r"\$([^$]+?)\$", rest)
    return found


@dataclass(frozen=True)
class Source:
    name: str
    text: str


def _sources() -> list[Source]:
    sources = [
        Source(f"book/{page.name}", prose(page.read_text(encoding="utf-8"))) for page in PAGES
    ]
    for master in MASTERS:
        cells = json.loads(master.read_text(encoding="utf-8"))["cells"]
        for number, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                name = f"{master.relative_to(ROOT)} cell {number} ({cell.get('id', '?')})"
                sources.append(Source(name, prose("".join(cell["source"]))))
    return sources


SOURCES = _sources()

#: Forbidden in a formula: (what the rule is, pattern).
MATH_RULES: list[tuple[str, str]] = [
    ("the loss is J; L is only the smoothness constant", r"(?<![\\\w])L\s*\(|\\partial\s*L\b"),
    ("the loss is J; L is only the smoothness constant", r"\\nabla\s*L\b|\\mathcal\s*\{?L\b"),
    ("the loss is J; L is only the smoothness constant", r"^\s*L\s*=\s*\\frac\s*\{?1\}?\s*\{?n"),
    ("the batch size is B, not m", r"\\frac\s*\{1\}\s*\{\d*m\}|\\sum_\{i\s*=\s*1\}\^\{?m\b"),
    ("outputs are numbered by l, never by the step index k", r"_\{[a-z]k\}|_\{k[a-z]\}"),
    ("outputs are numbered by l, never by the step index k", r"\\sum_\{k\s*=\s*1\}\^\{?(p|\d)\b"),
    ("a quadratic is 1/2 x^T A x - c^T x: b is only the bias", r"b\^\{?\\top\}?\s*x"),
    ("a quadratic is 1/2 x^T A x - c^T x: b is only the bias", r"A\s*x\s*-\s*b(?![\w^])"),
    ("a quadratic is 1/2 x^T A x - c^T x: b is only the bias", r"A\^\{-1\}\s*b(?![\w^])"),
    (
        "observations are numbered by the superscript (i), components by the subscript j",
        r"(?<!\\sum)(?<!\\prod)(?<!\\max)(?<!\\min)_(?:i\b|\{i\})",
    ),
    (
        "a point lies in R^d (d is the dimension, n the number of observations)",
        r":\s*\\mathbb\s*\{?R\}?\^\{?n\b",
    ),
    ("a point lies in R^d (d is the dimension, n the number of observations)", r"\\lambda_\{?n\b"),
    (
        "the error after k steps is Delta_k; e_j is the unit vector",
        r"(?<![\\\w])e_(?:k\b|\{k|0\b|\{0)",
    ),
    ("u is a unit vector: PyTorch's momentum buffer is tilde v_k", r"(?<![\\\w])u_(?:k\b|\{k)"),
    (
        "p is the number of outputs: PyTorch's Nesterov parameter is tilde x_k",
        r"(?<![\\\w])p_(?:k\b|\{k)",
    ),
    (
        "d is the dimension: the start distance is the norm of Delta_0",
        r"(?<![\\\w])d_(?:0\b|\{0\})",
    ),
    (
        "k counts steps, j numbers components: a second step index is k'",
        r"\^\{k\s*-\s*j\}|_\{j\s*\\le\s*k\}|\\eta_j\b",
    ),
    (
        "sigma is a standard deviation: the logistic function is \\operatorname{sigmoid}",
        r"\\sigma\s*(\\left)?\s*\(",
    ),
    ("step decay's period is tau (P is a preconditioner)", r"\\lfloor\s*t\s*/\s*P\b"),
    ("a minimiser is x^\\star", r"[A-Za-z]\^\*"),
]
#: Forbidden in the prose around the formulas.
TEXT_RULES: list[tuple[str, str]] = [
    (
        "the batch size is B, not m",
        r"batch(?:es)? of \$m\$|\$\d*m\$ (?:rows|entries|observations)",
    ),
    ("d is the dimension", r"the \$n\$ (?:partial derivatives|components|coordinates)"),
]


def _violations(source: Source) -> list[str]:
    found = []
    for formula in maths(source.text):
        for rule, pattern in MATH_RULES:
            if re.search(pattern, formula, re.MULTILINE):
                found.append(f"{source.name}: ${' '.join(formula.split())}$: {rule}")
    for rule, pattern in TEXT_RULES:
        for match in re.finditer(pattern, source.text):
            found.append(f"{source.name}: {match.group(0)!r}: {rule}")
    if re.search(r"\\eta_\{?t\b", source.text) and "epoch" not in source.text:
        found.append(
            f"{source.name}: eta_t where no epoch is counted: t counts epochs, "
            "a schedule of updates is eta_k"
        )
    return found


def test_book_and_assignments_follow_the_notation():
    """Every page and every assignment's Markdown follows book/notation.md."""
    violations = [v for source in SOURCES for v in _violations(source)]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("the loss $L(w, b) = \\frac1n \\sum_i r^2$", "the loss is J"),
        ("a batch of $m$ rows", "the batch size is B"),
        ("$\\frac{1}{2m} \\sum_{k=1}^{2} (\\hat Y_{ik} - Y_{ik})^2$", "outputs are numbered by l"),
        ("$\\tfrac12 x^\\top A x - b^\\top x$", "b is only the bias"),
        ("along the unit vector $e_i$", "superscript (i)"),
        ("$f: \\mathbb{R}^n \\to \\mathbb{R}$", "a point lies in R^d"),
        ("the error $e_k = x_k - x^\\star$", "Delta_k"),
        ("a buffer $u_{k+1} = \\beta u_k + g_k$", "tilde v_k"),
        ("from the start distance $d_0$", "start distance"),
        ("$\\hat y = \\sigma(w x + b)$", "sigmoid"),
        ("a cosine over updates, $\\eta_t = \\eta_0 \\cos t$", "eta_t where no epoch"),
        ("the minimum is $x^* = 0$", "x^\\star"),
    ],
)
def test_each_rule_finds_its_clash(text, rule):
    """Each rule catches the kind of sentence issue 18 found; the fixed forms pass."""
    violations = _violations(Source("planted", prose(text)))
    assert any(rule in v for v in violations), violations


@pytest.mark.parametrize(
    "text",
    [
        "the loss $J(\\theta)$ is $L$-smooth, and $L = \\lambda_{\\max}(H)$",
        "batches of $B$ observations, $\\frac1B \\sum_{i \\in \\mathcal B_k}$, Adam's $m$,"
        " $\\hat m$",
        "$\\tfrac12 x^\\top A x - c^\\top x$ with bias $b$ and $\\hat y = b + w x$",
        "$\\sum_i \\ell^{(i)}$ and $\\frac{\\partial f}{\\partial x_j}$ along $e_j$,"
        " $x \\in \\mathbb R^d$",
        "$\\Delta_{k+1} = (I - \\eta H) \\Delta_k$ and $\\lVert \\Delta_0 \\rVert$",
        "in epoch $t$ the rate is $\\eta_t = \\eta_0 \\gamma^{\\lfloor t / \\tau \\rfloor}$",
        "```{code-cell} ipython3\nloss = L(w, b)  # code is not prose\n```\n",
    ],
)
def test_the_rules_leave_the_books_notation_alone(text):
    """No false positives on the notation the rules ask for."""
    assert _violations(Source("planted", prose(text))) == []


# ------------------------------------------------------------------ the notation table


def _strip_subscripts(symbol: str) -> str:
    out = []
    index = 0
    while index < len(symbol):
        if symbol[index] != "_":
            out.append(symbol[index])
            index += 1
            continue
        index += 1
        if index < len(symbol) and symbol[index] == "{":
            depth = 0
            while index < len(symbol):
                depth += {"{": 1, "}": -1}.get(symbol[index], 0)
                index += 1
                if depth == 0:
                    break
        elif index < len(symbol) and symbol[index] == "\\":
            match = re.match(r"\\[A-Za-z]+", symbol[index:])
            index += len(match.group(0)) if match else 1
        else:
            index += 1
    return "".join(out)


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, "{": 1, ")": -1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def symbol_keys(cell: str) -> set[str]:
    """The letters a table cell defines: subscripts (indices) and arguments dropped,
    decorations (hat, bar, tilde, star, the superscript (i)) kept."""
    keys = set()
    for formula in maths(cell):
        for item in _split_top_level(formula):
            item = item.split("=")[0].strip()
            if item.startswith("(") and item.endswith(")"):
                keys |= symbol_keys(f"${item[1:-1]}$")
                continue
            item = re.sub(r"\((?!i\))[^()]*\)", "", _strip_subscripts(item))
            item = re.sub(r"\s+|\\,", "", item)
            if item:
                keys.add(item)
    return keys


def table_clashes(notation: str) -> list[str]:
    """Symbols that two rows of the notation tables define."""
    rows: dict[str, list[str]] = {}
    for line in notation.splitlines():
        cells = line.split("|")
        if not line.startswith("|") or len(cells) < 3 or set(cells[1].strip()) <= {"-", " "}:
            continue
        for key in symbol_keys(cells[1]):
            rows.setdefault(key, []).append(cells[1].strip())
    return [f"{key} in rows {found}" for key, found in rows.items() if len(found) > 1]


def test_the_notation_table_gives_each_letter_one_meaning():
    clashes = table_clashes((BOOK / "notation.md").read_text(encoding="utf-8"))
    assert not clashes, "\n".join(clashes)


def test_the_table_check_finds_a_letter_with_two_rows():
    table = (
        "| Symbol | Meaning |\n| --- | --- |\n| $x_j$, $e_j$ | component; unit vector |\n"
        "| $e_k$ | the error after $k$ steps |\n| $\\eta$, $\\eta_k$ | rate |\n"
        "| $\\hat y^{(i)}$, $y^{(i)}$ | prediction, target |\n| $(x, y)$ | a point |\n"
    )
    assert sorted(c.split(" ")[0] for c in table_clashes(table)) == ["e", "x"]
    assert symbol_keys("$\\beta_1, \\beta_2$, $\\varepsilon$, $m_k$") == {
        "\\beta",
        "\\varepsilon",
        "m",
    }


#: LaTeX commands that are operators, functions or layout, not symbols of the notation.
# fmt: off
_NOT_SYMBOLS = frozenset((
    "frac", "tfrac", "dfrac", "sum", "prod", "le", "leq", "ge", "geq", "top", "cdot", "approx",
    "lVert", "rVert", "lvert", "rvert", "left", "right", "in", "sqrt", "ln", "log", "exp", "min",
    "max", "quad", "qquad", "infty", "dots", "ldots", "cdots", "vdots", "ddots", "to", "ne",
    "partial", "nabla", "times", "mid", "pi", "cos", "sin", "cosh", "tanh", "mp", "pm", "lfloor",
    "rfloor", "lesssim", "leftarrow", "propto", "sim", "equiv", "bigl", "bigr", "Bigl", "Bigr",
    "big", "Big", "displaystyle", "circ", "ll", "gg", "star", "prime", "iff", "implies", "colon",
    "not", "lim", "det", "tr", "square", "forall", "exists", "emptyset", "setminus", "cup", "cap",
    "subset", "subseteq", "mapsto", "rightarrow", "Rightarrow", "langle", "rangle", "vert",
    "Vert", "limits", "underbrace", "overbrace", "overline", "underline", "boxed", "Pr", "arg",
    "sup", "inf", "hat", "bar", "tilde", "dot", "mathbf", "mathcal", "boldsymbol",
))
# fmt: on
_SYMBOL = re.compile(
    r"(\\(?:hat|bar|tilde|mathbf|mathcal|dot)(?![A-Za-z])\s*\{?\s*)?"  # a decoration
    r"(\\[A-Za-z]+|[A-Za-z])\}?"  # the letter
    r"(\^\{\(i\)\}|\^\\star|\^\{\\star\})?"  # an observation's or a minimiser's superscript
)


def formula_symbols(formula: str) -> set[str]:
    """The symbols of a formula as the table keys them: decoration, letter, (i) or star."""
    formula = re.sub(r"\\(?:text|textrm|mathrm|operatorname)\s*\{[^{}]*\}", " ", formula)
    formula = re.sub(r"\\mathbb\s*\{?\w\}?|\\(?:begin|end)\{[^}]*\}", " ", formula)
    formula = re.sub(r"\^\{?\\(?:top|prime)\}?", " ", formula)
    symbols = set()
    for decoration, letter, superscript in _SYMBOL.findall(formula):
        if letter.startswith("\\") and letter[1:] in _NOT_SYMBOLS:
            continue
        symbol = (
            re.sub(r"[\s{]", "", decoration) + letter + superscript.replace("{\\star}", "\\star")
        )
        symbols.add(symbol)
    return symbols


def _table_symbols(notation: str) -> set[str]:
    symbols: set[str] = set()
    for line in notation.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2:
            for formula in maths(cells[1]):
                symbols |= formula_symbols(formula)
    return symbols


#: Index letters: the notation's rules say what each counts; they have no row.
_INDICES = {"i", "j", "k", "l", "t"}


def _undefined(sources: list[Source], table: set[str]) -> list[str]:
    found = []
    for source in sources:
        for formula in maths(source.text):
            for symbol in sorted(formula_symbols(formula) - table - _INDICES):
                found.append(f"{source.name}: {symbol} in ${' '.join(formula.split())}$")
    return found


def test_every_symbol_has_its_row_in_the_notation_table():
    """Issue 18: the assignments' Markdown (and the book) is checked against the notation
    table's symbols. A new symbol gets its row in book/notation.md, a letter no row defines."""
    table = _table_symbols((BOOK / "notation.md").read_text(encoding="utf-8"))
    undefined = _undefined(SOURCES, table)
    assert not undefined, "add these to book/notation.md (one row per letter):\n" + "\n".join(
        undefined
    )


def test_the_symbol_check_finds_a_letter_the_table_lacks():
    table = _table_symbols("| $\\theta$, $\\theta_k$ | parameters |\n| $\\hat y^{(i)}$ | p |\n")
    planted = Source("planted", "$\\theta_{k+1} = \\theta_k - \\zeta \\hat y^{(i)} \\dots$")
    assert _undefined([planted], table) == [
        "planted: \\zeta in $\\theta_{k+1} = \\theta_k - \\zeta \\hat y^{(i)} \\dots$"
    ]


# ------------------------------------------------------------------ chapter lists


@pytest.mark.parametrize("page", ["introduction", "assignments"])
def test_chapter_lists_give_every_link_its_own_words(page):
    """A bare {ref} inserts the target's whole title. In the introduction and on the
    assignments page each link in a sentence has its own words; a bare one may only fill a
    table cell alone, where the title is a name."""
    bare = []
    for line in (BOOK / f"{page}.md").read_text(encoding="utf-8").splitlines():
        for match in re.finditer(r"\{ref\}`([^`<]+)`", line):
            before, after = line[: match.start()], line[match.end() :]
            alone_in_a_cell = before.rstrip().endswith("|") and after.lstrip().startswith("|")
            if not alone_in_a_cell:
                bare.append(f"{page}: {line.strip()}")
    assert not bare, "\n".join(bare)


# ------------------------------------------------------------------ launch buttons


def _hub_launch():
    spec = importlib.util.spec_from_file_location("hub_launch", BOOK / "_ext" / "hub_launch.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_config_names_no_placeholder_hub_and_no_colab():
    """Issue 18: the hub button pointed at a placeholder host and Colab at .md files."""
    config = (BOOK / "_config.yml").read_text(encoding="utf-8")
    assert "example." not in config
    assert not re.search(r"^\s*(jupyterhub_url|colab_url):", config, re.MULTILINE)
    assert re.search(r"^\s*hub_launch: _ext$", config, re.MULTILINE)


def test_the_hub_button_comes_from_the_build_environment():
    hub_launch = _hub_launch()
    config = SimpleNamespace(
        html_theme_options={"launch_buttons": {"binderhub_url": "https://mybinder.org"}}
    )
    hub_launch.configure(config, {hub_launch.VARIABLE: "https://jupyter.uni-x.de"})
    assert config.html_theme_options["launch_buttons"] == {
        "binderhub_url": "https://mybinder.org",
        "jupyterhub_url": "https://jupyter.uni-x.de",
    }
    hub_launch.configure(config, {})
    assert "jupyterhub_url" not in config.html_theme_options["launch_buttons"]
    assert hub_launch.VARIABLE == bookbuild.HUB_URL_VARIABLE


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("https://jupyterhub.example.edu", "placeholder"),
        ("https://hub.test", "placeholder"),
        ("http://jupyter.uni-x.de", "https://"),
        ("jupyter.uni-x.de", "https://"),
        ("https://jupyter.uni-x.de/?next=/", "query"),
    ],
)
def test_the_build_refuses_a_hub_students_cannot_reach(value, problem):
    with pytest.raises(bookbuild.BookBuildError, match=problem) as error:
        bookbuild.hub_url({bookbuild.HUB_URL_VARIABLE: value})
    assert bookbuild.HUB_URL_VARIABLE in str(error.value) and "unset" in str(error.value)


# ------------------------------------------------------------------ typed numbers


def test_the_typed_numbers_of_the_front_and_back_matter_hold():
    """index.md claimed that every number was computed by the page's code while some were typed
    (issue 18). It now says which are typed (settings, arithmetic to redo by hand); the typed
    arithmetic of the introduction and the primer is redone here."""
    index = " ".join((BOOK / "index.md").read_text(encoding="utf-8").split())
    assert "every number in its text was computed" not in index
    assert "every result its text reports" in index and "arithmetic you can redo" in index
    introduction = (BOOK / "introduction.md").read_text(encoding="utf-8")
    assert "$f(2) = 2^2 - 4 \\cdot 2 - 1 = -5$, not $5$" in introduction
    assert objectives.parabola.f(2.0) == 2**2 - 4 * 2 - 1 == -5
    primer = " ".join((BOOK / "primer.md").read_text(encoding="utf-8").split())
    assert "$A = \\begin{bmatrix} 3 & 1 \\\\ 1 & 2 \\end{bmatrix}$" in primer
    assert "$(5 \\mp \\sqrt 5)/2$" in primer
    eigenvalues = np.linalg.eigvalsh(np.array([[3.0, 1.0], [1.0, 2.0]]))
    np.testing.assert_allclose(eigenvalues, [(5 - 5**0.5) / 2, (5 + 5**0.5) / 2], rtol=1e-14)
    assert "$f''(x) = 40$ everywhere, so $L = 40$, and every $0 < \\eta < 2/40 = 0.05$" in primer
    assert "$\\nabla^2 f = \\operatorname{diag}(2, 1)$" in primer  # of (x + 1)^2 + y^2 / 2
    assert "the cubic $4x^3 - 10x + 10$ of the book, whose second derivative $24x$" in primer
    assert objectives.cubic.latex == "f(x) = 4x^3 - 10x + 10"
