"""Evaluate linkage methods on the user's own file pair (``linkrisk evaluate``).

The same methods, blocking, metrics and report as ``linkrisk run``, on a query file and a
register file with a known truth (:mod:`bench.inputs.userfiles`) instead of a synthetic scenario.

Methods and blocking come from ``--config`` (a TOML file with ``[blocking]`` and ``[[methods]]``
as ``bench/defaults.toml``, whose are the default, or a whole scenario file or preset name);
``--methods`` picks some of them. User files never train a model: their truth is what is
evaluated. Methods that need training (``logistic``) are trained, as in ``linkrisk run``, on a
separately seeded synthetic task of the config's scenario, or of :data:`TRAINING_PRESET` when
the config has no scenario sections; the report says so.

``raw/run.json`` records ``"source": "user files"``, the input file names, row counts and
SHA-256, never their contents; every output holds aggregates only, unless
``include_examples`` adds a few false and missed matches per method (``raw/examples.parquet``
and the report's *Examples* section).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

from bench.inputs.userfiles import (
    ColumnMap,
    UserTask,
    example_records,
    load_user_task,
)
from bench.linkage.config import (
    COMMAND_SECTIONS,
    DEFAULTS_FILE,
    LINKAGE_SECTIONS,
    Benchmark,
    parse_benchmark,
    scenario_path,
)
from bench.runner import RESULTS_DIR, RunResult, run_task
from bench.runs.rundir import EXAMPLES_FILE, USER_SOURCE
from bench.runs.writers import write_parquet
from synthetic.config import check_keys, read_toml
from synthetic.errors import ConfigError
from synthetic.scenario import DATA_SECTIONS

#: The scenario whose synthetic population trains supervised methods when the config has none.
TRAINING_PRESET = "irs-ice"
#: Default output directory.
OUT_DIR = RESULTS_DIR / "evaluate"
#: ``raw/run.json`` ``scenario`` of an evaluation (report title, manifest).
NAME = "evaluate"


def load_config(config: str | None = None, methods: list[str] | None = None) -> Benchmark:
    """Blocking and methods (from ``config``, default ``bench/defaults.toml``), optionally only
    the named ``methods``, with the scenario that trains supervised methods: the config's own
    when it is a whole scenario, else :data:`TRAINING_PRESET`."""
    path = DEFAULTS_FILE if config is None else scenario_path(config)
    data = read_toml(path)
    try:
        check_keys(data, (*DATA_SECTIONS, *LINKAGE_SECTIONS, *COMMAND_SECTIONS), "")
        if not any(s in data for s in DATA_SECTIONS):
            preset = read_toml(scenario_path(TRAINING_PRESET))
            data = {**{s: preset[s] for s in DATA_SECTIONS if s in preset}, **data}
            source = TRAINING_PRESET
        else:
            source = config or str(path)
        bench = parse_benchmark(copy.deepcopy(data), source=source)
        if methods is not None:
            bench = select_methods(bench, methods)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.where}" if exc.where else str(path), exc.problem) from None
    return bench


def select_methods(bench: Benchmark, names: list[str]) -> Benchmark:
    """Only the methods named in ``names`` (in the config's order)."""
    known = [m.name for m in bench.methods]
    for name in names:
        if name not in known:
            raise ConfigError(
                "methods", f"no method named {name!r} (configured: {', '.join(known)})"
            )
    if not names:
        raise ConfigError("methods", "--methods names no method")
    keep = [m for m in bench.methods if m.name in names]
    data = {**bench.data, "methods": [e for e in bench.data["methods"] if e["name"] in names]}
    return dataclasses.replace(bench, methods=keep, data=data)


def evaluate(
    query: Path,
    register: Path,
    cmap: ColumnMap,
    *,
    bench: Benchmark | None = None,
    out_dir: Path = OUT_DIR,
    include_examples: bool = False,
    command: str | None = None,
    progress: bool | None = None,
    html: bool = True,
) -> RunResult:
    """Read the file pair and its truth, run every method of ``bench`` (default:
    :func:`load_config`), write metrics and the report to ``out_dir`` (atomically) and return
    the result. ``command``: the command line the report gives to reproduce the run;
    ``html``: draw ``report.html``."""
    user = load_user_task(query, register, cmap)  # every input problem raises before any write
    return evaluate_task(
        user,
        cmap,
        bench=bench,
        out_dir=out_dir,
        include_examples=include_examples,
        command=command
        or f"linkrisk evaluate --query {query} --register {register} (map: {cmap.where})",
        progress=progress,
        html=html,
    )


def evaluate_task(
    user: UserTask,
    cmap: ColumnMap,
    *,
    bench: Benchmark | None = None,
    out_dir: Path = OUT_DIR,
    include_examples: bool = False,
    command: str,
    progress: bool | None = None,
    html: bool = True,
) -> RunResult:
    """:func:`evaluate` on a task already read (:func:`bench.inputs.userfiles.user_task`:
    files or DataFrames); ``html``: draw ``report.html``."""
    bench = load_config() if bench is None else bench
    training = any(m.needs_training for m in bench.methods)
    info = {
        "scenario": NAME,
        "source": USER_SOURCE,
        "command": command,
        "inputs": user.inputs,
        "queries_with_true_link": int(user.task.query_people["in_register"].sum()),
        "training_scenario": bench.source if training else None,
        "include_examples": include_examples,
    }
    config = {
        "scenario": {"name": NAME, "description": _description(user, bench, training)},
        "blocking": bench.data["blocking"],
        "methods": bench.data["methods"],
        "evaluate": cmap.as_dict(),
    }

    def examples(tmp: Path) -> None:
        write_parquet(example_records(tmp / "raw", user.task), tmp / "raw" / EXAMPLES_FILE)

    return run_task(
        bench,
        user.task,
        out_dir,
        seed=bench.scenario.seed,
        info=info,
        config=config,
        progress=progress,
        before_report=examples if include_examples else None,
        html=html,
    )


def _description(user: UserTask, bench: Benchmark, training: bool) -> str:
    ins = user.inputs
    text = (
        f"User files: query list `{ins['query']['file']}` ({ins['query']['rows']:,} records) "
        f"against register `{ins['register']['file']}` ({ins['register']['rows']:,} records); "
        "truth from "
        + (
            f"the entity-id column `{ins['truth']['column']['query']}`."
            if "column" in ins["truth"]
            else f"the pairs file `{ins['truth']['pairs']['file']}`."
        )
    )
    if training:
        text += (
            f" Supervised methods were trained on the synthetic scenario `{bench.source}` "
            "(a separately seeded population), never on these files."
        )
    return text


__all__ = [
    "OUT_DIR",
    "TRAINING_PRESET",
    "evaluate",
    "evaluate_task",
    "load_config",
    "select_methods",
]
