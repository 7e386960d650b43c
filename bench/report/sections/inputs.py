"""*Inputs* (runs on user files): the files evaluated, by name and hash, the truth and the
column map."""

from __future__ import annotations

from bench.report.context import ReportContext
from bench.report.inputs import rendered, user_inputs
from bench.report.sections.base import Section, register


@register
class Inputs(Section):
    name = "inputs"
    order = 125
    needs = frozenset({"user-files"})
    reads = frozenset({"info", "config", "run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        # an edited `inputs` of run.json fails here in one line naming the file and the field
        return rendered(user_inputs, ctx.run.raw / "run.json", "inputs", ctx.info, ctx.config)
