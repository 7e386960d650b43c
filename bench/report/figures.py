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
from bench.measurement.uncertainty import wilson
from bench.report.labels import dimension_text, field_text, label_text, metric_text

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


def match_weight(probability: np.ndarray | pd.Series) -> np.ndarray:
    """Splink's match weight of a posterior match probability: log2 of the odds (the prior's
    weight included). Probabilities of exactly 0 or 1 (float32 scores round to them) are held
    one float32 step inside, so every threshold has a finite weight."""
    p = np.clip(np.asarray(probability, dtype=np.float64), 2.0**-24, 1 - 2.0**-24)
    return np.log2(p / (1 - p))


#: How a method's threshold is shown, by its declared ``score_scale``: (axis label, transform).
THRESHOLD_SCALES: dict[str, str] = {
    "probability": "Threshold as match weight = log2(p / (1 - p)) of the match probability p",
    "score": "Threshold (pairs scoring at least this are accepted)",
}


def plot_rates_by_threshold(
    sweeps: pd.DataFrame, method: str, queries: int | None = None, scale: str = "score"
) -> Figure:
    """The share of links that are wrong, the wrong-person rate and the missed-link rate of one
    method against its threshold, each with its 95% Wilson band (from the counts at each
    threshold; ``queries`` is the wrong-person rate's denominator, no band without it).

    ``scale``: the method's declared score scale; ``probability`` thresholds are drawn as
    match weights (:func:`match_weight`), as Splink and Fellegi-Sunter read them. A dotted
    vertical line marks the method's own threshold.
    """
    frame = sweeps[sweeps["method"] == method] if "method" in sweeps else sweeps
    if frame.empty:
        raise ValueError(f"no sweep for method {method!r}")
    weight = scale == "probability"
    x = match_weight(frame["threshold"]) if weight else frame["threshold"].to_numpy(float)
    fig, ax = _figure(figsize=(7, 4.6))
    true_links = (frame["TP"] + frame["FN"]).to_numpy(float)
    series = (
        ("FDR", "FP", frame["declared"].to_numpy(float)),
        ("wrong_person_rate", "wrong_people", None if queries is None else float(queries)),
        ("FNMR", "FN", true_links),
    )
    for i, (col, num, den) in enumerate(series):
        color = f"C{i}"
        # A row's rates hold for every threshold above the previous row's, up to its own.
        ax.plot(x, frame[col], label=metric_text(col), drawstyle="steps-pre", color=color)
        if den is not None:
            lo, hi = wilson(frame[num].to_numpy(float), np.broadcast_to(den, len(frame)))
            ax.fill_between(x, lo, hi, step="pre", color=color, alpha=0.2, lw=0)
    for t in frame.loc[frame["own_threshold"], "threshold"]:
        shown = float(match_weight([t])[0]) if weight else float(t)
        own = f"own threshold {shown:.3g}" + (f" (p = {t:.4g})" if weight else "")
        ax.axvline(shown, color="grey", linestyle=":", label=own)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(THRESHOLD_SCALES.get(scale, THRESHOLD_SCALES["score"]))
    ax.set_ylabel("Rate (share, 0 to 1)")
    ax.set_title(f"{method}: error rates by threshold (bands: 95% intervals)")
    ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    return fig


# --- explaining a link ----------------------------------------------------------------------


