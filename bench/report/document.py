"""Reports: metrics files, the Markdown report and the manifest, all derived from raw outputs."""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from tabulate import tabulate

from bench.measurement.causes import DEFINITIONS as CAUSE_DEFINITIONS
from bench.measurement.causes import FALSE_MATCH_CAUSES, NO_NOISE, PEOPLE_NEEDED, cause_descriptions
from bench.measurement.derive import (
    attribute_run,
    compute_causes,
    compute_metrics,
    compute_paths,
    compute_replicates,
    compute_summary,
)
from bench.measurement.metrics import DEFINITIONS
from bench.measurement.subgroups import (
    DIMENSIONS,
    subgroup_causes_run,
    subgroups_run,
)
from bench.measurement.sweeps import (
    operating_points,
    sweep_run,
)
from bench.measurement.uncertainty import DEFINITIONS as UNCERTAINTY_DEFINITIONS
from bench.measurement.uncertainty import RATES, wilson
from bench.report.figures import (
    plot_error_tradeoff,
    plot_match_matrix,
    plot_precision_recall,
    plot_rates_by_threshold,
    plot_ratios,
)
from bench.report.html import write_html_report
from bench.report.inputs import (
    examples_markdown,
    rendered,
    user_headline,
    user_inputs,
    user_limitations,
)
from bench.runs.rundir import EXAMPLES_FILE, RunDir, is_user_run, reproduce_command
from bench.runs.writers import write_csv, write_json
from synthetic.config import toml_comments
from synthetic.noise import NOISE
from synthetic.population import SOURCES as POPULATION_SOURCES
from synthetic.precision import SIGNIFICANT_DIGITS, round_frame
from synthetic.summary import summary_markdown

PACKAGES = (
    "linkrisk",
    "numpy",
    "pandas",
    "pyarrow",
    "rapidfuzz",
    "jellyfish",
    "recordlinkage",
    "scikit-learn",
    "faker",
    "nicknames",
    "tabulate",
    "scipy",
    "matplotlib",
)

#: Sources of the defaults of the register and query-list keys (the others have no default).
SAMPLING_SOURCES = {"min_age": "assumption: adults (18+)", "group_mix": "the population's mix"}
#: Rows kept per method in sweeps.csv (evenly spaced in rank; the method's own threshold kept).
SWEEP_POINTS = 400
#: Declared rates at which operating points are reported: (rate, targets).
OPERATING_TARGETS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("FPIR", (1e-2, 1e-3)),
    ("FMR", (1e-6,)),
)

#: Declared links per path of the methods with named paths
#: (:func:`bench.measurement.derive.compute_paths`).
PATHS_FILE = "paths.csv"
#: Derived cause tables (false matches, missed matches, by subgroup), rebuilt from raw/.
CAUSE_FILES = ("causes.csv", "missed_causes.csv", "subgroup_causes.csv")

#: ``status`` of a method in the metrics files: it ran, or ``not run: <reason>``.
RUN, NOT_RUN = "run", "not run"

#: Headline columns: (summary column, header, formatter). Rates and per-1M counts show their
#: upper 95% bound (``<column>_upper``) beside them.
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("method", "method", "s"),
    ("resolve", "resolve", "s"),
    ("verified_rate", "verified", "pct"),
    ("declared", "declared", "int"),
    ("TP", "TP", "int"),
    ("FP", "FP", "int"),
    ("FN", "FN", "int"),
    ("FDR", "FDR (≤ 95% upper)", "pct_upper"),
    ("wrong_person_rate", "wrong-person (≤ upper)", "pct_upper"),
    ("unverified_address_share", "unverified address (≤ upper)", "pct_upper"),
    ("FNMR", "FNMR (≤ upper)", "pct_upper"),
    ("blocking_loss", "blocking loss", "int"),
    ("FP_per_1M", "FP per 1M q (≤ upper)", "int_upper"),
    ("FN_per_1M", "FN per 1M q (≤ upper)", "int_upper"),
)


def _fmt(value: Any, kind: str) -> str:
    if kind == "s":
        return str(value)
    if value is None or pd.isna(value):
        return "n/a"
    if kind.startswith("pct"):
        return f"{100 * value:.2f}%"
    return f"{round(value):,}"


def headline_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """The headline table: one row per method, from
    :func:`bench.measurement.derive.compute_summary`."""
    rows = []
    for rec in summary.to_dict("records"):
        if _not_run(rec):  # its reason in place of the figures it does not have
            rows.append([rec["method"], rec["resolve"], rec["status"]] + [""] * (len(HEADLINE) - 3))
            continue
        row = []
        for col, _, kind in HEADLINE:
            cell = _fmt(rec[col], kind)
            if kind.endswith("_upper") and not pd.isna(rec[col]):
                cell += f" (≤ {_fmt(rec[f'{col}_upper'], kind)})"
            row.append(cell)
        rows.append(row)
    align = ["left" if kind == "s" else "right" for _, _, kind in HEADLINE]
    return tabulate(rows, headers=[h for _, h, _ in HEADLINE], tablefmt=fmt, colalign=align)


