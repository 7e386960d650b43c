"""*Scope and limitations*: what the figures do and do not cover, for a synthetic scenario or
for user files."""

from __future__ import annotations

from bench.report.context import ReportContext
from bench.report.inputs import user_limitations
from bench.report.sections.base import Section, register

#: The items of a run on a synthetic scenario.
SCENARIO_LIMITATIONS = (
    "- Intervals cover the sampling error of the counts and the variation between "
    "synthetic populations of this scenario (with replicates), not the uncertainty of the "
    "scenario's assumptions: vary those in sensitivity runs. Households make errors cluster, "
    "so the Wilson interval alone is optimistic; the replicate spread is not.",
    "- Simulation scale: the register and list are far smaller than real ones. Rules that "
    "collide on common keys (name + date of birth, name + ZIP) collide more often in larger "
    "registers, so their false-match rates here understate those at full scale.",
    "- All rates not cited in the scenario file are labelled assumptions; change them in the "
    "file and rerun to see their effect.",
    "- Supervised models are trained on labelled pairs from the same simulated process (a "
    "different population): an optimistic reference, since agencies rarely have labels.",
    "- Causes of false matches: relations between the two people (twins, Jr/Sr, household, "
    "same name) are facts of the simulation; a `noise:` cause means that noise changed a "
    "field the method compares in one of the two records, not that it alone decided the "
    "link.",
)


@register
class Scope(Section):
    name = "scope"
    order = 80
    reads = frozenset({"info", "user"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        items = user_limitations(ctx.info) if ctx.user else list(SCENARIO_LIMITATIONS)
        return ["## Scope and limitations", "", *items, ""]
