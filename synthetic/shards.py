"""Big scenarios as parquet shards: generated block by block, never all in memory.

A population of more than ``synthetic.population.BLOCK_SIZE`` people is generated in blocks, each
from its own random streams; :class:`synthetic.scenario.TaskDraw` draws the register block by
block and the query list as one global weighted sample. :func:`write_sharded_task` writes the
register as it goes, cut into shards of ``shard_size`` records. Shards are only cuts of the block
sequence: whatever the shard size, the concatenated tables are the same, and equal to
``build_task`` on the same scenario and seed. Layout of ``out_dir``::

    manifest.json                        seed, scenario, config hash, sizes, shards, versions
    query.parquet                        record_id + RECORD_FIELDS, one row per query_row
    query_people.parquet                 as LinkageTask.query_people (with in_register)
    truth.parquet                        query_row, register_row (global register rows)
    register/part-00000.parquet ...      record_id + RECORD_FIELDS, register_row order; each part
                                         shard_size rows (the last fewer)
    register_people/part-00000.parquet   as LinkageTask.register_people, the same rows
    noise_log/query.parquet              side, row, field, noise (row = query_row)
    noise_log/register/part-00000.parquet  the same for the register rows of each part

Files are deterministic: the same scenario, seed, shard size and package versions give
byte-identical files (zstd, fixed row groups, no timestamps).
"""

from __future__ import annotations

import json
import platform
import sys
from concurrent.futures import Executor, Future, ThreadPoolExecutor
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
    LinkageTask,
    ScenarioConfig,
    TaskDraw,
    config_hash,
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
) -> dict[str, Any]:
    """Generate the scenario's task block by block and write it to ``out_dir`` as above.

    Holds one block of the population and of the register at a time, plus the query candidates
    and every block's addresses (the query noise's address pool). Part files left in
    ``out_dir`` by an earlier run are removed first. ``progress``: a bar over the blocks
    (default: on a terminal). Returns the manifest (also written as ``manifest.json``).
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
    layout = P.block_layout(cfg.population, seed)
    draw = TaskDraw(cfg, seed, cfg.population.size)
    show = sys.stderr.isatty() if progress is None else progress
    # parquet encoding and compression release the GIL: files are written in a background thread
    # while the next block is generated (the Arrow tables are built in this thread)
    with ThreadPoolExecutor(max_workers=1) as io:
        writers = {sub: _ShardWriter(out_dir / sub, shard_size, io) for sub in SHARDED}
        for b in tqdm(range(layout.n_blocks), desc="blocks", disable=not show, file=sys.stderr):
            pop = P.generate_block(cfg.population, seed, b, layout)
            part = draw.add_block(pop)
            del pop
            first = draw.register_rows - len(part.records)
            rows = np.arange(first, draw.register_rows)
            writers["register"].add(part.records, rows)
            writers["register_people"].add(part.people, rows)
            log = part.log.assign(side="register")[list(_LOG_COLUMNS)]
            writers["noise_log/register"].add(log, log["row"].to_numpy())
            for w in writers.values():
                w.flush(draw.register_rows)
        parts = {sub: w.close(draw.register_rows) for sub, w in writers.items()}
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
        for name, first, rows in parts["register"]
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
        "blocks": layout.n_blocks,
        "shards": shards,
        "versions": {"python": platform.python_version(), **_versions()},
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


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


class _ShardWriter:
    """Writes a register-aligned table in parts of ``shard_size`` register rows: frames arrive
    with the global register row of each of their rows (nondecreasing), a part is written once
    all its rows have arrived."""

    def __init__(self, directory: Path, shard_size: int, io: Executor) -> None:
        self.directory, self.shard_size, self.io = directory, shard_size, io
        self.pending: list[Future[None]] = []
        self.frames: list[pd.DataFrame] = []
        self.rows: list[np.ndarray] = []
        self.written: list[tuple[str, int, int]] = []  # (file name, first row, rows)
        self.empty: pd.DataFrame | None = None  # the columns and dtypes of the table

    def add(self, frame: pd.DataFrame, rows: np.ndarray) -> None:
        """Buffer ``frame``, whose rows belong to the global register ``rows``."""
        if self.empty is None:
            self.empty = frame.iloc[:0]
        self.frames.append(frame)
        self.rows.append(rows)

    def flush(self, complete: int) -> None:
        """Write every part whose register rows are all below ``complete``."""
        while (len(self.written) + 1) * self.shard_size <= complete:
            self._write_next()

    def close(self, total: int) -> list[tuple[str, int, int]]:
        """Write the remaining parts (at least one, so the schema is always on disk) and wait
        for every write."""
        self.flush(total)
        if total > len(self.written) * self.shard_size or not self.written:
            self._write_next(total)
        for f in self.pending:
            f.result()  # raises the write's error, if any
        return self.written

    def _write_next(self, total: int | None = None) -> None:
        first = len(self.written) * self.shard_size
        end = first + self.shard_size if total is None else total
        if self.empty is None:
            raise ValueError(f"{self.directory}: no table was added")
        rows = np.concatenate(self.rows) if self.rows else np.zeros(0, dtype=np.int64)
        frames = self.frames or [self.empty]
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        cut = int(np.searchsorted(rows, end, side="left"))
        name = f"part-{len(self.written):05d}.parquet"
        table = _table(frame.iloc[:cut], _schema(self.empty))
        self.pending.append(self.io.submit(_write_table, table, self.directory / name))
        # the rest stays a view (no copy) until the next block arrives
        self.frames, self.rows = ([frame.iloc[cut:]], [rows[cut:]]) if cut < len(rows) else ([], [])
        self.written.append((name, first, end - first))


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
