"""Big-file scenarios: generated into parquet shards, read back compactly, blocked by DuckDB.

A scenario with ``[scenario] shard_size = N`` is too big to build in memory as Python strings
(the 1:10 IRS-ICE preset has an 11-million-record register). :func:`run_sharded`:

1. writes the task block by block into parquet shards (:func:`synthetic.shards.write_sharded_task`;
   the same data whatever the shard size) in a temporary directory (``TMPDIR``), for a big
   population in a child process (:func:`generate`), so that the memory generation leaves
   behind is the child's and goes with it;
2. reads back the query list (:func:`load_task`); the register is read a field at a time when
   the linkage codes it (:meth:`ShardSide.column`: integer codes and each shard's dictionary of
   distinct strings, coded without hashing every record), and only the codes are kept;
3. runs the methods like any run (:func:`bench.tasks.run_task`), with blocking joins in DuckDB
   (``PreparedTask(joins="duckdb")``), which spills to disk instead of holding every pass's
   pairs; for a big population, the report is made from ``raw/`` in a child process, whose
   peak then does not sit on the memory the linkage leaves in this one; and removes the
   working directory.

Limits: one replicate; methods that need a training task (a second big task) are not run, and
the report says why; no population summary (it needs the whole population in memory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench.apart import call_apart
from bench.linkage.blocking import quiet_duckdb
from bench.linkage.config import Benchmark
from bench.linkage.fields import read_column
from bench.tasks import RunResult, Steps, run_task, scenario_info, task_steps
from synthetic.errors import ConfigError
from synthetic.scenario import LinkageTask, ScenarioConfig, config_hash, effective_parameters
from synthetic.shards import read_manifest, write_sharded_task

#: Why a supervised method does not run on a big-file scenario (the report repeats it).
NO_TRAINING = (
    "needs a training task: a second population of the same size, which a big-file scenario "
    "(shard_size) does not build"
)


#: People from which a population is generated, and its run's report made, in a child process
#: (:func:`generate`, :func:`bench.apart.call_apart`): about one generation block; below, a
#: child's start (a second or two) costs more than it frees.
APART_MIN_PEOPLE = 1_000_000


def generate(
    cfg: ScenarioConfig, seed: int, out_dir: Path, shard_size: int, progress: bool | None
) -> dict[str, Any]:
    """:func:`synthetic.shards.write_sharded_task`, for a population of at least
    :data:`APART_MIN_PEOPLE` in a child Python process (a fresh interpreter: nothing of this
    one is copied, and no module of the caller is imported again), else here.

    Generation's memory (its working tables, and what the allocator keeps of them) then ends
    with the child, instead of staying under every later step of the run. The files are the
    same either way. The child's error comes back as raised (a :class:`LinkriskError` stays
    one line); Ctrl-C reaches both processes.
    """
    if cfg.population.size < APART_MIN_PEOPLE:
        return write_sharded_task(cfg, seed, out_dir, shard_size, progress)
    return call_apart(write_sharded_task, cfg, seed, out_dir, shard_size, progress)


def load_task(data_dir: Path) -> LinkageTask:
    """A sharded task for the linkage: the query list, the truth and the query people, with
    string columns as categoricals. The register is a frame of the right length without
    columns: the linkage reads a field from the shards when it codes it
    (:meth:`ShardSide.column`, given to :class:`~bench.linkage.fields.PreparedTask`) and keeps
    only its codes, so the register's strings are never all held at once (at 1:10 of the real
    size, 65 bytes a record). Its people and noise log stay on disk too (:class:`ShardSide`
    reads the rows attribution needs)."""
    data_dir = Path(data_dir)
    shards = read_manifest(data_dir)["shards"]
    register = pd.DataFrame(index=pd.RangeIndex(sum(s["rows"] for s in shards)))
    empty = pd.DataFrame()
    return LinkageTask(
        query=pd.read_parquet(data_dir / "query.parquet"),
        register=register,
        truth=pd.read_parquet(data_dir / "truth.parquet"),
        query_people=pd.read_parquet(data_dir / "query_people.parquet"),
        register_people=empty,
        noise_log=empty,
    )


class ShardSide:
    """The register side of a sharded task for error attribution
    (:class:`bench.tasks.RegisterSide`), read from the shards a shard at a time: nothing is held
    per register record."""

    def __init__(self, data_dir: Path) -> None:
        self.dir = Path(data_dir)
        self.shards = read_manifest(self.dir)["shards"]

    def _parts(self, key: str, rows: np.ndarray) -> list[tuple[Path, np.ndarray, int]]:
        """Per shard holding some of ``rows`` (sorted): its ``key`` file, those rows and the
        shard's first row."""
        out = []
        for s in self.shards:
            first = s["first_row"]
            lo, hi = np.searchsorted(rows, [first, first + s["rows"]])
            if hi > lo:
                out.append((self.dir / s[key], rows[lo:hi], first))
        return out

    def column(self, name: str) -> pd.Series:
        """The register's field ``name``, read from every shard (:func:`read_column`: a
        categorical, or Arrow strings for an identifier)."""
        return read_column([self.dir / s["file"] for s in self.shards], name)

    def _take(self, key: str, rows: np.ndarray) -> pd.DataFrame:
        """The rows ``rows`` (sorted, unique) of the shards' ``key`` files, in that order."""
        parts = self._parts(key, rows)
        tables = [pq.read_table(path).take(pa.array(at - first)) for path, at, first in parts]
        if not tables:  # the columns, without rows
            tables = [pq.read_table(self.dir / self.shards[0][key]).slice(0, 0)]
        return pa.concat_tables(tables).to_pandas()

    def records(self, rows: np.ndarray) -> pd.DataFrame:
        """The register records at ``rows`` (any order; a few, for explanations), in that
        order, read as the shards hold them."""
        distinct, at = np.unique(np.asarray(rows, np.int64), return_inverse=True)
        return self._take("file", distinct).iloc[at].reset_index(drop=True)

    def people(self, rows: np.ndarray) -> pd.DataFrame:
        return self._take("people", rows)

    def noise_log(self, rows: np.ndarray) -> pd.DataFrame:
        parts = [pq.read_table(self.dir / "noise_log" / "query.parquet")]
        for path, at, _ in self._parts("noise_log", rows):
            table = pq.read_table(path)  # "row": the register row (global)
            parts.append(table.filter(pc.is_in(table["row"], pa.array(at))))
        log = pa.concat_tables(parts).to_pandas()
        for c in ("side", "field", "noise"):  # one category set for the two parts
            log[c] = log[c].astype(str).astype("category")
        return log

    def noise_counts(self) -> dict[str, dict[str, int]]:
        files = [self.dir / "noise_log" / "query.parquet"]
        files += [self.dir / s["noise_log"] for s in self.shards]
        listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
        con = quiet_duckdb()
        try:
            counts = con.execute(
                f"select side, noise, count(*) from read_parquet([{listed}]) "
                "group by side, noise order by side, noise"
            ).fetchall()
        finally:
            con.close()
        out: dict[str, dict[str, int]] = {}
        for side, noise, n in counts:
            out.setdefault(str(side), {})[str(noise)] = int(n)
        return out


