"""User files: a query file and a register file with a known truth, read into a ``LinkageTask``.

An expert often holds a file pair of their own (a discovery sample, another simulator's output, a
hand-labelled audit sample). This module reads such a pair, CSV (strict UTF-8, every column as
text) or parquet, through a *column map* from their columns to linkrisk's record fields, and the
truth: a shared entity-id column (all pairs with equal non-empty ids) or a file of true pairs.

A column map is a TOML file::

    [columns]                    # linkrisk field = "their column" (or {query = .., register = ..})
    first_name = "FNAME"
    last_name = { query = "SURNAME", register = "LAST" }
    dob = "BIRTH_DATE"
    record_id = "ID"             # optional: ids are then 1-based row numbers

    [truth]                      # one of: a shared entity-id column, or a file of true pairs
    column = "PERSON_ID"         # or: pairs = "truth.csv", query = "QID", register = "RID"

    [dates]
    format = "%m/%d/%Y"          # optional; default: detect ISO, MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD

Fields not mapped are missing on both sides (``unit``: no unit, as for synthetic records). Names
and addresses keep their text here; :class:`bench.linkage.fields.PreparedTask` normalizes them
exactly as
it does synthetic records. Dates become ``YYYY-MM-DD``.

Privacy: the task's people and noise frames carry nothing but register membership, so a run's
``raw/`` holds row numbers and scores only. Record values reach the outputs only through
:func:`example_records` (``linkrisk evaluate --include-examples``).

Every problem raises a one-line :class:`ConfigError` naming the file, the field and the problem.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bench.linkage.fields import EMPTY_IS_VALUE
from bench.runs.rundir import MAP_FIELDS, SIDES, USER_SOURCE
from synthetic.arrays import unique_ints, unique_pairs
from synthetic.config import check_keys, describe, read_input, read_toml, table
from synthetic.errors import ConfigError
from synthetic.scenario import RECORD_FIELDS, LinkageTask

#: ``raw/run.json`` ``source`` of a run on user files (reports branch on it).
#: Fields a column map may name: the record id, then linkrisk's record fields.
#: At least one of these must be mapped in both files.
NAME_KEYS = ("first_name", "last_name")
#: Columns of a true-pairs file (record ids of each side) unless the map names others.
PAIR_COLUMNS = ("query_id", "register_id")
#: Date formats tried when the map gives none (label, strptime format). Both day/month orders
#: are tried, so that a column that parses either way is reported as ambiguous.
DATE_FORMATS: tuple[tuple[str, str], ...] = (
    ("YYYY-MM-DD", "%Y-%m-%d"),
    ("MM/DD/YYYY", "%m/%d/%Y"),
    ("DD/MM/YYYY", "%d/%m/%Y"),
    ("DD.MM.YYYY", "%d.%m.%Y"),
    ("YYYYMMDD", "%Y%m%d"),
)
#: Upper bound of true pairs from an entity-id column (a placeholder id shared by many rows of
#: both files would otherwise multiply out).
MAX_TRUE_PAIRS = 50_000_000
#: Example false and missed matches kept per method with ``--include-examples``.
EXAMPLES_PER_METHOD = 5
_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


# --- the column map --------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMap:
    """Which column of each file holds each field, where the truth is, how dates are written.

    ``columns``: field -> side -> column. ``truth_column``: side -> entity-id column, or
    ``truth_pairs``: a file of true pairs with ``pair_columns`` (query id, register id).
    ``date_format``: side -> strptime format (a side without one is detected);
    ``unreadable_dates``: ``error`` or ``missing`` (what a date no format reads becomes).
    ``where``: the map's file, or ``--column``, for error messages.
    """

    columns: dict[str, dict[str, str]]
    truth_column: dict[str, str] | None = None
    truth_pairs: Path | None = None
    pair_columns: tuple[str, str] = PAIR_COLUMNS
    date_format: dict[str, str] = field(default_factory=dict)
    unreadable_dates: str = "error"
    where: str = "--column"

    def column(self, name: str, side: str) -> str | None:
        """The column of ``side`` mapped to field ``name`` (None: not mapped)."""
        return self.columns.get(name, {}).get(side)

    def with_truth(self, column: str | None = None, pairs: Path | None = None) -> ColumnMap:
        """This map with its truth replaced by a shared ``column`` or a ``pairs`` file."""
        if column is not None:
            return dataclasses.replace(
                self, truth_column=dict.fromkeys(SIDES, column), truth_pairs=None
            )
        if pairs is not None:
            return dataclasses.replace(self, truth_column=None, truth_pairs=pairs)
        return self

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for ``config.json`` (column names only, never values)."""
        truth: dict[str, Any] = (
            {"column": self.truth_column}
            if self.truth_column is not None
            else {"pairs": str(self.truth_pairs), "columns": list(self.pair_columns)}
        )
        dates = {"format": self.date_format, "unreadable": self.unreadable_dates}
        return {"columns": self.columns, "truth": truth, "dates": dates}


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(where, f"must be a non-empty column name, got {describe(value)}")
    return value


