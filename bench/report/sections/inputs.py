"""*Inputs* (runs on user files): the files evaluated, by name and hash, the truth and the
column map, as ``raw/run.json`` records them (never the files themselves or their reader)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.inputs import rendered
from bench.report.sections.base import Section, register
from bench.runs.rundir import MAP_FIELDS, SIDES
from synthetic.scenario import RECORD_FIELDS


def user_inputs(info: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    """The report's *Inputs* section: files, hashes, date formats, the column map."""
    ins = info["inputs"]
    rows = [
        [
            side,
            f"`{ins[side]['file']}`",
            f"{ins[side]['rows']:,}",
            (ins[side]["date_format"] or "-")
            + (
                f" ({ins[side]['unreadable_dates']:,} unreadable: missing)"
                if ins[side].get("unreadable_dates")
                else ""
            ),
            f"`{ins[side]['sha256']}`",
        ]
        for side in SIDES
    ]
    truth = ins["truth"]
    if "pairs" in truth:
        rows.append(
            [
                "truth pairs",
                f"`{truth['pairs']['file']}`",
                f"{truth['pairs']['rows']:,}",
                "-",
                f"`{truth['pairs']['sha256']}`",
            ]
        )
        how = f"the pairs file, columns `{truth['columns'][0]}` and `{truth['columns'][1]}`"
    else:
        how = "equal non-empty values of the entity-id column " + " / ".join(
            f"`{truth['column'][s]}` ({s})" for s in SIDES if s in truth["column"]
        )
    columns = config.get("evaluate", {}).get("columns", {})
    mapped = [
        [name, *(f"`{columns[name][s]}`" if s in columns[name] else "-" for s in SIDES)]
        for name in MAP_FIELDS
        if name in columns
    ]
    unmapped = [f for f in RECORD_FIELDS if f not in columns]
    return [
        "## Inputs",
        "",
        "The files this report evaluates, by name and SHA-256 (their contents are not copied). "
        "No synthetic population, no simulated noise: the records are the user's."
        + (
            ""
            if info.get("include_examples")
            else " Every file of this run holds aggregates "
            "only: counts, rates, row numbers and scores, no record values."
        ),
        "",
        tabulate(
            rows,
            headers=["file", "path", "records", "date format", "SHA-256"],
            tablefmt="github",
            disable_numparse=True,
        ),
        "",
        f"True links: {how}.",
        "",
        tabulate(mapped, headers=["field", "query column", "register column"], tablefmt="github"),
        "",
        "Not mapped (missing on both sides): "
        + (", ".join(f"`{f}`" for f in unmapped) if unmapped else "none")
        + ". Record ids: "
        + ("the mapped `record_id` columns." if "record_id" in columns else "row numbers from 1.")
        + "",
        "",
    ]


@register
class Inputs(Section):
    name = "inputs"
    order = 125
    needs = frozenset({"user-files"})
    reads = frozenset({"info", "config", "run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        # an edited `inputs` of run.json fails here in one line naming the file and the field
        return rendered(user_inputs, ctx.run.raw / "run.json", "inputs", ctx.info, ctx.config)
