"""The speed benchmark: linkrisk's Fellegi-Sunter against Splink 5 (DuckDB) and recordlinkage.

One workload (``bench/perf/workload.toml``: about 100,000 queries against a register of about
1,000,000 records, truth known) is generated once with linkrisk's own generator and cached as
parquet. Each system then links it in a fresh subprocess with the same five compared fields, the
same blocking passes, threshold 0.9 and the same best-per-query resolution:

* ``linkrisk``: the registered ``fellegi-sunter`` method (``block``, ``score``, ``resolve``);
* ``splink``: Splink 5 on DuckDB (u by random sampling, m by EM on two training blocks, predict);
* ``recordlinkage``: ``Index.block`` per pass, ``Compare`` with binary features,
  ``ECMClassifier`` (unsupervised, as recordlinkage's documentation and examples use it);
* ``recordlinkage-logreg``: the same pairs and features, recordlinkage's
  ``LogisticRegressionClassifier`` trained on a labelled random sample of the candidate pairs
  (supervised: it sees truth the other systems do not).

A child loads the files (timed apart), times the linkage alone, and reports its peak resident
memory and its resident memory right after loading. Every system runs ``--repeat`` times (rounds
interleave the systems, so a change of the machine's load hits them alike), each run in a fresh
subprocess; the table shows the median wall time and the spread (min-max). The parent scores
every system's links against the truth; a system whose precision or recall is below
:data:`FAILED_BELOW` is marked failed instead of given a speed ratio. It writes
``results/perf/`` (``perf.md``, ``perf.csv``, ``perf.json``). Not a test: timings depend on the
machine and on its load (recorded alongside).

    python -m bench.perf.linkage [--scale 1] [--systems linkrisk,splink,recordlinkage]
                                 [--repeat 1] [--out results/perf] [--cache DIR] [--readme]

``--profile`` instead runs linkrisk alone, once, with the stage timers of the linkage code on
(:mod:`bench.linkage.stages`), and prints its wall and CPU seconds per stage (load, field
coding, blocking, comparisons, u estimation, EM training, scoring, resolution) beside a floor:
the least work any design does on this workload (:func:`floor`). It writes nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.linkage.comparisons import COMPARISONS
from bench.linkage.fields import normalize
from bench.runs.store import atomic_dir
from bench.runs.writers import write_json, write_parquet
from synthetic.config import read_toml
from synthetic.scenario import ScenarioConfig, build_task, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
WORKLOAD_FILE = Path(__file__).resolve().parent / "workload.toml"
OUT_DIR = Path("results") / "perf"
README = Path("README.md")
CACHE_DIR = Path(tempfile.gettempdir()) / "linkrisk-perf"

#: The compared fields, as linkrisk comparison kinds; Splink and recordlinkage get the same.
FIELDS: dict[str, str] = {
    "first_name": "name",
    "last_name": "name",
    "dob": "date",
    "zip": "exact",
    "street": "name",
}
#: Blocking passes shared by the three systems: (field, "exact" | "initial") keys, where
#: "initial" is the first character (SQL ``substr(x, 1, 1)``). At full size their union is
#: about 7.0 million pairs holding about 99.5% of the true links (a further plain pass adds
#: either under 0.1 million pairs or over 10 million, e.g. street + ZIP).
BLOCKING: tuple[tuple[tuple[str, str], ...], ...] = (
    (("first_name", "exact"), ("last_name", "exact")),
    (("dob", "exact"),),
    (("first_name", "exact"), ("zip", "exact")),
    (("last_name", "exact"), ("zip", "exact")),
    (("last_name", "initial"), ("street", "exact")),
)
#: Blocks of the m-estimation (EM) sessions, for linkrisk and Splink alike.
TRAINING_BLOCKS: tuple[tuple[str, ...], ...] = (("first_name", "last_name"), ("dob",))
THRESHOLD = 0.9
#: Random pairs from which linkrisk estimates u: drawn independently and uniformly.
U_SAMPLE = 1_000_000
#: Splink's u sample (``max_pairs``). Splink samples records, not pairs (about 316 queries x
#: 3,162 register records for a million pairs here), so its pairs share records and its u
#: varies more from sample to sample: at a million pairs it warns that the estimate may be
#: inaccurate and recommends more, and its links differ from those at ten million by 0.002 in
#: recall. At ten million they agree with linkrisk's to within 0.001 (see the README).
SPLINK_U_SAMPLE = 10_000_000
#: recordlinkage's ECM takes binary features: a string field agrees at this similarity.
RL_AGREE = {"name": 0.92, "date": 0.9}
#: Candidate pairs labelled with the truth to train recordlinkage's logistic regression.
RL_LABELLED = 50_000
#: A system whose precision or recall falls below this failed: no speed ratio is shown for it.
FAILED_BELOW = 0.5
#: Dates are compared as 10-character strings (YYYY-MM-DD): similarity cuts -> edit distances.
DATE_LENGTH = 10
SYSTEMS = ("linkrisk", "splink", "recordlinkage", "recordlinkage-logreg")
SIDES = ("query", "register")
PERF_BLOCK = re.compile(r"(<!-- perf:start -->\n).*?(<!-- perf:end -->)", re.S)
VERSIONED = (
    *("linkrisk", "numpy", "numba", "pandas", "pyarrow", "rapidfuzz", "duckdb", "splink"),
    *("recordlinkage", "jellyfish"),
)


# --- the workload ---


def workload_config(scale: float) -> ScenarioConfig:
    """The workload scenario with its population and query list scaled by ``scale``."""
    data = read_toml(WORKLOAD_FILE)
    for section in ("population", "query"):
        data[section]["size"] = max(round(data[section]["size"] * scale), 1)
    return parse_scenario(data, str(WORKLOAD_FILE))


def _sources_digest() -> str:
    """SHA-256 over the generator's sources and tables and the normalizer: a cache key part."""
    h = hashlib.sha256()
    synthetic = ROOT / "synthetic"
    files = sorted(synthetic.rglob("*.py")) + sorted(synthetic.rglob("*.parquet"))
    for path in [*files, ROOT / "bench" / "linkage" / "fields.py", WORKLOAD_FILE]:
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """The compared fields, normalized as linkrisk does (per distinct value), None if missing."""
    out = {}
    for field in FIELDS:
        codes, uniques = pd.factorize(frame[field], use_na_sentinel=True)
        norm = normalize(pd.Series(uniques, dtype=object), field).to_numpy(dtype=object)
        missing = np.array([None], dtype=object)  # code -1 (missing) -> this trailing None
        out[field] = np.append(norm, missing)[codes]
    return pd.DataFrame(out)


