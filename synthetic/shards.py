"""Big scenarios as parquet shards: generated block by block, never all in memory.

A population of more than ``synthetic.population.BLOCK_SIZE`` people is generated in blocks, each
from its own random streams; :class:`synthetic.scenario.TaskDraw` draws the register block by
block and the query list as one global weighted sample. :func:`write_sharded_task` writes each
block's register as soon as it is drawn, cut into parts of at most ``shard_size`` records (a
part never spans two blocks), the blocks done in worker processes for a big population. Parts
are only cuts of the block sequence: whatever the shard size and the workers, the concatenated
tables are the same, and equal to ``build_task`` on the same scenario and seed. Layout of
``out_dir``::

    manifest.json                        seed, scenario, config hash, sizes, shards, versions
    query.parquet                        record_id + RECORD_FIELDS, one row per query_row
    query_people.parquet                 as LinkageTask.query_people (with in_register)
    truth.parquet                        query_row, register_row (global register rows)
    register/part-00000.parquet ...      record_id + RECORD_FIELDS, register_row order; each part
                                         at most shard_size rows, of one block
    register_people/part-00000.parquet   as LinkageTask.register_people, the same rows
    noise_log/query.parquet              side, row, field, noise (row = query_row)
    noise_log/register/part-00000.parquet  the same for the register rows of each part

Files are deterministic: the same scenario, seed, shard size and package versions give
byte-identical files (zstd, fixed row groups, no timestamps).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import platform
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from synthetic import population as P
from synthetic.errors import ConfigError
from synthetic.scenario import (
    BlockDraw,
    LinkageTask,
    ScenarioConfig,
    TaskDraw,
    TaskPart,
    config_hash,
    draw_block,
    effective_parameters,
)

#: Version of the layout above (readers check it).
FORMAT_VERSION = 1
#: Rows per parquet row group: fixed, so files do not depend on how rows arrive.
ROW_GROUP_SIZE = 131_072
#: Packages whose versions make the files what they are (listed in the manifest).
PACKAGES = ("linkrisk", "numpy", "pandas", "pyarrow", "Faker")
#: Register-aligned tables: directory -> what it holds.
SHARDED = ("register", "register_people", "noise_log/register")


def write_sharded_task(
    cfg: ScenarioConfig,
    seed: int,
    out_dir: Path,
    shard_size: int,
    progress: bool | None = None,
    workers: int | None = None,
) -> dict[str, Any]:
    """Generate the scenario's task block by block and write it to ``out_dir`` as above.

    Each block is generated, drawn (:func:`synthetic.scenario.draw_block`) and its register
    parts written by itself; this process keeps the query candidates and every block's
    addresses (the query noise's address pool), then draws and writes the query list.
    ``workers``: processes that do the blocks, two or more at a time (default
    :func:`default_workers`; 0: one at a time, here); the files are the same with any number.
    The workers are fresh interpreters (``spawn``), which import the calling script's main
    module again: call this from under ``if __name__ == "__main__":`` (as ``linkrisk`` does),
    or with ``workers=0``.
    Part files left in ``out_dir`` by an earlier run are removed first. ``progress``: a bar over
    the blocks (default: on a terminal). Returns the manifest (also written as
    ``manifest.json``).
    """
    if isinstance(shard_size, bool) or not isinstance(shard_size, int | np.integer):
        raise ConfigError("shard_size", f"must be an integer, got {shard_size!r}")
    if shard_size < 1:
        raise ConfigError("shard_size", f"must be >= 1, got {shard_size}")
    out_dir = Path(out_dir)
    for sub in SHARDED:
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
        for stale in (out_dir / sub).glob("part-*.parquet"):
            stale.unlink()
    draw = TaskDraw(cfg, seed, cfg.population.size)
    job = _Job(
        cfg, seed, P.block_layout(cfg.population, seed), draw.n_blocks, draw.width,
        str(out_dir), int(shard_size), P.BLOCK_SIZE,
    )  # fmt: skip
    show = sys.stderr.isatty() if progress is None else progress
    workers = default_workers(cfg) if workers is None else workers
    parts: list[tuple[str, int, int]] = []
    with tqdm(total=draw.n_blocks, desc="blocks", disable=not show, file=sys.stderr) as bar:
        for block, files in _blocks(job, workers):
            draw.merge(block)
            parts += files
            bar.update()
    P.release_first_name_table()  # the linkage after this needs the memory more

    q = draw.query_part()
    assert q.truth is not None
    _write(q.records, out_dir / "query.parquet")
    _write(q.people, out_dir / "query_people.parquet")
    _write(q.truth, out_dir / "truth.parquet")
    _write(q.log.assign(side="query")[list(_LOG_COLUMNS)], out_dir / "noise_log" / "query.parquet")

    shards = [
        {
            "file": f"register/{name}",
            "people": f"register_people/{name}",
            "noise_log": f"noise_log/register/{name}",
            "first_row": first,
            "rows": rows,
        }
        for name, first, rows in parts
    ]
    manifest = {
        "format": "linkrisk sharded task",
        "format_version": FORMAT_VERSION,
        "scenario": cfg.name,
        "seed": seed,
        "config_sha256": config_hash(effective_parameters(cfg)),
        "sizes": {
            "population": cfg.population.size,
            "register": draw.register_rows,
            "query": len(q.records),
            "true_links": len(q.truth),
        },
        "shard_size": int(shard_size),
        "block_size": P.BLOCK_SIZE,
        "blocks": draw.n_blocks,
        "shards": shards,
        "versions": {"python": platform.python_version(), **_versions()},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


#: People a population needs before its blocks are done in worker processes: below, starting
#: them (a second or two each, importing the generator) costs more than they save. Two blocks
#: of the real block size, a number of people (not ``2 * P.BLOCK_SIZE``): tests that shrink the
#: blocks still get no workers unless they ask.
PARALLEL_MIN_PEOPLE = 2 * 2**20


def default_workers(cfg: ScenarioConfig) -> int:
    """Worker processes for :func:`write_sharded_task`: one per core (at most one per block) for
    a population of several blocks and at least :data:`PARALLEL_MIN_PEOPLE` people, else 0."""
    n_blocks = len(P.block_sizes(cfg.population.size))
    cores = os.cpu_count() or 1
    if n_blocks < 2 or cores < 2 or cfg.population.size < PARALLEL_MIN_PEOPLE:
        return 0
    return min(cores, n_blocks)


@dataclass(frozen=True)
class _Job:
    """What every block of one :func:`write_sharded_task` needs (sent to each worker once)."""

    cfg: ScenarioConfig
    seed: int
    layout: P.BlockLayout
    n_blocks: int
    width: int  # digits of the register's record ids
    out_dir: str
    shard_size: int
    block_size: int  # P.BLOCK_SIZE where the job was made (a test may have changed it)


#: A part file written: (file name, first global register row, rows).
Part = tuple[str, int, int]


def _parts_of(job: _Job, b: int, first: int, n: int) -> int:
    """Part files of block ``b`` with ``n`` register records from row ``first``: a part holds
    at most ``shard_size`` records of one block; the last block writes an empty part if the
    register is empty (so the schema is on disk)."""
    if n == 0 and first == 0 and b == job.n_blocks - 1:
        return 1
    return -(-n // job.shard_size)


def _block(job: _Job, b: int, counts: Any, abort: Any | None) -> tuple[BlockDraw, list[Part]]:
    """Generate, draw and write block ``b``: its draw (without its records, which are written)
    and the part files written.

    ``counts[i]``: block i's register records once known, else -1. This block's count is
    published as soon as its noise is drawn; its first row (and its parts' numbers) wait for
    the counts of the blocks before it, which never wait for this one. ``abort`` (shared with
    the other workers): set when any of them fails, so that none waits for ever.
    """
    pop = P.generate_block(job.cfg.population, job.seed, b, job.layout)
    numbered: list[int] = []

    def place(n: int) -> int:
        counts[b] = n
        while any(counts[i] < 0 for i in range(b)):
            if abort is not None and abort.value:
                raise RuntimeError("another block's worker failed")
            time.sleep(0.005)
        before = [int(counts[i]) for i in range(b)]
        first = 0
        for i, c in enumerate(before):
            numbered.append(_parts_of(job, i, first, c))
            first += c
        return first

    draw = draw_block(job.cfg, job.seed, job.n_blocks, b, job.width, pop, place)
    del pop
    assert draw.part is not None
    files = _write_block(job, b, draw.first, draw.part, sum(numbered))
    return dataclasses.replace(draw, part=None), files


def _write_block(job: _Job, b: int, first: int, part: TaskPart, number: int) -> list[Part]:
    """Write a block's register records, people and noise log as its parts (part files
    numbered from ``number``)."""
    n = len(part.records)
    out = Path(job.out_dir)
    log = part.log.assign(side="register")[list(_LOG_COLUMNS)]
    log_at = log["row"].to_numpy() - first  # the block's own row of each entry (ascending)
    files = []
    for j in range(_parts_of(job, b, first, n)):
        lo, hi = j * job.shard_size, min((j + 1) * job.shard_size, n)
        name = f"part-{number + j:05d}.parquet"
        _write(part.records.iloc[lo:hi], out / "register" / name)
        _write(part.people.iloc[lo:hi], out / "register_people" / name)
        a, z = np.searchsorted(log_at, [lo, hi])
        _write(log.iloc[a:z], out / "noise_log" / "register" / name)
        files.append((name, first + lo, hi - lo))
    return files


def _blocks(job: _Job, workers: int) -> Iterator[tuple[BlockDraw, list[Part]]]:
    """Every block's :func:`_block`, in block order: here, or in ``workers`` processes (fresh
    interpreters: nothing of this process is copied) that take the blocks in order."""
    if workers < 1:
        counts = [-1] * job.n_blocks
        for b in range(job.n_blocks):
            yield _block(job, b, counts, None)
        return
    ctx = multiprocessing.get_context("spawn")
    counts = ctx.Array("q", [-1] * job.n_blocks, lock=False)
    abort = ctx.Value("b", 0, lock=False)
    with ProcessPoolExecutor(
        workers, mp_context=ctx, initializer=_start_worker, initargs=(job, counts, abort)
    ) as pool:
        # a future holds its result: each is dropped once taken (else every block's candidates)
        futures = deque(pool.submit(_worker_block, b) for b in range(job.n_blocks))
        try:
            while futures:
                yield futures.popleft().result()
        except BaseException:
            abort.value = 1
            for f in futures:
                f.cancel()
            raise


_WORKER: tuple[_Job, Any, Any] | None = None


def _start_worker(job: _Job, counts: Any, abort: Any) -> None:
    global _WORKER
    P.BLOCK_SIZE = job.block_size
    _WORKER = (job, counts, abort)


def _worker_block(b: int) -> tuple[BlockDraw, list[Part]]:
    assert _WORKER is not None
    job, counts, abort = _WORKER
    try:
        return _block(job, b, counts, abort)
    except BaseException:
        abort.value = 1
        raise


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """The manifest of a sharded task directory (checks its format version)."""
    path = Path(out_dir) / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ConfigError(
            str(path), f"format version {manifest.get('format_version')!r}, need {FORMAT_VERSION}"
        )
    return manifest


def register_shards(out_dir: Path) -> list[Path]:
    """Paths of the register's part files, in register_row order."""
    return [Path(out_dir) / s["file"] for s in read_manifest(out_dir)["shards"]]


