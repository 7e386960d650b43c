"""The self-contained HTML report: Markdown conversion, figures, self-containment, determinism,
writing a run's report.html, and (when a Chromium is installed) opening it headless."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bench.report import checks as C
from bench.report import html as H
from bench.report.markdown import markdown_to_html
from tests.conftest import copy_run

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _figure(seed: int = 0, title: str = "curve") -> Figure:
    """A small, deterministic figure (bare Figure on Agg, as the plotting modules make them)."""
    fig = Figure(figsize=(4, 3), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    rng = np.random.default_rng(seed)
    ax.plot(np.linspace(0, 1, 40), np.cumsum(rng.random(40)), label="method")
    ax.bar(range(4), rng.random(4) * 10, alpha=0.5, label="groups")
    ax.set_title(title)
    ax.legend()
    return fig


def _figures() -> list[H.FigureSpec]:
    return [
        ("fig-tradeoff", "Error trade-off: FNMR vs FMR <by method> & NGUYỄN", _figure(1)),
        ("fig-ratios", "Wrong-person rate ratio by group", _figure(2, "ratios")),
    ]


MD = """# linkrisk report: demo

A demo with <script>alert("x")</script> & NGUYỄN, MUÑOZ; "quotes" and 'apostrophes'.

Reproduce: `linkrisk run demo --seed 7` (same versions as in `manifest.json`).

## Headline

| method | resolve |   FDR | FP |
|--------|---------|-------|----|
| exact  | all     | 0.63% (≤ 1.2%) | 1,269 |
| <b>fuzzy</b> | best | n/a | 8 |

## Definitions

