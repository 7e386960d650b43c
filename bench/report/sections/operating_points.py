"""*Operating points (scored methods)*: what each scored method would do at thresholds that
meet declared rates; the threshold sweeps and their figures."""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd
from tabulate import tabulate

from bench.linkage.methods import METHODS
from bench.measurement.sweeps import operating_points, sweep_runs
from bench.measurement.uncertainty import wilson
from bench.report.context import ReportContext
from bench.report.figures import (
    match_weight,
    plot_error_tradeoff,
    plot_precision_recall,
    plot_rates_by_threshold,
)
from bench.report.sections.base import ReportFigure, Section, register
from synthetic.precision import round_frame

#: Rows kept per method in sweeps.csv (evenly spaced in rank; the method's own threshold kept).
SWEEP_POINTS = 400
#: Declared rates at which operating points are reported: (rate, targets).
OPERATING_TARGETS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("FPIR", (1e-2, 1e-3)),
    ("FMR", (1e-6,)),
)


def _both(ctx: ReportContext) -> list[pd.DataFrame]:
    """Every scored method's sweep thinned to :data:`SWEEP_POINTS` rows, and unthinned: from
    one reading and ordering of each method's pairs."""
    return sweep_runs(ctx.path, [SWEEP_POINTS, None])


def _sweeps(ctx: ReportContext) -> pd.DataFrame:
    """Every scored method's sweep, thinned to :data:`SWEEP_POINTS` rows, rounded."""
    return round_frame(ctx.memo(_both)[0])


def _points(ctx: ReportContext) -> pd.DataFrame:
    """Operating points at :data:`OPERATING_TARGETS`, from the unthinned sweeps (exact
    thresholds, swept once for all targets), rounded."""
    full = ctx.memo(_both)[1]
    points = pd.concat(
        [operating_points(full, targets=t, rate=r).assign(rate=r) for r, t in OPERATING_TARGETS],
        ignore_index=True,
    )
    return round_frame(points)


#: The operating-point table's headers: rates in words, their codes in brackets.
POINT_HEADERS = [
    "method", "at", "threshold", "absent people linked (FPIR)", "wrong-person rate",
    "share of links wrong (FDR)", "missed-link rate (FNMR)",
    "false match rate per comparison (FMR)",
]  # fmt: skip


def _scale(meta: dict[str, Any]) -> str | None:
    """The score scale a method's class declares; None for a method without a threshold (a
    rule: its "scores" are pass numbers, not a scale a reader could set)."""
    cls = METHODS.get(meta.get("kind", ""))
    if cls is None or cls.threshold_param is None:
        return None
    return cls.score_scale


def _threshold_text(threshold: float, scale: str | None) -> str:
    """A threshold in the method's own scale: a match weight for probabilities."""
    if scale == "probability":
        return f"weight {float(match_weight([threshold])[0]):.2f} (p = {threshold:.6g})"
    return f"{threshold:.6g}"


def _point(rec: dict[str, Any], queries: int, true_links: int) -> list[str]:
    """Rates at an operating point, each with its Wilson upper 95% bound."""
    non_mated = queries - true_links
    counts = {
        "FPIR": (round(rec["FPIR"] * non_mated) if non_mated else 0, non_mated),
        "wrong_person_rate": (rec["wrong_people"], queries),
        "FDR": (rec["FP"], rec["declared"]),
        "FNMR": (rec["FN"], true_links),
    }
    cells = []
    for rate, (k, n) in counts.items():
        upper = wilson(k, n)[1] if n else float("nan")
        cells.append(f"{100 * rec[rate]:.2f}% (≤ {100 * upper:.2f}%)" if n else "n/a")
    return [*cells, f"{rec['FMR']:.2g}"]


def _rows(
    sweeps: pd.DataFrame,
    points: pd.DataFrame,
    queries: int,
    true_links: int,
    scales: dict[str, str | None],
) -> list:
    """Each method's own threshold, then its points at the targets, methods in sweep order."""
    own = sweeps[sweeps["own_threshold"]]
    rows = [
        [
            rec["method"],
            "own threshold",
            _threshold_text(rec["threshold"], scales.get(rec["method"])),
            *_point(rec, queries, true_links),
        ]
        for rec in own.to_dict("records")
    ]
    for rec in points.to_dict("records"):
        target = f"{rec['rate']} ≤ {rec['target']:g}"
        if pd.isna(rec["threshold"]):
            rows.append([rec["method"], target, "not reachable", *(["-"] * 5)])
        else:
            rows.append(
                [
                    rec["method"],
                    target,
                    _threshold_text(rec["threshold"], scales.get(rec["method"])),
                    *_point(rec, queries, true_links),
                ]
            )
    order = list(dict.fromkeys(own["method"]))
    rows.sort(key=lambda r: order.index(r[0]))
    return rows


