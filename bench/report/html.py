"""The self-contained HTML report: one file a reader opens in a browser with nothing else.

``report.html`` holds the converted ``report.md`` (headline table, definitions, parameters), the
figures as PNG ``data:`` URIs, the manifest (versions, seeds, configuration hash, file hashes) and
the one command that reproduces the run. It loads nothing: no scripts, no style sheets, fonts or
images from anywhere else; a Content-Security-Policy ``<meta>`` makes the browser itself refuse
(and log) any other load, so a slip cannot quietly fetch something.

Figures are made elsewhere (threshold curves, subgroup charts, heatmaps); this module receives
them as ``(id, caption, Figure or data URI)`` and only renders them (:func:`figure_to_data_uri`).

The Markdown converter (:func:`markdown_to_html`) covers exactly what :mod:`bench.report.document`
emits:
ATX headings, paragraphs, GitHub pipe tables, bullet and numbered lists, fenced code, code spans,
``**bold**``, ``*italic*`` and links. Raw HTML in the Markdown is escaped, never passed through
(names may contain ``<`` or ``&``). Emphasis uses ``*`` only: ``_`` is left alone because the
report is full of identifiers such as ``first_name``.

:func:`check_in_browser` opens a report in headless Chromium and checks that it parses, loads
nothing, logs no console message, and shows every figure pixel for pixel. Run it as::

    python -m bench.report.html results/irs-ice --check
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import html
import io
import json
import os
import re
import shutil
import signal
import string
import struct
import subprocess
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthetic.errors import LinkriskError

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

#: One figure of the report: (element id, caption, matplotlib Figure or PNG data URI).
FigureSpec = tuple[str, str, "Figure | str"]

#: Resolution of embedded figures (pixels per inch): fixed, so the PNG bytes are reproducible.
DPI = 110
PNG_PREFIX = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The file :func:`write_html_report` writes into a run directory.
HTML_NAME = "report.html"

#: The browser refuses every load except PNG data URIs and the inline style sheet. Even if a
#: future edit slipped in an external reference, nothing would be fetched, and the refusal is
#: logged to the console, which :func:`check_in_browser` treats as a failure.
CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
#: Ids this module uses itself; figure ids must avoid them, headings step around them.
FIGURES_ONLY = "figures-only"
RESERVED_IDS = frozenset({"top", "reproduce", "contents", "report", "figures", "manifest"})
_FIGURE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

#: Executables tried, in order, when neither an argument nor LINKRISK_CHROMIUM names one.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_ENV = "LINKRISK_CHROMIUM"

# --------------------------------------------------------------------------------------------
# Markdown -> HTML
# --------------------------------------------------------------------------------------------

_ESCAPABLE = frozenset(string.punctuation)  # CommonMark: a backslash escapes ASCII punctuation
_SPECIAL = re.compile(r"[\\`\[*]")
_LINK = re.compile(r"\[([^\]\n]*)\]\(\s*<?([^()\s<>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_FRAGMENT = re.compile(r"#[A-Za-z0-9_.:-]*")

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_HR = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET = re.compile(r"^( {0,3})([-*+])([ \t]+|$)(.*)$")
_ORDERED = re.compile(r"^( {0,3})(\d{1,9})([.)])([ \t]+|$)(.*)$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(?:\|\s*:?-+:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
#: A cell that reads as a number: optional comparison or sign, a digit, and no words (so
#: "1,269", "0.63% (≤ 1.23%)", "35 (0.0%)", "7+" qualify; "2prace" does not).
_NUMERIC_START = re.compile(r"^[<>≤≥~≈±+\-−]?\s*\.?\d")
_WORD = re.compile(r"[A-Za-z]{2,}")
_PLACEHOLDERS = frozenset({"", "-", "–", "—", "n/a", "na", "nan", "none"})


@dataclass(frozen=True)
class Heading:
    """A heading of the converted document: level (1-6), element id, plain text."""

    level: int
    id: str
    text: str


def markdown_to_html(text: str) -> str:
    """Convert the Markdown subset :mod:`bench.report.document` emits to an HTML fragment.

    Headings get stable ids (a GitHub-like slug; repeats get ``-1``, ``-2``...). Raw HTML is
    escaped. Links keep no target outside the document: ``[text](#id)`` becomes an anchor,
    anything else the text followed by the address in ``<code>``.
    """
    body, _ = _convert(text, set())
    return body


def _convert(text: str, taken: set[str], drop_title: str | None = None) -> tuple[str, list]:
    """HTML of ``text`` and its headings; ``taken`` holds ids in use (updated). A leading level-1
    heading whose text equals ``drop_title`` is left out (the page header already shows it)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headings: list[Heading] = []
    parts = _blocks(lines, taken, headings)
    if drop_title is not None and parts and headings and headings[0].level == 1:
        first = headings[0]
        if first.text == drop_title and parts[0].startswith(f'<h1 id="{first.id}">'):
            parts, headings = parts[1:], headings[1:]
    return "\n".join(parts) + ("\n" if parts else ""), headings


def _blocks(lines: list[str], taken: set[str], headings: list[Heading]) -> list[str]:
    """Block-level conversion of ``lines`` into a list of HTML blocks."""
    out: list[str] = []
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if fence := _FENCE.match(line):
            i = _fenced(lines, i, fence, out)
            continue
        if heading := _HEADING.match(line):
            out.append(_heading(heading, taken, headings))
            i += 1
            continue
        if _HR.match(line):
            out.append("<hr>")
            i += 1
            continue
        if _is_table_start(lines, i):
            i = _table(lines, i, out)
            continue
        if _BULLET.match(line) or _ORDERED.match(line):
            i = _list(lines, i, out, taken, headings)
            continue
        para = [line.strip()]
        i += 1
        while i < n and lines[i].strip() and not _starts_block(lines, i):
            para.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(chr(10).join(para))}</p>")
    return out


def _starts_block(lines: list[str], i: int) -> bool:
    """Whether line ``i`` interrupts a paragraph (heading, fence, rule, list item, table)."""
    line = lines[i]
    return bool(
        _FENCE.match(line)
        or _HEADING.match(line)
        or _HR.match(line)
        or _BULLET.match(line)
        or _ORDERED.match(line)
        or _is_table_start(lines, i)
    )


