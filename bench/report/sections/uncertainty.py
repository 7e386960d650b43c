"""*Uncertainty*: each rate of each method, pooled with its Wilson interval, its spread across
replicates and its upper 95% bound."""

from __future__ import annotations

from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.measurement.uncertainty import DEFINITIONS, RATES
from bench.report.context import ReportContext, fmt_cell, is_not_run
from bench.report.sections.base import Section, register


def uncertainty_table(summary: pd.DataFrame, fmt: str = "github") -> str:
    """Each rate of each method: pooled point, Wilson 95% interval, and its spread across
    replicates (mean, sd, min-max, 95% t-interval of the mean) and the upper bound."""

    def p(x: Any) -> str:
        return fmt_cell(x, "pct")

    rows = []
    for rec in summary.to_dict("records"):
        if is_not_run(rec):
            continue
        several = rec["replicates"] > 1
        for rate in RATES:
            spread = (
                f"{p(rec[f'{rate}_mean'])} ± {p(rec[f'{rate}_sd'])} "
                f"[{p(rec[f'{rate}_min'])}, {p(rec[f'{rate}_max'])}]"
                if several
                else "n/a (1 replicate)"
            )
            t_int = f"{p(rec[f'{rate}_t_lo'])} - {p(rec[f'{rate}_t_hi'])}" if several else "n/a"
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


@register
class Uncertainty(Section):
    name = "uncertainty"
    order = 60
    reads = frozenset({"summary"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        return [
            "## Uncertainty",
            "",
            uncertainty_table(ctx.summary),
            "",
            *(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()),
            "",
        ]
