"""Run a benchmark on a task: block, run every method, store raw outputs, derive metrics.

:func:`bench.runner.run` generates the task from a scenario (in memory, or in parquet shards through
:mod:`bench.bigfiles`) and hands it to :func:`run_task` here.

Output layout of one run (``results/<scenario>/`` by default)::

    raw/<method>.parquet   pairs the method considered: query_row, register_row, score, accept, link
    raw/<method>.json      the method's kind, parameters, resolution, and whether it was blocked
    raw/truth.parquet      true links (query_row, register_row)
    raw/query_people.parquet     truth-side attributes of each query record (subgroups, causes)
    raw/register_people.parquet  the same, with register_row, for the register records in a true
                           link or an attributed false match (error attribution: every false
                           match, or a seeded sample of a method with very many)
    raw/noise_log.parquet  the cells noise changed (side, row, field, noise) in the query list and
                           in those register records
    raw/run.json           sizes, seeds, blocking pass counts, method order
    raw/population.json    facts of the population beside the Census tables (`linkrisk describe`)
    raw/explanations.parquet  for methods that explain their scores, the terms (match weights) of
                           their highest-scoring false matches with both records' values (runs
                           on user files: only with --include-examples)
    raw/replicates/<k>/    replicates 2..K (``--replicates K``): truth, query people, each method's
                           declared and considered true links, sizes (enough to recompute their
                           metrics, also by subgroup)
    config.json            the effective configuration (defaults filled in)
    metrics.csv/.json      derived from raw/ alone (``linkrisk report`` recomputes them)
    causes.csv             false matches by cause, per method (derived from raw/, as metrics)
    missed_causes.csv      missed matches by the noise that changed either record, per method
    report.md              headline table, causes, definitions, parameters, manifest summary
    manifest.json          versions, seeds, config hash, SHA-256 of every file above

Everything is written to a temporary sibling directory and moved into place only when complete,
so an interrupted run never leaves a half-written result where the previous one was.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from tqdm import tqdm

from bench.apart import call_apart
from bench.interrupts import sigint_watch
from bench.linkage.blocking import block
from bench.linkage.config import Benchmark
from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method, MethodNotRun, Scored, not_run_reason
from bench.linkage.resolve import resolve
from bench.measurement.attributed import attributed_false_matches
from bench.memory import give_back_memory
from bench.report.document import write_outputs
from bench.runs.rundir import EXPLANATIONS
from bench.runs.store import RESULTS_DIR as RESULTS_DIR  # re-exported: where runs go by default
from bench.runs.store import atomic_dir
from bench.runs.writers import ROW_GROUP_ROWS, write_json, write_parquet, write_parquet_parts
from synthetic.arrays import isin_rows, unique_ints
from synthetic.errors import LinkriskError
from synthetic.rng import stable_hash
from synthetic.scenario import LinkageTask, build_task, effective_parameters


def training_seed(seed: int) -> int:
    """The seed of the separately drawn training task (never equal to the evaluation seed)."""
    return stable_hash(f"training:{seed}") % 2**32


def replicate_seed(seed: int, k: int) -> int:
    """The seed of replicate ``k``: the run's seed for k = 0, an independent one otherwise."""
    return seed if k == 0 else stable_hash(f"replicate:{seed}:{k}") % 2**32


class RegisterSide(Protocol):
    """What a run keeps of the register side for error attribution: the people and the noise
    of the register records in a true link or an attributed false match, and the noise counts
    of the whole task.
    In memory (:class:`TaskSide`) or read from parquet shards (:mod:`bench.bigfiles`)."""

    def people(self, rows: np.ndarray) -> pd.DataFrame:
        """The register people at positions ``rows`` (sorted, unique), in that order."""
        ...

    def noise_log(self, rows: np.ndarray) -> pd.DataFrame:
        """The query list's noise log, then the register's entries of ``rows``."""
        ...

    def noise_counts(self) -> dict[str, dict[str, int]]:
        """Changed cells per side and noise type, over the whole task."""
        ...

    def column(self, name: str) -> pd.Series:
        """The register's field ``name``, every record (read when the linkage codes it)."""
        ...

    def records(self, rows: np.ndarray) -> pd.DataFrame:
        """The register records at positions ``rows`` (any order), in that order."""
        ...


