"""The self-contained HTML report: one file a reader opens in a browser with nothing else.

``report.html`` holds the converted ``report.md`` (headline table, definitions, parameters), the
figures as PNG ``data:`` URIs, the manifest (versions, seeds, configuration hash, file hashes) and
the one command that reproduces the run. It loads nothing: no scripts, no style sheets, fonts or
images from anywhere else; a Content-Security-Policy ``<meta>`` makes the browser itself refuse
(and log) any other load, so a slip cannot quietly fetch something.

Figures are drawn elsewhere (:mod:`bench.report.figures`); this module receives them as
``(id, caption, Figure or data URI)`` and only embeds them (:func:`figure_to_data_uri`). The
Markdown is converted by :mod:`bench.report.markdown`; the page's checks (self-containment, a
headless browser) are in :mod:`bench.report.checks`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import io
import json
import os
import re
import struct
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.report.markdown import Heading, convert, inline_to_html, plain, slug, unique_id
from bench.runs.rundir import RunDir, reproduce_command
from synthetic.errors import LinkriskError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: One figure of the report: (element id, caption, matplotlib Figure or PNG data URI).
FigureSpec = tuple[str, str, "Figure | str"]


@dataclass(frozen=True)
class Placement:
    """Where :func:`render_html` puts a figure: in the block of the heading whose text is
    ``heading``, at its end (before the next heading of the same or a higher level), or, with
    ``beside``, right after the heading, floated beside what follows it on wide screens."""

    heading: str
    beside: bool = False


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
RESERVED_IDS = frozenset(
    {"top", "reproduce", "reproducing", "contents", "report", "figures", "manifest"}
)
_FIGURE_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")

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
nav#contents { background: #fafafa; border: 1px solid #ddd; padding: 0.3em 1.4em;
  margin: 0.6em 0 1em; }
nav#contents summary { font-weight: 600; cursor: pointer; }
nav ol { margin: 0.1em 0; padding-left: 1.4em; }
h2, h3 { clear: both; }
/* Tables fit the page: cells wrap (numbers at their spaces, words anywhere) rather than push
   the table past the right edge; the scrolling box is a last resort. */
.table-wrap { overflow-x: auto; margin: 0.8em 0 1.2em; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.88rem; max-width: 100%; }
th, td { border: 1px solid #b8b8b8; padding: 0.2em 0.5em; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
th { background: #efefef; }
tbody tr:nth-child(even) { background: #fafafa; }
.num { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
.center { text-align: center; }
figure { margin: 1.6em 0; break-inside: avoid; page-break-inside: avoid; }
figure.beside { float: right; width: 50%; margin: 0.2em 0 1em 1.5em; }
@media (max-width: 64rem) { figure.beside { float: none; width: auto; margin: 1.6em 0; } }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; display: block; }
figcaption { font-size: 0.9rem; color: #333; margin-top: 0.4em; max-width: 60rem; }
.hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  monospace; font-size: 0.82rem; overflow-wrap: anywhere; }
/* The figures-only view (report.html#figures-only): the header and the figures side by side at
   their natural size. check_in_browser screenshots it to find every plot pixel for pixel. */
#figures-only:target ~ .page { max-width: none; }
#figures-only:target ~ .page nav,
#figures-only:target ~ .page main > :not(#figures):not(#report),
#figures-only:target ~ .page #report > :not(figure) { display: none; }
#figures-only:target ~ .page figure { display: inline-block; vertical-align: top;
  width: min-content; margin: 0 16px 16px 0; float: none; }
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
    placements: Mapping[str, Placement] | None = None,
) -> str:
    """One self-contained HTML5 document: a header with ``title`` and a (folded) table of
    contents, the converted ``markdown_text`` with the figures placed in it, a "Figures"
    section for figures without a place, the ``reproduce`` command and the ``manifest`` (when
    given) as tables.

    ``figures``: (id, caption, Figure or PNG data URI); ids must be unique, match
    ``[A-Za-z][A-Za-z0-9_-]*`` and avoid :data:`RESERVED_IDS`; Figures are closed once
    rendered. ``placements``: figure id -> :class:`Placement` (the heading whose block the
    figure joins; a heading not in the document is an error). Figures are numbered in the
    order they appear. The output depends only on the arguments (no dates, no paths): same
    inputs, same bytes.
    """
    taken = set(RESERVED_IDS) | {FIGURES_ONLY}
    figs = _figures(figures, taken)
    body, headings = convert(markdown_text, taken, drop_title=title)
    manifest_html, manifest_headings = _manifest(manifest, taken) if manifest else ("", [])
    source_sha = hashlib.sha256(markdown_text.encode("utf-8")).hexdigest()
    esc = html.escape
    body, placed, loose = _place(body, headings, figs, placements or {})
    order = [*(p[0] for p in placed), *(f[0] for f in loose)]
    number = {fid: k for k, fid in enumerate(order, start=1)}
    for fid, beside in placed:
        fid, caption, uri, size = next(f for f in figs if f[0] == fid)
        body = body.replace(
            _slot(fid), _figure_html(fid, caption, uri, size, number[fid], beside), 1
        )
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
        "</header>",
        _toc(
            headings,
            [(fid, next(f[1] for f in figs if f[0] == fid)) for fid in order],
            bool(loose),
            manifest_headings if manifest else None,
        ),
        "<main>",
        f'<article id="report">\n{body}</article>',
    ]
    if loose:
        parts.append('<section id="figures">\n<h2>Figures</h2>')
        parts += [_figure_html(f, c, u, z, number[f]) for f, c, u, z in loose]
        parts.append("</section>")
    parts += [
        '<section id="reproducing">',
        "<h2>Reproduce</h2>",
        "<p>Reproduce with this one command"
        + (" (package versions in the manifest below):</p>" if manifest else ":</p>"),
        f'<pre id="reproduce"><code>{esc(reproduce)}</code></pre>',
        '<p class="note">This file is self-contained: it loads nothing else and runs no code. '
        "It was converted from the run's Markdown report (SHA-256 "
        f'<span class="hash">{source_sha}</span>'
        + ("; compare with <code>report.md</code> in the manifest)." if manifest else ").")
        + "</p>",
        "</section>",
    ]
    if manifest:
        parts.append(manifest_html)
    parts += ["</main>", "</div>", "</body>", "</html>", ""]
    return "\n".join(parts)


def _figure_html(
    fid: str, caption: str, uri: str, size: tuple[int, int], k: int, beside: bool = False
) -> str:
    """One ``<figure>``: the image at its pixel size, alt text and the numbered caption."""
    esc = html.escape
    width, height = size
    cls = ' class="beside"' if beside else ""
    return (
        f'<figure id="{fid}"{cls}>\n'
        f'<img src="{uri}" alt="{esc(plain(inline_to_html(caption)))}" '
        f'width="{width}" height="{height}">\n'
        f"<figcaption><strong>Figure {k}.</strong> {inline_to_html(caption)}</figcaption>\n"
        "</figure>"
    )


def _slot(fid: str) -> str:
    # NUL cannot occur in converted Markdown (markdown-it replaces it), so a slot is unique.
    return f"\x00figure:{fid}\x00"


_HEADING_TAG = re.compile(r'<h([1-6]) id="([^"]+)">')


def _place(
    body: str, headings: list[Heading], figs: list[tuple], placements: Mapping[str, Placement]
) -> tuple[str, list[tuple[str, bool]], list[tuple]]:
    """Insert a slot for each placed figure into ``body``. Returns the body, the placed
    figures as (id, beside) in document order, and the figures without a place (in order)."""
    by_text: dict[str, Heading] = {}
    for h in headings:
        by_text.setdefault(h.text, h)
    tags = [(m.end(), int(m[1]), m[2], m.start()) for m in _HEADING_TAG.finditer(body)]
    at: list[tuple[int, int, str, bool]] = []  # (offset, figure order, id, beside)
    loose = []
    for k, fig in enumerate(figs):
        fid = fig[0]
        where = placements.get(fid)
        if where is None:
            loose.append(fig)
            continue
        heading = by_text.get(where.heading)
        if heading is None:
            raise ValueError(f"figure {fid!r}: no heading {where.heading!r} to place it under")
        i = next(i for i, t in enumerate(tags) if t[2] == heading.id)
        if where.beside:
            offset = body.index("\n", tags[i][0]) + 1  # right after the heading's line
        else:  # at the end of the heading's block: before the next heading at its level or up
            ends = [t[3] for t in tags[i + 1 :] if t[1] <= heading.level]
            offset = ends[0] if ends else len(body)
        at.append((offset, k, fid, where.beside))
    at.sort(key=lambda a: (a[0], a[1]))
    for offset, _, fid, _ in reversed(at):
        body = body[:offset] + _slot(fid) + "\n" + body[offset:]
    return body, [(fid, beside) for _, _, fid, beside in at], loose


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


def _toc(
    headings: list[Heading],
    figs: list[tuple[str, str]],
    figures_section: bool,
    manifest: list[Heading] | None,
) -> str:
    """Nested contents list, folded: level-2 headings and their level-3 headings, the figures
    (linked to the "Figures" section when some figures have no place), reproduce, manifest."""
    items: list[tuple[str | None, str, list[tuple[str, str]]]] = []
    for h in headings:
        if h.level == 2:
            items.append((h.id, h.text, []))
        elif h.level == 3 and items:
            items[-1][2].append((h.id, h.text))
    if figs:
        items.append(
            (
                "figures" if figures_section else None,
                "Figures",
                [
                    (fid, f"Figure {k}. {plain(inline_to_html(cap))}")
                    for k, (fid, cap) in enumerate(figs, start=1)
                ],
            )
        )
    items.append(("reproducing", "Reproduce", []))
    if manifest is not None:
        items.append(("manifest", "Manifest", [(h.id, h.text) for h in manifest]))
    lines = [
        '<nav id="contents" aria-label="Contents">',
        "<details><summary>Contents</summary>",
        "<ol>",
    ]
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
        label = html.escape(text) if hid is None else f'<a href="#{hid}">{html.escape(text)}</a>'
        lines.append(f"<li>{label}{sub}</li>")
    lines += ["</ol>", "</details>", "</nav>"]
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
        hid = unique_id("manifest-" + slug(title), taken)
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


def write_html_report(
    run_dir: Path,
    figures: Sequence[FigureSpec] = (),
    placements: Mapping[str, Placement] | None = None,
) -> Path:
    """Write ``run_dir/report.html`` from ``report.md``, ``manifest.json`` and ``raw/run.json``
    (atomically: a temporary file, then ``os.replace``) and return its path.

    Refuses (:class:`HtmlReportError`) when the manifest lists a hash of ``report.md`` that the
    file does not have: the page would otherwise present a manifest that does not vouch for it.
    Call it after the manifest is written."""
    run_dir = Path(run_dir)
    try:
        md_bytes = (run_dir / "report.md").read_bytes()
        manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HtmlReportError(f"{run_dir}: {Path(exc.filename).name} not found") from None
    info = RunDir(run_dir).info  # raw/run.json, checked (LinkriskError naming the field)
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
        placements=placements,
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
