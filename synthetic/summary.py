"""Facts about a synthetic population, beside the Census/ACS tables and the configuration.

``summarize_population`` measures what a linkage method is up against: how concentrated surnames
and first names are (top-N coverage), how many people share a name, how many share a name *and*
a date of birth (observed and expected), household sizes and the life events that change names
and addresses. ``summary_markdown`` renders the same facts as Markdown tables for reports and
``linkrisk describe``.

Conventions:

* The *full surname* is the surname as people use it: ``last_name``, plus ``" " +
  second_surname`` for a compound (paternal + maternal) surname.
* A *name class* is the set of people with the same (first name, full surname), counted over the
  whole population; per-group figures describe the people of a group, whose name classes may
  include people of other groups.
* A *pair* is an unordered pair of distinct people: a class of n people holds n(n-1)/2 pairs.

Everything is vectorized (factorize, bincount) and deterministic: the same population gives a
byte-identical ``json.dumps(summary, sort_keys=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from synthetic import names as N
from synthetic.population import Population, PopulationConfig

#: Household-size classes of the distribution (the last one is "7 or more").
HOUSEHOLD_SIZES: tuple[str, ...] = ("1", "2", "3", "4", "5", "6", "7+")
_ALL = "all"
_SIG = 6  # significant digits kept in floats: readable JSON, far below sampling error


def _r(x: float | None) -> float | None:
    """Round to ``_SIG`` significant digits (None stays None)."""
    return None if x is None else float(f"{float(x):.{_SIG}g}")


def _ratio(num: float, den: float) -> float | None:
    """num / den, or None when the denominator is empty (no NaN in JSON)."""
    return _r(num / den) if den > 0 else None


def _pairs(counts: np.ndarray) -> int:
    """Unordered pairs inside classes of the given sizes."""
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def _classes(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class code of each element, size of each class) for an int64 key."""
    codes, _ = pd.factorize(key)  # hashing: faster than np.unique's sort on 1M keys
    return codes, np.bincount(codes)


