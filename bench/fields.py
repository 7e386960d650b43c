"""Normalized, integer-coded fields and vectorized comparisons on candidate pairs.

Every string field of both files is normalized once and coded to integers over the distinct
values of *both* sides, so that exact comparisons are integer comparisons and fuzzy comparisons
are computed once per distinct (query value, register value) pair with rapidfuzz and gathered
back to the record pairs. Nothing here loops over records in Python; the only Python loops run
over distinct values (e.g. phonetic codes), which are few compared to records.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jellyfish
import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from synthetic.errors import ConfigError
from synthetic.rng import stream
from synthetic.scenario import RECORD_FIELDS, LinkageTask

MISSING = -1
#: Composite fields built from record fields (parts joined by spaces, empty parts dropped).
COMPOSITES: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "address": ("house_number", "street", "unit"),
    "full_address": ("house_number", "street", "unit", "city", "state", "zip"),
}
#: Fields where an empty string is a value (a dwelling without a unit), not a missing entry.
EMPTY_IS_VALUE = frozenset({"unit"})
#: Combined keys are re-coded densely before their mixed-radix product could overflow int64.
RADIX_LIMIT = 2**62


def normalize(values: pd.Series, field: str) -> pd.Series:
    """Normalize strings the same way for both agencies and for user files.

    Upper case, accents stripped (NFKD), apostrophes and periods dropped, other punctuation to
    spaces, whitespace collapsed. Dates keep their digits and dashes. Returns None for missing.
    """
    s = values.astype("string")
    s = s.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii").str.upper()
    if field == "dob":
        s = s.str.replace(r"[^0-9-]", "", regex=True)
    elif field == "zip":
        s = s.str.replace(r"[^0-9]", "", regex=True).str.slice(0, 5)
    else:
        s = s.str.replace(r"['.]", "", regex=True).str.replace(r"[^A-Z0-9#]+", " ", regex=True)
    s = s.str.strip()
    if field not in EMPTY_IS_VALUE:
        s = s.mask(s == "")
    return s.astype(object).where(s.notna(), None)


@dataclass(frozen=True)
class Coded:
    """A field coded to integers over the distinct values of both sides (-1 = missing)."""

    q: np.ndarray
    r: np.ndarray
    values: np.ndarray  # object array of distinct normalized strings; values[code]

    @property
    def cardinality(self) -> int:
        return len(self.values)


def code(
    query_values: pd.Series, register_values: pd.Series, field: str, *, normalized: bool = False
) -> Coded:
    """Normalize and integer-code one field over both files (normalizing distinct values only).

    ``normalized`` values (composites built from normalized parts) are only cleared of empties.
    """
    both = pd.concat([query_values, register_values], ignore_index=True)
    raw_codes, raw_uniques = pd.factorize(both, use_na_sentinel=True)
    norm = pd.Series(raw_uniques, dtype=object)
    norm = norm.where(norm != "", None) if normalized else normalize(norm, field)
    norm_codes, values = pd.factorize(norm, use_na_sentinel=True)
    remap = np.append(norm_codes, MISSING).astype(np.int32)  # raw -1 -> index -1 -> MISSING
    codes = remap[raw_codes]
    n_q = len(query_values)
    return Coded(codes[:n_q], codes[n_q:], np.asarray(values, dtype=object))


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
    """Validate a key ``{field, compare, <params>}``; return (field, transform, params)."""
    field = spec.get("field")
    if not isinstance(field, str) or field not in (*RECORD_FIELDS, *COMPOSITES):
        known = ", ".join((*RECORD_FIELDS, *COMPOSITES))
        raise ConfigError(f"{where}.field", f"must be one of {known}; got {field!r}")
    compare = spec.get("compare", "exact")
    if compare not in TRANSFORMS:
        raise ConfigError(
            f"{where}.compare", f"unknown key transform {compare!r} ({', '.join(TRANSFORMS)})"
        )
    params = {k: v for k, v in spec.items() if k not in ("field", "compare")}
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
    return field, compare, params


class PreparedTask:
    """A linkage task with fields normalized and coded on demand (cached)."""

    def __init__(self, task: LinkageTask, seed: int = 0) -> None:
        self.task = task
        self.seed = seed  # for methods that sample (e.g. random pairs to estimate u)
        self.n_query = len(task.query)
        self.n_register = len(task.register)
        self._fields: dict[str, Coded] = {}
        self._keys: dict[tuple, Coded] = {}

    def field(self, name: str) -> Coded:
        """The coded normalized field (a record field or a composite)."""
        if name not in self._fields:
            if name in COMPOSITES:
                self._fields[name] = code(*self._composite(name), name, normalized=True)
            else:
                self._fields[name] = code(self.task.query[name], self.task.register[name], name)
        return self._fields[name]

    def _composite(self, name: str) -> tuple[pd.Series, pd.Series]:
        """Join the normalized parts (gathered from their distinct values) with spaces."""
        sides = []
        for side in ("q", "r"):
            parts = []
            for part in COMPOSITES[name]:
                coded = self.field(part)
                values = np.append(coded.values, "").astype(object)  # code -1 -> ""
                parts.append(pd.Series(values[getattr(coded, side)], dtype=object))
            joined = parts[0].str.cat(parts[1:], sep=" ").str.replace(r"\s+", " ", regex=True)
            sides.append(joined.str.strip())
        return sides[0], sides[1]

    def random_pairs(self, n: int, *names: str) -> tuple[np.ndarray, np.ndarray]:
        """``n`` uniformly random (query_row, register_row) pairs from a named stream."""
        rng = stream(self.seed, "random-pairs", *names)
        return rng.integers(0, self.n_query, n), rng.integers(0, self.n_register, n)

    def key(self, field: str, compare: str = "exact", **params: Any) -> Coded:
        """The field's values under a key transform, re-coded (e.g. surname -> Soundex code)."""
        ident = (field, compare, tuple(sorted(params.items())))
        if ident not in self._keys:
            base = self.field(field)
            out = TRANSFORMS[compare](pd.Series(base.values, dtype=object), params)
            empty = out == "" if field not in EMPTY_IS_VALUE else False
            out = out.astype(object).where(out.notna() & ~empty, None)
            new_codes, values = pd.factorize(out, use_na_sentinel=True)
            remap = np.append(new_codes, MISSING).astype(np.int32)
            self._keys[ident] = Coded(
                remap[base.q], remap[base.r], np.asarray(values, dtype=object)
            )
        return self._keys[ident]


