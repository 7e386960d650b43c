"""*Auditing the declared links*: what a reviewed sample (``linkrisk audit``) would say of the
run's first method, how often its 95% intervals hold the true count of wrong-person links over
simulated audits, and the probabilistic models' own label-free estimates of their false
discovery rate beside the true one; ``audit_simulation.csv`` and ``model_estimates.csv``.

Also draws the calibration chart of ``linkrisk audit calibrate-model`` (model-estimated FDR
against true FDR): drawing belongs to the report floor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.audit.design import allocate, expected_margin
from bench.audit.modelbased import model_estimates
from bench.audit.simulate import run_links, simulate
from bench.report.context import ReportContext, fmt_cell
from bench.report.sections.base import Section, register
from synthetic.precision import round_frame

SIMULATION_FILE = "audit_simulation.csv"
MODEL_FILE = "model_estimates.csv"
#: The simulated audits' design: margin on the share of wrong links, confidence, audits.
MARGIN, CONFIDENCE, AUDITS = 0.03, 0.95, 200


def _audited(ctx: ReportContext) -> str | None:
    """The first method of the run that declared links in its first population."""
    for name in ctx.run.info["methods"]:
        if name in ctx.run.info.get("not_run", {}):
            continue
        if ctx.run.pairs(name, 0, ["link"])["link"].any():
            return str(name)
    return None


def _simulation(ctx: ReportContext) -> pd.DataFrame | None:
    method = _audited(ctx)
    if method is None:
        return None
    pop = run_links(ctx.run, method)
    plan = allocate(pop.sizes(), MARGIN, CONFIDENCE)
    cov, _ = simulate(pop, audits=AUDITS, margin=MARGIN, confidence=CONFIDENCE, seed=1)
    lo, hi = cov.interval()
    rates = pop.rates()
    rows = [
        {
            "method": method,
            "stratum": s.label,
            "declared": s.size,
            "reviewed": s.sample,
            "true_wrong": round(rates[s.label] * s.size),
            "coverage": np.nan,
            "coverage_lo": np.nan,
            "coverage_hi": np.nan,
            "mean_half_width": np.nan,
        }
        for s in plan
    ]
    rows.append(
        {
            "method": method,
            "stratum": "all",
            "declared": cov.links,
            "reviewed": int(sum(s.sample for s in plan)),
            "true_wrong": cov.true_wrong,
            "coverage": cov.rate,
            "coverage_lo": lo,
            "coverage_hi": hi,
            "mean_half_width": cov.mean_half_width,
        }
    )
    frame = pd.DataFrame(rows)
    frame.attrs["expected_margin"] = expected_margin(plan, CONFIDENCE)
    return round_frame(frame)


def _model(ctx: ReportContext) -> pd.DataFrame | None:
    est = model_estimates(ctx.run)
    return None if est.empty else round_frame(est)


def model_calibration_figure(points: pd.DataFrame, name: str) -> Any:
    """Model-estimated FDR (x) against true FDR (y), one point per run and method, with the
    diagonal where a calibrated model's points would lie."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    top = float(np.nanmax(points[["model_FDR", "true_FDR"]].to_numpy())) * 1.1 or 0.01
    ax.plot([0, top], [0, top], color="grey", lw=1, ls="--", label="calibrated (y = x)")
    for marker, (method, g) in zip("os^vD", points.groupby("method", sort=False), strict=False):
        ax.scatter(g["model_FDR"], g["true_FDR"], marker=marker, s=36, alpha=0.8, label=method)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("model-estimated FDR (sum of 1 - posterior over declared links / declared)")
    ax.set_ylabel("true FDR (wrong links / declared links)")
    ax.set_title(f"{name}: the model's own FDR against the true FDR\n(one point per seeded run)")
    ax.legend(loc="lower right", fontsize="small")
    return fig


@register
class Audit(Section):
    name = "audit"
    order = 62
    needs = frozenset({"synthetic"})
    reads = frozenset({"run"})
    writes = (SIMULATION_FILE, MODEL_FILE)

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        return {SIMULATION_FILE: ctx.memo(_simulation), MODEL_FILE: ctx.memo(_model)}

    def markdown(self, ctx: ReportContext) -> list[str]:
        sim = ctx.memo(_simulation)
        model = ctx.memo(_model)
        if sim is None and model is None:
            return []
        lines = ["## Auditing the declared links", ""]
        if sim is not None:
            total = sim.iloc[-1]
            method = total["method"]
            rows = [
                [r["stratum"], fmt_cell(r["declared"], "int"), fmt_cell(r["reviewed"], "int"),
                 fmt_cell(r["true_wrong"], "int")]
                for r in sim.to_dict("records")
            ]  # fmt: skip
            lines += [
                f"An auditor holding only `{method}`'s declared links (first population) would "
                f"review the sample `linkrisk audit plan` proposes for a margin of "
                f"{MARGIN * 100:g} percentage points at {CONFIDENCE:.0%} confidence without "
                f"prior rates (proportional allocation over the strata):",
                "",
                _table(rows, ["stratum", "declared links", "reviewed", "wrong-person (truth)"]),
                "",
                f"Over {AUDITS} simulated audits (each a fresh draw, reviewed with the known "
                f"truth, estimated by `linkrisk audit estimate`), the 95% interval held the "
                f"true count of {fmt_cell(total['true_wrong'], 'int')} wrong-person links in "
                f"{total['coverage']:.1%} of them (95% interval of that coverage "
                f"{total['coverage_lo']:.1%} - {total['coverage_hi']:.1%}); the intervals' mean "
                f"half-width was {total['mean_half_width'] * 100:.2f} percentage points. Table: "
                f"`{SIMULATION_FILE}`.",
                "",
            ]
        if model is not None:
            rows = []
            for method, g in model.groupby("method", sort=False):
                declared = g["declared"].sum()
                rows.append(
                    [
                        method,
                        fmt_cell(declared, "int"),
                        fmt_cell(g["model_false"].sum() / declared, "pct"),
                        fmt_cell(g["true_false"].sum() / declared, "pct"),
                    ]
                )
            lines += [
                "Without any labels, a probabilistic model's posteriors give its own expected "
                "false discoveries (sum over declared links of 1 - posterior; fastLink's "
                "estimate). Pooled over the replicates, beside the truth:",
                "",
                _table(rows, ["method", "declared", "model-estimated FDR", "true FDR"]),
                "",
                f"Per replicate, with the model's FNMR: `{MODEL_FILE}`; over many seeds: "
                "`linkrisk audit calibrate-model`.",
                "",
            ]
        return lines


def _table(rows: list[list[str]], headers: list[str]) -> str:
    """A GitHub table: the label column left, the counts and rates right."""
    align = ["left", *["right"] * (len(headers) - 1)]
    return tabulate(rows, headers=headers, tablefmt="github", colalign=align)
