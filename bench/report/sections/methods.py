"""*Methods*: every configured method, its kind, resolution and parameters."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from bench.report.context import ReportContext
from bench.report.sections.base import Section, register


def cond_text(c: dict[str, Any]) -> str:
    """One condition of a rule or blocking pass, e.g. ``exact(dob)`` or ``jw(last,min=0.9)``."""
    extra = ",".join(f"{k}={v}" for k, v in c.items() if k not in ("field", "compare"))
    return f"{c['compare']}({c['field']}{',' + extra if extra else ''})"


def value_text(value: Any) -> str:
    """A parameter value in words, never a Python repr: a mapping as ``key: value`` pairs, a
    list of conditions as ``exact(dob) AND ...`` passes, other lists comma-separated."""
    if isinstance(value, dict):
        if "field" in value:  # one condition
            return cond_text({"compare": "exact", **value})
        return "; ".join(f"{k}: {value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, list) for v in value):  # passes of conditions
            return " OR ".join(" AND ".join(value_text(c) for c in p) for p in value)
        return ", ".join(value_text(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) or "none"


def _params_text(params: dict[str, Any]) -> str:
    if "passes" in params:
        names = params.get("path_names") or [None] * len(params["passes"])
        return " THEN ".join(
            (f"[{name}] " if name else "") + " AND ".join(cond_text(c) for c in p)
            for p, name in zip(params["passes"], names, strict=True)
        )
    return "; ".join(
        f"{k.replace('_', ' ')} = {value_text(v)}" for k, v in params.items() if k != "fields"
    ) + (f"; fields compared: {value_text(params['fields'])}" if "fields" in params else "")


@register
class Methods(Section):
    name = "methods"
    order = 90
    reads = frozenset({"methods"})

    def markdown(self, ctx: ReportContext) -> list[str]:
        rows = [
            [m["name"], m["kind"], m["resolve"], _params_text(m["params"])]
            for m in ctx.methods.values()
        ]
        return [
            "## Methods",
            "",
            tabulate(rows, headers=["method", "kind", "resolve", "parameters"], tablefmt="github"),
            "",
        ]
