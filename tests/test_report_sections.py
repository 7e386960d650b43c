"""The contract every report section keeps (bench/report/sections/), checked on two small runs:
a synthetic scenario and a pair of user files with examples, so that every section applies to
one of them. A section added at run time reaches report.md and report.html by registering."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from bench.evaluate import evaluate, load_config
from bench.inputs.userfiles import read_map
from bench.linkage.config import parse_benchmark
from bench.report import sections as sections_pkg
from bench.report.context import ReportContext
from bench.report.document import figures, markdown, write_outputs, write_tables
from bench.report.sections import SECTIONS, ReportFigure, Section, register, sections
from bench.runner import run
from bench.runs.rundir import RunDir
from tests.conftest import TINY, read_toml_text
from tests.test_evaluate import write_pair

#: A rule with many false matches, a cascade with named passes (paths), and a scored method
#: (sweeps, figures).
METHODS = """
[[methods]]
name = "name-control-zip"
kind = "rule"
passes = [[{ field = "last_name", compare = "first_n", n = 4 }, { field = "zip" }]]

[[methods]]
name = "cascade"
kind = "rule"
passes = [
  { name = "dob", conditions = [
    { field = "first_name" }, { field = "last_name" }, { field = "dob" },
  ] },
  { name = "address", conditions = [{ field = "name" }, { field = "full_address" }] },
]

[[methods]]
name = "fellegi-sunter"
kind = "fellegi-sunter"
threshold = 0.9
"""

NAMES = sorted(SECTIONS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A synthetic run and a run on user files with examples, each with its report."""
    base = tmp_path_factory.mktemp("sections")
    synthetic = run(
        parse_benchmark(read_toml_text(TINY + METHODS)), out_dir=base / "synthetic", progress=False
    ).out_dir
    files = write_pair(base)
    user = evaluate(files["query"], files["register"], read_map(files["map"]),
                    bench=load_config(str(files["config"])), out_dir=base / "user",
                    include_examples=True, progress=False).out_dir  # fmt: skip
    return {"synthetic": synthetic, "user": user}


@pytest.fixture(scope="module")
def contexts(runs: dict[str, Path]) -> dict[str, ReportContext]:
    return {kind: ReportContext(RunDir(path)) for kind, path in runs.items()}


def test_every_section_applies_to_one_of_the_runs(contexts: dict[str, ReportContext]) -> None:
    assert contexts["synthetic"].capabilities == {
        "synthetic", "population", "paths", "explanations"
    }  # fmt: skip
    assert contexts["user"].capabilities == {"user-files", "examples"}
    for name, section in SECTIONS.items():
        assert any(section.applies(ctx) for ctx in contexts.values()), name


@pytest.mark.parametrize("kind", ["synthetic", "user"])
@pytest.mark.parametrize("name", NAMES)
def test_markdown_starts_with_a_heading_and_is_in_the_report(
    name: str, kind: str, contexts: dict[str, ReportContext], runs: dict[str, Path]
) -> None:
    section, ctx = SECTIONS[name], contexts[kind]
    report = (runs[kind] / "report.md").read_text(encoding="utf-8")
    if not section.applies(ctx):
        return  # never asked for its Markdown
    lines = markdown(section, ctx)
    assert all(isinstance(line, str) for line in lines)
    if lines:
        assert re.match(r"#{1,6} \S", lines[0]), lines[0]
        assert "\n".join(lines) in report


@pytest.mark.parametrize("kind", ["synthetic", "user"])
@pytest.mark.parametrize("name", NAMES)
def test_writes_exactly_the_tables_it_declares(
    name: str, kind: str, contexts: dict[str, ReportContext], runs: dict[str, Path], tmp_path: Path
) -> None:
    section, ctx = SECTIONS[name], contexts[kind]
    applies = section.applies(ctx)
    for table in section.writes:  # stale copies of every declared table
        (tmp_path / table).write_text("stale\n", encoding="utf-8")
    written = write_tables(section, ctx, tmp_path, applies=applies)
    assert set(written) <= set(section.writes)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(written)  # no stale one left
    for table in written:  # the same bytes as the report wrote
        assert (tmp_path / table).read_bytes() == (runs[kind] / table).read_bytes(), table
    for table in set(section.writes) - set(written):
        assert not (runs[kind] / table).exists(), table
    if applies and kind == "synthetic":  # the run has everything any table needs
        assert sorted(written) == sorted(section.writes)