def prepare_workload(scale: float, cache: Path = CACHE_DIR) -> Path:
    """Generate the workload once (query, register, truth as parquet) and return its directory.

    Both files hold the compared fields already normalized (upper case, accents and punctuation
    removed), so every system compares the same strings; row positions are the record ids.
    """
    cfg = workload_config(scale)
    key = hashlib.sha256(f"{scale!r}:{_sources_digest()}".encode()).hexdigest()[:16]
    out = cache / f"{cfg.name}-x{scale:g}-{key}"
    if (out / "workload.json").exists():
        return out
    task = build_task(cfg, cfg.seed)
    with atomic_dir(out) as tmp:
        write_parquet(_normalized(task.query), tmp / "query.parquet")
        write_parquet(_normalized(task.register), tmp / "register.parquet")
        write_parquet(task.truth, tmp / "truth.parquet")
        info = {
            "scenario": str(WORKLOAD_FILE.relative_to(ROOT)),
            "scale": scale,
            "seed": cfg.seed,
            "population": cfg.population.size,
            "queries": len(task.query),
            "register_records": len(task.register),
            "true_links": len(task.truth),
        }
        write_json(info, tmp / "workload.json")
    return out


def pass_label(keys: tuple[tuple[str, str], ...]) -> str:
    """``first_name + last_name``, ``initial(last_name) + street``."""
    return " + ".join(f if how == "exact" else f"{how}({f})" for f, how in keys)


# --- the systems (each runs in its own child process) ---

Links = tuple[np.ndarray, np.ndarray, Callable[[], int]]


def _linkrisk_load(workload: Path) -> dict[str, Any]:
    from bench.linkage.fields import read_records
    from bench.pages import small_pages

    small_pages()  # as the linkrisk command does (bench.pages)

    return {side: read_records(workload / f"{side}.parquet") for side in SIDES}


