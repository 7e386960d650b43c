"""Population summary: exact counts on a hand-built population, Census agreement and determinism
on a generated one, and the Markdown rendering."""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pandas as pd
import pytest

from synthetic import names as N
from synthetic.identifiers import absent
from synthetic.population import PEOPLE_COLUMNS, Population, PopulationConfig, generate_population
from synthetic.summary import summarize_population, summary_markdown

# fmt: off
# person_id, household_id, relationship, sex, dob, age, group, first, last, second, suffix,
# previous_surname, spouse_surname, twin_id, namesake_id, previous_address_id, po_box,
# surname_rare, first_name_rare
_ROWS = [
    # household 0 moved: JOHN SMITH SR, his wife (hyphenated at marriage), JOHN SMITH JR
    (0, 0, "householder", "M", "1980-01-01", 45, "white", "JOHN", "SMITH", None, "SR",
     None, "JONES-SMITH", -1, 2, 7, None, False, False),
    (1, 0, "partner", "F", "1982-06-30", 43, "white", "MARY", "JONES-SMITH", None, None,
     "JONES", "SMITH", -1, -1, 7, None, False, False),
    (2, 0, "child", "M", "2005-05-05", 20, "white", "JOHN", "SMITH", None, "JR",
     None, None, -1, 0, 7, None, False, False),
    # household 1 gets mail at a PO box: a divorced mother (reverted) with a compound surname
    # and twins, who share surname and DOB but not the first name
    (3, 1, "householder", "F", "1985-03-15", 40, "hispanic", "MARIA", "GARCIA", "LOPEZ", None,
     "PEREZ", None, -1, -1, -1, "PO BOX 12", False, False),
    (4, 1, "child", "F", "2015-03-03", 10, "hispanic", "ANA", "GARCIA", "LOPEZ", None,
     None, None, 5, -1, -1, "PO BOX 12", False, False),
    (5, 1, "child", "M", "2015-03-03", 10, "hispanic", "LUIS", "GARCIA", "LOPEZ", None,
     None, None, 4, -1, -1, "PO BOX 12", False, False),
    # another JOHN SMITH born the same day as the father in household 0: one (first, last, dob)
    # collision
    (6, 2, "householder", "M", "1980-01-01", 45, "black", "JOHN", "SMITH", None, None,
     None, None, -1, -1, -1, None, False, False),
    # a fourth JOHN SMITH, another DOB
    (7, 3, "householder", "M", "1990-02-02", 35, "white", "JOHN", "SMITH", None, None,
     None, None, -1, -1, -1, None, False, False),
    # rare first name and surname
    (8, 4, "householder", "F", "1995-09-09", 30, "api", "XYZZY", "QWERTY", None, None,
     None, None, -1, -1, -1, None, True, True),
]
_FIELDS = (
    "person_id", "household_id", "relationship", "sex", "dob", "age", "group", "first_name",
    "last_name", "second_surname", "suffix", "previous_surname", "spouse_surname", "twin_id",
    "namesake_id", "previous_address_id", "po_box", "surname_rare", "first_name_rare",
)
# fmt: on


def _hand_built() -> Population:
    df = pd.DataFrame(_ROWS, columns=list(_FIELDS))
    df["middle_name"] = None
    df["address_id"] = df["household_id"]
    for col in ("house_number", "street", "unit", "city", "state", "zip"):
        df[col] = ""
    df["age"] = df["age"].astype(np.int16)
    for col, values in absent(len(df)).items():  # a population without identifiers
        df[col] = values
    return Population(people=df[list(PEOPLE_COLUMNS)], addresses=pd.DataFrame())


@pytest.fixture(scope="module")
def small() -> dict:
    return summarize_population(_hand_built(), PopulationConfig(size=9), top_n=(1, 2, 10))


def test_counts(small: dict) -> None:
    c = small["counts"]
    assert (c["people"], c["households"], c["adults"]) == (9, 5, 7)
    groups = c["groups"]
    assert [groups[g]["people"] for g in N.GROUPS] == [4, 1, 1, 0, 0, 3]
    assert groups["white"]["adults"] == 4 and groups["hispanic"]["adults"] == 1
    assert groups["white"]["share"] == pytest.approx(4 / 9, rel=1e-5)
    assert groups["hispanic"]["census_share"] == pytest.approx(N.group_shares()[5], rel=1e-5)


