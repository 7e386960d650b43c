"""Vendored US name-frequency tables (Census 2010 surnames, Census 2020 first names, SSA cohorts).

The parquet files in ``synthetic/data`` are built once by ``synthetic/data/build_names.py`` (see
``synthetic/data/PROVENANCE.md``). Loaders are cached; returned numpy arrays are read-only so the
cache cannot be corrupted by a caller.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

DATA_DIR = Path(__file__).parent / "data"

#: Name-origin/ethnicity groups of the Census name tables, in the order of their pct columns.
GROUPS: tuple[str, ...] = ("white", "black", "api", "aian", "2prace", "hispanic")
#: The groups in words, as the Census name tables define them (for readers of reports).
GROUP_NAMES: dict[str, str] = {
    "white": "White",
    "black": "Black",
    "api": "Asian or Pacific Islander",
    "aian": "American Indian or Alaska Native",
    "2prace": "Two or more races",
    "hispanic": "Hispanic",
}
PCT_COLUMNS: tuple[str, ...] = tuple(f"pct{g}" for g in GROUPS)
_META_KEY = b"linkrisk"


@dataclass(frozen=True)
class NameTail:
    """The ``ALL OTHER NAMES`` row: people whose name is rarer than the listed ones.

    ``pct`` are the percentages of the tail's holders in each group (order of ``GROUPS``);
    ``total_count`` is the table's total (listed + tail), so ``count / total_count`` is the
    tail's share of all people (9.9% for 2010 surnames).
    """

    count: int
    total_count: int
    pct: tuple[float, ...]
    pct_male: float | None = None
    pct_female: float | None = None

    @property
    def share(self) -> float:
        """Share of all people whose name falls in the tail."""
        return self.count / self.total_count


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@lru_cache
def _load(name: str) -> tuple[pd.DataFrame, dict]:
    table = pq.read_table(DATA_DIR / f"{name}.parquet")
    meta = json.loads((table.schema.metadata or {})[_META_KEY])
    return table.to_pandas(), meta


def _tail(meta: dict) -> NameTail:
    t = meta["all_other_names"]
    return NameTail(
        count=int(t["count"]),
        total_count=int(t["total_count"]),
        pct=tuple(float(t[c]) for c in PCT_COLUMNS),
        pct_male=t.get("pctmale"),
        pct_female=t.get("pctfemale"),
    )


def surnames() -> pd.DataFrame:
    """Listed 2010 Census surnames (count >= 100), most frequent first: name, count, pct*.

    Returns a copy; the ``ALL OTHER NAMES`` row is not included (see :func:`surname_tail`).
    """
    return _load("surnames")[0].copy()


def surname_tail() -> NameTail:
    """Figures of the 2010 surnames' ``ALL OTHER NAMES`` row (the rare-surname mass)."""
    return _tail(_load("surnames")[1])


def first_names() -> pd.DataFrame:
    """Listed 2020 Census first names: name, count, pct* (groups), pctmale, pctfemale (a copy)."""
    return _load("first_names")[0].copy()


def first_name_tail() -> NameTail:
    """Figures of the 2020 first names' ``ALL OTHER NAMES`` row."""
    return _tail(_load("first_names")[1])


def first_name_cohorts() -> pd.DataFrame:
    """SSA births per (name, decade) for Census 2020 first names: name, decade, count_female,
    count_male. Absent rows mean fewer than 5 births of either sex in every year of the decade."""
    return _load("first_name_cohorts")[0].copy()


def ssa_decade_totals() -> pd.DataFrame:
    """SSA births per decade over all names (not only the kept ones), indexed by decade."""
    tot = _load("first_name_cohorts")[1]["decade_totals"]
    df = pd.DataFrame.from_dict(tot, orient="index")
    df.index = df.index.astype(np.int16)
    df.index.name = "decade"
    return df.sort_index()


@lru_cache
def surname_arrays() -> tuple[np.ndarray, np.ndarray]:
    """(names as object array, holders per group: float64 array (n_names, 6) = count * pct/100)."""
    df = _load("surnames")[0]
    w = df["count"].to_numpy(np.float64)[:, None] * df[list(PCT_COLUMNS)].to_numpy(np.float64)
    return _readonly(df["name"].to_numpy(object)), _readonly(w / 100.0)


