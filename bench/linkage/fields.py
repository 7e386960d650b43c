"""Normalized, integer-coded fields and vectorized comparisons on candidate pairs.

Every string field of both files is normalized once and coded to integers over the distinct
values of *both* sides, so that exact comparisons are integer comparisons and fuzzy comparisons
run on value codes in compiled kernels (:mod:`bench.linkage.kernels`; rapidfuzz for values
they cannot hold). Nothing here loops over records in Python; the only Python loops run over
distinct values (e.g. phonetic codes), which are few compared to records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from bench.linkage import kernels
from bench.linkage.patterns import compile_pattern
from bench.linkage.stages import stage
from synthetic.errors import ConfigError
from synthetic.rng import stream
from synthetic.scenario import RECORD_FIELDS, LinkageTask, concat_columns

MISSING = -1
#: Composite fields built from record fields (parts joined by spaces, empty parts dropped).
COMPOSITES: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "address": ("house_number", "street", "unit"),
    "full_address": ("house_number", "street", "unit", "city", "state", "zip"),
}
#: Fields where an empty string is a value (a dwelling without a unit), not a missing entry.
EMPTY_IS_VALUE = frozenset({"unit"})
#: Key option ``blank``: what a blank (missing or empty) value of a key does in a join or rule
#: condition. "missing": it never agrees, not even with another blank (a record without the value
#: cannot be matched on it). "value": a blank agrees with a blank, as the empty string it is.
BLANK_OPTIONS = ("missing", "value")
#: The ``blank`` option of a key on these fields when the key does not set it; others: "missing".
#: A house number is blank for a numberless dwelling ("MAIN ST", 3.7% of dwellings: see
#: synthetic.geography.NUMBERLESS_SHARE) and where an agency's record lacks it. Agencies compare
#: the address line as a string, and "MAIN ST" equals "MAIN ST": two records without a number on
#: the same street (and unit and ZIP) have the same address to them. So a rule that requires the
#: whole address matches them by default; ``blank = "missing"`` on the condition requires a
#: number on both sides instead.
BLANK_DEFAULTS: Mapping[str, str] = MappingProxyType({"house_number": "value"})
#: Combined keys are re-coded densely before their mixed-radix product could overflow int64.
RADIX_LIMIT = 2**62
_STRING_TYPES = (pa.string(), pa.large_string())
#: Engines that run blocking joins (see bench.linkage.blocking.block).
JOIN_ENGINES = ("numpy", "duckdb")
#: Fields whose normalized value keeps its digits only (separators such as "123-45-6789" dropped).
DIGIT_FIELDS = frozenset({"tin"})
#: The parts of an address that must agree for a pair's addresses to *match* (see
#: :func:`address_match`): house number, street and 5-digit ZIP, as normalized here.
ADDRESS_MATCH_FIELDS = ("house_number", "street", "zip")


def known_fields() -> tuple[str, ...]:
    """Fields a key or condition may name: the record fields and the composites."""
    return (*RECORD_FIELDS, *COMPOSITES)


def normalize(values: pd.Series, field: str) -> pd.Series:
    """Normalize strings the same way for both agencies and for user files.

    Upper case, accents stripped (NFKD), apostrophes and periods dropped, other punctuation to
    spaces, whitespace collapsed. Dates keep their digits and dashes. Returns None for missing.
    Runs in Arrow's vectorized string kernels; strings Arrow cannot hold (lone surrogates) take
    the equivalent pandas path.
    """
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        # not all str (numbers in a user's file): every value as the normalized string
        s = values.astype("string")
        try:
            raw = pa.array(s, type=pa.string())
        except (pa.ArrowInvalid, UnicodeEncodeError):
            return _normalize_pandas(s, field)
        arr = _normalize_arrow(raw, field)
        return pd.Series(arr.to_numpy(zero_copy_only=False), index=values.index, dtype=object)
    try:  # str or missing: straight from the Python strings (half the time of via "string")
        raw = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return _normalize_pandas(values.astype("string"), field)
    # The values normalization leaves as they were are kept as the same Python strings: only
    # the changed ones are made anew (a register of millions of identifiers, already clean,
    # would otherwise hold each of them twice). One regular expression finds the values that
    # are already normalized (most, in a standardized register); only the others are changed.
    fixed = pc.fill_null(pc.match_substring_regex(raw, _FIXED.get(field, _FIXED[""])), False)
    todo = np.flatnonzero(~fixed.to_numpy(zero_copy_only=False))
    out = values.to_numpy(dtype=object, copy=True)
    if todo.size:
        before = raw.take(pa.array(todo))
        after = _normalize_arrow(before, field)
        same = pc.fill_null(pc.equal(after, before), False).to_numpy(zero_copy_only=False)
        out[todo[~same]] = after.filter(pa.array(~same)).to_numpy(zero_copy_only=False)
    return pd.Series(out, index=values.index, dtype=object)


#: Per field, the values :func:`normalize` leaves as they are (and only such values): ASCII
#: capitals, digits and "#" in words separated by single spaces; dates' digits and dashes;
#: up to five ZIP digits; an identifier's digits. "" (any other field) for the rest.
_FIXED = {
    "": r"^[A-Z0-9#]+( [A-Z0-9#]+)*$",
    "dob": r"^[0-9-]+$",
    "zip": r"^[0-9]{1,5}$",
    **{f: r"^[0-9]+$" for f in DIGIT_FIELDS},
}


def _normalize_arrow(arr: pa.Array, field: str) -> pa.Array:
    """:func:`normalize`'s steps in Arrow's string kernels (None for missing)."""
    arr = pc.utf8_normalize(arr, form="NFKD")
    arr = pc.ascii_upper(pc.replace_substring_regex(arr, r"[^\x00-\x7f]", ""))
    if field == "dob":
        arr = pc.replace_substring_regex(arr, r"[^0-9-]", "")
    elif field == "zip":
        arr = pc.utf8_slice_codeunits(pc.replace_substring_regex(arr, r"[^0-9]", ""), 0, 5)
    elif field in DIGIT_FIELDS:
        arr = pc.replace_substring_regex(arr, r"[^0-9]", "")
    else:
        arr = pc.replace_substring_regex(arr, r"['.]", "")
        arr = pc.replace_substring_regex(arr, r"[^A-Z0-9#]+", " ")
    arr = pc.utf8_trim_whitespace(arr)
    if field not in EMPTY_IS_VALUE:
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    return arr


def _normalize_pandas(s: pd.Series, field: str) -> pd.Series:
    """:func:`normalize` with pandas string methods (for strings Arrow cannot encode)."""
    s = s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.upper()
    if field == "dob":
        s = s.str.replace(r"[^0-9-]", "", regex=True)
    elif field == "zip":
        s = s.str.replace(r"[^0-9]", "", regex=True).str.slice(0, 5)
    elif field in DIGIT_FIELDS:
        s = s.str.replace(r"[^0-9]", "", regex=True)
    else:
        s = s.str.replace(r"['.]", "", regex=True).str.replace(r"[^A-Z0-9#]+", " ", regex=True)
    s = s.str.strip()
    if field not in EMPTY_IS_VALUE:
        s = s.mask(s == "")
    return s.astype(object).where(s.notna(), None)


class Coded:
    """A field coded to integers over the distinct values of both sides (-1 = missing).

    ``q``, ``r``: each side's codes; ``values``: the distinct normalized strings as an object
    array, ``values[code]``. An identifier coded through integers (:meth:`of_digits`) builds its
    strings only when something reads them: a join compares codes alone, and at the real size
    the TINs' strings would be about 7 GB of Python strings.
    """

    __slots__ = ("_keys", "_values", "q", "r")

    def __init__(self, q: np.ndarray, r: np.ndarray, values: np.ndarray) -> None:
        self.q, self.r = q, r
        self._values: np.ndarray | None = values
        self._keys: np.ndarray | None = None

    @classmethod
    def of_digits(cls, q: np.ndarray, r: np.ndarray, keys: np.ndarray) -> Coded:
        """Codes over digit strings given as their :func:`digit_keys` (``keys[code]``)."""
        coded = cls(q, r, np.zeros(0, dtype=object))
        coded._values, coded._keys = None, keys
        return coded

    @property
    def values(self) -> np.ndarray:
        if self._values is None:  # built once (two threads racing build the same array)
            assert self._keys is not None
            self._values = key_strings(self._keys)
        return self._values

    @property
    def cardinality(self) -> int:
        held = self._keys if self._values is None else self._values
        assert held is not None
        return len(held)


def code(
    query_values: pd.Series, register_values: pd.Series, field: str, *, normalized: bool = False
) -> Coded:
    """Normalize and integer-code one field over both files (normalizing distinct values only).

    ``normalized`` values (composites built from normalized parts) are only cleared of empties.
    Categorical columns (e.g. parquet dictionary columns read with :func:`read_records`) are
    coded from their categories without hashing every record; an identifier of digit strings
    through integers, its strings built only if read (:meth:`Coded.of_digits`).
    """
    digits = None
    if field in DIGIT_FIELDS and not normalized:  # an identifier's digits: codes alone
        digits = _digit_sides(query_values, register_values)
    if digits is not None:
        return digits
    sides, raw_uniques = _raw_sides(query_values, register_values)
    norm = pd.Series(raw_uniques, dtype=object)
    norm = norm.where(norm != "", None) if normalized else normalize(norm, field)
    if np.equal(norm.to_numpy(), raw_uniques).all():  # all already normal: distinct as they are
        norm_codes, values = np.arange(len(raw_uniques)), raw_uniques
    else:
        norm_codes, values = pd.factorize(norm, use_na_sentinel=True)
    remap = np.append(norm_codes, MISSING).astype(np.int32)  # raw -1 -> index -1 -> MISSING
    # One gather a side, through the composed (small) table where a side has its own codes:
    # the records' codes are built once, as int32, not first as raw codes of both sides.
    q, r = (remap[c] if lookup is None else remap[lookup][c] for c, lookup in sides)
    return Coded(q, r, np.asarray(values, dtype=object))


#: A side's raw codes: record i's code over both sides' distinct raw values is
#: ``lookup[codes[i]]`` (a lookup's last entry, -1, is a missing value's), or ``codes[i]``
#: itself where the lookup is None.
SideCodes = tuple[np.ndarray, np.ndarray | None]


def _raw_sides(q: pd.Series, r: pd.Series) -> tuple[list[SideCodes], np.ndarray]:
    """Each side's codes of its raw values over both sides' distinct raw values (-1 = missing;
    :data:`SideCodes`), and those values.

    If either side is a categorical, each side is coded over its own distinct values (a
    categorical's categories; the other side's values by first appearance) and only those
    are united: a big register read as categoricals is never hashed record by record, even
    when the small query file beside it is plain strings (at 1:10 of the real case, 11 million
    surnames: 5.3 s hashed record by record against a fraction of a second).
    """
    if isinstance(q.dtype, pd.CategoricalDtype) or isinstance(r.dtype, pd.CategoricalDtype):
        own = [_own_codes(s) for s in (q, r)]
        union, uniques = pd.factorize(
            np.concatenate([values for _, values in own]), use_na_sentinel=True
        )
        lookups = np.split(union, [len(own[0][1])])
        sides: list[SideCodes] = [
            (codes, np.append(lookup, -1)) for (codes, _), lookup in zip(own, lookups, strict=True)
        ]
        return sides, np.asarray(uniques, dtype=object)
    codes, uniques = _factorize(pd.concat([q, r], ignore_index=True))
    return [(codes[: len(q)], None), (codes[len(q) :], None)], uniques


def _factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize`` of plain values (codes by first appearance, -1 = missing) with the
    distinct values as an object array; all-digit strings through integers
    (:func:`_digit_codes`)."""
    if (digits := _digit_codes(values)) is not None:
        return digits
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, np.asarray(uniques, dtype=object)


