"""Blocking: candidate pairs for scored methods, as the union of several exact-key passes.

Each pass is a list of key conditions (the same ``{field, compare}`` keys rules use); a pair is a
candidate if it agrees on every key of at least one pass. True links that no pass proposes are
*blocking loss*, reported apart from links the model scored wrongly (as Splink's accuracy tools do).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.fields import PreparedTask, combine, join, validate_key
from synthetic.errors import ConfigError

Key = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Candidates:
    """Candidate pairs proposed by blocking, as aligned int64 row arrays."""

    query_row: np.ndarray
    register_row: np.ndarray

    def __len__(self) -> int:
        return len(self.query_row)


DEFAULT_MAX_PAIRS = 50_000_000


def validate_blocking(spec: Any, where: str) -> list[list[Key]]:
    """Validate ``[blocking] passes = [[{field, compare}, ...], ...]``."""
    if not isinstance(spec, dict):
        raise ConfigError(where, "must be a table with `passes`")
    for key in spec:
        if key != "passes":
            raise ConfigError(f"{where}.{key}", "unknown key (allowed: passes)")
    passes = spec.get("passes")
    if not isinstance(passes, list) or not passes:
        raise ConfigError(f"{where}.passes", "must be a non-empty list of passes")
    out = []
    for i, keys in enumerate(passes):
        w = f"{where}.passes[{i}]"
        if not isinstance(keys, list) or not keys:
            raise ConfigError(w, "a pass must be a non-empty list of {field, compare} keys")
        out.append(
            [
                validate_key(k, f"{w}[{j}]") if isinstance(k, dict) else _bad(w, j)
                for j, k in enumerate(keys)
            ]
        )
    return out


def _bad(where: str, j: int) -> Key:
    raise ConfigError(f"{where}[{j}]", "a key must be a table like {field = ..., compare = ...}")


def block(
    prep: PreparedTask, passes: Sequence[Sequence[Key]], max_pairs: int = DEFAULT_MAX_PAIRS
) -> tuple[Candidates, list[int]]:
    """Union of the passes' joins, deduplicated and sorted; also each pass's own pair count."""
    codes, per_pass = [], []
    for i, keys in enumerate(passes):
        coded = [prep.key(field, compare, **params) for field, compare, params in keys]
        try:
            qi, ri = join(*combine(coded), max_pairs=max_pairs)
        except ConfigError as exc:
            raise ConfigError(f"blocking pass {i + 1}", exc.problem) from None
        per_pass.append(len(qi))
        codes.append(qi * prep.n_register + ri)
    pair = np.unique(np.concatenate(codes)) if codes else np.zeros(0, dtype=np.int64)
    return Candidates(pair // prep.n_register, pair % prep.n_register), per_pass