def uncertainty_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """Each rate of each method: pooled point, Wilson 95% interval, and its spread across
    replicates (mean, sd, min-max, 95% t-interval of the mean) and the upper bound."""
    rows = []
    for rec in summary.to_dict("records"):
        if _not_run(rec):
            continue
        for rate in RATES:

            def p(x: Any) -> str:
                return _fmt(x, "pct")

            spread = (
                f"{p(rec[f'{rate}_mean'])} ± {p(rec[f'{rate}_sd'])} "
                f"[{p(rec[f'{rate}_min'])}, {p(rec[f'{rate}_max'])}]"
                if rec["replicates"] > 1
                else "n/a (1 replicate)"
            )
            t_int = (
                f"{p(rec[f'{rate}_t_lo'])} - {p(rec[f'{rate}_t_hi'])}"
                if rec["replicates"] > 1
                else "n/a"
            )
            rows.append(
                [
                    rec["method"],
                    rate,
                    p(rec[rate]),
                    f"{p(rec[f'{rate}_lo'])} - {p(rec[f'{rate}_hi'])}",
                    spread,
                    t_int,
                    p(rec[f"{rate}_upper"]),
                ]
            )
    headers = [
        "method", "rate", "pooled", "Wilson 95%", "replicates: mean ± sd [min, max]",
        "95% t-interval of mean", "upper 95% bound",
    ]  # fmt: skip
    return tabulate(rows, headers=headers, tablefmt=fmt, colalign=["left", "left"] + ["right"] * 5)


def _not_run(rec: dict[str, Any]) -> bool:
    """Whether a metrics row is that of a method that did not run (tables before the status
    column have none: every method in them ran)."""
    status = rec.get("status")
    return isinstance(status, str) and status.startswith(NOT_RUN)


def with_status(
    frame: pd.DataFrame, not_run: dict[str, str], metas: dict[str, dict[str, Any]]
) -> pd.DataFrame:
    """``frame`` (metrics of the methods that ran) with a ``status`` column after ``resolve``:
    ``run``, and one row per method that did not run, ``not run: <reason>``, its figures empty
    (counts stay integers: nullable)."""
    out = frame.copy()
    out.insert(out.columns.get_loc("resolve") + 1, "status", RUN)
    if not not_run:
        return out
    ints = [c for c in out.columns if pd.api.types.is_integer_dtype(out[c])]
    n = len(out)
    out = out.reindex(range(n + len(not_run))).astype({c: "Int64" for c in ints})  # rows empty
    for i, (name, reason) in enumerate(not_run.items()):
        meta = metas[name]
        text = f"{NOT_RUN}: {reason}"
        out.loc[n + i, ["method", "kind", "resolve", "status"]] = [
            name, meta["kind"], meta["resolve"], text
        ]  # fmt: skip
    return out


