"""Key-collision probabilities by stratum (name-origin group, sex, birth year): from the vendored
Census and SSA tables or from a generated population's own frequencies, with the birth-date
pattern and placeholder heaping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.linalg import blas

from bench.linkage.fields import TRANSFORMS, PreparedTask, combine, normalize
from bench.scale.projection.keys import Key
from synthetic import births as BIRTHS
from synthetic import names as N
from synthetic.noise import RECORD_FIELDS
from synthetic.population import (
    AGE_PYRAMID_2020,
    MAX_AGE,
    Population,
    living_by_year,
)
from synthetic.scenario import LinkageTask, ScenarioConfig


# ----------------------------------------------------------------------------- strata
def _key_codes(values: np.ndarray, key: Key) -> tuple[np.ndarray, int]:
    """Codes of the transformed, normalized ``values`` under ``key`` (-1: no key) and their count:
    the same normalization and transforms the rules use (``bench.linkage.fields``)."""
    raw, uniques = pd.factorize(pd.Series(values, dtype=object))
    norm = normalize(pd.Series(uniques, dtype=object), key.field)
    out = TRANSFORMS[key.compare](norm, key.kwargs) if key.compare != "exact" else norm
    out = out.astype(object).where(out.notna() & (out != ""), None)
    codes, keys = pd.factorize(out)
    remap = np.append(codes, -1)
    return remap[np.where(raw < 0, len(codes), raw)].astype(np.int64), len(keys)


def _cohorts() -> N.CohortModel:
    """The generator's model of first names by sex and birth year (same living weights)."""
    return N.cohort_model(living_by_year())


def _n_years(cohort: bool) -> int:
    return len(_cohorts().years) if cohort else 1


def _year_index(years: np.ndarray, cohort: bool) -> np.ndarray:
    """Index of each birth year in the SSA years (as the population generator does)."""
    if not cohort:
        return np.zeros(len(years), dtype=np.int64)
    return _cohorts().year_index(years)


#: Keys per dense chunk of the first-name Gram matrix (chunk x cells float64: ~30 MB).
_GRAM_CHUNK = 2048
#: People a (group, birth year) cell needs for its own measured same-date rate.
_MIN_CELL = 200


def _heaping_mix(abroad: np.ndarray, shares: Mapping[str, float]) -> np.ndarray:
    """(k, 4) mix over how a birth date is recorded (true date, then ``births.PLACEHOLDERS``)
    for cells whose people are born abroad with probabilities ``abroad`` (k,)."""
    ph = np.array([shares.get(p, 0.0) for p in BIRTHS.PLACEHOLDERS])
    out = np.empty((len(abroad), 1 + len(ph)))
    out[:, 1:] = abroad[:, None] * ph[None, :]
    out[:, 0] = 1.0 - out[:, 1:].sum(axis=1)
    return out


class _Names:
    """Collision probabilities of name and date keys between strata cells (group, sex, birth
    year), and the list's and register's weights over the cells. Subclasses supply the
    per-category name distributions."""

    def __init__(self, years: np.ndarray, w_list: np.ndarray, w_register: np.ndarray, cohort: bool):
        self.years = years  # (ny,) birth years of the cells
        ny = len(years)
        g, s, y = np.meshgrid(np.arange(len(N.GROUPS)), np.arange(2), np.arange(ny), indexing="ij")
        self.cell_group, self.cell_sex, self.cell_year = g.ravel(), s.ravel(), years[y.ravel()]
        self.w_list, self.w_register = w_list.ravel(), w_register.ravel()
        self.cohort = cohort
        ny = _n_years(cohort)
        self.cell_first_cat = (self.cell_group * 2 + self.cell_sex) * ny + _year_index(
            self.cell_year, cohort
        )
        self._cache: dict[tuple[str, Key], np.ndarray] = {}

    # subclasses: category-level similarity matrices
    def _first(self, key: Key) -> np.ndarray:  # (6*2*ny)^2
        raise NotImplementedError

    def _last(self, key: Key) -> np.ndarray:  # 6 x 6
        raise NotImplementedError

    def _dob_same_day(self) -> np.ndarray:  # cell x cell: P(same recorded date)
        raise NotImplementedError

    def matrix(self, key: Key) -> np.ndarray:
        """Cell x cell probability that two people of these cells share the key part."""
        ck = (key.field, key)
        if ck not in self._cache:
            if key.field == "first_name":
                c = self.cell_first_cat
                m = self._first(key)[np.ix_(c, c)]
            elif key.field == "last_name":
                g = self.cell_group
                m = self._last(key)[np.ix_(g, g)]
            elif key.field == "dob":
                same = self.cell_year[:, None] == self.cell_year[None, :]
                m = same * 1.0 if key.compare == "year" else self._dob_same_day()
            else:
                raise ValueError(f"no name model for {key.field}")
            self._cache[ck] = m
        return self._cache[ck]

    def probability(self, keys: Sequence[Key]) -> float:
        """P(a list person and a register person of different households share all ``keys``)."""
        m = np.ones((len(self.w_list), len(self.w_register)))
        for k in keys:
            m = m * self.matrix(k)
        return float(self.w_list @ m @ self.w_register)


