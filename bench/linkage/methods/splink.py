"""Splink 5 as a linkage method, on DuckDB (default) or Spark, scoring linkrisk's candidates.

Splink gets the same normalized values every other method sees (each field's integer codes
gathered back to their distinct normalized strings, None where missing), and scores exactly the
blocked candidate pairs (``register_blocked_pairs_for_predict``), so blocking loss is the same as
for the other scored methods and the comparison is of models, not of cleaning or blocking.

The model is trained the way Splink's documentation trains one:

1. **u** by random sampling (``estimate_u_using_random_sampling``, seeded from the task's seed);
2. **m** by EM training sessions blocked on ``training_blocks`` (the fields of a session's block
   are left out of it, by Splink), iterating on the counts of distinct agreement patterns
   (:func:`em_on_patterns`; on every core: :func:`duckdb_threads`); a level whose m EM drives
   to 0 is held at a floor with Splink's ``fix_m_probability`` and the model retrained
   (:func:`_train`), since Splink 5's EM has no prior on m and refuses an m that underflows
   float64;
3. **lambda** from the EM sessions (Splink reverses each session's blocking with the trained
   Bayes factors and takes the median over sessions).

Comparison levels follow linkrisk's comparison kinds (:data:`SPLINK_COMPARISONS`). The record
tables go to either engine as parquet files (:func:`write_inputs`; Spark can then read files on a
shared file system, e.g. sharded registers, directly), the candidate pairs to DuckDB as an Arrow
table on the task's arrays. Splink's DuckDB SQL is planned as a two-table link
(:func:`splink_sql`): the scores are Splink's own, to the byte.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.linkage.blocking import row_chunks, spilling_duckdb, validate_blocking
from bench.linkage.comparisons import DEFAULT_FIELDS, validate_fields
from bench.linkage.fields import COMPOSITES, PreparedTask
from bench.linkage.methods.base import Candidates, Method, MethodNotRun, Param, Scored, register
from bench.linkage.methods.fellegi_sunter import DEFAULT_TRAINING_BLOCKS
from synthetic.errors import ConfigError
from synthetic.rng import stable_hash

#: Environment variable naming the Spark master (a cluster URL); default ``local[2]``.
SPARK_MASTER_ENV = "LINKRISK_SPARK_MASTER"
DEFAULT_SPARK_MASTER = "local[2]"
SPARK_EXTRA = 'pip install "linkrisk[spark]"'
QUERY, REGISTER = "query", "register"  # Splink's source_dataset values (query on the left)
#: Key transforms of training blocks, as SQL on the column (Splink must see the column to
#: leave its comparison out of the session).
BLOCK_SQL: dict[str, Callable[[str], str]] = {
    "exact": lambda col: col,
    "initial": lambda col: f"substr({col}, 1, 1)",
    "year": lambda col: f"substr({col}, 1, 4)",
}


def _name_comparison(col: str) -> Any:
    import splink.comparison_library as cl

    return cl.JaroWinklerAtThresholds(col, [0.92, 0.80])  # linkrisk's "name" cut points


def _date_comparison(col: str) -> Any:
    import splink.comparison_library as cl

    # linkrisk's "date" levels cut Levenshtein similarity at 0.9 and 0.7: on 10-character dates,
    # at most 1 and 3 edits.
    return cl.LevenshteinAtThresholds(col, [1, 3])


def _exact_comparison(col: str) -> Any:
    import splink.comparison_library as cl

    return cl.ExactMatch(col)


#: linkrisk comparison kind -> the Splink comparison with the same levels.
SPLINK_COMPARISONS: dict[str, Callable[[str], Any]] = {
    "name": _name_comparison,
    "date": _date_comparison,
    "exact": _exact_comparison,
}


@dataclass(frozen=True)
class SplinkModel:
    """What Splink is asked to fit: comparisons, training blocks, and sampling settings."""

    fields: Mapping[str, str]  # field -> linkrisk comparison kind
    training_blocks: Sequence[Sequence[str]]  # per session, SQL expressions to block on
    u_max_pairs: int
    seed: int
    session_max_pairs: int | None = None
    term_frequency: bool = False


@register
class Splink(Method):
    """Splink 5 (u by random sampling, m by EM sessions), scoring the blocked candidates."""

    kind = "splink"
    summary = "Splink 5: u from random pairs, m by EM in blocked sessions (DuckDB or Spark)"
    engines = ("duckdb", "spark")
    threshold_param = "threshold"
    score_scale = "probability"
    posterior_scores = True
    params_schema: ClassVar[Mapping[str, Param]] = {
        "threshold": Param(
            0.9, "accept pairs with Splink's match_probability >= this", lo=0.0, hi=1.0
        ),
        "fields": Param(dict(DEFAULT_FIELDS), "field = comparison kind", validator=validate_fields),
        "training_blocks": Param(
            DEFAULT_TRAINING_BLOCKS, "blocks of the EM sessions (keys: exact, initial or year)"
        ),
        "u_max_pairs": Param(1_000_000, "random pairs Splink samples to estimate u", lo=1000),
        "session_max_pairs": Param(
            5_000_000, "pairs per EM session at most (Splink samples records beyond)", lo=1000
        ),
        "term_frequency": Param(False, "term-frequency adjustments on exact-match levels"),
        "engine": Param("duckdb", "the engine Splink runs on", choices=engines),
        "spark_master": Param(
            "", f"Spark master URL (default: ${SPARK_MASTER_ENV}, else {DEFAULT_SPARK_MASTER})"
        ),
    }
    example_params: ClassVar[Mapping[str, Any]] = {"u_max_pairs": 100_000}

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = super().validate(params, where)
        for field, kind in out["fields"].items():
            if kind not in SPLINK_COMPARISONS:
                raise ConfigError(f"{where}.fields.{field}", f"no Splink comparison for {kind!r}")
        sessions = training_sessions(out["training_blocks"], f"{where}.training_blocks")
        estimated: set[str] = set()
        for blocked, _ in sessions:
            estimated |= set(out["fields"]) - blocked
        if missing := sorted(set(out["fields"]) - estimated):
            raise ConfigError(
                f"{where}.training_blocks",
                f"field {missing[0]!r} is in every training block, so its m is never estimated",
            )
        if out["engine"] == "spark" and (problem := missing_spark_requirement()):
            raise ConfigError(f"{where}.engine", problem)
        return out

    def reads(self) -> frozenset[str]:
        sessions = training_sessions(self.params["training_blocks"], "training_blocks")
        blocked = {f for fields, _ in sessions for f in fields}
        # a session replacing one on a field missing from a side (usable_sessions)
        return frozenset(self.params["fields"]).union(blocked, FALLBACK_TRAINING_FIELDS)

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        p = self.params
        sessions = training_sessions(p["training_blocks"], "training_blocks")
        named = set(p["fields"]).union(*(blocked for blocked, _ in sessions))
        present = {f for f in named if _present(prep, f)}
        sessions = usable_sessions(sessions, p["fields"], present)
        model = SplinkModel(
            fields=p["fields"],
            training_blocks=[exprs for _, exprs in sessions],
            u_max_pairs=p["u_max_pairs"],
            session_max_pairs=p["session_max_pairs"],
            seed=stable_hash(f"splink:{prep.seed}:{self.name}") % 2**31,
            term_frequency=p["term_frequency"],
        )
        columns = sorted(set(p["fields"]).union(*(blocked for blocked, _ in sessions)))
        prob = np.zeros(len(candidates), dtype=np.float32)
        if len(candidates):
            chunks = query_chunks(candidates.query_row, prep.n_query, PREDICT_CHUNK_PAIRS)
            with tempfile.TemporaryDirectory(prefix="linkrisk-splink-") as tmp:
                # Both engines read the record tables from files (see write_inputs); DuckDB
                # scans the pairs as an Arrow table in place.
                q: Source
                r: Source
                pairs: Source
                spark = p["engine"] == "spark"
                files = write_inputs(prep, columns, candidates, Path(tmp), pairs=spark)
                q, r = [files[0]], [files[1]]
                pairs = [files[2]] if spark else pair_table(candidates)
                scored = predict_chunks(
                    q, r, pairs, model, [(c.start, c.stop) for c, _ in chunks],
                    engine=p["engine"], master=p["spark_master"],
                )  # fmt: skip
                for (_, at), out in zip(chunks, scored, strict=True):
                    part = Candidates(candidates.query_row[at], candidates.register_row[at])
                    prob[at] = _align(part, out, prep.n_register)
        accept = prob >= p["threshold"]
        return Scored(candidates.query_row, candidates.register_row, prob, accept)


#: Fields a replacement training session blocks on (exactly), in order of preference, when the
#: configured sessions leave a field's m unestimated because some session's field is missing.
FALLBACK_TRAINING_FIELDS = ("dob", "zip", "last_name", "street", "first_name", "house_number")


def _present(prep: PreparedTask, field: str) -> bool:
    """Whether ``field`` has a value in some record of each side (else no pair agrees on it)."""
    coded = prep.field(field)
    return bool((coded.q >= 0).any() and (coded.r >= 0).any())


def usable_sessions(
    sessions: list[tuple[set[str], list[str]]], fields: Mapping[str, str], present: set[str]
) -> list[tuple[set[str], list[str]]]:
    """The training sessions that can run on this input, replacements included.

    A session blocked on a field no record pair can agree on (missing on a side, as dates of
    birth in tax files) yields no pairs, and Splink's EM refuses it; it is left out. If that
    leaves the m of a present field unestimated, a session blocked on the first present field
    of :data:`FALLBACK_TRAINING_FIELDS` outside those fields is added. Raises
    :class:`MethodNotRun` when no session can estimate every present field's m."""
    kept = [(b, e) for b, e in sessions if b <= present]
    wanted = set(fields) & present

    def unestimated() -> set[str]:
        return wanted - set().union(*(wanted - b for b, _ in kept))

    if (todo := unestimated()) or not kept:
        for field in FALLBACK_TRAINING_FIELDS:
            if field in present and field not in todo and ({field}, [field]) not in kept:
                kept.append(({field}, [field]))
                if not (todo := unestimated()):
                    break
    if todo or not kept:
        dropped = sorted(set().union(*(b for b, _ in sessions)) - present)
        raise MethodNotRun(
            f"no EM training block can estimate m of {', '.join(sorted(todo)) or 'any field'} "
            f"(fields missing on a side: {', '.join(dropped) or 'none'})"
        )
    return kept


