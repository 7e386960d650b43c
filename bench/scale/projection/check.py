"""Projections checked against a direct simulation at the size projected to.

A projection extrapolates rule errors from simulations of a few hundred thousand people to a
list and register of another size. Where a case can also be simulated directly at that size (a
big-file run, e.g. ``irs-ice-1in10``), the direct counts are the check: :func:`direct_rows`
reads a finished run's false matches and misses per rule, with exact Poisson intervals, as rows
of the projection table, and :func:`agreement` sets each projection beside them. ``linkrisk
project SCENARIO --against RUN`` projects to the run's own size (queries, register records,
population) and prints both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.measurement.uncertainty import garwood
from bench.scale.projection.keys import Target
from synthetic.errors import LinkriskError

#: The approach label of a direct run's rows.
DIRECT = "direct simulation"


def _run_info(run_dir: Path) -> dict[str, Any]:
    path = Path(run_dir) / "raw" / "run.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LinkriskError(f"{path}: not found (is {run_dir} a linkrisk run directory?)") from None
    except (OSError, ValueError) as exc:
        raise LinkriskError(f"{path}: cannot be read ({type(exc).__name__})") from None
    if info.get("replicates", 1) != 1:
        raise LinkriskError(
            f"{path}: replicates: the check needs a run of one population, got {info['replicates']}"
        )
    return info


def _metrics(run_dir: Path) -> pd.DataFrame:
    path = Path(run_dir) / "metrics.csv"
    try:
        return pd.read_csv(path).set_index("method")
    except (OSError, ValueError, KeyError) as exc:
        raise LinkriskError(f"{path}: cannot be read ({type(exc).__name__})") from None


def run_target(run_dir: Path) -> Target:
    """The size of a direct run: its queries, register records and population (its metrics
    are checked to be readable here, before any simulation)."""
    info = _run_info(run_dir)
    _metrics(run_dir)
    return Target(int(info["queries"]), int(info["register_records"]), int(info["population"]))


def direct_rows(
    run_dir: Path, rules: Iterable[str], columns: Iterable[str], level: float
) -> pd.DataFrame:
    """One row per rule of ``rules`` that the run ran: its false matches (FP, declared links to
    another person's record) and misses (FN), each with an exact Poisson ``level`` interval, in
    the projection table's ``columns``."""
    info = _run_info(run_dir)
    metrics = _metrics(run_dir)
    label = f"{DIRECT}: {info['scenario']} (seed {info['seed']})"
    rows = []
    for rule in rules:
        if rule not in metrics.index or metrics.loc[rule, "status"] != "run":
            continue
        fp, fn = float(metrics.loc[rule, "FP"]), float(metrics.loc[rule, "FN"])
        row: dict[str, Any] = dict.fromkeys(columns, np.nan)
        (fp_lo, fn_lo), (fp_hi, fn_hi) = garwood(np.array([fp, fn]), level)
        row.update(
            rule=rule, approach=label, fp=fp, fp_lo=fp_lo, fp_hi=fp_hi,
            fp_per_query=fp / info["queries"], fn=fn, fn_lo=fn_lo, fn_hi=fn_hi, scale="-",
            assumptions=f"counted in {run_dir}",
        )  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows, columns=list(columns))


def _overlap(row: Any, direct: pd.Series, col: str) -> bool:
    """Whether a projection's ``col`` interval (its point where it has none) meets the direct
    run's."""
    point = getattr(row, col)
    lo, hi = getattr(row, f"{col}_lo"), getattr(row, f"{col}_hi")
    lo = lo if np.isfinite(lo) else point
    hi = hi if np.isfinite(hi) else point
    return bool(lo <= direct[f"{col}_hi"] and direct[f"{col}_lo"] <= hi)


def agreement(df: pd.DataFrame) -> pd.DataFrame:
    """Each projection beside the direct counts of its rule: false matches (``projected``,
    ``direct``, their ``ratio``, and whether the intervals overlap: ``consistent``) and misses
    (``fn_projected``, ``fn_direct``, ``fn_consistent``; NaN where the projection has none)."""
    direct = df[df["approach"].str.startswith(DIRECT)].set_index("rule")
    rows = []
    for r in df[~df["approach"].str.startswith(DIRECT)].itertuples():
        if r.rule not in direct.index or not np.isfinite(r.fp):
            continue
        d = direct.loc[r.rule]
        has_fn = np.isfinite(r.fn) and np.isfinite(r.fn_lo)
        rows.append(
            {
                "rule": r.rule,
                "approach": r.approach,
                "projected": r.fp,
                "direct": d["fp"],
                "ratio": r.fp / d["fp"] if d["fp"] > 0 else np.inf if r.fp > 0 else 1.0,
                "consistent": _overlap(r, d, "fp"),
                "fn_projected": r.fn if has_fn else np.nan,
                "fn_direct": d["fn"],
                "fn_consistent": _overlap(r, d, "fn") if has_fn else None,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["rule", "approach", "projected", "direct", "ratio", "consistent",
                 "fn_projected", "fn_direct", "fn_consistent"],
    )  # fmt: skip
