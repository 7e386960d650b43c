"""*Examples* (runs on user files with ``--include-examples``): record values of each method's
first false and missed matches."""

from __future__ import annotations

from bench.report.context import ReportContext
from bench.report.inputs import examples_markdown, rendered
from bench.report.sections.base import Section, register
from bench.runs.rundir import EXAMPLES_FILE


@register
class Examples(Section):
    name = "examples"
    order = 130
    needs = frozenset({"examples"})
    reads = frozenset({"info", "run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        frame = ctx.run.examples()
        methods = list(ctx.info["methods"])
        return rendered(examples_markdown, ctx.run.raw / EXAMPLES_FILE, "", frame, methods)
