"""Residence status, taxpayer identification numbers and the identifier noise."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import synthetic.population as P
from bench.linkage.config import parse_benchmark
from synthetic import identifiers as ID
from synthetic.config import read_toml
from synthetic.errors import ConfigError
from synthetic.names import GROUPS
from synthetic.population import PopulationConfig, generate_population
from synthetic.scenario import RECORD_FIELDS, build_task, effective_parameters

DATA = Path(__file__).parent / "data" / "identifiers.toml"
ITIN_RANGES = {*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)}


def _parts(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = pd.Series(numbers, dtype=object)
    assert s.str.fullmatch(r"\d{9}").all()
    return (s.str[:3].astype(int).to_numpy(), s.str[3:5].astype(int).to_numpy(),
            s.str[5:].astype(int).to_numpy())  # fmt: skip


# --------------------------------------------------------------------------- number structure
@pytest.mark.parametrize("seed", range(5))
def test_ssn_structure_over_many_draws(seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = np.concatenate([[0, ID.SSN_SPACE - 1], rng.integers(0, ID.SSN_SPACE, 200_000)])
    area, group, serial = _parts(ID.ssn_strings(index))
    assert (area >= 1).all() and (area <= 899).all() and (area != 666).all()
    assert (group >= 1).all() and (serial >= 1).all()
    # a bijection: distinct positions give distinct numbers
    assert len(np.unique(index)) == len(np.unique(ID.ssn_strings(index)))


@pytest.mark.parametrize("seed", range(5))
def test_itin_structure_over_many_draws(seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = np.concatenate([[0, ID.ITIN_SPACE - 1], rng.integers(0, ID.ITIN_SPACE, 200_000)])
    numbers = ID.itin_strings(index)
    area, group, serial = _parts(numbers)
    assert (area // 100 == 9).all()
    assert set(np.unique(group)) <= ITIN_RANGES
    assert set(np.unique(group)) == ITIN_RANGES  # every range is used
    assert (serial >= 1).all()
    assert len(np.unique(index)) == len(np.unique(numbers))


def test_edges_of_the_number_spaces() -> None:
    assert ID.ssn_strings(np.array([0, ID.SSN_SPACE - 1])).tolist() == ["001010001", "899999999"]
    assert ID.itin_strings(np.array([0, ID.ITIN_SPACE - 1])).tolist() == ["900500001", "999999999"]


def test_positions_are_unique_across_blocks() -> None:
    n_blocks = 7
    drawn = [
        ID.unique_positions(5000, ID.ITIN_SPACE, b, n_blocks, np.random.default_rng(b), "ITIN")
        for b in range(n_blocks)
    ]
    allpos = np.concatenate(drawn)
    assert len(np.unique(allpos)) == len(allpos)
    assert allpos.min() >= 0 and allpos.max() < ID.ITIN_SPACE
    with pytest.raises(ConfigError, match=r"population.identifiers: .*ITIN number space"):
        ID.unique_positions(
            ID.ITIN_SPACE // 2, ID.ITIN_SPACE, 0, 3, np.random.default_rng(0), "ITIN"
        )


# --------------------------------------------------------------------------- the population
@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return generate_population(PopulationConfig(size=150_000, identifiers=True), 5).people


def test_statuses_and_types_are_consistent(people: pd.DataFrame) -> None:
    status, kind, tin = people["status"], people["tin_type"], people["tin"]
    assert set(status) == set(ID.STATUSES) and set(kind) == set(ID.TIN_TYPES)
    assert (kind[status != "unauthorized"] == "ssn").all()
    assert (kind[status == "unauthorized"] != "ssn").all()
    assert tin.notna().equals(kind != "none")
    area, _, _ = _parts(tin[kind == "ssn"].to_numpy())
    assert (area < 900).all()
    assert (_parts(tin[kind == "itin"].to_numpy())[0] >= 900).all()
    assert not tin.dropna().duplicated().any()
    former = people["former_itin"].dropna()
    assert (people.loc[former.index, "status"] == "lawful").all()
    assert set(_parts(former.to_numpy())[1]) <= ITIN_RANGES
    assert not pd.concat([tin.dropna(), former]).duplicated().any()  # never reissued


def test_status_and_tin_shares_match_the_sources(people: pd.DataFrame) -> None:
    share = people["status"].value_counts(normalize=True)
    assert share["unauthorized"] == pytest.approx(ID.UNAUTHORIZED_SHARE, rel=0.12)
    assert share["lawful"] == pytest.approx(ID.LAWFUL_SHARE, rel=0.12)
    unauth = people[people["status"] == "unauthorized"]
    assert (unauth["tin_type"] == "itin").mean() == pytest.approx(0.35, abs=0.03)
    lawful = people[people["status"] == "lawful"]
    assert lawful["former_itin"].notna().mean() == pytest.approx(0.1, abs=0.02)
    # non-citizens are concentrated in the groups of the origin mix
    by_group = people.groupby("group")["status"].apply(lambda s: (s != "citizen").mean())
    assert by_group["hispanic"] > 5 * by_group["white"]


def test_independent_draws_follow_the_group_probabilities() -> None:
    cfg = PopulationConfig(
        size=150_000, identifiers=True, household_shares_status=0.0, child_citizen=0.0
    )
    p = generate_population(cfg, 9).people
    probs = ID.status_probabilities(
        cfg.unauthorized_share, cfg.lawful_share, cfg.unauthorized_by_group, cfg.lawful_by_group
    )
    # members of other groups than the householder's copy nobody (shared = 0): the shares of
    # the hispanic group are its probabilities
    h = p[p["group"] == "hispanic"]["status"].value_counts(normalize=True)
    gi = GROUPS.index("hispanic")
    assert h["unauthorized"] == pytest.approx(probs[gi, ID.UNAUTHORIZED], abs=0.01)
    assert h["lawful"] == pytest.approx(probs[gi, ID.LAWFUL], abs=0.01)


def test_donors_are_real_other_people_with_an_ssn(people: pd.DataFrame) -> None:
    borrowers = people[people["ssn_donor_id"] >= 0]
    assert (borrowers["tin_type"] != "ssn").all()
    assert len(borrowers) == (people["tin_type"] != "ssn").sum()
    donors = people.set_index("person_id").loc[borrowers["ssn_donor_id"]]
    assert (donors.index.to_numpy() != borrowers["person_id"].to_numpy()).all()
    assert (donors["tin_type"] == "ssn").all()
    assert (donors["tin"].to_numpy() == borrowers["donor_ssn"].to_numpy()).all()
    # relatives: a household member with the borrower's surname whenever the household has one
    same_hh = donors["household_id"].to_numpy() == borrowers["household_id"].to_numpy()
    same_name = donors["last_name"].to_numpy() == borrowers["last_name"].to_numpy()
    hh_ssn = people[people["tin_type"] == "ssn"].groupby("household_id").size()
    can = borrowers["household_id"].map(hh_ssn).fillna(0).to_numpy() > 0
    assert same_hh[can].mean() == pytest.approx(0.5, abs=0.06)  # donor_relative_share
    assert same_hh[~can].sum() == 0
    hh_name = people[people["tin_type"] == "ssn"][["household_id", "last_name"]]
    keys = set(zip(hh_name["household_id"], hh_name["last_name"], strict=True))
    has_name = np.array(
        [k in keys for k in zip(borrowers["household_id"], borrowers["last_name"], strict=True)]
    )
    assert same_name[same_hh & has_name].all()


def test_household_member_tin_is_another_members(people: pd.DataFrame) -> None:
    got = people[people["household_member_tin"].notna()]
    owner = people[people["tin"].notna()].set_index("tin")
    holders = owner.loc[got["household_member_tin"]]
    assert (holders["household_id"].to_numpy() == got["household_id"].to_numpy()).all()
    assert (holders["person_id"].to_numpy() != got["person_id"].to_numpy()).all()


def test_deterministic_for_a_seed() -> None:
    cfg = PopulationConfig(size=20_000, identifiers=True)
    a = generate_population(cfg, 3).people
    pd.testing.assert_frame_equal(a, generate_population(cfg, 3).people)
    b = generate_population(cfg, 4).people
    assert not a["tin"].equals(b["tin"])


def test_without_identifiers_every_identifier_column_is_missing() -> None:
    p = generate_population(PopulationConfig(size=5000), 1).people
    for c in ID.COLUMNS:
        assert (p[c] == -1).all() if c == "ssn_donor_id" else p[c].isna().all()


def test_identifiers_leave_the_other_columns_unchanged() -> None:
    off = generate_population(PopulationConfig(size=20_000), 2).people
    on = generate_population(PopulationConfig(size=20_000, identifiers=True), 2).people
    # every non-citizen is born abroad, so some carry a placeholder birth date (and the age it
    # gives); nothing else changes
    rest = [c for c in off.columns if c not in (*ID.COLUMNS, "dob", "age")]
    pd.testing.assert_frame_equal(off[rest], on[rest])
    changed = off["dob"] != on["dob"]
    assert changed.any() and (on.loc[changed, "status"] != "citizen").all()
    assert on.loc[changed, "dob"].str.endswith("-01").all()  # Jan 1, 1st of month, July 1


def test_numbers_are_unique_across_generation_blocks(monkeypatch) -> None:
    monkeypatch.setattr(P, "BLOCK_SIZE", 15_000)
    p = generate_population(PopulationConfig(size=50_000, identifiers=True), 6).people
    assert P.block_sizes(50_000).size == 4
    numbers = pd.concat([p["tin"].dropna(), p["former_itin"].dropna()])
    assert not numbers.duplicated().any()
    assert (p["ssn_donor_id"] >= 0).sum() > 0


# --------------------------------------------------------------------------- the scenario
def _data() -> dict:
    return read_toml(DATA)


@pytest.fixture(scope="module")
def task():
    return build_task(parse_benchmark(_data()).scenario, 7)


def test_query_list_by_status_and_tin_share(task) -> None:
    status = task.query_people["status"].value_counts().to_dict()
    assert status == {"unauthorized": 1800, "lawful": 140, "citizen": 60}
    assert task.query["tin"].notna().sum() == 600  # tin_share = 0.3 of 2000
    assert list(task.query.columns) == ["record_id", *RECORD_FIELDS]
    assert task.query_people["in_register"].any()


def test_register_is_a_tax_register(task) -> None:
    people, reg = task.register_people, task.register
    assert (people["tin_type"] != "none").all()
    noised = task.noise_log.query("side == 'register' and field == 'tin'")["row"]
    clean = np.setdiff1d(np.arange(len(reg)), noised)
    assert (reg["tin"].to_numpy()[clean] == people["tin"].to_numpy()[clean]).all()


def _noised(task, name: str) -> np.ndarray:
    log = task.noise_log
    return log[(log["side"] == "query") & (log["field"] == "tin") & (log["noise"] == name)][
        "row"
    ].to_numpy()


def test_borrowed_ssn_points_at_the_donor(task) -> None:
    rows = _noised(task, "borrowed_ssn")
    assert len(rows) > 20
    qp, q = task.query_people.iloc[rows], task.query.iloc[rows]
    assert (qp["tin_type"] != "ssn").all()
    assert (qp["ssn_donor_id"].to_numpy() >= 0).all()
    population = generate_population(parse_benchmark(_data()).scenario.population, 7).people
    donor = population.iloc[qp["ssn_donor_id"].to_numpy()]  # person_id = row of a population
    assert (donor["tin_type"] == "ssn").all()
    assert (q["tin"].to_numpy() == donor["tin"].to_numpy()).all()
    # the register record under that SSN (when there is one) is the donor's
    reg = task.register.assign(pid=task.register_people["person_id"].to_numpy())
    by_tin = reg.drop_duplicates("tin").set_index("tin")["pid"]
    found = q["tin"].isin(by_tin.index).to_numpy()
    assert found.any()
    owner = by_tin.loc[q["tin"].to_numpy()[found]].to_numpy()
    assert (owner == qp["ssn_donor_id"].to_numpy()[found]).mean() > 0.95  # bar register typos
    # no-TIN people appear on the list only under a borrowed SSN
    none = (task.query_people["tin_type"] == "none").to_numpy() & task.query["tin"].notna()
    assert set(np.flatnonzero(none)) <= set(rows)


def test_stale_itin_is_the_former_itin(task) -> None:
    rows = _noised(task, "stale_itin")
    assert len(rows) > 0
    qp, q = task.query_people.iloc[rows], task.query.iloc[rows]
    later = set(_noised(task, "tin_typo")) | set(_noised(task, "borrowed_ssn"))
    keep = ~np.isin(rows, list(later))
    assert (q["tin"].to_numpy()[keep] == qp["former_itin"].to_numpy()[keep]).all()
    assert (qp["tin_type"] == "ssn").all()


def _one_digit_or_swap(a: str, b: str) -> bool:
    diff = [i for i in range(9) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    i, j = [*diff, None, None][:2]
    return len(diff) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]


def test_tin_typo_is_one_digit_or_an_adjacent_swap() -> None:
    from synthetic.noise import tin_typo

    rng = np.random.default_rng(0)
    values = pd.Series(ID.ssn_strings(rng.integers(0, ID.SSN_SPACE, 5000)), dtype=object)
    for params, kinds in (
        ({"substitute": 1.0, "transpose": 0.0}, {1}),
        ({"substitute": 0.0, "transpose": 1.0}, {2}),
        ({"substitute": 0.5, "transpose": 0.5}, {1, 2}),
    ):
        out = tin_typo(values, np.random.default_rng(1), params, None)
        changed = [
            sum(x != y for x, y in zip(a, b, strict=True)) for a, b in zip(values, out, strict=True)
        ]
        assert set(changed) == kinds
        assert all(_one_digit_or_swap(a, b) for a, b in zip(values, out, strict=True))
        assert out.str.fullmatch(r"\d{9}").all()


def test_scenario_is_deterministic(task) -> None:
    again = build_task(parse_benchmark(_data()).scenario, 7)
    for f in ("query", "register", "truth", "query_people", "noise_log"):
        pd.testing.assert_frame_equal(getattr(task, f), getattr(again, f))


def test_effective_parameters_list_identifier_keys_only_when_used(task) -> None:
    cfg = parse_benchmark(_data()).scenario
    params = effective_parameters(cfg)
    assert params["population"]["itin_share"] == 0.35
    assert params["query"]["tin_share"] == 0.3 and "share_in_register" not in params["query"]
    data = _data()
    data["population"].pop("identifiers")
    data["query"] = {"size": 100, "share_in_register": 0.5}
    plain = effective_parameters(parse_benchmark(data).scenario)
    assert "itin_share" not in plain["population"] and "tin_share" not in plain["query"]


# --------------------------------------------------------------------------- configuration
def _error(change, match: str) -> None:
    data = copy.deepcopy(_data())
    change(data)
    with pytest.raises(ConfigError, match=match) as info:
        parse_benchmark(data)
    assert "\n" not in str(info.value)


def test_bad_identifier_keys_are_one_line_errors() -> None:
    q = "query"
    _error(lambda d: d[q].update(share_in_register=0.4), r"^query.share_in_register: cannot be")
    _error(lambda d: d["population"].pop("identifiers"), r"^query.status_mix: needs population")
    _error(lambda d: d[q]["status_mix"].update(citizen=0.5), r"^query.status_mix: shares must sum")
    _error(lambda d: d[q]["status_mix"].update(alien=0.0), r"^query.status_mix.alien: unknown key")
    _error(lambda d: d[q].update(tin_share=1.5), r"^query.tin_share: must be a number in \[0, 1\]")
    _error(lambda d: d[q].update(tin_share=True), r"^query.tin_share: must be a number")

    def no_ids(d: dict) -> None:
        d["population"].pop("identifiers")
        d[q].pop("status_mix")
        d[q]["share_in_register"] = 0.5

    _error(no_ids, r"^query.tin_share: needs population.identifiers")
    _error(lambda d: d[q].pop("status_mix"), r"^query.share_in_register: missing value")
    _error(
        lambda d: d["population"].update(unauthorized_by_group={"martian": 1.0}),
        r"^population.unauthorized_by_group.martian: unknown group",
    )
    _error(
        lambda d: d["population"].update(lawful_by_group={"api": 0.5}),
        r"^population.lawful_by_group: shares must sum to 1",
    )
    _error(
        lambda d: d["population"].update(unauthorized_share=0.9),
        r"^population.unauthorized_share: .* non-citizens",
    )
    _error(lambda d: d["population"].update(itin_share=2), r"^population.itin_share: must be")
    _error(lambda d: d["population"].update(identifiers=1), r"^population.identifiers: must be")
    _error(
        lambda d: d[q]["noise"].update(tin_typo={"rate": 0.1, "substitute": 0, "transpose": 0}),
        r"^query.noise.tin_typo: the weights",
    )


def test_describe_shows_identifiers_beside_their_sources() -> None:
    from synthetic.summary import summarize_population, summary_markdown

    cfg = PopulationConfig(size=20_000, identifiers=True)
    summary = summarize_population(generate_population(cfg, 1), cfg)
    facts = summary["identifiers"]
    assert facts["unauthorized"]["reference"] == cfg.unauthorized_share
    assert "Pew" in facts["unauthorized"]["source"]
    assert facts["itin_of_unauthorized"]["share"] == pytest.approx(0.35, abs=0.05)
    assert "### Residence status and identifiers" in summary_markdown(summary)
    plain = PopulationConfig(size=5000)
    assert "identifiers" not in summarize_population(generate_population(plain, 1), plain)
