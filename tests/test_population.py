"""Tests of the synthetic population: name frequencies, cohorts, households, geography, config."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthetic import names as N
from synthetic.errors import ConfigError
from synthetic.geography import STATE_ZIP_RANGE, build_addresses
from synthetic.population import PEOPLE_COLUMNS, PopulationConfig, generate_population

SIZE = 200_000


@pytest.fixture(scope="module")
def pop():
    """One 200k population shared by the statistical tests (generation takes < 1 s)."""
    return generate_population(PopulationConfig(size=SIZE, people_per_zip=5_000), seed=11)


@pytest.fixture(scope="module")
def people(pop) -> pd.DataFrame:
    return pop.people


@pytest.fixture(scope="module")
def householders(people) -> pd.DataFrame:
    # Householders' surnames and groups are independent draws (members copy them), so binomial
    # tolerances apply to them exactly; over all people, household clustering inflates variance.
    return people[people["relationship"] == "householder"]


def _within(obs: float, exp: float, n: int, k: float = 4.0) -> bool:
    return abs(obs - exp) < k * np.sqrt(exp * (1 - exp) / n)


def test_columns_and_types(people):
    assert tuple(people.columns) == PEOPLE_COLUMNS
    assert len(people) == SIZE
    assert (people["person_id"].to_numpy() == np.arange(SIZE)).all()
    assert people["age"].dtype == np.int16 and people["surname_rare"].dtype == bool
    assert set(people["sex"]) == {"F", "M"}
    assert set(people["relationship"]) == {"householder", "partner", "child", "other"}
    assert set(people["group"]) <= set(N.GROUPS)
    for col in ("first_name", "last_name", "street", "city"):
        assert people[col].str.fullmatch(r"[A-Z0-9 #]+").all(), col


def test_surname_frequencies_match_tables(householders):
    table = N.surnames()
    total = N.surname_tail().total_count
    n = len(householders)
    counts = householders["last_name"].value_counts()
    for name, cnt in table.head(20)[["name", "count"]].itertuples(index=False):
        exp = cnt / total  # P(name) = sum_g share_g * P(name | g) = count / total
        obs = counts.get(name, 0) / n
        assert _within(obs, exp, n), (name, obs, exp)


def test_rare_surnames(householders, people):
    n = len(householders)
    rare = householders["surname_rare"]
    assert _within(rare.mean(), N.surname_tail().share, n), rare.mean()  # 9.9% of people
    rare_names = householders.loc[rare, "last_name"]
    assert not rare_names.isin(set(N.surnames()["name"])).any()
    assert rare_names.nunique() / len(rare_names) > 0.98  # (almost) one family per rare name
    assert rare_names.str.len().between(4, 12).all()
    # listed surnames are never flagged rare
    assert people.loc[~people["surname_rare"], "last_name"].isin(set(N.surnames()["name"])).all()


def test_group_shares_match_surname_table(householders, people):
    shares = N.group_shares()
    n = len(householders)
    obs_hh = householders["group"].value_counts(normalize=True)
    obs_all = people["group"].value_counts(normalize=True)
    for g, exp in zip(N.GROUPS, shares, strict=True):
        assert _within(obs_hh.get(g, 0.0), exp, n), g
        # all people: members inherit groups, so allow a design effect of ~2.5 (k = 4 * 1.6)
        assert _within(obs_all.get(g, 0.0), exp, len(people), k=6.5), g


def test_first_name_cohorts(people):
    women = people[people["sex"] == "F"]
    year = women["dob"].str[:4].astype(int)
    older = women.loc[year.between(1940, 1959), "first_name"]
    young = women.loc[year >= 2000, "first_name"]
    assert len(older) > 5_000 and len(young) > 5_000
    linda_old, linda_young = (older == "LINDA").mean(), (young == "LINDA").mean()
    assert linda_old > 0.01 and linda_old > 20 * max(linda_young, 1e-5)
    # and the reverse for a modern name
    assert (young == "MADISON").mean() > 20 * max((older == "MADISON").mean(), 1e-5)
    # men get male names: MICHAEL/JAMES are essentially never women's names in the tables
    assert not women["first_name"].isin(["MICHAEL", "JAMES"]).mean() > 0.001


def test_middle_names(people):
    none_share = people["middle_name"].isna().mean()
    assert 0.20 <= none_share <= 0.25
    has = people["middle_name"].notna()
    same = (people.loc[has, "middle_name"] == people.loc[has, "first_name"]).mean()
    assert same < 0.001


def test_households_share_address(people):
    cols = ["address_id", "house_number", "street", "unit", "city", "state", "zip"]
    per_hh = people.groupby("household_id")[cols].nunique()
    assert (per_hh == 1).all().all()
    # each household has one householder and its own address
    rel = people.groupby("household_id")["relationship"].agg(lambda s: (s == "householder").sum())
    assert (rel == 1).all()
    hh_addr = people.drop_duplicates("household_id")["address_id"]
    assert hh_addr.is_unique


def test_relationship_and_ages(people):
    ages = people["age"]
    rel = people["relationship"]
    assert (ages[rel == "householder"] >= 18).all() and (ages[rel == "partner"] >= 18).all()
    assert ages.between(0, 104).all()
    hh_age = people["household_id"].map(
        people.loc[rel == "householder"].set_index("household_id")["age"]
    )
    assert (ages[rel == "child"] <= hh_age[rel == "child"] - 18).all()
    assert 0.15 < (ages < 18).mean() < 0.28 and 0.10 < (ages >= 65).mean() < 0.25
    # dob is consistent with age at the reference date (2025-07-01)
    dob = pd.to_datetime(people["dob"])
    ref = pd.Timestamp("2025-07-01")
    had_birthday = (dob.dt.month < ref.month) | ((dob.dt.month == ref.month) & (dob.dt.day <= 1))
    assert ((ref.year - dob.dt.year - (~had_birthday).astype(int)) == ages).all()
    # household sizes: ~28% single-person households
    sizes = people.groupby("household_id").size()
    assert 0.25 < (sizes == 1).mean() < 0.31


def test_surname_sharing_in_households(people):
    hh_name = people["household_id"].map(
        people.loc[people["relationship"] == "householder"].set_index("household_id")["last_name"]
    )
    same = people["last_name"] == hh_name
    child = people["relationship"] == "child"
    partner = people["relationship"] == "partner"
    assert 0.88 < same[child].mean() < 0.97  # 90% inherit, plus some via the partner's name
    assert 0.55 < same[partner].mean() < 0.68


def test_buildings_and_units(pop):
    a = pop.addresses
    assert (a["address_id"].to_numpy() == np.arange(len(a))).all()
    key = ["zip", "street", "house_number"]
    size = a.groupby(key)["unit"].transform("size")
    multi = size > 1
    assert 0.2 < multi.mean() < 0.32  # ~26% of dwellings are in 2+ unit buildings (ACS)
    assert size.max() <= 50
    assert (a.loc[~multi, "unit"] == "").all()
    assert (a.loc[multi, "unit"] != "").all()
    assert a[multi].groupby(key)["unit"].agg(lambda s: s.is_unique).all()
    assert a["unit"].notna().all()
    assert a["house_number"].astype(int).between(1, 9999).all()
    # every dwelling is unique
    assert not a.duplicated(["zip", "street", "house_number", "unit"]).any()


def test_zip_codes_in_state_ranges(pop, people):
    a = pop.addresses
    assert a["zip"].str.fullmatch(r"\d{5}").all()
    z = a["zip"].astype(int)
    lo = a["state"].map({s: r[0] for s, r in STATE_ZIP_RANGE.items()})
    hi = a["state"].map({s: r[1] for s, r in STATE_ZIP_RANGE.items()})
    assert z.between(lo, hi).all()
    assert a.groupby("zip")["state"].nunique().max() == 1
    # people per ZIP ~ people_per_zip (5,000 here): 40 ZIPs
    per_zip = people.groupby("zip").size()
    assert 35 <= len(per_zip) <= 45
    assert abs(per_zip.mean() - 5_000) < 500
    # big states get more ZIPs than small ones
    st = a.drop_duplicates("zip")["state"].value_counts()
    assert st.get("CA", 0) >= 2 and st.get("WY", 0) <= 2


def test_build_addresses_standalone():
    a = build_addresses(4_000, people_per_zip=1_000, seed=3)
    assert len(a) == 4_000 and a["zip"].nunique() == 10
    assert list(a.columns) == [
        "address_id",
        "house_number",
        "street",
        "unit",
        "city",
        "state",
        "zip",
    ]
    assert (a == a.apply(lambda c: c.str.upper() if c.dtype == object else c)).all().all()
    assert a.groupby("zip")["street"].nunique().mean() > 3  # ~150 people per street


def test_determinism():
    cfg = PopulationConfig(size=20_000, people_per_zip=2_000)
    a, b = generate_population(cfg, 5), generate_population(cfg, 5)
    pd.testing.assert_frame_equal(a.people, b.people)
    pd.testing.assert_frame_equal(a.addresses, b.addresses)
    c = generate_population(cfg, 6)
    assert not a.people.equals(c.people)
    assert (a.people["first_name"] != c.people["first_name"]).mean() > 0.5
    assert (a.people["zip"] != c.people["zip"]).mean() > 0.5


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size": 0}, "population.size"),
        ({"size": -5}, "population.size"),
        ({"size": 2.5}, "population.size"),
        ({"size": 10, "people_per_zip": -1}, "population.people_per_zip"),
        ({"size": 10, "people_per_zip": 0}, "population.people_per_zip"),
        ({"size": 10, "reference_date": "2025-13-01"}, "population.reference_date"),
        ({"size": 10, "partner_share": 1.5}, "population.partner_share"),
        ({"size": 10, "household_size_shares": (0.5, 0.5)}, "population.household_size_shares"),
    ],
)
def test_bad_config_raises(kwargs, field):
    with pytest.raises(ConfigError) as err:
        PopulationConfig(**kwargs)
    assert err.value.where == field


def test_name_tables():
    assert N.GROUPS == ("white", "black", "api", "aian", "2prace", "hispanic")
    s = N.surnames()
    assert len(s) == 162_252 and s["name"].iloc[0] == "SMITH"
    assert {"NAN", "TRUE"} <= set(s["name"])  # real surnames, not parsed as NaN / bool
    tail = N.surname_tail()
    assert tail.count == 29_312_001 and abs(tail.share - 0.0994) < 0.001
    assert abs(sum(tail.pct) - 100) < 0.1
    assert abs(N.group_shares().sum() - 1) < 1e-12
    f = N.first_names()
    assert len(f) == 53_615 and N.first_name_tail().count == 18_794_703
    coh = N.first_name_cohorts()
    assert coh["name"].isin(set(f["name"])).all() and coh["decade"].between(1880, 2020).all()
