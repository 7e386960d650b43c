"""Splink 5 as a registered method (DuckDB engine), the engine option, and Spark's requirements."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import bench.linkage.methods.splink as splink_method
from bench.cli import main
from bench.linkage.blocking import Candidates, block, validate_blocking
from bench.linkage.comparisons import DEFAULT_FIELDS
from bench.linkage.fields import PreparedTask
from bench.linkage.methods import METHODS, Method
from bench.linkage.methods.base import use_engine
from bench.linkage.resolve import resolve
from synthetic.errors import ConfigError
from synthetic.rng import stable_hash
from tests.conftest import TINY, clean_task

BLOCKING = validate_blocking(
    {
        "passes": [
            [{"field": "last_name", "compare": "soundex"}, {"field": "zip"}],
            [{"field": "first_name"}, {"field": "dob"}],
        ]
    },
    "blocking",
)


def _method(**params: object) -> Method:
    cls = METHODS["splink"]
    return cls("splink", cls.validate({"u_max_pairs": 100_000, **params}, "m"), "best")


@pytest.fixture(scope="module")
def clean():
    """A clean task, its candidates, and Splink's scores of them (DuckDB)."""
    task = clean_task(seed=3)
    prep = PreparedTask(task, seed=1)
    cands, _ = block(prep, BLOCKING)
    return task, prep, cands, _method().score(prep, cands)


def _pairs(q: np.ndarray, r: np.ndarray) -> set[tuple[int, int]]:
    return set(zip(q.tolist(), r.tolist(), strict=True))


def test_accepts_exactly_the_true_links_of_clean_data(clean) -> None:
    task, _, cands, scored = clean
    assert np.array_equal(scored.query_row, cands.query_row)
    assert np.array_equal(scored.register_row, cands.register_row)
    assert scored.score.dtype == np.float32 and np.all((scored.score >= 0) & (scored.score <= 1))
    truth = _pairs(task.truth.query_row.to_numpy(), task.truth.register_row.to_numpy())
    accepted = _pairs(scored.query_row[scored.accept], scored.register_row[scored.accept])
    assert truth <= _pairs(cands.query_row, cands.register_row)  # blocking loses none here
    assert accepted == truth


def test_deterministic_to_the_byte(clean, monkeypatch: pytest.MonkeyPatch) -> None:
    _, prep, cands, scored = clean
    written = splink_method.write_inputs
    files: list[tuple[Path, ...]] = []
    monkeypatch.setattr(
        splink_method, "write_inputs", lambda *a, **k: files.append(written(*a, **k)) or files[-1]
    )
    again = _method().score(prep, cands)
    assert scored.score.tobytes() == again.score.tobytes()
    # DuckDB reads the record tables from files and scans the pairs in place: no pairs file
    assert [[f.name for f in paths] for paths in files] == [["query.parquet", "register.parquet"]]


def test_scores_record_files_as_arrow_tables(clean) -> None:
    """The record tables read from parquet files (so that DuckDB inlines Splink's
    concatenation of them) give the bytes of the same tables scanned as Arrow."""
    _, prep, cands, scored = clean
    q, r = splink_method.input_tables(prep, sorted(DEFAULT_FIELDS))
    pairs = splink_method.pair_table(cands)
    model = splink_method.SplinkModel(
        fields=DEFAULT_FIELDS,
        training_blocks=[["first_name", "last_name"], ["dob"]],
        u_max_pairs=100_000,
        seed=stable_hash(f"splink:{prep.seed}:splink") % 2**31,
        session_max_pairs=5_000_000,
    )
    out = splink_method.score_parquet(q, r, pairs, model)
    assert splink_method._align(cands, out, prep.n_register).tobytes() == scored.score.tobytes()


