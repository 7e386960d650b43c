"""numpy operations that numpy has, done another way where its own is slow at our sizes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.extensions import take as pd_take


def unique_ints(values: np.ndarray) -> np.ndarray:
    """The distinct values of an integer array, sorted: what ``np.unique(values)`` returns.

    numpy 2.3 and later find distinct integers with a hash table, which is fast for few distinct
    values but 15 to 20 times slower than a sort for millions of them (5 million distinct int64
    pair keys: 7.3 s against 0.33 s here), and linkrisk's pair keys are millions of distinct
    values. Sorting integers gives the same result whatever algorithm the CPU's numpy uses.
    Other dtypes (floats, whose NaNs np.unique merges) go to ``np.unique``.
    """
    values = np.asarray(values).ravel()
    if values.dtype.kind not in "iub":
        return np.unique(values)
    # Pair keys often come in order already (pairs as the runner writes them): one comparison
    # pass instead of a sort (4.5 million keys: about 5 ms against 300 ms).
    ordered = values.size > 1 and bool(np.all(values[1:] >= values[:-1]))
    out = values if ordered else np.sort(values)
    if out.size > 1:
        keep = np.empty(out.size, dtype=bool)
        keep[0] = True
        np.not_equal(out[1:], out[:-1], out=keep[1:])
        out = out[keep]
    return out


def isin_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.isin(values, rows)`` for row numbers (non-negative integers below a side's size).

    Through a lookup table over the rows' range (``kind="table"``): numpy's own choice sorts
    both arrays when the rows are few but spread over millions, several times slower (1,000 rows
    of 11 million, 300,000 values: 28 ms against 3.3 ms). The answer is the same.
    """
    values, rows = np.asarray(values), np.asarray(rows)
    if values.size == 0 or rows.size == 0:
        return np.zeros(values.shape, dtype=bool)
    return np.isin(values, rows, kind="table")


#: Values :func:`isin_sorted` searches at a time.
SEARCH_CHUNK = 1 << 22


def isin_sorted(values: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """``np.isin(values, keys)`` for ``keys`` sorted and distinct (:func:`unique_ints`): a
    binary search of each value, without sorting a copy of both (np.isin's way for int64 keys
    spread wide, several GB for the real size's 156 million pair keys)."""
    values, keys = np.asarray(values), np.asarray(keys)
    out = np.zeros(values.shape, dtype=bool)
    if values.size == 0 or keys.size == 0:
        return out
    flat, found = values.ravel(), out.ravel()
    for lo in range(0, flat.size, SEARCH_CHUNK):  # positions a chunk at a time: 8 bytes a value
        part = flat[lo : lo + SEARCH_CHUNK]
        at = np.searchsorted(keys, part)
        np.minimum(at, keys.size - 1, out=at)
        np.equal(keys[at], part, out=found[lo : lo + SEARCH_CHUNK])
    return out


def found_at(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The positions in ``keys`` (sorted, distinct) of the ``values`` they hold, in the values'
    order (ascending for sorted values): a binary search of each value."""
    keys, values = np.asarray(keys), np.asarray(values)
    if keys.size == 0 or values.size == 0:
        return np.zeros(0, dtype=np.intp)
    at = np.searchsorted(keys, values)
    inside = at < keys.size
    at = at[inside]
    return at[keys[at] == values[inside]]


def mark_sorted(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.isin(keys, values)`` for ``keys`` sorted and distinct and ``values`` few: each value
    searched among the keys and its place marked, so nothing of the keys' size is made but the
    answer (131 million declared links against 213,615 true ones at the real size)."""
    out = np.zeros(np.shape(keys), dtype=bool)
    out[found_at(keys, values)] = True
    return out


def unique_pairs(
    q: np.ndarray, r: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (q, r) pairs of non-negative integers with ``r < width``, sorted by q then r,
    and their keys ``q * width + r`` (also sorted)."""
    keys = unique_ints(np.asarray(q, dtype=np.int64) * width + r)
    return keys // width, keys % width, keys


def take_rows(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values.take(rows)`` for a 1-d array: the same objects, dtype and errors.

    Through pandas' typed gather: numpy's take of an object array copies each reference through
    a generic per-item routine, about twice as slow (360,000 of 1 million strings: ~15 ms
    against ~27 ms; a block's register draw gathers some 40 such columns). Negative positions
    (numpy counts them from the end; pandas would fill -1) go to numpy.
    """
    rows = np.asarray(rows)
    if rows.size and rows.min() < 0:
        return values.take(rows)
    return np.asarray(pd_take(values, rows, allow_fill=True))


def positions_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``pd.Index(ids).get_indexer(wanted)``: the position of each wanted id in ``ids`` (unique),
    -1 where absent.

    By binary search when ``ids`` increase (address ids do: a pool is consecutive blocks of
    consecutive ids): no hash table over the pool, which at the real size holds ~130 million
    addresses (gigabytes, and seconds, for a million look-ups). Other ids go to pandas.
    """
    ids, wanted = np.asarray(ids), np.asarray(wanted)
    if ids.dtype.kind not in "iu" or wanted.dtype.kind not in "iu" or ids.size == 0:
        return pd.Index(ids).get_indexer(wanted)
    if not bool(np.all(ids[1:] > ids[:-1])):
        return pd.Index(ids).get_indexer(wanted)
    at = np.searchsorted(ids, wanted)
    found = ids[np.minimum(at, ids.size - 1)] == wanted
    return np.where(found, at, -1).astype(np.intp)
