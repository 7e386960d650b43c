"""Projection to national scale: expected false matches and misses of deterministic rules for a
list of N queries against a register of M records, computed two ways.

Simulations run at demo scale (10k queries against ~10^5 register records). A rule on an exact key
(first + last name + date of birth; surname prefix + ZIP) falsely matches a query with every
register record of *another* person that shares the key, so its false matches per query grow with
the number of register records that could share it: far fewer at demo scale than against a
national register. This module projects them to a target scale (by default the IRS-ICE case:
N = 1.28M queries, M = 160M register records) in two ways that must agree where both apply:

(a) **Analytic** (birthday problem on the rule's keys). For a list person and a register person
    of different households, P(they share the key) is computed from name-frequency tables under
    independence of the key's parts within strata of name-origin group, sex and birth year:
    ``sum_{c,c'} w_list(c) w_register(c') prod_parts S_part(c, c')``, where ``S_part(c, c')`` is
    the probability that a person of stratum c and one of stratum c' share that part
    (``sum_k p(k|c) p(k|c')``). Expected false matches per query are
    ``(M - mated) x P(share) x P(same geographic unit)`` plus a *household* term: other adults of
    the query person's own household sharing the key (Jr/Sr namesakes, a spouse with the same
    surname), each in the register with probability M / adults. Two sources: the vendored Census
    and SSA tables (``census``) or a generated population's own frequencies (``population``).
    Geographic factors (P(same ZIP), same address) and the household term come from the
    scenario's population model in both. Keys are assumed clean (no noise).
(b) **Simulated**. The scenario's rules run on tasks generated at several population sizes and
    seeds, each also with random sub-registers (``fractions``). False matches of each pass are
    split into household and other ones and fitted with a Poisson log-linear law
    ``FP / query = a x^b`` in the pass's *scale variable* x, then projected with intervals from
    the fit's uncertainty (Monte Carlo over the fitted parameters).

Which scale variable matters (see :func:`assumptions`):

* keys of names and dates only: ``x = M`` (collisions per query grow linearly with the register);
* keys with a ZIP or address: ``x = M / population`` (register density). At fixed people per ZIP
  the number of ZIPs grows with the population, so per-query collisions do *not* grow with M but
  with the register records per ZIP; sub-registers vary it, population sizes do not;
* household false matches: ``x = M / population`` as well (the chance a housemate is in the
  register), whatever the key.

Details of the simulated fit: counts are post-stratified to the list's intended group mix (a small
population cannot supply a 75% Hispanic list: its non-register pool runs out); ZIP and address
passes are fitted on the largest population only (a few ZIPs are less unequal than many, which
biases small populations low); the variance of counts on nested sub-registers is inflated by
:func:`nesting_factor`; the exponent is free where the counts identify it, else fixed at 1 (and
always also reported fixed at 1). First+last+DOB collisions are about 1e-10 per pair, so
simulations of ~10^5 records see almost none: only an upper bound, which is why (a) is needed.

``python -m bench.scale.projection SCENARIO [--sizes ...] [--seeds K]`` prints the table.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.linalg import blas
from tabulate import tabulate
from tqdm import tqdm

from bench.linkage.config import Benchmark, load_benchmark, parse_benchmark
from bench.linkage.fields import TRANSFORMS, PreparedTask, combine, matches_pattern, normalize
from bench.linkage.methods.base import Method
from bench.linkage.resolve import resolve
from synthetic import births as BIRTHS
from synthetic import names as N
from synthetic.errors import ConfigError, LinkriskError
from synthetic.geography import STATE_POPULATION_2020
from synthetic.noise import NOISE, RECORD_FIELDS
from synthetic.population import (
    AGE_PYRAMID_2020,
    MAX_AGE,
    Population,
    generate_population,
    living_by_year,
)
from synthetic.rng import stream
from synthetic.scenario import LinkageTask, ScenarioConfig, build_task

#: Queries: about 1.28 million names and addresses were sent to the IRS in the 2025-26 IRS-ICE
#: case (as reported; see the description of ``bench/scenarios/irs-ice.toml``).
N_QUERIES = 1_280_000
#: Register records: roughly 160 million individual income tax returns are filed a year (IRS
#: Statistics of Income, individual returns; IRS filing-season statistics counted ~164 million
#: individual returns received in calendar 2022). Returns, not people: a joint return names two.
M_REGISTER = 160_000_000
#: US resident population, 2020 Census apportionment count (sum of ``STATE_POPULATION_2020``):
#: sets the register density M / population at the target and the number of ZIPs.
US_POPULATION = sum(STATE_POPULATION_2020.values())
#: Population sizes of the simulation sweep (registers of ~25k to ~400k at 80% coverage).
DEFAULT_SIZES: tuple[int, ...] = (40_000, 80_000, 160_000, 320_000, 640_000)
#: Random sub-registers of each simulated task (vary the register density at a fixed geography).
DEFAULT_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 1.0)
LEVEL = 0.95
_DRAWS = 20_000  # Monte Carlo draws for projection intervals

GEO_FIELDS = ("house_number", "street", "unit", "city", "state", "zip", "address", "full_address")
FILTERS = ("jw", "present", "absent", "pattern")
#: Approaches, in table order.
APPROACHES = (
    "analytic: Census tables",
    "analytic: population",
    "analytic: Census x key presence",
    "simulated",
    "simulated, b=1",
    "simulated clean",
    "simulated clean, b=1",
)


# ----------------------------------------------------------------------------- targets, keys
@dataclass(frozen=True)
class Target:
    """The scale projected to: queries, register records, and the population they come from."""

    n_queries: int = N_QUERIES
    n_register: int = M_REGISTER
    population: int = US_POPULATION

    def __post_init__(self) -> None:
        for name in ("n_queries", "n_register", "population"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

    @property
    def density(self) -> float:
        """Register records per person of the population (the scale of ZIP and address keys)."""
        return self.n_register / self.population


@dataclass(frozen=True)
class Key:
    """One key condition of a rule pass: a field under a transform (``compare``)."""

    field: str
    compare: str = "exact"
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def geo(self) -> bool:
        return self.field in GEO_FIELDS


@dataclass(frozen=True)
class PassSpec:
    """A pass of a rule: key conditions joined over all pairs, then filters."""

    keys: tuple[Key, ...]
    filters: tuple[Mapping[str, Any], ...]

    @property
    def geo(self) -> bool:
        """True if the pass keys on an address part: its collisions scale with density."""
        return any(k.geo for k in self.keys)

    @property
    def scale(self) -> str:
        return "M/population" if self.geo else "M"

    @cached_property
    def unsupported(self) -> str | None:
        """Why the analytic model cannot handle this pass (None if it can)."""
        if not self.keys:
            return "a pass without key conditions runs on blocked candidates"
        if any(f["compare"] == "jw" for f in self.filters):
            return "fuzzy (Jaro-Winkler) conditions have no frequency-table model"
        parts: list[str] = []
        for k in self.keys:
            if k.field == "name" and k.compare != "exact":
                return "only exact comparison of the composite `name` is modelled"
            if k.field in ("middle_name", "suffix", "tin"):
                return f"no frequency table for {k.field}"
            if k.compare == "name_control":
                return "the IRS name control has no frequency-table model"
            if k.field == "dob" and k.compare not in ("exact", "digits", "year"):
                return f"dob compare={k.compare} is not modelled (exact, digits, year are)"
            if k.geo and k.field != "state" and k.compare != "exact":
                return f"{k.field} compare={k.compare}: synthetic ZIP/address prefixes are not real"
            part = "geo" if k.geo else k.field
            fields = ("first_name", "last_name") if k.field == "name" else (part,)
            if part != "geo" and any(f in parts for f in fields):
                return f"two conditions on {k.field} are not independent parts"
            parts.extend(fields)
        return None

    @property
    def name_keys(self) -> tuple[Key, ...]:
        """Non-geographic keys, with the composite `name` split into first and last name."""
        out: list[Key] = []
        for k in self.keys:
            if k.field == "name":
                out += [Key("first_name"), Key("last_name")]
            elif not k.geo:
                out.append(k)
        return tuple(out)


def rule_passes(method: Method) -> list[PassSpec]:
    """The passes of a rule method as :class:`PassSpec` (raises ValueError for other kinds)."""
    if method.kind != "rule":
        raise ValueError(f"method {method.name!r} is a {method.kind!r}, not a rule")
    out = []
    for conds in method.params["passes"]:
        keys = tuple(
            Key(
                c["field"],
                c["compare"],
                tuple(sorted((k, v) for k, v in c.items() if k not in ("field", "compare"))),
            )
            for c in conds
            if c["compare"] not in FILTERS
        )
        out.append(PassSpec(keys, tuple(c for c in conds if c["compare"] in FILTERS)))
    return out


def projectable_rules(bench: Benchmark) -> list[Method]:
    """The benchmark's rules that run without blocking (every pass has a key condition)."""
    return [m for m in bench.methods if m.kind == "rule" and not m.uses_blocking()]


