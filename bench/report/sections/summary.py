"""*In short*: what a reader needs from the first screen. A sentence per method generated from
the pooled numbers (wrong-person links per 1,000,000 queried people with the upper 95% bound,
missed links per 1,000 people who are in the register), the main figure beside it, and the key
assumptions with a link to the ledger (or, for user files, to the inputs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from bench.report.context import RUN, ReportContext
from bench.report.figures import plot_summary
from bench.report.sections.base import ReportFigure, Section, register

#: The heading of the ledger section and its anchor in report.md and report.html.
LEDGER_ANCHOR = "#assumptions-ledger-parameters-in-force"
INPUTS_ANCHOR = "#inputs"
#: The id of the main figure.
MAIN_FIGURE = "main-figure"


def count_text(value: float) -> str:
    """A count per 1,000 or per 1,000,000 as the sentences show it: a whole number with
    thousands separators, two significant digits below 10 (a rate of 0.4 per million is not
    0)."""
    if value >= 10 or value == 0:
        return f"{round(value):,}"
    return f"{value:.2g}"


def method_sentence(rec: Mapping[str, Any]) -> str:
    """One method's summary in words, from its row of the pooled summary."""
    name = f"**{rec['method']}**"
    wrong, upper = rec["wrong_people_per_1M"], rec["wrong_people_per_1M_upper"]
    if rec["wrong_people"] == 0:
        first = (
            f"{name} links none of the {int(rec['queries']):,} queried people to a wrong "
            f"person (at most {count_text(upper)} of every 1,000,000, 95%)"
        )
    else:
        first = (
            f"{name} links {count_text(wrong)} of every 1,000,000 queried people to a wrong "
            f"person (at most {count_text(upper)}, 95%)"
        )
    if pd.isna(rec["FNMR"]):
        return first + "; no queried person is in the register, so nothing can be missed."
    missed, missed_upper = 1000 * rec["FNMR"], 1000 * rec["FNMR_upper"]
    return (
        f"{first}, and misses {count_text(missed)} of every 1,000 who are there (at most "
        f"{count_text(missed_upper)})."
    )


def summary_sentences(summary: pd.DataFrame) -> list[str]:
    """A sentence per method that ran (:func:`method_sentence`), then one per method that did
    not, with its reason."""
    out = []
    for rec in summary.to_dict("records"):
        if rec.get("status", RUN) == RUN:
            out.append(method_sentence(rec))
        else:
            out.append(f"**{rec['method']}** did not run ({rec['status']}).")
    return out


def _key_assumptions(ctx: ReportContext) -> list[str]:
    info = ctx.info
    if ctx.user:
        return [
            f"- The records are the user's: {info['queries']:,} queries against "
            f"{info['register_records']:,} register records, {info['true_links']:,} true links "
            f"as the truth file declares them ([inputs]({INPUTS_ANCHOR})).",
            "- The rates hold for these files only; the intervals cover the sampling error of "
            "their counts.",
        ]
    params = info["parameters"]
    description = " ".join(ctx.config["scenario"].get("description", "").split())
    noise = {side: params[side]["noise"] for side in ("register", "query")}
    k = info.get("replicates", 1)
    return [
        *([f"- The scenario: {description}"] if description else []),
        f"- A synthetic population of {info['population']:,} people; the register holds "
        f"{info['register_records']:,} records ({params['register']['coverage']:.0%} of the "
        f"adults); {info['queries']:,} queries, of whom {info['true_links']:,} are truly in the "
        f"register" + (f" (per replicate; {k} replicates pooled)." if k > 1 else "."),
        f"- Each side records people with its own errors: {len(noise['query'])} kinds of noise "
        f"in the queries, {len(noise['register'])} in the register.",
        "- Rules collide more often in larger registers: at this simulated scale their wrong-"
        "person rates understate those at full scale.",
        f"- Every value in force, with its source (cited or assumption): the "
        f"[assumptions ledger]({LEDGER_ANCHOR}).",
    ]


@register
class Summary(Section):
    name = "summary"
    order = 15
    reads = frozenset({"info", "config", "user", "summary"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        return [
            "## In short",
            "",
            "Each method, pooled over every replicate (details below the figure):",
            "",
            *(f"- {s}" for s in summary_sentences(ctx.summary)),
            "",
            "### Key assumptions",
            "",
            *_key_assumptions(ctx),
            "",
        ]

    def figures(self, ctx: ReportContext) -> list[ReportFigure]:
        summary = ctx.summary
        if not (summary["status"] == RUN).any():
            return []
        return [
            ReportFigure(
                MAIN_FIGURE,
                "Wrong-person links per 1,000,000 queries (left, log scale) and missed links per "
                "1,000 true links (right), per method, pooled over the replicates, with 95% "
                "intervals; dashed: no such error seen, interval only.",
                lambda: plot_summary(summary),
                beside=True,
            )
        ]
