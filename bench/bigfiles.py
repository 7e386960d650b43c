"""Big-file scenarios: generated into parquet shards, read back compactly, blocked by DuckDB.

A scenario with ``[scenario] shard_size = N`` is too big to build in memory as Python strings
(the 1:10 IRS-ICE preset has a 16-million-record register). :func:`run_sharded`:

1. writes the task block by block into parquet shards (:func:`synthetic.shards.write_sharded_task`;
   the same data whatever the shard size) in a temporary directory (``TMPDIR``);
2. reads it back with every string column as a categorical (:func:`load_task`): integer codes
   and each shard's dictionary of distinct strings, a fraction of the memory of Python strings,
   and coded by the linkage core without hashing every record;
3. runs the methods like any run (:func:`bench.tasks.run_task`), with blocking joins in DuckDB
   (``PreparedTask(joins="duckdb")``), which spills to disk instead of holding every pass's
   pairs; and removes the working directory.

Limits: one replicate; no methods that need a training task (a second big task); no
population summary (it needs the whole population in memory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from bench.linkage.config import Benchmark
from bench.linkage.fields import read_records
from bench.tasks import RunResult, Steps, run_task, task_steps
from synthetic.errors import ConfigError
from synthetic.scenario import RECORD_FIELDS, LinkageTask, effective_parameters
from synthetic.shards import read_manifest, write_sharded_task


def load_task(data_dir: Path) -> LinkageTask:
    """A sharded task with string columns as categoricals (register record ids left out: the
    linkage works on row numbers, and 16 million unique ids would be most of the memory)."""
    data_dir = Path(data_dir)
    shards = read_manifest(data_dir)["shards"]

    def shards_of(key: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_records([data_dir / s[key] for s in shards], columns)

    register = shards_of("file", list(RECORD_FIELDS))  # not the 16M unique record ids
    noise_log = pd.concat(
        [read_records(data_dir / "noise_log" / "query.parquet"), shards_of("noise_log")],
        ignore_index=True,
    )
    for c in ("side", "field", "noise"):  # one category set for the two parts
        noise_log[c] = noise_log[c].astype(str).astype("category")
    return LinkageTask(
        query=pd.read_parquet(data_dir / "query.parquet"),
        register=register,
        truth=pd.read_parquet(data_dir / "truth.parquet"),
        query_people=pd.read_parquet(data_dir / "query_people.parquet"),
        register_people=shards_of("people"),
        noise_log=noise_log,
    )


def run_sharded(
    bench: Benchmark,
    seed: int,
    out_dir: Path,
    *,
    progress: bool | None = None,
    engine: str | None = None,
    html: bool = True,
) -> RunResult:
    """Run a big-file scenario (see the module docstring); results and ``html`` as
    :func:`bench.runner.run`."""
    scenario = bench.scenario
    if (trained := [m.name for m in bench.methods if m.needs_training]) != []:
        raise ConfigError(
            "methods",
            f"method {trained[0]!r} needs a training task, which a big-file scenario "
            "(shard_size) does not build; leave it out of [[methods]]",
        )
    assert scenario.shard_size is not None
    # The working shards go to the system's temporary directory (TMPDIR), never beside the
    # results, and are removed at the end whatever happens.
    scratch = tempfile.TemporaryDirectory(prefix=f"linkrisk-{bench.name}-shards-")
    work = Path(scratch.name)
    steps = Steps(2 + task_steps(bench), progress)
    try:
        with steps.step("generating shards"):
            manifest = write_sharded_task(scenario, seed, work, scenario.shard_size, progress)
        with steps.step("reading shards"):
            task = load_task(work)
        info = {
            "scenario": bench.name,
            "source": bench.source,
            "population": scenario.population.size,
            "parameters": effective_parameters(scenario),
            "shards": {"shard_size": scenario.shard_size, "files": len(manifest["shards"])},
            "joins": "duckdb",
        }
        if engine is not None:
            info["engine"] = engine
        return run_task(
            bench, task, out_dir, seed=seed, info=info, steps=steps, joins="duckdb", html=html
        )
    finally:
        steps.close()
        scratch.cleanup()
