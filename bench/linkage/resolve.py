"""Multiple-hit resolution: which accepted pairs become declared links.

Agencies differ when one query matches several register records:

* ``all``: every accepted pair is a declared link;
* ``best``: only the highest-scoring accepted pair per query (ties: the first register record);
* ``unique-only``: a query is verified only if exactly one register record was accepted.
"""

from __future__ import annotations

import numpy as np

from bench.linkage.stages import stage


def resolve(
    query_row: np.ndarray,
    register_row: np.ndarray,
    score: np.ndarray,
    accept: np.ndarray,
    mode: str,
) -> np.ndarray:
    """Return a boolean mask over the pairs: True where the pair is a declared link."""
    with stage("resolution"):
        accept = np.asarray(accept, dtype=bool)
        if mode == "all":
            return accept.copy()
        idx = np.flatnonzero(accept)
        out = np.zeros(len(accept), dtype=bool)
        if idx.size == 0:
            return out
        q = query_row[idx]
        if mode == "best":
            order = np.lexsort((register_row[idx], -score[idx].astype(np.float64), q))
            first = np.ones(idx.size, dtype=bool)
            first[1:] = q[order][1:] != q[order][:-1]
            out[idx[order[first]]] = True
            return out
        if mode == "unique-only":
            _, inverse, counts = np.unique(q, return_inverse=True, return_counts=True)
            out[idx[counts[inverse] == 1]] = True
            return out
        raise ValueError(f"unknown resolve mode {mode!r}")