@pytest.mark.parametrize("kind", ["synthetic", "user"])
def test_figures_are_figures_with_captions_and_unique_ids(
    kind: str, contexts: dict[str, ReportContext], runs: dict[str, Path]
) -> None:
    ctx = contexts[kind]
    specs: list[ReportFigure] = [f for s in sections() if s.applies(ctx) for f in figures(s, ctx)]
    ids = [f.id for f in specs]
    assert len(ids) == len(set(ids)), ids
    html = (runs[kind] / "report.html").read_text(encoding="utf-8")
    for spec in specs:
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", spec.id), spec.id
        assert spec.caption.strip(), spec.id
        fig = spec.draw()
        assert isinstance(fig, Figure), spec.id
        assert f'id="{spec.id}"' in html
    if kind == "synthetic":  # sweep curves, subgroup ratios and a who-matched-whom matrix
        assert {"error-tradeoff", "ratios-group", "matrix-name-control-zip"} <= set(ids)
        assert {"main-figure", "waterfall-fellegi-sunter"} <= set(ids)


#: Ways of reading a file that would bypass RunDir's checks of raw/.
RAW_READS = ("json.load", "read_parquet", "read_table", "read_schema", "read_text", "read_bytes")


@pytest.mark.parametrize("name", NAMES)
def test_sections_read_the_run_only_through_the_context(name: str) -> None:
    section = SECTIONS[name]
    module = type(section).__module__
    path = Path(sections_pkg.__file__).parent / f"{module.rsplit('.', 1)[1]}.py"
    source = path.read_text(encoding="utf-8")
    for call in RAW_READS:
        assert call not in source, f"{path.name} calls {call}"
    calls = {
        node.func.id
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert "open" not in calls, path.name
    assert not any(m.startswith(("pyarrow", "bench.inputs")) for m in _imported(source))


def _imported(source: str) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_a_section_reads_only_what_it_declares(contexts: dict[str, ReportContext]) -> None:
    ctx = contexts["synthetic"]
    view = ctx.view({"info"}, "nosy")
    assert view.info is ctx.info
    with pytest.raises(AttributeError, match="'nosy' reads 'summary' without declaring it"):
        _ = view.summary


def test_registering_refuses_unknown_declarations() -> None:
    for attrs in (
        {"needs": frozenset({"telepathy"})},
        {"reads": frozenset({"secrets"})},
        {"writes": ("out.xlsx",)},
        {"order": SECTIONS["headline"].order},
    ):
        cls = type("Bad", (Section,), {"name": "bad", "order": 999.5, **attrs})
        with pytest.raises(ValueError, match="bad"):
            register(cls)
        assert "bad" not in SECTIONS


def test_a_section_added_at_run_time_reaches_both_reports(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "run"
    shutil.copytree(runs["synthetic"], copy)

    class Loudest(Section):
        """The method with the most false matches, with a table and a figure of its own."""

        name = "loudest"
        order = 65  # after Uncertainty, before Definitions
        reads = frozenset({"summary"})
        writes = ("loudest.csv",)

        def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
            return {"loudest.csv": ctx.summary.nlargest(1, "FP")[["method", "FP"]]}

        def markdown(self, ctx: ReportContext) -> list[str]:
            top = ctx.summary.nlargest(1, "FP").iloc[0]
            return ["## Loudest method", "", f"{top['method']} made {top['FP']} false matches.", ""]

        def figures(self, ctx: ReportContext) -> list[ReportFigure]:
            def draw() -> Figure:
                fig = Figure()
                fig.add_subplot().bar(ctx.summary["method"], ctx.summary["FP"])
                return fig

            return [ReportFigure("loudest", "False matches per method.", draw)]

    register(Loudest)
    try:
        write_outputs(copy)
    finally:
        SECTIONS.pop("loudest")
    report = (copy / "report.md").read_text(encoding="utf-8")
    assert "## Loudest method\n\nname-control-zip made" in report
    assert report.index("## Uncertainty") < report.index("## Loudest") < report.index("## Defin")
    assert (copy / "loudest.csv").read_text(encoding="utf-8").startswith("method,FP\n")
    html = (copy / "report.html").read_text(encoding="utf-8")
    assert "Loudest method" in html and 'id="loudest"' in html
    assert "False matches per method." in html
    assert "loudest.csv" in (copy / "manifest.json").read_text(encoding="utf-8")
    # without it, the report is the one it was
    write_outputs(copy)
    assert (copy / "report.md").read_bytes() == (runs["synthetic"] / "report.md").read_bytes()
    assert "loudest" not in SECTIONS


# --- the first screen (issue 15) ------------------------------------------------------------


def test_the_summary_and_the_main_figure_come_before_every_other_section(
    runs: dict[str, Path],
) -> None:
    for kind in ("synthetic", "user"):
        html = (runs[kind] / "report.html").read_text(encoding="utf-8")
        article = html[html.index('<article id="report">') :]
        short = article.index('<h2 id="in-short">')
        figure = article.index('<figure id="main-figure" class="beside">')
        sentence = article.index("<li><strong>", short)
        others = [m.start() for m in re.finditer(r"<h2 id=", article)]
        assert short == others[0], kind  # the first section of the page
        assert short < figure < sentence < others[1], kind
        # the contents are folded, and the header holds nothing but the title
        header = html[html.index('<header id="top">') : html.index("</header>")]
        assert "<pre" not in header and "<details><summary>Contents" in html


def test_the_summary_sentences_are_the_pooled_metrics(runs: dict[str, Path]) -> None:
    from bench.report.sections.summary import count_text

    summary = pd.read_csv(runs["synthetic"] / "summary.csv")
    report = (runs["synthetic"] / "report.md").read_text(encoding="utf-8")
    for rec in summary.to_dict("records"):
        line = next(x for x in report.splitlines() if x.startswith(f"- **{rec['method']}**"))
        if rec["wrong_people"]:
            assert f"links {count_text(rec['wrong_people_per_1M'])} of every 1,000,000" in line
            assert f"(at most {count_text(rec['wrong_people_per_1M_upper'])}, 95%)" in line
        else:  # no event: no point estimate, the bound only
            assert "links none of the" in line
            assert f"at most {count_text(rec['wrong_people_per_1M_upper'])} of every" in line
        assert f"misses {count_text(1000 * rec['FNMR'])} of every 1,000" in line
        assert f"(at most {count_text(1000 * rec['FNMR_upper'])})." in line
        # the pooled true links are the table's right + missed links
        assert rec["TP"] + rec["FN"] == rec["true_links"]
    # the headline's true links are the tables' (pooled over the replicates when several)
    true_links, k = int(summary["true_links"].iloc[0]), int(summary["replicates"].iloc[0])
    said = (
        f"({true_links:,} true links over the {k} replicates)"
        if k > 1
        else (f"{true_links:,} queries are truly in the register")
    )
    assert said in report
    assert "[assumptions ledger](#assumptions-ledger-parameters-in-force)" in report


def test_tables_are_wrapped_and_fit_and_headline_reads_at_100_columns(
    runs: dict[str, Path],
) -> None:
    from bench.report.sections.headline import headline_table

    html = (runs["synthetic"] / "report.html").read_text(encoding="utf-8")
    assert html.count("<table") == html.count('<div class="table-wrap"><table')
    assert "overflow-wrap: anywhere" in html  # cells wrap rather than widen the table
    summary = pd.read_csv(runs["synthetic"] / "summary.csv").assign(status="run")
    assert max(len(line) for line in headline_table(summary).splitlines()) <= 100


def test_human_labels(runs: dict[str, Path]) -> None:
    report = (runs["synthetic"] / "report.md").read_text(encoding="utf-8")
    methods = report[report.index("## Methods") : report.index("## Blocking")]
    assert "{" not in methods and "[{" not in methods  # no Python reprs
    assert "Asian or Pacific Islander" in report and "Two or more races" in report
    for heading in re.findall(r"^#+ (.*)$", report, re.MULTILINE):
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", heading), heading  # no snake_case
    assert "| api " not in report and "| 2prace " not in report


def test_honest_figures(contexts: dict[str, ReportContext], runs: dict[str, Path]) -> None:
    ctx = contexts["synthetic"]
    ids = [f.id for s in sections() if s.applies(ctx) for f in figures(s, ctx)]
    # threshold curves only for methods with a threshold (a rule's pass numbers are no scale)
    assert "rates-fellegi-sunter" in ids and "rates-cascade" not in ids
    report = (runs["synthetic"] / "report.md").read_text(encoding="utf-8")
    points = report[report.index("## Operating points") :]
    assert re.search(r"\| fellegi-sunter +\| own threshold +\| +weight -?\d+\.\d\d \(p = ", points)
    groups = pd.read_csv(runs["synthetic"] / "subgroups.csv")
    assert {"wrong_person_rate_ratio_p", "wrong_person_rate_ratio_significant"} <= set(groups)
    assert "Benjamini-Hochberg" in report


def test_ratio_significance_tests_only_ratios_with_events() -> None:
    from bench.measurement.subgroups import ratio_significance

    frame = pd.DataFrame(
        {
            "dimension": ["group"] * 4,
            "label": ["a", "b", "c", "ref"],
            "reference": ["ref"] * 4,
            "wrong_person_rate_ratio": [4.0, 1.05, 3.0, 1.0],
            "wrong_person_rate_ratio_lo": [2.0, 0.8, 0.5, 1.0],
            "wrong_person_rate_ratio_hi": [8.0, 1.4, 18.0, 1.0],
            "wrong_person_rate_ratio_corrected": [False, False, True, False],
        }
    )
    out = ratio_significance(frame)
    assert out["wrong_person_rate_ratio_significant"].tolist() == [True, False, False, False]
    p = out["wrong_person_rate_ratio_p"]
    assert p[0] < 0.001 < p[1] and p[2:].isna().all()


def test_a_ratio_without_events_is_drawn_as_an_interval_only() -> None:
    from bench.report.figures import plot_ratios

    frame = pd.DataFrame(
        {
            "method": ["m"] * 3,
            "dimension": ["group"] * 3,
            "label": ["aian", "api", "white"],
            "reference": ["white"] * 3,
            "wrong_people": [0, 5, 20],
            "queries": [58, 100, 1000],
            "wrong_person_rate_ratio": [8.06, 2.5, 1.0],
            "wrong_person_rate_ratio_lo": [0.5, 1.1, 1.0],
            "wrong_person_rate_ratio_hi": [120.0, 6.0, 1.0],
            "wrong_person_rate_ratio_corrected": [True, False, False],
        }
    )
    fig = plot_ratios(frame, "wrong_person_rate", "group")
    ax = fig.axes[0]
    xs = [x for ln in ax.get_lines() if ln.get_marker() == "o" for x in np.ravel(ln.get_xdata())]
    assert 2.5 in xs and 8.06 not in xs  # no point where there are no events
    assert any(t.get_text() == "0 events" for t in ax.texts)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0].startswith("American Indian or Alaska Native")


@pytest.fixture(scope="module")
def browser() -> str:
    from bench.report.checks import find_browser

    found = find_browser()
    if found is None:
        pytest.skip("no headless Chromium found (install one, e.g. apt-get install chromium)")
    return found


def test_first_screen_in_chromium_at_1400x900(browser: str, runs: dict[str, Path]) -> None:
    from bench.report.checks import first_screen

    for kind in ("synthetic", "user"):
        result = first_screen(runs[kind] / "report.html", browser, window=(1400, 900))
        assert result.problems == [], kind
        assert result.sentence_text and "of every 1,000,000" in result.sentence_text
        assert result.tables > 0 and not result.clipped


def test_explained_links_add_up_to_their_scores(runs: dict[str, Path]) -> None:
    """The waterfall's terms (prior + each field's match weight) are the pair's score: its
    probability is 1 / (1 + 2^-sum), and each pair is a false match of the method."""
    run = RunDir(runs["synthetic"])
    frame = run.explanations()
    assert frame is not None and set(frame["method"]) == {"fellegi-sunter"}
    truth = {tuple(p) for p in run.truth()[["query_row", "register_row"]].to_numpy()}
    for _, terms in frame.groupby("example"):
        assert terms["term"].iloc[0] == "prior" and len(terms) == 8  # prior + 7 fields
        total = terms["weight"].sum()
        assert 1 / (1 + 2.0 ** (-total)) == pytest.approx(terms["score"].iloc[0], rel=1e-5)
        pair = (int(terms["query_row"].iloc[0]), int(terms["register_row"].iloc[0]))
        assert pair not in truth
    report = (runs["synthetic"] / "report.md").read_text(encoding="utf-8")
    assert "## Why different people were linked" in report and "| date of birth " in report