def training_sessions(spec: Any, where: str) -> list[tuple[set[str], list[str]]]:
    """Validate training blocks: per session, the record fields it constrains and its SQL keys."""
    out = []
    for i, keys in enumerate(validate_blocking({"passes": spec}, where)):
        blocked: set[str] = set()
        exprs = []
        for j, (field, compare, _) in enumerate(keys):
            w = f"{where}.passes[{i}][{j}].compare"
            if compare not in BLOCK_SQL:
                allowed = ", ".join(BLOCK_SQL)
                raise ConfigError(w, f"Splink training blocks take {allowed} keys, not {compare!r}")
            if compare != "exact" and field in COMPOSITES:
                raise ConfigError(w, f"a composite field ({field}) takes exact keys only")
            for part in COMPOSITES.get(field, (field,)):
                blocked.add(part)
                exprs.append(BLOCK_SQL[compare](part))
        out.append((blocked, exprs))
    return out


def input_tables(prep: PreparedTask, columns: Sequence[str]) -> tuple[pa.Table, pa.Table]:
    """The query list and the register as Arrow tables for :func:`score_parquet`, built on the
    task's codes without copying them (the pairs: :func:`pair_table`).

    Each side holds ``unique_id`` (its row number) and one column per field: the normalized
    values the other methods compare (None where missing), dictionary-encoded (a record's code
    into the field's distinct values), not a string per record.
    """
    sides: dict[str, dict[str, pa.Array]] = {
        side: {"unique_id": pa.array(np.arange(n, dtype=np.int64))}
        for side, n in (("q", prep.n_query), ("r", prep.n_register))
    }
    for field in columns:
        coded = prep.field(field)
        dictionary = pa.array(coded.values, type=pa.string())
        for side, cols in sides.items():
            cols[field] = pa.DictionaryArray.from_arrays(
                code_indices(getattr(coded, side)), dictionary
            )
    return pa.table(sides["q"]), pa.table(sides["r"])


