"""*Who bears the errors*: wrong-person rate and FNMR by the queried person's subgroup, who was
matched to whom; the subgroup tables and their figures."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.measurement.attributed import sample_sentence, sampled_methods
from bench.measurement.subgroups import DIMENSIONS, RATIO_FDR, ratio_significance, subgroups_run
from bench.measurement.uncertainty import wilson
from bench.report.context import ReportContext
from bench.report.figures import plot_match_matrix, plot_ratios
from bench.report.labels import dimension_text, label_text
from bench.report.sections.base import ReportFigure, Section, register
from synthetic.precision import round_frame

#: Dimensions whose rate ratios are drawn, in figure order (when the run has them).
RATIO_FIGURES = ("group", "surname_band", "household", "in_register")
#: Who-matched-whom figures: the methods with the most false matches, at most this many.
MATRIX_FIGURES = 2


def _subgroups(ctx: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(subgroup metrics, match matrix) of the run (:func:`subgroups_run`), rounded."""
    groups, matrix = subgroups_run(ctx.path)
    # The multiple-comparison rule over the ratios the figures show, before rounding.
    groups = ratio_significance(groups, "wrong_person_rate", RATIO_FIGURES)
    return round_frame(groups), round_frame(matrix)


def _rate_cell(rec: dict[str, Any], metric: str) -> str:
    if pd.isna(rec[metric]):
        return "n/a"
    ratio = rec.get(f"{metric}_ratio", float("nan"))  # rates without a ratio: none shown
    if rec.get(f"{metric}_ratio_corrected", False):
        times = " (no ratio)"  # no events on one side: a 0.5 correction is not an estimate
    elif pd.isna(ratio):
        times = ""
    else:
        flag = "*" if rec.get(f"{metric}_ratio_significant", False) else ""
        times = f" ×{ratio:.2f}{flag}"
    return (
        f"{100 * rec[metric]:.1f}% [{100 * rec[f'{metric}_lo']:.1f}-"
        f"{100 * rec[f'{metric}_hi']:.1f}]{times}"
    )


def _rate_table(groups: pd.DataFrame, dimension: str, metric: str) -> str:
    """One dimension's ``metric`` per label (rows) and method (columns)."""
    methods = list(dict.fromkeys(groups["method"]))
    sub = groups[groups["dimension"] == dimension]
    rows = []
    for label in dict.fromkeys(sub["label"]):
        recs = sub[sub["label"] == label].set_index("method")
        first = recs.iloc[0]
        rows.append(
            [label_text(label), f"{int(first['queries']):,}"]
            + [_rate_cell(recs.loc[m].to_dict(), metric) for m in methods]
        )
    return tabulate(
        rows,
        headers=["subgroup", "queries", *methods],
        tablefmt="github",
        colalign=["left"] + ["right"] * (len(methods) + 1),
    )


def _matrix_summary(matrix: pd.DataFrame) -> str:
    estimated = sampled_methods(matrix)
    rows = []
    for method, m in matrix[matrix["dimension"] == "group"].groupby("method", sort=False):
        total = int(m["FP"].sum())
        within = m["query_label"] == m["register_label"]
        same = int(m.loc[within, "FP"].sum())
        cross = m[~within].sort_values("FP", ascending=False)
        top = cross.iloc[0] if len(cross) and cross["FP"].iloc[0] > 0 else None
        flow = (
            "-"
            if top is None
            else f"{label_text(top['query_label'])} → {label_text(top['register_label'])}: "
            f"{top['FP']:,}"
        )
        share = "n/a" if total == 0 else f"{100 * same / total:.1f}%"
        if method in estimated:  # the sample's share and its interval; the flow's interval
            n = estimated[str(method)][0]
            k = int(m.loc[within, "FP_in_sample"].sum())
            lo, hi = wilson(k, n)
            share = f"{100 * k / n:.1f}% [{100 * float(lo):.1f}-{100 * float(hi):.1f}]"
            if top is not None:
                flow += f" [{int(top['FP_lo']):,}-{int(top['FP_hi']):,}]"
        rows.append([method, f"{total:,}", share, flow])
    return tabulate(
        rows,
        headers=["method", "false matches", "within group", "largest cross-group flow"],
        tablefmt="github",
        colalign=["left", "right", "right", "left"],
    )


def _sample_lines(matrix: pd.DataFrame) -> list[str]:
    """Which methods' rows of the matrix are estimated from a sample of false matches."""
    estimated = sampled_methods(matrix)
    if not estimated:
        return []
    sentences = [sample_sentence(m, n, total) for m, (n, total) in estimated.items()]
    return [
        " ".join(sentences) + " For those methods the counts below are the sample's scaled to "
        "all false matches and the shares are the sample's, with 95% Wilson intervals in "
        "brackets (`match_matrix.csv`: `sampled`, `of`, `FP_in_sample`, `FP_lo`, `FP_hi`).",
        "",
    ]