def _linkrisk(data: dict[str, Any], seed: int) -> Links:
    from bench.linkage.blocking import block, validate_blocking
    from bench.linkage.fields import PreparedTask
    from bench.linkage.methods import METHODS
    from bench.linkage.resolve import resolve
    from synthetic.scenario import LinkageTask

    empty = pd.DataFrame()
    task = LinkageTask(data["query"], data["register"], empty, empty, empty, empty)
    prep = PreparedTask(task, seed)
    cls = METHODS["fellegi-sunter"]
    params = {
        "threshold": THRESHOLD,
        "fields": dict(FIELDS),
        "training_blocks": [[{"field": f} for f in b] for b in TRAINING_BLOCKS],
        "u_sample": U_SAMPLE,
    }
    method = cls("fellegi-sunter", cls.validate(params, "perf"), "best")
    spec = [[{"field": f, "compare": how} for f, how in keys] for keys in BLOCKING]
    cands, _ = block(prep, validate_blocking({"passes": spec}, "perf.blocking"))
    scored = method.score(prep, cands)
    link = resolve(scored.query_row, scored.register_row, scored.score, scored.accept, "best")
    return scored.query_row[link], scored.register_row[link], lambda: len(cands)


def _splink_load(workload: Path) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    for side in SIDES:
        path = str(workload / f"{side}.parquet").replace("'", "''")
        con.execute(
            f"create table {side} as select file_row_number as unique_id, "
            f"* exclude (file_row_number) from read_parquet('{path}', file_row_number = true)"
        ).fetchall()
    n = {s: con.execute(f"select count(*) from {s}").fetchall()[0][0] for s in SIDES}
    return {"con": con, "n": n}


def _splink(data: dict[str, Any], seed: int) -> Links:
    import logging

    import splink.comparison_library as cl
    from splink import ColumnExpression, DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    from bench.linkage.resolve import resolve

    db = DuckDBAPI(connection=data["con"])
    tables = [db.register(side, dataset_display_name=side) for side in SIDES]
    # Any: SettingsCreator takes lists of creators or dicts, and lists are invariant
    comparisons: list[Any] = []
    for field, kind in FIELDS.items():
        cuts = COMPARISONS[kind].cuts[:-1]  # the last cut is the exact level
        if kind == "name":
            comparisons.append(cl.JaroWinklerAtThresholds(field, sorted(cuts, reverse=True)))
        elif kind == "date":
            dist = sorted(round((1 - c) * DATE_LENGTH) for c in cuts)
            comparisons.append(cl.LevenshteinAtThresholds(field, dist))
        else:
            comparisons.append(cl.ExactMatch(field))
    rules: list[Any] = [
        block_on(*(f if how == "exact" else ColumnExpression(f).substr(1, 1) for f, how in keys))
        for keys in BLOCKING
    ]
    n_q, n_r = data["n"]["query"], data["n"]["register"]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        # linkrisk's starting value: each query has at most one record in the register.
        probability_two_random_records_match=min(n_q, n_r) / max(n_q * n_r, 1),
        retain_matching_columns=False,
    )
    linker = Linker(tables, settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=SPLINK_U_SAMPLE, seed=seed)
    for b in TRAINING_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(block_on(*b))
    pred = linker.inference.predict(threshold_match_probability=THRESHOLD)
    cols = pred.as_duckdbpyrelation().select(
        "source_dataset_l, unique_id_l, unique_id_r, match_probability"
    )
    got = cols.fetchnumpy()
    swap = np.asarray(got["source_dataset_l"], dtype=object) != "query"  # l is the register
    ul, ur = np.asarray(got["unique_id_l"], np.int64), np.asarray(got["unique_id_r"], np.int64)
    q, r = np.where(swap, ur, ul), np.where(swap, ul, ur)
    score = np.asarray(got["match_probability"], np.float64)
    link = resolve(q, r, score, np.ones(len(q), dtype=bool), "best")

    def candidates() -> int:
        counts = count_comparisons_from_blocking_rules(
            tables, blocking_rules=rules, link_type="link_only", record_sample_proportion=1.0
        )
        return int(counts[-1]["cumulative_comparison_count"])

    return q[link], r[link], candidates


def _recordlinkage_load(workload: Path) -> dict[str, Any]:
    return {side: pd.read_parquet(workload / f"{side}.parquet") for side in SIDES}


def _recordlinkage_labelled_load(workload: Path) -> dict[str, Any]:
    return {**_recordlinkage_load(workload), "truth": pd.read_parquet(workload / "truth.parquet")}


def _rl_features(data: dict[str, Any]) -> tuple[pd.MultiIndex, pd.DataFrame]:
    """recordlinkage's candidate pairs (one ``Index.block`` per pass) and binary features."""
    import recordlinkage

    query, register = data["query"], data["register"]
    indexer = recordlinkage.Index()
    for keys in BLOCKING:
        cols = []
        for f, how in keys:
            if how == "initial":  # recordlinkage blocks on columns only: add the key column
                for frame in (query, register):
                    frame[f"{f}_initial"] = frame[f].str.slice(0, 1)
                f = f"{f}_initial"
            cols.append(f)
        indexer.block(left_on=cols, right_on=cols)
    pairs = indexer.index(query, register)
    compare = recordlinkage.Compare()
    for f, kind in FIELDS.items():
        if kind == "exact":
            compare.exact(f, f, label=f)
        else:
            method = "jarowinkler" if kind == "name" else "levenshtein"
            compare.string(f, f, method=method, threshold=RL_AGREE[kind], label=f)
    return pairs, compare.compute(pairs, query, register)


