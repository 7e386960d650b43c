"""*Examples* (runs on user files with ``--include-examples``): record values of each method's
first false and missed matches."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.inputs import rendered
from bench.report.sections.base import Section, register
from bench.runs.rundir import EXAMPLES_FILE


def _md(text: str) -> str:
    """A value as literal Markdown table-cell text (special characters escaped)."""
    return re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", " ".join(text.split()))


def _record_text(rec: Mapping[str, Any], side: str) -> str:
    def part(*names: str) -> str:
        return " ".join(str(rec[f"{side}_{n}"]) for n in names if rec[f"{side}_{n}"])

    pieces = [
        part("first_name", "middle_name", "last_name", "suffix"),
        part("dob"),
        part("house_number", "street", "unit"),
        part("city", "state", "zip"),
    ]
    return _md(f"{rec[f'{side}_record_id']}: " + " · ".join(p for p in pieces if p))


def examples_markdown(frame: pd.DataFrame, methods: list[str]) -> list[str]:
    """The report's *Examples* section from the rows of ``raw/examples.parquet``."""
    lines = [
        "## Examples",
        "",
        "Included on request (`--include-examples`): these rows hold record values from the "
        "input files. Per method, the first false matches and missed matches (by query row), "
        "each record as `id: name · date of birth · address · city state ZIP`, as read.",
        "",
    ]
    for method in methods:
        sub = frame[frame["method"] == method]
        rows = [
            [rec["error"], _record_text(rec, "query"), _record_text(rec, "register")]
            for rec in sub.to_dict("records")
        ]
        lines += [f"### {method}", ""]
        lines += (
            [
                tabulate(
                    rows,
                    headers=["error", "query record", "register record"],
                    tablefmt="github",
                    disable_numparse=True,
                ),
                "",
            ]
            if rows
            else ["No false or missed matches.", ""]
        )
    return lines


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
