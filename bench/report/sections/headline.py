"""*Headline*: each method's counts and rates pooled over the replicates, with their upper 95%
bounds; the metrics files (own seed, every replicate, pooled)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.report.context import RUN, ReportContext, fmt_cell, is_not_run
from bench.report.inputs import user_headline
from bench.report.sections.base import Section, register

#: Headline columns: (summary column, header, formatter); few and in words, so that the table
#: reads at 100 columns in a terminal. Rates and per-1M counts show their upper 95% bound
#: (``<column>_upper``) beside them. Everything else is in the detail table.
HEADLINE: tuple[tuple[str, str, str], ...] = (
    ("method", "method", "s"),
    ("wrong_people_per_1M", "wrong person per 1M", "int_upper"),
    ("FNMR", "missed per 1,000", "per1000_upper"),
    ("FDR", "wrong share of links", "pct_upper"),
)
#: The detail table: counts and the other rates, by method.
DETAIL: tuple[tuple[str, str, str], ...] = (
    ("method", "method", "s"),
    ("resolve", "multiple hits", "s"),
    ("verified_rate", "queries linked", "pct"),
    ("declared", "links declared", "int"),
    ("TP", "right links (TP)", "int"),
    ("FP", "wrong links (FP)", "int"),
    ("FN", "missed links (FN)", "int"),
    ("blocking_loss", "missed by blocking", "int"),
    ("wrong_person_rate", "wrong-person rate", "pct_upper"),
    ("unverified_address_share", "links with unverified address", "pct_upper"),
    ("FP_per_1M", "wrong links per 1M queries", "int_upper"),
)


def _cell(rec: dict[str, Any], col: str, kind: str) -> str:
    if kind.startswith("per1000"):
        value = rec[col]
        if value is None or pd.isna(value):
            return "n/a"
        return f"{1000 * value:,.0f} (≤\u00a0{1000 * rec[f'{col}_upper']:,.0f})"
    cell = fmt_cell(rec[col], kind)
    if kind.endswith("_upper") and not pd.isna(rec[col]):
        # a no-break space: a wrapped cell keeps "≤" with its bound
        cell += f" (≤\u00a0{fmt_cell(rec[f'{col}_upper'], kind)})"
    return cell


def _table(
    summary: pd.DataFrame, columns: tuple[tuple[str, str, str], ...], fmt: str, why: bool
) -> str:
    """The table; with ``why``, then one line per method that did not run, with its reason (a
    long reason in a cell would widen the whole table past a terminal)."""
    rows, reasons = [], []
    for rec in summary.to_dict("records"):
        if is_not_run(rec):  # "not run" in place of the figures it does not have
            label = "not run (below)" if why else "not run"
            rows.append([rec["method"], label] + [""] * (len(columns) - 2))
            line = f"- {rec['method']}: {rec['status']}"
            reasons.append(textwrap.fill(line, 100, subsequent_indent="  ", break_long_words=False))
            continue
        rows.append([_cell(rec, col, kind) for col, _, kind in columns])
    align = ["left" if kind == "s" else "right" for _, _, kind in columns]
    table = tabulate(
        rows,
        headers=[h for _, h, _ in columns],
        tablefmt=fmt,
        colalign=align,
        disable_numparse=True,
    )
    return "\n\n".join([table, "\n".join(reasons)]) if why and reasons else table


def headline_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """The headline table: one row per method, from
    :func:`bench.measurement.derive.compute_summary`; upper 95% bounds in brackets; below it,
    why any method did not run."""
    return _table(summary, HEADLINE, fmt, why=True)


def detail_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """The counts and the other rates of every method (:data:`DETAIL`)."""
    return _table(summary, DETAIL, fmt, why=False)


def _replicates_text(info: Mapping[str, Any], summary: pd.DataFrame) -> str:
    k = info.get("replicates", 1)
    if k == 1:
        return " One replicate: intervals reflect the counts only (rerun with --replicates)."
    ran = summary[summary["status"] == RUN]
    pooled = (
        f" ({int(ran['true_links'].iloc[0]):,} true links over the {k} replicates)"
        if len(ran)
        else ""
    )
    return (
        f" Pooled over {k} replicates (independently seeded populations of the same scenario): "
        f"the counts below are sums over the replicates{pooled}."
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
        info, notes, summary = ctx.info, ctx.notes, ctx.summary
        sentence = (
            user_headline(info)
            if ctx.user
            else f"{info['queries']:,} queries against a register of "
            f"{info['register_records']:,} records; {info['true_links']:,} queries are truly in "
            f"the register. Synthetic population of {info['population']:,} people, seed "
            f"{info['seed']}." + _replicates_text(info, summary)
        )
        return [
            "## Headline",
            "",
            sentence,
            "",
            headline_table(summary),
            "",
            *(f"- **{n.split(':', 1)[0]}**:{n.split(':', 1)[1]}" for n in notes),
            *([""] if notes else []),
            "In brackets: the upper 95% bound (see *Uncertainty*), the figure not to be "
            "exceeded, with 95% confidence, given "
            + ("these files." if ctx.user else "this scenario's assumptions.")
            + " *Wrong person*: queries linked to a record of someone else; *missed*: true links "
            "not declared; *wrong share of links*: declared links that are wrong (FDR).",
            "",
            "### Detail by method",
            "",
            "Counts summed over the replicates; right links + missed links = the true links.",
            "",
            detail_table(summary),
            "",
        ]