def pair_table(candidates: Candidates) -> pa.Table:
    """The candidates as an Arrow table ``query_row, register_row`` (Splink's ``unique_id``
    values to score)."""
    pairs = {"query_row": candidates.query_row, "register_row": candidates.register_row}
    return pa.table({k: pa.array(v, type=pa.int64()) for k, v in pairs.items()})


def code_indices(codes: np.ndarray) -> pa.Array:
    """A field's codes (int32, -1 = missing) as Arrow dictionary indices, nulls where missing,
    on the codes' own buffer: at the real size a copy would be 450 MB a field for the
    register. Arrow leaves the value under a null undefined, so the -1 there is never read."""
    codes = np.ascontiguousarray(codes, dtype=np.int32)  # a view when it already is
    valid = codes >= 0
    nulls = len(codes) - int(np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(
        pa.int32(), len(codes), [bitmap, pa.py_buffer(codes)], null_count=nulls
    )


def write_inputs(
    prep: PreparedTask,
    columns: Sequence[str],
    candidates: Candidates,
    directory: Path,
    pairs: bool = True,
) -> tuple[Path, ...]:
    """:func:`input_tables` written as parquet files, which Splink reads on either engine, and
    :func:`pair_table` of ``candidates`` only if ``pairs`` (DuckDB scans it in place).

    Spark reads files. DuckDB could scan the Arrow tables in place, but it never inlines a CTE
    over a Python (Arrow) scan: Splink's concatenation of both record tables, read twice by
    every statement that compares pairs, was then materialized by each (at the real size 114
    million records, every column; EXPLAIN ANALYZE at 1:10 showed it in every EM and prediction
    statement). Over files it is inlined (:func:`splink_sql`), and each side scans its file.

    Written :data:`INPUT_ROW_GROUP` records at a time, each field as the strings of those
    records, which parquet dictionary-encodes per row group: a field's whole dictionary (at
    the real size millions of distinct streets and surnames) would be written again in every
    row group (a 7 GB register file). Without column statistics, which nothing here reads.
    """
    query, register = input_tables(prep, columns)
    tables = {"query": query, "register": register}
    if pairs:
        tables["pairs"] = pair_table(candidates)
    paths = []
    for name, table in tables.items():
        path = directory / f"{name}.parquet"
        plain = pa.schema(
            [
                f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f
                for f in table.schema
            ]
        )
        with pq.ParquetWriter(path, plain, compression="lz4", write_statistics=False) as out:
            for start in range(0, max(table.num_rows, 1), INPUT_ROW_GROUP):
                part = table.slice(start, INPUT_ROW_GROUP).cast(plain)
                out.write_table(part, row_group_size=INPUT_ROW_GROUP)
        paths.append(path)
    return tuple(paths)


#: Records a row group of Splink's input files holds (:func:`write_inputs`).
INPUT_ROW_GROUP = 1_000_000


#: A table Splink reads: parquet files (or shards of one table), or an Arrow table (DuckDB).
Source: TypeAlias = Sequence[Path | str] | pa.Table

#: Candidate pairs Splink scores at a time (:func:`predict_chunks`): its predictions come back
#: a chunk at a time, so what they take in memory is bounded (at the real size there are
#: hundreds of millions of pairs, each three numbers as Splink returns them).
PREDICT_CHUNK_PAIRS = 20_000_000


def query_chunks(query_row: np.ndarray, n_query: int, size: int) -> list[tuple[slice, slice]]:
    """Runs of consecutive query rows with about ``size`` candidate pairs each (at least one
    query), as (query rows, their pairs' positions): ``query_row`` is sorted, as candidates
    are. Runs without pairs are left out."""
    counts = np.bincount(query_row, minlength=n_query)
    ends = np.r_[0, np.cumsum(counts)]
    return [
        (rows, slice(int(ends[rows.start]), int(ends[rows.stop])))
        for rows in row_chunks(counts, size)
        if ends[rows.stop] > ends[rows.start]
    ]


def score_parquet(
    query: Source,
    register: Source,
    pairs: Source,
    model: SplinkModel,
    *,
    engine: str = "duckdb",
    master: str = "",
) -> pd.DataFrame:
    """Train a Splink model on two record tables and score the given pairs.

    ``query`` and ``register`` are parquet files (or shards of one table), or Arrow tables (the
    DuckDB engine), with a ``unique_id`` column and one string column per field; ``pairs``
    holds ``query_row, register_row`` (the ``unique_id`` values to score). Returns
    ``query_row, register_row, match_probability`` for every pair, in no particular order.
    """
    parts = predict_chunks(query, register, pairs, model, None, engine=engine, master=master)
    return pd.concat(list(parts), ignore_index=True)


def predict_chunks(
    query: Source,
    register: Source,
    pairs: Source,
    model: SplinkModel,
    queries: Sequence[tuple[int, int]] | None,
    *,
    engine: str = "duckdb",
    master: str = "",
) -> Iterator[pd.DataFrame]:
    """:func:`score_parquet`, the pairs scored a chunk at a time: one frame per range
    ``[start, stop)`` of ``queries`` (the pairs of those query rows), or one frame of every
    pair for None. The model is trained once; each pair's probability is the same however the
    pairs are cut (Splink scores pair by pair)."""
    with _quiet_splink(), _backend(engine, master, duckdb_threads(model)) as db:
        db.load("lr_query", query)
        db.load("lr_register", register)
        db.load("lr_pairs", pairs)
        n_q, n_r = db.count("lr_query"), db.count("lr_register")
        tables = [
            db.api.register("lr_query", dataset_display_name=QUERY),
            db.api.register("lr_register", dataset_display_name=REGISTER),
        ]
        linker = _train(tables, db.dialect, model, min(n_q, n_r) / max(n_q * n_r, 1))
        for i, (start, stop) in enumerate([(None, None)] if queries is None else queries):
            name = f"{BLOCKED}{i or ''}"
            where = "" if start is None else f" where query_row >= {start} and query_row < {stop}"
            # Splink's blocked-pairs table: ids are "<source_dataset>-__-<unique_id>"; and the
            # register's row as a number, on which splink_sql prunes the register.
            db.create(
                name,
                "select '0' as match_key, "
                f"'{QUERY}-__-' || cast(query_row as string) as join_key_l, "
                f"'{REGISTER}-__-' || cast(register_row as string) as join_key_r, "
                f"register_row from lr_pairs{where}",
            )
            blocked = db.api.register(name, table_name=f"{name}_pairs")
            linker.table_management.register_blocked_pairs_for_predict(blocked)
            predictions = linker.inference.predict(warning_mode="never")
            yield db.fetch(
                "select unique_id_l as query_row, unique_id_r as register_row, "
                f"match_probability from {predictions.physical_name}"
            )
            predictions.drop_table_from_database_and_remove_from_cache()
            db.drop(name)


#: The m of a level that EM drives to zero is fixed at this floor: Splink's own m for a level
#: that training never observes (its ``LEVEL_NOT_OBSERVED`` value, 1e-6).
M_FLOOR = 1e-6
#: EM iterations of the probe that finds the collapsing levels of a session that underflowed:
#: few enough that no m underflows yet, enough for a collapsing m to fall below M_FLOOR.
PROBE_ITERATIONS = 5
#: Trainings at most (each after the first fixes at least one more level at the floor).
MAX_TRAININGS = 4


def _train(tables: list[Any], dialect: str, model: SplinkModel, start_lambda: float) -> Any:
    """A Splink linker trained on ``tables`` (u by random sampling, m by the EM sessions, lambda
    from the sessions), with no m below :data:`M_FLOOR`.

    Splink's EM has no prior on m: the m of a level that no likely match of a session shows (an
    address agreement where the listed people always moved; a middle-name disagreement among a
    few hundred matches) is driven towards 0 geometrically, faster where such levels meet in the
    same pairs, until Splink 5 refuses an m that underflows float64 and the session fails. Such
    a level is fixed at the floor (``fix_m_probability``, Splink's supported way to hold an m
    through training) and the model retrained from the start: the levels a trained model has
    below the floor, or, when a session underflowed, those a probe of
    :data:`PROBE_ITERATIONS` iterations has below it. Data without collapsing levels train once.
    Raises :class:`MethodNotRun` if no training reaches the floor.
    """
    fixed: set[tuple[str, int]] = set()
    with _comparison_vectors_once(), _u_sampled_once():
        for attempt in range(MAX_TRAININGS):
            # Table names, hence SQL, the same on every run (and the first as before the floor).
            uid = f"linkrisk{attempt or ''}"
            linker = _train_once(tables, dialect, model, start_lambda, fixed, uid)
            if linker is None:  # a session underflowed: a probe shows the collapsing levels
                probe = _train_once(
                    tables, dialect, model, start_lambda, fixed, f"{uid}p", PROBE_ITERATIONS
                )
                low = _collapsed_levels(probe) if probe is not None else set()
            elif not (low := _collapsed_levels(linker)):
                return linker
            if not low:
                break
            fixed |= low
    levels = ", ".join(f"{field} level {i}" for field, i in sorted(fixed)) or "none"
    raise MethodNotRun(f"EM drove m probabilities to 0 (levels fixed at {M_FLOOR:g}: {levels})")


@contextmanager
def _comparison_vectors_once() -> Iterator[None]:
    """Within the block, each EM session's comparison vectors are computed once, not again by
    every retraining and probe of :func:`_train`.

    A session's pairs and their comparison levels do not depend on m, so a retraining with more
    levels held at the floor would block and compare the same pairs again: most of a training's
    time on a big register. Splink 5.0 (pinned) computes them in
    ``EMTrainingSession._comparison_vectors``; in the block it returns the table an earlier
    session with the same blocking rule, pair sampling and comparison columns made on the same
    database (each training's EM then runs as before on it).
    """
    from splink.internals.em_training_session import EMTrainingSession

    compute = EMTrainingSession._comparison_vectors
    made: dict[tuple[Any, ...], Any] = {}

    def once(session: Any) -> Any:
        key = (
            id(session.db_api),
            session._blocking_rule_for_training.blocking_rule_sql,
            session._max_pairs,
            session._probe_proportion,
            tuple(session.columns_to_select_for_comparison_vector_values),
        )
        if key not in made:
            made[key] = compute(session)
        return made[key]

    EMTrainingSession._comparison_vectors = once  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        EMTrainingSession._comparison_vectors = compute  # type: ignore[method-assign]


@contextmanager
def _u_sampled_once() -> Iterator[None]:
    """Within the block, u is sampled once, not again by every retraining and probe of
    :func:`_train`.

    u is each level's share among random pairs: it does not depend on m, so a retraining with
    levels held at the floor would draw the same sample and count the same levels (a third of
    Splink's time on a small scenario). Splink 5.0 (pinned) samples in ``estimate_u_values``,
    which appends each level's estimate to its trained u values; in the block a later call on
    the same database, settings of the sample and comparison levels appends the first call's
    estimates instead (the training then sets u from them as after sampling).
    """
    from splink.internals.linker_components import training

    sample = training.estimate_u_values
    made: dict[tuple[Any, ...], list[list[list[dict[str, Any]]]]] = {}

    def levels(linker: Any) -> list[list[Any]]:
        comparisons = linker._settings_obj.comparisons
        return [c._comparison_levels_excluding_null for c in comparisons]

    def once(linker: Any, **kwargs: Any) -> None:
        key = (
            id(linker._db_api),
            tuple(sorted(kwargs.items())),
            tuple(tuple(level.sql_condition for level in c) for c in levels(linker)),
        )
        if key not in made:
            sample(linker, **kwargs)
            made[key] = [[list(lv._trained_u_probabilities) for lv in c] for c in levels(linker)]
            return
        for comparison, estimates in zip(levels(linker), made[key], strict=True):
            for level, records in zip(comparison, estimates, strict=True):
                for rec in records:
                    level._add_trained_u_probability(rec["probability"], rec["description"])

    training.estimate_u_values = once  # type: ignore[assignment]
    try:
        yield
    finally:
        training.estimate_u_values = sample


def _train_once(
    tables: list[Any],
    dialect: str,
    model: SplinkModel,
    start_lambda: float,
    fixed: set[tuple[str, int]],
    uid: str,
    max_iterations: int | None = None,
) -> Any:
    """One training from the start, the ``fixed`` (field, level index) m held at the floor;
    None if an EM session underflowed."""
    from splink import Linker, SettingsCreator, block_on

    comparisons = []
    for field, kind in model.fields.items():
        creator = SPLINK_COMPARISONS[kind](field)
        if model.term_frequency:
            creator = creator.configure(term_frequency_adjustments=True)
        spec = creator.create_comparison_dict(dialect)
        for i, level in enumerate(spec["comparison_levels"]):
            if (field, i) in fixed:
                level.update(m_probability=M_FLOOR, fix_m_probability=True)
        comparisons.append(spec)
    # Any: mypy checks a **dict's value type against every keyword SettingsCreator takes
    limit: dict[str, Any] = {} if max_iterations is None else {"max_iterations": max_iterations}
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        # A starting value only: the EM sessions re-estimate it.
        probability_two_random_records_match=start_lambda,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        linker_uid=uid,
        **limit,
    )
    linker = Linker(tables, settings, log_level=None)
    # All the sampled pairs in one chunk (Splink's default probes 10 chunks per comparison
    # and may stop early): u from u_max_pairs pairs, as fellegi-sunter's from u_sample.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=model.u_max_pairs, seed=model.seed, min_count_per_level=None, num_chunks=1
    )
    em = linker.training.estimate_parameters_using_expectation_maximisation
    sessions = []
    for exprs in model.training_blocks:
        try:
            sessions.append(
                em(
                    block_on(*exprs),
                    max_pairs=model.session_max_pairs,
                    estimate_without_term_frequencies=em_on_patterns(model),
                )
            )
        except ValueError as exc:
            # Splink 5 refuses an m that underflows float64 ("below the minimum allowed value")
            if "below the minimum allowed value" not in str(exc):
                raise
            return None
    _lambda_from_sessions(linker, sessions)
    return linker