#: The values :func:`digit_keys` codes as integers: 1 to this many ASCII digits (a number and
#: its length fit one int64).
_MAX_DIGITS = 17


def _digit_strings(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value (nulls aside) is 1 to :data:`_MAX_DIGITS` ASCII digits: Arrow's
    string kernels, not a regex (0.6 s instead of 6 s for 113 million TINs)."""
    short = pc.less_equal(pc.binary_length(values), _MAX_DIGITS)
    return pc.all(pc.and_(pc.ascii_is_decimal(values), short)).as_py() in (True, None)


def digit_keys(values: pd.Series) -> np.ndarray | None:
    """One int64 per value for strings of 1 to 17 digits (an identifier, as the TIN):
    ``int(value) * 32 + len(value)``, so "0123" and "123" stay apart, and -1 where missing;
    None if any value is something else. Integers hash far faster than Python strings, and a
    column of Arrow strings (:func:`read_records`) is read without making any."""
    head = values.iloc[:64].dropna()
    if not all(isinstance(v, str) and v.isdigit() for v in head):
        return None  # the usual answer for a names or address column, decided at once
    try:
        if isinstance(values.dtype, pd.CategoricalDtype | pd.ArrowDtype):
            arrow = pa.array(values)  # an Arrow-backed column: its own chunks, not copied
            arr = pc.cast(arrow, pa.string())  # a categorical's dictionary decoded
        else:
            arr = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, UnicodeEncodeError):
        return None
    if not _digit_strings(arr):
        return None
    key = pc.add(pc.multiply(pc.cast(arr, pa.int64()), 32), pc.utf8_length(arr).cast(pa.int64()))
    return np.asarray(pc.fill_null(key, -1).to_numpy())


def key_strings(keys: np.ndarray) -> np.ndarray:
    """The digit strings of :func:`digit_keys`' keys (object array): the inverse."""
    return np.array([f"{k >> 5:0{k & 31}d}" for k in keys.tolist()], dtype=object)


def _first_seen_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bench.linkage.kernels.first_seen` of ``keys``, and where each distinct key first
    appears (a value appears first where the running maximum of the codes rises)."""
    codes, _ = kernels.first_seen(keys)
    return codes, np.flatnonzero(np.diff(np.maximum.accumulate(codes), prepend=-1) > 0)


def _digit_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`pd.factorize` of plain strings that are all digits, through :func:`digit_keys`
    (11 million TINs: 12 to 17 s as strings): the same codes, numbered by first appearance,
    and the same distinct values (the strings themselves, at their first appearance); None
    for values that are not all such digit strings, and for fewer values than
    :data:`NEARLY_UNIQUE_MIN` (not worth the check)."""
    if len(values) < NEARLY_UNIQUE_MIN or (keys := digit_keys(values)) is None:
        return None
    codes, first = _first_seen_codes(keys)
    return codes, values.to_numpy(dtype=object)[first]


def _digit_sides(q: pd.Series, r: pd.Series) -> Coded | None:
    """An identifier field (:data:`DIGIT_FIELDS`) of digit strings on both sides, coded
    through :func:`digit_keys` with its strings left unbuilt (:meth:`Coded.of_digits`): the
    codes and values :func:`code` gives the strings, since normalizing keeps an identifier's
    digits as they are. None where :func:`_digit_codes` would be (the strings' path then)."""
    if len(q) + len(r) < NEARLY_UNIQUE_MIN:
        return None
    kq, kr = digit_keys(q), digit_keys(r)
    if kq is None or kr is None:
        return None
    keys = np.concatenate([kq, kr])
    codes, first = _first_seen_codes(keys)
    nq = len(kq)
    return Coded.of_digits(codes[:nq].astype(np.int32), codes[nq:].astype(np.int32), keys[first])


def _own_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """One side's codes over its own distinct values (-1 = missing): a categorical's codes and
    categories, or the values numbered by first appearance."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), np.asarray(s.cat.categories, dtype=object)
    return _factorize(s)


def read_records(
    path: Path | str | Sequence[Path | str], columns: list[str] | None = None
) -> pd.DataFrame:
    """Read parquet records (one file, or shards read as one table) with every string column
    as a categorical, except nearly unique ones (:data:`NEARLY_UNIQUE_SHARE`): as strings.

    Parquet stores strings dictionary-encoded; reading the dictionary as it is keeps a file of
    millions of records to integer codes and a few distinct strings, which :func:`code` uses
    directly (no per-record hashing, a fraction of the memory of Python strings).
    """
    import pyarrow.parquet as pq

    paths = [path] if isinstance(path, str | Path) else list(path)
    if len(paths) > 1:
        # Shard by shard, then column by column: reading holds about the records' codes once
        # (not as read, unified and converted at the same time). The categories are the
        # shards' distinct strings in order of first appearance, as unified dictionaries are.
        frames = [read_records(p, columns) for p in paths]
        # A column some shard keeps as Arrow strings (an identifier) is Arrow strings in all
        # (a small last shard is not nearly unique), else joining them would make it objects.
        arrow = {c for f in frames for c in f.columns if isinstance(f[c].dtype, pd.ArrowDtype)}
        for f in frames:
            for c in arrow - {c for c in f.columns if isinstance(f[c].dtype, pd.ArrowDtype)}:
                f[c] = _arrow_strings(pa.array(f[c], from_pandas=True))
        return concat_columns(frames)
    schema = pq.read_schema(paths[0])
    strings = [n for n, t in zip(schema.names, schema.types, strict=True) if t in _STRING_TYPES]
    table = pq.read_table(paths[0], columns=columns, read_dictionary=strings)
    names = table.column_names
    unique = [n for n in strings if n in names and _nearly_unique(table.column(n))]
    plain = {n: _plain_strings(table.column(n)) for n in unique}
    frame = table.drop_columns(unique).to_pandas(split_blocks=True, self_destruct=True)
    if plain:  # back in their places (index columns, restored as the index, have none)
        placed = [n for n in names if n in frame.columns or n in plain]
        for n in unique:  # in the file's order, so each place is already right
            frame.insert(placed.index(n), n, plain[n])
    pa.default_memory_pool().release_unused()  # the pool would keep what the table held
    return frame


def read_column(paths: Sequence[Path | str], name: str) -> pd.Series:
    """The column ``name`` of parquet shards read as one table: the same as
    ``read_records(paths, [name])[name]``, faster for a coded string column of many shards.

    Arrow reads the shards on its threads and unites their dictionaries
    (``unify_dictionaries``: each value numbered at its first appearance, the order
    ``union_categoricals`` gives), and pandas checks the united categories once. Uniting them
    a shard at a time in pandas hashed the categories gathered so far again for each shard:
    84 s for the surnames of 113 million records in 316 shards, 30 s this way. A column some
    shard holds as strings (:func:`_nearly_unique`), or of another type, is read as
    :func:`read_records` does.
    """
    import pyarrow.parquet as pq

    paths = list(paths)
    schema = pq.read_schema(paths[0])
    if len(paths) < 2 or schema.field(name).type not in _STRING_TYPES:
        return read_records(paths, [name])[name]
    with ThreadPoolExecutor(2) as pool:  # the decoding releases the GIL
        columns = list(
            pool.map(lambda p: pq.read_table(p, columns=[name], read_dictionary=[name])[0], paths)
        )
    chunks = pa.chunked_array([c for col in columns for c in col.chunks], columns[0].type)
    plain = [c for c in columns if _nearly_unique(c)]
    del columns
    if plain:
        # Arrow strings if every shard holding it as strings holds digit strings (each shard's
        # dictionaries hold exactly its values), as read_records joins them; else its way.
        if not all(_digit_strings(d.dictionary) for c in plain for d in c.chunks):
            return read_records(paths, [name])[name]
        return pd.Series(_arrow_strings(chunks), name=name)
    united = chunks.unify_dictionaries()
    del chunks
    dictionary = united.chunk(0).dictionary if united.num_chunks else pa.array([], pa.string())
    codes = np.concatenate(
        [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in united.chunks]
        or [np.zeros(0, np.int32)]
    )
    del united
    categories = pd.Index(dictionary.to_pandas(), dtype=object)
    out = pd.Series(pd.Categorical.from_codes(codes, categories), name=name)
    pa.default_memory_pool().release_unused()
    return out


def _plain_strings(column: pa.ChunkedArray) -> Any:
    """A nearly unique dictionary column's values: as Arrow strings if they are all digit
    strings (:func:`digit_keys` codes them without making Python strings: 13 bytes a 9-digit
    TIN against 66), else as Python strings (without pandas' search for repeated strings to
    share: there are none)."""
    strings = column.cast(pa.string())
    if _digit_strings(strings):
        return _arrow_strings(strings)
    return strings.to_pandas(deduplicate_objects=False).to_numpy()


def _arrow_strings(values: pa.Array | pa.ChunkedArray) -> pd.api.extensions.ExtensionArray:
    """``values`` as a pandas column of Arrow strings (a dictionary decoded)."""
    return pd.arrays.ArrowExtensionArray(pc.cast(values, pa.string()))


#: A string column whose values are nearly all distinct (an identifier, as the TIN) is read as
#: strings, not as a categorical: its categories would be its values, and pandas checks and
#: unites categories by hashing them (for 11 million TINs, 45 of the 50 s of reading the
#: register). Only for many values; the codes :func:`code` gives are the same either way.
NEARLY_UNIQUE_SHARE, NEARLY_UNIQUE_MIN = 0.9, 65_536


def _nearly_unique(column: pa.ChunkedArray) -> bool:
    """Whether a dictionary column has about as many distinct values as rows, and many.

    Counted per dictionary: row groups have dictionaries of their own, but the chunks a row
    group is read in (batches of 131,072 rows) share its one dictionary, which must count once
    (counted per chunk, a 1-million-record register's 194,000 surnames counted 1.55 million, so
    the surnames were read as strings and coded by hashing: 0.6 s instead of 0.1 s).
    """
    sizes = {}
    for chunk in column.chunks:
        offsets = chunk.dictionary.buffers()[1]  # one dictionary, one buffer
        sizes[offsets.address if offsets is not None else id(chunk)] = len(chunk.dictionary)
    distinct = sum(sizes.values())
    return distinct >= NEARLY_UNIQUE_MIN and distinct >= NEARLY_UNIQUE_SHARE * len(column)


# --- key transforms: functions of a normalized distinct value, for joins and rule conditions ---

Transform = Callable[[pd.Series, Mapping[str, Any]], pd.Series]
TRANSFORMS: dict[str, Transform] = {}
TRANSFORM_PARAMS: dict[str, dict[str, type]] = {}


def transform(name: str, **params: type) -> Callable[[Transform], Transform]:
    """Register a key transform under ``name`` with its parameter types."""

    def register(fn: Transform) -> Transform:
        TRANSFORMS[name] = fn
        TRANSFORM_PARAMS[name] = params
        return fn

    return register


@transform("exact")
def _exact(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return v


@transform("first_n", n=int)
def _first_n(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    # Letters only: the IRS "name control" is the first four letters of the surname.
    return v.str.replace(r"[^A-Z]", "", regex=True).str.slice(0, p["n"])


#: Leading words of a last-name field that are titles, not part of the name control.
NAME_CONTROL_TITLES = frozenset({"MR", "MRS", "MS", "MISS", "DR", "REV", "SIR", "DON", "DONA"})
#: Trailing words that are suffixes ("Wes Kern Jr": KERN), never part of the name control.
NAME_CONTROL_SUFFIXES = frozenset({"JR", "SR", "II", "III", "IV", "ESQ", "MD", "PHD", "DDS"})
#: Particles that belong to the surname they precede: the blank after them is dropped ("De La
#: Rosa": DELA, "Van Buren": VANB, "Mc Cedar": MCCE), where a blank between two surnames ends the
#: first one ("Garcia Lopez": GARC; "Paz Garcia": PAZ). Not DO or LO: common Vietnamese and
#: Chinese surnames of their own.
NAME_CONTROL_PARTICLES = frozenset(
    {"DE", "DEL", "DELA", "DELLA", "DI", "DA", "DOS", "DAS", "DU", "LA", "LAS", "LE", "LES",
     "LOS", "VAN", "VON", "DER", "DEN", "TER", "TEN", "ST", "STE", "SAN", "SANTA", "MC", "MAC",
     "O", "D", "L", "AL", "EL", "BEN", "BIN"}
)  # fmt: skip


def name_control(last_name: str | None) -> str | None:
    """The IRS name control of an individual from a normalized last name (upper case,
    apostrophes and periods dropped, hyphens and other punctuation as blanks: :func:`normalize`).

    The IRS's rule for individuals: the first four significant characters of the last name;
    blanks, punctuation, titles and suffixes are not part of it; of a hyphenated last name or of
    two last names (Hispanic usage), the first one; fewer than four characters are kept as they
    are. Here: leading titles and trailing suffixes are dropped, then the first surname is the
    first word together with any particles before it ("DE LA ROSA" is one surname, "GARCIA LOPEZ"
    two), and its first four letters or digits are the name control. Which of a person's names is
    the family name (Asian names written surname first) is a fact of the field, not of this
    transform: both sides get the same transform of their own last-name field.
    """
    if not last_name:
        return None
    words = last_name.split()
    while len(words) > 1 and words[0] in NAME_CONTROL_TITLES:
        words = words[1:]
    while len(words) > 1 and words[-1] in NAME_CONTROL_SUFFIXES:
        words = words[:-1]
    first = 0
    while first < len(words) - 1 and words[first] in NAME_CONTROL_PARTICLES:
        first += 1
    surname = "".join(words[: first + 1])
    control = "".join(ch for ch in surname if ch.isascii() and ch.isalnum())[:4]
    return control or None


@transform("name_control")
def _name_control(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return pd.Series([name_control(x) for x in v], index=v.index, dtype=object)


@transform("initial")
def _initial(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return v.str.slice(0, 1)


@transform("soundex")
def _soundex(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return pd.Series([jellyfish.soundex(x) if x else None for x in v], index=v.index)


@transform("metaphone")
def _metaphone(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return pd.Series([jellyfish.metaphone(x) if x else None for x in v], index=v.index)


@transform("year")
def _year(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return v.str.slice(0, 4)


@transform("digits")
def _digits(v: pd.Series, p: Mapping[str, Any]) -> pd.Series:
    return v.str.replace(r"\D", "", regex=True)


def validate_key(spec: Mapping[str, Any], where: str) -> tuple[str, str, dict[str, Any]]:
    """Validate a key ``{field, compare, blank, <params>}``; return (field, transform, params).

    ``blank`` (:data:`BLANK_OPTIONS`; default :data:`BLANK_DEFAULTS`, else "missing") is kept in
    ``params`` only when it is "value" (for :meth:`PreparedTask.key`, whose default is "missing").
    """
    field = spec.get("field")
    if not isinstance(field, str) or field not in known_fields():
        known = ", ".join(known_fields())
        raise ConfigError(f"{where}.field", f"must be one of {known}; got {field!r}")
    compare = spec.get("compare", "exact")
    if compare not in TRANSFORMS:
        raise ConfigError(
            f"{where}.compare", f"unknown key transform {compare!r} ({', '.join(TRANSFORMS)})"
        )
    blank = spec.get("blank", BLANK_DEFAULTS.get(field, "missing"))
    if blank not in BLANK_OPTIONS:
        raise ConfigError(f"{where}.blank", f"must be one of {', '.join(BLANK_OPTIONS)}")
    params = {k: v for k, v in spec.items() if k not in ("field", "compare", "blank")}
    expected = TRANSFORM_PARAMS[compare]
    for key, value in params.items():
        if key not in expected:
            raise ConfigError(f"{where}.{key}", f"unknown parameter for compare={compare!r}")
        if not isinstance(value, expected[key]) or isinstance(value, bool):
            raise ConfigError(f"{where}.{key}", f"must be {expected[key].__name__}")
    missing = set(expected) - set(params)
    if missing:
        raise ConfigError(f"{where}.{sorted(missing)[0]}", f"required for compare={compare!r}")
    if params.get("n", 1) < 1:
        raise ConfigError(f"{where}.n", "must be >= 1")
    return field, compare, {**params, **({"blank": blank} if blank == "value" else {})}


class PreparedTask:
    """A linkage task with fields normalized and coded on demand (cached)."""

    def __init__(
        self,
        task: LinkageTask,
        seed: int = 0,
        joins: str = "numpy",
        read_register: Callable[[str], pd.Series] | None = None,
    ) -> None:
        """``read_register``: where a register field is read when it is first coded (default:
        ``task.register``'s column). A big-file run reads it from its shards, so that the
        register is held only as the codes of the fields the methods use: its task's register
        is then a frame of the right length without columns."""
        if joins not in JOIN_ENGINES:
            raise ConfigError("joins", f"must be one of {', '.join(JOIN_ENGINES)}; got {joins!r}")
        self.task = task
        self._read_register = read_register
        self.seed = seed
        #: Which engine blocks: "numpy" (in memory) or "duckdb" (big registers).
        self.joins = joins  # for methods that sample (e.g. random pairs to estimate u)
        self.n_query = len(task.query)
        self.n_register = len(task.register)
        self._fields: dict[str, Coded] = {}
        #: Per key transform, its codes as a remapping of its field's codes, and its values
        #: (the records' key codes are gathered when asked for: not held per record).
        self._keys: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._scores: dict[tuple[str, Scorer], PairScores] = {}
        self._joins: dict[tuple, KeyIndex] = {}
        self._address: tuple[np.ndarray, np.ndarray] | None = None
        self._query_only: PreparedTask | None = None

    def field(self, name: str) -> Coded:
        """The coded normalized field (a record field or a composite)."""
        if name not in self._fields:
            with stage("field coding"):
                if name in COMPOSITES:
                    self._fields[name] = self._code_composite(name)
                else:
                    q = self.task.query[name]
                    read = self._read_register
                    r = self.task.register[name] if read is None else read(name)
                    self._fields[name] = code(q, r, name)
                    del r  # the register's column goes: its codes are what is kept
        return self._fields[name]

    def release(self, keep: Iterable[str]) -> None:
        """Forget what was coded of every field not in ``keep`` (a composite keeps its parts):
        its codes, keys, pair scores and the joins on it. At the real size a register field's
        codes take nearly half a gigabyte; a field asked for again is coded again."""
        keep = set(keep)
        keep |= {part for name in keep for part in COMPOSITES.get(name, ())}
        self._fields = {k: v for k, v in self._fields.items() if k in keep}
        self._keys = {k: v for k, v in self._keys.items() if k[0] in keep}
        self._scores = {k: v for k, v in self._scores.items() if k[0] in keep}
        self._joins = {k: v for k, v in self._joins.items() if all(f in keep for f, _, _ in k)}

    def query_field(self, name: str) -> Coded:
        """The field coded over the query's records alone (``r`` empty; codes numbered over the
        query's values): for conditions on the query's own values (present, absent, a
        pattern), which need not code every register record (a composite address of millions:
        40 s and 1.3 GB at 11 million). The field coded on both sides, if it already is."""
        if name in self._fields:
            return self._fields[name]
        if self._query_only is None:
            register = self.task.register  # read on demand: no columns, the query's will do
            empty = (register if self._read_register is None else self.task.query).iloc[:0]
            alone = dataclasses.replace(self.task, register=empty)
            self._query_only = PreparedTask(alone, self.seed, self.joins)
        return self._query_only.field(name)

    def _code_composite(self, name: str) -> Coded:
        """A composite coded as :func:`code` codes the joined strings of every record (the
        normalized parts joined with spaces, runs of spaces collapsed, empty parts dropped),
        but joining strings only once per distinct combination of the parts' codes: the
        records' own strings are never built (for a register of millions, most of the memory
        of coding an address). Values are numbered in order of first appearance, as there."""
        parts = [self.field(part) for part in COMPOSITES[name]]
        # One integer per record for its parts' codes (a missing part is a code of its own).
        combo = np.zeros(self.n_query + self.n_register, dtype=np.int64)
        card = 1
        for c in parts:
            if card * (c.cardinality + 1) >= RADIX_LIMIT:  # re-number before an overflow
                combo, uniq = pd.factorize(combo)
                card = len(uniq)
            combo *= c.cardinality + 1
            combo += np.concatenate([c.q, c.r]).astype(np.int64) + 1
            card *= c.cardinality + 1
        inverse, uniq = pd.factorize(combo)  # combinations in order of first appearance
        del combo
        _, first = np.unique(inverse, return_index=True)  # each combination's first record
        strings = []
        for c in parts:
            values = np.append(c.values, "").astype(object)  # code -1 -> ""
            strings.append(pd.Series(values[np.concatenate([c.q, c.r])[first]], dtype=object))
        joined = strings[0].str.cat(strings[1:], sep=" ").str.replace(r"\s+", " ", regex=True)
        joined = joined.str.strip()
        norm = joined.where(joined != "", None)
        norm_codes, values = pd.factorize(norm, use_na_sentinel=True)
        codes = norm_codes.astype(np.int32)[inverse]
        return Coded(codes[: self.n_query], codes[self.n_query :], np.asarray(values, dtype=object))

    def similarity(
        self, name: str, scorer: Scorer, qi: np.ndarray, ri: np.ndarray, floor: float | None = None
    ) -> np.ndarray:
        """``scorer`` on the field's pairs, cached per distinct value pair for this task.

        With ``floor``, scores that cannot reach it are reported as 0 instead of computed.
        """
        return self._pair_scores(name, scorer)(qi, ri, floor)

    def similarity_levels(
        self,
        name: str,
        scorer: Scorer,
        qi: np.ndarray,
        ri: np.ndarray,
        floor: float,
        cuts: np.ndarray,
    ) -> np.ndarray:
        """int8 levels of ``scorer`` on the field's pairs against ``cuts`` (ascending float32),
        as :func:`bench.linkage.kernels.levels` of :meth:`similarity` with ``floor`` (the
        lowest cut, as given)."""
        return self._pair_scores(name, scorer).levels(qi, ri, floor, cuts)

    def _pair_scores(self, name: str, scorer: Scorer) -> PairScores:
        ident = (name, scorer)
        if ident not in self._scores:
            self._scores[ident] = PairScores(self.field(name), scorer)
        return self._scores[ident]

    def combined_key(
        self, keys: Sequence[tuple[str, str, Mapping[str, Any]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """One int64 key per record of each side for ``keys``, for joins: -1 where a part is
        missing or where it can join nothing (``combine(..., join_only=True)``)."""
        return combine([self.key(f, c, **p) for f, c, p in keys], join_only=True)

    def key_index(self, keys: Sequence[tuple[str, str, Mapping[str, Any]]]) -> KeyIndex:
        """The join index of ``keys`` ``(field, transform, params)``, built once per task: a
        blocking pass and a model's training block on the same keys share it."""
        ident = tuple((f, c, tuple(sorted(p.items()))) for f, c, p in keys)
        if ident not in self._joins:
            self._joins[ident] = KeyIndex.build(*self.combined_key(keys))
        return self._joins[ident]

    def join(
        self, keys: Sequence[tuple[str, str, Mapping[str, Any]]], max_pairs: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """All record pairs agreeing on every key of ``keys`` (see :func:`join`)."""
        return self.key_index(keys).pairs(max_pairs=max_pairs)

    def address_match(self, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """Per pair: do the two records' addresses match? True where every part of
        :data:`ADDRESS_MATCH_FIELDS` (house number, street, ZIP) is present on both sides and
        equal after :func:`normalize`; a part missing on either side is not a match."""
        # One combined key per record (-1 if a part is missing): equal keys <=> equal parts.
        if self._address is None:
            kq, kr = combine([self.field(name) for name in ADDRESS_MATCH_FIELDS])
            small = max(int(kq.max(initial=-1)), int(kr.max(initial=-1))) < 2**31
            self._address = (kq.astype(np.int32), kr.astype(np.int32)) if small else (kq, kr)
        kq = self._address[0][qi]
        return (kq >= 0) & (kq == self._address[1][ri])

    def random_pairs(self, n: int, *names: str) -> tuple[np.ndarray, np.ndarray]:
        """``n`` uniformly random (query_row, register_row) pairs from a named stream."""
        rng = stream(self.seed, "random-pairs", *names)
        return rng.integers(0, self.n_query, n), rng.integers(0, self.n_register, n)

    def key(
        self, field: str, compare: str = "exact", blank: str = "missing", **params: Any
    ) -> Coded:
        """The field's values under a key transform, re-coded (e.g. surname -> Soundex code).

        ``blank`` (:data:`BLANK_OPTIONS`): "missing" codes a blank key as missing (it joins
        nothing); "value" codes every blank key, on both sides, as one more value ("")."""
        ident = (field, compare, blank, tuple(sorted(params.items())))
        if compare == "exact" and blank == "missing" and not params:
            # The identity transform re-codes the field's distinct non-empty values to the
            # same codes in the same order: the key is the field itself.
            return self.field(field)
        base = self.field(field)
        if ident not in self._keys:
            out = TRANSFORMS[compare](pd.Series(base.values, dtype=object), params)
            empty = out == "" if field not in EMPTY_IS_VALUE else False
            out = out.astype(object).where(out.notna() & ~empty, None)
            new_codes, values = pd.factorize(out, use_na_sentinel=True)
            none = MISSING
            if blank == "value":  # blanks (missing before or after the transform) become ""
                values = np.asarray(values, dtype=object)
                kept = np.flatnonzero(values == "")  # "" kept as a value (EMPTY_IS_VALUE)
                none = int(kept[0]) if kept.size else len(values)
                if not kept.size:
                    values = np.append(values, "")
                new_codes = np.where(new_codes < 0, none, new_codes)
            remap = np.append(new_codes, none).astype(np.int32)
            self._keys[ident] = (remap, np.asarray(values, dtype=object))
        remap, values = self._keys[ident]
        # Gathered on each call (a fraction of a second for a register of millions) rather
        # than held: at the real size each key would hold 4 bytes a register record.
        return Coded(remap[base.q], remap[base.r], values)


# --- joins ---


def combine(keys: list[Coded], *, join_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Combine several coded keys into one int64 key per record (-1 where any part is missing).

    ``join_only``: the keys will only be joined (compared across the sides), so where the
    parts so far must be re-coded, a record whose parts so far no record of the other side has
    becomes -1 too: it can join nothing. The pairs any join gives are the same.
    """
    kq = np.zeros(len(keys[0].q), dtype=np.int64)
    kr = np.zeros(len(keys[0].r), dtype=np.int64)
    card = 1
    for k in keys:
        if card * (k.cardinality + 1) >= RADIX_LIMIT:  # re-code before the mixed radix overflows
            kq, kr, card = _recode_for_join(kq, kr) if join_only else _recode(kq, kr)
        # key * (cardinality + 1) + code, or -1 if either is: in place, one pass a side
        kernels.mix_key(kq, k.q, k.cardinality + 1)
        kernels.mix_key(kr, k.r, k.cardinality + 1)
        card *= k.cardinality + 1
    return kq, kr


def _recode(kq: np.ndarray, kr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-number combined keys densely over both sides, keeping -1 (missing) as -1."""
    both = np.concatenate([kq, kr])
    ok = both >= 0
    codes = np.full(both.size, -1, dtype=np.int64)
    codes[ok], uniq = pd.factorize(both[ok])
    return codes[: kq.size], codes[kq.size :], len(uniq)


def _recode_for_join(kq: np.ndarray, kr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-number combined keys over the distinct keys of the smaller side; a key of the larger
    side that the smaller one does not have becomes -1, as a missing one (it joins nothing).
    A dictionary of the list's keys, not of every register record's: at 1:10 of the real case
    the register's 11 million keys are looked up in the list's 128,000 (which fit in the
    cache) instead of being hashed into a table of millions."""
    flip = kr.size < kq.size
    small, large = (kr, kq) if flip else (kq, kr)
    ok = small >= 0
    codes = np.full(small.size, -1, dtype=np.int64)
    codes[ok], uniq = pd.factorize(small[ok])
    other = pd.Index(uniq).get_indexer(large).astype(np.int64)  # -1: absent (and missing)
    return (other, codes, len(uniq)) if flip else (codes, other, len(uniq))


@dataclass(frozen=True)
class KeyIndex:
    """The index of a join of two sides' keys: the register rows some query row can join,
    grouped by key, and each query row's run of them (the keys themselves are not kept)."""

    order: np.ndarray  # joinable register rows by key (rows ascending within a key)
    lo: np.ndarray  # per query row: where its key's run starts in ``order``
    n: np.ndarray  # per query row: the length of that run (0 if the key is missing)

    @classmethod
    def build(cls, kq: np.ndarray, kr: np.ndarray) -> KeyIndex:
        # Only the register rows some query row can join are held (by a counting sort over the
        # query's keys, :func:`bench.linkage.kernels.key_groups`); rows stay ascending within
        # a key.
        return cls(*kernels.key_groups(kq, kr))

    def counts(self, rows: slice = slice(None)) -> np.ndarray:
        """Per query row of ``rows``: how many register rows share its key."""
        return self.n[rows]

    def pairs(
        self, rows: slice = slice(None), max_pairs: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pairs of the query ``rows`` (a slice), sorted by query then register row."""
        start, stop, _ = rows.indices(len(self.n))
        lo, counts = self.lo[rows], self.n[rows]
        total = int(counts.sum())
        if max_pairs is not None and total > max_pairs:
            raise ConfigError("", f"join would produce {total:,} pairs (limit {max_pairs:,})")
        qi = np.repeat(np.arange(start, stop, dtype=np.int64), counts)
        at = np.arange(total, dtype=np.int64)
        at += np.repeat(lo - (np.cumsum(counts) - counts), counts)
        return qi, self.order[at].astype(np.int64, copy=False)

    def pairs_at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs at ``positions`` (ascending) of the list :meth:`pairs` gives for every
        query row, without building the rest of it."""
        ends = np.cumsum(self.n)
        qi = np.searchsorted(ends, positions, side="right")
        at = self.lo[qi] + (positions - (ends[qi] - self.n[qi]))
        return qi.astype(np.int64, copy=False), self.order[at].astype(np.int64, copy=False)


def swap_variants(coded: Coded) -> list[Coded]:
    """``coded`` with each query value replaced by its one-adjacent-transposition variants.

    One :class:`Coded` per position i: the query side holds the code of the value with
    characters i and i + 1 swapped, or -1 where that variant occurs nowhere in either file (it
    cannot match) or equals the value itself (a swap of equal characters: the exact join's pair);
    the register side is unchanged. A join on each variant finds every pair whose values differ by
    exactly that transposition (a swap is its own inverse, so swapping the query side suffices):
    for 9-digit identifiers, 8 sort-merge joins instead of a comparison of all pairs. Vectorized
    over the distinct values' characters.
    """
    values = coded.values
    if len(values) == 0:
        return []
    chars = np.array(list(values), dtype="S")  # normalized values are ASCII
    n, width = len(chars), chars.dtype.itemsize
    raw = chars.view(np.uint8).reshape(n, width)
    length = (raw != 0).sum(axis=1)
    lookup = pd.Index(values)
    out = []
    for i in range(width - 1):
        todo = np.flatnonzero((length >= i + 2) & (raw[:, i] != raw[:, i + 1]))
        remap = np.full(n + 1, MISSING, dtype=np.int32)  # index -1 (missing) stays missing
        if todo.size:
            swapped = raw[todo].copy()
            swapped[:, [i, i + 1]] = swapped[:, [i + 1, i]]
            text = swapped.view(f"S{width}").ravel().astype(str).astype(object)
            remap[todo] = lookup.get_indexer(text)
        out.append(Coded(remap[coded.q], coded.r, values))
    return out


def join(
    kq: np.ndarray, kr: np.ndarray, max_pairs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (query_row, register_row) with equal non-missing keys, sorted by query then register row.

    A sort-merge join in numpy: register keys are sorted once, each query key finds its run by
    binary search, and runs are expanded with repeat/arange, all vectorized.
    """
    return KeyIndex.build(kq, kr).pairs(max_pairs=max_pairs)


# --- comparisons on pairs ---


@dataclass(frozen=True)
class Scorer:
    """A string similarity in [0, 1]: rapidfuzz's function and the compiled kernel that gives
    the same values for many pairs at once (:mod:`bench.linkage.kernels`)."""

    fn: Callable
    kernel: int  # kernels.JARO_WINKLER or kernels.LEVENSHTEIN


JARO_WINKLER = Scorer(JaroWinkler.normalized_similarity, kernels.JARO_WINKLER)
LEVENSHTEIN = Scorer(Levenshtein.normalized_similarity, kernels.LEVENSHTEIN)

#: Without the kernels (a value longer than 64 characters), pairs are scored once per distinct
#: value pair only where value pairs are likely to repeat: where the field's possible value
#: pairs (cardinality squared) are at most this many times the pairs to score. Otherwise nearly
#: every pair is distinct, and hashing them to find the few repeats costs more than it saves.
DEDUPE_SPACE = 1000


class PairScores:
    """One field's similarities on pairs of records.

    Identical values score 1 without computation; with ``floor``, pairs whose character-count
    bound is below it may be reported as 0 instead of computed, which is exact for anything
    that only asks whether a score reaches ``floor`` or a higher cut. The compiled kernels do
    all of it in one pass; values they cannot hold go to rapidfuzz, once per distinct value
    pair where such pairs repeat (:data:`DEDUPE_SPACE`).
    """

    def __init__(self, coded: Coded, scorer: Scorer) -> None:
        self.coded, self.scorer = coded, scorer
        self._bytes: kernels.ValueBytes | bool | None = False

    def _value_bytes(self) -> kernels.ValueBytes | None:
        if self._bytes is False:
            self._bytes = kernels.value_bytes(self.coded.values)
        return self._bytes if isinstance(self._bytes, kernels.ValueBytes) else None

    def levels(self, qi: np.ndarray, ri: np.ndarray, floor: float, cuts: np.ndarray) -> np.ndarray:
        """int8 levels of the pairs' similarities against ``cuts`` (ascending float32; -1:
        missing), as ``kernels.levels(self(qi, ri, floor), cuts)`` (``floor``: the lowest cut,
        as given); by the kernels without the similarities where they apply."""
        vb = self._value_bytes()
        if vb is not None:
            coded = self.coded
            return kernels.pair_levels(
                self.scorer.kernel, vb, coded.q, coded.r, qi, ri, floor, cuts
            )
        return kernels.levels(self(qi, ri, floor), cuts)

    def __call__(self, qi: np.ndarray, ri: np.ndarray, floor: float | None = None) -> np.ndarray:
        coded = self.coded
        vb = self._value_bytes()
        if vb is not None:
            return kernels.pair_similarity(self.scorer.kernel, vb, coded.q, coded.r, qi, ri, floor)
        cq, cr = coded.q[qi], coded.r[ri]
        out = np.full(len(qi), np.nan, dtype=np.float32)
        valid = (cq >= 0) & (cr >= 0)
        same = valid & (cq == cr)  # codes are of distinct normalized values
        out[same] = 1.0
        todo = np.flatnonzero(valid & ~same)
        if todo.size == 0:
            return out
        a, b = cq[todo], cr[todo]
        inv = None
        if coded.cardinality**2 <= DEDUPE_SPACE * todo.size:  # value pairs likely repeat
            pair = a.astype(np.int64) * coded.cardinality + b
            inv, uniq = pd.factorize(pair)
            a, b = uniq // coded.cardinality, uniq % coded.cardinality
        scores = process.cpdist(
            coded.values[a], coded.values[b], scorer=self.scorer.fn, workers=-1, dtype=np.float32
        )
        out[todo] = scores if inv is None else scores[inv]
        return out


def jaro_winkler(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity in [0, 1] per pair (NaN if missing on either side)."""
    return PairScores(coded, JARO_WINKLER)(qi, ri)


def levenshtein_sim(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Normalized Levenshtein similarity in [0, 1] per pair (NaN if missing on either side)."""
    return PairScores(coded, LEVENSHTEIN)(qi, ri)


def equal(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """1.0 where equal, 0.0 where different, NaN where either is missing."""
    cq, cr = coded.q[qi], coded.r[ri]
    out = (cq == cr).astype(np.float32)
    out[(cq < 0) | (cr < 0)] = np.nan
    return out


def equal_levels(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """int8 level per pair: 1 equal, 0 different, -1 missing on either side (the levels of
    :func:`equal` against the cut 1.0, without the similarities)."""
    return kernels.equal_levels(coded.q, coded.r, qi, ri)


def matches_pattern(coded: Coded, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Per record of each side: does the normalized value contain a match of ``pattern``?"""
    regex = compile_pattern(pattern)  # RE2: a user's pattern never backtracks (no hang)
    hits = np.array([bool(regex.search(v)) for v in coded.values] + [False])
    return hits[coded.q], hits[coded.r]  # index -1 (missing) picks the trailing False