def test_scores_in_chunks_of_queries_as_in_one(clean, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pairs scored a chunk of queries at a time (bounded memory at the real size) get the
    bytes they get in one chunk; a chunk of queries without candidates is skipped."""
    _, prep, cands, scored = clean
    keep = cands.query_row >= 3  # queries 0-2 without candidates: a chunk of them may fall out
    sub = Candidates(cands.query_row[keep], cands.register_row[keep])
    whole = _method().score(prep, sub)
    seen: list[int] = []
    chunked = splink_method.predict_chunks

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for frame in chunked(*args, **kwargs):  # type: ignore[arg-type]
            seen.append(len(frame))
            yield frame

    monkeypatch.setattr(splink_method, "predict_chunks", counting)
    monkeypatch.setattr(splink_method, "PREDICT_CHUNK_PAIRS", len(sub) // 4)
    parts = _method().score(prep, sub)
    assert len(seen) >= 4 and sum(seen) == len(sub) and min(seen) > 0
    assert parts.score.tobytes() == whole.score.tobytes()
    assert whole.score.tobytes() == scored.score[keep].tobytes()


def test_query_chunks_cover_the_pairs_in_runs_of_queries() -> None:
    """Chunks are runs of queries of about the size asked, cover every pair once, in order,
    and leave out runs of queries without pairs (Splink is never asked to score none)."""
    q = np.repeat(np.arange(6), [0, 30, 0, 5, 5, 0])
    got = splink_method.query_chunks(q, 7, 20)
    assert [(c.start, c.stop, p.start, p.stop) for c, p in got] == [(1, 7, 0, 40)]  # [0, 1) out
    assert splink_method.query_chunks(q, 7, 10**6) == [(slice(0, 7), slice(0, 40))]
    assert splink_method.query_chunks(q[:0], 7, 20) == []
    rng = np.random.default_rng(2)
    q = np.sort(rng.integers(0, 500, 3000))
    chunks = splink_method.query_chunks(q, 600, 97)
    assert np.array_equal(
        np.concatenate([np.arange(len(q))[p] for _, p in chunks]), np.arange(3000)
    )
    for rows, pairs in chunks:
        assert (
            (q[pairs] >= rows.start) & (q[pairs] < rows.stop)
        ).all() and pairs.stop > pairs.start


def test_agrees_with_fellegi_sunter_on_noisy_data() -> None:
    """Same fields, levels and training blocks as linkrisk's own FS: mostly the same links."""
    from bench.linkage.config import parse_benchmark
    from synthetic.scenario import build_task
    from tests.conftest import read_toml_text

    bench = parse_benchmark(read_toml_text(TINY))
    task = build_task(bench.scenario, 5)
    prep = PreparedTask(task, seed=5)
    cands, _ = block(prep, bench.blocking)
    fs_cls = METHODS["fellegi-sunter"]
    fs = fs_cls("fs", fs_cls.validate({"u_sample": 100_000}, "fs"), "best").score(prep, cands)
    sp = _method().score(prep, cands)
    links = [resolve(s.query_row, s.register_row, s.score, s.accept, "best") for s in (fs, sp)]
    both, either = (links[0] & links[1]).sum(), (links[0] | links[1]).sum()
    assert either > 50 and both / either >= 0.9, (both, either)


def test_scores_sharded_parquet_like_one_file(clean, tmp_path: Path) -> None:
    """score_parquet reads a register split into shards as the same table, and the method on
    DuckDB (Arrow tables, no files) scores as Splink does from the files."""
    _, prep, cands, scored = clean
    q, r, pairs = splink_method.write_inputs(prep, sorted(DEFAULT_FIELDS), cands, tmp_path)
    register = pq.read_table(r)
    half = register.num_rows // 2
    shards = [tmp_path / "r0.parquet", tmp_path / "r1.parquet"]
    pq.write_table(register.slice(0, half), shards[0])
    pq.write_table(register.slice(half), shards[1])
    model = splink_method.SplinkModel(
        fields=DEFAULT_FIELDS,
        training_blocks=[["first_name", "last_name"], ["dob"]],
        u_max_pairs=100_000,
        seed=splink_method.stable_hash("splink:1:splink") % 2**31,
    )
    out = splink_method.score_parquet([q], shards, [pairs], model)
    assert len(out) == len(cands)
    assert np.array_equal(splink_method._align(cands, out, prep.n_register), scored.score)


def test_align_puts_scores_in_candidate_order() -> None:
    """Sorted (as blocking gives them) or not."""
    cands = Candidates(np.array([2, 0, 1], dtype=np.int64), np.array([5, 7, 3], dtype=np.int64))
    out = pd.DataFrame(
        {"query_row": [0, 2, 9], "register_row": [7, 5, 9], "match_probability": [0.25, 0.5, 1.0]}
    )
    # (1, 3) was not returned: score 0; (9, 9) is not a candidate: ignored
    assert splink_method._align(cands, out, 10).tolist() == [0.5, 0.25, 0.0]
    ordered = Candidates(np.array([0, 1, 2]), np.array([7, 3, 5]))  # as blocking gives them
    assert splink_method._align(ordered, out, 10).tolist() == [0.25, 0.0, 0.5]


def test_term_frequency_adjustments_run(clean) -> None:
    task, prep, cands, _ = clean
    scored = _method(term_frequency=True).score(prep, cands)
    truth = _pairs(task.truth.query_row.to_numpy(), task.truth.register_row.to_numpy())
    assert _pairs(scored.query_row[scored.accept], scored.register_row[scored.accept]) == truth


def test_no_candidates() -> None:
    task = clean_task(seed=3, n_people=2000, n_query=20)
    prep = PreparedTask(task, seed=1)
    empty = np.zeros(0, dtype=np.int64)
    scored = _method().score(prep, Candidates(empty, empty))
    assert len(scored.score) == 0 and scored.accept.dtype == bool


#: Crosscheck in small: the listed people always live elsewhere (no true link agrees on the
#: address) and few are in the register. On this population, seed 2, Splink's EM drives the m
#: of an address-agreement level past float64 in the first-and-last-name session: the earlier
#: workaround dropped that session and declared 33 links for 120 true ones.
MOVED = """
[scenario]
name = "moved"
description = "Crosscheck in small."
seed = 2

[population]
size = 60000
people_per_zip = 2000

[register]
coverage = 0.7

[register.noise]
stale_address = { rate = 0.5 }
previous_surname = { rate = 0.3 }
typo = { rate = 0.01 }
missing = { rate = 0.01, field_rates = { middle_name = 0.4, suffix = 0.5 } }

[query]
size = 4000
share_in_register = 0.03

[query.noise]
other_address = { rate = 1.0, p_same_zip = 0.0 }
typo = { rate = 0.01 }
missing = { rate = 0.01, field_rates = { middle_name = 0.4, suffix = 0.5 } }
"""


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory):
    """The MOVED task (its training needs the m floor), its candidates, Splink's input files
    and the model asked for."""
    from bench.linkage.config import parse_benchmark
    from synthetic.scenario import build_task
    from tests.conftest import read_toml_text

    bench = parse_benchmark(read_toml_text(MOVED))
    task = build_task(bench.scenario, 2)
    prep = PreparedTask(task, seed=2)
    cands, _ = block(prep, bench.blocking)
    directory = tmp_path_factory.mktemp("moved")
    files = splink_method.write_inputs(prep, sorted(DEFAULT_FIELDS), cands, directory)
    model = splink_method.SplinkModel(
        fields=DEFAULT_FIELDS,
        training_blocks=[["first_name", "last_name"], ["dob"]],
        u_max_pairs=100_000,
        seed=2,
    )
    return task, prep, cands, files, model


