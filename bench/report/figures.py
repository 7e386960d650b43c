"""The report's figures, drawn from computed tables (no computation of rates here).

Threshold curves from a sweep frame (:func:`bench.measurement.sweeps.sweep_run`): the error
trade-off (DET-style), precision-recall and the rates by threshold of one method. Subgroup
charts from :func:`bench.measurement.subgroups.subgroups_run` and
:func:`bench.measurement.subgroups.match_matrix`: rate ratios to a reference label and the
false-match heatmap.

Each function returns a bare :class:`matplotlib.figure.Figure` on an Agg canvas (no pyplot
state, never saved or shown); :func:`bench.report.html.figure_to_data_uri` embeds it. matplotlib
is imported lazily, and only by this package: measurement code does not depend on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bench.measurement.subgroups import RATES, RATIO_METRICS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Short axis labels for exhibits: the metric's name and its definition.
LABELS = {
    "FMR": "False match rate (FMR)\n"
    "wrong-person links / different-person pairs (queries × register)",
    "FNMR": "False non-match rate (FNMR)\nmissed true links / true links",
    "recall": "Recall = true links found / true links",
    "precision": "Precision = correct links / declared links",
    "threshold": "Threshold (pairs scoring at least this are accepted)",
    "FDR": "false discovery rate (wrong links / declared links)",
    "wrong_person_rate": "wrong-person rate (queries linked to a wrong record / queries)",
    "FNMR_short": "false non-match rate (missed true links / true links)",
}


# --- threshold sweeps ---------------------------------------------------------------------


def plot_error_tradeoff(sweeps: pd.DataFrame, reference_fmr: float = 1e-4) -> Figure:
    """DET-style curve per method: FMR (x, log) against FNMR (y, log).

    Each method's own operating point is marked; a dashed vertical line marks ``reference_fmr``.
    Points with zero FMR or FNMR cannot be drawn on log axes and are left out (noted on the
    figure).
    """
    fig, ax = _figure()
    for i, (name, frame) in enumerate(sweeps.groupby("method", sort=False)):
        color = f"C{i % 10}"
        shown = frame[(frame["FMR"] > 0) & (frame["FNMR"] > 0)]
        ax.plot(shown["FMR"], shown["FNMR"], color=color, label=str(name))
        own = shown[shown["own_threshold"]]
        ax.scatter(own["FMR"], own["FNMR"], color=color, edgecolor="black", zorder=3)
    ax.axvline(reference_fmr, color="grey", linestyle="--", label=f"FMR = {reference_fmr:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis)  # FNMR spans about one decade: label the minor ticks too
    ax.set_xlabel(LABELS["FMR"])
    ax.set_ylabel(LABELS["FNMR"])
    ax.set_title("Error trade-off: wrong-person links against missed links")
    _note(fig, "Dots: each method's own threshold. Points with a zero rate cannot be shown.")
    ax.legend(fontsize="small")
    ax.grid(True, which="both", alpha=0.3)
    return fig


def plot_precision_recall(sweeps: pd.DataFrame) -> Figure:
    """Precision against recall per method, with each method's own operating point marked."""
    fig, ax = _figure()
    for i, (name, frame) in enumerate(sweeps.groupby("method", sort=False)):
        color = f"C{i % 10}"
        shown = frame.dropna(subset=["precision", "recall"])
        ax.plot(shown["recall"], shown["precision"], color=color, label=str(name))
        own = shown[shown["own_threshold"]]
        ax.scatter(own["recall"], own["precision"], color=color, edgecolor="black", zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(LABELS["recall"])
    ax.set_ylabel(LABELS["precision"])
    ax.set_title("Precision and recall over the threshold range")
    _note(fig, "Dots: each method's own threshold.")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return fig


def plot_rates_by_threshold(sweeps: pd.DataFrame, method: str) -> Figure:
    """FDR, wrong-person rate and FNMR of one method against the threshold.

    A dotted vertical line marks the method's own threshold.
    """
    frame = sweeps[sweeps["method"] == method] if "method" in sweeps else sweeps
    if frame.empty:
        raise ValueError(f"no sweep for method {method!r}")
    fig, ax = _figure()
    for col, label in (
        ("FDR", LABELS["FDR"]),
        ("wrong_person_rate", LABELS["wrong_person_rate"]),
        ("FNMR", LABELS["FNMR_short"]),
    ):
        # A row's rates hold for every threshold above the previous row's, up to its own.
        ax.plot(frame["threshold"], frame[col], label=label, drawstyle="steps-pre")
    for t in frame.loc[frame["own_threshold"], "threshold"]:
        ax.axvline(t, color="grey", linestyle=":", label=f"own threshold {t:.4g}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(LABELS["threshold"])
    ax.set_ylabel("Rate")
    ax.set_title(f"{method}: error rates by threshold")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return fig


# --- subgroups -----------------------------------------------------------------------------


def plot_ratios(
    frame: pd.DataFrame,
    metric: str = "wrong_person_rate",
    dimension: str = "group",
    methods: Sequence[str] | None = None,
) -> Figure:
    """Each label's ``metric`` ratio to the reference label, on a log x axis with 95% interval
    bars; one panel per method (``methods``, default all in frame order; three per row). Tick
    labels carry the events / denominator of each label; the reference is drawn hollow at 1."""
    from matplotlib.figure import Figure

    if metric not in RATIO_METRICS:
        raise ValueError(f"metric must be one of {RATIO_METRICS}, not {metric!r}")
    sel = frame[frame["dimension"] == dimension]
    if sel.empty:
        raise ValueError(f"no rows for dimension {dimension!r}")
    names = list(dict.fromkeys(sel["method"])) if methods is None else list(methods)
    num, den = RATES[metric]
    ratio = sel[f"{metric}_ratio"].to_numpy(dtype=np.float64)
    finite = np.concatenate(
        [sel[f"{metric}_ratio_{s}"].to_numpy(dtype=np.float64) for s in ("lo", "hi")] + [ratio]
    )
    finite = finite[np.isfinite(finite) & (finite > 0)]
    # One shared log range over all panels, padded, always including 1.
    x_lo = min(finite.min(initial=1.0), 1.0) / 1.5
    x_hi = max(finite.max(initial=1.0), 1.0) * 1.5

    n_labels = sel["label"].nunique()
    # panels wrap after `ncols`, so a figure stays page-wide however many methods there are
    ncols = min(len(names), 3)
    nrows = -(-len(names) // ncols)
    fig = Figure(figsize=(4.2 * ncols, (0.45 * n_labels + 1.2) * nrows + 0.4), layout="constrained")
    grid = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in grid[len(names) :]:
        ax.set_visible(False)
    axes = grid[: len(names)]
    for ax, method in zip(axes, names, strict=True):
        m = sel[sel["method"] == method]
        if m.empty:
            raise ValueError(f"no rows for method {method!r}")
        y = np.arange(len(m))[::-1]  # first label on top
        r = m[f"{metric}_ratio"].to_numpy(dtype=np.float64)
        lo = m[f"{metric}_ratio_lo"].to_numpy(dtype=np.float64)
        hi = m[f"{metric}_ratio_hi"].to_numpy(dtype=np.float64)
        is_ref = (m["label"] == m["reference"]).to_numpy()
        ok = np.isfinite(r) & ~is_ref
        ax.axvline(1.0, color="0.6", lw=1, zorder=0)
        ax.errorbar(
            r[ok],
            y[ok],
            xerr=np.vstack([r[ok] - lo[ok], hi[ok] - r[ok]]),
            fmt="o",
            color="C0",
            ecolor="C0",
            capsize=3,
        )
        ref_ok = is_ref & np.isfinite(r)
        ax.plot(r[ref_ok], y[ref_ok], "o", mfc="white", mec="C0")
        ax.set_xscale("log")
        ax.set_xlim(x_lo, x_hi)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [
                f"{lab}{' (ref)' if ref else ''}  {k:,}/{n:,}"
                for lab, ref, k, n in zip(m["label"], is_ref, m[num], m[den], strict=True)
            ],
            fontsize=8,
        )
        ax.set_ylim(-0.7, len(m) - 0.3)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel(f"{metric} ratio to reference (log)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"{metric} by {dimension}: ratio to the reference label, 95% interval", fontsize=9)
    return fig


def plot_match_matrix(matrix: pd.DataFrame, method: str, value: str = "row_share") -> Figure:
    """Heatmap of one method's false matches: query person's label (rows) by the falsely
    linked register person's label (columns), coloured by ``value`` (``row_share`` or ``FP``),
    each cell annotated with its count."""
    from matplotlib.figure import Figure

    m = matrix[matrix["method"] == method]
    if m.empty:
        raise ValueError(f"no rows for method {method!r}")
    if value not in ("row_share", "FP"):
        raise ValueError(f"value must be 'row_share' or 'FP', not {value!r}")
    labels = list(dict.fromkeys(m["query_label"]))
    k = len(labels)
    counts = m["FP"].to_numpy(dtype=np.int64).reshape(k, k)
    shade = np.nan_to_num(m[value].to_numpy(dtype=np.float64).reshape(k, k))
    top = shade.max() if shade.max() > 0 else 1.0

    fig = Figure(figsize=(1.0 * k + 2.6, 0.8 * k + 1.6), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shade, cmap="Blues", vmin=0.0, vmax=top)
    for i in range(k):
        for j in range(k):
            dark = shade[i, j] > top / 2
            ax.text(
                j,
                i,
                f"{counts[i, j]:,}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(k))
    ax.set_xticklabels(labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels(labels, fontsize=8)
    dimension = str(m["dimension"].iloc[0])
    ax.set_xlabel(f"falsely linked register person's {dimension}", fontsize=8)
    ax.set_ylabel(f"query person's {dimension}", fontsize=8)
    ax.set_title(f"{method}: {int(counts.sum()):,} false matches", fontsize=9)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(
        "share of the row's false matches" if value == "row_share" else "false matches", fontsize=8
    )
    return fig


# --- helpers -------------------------------------------------------------------------------


def _figure() -> tuple[Figure, Axes]:
    # A bare Figure on an Agg canvas: no pyplot state, no GUI backend, nothing left open.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _note(fig: Figure, text: str) -> None:
    # A figure-level x label is laid out below the axes' own label, so it never overlaps it.
    fig.supxlabel(text, x=0.01, ha="left", fontsize="small", color="dimgrey")


def _plain_log_ticks(axis: Any) -> None:
    """Log-axis tick labels as plain numbers (0.2, 0.5) rather than powers (2 x 10^-1)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v >= 0.01 else ""))
