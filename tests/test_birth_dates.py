"""Birth dates as people have them (synthetic.births), names by birth year, and the published
first + last name + date-of-birth pair count (issue 14)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

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
    reason="issue 14: with names by birth year, the daily birth pattern and the cited placeholder "
    "shares, the extrapolated count is ~0.5-0.6 million, not within 1.5x of 3 million",
)
def test_first_last_dob_pairs_near_published(million: pd.DataFrame) -> None:
    # pairs x (129M / adults)^2: pair counts grow with the square of the population when key
    # frequencies do not depend on its size
    got = adult_key_pairs(million)["extrapolated_pairs"]
    assert PUBLISHED_FIRST_LAST_DOB_PAIRS / 1.5 <= got <= PUBLISHED_FIRST_LAST_DOB_PAIRS * 1.5
