"""Error attribution: hand-built pairs with a known cause, then a small scenario end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import bench.measurement.causes as causes
from bench.cli import main
from bench.measurement.causes import (
    FALSE_MATCH_CAUSES,
    FN_COLUMNS,
    FP_COLUMNS,
    Cause,
    RegisterRows,
    attribute_false_matches,
    attribute_missed_matches,
    cause_table,
    compared_fields,
    false_match_causes,
    missed_match_causes,
)
from bench.measurement.derive import read_register_people
from synthetic.noise import NOISE
from synthetic.scenario import PEOPLE_COLUMNS
from tests.conftest import copy_run


def person(pid: int, hh: int, first: str, last: str, dob: str, **extra: Any) -> dict[str, Any]:
    """A person with every PEOPLE_COLUMNS attribute: no twin, namesake, move or compound name."""
    base: dict[str, Any] = {
        "person_id": pid,
        "household_id": hh,
        "relationship": "householder",
        "sex": "F",
        "age": 40,
        "group": "white",
        "first_name": first,
        "last_name": last,
        "second_surname": None,
        "dob": dob,
        "surname_rare": False,
        "first_name_rare": False,
        "previous_surname": None,
        "twin_id": -1,
        "namesake_id": -1,
        "address_id": 1000 + hh,  # one dwelling per household
        "previous_address_id": -1,
        "po_box": None,
        "household_size": 1,
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


# (case, query person, register person it is falsely linked to, expected primary cause)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "twins (also a household)",
        person(1, 1, "ANNA", "BROWN", "2000-03-04", twin_id=2),
        person(2, 1, "HANNA", "BROWN", "2000-03-04", twin_id=1),
        "twin",
    ),
    (
        "Jr/Sr (also household and common name)",
        person(3, 2, "JOHN", "SMITH", "1990-01-01", namesake_id=4, sex="M"),
        person(4, 2, "JOHN", "SMITH", "1960-06-06", namesake_id=3, sex="M"),
        "jr_sr",
    ),
    (
        "household member",
        person(5, 2, "MARY", "SMITH", "1962-02-02"),
        person(6, 2, "PAUL", "SMITH", "1992-09-09"),
        "household",
    ),
    (
        "strangers with the same name and dob (also a common name)",
        person(7, 3, "JOSE", "PEREZ", "1980-01-01"),
        person(8, 4, "JOSE", "PEREZ", "1980-01-01"),
        "same_name_dob",
    ),
    (
        "common name (query record also has a typo)",
        person(9, 5, "JOSE", "PEREZ", "1970-05-05"),
        person(10, 6, "JOSE", "PEREZ", "1990-02-02"),
        "common_name",
    ),
    (
        "stale address: the query carried its old address, where r now lives",
        person(11, 7, "LINDA", "CHAVEZ", "1975-07-07", previous_address_id=1008),
        person(12, 8, "LINDA", "CHAVES", "1977-07-07"),
        "stale_address",
    ),
    (
        "compound surname recorded in another form",
        person(13, 9, "ANA", "GARCIA", "1985-08-08", second_surname="LOPEZ"),
        person(14, 10, "ANA", "GARCIA", "1986-08-08"),
        "compound_surname",
    ),
    (
        "generic noise: nickname and typo on the register record",
        person(15, 11, "WILLIAM", "JONES", "1950-01-02"),
        person(16, 12, "BILL", "JONAS", "1951-01-02"),
        "noise:nickname",
    ),
    (
        "similar by chance",
        person(17, 13, "ROSA", "DIAZ", "1999-12-12"),
        person(18, 14, "ROSA", "DIAS", "1999-12-21"),
        "similar",
    ),
    (
        "query person absent from the register",
        person(19, 15, "OMAR", "ALI", "1988-04-04"),
        person(20, 16, "OMAR", "ALLY", "1988-04-05"),
        "similar",
    ),
]
N = len(CASES)
ABSENT = N - 1  # the last query person has no true link

# Noise log rows, deliberately out of registry order (the registry decides, not the log).
NOISE_LOG = pd.DataFrame(
    [
        ("query", 4, "last_name", "typo"),
        ("query", 5, "street", "stale_address"),
        ("query", 5, "zip", "stale_address"),
        ("query", 6, "last_name", "surname_form"),
        ("register", 7, "last_name", "typo"),
        ("register", 7, "first_name", "nickname"),
    ],
    columns=["side", "row", "field", "noise"],
)


@pytest.fixture
def hand_built() -> dict[str, Any]:
    """Query row i is falsely linked to register row i; register rows N.. hold the query people
    that are truly in the register (true link i -> N + i)."""
    query = pd.DataFrame([q for _, q, _, _ in CASES])
    register = pd.DataFrame(
        [r for _, _, r, _ in CASES] + [q for _, q, _, _ in CASES[:ABSENT]]
    ).astype({"second_surname": object})
    truth = pd.DataFrame({"query_row": np.arange(ABSENT), "register_row": N + np.arange(ABSENT)})
    links = pd.DataFrame(
        {
            # every false link, one of them twice, and one true link (not a false match)
            "query_row": [*range(N), 3, 0],
            "register_row": [*range(N), 3, N],
        }
    )
    return {
        "links": links,
        "truth": truth,
        "query_people": query,
        "register_people": register,
        "noise_log": NOISE_LOG,
    }


def test_registry_order_is_priority_order() -> None:
    assert list(FALSE_MATCH_CAUSES) == [
        "twin",
        "jr_sr",
        "household",
        "same_name_dob",
        "common_name",
        "stale_address",
        "compound_surname",
        "noise:{noise}",
        "similar",
    ]
    names = [c.name for c in false_match_causes()]
    assert names[7 : 7 + len(NOISE)] == [f"noise:{n}" for n in NOISE]
    assert names[-1] == "similar" and len(names) == len(set(names))
    assert all(c.description and "\n" not in c.description for c in false_match_causes())


def test_each_hand_built_case_gets_its_known_cause(hand_built: dict[str, Any]) -> None:
    fp = attribute_false_matches(**hand_built)
    assert list(fp.columns[: len(FP_COLUMNS)]) == list(FP_COLUMNS)
    assert list(fp.columns[len(FP_COLUMNS) :]) == [c.name for c in false_match_causes()]
    # one row per false match: duplicates once, the true link excluded
    assert fp["query_row"].tolist() == list(range(N))
    assert fp["register_row"].tolist() == list(range(N))
    for i, (case, _, _, expected) in enumerate(CASES):
        assert fp.loc[i, "cause"] == expected, case
        assert fp.loc[i, expected], case  # the primary cause is flagged too
    assert fp["query_not_in_register"].tolist() == [i == ABSENT for i in range(N)]


def test_lower_priority_causes_are_flagged(hand_built: dict[str, Any]) -> None:
    fp = attribute_false_matches(**hand_built).set_index("query_row")
    flags = fp.columns[len(FP_COLUMNS) - 1 :]

    def held(row: int) -> set[str]:
        return {c for c in flags if fp.loc[row, c]}

    assert held(0) == {"twin", "household"}
    assert held(1) == {"jr_sr", "household", "common_name"}
    assert held(2) == {"household"}
    assert held(3) == {"same_name_dob", "common_name"}
    assert held(4) == {"common_name", "noise:typo"}
    assert held(5) == {"stale_address", "noise:stale_address"}
    assert held(6) == {"compound_surname", "noise:surname_form"}
    assert held(7) == {"noise:nickname", "noise:typo"}  # nickname precedes typo in the registry
    assert held(8) == held(9) == {"similar"}
    # `similar` holds exactly when nothing else does
    others = fp[[c for c in flags if c != "similar"]].any(axis=1)
    assert (fp["similar"] == ~others).all()


def test_stale_address_needs_the_old_address_on_file(hand_built: dict[str, Any]) -> None:
    # Same move, but no record carried the previous address: not a stale-address match.
    log = NOISE_LOG[NOISE_LOG["noise"] != "stale_address"]
    fp = attribute_false_matches(**{**hand_built, "noise_log": log}).set_index("query_row")
    assert fp.loc[5, "cause"] == "similar"
    # The other way round: the register record carries r's previous address, q's current one.
    reg = hand_built["register_people"].copy()
    reg.loc[5, "previous_address_id"] = 1000 + 7
    log = pd.concat(
        [log, pd.DataFrame([("register", 5, "street", "stale_address")], columns=log.columns)]
    )
    people = {**hand_built, "register_people": reg, "noise_log": log}
    fp = attribute_false_matches(**people).set_index("query_row")
    assert fp.loc[5, "cause"] == "stale_address"


def test_noise_order_is_a_parameter_and_types_are_not_hard_coded(
    hand_built: dict[str, Any],
) -> None:
    fp = attribute_false_matches(**hand_built, noise_order=["typo", "nickname"])
    assert fp.loc[fp["query_row"] == 7, "cause"].item() == "noise:typo"
    # a noise type this module has never heard of works the same way
    log = NOISE_LOG.replace({"noise": {"nickname": "smudge"}})
    fp = attribute_false_matches(**{**hand_built, "noise_log": log}, noise_order=["smudge", "typo"])
    assert fp.loc[fp["query_row"] == 7, "cause"].item() == "noise:smudge"
    assert "noise:nickname" not in fp.columns


def test_adding_a_cause_is_one_entry(
    hand_built: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def same_first_name(p: causes.PairFacts) -> np.ndarray:
        return p.q("first_name") == p.r("first_name")

    first = Cause("same_first_name", "the two people share a first name", same_first_name)
    monkeypatch.setattr(
        causes, "FALSE_MATCH_CAUSES", {"same_first_name": first, **FALSE_MATCH_CAUSES}
    )
    fp = attribute_false_matches(**hand_built).set_index("query_row")
    assert fp.loc[[1, 3, 4, 6, 8, 9], "cause"].eq("same_first_name").all()
    assert fp.loc[0, "cause"] == "twin" and fp.loc[7, "cause"] == "noise:nickname"


def test_missed_matches_by_noise_and_blocking_loss() -> None:
    truth = pd.DataFrame({"query_row": [0, 1, 2], "register_row": [10, 11, 12]})
    links = pd.DataFrame({"query_row": [0, 2], "register_row": [10, 5]})  # q2 -> r5 is false
    log = pd.DataFrame(
        [
            ("query", 1, "dob", "typo"),
            ("register", 11, "first_name", "nickname"),
            ("register", 12, "first_name", "typo"),  # not the true pair's query record
            ("query", 0, "zip", "stale_address"),  # a found link: not attributed
        ],
        columns=["side", "row", "field", "noise"],
    )
    log.loc[2, "row"] = 99  # register row 99 is nobody's true pair: q2-r12 stays unchanged
    considered = (np.array([0, 1, 2]), np.array([10, 11, 5]))
    fn = attribute_missed_matches(links, truth, log, considered=considered)
    assert list(fn.columns[: len(FN_COLUMNS)]) == list(FN_COLUMNS)
    assert list(fn.columns[len(FN_COLUMNS) :]) == missed_match_causes()
    assert fn[["query_row", "register_row"]].values.tolist() == [[1, 11], [2, 12]]
    assert fn["cause"].tolist() == ["noise:nickname", "none"]
    assert fn.loc[0, "noise:nickname"] and fn.loc[0, "noise:typo"]  # multi-label
    assert not fn.loc[0, "none"] and fn.loc[1, "none"]
    assert fn["blocking_loss"].tolist() == [False, True]
    # rules consider every pair: no blocking loss
    assert not attribute_missed_matches(links, truth, log)["blocking_loss"].any()


def test_cause_table_counts_shares_and_rates(hand_built: dict[str, Any]) -> None:
    fp = attribute_false_matches(**hand_built)
    table = cause_table(fp, n_queries=20).set_index("cause")
    assert table.index.tolist() == [c.name for c in false_match_causes()]
    assert table["FP"].sum() == N
    assert table.loc["similar", "FP"] == 2 and table.loc["similar", "share"] == pytest.approx(0.2)
    assert table.loc["similar", "FP_per_1M"] == pytest.approx(2 / 20 * 1e6)
    assert table.loc["similar", "query_not_in_register"] == 1
    assert table.loc["household", "flagged"] == 3 and table.loc["household", "FP"] == 1
    # Only q0's true link is declared: the other 8 are missed; noise touched q4, q5 and q6.
    fn = attribute_missed_matches(hand_built["links"], hand_built["truth"], NOISE_LOG)
    table = cause_table(fn, n_queries=20).set_index("cause")
    assert table.index.tolist() == missed_match_causes()
    assert table["FN"].sum() == 8 and table.loc["none", "FN"] == 5
    assert table.loc[["noise:typo", "noise:stale_address", "noise:surname_form"], "FN"].eq(1).all()
    assert table["blocking_loss"].sum() == 0


# --- end to end on the tiny scenario -------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_run_shared: Path) -> Path:
    return copy_run(tiny_run_shared, tmp_path_factory.mktemp("causes") / "run")


def test_every_false_match_gets_exactly_one_cause(tiny_run: Path) -> None:
    raw = tiny_run / "raw"
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    truth = pd.read_parquet(raw / "truth.parquet")
    qp = pd.read_parquet(raw / "query_people.parquet")
    rp = read_register_people(tiny_run)
    log = pd.read_parquet(raw / "noise_log.parquet")
    # raw people align with the truth: a true link joins two records of one person
    assert (
        qp["person_id"].to_numpy()[truth["query_row"]]
        == rp.take(truth["register_row"].to_numpy())["person_id"].to_numpy()
    ).all()
    metrics = pd.read_csv(tiny_run / "metrics.csv").set_index("method")
    names = [c.name for c in false_match_causes()]
    total_fp = 0
    for method in info["methods"]:
        pairs = pd.read_parquet(raw / f"{method}.parquet")
        links = pairs[pairs["link"]]
        fp = attribute_false_matches(links, truth, qp, rp, log)
        assert len(fp) == metrics.loc[method, "FP"]
        assert fp["cause"].isin(names).all()
        flags = fp[names].to_numpy()
        primary = np.array([names.index(c) for c in fp["cause"]], dtype=int)
        assert flags[np.arange(len(fp)), primary].all()  # the primary cause holds
        # ...and no cause before it does
        assert (np.cumsum(flags, axis=1)[np.arange(len(fp)), primary] == 1).all()
        person_q = qp["person_id"].to_numpy()[fp["query_row"]]
        person_r = rp.take(fp["register_row"].to_numpy())["person_id"].to_numpy()
        assert (person_q != person_r).all()
        total_fp += len(fp)
    assert total_fp > 0, "the tiny scenario should produce some false matches"


def test_cause_files_sum_to_metrics(tiny_run: Path) -> None:
    metrics = pd.read_csv(tiny_run / "metrics.csv").set_index("method")
    fp = pd.read_csv(tiny_run / "causes.csv")
    fn = pd.read_csv(tiny_run / "missed_causes.csv")
    assert list(fp.columns) == [
        "method",
        "cause",
        "FP",
        "share",
        "FP_per_1M",
        "flagged",
        "query_not_in_register",
    ]
    by = fp.groupby("method", sort=False)
    assert list(by.groups) == list(metrics.index)
    pd.testing.assert_series_equal(by["FP"].sum(), metrics["FP"], check_names=False)
    by = fn.groupby("method", sort=False)
    pd.testing.assert_series_equal(by["FN"].sum(), metrics["FN"], check_names=False)
    pd.testing.assert_series_equal(
        by["blocking_loss"].sum(), metrics["blocking_loss"], check_names=False
    )
    report = (tiny_run / "report.md").read_text(encoding="utf-8")
    assert "## False matches by cause" in report and "### Missed matches by noise" in report
    assert "- **jr_sr**: " in report and "- **noise:<type>**: " in report
    manifest = json.loads((tiny_run / "manifest.json").read_text(encoding="utf-8"))
    for name in (
        "causes.csv",
        "missed_causes.csv",
        "raw/register_people.parquet",
        "raw/noise_log.parquet",
    ):
        assert name in manifest["files"]


def test_report_recomputes_the_breakdown_from_raw(
    tiny_run: Path, capsys: pytest.CaptureFixture
) -> None:
    derived = ("causes.csv", "missed_causes.csv", "report.md", "manifest.json")
    before = {name: (tiny_run / name).read_bytes() for name in derived}
    for name in derived[:-1]:  # the manifest stays: report checks raw/ against it
        (tiny_run / name).unlink()
    assert main(["report", str(tiny_run), "--no-html"]) == 0
    capsys.readouterr()
    assert {name: (tiny_run / name).read_bytes() for name in derived} == before


def test_only_noise_on_compared_fields_counts(hand_built: dict[str, Any]) -> None:
    # the nickname case (row 7): a name-only method sees the nickname; a ZIP-only one does not
    names_only = attribute_false_matches(**hand_built, fields=("first_name", "last_name"))
    assert names_only.loc[names_only["query_row"] == 7, "cause"].item() == "noise:nickname"
    zip_only = attribute_false_matches(**hand_built, fields=("zip",))
    assert zip_only.loc[zip_only["query_row"] == 7, "cause"].item() == "similar"
    # a compound surname counts only where the method compares the surname
    assert zip_only.loc[zip_only["query_row"] == 6, "cause"].item() == "similar"
    assert zip_only.loc[zip_only["query_row"] == 5, "cause"].item() == "stale_address"


def test_compared_fields_follow_the_parameter_convention() -> None:
    rule = {"passes": [[{"field": "last_name", "compare": "first_n", "n": 4}, {"field": "zip"}]]}
    assert compared_fields(rule) == ("last_name", "zip")
    scored = {"fields": {"first_name": "name", "dob": "date"}, "threshold": 0.9}
    assert compared_fields(scored) == ("first_name", "dob")  # "name" here is a comparison kind
    assert compared_fields({"passes": [[{"field": "full_address"}]]}) == (
        "house_number", "street", "unit", "city", "state", "zip",
    )  # fmt: skip


def test_noise_types_declare_registered_causes() -> None:
    """A noise type's declared cause is a registered false-match cause, and the gated causes
    find their noise types through the declaration (causes names no noise type)."""
    from synthetic.noise import NOISE

    declared = {nt.cause for nt in NOISE.values() if nt.cause is not None}
    assert declared, "no noise type declares a cause"
    assert declared <= set(causes.FALSE_MATCH_CAUSES), declared - set(causes.FALSE_MATCH_CAUSES)
    for cause in declared:
        assert causes.noise_types_for(cause)
    assert causes.noise_types_for("no such cause") == ()


def test_register_rows_read_as_the_full_reindex() -> None:
    # Stored rows 1 and 3 of 5: every other row reads as missing, with the dtypes (int -> float,
    # bool -> object) and values the full reindex gives, without holding a row per record.
    stored = pd.DataFrame(
        {
            "register_row": [3, 1],
            "person_id": [30, 10],
            "rare": [True, False],
            "group": pd.Categorical(["api", "white"]),
            "name": ["C", None],
        }
    )
    full = stored.set_index("register_row").reindex(range(5))
    rows = np.array([3, 0, 1, 3, 4])
    taken = RegisterRows(stored, 5).take(rows)
    pd.testing.assert_frame_equal(taken, full.iloc[rows])
    assert len(RegisterRows(stored, 5)) == 5
    # every register row stored: no missing row, so no dtype changes either
    whole = RegisterRows(stored.assign(register_row=[1, 0]), 2).take(np.array([1]))
    assert whole["person_id"].dtype == np.int64 and whole["rare"].dtype == bool


@pytest.mark.parametrize("categorical", [False, True])
def test_noise_index_rows_are_the_log_filtered(categorical: bool) -> None:
    """Each question (side, noise or any, field, fields or any) gets the sorted distinct rows a
    filter of the whole log gives, whatever the log's dtypes."""
    from bench.measurement.causes import NoiseIndex

    rng = np.random.default_rng(3)
    n = 5000
    log = pd.DataFrame(
        {
            "side": rng.choice(["query", "register"], n),
            "row": rng.integers(0, 800, n),
            "field": rng.choice(["first_name", "last_name", "dob", "street"], n),
            "noise": rng.choice(["typo", "nickname", "missing"], n),
        }
    )
    if categorical:
        log = log.astype({"side": "category", "field": "category", "noise": "category"})
    index = NoiseIndex(log)
    for side in ("query", "register"):
        for noise in (None, "typo", "missing", "absent"):
            for field in (None, "dob", ("first_name", "street"), ("nope",)):
                keep = (log["side"] == side).to_numpy()
                if noise is not None:
                    keep &= (log["noise"] == noise).to_numpy()
                if field is not None:
                    keep &= (
                        log["field"].isin([field] if isinstance(field, str) else field).to_numpy()
                    )
                want = np.unique(log["row"].to_numpy()[keep])
                assert np.array_equal(index.rows(side, noise, field), want), (side, noise, field)
    assert NoiseIndex(log.iloc[:0]).rows("query", "typo").size == 0


