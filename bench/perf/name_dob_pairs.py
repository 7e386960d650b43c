"""Count pairs of distinct adults sharing first name + last name + date of birth, extrapolated
to the 129 million adults of the published count (issue 14), and decompose the count into its
factors beside public figures (``--decompose``).

Generates populations with the default population configuration and prints, per seed, the
pairs among adults (18+) sharing (first name, full surname, DOB) and the count extrapolated by
``(129e6 / adults)^2``: the expected number of pairs sharing a key is ``A(A-1)/2 x sum_k
p_k^2``, which grows with the square of the number of adults ``A`` when the key frequencies
``p_k`` do not depend on the population's size (true of a generated population, whose names and
dates come from fixed tables). The published figure: about 3 million pairs of 2012 vote records
of ~129 million (Goel, Meredith, Morse, Rothschild and Shirani-Mehr, APSR 2020).

``--decompose`` writes the pair rate as a product of factors, each measured on the generated
adults and, where a public table gives it, beside the same factor computed from that table:

    P(same first, last, DOB) = P(same birth year)
                               x P(same first name | same year)
                               x P(same full surname | same year)
                               x [first-last association within a year]
                               x P(same recorded date | same first, last, year)

The references: the 2020 age pyramid (birth years), SSA births by name and year (first names,
weighted by the generated pairs' birth years, so that only concentration within a year is
compared), the Census 2010 surname table (its "ALL OTHER NAMES" tail counted as unique), and the
daily birth pattern (``synthetic.births``, true dates only). At 1 million people the full key
has only ~15-20 pairs among adults: the partial keys (first + last + year: thousands of pairs)
carry the decomposition; the last factor is the noisy one. Finally the count is re-weighted by
birth year to the ages of a 2012 electorate (people 18+ in November 2012 under the 2020 pyramid
shifted back: an approximation that ignores turnout by age, which skews voters older still).

    python -m bench.perf.name_dob_pairs [--people 1000000] [--seeds 1 2 3] [--decompose]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from synthetic import births as B
from synthetic import names as N
from synthetic.population import AGE_PYRAMID_2020, PopulationConfig, generate_population
from synthetic.summary import PUBLISHED_ADULTS, PUBLISHED_FIRST_LAST_DOB_PAIRS, adult_key_pairs

#: The year of the published count's vote records (a 2012 electorate, for the re-weighting).
PUBLISHED_YEAR = 2012
_Y0 = 1850  # offset of birth years in integer keys


def _pairs_by(key: np.ndarray, year: np.ndarray) -> np.ndarray:
    """Pairs of elements sharing ``key``, per birth year (``year - _Y0`` as index)."""
    codes, _ = pd.factorize(key)
    size = np.bincount(codes)
    per = size * (size - 1) // 2
    # each class lies inside one birth year when the key includes the year
    cls_year = np.zeros(len(size), dtype=np.int64)
    cls_year[codes] = year
    return np.bincount(cls_year, weights=per, minlength=200)


def _counts(people: pd.DataFrame) -> dict[str, Any]:
    """Pair counts among the adults of one population, per birth year where it matters."""
    a = people[people["age"].to_numpy() >= 18]
    first = pd.factorize(a["first_name"])[0].astype(np.int64)
    second = a["second_surname"].to_numpy(dtype=object)
    full = a["last_name"].to_numpy(dtype=object).copy()
    cmp = pd.notna(second)
    full[cmp] = full[cmp] + " " + second[cmp]
    last = pd.factorize(full)[0].astype(np.int64)
    dob = pd.factorize(a["dob"])[0].astype(np.int64)
    year = a["dob"].str.slice(0, 4).astype(np.int64).to_numpy() - _Y0
    n_l, n_d = np.int64(last.max() + 1), np.int64(dob.max() + 1)
    fl = first * n_l + last
    return {
        "adults": len(a),
        "year": _pairs_by(year, year),
        "first_year": _pairs_by(first * 200 + year, year),
        "last_year": _pairs_by(last * 200 + year, year),
        "first_last_year": _pairs_by(fl * 200 + year, year),
        "dob": _pairs_by(dob, year),
        "first_last_dob": _pairs_by(fl * n_d + dob, year),
        "last": float(_pairs_by(last, np.zeros(len(a), dtype=np.int64)).sum()),
    }


def _ssa_same_first(years: np.ndarray) -> np.ndarray:
    """P(two people born in year y, sexes 50/50, have the same first name), from SSA births by
    name and year (names of the vendored Census table: 99% of SSA births) over all births."""
    coh = N.first_name_cohorts()
    tot = N.ssa_year_totals()
    y = coh["year"].to_numpy(np.int64)
    pf = coh["count_female"].to_numpy(np.float64) / tot["count_female"].reindex(y).to_numpy()
    pm = coh["count_male"].to_numpy(np.float64) / tot["count_male"].reindex(y).to_numpy()
    y0 = int(tot.index.min())
    same = np.bincount(y - y0, weights=0.25 * (pf + pm) ** 2, minlength=len(tot))
    return same[np.clip(np.asarray(years, dtype=np.int64), y0, int(tot.index.max())) - y0]


def _census_same_surname() -> float:
    """P(two people have the same surname), Census 2010 (the rare tail counted as unique)."""
    df = N.surnames()
    p = df["count"].to_numpy(np.float64) / N.surname_tail().total_count
    return float(p @ p)


def _birth_year_shares(ref_year: float) -> np.ndarray:
    """Shares of birth years (index ``year - _Y0``) of people 18+ at mid ``ref_year`` under the
    2020 age pyramid (each 5-year band spread evenly; an age straddles two birth years)."""
    per_age = np.repeat(np.asarray(AGE_PYRAMID_2020, dtype=np.float64) / 5.0, 5)
    w = np.zeros(200)
    for age in range(18, len(per_age)):
        born = int(ref_year) - age - _Y0
        w[born] += per_age[age] / 2
        w[born - 1] += per_age[age] / 2
    return w / w.sum()


def decompose(frames: list[pd.DataFrame], to_adults: float = PUBLISHED_ADULTS) -> dict[str, Any]:
    """The factors of the first + last + DOB pair rate among the adults of ``frames`` (pooled
    populations of the same configuration), beside their public references (see the module
    docstring). Returns the rows of the table and the extrapolated counts."""
    c = [_counts(p) for p in frames]
    tot = {k: sum(x[k] for x in c) for k in c[0]}
    k = len(frames)
    adults = tot["adults"] / k
    n_pairs = k * adults * (adults - 1) / 2  # pairs per population, summed over populations
    yp = tot["year"]
    years = np.flatnonzero(yp > 0)
    y_share = yp / yp.sum()  # weights of the factors conditional on the year
    p_year = yp.sum() / n_pairs
    f_year = tot["first_year"].sum() / yp.sum()
    l_all = tot["last"] / n_pairs
    l_year = tot["last_year"].sum() / yp.sum()
    fl_year = tot["first_last_year"].sum() / yp.sum()
    assoc = fl_year / (f_year * l_year)
    d_year = tot["dob"].sum() / yp.sum()
    d_name = tot["first_last_dob"].sum() / max(tot["first_last_year"].sum(), 1)
    rate = tot["first_last_dob"].sum() / n_pairs
    ref_year = float(np.square(_birth_year_shares(2025.5)).sum())
    ref_first = float(y_share[years] @ _ssa_same_first(years + _Y0))
    ref_last = _census_same_surname()
    ref_day = float(y_share[years] @ B.same_day_probability(years + _Y0))
    # re-weighting by birth year: pairs of a year scale with the square of its share
    gen_w = np.sqrt(yp / yp.sum())  # ~ the share of adults born in the year
    gen_w = gen_w / gen_w.sum()
    old_w = _birth_year_shares(PUBLISHED_YEAR + 0.85)
    ratio = np.divide(old_w, gen_w, out=np.zeros_like(old_w), where=gen_w > 0) ** 2
    age_factor = float((ratio * tot["first_last_year"]).sum() / tot["first_last_year"].sum())
    scale = (to_adults / adults) ** 2
    extrapolated = rate * to_adults**2 / 2
    rows = [
        ("P(same birth year)", p_year, ref_year, "2020 age pyramid, adults at mid-2025"),
        ("P(same first name | same year)", f_year, ref_first, "SSA births by name and year"),
        ("P(same full surname | same year)", l_year, ref_last, "Census 2010 surnames"),
        ("  (P(same full surname), any years)", l_all, ref_last, "Census 2010 surnames"),
        ("first-last association within a year", assoc, None, "no public joint table"),
        ("P(same date | same year) x 365", d_year * 365, ref_day * 365,
         "daily US births (true dates, no placeholders)"),
        ("P(same date | same first, last, year) x 365", d_name * 365, ref_day * 365,
         f"{int(tot['first_last_dob'].sum())} pairs over {k} population(s)"),
    ]  # fmt: skip
    return {
        "rows": rows,
        "adults": adults,
        "pairs": tot["first_last_dob"].sum() / k,
        "extrapolated": extrapolated,
        "scale": scale,
        "first_last_year_extrapolated": fl_year * p_year * to_adults**2 / 2,
        "age_factor_2012": age_factor,
        "electorate_2012": extrapolated * age_factor,
        # the same product with every factor that has a public reference taken from it (the
        # association as generated): what the tables imply under within-group independence
        "reference_product": ref_year * ref_first * ref_last * assoc * ref_day * to_adults**2 / 2,
    }


def decomposition_text(d: dict[str, Any]) -> str:
    """The decomposition as a plain-text table and a few lines of totals."""
    table = [
        (name, f"{gen:.4g}", "" if ref is None else f"{ref:.4g}",
         "" if ref is None else f"{gen / ref:.2f}", src)
        for name, gen, ref, src in d["rows"]
    ]  # fmt: skip
    head = ("factor", "generated", "reference", "ratio", "reference source")
    pub = PUBLISHED_FIRST_LAST_DOB_PAIRS
    lines = [
        tabulate(table, headers=head, disable_numparse=True),
        "",
        f"adults per population: {d['adults']:,.0f}; pairs sharing first + last + DOB: "
        f"{d['pairs']:,.1f} per population",
        f"extrapolated to {PUBLISHED_ADULTS:,} adults: {d['extrapolated']:,.0f} pairs "
        f"(published: {pub:,}; ratio {pub / max(d['extrapolated'], 1):.1f})",
        f"pairs sharing first + last + birth year at that size: "
        f"{d['first_last_year_extrapolated']:,.0f}",
        f"birth years re-weighted to a {PUBLISHED_YEAR} electorate (x{d['age_factor_2012']:.2f}): "
        f"{d['electorate_2012']:,.0f} pairs",
        f"the product with the reference factors: {d['reference_product']:,.0f} pairs; "
        f"re-weighted to {PUBLISHED_YEAR}: {d['reference_product'] * d['age_factor_2012']:,.0f}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, count and print; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m bench.perf.name_dob_pairs", description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000, help="population size (1000000)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="seeds (1)")
    ap.add_argument("--decompose", action="store_true", help="print the factors of the count")
    args = ap.parse_args(argv)
    if args.people < 1:
        ap.error("--people must be >= 1")
    total, adults = 0, 0
    frames = []
    for seed in args.seeds:
        people = generate_population(PopulationConfig(size=args.people), seed).people
        r = adult_key_pairs(people)
        total, adults = total + r["pairs"], adults + r["adults"]
        print(f"seed {seed}: {r['adults']:,} adults, {r['pairs']:,} pairs -> "
              f"{r['extrapolated_pairs']:,.0f} at 129 million adults")  # fmt: skip
        if args.decompose:
            frames.append(people[["age", "first_name", "last_name", "second_surname", "dob"]])
    k = len(args.seeds)
    pooled = total / k * (129e6 / (adults / k)) ** 2
    print(f"pooled over {k} seed(s): {pooled:,.0f} pairs at 129 million adults "
          f"(published: {PUBLISHED_FIRST_LAST_DOB_PAIRS:,})")  # fmt: skip
    if args.decompose:
        print()
        print(decomposition_text(decompose(frames)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