def test_concentration(small: dict) -> None:
    s = small["surname_concentration"]
    assert s["top_n"] == [1, 2, 10]
    everyone = s["groups"]["all"]
    # full surnames: SMITH 4, GARCIA LOPEZ 3, JONES-SMITH 1, QWERTY 1
    assert everyone["observed"] == pytest.approx([4 / 9, 7 / 9, 1.0], rel=1e-5)
    assert everyone["observed_last_name"] == pytest.approx([4 / 9, 7 / 9, 1.0], rel=1e-5)
    assert everyone["observed_census_ranked"][0] == pytest.approx(4 / 9, rel=1e-5)  # SMITH #1
    assert s["groups"]["white"]["observed"] == pytest.approx([3 / 4, 1.0, 1.0], rel=1e-5)
    assert s["groups"]["aian"]["observed"] == [None, None, None]  # nobody in the group
    # Census expectation: the top name's count over the table's total (tail included)
    tab = N.surnames()
    top1 = tab["count"].iloc[0] / N.surname_tail().total_count
    assert everyone["census"][0] == pytest.approx(top1, rel=1e-5)
    f = small["first_name_concentration"]["groups"]["all"]
    assert f["observed"] == pytest.approx([4 / 9, 5 / 9, 1.0], rel=1e-5)  # JOHN x4


def test_uniqueness(small: dict) -> None:
    u = small["name_uniqueness"]["all"]
    # names: JOHN SMITH x4 and five names held once
    assert u["distinct_names"] == 6
    assert u["unique_share"] == pytest.approx(5 / 9, rel=1e-5)
    assert u["mean_class_size_per_person"] == pytest.approx((4 * 4 + 5) / 9, rel=1e-5)
    assert u["mean_people_per_name"] == pytest.approx(9 / 6, rel=1e-5)
    assert u["max_people_per_name"] == 4
    black = small["name_uniqueness"]["black"]  # one JOHN SMITH: his class is population-wide
    assert black["unique_share"] == 0.0 and black["max_people_per_name"] == 4


def test_collisions(small: dict) -> None:
    col = small["collisions"]
    fl, fld = col["first_last"], col["first_last_dob"]
    assert (fl["pairs"], fl["people_in_pairs"]) == (comb(4, 2), 4)
    assert fl["same_household_pairs"] == 1 and fl["namesake_pairs"] == 1  # SR and JR
    assert (fld["pairs"], fld["people_in_pairs"], fld["same_household_pairs"]) == (1, 2, 0)
    assert fld["twin_pairs"] == 0 and fld["namesake_pairs"] == 0
    # dob counts 2, 2, 1, 1, 1, 1, 1 of 9 people
    sum_p2 = (4 + 4 + 5) / 81
    assert col["dob_sum_p2"] == pytest.approx(sum_p2, rel=1e-5)
    assert fld["expected_pairs_independent_dob"] == pytest.approx(6 * sum_p2, rel=1e-5)
    # the only pair of JOHN SMITHs born in the same year was born on the only 1980 day
    assert fld["expected_pairs_given_birth_year"] == pytest.approx(1.0)
    # first names JOHN 4 + five singles; full surnames SMITH 4, GARCIA LOPEZ 3, two singles
    marginals = comb(9, 2) * (16 + 5) / 81 * (16 + 9 + 2) / 81
    assert fl["expected_pairs_population_marginals"] == pytest.approx(marginals, rel=1e-5)
    f = N.first_names()["count"] / N.first_name_tail().total_count
    s = N.surnames()["count"] / N.surname_tail().total_count
    census = comb(9, 2) * (f**2).sum() * (s**2).sum()
    assert fl["expected_pairs_census"] == pytest.approx(census, rel=1e-5)
    assert fld["expected_pairs_census"] == pytest.approx(census * sum_p2, rel=1e-5)


def test_twins_with_one_first_name_are_broken_out() -> None:
    pop = _hand_built()
    pop.people.loc[5, "first_name"] = "ANA"  # the generator avoids this; count it if it happens
    fld = summarize_population(pop)["collisions"]["first_last_dob"]
    assert (fld["pairs"], fld["twin_pairs"], fld["same_household_pairs"]) == (2, 1, 1)
    assert fld["people_in_pairs"] == 4


