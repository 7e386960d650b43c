"""Vendored US name-frequency tables (Census 2010 surnames, Census 2020 first names, SSA births
by name and year).

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
import pyarrow as pa
import pyarrow.compute as pc
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
    return table.to_pandas(), _meta(table.schema)


def _meta(schema: pa.Schema) -> dict:
    return json.loads((schema.metadata or {})[_META_KEY])


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
    """SSA births per (name, birth year) for Census 2020 first names: name, year, count_female,
    count_male. Absent rows mean fewer than 5 births of either sex in that year."""
    return _load("first_name_cohorts")[0].copy()


def ssa_year_totals() -> pd.DataFrame:
    """SSA births per year over all names (not only the kept ones), indexed by year."""
    # the schema alone: the table's 1.6 million rows are not needed for its metadata
    tot = _meta(pq.read_schema(DATA_DIR / "first_name_cohorts.parquet"))["year_totals"]
    df = pd.DataFrame.from_dict(tot, orient="index")
    df.index = df.index.astype(np.int16)
    df.index.name = "year"
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


# Floor for a name missing from SSA in a year: SSA omits names given to fewer than 5 babies of a
# sex in a year, so an absent name had at most ~4/year; we assume half the threshold, 2.5 per year.
SSA_FLOOR_PER_YEAR = 2.5
# Below this many SSA births of a sex over all years a sex-specific profile is too noisy; the
# both-sexes profile is used instead.
_MIN_SEX_BIRTHS = 100


@dataclass(frozen=True)
class CohortModel:
    """First names by sex and single birth year: the cohort ratio of name n, sex s, year y is

    ``ratio[n, s, y] = present[s][y][n] + sum_k vec[k, n, s] x scale[k, s, y]``

    where ``present`` holds, per sex and year, what the names SSA lists that year have above
    the floor (``indptr``, ``idx``, ``value``: a compressed sparse row per (sex, year), row
    ``s * ny + y``) and the components ``k`` are a low-rank remainder: (0) the floor of
    ``SSA_FLOOR_PER_YEAR`` births, every year, of the names SSA lists in some year, (1) the same
    for names whose profile pools both sexes, (2) ratio 1 for names SSA never lists. A name's
    weight for a person of group g, sex s, year y is ``holders in g x share of sex s x ratio``:
    the sparse part is drawn name by name, the remainder from one sampler per (group, sex,
    component), scaled by year.
    """

    years: np.ndarray  # (ny,) int64 birth years covered (earlier/later years are clipped)
    indptr: np.ndarray  # (2 * ny + 1,) int64
    idx: np.ndarray  # name index (into first_name_arrays) of each present entry
    value: np.ndarray  # its ratio (without the floor, which the components carry)
    vec: np.ndarray  # (K, n_names, 2)
    scale: np.ndarray  # (K, 2, ny)

    def present(self, s: int, y: int) -> tuple[np.ndarray, np.ndarray]:
        """(name indices, ratios) of the sparse part for sex ``s`` and year index ``y``."""
        r = s * len(self.years) + y
        lo, hi = int(self.indptr[r]), int(self.indptr[r + 1])
        return self.idx[lo:hi], self.value[lo:hi]

    def year_index(self, years: np.ndarray) -> np.ndarray:
        """Index of each birth year in ``years`` (clipped to the covered range)."""
        y0 = int(self.years[0])
        return np.clip(np.asarray(years, dtype=np.int64) - y0, 0, len(self.years) - 1)


@lru_cache
def cohort_model(living: tuple[tuple[int, float], ...]) -> CohortModel:
    """The :class:`CohortModel` of first names by sex and birth year.

    ratio = (SSA share of the name among that sex's births in the year) / (its share among the
    living: the yearly shares weighted by ``living``, pairs of (birth year, people alive today
    born in it)). The Census 2020 table counts the living, so ``census share x ratio`` averages
    back to the census share over today's ages. Names absent from SSA in a year get the floor
    of ``SSA_FLOOR_PER_YEAR`` births; names absent from SSA altogether get ratio 1 (no cohort
    information). A name with fewer than ``_MIN_SEX_BIRTHS`` births of a sex uses its
    both-sexes profile for that sex.
    """
    names, _, _ = first_name_arrays()
    # Arrow columns, not pandas: 1.6 million names as Python strings cost ~1 s and ~300 MB.
    coh = pq.read_table(DATA_DIR / "first_name_cohorts.parquet")
    totals = ssa_year_totals()
    years = totals.index.to_numpy(np.int64)
    ny, n = len(years), len(names)
    births = totals[["count_female", "count_male"]].to_numpy(np.float64).T  # (2, ny)
    pooled_births = births.sum(axis=0)
    row = pc.index_in(coh["name"], value_set=pa.array(names, pa.string()))
    row = row.fill_null(-1).to_numpy().astype(np.int64)
    col = coh["year"].to_numpy().astype(np.int64) - years[0]
    cnt = np.stack([coh["count_female"].to_numpy().astype(np.float64),
                    coh["count_male"].to_numpy().astype(np.float64)])  # fmt: skip
    by_sex = np.stack([np.bincount(row, weights=c, minlength=n) for c in cnt], axis=1)  # (n, 2)
    in_ssa = by_sex.sum(axis=1) > 0
    enough = by_sex >= _MIN_SEX_BIRTHS  # (n, 2)
    w = np.zeros(ny)
    for year, people in living:
        w[int(np.clip(year - years[0], 0, ny - 1))] += people
    w = w / w.sum()
    floor = SSA_FLOOR_PER_YEAR
    # share among the living: floor for every year, plus what the name has above the floor
    share_living = np.zeros((n, 2))
    entries = []
    for s in range(2):
        own = enough[row, s]
        prof = np.where(own, cnt[s], cnt.sum(axis=0))
        den = np.where(own, births[s, col], pooled_births[col])
        listed = prof > 0  # SSA lists 5+ births: always above the 2.5 floor
        r, c = row[listed], col[listed]
        extra = (prof[listed] - floor) / den[listed]
        base = np.where(enough[:, s], floor * (w / births[s]).sum(),
                        floor * (w / pooled_births).sum())  # fmt: skip
        share_living[:, s] = base + np.bincount(r, weights=extra * w[c], minlength=n)
        entries.append((s, r, c, extra))
    share_living[~in_ssa] = 1.0  # unused (ratio 1)
    indptr = np.zeros(2 * ny + 1, dtype=np.int64)
    idx_parts, val_parts = [], []
    for s, r, c, extra in entries:
        order = np.lexsort((r, c))  # by year, then name
        idx_parts.append(r[order])
        val_parts.append(extra[order] / share_living[r[order], s])
        indptr[s * ny + 1 : (s + 1) * ny + 1] = np.bincount(c, minlength=ny)
    indptr = np.cumsum(indptr)
    vec = np.zeros((3, n, 2))
    scale = np.zeros((3, 2, ny))
    vec[0] = np.where(in_ssa[:, None] & enough, 1.0 / share_living, 0.0)
    vec[1] = np.where(in_ssa[:, None] & ~enough, 1.0 / share_living, 0.0)
    vec[2] = np.where(in_ssa, 0.0, 1.0)[:, None]
    scale[0] = floor / births
    scale[1] = (floor / pooled_births)[None, :]
    scale[2] = 1.0
    return CohortModel(
        years=_readonly(years),
        indptr=_readonly(indptr),
        idx=_readonly(np.concatenate(idx_parts).astype(np.int32)),
        value=_readonly(np.concatenate(val_parts)),
        vec=_readonly(vec),
        scale=_readonly(scale),
    )