# --- attribution from a seeded sample of false matches ---------------------------------------


def _random_links(seed: int = 5) -> tuple[tuple[np.ndarray, np.ndarray], pd.DataFrame]:
    """Declared links (some true, some repeated) and the truth, for the sampling tests."""
    rng = np.random.default_rng(seed)
    q, r = rng.integers(0, 300, 4000), rng.integers(0, 2000, 4000)
    truth = pd.DataFrame({"query_row": np.arange(200), "register_row": rng.integers(0, 2000, 200)})
    q = np.concatenate([q, truth["query_row"][:150], q[:40]])  # true links, and repeats
    r = np.concatenate([r, truth["register_row"][:150], r[:40]])
    return (q, r), truth


def _false_set(links: tuple[np.ndarray, np.ndarray], truth: pd.DataFrame) -> list[tuple[int, int]]:
    true = set(zip(truth["query_row"].tolist(), truth["register_row"].tolist(), strict=True))
    pairs = set(zip(links[0].tolist(), links[1].tolist(), strict=True))
    return sorted(pairs - true)


def test_attributed_sample_is_seeded_exact_and_order_free() -> None:
    from bench.measurement.attributed import attributed_false_matches, attribution_seed

    links, truth = _random_links()
    false = _false_set(links, truth)
    got = attributed_false_matches("lax", links, truth, bound=100)
    pairs = list(zip(got.query_row.tolist(), got.register_row.tolist(), strict=True))
    # exactly `bound` distinct false matches, in (query_row, register_row) order, of all F
    assert got.sampled and got.total == len(false) and len(pairs) == 100 == len(set(pairs))
    assert pairs == sorted(pairs) and set(pairs) <= set(false)
    # the documented draw: a choice without replacement over the sorted false matches
    rng = np.random.default_rng(attribution_seed("lax"))
    assert pairs == [false[i] for i in np.sort(rng.choice(len(false), 100, replace=False))]
    # deterministic, and independent of the order (and repeats) of the links
    again = attributed_false_matches("lax", links, truth, bound=100)
    assert np.array_equal(again.query_row, got.query_row)
    perm = np.random.default_rng(1).permutation(len(links[0]))
    shuffled = pd.DataFrame({"query_row": links[0][perm], "register_row": links[1][perm]})
    other = attributed_false_matches("lax", shuffled, truth.iloc[::-1], bound=100)
    assert np.array_equal(other.query_row, got.query_row)
    assert np.array_equal(other.register_row, got.register_row)
    # seeded by the method's name: another method draws another sample
    assert not np.array_equal(
        attributed_false_matches("strict", links, truth, bound=100).register_row, got.register_row
    )
    # at or below the bound: every false match, nothing sampled
    every = attributed_false_matches("lax", links, truth, bound=len(false))
    assert not every.sampled and len(every) == every.total == len(false)
    assert list(zip(every.query_row.tolist(), every.register_row.tolist(), strict=True)) == false