#: Rows of a DuckDB row group: DuckDB scans a table in parallel by row groups, so a table of at
#: most this many rows is aggregated by one thread, in one order.
DUCKDB_ROW_GROUP = 122_880


def em_on_patterns(model: SplinkModel) -> bool:
    """Whether Splink's EM iterates on the counts of distinct agreement patterns rather than on
    every pair (``estimate_without_term_frequencies``): the same estimates when no level has a
    term-frequency adjustment, which only the per-pair iteration applies."""
    return not model.term_frequency


def duckdb_threads(model: SplinkModel) -> int:
    """DuckDB threads for Splink: every core when its results cannot depend on the thread count.

    Parallel aggregation adds floats in an order that varies from run to run, and byte-identical
    results need one order. What Splink sums on threads is counts (u: pairs per level; EM: pairs
    per agreement pattern), exact in any order, and the row-by-row scores are the same on any
    thread. The one float sum, EM's expected matches per level, is over the agreement-pattern
    table when :func:`em_on_patterns`; a table within one row group is scanned by one thread.
    So: every core if the model's pattern space fits in a row group, else one thread.
    """
    patterns = 1
    for field, kind in model.fields.items():
        levels = SPLINK_COMPARISONS[kind](field).create_comparison_dict("duckdb")
        patterns *= len(levels["comparison_levels"])
    if em_on_patterns(model) and patterns <= DUCKDB_ROW_GROUP:
        return os.cpu_count() or 1
    return 1


