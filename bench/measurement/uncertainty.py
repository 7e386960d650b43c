"""Uncertainty of the reported rates: binomial intervals within a run, spread across replicates.

Every rate of :mod:`bench.measurement.metrics` is a ratio of counts, ``numerator / denominator``
(see
:data:`RATES`). Two sources of uncertainty are reported:

* **within a replicate**: the sampling error of the counts, as a 95% Wilson score interval (or,
  on request, the exact Clopper-Pearson interval) of ``numerator`` successes in ``denominator``
  trials. It treats each query (or link) as an independent trial; households make errors cluster,
  so this interval alone is optimistic.
* **across replicates**: ``--replicates K`` reruns the scenario on K independently seeded
  populations. The spread of a rate across them (mean, standard deviation, min, max, and a 95%
  t-interval of the mean) includes everything that changes with the population.

The *upper 95% bound* shown next to a rate is the larger of the upper end of the Wilson interval
of the pooled counts and the upper end of the across-replicate t-interval (only the former with a
single replicate): the conservative figure for a court.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bench.measurement.metrics import PER

#: Rate -> (numerator, denominator) columns of a metrics frame
#: (``bench.measurement.metrics.Confusion``).
RATES: dict[str, tuple[str, str]] = {
    "FDR": ("FP", "declared"),
    "wrong_person_rate": ("wrong_people", "queries"),
    "FNMR": ("FN", "true_links"),
    "verified_rate": ("verified", "queries"),
    "unverified_address_rate": ("unverified_address", "queries"),
    "unverified_address_share": ("unverified_address", "verified"),
}
#: Counts that are also reported per 1,000,000 queries, with their Poisson upper bound.
PER_1M_COUNTS = ("FP", "FN", "wrong_people", "unverified_address")
CONFIDENCE = 0.95

DEFINITIONS: dict[str, str] = {
    "_lo / _hi": "95% Wilson score interval of the rate's counts within one run (each query or "
    "link treated as an independent trial)",
    "_upper": "upper 95% bound: the larger of the Wilson upper bound of the counts pooled over "
    "replicates and the upper end of the 95% t-interval of the mean across replicates",
    "_sd / _min / _max": "spread of the rate across independently seeded replicate populations",
    "per 1M upper": "upper 95% bound of a count per 1,000,000 queries: the exact (Garwood) "
    "Poisson upper bound of the pooled count, divided by the pooled queries",
}


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _counts(k: np.ndarray | float, n: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise ValueError("need 0 <= k <= n for every count")
    return k, n


def wilson(
    k: np.ndarray | float, n: np.ndarray | float, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of k successes in n trials (vectorized); NaN where n == 0.

    Wilson (1927); recommended over the Wald interval by Brown, Cai and DasGupta (2001) because it
    keeps close to nominal coverage for small counts and rates near 0, as false-match rates are.
    """
    k, n = _counts(k, n)
    z = _z(confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    lo, hi = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    lo = np.where(k == 0, 0.0, lo)  # exact at the boundary (rounding can leave 1e-17)
    hi = np.where(k == n, 1.0, hi)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def clopper_pearson(
    k: np.ndarray | float, n: np.ndarray | float, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson, 1934) interval of k successes in n trials; NaN where n == 0."""
    k, n = _counts(k, n)
    alpha = 1 - confidence
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.beta.ppf(alpha / 2, k, n - k + 1), 0.0)
        hi = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k), 1.0)
    return np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)


def with_intervals(metrics: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """``metrics`` plus ``<rate>_lo`` and ``<rate>_hi`` (Wilson) after each rate of RATES."""
    out = metrics.copy()
    for rate, (num, den) in RATES.items():
        lo, hi = wilson(out[num].to_numpy(), out[den].to_numpy(), confidence)
        at = out.columns.get_loc(rate) + 1
        out.insert(at, f"{rate}_lo", lo)
        out.insert(at + 1, f"{rate}_hi", hi)
    return out


def across_replicates(
    per_replicate: pd.DataFrame,
    confidence: float = CONFIDENCE,
    by: tuple[str, ...] = ("method",),
) -> pd.DataFrame:
    """One row per method (per group of the ``by`` columns, e.g. method and path) from
    per-replicate metrics (columns ``replicate``, ``by`` and the counts): counts summed over
    replicates, each rate pooled (summed numerator / summed denominator) with its Wilson
    interval, its mean, sd, min and max across replicates, the 95% t-interval of the mean (NaN
    with one replicate) and the upper bound ``<rate>_upper``."""
    skip = {"replicate", "seed", *by}
    counts = [c for c in per_replicate.columns if c not in RATES and c not in skip]
    counts = [c for c in counts if pd.api.types.is_integer_dtype(per_replicate[c])]
    grouped = per_replicate.groupby(list(by), sort=False)
    out = grouped[counts].sum()
    out.insert(0, "replicates", grouped.size())
    t = grouped.size().to_numpy()
    tq = np.where(t > 1, stats.t.ppf(0.5 + confidence / 2, np.maximum(t - 1, 1)), np.nan)
    for rate, (num, den) in RATES.items():
        k, n = out[num].to_numpy(dtype=float), out[den].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rate] = np.where(n > 0, k / n, np.nan)
        lo, hi = wilson(k, n, confidence)
        out[f"{rate}_lo"], out[f"{rate}_hi"] = lo, hi
        per = grouped[rate]
        mean, sd = per.mean().to_numpy(), per.std(ddof=1).to_numpy()
        out[f"{rate}_mean"], out[f"{rate}_sd"] = mean, sd
        out[f"{rate}_min"], out[f"{rate}_max"] = per.min().to_numpy(), per.max().to_numpy()
        half = tq * sd / np.sqrt(t)
        out[f"{rate}_t_lo"] = np.clip(mean - half, 0, 1)
        out[f"{rate}_t_hi"] = np.clip(mean + half, 0, 1)
        out[f"{rate}_upper"] = np.fmax(hi, out[f"{rate}_t_hi"].to_numpy())
    queries = out["queries"].to_numpy(dtype=float)
    for c in PER_1M_COUNTS:
        k = out[c].to_numpy(dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{c}_per_1M"] = k / queries * PER
            out[f"{c}_per_1M_upper"] = poisson_upper(k, confidence) / queries * PER
    return out.reset_index()


def poisson_upper(k: np.ndarray | float, confidence: float = CONFIDENCE) -> np.ndarray:
    """Exact (Garwood, 1936) upper bound of a Poisson mean from an observed count k: the bound
    used for counts that are not proportions (false matches can outnumber queries)."""
    k = np.asarray(k, dtype=float)
    return stats.chi2.ppf(0.5 + confidence / 2, 2 * k + 2) / 2


def garwood(k: np.ndarray | float, level: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood, 1936) two-sided interval of Poisson means from observed counts ``k``."""
    k = np.asarray(k, dtype=float)
    a = 1 - level
    with np.errstate(invalid="ignore"):
        lo = np.where(k > 0, stats.chi2.ppf(a / 2, 2 * k) / 2, 0.0)
    hi = stats.chi2.ppf(1 - a / 2, 2 * k + 2) / 2
    return lo, hi
