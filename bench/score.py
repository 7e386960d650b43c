"""Score anyone's linker (``linkrisk score``): the links another linker declared, evaluated as
a method of their own against a task's truth.

The user's links are a file (CSV or parquet) or a DataFrame of record ids, ``query_id`` and
``register_id``, with an optional ``score`` per pair and an optional ``link`` column (true /
false, 1 / 0). Without ``link`` every row is a declared link; with it the rows are every pair
the linker considered (its candidates) and ``link`` marks the declared ones, so that blocking
loss and the reduction ratio are known. They become the pairs of a
:class:`bench.linkage.methods.declared.DeclaredLinks` method, and the run is the one a built-in
method gets: the same raw/ files, metrics, causes, subgroups, sweeps (when scores are given)
and report.

The task is either a directory written by ``linkrisk generate`` (its scenario and seed are
read from its ``config.json`` and ``manifest.json`` and the task is drawn again, identical,
so that causes and subgroups, which need the people behind the records, are reported; files
edited since are refused), or a file pair with a truth as ``linkrisk evaluate`` takes it
(:func:`score_files`).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.evaluate import evaluate_task
from bench.inputs.userfiles import (
    GENERATED_MAP,
    ColumnMap,
    UserFile,
    UserTask,
    frame_file,
    generated_map,
    read_file,
)
from bench.linkage.config import Benchmark, parse_benchmark
from bench.linkage.methods.declared import DeclaredLinks
from bench.runs.rundir import read_json
from bench.runs.store import TASK_FORMATS, atomic_dir
from bench.runs.writers import write_json
from bench.tasks import RESULTS_DIR, RunResult, run_task
from synthetic.errors import ConfigError
from synthetic.population import generate_population
from synthetic.scenario import LinkageTask, build_task, effective_parameters
from synthetic.summary import summarize_population

#: The configuration `linkrisk generate` writes beside its files (the scenario, for `score`).
GENERATED_CONFIG = "config.json"
#: Default output directory of ``linkrisk score``.
OUT_DIR = RESULTS_DIR / "score"
#: The method name the declared links are reported under (``--name``).
DEFAULT_NAME = "declared"
LINK_COLUMNS = ("query_id", "register_id")
_TRUE = {"true", "1", "yes", "t", "y"}
_FALSE = {"false", "0", "no", "f", "n"}


def write_task_extras(task: LinkageTask, bench: Benchmark, out: Path, fmt: str) -> list[Path]:
    """What ``linkrisk generate`` writes beside the task's files: the column map that
    ``evaluate`` and ``score`` take as it is, and the scenario's configuration (``score``
    draws the task again from it)."""
    cmap = out / GENERATED_MAP
    cmap.write_text(generated_map(task, fmt), encoding="utf-8")
    config = out / GENERATED_CONFIG
    write_json(bench.data, config)
    return [cmap, config]


def write_generated(
    task: LinkageTask, bench: Benchmark, seed: int, out: Path, fmt: str = "parquet"
) -> list[Path]:
    """Write ``task`` (drawn from ``bench``'s scenario with ``seed``) as ``linkrisk generate``
    does: the files, the extras (:func:`write_task_extras`) and ``manifest.json``, staged and
    swapped in whole; return the paths written (in ``out``)."""
    with atomic_dir(out) as tmp:
        written = task.write(tmp, fmt)
        written += write_task_extras(task, bench, tmp, fmt)
        # The manifest marks the directory as linkrisk's (a later generate may replace it) and
        # lets a reader check the files against their SHA-256.
        doc = {
            "format": TASK_FORMATS[0],
            "scenario": bench.name,
            "seed": seed,
            "config_sha256": bench.config_hash,
            "files": {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in written},
        }
        write_json(doc, tmp / "manifest.json")
    return [out / p.name for p in [*written, tmp / "manifest.json"]]


# --- the user's links ------------------------------------------------------------------------


def read_links(links: Path | pd.DataFrame) -> UserFile:
    """The user's links as a read file (a DataFrame as one named ``<links DataFrame>``); the
    id columns are checked here."""
    if isinstance(links, pd.DataFrame):
        file = frame_file(links, "<links DataFrame>")
    else:
        file = read_file(Path(links))
    for column in LINK_COLUMNS:
        file.column(column, column)  # a missing column is refused on one line
    return file


def declared_method(
    file: UserFile,
    query_ids: np.ndarray,
    register_ids: np.ndarray,
    name: str = DEFAULT_NAME,
) -> DeclaredLinks:
    """The :class:`DeclaredLinks` method holding ``file``'s pairs resolved to rows of the two
    files (their record ids ``query_ids``, ``register_ids``)."""
    scored, has_link = _flags(file)
    rows = {}
    for column, ids, side in zip(
        LINK_COLUMNS, (query_ids, register_ids), ("query", "register"), strict=True
    ):
        values = file.column(column, column)
        where = f"{file.path}: {column}"
        if (values == "").any():
            raise ConfigError(where, f"empty in {_rows(values == '')}")
        row = pd.Index(np.asarray(ids, dtype=object)).get_indexer(values)
        if (row < 0).any():
            bad = row < 0
            raise ConfigError(
                where,
                f"{_rows(bad)} name no {side} record (record_id), e.g. {values[np.argmax(bad)]!r}",
            )
        rows[side] = row.astype(np.int64)
    width = max(len(register_ids), 1)
    keys = rows["query"] * width + rows["register"]
    if np.unique(keys).size != keys.size:
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        raise ConfigError(
            f"{file.path}: {LINK_COLUMNS[0]}, {LINK_COLUMNS[1]}",
            f"{int((counts > 1).sum())} pairs appear more than once (first: row "
            f"{int(np.sort(first[counts > 1])[0]) + 1}); give each pair once",
        )
    score = np.ones(keys.size)
    if scored:
        text = file.column("score", "score")
        score = pd.to_numeric(pd.Series(text), errors="coerce").to_numpy(np.float64)
        bad = ~np.isfinite(score)
        if bad.any():
            raise ConfigError(
                f"{file.path}: score", f"{_rows(bad)} not a finite number, e.g. {text[bad][0]!r}"
            )
    link = np.ones(keys.size, dtype=bool)
    if has_link:
        text = np.char.lower(file.column("link", "link").astype(str))
        bad = ~np.isin(text, [*_TRUE, *_FALSE])
        if bad.any():
            raise ConfigError(
                f"{file.path}: link",
                f"{_rows(bad)} not true/false (or 1/0), e.g. {text[bad][0]!r}",
            )
        link = np.isin(text, list(_TRUE))
    params = DeclaredLinks.validate(
        {
            "file": str(file.path),
            "sha256": file.sha256,
            "candidates": has_link,
            "scored": scored,
        },
        f"method {name}",
    )
    method = DeclaredLinks(name, params, DeclaredLinks.default_resolve)
    method.pairs = pd.DataFrame(
        {
            "query_row": rows["query"],
            "register_row": rows["register"],
            "score": score,
            "link": link,
        }
    )
    return method


def _flags(file: UserFile) -> tuple[bool, bool]:
    columns = set(file.frame.columns)
    return "score" in columns, "link" in columns


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    return f"{rows.size} row{'s' if rows.size != 1 else ''} (first: row {rows[0] + 1})"


def with_method(bench: Benchmark, method: DeclaredLinks) -> Benchmark:
    """``bench`` with the declared links as its only method (its configuration says so)."""
    entry: dict[str, Any] = {
        "name": method.name,
        "kind": method.kind,
        "resolve": method.resolve,
        **method.params,
    }
    data = {**copy.deepcopy(bench.data), "methods": [entry]}
    return dataclasses.replace(bench, methods=[method], data=data, text=None)


# --- scoring against a generated task --------------------------------------------------------


def load_generated(task_dir: Path) -> tuple[Benchmark, int]:
    """The scenario and seed of a directory written by ``linkrisk generate``, after checking
    that its files are those it wrote (edited files: score them with ``--query``,
    ``--register`` and ``--map`` instead)."""
    manifest_path = task_dir / "manifest.json"
    manifest = read_json(manifest_path)
    if isinstance(manifest, dict) and manifest.get("format") == TASK_FORMATS[1]:
        raise ConfigError(
            str(manifest_path),
            "a sharded task (big-file scenario) cannot be scored yet: --task takes what an "
            "in-memory linkrisk generate wrote",
        )
    if not isinstance(manifest, dict) or manifest.get("format") != TASK_FORMATS[0]:
        raise ConfigError(
            str(manifest_path), "not the manifest of files written by linkrisk generate"
        )
    config_path = task_dir / GENERATED_CONFIG
    if not config_path.is_file():
        raise ConfigError(
            str(config_path), "missing (files written by an older linkrisk generate: rerun it)"
        )
    for name, digest in manifest.get("files", {}).items():
        path = task_dir / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ConfigError(
                str(path),
                "differs from what linkrisk generate wrote (manifest.json); to score against "
                "edited files give --query, --register and --map",
            )
    bench = parse_benchmark(read_json(config_path), source=str(task_dir))
    if bench.config_hash != manifest.get("config_sha256"):
        raise ConfigError(str(config_path), "differs from the configuration in manifest.json")
    return bench, int(manifest["seed"])


def score_generated(
    task_dir: Path,
    links: Path | pd.DataFrame,
    *,
    out_dir: Path = OUT_DIR,
    name: str = DEFAULT_NAME,
    command: str | None = None,
    progress: bool | None = None,
    html: bool = True,
) -> RunResult:
    """Score ``links`` against the task of a ``linkrisk generate`` directory (drawn again from
    its scenario and seed: identical, with the people behind the records) and write the run to
    ``out_dir``."""
    bench, seed = load_generated(task_dir)
    file = read_links(links)  # before drawing the task: a bad file fails at once
    return score_scenario(
        bench,
        seed,
        file,
        out_dir=out_dir,
        name=name,
        command=command or f"linkrisk score --task {task_dir} --links {file.path}",
        progress=progress,
        html=html,
    )


def score_scenario(
    bench: Benchmark,
    seed: int,
    links: UserFile,
    *,
    out_dir: Path,
    name: str = DEFAULT_NAME,
    command: str,
    progress: bool | None = None,
    task: LinkageTask | None = None,
    html: bool = True,
) -> RunResult:
    """Score ``links`` against the task of ``bench``'s scenario drawn with ``seed`` (or the
    given ``task``, drawn so), as ``linkrisk run`` runs a built-in method on it; ``html``: draw
    ``report.html``."""
    pop = generate_population(bench.scenario.population, seed)
    population = summarize_population(pop, bench.scenario.population)
    if task is None:
        task = build_task(bench.scenario, seed, population=pop)
    del pop
    method = declared_method(
        links, task.query["record_id"].to_numpy(), task.register["record_id"].to_numpy(), name
    )
    scored = with_method(bench, method)
    info = {
        "scenario": bench.name,
        "source": bench.source,
        "population": bench.scenario.population.size,
        "parameters": effective_parameters(bench.scenario),
        "command": command,
    }
    return run_task(
        scored,
        task,
        out_dir,
        seed=seed,
        info=info,
        population=population,
        progress=progress,
        html=html,
    )


# --- scoring against a user's file pair ------------------------------------------------------


def score_files(
    user: UserTask,
    cmap: ColumnMap,
    links: Path | pd.DataFrame,
    bench: Benchmark,
    *,
    out_dir: Path = OUT_DIR,
    name: str = DEFAULT_NAME,
    command: str,
    include_examples: bool = False,
    progress: bool | None = None,
    html: bool = True,
) -> RunResult:
    """Score ``links`` against a file pair with a truth (as ``linkrisk evaluate`` reads it);
    ``bench`` gives the blocking (used only when the links come with their candidates)."""
    file = read_links(links)
    method = declared_method(
        file,
        user.task.query["record_id"].to_numpy(),
        user.task.register["record_id"].to_numpy(),
        name,
    )
    return evaluate_task(
        user,
        cmap,
        bench=with_method(bench, method),
        out_dir=out_dir,
        include_examples=include_examples,
        command=command,
        progress=progress,
        html=html,
    )


__all__ = [
    "DEFAULT_NAME",
    "GENERATED_CONFIG",
    "OUT_DIR",
    "declared_method",
    "load_generated",
    "read_links",
    "score_files",
    "score_generated",
    "score_scenario",
    "write_generated",
    "write_task_extras",
]
