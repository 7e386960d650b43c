"""A vectorized synthetic US population: households, ages, name-origin groups, names, addresses.

Names follow the vendored Census/SSA tables (``synthetic.names``): surnames by group including a
synthesized rare tail, first and middle names by group, sex and birth decade. Everything is numpy:
loops run over categories (group x sex x decade) or small vocabularies, never over people. Each
component draws from its own named random stream (``synthetic.rng.stream``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from synthetic import names as N
from synthetic.errors import ConfigError
from synthetic.geography import DEFAULT_PEOPLE_PER_ZIP, MAX_PEOPLE_PER_ZIP, build_addresses
from synthetic.rng import stream

RELATIONSHIPS: tuple[str, ...] = ("householder", "partner", "child", "other")
HOUSEHOLDER, PARTNER, CHILD, OTHER = range(4)
SEXES: tuple[str, ...] = ("F", "M")  # order matches names.first_name_arrays()/cohort_ratios()

# Household sizes 1..7+ (ACS/CPS 2023, approximate): 28%, 35%, 15%, 12.5%, 6%, 2.3%, 1.2%.
DEFAULT_HOUSEHOLD_SIZE_SHARES = (0.28, 0.35, 0.15, 0.125, 0.06, 0.023, 0.012)
# Assumption: the 7+ class is split over sizes 7..10 with these relative weights.
_SIZE_7PLUS = (7, 8, 9, 10)
_SIZE_7PLUS_W = (0.5, 0.25, 0.15, 0.10)

# 2020 Census resident population by 5-year age band, millions (DHC table P12, approximate):
# 0-4, 5-9, ..., 95-99, 100-104.
AGE_PYRAMID_2020 = (
    19.4, 20.3, 21.6, 22.0, 21.6, 22.0, 22.6, 21.9, 20.9, 20.4, 20.9,
    22.0, 21.0, 17.9, 14.4, 9.6, 6.2, 3.7, 1.8, 0.55, 0.1,
)  # fmt: skip
MAX_AGE = 5 * len(AGE_PYRAMID_2020) - 1
# Headship rate (householders / people) by age, CPS 2023 "America's Families and Living
# Arrangements", approximate: 18-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75+.
_HEADSHIP = ((18, 0.20), (25, 0.48), (35, 0.55), (45, 0.58), (55, 0.61), (65, 0.67), (75, 0.63))
# Assumption (tuned so that householders 65+ are ~27% of householders, as in CPS 2023, and the
# whole population roughly follows the pyramid): relative weights on the _HEADSHIP age classes
# for householders of households with a child member and of households without one.
_PARENT_FACTOR = ((18, 0.6), (25, 1.3), (35, 1.5), (45, 1.3), (55, 0.8), (65, 0.45), (75, 0.3))
_NO_CHILD_FACTOR = ((18, 1.0), (25, 0.8), (35, 0.6), (45, 0.7), (55, 1.1), (65, 1.6), (75, 1.9))
# Assumption: age gap parent -> child is 18 + 27 * Beta(2, 3) years (18..45, mean ~29).
_GAP_MIN, _GAP_RANGE = 18, 27


@dataclass(frozen=True)
class PopulationConfig:
    """Parameters of the synthetic population. Rates are documented assumptions (defaults).

    size: number of people (> 0).
    people_per_zip: mean residents per ZIP code (~331M / ~33,000 ZCTAs, 2020 Census).
    reference_date: ISO date at which ages are computed.
    household_size_shares: shares of households with 1, 2, ..., 6, 7+ people (sum 1).
    partner_share: share of 2+ person households with a spouse/partner of the householder.
    same_sex_partner: share of partners of the same sex as the householder.
    partner_same_group: P(partner has the householder's group); else drawn by population share.
    member_same_group: same for children and other relatives.
    partner_takes_surname: P(partner has the householder's surname); else their own.
    child_takes_surname: P(child has the householder's surname); else the partner's (if any) or
        their own.
    other_takes_surname: P(an "other" relative has the householder's surname); else their own.
    other_share: share of non-partner members who are "other" (relatives, roomers), not children.
    no_middle_name: share of people without a middle name.
    """

    size: int
    people_per_zip: int = DEFAULT_PEOPLE_PER_ZIP
    reference_date: str = "2025-07-01"
    household_size_shares: tuple[float, ...] = DEFAULT_HOUSEHOLD_SIZE_SHARES
    partner_share: float = 0.6
    same_sex_partner: float = 0.03
    partner_same_group: float = 0.85
    member_same_group: float = 0.9
    partner_takes_surname: float = 0.6
    child_takes_surname: float = 0.9
    other_takes_surname: float = 0.5
    other_share: float = 0.2
    no_middle_name: float = 0.22

    def __post_init__(self) -> None:
        def bad(field: str, problem: str) -> ConfigError:
            return ConfigError(f"population.{field}", problem)

        if not isinstance(self.size, int | np.integer) or isinstance(self.size, bool):
            raise bad("size", f"must be an integer, got {self.size!r}")
        if self.size <= 0:
            raise bad("size", f"must be > 0, got {self.size}")
        ppz = self.people_per_zip
        if not isinstance(ppz, int | np.integer) or isinstance(ppz, bool):
            raise bad("people_per_zip", f"must be an integer, got {ppz!r}")
        if not 1 <= ppz <= MAX_PEOPLE_PER_ZIP:
            raise bad("people_per_zip", f"must be in 1..{MAX_PEOPLE_PER_ZIP}, got {ppz}")
        try:
            ref = dt.date.fromisoformat(self.reference_date)
        except (TypeError, ValueError):
            problem = f"must be an ISO date (YYYY-MM-DD), got {self.reference_date!r}"
            raise bad("reference_date", problem) from None
        if not 1900 <= ref.year <= 2200:
            raise bad("reference_date", f"year must be in 1900..2200, got {ref.year}")
        shares = self.household_size_shares
        if (
            len(shares) != len(DEFAULT_HOUSEHOLD_SIZE_SHARES)
            or not all(isinstance(x, int | float) and x >= 0 for x in shares)
            or not math.isclose(sum(shares), 1.0, abs_tol=1e-6)
        ):
            problem = "must be 7 non-negative shares (sizes 1..6, 7+) summing to 1"
            raise bad("household_size_shares", problem)
        for f in (
            "partner_share", "same_sex_partner", "partner_same_group", "member_same_group",
            "partner_takes_surname", "child_takes_surname", "other_takes_surname", "other_share",
            "no_middle_name",
        ):  # fmt: skip
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise bad(f, f"must be a probability in [0, 1], got {v!r}")


@dataclass(frozen=True)
class Population:
    """people: one row per person (see ``PEOPLE_COLUMNS``); addresses: every address of the
    geography (the pool for "stale address" noise), as returned by ``build_addresses``."""

    people: pd.DataFrame
    addresses: pd.DataFrame


PEOPLE_COLUMNS: tuple[str, ...] = (
    "person_id", "household_id", "relationship", "sex", "dob", "age", "group", "first_name",
    "middle_name", "last_name", "surname_rare", "address_id", "house_number", "street", "unit",
    "city", "state", "zip",
)  # fmt: skip
_ADDRESS_FIELDS = ("house_number", "street", "unit", "city", "state", "zip")


# ----------------------------------------------------------------------------- helpers
def _segments(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index of each element, position within its group) for consecutive groups."""
    group = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    return group, np.arange(len(group)) - starts[group]


class _Sampler:
    """Draws indices i with P(i) proportional to ``weights`` by the guide-table (cutpoint) method:
    O(1) expected work per draw instead of a cache-unfriendly binary search over up to 162k names.
    The result equals ``searchsorted(cdf, u, side="right")`` for the same uniforms ``u``."""

    __slots__ = ("cdf", "guide", "last", "scale", "total")

    def __init__(self, weights: np.ndarray, buckets_per_item: int = 2) -> None:
        k = len(weights)
        self.cdf = np.empty(k + 1)
        cdf = np.cumsum(weights, dtype=np.float64, out=self.cdf[:k])
        self.cdf[k] = np.inf  # sentinel: stops the forward walk in draw()
        self.total = float(cdf[-1])
        if not self.total > 0:
            raise ValueError("weights must have a positive sum")
        m = buckets_per_item * k
        self.scale = m / self.total
        # guide[j] = first i with bucket(cdf[i]) >= j. bucket(x) = floor(x * scale) is monotone in
        # x, so for u in bucket j every i < guide[j] has cdf[i] < u: the answer is >= guide[j].
        counts = np.bincount((cdf * self.scale).astype(np.int64), minlength=m + 1)
        self.guide = np.empty(m + 1, dtype=np.int64)
        self.guide[0] = 0
        np.cumsum(counts[:m], out=self.guide[1:])
        self.last = int(np.searchsorted(cdf, self.total, side="left"))  # last positive weight

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` independent draws (consumes exactly ``k`` uniforms of ``rng``)."""
        u = rng.random(k) * self.total
        idx = self.guide[(u * self.scale).astype(np.int64)]
        act = np.flatnonzero(self.cdf[idx] <= u)
        while act.size:  # walk forward: a step or two on average, on a shrinking subset
            idx[act] += 1
            act = act[self.cdf[idx[act]] <= u[act]]
        # u can round up to the total (p ~ 1e-16): keep such a draw on the last real item
        return np.minimum(idx, self.last)


def _by_category(codes: np.ndarray, n_codes: int) -> list[tuple[int, np.ndarray]]:
    """Indices of the elements of each category, in a deterministic order (stable sort)."""
    # int16 keys make numpy use a radix sort: ~6x faster than sorting int64 codes
    order = np.argsort(codes.astype(np.int16 if n_codes < 2**15 else np.int64), kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=n_codes))
    out, lo = [], 0
    for c, hi in enumerate(bounds):
        if hi > lo:
            out.append((c, order[lo:hi]))
        lo = hi
    return out


def _age_weights(factors: tuple[tuple[int, float], ...], min_age: int) -> np.ndarray:
    """Weights of single years 0..MAX_AGE: the pyramid (each band spread evenly over its 5 years)
    times a factor per age class (``(lower age, factor)`` pairs), zero below ``min_age``."""
    w = np.repeat(np.asarray(AGE_PYRAMID_2020) / 5.0, 5)
    ages = np.arange(len(w))
    for lo, f in factors:
        w[ages >= lo] = np.repeat(np.asarray(AGE_PYRAMID_2020) / 5.0, 5)[ages >= lo] * f
    w[ages < min_age] = 0.0
    return w


@lru_cache
def _age_samplers() -> tuple[_Sampler, _Sampler, _Sampler, _Sampler]:
    """(householder ages: households without / with a child member, any age, child age gap)."""

    def times(fac: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
        return tuple((lo, h * f) for (lo, h), (_, f) in zip(_HEADSHIP, fac, strict=True))

    gaps = np.arange(_GAP_RANGE + 1) + 0.5
    beta23 = (gaps / (_GAP_RANGE + 1)) * (1 - gaps / (_GAP_RANGE + 1)) ** 2  # Beta(2,3) density
    return (
        _Sampler(_age_weights(times(_NO_CHILD_FACTOR), 18)),
        _Sampler(_age_weights(times(_PARENT_FACTOR), 18)),
        _Sampler(_age_weights((), 0)),
        _Sampler(beta23),
    )


@lru_cache
def _surname_tables() -> tuple[list[_Sampler], list[_Sampler], np.ndarray, np.ndarray, np.ndarray]:
    """(listed-surname sampler per group, rare-source sampler per group, char matrix (n, W)
    uint8, name lengths (n,), names as object array)."""
    names, w = N.surname_arrays()
    listed = [_Sampler(w[:, g]) for g in range(len(N.GROUPS))]
    # Rare surnames blend pieces of listed names; sources are weighted by type (pct_g, not
    # count), so blends look like the group's rarer names rather than like SMITH or GARCIA.
    pct = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12)
    src = [_Sampler(pct[:, g]) for g in range(len(N.GROUPS))]
    enc = names.astype("S")
    chars = np.frombuffer(enc.tobytes(), dtype=np.uint8).reshape(len(names), enc.dtype.itemsize)
    lens = (chars > 0).sum(axis=1)
    return listed, src, chars, lens, names


_RARE_MIN, _RARE_MAX = 4, 12


def _pack(chars: np.ndarray) -> np.ndarray:
    """uint64 key of upper-case names given as (k, <=12) uint8 matrices (5 bits per letter)."""
    codes = np.where(chars > 0, chars.astype(np.uint64) - 64, 0).astype(np.uint64)
    shifts = np.arange(chars.shape[1] - 1, -1, -1, dtype=np.uint64) * np.uint64(5)
    return np.bitwise_or.reduce(codes << shifts, axis=1)


@lru_cache
def _listed_keys() -> np.ndarray:
    """Sorted keys of the listed surnames short enough to collide with a synthesized one."""
    _, _, chars, lens, _ = _surname_tables()
    return np.sort(_pack(chars[lens <= _RARE_MAX, :_RARE_MAX]))


def _synthesize_rare(groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Invented surnames for people of the given groups: prefix of one listed surname + suffix of
    another (4-12 letters), none equal to a listed surname, unique among themselves."""
    _, src, chars, lens, _ = _surname_tables()
    listed_keys = _listed_keys()
    k = len(groups)
    out = np.zeros((k, _RARE_MAX), dtype=np.uint8)
    keys = np.zeros(k, dtype=np.uint64)
    todo = np.arange(k)
    pos = np.arange(_RARE_MAX)[None, :]
    width = chars.shape[1]
    for _ in range(50):  # redraw collisions and bad lengths; a handful of rounds suffices
        a = np.empty(len(todo), dtype=np.int64)
        b = np.empty(len(todo), dtype=np.int64)
        for gi, idx in _by_category(groups[todo], len(N.GROUPS)):
            a[idx] = src[gi].draw(rng, len(idx))
            b[idx] = src[gi].draw(rng, len(idx))
        la, lb = lens[a], lens[b]
        # prefix of A: 2..len-1 letters; suffix of B: 2..len-1 letters (whole name if short)
        pa = np.minimum(la, 2 + (rng.random(len(todo)) * np.maximum(la - 2, 1)).astype(np.int64))
        sb = np.minimum(lb, 2 + (rng.random(len(todo)) * np.maximum(lb - 2, 1)).astype(np.int64))
        total = pa + sb
        from_a = chars[a[:, None], np.minimum(pos, width - 1)]
        from_b = chars[
            b[:, None], np.clip(lb[:, None] - sb[:, None] + pos - pa[:, None], 0, width - 1)
        ]
        mat = np.where(pos < pa[:, None], from_a, np.where(pos < total[:, None], from_b, 0))
        out[todo] = mat
        keys[todo] = _pack(mat)
        hit = np.searchsorted(listed_keys, keys[todo])
        listed = listed_keys[np.minimum(hit, len(listed_keys) - 1)] == keys[todo]
        bad = pd.Series(keys).duplicated().to_numpy()
        bad[todo] |= (total < _RARE_MIN) | (total > _RARE_MAX) | listed
        todo = np.flatnonzero(bad)
        if not len(todo):
            break
    return out.view(f"S{_RARE_MAX}").ravel().astype(f"U{_RARE_MAX}").astype(object)


@lru_cache
def _first_name_factors() -> tuple[np.ndarray, np.ndarray]:
    """Contiguous (group-major) holders per group (6, n) and sex x cohort factors (2, d, n)."""
    _, w, sex = N.first_name_arrays()
    _, ratio = N.cohort_ratios()
    sex_cohort = sex.T[:, None, :] * ratio.transpose(1, 2, 0)
    return np.ascontiguousarray(w.T), np.ascontiguousarray(sex_cohort)


def _first_name_sampler(g: int, s: int, d: int) -> _Sampler:
    """First names for group g, sex s (0=F, 1=M), decade index d:
    P(name) ~ holders in group g x share of sex s x cohort ratio of the decade."""
    w_group, sex_cohort = _first_name_factors()
    return _Sampler(w_group[g] * sex_cohort[s, d])


def _day_vocab(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """For days lo..hi (days since 1970-01-01): ISO strings (object) and years (int)."""
    days = np.arange(lo, hi + 1).astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.datetime_as_string(days).astype(object), years


def _years_before(ref: dt.date, years: int) -> int:
    """Day number (since 1970-01-01) of ``ref`` moved back by ``years`` (Feb 29 -> Feb 28)."""
    y = ref.year - years
    try:
        d = ref.replace(year=y)
    except ValueError:
        d = ref.replace(year=y, day=28)
    return (d - dt.date(1970, 1, 1)).days


# ----------------------------------------------------------------------------- main
def generate_population(cfg: PopulationConfig, seed: int) -> Population:
    """Generate ``cfg.size`` people in households with addresses, names, sex, dob and group.

    Deterministic: the same (cfg, seed) gives an identical result; each component uses its own
    random stream so adding a component never changes the others.
    """
    n = cfg.size

    # --- households: sizes until exactly n people (the last household is truncated)
    rng = stream(seed, "population", "households")
    shares = np.asarray(cfg.household_size_shares, dtype=np.float64)
    size_vals = np.array([1, 2, 3, 4, 5, 6, *_SIZE_7PLUS])
    size_p = np.concatenate([shares[:6], shares[6] * np.asarray(_SIZE_7PLUS_W)])
    size_p /= size_p.sum()
    mean = float(size_vals @ size_p)
    chunks, total = [], 0
    while total < n:
        c = rng.choice(size_vals, int((n - total) / mean * 1.05) + 16, p=size_p)
        chunks.append(c)
        total += int(c.sum())
    sizes = np.concatenate(chunks)
    ends = np.cumsum(sizes)
    n_hh = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:n_hh].copy()
    sizes[-1] -= int(ends[n_hh - 1]) - n
    hh, pos = _segments(sizes)
    hh_start = np.cumsum(sizes) - sizes  # person index of each householder

    has_partner = (sizes >= 2) & (rng.random(n_hh) < cfg.partner_share)
    rel = np.where(pos == 0, HOUSEHOLDER, CHILD).astype(np.int8)
    rel[(pos == 1) & has_partner[hh]] = PARTNER
    rest = rel == CHILD
    rel[rest & (rng.random(n) < cfg.other_share)] = OTHER
    is_hh, is_partner, is_child, is_other = (rel == r for r in range(4))
    has_child = np.bincount(hh[is_child], minlength=n_hh) > 0
    partner_idx = np.where(has_partner, hh_start + 1, -1)  # partner is always at position 1

    # --- sex
    rng = stream(seed, "population", "sex")
    male = rng.random(n) < 0.5  # householders, children and others: 50/50 (assumption)
    hh_male = male[hh_start]
    flip = rng.random(n) >= cfg.same_sex_partner
    male[is_partner] = np.where(flip, ~hh_male[hh], hh_male[hh])[is_partner]

    # --- ages (drawn only for the people who need them)
    rng = stream(seed, "population", "ages")
    s_hh, s_parent, s_any, s_gap = _age_samplers()
    age = np.empty(n, dtype=np.int64)
    hh_age = s_hh.draw(rng, n_hh)
    hh_age[has_child] = s_parent.draw(rng, int(has_child.sum()))
    age[hh_start] = hh_age
    i_partner, i_child, i_other = (np.flatnonzero(m) for m in (is_partner, is_child, is_other))
    # Partner: similar age; husbands ~2 years older than wives on average (assumption).
    h = hh[i_partner]
    shift = np.where(hh_male[h], -2.0, 2.0) + rng.normal(0.0, 4.0, len(h))
    age[i_partner] = np.clip(np.rint(hh_age[h] + shift), 18, MAX_AGE)
    # Children: householder's age minus a gap of 18..45 years (Beta(2,3)-shaped, mean ~29),
    # redrawn while the child would be "born" before the householder's 18th year (truncation).
    ca = hh_age[hh[i_child]] - _GAP_MIN - s_gap.draw(rng, len(i_child))
    for _ in range(4):
        neg = np.flatnonzero(ca < 0)
        if not neg.size:
            break
        ca[neg] = hh_age[hh[i_child[neg]]] - _GAP_MIN - s_gap.draw(rng, neg.size)
    age[i_child] = np.maximum(ca, 0)
    age[i_other] = s_any.draw(rng, len(i_other))  # relatives, roomers: any age

    # dob: uniform within the year of age ending at the reference date
    ref = dt.date.fromisoformat(cfg.reference_date)
    upper = np.array([_years_before(ref, a) for a in range(MAX_AGE + 2)], dtype=np.int64)
    width = upper[age] - upper[age + 1]
    dob_day = upper[age] - (rng.random(n) * width).astype(np.int64)
    day_lo = int(upper[-1])
    day_str, day_year = _day_vocab(day_lo, int(upper[0]))
    dob_code = dob_day - day_lo
    birth_year = day_year[dob_code]

    # --- groups
    rng = stream(seed, "population", "groups")
    group = _Sampler(N.group_shares()).draw(rng, n)  # by population share, unless inherited:
    hh_group = group[hh_start][hh]
    same = rng.random(n) < np.where(is_partner, cfg.partner_same_group, cfg.member_same_group)
    group = np.where(~is_hh & same, hh_group, group)

    # --- surnames: codes < n_listed index listed names, others index the rare names
    rng = stream(seed, "population", "surnames")
    s_listed, _, _, _, listed = _surname_tables()
    u = rng.random(n)
    own = (
        is_hh
        | (is_partner & (u >= cfg.partner_takes_surname))
        | (is_other & (u >= cfg.other_takes_surname))
    )
    child_other_name = is_child & (u >= cfg.child_takes_surname)
    child_gets_partner = child_other_name & has_partner[hh]
    own |= child_other_name & ~has_partner[hh]
    own_idx = np.flatnonzero(own)
    own_group = group[own_idx]
    rare = rng.random(len(own_idx)) < N.rare_surname_prob()[own_group]
    code = np.empty(len(own_idx), dtype=np.int64)
    listed_idx = np.flatnonzero(~rare)
    for gi, idx in _by_category(own_group[listed_idx], len(N.GROUPS)):
        code[listed_idx[idx]] = s_listed[gi].draw(rng, len(idx))
    rare_idx = np.flatnonzero(rare)
    rare_names = _synthesize_rare(own_group[rare_idx], rng)
    code[rare_idx] = len(listed) + np.arange(len(rare_idx))
    sur = np.full(n, -1, dtype=np.int64)
    sur[own_idx] = code
    inherit_hh = ~own & ~child_gets_partner
    sur[inherit_hh] = sur[hh_start[hh[inherit_hh]]]
    sur[child_gets_partner] = sur[partner_idx[hh[child_gets_partner]]]
    vocab = np.concatenate([listed, rare_names])
    last_name = vocab[sur]
    surname_rare = sur >= len(listed)

    # --- first and middle names by (group, sex, birth decade)
    decades, _ = N.cohort_ratios()
    d_idx = np.clip(np.searchsorted(decades, birth_year // 10 * 10), 0, len(decades) - 1)
    nd = len(decades)
    cat = (group * 2 + male) * nd + d_idx
    rng_f = stream(seed, "population", "first_names")
    rng_m = stream(seed, "population", "middle_names")
    first = np.empty(n, dtype=np.int64)
    middle = np.empty(n, dtype=np.int64)
    for c, idx in _by_category(cat, len(N.GROUPS) * 2 * nd):  # <= 6 x 2 x 15 categories
        g, rem = divmod(c, 2 * nd)
        s, d = divmod(rem, nd)
        sampler = _first_name_sampler(g, s, d)
        f = sampler.draw(rng_f, len(idx))
        m = sampler.draw(rng_m, len(idx))
        for _ in range(3):  # middle name differs from the first name where possible
            eq = m == f
            if not eq.any():
                break
            m[eq] = sampler.draw(rng_m, int(eq.sum()))
        first[idx], middle[idx] = f, m
    fnames, _, _ = N.first_name_arrays()
    no_middle = stream(seed, "population", "middle_absent").random(n) < cfg.no_middle_name
    middle_name = fnames[middle]
    middle_name[no_middle] = None

    # --- addresses: one dwelling per household, assigned in random order
    addresses = build_addresses(n_hh, cfg.people_per_zip, seed, people_per_household=n / n_hh)
    hh_addr = stream(seed, "population", "address_assignment").permutation(n_hh)
    addr = hh_addr[hh]

    cols: dict[str, np.ndarray] = {
        "person_id": np.arange(n, dtype=np.int64),
        "household_id": hh.astype(np.int64),
        "relationship": np.array(RELATIONSHIPS, dtype=object)[rel],
        "sex": np.array(SEXES, dtype=object)[male.astype(np.int8)],
        "dob": day_str[dob_code],
        "age": age.astype(np.int16),
        "group": np.array(N.GROUPS, dtype=object)[group],
        "first_name": fnames[first],
        "middle_name": middle_name,
        "last_name": last_name,
        "surname_rare": surname_rare,
        "address_id": addr.astype(np.int64),
    }
    for f in _ADDRESS_FIELDS:
        # members of a household are consecutive rows: gather per household, then repeat
        # (a sequential copy, much cheaper than a random per-person gather of objects)
        cols[f] = np.repeat(addresses[f].to_numpy()[hh_addr], sizes)
    # copy=False: no block consolidation (stacking 13 object columns would double the run time)
    people = pd.DataFrame(cols, columns=list(PEOPLE_COLUMNS), copy=False)
    return Population(people=people, addresses=addresses)