def _census_year_weights(ref: dt.date, min_age: int) -> tuple[np.ndarray, np.ndarray]:
    """(birth years, their shares) among people aged >= ``min_age`` at ``ref`` under the 2020 age
    pyramid (each 5-year band spread evenly); a year of age straddles two calendar years."""
    per_age = np.repeat(np.asarray(AGE_PYRAMID_2020, dtype=np.float64) / 5.0, 5)
    ages = np.arange(len(per_age))
    per_age[ages < min_age] = 0.0
    start = dt.date(ref.year, 1, 1)
    phi = (ref - start).days / ((dt.date(ref.year + 1, 1, 1) - start).days)
    years = np.arange(ref.year - MAX_AGE - 1, ref.year + 1)
    w = np.zeros(len(years))
    born = ref.year - ages - years[0]
    np.add.at(w, born, per_age * phi)  # born this calendar year, before the reference day
    np.add.at(w, born - 1, per_age * (1 - phi))
    return years, w / w.sum()


@lru_cache(maxsize=8)
def _census_first_gram(key: Key, cohort: bool) -> np.ndarray:
    """P(two people of first-name categories c, c' share the key), from the vendored tables
    under the generator's model (depends only on the key: cached across scenarios)."""
    names, w, sex = N.first_name_arrays()
    codes, n_keys = _key_codes(names, key)
    ok = codes >= 0
    ind = sparse.csr_matrix(
        (np.ones(ok.sum()), (codes[ok], np.flatnonzero(ok))), shape=(n_keys, len(names))
    )
    tail = N.rare_first_name_prob()
    ng = len(N.GROUPS)
    # the generator's model: P(f | g, s, y) ~ holders in g x sex share x cohort ratio, the
    # ratio a sparse part per (sex, year) plus low-rank components (names.CohortModel):
    # P_key = S + U @ C with S sparse (keys x cells), U (keys x parts) dense, C (parts x cells)
    if cohort:
        m = _cohorts()
        ny, vec, scale = len(m.years), m.vec, m.scale
    else:
        ny, vec, scale = 1, np.ones((1, len(names), 2)), np.ones((1, 2, 1))
    n_cat = ng * 2 * ny
    rows, cols, vals = [], [], []
    u_cols, c_rows = [], []
    for g in range(ng):
        for s_ in range(2):
            base = w[:, g] * sex[:, s_]
            cat0 = (g * 2 + s_) * ny
            mass = np.zeros(ny)
            comp = []
            for k in range(len(vec)):
                wk = base * vec[k, :, s_]
                comp.append(wk)
                mass += wk.sum() * scale[k, s_]
            present = []
            if cohort:
                for y in range(ny):
                    idx, val = m.present(s_, y)
                    v = base[idx] * val
                    mass[y] += v.sum()
                    present.append((idx, v))
            norm = (1 - tail[g]) / mass
            for y, (idx, v) in enumerate(present):
                rows.append(idx)
                cols.append(np.full(len(idx), cat0 + y))
                vals.append(v * norm[y])
            for k, wk in enumerate(comp):
                u_cols.append(np.asarray(ind @ wk).ravel())
                c = np.zeros(n_cat)
                c[cat0 : cat0 + ny] = scale[k, s_] * norm
                c_rows.append(c)
    if key.compare != "exact":
        # Rare (tail) names are unique for an exact key; under a prefix or phonetic code they
        # collide with the listed ones: their keys are assumed distributed like the listed
        # names of the category counted once each, weighted by the category's share of the
        # name's holders (as the generator's invented rare names are).
        cats = (w[:, :, None] * sex[:, None, :]).reshape(len(names), -1)  # (n, g*2+s)
        pct = cats / np.maximum(cats.sum(axis=1, keepdims=True), 1e-300)
        tau = np.asarray(ind @ pct)
        tau = tau / np.maximum(tau.sum(axis=0, keepdims=True), 1e-300)
        for c_gs in range(ng * 2):
            u_cols.append(tau[:, c_gs])
            c = np.zeros(n_cat)
            c[c_gs * ny : (c_gs + 1) * ny] = tail[c_gs // 2]
            c_rows.append(c)
    if rows:
        probs = sparse.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(len(names), n_cat),
        )
        s_key = (ind @ probs).tocsr()
    else:
        s_key = sparse.csr_matrix((n_keys, n_cat))
    u = np.column_stack(u_cols)  # keys x parts
    c_mat = np.vstack(c_rows)  # parts x cells
    su = np.asarray(s_key.T @ u)  # cells x parts
    # S^T S in dense row chunks: popular names fill most cells, where a sparse product is
    # far slower than BLAS
    gram = np.zeros((n_cat, n_cat), order="F")
    rows_used = np.flatnonzero(np.diff(s_key.indptr) > 0)
    for lo in range(0, len(rows_used), _GRAM_CHUNK):
        chunk = s_key[rows_used[lo : lo + _GRAM_CHUNK]].toarray()
        # upper triangle of chunk^T chunk (symmetric rank-k update: half the work of matmul)
        gram = blas.dsyrk(1.0, chunk.T, beta=1.0, c=gram, overwrite_c=1)
    gram = np.triu(gram) + np.triu(gram, 1).T
    gram += su @ c_mat + (su @ c_mat).T + c_mat.T @ (u.T @ u) @ c_mat
    gram.flags.writeable = False
    return gram


