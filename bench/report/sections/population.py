"""*The synthetic population*: the population the register and the list were drawn from,
beside the Census tables."""

from __future__ import annotations

from bench.report.context import ReportContext
from bench.report.sections.base import Section, register
from synthetic.summary import summary_markdown


@register
class Population(Section):
    name = "population"
    order = 110
    needs = frozenset({"population"})
    reads = frozenset({"info", "run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        info = ctx.info
        population = ctx.run.population
        assert population is not None, "the section needs the population capability"
        return [
            "## The synthetic population",
            "",
            "The population the register and the list were drawn from, beside the Census "
            f"tables (`linkrisk describe {info['source']} --seed {info['seed']}` prints it).",
            "",
            summary_markdown(population),
            "",
        ]
