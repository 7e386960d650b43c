"""Blocking: candidate pairs for scored methods, as the union of several exact-key passes.

Each pass is a list of key conditions (the same ``{field, compare}`` keys rules use); a pair is a
candidate if it agrees on every key of at least one pass. True links that no pass proposes are
*blocking loss*, reported apart from links the model scored wrongly (as Splink's accuracy tools do).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from bench.linkage.fields import KeyIndex, PreparedTask, validate_key
from bench.linkage.kernels import union_of_runs
from bench.linkage.stages import stage
from synthetic.errors import ConfigError

Key = tuple[str, str, dict[str, Any]]
T = TypeVar("T")


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs proposed by blocking, as aligned int64 row arrays."""

    query_row: np.ndarray
    register_row: np.ndarray

    def __len__(self) -> int:
        return len(self.query_row)


DEFAULT_MAX_PAIRS = 50_000_000
#: Memory an embedded DuckDB (blocking, Splink) may use before it spills to disk.
DUCKDB_MEMORY = "2GB"
#: Proposed pairs blocked at a time (bounds the temporary memory of blocking).
CHUNK_PAIRS = 1 << 21


#: The largest ``[blocking] max_pairs`` accepted: a billion pairs are 16 GB of row numbers.
MAX_PAIRS_LIMIT = 1_000_000_000


def validate_blocking(spec: Any, where: str) -> list[list[Key]]:
    """Validate ``[blocking] passes = [[{field, compare}, ...], ...]`` (and ``max_pairs``,
    read by :func:`blocking_max_pairs`)."""
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a table with `passes`")
    for key in spec:
        if key not in ("passes", "max_pairs"):
            raise ConfigError(f"{where}.{key}", "unknown key (allowed: passes, max_pairs)")
    blocking_max_pairs(spec, where)
    return validate_passes(spec.get("passes"), f"{where}.passes", _validate_key_table)


def blocking_max_pairs(spec: dict[str, Any], where: str) -> int:
    """``[blocking] max_pairs``: the most pairs one pass may propose before the run is refused
    (default :data:`DEFAULT_MAX_PAIRS`). Candidate pairs grow with the square of the size: a
    scenario at the real size raises it knowingly, in its file."""
    value = spec.get("max_pairs", DEFAULT_MAX_PAIRS)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAIRS_LIMIT:
        raise ConfigError(
            f"{where}.max_pairs", f"must be an integer from 1 to {MAX_PAIRS_LIMIT:,}; got {value!r}"
        )
    return value


def validate_passes(passes: Any, where: str, item: Callable[[Any, str], T]) -> list[list[T]]:
    """Validate a non-empty list of passes, each a non-empty list of items checked by ``item``."""
    if not isinstance(passes, list) or not passes:
        raise ConfigError(where, "must be a non-empty list of passes")
    out = []
    for i, entries in enumerate(passes):
        w = f"{where}[{i}]"
        if not isinstance(entries, list) or not entries:
            raise ConfigError(w, "a pass must be a non-empty list of {field = ..., ...} tables")
        out.append([item(entry, f"{w}[{j}]") for j, entry in enumerate(entries)])
    return out


def _validate_key_table(key: Any, where: str) -> Key:
    if not isinstance(key, dict):
        raise ConfigError(where, "a key must be a table like {field = ..., compare = ...}")
    return validate_key(key, where)


def block(
    prep: PreparedTask, passes: Sequence[Sequence[Key]], max_pairs: int = DEFAULT_MAX_PAIRS
) -> tuple[Candidates, list[int]]:
    """Union of the passes' joins, deduplicated and sorted; also each pass's own pair count.

    The union needs no hashing and no sort: each pass gives a query its register rows as a
    sorted run, and the runs are merged query by query. Queries go in chunks of about
    :data:`CHUNK_PAIRS` proposed pairs, merged in threads.
    """
    with stage("blocking"):
        if prep.joins == "duckdb":
            return _block_duckdb(prep, passes, max_pairs)
        return _block_numpy(prep, passes, max_pairs)


def _block_numpy(
    prep: PreparedTask, passes: Sequence[Sequence[Key]], max_pairs: int
) -> tuple[Candidates, list[int]]:
    """:func:`block` in numpy: sort-merge joins per pass, their union merged in chunks."""
    # Coding fields and sorting each pass's register keys are independent, and their numpy and
    # Arrow work releases the GIL: run them in threads (the results do not depend on order).
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        with stage("field coding"):
            list(pool.map(prep.field, sorted({f for keys in passes for f, _, _ in keys})))
        indexes = list(pool.map(prep.key_index, passes))
    counts = [index.counts() for index in indexes]
    per_pass = [int(c.sum()) for c in counts]
    for i, n in enumerate(per_pass):
        if n > max_pairs:
            raise ConfigError(
                f"blocking pass {i + 1}", f"join would produce {n:,} pairs (limit {max_pairs:,})"
            )
    return union(indexes), per_pass


