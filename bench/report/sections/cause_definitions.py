"""*False-match causes*, under *Definitions*: the causes in priority order (runs on a synthetic
scenario, whose people and noise are known)."""

from __future__ import annotations

from bench.measurement.causes import DEFINITIONS, FALSE_MATCH_CAUSES
from bench.report.context import ReportContext
from bench.report.sections.base import Section, register


@register
class CauseDefinitions(Section):
    name = "cause-definitions"
    order = 75
    needs = frozenset({"synthetic"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        return [
            "### False-match causes (in priority order)",
            "",
            *(
                f"- **{c.name.format(noise='<type>')}**: {c.description}"
                for c in FALSE_MATCH_CAUSES.values()
            ),
            *(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()),
            "",
        ]
