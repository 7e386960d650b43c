"""Storage of run outputs: deterministic writers, atomic directories, reading raw outputs back.

Raw outputs (pairs, scores, truth, the people behind each record, the noise log) are kept apart
from derived metrics and cause tables, so that they and the reports can be recomputed from
``raw/`` alone without rerunning any method.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.causes import (
    NoiseIndex,
    attribute_false_matches,
    attribute_missed_matches,
    cause_table,
    compared_fields,
)
from bench.metrics import confusion
from bench.uncertainty import across_replicates, with_intervals
from synthetic.safe_csv import write_csv as write_csv  # every CSV the project writes


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame deterministically (no pandas index metadata, fixed compression)."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    pq.write_table(table, path, compression="zstd")


def write_json(obj: Any, path: Path) -> None:
    """Write JSON deterministically; NaN becomes null."""
    path.write_text(json.dumps(_clean(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


@contextmanager
def atomic_dir(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary directory that replaces ``out_dir`` only if the block completes."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".tmp-{out_dir.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out_dir.parent / f".old-{out_dir.name}-{os.getpid()}"
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _method_pairs(raw: Path, name: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """A method's metadata and its pairs (query_row, register_row, score, accept, link)."""
    meta = json.loads((raw / f"{name}.json").read_text(encoding="utf-8"))
    return meta, pd.read_parquet(raw / f"{name}.parquet")


def _confusions(
    raw: Path, replicate_dir: Path, info: dict[str, Any], considered: Mapping[str, Any] | None
) -> pd.DataFrame:
    """Every method's confusion for the pairs and truth in ``replicate_dir`` (method metadata
    from ``raw``). ``considered``: each blocked method's number of considered pairs when the
    stored pairs are the compact replicate form (declared links + considered true links)."""
    truth = pd.read_parquet(replicate_dir / "truth.parquet")
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    rows = []
    for name in info["methods"]:
        meta = json.loads((raw / f"{name}.json").read_text(encoding="utf-8"))
        pairs = pd.read_parquet(replicate_dir / f"{name}.parquet")
        q, r = pairs["query_row"].to_numpy(), pairs["register_row"].to_numpy()
        link = pairs["link"].to_numpy()
        conf = confusion(
            q[link],
            r[link],
            tq,
            tr,
            info["queries"],
            info["register_records"],
            considered=(q, r) if meta["uses_blocking"] else None,
        )
        if considered is not None and meta["uses_blocking"]:
            conf = dataclasses.replace(conf, candidates=int(considered[name]))
        rows.append(
            {"method": name, "kind": meta["kind"], "resolve": meta["resolve"], **conf.as_dict()}
        )
    return pd.DataFrame(rows)


def compute_metrics(run_dir: Path) -> pd.DataFrame:
    """Recompute every method's metrics of the run's own seed (replicate 1) from raw outputs
    alone, each rate with its 95% Wilson interval (``<rate>_lo``, ``<rate>_hi``)."""
    raw = run_dir / "raw"
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    return with_intervals(_confusions(raw, raw, info, None))


def compute_replicates(run_dir: Path) -> pd.DataFrame:
    """Every method's metrics in every replicate (``replicate`` 1..K, ``seed``), from raw/."""
    raw = run_dir / "raw"
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    frames = [_confusions(raw, raw, info, None).assign(replicate=1, seed=info["seed"])]
    for k in range(1, info.get("replicates", 1)):
        rep = raw / "replicates" / str(k)
        rinfo = json.loads((rep / "run.json").read_text(encoding="utf-8"))
        sizes = {**info, **{f: rinfo[f] for f in ("queries", "register_records", "true_links")}}
        frame = _confusions(raw, rep, sizes, rinfo["considered_pairs"])
        frames.append(frame.assign(replicate=k + 1, seed=rinfo["seed"]))
    out = pd.concat(frames, ignore_index=True)
    return out[["replicate", "seed", *(c for c in out.columns if c not in ("replicate", "seed"))]]


def compute_summary(run_dir: Path, per: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per method: counts pooled over the replicates, each rate with its interval, spread and
    upper 95% bound (:func:`bench.uncertainty.across_replicates`); ``per``: the run's
    :func:`compute_replicates`, computed when not given."""
    per = compute_replicates(run_dir) if per is None else per
    summary = across_replicates(per)
    kinds = per.drop_duplicates("method").set_index("method")[["kind", "resolve"]]
    summary.insert(1, "kind", summary["method"].map(kinds["kind"]))
    summary.insert(2, "resolve", summary["method"].map(kinds["resolve"]))
    return summary


def read_register_people(run_dir: Path) -> pd.DataFrame:
    """``raw/register_people.parquet`` realigned by register row position (one row per register
    record). Only the records in a true or declared link are stored; the others are all-missing
    rows, which attribution never looks up."""
    raw = run_dir / "raw"
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    linked = pd.read_parquet(raw / "register_people.parquet")
    return linked.set_index("register_row").reindex(range(info["register_records"]))


#: Raw files that error attribution needs besides the truth and the methods' pairs.
CAUSE_INPUTS: tuple[str, ...] = ("query_people", "register_people", "noise_log")


def attribute_run(run_dir: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None:
    """Every method's error attribution from a run's raw outputs: method -> (false matches of
    :func:`bench.causes.attribute_false_matches`, missed matches of
    :func:`bench.causes.attribute_missed_matches`), in run order; None when ``raw/`` predates the
    files attribution needs (:data:`CAUSE_INPUTS`)."""
    raw = run_dir / "raw"
    if not all((raw / f"{name}.parquet").exists() for name in CAUSE_INPUTS):
        return None
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    truth = pd.read_parquet(raw / "truth.parquet")
    query_people = pd.read_parquet(raw / "query_people.parquet")
    register_people = read_register_people(run_dir)
    # One index of the noise log, shared by every method.
    noise = NoiseIndex(pd.read_parquet(raw / "noise_log.parquet"))
    out = {}
    for name in info["methods"]:
        meta, pairs = _method_pairs(raw, name)
        links = pairs.loc[pairs["link"].to_numpy(bool), ["query_row", "register_row"]]
        fields = compared_fields(meta["params"])
        fp = attribute_false_matches(
            links, truth, query_people, register_people, noise, fields=fields
        )
        fn = attribute_missed_matches(
            links,
            truth,
            noise,
            considered=pairs if meta["uses_blocking"] else None,
            fields=fields,
        )
        out[name] = (fp, fn)
    return out


def compute_causes(
    run_dir: Path, attributions: dict[str, tuple[pd.DataFrame, pd.DataFrame]] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The false-match and missed-match cause tables of a run (from ``attributions`` of
    :func:`attribute_run`, computed from ``raw/`` when not given).

    Returns ``(false_matches, missed_matches)``: :func:`bench.causes.cause_table` rows for every
    method (in run order, a leading ``method`` column), or None when ``raw/`` predates the files
    attribution needs (:data:`CAUSE_INPUTS`).
    """
    attributions = attribute_run(run_dir) if attributions is None else attributions
    if attributions is None:
        return None
    info = json.loads((run_dir / "raw" / "run.json").read_text(encoding="utf-8"))

    def stack(k: int) -> pd.DataFrame:
        frame = pd.concat(
            [cause_table(a[k], info["queries"]).assign(method=m) for m, a in attributions.items()],
            ignore_index=True,
        )
        return frame[["method", *(c for c in frame.columns if c != "method")]]

    return stack(0), stack(1)