def _rl_links(pairs: pd.MultiIndex, prob: np.ndarray) -> Links:
    from bench.linkage.resolve import resolve

    q = pairs.get_level_values(0).to_numpy(np.int64)
    r = pairs.get_level_values(1).to_numpy(np.int64)
    link = resolve(q, r, prob, prob >= THRESHOLD, "best")
    return q[link], r[link], lambda: len(pairs)


def _recordlinkage(data: dict[str, Any], seed: int) -> Links:
    import recordlinkage

    pairs, features = _rl_features(data)
    ecm = recordlinkage.ECMClassifier(binarize=None)  # the features are binary already
    ecm.fit(features)
    return _rl_links(pairs, ecm.prob(features).to_numpy(dtype=np.float64))


def _recordlinkage_logreg(data: dict[str, Any], seed: int) -> Links:
    import recordlinkage

    pairs, features = _rl_features(data)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(pairs), min(RL_LABELLED, len(pairs)), replace=False))
    train = features.iloc[sample]
    truth = pd.MultiIndex.from_frame(data["truth"][["query_row", "register_row"]])
    logreg = recordlinkage.LogisticRegressionClassifier()
    logreg.fit(train, train.index.intersection(truth))
    return _rl_links(pairs, logreg.prob(features).to_numpy(dtype=np.float64))


#: Modules each system imports before its clock starts (import time is neither load nor link).
IMPORTS: dict[str, tuple[str, ...]] = {
    "linkrisk": (
        "bench.linkage.blocking",
        "bench.linkage.fields",
        "bench.linkage.methods",
        "bench.linkage.resolve",
    ),
    "splink": ("duckdb", "splink", "splink.comparison_library", "splink.blocking_analysis"),
    "recordlinkage": ("recordlinkage",),
    "recordlinkage-logreg": ("recordlinkage",),
}
RUNNERS: dict[str, tuple[Callable[[Path], dict[str, Any]], Callable[..., Links]]] = {
    "linkrisk": (_linkrisk_load, _linkrisk),
    "splink": (_splink_load, _splink),
    "recordlinkage": (_recordlinkage_load, _recordlinkage),
    "recordlinkage-logreg": (_recordlinkage_labelled_load, _recordlinkage_logreg),
}


def _status_mb(key: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB (NaN without /proc)."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return float("nan")
    for line in lines:
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) / 2**10  # kB
    return float("nan")


def _peak_mb() -> float:
    """This process's peak resident memory so far, in MB.

    On Linux, ``VmHWM`` (the high-water mark of this program's own memory): ``ru_maxrss`` is
    carried over from the parent across fork and exec, so a child started by a parent holding
    the generated workload would report the parent's size. Elsewhere ``ru_maxrss``.
    """
    hwm = _status_mb("VmHWM")
    if not np.isnan(hwm):
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)  # bytes on macOS, else KB


