"""Deterministic writers of every file a run holds (JSON, parquet; CSV in
:mod:`synthetic.safe_csv`), and the names of the staging directories runs are written in.

The lowest floor of ``bench``: the run-directory reader (:mod:`bench.runs.rundir`) and the storage
layer (:mod:`bench.runs.store`) both use it, so it imports neither.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from synthetic.precision import round_float, round_frame
from synthetic.safe_csv import write_csv as write_csv  # every CSV the project writes


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Name ``path`` in an OSError that names no file (a failed write: a full disk, pyarrow)."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc


#: Rows of a parquet row group (pyarrow's default, named): a table written in parts of a
#: multiple of it is the same file, byte for byte, as written at once (:func:`write_parquet_parts`).
ROW_GROUP_ROWS = 1 << 20


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame deterministically (no pandas index metadata, fixed compression), float64
    columns at the published precision (:mod:`synthetic.precision`; float32 scores as they are).
    """
    write_parquet_parts([frame], path)


def write_parquet_parts(parts: Iterable[pd.DataFrame], path: Path) -> None:
    """Write frames (at least one; the same columns and types) one after another as one table,
    as :func:`write_parquet` writes their concatenation: the same bytes when every part but the
    last has a multiple of :data:`ROW_GROUP_ROWS` rows. Only one part's Arrow copy is held."""
    writer = None
    with _naming(path):
        try:
            for frame in parts:
                table = pa.Table.from_pandas(round_frame(frame), preserve_index=False)
                table = table.replace_schema_metadata(None)
                if writer is None:
                    writer = pq.ParquetWriter(path, table.schema, compression="zstd")
                writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        finally:
            if writer is not None:
                writer.close()
    if writer is None:
        raise ValueError(f"{path}: no part to write")


def write_json(obj: Any, path: Path) -> None:
    """Write JSON deterministically: NaN becomes null, every float at the published precision
    (:mod:`synthetic.precision`)."""
    text = json.dumps(plain_json(obj), indent=2, sort_keys=True) + "\n"
    with _naming(path):
        path.write_text(text, encoding="utf-8")


def plain_json(obj: Any) -> Any:
    """``obj`` as plain JSON types: string keys, lists, Python ints, floats at the published
    precision (:func:`synthetic.precision.round_float`), NaN as None."""
    if isinstance(obj, dict):
        return {str(k): plain_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain_json(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return None if np.isnan(obj) else round_float(float(obj))
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


#: Prefixes of the sibling directories :func:`atomic_dir` works in. Hidden (leading dot) and
#: never a run: ``linkrisk report`` refuses them and ``publish`` reads results/<scenario> only.
STAGING_PREFIX = ".linkrisk-tmp-"
RETIRED_PREFIX = ".linkrisk-old-"


def is_staging_dir(path: Path) -> bool:
    """Whether ``path`` is a staging or retired directory of :func:`atomic_dir` (never a run)."""
    return path.name.startswith((STAGING_PREFIX, RETIRED_PREFIX))
