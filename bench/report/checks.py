"""Checks that a report.html is what it claims: self-contained, and shown as intended.

:func:`self_contained_problems` reads the file: no scripts, no loads, every figure a PNG that
decodes, every ``#`` link resolves. :func:`check_in_browser` opens it in headless Chromium and
checks that it parses, loads nothing, logs no console message, and shows every figure pixel for
pixel. Run both (after rewriting a run directory's report.html) as::

    python -m bench.report.checks results/irs-ice/report.html --check --first-screen

:func:`first_screen` lays the page out at 1400x900 and finds the summary sentence and the main
figure in the first screen, and no table clipped at the right.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from bench.report.html import (
    FIGURES_ONLY,
    HTML_NAME,
    PNG_PREFIX,
    FigureSpec,
    HtmlReportError,
    decode_png_uri,
    png_size,
    write_html_report,
)
from synthetic.errors import LinkriskError

if TYPE_CHECKING:
    import numpy as np

#: Executables tried, in order, when neither an argument nor LINKRISK_CHROMIUM names one.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_ENV = "LINKRISK_CHROMIUM"

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
# The first screen, and clipped tables
# --------------------------------------------------------------------------------------------

#: The window of :func:`first_screen`: a laptop screen.
FIRST_SCREEN = (1400, 900)
#: What the probe reads of the laid-out page (run in a scratch copy only: the report itself
#: has no script). The summary sentence: the first list item under "In short"; the main
#: figure: the image of ``#main-figure``; a table is clipped when its scrolling box is
#: narrower than the table, or the table reaches past the window's right edge.
_PROBE = """
<script>
(() => {
  const box = (el) => { if (!el) return null; const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const heading = document.getElementById("in-short");
  let list = heading; while (list && list.tagName !== "UL") list = list.nextElementSibling;
  const clipped = [];
  document.querySelectorAll("table").forEach((t, i) => {
    const wrap = t.parentElement;
    const r = t.getBoundingClientRect();
    if ((wrap && wrap.scrollWidth > wrap.clientWidth + 1) || r.right > window.innerWidth + 1) {
      let h = t.parentElement;
      while (h && !/^H[1-6]$/.test(h.tagName)) h = h.previousElementSibling;
      clipped.push({index: i, under: h ? h.textContent : null,
                    width: Math.round(r.width), room: wrap ? wrap.clientWidth : null});
    }
  });
  const out = document.createElement("pre");
  out.id = "linkrisk-probe";
  out.textContent = JSON.stringify({
    window: [window.innerWidth, window.innerHeight],
    sentence: box(list && list.querySelector("li")),
    sentence_text: list && list.querySelector("li") ? list.querySelector("li").textContent : null,
    figure: box(document.querySelector("#main-figure img")),
    clipped: clipped, tables: document.querySelectorAll("table").length});
  document.body.appendChild(out);
})();
</script>
"""


@dataclass
class FirstScreen:
    """Outcome of :func:`first_screen`: ``ok`` when ``problems`` is empty. ``sentence`` and
    ``figure``: their boxes (top, bottom, left, right in CSS pixels) or None; ``clipped``: the
    tables whose content is wider than their room."""

    ok: bool
    problems: list[str] = field(default_factory=list)
    sentence: dict | None = None
    sentence_text: str | None = None
    figure: dict | None = None
    clipped: list[dict] = field(default_factory=list)
    tables: int = 0


def first_screen(
    html_path: Path,
    browser: str | None = None,
    window: tuple[int, int] = FIRST_SCREEN,
    timeout: float = 60,
) -> FirstScreen:
    """Lay out ``html_path`` in headless Chromium in a ``window`` (width, height) and check
    that the summary sentence and the main figure are entirely within the first screen and
    that no table is clipped at the right. The report runs no script: a scratch copy, without
    the Content-Security-Policy and with a measuring script appended, is what the browser
    opens."""
    import json

    executable = find_browser(browser)
    if executable is None:
        return FirstScreen(False, ["no headless Chromium found"])
    width, height = window
    document = Path(html_path).read_text(encoding="utf-8")
    document = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", document, count=1)
    document = document.replace("</body>", _PROBE + "</body>", 1)
    with tempfile.TemporaryDirectory(prefix="linkrisk-screen-") as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(document, encoding="utf-8")
        run = _run_browser(
            [
                executable,
                *_BROWSER_FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--window-size={width},{height}",
                "--virtual-time-budget=5000",
                "--dump-dom",
                page.as_uri(),
            ],
            timeout,
        )
    if run.returncode != 0:
        return FirstScreen(False, [f"browser exited with status {run.returncode}"])
    found = re.search(r'<pre id="linkrisk-probe">(.*?)</pre>', run.stdout, re.DOTALL)
    if found is None:
        return FirstScreen(False, ["the measuring script did not run"])
    import html as html_module

    probe = json.loads(html_module.unescape(found[1]))
    out = FirstScreen(
        False,
        sentence=probe["sentence"],
        sentence_text=probe["sentence_text"],
        figure=probe["figure"],
        clipped=probe["clipped"],
        tables=probe["tables"],
    )
    for what, rect in (("summary sentence", out.sentence), ("main figure", out.figure)):
        if rect is None:
            out.problems.append(f"no {what}")
        elif rect["top"] < 0 or rect["bottom"] > height or rect["right"] > width:
            out.problems.append(f"{what} not within the first {width}x{height} screen: {rect}")
    out.problems += [
        f"table {c['index']} (under {c['under']!r}) clipped: {c['width']} px in {c['room']} px"
        for c in out.clipped
    ]
    out.ok = not out.problems
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    figures: Callable[[Path], Sequence[FigureSpec]] | None = None,
) -> int:
    """``python -m bench.report.checks TARGET [--check]``: with a run directory, (re)write its
    report.html (``figures(run_dir)`` supplies the figures, none by default); with an .html
    file, leave it as it is. Then run the static checks and, with ``--check``, the browser
    check. One line per problem; exit status 2 if there is any, else 0.

    Without a ``figures`` callable, an existing report.html that has figures is not replaced
    (that would drop them) unless ``--force`` is given."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.report.checks",
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
        "--first-screen",
        action="store_true",
        help="with --check: also lay it out at 1400x900 and require the summary sentence and "
        "the main figure in the first screen, and no clipped table",
    )
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
        if args.first_screen:
            screen = first_screen(path, args.browser, timeout=args.timeout)
            problems = [*problems, *(f"first screen: {p}" for p in screen.problems)]
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