def _per_side(value: Any, where: str) -> dict[str, str]:
    """A column name for both files, or a table ``{query = ..., register = ...}``."""
    if isinstance(value, Mapping):
        check_keys(value, SIDES, where)
        if not value:
            raise ConfigError(where, "must name a column for query and/or register")
        return {side: _name(value[side], f"{where}.{side}") for side in SIDES if side in value}
    if not isinstance(value, str):
        raise ConfigError(
            where,
            f"must be a column name or a table {{query = ..., register = ...}}, got "
            f"{describe(value)}",
        )
    return dict.fromkeys(SIDES, _name(value, where))


def _date_format(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(
            where, f'must be a strptime format like "%m/%d/%Y", got {describe(value)}'
        )
    if "%y" in value:
        raise ConfigError(where, "two-digit years (%y) are ambiguous for birth dates; use %Y")
    if "%Y" not in value or "%d" not in value or not re.search("%[mbB]", value):
        raise ConfigError(where, f"must contain %Y, %m (or %b, %B) and %d; got {value!r}")
    try:  # compiles the format: an unknown directive (%Q) or a stray % is refused here
        datetime.datetime.strptime("", value)
    except ValueError as exc:
        if "does not match format" not in str(exc):
            raise ConfigError(where, f"not a strptime format ({exc})") from None
    return value


def parse_map(data: Mapping[str, Any], base: Path | None = None) -> ColumnMap:
    """Validate a parsed column map (see the module docstring); ``base``: the directory a
    relative ``truth.pairs`` path is relative to (the map file's)."""
    check_keys(data, ("columns", "truth", "dates"), "")
    cols = table(data, "columns", "")
    check_keys(cols, MAP_FIELDS, "columns")
    columns = {f: _per_side(cols[f], f"columns.{f}") for f in MAP_FIELDS if f in cols}
    cmap = ColumnMap(columns, where="map")
    truth = table(data, "truth", "", required=False)
    if truth:
        check_keys(truth, ("column", "pairs", "query", "register"), "truth")
        if ("column" in truth) == ("pairs" in truth):
            raise ConfigError("truth", "give either column = ... or pairs = ... (not both)")
        if "column" in truth:
            for key in ("query", "register"):
                if key in truth:
                    raise ConfigError(f"truth.{key}", "only with pairs = ... (its id columns)")
            cmap = dataclasses.replace(
                cmap, truth_column=_per_side(truth["column"], "truth.column")
            )
        else:
            pairs = Path(_name(truth["pairs"], "truth.pairs"))
            query_id, register_id = (
                _name(truth.get(side, default), f"truth.{side}")
                for side, default in zip(SIDES, PAIR_COLUMNS, strict=True)
            )
            cmap = dataclasses.replace(
                cmap,
                truth_pairs=pairs if pairs.is_absolute() or base is None else base / pairs,
                pair_columns=(query_id, register_id),
            )
    dates = table(data, "dates", "", required=False)
    check_keys(dates, ("format", "unreadable"), "dates")
    if dates.get("unreadable", "error") not in ("error", "missing"):
        raise ConfigError(
            "dates.unreadable", f'must be "error" or "missing", got {dates["unreadable"]!r}'
        )
    cmap = dataclasses.replace(cmap, unreadable_dates=dates.get("unreadable", "error"))
    if "format" in dates:
        fmt = dates["format"]
        if isinstance(fmt, Mapping):  # {query = ..., register = ...}
            check_keys(fmt, SIDES, "dates.format")
            formats = {s: _date_format(v, f"dates.format.{s}") for s, v in fmt.items()}
        else:
            formats = dict.fromkeys(SIDES, _date_format(fmt, "dates.format"))
        cmap = dataclasses.replace(cmap, date_format=formats)
    return cmap


def read_map(path: Path) -> ColumnMap:
    """Read and validate a column-map TOML file; errors name the file and the key."""
    data = read_toml(path)
    try:
        cmap = parse_map(data, base=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.where}" if exc.where else str(path), exc.problem) from None
    return dataclasses.replace(cmap, where=str(path))


def map_from_flags(flags: list[str]) -> ColumnMap:
    """A column map from ``--column FIELD=COLUMN`` flags (``query.FIELD=COLUMN`` or
    ``register.FIELD=COLUMN`` for one file only)."""
    columns: dict[str, dict[str, str]] = {}
    for flag in flags:
        key, sep, column = flag.partition("=")
        side, dot, name = key.strip().rpartition(".")
        if not sep or not name or (dot and side not in SIDES):
            raise ConfigError(
                "--column", f"expected FIELD=COLUMN or query.FIELD=COLUMN, got {flag!r}"
            )
        if name not in MAP_FIELDS:
            raise ConfigError(
                f"--column {name}", f"unknown field (allowed: {', '.join(sorted(MAP_FIELDS))})"
            )
        _name(column, f"--column {name}")
        for s in (side,) if dot else SIDES:
            columns.setdefault(name, {})[s] = column
    return ColumnMap(columns)


# --- reading files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFile:
    """One input file: its path, SHA-256, and its rows (every cell as stripped text, '' empty)."""

    path: Path
    sha256: str
    frame: pd.DataFrame

    def column(self, name: str, what: str) -> np.ndarray:
        """Column ``name`` as an object array of stripped strings ('' for empty); ``what``
        names the field it was mapped to (for errors)."""
        if name not in self.frame.columns:
            have = ", ".join(map(repr, list(self.frame.columns)[:12]))
            more = ", ..." if len(self.frame.columns) > 12 else ""
            raise ConfigError(
                f"{self.path}: {what}",
                f"column {name!r} is not in the file (columns: {have}{more})",
            )
        return _as_text(self.frame[name], f"{self.path}: {what}")

    def info(self) -> dict[str, Any]:
        """File name, SHA-256 and row count, for ``raw/run.json`` (never its contents)."""
        return {"file": str(self.path), "sha256": self.sha256, "rows": len(self.frame)}


def read_file(path: Path) -> UserFile:
    """Read a CSV (strict UTF-8, a BOM allowed, all columns as text) or parquet file."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ConfigError(
            str(path), f"unknown file type {path.suffix!r} (CSV: .csv; parquet: .parquet, .pq)"
        )
    data = read_input(path)
    frame = _read_csv(data, path) if kind == "csv" else _read_parquet(data, path)
    if len(frame) == 0:
        raise ConfigError(str(path), "no data rows (a header only)")
    return UserFile(path, hashlib.sha256(data).hexdigest(), frame)


def _read_csv(data: bytes, path: Path) -> pd.DataFrame:
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(str(path), f"not UTF-8 text (byte {exc.start}, line {line})") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text, newline=""), strict=True) if row]
    except csv.Error as exc:
        raise ConfigError(str(path), f"malformed CSV ({exc})") from None
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise ConfigError(f"{path}: header", f"column {name!r} appears more than once")
        seen.add(name)
    for i, row in enumerate(body):
        # pandas would pad a short row with empty cells: a cut-off line must not pass as data
        if len(row) != len(header):
            raise ConfigError(
                str(path),
                f"malformed CSV (row {i + 1} has {len(row)} fields, the header {len(header)})",
            )
    # Every cell is text as written (no type guessing, no NA strings): '' is the only missing.
    return pd.DataFrame(body, columns=header, dtype=object)


def _read_parquet(data: bytes, path: Path) -> pd.DataFrame:
    try:
        table_ = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(str(path), f"not a readable parquet file ({msg})") from None
    names = table_.column_names
    dup = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if dup is not None:
        raise ConfigError(f"{path}: header", f"column {dup!r} appears more than once")
    return table_.to_pandas()


def _as_text(values: pd.Series, where: str) -> np.ndarray:
    """Cells as stripped strings ('' for missing): text as is, integers in decimal, whole floats
    without '.0', dates and timestamps as YYYY-MM-DD (parquet columns keep their types)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(values):
        # beyond 2**53 a float is not the integer written (a ZIP of 1e20 would overflow int64)
        inexact = values.notna() & ~(values.abs() <= 2**53)
        if inexact.any():
            raise ConfigError(
                where,
                f"{_rows(inexact.to_numpy())} hold a floating-point number beyond exact "
                f"integers, e.g. {values[inexact].iloc[0]!r}; store the column as text",
            )
        whole = values.notna() & (values % 1 == 0)
        text = values.astype("string")
        text[whole] = values[whole].astype("int64").astype("string")
    elif values.dtype == object:
        kinds = {type(v) for v in values[values.notna()].head(1000)}
        if kinds and all(issubclass(k, datetime.date) for k in kinds):  # parquet date32
            # formatted directly: pandas' datetime64[ns] would drop dates before 1677
            text = pd.Series(
                [_iso(v) if isinstance(v, datetime.date) else None for v in values],
                index=values.index,
                dtype="string",
            )
        elif kinds <= {str, int, bool}:
            text = values.astype("string")
        else:
            raise ConfigError(where, f"column holds {sorted(k.__name__ for k in kinds)}, not text")
    else:
        text = values.astype("string")
    out = text.str.strip().fillna("")
    nul = out.str.contains("\x00", regex=False).to_numpy(bool)
    if nul.any():  # a NUL would cut the value short in C-based code (names, parquet, DuckDB)
        raise ConfigError(where, f"{_rows(nul)} contain a NUL byte")
    return out.to_numpy(dtype=object)


def _iso(day: datetime.date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


# --- building the task -----------------------------------------------------------------------


@dataclass(frozen=True)
class UserTask:
    """A task built from user files, and what ``raw/run.json`` records about them."""

    task: LinkageTask
    inputs: dict[str, dict[str, Any]]


def _rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    return f"{rows.size} row{'s' if rows.size != 1 else ''} (first: row {rows[0] + 1})"


def parse_dates(
    values: np.ndarray, fmt: str | None, where: str, unreadable: str = "error"
) -> tuple[np.ndarray, str, int]:
    """Dates as ``YYYY-MM-DD`` (None where empty), the format used and the number of values
    it could not read (made missing; only with ``unreadable="missing"``, else an error).

    The format is ``fmt``, else the one of :data:`DATE_FORMATS` that reads the most values;
    formats that read as many with different results (day/month order) are ambiguous: an error.
    """
    given = values != ""
    inverse, distinct = pd.factorize(values[given])  # each distinct value parsed once
    formats = [(fmt, fmt)] if fmt is not None else list(DATE_FORMATS)
    parsed = {label: _to_dates(distinct, f) for label, f in formats}
    # weight each distinct value by its rows: the format that reads the most records wins
    rows = np.bincount(inverse, minlength=len(distinct))
    read = {label: int(rows[p.notna().to_numpy()].sum()) for label, p in parsed.items()}
    top = [label for label in parsed if read[label] == max(read.values())]
    results = {label: tuple(parsed[label].fillna("")) for label in top}
    if len(set(results.values())) > 1:
        raise ConfigError(
            where,
            f"dates read as both {' and '.join(top)} with different results (ambiguous "
            "day/month order); set [dates] format in the column map",
        )
    label = top[0]
    bad = np.zeros(len(values), dtype=bool)
    bad[np.flatnonzero(given)] = parsed[label].isna().to_numpy()[inverse]
    if bad.any() and (unreadable == "error" or bad.all()):
        known = ", ".join(lb for lb, _ in DATE_FORMATS)
        expect = f"format {fmt!r}" if fmt is not None else f"the format of the others ({label})"
        if read[label] == 0:
            expect = f"format {fmt!r}" if fmt is not None else f"any one format ({known})"
        raise ConfigError(
            where,
            f"{_rows(bad)} not dates in {expect}, e.g. {values[np.argmax(bad)]!r}; correct "
            'them, set [dates] format, or [dates] unreadable = "missing"',
        )
    out = np.full(len(values), None, dtype=object)
    out[given] = np.asarray(results[label], dtype=object)[inverse]
    out[bad] = None
    return out, dict(formats)[label], int(bad.sum())


def _to_dates(distinct: Any, fmt: str) -> pd.Series:
    """``YYYY-MM-DD`` text of each value read with strptime format ``fmt`` (None if not).

    pandas parses fast but only within datetime64[ns] (1677-2262): values it cannot read are
    retried with :func:`datetime.datetime.strptime`, so that a birth date of 1600 is a date.
    """
    values = pd.Series(np.asarray(distinct, dtype=object))
    fast = pd.to_datetime(values, format=fmt, errors="coerce", exact=True)
    out = fast.dt.strftime("%Y-%m-%d").astype(object).where(fast.notna(), None)
    for i in np.flatnonzero(fast.isna().to_numpy()):
        with contextlib.suppress(ValueError):  # not a date in this format: stays None
            out.iloc[i] = _iso(datetime.datetime.strptime(values.iloc[i], fmt))
    return out


def _records(file: UserFile, cmap: ColumnMap, side: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``record_id`` plus :data:`RECORD_FIELDS` of one file, and what ``raw/run.json`` records
    of its dates (format used, unreadable values made missing)."""
    n = len(file.frame)
    out: dict[str, np.ndarray] = {}
    date_format, unread = None, 0
    rid = cmap.column("record_id", side)
    if rid is None:
        out["record_id"] = np.arange(1, n + 1).astype(str).astype(object)  # 1-based row numbers
    else:
        ids = file.column(rid, "record_id")
        where = f"{file.path}: record_id"
        if (ids == "").any():
            raise ConfigError(where, f"column {rid!r} is empty in {_rows(ids == '')}")
        counts = pd.Series(ids).value_counts(sort=False)
        if (counts > 1).any():
            dup = counts[counts > 1]
            raise ConfigError(
                where,
                f"column {rid!r} has duplicate ids: {dup.index[0]!r} appears {dup.iloc[0]} times "
                f"({len(dup)} id{'s' if len(dup) != 1 else ''} duplicated)",
            )
        out["record_id"] = ids
    for name in RECORD_FIELDS:
        column = cmap.column(name, side)
        if column is None:  # unmapped: missing; a unit's empty string means "no unit"
            out[name] = np.full(n, "" if name in EMPTY_IS_VALUE else None, dtype=object)
            continue
        values = file.column(column, name)
        empty = values == ""
        if empty.all() and name not in EMPTY_IS_VALUE:
            raise ConfigError(
                f"{file.path}: {name}",
                f"column {column!r} is empty in every row (unmap the field if the file lacks it)",
            )
        if name == "dob":
            where = f"{file.path}: dob"
            out[name], date_format, unread = parse_dates(
                values, cmap.date_format.get(side), where, cmap.unreadable_dates
            )
        else:
            if name not in EMPTY_IS_VALUE:
                values = np.where(empty, np.array(None, dtype=object), values).astype(object)
            out[name] = values
    return pd.DataFrame(out), {"date_format": date_format, "unreadable_dates": unread}


def _truth_from_column(
    files: dict[str, UserFile], cmap: ColumnMap
) -> tuple[np.ndarray, np.ndarray]:
    """All (query_row, register_row) with equal non-empty entity ids."""
    assert cmap.truth_column is not None
    ids = {}
    for side in SIDES:
        column = cmap.truth_column.get(side)
        if column is None:
            raise ConfigError(f"{cmap.where}: truth.column", f"no column for the {side} file")
        values = files[side].column(column, "truth")
        if (values == "").all():
            raise ConfigError(
                f"{files[side].path}: truth", f"column {column!r} is empty in every row"
            )
        ids[side] = values
    q = pd.DataFrame({"id": ids["query"], "query_row": np.arange(len(ids["query"]))})
    r = pd.DataFrame({"id": ids["register"], "register_row": np.arange(len(ids["register"]))})
    q, r = q[q["id"] != ""], r[r["id"] != ""]
    sizes = q["id"].value_counts().mul(r["id"].value_counts(), fill_value=0)
    total = int(sizes.sum())
    if total == 0:
        raise ConfigError(
            f"{files['query'].path}: truth",
            f"no id of column {cmap.truth_column['query']!r} occurs in column "
            f"{cmap.truth_column['register']!r} of {files['register'].path}: no true links",
        )
    many = (q["id"].value_counts() > 1) & (r["id"].value_counts() > 1)
    if many.any():  # many-to-many: a shared placeholder, not one person
        shared = many[many].index
        raise ConfigError(
            f"{files['query'].path}: truth",
            f"id {shared[0]!r} is on several rows of both files ({len(shared)} such id"
            f"{'s' if len(shared) != 1 else ''}): a placeholder for an unknown id? leave "
            "such cells empty, or give the true pairs in a file (--truth-pairs)",
        )
    if total > MAX_TRUE_PAIRS:
        raise ConfigError(
            f"{files['query'].path}: truth",
            f"shared ids make {total:,} true pairs (limit {MAX_TRUE_PAIRS:,}); is "
            f"{sizes.idxmax()!r} a placeholder for an unknown id?",
        )
    pairs = q.merge(r, on="id").sort_values(["query_row", "register_row"])
    return pairs["query_row"].to_numpy(np.int64), pairs["register_row"].to_numpy(np.int64)


def _truth_from_pairs(
    pairs: UserFile, ids: dict[str, np.ndarray], files: dict[str, UserFile], cmap: ColumnMap
) -> tuple[np.ndarray, np.ndarray]:
    """True pairs from a file of (query id, register id), resolved to rows."""
    rows = []
    for side, column in zip(SIDES, cmap.pair_columns, strict=True):
        values = pairs.column(column, f"{side} id")
        where = f"{pairs.path}: {column}"
        if (values == "").any():
            raise ConfigError(where, f"empty in {_rows(values == '')}")
        row = pd.Index(ids[side]).get_indexer(values)
        if (row < 0).any():
            bad = row < 0
            what = "record_id" if cmap.column("record_id", side) else "row number"
            raise ConfigError(
                where,
                f"{_rows(bad)} name no {side} record ({what} of {files[side].path}), "
                f"e.g. {values[np.argmax(bad)]!r}",
            )
        rows.append(row.astype(np.int64))
    q, r, _ = unique_pairs(rows[0], rows[1], len(ids["register"]))
    return q, r


def read_records(path: Path, cmap: ColumnMap, side: str) -> pd.DataFrame:
    """One file's records (``record_id`` and :data:`RECORD_FIELDS`, as :func:`load_user_task`
    reads them) without any truth: for showing records, e.g. on an audit's review form."""
    if not any(cmap.column(f, side) for f in NAME_KEYS):
        raise ConfigError(
            f"{cmap.where}: columns",
            f"map a name field ({' or '.join(NAME_KEYS)}) for the {side} file",
        )
    return _records(read_file(path), cmap, side)[0]


def load_user_task(query: Path, register: Path, cmap: ColumnMap) -> UserTask:
    """Read both files and the truth into a :class:`LinkageTask` (see the module docstring)."""
    for side in SIDES:
        if not any(cmap.column(f, side) for f in NAME_KEYS):
            raise ConfigError(
                f"{cmap.where}: columns",
                f"map a name field ({' or '.join(NAME_KEYS)}) for the {side} file",
            )
    if cmap.truth_column is None and cmap.truth_pairs is None:
        raise ConfigError(
            f"{cmap.where}: truth",
            "no truth: give --truth-column, --truth-pairs or a [truth] table in the map",
        )
    try:
        same = query.samefile(register)
    except OSError:
        same = False  # one does not exist: read_file names it
    if same:
        raise ConfigError(
            str(register),
            f"is the same file as the query file {query}: give two files (a copy if you mean to "
            "link a file with itself)",
        )
    files = {"query": read_file(query), "register": read_file(register)}
    pairs = read_file(cmap.truth_pairs) if cmap.truth_pairs is not None else None
    return user_task(files, cmap, pairs)


def frame_file(frame: pd.DataFrame, name: str) -> UserFile:
    """A DataFrame given in Python (:mod:`linkrisk`), read as a file named ``name`` (its
    SHA-256: of pandas' row hashes, so equal frames have equal digests)."""
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    if len(frame) == 0:
        raise ConfigError(name, "no data rows")
    return UserFile(Path(name), digest.hexdigest(), frame.reset_index(drop=True))


def user_task(
    files: dict[str, UserFile], cmap: ColumnMap, pairs: UserFile | None = None
) -> UserTask:
    """The task of two read files (``files``: side -> file) and the truth: ``cmap``'s entity-id
    column, else the true-pairs file ``pairs``."""
    for side in SIDES:
        if not any(cmap.column(f, side) for f in NAME_KEYS):
            raise ConfigError(
                f"{cmap.where}: columns",
                f"map a name field ({' or '.join(NAME_KEYS)}) for the {side} file",
            )
    if cmap.truth_column is None and pairs is None:
        raise ConfigError(
            f"{cmap.where}: truth",
            "no truth: give --truth-column, --truth-pairs or a [truth] table in the map",
        )
    frames, formats = {}, {}
    for side in SIDES:
        frames[side], formats[side] = _records(files[side], cmap, side)
    inputs = {side: {**files[side].info(), **formats[side]} for side in SIDES}
    if cmap.truth_column is not None:
        tq, tr = _truth_from_column(files, cmap)
        inputs["truth"] = {"column": cmap.truth_column}
    else:
        assert pairs is not None
        ids = {side: frames[side]["record_id"].to_numpy(dtype=object) for side in SIDES}
        tq, tr = _truth_from_pairs(pairs, ids, files, cmap)
        inputs["truth"] = {"pairs": pairs.info(), "columns": list(cmap.pair_columns)}
    n_query, n_register = len(frames["query"]), len(frames["register"])
    in_register = np.zeros(n_query, dtype=bool)
    in_register[tq] = True
    task = LinkageTask(
        query=frames["query"],
        register=frames["register"],
        truth=pd.DataFrame({"query_row": tq, "register_row": tr}),
        # Only what the truth tells: no people attributes, no noise log (nothing to copy).
        query_people=pd.DataFrame({"in_register": in_register}),
        register_people=pd.DataFrame(index=pd.RangeIndex(n_register)),
        noise_log=pd.DataFrame(
            {
                "side": pd.Series(dtype=object),
                "row": pd.Series(dtype=np.int64),
                "field": pd.Series(dtype=object),
                "noise": pd.Series(dtype=object),
            }
        ),
    )
    return UserTask(task, inputs)


# --- the map `linkrisk generate` writes -----------------------------------------------------

#: The column map `linkrisk generate` writes beside its files, which `evaluate` and `score`
#: take as it is.
GENERATED_MAP = "map.toml"


def generated_map(task: LinkageTask, fmt: str) -> str:
    """The column map (TOML text) of a task written by :meth:`LinkageTask.write` in ``fmt``:
    every record field holding a value in both files, the record ids, the truth file's record-id
    pairs, ISO dates. The ``typo`` noise type leaves some dates unreadable on purpose: they are
    made missing (``unreadable = "missing"``; the report counts them)."""
    fields = [
        name
        for name in RECORD_FIELDS
        if task.query[name].notna().any() and task.register[name].notna().any()
    ]
    lines = [
        "# Column map of the files linkrisk generate wrote here: give it to linkrisk evaluate",
        "# or linkrisk score (--map) as it is.",
        "[columns]",
        'record_id = "record_id"',
        *(f'{name} = "{name}"' for name in fields),
        "",
        "[truth]  # the true pairs by record id",
        f'pairs = "truth.{fmt}"',
        'query = "query_id"',
        'register = "register_id"',
        "",
        "[dates]",
        'format = "%Y-%m-%d"',
        'unreadable = "missing"  # dates a typo made unreadable',
        "",
    ]
    return "\n".join(lines)


# --- examples (only with --include-examples) -------------------------------------------------


def example_records(raw: Path, task: LinkageTask, k: int = EXAMPLES_PER_METHOD) -> pd.DataFrame:
    """The first ``k`` false matches and ``k`` missed matches of every method of a run (by
    query row, then register row) with both records' values, for ``raw/examples.parquet``."""
    info = json.loads((raw / "run.json").read_text(encoding="utf-8"))
    width = max(len(task.register), 1)
    truth = task.truth["query_row"].to_numpy() * width + task.truth["register_row"].to_numpy()
    blocks = []
    for name in info["methods"]:
        meta = json.loads((raw / f"{name}.json").read_text(encoding="utf-8"))
        pairs = pd.read_parquet(
            raw / f"{name}.parquet", columns=["query_row", "register_row", "link"]
        )
        every = pairs["query_row"].to_numpy() * width + pairs["register_row"].to_numpy()
        keys = unique_ints(every[pairs["link"].to_numpy(bool)])
        false = keys[~np.isin(keys, truth)][:k]
        missed = np.setdiff1d(truth, keys)[:k]
        lost = np.isin(missed, every, invert=True) & bool(meta["uses_blocking"])
        blocks.append(
            pd.DataFrame(
                {
                    "method": name,
                    "error": ["false match"] * len(false)
                    + np.where(lost, "missed match (never a candidate)", "missed match").tolist(),
                    "query_row": np.concatenate([false, missed]) // width,
                    "register_row": np.concatenate([false, missed]) % width,
                }
            )
        )
    out = pd.concat(blocks, ignore_index=True)
    for side, frame, rows in (
        ("query", task.query, out["query_row"]),
        ("register", task.register, out["register_row"]),
    ):
        for column in ("record_id", *RECORD_FIELDS):
            out[f"{side}_{column}"] = frame[column].to_numpy(dtype=object)[rows.to_numpy()]
    return out


__all__ = [
    "DATE_FORMATS",
    "GENERATED_MAP",
    "MAP_FIELDS",
    "USER_SOURCE",
    "ColumnMap",
    "UserFile",
    "UserTask",
    "example_records",
    "frame_file",
    "generated_map",
    "load_user_task",
    "map_from_flags",
    "parse_dates",
    "parse_map",
    "read_file",
    "read_map",
    "read_records",
    "user_task",
]
