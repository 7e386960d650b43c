"""Row noise in scenarios (issue 14, part 4): duplicated register records are two true links of
their person, omitted ones none, and the metrics count them as they define."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.linkage.resolve import resolve
from bench.measurement.metrics import confusion
from synthetic.errors import ConfigError
from synthetic.scenario import build_task, effective_parameters, parse_scenario
from tests.conftest import TINY, read_toml_text

DUP, OMIT = 0.3, 0.2


def _data(row_noise: dict | None) -> dict:
    data = read_toml_text(TINY)
    data["register"]["noise"] = {"typo": {"rate": 0.3}}
    if row_noise is not None:
        data["register"]["row_noise"] = row_noise
    return data


@pytest.fixture(scope="module")
def task():
    spec = {"duplicate_record": {"rate": DUP}, "omit_record": {"rate": OMIT}}
    return build_task(parse_scenario(_data(spec)), seed=4)


def _expected_truth(task) -> set[tuple[int, int]]:
    rows: dict[int, list[int]] = {}
    for r, pid in enumerate(task.register_people["person_id"].tolist()):
        rows.setdefault(pid, []).append(r)
    return {
        (q, r)
        for q, pid in enumerate(task.query_people["person_id"].tolist())
        for r in rows.get(pid, [])
    }


def test_truth_lists_every_record_of_every_queried_person(task) -> None:
    truth = task.truth
    pairs = zip(truth.query_row.tolist(), truth.register_row.tolist(), strict=True)
    assert set(pairs) == _expected_truth(task)
    assert truth.equals(truth.sort_values(["query_row", "register_row"], ignore_index=True))
    assert truth.dtypes.tolist() == [np.int64, np.int64]
    per_query = truth.groupby("query_row").size()
    assert (per_query == 2).any() and per_query.max() == 2  # duplicated people: two true links
    assert task.query_people["in_register"].sum() == per_query.size


def test_omitted_records_leave_covered_queries_without_a_true_link(task) -> None:
    # share_in_register (0.5 of 300) counts the people the register covers; omissions remove
    # about OMIT of their records, so fewer queries have a true link
    covered = 150
    found = int(task.query_people["in_register"].sum())
    assert covered * (1 - OMIT) - 25 < found < covered
    register_ids = set(task.register_people["person_id"])
    lost = task.query_people[~task.query_people["in_register"]]
    assert not set(lost["person_id"]) & register_ids


def test_duplicates_carry_their_own_noise_and_no_person_id(task) -> None:
    ids = task.register_people["person_id"]
    dup = ids[ids.duplicated(keep=False)]
    assert len(dup) > 100
    fields = ["first_name", "last_name", "dob", "street"]
    recs = task.register.loc[dup.index, fields].assign(person_id=dup.to_numpy())
    differs = recs.groupby("person_id")[fields].nunique(dropna=False).gt(1).any(axis=1)
    assert differs.any()  # typo at 0.3: some duplicates differ from their first record
    assert "person_id" not in task.register.columns
    assert task.register["record_id"].is_unique


def test_row_noise_off_leaves_the_task_as_before() -> None:
    plain = build_task(parse_scenario(_data(None)), seed=4)
    zero = {"duplicate_record": {"rate": 0.0}, "omit_record": {"rate": 0.0}}
    off = build_task(parse_scenario(_data(zero)), seed=4)
    pd.testing.assert_frame_equal(plain.register, off.register)
    pd.testing.assert_frame_equal(plain.truth, off.truth)
    assert not plain.register_people["person_id"].duplicated().any()


def test_row_noise_is_a_register_key_with_effective_parameters() -> None:
    cfg = parse_scenario(_data({"omit_record": {"rate": 0.005}}))
    params = effective_parameters(cfg)
    assert params["register"]["row_noise"]["omit_record"] == {"rate": 0.005, "params": {}}
    assert params["register"]["row_noise"]["duplicate_record"]["rate"] == 0.0
    assert "row_noise" not in params["query"]
    data = _data(None)
    data["query"]["row_noise"] = {"omit_record": {"rate": 0.1}}
    with pytest.raises(ConfigError, match=r"query\.row_noise"):
        parse_scenario(data)


def test_metrics_count_duplicates_and_wrong_records_as_defined(task) -> None:
    truth = task.truth
    tq, tr = truth.query_row.to_numpy(), truth.register_row.to_numpy()
    n_q, n_r = len(task.query), len(task.register)
    twice = truth.groupby("query_row").size()
    q2 = int(twice[twice == 2].index[0])
    r2 = tr[tq == q2]
    # both records of the duplicated person declared: two true matches, nothing missed for q2
    c = confusion(np.array([q2, q2]), r2, tq, tr, n_q, n_r)
    assert (c.TP, c.FP, c.wrong_people, c.verified) == (2, 0, 0, 1)
    assert (c.FN, c.true_links) == (len(truth) - 2, len(truth))
    # one of them: the other is a missed match
    one = confusion(np.array([q2]), r2[:1], tq, tr, n_q, n_r)
    n_true = len(truth)
    missed, found = one.FN, one.TP
    assert (missed, found) == (n_true - 1, 1)
    # a right record and a wrong one: the person is linked to a wrong record
    wrong = next(r for r in range(n_r) if r not in set(r2))
    mixed = confusion(np.array([q2, q2]), np.array([r2[0], wrong]), tq, tr, n_q, n_r)
    assert (mixed.TP, mixed.FP, mixed.wrong_people) == (1, 1, 1)
    # resolution: "best" keeps one of the two true records, "unique-only" verifies neither
    q, r, s = np.array([q2, q2]), r2, np.array([1.0, 1.0])
    accept = np.ones(2, dtype=bool)
    assert resolve(q, r, s, accept, "best").sum() == 1
    assert resolve(q, r, s, accept, "unique-only").sum() == 0


def test_sharded_blocks_give_the_same_row_noise(tmp_path, monkeypatch) -> None:
    from synthetic import population as P
    from synthetic.shards import load_sharded_task, write_sharded_task

    monkeypatch.setattr(P, "BLOCK_SIZE", 2_000)  # 3 blocks
    spec = {"duplicate_record": {"rate": DUP}, "omit_record": {"rate": OMIT}}
    cfg = parse_scenario(_data(spec))
    manifest = write_sharded_task(cfg, 4, tmp_path, shard_size=700)
    assert manifest["blocks"] == 3
    sharded = load_sharded_task(tmp_path)
    task = build_task(cfg, 4)
    for name in ("query", "register", "truth", "register_people"):
        pd.testing.assert_frame_equal(getattr(sharded, name), getattr(task, name))
    assert set(zip(*task.truth.to_numpy().T.tolist(), strict=True)) == _expected_truth(task)
    assert (task.truth.groupby("query_row").size() == 2).any()


def test_ledger_lists_row_noise_with_its_source() -> None:
    from bench.report.sections.ledger import parameter_tables

    params = effective_parameters(parse_scenario(_data({"duplicate_record": {"rate": 0.028}})))
    text = "\n".join(parameter_tables(params, {}, {}))
    line = next(x for x in text.splitlines() if "duplicate_record (records)" in x)
    assert "0.028" in line and "Census Coverage Measurement" in line
    assert "row_noise" not in text.split("### Noise")[0]  # not among the sampling keys
