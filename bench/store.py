"""Storage of run outputs: deterministic writers, atomic directories, reading raw outputs back.

Raw outputs (pairs, scores, truth) are kept apart from derived metrics, so that metrics and
reports can be recomputed from ``raw/`` alone without rerunning any method.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.metrics import confusion


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


def compute_metrics(run_dir: Path) -> pd.DataFrame:
    """Recompute every method's metrics from a run's raw outputs alone."""
    raw = run_dir / "raw"
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    truth = pd.read_parquet(raw / "truth.parquet")
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    rows = []
    for name in info["methods"]:
        meta = json.loads((raw / f"{name}.json").read_text(encoding="utf-8"))
        pairs = pd.read_parquet(raw / f"{name}.parquet")
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
        rows.append(
            {"method": name, "kind": meta["kind"], "resolve": meta["resolve"], **conf.as_dict()}
        )
    return pd.DataFrame(rows)