def test_em_trains_every_session_with_m_floored(monkeypatch, moved) -> None:
    """m driven to 0 by EM is held at the floor, every session trains, and the links are sane."""
    task, prep, _, (q, r, pairs), model = moved
    trained: list[dict] = []
    train = getattr(splink_method, "_train", None)  # (absent before the floor)

    def spy(*args, **kwargs):
        linker = train(*args, **kwargs)  # type: ignore[misc]
        trained.append(linker.misc.save_model_to_json())
        return linker

    monkeypatch.setattr(splink_method, "_train", spy, raising=False)
    out = splink_method.score_parquet([q], [r], [pairs], model)
    width = prep.n_register
    truth = set((task.truth["query_row"] * width + task.truth["register_row"]).tolist())
    links = out[out["match_probability"] >= 0.9]
    declared = set((links["query_row"] * width + links["register_row"]).tolist())
    assert len(truth) == 120
    assert len(declared & truth) >= 0.85 * len(truth) and len(declared) <= 1.2 * len(truth)
    (settings,) = trained
    levels = [
        (c["output_column_name"], level)
        for c in settings["comparisons"]
        for level in c["comparison_levels"]
        if not level.get("is_null_level")
    ]
    # An absent m is a level no session's pairs show, for which Splink takes 1e-6 (the floor).
    assert all(level.get("m_probability", 1e-6) >= splink_method.M_FLOOR for _, level in levels)
    # Every comparison's exact level was trained (a dropped session would leave some untrained).
    assert all("m_probability" in c["comparison_levels"][1] for c in settings["comparisons"])
    floored = {f for f, level in levels if level.get("fix_m_probability")}
    assert "house_number" in floored or "street" in floored  # the floor was needed here


