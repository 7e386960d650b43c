"""Birth dates as people have them: the day-of-year pattern of US births, and placeholder dates.

* **Daily pattern.** ``births_by_day.parquet`` (built by ``synthetic/data/build_births.py`` from
  FiveThirtyEight's copies of the CDC/NCHS and SSA daily US birth counts, 1994-2014; see
  ``synthetic/data/PROVENANCE.md``) gives the real calendar of those years: seasons (a late-summer
  peak), the day of the week (far fewer births on weekends, from scheduled inductions and
  caesareans) and holidays (Christmas, New Year, July 4). Other years get the average pattern:
  a factor per (month, day) times a factor per day of the week, both measured on the covered
  years. Assumption: the weekday effect of 1994-2014 applies to every year (it was weaker
  before the 1970s, when fewer births were scheduled).
* **Placeholder dates** (``PLACEHOLDERS``): a person whose exact birth date is unknown (often
  people born abroad, e.g. refugees) carries January 1, the 1st of the birth month or July 1 of
  the birth year in every document; ``synthetic.population`` assigns them.

Weights are relative densities over days with mean 1 within each calendar year, so that a date
drawn in a window that straddles two years does not favour either year.
"""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from synthetic.names import DATA_DIR

#: Placeholder dates recorded when only the birth year (or month) is known, in code order.
PLACEHOLDERS: tuple[str, ...] = ("jan1", "first_of_month", "july1")
_EPOCH = np.datetime64("1970-01-01", "D")


@lru_cache
def daily_births() -> pd.DataFrame:
    """The vendored daily US birth counts: year, month, day, births (one row per day)."""
    return pq.read_table(DATA_DIR / "births_by_day.parquet").to_pandas()


def births_source() -> str:
    """Citation of the vendored daily counts (from the parquet metadata)."""
    meta = pq.read_schema(DATA_DIR / "births_by_day.parquet").metadata or {}
    return str(json.loads(meta[b"linkrisk"])["source"])


def _calendar(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(year, month index 0-11, day of month 1-31, weekday 0=Monday) of day numbers."""
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = d.astype("datetime64[M]").astype(np.int64) % 12
    dom = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    return year, month, dom, weekday


@lru_cache
def _pattern() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(covered day numbers, their weights (mean 1 per year), factor per (month, day) as a
    (12, 31) array, factor per weekday (7,)), all from the vendored counts."""
    df = daily_births()
    days = (
        pd.to_datetime(df[["year", "month", "day"]]).to_numpy().astype("datetime64[D]") - _EPOCH
    ).astype(np.int64)
    births = df["births"].to_numpy(np.float64)
    year = df["year"].to_numpy(np.int64)
    yi = year - year.min()
    mean = np.bincount(yi, weights=births) / np.bincount(yi)
    rel = births / mean[yi]
    _, month, dom, weekday = _calendar(days)
    dow = np.bincount(weekday, weights=rel, minlength=7) / np.bincount(weekday, minlength=7)
    md_key = month * 31 + dom - 1
    md_rel = rel / dow[weekday]
    md = np.bincount(md_key, weights=md_rel, minlength=12 * 31)
    n_md = np.bincount(md_key, minlength=12 * 31)
    md = np.divide(md, n_md, out=np.zeros(12 * 31), where=n_md > 0).reshape(12, 31)
    return days, rel, md, dow


def day_weights(lo: int, hi: int) -> np.ndarray:
    """Relative birth density of the days ``lo..hi`` (days since 1970-01-01): the real daily
    counts in the covered years, the average (month, day) x weekday pattern elsewhere; mean 1
    within each calendar year."""
    days = np.arange(lo, hi + 1, dtype=np.int64)
    cov_days, cov_w, md, dow = _pattern()
    year, month, dom, weekday = _calendar(days)
    w = md[month, dom - 1] * dow[weekday]
    yi = year - year.min()
    w = w / (np.bincount(yi, weights=w) / np.bincount(yi))[yi]
    pos = np.searchsorted(cov_days, days)
    hit = (pos < len(cov_days)) & (cov_days[np.minimum(pos, len(cov_days) - 1)] == days)
    w[hit] = cov_w[pos[hit]]
    return w


def same_day_probability(years: np.ndarray) -> np.ndarray:
    """P(two people born in year y share the day), for each y, under :func:`day_weights`."""
    years = np.asarray(years, dtype=np.int64)
    out = np.empty(len(years))
    for i, y in enumerate(years.tolist()):
        lo = (np.datetime64(f"{y}-01-01", "D") - _EPOCH).astype(np.int64)
        hi = (np.datetime64(f"{y + 1}-01-01", "D") - _EPOCH).astype(np.int64) - 1
        p = day_weights(int(lo), int(hi))
        p = p / p.sum()
        out[i] = float(p @ p)
    return out


def same_day_matrices(years: np.ndarray) -> np.ndarray:
    """(len(years), 4, 4): P(two people born in year y have the same *recorded* date), by how
    each records it: 0 = their true date (drawn by :func:`day_weights`), then the
    ``PLACEHOLDERS`` (January 1, the 1st of their true birth month, July 1). A person's mix
    ``h`` over these four gives P(same recorded date) = ``h_a @ M[y] @ h_b``."""
    years = np.asarray(years, dtype=np.int64)
    out = np.zeros((len(years), 4, 4))
    for i, y in enumerate(years.tolist()):
        lo = (np.datetime64(f"{y}-01-01", "D") - _EPOCH).astype(np.int64)
        hi = (np.datetime64(f"{y + 1}-01-01", "D") - _EPOCH).astype(np.int64) - 1
        p = day_weights(int(lo), int(hi))
        p = p / p.sum()
        _, month, dom, _ = _calendar(np.arange(lo, hi + 1))
        pm = np.bincount(month, weights=p, minlength=12)  # P(born in month m)
        first = p[dom == 1]  # P(born on the 1st of month m), m = 0..11
        jan1, jul1 = first[0], first[6]
        m = out[i]
        m[0] = (p @ p, jan1, pm @ first, jul1)
        m[1, 1:] = (1.0, pm[0], 0.0)
        m[2, 2:] = (pm @ pm, pm[6])
        m[3, 3] = 1.0
        out[i] = np.triu(m) + np.triu(m, 1).T
    return out