# --- joins ---


def combine(keys: list[Coded]) -> tuple[np.ndarray, np.ndarray]:
    """Combine several coded keys into one int64 key per record (-1 where any part is missing)."""
    kq = np.zeros(len(keys[0].q), dtype=np.int64)
    kr = np.zeros(len(keys[0].r), dtype=np.int64)
    card = 1
    for k in keys:
        if card * (k.cardinality + 1) >= RADIX_LIMIT:  # re-code before the mixed radix overflows
            kq, kr, card = _recode(kq, kr)
        kq = np.where((kq < 0) | (k.q < 0), -1, kq * (k.cardinality + 1) + k.q)
        kr = np.where((kr < 0) | (k.r < 0), -1, kr * (k.cardinality + 1) + k.r)
        card *= k.cardinality + 1
    return kq, kr


def _recode(kq: np.ndarray, kr: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Re-number combined keys densely over both sides, keeping -1 (missing) as -1."""
    both = np.concatenate([kq, kr])
    ok = both >= 0
    codes = np.full(both.size, -1, dtype=np.int64)
    codes[ok], uniq = pd.factorize(both[ok])
    return codes[: kq.size], codes[kq.size :], len(uniq)


def join(
    kq: np.ndarray, kr: np.ndarray, max_pairs: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (query_row, register_row) with equal non-missing keys, sorted by query then register row.

    A sort-merge join in numpy: register keys are sorted once, each query key finds its run by
    binary search, and runs are expanded with repeat/arange, all vectorized.
    """
    order = np.argsort(kr, kind="stable")
    skr = kr[order]
    lo = np.searchsorted(skr, kq, side="left")
    hi = np.searchsorted(skr, kq, side="right")
    counts = np.where(kq < 0, 0, hi - lo)
    total = int(counts.sum())
    if max_pairs is not None and total > max_pairs:
        raise ConfigError("", f"join would produce {total:,} pairs (limit {max_pairs:,})")
    qi = np.repeat(np.arange(len(kq), dtype=np.int64), counts)
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    ri = order[starts + np.arange(total)]
    return qi, ri.astype(np.int64)


# --- comparisons on pairs ---


def _pairwise(coded: Coded, qi: np.ndarray, ri: np.ndarray, scorer: Callable) -> np.ndarray:
    """Score each pair by its distinct value pair (computed once), NaN where either is missing."""
    cq, cr = coded.q[qi], coded.r[ri]
    out = np.full(len(qi), np.nan, dtype=np.float32)
    valid = (cq >= 0) & (cr >= 0)
    if not valid.any():
        return out
    pair_code = cq[valid].astype(np.int64) * coded.cardinality + cr[valid]
    inv, uniq = pd.factorize(pair_code)
    left = coded.values[uniq // coded.cardinality]
    right = coded.values[uniq % coded.cardinality]
    scores = process.cpdist(left, right, scorer=scorer, workers=-1, dtype=np.float32)
    out[valid] = scores[inv]
    return out


def jaro_winkler(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity in [0, 1] per pair (NaN if missing on either side)."""
    return _pairwise(coded, qi, ri, JaroWinkler.normalized_similarity)


def levenshtein_sim(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """Normalized Levenshtein similarity in [0, 1] per pair (NaN if missing on either side)."""
    return _pairwise(coded, qi, ri, Levenshtein.normalized_similarity)


def equal(coded: Coded, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """1.0 where equal, 0.0 where different, NaN where either is missing."""
    cq, cr = coded.q[qi], coded.r[ri]
    out = (cq == cr).astype(np.float32)
    out[(cq < 0) | (cr < 0)] = np.nan
    return out


def matches_pattern(coded: Coded, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Per record of each side: does the normalized value contain a match of ``pattern``?"""
    regex = re.compile(pattern)
    hits = np.array([bool(regex.search(v)) for v in coded.values] + [False])
    return hits[coded.q], hits[coded.r]  # index -1 (missing) picks the trailing False
