"""The report's text for runs on user files (``linkrisk evaluate``): headline sentence, scope
and limitations, the *Inputs* section and the optional *Examples*.

It reads only what ``raw/`` holds (through :mod:`bench.runs.rundir`), never the user files or
their reader (:mod:`bench.inputs.userfiles`): a report can be rebuilt without the inputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.runs.rundir import MAP_FIELDS, SIDES
from synthetic.errors import LinkriskError
from synthetic.scenario import RECORD_FIELDS


def user_headline(info: Mapping[str, Any]) -> str:
    """The report's headline sentence for a run on user files."""
    matched = info.get("queries_with_true_link")
    having = f" ({matched:,} queries have one)" if matched is not None else ""
    return (
        f"{info['queries']:,} query records against a register of "
        f"{info['register_records']:,} records; {info['true_links']:,} true links from the "
        f"given truth{having}. User files, not synthetic: the counts are exact for these files, "
        "and the intervals treat them as a random sample of the cases of interest."
    )


def user_limitations(info: Mapping[str, Any]) -> list[str]:
    """The report's *Scope and limitations* items for a run on user files."""
    out = [
        "- The truth is taken as given: a wrong, missing or shared entity id counts as an error "
        "of the method. Check some false and missed matches by hand (`--include-examples`) "
        "before relying on the counts.",
        "- Intervals cover the sampling error of the counts only, as if these records were a "
        "random sample of the cases of interest; they say nothing about how representative the "
        "files are.",
        "- Fields not mapped are missing on both sides (`unit`: no unit): rules that compare "
        "them declare nothing, scored methods treat them as missing. See *Inputs*.",
        "- Key collisions grow with register size: rules that collide on common keys (name + "
        "date of birth, name + ZIP) would make more false matches against a larger register.",
        "- The files carry no facts about the people behind the records (households, twins, "
        "name origin) and no record of data-entry errors: false-match causes and subgroups "
        "other than register presence are not computed.",
    ]
    if info.get("training_scenario"):
        out.append(
            "- Supervised methods were trained on the synthetic scenario "
            f"`{info['training_scenario']}`, never on these files: their rates here measure how "
            "that model carries over."
        )
    return out


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


def rendered(render: Callable[..., list[str]], path: Path, field: str, *args: Any) -> list[str]:
    """``render(*args)``, or one line naming ``path`` and ``field`` when what ``raw/`` holds
    there is not what linkrisk writes (an edited run directory): the structure was checked by
    :class:`bench.runs.rundir.RunDir`; the rest is checked by the one function that reads it."""
    try:
        return render(*args)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        problem = f"{type(exc).__name__}: {exc}"[:200]
        where = f"{path}: {field}" if field else str(path)
        raise LinkriskError(f"{where}: not what linkrisk writes ({problem})") from None