def _collapsed_levels(linker: Any) -> set[tuple[str, int]]:
    """The (field, level index) whose trained m is below the floor and not fixed."""
    out = set()
    for spec in linker.misc.save_model_to_json()["comparisons"]:
        for i, level in enumerate(spec["comparison_levels"]):
            m = level.get("m_probability")
            if isinstance(m, float) and m < M_FLOOR and not level.get("fix_m_probability"):
                out.add((spec["output_column_name"], i))
    return out


def _lambda_from_sessions(linker: Any, sessions: list[Any]) -> None:
    """Splink's lambda from the EM sessions, once every m is trained, skipping degenerate ones.

    Splink reverses each session's blocking with the trained Bayes factors of the blocked levels
    (the m of those fields comes from the other sessions, hence after all of them) and takes the
    median over sessions. A session whose pairs EM judged all matches (lambda = 1, as on
    identically recorded people) says nothing about lambda and would make the median NaN.
    """
    usable = [
        s for s in sessions if 0 < s.core_model_settings.probability_two_random_records_match < 1
    ]
    if usable:  # else the starting value stands
        linker._em_training_sessions[:] = usable  # splink 5.0 internals (pinned)
        linker._populate_probability_two_random_records_match_from_trained_values()


def _align(candidates: Candidates, out: pd.DataFrame, n_register: int) -> np.ndarray:
    """Splink's probabilities in candidate order; pairs Splink did not return score 0."""
    width = max(n_register, 1)
    keys = candidates.query_row * width + candidates.register_row
    # Candidates come sorted and distinct from blocking: then searched as they are, no sort
    order = None if bool(np.all(keys[1:] > keys[:-1])) else np.argsort(keys, kind="stable")
    ordered = keys if order is None else keys[order]
    got = out["query_row"].to_numpy(np.int64) * width + out["register_row"].to_numpy(np.int64)
    at = np.clip(np.searchsorted(ordered, got), 0, len(keys) - 1)
    found = ordered[at] == got
    prob = np.zeros(len(keys), dtype=np.float32)
    at = at[found]
    prob[at if order is None else order[at]] = out["match_probability"].to_numpy(np.float64)[found]
    return prob


