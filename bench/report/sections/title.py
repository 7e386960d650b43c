"""The report's title and the command that reproduces the run."""

from __future__ import annotations

from bench.report.context import ReportContext
from bench.report.sections.base import Section, register
from bench.runs.rundir import reproduce_command


@register
class Title(Section):
    name = "title"
    order = 10
    reads = frozenset({"info"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        # The scenario's description is among the key assumptions (section "In short").
        return [
            f"# linkrisk report: {ctx.info['scenario']}",
            "",
            f"Reproduce: `{reproduce_command(ctx.info)}` (same versions as in `manifest.json`).",
            "",
        ]