def test_em_on_pattern_counts_estimates_as_em_on_every_pair(monkeypatch, moved) -> None:
    """Splink's EM on agreement-pattern counts on two threads gives the per-pair EM's scores
    on one, on data whose training needs the m floor (a table this small is one row group, so
    the thread count cannot show here: ``duckdb_threads`` holds that rule, tested below)."""
    _, prep, cands, (q, r, pairs), model = moved
    scores = {}
    for patterns, threads in ((False, 1), (True, 2)):
        monkeypatch.setattr(splink_method, "em_on_patterns", lambda _, p=patterns: p)
        monkeypatch.setattr(splink_method, "duckdb_threads", lambda _, t=threads: t)
        out = splink_method.score_parquet([q], [r], [pairs], model)
        scores[patterns, threads] = splink_method._align(cands, out, prep.n_register)
    assert (scores[False, 1] >= 0.9).sum() > 100
    np.testing.assert_allclose(scores[True, 2], scores[False, 1], rtol=0, atol=1e-6)


def test_retraining_compares_each_sessions_pairs_and_samples_u_once(monkeypatch, moved) -> None:
    """A retraining with levels held at the floor reuses the sessions' comparison vectors and
    the u sample, and scores exactly as computing them again."""
    from contextlib import nullcontext

    from splink.internals.em_training_session import EMTrainingSession
    from splink.internals.linker_components import training

    _, prep, cands, (q, r, pairs), model = moved
    compute = EMTrainingSession._comparison_vectors
    sample = training.estimate_u_values
    computed: list[str] = []
    sampled: list[int] = []
    trainings: list[str] = []

    def counted(session):
        computed.append(session._blocking_rule_for_training.blocking_rule_sql)
        return compute(session)

    def counted_u(linker, **kwargs):
        sampled.append(kwargs["max_pairs"])
        return sample(linker, **kwargs)

    def train_once(*args, **kwargs):
        trainings.append(args[5])  # uid
        return splink_method_train_once(*args, **kwargs)

    splink_method_train_once = splink_method._train_once
    monkeypatch.setattr(EMTrainingSession, "_comparison_vectors", counted)
    monkeypatch.setattr(training, "estimate_u_values", counted_u)
    monkeypatch.setattr(splink_method, "_train_once", train_once)
    scores = []
    for memo in (True, False):
        for name in ("_comparison_vectors_once", "_u_sampled_once"):
            monkeypatch.setattr(
                splink_method, name, getattr(splink_method, name) if memo else nullcontext
            )
        computed.clear()
        sampled.clear()
        trainings.clear()
        out = splink_method.score_parquet([q], [r], [pairs], model)
        scores.append(splink_method._align(cands, out, prep.n_register))
        if memo:
            assert len(trainings) >= 2  # the floor retrained here
            assert sorted(computed) == sorted(set(computed)) and len(computed) == 2
            assert sampled == [model.u_max_pairs]
    assert len(computed) == 2 * len(trainings)  # without the memos: every training again
    assert len(sampled) == len(trainings)
    assert scores[0].tobytes() == scores[1].tobytes()
    assert EMTrainingSession._comparison_vectors is counted  # the memos put Splink's back
    assert training.estimate_u_values is counted_u


