"""Comparison kinds: how two values of a field are compared, as levels and as a similarity.

A comparison maps each candidate pair to an agreement *level* (0 = disagree, higher = stronger
agreement, -1 = missing on either side) for Fellegi-Sunter and supervised models, and to a
*similarity* in [0, 1] for weighted fuzzy scores. New kinds are one entry in ``COMPARISONS``.

A blank value (a numberless dwelling's house number included) is missing here for scored
methods: level -1, which Fellegi-Sunter models treat as no evidence either way. Rules that
require the whole address compare it as agencies do instead, a blank house number equal to a
blank one (the key option ``blank``, :data:`bench.linkage.fields.BLANK_DEFAULTS`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from bench.linkage import kernels
from bench.linkage.fields import JARO_WINKLER, LEVENSHTEIN, PreparedTask, equal, equal_levels
from bench.linkage.stages import stage
from synthetic.errors import ConfigError

#: (task, field, query rows, register rows, floor) -> similarity per pair; with a floor, values
#: below it may be reported as 0 instead of computed (levels are unaffected).
Similarity = Callable[[PreparedTask, str, np.ndarray, np.ndarray, float | None], np.ndarray]
#: (task, field, query rows, register rows, comparison) -> int8 level per pair, the same as
#: the levels of the similarities, found without them (less memory, one pass).
DirectLevels = Callable[[PreparedTask, str, np.ndarray, np.ndarray, "Comparison"], np.ndarray]


@dataclass(frozen=True)
class Comparison:
    """A comparison kind: a similarity function and the thresholds that cut it into levels."""

    name: str
    similarity: Similarity
    cuts: tuple[float, ...]  # ascending; level = number of cuts the similarity reaches
    labels: tuple[str, ...]  # one per level, level 0 first
    #: finds the levels without the similarities (optional; tests check it agrees)
    direct_levels: DirectLevels | None = None

    @property
    def n_levels(self) -> int:
        return len(self.cuts) + 1

    @property
    def float_cuts(self) -> np.ndarray:
        return np.asarray(self.cuts, dtype=np.float32)

    def levels(self, sim: np.ndarray) -> np.ndarray:
        """Cut similarities into int8 levels; NaN (missing) becomes -1."""
        return kernels.levels(sim, self.float_cuts)

    def pair_levels(
        self, prep: PreparedTask, field: str, qi: np.ndarray, ri: np.ndarray
    ) -> np.ndarray:
        """The pairs' int8 levels: ``levels(similarity(..., floor=cuts[0]))``, by
        ``direct_levels`` where the kind has it."""
        if self.direct_levels is not None:
            return self.direct_levels(prep, field, qi, ri, self)
        return self.levels(self.similarity(prep, field, qi, ri, self.cuts[0]))


def _jw(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, floor: float | None) -> np.ndarray:
    return p.similarity(f, JARO_WINKLER, q, r, floor)


def _lev(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, floor: float | None) -> np.ndarray:
    return p.similarity(f, LEVENSHTEIN, q, r, floor)


def _eq(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, floor: float | None) -> np.ndarray:
    return equal(p.field(f), q, r)


def _jw_levels(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, c: Comparison) -> np.ndarray:
    return p.similarity_levels(f, JARO_WINKLER, q, r, c.cuts[0], c.float_cuts)


def _lev_levels(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, c: Comparison) -> np.ndarray:
    return p.similarity_levels(f, LEVENSHTEIN, q, r, c.cuts[0], c.float_cuts)


def _eq_levels(p: PreparedTask, f: str, q: np.ndarray, r: np.ndarray, c: Comparison) -> np.ndarray:
    return equal_levels(p.field(f), q, r)  # one cut, 1.0: equal reaches it


COMPARISONS: dict[str, Comparison] = {
    # Jaro-Winkler cut points 0.80 / 0.92 are Splink's defaults for name fields.
    "name": Comparison(
        "name",
        _jw,
        (0.80, 0.92, 1.0),
        ("jw<0.80", "jw>=0.80", "jw>=0.92", "exact"),
        _jw_levels,
    ),
    # Normalized Levenshtein on 10-character dates: 0.9 is one edit (a typo), 0.7 three edits.
    "date": Comparison(
        "date", _lev, (0.70, 0.90, 1.0), ("other", "2-3 edits", "1 edit", "exact"), _lev_levels
    ),
    "exact": Comparison("exact", _eq, (1.0,), ("different", "exact"), _eq_levels),
}

#: Pairs compared at a time (bounds the temporary memory of a comparison).
CHUNK_PAIRS = 1 << 20

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
    #: float32 (n_pairs, n_fields), NaN = missing; None if only levels were asked for
    similarity: np.ndarray | None
    levels: np.ndarray  # int8 (n_pairs, n_fields), -1 = missing


def compare(
    prep: PreparedTask,
    fields: Mapping[str, str],
    qi: np.ndarray,
    ri: np.ndarray,
    *,
    levels_only: bool = False,
    skip: frozenset[str] = frozenset(),
) -> ComparisonVectors:
    """Compare every candidate pair on every field (vectorized per field).

    ``levels_only`` (models that see only levels): similarities below a comparison's lowest cut
    are not computed, and ``similarity`` is None. Fields in ``skip`` are not compared (level -1,
    as if missing), e.g. the fields a training session was blocked on.
    """
    names = tuple(fields)
    kinds = tuple(COMPARISONS[fields[f]] for f in names)
    # Column-major: each field's column is contiguous, for the threads that write it and for
    # the pattern codes read from it (the values are the same in either order).
    shape = (len(qi), len(names))
    sim = None if levels_only else np.full(shape, np.nan, dtype=np.float32, order="F")
    lev = np.full(shape, -1, dtype=np.int8, order="F")

    def one(j: int, at: slice) -> None:
        kind = kinds[j]
        if sim is None:
            lev[at, j] = kind.pair_levels(prep, names[j], qi[at], ri[at])
            return
        s = kind.similarity(prep, names[j], qi[at], ri[at], None)
        lev[at, j] = kind.levels(s)
        sim[at, j] = s

    todo = [j for j, f in enumerate(names) if f not in skip]
    # Fields are independent and their numpy/rapidfuzz work releases the GIL: compare them in
    # threads (each task writes only its own cells, so the result does not depend on the
    # order). Pairs go in chunks, which bounds the temporary memory to a chunk per thread; every
    # (chunk, field) task is queued at once, so no thread waits for a chunk's slowest field.
    tasks = [(j, slice(a, a + CHUNK_PAIRS)) for a in range(0, len(qi), CHUNK_PAIRS) for j in todo]
    with ThreadPoolExecutor(max_workers=max(1, min(len(tasks), os.cpu_count() or 1))) as pool:
        if tasks:  # code the fields first (cached), once each, so no two chunks code one field
            with stage("field coding"):
                list(pool.map(prep.field, [names[j] for j in todo]))
        with stage("comparisons"):
            list(pool.map(lambda task: one(*task), tasks))
    return ComparisonVectors(names, kinds, sim, lev)