def _json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for a JSON file: missing values (NaN, or NA of nullable columns) as null."""
    records = frame.to_dict("records")
    return [{k: None if v is pd.NA else v for k, v in rec.items()} for rec in records]


#: Replicates a divergence check needs at least (with two, neither can be called the odd one).
DIVERGENCE_MIN_REPLICATES = 3
#: A replicate diverges when its declared links differ from the median over the method's
#: replicates by more than this share of the median (and by more than DIVERGENCE_SD Poisson
#: standard deviations, so that small counts are not flagged for chance variation).
DIVERGENCE_SHARE = 0.25
DIVERGENCE_SD = 4.0
DIVERGENCE_DEFINITION = (
    "a replicate is flagged as diverging when the method declared a number of links d far from "
    "the median m over its replicates: |d - m| > max(25% of m, 4 sqrt(m)) (at least "
    f"{DIVERGENCE_MIN_REPLICATES} replicates). The replicates are independent draws of the "
    "same scenario, so their counts differ by chance by a few sqrt(m); a larger difference "
    "means the method behaved differently, e.g. a model trained to another solution."
)


def divergent_replicates(per: pd.DataFrame) -> list[str]:
    """One warning line per replicate whose declared links diverge from the method's others
    (:data:`DIVERGENCE_DEFINITION`), naming the method, the replicate and the counts."""
    lines = []
    ran = per if "status" not in per.columns else per[per["status"] == RUN]
    for method, rows in ran.groupby("method", sort=False):
        if len(rows) < DIVERGENCE_MIN_REPLICATES:
            continue
        declared = rows["declared"].to_numpy(dtype=float)
        median = float(np.median(declared))
        limit = max(DIVERGENCE_SHARE * median, DIVERGENCE_SD * np.sqrt(median))
        for rec in rows.to_dict("records"):
            if abs(rec["declared"] - median) > limit:
                lines.append(
                    f"Warning: {method} diverged in replicate {rec['replicate']} (seed "
                    f"{rec['seed']}): {int(rec['declared']):,} declared links against a median "
                    f"of {median:,.0f} over its {len(rows)} replicates (FNMR "
                    f"{_fmt(rec['FNMR'], 'pct')}); its pooled figures include this replicate."
                )
    return lines


def _replicates_text(info: dict[str, Any]) -> str:
    k = info.get("replicates", 1)
    if k == 1:
        return " One replicate: intervals reflect the counts only (rerun with --replicates)."
    return (
        f" Pooled over {k} replicates (independently seeded populations of the same scenario): "
        "the counts below are sums over the replicates."
    )


def write_outputs(run_dir: Path) -> pd.DataFrame:
    """(Re)compute metrics and cause tables from ``run_dir/raw``; write metrics.csv/.json,
    causes.csv, missed_causes.csv, report.md and manifest.json. ``raw/`` is read through
    :class:`bench.runs.rundir.RunDir` (checked: a malformed file is refused with one line)."""
    run = RunDir(run_dir)
    info = run.info
    not_run: dict[str, str] = info.get("not_run", {})
    metas = {name: run.method(name) for name in (*info["methods"], *not_run)}
    per = compute_replicates(run_dir)  # replicate 1 is the run's own metrics
    # Every frame at the published precision (synthetic.precision) before any use, so that the
    # Markdown and HTML report and the figures show the numbers the CSV and JSON files hold.
    metrics = with_status(round_frame(compute_metrics(run_dir, per)), not_run, metas)
    write_csv(metrics, run_dir / "metrics.csv")
    write_json(_json_records(metrics), run_dir / "metrics.json")
    per = with_status(per, not_run, metas)
    write_csv(per, run_dir / "replicates.csv")
    summary = with_status(
        round_frame(compute_summary(run_dir, per[per["status"] == RUN])), not_run, metas
    )
    write_csv(summary, run_dir / "summary.csv")
    sweeps = round_frame(sweep_run(run_dir, max_points=SWEEP_POINTS))
    write_csv(sweeps, run_dir / "sweeps.csv")
    full = sweep_run(run_dir, max_points=None)  # exact thresholds, swept once for all targets
    points = pd.concat(
        [operating_points(full, targets=t, rate=r).assign(rate=r) for r, t in OPERATING_TARGETS],
        ignore_index=True,
    )
    points = round_frame(points)
    write_csv(points, run_dir / "operating_points.csv")
    paths = compute_paths(run_dir)
    paths = None if paths is None else round_frame(paths)
    if paths is None:
        (run_dir / PATHS_FILE).unlink(missing_ok=True)  # never leave a table raw/ cannot back
    else:
        write_csv(paths, run_dir / PATHS_FILE)
    groups, matrix = (round_frame(t) for t in subgroups_run(run_dir))
    write_csv(groups, run_dir / "subgroups.csv")
    write_csv(matrix, run_dir / "match_matrix.csv")
    # once: cause tables and causes by subgroup (runs on user files have no people to attribute)
    attributions = attribute_run(run_dir) if _attributable(run_dir) else None
    causes = None if attributions is None else compute_causes(run_dir, attributions)
    causes = None if causes is None else (round_frame(causes[0]), round_frame(causes[1]))
    by_cause = (
        None
        if attributions is None
        else round_frame(subgroup_causes_run(run_dir, attributions=attributions))
    )
    for table, name in zip((*(causes or (None, None)), by_cause), CAUSE_FILES, strict=True):
        if table is None:
            (run_dir / name).unlink(missing_ok=True)  # never leave tables raw/ cannot back
        else:
            write_csv(table, run_dir / name)
    config, population = run.config, run.population
    if is_user_run(info):  # an edited `inputs` fails here, in one line, before anything is written
        rendered(user_inputs, run.raw / "run.json", "inputs", info, config)
    methods = list(metas.values())
    (run_dir / "report.md").write_text(
        render_markdown(
            summary,
            info,
            config,
            methods,
            causes,
            population,
            (groups, matrix),
            (sweeps, points),
            None if run.scenario_text is None else toml_comments(run.scenario_text),
            examples=_examples(run),
            warnings=divergent_replicates(per),
            paths=paths,
        ),
        encoding="utf-8",
    )
    write_manifest(run_dir, info, config)
    write_html_report(run_dir, report_figures(sweeps, groups, matrix))
    return summary


def _examples(run: RunDir) -> list[str]:
    """The *Examples* section of a run on user files with ``--include-examples``, else []."""
    frame = run.examples()
    if frame is None:
        return []
    return rendered(
        examples_markdown, run.raw / EXAMPLES_FILE, "", frame, list(run.info["methods"])
    )


def _attributable(run_dir: Path) -> bool:
    """Whether the run's query people carry the attributes error attribution reads (runs on
    user files hold register membership only)."""
    path = run_dir / "raw" / "query_people.parquet"
    return not path.exists() or set(PEOPLE_NEEDED) <= set(pq.read_schema(path).names)


def report_figures(
    sweeps: pd.DataFrame, groups: pd.DataFrame, matrix: pd.DataFrame
) -> list[tuple[str, str, Any]]:
    """The figures of ``report.html``: (id, caption, matplotlib Figure), in order."""
    figs: list[tuple[str, str, Any]] = []
    # Log axes need a point with both rates above zero (e.g. none when the scored methods did
    # not run and the rules made no false match).
    if not sweeps.empty and ((sweeps["FMR"] > 0) & (sweeps["FNMR"] > 0)).any():
        figs += [
            (
                "error-tradeoff",
                "False match rate (per comparison) against false non-match rate over every "
                "threshold of each scored method (DET-style, log scales); dots: the method's own "
                "threshold.",
                plot_error_tradeoff(sweeps, reference_fmr=1e-6),
            ),
            (
                "precision-recall",
                "Precision (1 - FDR) against recall (1 - FNMR) over every threshold.",
                plot_precision_recall(sweeps),
            ),
        ]
        for method in dict.fromkeys(sweeps["method"]):
            figs.append(
                (
                    f"rates-{method}",
                    f"{method}: false discovery rate, wrong-person rate and false non-match rate "
                    "against the threshold.",
                    plot_rates_by_threshold(sweeps, method),
                )
            )
    for dim in ("group", "surname_band", "household", "in_register"):
        if (groups["dimension"] == dim).any():
            figs.append(
                (
                    f"ratios-{dim}",
                    f"Wrong-person rate by {DIMENSIONS[dim].description}, as a ratio to the "
                    "reference label (log scale, 95% Katz intervals).",
                    plot_ratios(groups, "wrong_person_rate", dim),
                )
            )
    # the two methods with the most false matches: where who-matched-whom matters most
    totals = matrix[matrix["dimension"] == "group"].groupby("method", sort=False)["FP"].sum()
    for method in totals[totals > 0].sort_values(ascending=False, kind="stable").index[:2]:
        figs.append(
            (
                f"matrix-{method}",
                f"{method}: false matches by the queried person's name-origin group (rows) and "
                "the group of the person they were linked to (columns); share of the row.",
                plot_match_matrix(matrix, method),
            )
        )
    return figs


def render_markdown(
    summary: pd.DataFrame,
    info: dict[str, Any],
    config: dict[str, Any],
    methods: list[dict],
    causes: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    population: dict[str, Any] | None = None,
    subgroups: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    sweeps: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    comments: dict[str, str] | None = None,
    examples: list[str] | None = None,
    warnings: list[str] | None = None,
    paths: pd.DataFrame | None = None,
) -> str:
    """The Markdown report of one run (``summary``:
    :func:`bench.measurement.derive.compute_summary`;
    ``causes``: the tables of
    :func:`bench.measurement.derive.compute_causes`, None if raw/ lacks what attribution needs;
    ``population``: :func:`synthetic.summary.summarize_population` of the run's population;
    ``examples``: the *Examples* section of a run on user files, if requested;
    ``warnings``: lines shown under the headline table, e.g. :func:`divergent_replicates`;
    ``paths``: :func:`bench.measurement.derive.compute_paths`, None when no method names paths)."""
    not_run = info.get("not_run", {})
    notes = [
        *(f"Not run: {name}: {reason}" for name, reason in not_run.items()),
        *(warnings or []),
    ]
    scen = config["scenario"]
    user = is_user_run(info)
    lines = [
        f"# linkrisk report: {info['scenario']}",
        "",
        scen.get("description", "").strip(),
        "",
        f"Reproduce: `{reproduce_command(info)}` (same versions as in `manifest.json`).",
        "",
        "## Headline",
        "",
        user_headline(info)
        if user
        else f"{info['queries']:,} queries against a register of {info['register_records']:,} "
        f"records; {info['true_links']:,} queries are truly in the register. Synthetic "
        f"population of {info['population']:,} people, seed {info['seed']}."
        + _replicates_text(info),
        "",
        headline_table(summary),
        "",
        *(f"- **{n.split(':', 1)[0]}**:{n.split(':', 1)[1]}" for n in notes),
        *([""] if notes else []),
        "Each rate is followed by its upper 95% bound (see *Uncertainty*): the figure not to "
        "be exceeded, with 95% confidence, given "
        + ("these files." if user else "this scenario's assumptions."),
        "",
        *_path_section(paths),
        *_cause_sections(causes, user),
        *(_subgroup_sections(*subgroups) if subgroups is not None else []),
        *(
            _sweep_sections(*sweeps, info["queries"], info["true_links"])
            if sweeps is not None
            else []
        ),
        "## Uncertainty",
        "",
        uncertainty_table(summary),
        "",
        *(f"- **{k}**: {v}" for k, v in UNCERTAINTY_DEFINITIONS.items()),
        "",
        "## Definitions",
        "",
        *(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()),
        f"- Precision: every non-integer number in this run's CSV, JSON and Parquet files, and "
        f"behind this report's figures and tables, is rounded to {SIGNIFICANT_DIGITS} "
        "significant digits (scores and thresholds, which are float32 values, are kept "
        "exactly), so that the results are byte-identical on any CPU.",
        *([f"- **diverging replicate**: {DIVERGENCE_DEFINITION}"] if notes else []),
        "- Rules are evaluated on *all* record pairs (joins on their exact keys); scored methods "
        "only on blocked candidates, so their misses split into blocking loss and model misses.",
        "- Resolution of multiple hits per query: `all` keeps every accepted pair; `best` the "
        "highest-scoring one (ties: first register record); `unique-only` verifies a query only "
        "if exactly one register record was accepted.",
        "",
        *(
            []
            if user
            else [
                "### False-match causes (in priority order)",
                "",
                *(
                    f"- **{c.name.format(noise='<type>')}**: {c.description}"
                    for c in FALSE_MATCH_CAUSES.values()
                ),
                *(f"- **{k}**: {v}" for k, v in CAUSE_DEFINITIONS.items()),
                "",
            ]
        ),
        "## Scope and limitations",
        "",
        *(user_limitations(info) if user else _scenario_limitations()),
        "",
        "## Methods",
        "",
        tabulate(
            [[m["name"], m["kind"], m["resolve"], _params_text(m["params"])] for m in methods],
            headers=["method", "kind", "resolve", "parameters"],
            tablefmt="github",
        ),
        "",
        "## Blocking (scored methods)",
        "",
        tabulate(
            [
                [i + 1, _keys_text(p), f"{n:,}"]
                for i, (p, n) in enumerate(
                    zip(config["blocking"]["passes"], info["blocking_pass_pairs"], strict=False)
                )
            ],
            headers=["pass", "keys", "pairs"],
            tablefmt="github",
        ),
        "",
        f"Candidate pairs after union: {info['candidates']:,}.",
        "",
        *(
            [
                "## The synthetic population",
                "",
                "The population the register and the list were drawn from, beside the Census "
                f"tables (`linkrisk describe {info['source']} --seed {info['seed']}` prints it).",
                "",
                summary_markdown(population),
                "",
            ]
            if population is not None
            else []
        ),
        *(user_inputs(info, config) if user else _ledger_section(info, comments or {})),
        *(examples or []),
        "See `manifest.json` for package versions, the configuration hash and file hashes.",
        "",
    ]
    return "\n".join(lines)


def _ledger_section(info: dict[str, Any], comments: dict[str, str]) -> list[str]:
    """The assumptions ledger of a run on a synthetic scenario."""
    return [
        "## Assumptions ledger (parameters in force)",
        "",
        "Every value below was used, defaults included, with its source: the scenario file's "
        "comment where the file sets the value, else the source of the default declared in the "
        "code. Fields a noise type applies to: `linkrisk noise`.",
        "",
        *_parameter_tables(info["parameters"], info["noise_cells"], comments),
        "",
    ]


def _scenario_limitations() -> list[str]:
    """The *Scope and limitations* items of a run on a synthetic scenario."""
    return [
        "- Intervals cover the sampling error of the counts and the variation between "
        "synthetic populations of this scenario (with replicates), not the uncertainty of the "
        "scenario's assumptions: vary those in sensitivity runs. Households make errors cluster, "
        "so the Wilson interval alone is optimistic; the replicate spread is not.",
        "- Simulation scale: the register and list are far smaller than real ones. Rules that "
        "collide on common keys (name + date of birth, name + ZIP) collide more often in larger "
        "registers, so their false-match rates here understate those at full scale.",
        "- All rates not cited in the scenario file are labelled assumptions; change them in the "
        "file and rerun to see their effect.",
        "- Supervised models are trained on labelled pairs from the same simulated process (a "
        "different population): an optimistic reference, since agencies rarely have labels.",
        "- Causes of false matches: relations between the two people (twins, Jr/Sr, household, "
        "same name) are facts of the simulation; a `noise:` cause means that noise changed a "
        "field the method compares in one of the two records, not that it alone decided the "
        "link.",
    ]


def _cell(count: int, share: float) -> str:
    return f"{count:,}" if count == 0 or pd.isna(share) else f"{count:,} ({100 * share:.1f}%)"


def cause_matrix(
    table: pd.DataFrame, count: str, keep: set[str], describe: bool = True, fmt: str = "github"
) -> str:
    """A cause table as a matrix: rows = causes in order (those in ``keep``, or with a non-zero
    count for some method), columns = methods, cells = count (share of the method's total), and
    a closing total row; ``describe`` adds each cause's description."""
    methods = list(dict.fromkeys(table["method"]))
    by = table.set_index(["cause", "method"])
    descriptions = cause_descriptions() if describe else {}
    rows = []
    for name in dict.fromkeys(table["cause"]):
        counts = [int(by.loc[(name, m), count]) for m in methods]
        if name not in keep and not any(counts):
            continue  # e.g. a noise type this scenario does not apply
        cells = [_cell(n, by.loc[(name, m), "share"]) for n, m in zip(counts, methods, strict=True)]
        rows.append([name, *([descriptions.get(name, "")] if describe else []), *cells])
    totals = table.groupby("method", sort=False)[count].sum()
    rows.append(
        [f"all ({count})", *([""] if describe else []), *(f"{totals[m]:,}" for m in methods)]
    )
    headers = ["cause", *(["description"] if describe else []), *methods]
    align = ["left"] * (2 if describe else 1) + ["right"] * len(methods)
    return tabulate(rows, headers=headers, tablefmt=fmt, colalign=align)


def _cause_sections(
    causes: tuple[pd.DataFrame, pd.DataFrame] | None, user: bool = False
) -> list[str]:
    """The report sections on false matches and missed matches by cause (``user``: a run on
    user files, whose records have no people attributes to attribute errors to)."""
    if causes is None and user:
        return [
            "## False matches by cause",
            "",
            "Not available for user files: attributing an error needs facts about the people "
            "behind both records (twins, Jr/Sr, households, true names, moves) and a log of the "
            "data-entry errors in each record, which only a simulation knows.",
            "",
        ]
    if causes is None:
        return [
            "## False matches by cause",
            "",
            "Not available: this run's `raw/` predates `register_people.parquet` and "
            "`noise_log.parquet`; rerun it to attribute errors.",
            "",
        ]
    fp, fn = causes
    # Causes about who the people are always show (a zero is informative); noise causes only
    # when some method has one.
    named = {c.name for c in FALSE_MATCH_CAUSES.values() if not c.per_noise}
    return [
        "## False matches by cause",
        "",
        "Each false match counted once, under the first cause that holds (priority = row order; "
        "see the definitions). Cells: false matches (share of the method's false matches). Noise "
        "types that caused none are omitted. Per method and with per-1M-query rates: "
        "`causes.csv`.",
        "",
        cause_matrix(fp, "FP", named),
        "",
        "### Missed matches by noise",
        "",
        "Each missed true link counted once, under the first noise type (registry order) that "
        "changed either of its records; `none`: neither record was changed. Per method: "
        "`missed_causes.csv` (with blocking loss per cause).",
        "",
        cause_matrix(fn, "FN", {NO_NOISE}, describe=False),
        "",
    ]


def _path_section(paths: pd.DataFrame | None) -> list[str]:
    """Declared links per path of the methods with named paths, with the disclosure outcomes."""
    if paths is None or paths.empty:
        return []
    rows = []
    for rec in paths.to_dict("records"):

        def upper(col: str, kind: str, rec: dict[str, Any] = rec) -> str:
            cell = _fmt(rec[col], kind)
            return cell if pd.isna(rec[col]) else f"{cell} (≤ {_fmt(rec[f'{col}_upper'], kind)})"

        rows.append(
            [
                rec["method"],
                rec["path"],
                _fmt(rec["verified"], "int"),
                _fmt(rec["declared"], "int"),
                _fmt(rec["TP"], "int"),
                _fmt(rec["FP"], "int"),
                upper("FDR", "pct_upper"),
                f"{_fmt(rec['wrong_people'], 'int')}; per 1M q: "
                + upper("wrong_people_per_1M", "int_upper"),
                f"{_fmt(rec['unverified_address'], 'int')}; share: "
                + upper("unverified_address_share", "pct_upper"),
            ]
        )
    headers = [
        "method", "path", "queries linked", "declared", "TP", "FP", "FDR (≤ upper)",
        "wrong-person disclosures (queries; per 1M queries ≤ upper)",
        "unverified-address disclosures (queries; share of the queries linked ≤ upper)",
    ]  # fmt: skip
    return [
        "## Declared links per path",
        "",
        "Methods whose passes are named: each declared link counted under the pass (path) that "
        "declared it; a query is linked by one path only (later passes skip linked queries). "
        "Wrong-person and unverified-address disclosures are counted apart (see the "
        "definitions); pooled over the replicates, with upper 95% bounds. All columns: "
        f"`{PATHS_FILE}`.",
        "",
        tabulate(
            rows,
            headers=headers,
            tablefmt="github",
            colalign=["left", "left"] + ["right"] * (len(headers) - 2),
        ),
        "",
    ]


def _subgroup_sections(groups: pd.DataFrame, matrix: pd.DataFrame) -> list[str]:
    """Who bears the errors: each dimension's wrong-person rate (and the FNMR by group) per
    method, with Wilson intervals and the ratio to the dimension's reference label."""
    methods = list(dict.fromkeys(groups["method"]))

    def cell(rec: dict[str, Any], metric: str) -> str:
        if pd.isna(rec[metric]):
            return "n/a"
        ratio = rec.get(f"{metric}_ratio", np.nan)  # rates without a ratio: none shown
        times = "" if pd.isna(ratio) else f" ×{ratio:.2f}"
        return (
            f"{100 * rec[metric]:.1f}% [{100 * rec[f'{metric}_lo']:.1f}-"
            f"{100 * rec[f'{metric}_hi']:.1f}]{times}"
        )

    def table(dimension: str, metric: str) -> str:
        sub = groups[groups["dimension"] == dimension]
        rows = []
        for label in dict.fromkeys(sub["label"]):
            recs = sub[sub["label"] == label].set_index("method")
            first = recs.iloc[0]
            rows.append(
                [label, f"{int(first['queries']):,}"]
                + [cell(recs.loc[m].to_dict(), metric) for m in methods]
            )
        return tabulate(
            rows,
            headers=["label", "queries", *methods],
            tablefmt="github",
            colalign=["left"] + ["right"] * (len(methods) + 1),
        )

    lines = [
        "## Who bears the errors",
        "",
        "Rates of the run's own seed (replicate 1) by the queried person's subgroup, with 95% "
        "Wilson intervals and, after ×, the ratio to the dimension's reference label (Katz log "
        "interval in `subgroups.csv`; 0.5 added to the counts where a group has no event). "
        "All counts, FDR and FNMR for every dimension: `subgroups.csv`; false matches by "
        "primary cause within every subgroup: `subgroup_causes.csv`.",
        "",
    ]
    absent = [d.description for d in DIMENSIONS.values() if d.name not in set(groups["dimension"])]
    if absent:  # runs on user files: only register presence is known of the queried people
        lines += [
            "Not computed, for lack of these attributes of the queried people (the records "
            "carry none): " + "; ".join(absent) + ".",
            "",
        ]
    for dim in dict.fromkeys(groups["dimension"]):
        ref = groups.loc[groups["dimension"] == dim, "reference"].iloc[0]
        lines += [
            f"### Wrong-person rate by {DIMENSIONS[dim].description} (reference: {ref})",
            "",
            table(dim, "wrong_person_rate"),
            "",
        ]
    if "group" not in set(groups["dimension"]):
        return lines
    ref = groups.loc[groups["dimension"] == "group", "reference"].iloc[0]
    lines += [
        f"### False non-match rate by name-origin group (reference: {ref})",
        "",
        table("group", "FNMR"),
        "",
        "### Unverified-address disclosures by name-origin group",
        "",
        "Queries with a declared link whose addresses do not match / queries (see the "
        "definitions), by the queried person's group, with 95% Wilson intervals.",
        "",
        table("group", "unverified_address_rate"),
        "",
        "### Who was matched to whom",
        "",
        "False matches by the name-origin group of the queried person and of the person whose "
        "record they were linked to: the share that stays within the group, and the largest "
        "cross-group flow. Full matrix: `match_matrix.csv`.",
        "",
        _matrix_summary(matrix),
        "",
    ]
    return lines


def _sweep_sections(
    sweeps: pd.DataFrame, points: pd.DataFrame, queries: int, true_links: int
) -> list[str]:
    """Operating points of the scored methods at declared false-positive rates."""
    if sweeps.empty:
        return []
    own = sweeps[sweeps["own_threshold"]]
    rows = []
    for rec in own.to_dict("records"):
        rows.append(
            [
                rec["method"],
                "own threshold",
                f"{rec['threshold']:.6g}",
                *_point(rec, queries, true_links),
            ]
        )
    for rec in points.to_dict("records"):
        target = f"{rec['rate']} ≤ {rec['target']:g}"
        if pd.isna(rec["threshold"]):
            rows.append([rec["method"], target, "not reachable", *(["-"] * 5)])
        else:
            rows.append(
                [
                    rec["method"],
                    target,
                    f"{rec['threshold']:.6g}",
                    *_point(rec, queries, true_links),
                ]
            )
    rows.sort(key=lambda r: list(dict.fromkeys(own["method"])).index(r[0]))
    return [
        "## Operating points (scored methods)",
        "",
        "What each scored method would do at the threshold that meets a declared rate: the most "
        "permissive threshold whose rate is at or below the target. FPIR (false positive "
        "identification rate, NIST FRVT 1:N) = queries with no true record that were linked to "
        "anything / such queries. FMR (per comparison, over all query x register pairs) is "
        "given for completeness: in a 1:N search with one link per query it is tiny at any "
        "threshold, so an FMR target says little about wrong people. Full curves over every "
        "threshold: `sweeps.csv` (and the figures of `report.html`).",
        "",
        tabulate(
            rows,
            headers=["method", "at", "threshold", "FPIR", "wrong-person", "FDR", "FNMR", "FMR"],
            tablefmt="github",
            colalign=["left", "left"] + ["right"] * 6,
        ),
        "",
    ]


def _point(rec: dict[str, Any], queries: int, true_links: int) -> list[str]:
    """Rates at an operating point, each with its Wilson upper 95% bound."""
    non_mated = queries - true_links
    counts = {
        "FPIR": (round(rec["FPIR"] * non_mated) if non_mated else 0, non_mated),
        "wrong_person_rate": (rec["wrong_people"], queries),
        "FDR": (rec["FP"], rec["declared"]),
        "FNMR": (rec["FN"], true_links),
    }
    cells = []
    for rate, (k, n) in counts.items():
        upper = wilson(k, n)[1] if n else float("nan")
        cells.append(f"{100 * rec[rate]:.2f}% (≤ {100 * upper:.2f}%)" if n else "n/a")
    return [*cells, f"{rec['FMR']:.2g}"]


def _matrix_summary(matrix: pd.DataFrame) -> str:
    rows = []
    for method, m in matrix[matrix["dimension"] == "group"].groupby("method", sort=False):
        total = int(m["FP"].sum())
        same = int(m.loc[m["query_label"] == m["register_label"], "FP"].sum())
        cross = m[m["query_label"] != m["register_label"]].sort_values("FP", ascending=False)
        top = cross.iloc[0] if len(cross) and cross["FP"].iloc[0] > 0 else None
        flow = (
            "-" if top is None else f"{top['query_label']} → {top['register_label']}: {top['FP']:,}"
        )
        share = "n/a" if total == 0 else f"{100 * same / total:.1f}%"
        rows.append([method, f"{total:,}", share, flow])
    return tabulate(
        rows,
        headers=["method", "false matches", "within group", "largest cross-group flow"],
        tablefmt="github",
        colalign=["left", "right", "right", "left"],
    )


def _parameter_tables(
    params: dict[str, Any], cells: dict[str, dict[str, int]], comments: dict[str, str]
) -> list[str]:
    """The assumptions ledger: population, sampling and noise parameters with their values and
    sources (the scenario file's comment where the file sets the value, else the default's
    source declared in the code)."""

    def source(path: str, default: str) -> str:
        parts = path.split(".")
        for i in range(len(parts), 0, -1):  # the most specific commented key wins
            key = ".".join(parts[:i])
            if key in comments:
                note = comments[key] or "set in the scenario file (no comment)"
                return f"scenario: {note}"
        return f"default: {default}"

    population = [
        [k, json.dumps(v) if isinstance(v, dict | list) else v, source(f"population.{k}", src)]
        for k, v in params["population"].items()
        for src in [POPULATION_SOURCES.get(k, "assumption")]
    ]
    sampling = [
        [
            side,
            k,
            json.dumps(v) if isinstance(v, dict) else v,
            source(f"{side}.{k}", SAMPLING_SOURCES.get(k, "scenario (no default)")),
        ]
        for side in ("register", "query")
        for k, v in params[side].items()
        if k != "noise"
    ]
    noise = [
        [
            side,
            name,
            s["rate"],
            ", ".join(f"{f}={r}" for f, r in s["field_rates"].items()) or "-",
            ", ".join(f"{g}={r}" for g, r in s.get("group_rates", {}).items()) or "-",
            ", ".join(f"{k}={v}" for k, v in s["params"].items()) or "-",
            f"{cells.get(side, {}).get(name, 0):,}",
            source(f"{side}.noise.{name}", NOISE[name].source if name in NOISE else "assumption"),
        ]
        for side in ("register", "query")
        for name, s in params[side]["noise"].items()
    ]
    return [
        "### Population",
        "",
        tabulate(population, headers=["parameter", "value", "source"], tablefmt="github"),
        "",
        "### Register and query list",
        "",
        tabulate(sampling, headers=["side", "parameter", "value", "source"], tablefmt="github"),
        "",
        "### Noise (each side records the population with its own errors)",
        "",
        tabulate(
            noise,
            headers=[
                "side",
                "noise",
                "rate",
                "per-field rates",
                "group rates",
                "parameters",
                "cells changed",
                "source",
            ],
            tablefmt="github",
        ),
    ]


def _params_text(params: dict[str, Any]) -> str:
    if "passes" in params:
        names = params.get("path_names") or [None] * len(params["passes"])
        return " THEN ".join(
            (f"[{name}] " if name else "") + " AND ".join(_cond_text(c) for c in p)
            for p, name in zip(params["passes"], names, strict=True)
        )
    return ", ".join(f"{k}={v}" for k, v in params.items() if k != "fields")


def _cond_text(c: dict[str, Any]) -> str:
    extra = ",".join(f"{k}={v}" for k, v in c.items() if k not in ("field", "compare"))
    return f"{c['compare']}({c['field']}{',' + extra if extra else ''})"


def _keys_text(keys: list[dict[str, Any]]) -> str:
    return " + ".join(_cond_text({"compare": "exact", **k}) for k in keys)


def write_manifest(run_dir: Path, info: dict[str, Any], config: dict[str, Any]) -> None:
    """Versions, seeds, configuration hash and SHA-256 of every output file."""
    from synthetic.scenario import config_hash

    # report.html is built after the manifest (it shows it), so it cannot be listed in it
    skip = {"manifest.json", "report.html"}
    files = sorted(p for p in run_dir.rglob("*") if p.is_file() and p.name not in skip)
    manifest = {
        "scenario": info["scenario"],
        "command": reproduce_command(info),
        "seed": info["seed"],
        "training_seed": info["training_seed"],
        "config_sha256": config_hash(config),
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "files": {
            str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files
        },
    }
    write_json(manifest, run_dir / "manifest.json")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"
