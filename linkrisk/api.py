"""The functions of :mod:`linkrisk` (see its docstring). They call the code the command line
calls (:mod:`bench.runner`, :mod:`bench.evaluate`, :mod:`bench.score`) and read the tables back
from the run directory; heavy modules are imported when a function is first called."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from bench.inputs.userfiles import ColumnMap, UserTask
    from bench.linkage.config import Benchmark
    from bench.tasks import RunResult
    from synthetic.scenario import LinkageTask

PathLike = str | Path
#: Tables of a run read back into :attr:`Results.tables` (those the run has).
TABLES = (
    "metrics.csv",
    "summary.csv",
    "replicates.csv",
    "causes.csv",
    "missed_causes.csv",
    "subgroups.csv",
    "subgroup_causes.csv",
    "match_matrix.csv",
    "sweeps.csv",
    "operating_points.csv",
    "paths.csv",
)


@dataclass(frozen=True)
class Generated:
    """A scenario's two agency files and their truth, as :func:`generate` drew them.

    ``query`` and ``register`` hold ``record_id`` and the record fields; ``truth`` the true
    links as rows and as record ids (``query_id``, ``register_id``); ``query_people``,
    ``register_people`` and ``noise_log`` what the records do not show (who each record is,
    which cells noise changed).
    """

    scenario: str
    seed: int
    bench: Benchmark = field(repr=False)
    task: LinkageTask = field(repr=False)

    # The frames are the task's own (no second copy to keep in step).
    @property
    def query(self) -> pd.DataFrame:
        return self.task.query

    @property
    def register(self) -> pd.DataFrame:
        return self.task.register

    @cached_property
    def truth(self) -> pd.DataFrame:
        return self.task.truth_with_ids()

    @property
    def query_people(self) -> pd.DataFrame:
        return self.task.query_people

    @property
    def register_people(self) -> pd.DataFrame:
        return self.task.register_people

    @property
    def noise_log(self) -> pd.DataFrame:
        return self.task.noise_log

    def write(self, path: PathLike, fmt: str = "parquet") -> Path:
        """Write the files as ``linkrisk generate`` does (with ``map.toml``, ``config.json``
        and ``manifest.json``) to ``path`` (new, empty, or an earlier linkrisk output)."""
        from bench.runs.store import check_out_dir
        from bench.score import write_generated

        out = Path(path)
        check_out_dir(out)
        write_generated(self.task, self.bench, self.seed, out, fmt)
        return out


@dataclass(frozen=True)
class Results:
    """What a run measured: ``metrics`` (one row per method, the columns of ``metrics.csv``),
    ``accuracy`` (the same counts as a record-linkage library reports them: TP, FP, FN, TN,
    precision, recall, F1, FDR, FNMR, wrong-person rate, reduction ratio), every other table of
    the run in ``tables`` (by file name: ``causes.csv``, ``subgroups.csv``, ``sweeps.csv``, ...),
    the Markdown report, and ``out_dir``: where the run was written (None: nothing was kept).
    """

    metrics: pd.DataFrame
    accuracy: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    report: str
    out_dir: Path | None

    def confusion_matrix(self, method: str) -> pd.DataFrame:
        """``method``'s 2x2 confusion matrix over every query x register pair (rows: true
        link or not; columns: declared or not), as recordlinkage's ``confusion_matrix``."""
        row = self.accuracy.set_index("method").loc[method]
        return pd.DataFrame(
            [[row["TP"], row["FN"]], [row["FP"], row["TN"]]],
            index=pd.Index(["true link", "not a link"], name="truth"),
            columns=pd.Index(["declared", "not declared"], name="method"),
        )


