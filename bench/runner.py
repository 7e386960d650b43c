"""Run a scenario: generate its task (in memory, or in parquet shards for big registers) and
run every method on it (:func:`bench.tasks.run_task`), writing the results atomically.

The output layout is described in :mod:`bench.tasks`.
"""

from __future__ import annotations

from pathlib import Path

from bench.bigfiles import run_sharded
from bench.linkage.config import Benchmark
from bench.linkage.methods.base import use_engine
from bench.tasks import (
    RESULTS_DIR,
    RunResult,
    Steps,
    replicate_seed,
    run_task,
    scenario_info,
    task_steps,
    training_seed,
)
from synthetic.errors import ConfigError
from synthetic.population import generate_population
from synthetic.scenario import build_task
from synthetic.summary import summarize_population

__all__ = [
    "RESULTS_DIR",
    "RunResult",
    "Steps",
    "replicate_seed",
    "run",
    "run_task",
    "task_steps",
    "training_seed",
]


def run(
    bench: Benchmark,
    seed: int | None = None,
    out_dir: Path | None = None,
    *,
    progress: bool | None = None,
    replicates: int = 1,
    engine: str | None = None,
    html: bool = True,
    shards: Path | None = None,
) -> RunResult:
    """Run every method of ``bench`` on one seeded task and write the results atomically.

    ``engine`` (e.g. ``"spark"``) runs every method that declares it on that engine; ``html``:
    draw ``report.html``; ``shards``: a big-file scenario's shards, already written by
    ``linkrisk generate`` for this seed, instead of generating them
    (:func:`bench.bigfiles.run_sharded`).
    """
    seed = bench.scenario.seed if seed is None else seed
    out_dir = out_dir if out_dir is not None else RESULTS_DIR / bench.name
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ConfigError("--replicates", f"must be an integer >= 1, got {replicates!r}")
    if engine is not None:  # before any work: a missing engine fails at once
        use_engine(bench.methods, engine)
    if shards is not None and bench.scenario.shard_size is None:
        raise ConfigError("--shards", "only a big-file scenario (shard_size) reads shards")
    if bench.scenario.shard_size is not None:  # too big for memory: parquet shards and DuckDB
        if replicates != 1:
            raise ConfigError("--replicates", "a big-file scenario (shard_size) runs one replicate")
        return run_sharded(
            bench, seed, out_dir, progress=progress, engine=engine, html=html, shards=shards
        )
    steps = Steps(1 + task_steps(bench, replicates), progress)
    try:
        with steps.step("generating population and files"):
            pop = generate_population(bench.scenario.population, seed)
            task = build_task(bench.scenario, seed, population=pop)
            population = summarize_population(pop, bench.scenario.population)
            del pop  # the task holds what the methods see; the summary keeps the facts
        info = scenario_info(bench, engine)
        return run_task(
            bench,
            task,
            out_dir,
            seed=seed,
            info=info,
            population=population,
            replicates=replicates,
            steps=steps,
            html=html,
        )
    finally:
        steps.close()
