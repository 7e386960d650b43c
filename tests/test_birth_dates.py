"""Birth dates as people have them (synthetic.births), names by birth year, and the published
first + last name + date-of-birth pair count (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.perf.name_dob_pairs import decompose
from synthetic import births as B
from synthetic.population import PopulationConfig, generate_population
from synthetic.summary import PUBLISHED_FIRST_LAST_DOB_PAIRS, adult_key_pairs


def test_daily_pattern_has_weekdays_seasons_and_holidays() -> None:
    df = B.daily_births()
    assert len(df) == 7_670 and df["year"].min() == 1994 and df["year"].max() == 2014
    _, _, md, dow = B._pattern()
    assert dow[:5].min() > 1.0 and dow[5:].max() < 0.85  # weekends: far fewer births
    assert md[11, 24] < 0.75 and md[6, 3] < 0.9  # Christmas, July 4
    assert md[8, :].mean() > md[0, :].mean()  # late summer above January
    # the real calendar of a covered year, the average pattern elsewhere; mean 1 per year
    lo = (np.datetime64("2010-01-01") - np.datetime64("1970-01-01")).astype(int)
    w = B.day_weights(int(lo), int(lo) + 364)
    assert w.mean() == pytest.approx(1.0)
    m = B.same_day_matrices(np.array([1950, 2010]))
    assert ((m[:, 0, 0] * 365) > 1.01).all()  # more same-day pairs than uniform dates
    assert np.allclose(m, m.transpose(0, 2, 1)) and (m[:, 1, 1] == 1).all()


@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    return generate_population(PopulationConfig(size=1_000_000), seed=14).people


def test_placeholder_dates_by_group(million: pd.DataFrame) -> None:
    p = million
    jan1 = p["dob"].str.endswith("-01-01")
    by_group = jan1.groupby(p["group"]).mean()
    assert by_group["api"] > 3 / 365 and by_group["hispanic"] > 2.5 / 365  # born abroad
    assert by_group["white"] < 1.5 / 365
    # ages agree with the recorded dates
    dob = pd.to_datetime(p["dob"])
    ref = pd.Timestamp("2025-07-01")
    age = ref.year - dob.dt.year - ((dob.dt.month * 100 + dob.dt.day) > 701)
    assert (age == p["age"]).all()


@pytest.mark.xfail(
    strict=True,
    reason="issue 14: ~0.45-0.5 million at 129 million adults, not within 1.5x of 3 million. "
    "Decomposed (python -m bench.perf.name_dob_pairs --decompose): birth years and dates match "
    "their references; first names 0.74 of SSA's concentration within a year (Census 2020 "
    "table), surnames 0.87 of Census 2010's (compound Hispanic surnames); the public tables "
    "under within-group independence imply ~0.8 million (~1.0 million at a 2012 electorate's "
    "ages). The rest has no public source here: the voter file's 14% first-of-month dates "
    "(APSR p. 459; deleted before estimating?), cases = records or pairs? (see README)",
)
def test_first_last_dob_pairs_near_published(million: pd.DataFrame) -> None:
    # pairs x (129M / adults)^2: pair counts grow with the square of the population when key
    # frequencies do not depend on its size
    got = adult_key_pairs(million)["extrapolated_pairs"]
    assert PUBLISHED_FIRST_LAST_DOB_PAIRS / 1.5 <= got <= PUBLISHED_FIRST_LAST_DOB_PAIRS * 1.5


def test_pair_count_decomposition(million: pd.DataFrame) -> None:
    # the factors of the first + last + DOB pair rate beside their public references
    d = decompose([million])
    f = {name.strip(): (gen, ref) for name, gen, ref, _ in d["rows"]}
    gen, ref = f["P(same birth year)"]
    assert gen == pytest.approx(ref, rel=0.03)  # the 2020 age pyramid
    gen, ref = f["P(same date | same year) x 365"]
    assert gen == pytest.approx(ref, rel=0.03)  # the daily birth pattern (+ a few placeholders)
    # first names follow the Census 2020 table (every resident, immigrants included): less
    # concentrated within a birth year than SSA's births; compound Hispanic surnames collide less
    gen, ref = f["P(same first name | same year)"]
    assert 0.6 < gen / ref < 0.9
    gen, ref = f["P(same full surname | same year)"]
    assert 0.75 < gen / ref < 1.0
    assert 1.0 < f["first-last association within a year"][0] < 1.2  # groups only
    assert d["extrapolated"] == pytest.approx(
        adult_key_pairs(million)["extrapolated_pairs"], rel=1e-4
    )
    assert 1.1 < d["age_factor_2012"] < 1.5  # an older electorate: older, commoner names