def load_sharded_task(out_dir: Path) -> LinkageTask:
    """A sharded task read back into memory (for small ones): the parts concatenated, the noise
    log as ``LinkageTask.noise_log`` (query rows, then register rows)."""
    out_dir = Path(out_dir)
    shards = read_manifest(out_dir)["shards"]

    def cat(key: str) -> pd.DataFrame:
        return pd.concat([_read(out_dir / s[key]) for s in shards], ignore_index=True)

    noise_log = pd.concat(
        [_read(out_dir / "noise_log" / "query.parquet"), cat("noise_log")], ignore_index=True
    )
    return LinkageTask(
        query=_read(out_dir / "query.parquet"),
        register=cat("file"),
        truth=_read(out_dir / "truth.parquet"),
        query_people=_read(out_dir / "query_people.parquet"),
        register_people=cat("people"),
        noise_log=noise_log,
    )


_LOG_COLUMNS = ("side", "row", "field", "noise")


def _schema(frame: pd.DataFrame) -> pa.Schema:
    """Arrow schema from the dtypes (object = string), so that every part has the same schema
    even where a part's column holds only missing values."""
    return pa.schema(
        [
            (c, pa.string() if t.kind == "O" else pa.from_numpy_dtype(t))
            for c, t in frame.dtypes.items()
        ]
    )


def _table(frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    return pa.Table.from_pandas(frame, schema=schema or _schema(frame), preserve_index=False)


def _write_table(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path, compression="zstd", row_group_size=ROW_GROUP_SIZE)


def _write(frame: pd.DataFrame, path: Path) -> None:
    _write_table(_table(frame), path)


def _read(path: Path) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def _versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


__all__ = ["load_sharded_task", "read_manifest", "register_shards", "write_sharded_task"]
