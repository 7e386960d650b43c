"""The figures of a calibration (``linkrisk calibrate``): the consistent region and the
tornado. Drawn here, apart from the computation in :mod:`bench.scale.calibration`, from its
``CalibrationResult`` (typed ``Any``: the report floor never imports the scale floor above it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def save_png(fig: Any, path: Path) -> None:
    """A figure as PNG bytes that depend on nothing but the figure (no software metadata)."""
    fig.savefig(path, format="png", dpi=90, metadata={"Software": None})  # deterministic bytes


def region_figure(res: Any) -> Any:
    """Pairwise scatter of the unknowns over the design, consistent points highlighted (one
    unknown: the unknown against the first target's scaled count, with the published band)."""
    from matplotlib.figure import Figure

    cal, pts = res.cal, res.points
    ok = pts["consistent"].to_numpy()
    keys = [u.key for u in cal.unknowns]
    d = len(keys)

    def scatter(ax: Any, x: np.ndarray, y: np.ndarray) -> None:
        ax.scatter(x[~ok], y[~ok], s=12, c="#bbbbbb", label="not consistent")
        ax.scatter(x[ok], y[ok], s=18, c="#c0392b", label="consistent")

    if d == 1:
        t = cal.targets[0]
        fig = Figure(figsize=(5.5, 4), layout="constrained")
        ax = fig.subplots()
        ax.axhspan(t.value - t.precision, t.value + t.precision, color="#f5cba7", alpha=0.6)
        ax.axhline(t.value, color="#e67e22", lw=1, label=f"published {t.name}")
        scatter(ax, pts[keys[0]].to_numpy(), pts[f"{t.name}.scaled"].to_numpy())
        ax.set_xlabel(keys[0])
        ax.set_ylabel(f"{t.name} at {cal.list_size:,} queries")
        ax.legend(fontsize=8)
        return fig
    n = d - 1
    fig = Figure(figsize=(2.6 * n + 1, 2.6 * n + 0.5), layout="constrained")
    axes = fig.subplots(n, n, squeeze=False)
    for i in range(n):
        for j in range(n):
            ax = axes[i][j]
            if j > i:
                ax.set_visible(False)
                continue
            scatter(ax, pts[keys[j]].to_numpy(), pts[keys[i + 1]].to_numpy())
            if i == n - 1:
                ax.set_xlabel(keys[j], fontsize=8)
            if j == 0:
                ax.set_ylabel(keys[i + 1], fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{int(ok.sum())} of {len(ok)} points consistent with every target", fontsize=9)
    return fig


def tornado_figure(res: Any) -> Any:
    """One tornado per output: its count with each unknown at its low and high end."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    outs = [q.name for q in res.cal.outputs]
    fig = Figure(figsize=(6, 1.2 + 0.5 * len(res.cal.unknowns) * len(outs)), layout="constrained")
    axes = fig.subplots(len(outs), 1, squeeze=False).ravel()
    for ax, name in zip(axes, outs, strict=True):
        t = res.tornado[res.tornado["quantity"] == name].sort_values("swing")
        y = np.arange(len(t))
        base = float(t["at_centre"].iloc[0]) if len(t) else 0.0
        ax.barh(y, t["at_low"] - base, left=base, color="#5dade2", label="unknown at low")
        ax.barh(y, t["at_high"] - base, left=base, color="#ec7063", label="unknown at high")
        ax.axvline(base, color="black", lw=0.8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_yticks(y, t["unknown"].tolist(), fontsize=8)
        ax.set_title(f"{name} at the real list size (centre {base:,.0f})", fontsize=9)
    axes[0].legend(fontsize=7)
    return fig
