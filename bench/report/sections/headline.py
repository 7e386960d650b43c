"""*Headline*: each method's counts and rates pooled over the replicates, with their upper 95%
bounds; the metrics files (own seed, every replicate, pooled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.report.context import ReportContext, fmt_cell, is_not_run
from bench.report.inputs import user_headline
from bench.report.sections.base import Section, register

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


def headline_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """The headline table: one row per method, from
    :func:`bench.measurement.derive.compute_summary`."""
    rows = []
    for rec in summary.to_dict("records"):
        if is_not_run(rec):  # its reason in place of the figures it does not have
            rows.append([rec["method"], rec["resolve"], rec["status"]] + [""] * (len(HEADLINE) - 3))
            continue
        row = []
        for col, _, kind in HEADLINE:
            cell = fmt_cell(rec[col], kind)
            if kind.endswith("_upper") and not pd.isna(rec[col]):
                cell += f" (≤ {fmt_cell(rec[f'{col}_upper'], kind)})"
            row.append(cell)
        rows.append(row)
    align = ["left" if kind == "s" else "right" for _, _, kind in HEADLINE]
    return tabulate(rows, headers=[h for _, h, _ in HEADLINE], tablefmt=fmt, colalign=align)


def _replicates_text(info: Mapping[str, Any]) -> str:
    k = info.get("replicates", 1)
    if k == 1:
        return " One replicate: intervals reflect the counts only (rerun with --replicates)."
    return (
        f" Pooled over {k} replicates (independently seeded populations of the same scenario): "
        "the counts below are sums over the replicates."
    )


@register
class Headline(Section):
    name = "headline"
    order = 20
    reads = frozenset({"info", "user", "summary", "metrics", "replicates", "notes"})
    writes = ("metrics.csv", "metrics.json", "replicates.csv", "summary.csv")

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        return {
            "metrics.csv": ctx.metrics,
            "metrics.json": ctx.metrics,
            "replicates.csv": ctx.replicates,
            "summary.csv": ctx.summary,
        }

    def markdown(self, ctx: ReportContext) -> list[str]:
        info, notes = ctx.info, ctx.notes
        sentence = (
            user_headline(info)
            if ctx.user
            else f"{info['queries']:,} queries against a register of "
            f"{info['register_records']:,} records; {info['true_links']:,} queries are truly in "
            f"the register. Synthetic population of {info['population']:,} people, seed "
            f"{info['seed']}." + _replicates_text(info)
        )
        return [
            "## Headline",
            "",
            sentence,
            "",
            headline_table(ctx.summary),
            "",
            *(f"- **{n.split(':', 1)[0]}**:{n.split(':', 1)[1]}" for n in notes),
            *([""] if notes else []),
            "Each rate is followed by its upper 95% bound (see *Uncertainty*): the figure not to "
            "be exceeded, with 95% confidence, given "
            + ("these files." if ctx.user else "this scenario's assumptions."),
            "",
        ]
