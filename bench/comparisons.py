"""Comparison kinds: how two values of a field are compared, as levels and as a similarity.

A comparison maps each candidate pair to an agreement *level* (0 = disagree, higher = stronger
agreement, -1 = missing on either side) for Fellegi-Sunter and supervised models, and to a
*similarity* in [0, 1] for weighted fuzzy scores. New kinds are one entry in ``COMPARISONS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from bench.fields import PreparedTask, equal, jaro_winkler, levenshtein_sim
from synthetic.errors import ConfigError

Similarity = Callable[[PreparedTask, str, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """A comparison kind: a similarity function and the thresholds that cut it into levels."""

    name: str
    similarity: Similarity
    cuts: tuple[float, ...]  # ascending; level = number of cuts the similarity reaches
    labels: tuple[str, ...]  # one per level, level 0 first

    @property
    def n_levels(self) -> int:
        return len(self.cuts) + 1

    def levels(self, sim: np.ndarray) -> np.ndarray:
        """Cut similarities into int8 levels; NaN (missing) becomes -1."""
        lv = np.searchsorted(np.asarray(self.cuts, dtype=np.float32), sim, side="right")
        lv = lv.astype(np.int8)
        lv[np.isnan(sim)] = -1
        return lv


def _jw(p: PreparedTask, f: str, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    return jaro_winkler(p.field(f), qi, ri)


def _lev(p: PreparedTask, f: str, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    return levenshtein_sim(p.field(f), qi, ri)


def _eq(p: PreparedTask, f: str, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    return equal(p.field(f), qi, ri)


COMPARISONS: dict[str, Comparison] = {
    # Jaro-Winkler cut points 0.80 / 0.92 are Splink's defaults for name fields.
    "name": Comparison(
        "name", _jw, (0.80, 0.92, 1.0), ("jw<0.80", "jw>=0.80", "jw>=0.92", "exact")
    ),
    # A 10-character date differing in one character (a typo) has similarity 0.9.
    "date": Comparison("date", _lev, (0.70, 0.90, 1.0), ("other", "2 chars", "1 char", "exact")),
    "exact": Comparison("exact", _eq, (1.0,), ("different", "exact")),
}

#: Default fields compared by scored methods (field -> comparison kind).
DEFAULT_FIELDS: dict[str, str] = {
    "first_name": "name",
    "middle_name": "name",
    "last_name": "name",
    "dob": "date",
    "house_number": "exact",
    "street": "name",
    "zip": "exact",
}


def validate_fields(spec: object, where: str) -> dict[str, str]:
    """Validate a ``{field = comparison kind}`` table."""
    from synthetic.scenario import RECORD_FIELDS

    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(where, "must be a non-empty table of field = comparison kind")
    for field, kind in spec.items():
        if field not in RECORD_FIELDS:
            raise ConfigError(f"{where}.{field}", f"unknown field ({', '.join(RECORD_FIELDS)})")
        if kind not in COMPARISONS:
            raise ConfigError(
                f"{where}.{field}", f"unknown comparison {kind!r} ({', '.join(COMPARISONS)})"
            )
    return dict(spec)


@dataclass(frozen=True)
class ComparisonVectors:
    """Comparison results for candidate pairs: one column per compared field."""

    fields: tuple[str, ...]
    kinds: tuple[Comparison, ...]
    similarity: np.ndarray  # float32 (n_pairs, n_fields), NaN = missing
    levels: np.ndarray  # int8 (n_pairs, n_fields), -1 = missing


def compare(
    prep: PreparedTask, fields: Mapping[str, str], qi: np.ndarray, ri: np.ndarray
) -> ComparisonVectors:
    """Compare every candidate pair on every field (vectorized per field)."""
    names = tuple(fields)
    kinds = tuple(COMPARISONS[fields[f]] for f in names)
    sim = np.empty((len(qi), len(names)), dtype=np.float32)
    lev = np.empty((len(qi), len(names)), dtype=np.int8)
    for j, (f, kind) in enumerate(zip(names, kinds, strict=True)):
        sim[:, j] = kind.similarity(prep, f, qi, ri)
        lev[:, j] = kind.levels(sim[:, j])
    return ComparisonVectors(names, kinds, sim, lev)