def test_estimates_scale_to_the_total_with_intervals() -> None:
    from bench.measurement.attributed import estimate, scaled_partition

    # 1 and 3 of a sample of 4, of 10: 2.5 and 7.5; by largest remainder (ties: first) 3 + 7
    point, lo, hi = scaled_partition(np.array([1, 3]), 4, 10)
    assert point.tolist() == [3, 7] and point.sum() == 10
    assert (lo <= point).all() and (point <= hi).all()
    assert estimate(np.array([1, 3]), 4, 10)[0].tolist() == [3, 8]  # each rounded half up
    # the boundaries are exact, and nothing sampled means nothing estimated
    point, lo, hi = estimate(np.array([0, 4]), 4, 10)
    assert lo[0] == 0 and hi[1] == 10 and hi[0] > 0 and lo[1] < 10  # 0 of 4, 4 of 4
    assert [a.tolist() for a in scaled_partition(np.array([2, 5]), 7, 7)] == [[2, 5]] * 3


def test_below_the_bound_every_false_match_is_attributed_as_before(
    hand_built: dict[str, Any],
) -> None:
    fp = attribute_false_matches(**hand_built)
    before = cause_table(fp, n_queries=20)
    # a run without a sampled method: the table has exactly its columns
    assert list(before.columns) == [
        "cause", "FP", "share", "FP_per_1M", "flagged", "query_not_in_register",
    ]  # fmt: skip
    # the table of a method attributed in full beside a sampled one: the same figures, exact
    marked = cause_table(fp, n_queries=20, of=len(fp))
    pd.testing.assert_frame_equal(marked[before.columns], before)
    assert (marked["sampled"] == N).all() and (marked["of"] == N).all()
    for c in ("FP", "flagged", "query_not_in_register"):
        assert (marked[f"{c}_lo"] == marked[c]).all() and (marked[f"{c}_hi"] == marked[c]).all()
    with pytest.raises(ValueError, match="cannot be of"):
        cause_table(fp, n_queries=20, of=N - 1)