def test_two_table_sql_scores_as_splinks_own(monkeypatch, moved) -> None:
    """Splink's SQL as :func:`splink_sql` rewrites it (EM sessions blocked query against
    register, the record concatenation inlined) gives the bytes of Splink's own SQL, on data
    whose training retrains with the m floor; and the rewrites did apply."""
    from splink.internals.duckdb.database_api import DuckDBAPI

    _, prep, cands, (q, r, pairs), model = moved
    run: list[str] = []
    execute = DuckDBAPI._execute_sql_against_backend

    def spy(self, sql):  # type: ignore[no-untyped-def]
        run.append(sql)
        return execute(self, sql)

    monkeypatch.setattr(DuckDBAPI, "_execute_sql_against_backend", spy)
    rewritten = splink_method.score_parquet([q], [r], [pairs], model)
    sessions = [s for s in run if splink_method._LINK_ONLY in s]
    assert len(sessions) >= 2  # the EM sessions' self-joins, each narrowed
    assert all(
        "l.\"source_dataset\" = 'query' and r.\"source_dataset\" = 'register'" in s
        for s in sessions
    )
    concat = [s for s in run if "__splink__df_concat" in s]
    assert concat and not any("__splink__df_concat as (" in s for s in concat)
    compared = [s for s in run if "inner join __splink__df_concat_with_tf as l" in s]
    assert compared and all(
        "as l\n    on l.\"source_dataset\" = 'query' and " in s
        and "as r\n    on r.\"source_dataset\" = 'register' and " in s
        for s in compared
    )  # each session's pairs joined to the query's records, then the register's
    pruned = [s for s in run if "semi join lr_blocked as pairs" in s]
    assert len(pruned) == 2 and all(
        f"on source.\"source_dataset\" = '{side}' and " in s
        for s, side in zip(pruned, ("query", "register"), strict=True)
    )  # the records of the pairs to predict, each side from its own table
    assert 'source."unique_id" = pairs.register_row' in pruned[1]  # the register's, on numbers
    run.clear()
    monkeypatch.setattr(splink_method, "splink_sql", lambda sql: sql)
    own = splink_method.score_parquet([q], [r], [pairs], model)
    assert any("__splink__df_concat as (" in s for s in run)  # Splink's SQL as it was
    a = splink_method._align(cands, rewritten, prep.n_register)
    b = splink_method._align(cands, own, prep.n_register)
    assert (a >= 0.9).sum() > 100 and a.tobytes() == b.tobytes()


def test_splink_sql_narrows_only_link_only_self_joins() -> None:
    self_join = (
        "WITH\n\n__splink__df_concat as (\nselect 1\n), \n\n__splink__df_concat_with_tf_left as "
        "(x) select * from __splink__df_concat as l inner join __splink__df_concat as r on "
        'l."dob" = r."dob" where l."source_dataset" || \'-__-\' || l."unique_id" < '
        'r."source_dataset" || \'-__-\' || r."unique_id" and l."source_dataset" != '
        'r."source_dataset"'
    )
    out = splink_method.splink_sql(self_join)
    assert "__splink__df_concat as not materialized (" in out
    assert "__splink__df_concat_with_tf_left as (x)" in out  # another CTE is left alone
    assert out.endswith(
        'l."source_dataset" != r."source_dataset" and l."source_dataset" = \'query\' '
        "and r.\"source_dataset\" = 'register'"
    )
    two_tables = "select * from a as l inner join b as r on l.x = r.x where 1=1"
    assert splink_method.splink_sql(two_tables) == two_tables
    side = "inner join __splink__df_concat_with_tf as {0}\n    on {0}.k = b.join_key_{0}"
    compare = f"from pairs as b\n    {side.format('l')}\n    {side.format('r')}"
    assert splink_method.splink_sql(compare) == compare.replace(
        "on l.", "on l.\"source_dataset\" = 'query' and l."
    ).replace("on r.", "on r.\"source_dataset\" = 'register' and r.")
    pruned = compare.replace("concat_with_tf", "pruned_predict_input")  # predict: left alone
    assert splink_method.splink_sql(pruned) == pruned
    semi = "from (x) as source\n    semi join lr_blocked as pairs\n    on {0} = pairs.join_key_{1}"
    key = 'source."source_dataset" || \'-__-\' || source."unique_id"'
    assert splink_method.splink_sql(semi.format(key, "l")) == semi.format(
        f"source.\"source_dataset\" = 'query' and {key}", "l"
    )
    by_row = 'source."source_dataset" = \'register\' and source."unique_id" = pairs.register_row'
    own = "from (x) as source\n    semi join lr_blocked as pairs\n    on " + by_row
    assert splink_method.splink_sql(semi.format(key, "r")) == own
    other = semi.format(key, "r").replace("lr_blocked", "their_pairs")  # not ours: strings
    assert splink_method.splink_sql(other) == other.replace(
        "on source.", "on source.\"source_dataset\" = 'register' and source.", 1
    )


