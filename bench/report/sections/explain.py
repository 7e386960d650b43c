"""*Why different people were linked*: for methods that explain their scores, each field's
contribution (match weight) to the score of their highest-scoring false matches, with both
records' values, as a table and a waterfall figure (as Splink draws it)."""

from __future__ import annotations

import re
from functools import partial

import pandas as pd
from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.figures import plot_waterfall
from bench.report.labels import field_text
from bench.report.sections.base import ReportFigure, Section, register


def _md(text: str) -> str:
    """A value as literal Markdown table-cell text (special characters escaped)."""
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", " ".join(str(text).split())) or "-"


def _pair_table(terms: pd.DataFrame) -> str:
    rows = [
        [
            "prior (share of matches)" if rec["term"] == "prior" else _md(field_text(rec["term"])),
            "" if rec["term"] == "prior" else _md(rec["query_value"]),
            "" if rec["term"] == "prior" else _md(rec["register_value"]),
            rec["level_label"] if rec["term"] != "prior" else "",
            f"{rec['weight']:+.2f}",
        ]
        for rec in terms.to_dict("records")
    ]
    total = float(terms["weight"].sum())
    rows.append(["**total**", "", "", "", f"**{total:+.2f}**"])
    return tabulate(
        rows,
        headers=["field", "query record", "register record", "agreement", "match weight"],
        tablefmt="github",
        colalign=["left", "left", "left", "left", "right"],
        disable_numparse=True,
    )


@register
class Explain(Section):
    name = "explain"
    order = 45
    needs = frozenset({"explanations"})
    reads = frozenset({"run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        frame = ctx.run.explanations()
        assert frame is not None, "the section needs the explanations capability"
        lines = [
            "## Why different people were linked",
            "",
            "For methods that can say why they scored a pair: their highest-scoring false "
            "matches, field by field. Each field adds its match weight log2(m / u) for the "
            "agreement seen (m: how often true matches agree so, u: how often random pairs do); "
            "the prior is log2 of the odds that two records match before comparing them. The "
            "total is the pair's match weight; its probability 1 / (1 + 2^-weight) is the score "
            "compared with the threshold.",
            "",
        ]
        for method, sub in frame.groupby("method", sort=False):
            lines += [f"### {method}", ""]
            for example, terms in sub.groupby("example", sort=True):
                rec = terms.iloc[0]
                lines += [
                    f"False match {int(example) + 1}: query row {int(rec['query_row'])}, "
                    f"register row {int(rec['register_row'])}, score {rec['score']:.4g}.",
                    "",
                    _pair_table(terms),
                    "",
                ]
        return lines

    def figures(self, ctx: ReportContext) -> list[ReportFigure]:
        frame = ctx.run.explanations()
        assert frame is not None
        return [
            ReportFigure(
                f"waterfall-{method}",
                f"{method}: the match weight of its highest-scoring false matches built field by "
                "field (green raises it, red lowers it; grey: the prior; blue: the total), as "
                "Splink's waterfall chart.",
                partial(plot_waterfall, frame, method),
                after=str(method),
            )
            for method in dict.fromkeys(frame["method"])
        ]