def _fenced(lines: list[str], i: int, fence: re.Match, out: list[str]) -> int:
    marker, info = fence.group(1), fence.group(2)
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
    body: list[str] = []
    i += 1
    while i < len(lines) and not closing.match(lines[i]):
        body.append(lines[i])
        i += 1
    lang = f' class="language-{html.escape(info)}"' if info else ""
    code = html.escape("\n".join(body) + ("\n" if body else ""))
    out.append(f"<pre><code{lang}>{code}</code></pre>")
    return i + 1  # past the closing fence (or the end: an unclosed fence runs to the end)


def _heading(m: re.Match, taken: set[str], headings: list[Heading]) -> str:
    level = len(m.group(1))
    content = m.group(2) or ""
    content = re.sub(r"(?:^|[ \t]+)#+$", "", content).strip()  # optional closing #s
    inner = _inline(content)
    plain = _plain(inner)
    hid = _unique_id(_slug(plain), taken)
    headings.append(Heading(level, hid, plain))
    return f'<h{level} id="{hid}">{inner}</h{level}>'


def _plain(fragment: str) -> str:
    """The text of an HTML fragment (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", fragment)).strip()


def _slug(text: str) -> str:
    """A GitHub-like anchor: lower case, ASCII letters/digits/-/_ only, spaces to hyphens.
    Accents are folded (NGUYỄN -> nguyen) so ids are plain ASCII and stable across platforms."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c)).lower()
    folded = re.sub(r"[^a-z0-9 _-]", "", folded)
    folded = re.sub(r"-{2,}", "-", re.sub(r"\s+", "-", folded.strip())).strip("-")
    return folded or "section"


def _unique_id(base: str, taken: set[str]) -> str:
    candidate, k = base, 0
    while candidate in taken:
        k += 1
        candidate = f"{base}-{k}"
    taken.add(candidate)
    return candidate


def _is_table_start(lines: list[str], i: int) -> bool:
    if i + 1 >= len(lines) or "|" not in lines[i] or "|" not in lines[i + 1]:
        return False
    if not _SEPARATOR.match(lines[i + 1]):
        return False
    return len(_split_row(lines[i])) == len(_split_row(lines[i + 1]))


def _split_row(line: str) -> list[str]:
    s = line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return [c.strip() for c in _CELL_SPLIT.split(s)]


def _table(lines: list[str], i: int, out: list[str]) -> int:
    header = _split_row(lines[i])
    width = len(header)
    align: list[str | None] = []
    for spec in _split_row(lines[i + 1]):
        left, right = spec.startswith(":"), spec.endswith(":")
        align.append("center" if left and right else "num" if right else "left" if left else None)
    rows: list[list[str]] = []
    i += 2
    while i < len(lines) and lines[i].strip() and "|" in lines[i]:
        if _FENCE.match(lines[i]) or _HEADING.match(lines[i]):
            break
        cells = _split_row(lines[i])[:width]
        rows.append(cells + [""] * (width - len(cells)))
        i += 1
    # tabulate's "github" format pads instead of writing alignment colons, so a column without
    # colons is right-aligned when its cells read as numbers: numbers line up by their digits.
    for col in range(width):
        if align[col] is None:
            values = [r[col] for r in rows if not _is_placeholder(r[col])]
            align[col] = "num" if values and all(map(_is_numeric, values)) else "left"

    def cell(tag: str, text: str, col: int) -> str:
        cls = "" if align[col] == "left" else f' class="{align[col]}"'
        return f"<{tag}{cls}>{_inline(text)}</{tag}>"

    head = "".join(cell("th", h, c) for c, h in enumerate(header))
    body = "\n".join(
        "<tr>" + "".join(cell("td", v, c) for c, v in enumerate(r)) + "</tr>" for r in rows
    )
    out.append(
        f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table></div>"
        if rows
        else f'<div class="table-wrap"><table>\n<thead><tr>{head}</tr></thead></table></div>'
    )
    return i


def _is_numeric(cell: str) -> bool:
    return bool(_NUMERIC_START.match(cell)) and not _WORD.search(cell)


def _is_placeholder(cell: str) -> bool:
    # "n/a", "-", empty, or "n/a (1 replicate)": no value, so no say in the column's alignment.
    low = cell.strip().lower()
    return low in _PLACEHOLDERS or low.startswith("n/a")


