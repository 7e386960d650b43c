"""Independent, named random streams.

Every component draws from its own stream, derived from the scenario seed and the component's
name(s). Adding, removing or reordering a component therefore never shifts the random numbers of
the others (the pseudopeople design): a new noise type does not change which cells the old ones hit.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_hash(name: str) -> int:
    """A 64-bit hash of ``name`` that is the same on every platform and Python run."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


def stream(seed: int, *names: str) -> np.random.Generator:
    """Return the random generator for the component identified by ``names`` under ``seed``."""
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng(np.random.SeedSequence([seed, *(stable_hash(n) for n in names)]))