def run_child(system: str, workload: Path, out: Path, profile: bool = False) -> None:
    """Load the workload the system's way, time its linkage, write links.parquet + result.json
    (with ``profile``, also the stage timers' table and :func:`floor`, as ``profile``)."""
    from bench.linkage.stages import profiling, stage

    info = json.loads((workload / "workload.json").read_text(encoding="utf-8"))
    load, link = RUNNERS[system]
    for module in IMPORTS[system]:
        importlib.import_module(module)
    with profiling() if profile else contextlib.nullcontext() as clock:
        start = time.perf_counter()
        with stage("load"):
            data = load(workload)
        load_s = time.perf_counter() - start
        rss_loaded = _status_mb("VmRSS")
        start, cpu_start = time.perf_counter(), time.process_time()
        q, r, candidates = link(data, info["seed"])
        wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _peak_mb()  # before counting candidates (Splink counts them in an extra query)
    links = {"query_row": np.asarray(q, np.int64), "register_row": np.asarray(r, np.int64)}
    write_parquet(pd.DataFrame(links), out / "links.parquet")
    result = {
        "system": system,
        "wall_s": wall_s,
        "cpu_s": cpu_s,
        "load_s": load_s,
        "rss_loaded_mb": rss_loaded,
        "peak_mb": peak,
        "candidate_pairs": candidates(),
    }
    if clock is not None:
        data = None  # type: ignore[assignment]  # the floor reads the files again
        stages = [{"stage": n, "wall_s": w, "cpu_s": c, "calls": k} for n, w, c, k in clock.table()]
        total = {"wall_s": clock.total_wall, "cpu_s": clock.total_cpu}
        result["profile"] = {"stages": stages, "total": total, "floor": floor(workload)}
    write_json(result, out / "result.json")


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def floor(workload: Path) -> list[dict[str, Any]]:
    """The least work the workload needs whatever the design, timed: reading the compared
    columns of both files (Arrow, dictionary-encoded, no conversion), one sort-merge join per
    blocking pass on integer keys with the union of their pairs (sorted, repeats dropped: the
    merge blocking uses, :func:`bench.linkage.blocking.union`), and one look at every
    candidate pair's five field codes (a gather and a comparison each).

    The keys are coded beforehand (not timed). Left out, so the floor is below what any
    design needs: string similarities (each distinct value pair that can reach a level, on
    the fuzzy fields), the u sample and the EM sessions. One row per part (``part``,
    ``wall_s``, ``cpu_s``), then their sum (part "floor").
    """
    import pyarrow.parquet as pq

    from bench.linkage.blocking import Candidates, union, validate_blocking
    from bench.linkage.fields import KeyIndex, PreparedTask, read_records
    from synthetic.scenario import LinkageTask

    def read() -> None:
        for side in SIDES:
            pq.read_table(workload / f"{side}.parquet", read_dictionary=list(FIELDS))

    out: list[dict[str, Any]] = []
    _, wall, cpu = _timed(read)
    out.append({"part": "read the compared columns", "wall_s": wall, "cpu_s": cpu})
    query, register = (read_records(workload / f"{side}.parquet") for side in SIDES)
    empty = pd.DataFrame()
    prep = PreparedTask(LinkageTask(query, register, empty, empty, empty, empty))
    spec = [[{"field": f, "compare": how} for f, how in keys] for keys in BLOCKING]
    passes = validate_blocking({"passes": spec}, "perf.blocking")
    keys = [prep.combined_key(p) for p in passes]
    coded = [prep.field(f) for f in FIELDS]

    def join() -> Candidates:
        return union([KeyIndex.build(kq, kr) for kq, kr in keys])

    pairs, wall, cpu = _timed(join)
    out.append({"part": "join the blocking keys once", "wall_s": wall, "cpu_s": cpu})
    qi, ri = pairs.query_row, pairs.register_row

    def gather() -> None:
        for c in coded:
            np.equal(c.q[qi], c.r[ri])

    _, wall, cpu = _timed(gather)
    out.append({"part": "look at each candidate's five fields", "wall_s": wall, "cpu_s": cpu})
    total = {k: sum(part[k] for part in out) for k in ("wall_s", "cpu_s")}
    return [*out, {"part": "floor", **total}]