# --- engines ---


def missing_spark_requirement() -> str | None:
    """What the Spark engine lacks here (pyspark, or Java 17+), as a one-line fix; else None."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return f"the spark engine needs pyspark, which is not installed: {SPARK_EXTRA}"
    java = _java()
    if java is None:
        return (
            "the spark engine needs Java 17 or newer: none on PATH and JAVA_HOME is not set "
            "(install a JDK 17+, e.g. apt-get install openjdk-17-jre-headless)"
        )
    version = _java_major(java)
    if version is not None and version < 17:
        return f"the spark engine needs Java 17 or newer; {java} is Java {version}"
    return None


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    """The major version of ``java`` ("1.8.0" -> 8, "17.0.15" -> 17); None if unknown."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if m is None:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


#: Splink's CTEs that concatenate the two record tables (term frequencies joined).
CONCAT_CTES = (
    "__splink__df_concat",
    "__splink__df_concat_with_tf",
    "__splink__df_concat_with_tf__pre_tf",
)
_CONCAT_CTE = re.compile(rf"(?<![\w\"])({'|'.join(map(re.escape, CONCAT_CTES))}) as \(")
#: Splink's link-only condition on a self-join of the concatenated records: a pair's records
#: come from different tables, the left one's id first.
_LINK_ONLY = 'l."source_dataset" != r."source_dataset"'
assert QUERY < REGISTER  # so a link-only pair's left record is the query's: see splink_sql


