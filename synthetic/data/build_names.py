"""Rebuild the vendored name-frequency parquet files (dev-only; never imported at run time).

Reads the public-domain CSV tables (Census 2010 surnames, Census 2020 first names, SSA baby names
by year) and writes compact zstd parquet files next to this script:

* ``surnames.parquet``           - every listed 2010 surname: name, count, six group percentages.
* ``first_names.parquet``        - every listed 2020 first name: as above plus pctmale, pctfemale.
* ``first_name_cohorts.parquet`` - SSA births per (name, birth year) from ``FIRST_YEAR``, only for
  names that are in the Census 2020 first-name table.

The ``ALL OTHER NAMES`` rows (the rare tails) and the SSA births per year over *all* names are
kept as JSON in the parquet key-value metadata under the key ``linkrisk``.

Usage (from the repository root)::

    .venv/bin/python synthetic/data/build_names.py [../shared/data/names]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# The shared material sits beside the project root (dev-only; never read at run time).
DEFAULT_SOURCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "names"
OUT_DIR = Path(__file__).resolve().parent
GROUP_PCTS = ["pctwhite", "pctblack", "pctapi", "pctaian", "pct2prace", "pcthispanic"]
TAIL_NAME = "ALL OTHER NAMES"
META_KEY = b"linkrisk"
#: First SSA birth year kept: the oldest people of the 2020 age pyramid (100-104) at reference
#: dates up to mid-2025 were born from 1920 on; earlier years are clipped to this one.
FIRST_YEAR = 1910


def _read_census(path: Path, pct_cols: list[str]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Return (listed names, tail figures) of a Census names table."""
    # keep_default_na=False: real surnames such as NAN, NULL or NA must stay strings.
    df = pd.read_csv(path, keep_default_na=False, na_values=[], dtype={"name": str})
    is_tail = df["name"] == TAIL_NAME
    if is_tail.sum() != 1:
        raise SystemExit(f"{path}: expected exactly one {TAIL_NAME!r} row")
    tail_row = df.loc[is_tail].iloc[0]
    tail = {"count": int(tail_row["count"]), **{c: float(tail_row[c]) for c in pct_cols}}
    listed = df.loc[~is_tail, ["name", "count", *pct_cols]].reset_index(drop=True)
    if not listed["name"].str.fullmatch("[A-Z]+").all():
        raise SystemExit(f"{path}: unexpected characters in names")
    listed["count"] = listed["count"].astype(np.int32)
    for c in pct_cols:
        listed[c] = listed[c].astype(np.float32)
    tail["total_count"] = int(df["count"].sum())
    return listed, tail


def _write(df: pd.DataFrame, path: Path, meta: dict, float_cols: list[str]) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta.pop(b"pandas", None)  # pandas metadata is not needed and costs bytes
    schema_meta[META_KEY] = json.dumps(meta, sort_keys=True).encode()
    table = table.replace_schema_metadata(schema_meta)
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=[c for c in df.columns if c == "name" and df[c].duplicated().any()],
        use_byte_stream_split=float_cols,  # splits float bytes: compresses percentages ~2x better
    )


def build(source: Path, out_dir: Path = OUT_DIR) -> None:
    """Read the CSV tables under ``source`` and write the three parquet files into ``out_dir``."""
    surnames, s_tail = _read_census(source / "census_2010_surnames.csv.gz", GROUP_PCTS)
    meta = {
        "source": "US Census Bureau, Frequently Occurring Surnames from the 2010 Census",
        "all_other_names": s_tail,
    }
    _write(surnames, out_dir / "surnames.parquet", meta, GROUP_PCTS)

    first_pcts = [*GROUP_PCTS, "pctmale", "pctfemale"]
    firsts, f_tail = _read_census(source / "census_2020_first_names.csv.gz", first_pcts)
    meta = {
        "source": "US Census Bureau, 2020 Census names files (first names)",
        "all_other_names": f_tail,
    }
    _write(firsts, out_dir / "first_names.parquet", meta, first_pcts)

    ssa = pd.read_csv(
        source / "ssa_first_names_by_year.csv.gz",
        keep_default_na=False,
        dtype={
            "first_name": str,
            "year": np.int32,
            "count_female": np.int64,
            "count_male": np.int64,
        },
    )
    # Totals over ALL SSA names (before filtering), so shares within a year stay true shares.
    totals = ssa.groupby("year")[["count_female", "count_male"]].sum()
    ssa["name"] = ssa["first_name"].str.upper()
    ssa = ssa[ssa["name"].isin(set(firsts["name"])) & (ssa["year"] >= FIRST_YEAR)]
    cohorts = (
        ssa.groupby(["name", "year"], sort=True)[["count_female", "count_male"]].sum().reset_index()
    )
    cohorts["year"] = cohorts["year"].astype(np.int16)
    cohorts["count_female"] = cohorts["count_female"].astype(np.int32)
    cohorts["count_male"] = cohorts["count_male"].astype(np.int32)
    meta = {
        "source": "US Social Security Administration, national baby names 1880-2022",
        "year_totals": {
            str(y): {"count_female": int(r.count_female), "count_male": int(r.count_male)}
            for y, r in totals.iterrows()
            if y >= FIRST_YEAR
        },
    }
    _write(cohorts, out_dir / "first_name_cohorts.parquet", meta, [])
    for name in ("surnames", "first_names", "first_name_cohorts"):
        p = out_dir / f"{name}.parquet"
        print(f"{p.name}: {pq.read_metadata(p).num_rows:,} rows, {p.stat().st_size / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "source",
        nargs="?",
        type=Path,
        default=DEFAULT_SOURCE,
        help=f"directory holding the *.csv.gz tables (default {DEFAULT_SOURCE})",
    )
    args = ap.parse_args(argv)
    build(args.source)


if __name__ == "__main__":
    main()