def accuracy(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per method, the counts and rates record-linkage libraries report, from ``metrics``.

    Pairs are every query x register pair; TN = pairs - TP - FP - FN. ``reduction_ratio`` =
    1 - candidate pairs / pairs, for methods that saw blocked candidates (NaN for those that
    saw every pair, such as rules, and for declared links given without their candidates).
    """
    m = metrics
    pairs = m["queries"].astype("int64") * m["register_records"].astype("int64")
    declared, tp = m["declared"], m["TP"]
    precision = tp / declared.where(declared > 0)
    recall = tp / m["true_links"].where(m["true_links"] > 0)
    blocked = m["candidates"] < pairs
    return pd.DataFrame(
        {
            "method": m["method"],
            "TP": tp,
            "FP": m["FP"],
            "FN": m["FN"],
            "TN": pairs - tp - m["FP"] - m["FN"],
            "precision": precision,
            "recall": recall,
            "F1": 2 * precision * recall / (precision + recall),
            "FDR": m["FDR"],
            "FNMR": m["FNMR"],
            "wrong_person_rate": m["wrong_person_rate"],
            "reduction_ratio": (1 - m["candidates"] / pairs).where(blocked),
            "candidates": m["candidates"].where(blocked),
        }
    )


@contextmanager
def _run_dir(out: PathLike | None) -> Iterator[Path]:
    """Where a run is written: ``out`` (checked as the command line checks ``--out``), else a
    temporary directory removed afterwards."""
    if out is not None:
        from bench.runs.store import check_out_dir

        path = Path(out)
        check_out_dir(path)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="linkrisk-") as tmp:
        yield Path(tmp) / "run"


def _results(result: RunResult, keep: bool) -> Results:
    run_dir = result.out_dir
    tables = {name: pd.read_csv(run_dir / name) for name in TABLES if (run_dir / name).is_file()}
    metrics = tables["metrics.csv"]
    return Results(
        metrics=metrics,
        accuracy=accuracy(metrics),
        tables=tables,
        report=(run_dir / "report.md").read_text(encoding="utf-8"),
        out_dir=run_dir if keep else None,
    )


def _bench(scenario: str | PathLike, methods: list[str] | None) -> Benchmark:
    from bench.evaluate import select_methods
    from bench.linkage.config import load_benchmark

    bench = load_benchmark(str(scenario))
    return bench if methods is None else select_methods(bench, methods)


def generate(scenario: str | PathLike = "irs-ice", seed: int | None = None) -> Generated:
    """Draw a scenario's query list, register and truth (a preset name or a TOML path; seed:
    the scenario's own unless given), in memory, as ``linkrisk generate`` draws them."""
    from bench.linkage.config import load_benchmark
    from synthetic.scenario import build_task

    bench = load_benchmark(str(scenario))
    seed = bench.scenario.seed if seed is None else int(seed)
    task = build_task(bench.scenario, seed)
    return Generated(scenario=bench.name, seed=seed, bench=bench, task=task)


def run(
    scenario: str | PathLike | Generated = "irs-ice",
    *,
    seed: int | None = None,
    methods: list[str] | None = None,
    replicates: int = 1,
    out: PathLike | None = None,
) -> Results:
    """Run a scenario's methods (all, or those named in ``methods``) as ``linkrisk run``
    does, on ``replicates`` populations; write the run to ``out`` only if given. ``scenario``
    may be a :class:`Generated` task: its scenario and seed are run (the same files)."""
    from bench.evaluate import select_methods
    from bench.runner import run as run_bench

    if isinstance(scenario, Generated):
        bench = scenario.bench
        bench = bench if methods is None else select_methods(bench, methods)
        seed = scenario.seed if seed is None else seed
    else:
        bench = _bench(scenario, methods)
    with _run_dir(out) as path:
        result = run_bench(
            bench, seed, path, progress=False, replicates=replicates, html=out is not None
        )
        return _results(result, out is not None)


def _user(
    query: pd.DataFrame | PathLike,
    register: pd.DataFrame | PathLike,
    map: PathLike | None,
    columns: Mapping[str, Any] | None,
    truth_column: str | None,
    truth_pairs: pd.DataFrame | PathLike | None,
    dates: Mapping[str, Any] | None = None,
) -> tuple[UserTask, ColumnMap, str]:
    """A file pair (paths or DataFrames) read as ``linkrisk evaluate`` reads it; the map is
    ``map`` (a TOML file), else ``columns`` (field -> column, as ``[columns]``; default: every
    linkrisk field whose name is a column of both, with a value in each) and ``dates`` (as
    ``[dates]``: ``format``, ``unreadable``)."""
    from bench.inputs.userfiles import (
        MAP_FIELDS,
        frame_file,
        load_user_task,
        parse_map,
        read_file,
        read_map,
        user_task,
    )

    if map is not None:
        cmap = read_map(Path(map))
    else:
        if columns is None:
            if not (isinstance(query, pd.DataFrame) and isinstance(register, pd.DataFrame)):
                raise TypeError("give map= or columns= for files")
            columns = {
                f: f
                for f in MAP_FIELDS
                if all(f in d.columns and d[f].notna().any() for d in (query, register))
            }
        spec: dict[str, Any] = {"columns": dict(columns)}
        if dates is not None:
            spec["dates"] = dict(dates)
        cmap = dataclasses.replace(parse_map(spec), where="columns")
    pairs_frame = isinstance(truth_pairs, pd.DataFrame)
    pairs_path = None
    if isinstance(truth_pairs, pd.DataFrame):
        pairs_path = Path("<truth DataFrame>")
    elif truth_pairs is not None:
        pairs_path = Path(truth_pairs)
    cmap = cmap.with_truth(truth_column, pairs_path)
    if not (isinstance(query, pd.DataFrame) or isinstance(register, pd.DataFrame) or pairs_frame):
        command = f"linkrisk evaluate --query {query} --register {register}"
        return load_user_task(Path(query), Path(register), cmap), cmap, command
    files = {
        "query": frame_file(query, "<query DataFrame>")
        if isinstance(query, pd.DataFrame)
        else read_file(Path(query)),
        "register": frame_file(register, "<register DataFrame>")
        if isinstance(register, pd.DataFrame)
        else read_file(Path(register)),
    }
    pairs = None
    if isinstance(truth_pairs, pd.DataFrame):
        pairs = frame_file(truth_pairs, "<truth DataFrame>")
    elif cmap.truth_pairs is not None:
        pairs = read_file(cmap.truth_pairs)
    return user_task(files, cmap, pairs), cmap, "linkrisk.evaluate(DataFrames)"


def evaluate(
    query: pd.DataFrame | PathLike,
    register: pd.DataFrame | PathLike,
    *,
    map: PathLike | None = None,
    columns: Mapping[str, Any] | None = None,
    truth_column: str | None = None,
    truth_pairs: pd.DataFrame | PathLike | None = None,
    dates: Mapping[str, Any] | None = None,
    config: str | None = None,
    methods: list[str] | None = None,
    out: PathLike | None = None,
) -> Results:
    """Run the methods (``config``: as ``linkrisk evaluate --config``; ``methods``: some of
    them) on a query list and a register, DataFrames or files, with a known truth: an
    entity-id column both share (``truth_column``) or true pairs of record ids (``truth_pairs``,
    columns ``query_id`` and ``register_id``), or the map's ``[truth]``; ``dates`` as the map's
    ``[dates]`` (e.g. ``{"unreadable": "missing"}``). Write to ``out`` only
    if given."""
    from bench.evaluate import evaluate_task, load_config

    user, cmap, command = _user(query, register, map, columns, truth_column, truth_pairs, dates)
    bench = load_config(config, methods)
    with _run_dir(out) as path:
        result = evaluate_task(
            user, cmap, bench=bench, out_dir=path, command=command, html=out is not None
        )
        return _results(result, out is not None)


def score(
    links: pd.DataFrame | PathLike,
    task: Generated | PathLike | None = None,
    *,
    query: pd.DataFrame | PathLike | None = None,
    register: pd.DataFrame | PathLike | None = None,
    map: PathLike | None = None,
    columns: Mapping[str, Any] | None = None,
    truth_column: str | None = None,
    truth_pairs: pd.DataFrame | PathLike | None = None,
    dates: Mapping[str, Any] | None = None,
    name: str = "declared",
    out: PathLike | None = None,
) -> Results:
    """Score another linker's declared links (a DataFrame or file with ``query_id``,
    ``register_id``, optionally ``score`` and ``link``; see ``linkrisk score --help``) as a
    method named ``name``, against ``task`` (a :class:`Generated`, or a directory written by
    ``linkrisk generate``) or a file pair with a truth (``query``, ``register`` and ``map`` or
    ``columns`` and a truth, as :func:`evaluate`). Write to ``out`` only if given."""
    from bench.evaluate import load_config
    from bench.inputs.userfiles import frame_file, read_file
    from bench.score import score_files, score_generated, score_scenario

    with _run_dir(out) as path:
        if isinstance(task, Generated):
            file = (
                frame_file(links, "<links DataFrame>")
                if isinstance(links, pd.DataFrame)
                else read_file(Path(links))
            )
            result = score_scenario(
                task.bench,
                task.seed,
                file,
                out_dir=path,
                name=name,
                command=f"linkrisk.score(links, linkrisk.generate({task.scenario!r}, "
                f"seed={task.seed}))",
                task=task.task,
                html=out is not None,
            )
        elif task is not None:
            result = score_generated(
                Path(task), _links(links), out_dir=path, name=name, html=out is not None
            )
        else:
            if query is None or register is None:
                raise TypeError("give task=, or query= and register= (with map= or columns=)")
            user, cmap, _ = _user(query, register, map, columns, truth_column, truth_pairs, dates)
            result = score_files(
                user,
                cmap,
                _links(links),
                load_config(),
                out_dir=path,
                name=name,
                command="linkrisk.score(links, query=..., register=...)",
                html=out is not None,
            )
        return _results(result, out is not None)


def _links(links: pd.DataFrame | PathLike) -> pd.DataFrame | Path:
    return links if isinstance(links, pd.DataFrame) else Path(links)


__all__ = ["Generated", "Results", "accuracy", "evaluate", "generate", "run", "score"]
