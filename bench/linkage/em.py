"""Fellegi-Sunter model fitted by EM on the counts of distinct comparison patterns.

Candidate pairs are summarised by their comparison vector (one agreement level per field); the
EM works on the few hundred distinct vectors and their counts, as fastLink does, not on pairs.
Fields are assumed conditionally independent given match status (the standard FS assumption);
a missing comparison (-1) contributes no evidence.

Logarithms and exponentials are :mod:`synthetic.precision`'s (decimal arithmetic), not numpy's
SIMD kernels, which differ in the last bit from one CPU to another: the fitted m and u, and the
scores, must not depend on the machine. They are computed once per distinct pattern or level
(hundreds per iteration), so this costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.linkage.kernels import pattern_codes
from synthetic.precision import (
    exp2_array,
    exp10_array,
    exp_array,
    log,
    log1p,
    log2,
    log2_array,
    log_array,
)

_EPS = 1e-9


@dataclass(frozen=True)
class Patterns:
    """Distinct comparison vectors, their counts, and which one each pair has."""

    levels: np.ndarray  # int8 (n_patterns, n_fields)
    counts: np.ndarray  # int64 (n_patterns,)
    code: np.ndarray  # (n_pairs,) each pair's code, an index of ``of_code``
    of_code: np.ndarray  # int64: pattern index of each code

    def per_pair(self, values: np.ndarray) -> np.ndarray:
        """A value per pattern, gathered to each pair: ``values[pattern of pair]``."""
        return values[self.of_code][self.code]

    def pair_levels(self, at: np.ndarray) -> np.ndarray:
        """The levels (n, fields) of the pairs at positions ``at``."""
        return self.levels[self.of_code[self.code[at]]]


#: Distinct codes at most for which patterns are counted in a table (no hashing).
TABLE_CODES = 1 << 22


def patterns(levels: np.ndarray) -> Patterns:
    """Group pairs by comparison vector (mixed-radix code of the levels, in sorted order)."""
    levels = levels.astype(np.int8, copy=False)
    n, f = levels.shape
    radix = int(levels.max(initial=0)) + 2  # levels -1..max shifted to 0..max+1
    size = radix**f
    # This runs over every candidate pair: narrow codes, no temporaries, and where few vectors
    # are possible (nearly always), a table instead of hashing and no index array per pair.
    if size <= TABLE_CODES:  # codes and their counts in one compiled pass over the pairs
        code: np.ndarray = np.empty(n, dtype=_code_type(size))
        return _from_table(code, pattern_codes(levels, radix, code, size), radix, f)
    ctype = _code_type(size)
    code = np.zeros(n, dtype=ctype)
    for j in range(f):
        code *= ctype(radix)
        code += levels[:, j]  # -1..max: the offset below makes every digit 0..max+1
    code += ctype(sum(radix**k for k in range(f)))
    inverse, uniq = pd.factorize(code, sort=True)
    counts = np.bincount(inverse, minlength=len(uniq)).astype(np.int64)
    return Patterns(_digits(uniq, radix, f), counts, inverse, np.arange(len(uniq)))


def sliced_patterns(
    n: int, n_levels: list[int], levels_of: Callable[[slice], np.ndarray], step: int
) -> Patterns:
    """:func:`patterns` of ``n`` pairs' levels, asking ``levels_of`` for them a slice of
    ``step`` pairs at a time (fields with ``n_levels`` levels each): only a slice's levels are
    held, besides a code per pair (at the real size, 156 million candidates' levels take over a
    gigabyte, their codes a quarter of it). The same patterns, in the same order, with the
    same counts: a fixed radix that any level fits keeps the codes' order, and counts add up
    over slices. Where the codes do not fit a table, every slice is gathered and grouped at
    once, as :func:`patterns` does."""
    f = len(n_levels)
    radix = max(n_levels, default=0) + 1  # levels -1..k-1 as digits 0..k
    size = radix**f
    if size > TABLE_CODES:
        parts = [levels_of(slice(a, min(a + step, n))) for a in range(0, n, step)]
        return patterns(np.concatenate(parts) if parts else np.zeros((0, f), np.int8))
    code = np.empty(n, dtype=_code_type(size))
    seen = np.zeros(size, dtype=np.int64)
    for a in range(0, n, step):
        at = slice(a, min(a + step, n))
        seen += pattern_codes(levels_of(at), radix, code[at], size)
    return _from_table(code, seen, radix, f)


def _code_type(size: int) -> type[np.integer]:
    return np.int16 if size < 1 << 15 else np.int32 if size < 1 << 31 else np.int64


def _from_table(code: np.ndarray, seen: np.ndarray, radix: int, f: int) -> Patterns:
    """Patterns of pairs with table codes ``code`` and each code's count ``seen``."""
    uniq = np.flatnonzero(seen)
    of_code = np.zeros(len(seen), dtype=np.int64)
    of_code[uniq] = np.arange(len(uniq))
    return Patterns(_digits(uniq, radix, f), seen[uniq].astype(np.int64), code, of_code)


def _digits(uniq: np.ndarray, radix: int, f: int) -> np.ndarray:
    """Each code's levels (its mixed-radix digits, less one)."""
    digits = np.empty((len(uniq), f), dtype=np.int8)
    rest = np.asarray(uniq, dtype=np.int64).copy()
    for j in range(f - 1, -1, -1):
        digits[:, j] = rest % radix - 1
        rest //= radix
    return digits


