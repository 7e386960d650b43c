"""Which false matches of a method are attributed to a cause: all of them, or a seeded sample.

Attributing a false match reads the people behind its register record. A lax rule at the real
size declares over a hundred million false links over tens of millions of register records,
whose people would not fit in memory; every other method has at most a few hundred thousand.
So a method with more than :data:`ATTRIBUTED_FALSE_MATCHES` distinct false matches has a simple
random sample of exactly that many attributed, drawn without replacement over its false matches
in (query_row, register_row) order, seeded by the method's name alone
(:func:`attribution_seed`): the run (which keeps the people of the sampled register records)
and the report (which attributes them) draw the same sample from ``raw/``, on any machine.

The cause tables then give, for such a method, estimated counts: each count of the sample
scaled by F / n (F false matches, n sampled), with a 95% Wilson interval on the sampled share
times F (:func:`estimate`, :func:`scaled_partition`). Sampling is without replacement, so the
binomial interval is conservative (it ignores the finite-population correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.measurement.uncertainty import wilson
from synthetic.arrays import found_at, unique_ints
from synthetic.rng import stable_hash

#: The most false matches of one method that are attributed one by one; a method with more has
#: a seeded sample of exactly this many attributed. Above the largest published method's
#: false matches (about 1.33 million), so every published result is attributed in full.
ATTRIBUTED_FALSE_MATCHES = 2_000_000


@dataclass(frozen=True)
class AttributedFalseMatches:
    """The distinct false matches of a method that are attributed, sorted by (query_row,
    register_row): all ``total`` of them, or a sample (:attr:`sampled`)."""

    query_row: np.ndarray
    register_row: np.ndarray
    #: F: the method's distinct false matches (declared links not in the truth).
    total: int

    def __len__(self) -> int:
        return len(self.query_row)

    @property
    def sampled(self) -> bool:
        """Whether only a sample of the false matches is attributed (counts are estimates)."""
        return len(self) < self.total


def attribution_seed(name: str) -> int:
    """The seed of method ``name``'s sample of false matches: from its name only, so that it
    is the same at run time and at report time, for every run of the method."""
    return stable_hash(f"attribution:{name}")


def pair_arrays(
    links: pd.DataFrame | tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """The query and register rows of pairs (a frame with those columns, or two arrays), int64."""
    if isinstance(links, pd.DataFrame):
        q, r = links["query_row"], links["register_row"]
    else:
        q, r = links
    return np.asarray(q, dtype=np.int64), np.asarray(r, dtype=np.int64)


def attributed_false_matches(
    name: str,
    links: pd.DataFrame | tuple[np.ndarray, np.ndarray],
    truth: pd.DataFrame | tuple[np.ndarray, np.ndarray],
    bound: int | None = None,
) -> AttributedFalseMatches:
    """The distinct false matches (``links`` not in ``truth``; repeated links count once) of
    method ``name`` that are attributed: all of them when there are at most ``bound`` (default
    :data:`ATTRIBUTED_FALSE_MATCHES`), else a simple random sample without replacement of
    exactly ``bound``, seeded by :func:`attribution_seed` over the false matches in sorted
    (query_row, register_row) order. The answer depends on the set of links only, not on their
    order or on the register's size.

    Memory: one int64 key per link and a byte per link, then a few per chosen pair; no
    permutation of every false match.
    """
    bound = ATTRIBUTED_FALSE_MATCHES if bound is None else int(bound)
    if bound < 1:
        raise ValueError(f"bound must be at least 1, got {bound}")
    q, r = pair_arrays(links)
    tq, tr = pair_arrays(truth)
    # Keys q * width + r sort as (q, r) for any width above every register row: the order, and
    # so the sample, does not depend on the width chosen.
    width = max(int(r.max(initial=-1)), int(tr.max(initial=-1))) + 1
    keys = q * width
    keys += r
    keys.sort()  # in place: a sorted copy would be another GB at the real size
    if len(keys) > 1:
        new = keys[1:] != keys[:-1]
        if not new.all():  # repeated links count once
            keys = keys[np.concatenate(([True], new))]
    tkeys = unique_ints(tq * width + tr)
    # The true links among the sorted keys, by binary search of the (few) true keys: np.isin
    # would sort a copy of every key.
    true_at = found_at(keys, tkeys)  # ascending positions of the declared true links
    total = len(keys) - len(true_at)
    if total <= bound:
        ranks = np.arange(total, dtype=np.int64)
    else:
        rng = np.random.default_rng(attribution_seed(name))
        # Floyd's algorithm inside numpy for a small share: memory of the sample's size only
        ranks = np.sort(rng.choice(total, bound, replace=False))
    # The j-th false key sits at j plus the number of true keys before it: true position i
    # (ascending) has true_at[i] - i false keys before it.
    pos = ranks + np.searchsorted(true_at - np.arange(len(true_at)), ranks, side="right")
    chosen = keys[pos]
    return AttributedFalseMatches(chosen // width, chosen % width, int(total))


def _shares(k: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = wilson(np.asarray(k, dtype=np.float64), float(n))
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def estimate(k: np.ndarray, n: int, total: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of ``total`` estimated from counts ``k`` in a simple random sample of ``n`` of
    them: ``(point, lo, hi)``, integers. Point: k * total / n rounded half up; interval: the
    95% Wilson interval of k / n times ``total``, widened to whole numbers (lo down, hi up).
    With ``n == total`` (nothing sampled) all three are ``k``."""
    k = np.asarray(k, dtype=np.int64)
    if n == total:
        return k.copy(), k.copy(), k.copy()
    num = [int(x) * int(total) for x in k.tolist()]  # exact: Python integers
    point = np.array([(2 * x + n) // (2 * n) for x in num], dtype=np.int64)
    lo, hi = _shares(k, n)
    return point, _floor(lo * total, k == 0, 0), _ceil(hi * total, k == n, total)


def scaled_partition(
    k: np.ndarray, n: int, total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """As :func:`estimate`, for counts ``k`` that partition the sample (they sum to ``n``): the
    points by largest remainder, so that they sum to ``total`` exactly (ties: the first)."""
    k = np.asarray(k, dtype=np.int64)
    point, lo, hi = estimate(k, n, total)
    if n == total or int(k.sum()) != n:
        return point, lo, hi
    num = [int(x) * int(total) for x in k.tolist()]
    floor = np.array([x // n for x in num], dtype=np.int64)
    rest = np.array([x % n for x in num], dtype=np.int64)
    extra = int(total) - int(floor.sum())
    order = np.argsort(-rest, kind="stable")[:extra]
    floor[order] += 1
    return floor, np.minimum(lo, floor), np.maximum(hi, floor)


def _floor(x: np.ndarray, exact: np.ndarray, value: int) -> np.ndarray:
    out = np.floor(x).astype(np.int64)
    out[exact] = value  # Wilson is exact at the boundary; keep the product from rounding off it
    return out


def _ceil(x: np.ndarray, exact: np.ndarray, value: int) -> np.ndarray:
    out = np.ceil(x).astype(np.int64)
    out[exact] = value
    return out


def sampled_methods(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Method -> (sampled, of) of each method whose rows of ``table`` (a cause or match table
    with ``method``, ``sampled`` and ``of`` columns, or without them: none) are estimates."""
    if not {"sampled", "of"} <= set(table.columns):
        return {}
    first = table.drop_duplicates("method")
    return {
        str(rec["method"]): (int(rec["sampled"]), int(rec["of"]))
        for rec in first.to_dict("records")
        if int(rec["sampled"]) < int(rec["of"])
    }


def sample_sentence(method: str, sampled: int, total: int) -> str:
    """The report's sentence for a method whose false matches are attributed from a sample."""
    return (
        f"Causes of {method}'s {total:,} false matches are estimated from a random sample of "
        f"{sampled:,} of them (seeded; 95% intervals)."
    )


__all__ = [
    "ATTRIBUTED_FALSE_MATCHES",
    "AttributedFalseMatches",
    "attributed_false_matches",
    "attribution_seed",
    "estimate",
    "pair_arrays",
    "sample_sentence",
    "sampled_methods",
    "scaled_partition",
]