class CensusNames(_Names):
    """Name distributions from the vendored tables: Census 2010 surnames and Census 2020 first
    names by group, first names by sex and birth year from SSA counts (``cohort``), the
    population's ages from the 2020 pyramid, groups from the list's mix (or the population's
    shares) and the population's shares for the register, sexes 50/50."""

    def __init__(self, scenario: ScenarioConfig, cohort: bool = True) -> None:
        ref = dt.date.fromisoformat(scenario.population.reference_date)
        years, wy_list = _census_year_weights(ref, scenario.query.min_age)
        _, wy_reg = _census_year_weights(ref, scenario.register.min_age)
        shares = np.asarray(N.group_shares())
        mix = scenario.query.group_mix
        g_list = np.array([mix[g] for g in N.GROUPS]) if mix else shares
        w_list = g_list[:, None, None] * 0.5 * wy_list[None, None, :] * np.ones((1, 2, 1))
        w_reg = shares[:, None, None] * 0.5 * wy_reg[None, None, :] * np.ones((1, 2, 1))
        super().__init__(years, w_list, w_reg, cohort)
        comp = scenario.population.compound_surname_by_group
        self.compound = np.array([comp.get(g, 0.0) for g in N.GROUPS])
        self.scenario = scenario

    def _first(self, key: Key) -> np.ndarray:
        return _census_first_gram(key, self.cohort)

    def _last(self, key: Key) -> np.ndarray:
        names, w = N.surname_arrays()
        codes, n_keys = _key_codes(names, key)
        ok = codes >= 0
        ind = sparse.csr_matrix(
            (np.ones(ok.sum()), (codes[ok], np.flatnonzero(ok))), shape=(n_keys, len(names))
        )
        tail = N.surname_tail()
        tail_g = tail.count * np.asarray(tail.pct) / 100.0
        p_key = np.asarray(ind @ (w / (w.sum(axis=0) + tail_g)))
        if key.compare != "exact":
            pct = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-300)
            tau = np.asarray(ind @ pct)
            p_key = p_key + N.rare_surname_prob() * tau / tau.sum(axis=0, keepdims=True)
        s = p_key.T @ p_key
        if key.compare == "exact":
            # A compound surname (paternal + maternal, the scenario's compound_surname_by_group)
            # is recorded in full: it collides only with the same pair, drawn independently.
            c = self.compound
            s = np.outer(1 - c, 1 - c) * s + np.outer(c, c) * s**2
        # Under a prefix or phonetic key a compound surname is assumed to key like its paternal
        # part (exact for first_n when the paternal part is at least n letters long).
        return s

    def _dob_same_day(self) -> np.ndarray:
        # the generator's birth dates: the daily pattern of the birth year, and placeholders
        # (January 1, 1st of the month, July 1) for a share of the people born abroad
        pop = self.scenario.population
        years, inv = np.unique(self.cell_year, return_inverse=True)
        mats = BIRTHS.same_day_matrices(years)[inv]  # (cells, 4, 4)
        ref = dt.date.fromisoformat(pop.reference_date)
        adult = (ref.year - self.cell_year) >= 18  # most of a cell's people at least
        p_adult = np.array([pop.born_abroad_by_group.get(g, 0.0) for g in N.GROUPS])
        abroad = np.where(adult, p_adult[self.cell_group], pop.born_abroad_children)
        h = _heaping_mix(abroad, pop.dob_placeholder_share)  # list and register alike
        same = self.cell_year[:, None] == self.cell_year[None, :]
        # h_c @ M_y @ h_c' for cells of the same year y
        hm = np.einsum("ck,ckl->cl", h, mats)
        return same * (hm @ h.T)