@lru_cache
def group_shares() -> np.ndarray:
    """Population share of each group implied by the surname table, tail included (sums to 1)."""
    _, w = surname_arrays()
    tail = surname_tail()
    holders = w.sum(axis=0) + tail.count * np.asarray(tail.pct) / 100.0
    return _readonly(holders / holders.sum())


@lru_cache
def rare_surname_prob() -> np.ndarray:
    """P(surname is in the rare tail | group): tail holders of g / all holders of g."""
    _, w = surname_arrays()
    tail = surname_tail()
    tail_g = tail.count * np.asarray(tail.pct) / 100.0
    return _readonly(tail_g / (w.sum(axis=0) + tail_g))


@lru_cache
def rare_first_name_prob() -> np.ndarray:
    """P(first name is in the 2020 tail | group): tail holders of g / all holders of g."""
    _, w, _ = first_name_arrays()
    tail = first_name_tail()
    tail_g = tail.count * np.asarray(tail.pct) / 100.0
    return _readonly(tail_g / (w.sum(axis=0) + tail_g))


@lru_cache
def first_name_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(names, holders per group (n, 6) = count * pct/100, sex shares (n, 2) = [female, male])."""
    df = _load("first_names")[0]
    w = df["count"].to_numpy(np.float64)[:, None] * df[list(PCT_COLUMNS)].to_numpy(np.float64)
    sex = df[["pctfemale", "pctmale"]].to_numpy(np.float64) / 100.0
    return _readonly(df["name"].to_numpy(object)), _readonly(w / 100.0), _readonly(sex)


# Floor for a name missing from SSA in a decade: SSA omits names given to fewer than 5 babies of a
# sex in a year, so an absent name had at most ~4/year; we assume half the threshold, 2.5 per year.
SSA_FLOOR_PER_YEAR = 2.5
# Below this many SSA births of a sex over all years a sex-specific profile is too noisy; the
# both-sexes profile is used instead.
_MIN_SEX_BIRTHS = 100


@lru_cache
def cohort_ratios(living: tuple[tuple[int, float], ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """(decades int16 (d,), ratio float64 (n_first_names, 2 sexes [F, M], d)).

    ratio = (SSA share of the name among that sex's births in the decade) / (its share among the
    living: the decade shares weighted by ``living``, pairs of (decade, people alive today born
    in it); without weights, by births). The Census 2020 table counts the living, so with living
    weights ``census share x ratio`` averages back to the census share over today's ages; with
    birth weights, names of old cohorts (fewer survivors) would be under-drawn. Names absent
    from SSA in a decade get the floor of ``SSA_FLOOR_PER_YEAR`` births per year; names absent
    from SSA altogether get ratio 1 (no cohort information).
    """
    names, _, _ = first_name_arrays()
    coh = _load("first_name_cohorts")[0]
    totals = ssa_decade_totals()
    decades = totals.index.to_numpy(np.int16)
    n_years = (totals["last_year"] - totals["first_year"] + 1).to_numpy(np.float64)
    births = totals[["count_female", "count_male"]].to_numpy(np.float64).T  # (2, d)

    row = pd.Index(names).get_indexer(coh["name"])
    col = np.searchsorted(decades, coh["decade"].to_numpy())
    counts = np.zeros((len(names), 2, len(decades)))
    counts[row, 0, col] = coh["count_female"].to_numpy()
    counts[row, 1, col] = coh["count_male"].to_numpy()

    in_ssa = counts.sum(axis=(1, 2)) > 0
    # Sex-specific profile where the name has enough births of that sex, else both sexes pooled.
    both = counts.sum(axis=1, keepdims=True)
    enough = counts.sum(axis=2, keepdims=True) >= _MIN_SEX_BIRTHS
    prof = np.where(enough, counts, both)
    prof_births = np.where(enough, births[None], births.sum(axis=0)[None, None])
    prof = np.maximum(prof, SSA_FLOOR_PER_YEAR * n_years)
    share_decade = prof / prof_births
    if living:
        w = np.zeros(len(decades))
        for decade, people in living:
            w[np.clip(np.searchsorted(decades, decade), 0, len(decades) - 1)] += people
        share_all = (share_decade * w).sum(axis=2, keepdims=True) / w.sum()
    else:
        share_all = prof.sum(axis=2, keepdims=True) / prof_births.sum(axis=2, keepdims=True)
    ratio = share_decade / share_all
    ratio[~in_ssa] = 1.0
    return _readonly(decades), _readonly(ratio)