#: Splink's joins of pairs to one side's records in the concatenation of both tables: an EM
#: session's pairs to compare them, and the pairs to predict to prune its input to their records.
_SIDE_JOIN = re.compile(
    r"(inner join __splink__df_concat_with_tf as ([lr])\s+on )"
    r"|(semi join \S+ as pairs\s+on )(?=[^\n]* = pairs\.join_key_([lr])\b)"
)
_SIDES = {"l": QUERY, "r": REGISTER}


#: The tables of pairs :func:`predict_chunks` gives Splink to predict (a number after it).
BLOCKED = "lr_blocked"
#: Splink's pruning of the register to the records of those pairs, on its string keys.
_OWN_PAIRS_R = re.compile(
    rf"(semi join {BLOCKED}\d* as pairs\s+on )"
    r"source\.\"source_dataset\" \|\| '-__-' \|\| source\.\"unique_id\" = pairs\.join_key_r\b"
)


def _side_first(m: re.Match[str]) -> str:
    """A :data:`_SIDE_JOIN` join condition, its side's table named first."""
    if m[1]:  # a session's pairs joined to the records of side l or r
        return f"{m[1]}{m[2]}.\"source_dataset\" = '{_SIDES[m[2]]}' and "
    return f"{m[3]}source.\"source_dataset\" = '{_SIDES[m[4]]}' and "


#: The DuckDB optimizer Splink's connection runs without (:class:`_DuckDB`).
NOT_OPTIMIZED = "common_subplan"


def splink_sql(sql: str) -> str:
    """Splink 5.0's DuckDB SQL, planned to read the record tables as a two-table link does.

    Splink's EM sessions block by joining the concatenation of both record tables with itself
    and only then keeping the pairs across tables, left id first (``link_only``): at the real
    size, every pair of register records agreeing on the session's block (a date of birth: some
    10^11 of them) was built and thrown away. Splink's prediction and u sampling join the query
    table to the register instead ("two_dataset_link_only"); its EM does not. Four rewrites, each
    leaving the rows the same, let DuckDB do the same:

    * where the cross-table condition stands, the left record is the query's and the right the
      register's, said outright (ids are ``<table>-__-<row>`` and "query" < "register", so this
      is what "left id first" already means): DuckDB pushes it into each side's scan;
    * where pairs are joined to their records in the concatenation (an EM session's, to
      compare them; those to predict, to keep only their records), the left record is looked
      up among the query's records and the right among the register's: the pairs' left ids
      are the query's (the first rewrite made every session's pairs so, and
      :func:`predict_chunks` the pairs to predict). Otherwise DuckDB builds its hash table of
      a session's left records on the whole concatenation (EXPLAIN ANALYZE at 1:10; at the
      real size 114 million records, every column, far beyond its memory limit), and every
      chunk of predictions scans and keys every register record to find the query's;
    * the register is pruned to the records of the pairs to predict on numbers: the pairs
      :func:`predict_chunks` gives carry ``register_row``, and a record's is its ``unique_id``.
      Splink's string keys cost a string per register record (114 million at the real size)
      for every chunk of predictions, and a hash table of the chunk's keys past DuckDB's
      memory limit (7.5 GB spilled per chunk, 57 to 71 s of its about 100 s at the real size);
    * the concatenation CTEs are ``not materialized``. DuckDB materializes a CTE a query reads
      twice, writing (and at the real size spilling) every record of both tables, every column,
      before it could filter a side; inlined, each side is a scan of its table. DuckDB inlines
      it over parquet files only, never over a Python (Arrow) scan: see :func:`write_inputs`.
    """
    sql = _CONCAT_CTE.sub(r"\1 as not materialized (", sql)
    by_row = f'source."source_dataset" = \'{REGISTER}\' and source."unique_id" = pairs.register_row'
    sql = _OWN_PAIRS_R.sub(lambda m: m[1] + by_row, sql)
    sql = _SIDE_JOIN.sub(_side_first, sql)
    return sql.replace(
        _LINK_ONLY,
        f"{_LINK_ONLY} and l.\"source_dataset\" = '{QUERY}' "
        f"and r.\"source_dataset\" = '{REGISTER}'",
    )


