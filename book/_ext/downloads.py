"""Downloadable notebooks that read like their page: glued numbers filled in, MyST made plain.

Every page that runs code is offered for download as ``_sources/PAGE.ipynb`` (the executed
notebook; ``offline.py`` puts the outputs back). Its Markdown cells still hold the MyST markup
that the site renders and JupyterLab's Markdown does not know, so a student who opens the
download in JupyterLab would read ``{glue:text}`p_fmin:.4f``` where the page says ``0.0625``.
After each build, :func:`readable_notebook` rewrites those cells:

* a ``{glue:text}`KEY:FORMAT``` (or ``{glue}``) role becomes the value, formatted as the site
  formats it (MyST-NB's own ``format_plain_text``, from the glue data MyST-NB saved with the
  executed page, ``jupyter_execute/PAGE.glue.json``);
* ``{ref}`` and ``{term}`` roles become their text (a bare label, the title of its section);
* a ``:::{admonition} Title`` block becomes a quotation headed by its title, and a
  ````` ```{dropdown} Title````` block an HTML ``<details>`` block (closed, as on the site).

Markup it does not know stops the build (:class:`UnreadableMarkup`) rather than ship a
notebook that shows it raw. The ``.md`` pages themselves are untouched: they are the sources.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["UnreadableMarkup", "readable_markdown", "readable_notebook", "rewrite_downloads"]

#: An inline MyST role: ``{name}`content```.
ROLE = re.compile(r"\{(?P<name>[a-z][\w:-]*)\}`(?P<content>[^`]+)`")
#: ``text <target>`` inside a role.
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
#: The opening line of a fenced directive: ``:::{name} argument`` or ````` ```{name} argument`````.
OPENING = re.compile(r"^(?P<fence>:{3,}|`{3,})\{(?P<name>[a-z][\w-]*)\}[ \t]*(?P<argument>.*)$")
OPTION = re.compile(r"^:[\w-]+:")
ADMONITIONS = ("admonition", "note", "tip", "hint", "important", "warning", "caution")
GLUE_ROLES = ("glue", "glue:", "glue:any", "glue:text")


class UnreadableMarkup(ValueError):
    """Markup that the downloaded notebook could only show raw."""


def _glue_text(content: str, glue: Mapping[str, Any]) -> str:
    from myst_nb.core.variables import format_plain_text

    key, _, fmt = content.rpartition(":") if ":" in content else (content, "", "")
    if key not in glue:
        raise UnreadableMarkup(f"no glued value named {key!r} (glued: {sorted(glue)})")
    data = glue[key].get("data", {})
    if "text/plain" not in data:
        raise UnreadableMarkup(f"the glued value {key!r} has no text/plain form")
    return format_plain_text(data["text/plain"], fmt)


def _role(match: re.Match[str], glue: Mapping[str, Any], titles: Mapping[str, str]) -> str:
    name, content = match["name"], match["content"]
    if name in GLUE_ROLES:
        return _glue_text(content, glue)
    explicit = EXPLICIT.match(content)
    if name in ("ref", "term", "doc"):
        if explicit and explicit["text"]:
            return explicit["text"]
        if name == "ref":
            if content not in titles:
                raise UnreadableMarkup(f"{{ref}} to an unknown label {content!r}")
            return titles[content]
        return content
    raise UnreadableMarkup(f"the role {{{name}}} in {match[0]!r}")


def _directives(lines: list[str], inline: Callable[[str], str]) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        opening = OPENING.match(lines[index])
        if opening is None:
            out.append(lines[index])
            index += 1
            continue
        fence, name = opening["fence"], opening["name"]
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != fence:
            end += 1
        if end == len(lines):
            raise UnreadableMarkup(f"{lines[index]!r} is never closed (by {fence!r})")
        body = lines[index + 1 : end]
        while body and OPTION.match(body[0]):
            body = body[1:]
        inner = _directives(body, inline)
        title = inline(opening["argument"].strip())
        if name in ADMONITIONS:
            heading = title or name.capitalize()
            out += [f"> **{heading}**", ">"] + [f"> {line}".rstrip() for line in inner]
        elif name == "dropdown":
            out += ["<details>", f"<summary>{title or 'Details'}</summary>", ""]
            out += [*inner, "", "</details>"]
        else:
            raise UnreadableMarkup(f"the directive {{{name}}} ({lines[index]!r})")
        index = end + 1
    return out


def readable_markdown(
    source: str, glue: Mapping[str, Any], titles: Mapping[str, str] | None = None
) -> str:
    """``source`` with glue and reference roles replaced and directives made plain Markdown.

    >>> glue = {"rate": {"data": {"text/plain": "0.123456"}}, "n": {"data": {"text/plain": "15"}}}
    >>> readable_markdown("A rate of {glue:text}`rate:.2f` over {glue}`n` steps.", glue)
    'A rate of 0.12 over 15 steps.'
    >>> readable_markdown("See {ref}`the\\nprimer <primer>` and {ref}`adaptive`.", {},
    ...                   {"adaptive": "Adaptive methods"})
    'See the\\nprimer and Adaptive methods.'
    >>> print(readable_markdown(":::{admonition} Exercise 1\\nHow many steps?\\n:::", {}))
    > **Exercise 1**
    >
    > How many steps?
    >>> print(readable_markdown("```{dropdown} Solution\\n:open:\\nFifty.\\n```", {}))
    <details>
    <summary>Solution</summary>
    <BLANKLINE>
    Fifty.
    <BLANKLINE>
    </details>
    """

    def inline(text: str) -> str:
        return ROLE.sub(lambda match: _role(match, glue, titles or {}), text)

    # roles last, over the whole text: one may run over a line break
    return inline("\n".join(_directives(source.split("\n"), inline)))


def readable_notebook(
    notebook: dict[str, Any], glue: Mapping[str, Any], titles: Mapping[str, str]
) -> dict[str, Any]:
    """The notebook (nbformat 4 JSON) with every Markdown cell made readable, in place."""
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else source
        cell["source"] = readable_markdown(text, glue, titles)
    return notebook


def rewrite_downloads(sources: Path, glue_folder: Path, titles: Mapping[str, str]) -> list[Path]:
    """Rewrite every ``sources/*.ipynb``; raise :class:`UnreadableMarkup` naming the page."""
    rewritten = []
    for path in sorted(sources.glob("*.ipynb")):
        glue_file = glue_folder / f"{path.stem}.glue.json"
        glue = json.loads(glue_file.read_text(encoding="utf-8")) if glue_file.is_file() else {}
        notebook = json.loads(path.read_text(encoding="utf-8"))
        try:
            readable_notebook(notebook, glue, titles)
        except UnreadableMarkup as error:
            raise UnreadableMarkup(f"{path.stem}: {error}") from None
        text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            rewritten.append(path)
    return rewritten