#: The tiny run's method with the most false matches (590), and a bound below them.
LAX, BOUND = "name-control-zip", 200


def test_sampled_estimates_sum_to_the_total_and_cover_the_exact_counts(
    tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bench.measurement.attributed as attributed
    from bench.measurement.derive import attribute_run, compute_causes

    exact = compute_causes(tiny_run)
    assert exact is not None and "sampled" not in exact[0].columns
    monkeypatch.setattr(attributed, "ATTRIBUTED_FALSE_MATCHES", BOUND)
    attributions = attribute_run(tiny_run)
    assert attributions is not None
    total = attributions[LAX].false_total
    assert total > BOUND and len(attributions[LAX].false_matches) == BOUND
    assert [m for m, a in attributions.items() if a.sampled] == [LAX]
    tables = compute_causes(tiny_run, attributions)
    assert tables is not None
    fp, fn = tables
    pd.testing.assert_frame_equal(fn, exact[1])  # missed matches: exact, unchanged
    ours, truth = fp[fp["method"] == LAX], exact[0][exact[0]["method"] == LAX]
    assert ours["FP"].sum() == total == truth["FP"].sum()
    assert (ours["sampled"] == BOUND).all() and (ours["of"] == total).all()
    for c in ("FP", "flagged", "query_not_in_register"):
        lo, hi, known = ours[f"{c}_lo"].to_numpy(), ours[f"{c}_hi"].to_numpy(), truth[c].to_numpy()
        assert ((lo <= known) & (known <= hi)).all(), c
    # the other methods: their exact figures, marked as complete
    others, plain = fp[fp["method"] != LAX], exact[0][exact[0]["method"] != LAX]
    pd.testing.assert_frame_equal(
        others[plain.columns].reset_index(drop=True), plain.reset_index(drop=True)
    )
    assert (others["sampled"] == others["of"]).all()


def test_a_run_keeps_the_people_of_the_sample_and_marks_its_estimates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """Through bench.tasks.run_task with a bound below one method's false matches: raw/ keeps
    the register people of the truth and of the attributed false matches only, the report
    estimates that method's causes from the same sample, and a report that drew another sample
    is refused (it would read people the run did not keep)."""
    import bench.measurement.attributed as attributed
    from bench.linkage.config import parse_benchmark
    from bench.measurement.derive import attribute_run
    from bench.runner import run
    from synthetic.errors import LinkriskError
    from tests.conftest import TINY, read_toml_text

    monkeypatch.setattr(attributed, "ATTRIBUTED_FALSE_MATCHES", BOUND)
    out = tmp_path / "run"
    run(parse_benchmark(read_toml_text(TINY)), out_dir=out, progress=False, html=False)
    raw = out / "raw"
    truth = pd.read_parquet(raw / "truth.parquet")
    kept, declared = set(truth["register_row"].tolist()), set()
    for name in json.loads((raw / "run.json").read_text(encoding="utf-8"))["methods"]:
        pairs = pd.read_parquet(raw / f"{name}.parquet")
        links = pairs[pairs["link"]]
        kept |= set(attributed.attributed_false_matches(name, links, truth).register_row.tolist())
        declared |= set(links["register_row"].tolist())
    stored = pd.read_parquet(raw / "register_people.parquet")["register_row"]
    assert stored.tolist() == sorted(kept)
    assert not declared <= kept  # people of false matches beyond the sample are not read

    total = int(pd.read_csv(out / "metrics.csv").set_index("method").loc[LAX, "FP"])
    assert total > BOUND
    causes = pd.read_csv(out / "causes.csv")
    lax = causes[causes["method"] == LAX]
    assert (lax["sampled"] == BOUND).all() and (lax["of"] == total).all()
    assert lax["FP"].sum() == total and (lax["FP_lo"] <= lax["FP"]).all()
    others = causes[causes["method"] != LAX]
    assert (others["sampled"] == others["of"]).all()  # attributed in full: exact
    for name in ("subgroup_causes.csv", "match_matrix.csv"):
        frame = pd.read_csv(out / name)
        sums = frame[frame["method"] == LAX].groupby("dimension")
        assert (sums["FP"].sum() == total).all() and (sums["FP_in_sample"].sum() == BOUND).all()
    report = (out / "report.md").read_text(encoding="utf-8")
    sentence = (
        f"Causes of {LAX}'s {total:,} false matches are estimated from a random sample of "
        f"{BOUND:,} of them (seeded; 95% intervals)."
    )
    assert report.count(sentence) == 2  # under the causes, and under who was matched to whom

    # the report draws the run's sample again from raw/ alone: the same files
    derived = ("causes.csv", "subgroup_causes.csv", "match_matrix.csv", "report.md")
    before = {name: (out / name).read_bytes() for name in derived}
    for name in derived:
        (out / name).unlink()
    assert main(["report", str(out), "--no-html"]) == 0
    capsys.readouterr()
    assert {name: (out / name).read_bytes() for name in derived} == before
    # another sample at report time than at run time is refused, not attributed to `similar`
    monkeypatch.setattr(attributed, "attribution_seed", lambda name: 12345)
    with pytest.raises(LinkriskError, match="is not stored"):
        attribute_run(out)
