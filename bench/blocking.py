"""Blocking: candidate pairs for scored methods, as the union of several exact-key passes.

Each pass is a list of key conditions (the same ``{field, compare}`` keys rules use); a pair is a
candidate if it agrees on every key of at least one pass. True links that no pass proposes are
*blocking loss*, reported apart from links the model scored wrongly (as Splink's accuracy tools do).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from bench.fields import PreparedTask, combine, join, validate_key
from synthetic.errors import ConfigError

Key = tuple[str, str, dict[str, Any]]
T = TypeVar("T")


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
    return validate_passes(spec.get("passes"), f"{where}.passes", _validate_key_table)


def validate_passes(passes: Any, where: str, item: Callable[[Any, str], T]) -> list[list[T]]:
    """Validate a non-empty list of passes, each a non-empty list of items checked by ``item``."""
    if not isinstance(passes, list) or not passes:
        raise ConfigError(where, "must be a non-empty list of passes")
    out = []
    for i, entries in enumerate(passes):
        w = f"{where}[{i}]"
        if not isinstance(entries, list) or not entries:
            raise ConfigError(w, "a pass must be a non-empty list of {field = ..., ...} tables")
        out.append([item(entry, f"{w}[{j}]") for j, entry in enumerate(entries)])
    return out


def _validate_key_table(key: Any, where: str) -> Key:
    if not isinstance(key, dict):
        raise ConfigError(where, "a key must be a table like {field = ..., compare = ...}")
    return validate_key(key, where)


def block(
    prep: PreparedTask, passes: Sequence[Sequence[Key]], max_pairs: int = DEFAULT_MAX_PAIRS
) -> tuple[Candidates, list[int]]:
    """Union of the passes' joins, deduplicated and sorted; also each pass's own pair count.

    A pair proposed by an earlier pass is dropped from later ones (checked on the integer keys,
    as Splink does), so the union needs no hashing, only a merge of sorted runs.
    """
    codes, per_pass, earlier = [], [], []
    for i, keys in enumerate(passes):
        coded = [prep.key(field, compare, **params) for field, compare, params in keys]
        kq, kr = combine(coded)
        try:
            qi, ri = join(kq, kr, max_pairs=max_pairs)
        except ConfigError as exc:
            raise ConfigError(f"blocking pass {i + 1}", exc.problem) from None
        per_pass.append(len(qi))
        new = np.ones(len(qi), dtype=bool)
        for pq, pr in earlier:
            a = pq[qi]
            new &= (a < 0) | (a != pr[ri])
        codes.append(qi[new] * prep.n_register + ri[new])
        earlier.append((kq, kr))
    # Each pass's pairs are sorted (join's order), so the stable sort only merges the runs.
    pair = np.sort(np.concatenate(codes), kind="stable") if codes else np.zeros(0, np.int64)
    return Candidates(pair // prep.n_register, pair % prep.n_register), per_pass
