"""*Definitions*: the rates, the precision of the numbers, how rules and scored methods are
evaluated and how multiple hits per query are resolved."""

from __future__ import annotations

from bench.measurement.metrics import DEFINITIONS
from bench.report.context import DIVERGENCE_DEFINITION, ReportContext
from bench.report.sections.base import Section, register
from synthetic.precision import SIGNIFICANT_DIGITS


@register
class Definitions(Section):
    name = "definitions"
    order = 70
    reads = frozenset({"notes"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        return [
            "## Definitions",
            "",
            *(f"- **{k}**: {v}" for k, v in DEFINITIONS.items()),
            f"- Precision: every non-integer number in this run's CSV, JSON and Parquet files, "
            f"and behind this report's figures and tables, is rounded to {SIGNIFICANT_DIGITS} "
            "significant digits (scores and thresholds, which are float32 values, are kept "
            "exactly), so that the results are byte-identical on any CPU.",
            *([f"- **diverging replicate**: {DIVERGENCE_DEFINITION}"] if ctx.notes else []),
            "- Rules are evaluated on *all* record pairs (joins on their exact keys); scored "
            "methods only on blocked candidates, so their misses split into blocking loss and "
            "model misses.",
            "- Resolution of multiple hits per query: `all` keeps every accepted pair; `best` the "
            "highest-scoring one (ties: first register record); `unique-only` verifies a query "
            "only if exactly one register record was accepted.",
            "",
        ]
