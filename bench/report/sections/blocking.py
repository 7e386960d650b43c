"""*Blocking (scored methods)*: the blocking passes, the pairs each made and their union."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.sections.base import Section, register
from bench.report.sections.methods import cond_text


def _keys_text(keys: list[dict[str, Any]]) -> str:
    return " + ".join(cond_text({"compare": "exact", **k}) for k in keys)


@register
class Blocking(Section):
    name = "blocking"
    order = 100
    reads = frozenset({"info", "config"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        passes = zip(
            ctx.config["blocking"]["passes"], ctx.info["blocking_pass_pairs"], strict=False
        )
        rows = [[i + 1, _keys_text(p), f"{n:,}"] for i, (p, n) in enumerate(passes)]
        return [
            "## Blocking (scored methods)",
            "",
            tabulate(rows, headers=["pass", "keys", "pairs"], tablefmt="github"),
            "",
            f"Candidate pairs after union: {ctx.info['candidates']:,}.",
            "",
        ]