# ----------------------------------------------------------------------------- collisions
def collision_probability(p_list: Any, p_register: Any) -> float:
    """P(a random list person and a random register person share a key value): sum_k p_k q_k.

    ``p_list`` and ``p_register`` are the key's distributions on each side: aligned arrays, or
    Series indexed by key value (aligned on the index; a value absent from one side has
    probability 0 there). Each must be non-negative and sum to at most 1 (the rest is mass that
    never collides, e.g. missing keys or unique rare names).
    """
    if isinstance(p_list, pd.Series) and isinstance(p_register, pd.Series):
        p_list, p_register = p_list.align(p_register, fill_value=0.0)
    p = np.asarray(p_list, dtype=np.float64)
    q = np.asarray(p_register, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    for name, a in (("p_list", p), ("p_register", q)):
        if (a < 0).any() or not np.isfinite(a).all():
            raise ValueError(f"{name} must hold finite non-negative probabilities")
        if a.sum() > 1 + 1e-9:
            raise ValueError(f"{name} sums to {a.sum():.6g} > 1")
    return float(p @ q)


def expected_false_matches(n_queries: int, n_register: int, p_share: float, mated: float) -> float:
    """Expected false matches of N queries against M records when two different people share the
    key with probability ``p_share``: N x (M - mated) x p_share (a mated query's own record is not
    a false match; ``mated`` is the share of queries in the register)."""
    Target(n_queries, n_register, 1)  # validates N and M
    if not 0 <= mated <= 1:
        raise ValueError(f"mated must be a share in [0, 1], got {mated!r}")
    if not 0 <= p_share <= 1:
        raise ValueError(f"p_share must be a probability, got {p_share!r}")
    return n_queries * max(n_register - mated, 0.0) * p_share


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


# ----------------------------------------------------------------- geography, households
@dataclass(frozen=True)
class PassPieces:
    """What a population contributes to a pass's analytic rate (see :func:`analytic_rate`).

    p_geo: P(two adults of different households share the pass's address keys) (1: none).
    h_unit: mean number of *other* adults of the list person's household sharing the whole
        key (list-weighted by group), before the chance that they are in the register.
    filt: share of records passing the pass's filter conditions (presence, pattern).
    """

    p_geo: float
    geo_scales: bool
    h_unit: float
    filt: float


def pass_pieces(
    adults: _Adults, spec: PassSpec, scenario: ScenarioConfig, mix: np.ndarray | None = None
) -> PassPieces:
    """Measure a pass's geographic factor, household term and filter share on a population
    (the household term weighted by the list's group ``mix``, by default the scenario's)."""
    hh = adults.household
    geo = [k for k in spec.keys if k.geo]
    p_geo, scales = 1.0, False
    if geo:
        v = adults.codes(geo)
        ok = v >= 0
        n_v = np.bincount(v[ok]).astype(np.float64)
        n_h = np.bincount(hh[ok]).astype(np.float64)  # members of a household share an address
        n = float(ok.sum())
        p_geo = float(((n_v**2).sum() - (n_h**2).sum()) / (n**2 - (n_h**2).sum()))
        scales = any(k.field != "state" for k in geo)  # ZIPs, streets grow with the population
    # household term: other adults of the same household with the same whole key
    key = adults.codes(spec.keys)
    ok = (key >= 0) & adults.register_ok
    codes, uniq = pd.factorize(hh * np.int64(key.max() + 2) + key + 1)
    same = np.bincount(codes[ok], minlength=len(uniq)).astype(np.float64)
    others = same[codes] - ok  # exclude the person themself
    others[key < 0] = 0.0
    mix = adults.list_weights_by_group(scenario) if mix is None else mix
    lo = adults.list_ok
    per_group = np.bincount(adults.group[lo], weights=others[lo], minlength=len(N.GROUPS))
    n_group = np.bincount(adults.group[lo], minlength=len(N.GROUPS))
    h_unit = float(mix @ np.divide(per_group, n_group, out=np.zeros(len(mix)), where=n_group > 0))
    filt = 1.0
    for f in spec.filters:
        coded = adults.prep.field(f["field"])
        if f["compare"] in ("present", "absent"):
            hit = (coded.q >= 0) == (f["compare"] == "present")
        else:
            hit = matches_pattern(coded, f["regex"])[0]
        # the same share on each side it applies to (clean records of the same population)
        filt *= float(hit.mean()) ** (2 if f["side"] == "both" else 1)
    return PassPieces(p_geo, scales, h_unit, filt)


def analytic_rate(
    passes: Sequence[PassSpec],
    p_names: Sequence[float],
    pieces: Sequence[PassPieces],
    *,
    target: Target,
    population: int,
    adult_share: float,
    mated: float,
    reach: Sequence[float] | None = None,
    presence: Sequence[float] | None = None,
) -> tuple[float, float, list[float]]:
    """Expected (false matches per query, misses per query, per-pass FP per query) at ``target``.

    Per pass: ``filt x [h_unit x P(in register) + (M - mated) x P(names) x P(geo)]`` with
    P(in register) = M / (target population x adult share) and P(geo) measured on a population
    of ``population`` people, scaled by population / target population for ZIP and address keys.
    A cascade's later passes see only queries not linked before (``reach``; by default: clean
    keys link every mated query at its first pass, and a query with a false match is linked).
    ``presence`` multiplies each pass (share of pairs with the key present on both sides).
    """
    m_total = target.n_register
    in_reg = min(1.0, m_total / (target.population * adult_share))
    share, mated_left, missed, fp, per_pass = 1.0, mated, mated, 0.0, []
    for k, (_, pn, pc) in enumerate(zip(passes, p_names, pieces, strict=True)):
        p_geo = pc.p_geo * (population / target.population if pc.geo_scales else 1.0)
        rate = pc.filt * (pc.h_unit * in_reg + max(m_total - mated_left, 0.0) * pn * p_geo)
        if presence is not None:
            rate *= presence[k]
        r = reach[k] if reach is not None else share
        per_pass.append(r * rate)
        fp += r * rate
        # clean keys: a mated query's true pair agrees on every key (if it passes the filters)
        a = pc.filt
        linked = mated_left * a + (1 - mated_left * a) * (1 - math.exp(-rate))
        mated_left = mated_left * (1 - a) / max(1 - mated_left * a, 1e-300)
        missed *= 1 - a
        share *= 1 - linked
    return fp, missed, per_pass


# ----------------------------------------------------------------------------- simulation
def _variant(bench: Benchmark, size: int, queries: int | None, clean: bool) -> Benchmark:
    """The benchmark at another population size (and query count), optionally without noise.
    A list drawn by residence status (``status_mix``) keeps the scenario's list-to-population
    ratio at smaller sizes (a small population holds too few people of a rare status for the
    full list), unless ``queries`` is given."""
    data = copy.deepcopy(bench.data)
    data["population"]["size"] = int(size)
    sc = bench.scenario
    if queries is None and sc.query.status_mix is not None:
        queries = max(1, min(sc.query.size, round(sc.query.size * size / sc.population.size)))
    if queries is not None:
        data["query"]["size"] = int(queries)
    if clean:
        for side in ("register", "query"):
            data[side]["noise"] = {name: {"rate": 0.0} for name in NOISE}
    data["methods"] = [m for m in data["methods"] if m.get("kind") == "rule"]
    return parse_benchmark(data, source=bench.source)


def _subsample(task: LinkageTask, keep: np.ndarray) -> LinkageTask:
    """The task with only the register rows ``keep`` (sorted), truth renumbered."""
    new = np.full(len(task.register), -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    reg_row = new[task.truth["register_row"].to_numpy()]
    ok = reg_row >= 0
    truth = pd.DataFrame(
        {"query_row": task.truth["query_row"].to_numpy()[ok], "register_row": reg_row[ok]}
    )
    return LinkageTask(
        task.query,
        task.register.iloc[keep].reset_index(drop=True),
        truth,
        task.query_people,
        task.register_people.iloc[keep].reset_index(drop=True),
        task.noise_log.iloc[:0],
    )


def _poststrata(task: LinkageTask, mix: Mapping[str, float] | None) -> tuple[np.ndarray, float]:
    """Per-query weights that re-weight the simulated list to the intended group ``mix`` (a small
    population cannot always supply it: the non-register pool of a group runs out), and the total
    variation distance between the realized and the intended mix."""
    g = _groups(task.query_people)
    n = len(g)
    realized = np.bincount(g, minlength=len(N.GROUPS)) / max(n, 1)
    if not mix or n == 0:
        return np.ones(n), 0.0
    want = np.array([mix[x] for x in N.GROUPS])
    want = np.where(realized > 0, want, 0.0)  # a group absent from the list cannot be restored
    want = want / want.sum()
    w = np.divide(want, realized, out=np.zeros_like(want), where=realized > 0)[g]
    return w, float(0.5 * np.abs(realized - np.array([mix[x] for x in N.GROUPS])).sum())


def _run_rule(
    m: Method, prep: PreparedTask, weights: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run a rule; count declared false matches per pass, split into household and other ones,
    raw and post-stratified by ``weights`` (per query)."""
    task = prep.task
    scored = m.score(prep, None)
    link = resolve(scored.query_row, scored.register_row, scored.score, scored.accept, m.resolve)
    n_passes = len(m.params["passes"])
    q, r = scored.query_row.astype(np.int64), scored.register_row.astype(np.int64)
    pass_of = (n_passes - np.rint(scored.score)).astype(np.int64)  # rules score n_passes - k
    width = max(prep.n_register, 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    is_true = np.isin(q * width + r, truth)
    hh_q = task.query_people["household_id"].to_numpy()[q]
    hh_r = task.register_people["household_id"].to_numpy()[r]
    fp = link & ~is_true
    household = fp & (hh_q == hh_r)
    rows = []
    for k, spec in enumerate(rule_passes(m)):
        reaching = np.ones(prep.n_query, dtype=bool)
        reaching[q[pass_of < k]] = False  # cascade: linked by an earlier pass
        other = fp & ~household & (pass_of == k)
        hh_k = household & (pass_of == k)
        per_q = np.bincount(q[other], minlength=prep.n_query)[reaching] * weights[reaching]
        mean = per_q.mean() if per_q.size else 0.0
        coded = [prep.key(kk.field, kk.compare, **kk.kwargs) for kk in spec.keys]
        kq, kr = combine(coded)
        rows.append(
            {
                "pass": k,
                "reach": float(weights[reaching].sum()),
                "reach_raw": int(reaching.sum()),
                "fp_household": float(weights[q[hh_k]].sum()),
                "fp_other": float(per_q.sum()),
                "fp_household_raw": int(hh_k.sum()),
                "fp_other_raw": int(other.sum()),
                # index of dispersion of the per-query counts (1 for Poisson)
                "dispersion": float(per_q.var() / mean) if mean > 0 else 1.0,
                "present_q": float((kq >= 0).mean()) if kq.size else float("nan"),
                "present_r": float((kr >= 0).mean()) if kr.size else float("nan"),
            }
        )
    tp = int((link & is_true).sum())
    rule = {"tp": tp, "fn": len(truth) - tp, "true_links": len(truth), "fp": int(fp.sum())}
    return rows, rule


@dataclass
class Simulation:
    """Raw material of the simulated projection and of the analytic one.

    passes: one row per (variant, size, seed, fraction, rule, pass) with the run's sizes and the
        false matches of the pass (household / other), reach, dispersion and key presence.
    rules: one row per (variant, size, seed, fraction, rule) with TP, FN, true links.
    analytic: one row per (size, seed, rule, source) with the analytic expectation at ``target``
        (``fp_per_query``, ``fn_per_query``) and at the simulated task's own scale (``own_*``:
        its list size, full register and population).
    specs: the passes of each projected rule.
    """

    passes: pd.DataFrame
    rules: pd.DataFrame
    analytic: pd.DataFrame
    target: Target
    specs: dict[str, list[PassSpec]]
    seconds: float = 0.0
    skipped: dict[str, str] = field(default_factory=dict)


def _seeds(bench: Benchmark, seeds: int | Sequence[int]) -> list[int]:
    if isinstance(seeds, int | np.integer):
        if seeds < 1:
            raise ValueError(f"seeds must be >= 1, got {seeds}")
        return [bench.scenario.seed + i for i in range(int(seeds))]
    out = [int(s) for s in seeds]
    if not out or min(out) < 0:
        raise ValueError(f"seeds must be non-negative integers, got {seeds}")
    return out


def _analytic_rows(
    pop: Population,
    scenario: ScenarioConfig,
    rules: Sequence[Method],
    census: CensusNames,
    census_p: dict[tuple[str, int], float],
    target: Target,
    cohort: bool,
    *,
    own: Target,
    own_list: pd.DataFrame,
    own_mated: float,
) -> list[dict[str, Any]]:
    """The analytic expectation of every rule on one population, both sources, at ``target``;
    and, from the population's own frequencies, at the simulated task's own scale (``own``) for
    its realized list (``own_list``: composition; ``own_mated``: share in the register)."""
    adults = _Adults.of(pop, scenario)
    popnames = PopulationNames(adults, scenario, cohort)
    ownnames = PopulationNames(adults, scenario, cohort, list_people=own_list)
    own_mix = np.bincount(_groups(own_list), minlength=len(N.GROUPS)) / max(len(own_list), 1)
    kw: dict[str, Any] = {
        "population": len(pop.people),
        "adult_share": float(adults.register_ok.sum()) / len(pop.people),
    }
    # A list drawn by residence status has no declared share in the register: its realized one.
    mated = scenario.query.share_in_register
    mated = own_mated if mated is None else mated
    out: list[dict[str, Any]] = []
    for m in rules:
        specs = rule_passes(m)
        reason = next((s.unsupported for s in specs if s.unsupported), None)
        if reason:
            out.append({"rule": m.name, "reason": reason})
            continue
        pieces = [pass_pieces(adults, s, scenario) for s in specs]
        own_pieces = [pass_pieces(adults, s, scenario, own_mix) for s in specs]
        own_names = [ownnames.probability(s.name_keys) for s in specs]
        fp_o, _, per_o = analytic_rate(
            specs, own_names, own_pieces, target=own, mated=own_mated, **kw
        )
        for source in ("census", "population"):
            if source == "census":
                for k, s in enumerate(specs):  # tables: the same for every population
                    if (m.name, k) not in census_p:
                        census_p[m.name, k] = census.probability(s.name_keys)
                p_names = [census_p[m.name, k] for k in range(len(specs))]
            else:
                p_names = [popnames.probability(s.name_keys) for s in specs]
            fp_t, fn_t, per_t = analytic_rate(
                specs, p_names, pieces, target=target, mated=mated, **kw
            )
            out.append(
                {
                    "rule": m.name,
                    "source": source,
                    **kw,
                    "fp_per_query": fp_t,
                    "fn_per_query": fn_t,
                    "pass_fp_per_query": per_t,
                    "p_names": p_names,
                    "pieces": pieces,
                    "own_queries": own.n_queries,
                    "own_register": own.n_register,
                    # own scale: from the population's frequencies, whatever the source
                    "own_fp_per_query": fp_o,
                    "own_pass_fp_per_query": per_o,
                    "reason": None,
                }
            )
    return out


def simulate(
    bench: Benchmark | str,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: int | Sequence[int] = 3,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    *,
    queries: int | None = None,
    variants: Sequence[str] = ("noisy",),
    target: Target | None = None,
    run_rules: bool = True,
    analytic: bool = True,
    cohort: bool = True,
    progress: bool | None = None,
) -> Simulation:
    """Run the benchmark's rules at several population sizes, seeds and sub-register fractions.

    ``variants``: "noisy" (the scenario as configured) and/or "clean" (every noise rate 0).
    ``queries``: the simulated list size (default: the scenario's; it is kept fixed across
    sizes). With ``analytic``, the analytic expectation (both sources) is computed on every
    generated population, at ``target`` and at the task's own scale; ``run_rules=False`` skips
    the rules (analytic only).
    """
    bench = load_benchmark(bench) if isinstance(bench, str) else bench
    target = target or Target()
    sizes = [int(s) for s in sizes]
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"sizes must be positive population sizes, got {sizes}")
    fractions = sorted({float(f) for f in fractions})
    if not fractions or not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must lie in (0, 1], got {fractions}")
    if not variants or not set(variants) <= {"noisy", "clean"}:
        raise ValueError(f"variants must be among 'noisy', 'clean', got {variants}")
    if queries is not None and queries <= 0:
        raise ValueError(f"queries must be positive, got {queries}")
    seed_list = _seeds(bench, seeds)
    rules = projectable_rules(bench)
    names = {m.name for m in rules}
    skipped = {
        m.name: "not a rule, or a rule with a pass that needs blocked candidates"
        for m in bench.methods
        if m.name not in names
    }
    if not rules:
        raise ValueError(f"scenario {bench.name!r} has no rule that runs without blocking")
    census = CensusNames(bench.scenario, cohort)
    census_p: dict[tuple[str, int], float] = {}
    start = time.perf_counter()
    pass_rows: list[dict[str, Any]] = []
    rule_rows: list[dict[str, Any]] = []
    ana_rows: list[dict[str, Any]] = []
    jobs = [(s, sd) for s in sizes for sd in seed_list]
    show = sys.stderr.isatty() if progress is None else progress
    for size, seed in tqdm(jobs, disable=not show, file=sys.stderr, desc="projection runs"):
        benches = {v: _variant(bench, size, queries, v == "clean") for v in variants}
        first = benches[variants[0]]
        pop = generate_population(first.scenario.population, seed)
        own: Target | None = None
        own_list, own_mated = pd.DataFrame(), 0.0
        for variant, b in benches.items():
            try:
                task = build_task(b.scenario, seed, population=pop)
            except ConfigError as exc:
                raise ConfigError(
                    f"population size {size:,}", f"{exc.problem} ({exc.where})"
                ) from None
            if own is None:
                own = Target(len(task.query), max(len(task.register), 1), len(pop.people))
                own_list = task.query_people
                own_mated = len(task.truth) / max(len(task.query), 1)
            if not run_rules:
                break
            weights, mix_tv = _poststrata(task, b.scenario.query.group_mix)
            order = stream(seed, "projection", "sub-register").permutation(len(task.register))
            for f in fractions:
                keep = np.sort(order[: max(1, round(f * len(task.register)))])
                prep = PreparedTask(task if f == 1.0 else _subsample(task, keep), seed)
                base = {
                    "variant": variant,
                    "size": size,
                    "seed": seed,
                    "fraction": f,
                    "population": len(pop.people),
                    "register": prep.n_register,
                    "queries": prep.n_query,
                    "mix_tv": mix_tv,
                }
                for m in b.methods:
                    if m.name in names:
                        rows, rule = _run_rule(m, prep, weights)
                        pass_rows += [{**base, "rule": m.name, **r} for r in rows]
                        rule_rows.append({**base, "rule": m.name, **rule})
        if analytic:
            assert own is not None
            rows = _analytic_rows(
                pop, first.scenario, rules, census, census_p, target, cohort,
                own=own, own_list=own_list, own_mated=own_mated,
            )  # fmt: skip
            ana_rows += [{"size": size, "seed": seed, **r} for r in rows]
    return Simulation(
        pd.DataFrame(pass_rows),
        pd.DataFrame(rule_rows),
        pd.DataFrame(ana_rows),
        target,
        {m.name: rule_passes(m) for m in rules},
        time.perf_counter() - start,
        skipped,
    )


# ----------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class Fit:
    """A Poisson log-linear law: expected count = exposure x exp(log_a + b (log x - center)).

    ``free`` is False when the exponent is fixed at 1 (theory: the birthday problem); then
    ``count`` / ``exposure`` (the pooled rate per unit of x) carries the uncertainty as a Jeffreys
    gamma posterior of an overdispersed count.
    """

    log_a: float
    b: float
    cov: np.ndarray
    center: float
    free: bool
    count: float
    exposure: float
    phi: float

    @property
    def b_se(self) -> float:
        return float(math.sqrt(self.cov[1, 1])) if self.free else float("nan")

    def point(self, x: float) -> float:
        if not self.free:
            return self.count / self.exposure * x if self.exposure > 0 else float("nan")
        return float(math.exp(self.log_a + self.b * (math.log(x) - self.center)))

    @property
    def observed(self) -> bool:
        """Whether the law rests on at least one event (a free exponent needs several)."""
        return self.free or self.count > 0

    def draws(self, x: float, rng: np.random.Generator, n: int = _DRAWS) -> np.ndarray:
        if not self.free:
            if self.exposure <= 0:
                return np.full(n, np.nan)
            shape = self.count / self.phi + 0.5
            return rng.gamma(shape, self.phi / self.exposure, n) * x
        theta = rng.multivariate_normal([self.log_a, self.b], self.cov, n)
        return np.exp(theta[:, 0] + theta[:, 1] * (math.log(x) - self.center))


def _poisson_irls(
    y: np.ndarray, offset: np.ndarray, z: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson GLM log E[y] = offset + t0 + t1 z by iteratively reweighted least squares:
    (theta, mu, inverse Fisher information)."""
    X = np.column_stack([np.ones_like(z), z])
    theta = np.array([math.log(y.sum() / np.exp(offset).sum()), 1.0])
    for _ in range(100):
        eta = X @ theta + offset
        mu = np.exp(eta)
        info = X.T @ (mu[:, None] * X)
        step = np.linalg.solve(info, X.T @ (y - mu))
        theta = theta + step
        if np.abs(step).max() < 1e-10:
            break
    mu = np.exp(X @ theta + offset)
    return theta, mu, np.linalg.inv(X.T @ (mu[:, None] * X))


def nesting_factor(fractions: Sequence[float]) -> float:
    """Variance inflation of the summed counts of nested sub-registers of one task.

    A false-match pair of the full register is in the sub-register of fraction f with
    probability f, nested: it is counted c = #{f_i >= u} times (u uniform). For Poisson pairs the
    sum over sub-registers has variance / mean = E[c^2] / E[c], which the fit cannot see in the
    scatter of the points (they agree by construction).
    """
    f = np.asarray(sorted(fractions), dtype=np.float64)
    if not len(f) or f.min() <= 0 or f.max() > 1:
        raise ValueError(f"fractions must lie in (0, 1], got {list(fractions)}")
    return float(np.minimum.outer(f, f).sum() / f.sum())


def fit_law(
    y: np.ndarray,
    n: np.ndarray,
    x: np.ndarray,
    clusters: np.ndarray,
    dispersion: np.ndarray | None = None,
    *,
    free: bool = True,
    x_target: float | None = None,
    min_count: int = 10,
    nesting: float = 1.0,
) -> Fit:
    """Fit counts ``y`` of ``n`` trials at scale ``x`` by ``E[y] = n a x^b``.

    The exponent is free only if ``free`` and the data can identify it (at least ``min_count``
    events, x spanning a factor 2 or more, events at 3+ points); else b = 1. The covariance is the
    larger (at ``x_target``) of the model one inflated by overdispersion (Pearson, or the mean
    per-query dispersion, at least 1) times ``nesting`` (the variance inflation of counts taken on
    nested sub-registers, see :func:`nesting_factor`) and the cluster-robust one (clusters: runs
    sharing a task).
    """
    if nesting < 1:
        raise ValueError(f"nesting must be >= 1, got {nesting}")
    y, n, x = (np.asarray(a, dtype=np.float64) for a in (y, n, x))
    if (n <= 0).any() or (x <= 0).any():
        raise ValueError("trials and scale must be positive")
    disp = 1.0 if dispersion is None or not len(dispersion) else float(np.mean(dispersion))
    lx = np.log(x)
    center = float(np.average(lx, weights=n))
    can_free = (
        free and y.sum() >= min_count and lx.max() - lx.min() >= math.log(2) and (y > 0).sum() >= 3
    )
    if not can_free:
        exposure = float((n * x).sum())
        lam = y.sum() / exposure
        mu = n * x * lam
        dof = max(len(y) - 1, 1)
        pearson = float(((y - mu) ** 2 / np.where(mu > 0, mu, 1)).sum() / dof) if y.sum() else 1.0
        phi = max(1.0, pearson, disp) * nesting
        var = phi / y.sum() if y.sum() else float("inf")
        cov = np.array([[var, 0.0], [0.0, 0.0]])
        log_a = math.log(lam) + center if lam > 0 else -math.inf
        return Fit(log_a, 1.0, cov, center, False, float(y.sum()), exposure, phi)
    z = lx - center
    theta, mu, inv = _poisson_irls(y, np.log(n), z)
    X = np.column_stack([np.ones_like(z), z])
    pearson = float(((y - mu) ** 2 / mu).sum() / max(len(y) - 2, 1))
    model = inv * max(1.0, pearson, disp) * nesting
    # cluster-robust (sandwich) covariance: runs of one task share its queries and population
    scores = X * (y - mu)[:, None]
    _, cl = np.unique(clusters, return_inverse=True)
    g = int(cl.max()) + 1
    summed = np.zeros((g, 2))
    np.add.at(summed, cl, scores)
    robust = inv @ (summed.T @ summed) @ inv * (g / max(g - 1, 1))
    zt = np.array([1.0, (math.log(x_target) - center) if x_target else 0.0])
    cov = robust if zt @ robust @ zt > zt @ model @ zt else model
    return Fit(float(theta[0]), float(theta[1]), cov, center, True, float(y.sum()), 0.0, 1.0)


@dataclass(frozen=True)
class _PassFit:
    rule: str
    pass_index: int
    scale: str
    reach: float  # share of queries reaching the pass (full register)
    other: Fit
    household: Fit
    x_target: float
    d_target: float

    def point(self) -> float:
        return self.reach * (self.other.point(self.x_target) + self.household.point(self.d_target))

    def draws(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draws of the pass's false matches per query: (for the upper end of the interval,
        for its lower end). A law fitted to no false match at all contributes nothing to the
        lower end: zero events observed leave zero as plausible as any small value (the
        Jeffreys posterior's positive lower quantile would exclude the point estimate, 0)."""
        o = self.other.draws(self.x_target, rng)
        h = self.household.draws(self.d_target, rng)
        low = o * self.other.observed + h * self.household.observed
        return self.reach * (o + h), self.reach * low


def fit_passes(sim: Simulation, variant: str, *, free: bool = True) -> list[_PassFit]:
    """Fit each rule pass's other and household false matches (one variant of the simulation)."""
    t = sim.target
    df = sim.passes[sim.passes["variant"] == variant]
    out = []
    for (rule, k), d in df.groupby(["rule", "pass"], sort=False):
        spec = sim.specs[rule][int(k)]
        full = d[d["fraction"] == 1.0]
        reach_share = float((full["reach"] / full["queries"]).mean())
        cl = (d["size"].astype(str) + ":" + d["seed"].astype(str)).to_numpy()
        density = d["register"].to_numpy() / d["population"].to_numpy()
        nest = nesting_factor(d["fraction"].unique())
        hh = fit_law(
            d["fp_household"].to_numpy(), d["reach"].to_numpy(), density, cl,
            free=False, nesting=nest,
        )  # fmt: skip
        if spec.geo:
            # A small population has few ZIPs, and a few gamma-sized ZIPs are less unequal than
            # many (E[sum of squared shares] x K = 3K / (2K + 1) for K ZIPs): fit the density
            # law on the largest population only, where sub-registers vary the density.
            d = d[d["size"] == d["size"].max()]
            cl = (d["size"].astype(str) + ":" + d["seed"].astype(str)).to_numpy()
            x = d["register"].to_numpy() / d["population"].to_numpy()
            x_t = t.density
        else:
            x, x_t = d["register"].to_numpy(np.float64), float(t.n_register)
        other = fit_law(
            d["fp_other"].to_numpy(), d["reach"].to_numpy(), x, cl, d["dispersion"].to_numpy(),
            free=free, x_target=x_t, nesting=nest,
        )  # fmt: skip
        out.append(_PassFit(rule, int(k), spec.scale, reach_share, other, hh, x_t, t.density))
    return out


# ----------------------------------------------------------------------------- projection
def _pool(values: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Weighted mean and its standard error over independent populations."""
    w = weights / weights.sum()
    mean = float(w @ values)
    k = len(values)
    if k < 2:
        return mean, float("nan")
    se = math.sqrt(float((w**2 * (values - mean) ** 2).sum()) * k / (k - 1))
    return mean, se


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    lo, hi = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _analytic_projection(
    sim: Simulation, rule: str, target: Target, mated: float, level: float
) -> list[tuple[str, dict[str, Any]]]:
    """Analytic rows of one rule, pooled over the generated populations."""
    z = float(stats.norm.ppf((1 + level) / 2))
    a = sim.analytic
    a = a[a["rule"] == rule] if len(a) else a
    if not len(a) or a["reason"].notna().all():
        reason = a["reason"].dropna().iloc[0] if len(a) else "not computed"
        return [(APPROACHES[0], {"assumptions": f"not projected analytically: {reason}"})]
    # the largest populations: the most ZIPs (see fit_passes) and the most precise frequencies
    a = a[a["size"] == a["size"].max()]
    n = target.n_queries

    def pooled(values: np.ndarray, weights: np.ndarray, note: str, **kw: Any) -> dict[str, Any]:
        fpq, se = _pool(values, weights)  # se: NaN with a single population
        return {
            "fp": n * fpq,
            "fp_lo": max(0.0, n * (fpq - z * se)) if np.isfinite(se) else np.nan,
            "fp_hi": n * (fpq + z * se) if np.isfinite(se) else np.nan,
            "fp_per_query": fpq,
            "assumptions": note,
            **kw,
        }

    out = []
    spread = "; interval: spread over the largest generated populations (model error not included)"
    notes = {
        "census": "clean keys; names and dates from the Census/SSA tables, independent within "
        "group, sex and birth year; ZIP/address and household terms from the population model"
        + spread,
        "population": "clean keys; the generated populations' own name and date frequencies "
        "(pairs of different households) under the same independence model" + spread,
    }
    for source, approach in (("census", APPROACHES[0]), ("population", APPROACHES[1])):
        s = a[a["source"] == source]
        w = s["population"].to_numpy(np.float64)
        fn = n * float(s["fn_per_query"].mean())
        out.append((approach, pooled(s["fp_per_query"].to_numpy(), w, notes[source], fn=fn)))
    # the Census value with the simulated (noisy) keys' presence and the simulated pass reach
    p = sim.passes
    if len(p):
        p = p[(p["variant"] == "noisy") & (p["rule"] == rule) & (p["fraction"] == 1.0)]
    if len(p):
        g = p.assign(share=p["reach"] / p["queries"]).groupby("pass")
        presence = (g["present_q"].mean() * g["present_r"].mean()).to_numpy()
        reach = g["share"].mean().to_numpy()
        if presence.min() > 0.999:  # no missing keys: the same as the Census row
            return out
        s = a[a["source"] == "census"]
        vals = [
            analytic_rate(
                sim.specs[rule], r.p_names, r.pieces, target=target, population=r.population,
                adult_share=r.adult_share, mated=mated, reach=reach, presence=presence,
            )[0]
            for r in s.itertuples()
        ]  # fmt: skip
        note = (
            "Census value x share of pairs with every key present under the scenario's noise "
            "(missing values never collide) and the simulated pass reach; other noise assumed "
            "not to change collision rates"
        )
        out.append((APPROACHES[2], pooled(np.asarray(vals), s["population"].to_numpy(), note)))
    return out


def _simulated_projection(
    sim: Simulation,
    variant: str,
    free: bool,
    target: Target,
    mated: float,
    level: float,
    rng: np.random.Generator,
) -> dict[str, dict[str, Any]]:
    """Simulated rows (one variant, free or fixed exponent), by rule."""
    out = {}
    fits = fit_passes(sim, variant, free=free)
    n = target.n_queries
    for rule in sim.specs:
        fr = [f for f in fits if f.rule == rule]
        if not fr:
            continue
        point = sum(f.point() for f in fr)
        draws = [f.draws(rng) for f in fr]
        lo = _interval(n * np.sum([low for _, low in draws], axis=0), level)[0]
        hi = _interval(n * np.sum([up for up, _ in draws], axis=0), level)[1]
        dom = max(fr, key=lambda f: f.point())
        fn, fn_lo, fn_hi = _fn_projection(sim, rule, variant, target, mated, level)
        detail = "; ".join(
            f"pass {f.pass_index + 1}: "
            + (f"b = {f.other.b:.3f} ± {f.other.b_se:.3f}" if f.other.free else "b = 1")
            + f", {int(f.other.count)} FP + {int(f.household.count)} household FP simulated"
            for f in fr
        )
        noise = "scenario noise as configured" if variant == "noisy" else "no noise"
        out[rule] = {
            "fp": n * point,
            "fp_lo": lo,
            "fp_hi": hi,
            "fp_per_query": point,
            "fn": fn,
            "fn_lo": fn_lo,
            "fn_hi": fn_hi,
            "exponent": dom.other.b if dom.other.free else np.nan,
            "exponent_se": dom.other.b_se,
            "assumptions": f"{noise}; {detail}",
        }
    return out


def project(
    bench_or_scenario: Benchmark | str,
    n_queries: int = N_QUERIES,
    n_register: int = M_REGISTER,
    *,
    population: int = US_POPULATION,
    sizes: Sequence[int] = DEFAULT_SIZES,
    seeds: int | Sequence[int] = 3,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    queries: int | None = None,
    clean: bool = False,
    run_rules: bool = True,
    cohort: bool = True,
    level: float = LEVEL,
    progress: bool | None = None,
    simulation: Simulation | None = None,
) -> pd.DataFrame:
    """Projected false matches (and misses) of each rule for ``n_queries`` queries against
    ``n_register`` register records drawn from a population of ``population`` people.

    One row per rule x approach (:data:`APPROACHES`): ``fp`` (expected false matches),
    ``fp_lo``/``fp_hi`` (``level`` interval), ``fp_per_query``, ``fn``/``fn_lo``/``fn_hi``
    (expected misses, where meaningful), ``exponent``/``exponent_se`` (the fitted b of the pass
    that dominates at the target; NaN when fixed at 1), ``scale`` (each pass's scale variable)
    and ``assumptions`` (a short statement; the full list is :func:`assumptions`, also in
    ``df.attrs["assumptions"]``). ``df.attrs["simulation"]`` holds the raw :class:`Simulation`
    (pass ``simulation=`` to re-project it to another target without rerunning).
    """
    target = Target(n_queries, n_register, population)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    bench = (
        load_benchmark(bench_or_scenario)
        if isinstance(bench_or_scenario, str)
        else bench_or_scenario
    )
    variants = ["noisy", "clean"] if clean else ["noisy"]
    if simulation is not None and simulation.target != target:
        # the analytic rows were computed at the simulation's target: recompute them
        simulation = _retarget(simulation, bench, target)
    sim = simulation or simulate(
        bench, sizes, seeds, fractions, queries=queries, variants=variants, target=target,
        run_rules=run_rules, cohort=cohort, progress=progress,
    )  # fmt: skip
    rng = stream(bench.scenario.seed, "projection", "draws")
    mated = mated_share(bench, sim)
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for rule in sim.specs:
        for approach, values in _analytic_projection(sim, rule, target, mated, level):
            cells[rule, approach] = values
    present = set(sim.passes["variant"]) if len(sim.passes) else set()
    for variant in (v for v in ("noisy", "clean") if v in present):
        for free in (True, False):
            name = ("simulated" if variant == "noisy" else "simulated clean") + (
                "" if free else ", b=1"
            )
            for rule, values in _simulated_projection(
                sim, variant, free, target, mated, level, rng
            ).items():
                cells[rule, name] = values
    rows = []
    for rule in sim.specs:
        for approach in APPROACHES:
            if (rule, approach) in cells:
                row: dict[str, Any] = dict.fromkeys(_COLUMNS, np.nan)
                row.update(rule=rule, approach=approach, assumptions="")
                row["scale"] = " / ".join(s.scale for s in sim.specs[rule])
                row.update(cells[rule, approach])
                rows.append(row)
    df = pd.DataFrame(rows, columns=list(_COLUMNS))
    df.attrs["assumptions"] = assumptions(bench, target)
    df.attrs["simulation"] = sim
    df.attrs["target"] = target
    return df


_COLUMNS = (
    "rule", "approach", "fp", "fp_lo", "fp_hi", "fp_per_query", "fn", "fn_lo", "fn_hi",
    "exponent", "exponent_se", "scale", "assumptions",
)  # fmt: skip


def mated_share(bench: Benchmark, sim: Simulation) -> float:
    """The share of the list truly in the register: the scenario's ``share_in_register``, or,
    for a list drawn by residence status (``status_mix``), the share realized in the simulated
    lists (true links per query over the simulated tasks)."""
    share = bench.scenario.query.share_in_register
    if share is not None:
        return float(share)
    r = sim.rules
    if not len(r):
        raise LinkriskError(
            f"{bench.source}: query.status_mix: the projection needs the simulated lists to "
            "measure the share in the register (run the simulations)"
        )
    return float(r["true_links"].sum() / r["queries"].sum())


def _retarget(sim: Simulation, bench: Benchmark, target: Target) -> Simulation:
    """The simulation with its analytic rows recomputed at another target."""
    a = sim.analytic
    if len(a):
        a = a.copy()
        mated = mated_share(bench, sim)
        for i, r in a.iterrows():
            if r["reason"] is None or (isinstance(r["reason"], float) and np.isnan(r["reason"])):
                fp, fn, per = analytic_rate(
                    sim.specs[r["rule"]], r["p_names"], r["pieces"], target=target,
                    population=r["population"], adult_share=r["adult_share"], mated=mated,
                )  # fmt: skip
                a.at[i, "fp_per_query"], a.at[i, "fn_per_query"] = fp, fn
                a.at[i, "pass_fp_per_query"] = per
    return Simulation(sim.passes, sim.rules, a, target, sim.specs, sim.seconds, sim.skipped)


def _fn_projection(
    sim: Simulation, rule: str, variant: str, target: Target, mated: float, level: float
) -> tuple[float, float, float]:
    """Misses at the target: N x mated share x the pooled miss rate of the full-register runs
    (scale-free when every agreeing pair is declared; a Jeffreys interval on the pooled counts)."""
    r = sim.rules
    r = r[(r["rule"] == rule) & (r["variant"] == variant) & (r["fraction"] == 1.0)]
    if not len(r) or r["true_links"].sum() == 0:
        return (np.nan,) * 3
    fn, links = float(r["fn"].sum()), float(r["true_links"].sum())
    scale = target.n_queries * mated
    lo, hi = stats.beta.ppf([(1 - level) / 2, (1 + level) / 2], fn + 0.5, links - fn + 0.5)
    # Jeffreys' interval excludes its own estimate at 0 and at every link missed: there the
    # bound is the estimate itself (Brown, Cai & DasGupta 2001, the modified Jeffreys interval)
    lo = 0.0 if fn == 0 else float(lo)
    hi = 1.0 if fn == links else float(hi)
    return scale * fn / links, scale * lo, scale * hi


# ----------------------------------------------------------------------------- assumptions
def assumptions(
    bench: Benchmark | None = None, target: Target | None = None
) -> list[dict[str, str]]:
    """Every assumption of the projection, with its source (or "assumption")."""
    t = target or Target()
    sc = bench.scenario if bench is not None else None
    ppz = f"{sc.population.people_per_zip:,}" if sc else "the scenario's people_per_zip"
    if sc is None:
        mated = "the scenario's share_in_register"
    elif sc.query.share_in_register is None:
        mated = "the share realized in the simulated lists (drawn by residence status)"
    else:
        mated = f"{sc.query.share_in_register:g}"
    out = [
        ("N (queries)", f"{t.n_queries:,}: about 1.28 million names sent in the 2025-26 IRS-ICE "
         "case, as reported (bench/scenarios/irs-ice.toml)"),
        ("M (register records)", f"{t.n_register:,}: roughly 160 million individual income tax "
         "returns a year (IRS Statistics of Income; IRS filing-season statistics counted ~164M "
         "individual returns received in 2022). Records are treated as people; if the register "
         "holds everyone named on a return (~208M people incl. spouses on joint returns), "
         "M-scaled false matches grow by ~1.3x"),
        ("Population", f"{t.population:,}: 2020 Census apportionment count; sets the register "
         f"density M / population = {t.density:.3f} and the number of ZIPs "
         f"(population / {ppz} people per ZIP)"),
        ("Scale variables", "name and date keys: false matches per query grow linearly with M; "
         "ZIP and address keys: with the register records per ZIP or address, i.e. the density "
         "M / population (at a fixed people_per_zip the ZIP count grows with the population); "
         "household false matches: with the density too (chance a housemate is in the register)"),
        ("Resolution", "every agreeing pair is declared (the rules' resolve = all): false matches "
         "are pairs, one per colliding register record"),
        ("Independence", "first and last names independent given the name-origin group; first "
         "names depend on sex and birth year (SSA counts), surnames on group only; dates of "
         "birth independent of names given the birth year, by the daily US birth pattern "
         "(CDC/NCHS and SSA counts 1994-2014, their average elsewhere) with placeholder dates "
         "(January 1, 1st of the month, July 1) for a share of people born abroad; names "
         "independent of addresses "
         "(no residential clustering of groups: real name+ZIP collisions are higher where a "
         "group is concentrated)"),
        ("Census tables", "Census 2010 surnames and 2020 first names by group (synthetic/names.py);"
         " rare (tail) names never collide on an exact key; under a prefix or phonetic key their "
         "keys follow the group's listed names counted once each"),
        ("Compound surnames", "recorded in full (GARCIA LOPEZ) with the scenario's "
         "compound_surname_by_group share, colliding only with the same pair of surnames; under a"
         " prefix key they key like their paternal part"),
        ("Dates of birth", "uniform within the year (no birth seasonality, which adds a few "
         "percent); birth years from the 2020 age pyramid for every group (Census source)"),
        ("Geography", f"ZIP sizes as in the synthetic geography (gamma, shape 2: a person's ZIP "
         f"holds 1.5x the mean); real ZCTAs are more unequal, so real name+ZIP collisions are "
         f"likely higher. {ppz} people per ZIP"),
        ("Households", "false matches with the query person's own housemates (Jr/Sr namesakes, "
         "a spouse or child with the same surname) come from the population model (its Jr/Sr "
         "and surname-inheritance assumptions), not from the name tables"),
        ("Mated share", f"{mated} of the queries are in the register (not public): sets the "
         "projected misses, and a cascade's later passes"),
        ("Noise", "the analytic values are for clean keys; the 'x key presence' row scales them "
         "by the share of pairs whose keys are present (missing values never collide), assuming "
         "other noise (typos, stale addresses, nicknames) moves keys to values about as common. "
         "The simulated rows include the scenario's noise (and 'clean' rows none)"),
        ("Simulated fit", "per pass, other false matches ~ Poisson(reach x a x^b) fitted on all "
         "runs (sizes, seeds, sub-registers); the exponent is fitted where the counts identify "
         "it (>= 10 false matches at 3+ points over a 2x range of x), else fixed at 1; "
         "intervals from Monte Carlo over the fit (covariance: the larger of overdispersed-"
         "Poisson and cluster-robust by task). Household false matches: b = 1 in density. "
         "Extrapolation over 2-3 orders of magnitude assumes the law holds beyond the data"),
        ("Misses", "per mated query, scale-free (rules declare every agreeing pair): N x mated "
         "share x the simulated miss rate; the analytic miss count is 0 for clean keys"),
    ]  # fmt: skip
    return [{"assumption": a, "value_and_source": s} for a, s in out]


# ----------------------------------------------------------------------------- CLI
def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_table(df: pd.DataFrame) -> str:
    """The projection as a Markdown (GitHub) table."""
    rows = []
    for _, r in df.iterrows():
        interval = (
            "-" if not np.isfinite(r["fp_lo"]) else f"{_fmt(r['fp_lo'])} - {_fmt(r['fp_hi'])}"
        )
        fn_int = "-" if not np.isfinite(r["fn_lo"]) else f"{_fmt(r['fn_lo'])} - {_fmt(r['fn_hi'])}"
        exp = (
            "-"
            if not np.isfinite(r["exponent"])
            else f"{r['exponent']:.3f} ± {r['exponent_se']:.3f}"
        )
        rows.append(
            [r["rule"], r["approach"], _fmt(r["fp"]), interval, _fmt(r["fp_per_query"]),
             _fmt(r["fn"]), fn_int, exp, r["scale"]]
        )  # fmt: skip
    return tabulate(
        rows,
        headers=["rule", "approach", "false matches", "interval", "per query", "misses",
                 "interval", "exponent b", "scale"],
        tablefmt="github",
        disable_numparse=True,
    )  # fmt: skip


def _command(args: argparse.Namespace) -> str:
    """The command that reproduces a projection (options that differ from the defaults)."""
    parts = ["linkrisk project", str(args.scenario)]
    if args.queries_target != N_QUERIES:
        parts.append(f"-N {args.queries_target}")
    if args.register_target != M_REGISTER:
        parts.append(f"-M {args.register_target}")
    if list(args.sizes) != list(DEFAULT_SIZES):
        parts.append("--sizes " + " ".join(map(str, args.sizes)))
    if args.seeds != 3:
        parts.append(f"--seeds {args.seeds}")
    for flag in ("clean", "no_cohort", "analytic_only"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts)


def projection_markdown(df: pd.DataFrame, command: str) -> str:
    """The projection as Markdown: the table, the fits, every assumption, the command."""
    t = df.attrs["target"]
    lines = [
        f"Projected false matches and misses: {t.n_queries:,} queries against "
        f"{t.n_register:,} register records (population {t.population:,}).",
        "",
        f"Reproduce: `{command}`",
        "",
        format_table(df),
        "",
        "Simulated fits (false matches counted over all runs; household ones apart):",
        "",
        *(
            f"- {r.rule}, {r.approach}: {r.assumptions}"
            for r in df[df["approach"].str.startswith("simulated")].itertuples()
        ),
        "",
        "Assumptions:",
        "",
        *(f"- **{a['assumption']}**: {a['value_and_source']}" for a in df.attrs["assumptions"]),
    ]
    skipped = df.attrs["simulation"].skipped
    if skipped:
        lines += ["", f"Not projected: {', '.join(skipped)} (not rules without blocking)."]
    return "\n".join(lines) + "\n"


def write_projection(df: pd.DataFrame, text: str, out_dir: Path) -> Path:
    """Write ``projection.csv`` (derived), ``projection.md`` and the simulation's raw tables
    (``raw/*.parquet``) to ``out_dir`` atomically (nothing half-written on failure)."""
    from bench.runs.store import atomic_dir
    from bench.runs.writers import write_csv, write_parquet

    sim = df.attrs["simulation"]
    with atomic_dir(out_dir) as tmp:
        (tmp / "raw").mkdir()
        for name in ("passes", "rules", "analytic"):
            table = getattr(sim, name)
            if isinstance(table, pd.DataFrame):
                table = table.reset_index(drop=True)
                for c in table.columns:  # structured cells (e.g. PassPieces) stored as text
                    if (
                        table[c].dtype == object
                        and not table[c].map(lambda v: v is None or isinstance(v, str)).all()
                    ):
                        table[c] = table[c].map(repr)
                write_parquet(table, tmp / "raw" / f"{name}.parquet")
        write_csv(df, tmp / "projection.csv")
        (tmp / "projection.md").write_text(text, encoding="utf-8")
    return out_dir


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _out_error(exc: Exception) -> str:
    """The message of an error writing ``--out``: ``<path>: <problem>``."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    return str(exc) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.scale.projection SCENARIO [--sizes ...] [--seeds K]``: print the
    projection."""
    from bench.usage import OneLineParser as _Parser  # one line, exit 2, as every command

    ap = _Parser(prog="linkrisk project", description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="preset name or scenario TOML path")
    ap.add_argument("-N", "--queries-target", type=int, default=N_QUERIES, help="queries N")
    ap.add_argument("-M", "--register-target", type=int, default=M_REGISTER, help="records M")
    ap.add_argument("--population", type=int, default=US_POPULATION, help="target population")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                    help="population sizes of the simulation sweep")  # fmt: skip
    ap.add_argument("--seeds", type=int, default=3, help="seeds per size")
    ap.add_argument("--fractions", type=float, nargs="+", default=list(DEFAULT_FRACTIONS),
                    help="sub-register fractions of each simulated task")  # fmt: skip
    ap.add_argument("--queries", type=int, default=None, help="simulated list size")
    ap.add_argument("--clean", action="store_true", help="also simulate without noise")
    ap.add_argument("--no-cohort", action="store_true", help="first names ignore birth year")
    ap.add_argument("--analytic-only", action="store_true", help="do not run the rules")
    ap.add_argument("--out", type=Path, help="also write projection.csv/.md and raw tables here")
    args = ap.parse_args(argv)
    if args.out is not None:  # before hours of simulation, not after
        from bench.runs.store import check_out_dir
        from synthetic.errors import LinkriskError

        try:
            check_out_dir(args.out)
        except LinkriskError as exc:
            print(f"linkrisk: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
    start = time.perf_counter()
    try:
        df = project(
            args.scenario, args.queries_target, args.register_target,
            population=args.population, sizes=args.sizes, seeds=args.seeds,
            fractions=args.fractions, queries=args.queries, clean=args.clean,
            cohort=not args.no_cohort, run_rules=not args.analytic_only,
        )  # fmt: skip
    except (ConfigError, ValueError) as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"linkrisk: error: {line}", file=sys.stderr)  # one line, as every command
        return 2
    text = projection_markdown(df, command=_command(args))
    print(text, end="")
    if args.out is not None:
        from synthetic.errors import LinkriskError

        try:
            write_projection(df, text, args.out)
        except (LinkriskError, OSError) as exc:
            print(f"linkrisk: error: {_one_line(_out_error(exc))}", file=sys.stderr)
            return 2
        print(f"\nwritten: {args.out}")
    print(f"\nRun time: {time.perf_counter() - start:.0f} s")
    return 0


__all__ = [
    "APPROACHES",
    "DEFAULT_FRACTIONS",
    "DEFAULT_SIZES",
    "M_REGISTER",
    "N_QUERIES",
    "US_POPULATION",
    "CensusNames",
    "Fit",
    "Key",
    "PassSpec",
    "PopulationNames",
    "Simulation",
    "Target",
    "analytic_rate",
    "assumptions",
    "collision_probability",
    "expected_false_matches",
    "fit_law",
    "fit_passes",
    "format_table",
    "main",
    "nesting_factor",
    "pass_pieces",
    "project",
    "projectable_rules",
    "rule_passes",
    "simulate",
]

if __name__ == "__main__":
    raise SystemExit(main())
