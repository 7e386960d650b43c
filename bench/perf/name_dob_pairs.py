"""Count pairs of distinct adults sharing first name + last name + date of birth, extrapolated
to the 129 million adults of the published count (issue 14).

Generates populations with the default population configuration and prints, per seed, the
pairs among adults (18+) sharing (first name, full surname, DOB) and the count extrapolated by
``(129e6 / adults)^2``: the expected number of pairs sharing a key is ``A(A-1)/2 x sum_k
p_k^2``, which grows with the square of the number of adults ``A`` when the key frequencies
``p_k`` do not depend on the population's size (true of a generated population, whose names and
dates come from fixed tables). The published figure: about 3 million pairs of 2012 vote records
of ~129 million (Goel, Meredith, Morse, Rothschild and Shirani-Mehr, APSR 2020).

    python -m bench.perf.name_dob_pairs [--people 1000000] [--seeds 1 2 3]
"""

from __future__ import annotations

import argparse

from synthetic.population import PopulationConfig, generate_population
from synthetic.summary import PUBLISHED_FIRST_LAST_DOB_PAIRS, adult_key_pairs


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, count and print; returns the exit code."""
    ap = argparse.ArgumentParser(prog="python -m bench.perf.name_dob_pairs", description=__doc__)
    ap.add_argument("--people", type=int, default=1_000_000, help="population size (1000000)")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="seeds (1)")
    args = ap.parse_args(argv)
    if args.people < 1:
        ap.error("--people must be >= 1")
    total, adults = 0, 0
    for seed in args.seeds:
        r = adult_key_pairs(generate_population(PopulationConfig(size=args.people), seed).people)
        total, adults = total + r["pairs"], adults + r["adults"]
        print(f"seed {seed}: {r['adults']:,} adults, {r['pairs']:,} pairs -> "
              f"{r['extrapolated_pairs']:,.0f} at 129 million adults")  # fmt: skip
    k = len(args.seeds)
    pooled = total / k * (129e6 / (adults / k)) ** 2
    print(f"pooled over {k} seed(s): {pooled:,.0f} pairs at 129 million adults "
          f"(published: {PUBLISHED_FIRST_LAST_DOB_PAIRS:,})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