class TaskSide:
    """:class:`RegisterSide` of a task held in memory."""

    def __init__(self, task: LinkageTask) -> None:
        self.task = task

    def people(self, rows: np.ndarray) -> pd.DataFrame:
        return self.task.register_people.iloc[rows].reset_index(drop=True)

    def noise_log(self, rows: np.ndarray) -> pd.DataFrame:
        log = self.task.noise_log
        keep = (log["side"] == "query").to_numpy() | isin_rows(log["row"].to_numpy(), rows)
        return log[keep].reset_index(drop=True)

    def noise_counts(self) -> dict[str, dict[str, int]]:
        return _noise_counts(self.task)

    def column(self, name: str) -> pd.Series:
        return self.task.register[name]

    def records(self, rows: np.ndarray) -> pd.DataFrame:
        return self.task.register.iloc[rows].reset_index(drop=True)


@dataclass(frozen=True)
class RunResult:
    """Where a run was written and its metrics table."""

    out_dir: Path
    metrics: pd.DataFrame
    timings: dict[str, float]
    #: Each step's peak resident memory in MB, where the system can tell (Linux); for the user,
    #: never written to the run's files (it depends on the machine).
    peaks: dict[str, float] = field(default_factory=dict)

    def step_lines(self) -> list[str]:
        """Each step's time, and its peak memory where known: lines for the user."""
        lines = ["time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())]
        if self.peaks:
            peaks = ", ".join(f"{k} {v / 1024:.2f}" for k, v in self.peaks.items())
            lines.append(f"peak memory, GB: {peaks}")
        return lines


class Steps:
    """A progress bar over the run's steps (shown on a terminal, silent otherwise), with each
    step's time and, where the system tells (Linux), its peak resident memory."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        show = sys.stderr.isatty() if enabled is None else enabled
        self.bar = tqdm(
            total=total,
            disable=not show,
            file=sys.stderr,
            bar_format="{desc:<40} {bar:20} {n_fmt}/{total_fmt} [{elapsed}]",
        )
        self.timings: dict[str, float] = {}
        self.peaks: dict[str, float] = {}
        self._memory = MemoryWatch.start()

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.bar.set_description_str(label)
        start = time.perf_counter()
        if self._memory is not None:
            self._memory.restart()
        yield
        self.timings[label] = time.perf_counter() - start
        if self._memory is not None:
            self.peaks[label] = self._memory.peak_mb()
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
        if self._memory is not None:
            self._memory.stop()


class MemoryWatch:
    """The peak resident memory of this process and its child processes (generation runs in
    one: :func:`bench.bigfiles.generate`) since :meth:`restart`, sampled every
    :data:`INTERVAL` seconds by a daemon thread (Linux: ``/proc/<pid>/statm``; the children
    the main thread started, from ``/proc/<pid>/task/<pid>/children``). Sampling, not the
    kernel's high-water mark: resetting that one (``clear_refs``) would also reset what
    ``/usr/bin/time`` and ``VmHWM`` report for the whole process. A spike shorter than the
    interval can be missed; pages a child shares with another process count in each."""

    INTERVAL = 0.02
    STATM = "/proc/self/statm"

    def __init__(self, page: int) -> None:
        self._page = page
        self._peak = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="linkrisk-memory", daemon=True)

    @classmethod
    def start(cls) -> MemoryWatch | None:
        """A running watch, or None where the system does not tell."""
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            with open(cls.STATM) as f:
                f.read()
        except (OSError, ValueError, AttributeError):
            return None
        watch = cls(page)
        watch._thread.start()
        return watch

    def _resident(self) -> int:
        total, pids = 0, [str(os.getpid())]
        while pids:
            pid = pids.pop()
            try:
                with open(f"/proc/{pid}/statm") as f:
                    total += int(f.read().split()[1]) * self._page
                # children started by the process's main thread (linkrisk starts them there)
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    pids += f.read().split()
            except (OSError, ValueError, IndexError):
                continue  # gone since it was listed, or a system that does not list children
        return total

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            resident = self._resident()
            with self._lock:
                self._peak = max(self._peak, resident)

    def restart(self) -> None:
        resident = self._resident()
        with self._lock:
            self._peak = resident

    def peak_mb(self) -> float:
        return max(self._peak, self._resident()) / 2**20

    def stop(self) -> None:
        self._stop.set()


def scenario_info(bench: Benchmark, engine: str | None, **more: Any) -> dict[str, Any]:
    """The ``raw/run.json`` entries of a run of a scenario (``more``: the caller's own); the
    engine only when given, so that runs without it keep their bytes."""
    info = {
        "scenario": bench.name,
        "source": bench.source,
        "population": bench.scenario.population.size,
        "parameters": effective_parameters(bench.scenario),
        **more,
    }
    if engine is not None:
        info["engine"] = engine
    return info


def task_steps(bench: Benchmark, replicates: int = 1, skip: Mapping[str, str] = {}) -> int:
    """Progress steps of :func:`run_task` (``skip``: as there)."""
    methods = [m for m in bench.methods if m.name not in skip]
    blocked = any(m.uses_blocking() for m in methods)
    training = any(m.needs_training for m in methods)
    return 1 + blocked + 2 * training + len(methods) + replicates


def run_task(
    bench: Benchmark,
    task: LinkageTask,
    out_dir: Path,
    *,
    seed: int,
    info: dict[str, Any],
    config: dict[str, Any] | None = None,
    population: dict[str, Any] | None = None,
    replicates: int = 1,
    steps: Steps | None = None,
    progress: bool | None = None,
    before_report: Callable[[Path], None] | None = None,
    joins: str = "numpy",
    html: bool = True,
    register_side: RegisterSide | None = None,
    skip: Mapping[str, str] = {},
    report_apart: bool = False,
) -> RunResult:
    """Run every method of ``bench`` on a prebuilt ``task`` and write ``out_dir`` atomically.

    ``info`` adds entries to ``raw/run.json`` (scenario, source, ...); ``config`` is written as
    ``config.json`` (default: ``bench.data``); ``population`` as ``raw/population.json`` when
    given. Methods that need training are trained on ``bench.scenario`` drawn with
    :func:`training_seed`; replicates 2..K draw ``bench.scenario`` again. ``before_report`` is
    called with the temporary run directory once ``raw/`` is written, before the report.
    ``progress``: show a progress bar (default: on a terminal) unless ``steps`` are given.
    ``joins``: the blocking engine ("numpy", or "duckdb" for big registers). ``html``: draw
    ``report.html`` (the Python API skips it when the run is not kept). ``register_side``:
    where the register's people and noise log are read for attribution (default: ``task``'s
    own; a big-file run reads them from its shards instead of holding them). ``skip``: methods
    that cannot run on this task, by name, with the reason the report gives (they are not
    run, and the others go on). ``report_apart``: make the report in a child process
    (:func:`bench.apart.call_apart`), for a big run, so that its peak does not sit on the memory
    the linkage leaves in this one.
    """
    methods = bench.methods
    running = [m for m in methods if m.name not in skip]
    training = any(m.needs_training for m in running)
    own_steps = steps is None
    steps = Steps(task_steps(bench, replicates, skip), progress) if steps is None else steps
    side = TaskSide(task) if register_side is None else register_side
    try:
        # A register read from shards is read a field at a time, as the methods code them.
        read = None if register_side is None else register_side.column
        prep = PreparedTask(task, seed, joins=joins, read_register=read)
        none = Candidates(np.zeros(0, np.int64), np.zeros(0, np.int64))
        candidates, n_candidates, blocked = none, 0, False
        per_pass: list[int] = []
        if training:
            with steps.step("generating training files"):
                tseed = training_seed(seed)
                train = PreparedTask(build_task(bench.scenario, tseed), tseed)
            with steps.step("blocking training files"):
                train_cands, _ = block(train, bench.blocking, bench.max_pairs)
                labels = _labels(train.task, train_cands)
        with atomic_dir(out_dir) as tmp:
            raw = tmp / "raw"
            raw.mkdir()
            with steps.step("writing truth"):
                write_parquet(task.truth, raw / "truth.parquet")
                write_parquet(task.query_people, raw / "query_people.parquet")
            linked = [task.truth["register_row"].to_numpy()]
            # method -> why it did not run (the others go on)
            not_run: dict[str, str] = dict(skip)
            # Record values leave a user's files only on request (--include-examples).
            explain = bool(info.get("include_examples", True))
            explained = []
            # Blocking waits for the first method that needs candidates (the methods before
            # it run without them held), and they are freed after the last.
            last_blocked = max((i for i, m in enumerate(running) if m.uses_blocking()), default=-1)
            for i, m in enumerate(running):
                if m.uses_blocking() and not blocked:
                    with steps.step("blocking"):
                        candidates, per_pass = block(prep, bench.blocking, bench.max_pairs)
                        n_candidates, blocked = len(candidates), True
                    give_back_memory()  # blocking's temporaries, before the method's peak
                with steps.step(f"method {m.name}"), sigint_watch() as interrupted:
                    try:
                        if m.needs_training:
                            m.fit(train, train_cands, labels)
                        linked.append(
                            _run_method(m, prep, candidates if m.uses_blocking() else None, raw)
                        )
                        if explain and m.explains:  # before a replicate refits the model
                            explained.append(explanations(m, prep, raw, side))
                    except Exception as exc:
                        not_run[m.name] = _failed(m.name, exc, interrupted)
                if i == last_blocked:
                    candidates = none
                if (keep := later_reads(running[i + 1 :], bench, blocked)) is not None:
                    prep.release(keep)
                give_back_memory()
            if explained:
                frame = pd.concat(explained, ignore_index=True)
                write_parquet(frame[~frame["method"].isin(list(not_run))], raw / EXPLANATIONS)
            # Attribution needs the people and noise of the register records in a true link or
            # an attributed false match only (a seeded sample of a method with more false
            # matches than bench.measurement.attributed's bound): a few percent of the register.
            rows = unique_ints(np.concatenate(linked))
            people = side.people(rows)
            people.insert(0, "register_row", rows)
            write_parquet(people, raw / "register_people.parquet")
            write_parquet(side.noise_log(rows), raw / "noise_log.parquet")
            info = {
                **info,
                "seed": seed,
                "training_seed": training_seed(seed) if training else None,
                "queries": prep.n_query,
                "register_records": prep.n_register,
                "true_links": len(task.truth),
                "candidates": n_candidates,
                "blocking_pass_pairs": per_pass,
                "noise_cells": side.noise_counts(),
            }
            for k in range(1, replicates):
                with steps.step(f"replicate {k + 1} of {replicates}"):
                    rep = raw / "replicates" / str(k)
                    _replicate(bench, replicate_seed(seed, k), methods, rep, not_run)
            if len(not_run) == len(methods):  # nothing to report: an input error, as before
                reasons = "; ".join(f"{name}: {why}" for name, why in not_run.items())
                raise LinkriskError(f"no method could run ({reasons})")
            _record_not_run(methods, not_run, raw, replicates)
            # "methods": those that ran (every reader of raw/ iterates these); "not_run": the
            # others with their reasons (absent when every method ran).
            info["methods"] = [m.name for m in methods if m.name not in not_run]
            if not_run:
                info["not_run"] = {m.name: not_run[m.name] for m in methods if m.name in not_run}
            info["replicates"] = replicates
            write_json(info, raw / "run.json")
            if population is not None:
                write_json(population, raw / "population.json")
            if bench.text is not None and config is None:  # its comments cite the sources
                (raw / "scenario.toml").write_text(bench.text, encoding="utf-8")
            write_json(bench.data if config is None else config, tmp / "config.json")
            if before_report is not None:
                before_report(tmp)
            # The report reads raw/ alone: free the task, its codes and the candidates first
            # (most of the memory of a big-file run).
            task = prep = candidates = people = side = None  # type: ignore[assignment]
            give_back_memory()
            with steps.step("metrics and report"):
                if report_apart:
                    metrics = call_apart(write_outputs, tmp, html=html)
                else:
                    metrics = write_outputs(tmp, html=html)
    finally:
        if own_steps:
            steps.close()
    return RunResult(out_dir, metrics, steps.timings, steps.peaks)


def later_reads(later: list[Method], bench: Benchmark, blocked: bool) -> set[str] | None:
    """The fields the ``later`` methods read (:meth:`Method.reads`), and the blocking's while
    it is still to come (``blocked`` False and some later method blocked); None where some
    later method does not say (then everything is kept)."""
    keep: set[str] = set()
    for m in later:
        if (reads := m.reads()) is None:
            return None
        keep |= reads
    if not blocked and any(m.uses_blocking() for m in later):
        keep |= {field for keys in bench.blocking for field, _, _ in keys}
    return keep


def _labels(task: LinkageTask, cands: Candidates) -> np.ndarray:
    width = max(len(task.register), 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    return np.isin(cands.query_row * width + cands.register_row, truth)


def _noise_counts(task: LinkageTask) -> dict[str, dict[str, int]]:
    counts = task.noise_log.groupby(["side", "noise"], observed=True).size()
    out: dict[str, dict[str, int]] = {}
    for (side, noise), n in counts.items():
        out.setdefault(str(side), {})[str(noise)] = int(n)
    return out


def _replicate(
    bench: Benchmark, seed: int, methods: list[Method], out: Path, not_run: dict[str, str]
) -> None:
    """One more independently seeded population, scored by the same (already trained) methods.

    Written compactly, as enough to recompute the confusion exactly: the true links, each
    method's declared links and its considered true links (``raw/replicates/<k>/``), and in
    ``run.json`` the sizes and each blocked method's number of considered pairs. Methods in
    ``not_run`` are skipped; one that fails here is added to it (with the replicate's number):
    its pooled figures would otherwise cover some replicates only.
    """
    task = build_task(bench.scenario, seed)
    prep = PreparedTask(task, seed)
    blocked = any(m.uses_blocking() for m in methods)
    cands = block(prep, bench.blocking, bench.max_pairs)[0] if blocked else None
    out.mkdir(parents=True)
    width = max(prep.n_register, 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    write_parquet(task.truth, out / "truth.parquet")
    # the subgroups pool the replicates as the headline does: they need who was queried
    write_parquet(task.query_people, out / "query_people.parquet")
    considered = {}
    for m in methods:
        if m.name in not_run:
            continue
        try:
            with sigint_watch() as interrupted:
                frame = scored_frame(m, prep, cands if m.uses_blocking() else None)
        except Exception as exc:
            not_run[m.name] = f"replicate {int(out.name) + 1}: {_failed(m.name, exc, interrupted)}"
            continue
        considered[m.name] = len(frame) if m.uses_blocking() else None
        keys = frame["query_row"].to_numpy() * width + frame["register_row"].to_numpy()
        keep = frame["link"].to_numpy() | np.isin(keys, truth)
        write_parquet(frame[keep].reset_index(drop=True), out / f"{m.name}.parquet")
    info = {
        "seed": seed,
        "queries": prep.n_query,
        "register_records": prep.n_register,
        "true_links": len(task.truth),
        "considered_pairs": considered,
    }
    write_json(info, out / "run.json")


def _failed(name: str, exc: Exception, interrupted: threading.Event) -> str:
    """Why method ``name`` did not run, from the exception it raised; re-raises what is not
    the method's failure but the whole run's (out of memory; an interrupt wrapped by an
    engine). An unforeseen failure (not :class:`MethodNotRun`) is also written whole to
    stderr: the report keeps its first line, often only an engine's "error executing" with
    the cause further down."""
    if interrupted.is_set():
        raise KeyboardInterrupt from exc
    if isinstance(exc, MemoryError):
        raise exc
    if not isinstance(exc, MethodNotRun):
        whole = "".join(traceback.format_exception(exc)).rstrip()
        print(f"linkrisk: method {name} failed; the whole error:\n{whole}", file=sys.stderr)
    return not_run_reason(exc)


def _record_not_run(methods: list[Method], not_run: dict[str, str], raw: Path, k: int) -> None:
    """Write what raw/ keeps of methods that did not run: their metadata with ``not_run`` (the
    reason), and no pairs anywhere (a method that failed in a later replicate loses the pairs
    of the earlier ones, and its entry in their ``considered_pairs``)."""
    for m in methods:
        if m.name not in not_run:
            continue
        write_json({**_method_meta(m), "not_run": not_run[m.name]}, raw / f"{m.name}.json")
        (raw / f"{m.name}.parquet").unlink(missing_ok=True)
        for j in range(1, k):
            rep = raw / "replicates" / str(j)
            (rep / f"{m.name}.parquet").unlink(missing_ok=True)
            path = rep / "run.json"
            rinfo = json.loads(path.read_text(encoding="utf-8"))
            rinfo["considered_pairs"].pop(m.name, None)
            write_json(rinfo, path)


def _method_meta(m: Method) -> dict[str, Any]:
    """A method's ``raw/<method>.json``: what the report shows of it."""
    return m.meta()


def scored_frame(m: Method, prep: PreparedTask, cands: Candidates | None) -> pd.DataFrame:
    """Score and resolve one method: every considered pair with its score, accept, link,
    whether the two records' addresses match (:meth:`PreparedTask.address_match`) and, for a
    method with named paths, the path that produced it."""
    scored, link = _score(m, prep, cands)
    return _pair_frame(m, prep, scored, link, slice(None))


def _score(m: Method, prep: PreparedTask, cands: Candidates | None) -> tuple[Scored, np.ndarray]:
    """The method's scored pairs and, after multiple-hit resolution, which are links."""
    scored = m.score(prep, cands)
    link = resolve(scored.query_row, scored.register_row, scored.score, scored.accept, m.resolve)
    if m.path_names() is not None and scored.path is None:
        raise ValueError(f"method {m.name!r} names paths but scored no path per pair")
    return scored, link


def _pair_frame(
    m: Method, prep: PreparedTask, scored: Scored, link: np.ndarray, at: slice
) -> pd.DataFrame:
    """The rows ``at`` of :func:`scored_frame`'s frame."""
    qi = np.asarray(scored.query_row, np.int64)[at]
    ri = np.asarray(scored.register_row, np.int64)[at]
    columns = {
        "query_row": qi,
        "register_row": ri,
        "score": np.asarray(scored.score, np.float32)[at],
        "accept": np.asarray(scored.accept, bool)[at],
        "link": link[at],
        "address_match": prep.address_match(qi, ri),
    }
    if m.path_names() is not None:
        assert scored.path is not None  # checked by _score
        columns["path"] = np.asarray(scored.path, np.int16)[at]
    return pd.DataFrame(columns)


#: Explained false matches per method (its highest-scoring ones).
EXPLAINED_PER_METHOD = 3


def explanations(
    m: Method,
    prep: PreparedTask,
    raw: Path,
    side: RegisterSide | None = None,
    k: int = EXPLAINED_PER_METHOD,
) -> pd.DataFrame:
    """The terms of the score of ``m``'s ``k`` highest-scoring false matches (ties: by query
    row), one row per pair and term (:meth:`Method.explain`), with both records' values of the
    term's field, for ``raw/explanations.parquet``. ``side``: where the register's records are
    read (default: ``prep``'s task)."""
    task = prep.task
    # the declared links only: at the real size the method considered 156 million pairs
    links = pd.read_parquet(
        raw / f"{m.name}.parquet", columns=[*_PAIR, "score", "link"], filters=[("link", "==", True)]
    )
    width = max(prep.n_register, 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    false = links[~np.isin(links["query_row"] * width + links["register_row"], truth)]
    top = false.sort_values(["score", "query_row"], ascending=[False, True], kind="stable")[:k]
    terms = m.explain(prep, top["query_row"].to_numpy(), top["register_row"].to_numpy())
    side = TaskSide(task) if side is None else side
    register = side.records(top["register_row"].to_numpy())
    rows = []
    for example, (rec, pair_terms) in enumerate(zip(top.to_dict("records"), terms, strict=True)):
        for term, level, label, weight in pair_terms:
            values = [
                "" if term not in frame.columns else _text(frame[term].iloc[row])
                for frame, row in (
                    (task.query, rec["query_row"]),
                    (register, example),
                )
            ]
            pair = [int(rec["query_row"]), int(rec["register_row"]), float(rec["score"])]
            rows.append([m.name, example, *pair, term, level, label, weight, *values])
    columns = [
        "method", "example", "query_row", "register_row", "score", "term", "level", "level_label",
        "weight", "query_value", "register_value",
    ]  # fmt: skip
    out = pd.DataFrame(rows, columns=columns)
    return out.astype({"level": np.int8, "example": np.int64, "weight": np.float64})


_PAIR = ["query_row", "register_row"]


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


#: A method's pairs written at a time (:func:`_run_method`), a multiple of the parquet row group
#: so that the file is the one written at once: at the real size a frame of every pair (156
#: million) and its Arrow copy would each take some 3.5 GB.
PAIR_PART_ROWS = 16 * ROW_GROUP_ROWS


def _run_method(m: Method, prep: PreparedTask, cands: Candidates | None, raw: Path) -> np.ndarray:
    """Score, resolve and write one method's pairs; return the register rows of its false
    matches that the report attributes (:func:`attributed_false_matches`, as it draws them)."""
    scored, link = _score(m, prep, cands)
    n = len(link)
    parts = (
        _pair_frame(m, prep, scored, link, slice(a, a + PAIR_PART_ROWS))
        for a in range(0, max(n, 1), PAIR_PART_ROWS)  # one part, empty, for no pairs
    )
    write_parquet_parts(parts, raw / f"{m.name}.parquet")
    write_json(_method_meta(m), raw / f"{m.name}.json")
    # its true links' register rows are the truth's, kept anyway
    q, r = np.asarray(scored.query_row, np.int64), np.asarray(scored.register_row, np.int64)
    links = (q, r) if link.all() else (q[link], r[link])  # a lax rule links all it scores
    return attributed_false_matches(m.name, links, prep.task.truth).register_row