def run_sharded(
    bench: Benchmark,
    seed: int,
    out_dir: Path,
    *,
    progress: bool | None = None,
    engine: str | None = None,
    html: bool = True,
    shards: Path | None = None,
) -> RunResult:
    """Run a big-file scenario (see the module docstring); results as :func:`bench.runner.run`
    (``html``: draw ``report.html``). ``shards``: the scenario's shards as ``linkrisk
    generate`` wrote them for this seed (:func:`given_shards` checks it), read instead of
    generated again: the same files, so the same results."""
    scenario = bench.scenario
    skip = {m.name: NO_TRAINING for m in bench.methods if m.needs_training}
    assert scenario.shard_size is not None
    # The working shards go to the system's temporary directory (TMPDIR), never beside the
    # results, and are removed at the end whatever happens (given ones are left as they are).
    scratch: tempfile.TemporaryDirectory[str] | None = None
    if shards is None:
        scratch = tempfile.TemporaryDirectory(prefix=f"linkrisk-{bench.name}-shards-")
        work = Path(scratch.name)
    else:
        work = shards
    steps = Steps((2 if shards is None else 1) + task_steps(bench, skip=skip), progress)
    try:
        if shards is None:
            with steps.step("generating shards"):
                manifest = generate(scenario, seed, work, scenario.shard_size, progress)
        else:
            manifest = given_shards(scenario, seed, shards)
        with steps.step("reading shards"):
            task = load_task(work)
        layout = {"shard_size": scenario.shard_size, "files": len(manifest["shards"])}
        info = scenario_info(bench, engine, shards=layout, joins="duckdb")
        return run_task(
            bench,
            task,
            out_dir,
            seed=seed,
            info=info,
            steps=steps,
            joins="duckdb",
            register_side=ShardSide(work),
            html=html,
            skip=skip,
            report_apart=scenario.population.size >= APART_MIN_PEOPLE,
        )
    finally:
        steps.close()
        if scratch is not None:
            scratch.cleanup()


def given_shards(cfg: ScenarioConfig, seed: int, shards: Path) -> dict[str, Any]:
    """The manifest of ``shards``, checked to be ``cfg``'s with ``seed`` and its shard size
    (:func:`synthetic.shards.write_sharded_task` records them); else a :class:`ConfigError` on
    ``--shards``."""
    where = "--shards"
    if not (shards / "manifest.json").is_file():
        raise ConfigError(
            where, f"{shards} holds no manifest.json (write it with linkrisk generate)"
        )
    manifest = read_manifest(shards)
    wanted = {
        "config_sha256": config_hash(effective_parameters(cfg)),
        "seed": seed,
        "shard_size": cfg.shard_size,
    }
    for key, value in wanted.items():
        if manifest.get(key) != value:
            raise ConfigError(
                where,
                f"{shards} was generated with another {key.replace('_', ' ')} than this run's "
                f"({manifest.get(key)!r}, not {value!r}): generate them again with linkrisk "
                f"generate {cfg.name}",
            )
    return manifest
