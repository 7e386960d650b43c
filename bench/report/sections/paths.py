"""*Declared links per path*: for methods whose passes are named (e.g. the IRS's two match
paths), each declared link counted under the pass that declared it, with the disclosure outcomes;
``paths.csv``."""

from __future__ import annotations

from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.measurement.derive import compute_paths
from bench.report.context import ReportContext, fmt_cell
from bench.report.sections.base import Section, register
from synthetic.precision import round_frame

#: Declared links per path of the methods with named paths
#: (:func:`bench.measurement.derive.compute_paths`).
PATHS_FILE = "paths.csv"


def _paths(ctx: ReportContext) -> pd.DataFrame | None:
    paths = compute_paths(ctx.path)
    return None if paths is None else round_frame(paths)


def _upper(rec: dict[str, Any], col: str, kind: str) -> str:
    cell = fmt_cell(rec[col], kind)
    return cell if pd.isna(rec[col]) else f"{cell} (≤ {fmt_cell(rec[f'{col}_upper'], kind)})"


@register
class Paths(Section):
    name = "paths"
    order = 25
    needs = frozenset({"paths"})
    reads = frozenset({"path"})
    writes = (PATHS_FILE,)

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        return {PATHS_FILE: ctx.memo(_paths)}

    def markdown(self, ctx: ReportContext) -> list[str]:
        paths = ctx.memo(_paths)
        if paths is None or paths.empty:
            return []
        rows = [
            [
                rec["method"],
                rec["path"],
                fmt_cell(rec["verified"], "int"),
                fmt_cell(rec["declared"], "int"),
                fmt_cell(rec["TP"], "int"),
                fmt_cell(rec["FP"], "int"),
                _upper(rec, "FDR", "pct_upper"),
                f"{fmt_cell(rec['wrong_people'], 'int')}; per 1M q: "
                + _upper(rec, "wrong_people_per_1M", "int_upper"),
                f"{fmt_cell(rec['unverified_address'], 'int')}; share: "
                + _upper(rec, "unverified_address_share", "pct_upper"),
            ]
            for rec in paths.to_dict("records")
        ]
        headers = [
            "method", "path", "queries linked", "declared", "TP", "FP", "FDR (≤ upper)",
            "wrong-person disclosures (queries; per 1M queries ≤ upper)",
            "unverified-address disclosures (queries; share of the queries linked ≤ upper)",
        ]  # fmt: skip
        return [
            "## Declared links per path",
            "",
            "Methods whose passes are named: each declared link counted under the pass (path) "
            "that declared it; a query is linked by one path only (later passes skip linked "
            "queries). Wrong-person and unverified-address disclosures are counted apart (see "
            "the definitions); pooled over the replicates, with upper 95% bounds. All columns: "
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