def test_households_and_life_events(small: dict) -> None:
    h = small["households"]
    assert [h["sizes"][k]["households"] for k in ("1", "2", "3", "7+")] == [3, 0, 2, 0]
    assert h["mean_size"] == pytest.approx(1.8) and h["sizes"]["1"]["config"] == 0.28
    ev = small["life_events"]
    counts = {k: (v["count"], v["of"]) for k, v in ev.items() if k != "rare_by_group"}
    assert counts == {
        "mover_households": (1, 5),
        "mover_people": (3, 9),
        "po_box_households": (1, 5),
        "compound_surname_people": (3, 9),
        "compound_surname_hispanic": (3, 3),  # configured, and observed
        "previous_surname_married": (1, 9),
        "previous_surname_other": (1, 9),
        "hyphenated_surname": (1, 9),
        "twins": (2, 3),
        "jr_sr_pairs": (1, 5),
        "rare_surname": (1, 9),
        "rare_first_name": (1, 9),
    }
    assert ev["mover_people"]["reference"] == pytest.approx(0.087)
    assert ev["rare_surname"]["reference"] == pytest.approx(N.surname_tail().share, rel=1e-5)
    assert ev["rare_by_group"]["api"]["surname_rare"] == 1.0


def test_without_config_and_markdown(small: dict) -> None:
    s = summarize_population(_hand_built(), top_n=(1, 2, 10))
    assert s["life_events"]["mover_people"]["reference"] is None
    assert s["households"]["sizes"]["1"]["config"] is None
    assert s["name_uniqueness"] == small["name_uniqueness"]
    md = summary_markdown(s)
    assert "### Surname concentration" in md and "| first, last, DOB |" in md
    assert not any(line.startswith("# ") or line.startswith("## ") for line in md.splitlines())
    with pytest.raises(ValueError, match="top_n"):
        summarize_population(_hand_built(), top_n=(0,))


@pytest.fixture(scope="module")
def generated() -> tuple[Population, PopulationConfig]:
    cfg = PopulationConfig(size=50_000)
    return generate_population(cfg, seed=3), cfg


def test_generated_follows_census(generated: tuple[Population, PopulationConfig]) -> None:
    pop, cfg = generated
    s = summarize_population(pop, cfg)
    every = s["surname_concentration"]["groups"]["all"]
    assert every["observed_last_name"][0] == pytest.approx(every["census"][0], abs=0.01)
    assert every["observed"][0] == pytest.approx(every["census"][0], abs=0.01)
    white = s["surname_concentration"]["groups"]["white"]
    assert white["observed"][0] == pytest.approx(white["census"][0], abs=0.015)
    first = s["first_name_concentration"]["groups"]["all"]
    assert first["observed"][1] == pytest.approx(first["census"][1], abs=0.03)
    assert s["counts"]["people"] == 50_000
    assert s["life_events"]["rare_surname"]["share"] == pytest.approx(
        N.surname_tail().share, abs=0.01
    )
    shares = [v["share"] for v in s["households"]["sizes"].values()]
    assert shares == pytest.approx(list(cfg.household_size_shares), abs=0.01)


def test_generated_deterministic(generated: tuple[Population, PopulationConfig]) -> None:
    pop, cfg = generated
    again = generate_population(cfg, seed=3)
    a = json.dumps(summarize_population(pop, cfg), sort_keys=True)
    b = json.dumps(summarize_population(again, cfg), sort_keys=True)
    assert a == b
    assert summary_markdown(json.loads(a)) == summary_markdown(json.loads(b))


def test_numberless_and_shared_addresses(generated: tuple[Population, PopulationConfig]) -> None:
    pop, cfg = generated
    summary = summarize_population(pop, cfg, top_n=(10,))
    ad = summary["addresses"]
    dwellings = ad["numberless_dwellings"]
    assert dwellings["reference"] == pytest.approx(cfg.numberless_share)
    assert abs(dwellings["share"] - cfg.numberless_share) < 0.01
    assert ad["numberless_people"]["count"] == int((pop.people["house_number"] == "").sum())
    # only numberless dwellings share a whole address, and most share it on their street
    assert 0 < ad["shared_address_dwellings"]["count"] <= dwellings["count"]
    assert "Numberless and shared addresses" in summary_markdown(summary)


def test_published_pairs_and_placeholder_dates(
    generated: tuple[Population, PopulationConfig],
) -> None:
    pop, cfg = generated
    s = summarize_population(pop, cfg)
    ap = s["collisions"]["adults_first_last_dob"]
    assert ap["published_pairs"] == 3_000_000 and ap["to_adults"] == 129_000_000
    assert ap["adults"] == s["counts"]["adults"]
    assert ap["extrapolated_pairs"] == pytest.approx(ap["pairs"] * (129e6 / ap["adults"]) ** 2)
    bd = s["birth_dates"]["groups"]
    assert bd["api"]["jan1"] > bd["white"]["jan1"]  # more people born abroad
    md = summary_markdown(s)
    assert "### First name + last name + DOB among adults" in md
    assert "### Placeholder birth dates" in md