def test_splink_takes_every_core_only_where_its_sums_keep_one_order(monkeypatch) -> None:
    monkeypatch.setattr(splink_method.os, "cpu_count", lambda: 8)

    def threads(fields: dict[str, str], term_frequency: bool = False) -> int:
        model = splink_method.SplinkModel(fields, [], 1000, 1, term_frequency=term_frequency)
        return splink_method.duckdb_threads(model)

    assert threads(DEFAULT_FIELDS) == 8  # 5**5 * 3**2 = 28,125 agreement patterns at most
    assert threads(DEFAULT_FIELDS, term_frequency=True) == 1  # EM sums over every pair
    many = {**DEFAULT_FIELDS, "suffix": "name", "full_name": "name"}  # 703,125 patterns
    assert threads(many) == 1
    assert threads({"zip": "exact"}) == 8


def test_collapsed_levels_are_the_unfixed_ones_below_the_floor() -> None:
    settings = {
        "comparisons": [
            {
                "output_column_name": "street",
                "comparison_levels": [
                    {"is_null_level": True},
                    {"m_probability": 1e-40},
                    {"m_probability": splink_method.M_FLOOR, "fix_m_probability": True},
                    {"m_probability": 0.3},
                    {"m_probability": "level not observed in training dataset"},
                ],
            }
        ]
    }
    linker = types.SimpleNamespace(misc=types.SimpleNamespace(save_model_to_json=lambda: settings))
    assert splink_method._collapsed_levels(linker) == {("street", 1)}