def _groups(people: pd.DataFrame) -> np.ndarray:
    return pd.Index(N.GROUPS).get_indexer(people["group"].to_numpy(dtype=object))


def _clean_records(people: pd.DataFrame) -> pd.DataFrame:
    """The record fields of each person before any noise (compound surnames in full), as
    ``synthetic.scenario`` records them."""
    rec = {f: people[f].to_numpy(dtype=object) for f in RECORD_FIELDS}
    second = people["second_surname"].to_numpy(dtype=object)
    has = ~pd.isna(second)
    last = rec["last_name"].copy()
    last[has] = last[has] + " " + second[has]
    rec["last_name"] = last
    return pd.DataFrame(rec)


def _prepared(records: pd.DataFrame) -> PreparedTask:
    """A PreparedTask whose query side is ``records`` (the register side is empty): reuses the
    rules' own normalization, composites and transforms on one file."""
    empty = pd.DataFrame(
        {"query_row": np.zeros(0, np.int64), "register_row": np.zeros(0, np.int64)}
    )
    task = LinkageTask(records, records.iloc[:0], empty, empty, empty, empty)
    return PreparedTask(task)


@dataclass
class _Adults:
    """The adults of a population with their clean key codes (computed on demand)."""

    people: pd.DataFrame  # adults only
    population: int  # people of all ages
    list_ok: np.ndarray  # eligible for the list (age >= query.min_age)
    register_ok: np.ndarray  # eligible for the register
    group: np.ndarray
    sex: np.ndarray
    year: np.ndarray
    household: np.ndarray
    prep: PreparedTask

    @classmethod
    def of(cls, pop: Population, scenario: ScenarioConfig) -> _Adults:
        p = pop.people
        age = p["age"].to_numpy()
        lo = min(scenario.query.min_age, scenario.register.min_age)
        adults = p[age >= lo].reset_index(drop=True)
        a = adults["age"].to_numpy()
        group, sex, year = _strata_of(adults)
        return cls(
            people=adults,
            population=len(p),
            list_ok=a >= scenario.query.min_age,
            register_ok=a >= scenario.register.min_age,
            group=group,
            sex=sex,
            year=year,
            household=adults["household_id"].to_numpy(np.int64),
            prep=_prepared(_clean_records(adults)),
        )

    def codes(self, keys: Sequence[Key]) -> np.ndarray:
        """Combined int64 key per adult (-1 where a part is missing)."""
        coded = [self.prep.key(k.field, k.compare, **k.kwargs) for k in keys]
        return pd.factorize(combine(coded)[0])[0].astype(np.int64)  # dense; -1 stays -1

    def list_weights_by_group(self, scenario: ScenarioConfig) -> np.ndarray:
        """Share of each group in the list (the mix, or the eligible adults' shares)."""
        mix = scenario.query.group_mix
        if mix:
            return np.array([mix[g] for g in N.GROUPS])
        return np.bincount(self.group[self.list_ok], minlength=len(N.GROUPS)) / self.list_ok.sum()


def _pair_matrix(
    codes: np.ndarray, cats: np.ndarray, n_cats: int, household: np.ndarray
) -> np.ndarray:
    """P(two people of categories c, c' from *different households* share the key): pair counts
    over all pairs minus same-household pairs (a person is never paired with itself; housemates'
    shared surnames belong to the household term). A person without a key never collides."""

    def gram(rows: np.ndarray, mask: np.ndarray) -> np.ndarray:
        r = pd.factorize(rows[mask])[0]
        m = sparse.csr_matrix(
            (np.ones(mask.sum()), (r, cats[mask])), shape=(int(r.max(initial=-1)) + 1, n_cats)
        )
        return (m.T @ m).toarray()

    ok = codes >= 0
    everyone = np.ones(len(codes), dtype=bool)
    width = np.int64(codes.max(initial=0) + 2)
    pairs = gram(codes, ok) - gram(household * width + codes + 1, ok)
    n_c = np.bincount(cats, minlength=n_cats).astype(np.float64)
    den = np.outer(n_c, n_c) - gram(household, everyone)
    return np.divide(pairs, den, out=np.zeros_like(pairs), where=den > 0)