@dataclass(frozen=True)
class FSModel:
    """Fitted parameters: match proportion, m and u probabilities per field and level."""

    lam: float
    m: list[np.ndarray]
    u: list[np.ndarray]
    iterations: int
    converged: bool

    def log2_bayes_factor(self, levels: np.ndarray) -> np.ndarray:
        """Sum over fields of log2(m/u) for each row of ``levels`` (missing adds 0)."""
        out = np.zeros(len(levels))
        for j, (m, u) in enumerate(zip(self.m, self.u, strict=True)):
            lv = levels[:, j]
            w = log2_array(m / u)
            out += np.where(lv >= 0, w[np.clip(lv, 0, None)], 0.0)
        return out

    def match_probability(self, levels: np.ndarray) -> np.ndarray:
        """Posterior probability of a match for each comparison vector."""
        prior = log2(self.lam / (1 - self.lam))
        weight = prior + self.log2_bayes_factor(levels)
        return 1.0 / (1.0 + exp2_array(-np.clip(weight, -1000, 1000)))


def level_frequencies(levels: np.ndarray, n_levels: list[int]) -> list[np.ndarray]:
    """Per field, the share of each level among non-missing comparisons (floored, normalised)."""
    out = []
    for j, n in enumerate(n_levels):
        lv = levels[:, j]  # counted level by level: no copy of the column (-1, missing: not)
        counts = np.array([np.count_nonzero(lv == v) for v in range(n)], dtype=np.int64)
        out.append(_normalise(counts))
    return out


def fit_em(
    pat: Patterns,
    n_levels: list[int],
    *,
    fixed_u: list[np.ndarray] | None = None,
    active: list[bool] | None = None,
    max_iter: int = 500,
    tol: float = 1e-7,
    lam0: float = 0.05,
) -> FSModel:
    """Estimate (lambda, m, u) by EM on pattern counts.

    ``fixed_u`` holds u (e.g. estimated on random pairs) instead of estimating it; ``active``
    marks the fields used (a field the pairs were blocked on carries no information there and is
    left out, as in Splink's training sessions). Without ``fixed_u``, u starts from the level
    frequencies of all pairs (nearly all non-matches). m starts concentrated on the highest
    level, which breaks the label symmetry of the mixture.
    """
    lv, counts = pat.levels, pat.counts.astype(np.float64)
    f = lv.shape[1]
    active = active if active is not None else [True] * f
    # Per field, each pattern's level, or n_levels (a bin left out) where missing or inactive.
    # Sums per level are np.bincount's (in pattern order), not a BLAS product: OpenBLAS picks
    # its kernels, and so its order of addition, by the CPU.
    codes = []
    for j, n in enumerate(n_levels):
        ok = (lv[:, j] >= 0) & active[j]
        codes.append(np.where(ok, lv[:, j], n).astype(np.intp))

    def per_level(weights: np.ndarray) -> list[np.ndarray]:
        """Per field, the sum of ``weights`` over the patterns at each level."""
        return [
            np.bincount(c, weights=weights, minlength=n + 1)[:n]
            for c, n in zip(codes, n_levels, strict=True)
        ]

    u = fixed_u if fixed_u is not None else [_normalise(x) for x in per_level(counts)]
    m = [_normalise(_geometric(n)) for n in n_levels]

    def log_probability(probs: list[np.ndarray]) -> np.ndarray:
        """Per pattern, the sum over fields of the log probability of its level (0 where
        missing or inactive)."""
        logs = [np.append(log_array(p), 0.0)[c] for p, c in zip(probs, codes, strict=True)]
        return sum(logs, np.zeros(len(lv)))  # field by field, in order

    log_u = log_probability(u)  # fixed u: its logs once
    lam = lam0
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is reported
        # E-step: posterior match probability of each pattern.
        log_m = log_probability(m)
        logit = log(lam) - log1p(-lam) + log_m - log_u
        g = 1.0 / (1.0 + exp_array(-np.clip(logit, -700, 700)))
        # M-step on the counts.
        wm, wu = counts * g, counts * (1 - g)
        new_lam = float(np.clip(wm.sum() / counts.sum(), _EPS, 1 - _EPS))
        new_m = [_normalise(x) for x in per_level(wm)]
        new_u = u if fixed_u is not None else [_normalise(x) for x in per_level(wu)]
        delta = max(
            abs(new_lam - lam),
            *(np.abs(a - b).max() for a, b in zip(new_m + new_u, m + u, strict=True)),
        )
        lam, m = new_lam, new_m
        if fixed_u is None:
            u, log_u = new_u, log_probability(new_u)
        if delta < tol:
            converged = True
            break
    return FSModel(lam, m, u, it, converged)


def _geometric(n: int) -> np.ndarray:
    """``n`` values from 0.01 to 1 in geometric steps (``np.geomspace(0.01, 1.0, n)``), as
    correctly rounded powers of 10 (numpy's ``power`` takes CPU-specific SIMD paths)."""
    return exp10_array(np.linspace(-2.0, 0.0, n))


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.maximum(x, _EPS)
    return x / x.sum()


def full_space_lambda(
    bayes_factor: np.ndarray, n_pairs_total: int, lam0: float, counts: np.ndarray | None = None
) -> float:
    """Share of matches among *all* record pairs, by EM over the full pair space.

    Pairs outside ``bayes_factor`` (not candidates) are taken as non-matches (posterior ~ 0),
    so the fixed point is lambda = sum of candidate posteriors / all pairs. ``counts`` weighs
    each entry (the number of candidates with that comparison pattern).
    """
    weight = np.ones(len(bayes_factor)) if counts is None else counts.astype(np.float64)
    lam = lam0
    for _ in range(200):
        post = lam * bayes_factor / (lam * bayes_factor + 1 - lam)
        new = float(np.clip(post @ weight / n_pairs_total, _EPS * _EPS, 1 - _EPS))
        if abs(new - lam) <= 1e-9 * lam:
            return new
        lam = new
    return lam
