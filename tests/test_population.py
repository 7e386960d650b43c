"""Tests of the synthetic population: name frequencies, cohorts, households, geography, config."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest

from synthetic import names as N
from synthetic import population as P
from synthetic.errors import ConfigError
from synthetic.geography import NUMBERLESS_SHARE, STATE_ZIP_RANGE, build_addresses
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
    for col in ("first_name", "street", "city"):
        assert people[col].str.fullmatch(r"[A-Z0-9 #]+").all(), col
    assert people["last_name"].str.fullmatch(r"[A-Z' -]+").all()  # hyphenated married names


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
    # listed surnames are never flagged rare; the others are hyphenated married names
    other = people.loc[~people["surname_rare"], "last_name"]
    other = other[~other.isin(set(N.surnames()["name"]))]
    assert other.str.contains("-").all() and len(other) > 0


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
    by_rel = {
        r: people.loc[people["relationship"] == r].set_index("household_id")["last_name"]
        for r in ("householder", "partner")
    }
    hh_name = people["household_id"].map(by_rel["householder"])
    partner_name = people["household_id"].map(by_rel["partner"])
    child = people["relationship"] == "child"
    parents = (people["last_name"] == hh_name) | (people["last_name"] == partner_name)
    assert 0.9 < parents[child].mean() < 0.97  # 90% take a parent's, plus chance equal names
    # couples: a partner takes the surname with P = partner_takes_surname (by group), and of
    # those 6% hyphenate instead
    cfg = PopulationConfig(size=1)
    partners = people[people["relationship"] == "partner"]
    takes = (
        partners["group"].map(cfg.partner_takes_surname_by_group).fillna(cfg.partner_takes_surname)
    )
    expected = (takes * (1 - cfg.partner_hyphenates)).mean()
    same = (partners["last_name"] == partners["household_id"].map(by_rel["householder"])).mean()
    assert abs(same - expected) < 0.02, (same, expected)


def test_buildings_and_units(pop):
    a = pop.addresses
    assert (a["address_id"].to_numpy() == np.arange(len(a))).all()
    numberless = a["house_number"] == ""
    # numberless dwellings (NUMBERLESS_SHARE of all) are single-unit houses, and two on one
    # street share their whole address
    assert abs(numberless.mean() - NUMBERLESS_SHARE) < 0.006
    assert (a.loc[numberless, "unit"] == "").all()
    assert a[numberless].duplicated(["zip", "street"]).any()
    a = a[~numberless]
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


def test_numberless_share_is_configurable_and_draws_on_its_own_stream():
    base = build_addresses(4_000, people_per_zip=1_000, seed=3)
    none = build_addresses(4_000, people_per_zip=1_000, seed=3, numberless_share=0.0)
    half = build_addresses(4_000, people_per_zip=1_000, seed=3, numberless_share=0.5)
    assert (none["house_number"] != "").all()
    assert 0.45 < (half["house_number"] == "").mean() < 0.55
    # only the house numbers of the dwellings drawn change
    kept = base["house_number"] != ""
    pd.testing.assert_frame_equal(base[kept], none[kept])
    pd.testing.assert_frame_equal(
        base.drop(columns="house_number"), half.drop(columns="house_number")
    )
    with pytest.raises(ConfigError, match="numberless_share"):
        PopulationConfig(size=10, numberless_share=1.5)


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
    P.release_first_name_table()  # a: with a new table; b: with a's (shared by the process)
    a, b = generate_population(cfg, 5), generate_population(cfg, 5)
    pd.testing.assert_frame_equal(a.people, b.people)
    pd.testing.assert_frame_equal(a.addresses, b.addresses)
    c = generate_population(cfg, 6)
    assert not a.people.equals(c.people)
    assert (a.people["first_name"] != c.people["first_name"]).mean() > 0.5
    assert (a.people["zip"] != c.people["zip"]).mean() > 0.5


class _Sequential:
    """A stand-in for the worker threads: each job runs at once, in submission order, or (with
    ``reverse``) all of them at the first ``result()``, last submitted first."""

    def __init__(self, reverse: bool) -> None:
        self.reverse = reverse
        self.pending: list[tuple[Future, Callable[..., object], tuple, dict]] = []

    def __enter__(self) -> _Sequential:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.run()

    def run(self) -> None:
        while self.pending:
            fut, fn, args, kwargs = self.pending.pop()
            fut.set_result(fn(*args, **kwargs))

    def submit(self, fn, *args, **kwargs):
        fut = _Deferred(self)
        if self.reverse:
            self.pending.append((fut, fn, args, kwargs))
        else:
            fut.set_result(fn(*args, **kwargs))
        return fut


class _Deferred(Future):
    def __init__(self, owner: _Sequential) -> None:
        super().__init__()
        self.owner = owner

    def result(self, timeout=None):
        self.owner.run()
        return super().result(timeout)


@pytest.mark.parametrize("reverse", [False, True])
def test_worker_threads_do_not_change_the_population(monkeypatch, reverse):
    """Jobs run inline or in reverse order give the population the worker threads give."""
    cfg = PopulationConfig(size=5_000, people_per_zip=1_000, identifiers=True)
    threaded = generate_population(cfg, 8)
    monkeypatch.setattr(P, "ThreadPoolExecutor", lambda *_a, **_k: _Sequential(reverse))
    alone = generate_population(cfg, 8)
    pd.testing.assert_frame_equal(threaded.people, alone.people, check_exact=True)
    pd.testing.assert_frame_equal(threaded.addresses, alone.addresses, check_exact=True)


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
    assert coh["name"].isin(set(f["name"])).all() and coh["year"].between(1910, 2022).all()


# ----------------------------------------------------------------------------- life events
CFG = PopulationConfig(size=SIZE, people_per_zip=5_000)


def _by_id(people: pd.DataFrame, ids: pd.Series) -> pd.DataFrame:
    return people.iloc[ids.to_numpy()].reset_index(drop=True)


def test_rare_first_names(people):
    rare = people["first_name_rare"]
    exp = (people["group"].map(dict(zip(N.GROUPS, N.rare_first_name_prob(), strict=True)))).mean()
    assert _within(rare.mean(), exp, len(people)), (rare.mean(), exp)  # ~6% (Census 2020 tail)
    names = people.loc[rare, "first_name"]
    assert not names.isin(set(N.first_names()["name"])).any()
    assert names.nunique() / len(names) > 0.98
    by_group = rare.groupby(people["group"]).mean()
    assert by_group["black"] > 2 * by_group["white"]  # the tail is heavier for Black Americans


def test_compound_surnames(people, householders):
    own = householders["previous_surname"].isna()  # not a married or reverted surname
    hisp = householders[(householders["group"] == "hispanic") & own]
    share = hisp["second_surname"].notna().mean()
    assert _within(share, CFG.compound_surname_by_group["hispanic"], len(hisp)), share
    assert householders.loc[householders["group"] != "hispanic", "second_surname"].isna().all()
    # a child of a compound-surname couple: father's first surname, mother's first birth surname
    kids = people[(people["relationship"] == "child") & people["second_surname"].notna()]
    assert len(kids) > 100
    couples = people[people["relationship"].isin(["householder", "partner"])]
    birth = couples["previous_surname"].fillna(couples["last_name"]).str.split("-").str[0]
    # a single parent passes on both parts of their own compound surname
    names = pd.concat([birth, couples["second_surname"].dropna()])
    parents_birth = names.groupby(couples["household_id"].reindex(names.index)).agg(set)
    parents_now = couples["last_name"].groupby(couples["household_id"]).agg(set)
    in_parents = [
        s in parents_birth.get(h, set())
        for s, h, last in zip(
            kids["second_surname"], kids["household_id"], kids["last_name"], strict=True
        )
        if last in parents_now.get(h, set())  # children with a surname of their own: skip
    ]
    assert len(in_parents) > 100 and np.mean(in_parents) > 0.99


def test_juniors_share_name_and_address(people):
    jr = people[people["suffix"] == "JR"]
    assert len(jr) > 50
    sr = _by_id(people, jr["namesake_id"])
    jr = jr.reset_index(drop=True)
    assert (sr["suffix"] == "SR").all()
    assert (_by_id(people, sr["person_id"].rename(None))["namesake_id"] == jr["person_id"]).all()
    for col in ("first_name", "last_name", "address_id", "household_id"):
        assert (jr[col] == sr[col]).all(), col
    assert (jr["middle_name"].fillna("") == sr["middle_name"].fillna("")).all()
    assert (jr["sex"] == "M").all() and (sr["sex"] == "M").all() and (sr["age"] > jr["age"]).all()
    assert set(people["suffix"].dropna()) == {"JR", "SR"}


def test_twins(people):
    tw = people[people["twin_id"] >= 0]
    other = _by_id(people, tw["twin_id"])
    tw = tw.reset_index(drop=True)
    for col in ("dob", "last_name", "household_id", "address_id"):
        assert (tw[col] == other[col]).all(), col
    assert (tw["first_name"] != other["first_name"]).all()
    kids = people[people["relationship"] == "child"]
    assert not kids.duplicated(["household_id", "first_name"]).any()  # siblings differ
    assert (other["twin_id"] == tw["person_id"]).all()
    children = people["relationship"] == "child"
    share = (people.loc[children, "twin_id"] >= 0).mean()
    assert abs(share - CFG.twin_share) < 0.006, share  # pairs only, so a little under


def test_marriage_and_divorce_surnames(people):
    partners = people[people["relationship"].isin(["householder", "partner"])]
    changed = partners[partners["previous_surname"].notna() & partners["spouse_surname"].notna()]
    assert (changed["last_name"] != changed["previous_surname"]).all()
    hyph = changed[changed["last_name"].str.contains("-")]
    assert len(hyph) > 50
    assert (hyph["last_name"] == hyph["previous_surname"] + "-" + hyph["spouse_surname"]).all()
    took = changed[~changed["last_name"].str.contains("-")]
    assert (took["last_name"] == took["spouse_surname"]).all()
    assert (changed["sex"] == "F").mean() > 0.9  # wives change (partners of same-sex couples too)
    rate = (
        partners.loc[partners["spouse_surname"].notna()]
        .assign(changed=lambda d: d["previous_surname"].notna())
        .groupby("group")["changed"]
        .mean()
    )
    assert rate["hispanic"] < rate["white"]  # rates differ by group
    # divorce: a single mother with her birth surname; her children keep the married one
    single = people[(people["relationship"] == "householder") & people["spouse_surname"].isna()]
    reverted = single[single["previous_surname"].notna()]
    assert len(reverted) > 30 and (reverted["sex"] == "F").all()
    kids = people[people["relationship"] == "child"].groupby("household_id")["last_name"].agg(set)
    married = reverted["household_id"].map(kids)
    assert (reverted["previous_surname"].to_numpy() != reverted["last_name"].to_numpy()).all()
    has = [p in k for p, k in zip(reverted["previous_surname"], married, strict=True)]
    assert np.mean(has) > 0.85


def test_movers_and_po_boxes(pop, people):
    hh = people.drop_duplicates("household_id")
    moved = hh["previous_address_id"] >= 0
    assert _within(moved.mean(), CFG.mover_share, len(hh))
    prev = pop.addresses.set_index("address_id").loc[hh.loc[moved, "previous_address_id"]]
    assert (hh.loc[moved, "previous_address_id"] != hh.loc[moved, "address_id"]).all()
    same_zip = (prev["zip"].to_numpy() == hh.loc[moved, "zip"].to_numpy()).mean()
    by_chance = (pop.addresses["zip"].value_counts() ** 2).sum() / len(pop.addresses) ** 2
    expected = CFG.move_same_zip + (1 - CFG.move_same_zip) * by_chance
    assert _within(same_zip, expected, int(moved.sum())), (same_zip, expected)
    # the whole household moved: members share the previous address
    assert (people.groupby("household_id")["previous_address_id"].nunique() == 1).all()
    box = hh["po_box"].notna()
    assert _within(box.mean(), CFG.po_box_share, len(hh))
    assert hh.loc[box, "po_box"].str.fullmatch(r"PO BOX \d{1,4}").all()


def test_every_parameter_has_a_source():
    from synthetic.population import SOURCES

    fields = [f.name for f in dataclasses.fields(PopulationConfig)]
    assert sorted(SOURCES) == sorted(fields)
    assert all(SOURCES[f].strip() for f in fields)
