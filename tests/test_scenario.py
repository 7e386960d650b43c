"""Scenario building: register/query draws and the truth table, on hand-checked cases."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.linkage.config import parse_benchmark
from synthetic.errors import ConfigError
from synthetic.identifiers import absent
from synthetic.population import PEOPLE_COLUMNS, Population
from synthetic.scenario import RECORD_FIELDS, build_task
from tests.conftest import TINY, read_toml_text


def _people() -> pd.DataFrame:
    rows = [
        # person, household, rel, sex, dob, age, group, first, middle, last, address
        (0, 0, "householder", "M", "1970-01-02", 55, "white", "JOHN", "PAUL", "SMITH", 0),
        (1, 0, "partner", "F", "1972-03-04", 53, "white", "MARY", None, "SMITH", 0),
        (2, 0, "child", "M", "2015-05-06", 10, "white", "LUKE", None, "SMITH", 0),
        (3, 1, "householder", "F", "1980-07-08", 44, "hispanic", "ANA", "MARIA", "GARCIA", 1),
        (4, 2, "householder", "M", "1990-09-10", 34, "api", "MINH", None, "NGUYEN", 2),
    ]
    addresses = _addresses()
    df = pd.DataFrame(
        rows,
        columns=[
            "person_id",
            "household_id",
            "relationship",
            "sex",
            "dob",
            "age",
            "group",
            "first_name",
            "middle_name",
            "last_name",
            "address_id",
        ],
    )
    df["age"] = df["age"].astype("int16")
    df["surname_rare"] = df["first_name_rare"] = False
    for col in ("second_surname", "suffix", "previous_surname", "spouse_surname", "po_box"):
        df[col] = None
    df["second_surname"] = df["second_surname"].astype(object)
    df.loc[3, "second_surname"] = "LOPEZ"  # a compound surname, recorded in full
    for col in ("twin_id", "namesake_id", "previous_address_id"):
        df[col] = -1
    df = df.merge(addresses, on="address_id", how="left")
    for col, values in absent(len(df)).items():  # a population without identifiers
        df[col] = values
    return df[list(PEOPLE_COLUMNS)]


def _addresses() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "address_id": [0, 1, 2],
            "house_number": ["12", "40", "40"],
            "street": ["OAK ST", "MAIN AVE", "MAIN AVE"],
            "unit": ["", "APT 1", "APT 2"],
            "city": ["SPRINGFIELD"] * 3,
            "state": ["IL"] * 3,
            "zip": ["62701"] * 3,
        }
    )


def _config(coverage: float, size: int, share: float):
    data = read_toml_text(TINY)
    data["register"] = {"coverage": coverage, "noise": _zero_noise()}
    data["query"] = {"size": size, "share_in_register": share, "noise": _zero_noise()}
    return parse_benchmark(data).scenario


def _zero_noise() -> dict:
    from synthetic.noise import NOISE

    return {name: {"rate": 0.0} for name in NOISE}


def test_truth_on_hand_checked_population() -> None:
    pop = Population(people=_people(), addresses=_addresses())
    # Everyone adult is in the register (the child, age 10, is not); all 4 adults are queried.
    task = build_task(_config(1.0, 4, 1.0), seed=5, population=pop)
    assert sorted(task.register_people["person_id"]) == [0, 1, 3, 4]
    assert sorted(task.query_people["person_id"]) == [0, 1, 3, 4]
    assert len(task.truth) == 4
    for q, r in task.truth.itertuples(index=False):
        assert task.query_people.person_id[q] == task.register_people.person_id[r]
        # No noise: both agencies recorded the same values.
        pd.testing.assert_series_equal(
            task.query.loc[q, list(RECORD_FIELDS)],
            task.register.loc[r, list(RECORD_FIELDS)],
            check_names=False,
        )
    # Methods see record ids and fields only, never person ids.
    assert "person_id" not in task.query.columns and "person_id" not in task.register.columns
    # A compound surname is recorded in full (paternal maternal) before any noise.
    ana = task.register_people.index[task.register_people["person_id"] == 3][0]
    assert task.register.loc[ana, "last_name"] == "GARCIA LOPEZ"
    assert task.register_people.loc[ana, "last_name"] == "GARCIA"


def test_queries_outside_register_have_no_truth() -> None:
    pop = Population(people=_people(), addresses=_addresses())
    # Register of about half the adults; query 1 person in and 1 outside.
    task = build_task(_config(0.5, 2, 0.5), seed=1, population=pop)
    inside = task.query_people["in_register"].to_numpy()
    assert inside.sum() == 1
    assert task.truth.query_row.tolist() == [int(inside.nonzero()[0][0])]
    assert not set(task.query_people.person_id[~inside]) & set(task.register_people.person_id)


def test_too_many_queries_is_a_config_error() -> None:
    pop = Population(people=_people(), addresses=_addresses())
    with pytest.raises(ConfigError, match=r"query\.size"):
        build_task(_config(1.0, 10, 1.0), seed=1, population=pop)


def test_group_mix_reweights_the_list() -> None:
    data = read_toml_text(TINY)
    data["query"]["size"] = 100
    data["query"]["group_mix"] = {"hispanic": 1.0}
    task = build_task(parse_benchmark(data).scenario, seed=2)
    assert (task.query_people["group"] == "hispanic").all()
    data["query"]["group_mix"] = {"hispanic": 0.5, "white": 0.5}
    task = build_task(parse_benchmark(data).scenario, seed=2)
    share = (task.query_people["group"] == "hispanic").mean()
    assert 0.35 < share < 0.65  # population share is ~0.16


def test_group_tables_of_the_population() -> None:
    data = read_toml_text(TINY)
    data["population"]["compound_surname_by_group"] = {"api": 1.0}
    data["population"]["partner_takes_surname_by_group"] = {"white": 0.0}
    cfg = parse_benchmark(data).scenario.population
    assert cfg.compound_surname_by_group == {"api": 1.0}  # replaces the default table
    for table, where, fragment in (
        ({"martian": 0.1}, "compound_surname_by_group.martian", "unknown group"),
        ({"api": 1.5}, "compound_surname_by_group.api", r"in \[0, 1\], got 1.5"),
        (0.3, "compound_surname_by_group", "must be a table"),
    ):
        data["population"]["compound_surname_by_group"] = table
        with pytest.raises(ConfigError, match=fragment) as info:
            parse_benchmark(data)
        assert info.value.where == f"population.{where}"


def test_group_mix_that_cannot_be_met_is_an_error() -> None:
    data = read_toml_text(TINY)
    data["query"]["group_mix"] = {"aian": 1.0}
    with pytest.raises(ConfigError, match="group_mix"):
        build_task(parse_benchmark(data).scenario, seed=2)


def test_share_in_register_is_exact() -> None:
    data = read_toml_text(TINY)
    task = build_task(parse_benchmark(data).scenario, seed=3)
    assert len(task.query) == 300
    assert len(task.truth) == 150
    assert task.query_people["in_register"].sum() == 150


def test_supervised_method_without_matches_in_training_is_a_clear_error(tmp_path) -> None:
    from bench.cli import main

    text = TINY.replace("share_in_register = 0.5", "share_in_register = 0.0")
    path = tmp_path / "nomatch.toml"
    path.write_text(text + '[[methods]]\nname = "lr"\nkind = "logistic"\n', encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["nomatch.toml"]


def test_toml_comments_give_each_key_its_source() -> None:
    from synthetic.config import toml_comments

    text = """
[scenario]
name = "x"  # trailing
description = \"\"\"
a = 1  # not a key: inside a multi-line string
\"\"\"
# a block comment
# on two lines
seed = 3

[register.noise]
typo = { rate = 0.1 }  # "quoted # hash" stays
missing = { rate = 0.2 }

[[methods]]
name = "m"  # skipped: arrays of tables
"""
    c = toml_comments(text)
    assert c["scenario.name"] == "trailing"
    assert c["scenario.seed"] == "a block comment on two lines"
    assert "scenario.a" not in c and "methods.name" not in c and "name" not in c
    assert c["register.noise.typo"] == '"quoted # hash" stays'
    assert c["register.noise.missing"] == ""
