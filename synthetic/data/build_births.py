"""Rebuild the vendored daily US birth counts (dev-only; never imported at run time).

Reads FiveThirtyEight's two daily birth-count tables (github.com/fivethirtyeight/data, folder
``births``; CC BY 4.0) and writes ``births_by_day.parquet`` next to this script: one row per
calendar day 1994-2014 (year int16, month int8, day int8, births int32), from the CDC/NCHS file
for 1994-1999 and from the SSA file for 2000-2014 (the SSA file is used where both exist: it
is the longer series). See ``PROVENANCE.md``.

Usage (from the repository root)::

    .venv/bin/python synthetic/data/build_births.py DIR_WITH_THE_TWO_CSVS
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "births_by_day.parquet"
CDC = "US_births_1994-2003_CDC_NCHS.csv"
SSA = "US_births_2000-2014_SSA.csv"


def build(source: Path, out: Path = OUT) -> None:
    """Read the two CSVs under ``source`` and write ``out``."""
    cdc = pd.read_csv(source / CDC)
    ssa = pd.read_csv(source / SSA)
    df = pd.concat([cdc[cdc["year"] < ssa["year"].min()], ssa], ignore_index=True)
    df = df.rename(columns={"date_of_month": "day"})[["year", "month", "day", "births"]]
    dates = pd.to_datetime(df[["year", "month", "day"]])
    full = pd.date_range(dates.min(), dates.max(), freq="D")
    if len(dates) != len(full) or not (dates.to_numpy() == full.to_numpy()).all():
        raise SystemExit("the daily series has gaps or is out of order")
    df = df.astype({"year": np.int16, "month": np.int8, "day": np.int8, "births": np.int32})
    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = {
        "source": "FiveThirtyEight data, births/ (CC BY 4.0): CDC/NCHS daily US births "
        f"{int(cdc['year'].min())}-{int(ssa['year'].min()) - 1}, SSA daily US births "
        f"{int(ssa['year'].min())}-{int(ssa['year'].max())}",
    }
    table = table.replace_schema_metadata({b"linkrisk": json.dumps(meta, sort_keys=True).encode()})
    pq.write_table(table, out, compression="zstd", compression_level=19)
    print(f"{out.name}: {len(df):,} rows, {out.stat().st_size / 1e3:.1f} kB")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("source", type=Path, help=f"directory holding {CDC} and {SSA}")
    build(ap.parse_args(argv).source)


if __name__ == "__main__":
    main()