def union(indexes: Sequence[KeyIndex]) -> Candidates:
    """The union of the joins' pairs, sorted, without repeats. Each join gives a query row a
    run of register rows, ascending: the runs are merged query by query
    (:func:`bench.linkage.kernels.union_of_runs`), a chunk of queries per task."""
    lo = np.stack([index.lo for index in indexes]).astype(np.int64, copy=False)
    lengths = np.stack([index.n for index in indexes]).astype(np.int64, copy=False)
    orders = np.concatenate([index.order for index in indexes]).astype(np.int64, copy=False)
    offsets = np.cumsum([0] + [len(index.order) for index in indexes[:-1]], dtype=np.int64)
    chunks = row_chunks(lengths.sum(axis=0), CHUNK_PAIRS)
    return Candidates(*union_of_runs(lo, lengths, orders, offsets, chunks))


def row_chunks(counts: np.ndarray, size: int) -> list[slice]:
    """Consecutive slices of rows whose ``counts`` sum to about ``size`` (at least one row)."""
    n = len(counts)
    if n == 0:
        return []
    ends = np.cumsum(counts)
    cuts = np.searchsorted(ends, np.arange(size, int(ends[-1]), size), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [n]]))
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def quiet_duckdb(config: dict[str, str | bool | int | float | list[str]] | None = None) -> Any:
    """An in-memory DuckDB connection that draws no progress bar of its own (DuckDB's Python
    client draws one on queries of over 2 s, into linkrisk's progress bar or log)."""
    import duckdb

    con = duckdb.connect(config=config or {})
    con.execute("set enable_progress_bar = false")
    return con


def spilling_duckdb(what: str, threads: int) -> tuple[Any, tempfile.TemporaryDirectory[str]]:
    """An in-memory DuckDB connection that, beyond :data:`DUCKDB_MEMORY`, spills to a private
    temporary directory (never into the working directory, DuckDB's default for an in-memory
    database); the caller closes the connection, then cleans the directory up."""
    spill = tempfile.TemporaryDirectory(prefix=f"linkrisk-{what}-spill-")
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": threads, "memory_limit": DUCKDB_MEMORY, "temp_directory": spill.name
    }  # fmt: skip
    return quiet_duckdb(config), spill


#: Pairs of every pass (repeats counted) DuckDB unites at a time (:func:`union_ranges`).
UNION_CHUNK_PAIRS = 16_000_000


def union_ranges(n_query: int, pairs: int, size: int = UNION_CHUNK_PAIRS) -> list[tuple[int, int]]:
    """Equal ranges of query rows ``[lo, hi)`` covering ``0 .. n_query``, enough of them that
    each holds about ``size`` of the passes' ``pairs`` if the pairs are spread evenly."""
    n = max(1, min(n_query, -(-pairs // size)))
    bounds = np.linspace(0, n_query, n + 1).round().astype(np.int64)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def _block_duckdb(
    prep: PreparedTask, passes: Sequence[Sequence[Key]], max_pairs: int
) -> tuple[Candidates, list[int]]:
    """:func:`block` run by DuckDB: the passes' joins and their union on the integer keys.

    For registers of millions of records: DuckDB joins each pass's keys (a hash join built on
    the query side), takes the union and sorts it, spilling to disk rather than holding every
    pass's pairs in memory; only the resulting candidates come back, in batches.
    """
    import pyarrow as pa

    con, spill = spilling_duckdb("blocking", os.cpu_count() or 1)
    try:
        selects, per_pass = [], []
        for i, keys in enumerate(passes):
            kq, kr = prep.combined_key(keys)
            for side, k in (("q", kq), ("r", kr)):
                rows = np.flatnonzero(k >= 0)
                con.register(f"{side}{i}", pa.table({"row": rows, "k": k[rows]}))
            del kq, kr, k, rows  # the keys live on in the registered tables only
            n = con.execute(
                f"select coalesce(sum(a.n * b.n), 0) from "
                f"(select k, count(*) n from q{i} group by k) a "
                f"join (select k, count(*) n from r{i} group by k) b using (k)"
            ).fetchall()[0][0]
            per_pass.append(int(n))
            if n > max_pairs:
                raise ConfigError(
                    f"blocking pass {i + 1}",
                    f"join would produce {n:,} pairs (limit {max_pairs:,})",
                )
            # The pass's pairs go to a DuckDB table (spilled to disk if need be) and its keys are
            # dropped: one pass's keys in memory at a time, not every pass's.
            con.execute(
                f"create temp table p{i} as select q.row as q, r.row as r from q{i} q join r{i} r "
                "using (k)"
            )
            con.unregister(f"q{i}")
            con.unregister(f"r{i}")
            selects.append(f"select q, r from p{i}")
        # The union, a range of query rows at a time: a pair's query row is in one range, so
        # each range's union is a part of the whole, and the ranges in order are the whole in
        # order. At once, the union of the real size's ~135 million pairs overran DuckDB's
        # memory limit (its distinct and sort did not spill).
        qs, rs = [], []
        for lo, hi in union_ranges(prep.n_query, sum(per_pass)):
            part = " union ".join(f"{s} where q >= {lo} and q < {hi}" for s in selects)
            for batch in con.sql(part + " order by q, r").to_arrow_reader(1 << 20):
                qs.append(batch.column(0).to_numpy().astype(np.int64, copy=False))
                rs.append(batch.column(1).to_numpy().astype(np.int64, copy=False))
    finally:
        con.close()
        spill.cleanup()
    if not qs:
        return Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64)), per_pass
    return Candidates(np.concatenate(qs), np.concatenate(rs)), per_pass