def plot_waterfall(explained: pd.DataFrame, method: str) -> Figure:
    """One panel per explained pair of ``method`` (rows of ``raw/explanations.parquet``): the
    match weight built term by term, as Splink's waterfall chart: the prior, then each field's
    log2(m / u) (green raises the weight, red lowers it), and the final weight with its match
    probability. Field labels carry the agreement level."""
    from matplotlib.figure import Figure

    sel = explained[explained["method"] == method]
    if sel.empty:
        raise ValueError(f"no explanations for method {method!r}")
    examples = list(dict.fromkeys(sel["example"]))
    n_terms = int(sel.groupby("example").size().max()) + 1
    fig = Figure(figsize=(4.2 * len(examples), 0.32 * n_terms + 1.6), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(examples), sharex=True))
    for ax, example in zip(axes, examples, strict=True):
        terms = sel[sel["example"] == example]
        weights = terms["weight"].to_numpy(float)
        ends = np.cumsum(weights)
        starts = ends - weights
        total = float(ends[-1])
        labels = [
            "prior" if t == "prior" else f"{field_text(t)}: {lab}"
            for t, lab in zip(terms["term"], terms["level_label"], strict=True)
        ]
        y = np.arange(len(weights) + 1)[::-1]
        colors = ["0.6" if t == "prior" else ("C2" if w >= 0 else "C3")
                  for t, w in zip(terms["term"], weights, strict=True)]  # fmt: skip
        ax.barh(y[:-1], weights, left=starts, color=colors, height=0.6)
        ax.barh(y[-1], total, color="C0", height=0.6)
        ax.axvline(0, color="0.3", lw=0.8)
        prob = 1 / (1 + 2.0 ** (-total))
        ax.set_yticks(y)
        ax.set_yticklabels([*labels, f"final: {total:.1f} (p = {prob:.3f})"], fontsize=7)
        ax.set_title(f"false match {int(example) + 1}", fontsize=8)
        ax.set_xlabel("match weight (log2 of the odds)", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(True, axis="x", alpha=0.3)
    fig.suptitle(f"{method}: why these different people were linked", fontsize=9)
    return fig


# --- the summary -----------------------------------------------------------------------------


def plot_summary(summary: pd.DataFrame) -> Figure:
    """The report's main figure: per method (rows), wrong-person links per 1,000,000 queried
    people (left, log scale) and missed links per 1,000 true links (right), each with its 95%
    Wilson interval. Where a method made no such error there is no point: the interval from
    zero to its upper bound is drawn dashed and marked "none seen"."""
    from matplotlib.figure import Figure

    ran = summary[summary["status"] == "run"] if "status" in summary else summary
    names = list(ran["method"])
    n = len(names)
    fig = Figure(figsize=(7, 0.3 * n + 1.5), layout="constrained")
    left, right = fig.subplots(1, 2, sharey=True)
    y = np.arange(n)[::-1]
    panels = (
        (
            left,
            "wrong_person_rate",
            1e6,
            "wrong-person links per 1,000,000 queries (log scale)",
            True,
        ),
        (right, "FNMR", 1e3, "missed links per 1,000 true links", False),
    )
    for ax, rate, per, xlabel, log in panels:
        point = ran[rate].to_numpy(float) * per
        lo = ran[f"{rate}_lo"].to_numpy(float) * per
        hi = ran[f"{rate}_hi"].to_numpy(float) * per
        seen = point > 0
        floor = (lo[seen & (lo > 0)].min(initial=per) / 3) if log else 0.0
        ax.errorbar(
            point[seen],
            y[seen],
            xerr=np.vstack([point[seen] - np.maximum(lo[seen], floor), hi[seen] - point[seen]]),
            fmt="o",
            color="C0",
            capsize=3,
        )
        for yy, h in zip(y[~seen], hi[~seen], strict=True):
            ax.plot([floor, h], [yy, yy], color="C0", linestyle="--", lw=1.2)
            ax.plot([h], [yy], marker="|", color="C0", markersize=9)
            ax.annotate("none seen", (h, yy), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=7, color="C0")  # fmt: skip
        if log:
            ax.set_xscale("log")
            _few_log_ticks(ax)
            ax.set_xlim(left=floor)
        else:
            ax.set_xlim(0, min(1.05 * per, 1.1 * float(np.nanmax(hi, initial=1.0))))
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    left.set_yticks(y)
    left.set_yticklabels(names, fontsize=8)
    left.set_ylim(-0.7, n - 0.3)
    fig.suptitle("Errors per method, pooled over the replicates (95% intervals)", fontsize=9)
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
    labels carry the events / denominator of each label; the reference is drawn hollow at 1.

    A label or reference without events has no ratio to show: only its interval is drawn,
    dashed, marked "0 events". With a ``<metric>_ratio_significant`` column (a multiple-
    comparison rule applied over the ratios shown), ratios that survive it are filled, the
    others hollow."""
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
    significant = f"{metric}_ratio_significant"

    n_labels = sel["label"].nunique()
    # panels wrap after `ncols`, so a figure stays page-wide however many methods there are
    ncols = min(len(names), 3)
    nrows = -(-len(names) // ncols)
    fig = Figure(figsize=(4.4 * ncols, (0.45 * n_labels + 1.2) * nrows + 0.5), layout="constrained")
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
        no_events = m[f"{metric}_ratio_corrected"].to_numpy(dtype=bool)
        survives = (
            m[significant].to_numpy(dtype=bool) if significant in m else np.ones(len(m), bool)
        )
        ok = np.isfinite(r) & ~is_ref & ~no_events
        ax.axvline(1.0, color="0.6", lw=1, zorder=0)
        for keep, face in ((ok & survives, "C0"), (ok & ~survives, "white")):
            ax.errorbar(
                r[keep],
                y[keep],
                xerr=np.vstack([r[keep] - lo[keep], hi[keep] - r[keep]]),
                fmt="o",
                color="C0",
                mfc=face,
                ecolor="C0",
                capsize=3,
            )
        for yy, a, b in zip(y[no_events], lo[no_events], hi[no_events], strict=True):
            if np.isfinite(a) and np.isfinite(b):
                ax.plot([max(a, x_lo), min(b, x_hi)], [yy, yy], color="C0", ls="--", lw=1)
                end = (min(b, x_hi), yy)
                ax.annotate("0 events", end, xytext=(3, 0), textcoords="offset points",
                            va="center", fontsize=7, color="C0")  # fmt: skip
        ref_ok = is_ref & np.isfinite(r)
        ax.plot(r[ref_ok], y[ref_ok], "s", mfc="white", mec="0.3")
        ax.set_xscale("log")
        ax.set_xlim(x_lo, x_hi)
        _few_log_ticks(ax)
        ax.set_yticks(y)
        ax.set_yticklabels(
            [
                f"{label_text(lab)}{' (reference)' if ref else ''}  {k:,}/{n:,}"
                for lab, ref, k, n in zip(m["label"], is_ref, m[num], m[den], strict=True)
            ],
            fontsize=8,
        )
        ax.set_ylim(-0.7, len(m) - 0.3)
        ax.set_title(method, fontsize=9)
        ax.set_xlabel("ratio to the reference (log scale)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    rule = (
        " Filled: the ratio differs from 1 after the Benjamini-Hochberg correction over all "
        "ratios shown; hollow: it does not."
        if significant in sel
        else ""
    )
    fig.suptitle(
        f"{metric_text(metric).capitalize()} by {dimension_text(dimension)}: ratio to the "
        f"reference, 95% interval; tick labels: events / people.{rule}",
        fontsize=9,
        wrap=True,
    )
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
    ax.set_xticklabels([label_text(v) for v in labels], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(k))
    ax.set_yticklabels([label_text(v) for v in labels], fontsize=8)
    dimension = dimension_text(str(m["dimension"].iloc[0]))
    ax.set_xlabel(f"falsely linked register person's {dimension}", fontsize=8)
    ax.set_ylabel(f"query person's {dimension}", fontsize=8)
    ax.set_title(f"{method}: {int(counts.sum()):,} false matches", fontsize=9)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.set_label(
        "share of the row's false matches" if value == "row_share" else "false matches", fontsize=8
    )
    return fig


# --- helpers -------------------------------------------------------------------------------


def _figure(figsize: tuple[float, float] = (8, 6)) -> tuple[Figure, Axes]:
    # A bare Figure on an Agg canvas: no pyplot state, no GUI backend, nothing left open.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _note(fig: Figure, text: str) -> None:
    # A figure-level x label is laid out below the axes' own label, so it never overlaps it.
    fig.supxlabel(text, x=0.01, ha="left", fontsize="small", color="dimgrey")


def _few_log_ticks(ax: Axes) -> None:
    """A log x axis with labelled decades and no minor ticks: a tick is an object laid out and
    drawn twice (constrained layout), and a panel's minor ticks cost more than its data."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    ax.xaxis.set_major_locator(LogLocator(numticks=5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _compact(v)))
    ax.xaxis.set_minor_locator(NullLocator())


def _compact(value: float) -> str:
    """A tick value in few characters: 0.1, 1, 10, 1k, 10k, 1M."""
    for size, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _plain_log_ticks(axis: Any) -> None:
    """Log-axis tick labels as plain numbers (0.2, 0.5) rather than powers (2 x 10^-1)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v >= 0.01 else ""))
