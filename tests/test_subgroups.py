"""Subgroup metrics: hand-built queries with known per-label counts, intervals, dimension labels,
then a tiny run end to end (per-label sums equal the overall metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import bench.measurement.subgroups as sg
from bench.measurement.derive import compute_metrics
from bench.measurement.subgroups import (
    DIMENSIONS,
    SURNAME_BANDS,
    match_matrix,
    rate_ratio,
    subgroup_causes_run,
    subgroup_dimension,
    subgroup_metrics,
    subgroups_run,
    surname_band,
    wilson,
)
from bench.report.figures import plot_match_matrix, plot_ratios
from synthetic.scenario import PEOPLE_COLUMNS
from tests.conftest import copy_run


def person(pid: int, group: str, last: str = "SMITH", **extra: Any) -> dict[str, Any]:
    """A person with every PEOPLE_COLUMNS attribute: a stayer living with others, no twin or
    namesake."""
    base: dict[str, Any] = {
        "person_id": pid,
        "household_id": pid,
        "relationship": "householder",
        "sex": "F",
        "age": 40,
        "group": group,
        "first_name": "ANNA",
        "last_name": last,
        "second_surname": None,
        "dob": "1985-01-01",
        "surname_rare": False,
        "first_name_rare": False,
        "previous_surname": None,
        "twin_id": -1,
        "namesake_id": -1,
        "address_id": 1000 + pid,
        "previous_address_id": -1,
        "po_box": None,
        "household_size": 2,
        # a scenario without identifiers
        "status": None,
        "tin_type": None,
        "tin": None,
        "former_itin": None,
        "ssn_donor_id": -1,
    }
    base.update(extra)
    assert set(base) == set(PEOPLE_COLUMNS)
    return base


# Six queries, five register records. Truth: q0-r0, q1-r1, q3-r3, q5-r4; q2, q4 not in register.
QUERY = pd.DataFrame(
    [
        person(0, "white"),
        person(1, "white"),
        person(2, "hispanic"),
        person(3, "hispanic"),
        person(4, "hispanic"),
        person(5, "black"),
    ]
)
REGISTER = pd.DataFrame(
    [
        person(10, "white"),
        person(11, "api"),
        person(12, "hispanic"),
        person(13, "hispanic"),
        person(14, "black"),
    ]
)
TRUTH = pd.DataFrame({"query_row": [0, 1, 3, 5], "register_row": [0, 1, 3, 4]})
# q0: one right, one wrong (white -> api). q1: missed. q2: one wrong, declared twice (counts
# once). q3: right. q5: wrong (black -> white) and right. The link=False row is not declared.
PAIRS = pd.DataFrame(
    {
        "query_row": [0, 0, 2, 2, 3, 5, 5, 4],
        "register_row": [0, 1, 2, 2, 3, 0, 4, 0],
        "score": 1.0,
        "accept": True,
        "link": [True, True, True, True, True, True, True, False],
        # addresses that do not match: q0's wrong link, q5's wrong link, q4's undeclared pair
        "address_match": [True, False, True, True, True, False, True, False],
    }
)
# label: queries, true_links, declared, TP, FP, FN, wrong_people, unverified_address
EXPECTED_GROUP = {
    "white": (2, 2, 2, 1, 1, 1, 1, 1),
    "black": (1, 1, 2, 1, 1, 0, 1, 1),
    "api": (0, 0, 0, 0, 0, 0, 0, 0),
    "aian": (0, 0, 0, 0, 0, 0, 0, 0),
    "2prace": (0, 0, 0, 0, 0, 0, 0, 0),
    "hispanic": (3, 1, 2, 1, 1, 0, 1, 0),
}


def hand_metrics(**kwargs: Any) -> pd.DataFrame:
    return subgroup_metrics({"m": PAIRS}, TRUTH, QUERY, len(REGISTER), **kwargs)


def test_hand_built_counts_by_group() -> None:
    frame = hand_metrics(dimensions=["group"]).set_index("label")
    assert list(frame.index) == list(DIMENSIONS["group"].labels)
    for label, counts in EXPECTED_GROUP.items():
        assert tuple(frame.loc[label, list(sg.COUNTS)]) == counts, label
    assert frame.loc["white", "FDR"] == 0.5
    assert frame.loc["hispanic", "wrong_person_rate"] == pytest.approx(1 / 3)
    assert frame.loc["white", "FNMR"] == 0.5
    assert frame.loc["black", "unverified_address_rate"] == 1.0
    assert np.isnan(frame.loc["api", "wrong_person_rate"])  # no queries: no rate
    assert np.isnan(frame.loc["api", "wrong_person_rate_lo"])


def test_ratios_to_the_reference() -> None:
    frame = hand_metrics(dimensions=["group"]).set_index("label")
    assert (frame["reference"] == "hispanic").all()  # default: the label with most queries
    ref = frame.loc["hispanic"]
    assert ref["wrong_person_rate_ratio"] == 1.0
    assert ref["wrong_person_rate_ratio_lo"] == ref["wrong_person_rate_ratio_hi"] == 1.0
    white = frame.loc["white"]
    assert white["wrong_person_rate_ratio"] == pytest.approx((1 / 2) / (1 / 3))
    se = np.sqrt(1 / 1 - 1 / 2 + 1 / 1 - 1 / 3)
    assert white["wrong_person_rate_ratio_lo"] == pytest.approx(1.5 * np.exp(-sg.Z95 * se))
    assert not white["wrong_person_rate_ratio_corrected"]
    # FNMR: hispanic 0/1, white 1/2 -> 0.5 added to every cell: (1.5/3) / (0.5/2) = 2.
    assert white["FNMR_ratio"] == pytest.approx(2.0)
    assert white["FNMR_ratio_corrected"]
    assert ref["FNMR_ratio"] == 1.0
    assert np.isnan(frame.loc["black", "FNMR_ratio"])  # 0/1 vs 0/1: no comparison
    assert np.isnan(frame.loc["api", "FNMR_ratio"])  # no true links

    chosen = hand_metrics(dimensions=["group"], reference={"group": "white"}).set_index("label")
    assert (chosen["reference"] == "white").all()
    assert chosen.loc["white", "wrong_person_rate_ratio"] == 1.0
    assert chosen.loc["hispanic", "wrong_person_rate_ratio"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="not a label"):
        hand_metrics(dimensions=["group"], reference={"group": "martian"})


def test_in_register_from_truth_and_sums() -> None:
    frame = hand_metrics()
    assert list(dict.fromkeys(frame["dimension"])) == list(DIMENSIONS)
    inreg = frame[frame["dimension"] == "in_register"].set_index("label")
    assert inreg.loc["in register", "queries"] == 4
    assert inreg.loc["not in register", "wrong_people"] == 1
    assert inreg.loc["not in register", "true_links"] == 0
    assert (inreg["reference"] == "in register").all()
    totals = frame.groupby("dimension")[list(sg.COUNTS)].sum()
    assert (totals == totals.iloc[0]).all().all()
    assert tuple(totals.iloc[0]) == (6, 4, 6, 3, 3, 1, 3, 2)


def test_wilson_known_values() -> None:
    lo, hi = wilson(0, 100)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0, 0.0370)
    lo, hi = wilson(5, 100)
    assert (round(float(lo), 4), round(float(hi), 4)) == (0.0215, 0.1118)
    lo, hi = wilson(np.array([0, 5, 100, 0]), np.array([100, 100, 100, 0]))
    assert lo.shape == (4,) and np.isnan(lo[3]) and np.isnan(hi[3])
    assert hi[2] == 1.0 and lo[2] < 1.0


def test_rate_ratio() -> None:
    # Katz log interval of 10/100 vs 5/100 (as scipy.stats.contingency.relative_risk).
    ratio, lo, hi, corrected = rate_ratio(np.array([10]), np.array([100]), 5, 100)
    assert ratio[0] == pytest.approx(2.0)
    assert (round(lo[0], 4), round(hi[0], 4)) == (0.7090, 5.6421)
    assert not corrected[0]
    k1 = np.array([0, 3, 0, 7, 50])
    n1 = np.array([100, 100, 100, 0, 50])
    ratio, lo, hi, corrected = rate_ratio(k1, n1, np.array([4, 0, 0, 4, 4]), 100)
    assert list(corrected) == [True, True, False, False, False]
    assert np.isnan(ratio[2:4]).all()  # both zero; empty group
    ok = np.isfinite(ratio)
    assert (lo[ok] <= ratio[ok]).all() and (ratio[ok] <= hi[ok]).all()


def test_dimension_labels() -> None:
    from synthetic.names import surnames

    beyond = surnames()["name"].iloc[20_000]
    people = pd.DataFrame(
        [
            person(0, "white", "SMITH", household_size=1),
            person(1, "api", "POWELL", previous_address_id=77),
            person(2, "black", "HAAS", twin_id=9),
            person(3, "aian", beyond, namesake_id=8),
            person(4, "hispanic", "ZQXWUMBERTON"),  # synthesized rare: not in the table
            person(5, "2prace", "SMITH-ZQXWUMBERTON"),  # hyphenated: the part before counts
            person(6, "white", "ZQXWUMBERTON-SMITH"),
            person(7, "white", "KEO"),  # count tied with rank 10,000: ties share the best rank
        ]
    ).assign(in_register=[True, False] * 4)

    def labels(dim: str) -> list[str]:
        codes = DIMENSIONS[dim].codes(people)
        return [DIMENSIONS[dim].labels[c] for c in codes]

    assert labels("surname_band") == [
        "top 100",
        "101-1,000",
        "1,001-10,000",
        "beyond 10,000",
        "not listed",
        "top 100",
        "not listed",
        "1,001-10,000",
    ]
    assert list(surname_band(pd.Series([None, "SMITH"]))) == ["not listed", "top 100"]
    assert set(SURNAME_BANDS) == set(DIMENSIONS["surname_band"].labels)
    assert labels("mover") == ["stayed", "moved"] + ["stayed"] * 6
    assert labels("household")[:5] == [
        "alone",
        "with others",
        "with namesake or twin",  # a twin
        "with namesake or twin",  # a Jr/Sr
        "with others",
    ]
    assert labels("group")[:2] == ["white", "api"]
    assert labels("in_register")[:2] == ["in register", "not in register"]
    with pytest.raises(ValueError, match="not in"):
        DIMENSIONS["group"].codes(people.assign(group="martian"))
    with pytest.raises(ValueError, match="needs column"):
        DIMENSIONS["mover"].codes(people.drop(columns="previous_address_id"))


def test_register_a_dimension() -> None:
    @subgroup_dimension("test_age", "adult or older", ("under 65", "65+"), needs=("age",))
    def _age(people: pd.DataFrame) -> np.ndarray:
        return np.where(people["age"].to_numpy() >= 65, "65+", "under 65")

    try:
        frame = hand_metrics(dimensions=["test_age"])
        assert list(frame["label"]) == ["under 65", "65+"]
        assert list(frame["queries"]) == [6, 0]
        with pytest.raises(ValueError, match="already registered"):
            subgroup_dimension("test_age", "again", ("a",))
    finally:
        DIMENSIONS.pop("test_age")


def test_hand_built_match_matrix() -> None:
    matrix = match_matrix({"m": PAIRS}, TRUTH, QUERY, REGISTER)
    cells = matrix.set_index(["query_label", "register_label"])
    assert matrix["FP"].sum() == 3 and len(matrix) == 36
    assert cells.loc[("white", "api"), "FP"] == 1
    assert cells.loc[("black", "white"), "FP"] == 1
    assert cells.loc[("hispanic", "hispanic"), "FP"] == 1
    assert cells.loc[("white", "api"), "row_share"] == 1.0
    assert np.isnan(cells.loc[("api", "api"), "row_share"])  # no false matches in that row


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_run_shared: Path) -> Path:
    return copy_run(tiny_run_shared, tmp_path_factory.mktemp("subgroups") / "t")


def test_tiny_run_sums_match_overall(tiny_run: Path) -> None:
    metrics, matrix = subgroups_run(tiny_run)
    overall = compute_metrics(tiny_run).set_index("method")
    assert set(metrics["dimension"]) == set(DIMENSIONS)
    for dim, frame in metrics.groupby("dimension"):
        sums = frame.groupby("method")[["queries", "true_links", "declared", "TP", "FP", "FN"]]
        sums = sums.sum()
        for col in sums.columns:
            assert (sums[col] == overall.loc[sums.index, col]).all(), (dim, col)
        wrong = frame.groupby("method")["wrong_people"].sum()
        assert (wrong == overall.loc[wrong.index, "wrong_people"]).all(), dim
    fp = matrix.groupby("method")["FP"].sum()
    assert (fp == overall.loc[fp.index, "FP"]).all()
    assert fp.sum() > 0  # the check above compared something
    ok = metrics["wrong_person_rate_ratio"].notna()
    sel = metrics[ok]
    assert (sel["wrong_person_rate_ratio_lo"] <= sel["wrong_person_rate_ratio"]).all()
    assert (sel["wrong_person_rate_ratio"] <= sel["wrong_person_rate_ratio_hi"]).all()
    refs = metrics[metrics["label"] == metrics["reference"]]
    assert (refs["wrong_person_rate_ratio"] == 1.0).all()

    causes = subgroup_causes_run(tiny_run, ["group"])
    by_method = causes.groupby("method")["FP"].sum()
    assert (by_method == overall.loc[by_method.index, "FP"]).all()


def test_plots(tiny_run: Path) -> None:
    from matplotlib.figure import Figure

    metrics, matrix = subgroups_run(tiny_run, dimensions=["group", "mover"])
    fig = plot_ratios(metrics, "wrong_person_rate", "group", ["fellegi-sunter", "name-control-zip"])
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == 2 and all(ax.get_xscale() == "log" for ax in panels)
    fig = plot_ratios(metrics, "FNMR", "mover")  # panels wrap: unused cells are hidden
    assert all(ax.get_xscale() == "log" for ax in fig.axes if ax.get_visible())
    fig = plot_match_matrix(matrix, "name-control-zip")
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].texts) == len(DIMENSIONS["group"].labels) ** 2
    with pytest.raises(ValueError, match="metric"):
        plot_ratios(metrics, "FDR")


def test_match_matrix_of_a_sampled_method_estimates_from_its_sample(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the bound the matrix reads the register people of the sampled false matches only
    (the others are not stored) and scales the cells to the method's false matches."""
    import bench.measurement.attributed as attributed
    from bench.measurement.causes import RegisterRows

    monkeypatch.setattr(attributed, "ATTRIBUTED_FALSE_MATCHES", 2)
    pairs = {"m": PAIRS, "n": PAIRS.iloc[5:7]}  # m: 3 false matches (sampled), n: 1
    rows: set[int] = set()  # the matrix reads the people of attributed false matches only
    for name, p in pairs.items():
        links = p[p["link"]]
        rows |= set(attributed.attributed_false_matches(name, links, TRUTH).register_row.tolist())
    stored = REGISTER.iloc[sorted(rows)].assign(register_row=sorted(rows))
    assert {1, 2, 0} - rows  # the person of m's false match beyond the sample is not kept
    matrix = match_matrix(pairs, TRUTH, QUERY, RegisterRows(stored, len(REGISTER)))
    assert list(matrix.columns) == [*sg.MATRIX_COLUMNS, *sg.ESTIMATE_COLUMNS]
    by = matrix.groupby("method")
    assert by["FP"].sum().to_dict() == {"m": 3, "n": 1}
    assert by["FP_in_sample"].sum().to_dict() == {"m": 2, "n": 1}
    assert by["sampled"].first().to_dict() == {"m": 2, "n": 1}
    assert by["of"].first().to_dict() == {"m": 3, "n": 1}
    n = matrix[matrix["method"] == "n"]  # attributed in full: exact, as without a sample
    assert (n["FP"] == n["FP_lo"]).all() and (n["FP"] == n["FP_hi"]).all()
    alone = match_matrix({"n": pairs["n"]}, TRUTH, QUERY, REGISTER)
    assert list(alone.columns) == list(sg.MATRIX_COLUMNS)
    pd.testing.assert_frame_equal(n[alone.columns].reset_index(drop=True), alone)
    m = matrix[matrix["method"] == "m"]
    assert (m["FP_lo"] <= m["FP"]).all() and (m["FP"] <= m["FP_hi"]).all()
