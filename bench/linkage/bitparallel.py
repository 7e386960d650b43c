"""Levenshtein distances of many value pairs at once: Hyyrö's bit-parallel algorithm in numpy.

rapidfuzz computes one pair per call of its C++ kernel; for short values most of that time is
spent taking each Python string apart. Here the distinct values of a field are taken apart once
(a character-class matrix and, per value, the bit mask of each class's positions), and every step
of the algorithm runs over a chunk of pairs as a few integer array operations. The distance is
an integer computed exactly (no floating point), so the result is the same on any CPU and equal
to rapidfuzz's (``tests/test_fields.py::test_batch_scorer_equals_rapidfuzz_bit_for_bit``).

Reference: H. Hyyrö, "A bit-vector algorithm for computing Levenshtein and Damerau edit
distances", Nordic Journal of Computing 10 (2003), after G. Myers, J. ACM 46 (1999); rapidfuzz's
``levenshtein_hyrroe2003`` is the same recurrence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Longest value the 64-bit masks hold; a field with a longer value is left to rapidfuzz.
MAX_LENGTH = 64
#: Largest mask table (distinct values x character classes x 8 bytes) built for a field.
MAX_TABLE_BYTES = 1 << 26
#: Pairs per step of the recurrence (its temporaries stay in the CPU's caches).
CHUNK = 1 << 15

_ONE = np.uint64(1)


@dataclass(frozen=True)
class Spelled:
    """A field's distinct values taken apart for :func:`levenshtein`."""

    chars: np.ndarray  # uint8 (n_values, width): character class per position, 0 past the end
    length: np.ndarray  # int16 (n_values,)
    masks: np.ndarray  # uint64 (n_values * n_classes,): positions of each class in each value
    n_classes: int


def ascii_bytes(values: np.ndarray) -> np.ndarray | None:
    """Distinct string values as a uint8 matrix (one row a value, zero-padded to the longest);
    None if a value is not ASCII (normalized values always are)."""
    try:
        fixed = np.array(list(values), dtype="S")
    except UnicodeEncodeError:
        return None
    width = max(fixed.dtype.itemsize, 1)
    if not len(fixed):
        return np.zeros((0, width), np.uint8)
    return fixed.view(np.uint8).reshape(len(fixed), fixed.dtype.itemsize)


def spell(values: np.ndarray) -> Spelled | None:
    """Take distinct values apart; None where the kernel does not apply (a value that is not
    ASCII or longer than :data:`MAX_LENGTH`, or a mask table above :data:`MAX_TABLE_BYTES`)."""
    raw = ascii_bytes(values)
    if raw is None or raw.shape[1] > MAX_LENGTH:
        return None
    n, width = raw.shape
    length = (raw != 0).sum(axis=1).astype(np.int16)
    used = np.unique(raw)  # byte values present, 0 (the padding) among them if any value is short
    classes = np.zeros(256, dtype=np.uint8)
    classes[used[used != 0]] = np.arange(1, int((used != 0).sum()) + 1, dtype=np.uint8)
    n_classes = int((used != 0).sum()) + 1  # class 0: past the end of a value
    if n * n_classes * 8 > MAX_TABLE_BYTES:
        return None
    chars = classes[raw]
    masks = np.zeros((n, n_classes), dtype=np.uint64)
    rows = np.arange(n)
    for i in range(width):  # loops over positions, not values
        masks[rows, chars[:, i]] |= _ONE << np.uint64(i)
    masks[:, 0] = 0  # the padding matches nothing
    return Spelled(chars, length, masks.ravel(), n_classes)


def levenshtein(sp: Spelled, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Levenshtein distance (insertions, deletions, substitutions, each 1) of value ``a[k]``
    and value ``b[k]`` for every k, as int16."""
    out = np.empty(len(a), dtype=np.int16)
    for start in range(0, len(a), CHUNK):
        at = slice(start, start + CHUNK)
        out[at] = _chunk(sp, a[at], b[at])
    return out


def _chunk(sp: Spelled, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Value a is the pattern (one bit per position, up to 64); b's characters are read in turn.
    m = sp.length[a].astype(np.uint64)
    nb = sp.length[b]
    dist = m.astype(np.int16)
    top = np.where(m > 0, _ONE << (np.maximum(m, _ONE) - _ONE), np.uint64(0))  # last position
    vp = np.where(m > 0, (top - _ONE) | top, np.uint64(0))  # all m low bits set
    vn = np.zeros(len(a), dtype=np.uint64)
    base = a.astype(np.intp) * sp.n_classes
    chars = sp.chars[b]  # (pairs, width): b's character classes
    ragged = bool(len(nb)) and int(nb.min()) != int(nb.max())
    x, d0, hp, hn = (np.empty(len(a), dtype=np.uint64) for _ in range(4))
    for j in range(int(nb.max(initial=0))):
        np.take(sp.masks, base + chars[:, j], out=x)
        x |= vn
        np.bitwise_and(x, vp, out=d0)
        d0 += vp
        d0 ^= vp
        d0 |= x  # D0 = (((X & VP) + VP) ^ VP) | X
        np.bitwise_or(d0, vp, out=hp)
        np.invert(hp, out=hp)
        hp |= vn  # HP = VN | ~(D0 | VP)
        np.bitwise_and(d0, vp, out=hn)  # HN = D0 & VP
        step = (hp & top != 0).view(np.int8).astype(np.int16)
        step -= (hn & top != 0).view(np.int8)
        hp <<= _ONE
        hp |= _ONE
        hn <<= _ONE
        if ragged:  # pairs whose b has ended keep their state
            live = nb > j
            step *= live
            new_vp = np.where(live, hn | ~(d0 | hp), vp)
            vn = np.where(live, hp & d0, vn)
            vp = new_vp
        else:
            np.bitwise_or(d0, hp, out=vp)
            np.invert(vp, out=vp)
            vp |= hn  # VP = HN | ~(D0 | HP)
            np.bitwise_and(hp, d0, out=vn)  # VN = HP & D0
        dist += step
    # An empty pattern: the distance is b's length (the recurrence never moves it from 0).
    return np.where(m == 0, nb, dist)