@register
class Subgroups(Section):
    name = "subgroups"
    order = 40
    reads = frozenset({"path", "info", "run"})
    writes = ("subgroups.csv", "match_matrix.csv")

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        groups, matrix = ctx.memo(_subgroups)
        return {"subgroups.csv": groups, "match_matrix.csv": matrix}

    def markdown(self, ctx: ReportContext) -> list[str]:
        groups, matrix = ctx.memo(_subgroups)
        k = ctx.info["replicates"]
        pooled = k > 1 and ctx.run.has_replicate_people()
        scope = (
            f"Rates pooled over the {k} replicates, as in the headline,"
            if pooled
            else "Rates of the run's own seed"
            + (" (this run's replicates keep no query people)" if k > 1 else "")
        )
        lines = [
            "## Who bears the errors",
            "",
            f"{scope} by the queried person's subgroup, with 95% "
            "Wilson intervals and, after ×, the ratio to the dimension's reference subgroup "
            "(Katz log interval in `subgroups.csv`). Where a subgroup or its reference has no "
            "event there is no ratio to estimate: none is shown, and the figures draw its "
            'interval only (dashed, "0 events"). All counts, FDR and FNMR for every '
            "dimension: `subgroups.csv`; false matches by primary cause within every subgroup: "
            "`subgroup_causes.csv`.",
            "",
            f"**Multiple comparisons.** Many ratios are shown, so some will look different from "
            f"1 by chance. Rule: the Benjamini-Hochberg procedure at a false discovery rate of "
            f"{RATIO_FDR:.0%} over every wrong-person-rate ratio shown in the figures (all "
            f"methods, dimensions {', '.join(dimension_text(d) for d in RATIO_FIGURES)}; "
            "ratios with events on both sides), two-sided p-values from the Katz interval. "
            "Ratios that survive it carry a `*` in the tables and are filled in the figures; "
            "p-values and the flag: `wrong_person_rate_ratio_p`, "
            "`wrong_person_rate_ratio_significant` in `subgroups.csv`.",
            "",
        ]
        present = set(groups["dimension"])
        absent = [d.description for d in DIMENSIONS.values() if d.name not in present]
        if absent:  # runs on user files: only register presence is known of the queried people
            lines += [
                "Not computed, for lack of these attributes of the queried people (the records "
                "carry none): " + "; ".join(absent) + ".",
                "",
            ]
        for dim in dict.fromkeys(groups["dimension"]):
            ref = groups.loc[groups["dimension"] == dim, "reference"].iloc[0]
            lines += [
                f"### Wrong-person rate by {dimension_text(dim)} (reference: {label_text(ref)})",
                "",
                f"Subgroups: {DIMENSIONS[dim].description}.",
                "",
                _rate_table(groups, dim, "wrong_person_rate"),
                "",
            ]
        if "group" not in present:
            return lines
        ref = groups.loc[groups["dimension"] == "group", "reference"].iloc[0]
        return [
            *lines,
            f"### Missed-link rate by name-origin group (reference: {label_text(ref)})",
            "",
            _rate_table(groups, "group", "FNMR"),
            "",
            "### Unverified-address rate by name-origin group",
            "",
            "Queries with a declared link whose addresses do not match / queries (see the "
            "definitions), by the queried person's group, with 95% Wilson intervals.",
            "",
            _rate_table(groups, "group", "unverified_address_rate"),
            "",
            "### Who was matched to whom",
            "",
            "False matches by the name-origin group of the queried person and of the person "
            "whose record they were linked to: the share that stays within the group, and the "
            "largest cross-group flow, in the run's own seed (replicates keep no register "
            "people). Full matrix: `match_matrix.csv`.",
            "",
            *_sample_lines(matrix),
            _matrix_summary(matrix),
            "",
        ]

    def figures(self, ctx: ReportContext) -> list[ReportFigure]:
        groups, matrix = ctx.memo(_subgroups)
        figs = [
            ReportFigure(
                f"ratios-{dim}",
                f"Wrong-person rate by {dimension_text(dim)}, as a ratio to the reference "
                "subgroup (log scale, 95% Katz intervals); filled: survives the "
                "Benjamini-Hochberg rule; dashed: no events, interval only.",
                partial(plot_ratios, groups, "wrong_person_rate", dim),
                after=f"Wrong-person rate by {dimension_text(dim)} (reference: "
                f"{label_text(groups.loc[groups['dimension'] == dim, 'reference'].iloc[0])})",
            )
            for dim in RATIO_FIGURES
            if (groups["dimension"] == dim).any()
        ]
        # the methods with the most false matches: where who-matched-whom matters most
        totals = matrix[matrix["dimension"] == "group"].groupby("method", sort=False)["FP"].sum()
        top = totals[totals > 0].sort_values(ascending=False, kind="stable").index[:MATRIX_FIGURES]
        estimated = sampled_methods(matrix)

        def sample_note(method: str) -> str:
            if method not in estimated:
                return ""
            n, total = estimated[method]
            return f" Estimated from a seeded random sample of {n:,} of its {total:,}."

        figs += [
            ReportFigure(
                f"matrix-{method}",
                f"{method}: false matches by the queried person's name-origin group (rows) and "
                "the group of the person they were linked to (columns); share of the row."
                + sample_note(method),
                partial(plot_match_matrix, matrix, method),
                after="Who was matched to whom",
            )
            for method in top
        ]
        return figs