def profile_text(result: dict[str, Any]) -> str:
    """The profile of a ``--profile`` child as a table: stages, total, floor."""
    prof = result["profile"]
    total = prof["total"]
    rows = [
        [s["stage"], f"{s['wall_s']:.2f}", f"{s['cpu_s']:.2f}", str(s["calls"] or "")]
        for s in prof["stages"]
    ]
    rows.append(["total (load + linkage)", f"{total['wall_s']:.2f}", f"{total['cpu_s']:.2f}", ""])
    rows += [
        [
            f"floor: {t['part']}" if t["part"] != "floor" else "floor (sum)",
            *(f"{t['wall_s']:.2f}", f"{t['cpu_s']:.2f}", ""),
        ]
        for t in prof["floor"]
    ]
    headers = ["stage (own time)", "wall s", "cpu s", "calls"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + "\n"


# --- the parent: run the children, score their links, write the results ---


def _child(system: str, workload: Path, out: Path, profile: bool = False) -> dict[str, Any]:
    out.mkdir(parents=True)
    cmd = [sys.executable, "-m", "bench.perf.linkage", "--system", system]
    cmd += ["--workload", str(workload), "--child-out", str(out)]
    cmd += ["--profile"] if profile else []
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{system} failed (exit {proc.returncode}):\n{tail}")
    result = json.loads((out / "result.json").read_text(encoding="utf-8"))
    result["links"] = pd.read_parquet(out / "links.parquet")
    return result


def score_links(links: pd.DataFrame, truth: pd.DataFrame, n_register: int) -> dict[str, Any]:
    """Declared links, true positives, precision and recall (NaN if nothing was declared)."""
    width = max(n_register, 1)
    keys = links["query_row"].to_numpy() * width + links["register_row"].to_numpy()
    true = truth["query_row"].to_numpy() * width + truth["register_row"].to_numpy()
    tp = int(np.isin(keys, true).sum())
    return {
        "links": len(keys),
        "true_positives": tp,
        "precision": tp / len(keys) if len(keys) else float("nan"),
        "recall": tp / len(true) if len(true) else float("nan"),
    }


def measure(
    systems: list[str], workload: Path, repeat: int = 1, log: Callable[[str], None] = print
) -> pd.DataFrame:
    """Run each system ``repeat`` times, each run in a fresh subprocess; one row per system.

    Rounds interleave the systems (round 1: every system once, then round 2, ...), so a change
    in the machine's load during the benchmark falls on all of them. A row holds the median of
    the runs' wall times with their minimum and maximum (``runs_s`` lists them all), the median
    of the memory figures, and the accuracy of the median run's links (every run of a system
    declares the same links: ``same_links`` checks it).
    """
    info = json.loads((workload / "workload.json").read_text(encoding="utf-8"))
    truth = pd.read_parquet(workload / "truth.parquet")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in systems}
    with tempfile.TemporaryDirectory(prefix="linkrisk-perf-") as tmp:
        for i in range(repeat):
            for system in systems:
                run = _child(system, workload, Path(tmp) / f"{system}-{i}")
                runs[system].append(run)
                log(
                    f"{system} (run {i + 1} of {repeat}): {run['wall_s']:.2f} s linkage, "
                    f"{run['load_s']:.2f} s load, peak {run['peak_mb']:,.0f} MB"
                )
    rows = []
    for system in systems:
        done = runs[system]
        walls = np.array([r["wall_s"] for r in done])
        mid = done[int(np.argsort(walls, kind="stable")[(len(done) - 1) // 2])]
        row: dict[str, Any] = {"system": system, "runs": len(done)}
        row["wall_s"] = float(np.median(walls))
        row["wall_min_s"], row["wall_max_s"] = float(walls.min()), float(walls.max())
        for key in ("cpu_s", "load_s", "peak_mb", "rss_loaded_mb"):
            row[key] = float(np.median([r[key] for r in done]))
        row["candidate_pairs"] = mid["candidate_pairs"]
        row.update(score_links(mid["links"], truth, info["register_records"]))
        row["same_links"] = all(r["links"].equals(mid["links"]) for r in done)
        row["runs_s"] = " ".join(f"{w:.3f}" for w in walls)
        rows.append(row)
    table = pd.DataFrame(rows)
    table["above_input_mb"] = table["peak_mb"] - table["rss_loaded_mb"]
    base = table.loc[table["system"] == "linkrisk", "wall_s"]
    table["ratio"] = table["wall_s"] / base.iloc[0] if len(base) else float("nan")
    table["failed"] = [
        failure(p, r) for p, r in zip(table["precision"], table["recall"], strict=True)
    ]
    columns = ["system", "runs", "wall_s", "wall_min_s", "wall_max_s", "ratio", "failed"]
    columns += ["cpu_s", "load_s", "peak_mb", "rss_loaded_mb", "above_input_mb", "candidate_pairs"]
    columns += ["links", "true_positives", "precision", "recall", "same_links"]
    return table[[*columns, "runs_s"]]


def profile(workload: Path) -> str:
    """Run linkrisk once with its stage timers (a fresh process) and return the profile."""
    info = json.loads((workload / "workload.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="linkrisk-profile-") as tmp:
        run = _child("linkrisk", workload, Path(tmp) / "linkrisk", profile=True)
    head = (
        f"linkrisk on {info['queries']:,} queries x {info['register_records']:,} register "
        f"records: {run['candidate_pairs']:,} candidate pairs, {len(run['links']):,} links, "
        f"linkage {run['wall_s']:.2f} s wall / {run['cpu_s']:.2f} s CPU, "
        f"peak {run['peak_mb']:,.0f} MB\n\n"
    )
    return head + profile_text(run)


def failure(precision: float, recall: float) -> str:
    """``"failed: precision 0.03"`` if precision or recall (the lower one named) is below
    :data:`FAILED_BELOW` or undefined (no link declared), else the empty string."""
    worst = min(
        (("precision", precision), ("recall", recall)),
        key=lambda kv: -1.0 if np.isnan(kv[1]) else kv[1],
    )
    if np.isnan(worst[1]):
        return f"failed: no {worst[0]} (no link declared)"
    # Two significant digits: a collapsed run's 0.0035 stays readable (not "0.00").
    return f"failed: {worst[0]} {worst[1]:.2g}" if worst[1] < FAILED_BELOW else ""


def _ratio(system: str, ratio: float, failed: str) -> str:
    if failed:
        return failed
    if system == "linkrisk" or np.isnan(ratio):
        return "-"
    return f"linkrisk {ratio:.1f}× faster" if ratio >= 1 else f"linkrisk {1 / ratio:.1f}× slower"


def markdown(table: pd.DataFrame) -> str:
    """The results table in Markdown (github style)."""
    rows = [
        [
            r.system,
            str(r.runs),
            f"{r.wall_s:.2f}",
            f"{r.wall_min_s:.2f}–{r.wall_max_s:.2f}",
            _ratio(r.system, r.ratio, r.failed),
            f"{r.cpu_s:.2f}",
            f"{r.load_s:.2f}",
            f"{r.peak_mb:,.0f}",
            f"{r.above_input_mb:,.0f}",
            f"{r.candidate_pairs:,}",
            f"{r.links:,}",
            f"{r.precision:.4f}",
            f"{r.recall:.4f}",
        ]
        for r in table.itertuples()
    ]
    headers = ["system", "runs", "wall s (median)", "spread s (min–max)", "vs linkrisk"]
    headers += [
        "cpu s",
        "load s",
        "peak MB",
        "above input MB",
        "candidate pairs",
        "links",
        "precision",
    ]
    headers += ["recall"]
    return tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True) + "\n"


def machine() -> dict[str, Any]:
    """CPU count, platform, Python and library versions."""
    from bench.report.manifest import package_version  # "not installed" if absent

    versions = {name: package_version(name) for name in VERSIONED}
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
    }


def _load_average() -> list[float] | None:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


def report(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """perf.md: the table, then the workload, the configuration and the machine."""
    w = meta["workload"]
    lines = [
        "# Speed: linkrisk against Splink and recordlinkage",
        "",
        markdown(table),
        "Wall s: the linkage alone (blocking, comparisons, training, scoring, best-per-query "
        "resolution), in a fresh process after loading the files (load s): the median of "
        f"{meta['repeat']} run(s) per system, each in its own process, rounds interleaving the "
        "systems; the spread is the fastest and the slowest run. Cpu s: the CPU time of the "
        "process's threads during the linkage (steadier than wall time on a loaded machine). "
        "Cpu s, load s and the memory figures are medians too. A system whose precision or "
        f"recall is below {FAILED_BELOW} is shown as failed instead of with a speed ratio. "
        "Peak MB: the "
        "process's peak resident memory (VmHWM on Linux); above input MB: peak minus the resident "
        "memory right after loading. Precision and recall of the declared links against the "
        f"{w['true_links']:,} true links.",
        "",
        f"- workload: `{w['scenario']}` x {w['scale']:g}, seed {w['seed']}: "
        f"{w['queries']:,} queries, {w['register_records']:,} register records "
        f"(population {w['population']:,})",
        "- fields: " + ", ".join(f"{f} ({k})" for f, k in FIELDS.items()),
        "- blocking passes (union): " + "; ".join(pass_label(p) for p in BLOCKING),
        f"- threshold {THRESHOLD}, resolution: the best-scoring accepted pair per query",
        f"- linkrisk: `fellegi-sunter`, u from {U_SAMPLE:,} random pairs, m by EM on "
        + " and ".join("[" + ", ".join(b) + "]" for b in TRAINING_BLOCKS),
        "- splink: DuckDB backend, JaroWinklerAtThresholds / LevenshteinAtThresholds / "
        f"ExactMatch, u by random sampling ({SPLINK_U_SAMPLE:,} pairs, seeded; Splink warns "
        "that a million may be too few), EM on the same blocks",
        "- recordlinkage: Index.block per pass, Compare with binary features (jarowinkler >= "
        f"{RL_AGREE['name']}, levenshtein >= {RL_AGREE['date']} on dob, exact), "
        "ECMClassifier() fitted on them (unsupervised, as in recordlinkage's documentation "
        "and examples; its ECM collapsing on such data is recordlinkage issue #193)",
        "- recordlinkage-logreg: the same pairs and features, LogisticRegressionClassifier "
        f"trained on {RL_LABELLED:,} candidate pairs drawn at random and labelled with the "
        "truth (supervised: it is given labels the other systems do not have)",
        *machine_lines(meta),
        "",
    ]
    return "\n".join(lines)


def write_results(table: pd.DataFrame, meta: dict[str, Any], out_dir: Path) -> str:
    """Write perf.csv, perf.md and perf.json to ``out_dir`` atomically; return perf.md's text."""
    text = report(table, meta)
    meta = {**meta, "systems": table.to_dict(orient="records")}
    write_benchmark(out_dir, "perf", table, text, meta, "%.6g")
    return text


def write_benchmark(
    out_dir: Path, stem: str, table: pd.DataFrame, text: str, meta: dict[str, Any], floats: str
) -> None:
    """A benchmark's files, replacing ``out_dir`` atomically: ``<stem>.csv`` (the table, floats
    as ``floats``), ``<stem>.md`` (``text``) and ``<stem>.json`` (``meta``)."""
    with atomic_dir(out_dir) as tmp:
        table.to_csv(tmp / f"{stem}.csv", index=False, lineterminator="\n", float_format=floats)
        (tmp / f"{stem}.md").write_text(text, encoding="utf-8")
        write_json(meta, tmp / f"{stem}.json")


def machine_lines(meta: dict[str, Any], versions: bool = True) -> list[str]:
    """The report lines naming the machine (and library versions) and its load average."""
    m = meta["machine"]
    named = "; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()) if versions else ""
    return [
        f"- machine: {m['cpu_count']} logical CPUs, {m['platform']}, Python {m['python']}{named}",
        f"- load average (1, 5, 15 min): {meta['load_average']['before']} before, "
        f"{meta['load_average']['after']} after",
    ]


def update_readme(readme: Path, out_dir: Path) -> None:
    """Refill README's ``<!-- perf:start -->`` block with perf.md's table."""
    from bench.publish import markdown_table

    text = readme.read_text(encoding="utf-8")
    if not PERF_BLOCK.search(text):
        raise RuntimeError(f"{readme}: no <!-- perf:start --> ... <!-- perf:end --> block")
    table = markdown_table(out_dir / "perf.md")
    readme.write_text(PERF_BLOCK.sub(lambda m: m.group(1) + table + m.group(2), text), "utf-8")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run the benchmark (or, with --system, one child); returns the exit code."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.perf.linkage",
        description="Time linkrisk's Fellegi-Sunter against Splink 5 and recordlinkage on one "
        "workload (~100k queries x ~1M register records at --scale 1).",
    )
    ap.add_argument("--scale", type=float, default=1.0, help="workload size factor (1)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated (all)")
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs of every system; the median is shown (1)"
    )
    ap.add_argument("--out", type=Path, default=OUT_DIR, help=f"results directory ({OUT_DIR})")
    ap.add_argument("--cache", type=Path, default=CACHE_DIR, help=f"workload cache ({CACHE_DIR})")
    ap.add_argument(
        "--readme", type=Path, nargs="?", const=README, help="refill the README's perf block"
    )
    ap.add_argument(
        "--profile",
        action="store_true",
        help="run linkrisk once and print its time per stage and the floor (writes nothing)",
    )
    ap.add_argument("--system", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--workload", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.system is not None:
        run_child(args.system, args.workload, args.child_out, profile=args.profile)
        return 0
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if not systems or any(s not in SYSTEMS for s in systems):
        ap.error(f"--systems: choose from {', '.join(SYSTEMS)}")
    if not 0 < args.scale <= 10 or args.repeat < 1:
        ap.error("--scale must be in (0, 10] and --repeat >= 1")

    before = _load_average()
    start = time.perf_counter()
    workload = prepare_workload(args.scale, args.cache)
    print(f"workload: {workload} ({time.perf_counter() - start:.1f} s)", flush=True)
    if args.profile:
        print(profile(workload), end="")
        print(f"load average before/after: {before} / {_load_average()}")
        return 0
    table = measure(systems, workload, args.repeat, log=lambda s: print(s, flush=True))
    meta = {
        "workload": json.loads((workload / "workload.json").read_text(encoding="utf-8")),
        "machine": machine(),
        "load_average": {"before": before, "after": _load_average()},
        "fields": FIELDS,
        "blocking": [pass_label(p) for p in BLOCKING],
        "training_blocks": [list(b) for b in TRAINING_BLOCKS],
        "threshold": THRESHOLD,
        "u_sample": U_SAMPLE,
        "splink_u_sample": SPLINK_U_SAMPLE,
        "repeat": args.repeat,
    }
    write_results(table, meta, args.out)
    if args.readme is not None:
        update_readme(args.readme, args.out)
    print()
    print(markdown(table), end="")
    print(f"load average before/after: {before} / {meta['load_average']['after']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