class PopulationNames(_Names):
    """Name and date distributions measured on a generated population (its adults): the same
    strata and independence structure as :class:`CensusNames`, with the population's own
    frequencies over pairs of people of different households.

    The list's weights follow the scenario's group mix (within a group: the eligible adults' sex
    and birth year), or the composition of ``list_people`` (e.g. a simulated list) if given.
    """

    def __init__(
        self,
        adults: _Adults,
        scenario: ScenarioConfig,
        cohort: bool = True,
        list_people: pd.DataFrame | None = None,
    ) -> None:
        years = np.arange(adults.year.min(), adults.year.max() + 1)
        ny = len(years)
        n_cells = len(N.GROUPS) * 2 * ny

        def cells(group: np.ndarray, sex: np.ndarray, year: np.ndarray) -> np.ndarray:
            return (group * 2 + sex) * ny + (np.clip(year, years[0], years[-1]) - years[0])

        cell = cells(adults.group, adults.sex, adults.year)
        reg = np.bincount(cell[adults.register_ok], minlength=n_cells).astype(np.float64)
        if list_people is not None:
            g, sx, y = _strata_of(list_people)
            lst = np.bincount(cells(g, sx, y), minlength=n_cells).astype(np.float64)
        else:
            lst = np.bincount(cell[adults.list_ok], minlength=n_cells).astype(np.float64)
            g_of_cell = np.arange(n_cells) // (2 * ny)
            g_tot = np.bincount(g_of_cell, weights=lst, minlength=len(N.GROUPS))[g_of_cell]
            mix = adults.list_weights_by_group(scenario)[g_of_cell]
            lst = np.divide(lst * mix, g_tot, out=np.zeros(n_cells), where=g_tot > 0)
        shape = (len(N.GROUPS), 2, ny)
        super().__init__(years, (lst / lst.sum()).reshape(shape), (reg / reg.sum()).reshape(shape),
                         cohort)  # fmt: skip
        self.adults = adults
        ny = _n_years(cohort)
        self._first_cat = (adults.group * 2 + adults.sex) * ny + _year_index(adults.year, cohort)
        self._n_first = len(N.GROUPS) * 2 * ny

    def _first(self, key: Key) -> np.ndarray:
        a = self.adults
        return _pair_matrix(a.codes([key]), self._first_cat, self._n_first, a.household)

    def _last(self, key: Key) -> np.ndarray:
        a = self.adults
        return _pair_matrix(a.codes([key]), a.group, len(N.GROUPS), a.household)

    def _dob_same_day(self) -> np.ndarray:
        # measured by (group, birth year): placeholder dates concentrate in some groups
        a = self.adults
        ny, ng = len(self.years), len(N.GROUPS)
        gy = a.group * ny + (a.year - self.years[0])
        q = _pair_matrix(a.codes([Key("dob")]), gy, ng * ny, a.household)
        n_gy = np.bincount(gy, minlength=ng * ny)
        # a (group, year) with too few people to measure: the year's rate over all groups
        y = a.year - self.years[0]
        q_y = np.diag(_pair_matrix(a.codes([Key("dob")]), y, ny, a.household)).copy()
        q_y[np.bincount(y, minlength=ny) < 2] = 1 / 365.25  # no pair at all: uniform dates
        cell = self.cell_group * ny + (self.cell_year - self.years[0])
        m = q[np.ix_(cell, cell)]
        thin = n_gy[cell] < _MIN_CELL
        fill = q_y[self.cell_year - self.years[0]]
        m[thin, :] = fill[thin, None]
        m[:, thin] = fill[None, thin]
        same = self.cell_year[:, None] == self.cell_year[None, :]
        return same * m


def _strata_of(people: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, sex (1 = M), birth year) of truth-side people."""
    year = pd.Series(people["dob"].to_numpy(dtype=object)).str.slice(0, 4).astype(int).to_numpy()
    sex = (people["sex"].to_numpy(dtype=object) == "M").astype(np.int64)
    return _groups(people), sex, year