@register
class OperatingPoints(Section):
    name = "operating-points"
    order = 50
    # Its curves lead the figures of report.html (before the subgroups'), as they always have.
    figure_order = 35
    reads = frozenset({"path", "info", "methods"})
    writes = ("sweeps.csv", "operating_points.csv")

    def tables(self, ctx: ReportContext) -> dict[str, pd.DataFrame | None]:
        return {"sweeps.csv": ctx.memo(_sweeps), "operating_points.csv": ctx.memo(_points)}

    def markdown(self, ctx: ReportContext) -> list[str]:
        sweeps = ctx.memo(_sweeps)
        if sweeps.empty:  # no scored method
            return []
        scales = {name: _scale(meta) for name, meta in ctx.methods.items()}
        rows = _rows(sweeps, ctx.memo(_points), ctx.info["queries"], ctx.info["true_links"], scales)
        return [
            "## Operating points (scored methods)",
            "",
            "What each scored method would do at the threshold that meets a declared rate: the "
            "most permissive threshold whose rate is at or below the target. FPIR (false positive "
            "identification rate, NIST FRVT 1:N) = queries with no true record that were linked "
            "to anything / such queries. FMR (per comparison, over all query x register pairs) is "
            "given for completeness: in a 1:N search with one link per query it is tiny at any "
            "threshold, so an FMR target says little about wrong people. Full curves over every "
            "threshold: `sweeps.csv` (and the figures of `report.html`). Thresholds are in the "
            "method's own scale: for methods scoring a match probability p (Fellegi-Sunter, "
            "Splink, ECM), the match weight log2(p / (1 - p)), as Splink reports it. Curves, "
            "bands and points are those of the run's own seed (replicate 1): the other "
            "replicates keep their declared links, not every scored pair, so the bands are 95% "
            "Wilson intervals of that seed's counts.",
            "",
            tabulate(
                rows,
                headers=[
                    "method",
                    "at",
                    "threshold",
                    "absent people linked (FPIR)",
                    "wrong-person rate",
                    "share of links wrong (FDR)",
                    "missed-link rate (FNMR)",
                    "false match rate per comparison (FMR)",
                ],
                tablefmt="github",
                colalign=["left", "left"] + ["right"] * 6,
            ),
            "",
        ]

    def figures(self, ctx: ReportContext) -> list[ReportFigure]:
        sweeps = ctx.memo(_sweeps)
        # Log axes need a point with both rates above zero (e.g. none when the scored methods
        # did not run and the rules made no false match).
        if sweeps.empty or not ((sweeps["FMR"] > 0) & (sweeps["FNMR"] > 0)).any():
            return []
        return [
            ReportFigure(
                "error-tradeoff",
                "False match rate (per comparison) against false non-match rate over every "
                "threshold of each scored method (DET-style, log scales); dots: the method's own "
                "threshold.",
                lambda: plot_error_tradeoff(sweeps, reference_fmr=1e-6),
            ),
            ReportFigure(
                "precision-recall",
                "Precision (1 - FDR) against recall (1 - FNMR) over every threshold.",
                lambda: plot_precision_recall(sweeps),
            ),
            *(
                ReportFigure(
                    f"rates-{method}",
                    f"{method}: share of links that are wrong, wrong-person rate and missed-link "
                    "rate against the threshold"
                    + (" (as a match weight)" if scale == "probability" else "")
                    + ", with 95% Wilson bands from the counts of the run's own seed.",
                    partial(plot_rates_by_threshold, sweeps, method, ctx.info["queries"], scale),
                )
                for method in dict.fromkeys(sweeps["method"])
                # rules have pass numbers, not thresholds: their points are in the table
                if (scale := _scale(ctx.methods[method])) is not None
            ),
        ]