def _two_table_duckdb_api(con: Any) -> Any:
    """Splink's DuckDBAPI on ``con``, running every query through :func:`splink_sql`."""
    from splink import DuckDBAPI

    class TwoTableDuckDBAPI(DuckDBAPI):
        def _execute_sql_against_backend(self, final_sql: str) -> Any:
            return super()._execute_sql_against_backend(splink_sql(final_sql))

    return TwoTableDuckDBAPI(con)


class _DuckDB:
    """A private in-memory DuckDB connection for one scoring run."""

    dialect = "duckdb"  # Splink's SQL dialect

    def __init__(self, threads: int) -> None:
        # ``threads``: see duckdb_threads. What Splink makes beyond DUCKDB_MEMORY spills to
        # disk instead of all being held (the scores are the same).
        self.con, self._spill = spilling_duckdb("splink", threads)
        # DuckDB's common-subplan optimizer would make one materialized table of identical parts
        # of a plan again, as both sides of a pair read the record tables (see splink_sql).
        self.con.execute(f"SET disabled_optimizers = '{NOT_OPTIMIZED}'")
        self.api = _two_table_duckdb_api(self.con)

    def load(self, name: str, source: Source) -> None:
        # A view: DuckDB reads the files, or scans the Arrow table in place, when Splink copies
        # them into its own tables, rather than holding a copy of its own as well.
        if isinstance(source, pa.Table):
            self.con.register(f"{name}_arrow", source)
            self.con.execute(f"create view {name} as select * from {name}_arrow")
            return
        files = ", ".join(f"'{Path(p).as_posix()}'" for p in source)
        self.con.execute(f"create view {name} as select * from read_parquet([{files}])")

    def create(self, name: str, sql: str) -> None:
        self.con.execute(f"create table {name} as {sql}")

    def count(self, name: str) -> int:
        return int(self.con.execute(f"select count(*) from {name}").fetchall()[0][0])

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.con.sql(sql).df()

    def drop(self, name: str) -> None:
        self.con.execute(f"drop table if exists {name}")

    def close(self) -> None:
        self.con.close()
        self._spill.cleanup()


class _Spark:
    """Splink's SparkAPI on a SparkSession: ``master``, else $LINKRISK_SPARK_MASTER, else the
    one spark-submit gives, else ``local[2]``."""

    dialect = "spark"  # Splink's SQL dialect

    def __init__(self, master: str) -> None:
        from pyspark.sql import SparkSession
        from splink import SparkAPI
        from splink.backends.spark import similarity_jar_location

        submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
        master = master or os.environ.get(SPARK_MASTER_ENV, "")
        if not master and not submitted:
            master = DEFAULT_SPARK_MASTER
        builder = SparkSession.builder.appName("linkrisk-splink")
        if master:
            builder = builder.master(master)
        if not submitted:  # under spark-submit, its --jars must name Splink's jar
            builder = builder.config("spark.jars", similarity_jar_location())  # Jaro-Winkler UDFs
        if master.startswith("local"):  # small local jobs: few partitions, no UI
            builder = (
                builder.config("spark.sql.shuffle.partitions", "2")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
            )
        self.spark = builder.getOrCreate()
        self.spark.sparkContext.setLogLevel("ERROR")
        self.views: list[str] = []
        self.api = SparkAPI(spark_session=self.spark, break_lineage_method="persist")

    def load(self, name: str, source: Source) -> None:
        if isinstance(source, pa.Table):
            raise TypeError("the Spark engine reads parquet files, not Arrow tables")
        self.spark.read.parquet(*(str(p) for p in source)).createOrReplaceTempView(name)
        self.views.append(name)

    def create(self, name: str, sql: str) -> None:
        self.spark.sql(sql).createOrReplaceTempView(name)
        self.views.append(name)

    def count(self, name: str) -> int:
        return int(self.spark.table(name).count())

    def fetch(self, sql: str) -> pd.DataFrame:
        return self.spark.sql(sql).toPandas()

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        self.views.remove(name)

    def close(self) -> None:
        for view in self.views:
            self.spark.catalog.dropTempView(view)
        self.spark.catalog.clearCache()  # Splink persisted its intermediate tables


@contextmanager
def _backend(engine: str, master: str, threads: int) -> Iterator[_DuckDB | _Spark]:
    if engine == "spark" and (problem := missing_spark_requirement()):
        raise ConfigError("engine", problem)
    db = _Spark(master) if engine == "spark" else _DuckDB(threads)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Silence Splink's progress logging and advice warnings (its charts are never made)."""
    logger = logging.getLogger("splink")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