@pytest.mark.parametrize(
    ("params", "where", "problem"),
    [
        ({"threshold": 1.5}, "m.threshold", "in [0, 1]"),
        ({"u_max_pairs": 10}, "m.u_max_pairs", "in [1000, 100,000,000]"),
        ({"engine": "numpy"}, "m.engine", "one of duckdb, spark"),
        ({"term_frequency": "yes"}, "m.term_frequency", "true or false"),
        ({"fields": {"ssn": "exact"}}, "m.fields.ssn", "unknown field"),
        (
            {"training_blocks": [[{"field": "last_name", "compare": "soundex"}]]},
            "m.training_blocks.passes[0][0].compare",
            "exact, initial, year",
        ),
        (
            {"training_blocks": [[{"field": "name", "compare": "initial"}]]},
            "m.training_blocks.passes[0][0].compare",
            "composite field (name) takes exact keys only",
        ),
        ({"session_max_pairs": 0}, "m.session_max_pairs", "in [1000, 100,000,000]"),
        (
            {"fields": {"dob": "date"}, "training_blocks": [[{"field": "dob"}]]},
            "m.training_blocks",
            "'dob' is in every training block",
        ),
        (
            {"training_blocks": [[{"field": "name"}]]},
            "m.training_blocks",
            "'first_name' is in every training block",
        ),
    ],
)
def test_parameter_validation(params: dict, where: str, problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        METHODS["splink"].validate(params, "m")
    assert exc.value.where == where and problem in exc.value.problem


def test_training_block_keys_become_splink_sql() -> None:
    sessions = splink_method.training_sessions(
        [[{"field": "name"}], [{"field": "dob", "compare": "year"}]], "t"
    )
    assert sessions == [
        ({"first_name", "last_name"}, ["first_name", "last_name"]),
        ({"dob"}, ["substr(dob, 1, 4)"]),
    ]


# --- engines ---


def test_engines_declared() -> None:
    assert METHODS["splink"].engines == ("duckdb", "spark")
    assert METHODS["fellegi-sunter"].engines == ("numpy",)


def test_use_engine_sets_only_methods_that_declare_it(monkeypatch) -> None:
    monkeypatch.setattr(splink_method, "missing_spark_requirement", lambda: None)
    fs_cls = METHODS["fellegi-sunter"]
    fs = fs_cls("fs", fs_cls.validate({}, "fs"), "best")
    sp = _method()
    use_engine([fs, sp], "spark")
    assert sp.params["engine"] == "spark" and "engine" not in fs.params
    with pytest.raises(ConfigError, match="no method of this scenario runs on spark"):
        use_engine([fs], "spark")
    with pytest.raises(ConfigError, match=r"unknown engine 'gpu' \(known: duckdb, numpy, spark\)"):
        use_engine([sp], "gpu")


def _no_pyspark(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError


def _fake_pyspark_no_java(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(splink_method.shutil, "which", lambda name: None)


def test_spark_without_pyspark_names_the_extra(monkeypatch) -> None:
    _no_pyspark(monkeypatch)
    with pytest.raises(ConfigError) as exc:
        _method(engine="spark")
    assert exc.value.where == "m.engine"
    assert 'pip install "linkrisk[spark]"' in exc.value.problem


def test_spark_without_java_names_java(monkeypatch) -> None:
    _fake_pyspark_no_java(monkeypatch)
    with pytest.raises(ConfigError, match="needs Java 17 or newer: none on PATH and JAVA_HOME"):
        _method(engine="spark")


def test_spark_with_old_java(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    java = tmp_path / "bin" / "java"
    java.parent.mkdir()
    java.write_text("#!/bin/sh\necho 'openjdk version \"11.0.2\" 2019-01-15' >&2\n")
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match=r"needs Java 17 or newer; .* is Java 11"):
        _method(engine="spark")


@pytest.mark.parametrize(
    ("text", "major"),
    [('java version "1.8.0_292"', 8), ('openjdk version "17.0.15" 2025-04-15', 17), ("?", None)],
)
def test_java_major(monkeypatch, text: str, major: int | None) -> None:
    result = types.SimpleNamespace(stdout="", stderr=text)
    monkeypatch.setattr(splink_method.subprocess, "run", lambda *a, **k: result)
    assert splink_method._java_major("java") == major


def _scenario(tmp_path: Path, methods: str) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY + methods, encoding="utf-8")
    return path


SPLINK_ONLY = '\n[[methods]]\nname = "splink"\nkind = "splink"\nu_max_pairs = 100000\n'


@pytest.mark.parametrize("missing", [_no_pyspark, _fake_pyspark_no_java])
def test_cli_engine_spark_missing_requirement(
    missing, monkeypatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing(monkeypatch)
    out = tmp_path / "out"
    scenario = str(_scenario(tmp_path, SPLINK_ONLY))
    code = main(["run", scenario, "--engine", "spark", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("linkrisk: error: ")
    assert "method splink.engine: the spark engine needs " in err
    assert ("linkrisk[spark]" in err) if missing is _no_pyspark else ("JAVA_HOME" in err)


def test_cli_engine_without_a_taker(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    rule = '\n[[methods]]\nname = "r"\nkind = "rule"\npasses = [[{ field = "dob" }]]\n'
    out = tmp_path / "out"
    code = main(["run", str(_scenario(tmp_path, rule)), "--engine", "spark", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err == "linkrisk: error: --engine: no method of this scenario runs on spark\n"


def test_cli_run_records_the_engine(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    scenario = str(_scenario(tmp_path, SPLINK_ONLY))
    code = main(
        ["run", scenario, "--engine", "duckdb", "--out", str(out), "--no-progress", "--no-html"]
    )
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "raw" / "run.json").read_text())["engine"] == "duckdb"
    assert json.loads((out / "raw" / "splink.json").read_text())["params"]["engine"] == "duckdb"
    frame = pd.read_parquet(out / "raw" / "splink.parquet")
    assert frame["link"].sum() > 0 and frame["score"].dtype == np.float32


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 1000])
def test_code_indices_are_the_codes_own_buffer_with_nulls(n: int) -> None:
    import pyarrow as pa

    codes = np.random.default_rng(n).integers(-1, 5, n).astype(np.int32)
    indices = splink_method.code_indices(codes)
    assert indices.equals(pa.array(codes, type=pa.int32(), mask=codes < 0))
    if n:  # no copy of the codes
        assert indices.buffers()[1].address == codes.ctypes.data
    values = pa.DictionaryArray.from_arrays(indices, pa.array(list("abcde")))
    values.validate(full=True)
    assert values.to_pylist() == [None if c < 0 else "abcde"[c] for c in codes]
