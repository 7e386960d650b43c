"""Markdown to HTML for the self-contained report, by markdown-it-py (CommonMark + tables).

The report's Markdown (:mod:`bench.report.document`) is parsed by markdown-it-py's CommonMark
preset with GitHub pipe tables; a few token edits make it fit a page that loads nothing:

* emphasis is ``*`` only: a ``_`` is always text, because the report is full of identifiers
  (``first_name``, ``__init__``, users' column names such as ``_id_``);
* raw HTML is never passed through (``html`` off: ``<b>`` in a name shows as text), and entity
  references are not decoded (``&amp;`` in a value shows as typed: the text comes from data);
* headings get stable ids (a GitHub-like ASCII slug; repeats get ``-1``, ``-2``...), which the
  page's table of contents links to (:class:`Heading`);
* table columns without alignment colons are right-aligned (``class="num"``) when every cell
  with a value reads as a number (tabulate's "github" tables carry no colons); alignment is a
  class, not a style attribute;
* links never leave the document: ``[text](#id)`` stays an anchor, any other address is shown
  after its text in ``<code class="url">`` and linked to nothing; images likewise show their
  alt text and address.

The output depends only on the input text (same text, same bytes).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

_FRAGMENT = re.compile(r"#[A-Za-z0-9_.:-]*")
#: A cell that reads as a number: optional comparison or sign, a digit, and no words (so
#: "1,269", "0.63% (≤ 1.23%)", "35 (0.0%)", "7+" qualify; "2prace" does not).
_NUMERIC_START = re.compile(r"^[<>≤≥~≈±+\-−]?\s*\.?\d")
_WORD = re.compile(r"[A-Za-z]{2,}")
_PLACEHOLDERS = frozenset({"", "-", "–", "—", "n/a", "na", "nan", "none"})
#: markdown-it's alignment styles -> the page's classes (left is the default: no class).
_ALIGN_CLASS = {"text-align:right": "num", "text-align:center": "center", "text-align:left": None}


@dataclass(frozen=True)
class Heading:
    """A heading of the converted document: level (1-6), element id, plain text."""

    level: int
    id: str
    text: str


def markdown_to_html(text: str) -> str:
    """Convert Markdown to an HTML fragment (see the module docstring for what differs from
    plain CommonMark: heading ids, numeric table columns, links that stay in the document)."""
    body, _ = convert(text, set())
    return body


def convert(text: str, taken: set[str], drop_title: str | None = None) -> tuple[str, list[Heading]]:
    """HTML of ``text`` and its headings; ``taken`` holds ids in use (updated). A leading level-1
    heading whose text equals ``drop_title`` is left out (the page header already shows it)."""
    md = _parser()
    env: dict[str, Any] = {}
    tokens = md.parse(text, env)
    if (
        drop_title is not None
        and tokens
        and tokens[0].type == "heading_open"
        and tokens[0].tag == "h1"
        and _heading_text(md, tokens[1]) == drop_title
    ):
        tokens = tokens[3:]
    headings: list[Heading] = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            label = _heading_text(md, tokens[i + 1])
            hid = unique_id(slug(label), taken)
            token.attrSet("id", hid)
            headings.append(Heading(int(token.tag[1]), hid, label))
        elif token.type == "table_open":
            _align_columns(tokens, i)
        elif token.type == "inline":
            _mark_links(token.children or [])
    return md.renderer.render(tokens, md.options, env), headings


def inline_to_html(text: str) -> str:
    """One line of inline Markdown (code spans, emphasis, links) as HTML, no ``<p>``."""
    md = _parser()
    env: dict[str, Any] = {}
    tokens = md.parseInline(text, env)
    for token in tokens:
        _mark_links(token.children or [])
    return md.renderer.render(tokens, md.options, env)


def plain(fragment: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment)).strip()


def slug(text: str) -> str:
    """A GitHub-like anchor: lower case, ASCII letters/digits/-/_ only, spaces to hyphens.
    Accents are folded (NGUYỄN -> nguyen) so ids are plain ASCII and stable across platforms."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = re.sub(r"[^a-z0-9 _-]", "", folded)
    folded = re.sub(r"-{2,}", "-", re.sub(r"\s+", "-", folded.strip())).strip("-")
    return folded or "section"


def unique_id(base: str, taken: set[str]) -> str:
    """``base``, or ``base-1``, ``base-2``... whichever is not in ``taken``; added to it."""
    candidate, k = base, 0
    while candidate in taken:
        k += 1
        candidate = f"{base}-{k}"
    taken.add(candidate)
    return candidate


# --------------------------------------------------------------------------------------------
# The parser and its renderer rules
# --------------------------------------------------------------------------------------------