def _codes(values: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of a column (missing values share one code) and the distinct values."""
    # the default NA sentinel is much faster than use_na_sentinel=False (no isna pass)
    codes, uniques = pd.factorize(values)
    codes, uniques = codes.astype(np.int64), np.asarray(uniques, dtype=object)
    if (codes < 0).any():
        codes[codes < 0] = len(uniques)
        uniques = np.append(uniques, np.array([None], dtype=object))
    return codes, uniques


def _top_shares(counts: np.ndarray, total: float, top_n: Sequence[int]) -> list[float | None]:
    """Share of ``total`` held by the N largest of ``counts``, for each N (ties do not matter:
    the sum of the N largest is the same whichever tied item is cut)."""
    if total <= 0:
        return [None] * len(top_n)
    top = np.sort(counts[counts > 0])[::-1]
    cum = np.concatenate([[0.0], np.cumsum(top, dtype=np.float64)])
    return [_r(cum[min(n, len(top))] / total) for n in top_n]


@lru_cache
def _census_top_shares(kind: str, top_n: tuple[int, ...]) -> dict[str, list[float | None]]:
    """Expected top-N coverage from a Census table, overall and per group (names ranked within
    the group); the denominators include the table's ``ALL OTHER NAMES`` tail."""
    if kind == "surname":
        _, w = N.surname_arrays()
        tail = N.surname_tail()
        counts = N.surnames()["count"].to_numpy(np.float64)
    else:
        _, w, _ = N.first_name_arrays()
        tail = N.first_name_tail()
        counts = N.first_names()["count"].to_numpy(np.float64)
    out = {_ALL: _top_shares(counts, float(tail.total_count), top_n)}
    tail_g = tail.count * np.asarray(tail.pct) / 100.0
    for gi, g in enumerate(N.GROUPS):
        out[g] = _top_shares(w[:, gi], float(w[:, gi].sum() + tail_g[gi]), top_n)
    return out


@lru_cache
def _census_sum_p2() -> tuple[float, float]:
    """(sum of squared first-name shares, same for surnames) over the listed Census names; the
    tails' names are rare enough (< 100 holders each) to add almost nothing."""
    f = N.first_names()["count"].to_numpy(np.float64) / N.first_name_tail().total_count
    s = N.surnames()["count"].to_numpy(np.float64) / N.surname_tail().total_count
    return float((f**2).sum()), float((s**2).sum())


@lru_cache
def _census_ranks(kind: str) -> tuple[pd.Index, np.ndarray]:
    """(listed names, rank of each name overall and within each group: int (n, 1 + groups))."""
    if kind == "surname":
        names, w = N.surname_arrays()
        counts = N.surnames()["count"].to_numpy(np.float64)
    else:
        names, w, _ = N.first_name_arrays()
        counts = N.first_names()["count"].to_numpy(np.float64)
    weights = np.column_stack([counts, w])
    ranks = np.empty(weights.shape, dtype=np.int64)
    for j in range(weights.shape[1]):
        ranks[np.argsort(-weights[:, j], kind="stable"), j] = np.arange(len(names))
    return pd.Index(names), ranks


def _census_ranked(
    codes: np.ndarray, uniques: np.ndarray, gcode: np.ndarray, kind: str, top_n: Sequence[int]
) -> dict[str, list[float | None]]:
    """Share of people holding one of the Census table's top-N names (ranked overall, or within
    their group): like the observed top-N share, but without the upward bias of ranking names
    by their frequency in the sample itself (large when a group has few people)."""
    index, ranks = _census_ranks(kind)
    pos = index.get_indexer(uniques)  # -1: not a listed name (rare or compound)
    never = np.iinfo(np.int64).max
    out: dict[str, list[float | None]] = {}
    for j, g in enumerate((_ALL, *N.GROUPS)):
        rank_u = np.where(pos >= 0, ranks[pos, j], never)
        rank = rank_u[codes] if g == _ALL else rank_u[codes[gcode == j - 1]]
        out[g] = [_ratio(int((rank < k).sum()), len(rank)) for k in top_n]
    return out


def _concentration(
    codes: np.ndarray, n_codes: int, gcode: np.ndarray, top_n: Sequence[int]
) -> dict[str, list[float | None]]:
    """Observed top-N coverage of a name column, overall and within each group."""
    k = len(N.GROUPS)
    ok = gcode >= 0
    # one bincount for all groups: row g holds the name counts among people of group g
    by_group = np.bincount(gcode[ok] * n_codes + codes[ok], minlength=k * n_codes)
    by_group = by_group.reshape(k, n_codes)
    out = {_ALL: _top_shares(np.bincount(codes, minlength=n_codes), len(codes), top_n)}
    for gi, g in enumerate(N.GROUPS):
        out[g] = _top_shares(by_group[gi], float(by_group[gi].sum()), top_n)
    return out


def summarize_population(
    pop: Population,
    cfg: PopulationConfig | None = None,
    top_n: Sequence[int] = (10, 100, 1000),
) -> dict[str, Any]:
    """Facts about ``pop`` beside their Census/ACS references, as plain JSON-able data.

    ``cfg`` (the configuration the population was drawn with) adds the configured household
    sizes and life-event rates as references; without it those references are None. ``top_n``
    lists the N of the "share covered by the N most frequent names" figures.

    Sections (dicts, in this order):

    * ``counts``: people, households, adults (18+); per group people, adults, share and the
      Census-implied share (``names.group_shares()``).
    * ``surname_concentration`` / ``first_name_concentration``: per row (``all`` and each
      group) lists aligned with ``top_n``: ``observed`` (top-N names of the row's people, full
      surname), ``observed_last_name`` (surnames only), ``observed_census_ranked`` (share holding
      one of the Census table's top-N names of the group: unbiased for small groups) and
      ``census`` (the table's expectation, its tail included).
    * ``name_uniqueness``: per row, (first, full surname) classes: unique share, mean class size
      over people and over distinct names, largest class.
    * ``collisions``: pairs sharing (first, last) and (first, last, dob), the people in them, the
      pairs within one household, co-twin and Jr/Sr pairs among them (counted, not excluded), and
      expectations: independent DOB, DOB given the birth year, and the Census-table baseline;
      ``adults_first_last_dob``: pairs of adults sharing (first, full surname, DOB), extrapolated
      to the 129 million adults of the published count (:func:`adult_key_pairs`).
    * ``birth_dates``: per row, the share of January 1 and of 1st-of-month birth dates (people
      born abroad may carry placeholder dates), beside the uniform shares.
    * ``households``: households by size 1..6, 7+ beside ``cfg.household_size_shares``.
    * ``life_events``: ``{count, of, share, reference}`` per event; ``rare_by_group``.
    * ``identifiers`` (only for a population with identifiers): ``{count, of, share, reference,
      source}`` per fact (residence statuses, TIN types, former ITINs, SSN donors).
    * ``addresses``: ``{count, of, share, reference}`` for numberless dwellings (no house
      number), the people living in them, and dwellings whose whole street address (house
      number, street, unit, ZIP) is another dwelling's too.

    Shares are fractions in [0, 1] (None where the denominator is 0); floats keep 6
    significant digits.
    """
    top_n = tuple(int(n) for n in top_n)
    if not top_n or any(n <= 0 for n in top_n):
        raise ValueError(f"top_n must be positive integers, got {top_n!r}")
    p = pop.people
    n = len(p)
    if n == 0:
        raise ValueError("the population has no people")
    groups = list(N.GROUPS)
    gcode = pd.Categorical(p["group"], categories=groups).codes.astype(np.int64)

    # --- names as integer codes
    second = p["second_surname"].to_numpy(dtype=object)
    compound = pd.notna(second)
    first_c, first_u = _codes(p["first_name"])
    last_c, last_u = _codes(p["last_name"])
    dob_c, dob_u = _codes(p["dob"])
    hh_c, hh_u = _codes(p["household_id"])
    # full surname = (last_name, second_surname) as a pair of codes: no string concatenation,
    # and the second surname is factorized only where there is one (a few % of people)
    second_c = np.zeros(n, dtype=np.int64)
    sc, su = _codes(second[compound])
    second_c[compound] = sc + 1
    full_c, full_u = _codes(last_c * (len(su) + 1) + second_c)
    n_first, n_full, n_last, n_hh = len(first_u), len(full_u), len(last_u), len(hh_u)

    # --- a. counts
    adult = p["age"].to_numpy() >= 18
    group_n = np.bincount(gcode[gcode >= 0], minlength=len(groups))
    group_adults = np.bincount(gcode[(gcode >= 0) & adult], minlength=len(groups))
    census_group = N.group_shares()
    counts = {
        "people": n,
        "households": n_hh,
        "adults": int(adult.sum()),
        "adult_share": _ratio(int(adult.sum()), n),
        "groups": {
            g: {
                "people": int(group_n[gi]),
                "adults": int(group_adults[gi]),
                "share": _ratio(int(group_n[gi]), n),
                "census_share": _r(census_group[gi]),
            }
            for gi, g in enumerate(groups)
        },
    }

    # --- b. concentration
    obs_full = _concentration(full_c, n_full, gcode, top_n)
    obs_last = _concentration(last_c, n_last, gcode, top_n)
    obs_first = _concentration(first_c, n_first, gcode, top_n)
    ranked_last = _census_ranked(last_c, last_u, gcode, "surname", top_n)
    ranked_first = _census_ranked(first_c, first_u, gcode, "first_name", top_n)
    exp_sur = _census_top_shares("surname", top_n)
    exp_first = _census_top_shares("first_name", top_n)
    rows = [_ALL, *groups]
    people_in = {_ALL: n, **{g: int(group_n[gi]) for gi, g in enumerate(groups)}}
    surname_concentration = {
        "top_n": list(top_n),
        "groups": {
            g: {
                "people": people_in[g],
                "observed": obs_full[g],
                "observed_last_name": obs_last[g],
                "observed_census_ranked": ranked_last[g],
                "census": exp_sur[g],
            }
            for g in rows
        },
    }
    first_name_concentration = {
        "top_n": list(top_n),
        "groups": {
            g: {
                "people": people_in[g],
                "observed": obs_first[g],
                "observed_census_ranked": ranked_first[g],
                "census": exp_first[g],
            }
            for g in rows
        },
    }

    # --- c. name uniqueness: classes of (first name, full surname) over the whole population
    name_c, name_n = _classes(first_c * n_full + full_c)
    size = name_n[name_c]  # size of each person's name class
    uniqueness: dict[str, Any] = {}
    for g in rows:
        m = np.ones(n, dtype=bool) if g == _ALL else gcode == groups.index(g)
        if not m.any():
            uniqueness[g] = {
                "people": 0,
                "distinct_names": 0,
                "unique_share": None,
                "mean_class_size_per_person": None,
                "mean_people_per_name": None,
                "max_people_per_name": None,
            }
            continue
        held = np.zeros(len(name_n), dtype=bool)
        held[name_c[m]] = True  # names held by at least one member of the group
        uniqueness[g] = {
            "people": int(m.sum()),
            "distinct_names": int(held.sum()),
            "unique_share": _r(float((size[m] == 1).mean())),
            "mean_class_size_per_person": _r(float(size[m].mean())),
            "mean_people_per_name": _r(float(name_n[held].mean())),
            "max_people_per_name": int(name_n[held].max()),
        }

    # --- d. collisions
    collisions = _collisions(p, name_c, name_n, dob_c, dob_u, hh_c, first_c, full_c)

    # --- d2. the published first + last + DOB pair count, and placeholder birth dates
    collisions["adults_first_last_dob"] = _adult_pairs(
        adult, first_c, full_c, n_full, dob_c, len(dob_u)
    )
    birth_dates = _birth_dates(p, gcode, dob_u, dob_c)

    # --- e. households
    hh_size = np.bincount(hh_c, minlength=n_hh)
    dist = np.bincount(np.minimum(hh_size, 7), minlength=8)[1:8]
    ref_sizes = list(cfg.household_size_shares) if cfg is not None else [None] * 7
    households = {
        "households": n_hh,
        "mean_size": _ratio(n, n_hh),
        "sizes": {
            k: {"households": int(dist[i]), "share": _ratio(int(dist[i]), n_hh), "config": _r(s)}
            for i, (k, s) in enumerate(zip(HOUSEHOLD_SIZES, ref_sizes, strict=True))
        },
    }

    # --- f. life events
    life_events = _life_events(p, cfg, gcode, hh_c, n_hh, compound, last_c, last_u)

    out = {
        "counts": counts,
        "surname_concentration": surname_concentration,
        "first_name_concentration": first_name_concentration,
        "name_uniqueness": uniqueness,
        "collisions": collisions,
        "birth_dates": birth_dates,
        "households": households,
        "life_events": life_events,
    }
    if "status" in p.columns and p["status"].notna().any():
        out["identifiers"] = _identifiers(p, cfg)
    out["addresses"] = _addresses(pop, cfg)
    return out


def _addresses(pop: Population, cfg: PopulationConfig | None) -> dict[str, Any]:
    """Numberless and shared street addresses (issue 14), of the occupied dwellings."""
    p = pop.people
    occupied = p.drop_duplicates("address_id")[["house_number", "street", "unit", "zip"]]
    blank = (occupied["house_number"] == "").to_numpy()
    # Numbered dwellings have addresses of their own (numbers ascend along a street, units are
    # distinct within a building): only numberless ones can share, so only they are compared.
    key = ["street", "unit", "zip"]
    shared = occupied[blank].duplicated(key, keep=False).to_numpy()
    people_blank = int((p["house_number"] == "").sum())
    ref = _r(cfg.numberless_share) if cfg is not None else None

    def event(count: int, of: int, reference: float | None = None) -> dict[str, Any]:
        return {"count": count, "of": of, "share": _ratio(count, of), "reference": reference}

    return {
        "numberless_dwellings": event(int(blank.sum()), len(occupied), ref),
        "numberless_people": event(people_blank, len(p)),
        "shared_address_dwellings": event(int(shared.sum()), len(occupied)),
    }


def _identifiers(p: pd.DataFrame, cfg: PopulationConfig | None) -> dict[str, Any]:
    """Residence statuses and TINs beside the configured shares and their sources."""
    from synthetic.population import SOURCES

    status, kind = p["status"].to_numpy(dtype=object), p["tin_type"].to_numpy(dtype=object)
    unauth, lawful = status == "unauthorized", status == "lawful"
    donor = p["ssn_donor_id"].to_numpy()
    borrower = donor >= 0
    hh = p["household_id"].to_numpy()
    at = pd.Index(p["person_id"].to_numpy()).get_indexer(donor[borrower])
    same_hh = int((hh[borrower] == hh[at]).sum()) if borrower.any() else 0

    def ref(key: str) -> Any:
        return None if cfg is None else _r(getattr(cfg, key))

    facts = {
        "unauthorized": (
            int(unauth.sum()), len(p), ref("unauthorized_share"), "unauthorized_share",
        ),
        "lawful": (int(lawful.sum()), len(p), ref("lawful_share"), "lawful_share"),
        "ssn": (int((kind == "ssn").sum()), len(p), None, ""),
        "itin_of_unauthorized": (
            int((unauth & (kind == "itin")).sum()), int(unauth.sum()), ref("itin_share"),
            "itin_share",
        ),
        "former_itin_of_lawful": (
            int((lawful & p["former_itin"].notna().to_numpy()).sum()), int(lawful.sum()),
            ref("former_itin_share"), "former_itin_share",
        ),
        "household_donor_of_borrowers": (same_hh, int(borrower.sum()), None, ""),
    }  # fmt: skip
    return {
        k: {
            "count": c,
            "of": of,
            "share": _ratio(c, of),
            "reference": r,
            "source": SOURCES.get(key, ""),
        }
        for k, (c, of, r, key) in facts.items()
    }


#: Adults in the national file of 2012 voter records (Goel, Meredith, Morse, Rothschild and
#: Shirani-Mehr, "One Person, One Vote: Estimating the Prevalence of Double Voting in U.S.
#: Presidential Elections", American Political Science Review 114(2), 2020): about 129 million
#: records, of which about 3 million pairs share first name, last name and date of birth.
PUBLISHED_ADULTS = 129_000_000
PUBLISHED_FIRST_LAST_DOB_PAIRS = 3_000_000


def adult_key_pairs(
    p: pd.DataFrame, to_adults: float = PUBLISHED_ADULTS, min_age: int = 18
) -> dict[str, Any]:
    """Pairs of distinct adults (``age >= min_age``) sharing first name + full surname + date of
    birth, and the count extrapolated to ``to_adults`` adults.

    Extrapolation: ``pairs x (to_adults / adults)^2``. The expected number of pairs sharing a key
    is ``A(A-1)/2 x sum_k p_k^2``; it scales with the square of the number of adults ``A`` when
    the key frequencies ``p_k`` do not depend on the population's size (true of a generated
    population, whose names and dates are drawn from fixed tables; rare invented names, unique
    at any size, share nothing).
    """
    second = p["second_surname"].to_numpy(dtype=object)
    compound = pd.notna(second)
    first_c, _ = _codes(p["first_name"])
    last_c, _ = _codes(p["last_name"])
    second_c = np.zeros(len(p), dtype=np.int64)
    sc, su = _codes(second[compound])
    second_c[compound] = sc + 1
    full_c, full_u = _codes(last_c * (len(su) + 1) + second_c)
    dob_c, dob_u = _codes(p["dob"])
    adult = p["age"].to_numpy() >= min_age
    return _adult_pairs(adult, first_c, full_c, len(full_u), dob_c, len(dob_u), to_adults)


def _adult_pairs(
    adult: np.ndarray,
    first_c: np.ndarray,
    full_c: np.ndarray,
    n_full: int,
    dob_c: np.ndarray,
    n_dob: int,
    to_adults: float = PUBLISHED_ADULTS,
) -> dict[str, Any]:
    """:func:`adult_key_pairs` on integer codes of the whole population."""
    name = first_c[adult] * np.int64(n_full) + full_c[adult]
    name_c, name_n = _classes(name)
    shared = name_n[name_c] >= 2  # only these can share the whole key
    _, trip_n = _classes(name_c[shared] * np.int64(n_dob) + dob_c[adult][shared])
    pairs = _pairs(trip_n)
    n_adults = int(adult.sum())
    scale = (to_adults / n_adults) ** 2 if n_adults else 0.0
    return {
        "adults": n_adults,
        "pairs": pairs,
        "to_adults": int(to_adults),
        "extrapolated_pairs": _r(pairs * scale),
        "published_pairs": PUBLISHED_FIRST_LAST_DOB_PAIRS,
        "published_adults": PUBLISHED_ADULTS,
    }


def _birth_dates(p: pd.DataFrame, gcode: np.ndarray, dob_u: np.ndarray, dob_c: np.ndarray) -> dict:
    """Share of January 1 birth dates (and of 1st-of-month ones) by group, all ages."""
    md = pd.Index(dob_u).astype(str).str[5:]  # ISO dates: YYYY-MM-DD -> MM-DD
    jan1 = np.asarray(md == "01-01")[dob_c]
    first = np.asarray(md.str.endswith("-01"))[dob_c]
    out: dict[str, Any] = {}
    for gi, g in enumerate((_ALL, *N.GROUPS)):
        m = np.ones(len(p), dtype=bool) if g == _ALL else gcode == gi - 1
        k = int(m.sum())
        out[g] = {
            "people": k,
            "jan1": _ratio(int(jan1[m].sum()), k),
            "first_of_month": _ratio(int(first[m].sum()), k),
        }
    return {
        "groups": out,
        "uniform_jan1": _r(1 / 365.25),
        "uniform_first_of_month": _r(12 / 365.25),
    }


def _partner_rows(p: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Row positions (i, j) of each linked pair (``twin_id`` / ``namesake_id``), once each."""
    pid = p["person_id"].to_numpy()
    other = p[column].to_numpy()
    i = np.flatnonzero((other >= 0) & (pid < other))
    j = pd.Index(pid).get_indexer(other[i])
    return i[j >= 0], j[j >= 0]


def _collisions(
    p: pd.DataFrame,
    name_c: np.ndarray,
    name_n: np.ndarray,
    dob_c: np.ndarray,
    dob_u: np.ndarray,
    hh_c: np.ndarray,
    first_c: np.ndarray,
    full_c: np.ndarray,
) -> dict[str, Any]:
    """Pairs sharing (first, full surname) and (first, full surname, dob): observed, expected."""
    n, n_dob = len(p), len(dob_u)
    n_hh = int(hh_c.max()) + 1
    all_pairs = n * (n - 1) / 2

    # Only people whose (first, last) someone else has can share more keys: work on them alone
    # (a fifth of the people at 1M, far fewer in small populations).
    shared = np.flatnonzero(name_n[name_c] >= 2)
    name_s, dob_s, hh_s = name_c[shared].astype(np.int64), dob_c[shared], hh_c[shared]

    def same_household(cls: np.ndarray, sizes: np.ndarray) -> int:
        # pairs of one class (over the ``shared`` people) that also share a household
        m = sizes[cls] >= 2
        return _pairs(_classes(cls[m].astype(np.int64) * n_hh + hh_s[m])[1])

    def linked(cls: np.ndarray, i: np.ndarray, j: np.ndarray) -> int:
        # linked people (co-twins, Jr/Sr) in the same class; -1: not among the shared people
        code = np.full(n, -1, dtype=np.int64)
        code[shared] = cls
        return int(((code[i] == code[j]) & (code[i] >= 0)).sum())

    # (first, last)
    fl_pairs = _pairs(name_n)
    ti, tj = _partner_rows(p, "twin_id")
    ni, nj = _partner_rows(p, "namesake_id")
    p_first = np.bincount(first_c) / n
    p_full = np.bincount(full_c) / n
    census_f2, census_l2 = _census_sum_p2()

    # (first, last, dob)
    trip_c, trip_n = _classes(name_s * n_dob + dob_s)
    dob_n = np.bincount(dob_c, minlength=n_dob)
    sum_pd2 = float(((dob_n / n) ** 2).sum())
    # Same day is only possible within a birth year: conditioning on each person's birth year
    # takes the cohort structure of first names (JENNIFER born in the 1970s-80s) into account.
    year_c, year_u = _codes(pd.Index(dob_u).astype(str).str[:4])  # ISO dates: YYYY-MM-DD
    n_year = len(year_u)
    year_n = np.bincount(year_c, weights=dob_n, minlength=n_year)
    q_year: np.ndarray = np.bincount(
        year_c, weights=dob_n.astype(np.float64) ** 2, minlength=n_year
    )
    q_year /= np.maximum(year_n, 1) ** 2  # P(two people born in year y share the day)
    ny_c, ny_n = _classes(name_s * n_year + year_c[dob_s])
    ny_year = np.zeros(len(ny_n), dtype=np.int64)
    ny_year[ny_c] = year_c[dob_s]
    pairs_ny = ny_n.astype(np.float64) * (ny_n - 1) / 2

    return {
        "first_last": {
            "pairs": fl_pairs,
            "people_in_pairs": len(shared),
            "same_household_pairs": same_household(name_s, name_n),
            "namesake_pairs": int((name_c[ni] == name_c[nj]).sum()),
            "expected_pairs_population_marginals": _r(
                all_pairs * float((p_first**2).sum()) * float((p_full**2).sum())
            ),
            "expected_pairs_census": _r(all_pairs * census_f2 * census_l2),
        },
        "first_last_dob": {
            "pairs": _pairs(trip_n),
            "people_in_pairs": int((trip_n[trip_c] >= 2).sum()),
            "same_household_pairs": same_household(trip_c, trip_n),
            "twin_pairs": linked(trip_c, ti, tj),
            "namesake_pairs": linked(trip_c, ni, nj),
            "expected_pairs_independent_dob": _r(fl_pairs * sum_pd2),
            "expected_pairs_given_birth_year": _r(float((pairs_ny * q_year[ny_year]).sum())),
            "expected_pairs_census": _r(all_pairs * census_f2 * census_l2 * sum_pd2),
        },
        "dob_sum_p2": _r(sum_pd2),
        "census_first_name_sum_p2": _r(census_f2),
        "census_surname_sum_p2": _r(census_l2),
    }


def _life_events(
    p: pd.DataFrame,
    cfg: PopulationConfig | None,
    gcode: np.ndarray,
    hh_c: np.ndarray,
    n_hh: int,
    compound: np.ndarray,
    last_c: np.ndarray,
    last_u: np.ndarray,
) -> dict[str, Any]:
    """Movers, PO boxes, surname changes, twins, Jr/Sr pairs and rare names."""
    n = len(p)

    def ref(field: str) -> float | None:
        return _r(getattr(cfg, field)) if cfg is not None else None

    def event(count: int, of: int, reference: float | None = None) -> dict[str, Any]:
        return {"count": count, "of": of, "share": _ratio(count, of), "reference": reference}

    # household-level facts: take each household's first row (members share them)
    first_row = np.unique(hh_c, return_index=True)[1]
    moved_p = p["previous_address_id"].to_numpy() >= 0
    boxed_hh = pd.notna(p["po_box"].to_numpy()[first_row])
    by_group = cfg.compound_surname_by_group if cfg is not None else {}
    prev = np.flatnonzero(pd.notna(p["previous_surname"].to_numpy()))
    partnered = pd.notna(p["spouse_surname"].to_numpy()[prev])  # a name change at marriage
    # checked on the distinct surnames, not on every person (str ops on 1M objects are slow)
    hyphen = np.char.find(last_u.astype(str), "-")[last_c] >= 0
    children = (p["relationship"] == "child").to_numpy()
    twin = p["twin_id"].to_numpy() >= 0
    junior = (p["suffix"] == "JR").to_numpy()
    s_rare = p["surname_rare"].to_numpy(dtype=bool)
    f_rare = p["first_name_rare"].to_numpy(dtype=bool)
    rare_by_group = {}
    for gi, g in enumerate(N.GROUPS):
        m = gcode == gi
        rare_by_group[g] = {
            "people": int(m.sum()),
            "surname_rare": _ratio(int(s_rare[m].sum()), int(m.sum())),
            "census_surname_tail": _r(N.rare_surname_prob()[gi]),
            "first_name_rare": _ratio(int(f_rare[m].sum()), int(m.sum())),
            "census_first_name_tail": _r(N.rare_first_name_prob()[gi]),
        }
    return {
        "mover_households": event(int(moved_p[first_row].sum()), n_hh, ref("mover_share")),
        "mover_people": event(int(moved_p.sum()), n, ref("mover_share")),
        "po_box_households": event(int(boxed_hh.sum()), n_hh, ref("po_box_share")),
        "compound_surname_people": event(int(compound.sum()), n),
        # by group; the configured rate applies to own surname draws, before marriage and
        # inheritance, so the observed share is expected to be a little lower
        **{
            f"compound_surname_{g}": event(
                int(compound[gcode == gi].sum()),
                int((gcode == gi).sum()),
                _r(by_group.get(g, 0.0)) if cfg is not None else None,
            )
            for gi, g in enumerate(N.GROUPS)
            if g in by_group or compound[gcode == gi].any()
        },
        "previous_surname_married": event(int(partnered.sum()), n),
        "previous_surname_other": event(int((~partnered).sum()), n),
        "hyphenated_surname": event(int(hyphen.sum()), n),
        "twins": event(int(twin.sum()), int(children.sum()), ref("twin_share")),
        "jr_sr_pairs": event(int(junior.sum()), n_hh),  # at most one per household
        "rare_surname": event(int(s_rare.sum()), n, _r(N.surname_tail().share)),
        "rare_first_name": event(int(f_rare.sum()), n, _r(N.first_name_tail().share)),
        "rare_by_group": rare_by_group,
    }


# ----------------------------------------------------------------------------- Markdown
def _pct(x: float | None) -> str:
    """A share as a percentage: 1 decimal from 10%, 2 below (small rates stay legible)."""
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if abs(x) >= 0.1 else f"{100 * x:.2f}%"


def _num(x: float | None) -> str:
    """A count (thousands separators) or an expected count (1 or 2 decimals)."""
    if x is None:
        return "-"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _table(rows: list[list[str]], headers: list[str]) -> str:
    # cells are preformatted strings: no number parsing; first column left, the rest right;
    # a row named by a group code is named in words (api -> Asian or Pacific Islander)
    return tabulate(
        [[N.GROUP_NAMES.get(row[0], row[0]), *row[1:]] if row else row for row in rows],
        headers=headers,
        tablefmt="github",
        disable_numparse=True,
        colalign=("left",) + ("right",) * (len(headers) - 1),
    )


def summary_markdown(summary: dict[str, Any]) -> str:
    """Render :func:`summarize_population`'s output as Markdown: ``###`` headings (the text is
    embedded in reports), one line per table saying what its columns mean, and each observed
    figure beside its Census/ACS/configuration reference where there is one."""
    out: list[str] = []

    def section(title: str, text: str, table: str) -> None:
        out.extend([f"### {title}", "", text, "", table, ""])

    c = summary["counts"]
    section(
        "People and groups",
        f"{c['people']:,} people in {c['households']:,} households; {c['adults']:,} adults "
        f"(18+, {_pct(c['adult_share'])}). Columns: people and adults of each name-origin group, "
        "the group's share of people, and the share implied by the Census 2010 surname table.",
        _table(
            [
                [g, _num(v["people"]), _num(v["adults"]), _pct(v["share"]), _pct(v["census_share"])]
                for g, v in c["groups"].items()
            ],
            ["group", "people", "adults", "share", "Census"],
        ),
    )

    sc = summary["surname_concentration"]
    section(
        "Surname concentration",
        "Share of the row's people covered by its N most frequent surnames (ranked within the "
        "row's group): *full* = the surname as used (LAST SECOND when compound), *last_name* = "
        "the first part alone; *Census top N* = share holding one of the Census 2010 table's N "
        "most frequent names of the group (free of the upward bias of ranking a small group's "
        "own names); *Census* = the table's own figure (its tail of rarer names included).",
        _table(
            [
                [
                    g,
                    _num(v["people"]),
                    f"{k:,}",
                    _pct(v["observed"][i]),
                    _pct(v["observed_last_name"][i]),
                    _pct(v["observed_census_ranked"][i]),
                    _pct(v["census"][i]),
                ]
                for g, v in sc["groups"].items()
                for i, k in enumerate(sc["top_n"])
            ],
            ["group", "people", "N", "full", "last_name", "Census top N", "Census"],
        ),
    )

    fc = summary["first_name_concentration"]
    section(
        "First-name concentration",
        "Share of the row's people covered by its N most frequent first names (ranked within the "
        "row's group); *Census top N* and *Census* as above, from the Census 2020 first-name "
        "table (which pools all ages and both sexes).",
        _table(
            [
                [
                    g,
                    _num(v["people"]),
                    f"{k:,}",
                    _pct(v["observed"][i]),
                    _pct(v["observed_census_ranked"][i]),
                    _pct(v["census"][i]),
                ]
                for g, v in fc["groups"].items()
                for i, k in enumerate(fc["top_n"])
            ],
            ["group", "people", "N", "observed", "Census top N", "Census"],
        ),
    )

    section(
        "Name uniqueness",
        "A name is (first name, full surname), its holders counted over the whole population; "
        "a group's row describes its members. *unique*: share of people whose name nobody else "
        "has; *per person*: mean holders of a person's name (the person included); *per name*: "
        "mean holders of the distinct names in the row; *max*: holders of the commonest name.",
        _table(
            [
                [
                    g,
                    _num(v["people"]),
                    _num(v["distinct_names"]),
                    _pct(v["unique_share"]),
                    _num(v["mean_class_size_per_person"]),
                    _num(v["mean_people_per_name"]),
                    _num(v["max_people_per_name"]),
                ]
                for g, v in summary["name_uniqueness"].items()
            ],
            ["group", "people", "names", "unique", "per person", "per name", "max"],
        ),
    )

    col = summary["collisions"]
    fl, fld = col["first_last"], col["first_last_dob"]
    section(
        "Shared names and dates of birth",
        "Pairs of distinct people sharing the keys, and the people in such pairs. *expected, "
        "indep.*: (first, last) pairs if first names and surnames were paired at random "
        "(this population's frequencies); (first, last, DOB) pairs if DOB were independent of "
        "the name (the observed (first, last) pairs x the chance that two people share a DOB). "
        "*expected, Census*: N(N-1)/2 x Σ p(first)² x Σ p(last)² with the Census tables' "
        "shares (ignores groups, sex and birth cohorts), x the DOB chance for the DOB row.",
        _table(
            [
                [
                    "first, last",
                    _num(fl["pairs"]),
                    _num(fl["people_in_pairs"]),
                    _num(fl["same_household_pairs"]),
                    _num(fl["expected_pairs_population_marginals"]),
                    _num(fl["expected_pairs_census"]),
                ],
                [
                    "first, last, DOB",
                    _num(fld["pairs"]),
                    _num(fld["people_in_pairs"]),
                    _num(fld["same_household_pairs"]),
                    _num(fld["expected_pairs_independent_dob"]),
                    _num(fld["expected_pairs_census"]),
                ],
            ],
            ["shared", "pairs", "people", "same household", "expected, indep.", "expected, Census"],
        ),
    )
    out.extend(
        [
            f"Twins and Jr/Sr are counted above, not excluded. Twins share surname and DOB but "
            f"get different first names: {fld['twin_pairs']:,} co-twin pairs share (first, "
            f"last, DOB). Jr/Sr namesakes share (first, last) ({fl['namesake_pairs']:,} of the "
            f"pairs) but not a DOB. Expected (first, last, DOB) pairs given each person's birth "
            f"year (first names follow birth cohorts): "
            f"{_num(fld['expected_pairs_given_birth_year'])}. Two people share a DOB with "
            f"chance 1 in {_num(round(1 / col['dob_sum_p2']))}.",
            "",
        ]
    )

    ap = col.get("adults_first_last_dob")
    if ap is not None:
        section(
            "First name + last name + DOB among adults, at national scale",
            f"Pairs of distinct adults sharing first name, full surname and date of birth, "
            f"extrapolated to {ap['to_adults']:,} adults by (adults there / adults here)^2 (the "
            "pair count grows with the square of the population when key frequencies do not "
            "depend on its size), beside the published count: about 3 million pairs of 2012 "
            "vote records of ~129 million (Goel, Meredith, Morse, Rothschild and Shirani-Mehr, "
            f"APSR 2020). The pair count is Poisson: {_num(ap['pairs'])} pairs give the "
            "extrapolation a relative error of about 1/sqrt(pairs); at least a million people "
            "(`linkrisk describe SCENARIO --size 1000000`) give about 20 pairs.",
            _table(
                [[_num(ap["adults"]), _num(ap["pairs"]), _num(ap["extrapolated_pairs"]),
                  _num(ap["published_pairs"])]],
                ["adults", "pairs", "extrapolated", "published"],
            ),
        )  # fmt: skip
    bd = summary.get("birth_dates")
    if bd is not None:
        section(
            "Placeholder birth dates",
            "Share of the row's people (all ages) born on January 1 and on the 1st of a month: "
            "people born abroad may carry placeholder dates in every document; *uniform* = the "
            "share if dates were spread evenly over the year.",
            _table(
                [[g, _num(v["people"]), _pct(v["jan1"]), _pct(bd["uniform_jan1"]),
                  _pct(v["first_of_month"]), _pct(bd["uniform_first_of_month"])]
                 for g, v in bd["groups"].items()],
                ["group", "people", "January 1", "uniform", "1st of month", "uniform"],
            ),
        )  # fmt: skip

    h = summary["households"]
    section(
        "Household sizes",
        f"Share of households by number of members, beside the configured shares (ACS/CPS); "
        f"mean size {_num(h['mean_size'])}.",
        _table(
            [
                [k, _num(v["households"]), _pct(v["share"]), _pct(v["config"])]
                for k, v in h["sizes"].items()
            ],
            ["size", "households", "share", "configured"],
        ),
    )

    ev = summary["life_events"]
    labels = [
        ("mover_households", "moved (has a previous address)", "households"),
        ("mover_people", "moved (has a previous address)", "people"),
        ("po_box_households", "PO box", "households"),
        ("compound_surname_people", "compound surname", "people"),
        *(
            (k, "compound surname", f"{k.removeprefix('compound_surname_')} people")
            for k in ev
            if k.startswith("compound_surname_") and k != "compound_surname_people"
        ),
        ("previous_surname_married", "previous surname, partnered", "people"),
        ("previous_surname_other", "previous surname, no partner", "people"),
        ("hyphenated_surname", "hyphenated surname", "people"),
        ("twins", "twins", "children"),
        ("jr_sr_pairs", "Jr/Sr pairs", "households"),
        ("rare_surname", "rare surname", "people"),
        ("rare_first_name", "rare first name", "people"),
    ]
    section(
        "Life events and rare names",
        "*share* is of the *of* column; *reference* is the configured rate (for compound "
        "surnames: of the group's own surname draws, before marriage and inheritance), or "
        "for rare names the share of the Census table's ALL OTHER NAMES tail.",
        _table(
            [
                [label, _num(ev[k]["count"]), of, _pct(ev[k]["share"]), _pct(ev[k]["reference"])]
                for k, label, of in labels
            ],
            ["event", "count", "of", "share", "reference"],
        ),
    )
    section(
        "Rare names by group",
        "Share of the group's people with a rare (tail) surname or first name, beside the "
        "Census tail's share of the group's holders.",
        _table(
            [
                [
                    g,
                    _num(v["people"]),
                    _pct(v["surname_rare"]),
                    _pct(v["census_surname_tail"]),
                    _pct(v["first_name_rare"]),
                    _pct(v["census_first_name_tail"]),
                ]
                for g, v in ev["rare_by_group"].items()
            ],
            ["group", "people", "rare surname", "Census", "rare first name", "Census"],
        ),
    )
    if "identifiers" in summary:
        ids = summary["identifiers"]
        id_labels = {
            "unauthorized": ("unauthorized", "people"),
            "lawful": ("lawful resident, not a citizen", "people"),
            "ssn": ("holds an SSN", "people"),
            "itin_of_unauthorized": ("holds an ITIN", "unauthorized people"),
            "former_itin_of_lawful": ("held an ITIN before the SSN", "lawful residents"),
            "household_donor_of_borrowers": ("SSN donor in the household", "people without SSN"),
        }
        section(
            "Residence status and identifiers",
            "*share* is of the *of* column; *reference* is the configured share, with its source.",
            _table(
                [
                    [label, _num(v["count"]), of, _pct(v["share"]), _pct(v["reference"]),
                     v["source"] or "-"]
                    for k, (label, of) in id_labels.items()
                    for v in [ids[k]]
                ],
                ["fact", "count", "of", "share", "reference", "source"],
            ),
        )  # fmt: skip
    if "addresses" in summary:
        ad = summary["addresses"]
        rows = [
            ("numberless_dwellings", "no house number", "dwellings"),
            ("numberless_people", "no house number", "people"),
            ("shared_address_dwellings", "whole address shared with another dwelling", "dwellings"),
        ]
        section(
            "Numberless and shared addresses",
            "Dwellings without a house number (rural and small-town addresses such as MAIN ST); "
            "*reference* is the configured share (pseudopeople's sample census: 3.7% of "
            "households have no street number). Two numberless dwellings on one street share "
            "their whole address (house number, street, unit, ZIP).",
            _table(
                [
                    [
                        label,
                        _num(ad[k]["count"]),
                        of,
                        _pct(ad[k]["share"]),
                        _pct(ad[k]["reference"]),
                    ]
                    for k, label, of in rows
                ],
                ["address", "count", "of", "share", "reference"],
            ),
        )
    return "\n".join(out)
