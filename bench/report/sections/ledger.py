"""*Assumptions ledger* (runs on a synthetic scenario): every population, sampling and noise
parameter in force, with its value and source."""

from __future__ import annotations

import json
from typing import Any

from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.sections.base import Section, register
from synthetic.config import toml_comments
from synthetic.noise import NOISE, ROW_NOISE
from synthetic.population import SOURCES as POPULATION_SOURCES

#: Sources of the defaults of the register and query-list keys (the others have no default).
SAMPLING_SOURCES = {"min_age": "assumption: adults (18+)", "group_mix": "the population's mix"}


def parameter_tables(
    params: dict[str, Any], cells: dict[str, dict[str, int]], comments: dict[str, str]
) -> list[str]:
    """The ledger's tables: population, sampling and noise parameters with their values and
    sources (the scenario file's comment where the file sets the value, else the default's
    source declared in the code)."""

    def source(path: str, default: str) -> str:
        parts = path.split(".")
        for i in range(len(parts), 0, -1):  # the most specific commented key wins
            key = ".".join(parts[:i])
            if key in comments:
                note = comments[key] or "set in the scenario file (no comment)"
                return f"scenario: {note}"
        return f"default: {default}"

    population = [
        [k, json.dumps(v) if isinstance(v, dict | list) else v, source(f"population.{k}", src)]
        for k, v in params["population"].items()
        for src in [POPULATION_SOURCES.get(k, "assumption")]
    ]
    sampling = [
        [
            side,
            k,
            json.dumps(v) if isinstance(v, dict) else v,
            source(f"{side}.{k}", SAMPLING_SOURCES.get(k, "scenario (no default)")),
        ]
        for side in ("register", "query")
        for k, v in params[side].items()
        if k not in ("noise", "row_noise")
    ]
    noise = [
        [
            side,
            name,
            s["rate"],
            ", ".join(f"{f}={r}" for f, r in s["field_rates"].items()) or "-",
            ", ".join(f"{g}={r}" for g, r in s.get("group_rates", {}).items()) or "-",
            ", ".join(f"{k}={v}" for k, v in s["params"].items()) or "-",
            f"{cells.get(side, {}).get(name, 0):,}",
            source(f"{side}.noise.{name}", NOISE[name].source if name in NOISE else "assumption"),
        ]
        for side in ("register", "query")
        for name, s in params[side]["noise"].items()
    ]
    # row noise (whole records omitted or duplicated; runs made before it existed have none)
    noise += [
        [
            side,
            f"{name} (records)",
            s["rate"],
            "-",
            "-",
            ", ".join(f"{k}={v}" for k, v in s["params"].items()) or "-",
            "-",
            source(
                f"{side}.row_noise.{name}",
                ROW_NOISE[name].source if name in ROW_NOISE else "assumption",
            ),
        ]
        for side in ("register", "query")
        for name, s in params[side].get("row_noise", {}).items()
    ]
    noise_headers = [
        "side", "noise", "rate", "per-field rates", "group rates", "parameters", "cells changed",
        "source",
    ]  # fmt: skip
    return [
        "### Population",
        "",
        tabulate(population, headers=["parameter", "value", "source"], tablefmt="github"),
        "",
        "### Register and query list",
        "",
        tabulate(sampling, headers=["side", "parameter", "value", "source"], tablefmt="github"),
        "",
        "### Noise (each side records the population with its own errors)",
        "",
        tabulate(noise, headers=noise_headers, tablefmt="github"),
    ]


@register
class Ledger(Section):
    name = "ledger"
    order = 120
    needs = frozenset({"synthetic"})
    reads = frozenset({"info", "run"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        text = ctx.run.scenario_text  # its comments cite the sources of the values it sets
        comments = {} if text is None else toml_comments(text)
        return [
            "## Assumptions ledger (parameters in force)",
            "",
            "Every value below was used, defaults included, with its source: the scenario file's "
            "comment where the file sets the value, else the source of the default declared in "
            "the code. Fields a noise type applies to: `linkrisk noise`.",
            "",
            *parameter_tables(ctx.info["parameters"], ctx.info["noise_cells"], comments),
            "",
        ]