@cache
def _parser() -> MarkdownIt:
    # Built once: markdown-it keeps no state between documents (the env dict is per call).
    md = MarkdownIt("commonmark", {"html": False}).enable("table").disable("entity")
    md.inline.ruler.before("emphasis", "underscore_text", _underscore_text)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


def _underscore_text(state: StateInline, silent: bool) -> bool:
    # Before the emphasis rule: a run of "_" becomes plain text, so it never delimits emphasis.
    start = state.pos
    if state.src[start] != "_":
        return False
    end = start
    while end < state.posMax and state.src[end] == "_":
        end += 1
    if not silent:
        state.pending += state.src[start:end]
    state.pos = end
    return True


def _heading_text(md: MarkdownIt, inline: Token) -> str:
    children = inline.children or []
    _mark_links(children)
    return plain(md.renderer.render(children, md.options, {}))


def _mark_links(children: Sequence[Token]) -> None:
    """Mark links to anything but a fragment of this page (``meta["outside"]``: the address to
    show); links cannot nest, so a link's close is the next link_close. Idempotent."""
    opened: Token | None = None
    for token in children:
        if token.type == "link_open":
            href = str(token.attrGet("href") or "")
            if not _FRAGMENT.fullmatch(href):
                opened = token
                token.meta["outside"] = _parser().normalizeLinkText(href)
        elif token.type == "link_close" and opened is not None:
            token.meta["outside"] = opened.meta["outside"]
            opened = None
        elif opened is not None and opened.markup == "autolink":
            token.content = ""  # <https://...>: the address alone, not twice


def _align_columns(tokens: list[Token], start: int) -> None:
    """Replace the alignment styles of the table at ``tokens[start]`` by classes; a column
    without colons is "num" when all its cells with a value read as numbers."""
    cells: list[tuple[Token, str]] = []  # (th/td open, cell text), in document order
    column: list[int] = []
    col = 0
    for i in range(start + 1, len(tokens)):
        token = tokens[i]
        if token.type == "table_close":
            break
        if token.type == "tr_open":
            col = 0
        elif token.type in ("th_open", "td_open"):
            cells.append((token, tokens[i + 1].content))
            column.append(col)
            col += 1
    width = max(column, default=-1) + 1
    align: list[str | None] = ["auto"] * width
    for (token, _), c in zip(cells, column, strict=True):
        if token.type == "th_open":
            style = token.attrGet("style")
            align[c] = _ALIGN_CLASS.get(str(style)) if style else "auto"
    for c in range(width):
        if align[c] == "auto":
            values = [
                text
                for (token, text), k in zip(cells, column, strict=True)
                if k == c and token.type == "td_open" and not _is_placeholder(text)
            ]
            align[c] = "num" if values and all(map(_is_numeric, values)) else None
    for (token, _), c in zip(cells, column, strict=True):
        token.attrs.pop("style", None)
        if align[c] is not None:
            token.attrSet("class", str(align[c]))


def _is_numeric(cell: str) -> bool:
    return bool(_NUMERIC_START.match(cell)) and not _WORD.search(cell)


def _is_placeholder(cell: str) -> bool:
    # "n/a", "-", empty, or "n/a (1 replicate)": no value, so no say in the column's alignment.
    low = cell.strip().lower()
    return low in _PLACEHOLDERS or low.startswith("n/a")


# Renderer rules: called as methods of markdown-it's renderer (self), like its own rules.


def _table_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    # Wide tables scroll inside their box instead of widening the page.
    return '<div class="table-wrap">' + self.renderToken(tokens, idx, options, env)


def _table_close(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return self.renderToken(tokens, idx, options, env).rstrip("\n") + "</div>\n"


def _link_open(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    if "outside" in tokens[idx].meta:
        return ""
    return self.renderToken(tokens, idx, options, env)


def _link_close(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    if "outside" not in tokens[idx].meta:
        return self.renderToken(tokens, idx, options, env)
    # The report must not depend on other files or the network: show the address, link nothing.
    address = f'<code class="url">{escapeHtml(tokens[idx].meta["outside"])}</code>'
    empty = tokens[idx - 1].type == "link_open" or all(not t.content for t in _label(tokens, idx))
    return address if empty else f" ({address})"


def _label(tokens: list[Token], close: int) -> list[Token]:
    """The tokens between a link_close at ``close`` and its link_open."""
    k = close - 1
    while k >= 0 and tokens[k].type != "link_open":
        k -= 1
    return tokens[k + 1 : close]


def _image(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = _parser().normalizeLinkText(str(token.attrGet("src") or ""))
    address = f'<code class="url">{escapeHtml(src)}</code>'
    return f"{escapeHtml(alt)} ({address})" if alt else address