def _list(
    lines: list[str], i: int, out: list[str], taken: set[str], headings: list[Heading]
) -> int:
    """A bullet or numbered list starting at line ``i``; items may hold nested blocks."""
    first = _BULLET.match(lines[i])
    ordered = first is None
    items: list[list[str]] = []
    start = 1
    while i < len(lines):
        m = _ORDERED.match(lines[i]) if ordered else _BULLET.match(lines[i])
        if m is None:
            break
        if ordered:
            if not items:
                start = int(m.group(2))
            indent = len(m.group(1)) + len(m.group(2)) + 1 + max(1, len(m.group(4)))
            item = [m.group(5)]
        else:
            indent = len(m.group(1)) + 1 + max(1, len(m.group(3)))
            item = [m.group(4)]
        i += 1
        while i < len(lines):
            line = lines[i]
            if not line.strip():
                # A blank line continues the item only if indented content follows.
                j = i
                while j < len(lines) and not lines[j].strip():
                    j += 1
                if j < len(lines) and _indent(lines[j]) >= indent:
                    item.extend([""] * (j - i))
                    i = j
                    continue
                break
            if _indent(line) >= indent:
                item.append(line[indent:])
            elif not _starts_block(lines, i):
                item.append(line.strip())  # lazy continuation of the item's paragraph
            else:
                break
            i += 1
        items.append(item)
        # Blank lines between items of the same list keep the list going.
        j = i
        while j < len(lines) and not lines[j].strip():
            j += 1
        nxt = j < len(lines) and (_ORDERED if ordered else _BULLET).match(lines[j])
        if not nxt:
            break
        i = j
    rendered = []
    for item in items:
        parts = _blocks(item, taken, headings)
        inner = "\n".join(parts)
        if len(parts) == 1 and inner.startswith("<p>") and inner.endswith("</p>"):
            inner = inner[3:-4]  # a one-paragraph item renders tight, as GitHub does
        rendered.append(f"<li>{inner}</li>")
    tag = "ol" if ordered else "ul"
    attr = f' start="{start}"' if ordered and start != 1 else ""
    out.append(f"<{tag}{attr}>\n" + "\n".join(rendered) + f"\n</{tag}>")
    return i


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _inline(text: str) -> str:
    """Inline Markdown (escapes, code spans, links, ``**strong**``, ``*em*``) to escaped HTML."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        m = _SPECIAL.search(text, i)
        if m is None:
            out.append(html.escape(text[i:]))
            break
        j = m.start()
        out.append(html.escape(text[i:j]))
        c = text[j]
        if c == "\\":
            if j + 1 < n and text[j + 1] in _ESCAPABLE:
                out.append(html.escape(text[j + 1]))
                i = j + 2
            else:
                out.append("\\")
                i = j + 1
        elif c == "`":
            run = _run(text, j, "`")
            end = _closing_ticks(text, j + run, run)
            if end is None:
                out.append("`" * run)  # unmatched backticks are literal
                i = j + run
            else:
                out.append(_code_span(text[j + run : end]))
                i = end + run
        elif c == "[":
            link = _LINK.match(text, j)
            if link is None:
                out.append("[")
                i = j + 1
            else:
                out.append(_link(link))
                i = link.end()
        else:
            i = _emphasis(text, j, out)
    return "".join(out)


def _emphasis(text: str, j: int, out: list[str]) -> int:
    """Handle the ``*`` run at ``j``: strong, em, or literal asterisks; returns the next index."""
    run = _run(text, j, "*")
    if run >= 2 and _opens(text, j + 2):
        end = _find_closing(text, j + 2, "**")
        if end is not None:
            out.append(f"<strong>{_inline(text[j + 2 : end])}</strong>")
            return end + 2
    if run == 1 and _opens(text, j + 1):
        end = _find_closing(text, j + 1, "*")
        if end is not None:
            out.append(f"<em>{_inline(text[j + 1 : end])}</em>")
            return end + 1
    out.append("*" * run)
    return j + run


def _opens(text: str, k: int) -> bool:
    # "2 * 3" is not emphasis: the opening delimiter must be followed by a non-space.
    return k < len(text) and not text[k].isspace()


def _run(text: str, i: int, ch: str) -> int:
    k = i
    while k < len(text) and text[k] == ch:
        k += 1
    return k - i


def _closing_ticks(text: str, start: int, run: int) -> int | None:
    k = start
    while (k := text.find("`" * run, k)) != -1:
        if _run(text, k, "`") == run:
            return k
        k += _run(text, k, "`")
    return None


def _find_closing(text: str, start: int, delim: str) -> int | None:
    """Index of the delimiter closing emphasis opened before ``start``, skipping code spans and
    escapes; it must follow a non-space. A single ``*`` never closes inside a ``**`` run."""
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "`":
            run = _run(text, i, "`")
            end = _closing_ticks(text, i + run, run)
            i = (end + run) if end is not None else i + run
            continue
        if c == "*":
            run = _run(text, i, "*")
            if i > start and not text[i - 1].isspace():
                if delim == "**" and run >= 2:
                    return i + run - 2  # "***" closing "**": the last two close it
                if delim == "*" and run == 1:
                    return i
            i += run
            continue
        i += 1
    return None


def _code_span(content: str) -> str:
    content = content.replace("\n", " ")
    if len(content) > 2 and content[0] == content[-1] == " " and content.strip():
        content = content[1:-1]
    return f"<code>{html.escape(content)}</code>"


def _link(m: re.Match) -> str:
    label, url = _inline(m.group(1)), m.group(2)
    if _FRAGMENT.fullmatch(url):
        return f'<a href="{html.escape(url)}">{label}</a>'
    # The report must not depend on other files or the network: show the address, link nothing.
    address = f'<code class="url">{html.escape(url)}</code>'
    return f"{label} ({address})" if label else address


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def figure_to_data_uri(fig: Figure) -> str:
    """Render ``fig`` to a PNG ``data:`` URI (Agg, :data:`DPI`, no metadata) and close it.

    Without the "Software" text chunk (matplotlib's version) the bytes depend only on the
    figure, so two renders of the same inputs are byte-identical."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        # Only pyplot keeps figures alive (figures made with Figure() are freed with their last
        # reference), and pyplot can only hold one if it has been imported: don't import it.
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(fig)
    return PNG_PREFIX + base64.b64encode(buf.getvalue()).decode("ascii")


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG ``data``; ValueError unless it starts like a valid PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG (bad signature or no IHDR chunk)")
    width, height = struct.unpack(">II", data[16:24])
    if width == 0 or height == 0:
        raise ValueError("PNG of zero size")
    return width, height


def decode_png_uri(uri: str) -> bytes:
    """The PNG bytes of a ``data:image/png;base64,`` URI; ValueError if it is anything else or
    the PNG does not decode completely (a truncated image has a valid header)."""
    from PIL import Image

    if not uri.startswith(PNG_PREFIX):
        raise ValueError(f"not a PNG data URI: {uri[:40]!r}")
    try:
        data = base64.b64decode(uri[len(PNG_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 in PNG data URI: {exc}") from None
    png_size(data)
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except Exception as exc:  # Pillow raises several types for damaged data
        raise ValueError(f"PNG does not decode: {exc}") from None
    return data


# --------------------------------------------------------------------------------------------
# The document
# --------------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", sans-serif; font-size: 16px; line-height: 1.5; color: #1a1a1a;
  background: #fff; margin: 0; }
.page { max-width: 76rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; line-height: 1.25; margin: 0.2em 0 0.5em; }
h2 { font-size: 1.4rem; margin: 2.2em 0 0.6em; padding-bottom: 0.2em;
  border-bottom: 1px solid #ccc; }
h3 { font-size: 1.15rem; margin: 1.8em 0 0.5em; }
h4 { font-size: 1rem; margin: 1.4em 0 0.4em; }
p, li { max-width: 60rem; }
a { color: #0645ad; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  "DejaVu Sans Mono", monospace; font-size: 0.88em; }
code { background: #f2f2f2; padding: 0.05em 0.3em; border-radius: 3px;
  overflow-wrap: anywhere; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.6em 0.9em;
  white-space: pre-wrap; overflow-wrap: anywhere; }
pre code { background: none; padding: 0; }
header { border-bottom: 2px solid #333; padding-bottom: 0.8em; }
header .note { color: #444; font-size: 0.9rem; }
nav#contents { background: #fafafa; border: 1px solid #ddd; padding: 0.4em 1.4em 0.6em;
  margin: 1.2em 0; }
nav#contents h2 { font-size: 1.1rem; margin: 0.5em 0 0.2em; border: none; }
nav ol { margin: 0.1em 0; padding-left: 1.4em; }
.table-wrap { overflow-x: auto; margin: 0.8em 0 1.2em; }
table { border-collapse: collapse; font-size: 0.88rem; }
th, td { border: 1px solid #b8b8b8; padding: 0.2em 0.5em; text-align: left;
  vertical-align: top; }
th { background: #efefef; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.center { text-align: center; }
figure { margin: 1.6em 0; break-inside: avoid; page-break-inside: avoid; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; display: block; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.4em; max-width: 60rem; }
.hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  monospace; font-size: 0.82rem; overflow-wrap: anywhere; }
/* The figures-only view (report.html#figures-only): the header and the figures side by side at
   their natural size. check_in_browser screenshots it to find every plot pixel for pixel. */
#figures-only:target ~ .page { max-width: none; }
#figures-only:target ~ .page nav,
#figures-only:target ~ .page main > :not(#figures) { display: none; }
#figures-only:target ~ .page figure { display: inline-block; vertical-align: top;
  width: min-content; margin: 0 16px 16px 0; }
#figures-only:target ~ .page figure img { max-width: none; }
@media print {
  body { font-size: 10pt; }
  .page { max-width: none; padding: 0; }
  .table-wrap { overflow: visible; }
  table { font-size: 8pt; }
  a { color: inherit; text-decoration: none; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  tr, figure { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  nav#contents { break-after: page; }
}
""".strip()


def render_html(
    markdown_text: str,
    figures: Sequence[FigureSpec] = (),
    *,
    title: str,
    reproduce: str,
    manifest: Mapping[str, Any] | None = None,
) -> str:
    """One self-contained HTML5 document: a header with ``title`` and the ``reproduce``
    command, a table of contents, the converted ``markdown_text``, a "Figures" section and the
    ``manifest`` (when given) as tables.

    ``figures``: (id, caption, Figure or PNG data URI); ids must be unique, match
    ``[A-Za-z][A-Za-z0-9_-]*`` and avoid :data:`RESERVED_IDS`; Figures are closed once
    rendered. The output depends only on the arguments (no dates, no paths): same inputs,
    same bytes.
    """
    taken = set(RESERVED_IDS) | {FIGURES_ONLY}
    figs = _figures(figures, taken)
    body, headings = _convert(markdown_text, taken, drop_title=title)
    manifest_html, manifest_headings = _manifest(manifest, taken) if manifest else ("", [])
    source_sha = hashlib.sha256(markdown_text.encode("utf-8")).hexdigest()
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        # Empty anchor before everything: its :target state drives the figures-only view.
        f'<span id="{FIGURES_ONLY}"></span>',
        '<div class="page">',
        '<header id="top">',
        f"<h1>{esc(title)}</h1>",
        "<p>Reproduce with this one command"
        + (" (package versions in the manifest below):</p>" if manifest else ":</p>"),
        f'<pre id="reproduce"><code>{esc(reproduce)}</code></pre>',
        '<p class="note">This file is self-contained: it loads nothing else and runs no code. '
        "It was converted from the run's Markdown report (SHA-256 "
        f'<span class="hash">{source_sha}</span>'
        + ("; compare with <code>report.md</code> in the manifest)." if manifest else ").")
        + "</p>",
        "</header>",
        _toc(headings, figs, manifest_headings if manifest else None),
        "<main>",
        f'<article id="report">\n{body}</article>',
    ]
    if figs:
        parts.append('<section id="figures">\n<h2>Figures</h2>')
        for k, (fid, caption, uri, (width, height)) in enumerate(figs, start=1):
            parts.append(
                f'<figure id="{fid}">\n'
                f'<img src="{uri}" alt="{esc(_plain(_inline(caption)))}" '
                f'width="{width}" height="{height}">\n'
                f"<figcaption><strong>Figure {k}.</strong> {_inline(caption)}</figcaption>\n"
                "</figure>"
            )
        parts.append("</section>")
    if manifest:
        parts.append(manifest_html)
    parts += ["</main>", "</div>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _figures(figures: Sequence[FigureSpec], taken: set[str]) -> list[tuple]:
    """Validate figure ids and render each figure to a data URI with its pixel size."""
    out = []
    for spec in figures:
        fid, caption, fig = spec
        if not _FIGURE_ID.fullmatch(fid):
            raise ValueError(f"figure id {fid!r}: use a letter then letters, digits, - or _")
        if fid in taken:
            raise ValueError(f"figure id {fid!r} is reserved or used twice")
        taken.add(fid)
        uri = fig if isinstance(fig, str) else figure_to_data_uri(fig)
        try:
            size = png_size(decode_png_uri(uri))
        except ValueError as exc:
            raise ValueError(f"figure {fid!r}: {exc}") from None
        out.append((fid, caption, uri, size))
    return out


def _toc(headings: list[Heading], figs: list[tuple], manifest: list[Heading] | None) -> str:
    """Nested contents list: level-2 headings, their level-3 headings, figures, manifest."""
    items: list[tuple[str, str, list[tuple[str, str]]]] = []
    for h in headings:
        if h.level == 2:
            items.append((h.id, h.text, []))
        elif h.level == 3 and items:
            items[-1][2].append((h.id, h.text))
    if figs:
        items.append(
            (
                "figures",
                "Figures",
                [
                    (fid, f"Figure {k}. {_plain(_inline(cap))}")
                    for k, (fid, cap, _, _) in enumerate(figs, start=1)
                ],
            )
        )
    if manifest is not None:
        items.append(("manifest", "Manifest", [(h.id, h.text) for h in manifest]))
    lines = ['<nav id="contents" aria-label="Contents">', "<h2>Contents</h2>", "<ol>"]
    for hid, text, subs in items:
        sub = ""
        if subs:
            sub = (
                "\n<ol>\n"
                + "\n".join(
                    f'<li><a href="#{sid}">{html.escape(stext)}</a></li>' for sid, stext in subs
                )
                + "\n</ol>\n"
            )
        lines.append(f'<li><a href="#{hid}">{html.escape(text)}</a>{sub}</li>')
    lines += ["</ol>", "</nav>"]
    return "\n".join(lines)


#: Column headers of known manifest tables.
_MANIFEST_TABLES = {
    "packages": ("Package versions", "package", "version"),
    "files": ("Files (SHA-256)", "file", "SHA-256"),
}


def _manifest(manifest: Mapping[str, Any], taken: set[str]) -> tuple[str, list[Heading]]:
    """The manifest as tables: scalars first (seeds, hashes, command), then each mapping."""
    esc = html.escape
    headings: list[Heading] = []
    parts = [
        '<section id="manifest">',
        "<h2>Manifest</h2>",
        "<p>From the run's <code>manifest.json</code>: versions, seeds, the configuration hash "
        "and the SHA-256 of every output file. "
        + (
            # A file cannot contain its own hash, whatever order the files were written in.
            f"The hash listed for <code>{HTML_NAME}</code> cannot be this file's own: a file "
            "cannot contain its own hash.</p>"
            if HTML_NAME in (manifest.get("files") or {})
            else f"<code>{HTML_NAME}</code> (this file) is not listed: it is written after the "
            "manifest, which it contains.</p>"
        ),
    ]

    def table(title: str, key_head: str, value_head: str, rows: list[tuple[str, Any]]) -> None:
        hid = _unique_id("manifest-" + _slug(title), taken)
        headings.append(Heading(3, hid, title))
        body = "\n".join(
            f"<tr><td>{esc(str(k))}</td><td>{_manifest_value(k, v)}</td></tr>" for k, v in rows
        )
        parts.append(
            f'<h3 id="{hid}">{esc(title)}</h3>\n<div class="table-wrap"><table>\n'
            f"<thead><tr><th>{esc(key_head)}</th><th>{esc(value_head)}</th></tr></thead>\n"
            f"<tbody>\n{body}\n</tbody></table></div>"
        )

    scalars = [(k, v) for k, v in manifest.items() if not isinstance(v, Mapping)]
    if scalars:
        table("Run", "item", "value", scalars)
    for key, value in manifest.items():
        if isinstance(value, Mapping):
            title, kh, vh = _MANIFEST_TABLES.get(key, (key, "item", "value"))
            table(title, kh, vh, list(value.items()))
    parts.append("</section>")
    return "\n".join(parts), headings


def _manifest_value(key: Any, value: Any) -> str:
    if isinstance(value, str):
        if re.fullmatch(r"[0-9a-f]{64}", value):
            return f'<span class="hash">{value}</span>'
        if key == "command":
            return f"<code>{html.escape(value)}</code>"
        return html.escape(value)
    if isinstance(value, bool) or value is None:
        return html.escape(json.dumps(value))
    if isinstance(value, int | float):
        return html.escape(str(value))
    return f"<code>{html.escape(json.dumps(value, sort_keys=True, ensure_ascii=False))}</code>"


# --------------------------------------------------------------------------------------------
# Writing a run's report
# --------------------------------------------------------------------------------------------


class HtmlReportError(LinkriskError):
    """A run directory cannot give a trustworthy HTML report (missing or inconsistent files)."""


def write_html_report(run_dir: Path, figures: Sequence[FigureSpec] = ()) -> Path:
    """Write ``run_dir/report.html`` from ``report.md``, ``manifest.json`` and ``raw/run.json``
    (atomically: a temporary file, then ``os.replace``) and return its path.

    Refuses (:class:`HtmlReportError`) when the manifest lists a hash of ``report.md`` that the
    file does not have: the page would otherwise present a manifest that does not vouch for it.
    Call it after the manifest is written."""
    from bench.runs.rundir import reproduce_command

    run_dir = Path(run_dir)
    try:
        md_bytes = (run_dir / "report.md").read_bytes()
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
        info = json.loads((run_dir / "raw" / "run.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HtmlReportError(f"{run_dir}: {Path(exc.filename).name} not found") from None
    listed = (manifest.get("files") or {}).get("report.md")
    actual = hashlib.sha256(md_bytes).hexdigest()
    if listed is not None and listed != actual:
        raise HtmlReportError(
            f"{run_dir}: report.md does not match its SHA-256 in manifest.json "
            "(rerun `linkrisk report` to rewrite both)"
        )
    # Bytes decoded without newline translation, so the hash shown in the page is the file's.
    document = render_html(
        md_bytes.decode("utf-8"),
        figures,
        title=f"linkrisk report: {info['scenario']}",
        reproduce=reproduce_command(info),
        manifest=manifest,
    )
    path = run_dir / HTML_NAME
    # Not mkstemp: its files are private (0600); open(..., "xb") gets the usual mode (umask).
    tmp = run_dir / f".{HTML_NAME}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)  # a leftover of a killed process with the same pid
    try:
        with open(tmp, "xb") as fh:
            fh.write(document.encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --------------------------------------------------------------------------------------------
# Static checks
# --------------------------------------------------------------------------------------------

#: Attributes that make a browser fetch or navigate somewhere.
_URL_ATTRS = frozenset(
    {
        "src",
        "href",
        "srcset",
        "poster",
        "data",
        "action",
        "formaction",
        "background",
        "cite",
        "longdesc",
        "xlink:href",
        "ping",
        "manifest",
        "codebase",
        "lowsrc",
        "imagesrcset",
    }
)
#: Elements a self-contained, script-free report never needs.
_FORBIDDEN_TAGS = frozenset(
    {
        "script",
        "link",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "base",
        "video",
        "audio",
        "source",
        "track",
        "form",
        "portal",
        "noscript",
        "template",
    }
)
_CSS_FETCH = re.compile(r"url\s*\(|@import|@font-face|expression\s*\(", re.IGNORECASE)


class _Scan(HTMLParser):
    """Collects ids, figures (id -> img src), images, internal links and problems."""

    def __init__(self, decode_images: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.decode_images = decode_images
        self.ids: list[str] = []
        self.figures: dict[str, str | None] = {}
        self.images: list[str] = []
        self.links: list[str] = []
        self.problems: list[str] = []
        self.pngs: dict[str, bytes] = {}  # figure id -> its PNG, for images that decoded
        self._figure: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if tag in _FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}> element (the report must load and run nothing)")
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh> (navigates elsewhere)")
        if "id" in a:
            self.ids.append(a["id"])
        for name, value in a.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>: event handler (a script)")
            elif name == "style" and _CSS_FETCH.search(value):
                self.problems.append(f"<{tag} style=...> loads a resource")
            elif name == "href" and tag == "a" and value.startswith("#"):
                self.links.append(value[1:])
            elif name == "src" and tag == "img":
                self._image(value, a)
            elif name in _URL_ATTRS:
                self.problems.append(f"<{tag} {name}={value[:60]!r}>: external reference")
        if tag == "figure":
            self._figure = a.get("id")
            if self._figure:
                self.figures[self._figure] = None
        elif tag == "style":
            self._in_style = True

    def _image(self, src: str, attrs: dict[str, str]) -> None:
        self.images.append(src)
        if self._figure and self.figures.get(self._figure) is None:
            self.figures[self._figure] = src
        if not attrs.get("alt"):
            self.problems.append(f"<img> without alt text ({src[:40]!r})")
        if not self.decode_images:
            return
        try:
            data = decode_png_uri(src)
        except ValueError as exc:
            where = f"figure {self._figure!r}: " if self._figure else ""
            self.problems.append(f"{where}<img src={src[:60]!r}>: {exc}")
            return
        if self._figure and self._figure not in self.pngs:
            self.pngs[self._figure] = data

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._figure = None
        elif tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_FETCH.search(data):
            self.problems.append("<style> loads a resource (url(), @import or @font-face)")


def _scan(document: str, decode_images: bool = True) -> _Scan:
    scan = _Scan(decode_images)
    scan.feed(document)
    scan.close()
    seen: set[str] = set()
    for i in scan.ids:
        if i in seen:
            scan.problems.append(f"duplicate id {i!r}")
        seen.add(i)
    for target in dict.fromkeys(scan.links):
        if target and target not in seen:
            scan.problems.append(f"link to #{target}, which no element has")
    for fid, src in scan.figures.items():
        if src is None:
            scan.problems.append(f"figure {fid!r} has no image")
    return scan


def self_contained_problems(document: str) -> list[str]:
    """Why ``document`` is not a self-contained, script-free report (empty list: it is).

    Checks: no scripts, event handlers, frames, embeds or <link>; no src/href/url() other than
    internal ``#`` links and PNG data URIs that decode to a PNG; every ``#`` link and figure
    resolves; ids are unique; every image has alt text."""
    return list(dict.fromkeys(_scan(document).problems))


# --------------------------------------------------------------------------------------------
# Headless Chromium
# --------------------------------------------------------------------------------------------

#: Chromium log sources that are ERROR-level noise in a headless container, not the page:
#: the D-Bus system/session bus is absent (dbus/, device/bluetooth/, ui/base/idle/), there is no
#: GPU (gpu/, ui/gl/, components/viz/, media/gpu/, content/browser/gpu/), and no sandbox or
#: background services run (sandbox/, google_apis/, components/.../gcm). Only these are ignored;
#: any other ERROR/FATAL line, and *every* console message from the page, is a problem.
IGNORED_LOG_SOURCES: tuple[str, ...] = (
    "dbus/",
    "device/bluetooth/",
    "ui/base/idle/",
    "gpu/",
    "ui/gl/",
    "ui/ozone/",
    "components/viz/",
    "media/gpu/",
    "content/browser/gpu/",
    "sandbox/",
    "google_apis/",
    "components/gcm_driver/",
)
_LOG_LINE = re.compile(r"^\[[\d:/.]+:(?P<level>[A-Z_]+):(?P<source>[^\]]*)\]\s?(?P<msg>.*)$")

#: Flags for headless Chromium as root in a container: no sandbox (Chromium refuses to run as
#: root with one, and containers rarely allow the namespaces it needs; the page is a local,
#: script-free file under a CSP), no GPU, /tmp instead of a small /dev/shm; a 1:1 pixel scale so
#: images render at their natural size; nothing fetched in the background.
_BROWSER_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-sync",
    "--mute-audio",
    "--enable-logging=stderr",
    "--v=0",
)


@dataclass
class BrowserCheck:
    """Outcome of :func:`check_in_browser`: ``ok`` when ``problems`` is empty; ``figures``:
    ids of the figures found pixel for pixel in the browser's rendering."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    browser: str | None = None
    version: str | None = None
    figures: list[str] = field(default_factory=list)


def find_browser(browser: str | None = None) -> str | None:
    """Path of a Chromium-family browser: ``browser`` if given, else $LINKRISK_CHROMIUM, else
    the first of :data:`BROWSERS` on PATH; None if none is found."""
    wanted = browser or os.environ.get(BROWSER_ENV)
    if wanted:
        return shutil.which(wanted)
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    return None


def browser_version(executable: str, timeout: float = 30) -> str | None:
    """``executable --version`` (e.g. "Chromium 120.0.6099.224 ..."), or None if it fails."""
    try:
        done = subprocess.run(
            [executable, "--version"],
            capture_output=True,
            text=True,
            timeout=timeout,
            errors="replace",
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = done.stdout.strip()
    return out.splitlines()[0] if done.returncode == 0 and out else None


@dataclass
class _Run:
    returncode: int | None  # None: killed after the timeout
    stdout: str
    stderr: str


def _run_browser(cmd: list[str], timeout: float) -> _Run:
    # Own session, so a hung browser is killed with all its helper processes (and only them).
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
        out, err = proc.communicate()
        return _Run(None, out, err)
    return _Run(proc.returncode, out, err)


def log_problems(stderr: str) -> list[str]:
    """Problems in Chromium's ``--enable-logging=stderr`` output: every console message of the
    page (a script-free report logs none; a refused load under the CSP or an uncaught error
    would), and ERROR/FATAL lines from sources outside :data:`IGNORED_LOG_SOURCES`. Lines that
    are not Chromium log lines (e.g. a launcher script's own shell noise) are ignored."""
    problems = []
    for line in stderr.splitlines():
        m = _LOG_LINE.match(line.strip())
        if m is None:
            continue
        level, source, msg = m["level"], m["source"], m["msg"]
        if source.startswith("CONSOLE"):
            problems.append(f"console: {msg}")
        elif level in ("ERROR", "FATAL") and not source.startswith(IGNORED_LOG_SOURCES):
            problems.append(f"browser {level}: {source}: {msg}")
    return problems


def check_in_browser(
    html_path: Path, browser: str | None = None, timeout: float = 60
) -> BrowserCheck:
    """Open ``html_path`` in headless Chromium and check that it shows what it should.

    1. The static checks of :func:`self_contained_problems`.
    2. ``--dump-dom``: exit code 0; the DOM Chromium built holds every figure id with the same
       image as the file (so the markup parsed as intended); no console message and no ERROR
       line outside the known container noise (:func:`log_problems`).
    3. ``--screenshot`` of the figures-only view (``#figures-only``: header and figures at
       natural size) in a window tall enough for all figures: exit code 0, a non-blank PNG,
       and each figure's pixels found in it. The report has no scripts and nothing is injected,
       so this comparison is how "the image decoded and was drawn" is verified.
    """
    html_path = Path(html_path).resolve()
    executable = find_browser(browser)
    if executable is None:
        where = browser or os.environ.get(BROWSER_ENV)
        return BrowserCheck(
            False,
            [
                f"browser {where!r} not found"
                if where
                else f"no headless Chromium found (tried {', '.join(BROWSERS)}; set {BROWSER_ENV})"
            ],
        )
    check = BrowserCheck(False, browser=executable, version=browser_version(executable))
    document = html_path.read_text(encoding="utf-8")
    scan = _scan(document)
    problems = list(scan.problems)
    # Undecodable images are problems of the static scan already; they still take room.
    figures = scan.pngs
    sizes = [_size_or_default(src) for src in scan.figures.values()]
    url = html_path.as_uri()
    with tempfile.TemporaryDirectory(prefix="linkrisk-chromium-") as tmp:
        dom = _run_browser(
            [executable, *_BROWSER_FLAGS, f"--user-data-dir={tmp}/dom", "--dump-dom", url],
            timeout,
        )
        problems += _run_problems("DOM dump", dom, timeout)
        if dom.returncode == 0:
            # Its images are compared with the file's as strings: no need to decode them again.
            built = _scan(dom.stdout, decode_images=False)
            if "report" not in built.ids:  # e.g. an error page: the file could not be read
                problems.append("DOM dump: the report's content is not in the browser's DOM")
            for fid, src in scan.figures.items():
                if fid not in built.ids:
                    problems.append(f"figure {fid!r} missing from the browser's DOM")
                elif built.figures.get(fid) != src:
                    problems.append(f"figure {fid!r}: the browser's DOM has a different image")
        shot_path = Path(tmp) / "screenshot.png"
        width, height = _window(sizes)
        shot = _run_browser(
            [
                executable,
                *_BROWSER_FLAGS,
                f"--user-data-dir={tmp}/shot",
                f"--screenshot={shot_path}",
                f"--window-size={width},{height}",
                f"{url}#{FIGURES_ONLY}",
            ],
            timeout,
        )
        problems += _run_problems("screenshot", shot, timeout)
        if shot.returncode == 0:
            found, shot_problems = _screenshot_problems(shot_path, figures)
            problems += shot_problems
            check.figures = found
    check.problems = list(dict.fromkeys(problems))
    check.ok = not check.problems
    return check


def _run_problems(what: str, run: _Run, timeout: float) -> list[str]:
    if run.returncode is None:
        return [f"{what}: browser did not finish within {timeout:g} s"]
    problems = [f"{what}: {p}" for p in log_problems(run.stderr)]
    if run.returncode != 0:
        tail = " | ".join(run.stderr.strip().splitlines()[-3:])
        problems.insert(0, f"{what}: browser exited with status {run.returncode}: {tail}")
    return problems


def _size_or_default(src: str | None) -> tuple[int, int]:
    try:
        return png_size(base64.b64decode((src or "")[len(PNG_PREFIX) :]))
    except (ValueError, binascii.Error):
        return (300, 150)  # a broken image still occupies a box


def _window(sizes: Sequence[tuple[int, int]], max_height: int = 8000) -> tuple[int, int]:
    """A window (width, height) for the figures-only view in which every figure is fully
    visible at natural size: the narrowest width (in 320 px steps) whose packed rows fit in
    ``max_height``, else the widest window Chromium allows (16384 px)."""
    # Box of a figure in that view: image + 1 px borders + 16 px margin + an inter-word space
    # (the figures are inline blocks); rows get 200 px for the caption.
    boxes = [(w + 2 + 16 + 8, h + 2) for w, h in sizes]
    widest = max((w for w, _ in boxes), default=0)

    def height(width: int) -> int:
        content = width - 64 - 48  # the page's side padding, and a margin for error
        total, row_w, row_h = 0, 0, 0
        for w, h in boxes:
            if row_w and row_w + w > content:
                total, row_w, row_h = total + row_h + 200, 0, 0
            row_w, row_h = row_w + w, max(row_h, h)
        return 600 + total + (row_h + 200 if row_w else 0)  # 600: header and section title

    for width in range(max(1280, widest + 112), 16384, 320):
        if height(width) <= max_height:
            return width, height(width)
    return 16384, min(height(16384), 16384)


def _rgb(data: bytes) -> np.ndarray:
    """A PNG as an RGB uint8 array, composited on white (the page's background)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        if "A" not in img.getbands() and "transparency" not in img.info:
            return np.asarray(img.convert("RGB"))
        rgba = np.asarray(img.convert("RGBA"))
    if (rgba[..., 3] == 255).all():
        return rgba[..., :3]
    alpha = rgba[..., 3:4] / 255
    return np.rint(rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def _pack(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 (h, w, 3) -> uint32 (h, w): one integer per pixel, so comparisons are cheap."""
    import numpy as np

    return (
        (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    )


def _screenshot_problems(path: Path, figures: Mapping[str, bytes]) -> tuple[list[str], list[str]]:
    """(figures found in the screenshot, problems)."""
    if not path.exists():
        return [], ["screenshot: no file written"]
    try:
        shot = _rgb(path.read_bytes())
    except Exception as exc:  # any decoding failure is the problem being reported
        return [], [f"screenshot: unreadable PNG ({exc})"]
    packed = _pack(shot)
    if (packed == packed.flat[0]).all():
        return [], ["screenshot: blank (a single colour)"]
    found, problems = [], []
    for fid, data in figures.items():
        image = _rgb(data)
        if (image == image[0, 0]).all():
            problems.append(f"figure {fid!r}: the image is a single colour")
        elif _locate(shot, packed, image):
            found.append(fid)
        else:
            problems.append(f"figure {fid!r}: not shown (its pixels are not in the screenshot)")
    return found, problems


def _locate(shot: np.ndarray, packed: np.ndarray, image: np.ndarray, key_width: int = 24) -> bool:
    """Whether ``image`` (RGB) appears in ``shot`` (RGB; ``packed``: the same, :func:`_pack`ed)
    at natural size, with >= 99.9% of its pixels within 3 levels per channel.

    Candidate places come from an exact match of a short key: the image's row segment with the
    most colour changes (so it cannot match a blank area), searched from its pixel that is
    rarest in the image; each candidate is then compared in full."""
    import numpy as np

    h, w, _ = image.shape
    sh, sw = packed.shape
    if h > sh or w > sw:
        return False
    img = _pack(image)
    kw = min(key_width, w)
    changes = (img[:, 1:] != img[:, :-1]).astype(np.int64)
    windows = np.cumsum(np.pad(changes, ((0, 0), (1, 0))), axis=1)
    scores = windows[:, kw - 1 :] - windows[:, : w - kw + 1]
    row, col = (int(v) for v in np.unravel_index(int(np.argmax(scores)), scores.shape))
    key = img[row, col : col + kw]
    values, counts = np.unique(img, return_counts=True)
    anchor = int(np.argmin(counts[np.searchsorted(values, key)]))
    flat = packed.ravel()
    starts = np.flatnonzero(flat == key[anchor]) - anchor  # flat index of the key's 1st pixel
    starts = starts[(starts >= 0) & (starts % sw + kw <= sw)]
    for j in range(kw):
        starts = starts[flat[starts + j] == key[j]]
    for start in starts[:2000]:  # more places than that: a pathological image, give up
        y0, x0 = int(start) // sw - row, int(start) % sw - col
        if 0 <= y0 <= sh - h and 0 <= x0 <= sw - w:
            # A sparse exact comparison first: a wrong place (a tick label shared by several
            # figures) fails it at once, before the full comparison with a tolerance.
            if (packed[y0 : y0 + h : 16, x0 : x0 + w : 16] == img[::16, ::16]).mean() < 0.9:
                continue
            region = shot[y0 : y0 + h, x0 : x0 + w].astype(np.int16)
            if (np.abs(region - image).max(axis=2) <= 3).mean() >= 0.999:
                return True
    return False


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    figures: Callable[[Path], Sequence[FigureSpec]] | None = None,
) -> int:
    """``python -m bench.report.html TARGET [--check]``: with a run directory, (re)write its
    report.html (``figures(run_dir)`` supplies the figures, none by default); with an .html
    file, leave it as it is. Then run the static checks and, with ``--check``, the browser
    check. One line per problem; exit status 2 if there is any, else 0.

    Without a ``figures`` callable, an existing report.html that has figures is not replaced
    (that would drop them) unless ``--force`` is given."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.report.html",
        description="Write a run's self-contained report.html and check it (optionally in "
        "headless Chromium).",
    )
    parser.add_argument(
        "target",
        type=Path,
        help="a run directory (report.html is rewritten from report.md and manifest.json) or "
        "an existing .html file (checked as it is)",
    )
    parser.add_argument("--check", action="store_true", help="also open it in headless Chromium")
    parser.add_argument(
        "--browser", help=f"browser executable (default: ${BROWSER_ENV}, then {BROWSERS[0]}...)"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per browser run")
    parser.add_argument(
        "--force", action="store_true", help="replace a report.html even if it has figures"
    )
    args = parser.parse_args(argv)
    prog = parser.prog
    try:
        if args.target.is_file():
            path = args.target
        else:
            existing = args.target / HTML_NAME
            if (
                figures is None
                and not args.force
                and existing.is_file()
                and "<figure id=" in existing.read_text(encoding="utf-8")
            ):
                raise HtmlReportError(
                    f"{existing} has figures and this command cannot make them: check it with "
                    f"`{prog} {existing} --check`, or pass --force to rewrite it without figures"
                )
            path = write_html_report(args.target, figures(args.target) if figures else ())
            print(f"wrote {path}")
        document = path.read_text(encoding="utf-8")
    except (LinkriskError, OSError, ValueError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        result = check_in_browser(path, args.browser, args.timeout)
        problems = result.problems
        if result.browser:
            print(f"browser: {result.version or 'unknown version'} ({result.browser})")
    else:
        problems = self_contained_problems(document)
    for problem in problems:
        print(f"{path}: {problem}")
    if problems:
        return 2
    shown = f", {len(result.figures)} figure(s) shown" if args.check else ""
    print(f"ok: {path}{shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