- **FDR**: false discovery rate = FP / declared links
- **noise:<type>**: a noise type; `first_name` stays as is
- see [the causes](causes.csv) and [the headline](#headline)

### Sub-section

Text with *italic*, **bold** and `code <&>`.
"""


def _oneline(fragment: str) -> str:
    """``fragment`` without the line breaks between tags (markdown-it puts each row, cell and
    list item on its own line)."""
    return re.sub(r"\n+(?=<)", "", fragment)


def _attr_values(document: str, name: str) -> list[str]:
    return re.findall(rf'\b{name}\s*=\s*"([^"]*)"', document)


def _png_from_uri(uri: str) -> bytes:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = mpimg.imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0
    return data


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def test_headings_get_stable_unique_ascii_ids() -> None:
    out = markdown_to_html(
        "# Report: NGUYỄN\n\n## Blocking (scored methods)\n\n## Blocking (scored methods)\n\n"
        "### `code` and *em* ##\n\n#### Level four\n\n#hashtag"
    )
    assert '<h1 id="report-nguyen">Report: NGUYỄN</h1>' in out
    assert '<h2 id="blocking-scored-methods">Blocking (scored methods)</h2>' in out
    assert '<h2 id="blocking-scored-methods-1">' in out
    assert '<h3 id="code-and-em"><code>code</code> and <em>em</em></h3>' in out
    assert '<h4 id="level-four">Level four</h4>' in out
    assert "<p>#hashtag</p>" in out  # no space after "#": not a heading
    assert markdown_to_html(MD) == markdown_to_html(MD)  # a pure function


def test_table_alignment_from_colons_and_from_numbers() -> None:
    out = _oneline(markdown_to_html("| l | c | r | x |\n|:--|:-:|--:|---|\n| a | b | c | d |\n"))
    assert '<th>l</th><th class="center">c</th><th class="num">r</th><th>x</th>' in out
    assert '<td>a</td><td class="center">b</td><td class="num">c</td><td>d</td>' in out
    assert "style=" not in out  # alignment by class: no inline style attributes
    # tabulate's "github" tables carry no colons: numeric columns are inferred.
    out = _oneline(
        markdown_to_html(
            "| group | people | share | interval |\n|---|---|---|---|\n"
            "| 2prace | 1,000 | 0.63% (≤ 1.23%) | n/a (1 replicate) |\n"
            "| white | 12 | n/a | 0.00% - 4.05% |\n"
        )
    )
    assert '<th>group</th><th class="num">people</th>' in out
    assert '<td>2prace</td><td class="num">1,000</td><td class="num">0.63% (≤ 1.23%)</td>' in out
    assert '<td class="num">n/a (1 replicate)</td>' in out
    assert out.count("<tr>") == 3 and "<thead>" in out and "<tbody>" in out


def test_table_cells_escaped_pipes_and_inline_markup() -> None:
    out = _oneline(markdown_to_html("| a | b |\n|---|---|\n| `x` **y** | p \\| q |\n| short |\n"))
    assert "<td><code>x</code> <strong>y</strong></td><td>p | q</td>" in out
    assert "<td>short</td><td></td>" in out  # missing cells padded
    # A header whose cell count differs from the separator's is no table.
    assert "<table>" not in markdown_to_html("| a | b |\n|---|\n| 1 | 2 |\n")


def test_escaping_of_html_ampersands_quotes_and_unicode() -> None:
    out = markdown_to_html(MD)
    assert "<script>" not in out and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in out
    assert "&amp; NGUYỄN, MUÑOZ" in out  # Unicode kept as is, & escaped
    assert "'apostrophes'" in out  # text content: quotes need no escaping
    assert "a &amp;amp; b" in markdown_to_html("a &amp; b")  # entities shown as typed, not decoded
    assert "<td>&lt;b&gt;fuzzy&lt;/b&gt;</td>" in out
    assert "<strong>noise:&lt;type&gt;</strong>" in out
    assert "<code>code &lt;&amp;&gt;</code>" in out
    fenced = markdown_to_html('```toml\n[x]\nname = "<O\'Brien & Co>"\n```\n')
    assert fenced == (
        '<pre><code class="language-toml">[x]\n'
        "name = &quot;&lt;O'Brien &amp; Co&gt;&quot;\n</code></pre>\n"
    )


def test_inline_code_emphasis_and_escapes() -> None:
    out = markdown_to_html(
        "`a*b*c` *em* **strong** first_name 2 * 3 \\*lit\\* \\d{5} `` x`y `` **a `*` b**"
    )
    assert "<code>a*b*c</code>" in out  # nothing inside code spans is markup
    assert "<em>em</em>" in out and "<strong>strong</strong>" in out
    assert "first_name" in out and "<em>" not in out.split("first_name")[1].split("\\d")[0]
    assert "2 * 3" in out and "*lit*" in out and "\\d{5}" in out
    assert "<code>x`y</code>" in out
    assert "<strong>a <code>*</code> b</strong>" in out
    # "_" never makes emphasis: identifiers such as __init__ or _id_ stay as they are
    assert "<p>__init__ _id_ <em>x</em></p>" in markdown_to_html("__init__ _id_ *x*")


def test_links_never_leave_the_document() -> None:
    out = markdown_to_html(
        "[rel](causes.csv), [frag](#headline), [web](https://example.org/a?b=1&c=2), "
        "<https://example.org/auto>, ![plot](plot.png)"
    )
    assert 'rel (<code class="url">causes.csv</code>)' in out
    assert '<a href="#headline">frag</a>' in out
    assert 'web (<code class="url">https://example.org/a?b=1&amp;c=2</code>)' in out
    assert '<code class="url">https://example.org/auto</code>' in out
    assert 'plot (<code class="url">plot.png</code>)' in out and "<img" not in out
    assert _attr_values(out, "href") == ["#headline"]


def test_lists() -> None:
    out = markdown_to_html("- one\n- two `x`\n  continued\n- three\n\n3. c\n4. d\n")
    assert out.startswith("<ul>\n<li>one</li>\n<li>two <code>x</code>\ncontinued</li>")
    assert '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>' in out
    nested = _oneline(markdown_to_html("- a\n  - b\n- c\n"))
    assert "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul>" in nested
    loose = _oneline(markdown_to_html("- a\n\n  more\n- b\n"))
    assert "<li><p>a</p><p>more</p></li><li><p>b</p></li>" in loose


def test_real_report_markdown_leaves_no_markup(tiny_run: Path) -> None:
    md = (tiny_run / "report.md").read_text(encoding="utf-8")
    out = markdown_to_html(md)
    assert out.count("<table>") == len(re.findall(r"^\|[-:| ]+\|$", md, flags=re.M))
    text = re.sub(r"<code>.*?</code>", "", out, flags=re.S)
    assert "**" not in text and "|--" not in text and "`" not in text
    assert len(re.findall(r"<h[1-4] id=", out)) == len(re.findall(r"^#{1,4} ", md, flags=re.M))


# --------------------------------------------------------------------------------------------
# Figures and the document
# --------------------------------------------------------------------------------------------


def test_figure_to_data_uri_is_a_deterministic_png_and_closes_pyplot_figures() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = H.figure_to_data_uri(_figure(3)), H.figure_to_data_uri(_figure(3))
    assert a == b
    data = _png_from_uri(a)
    assert b"Software" not in data  # no matplotlib version in the bytes
    assert H.png_size(data) == (4 * H.DPI, 3 * H.DPI)
    fig = plt.figure()
    H.figure_to_data_uri(fig)
    assert not plt.fignum_exists(fig.number)


def test_render_html_is_self_contained() -> None:
    manifest = {"seed": 7, "config_sha256": "ab" * 32, "files": {"report.md": "cd" * 32}}
    doc = H.render_html(
        MD, _figures(), title="linkrisk report: demo", reproduce="linkrisk run <x> --seed 7",
        manifest=manifest,
    )  # fmt: skip
    assert doc.startswith("<!DOCTYPE html>\n") and doc.endswith("</html>\n")
    assert "<script" not in doc.lower() and "<link" not in doc.lower()
    assert "@import" not in doc and "@font-face" not in doc and "url(" not in doc
    for name in ("src", "href"):
        for value in _attr_values(doc, name):
            assert not value.lower().startswith(("http:", "https:", "//", "file:")), value
    assert 'http-equiv="Content-Security-Policy"' in doc
    srcs = _attr_values(doc, "src")
    assert len(srcs) == 2 and all(s.startswith("data:image/png;base64,") for s in srcs)
    for src in srcs:
        _png_from_uri(src)
    ids = set(_attr_values(doc, "id"))
    assert len(_attr_values(doc, "id")) == len(ids)  # unique
    assert {"fig-tradeoff", "fig-ratios", "figures", "manifest", "headline"} <= ids
    links = [h[1:] for h in _attr_values(doc, "href")]
    assert {"fig-tradeoff", "fig-ratios", "headline", "definitions", "sub-section"} <= set(links)
    assert all(link in ids for link in links)
    # The header: title and the one command (escaped); the title heading is not repeated.
    assert '<pre id="reproduce"><code>linkrisk run &lt;x&gt; --seed 7</code></pre>' in doc
    assert doc.count("linkrisk report: demo</h1>") == 1
    assert hashlib.sha256(MD.encode()).hexdigest() in doc
    # Figures: caption and alt text, escaped.
    assert 'alt="Error trade-off: FNMR vs FMR &lt;by method&gt; &amp; NGUYỄN"' in doc
    assert "<strong>Figure 2.</strong> Wrong-person rate ratio by group" in doc
    # The manifest as tables.
    assert "<td>seed</td><td>7</td>" in doc and f'<span class="hash">{"cd" * 32}</span>' in doc
    assert C.self_contained_problems(doc) == []


def test_render_html_is_deterministic_and_accepts_data_uris() -> None:
    def render(figures: list[H.FigureSpec]) -> str:
        return H.render_html(MD, figures, title="t", reproduce="linkrisk run demo --seed 7")

    first, second = render(_figures()), render(_figures())
    assert first == second
    uris = [(fid, cap, H.figure_to_data_uri(fig)) for fid, cap, fig in _figures()]
    assert render(uris) == first


@pytest.mark.parametrize(
    ("figures", "message"),
    [
        ([("1x", "c", "data:image/png;base64,")], "figure id"),
        ([("figures", "c", "x")], "reserved"),
        ([("a", "c", "https://example.org/x.png")], "not a PNG data URI"),
        ([("a", "c", "data:image/png;base64,iVBORw0KGgo=")], "not a PNG"),
    ],
)
def test_render_html_rejects_bad_figures(figures: list, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        H.render_html("", figures, title="t", reproduce="r")


def test_render_html_rejects_duplicate_figure_ids() -> None:
    uri = H.figure_to_data_uri(_figure())
    with pytest.raises(ValueError, match="used twice"):
        H.render_html("", [("a", "c", uri), ("a", "d", uri)], title="t", reproduce="r")


def test_heading_ids_step_around_figure_ids() -> None:
    uri = H.figure_to_data_uri(_figure())
    doc = H.render_html("## Headline\n", [("headline", "c", uri)], title="t", reproduce="r")
    assert '<h2 id="headline-1">' in doc and '<figure id="headline">' in doc
    assert C.self_contained_problems(doc) == []


@pytest.mark.parametrize(
    ("snippet", "problem"),
    [
        ("<script>1</script>", "<script>"),
        ('<img src="https://example.org/a.png" alt="a">', "not a PNG data URI"),
        ('<img src="plot.png" alt="a">', "not a PNG data URI"),
        ('<link rel="stylesheet" href="x.css">', "<link>"),
        ("<style>@import 'x.css';</style>", "<style> loads"),
        ('<p style="background: url(x.png)">x</p>', "loads a resource"),
        ('<p onclick="x()">x</p>', "event handler"),
        ('<a href="#nowhere">x</a>', "#nowhere"),
        ('<a href="https://example.org">x</a>', "external reference"),
        ('<iframe src="data:text/html,x"></iframe>', "<iframe>"),
    ],
)
def test_self_contained_problems_catches(snippet: str, problem: str) -> None:
    doc = H.render_html("## A\n", title="t", reproduce="r").replace("</main>", snippet + "</main>")
    problems = C.self_contained_problems(doc)
    assert any(problem in p for p in problems), problems


def test_self_contained_problems_catches_a_truncated_png() -> None:
    uri = H.figure_to_data_uri(_figure())
    doc = H.render_html("", [("f", "c", uri)], title="t", reproduce="r")
    data = base64.b64decode(uri.split(",", 1)[1])
    broken = "data:image/png;base64," + base64.b64encode(data[:300]).decode()
    problems = C.self_contained_problems(doc.replace(uri, broken))
    assert any("figure 'f'" in p and "does not decode" in p for p in problems), problems


# --------------------------------------------------------------------------------------------
# A run's report.html
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_run_shared: Path) -> Path:
    return copy_run(tiny_run_shared, tmp_path_factory.mktemp("html") / "t")


@pytest.fixture(scope="module")
def tiny_html(tiny_run: Path) -> Path:
    return H.write_html_report(tiny_run, _figures())


def test_write_html_report(tiny_run: Path, tiny_html: Path) -> None:
    from bench.runs.rundir import reproduce_command

    assert tiny_html == tiny_run / "report.html"
    assert not list(tiny_run.glob(".report.html.*"))  # no temporary file left behind
    doc = tiny_html.read_text(encoding="utf-8")
    info = json.loads((tiny_run / "raw" / "run.json").read_text(encoding="utf-8"))
    manifest = json.loads((tiny_run / "manifest.json").read_text(encoding="utf-8"))
    command = reproduce_command(info)
    assert f'<pre id="reproduce"><code>{command.replace("<", "&lt;").replace(">", "&gt;")}' in doc
    assert "<title>linkrisk report: tiny</title>" in doc
    for name, sha in manifest["files"].items():
        assert f'<td>{name}</td><td><span class="hash">{sha}</span></td>' in doc
    assert manifest["config_sha256"] in doc
    assert manifest["files"]["report.md"] in doc  # the Markdown it was converted from
    assert '<h2 id="headline">Headline</h2>' in doc and '<a href="#headline">' in doc
    assert C.self_contained_problems(doc) == []
    # Every image it names exists: in the file, as a PNG that decodes.
    for src in _attr_values(doc, "src"):
        _png_from_uri(src)
    assert {"fig-tradeoff", "fig-ratios"} <= set(_attr_values(doc, "id"))
    # Same inputs, same bytes.
    again = H.write_html_report(tiny_run, _figures())
    assert again.read_bytes() == tiny_html.read_bytes()


def test_write_html_report_refuses_a_report_md_the_manifest_does_not_vouch_for(
    tiny_run: Path, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    (copy / "report.md").write_text("# edited\n", encoding="utf-8")
    with pytest.raises(H.HtmlReportError, match="does not match"):
        H.write_html_report(copy)
    assert (
        not (copy / "report.html").exists()
        or (copy / "report.html").read_bytes() == (tiny_run / "report.html").read_bytes()
    )
    (copy / "manifest.json").unlink()
    with pytest.raises(H.HtmlReportError, match=r"manifest\.json not found"):
        H.write_html_report(copy)


def test_main_writes_and_checks_statically(
    tiny_run: Path, tiny_html: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    import shutil

    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    (copy / "report.html").unlink()  # the fixture's, with figures
    assert C.main([str(copy)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {copy / 'report.html'}" in out and "ok:" in out
    broken = tmp_path / "broken.html"
    broken.write_text(
        tiny_html.read_text(encoding="utf-8").replace("</main>", "<script></script></main>"),
        encoding="utf-8",
    )
    assert C.main([str(broken)]) == 2
    assert "<script> element" in capsys.readouterr().out
    assert C.main([str(tmp_path / "missing")]) == 2
    assert "error:" in capsys.readouterr().err
    # A report.html with figures is not silently replaced by one without.
    shutil.copy(tiny_html, copy / "report.html")
    assert C.main([str(copy)]) == 2
    assert "has figures" in capsys.readouterr().err
    assert (copy / "report.html").read_bytes() == tiny_html.read_bytes()
    assert C.main([str(copy)], figures=lambda run_dir: _figures()) == 0
    assert (copy / "report.html").read_bytes() == tiny_html.read_bytes()
    assert C.main([str(copy), "--force"]) == 0
    assert "<figure" not in (copy / "report.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


def test_log_problems_ignores_container_noise_only() -> None:
    stderr = "\n".join(
        [
            "/usr/bin/chromium: 9: [: 25274793984: unexpected operator",
            "[1:2:1121/070854.521691:ERROR:dbus/bus.cc:405] Failed to connect to the bus",
            "[1:2:1121/070854.593899:WARNING:media/gpu/vaapi/vaapi_wrapper.cc:1655] drm",
            "[1:2:1121/070854.691315:WARNING:device/bluetooth/dbus/bluez_dbus_manager.cc:209] x",
            '[1:2:1121/070906.650858:INFO:CONSOLE:3] "Uncaught ReferenceError: f", source: x (3)',
            "[1:2:1121/070906.650858:ERROR:content/renderer/render_frame.cc:1] page broke",
        ]
    )
    assert C.log_problems(stderr) == [
        'console: "Uncaught ReferenceError: f", source: x (3)',
        "browser ERROR: content/renderer/render_frame.cc:1: page broke",
    ]


def test_missing_browser_is_reported(monkeypatch: pytest.MonkeyPatch, tiny_html: Path) -> None:
    monkeypatch.setenv(C.BROWSER_ENV, "/nonexistent/chromium")
    assert C.find_browser() is None
    result = C.check_in_browser(tiny_html)
    assert not result.ok and "not found" in result.problems[0]


def test_window_fits_every_figure() -> None:
    width, height = C._window([(880, 660)] * 30)
    assert width <= 16384 and height <= 8000
    assert C._window([]) == (1280, 600)


@pytest.fixture(scope="module")
def browser() -> str:
    found = C.find_browser()
    if found is None:
        named = os.environ.get(C.BROWSER_ENV)
        pytest.skip(
            f"${C.BROWSER_ENV}={named!r} is not an executable"
            if named
            else f"no headless Chromium found (tried {', '.join(C.BROWSERS)}, ${C.BROWSER_ENV}); "
            "install one (e.g. apt-get install chromium) to run the browser check"
        )
    return found


def test_report_opens_in_headless_chromium_and_shows_its_plots(
    browser: str, tiny_html: Path
) -> None:
    result = C.check_in_browser(tiny_html, browser)
    assert result.problems == []
    assert result.ok and result.browser == browser and result.version
    assert result.figures == ["fig-tradeoff", "fig-ratios"]


def test_browser_check_fails_on_hidden_plots_and_refused_loads(
    browser: str, tiny_html: Path, tmp_path: Path
) -> None:
    doc = tiny_html.read_text(encoding="utf-8")
    # Hide one plot (statically fine: no url(), no script) and add a load the CSP refuses.
    doc = doc.replace('<figure id="fig-ratios">\n<img ', '<figure id="fig-ratios">\n<img '
                      'style="visibility: hidden" ', 1)  # fmt: skip
    doc = doc.replace("</main>", '<img src="https://example.org/x.png" alt="x"></main>')
    path = tmp_path / "bad.html"
    path.write_text(doc, encoding="utf-8")
    result = C.check_in_browser(path, browser)
    assert not result.ok
    assert result.figures == ["fig-tradeoff"]
    assert any("fig-ratios" in p and "not shown" in p for p in result.problems)
    assert any("console:" in p and "Content Security Policy" in p for p in result.problems)
