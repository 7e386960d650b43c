"""The Fellegi-Sunter method's links on a fixed scenario are frozen.

Speed work on the linkage core (coding, blocking, comparisons, EM, scoring) must give the same
links. The expected links were written by the implementation before that work; to refreeze after
an intended change of the model, run this file with ``LINKRISK_REFREEZE=1`` and say why in the
commit.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.linkage.blocking import block
from bench.linkage.config import load_benchmark
from bench.linkage.fields import PreparedTask
from bench.linkage.methods import METHODS
from bench.linkage.resolve import resolve
from synthetic.scenario import build_task

DATA = Path(__file__).parent / "data"
EXPECTED = DATA / "fs-regression-links.csv"


def _links() -> pd.DataFrame:
    bench = load_benchmark(str(DATA / "fs-regression.toml"))
    task = build_task(bench.scenario, bench.scenario.seed)
    prep = PreparedTask(task, bench.scenario.seed)
    cands, _ = block(prep, bench.blocking)
    cls = METHODS["fellegi-sunter"]
    method = cls("fellegi-sunter", cls.validate({}, "fs"), "best")
    s = method.score(prep, cands)
    link = resolve(s.query_row, s.register_row, s.score, s.accept, "best")
    return pd.DataFrame({"query_row": s.query_row[link], "register_row": s.register_row[link]})


def test_fellegi_sunter_links_unchanged() -> None:
    got = _links()
    if os.environ.get("LINKRISK_REFREEZE"):
        got.to_csv(EXPECTED, index=False, lineterminator="\n")
    expected = pd.read_csv(EXPECTED)
    assert len(got) > 1000  # a real workload: many links, some of them wrong
    assert np.array_equal(got.to_numpy(), expected.to_numpy())


def test_training_sessions_take_candidate_levels_as_comparisons_give_them() -> None:
    """A training session takes the levels of pairs that are candidates from the candidates'
    comparisons, and compares the others: the same levels as comparing every pair."""
    from bench.linkage.comparisons import compare
    from bench.linkage.em import patterns
    from bench.linkage.methods.fellegi_sunter import _session_levels

    bench = load_benchmark(str(DATA / "fs-regression.toml"))
    task = build_task(bench.scenario, bench.scenario.seed)
    prep = PreparedTask(task, bench.scenario.seed)
    cands, _ = block(prep, bench.blocking)
    fields = {"first_name": "name", "last_name": "name", "dob": "date", "zip": "exact"}
    vec = compare(prep, fields, cands.query_row, cands.register_row, levels_only=True)
    sq, sr = prep.key_index([("zip", "exact", {})]).pairs()  # mostly not candidates
    skip = frozenset({"zip"})
    got = _session_levels(prep, fields, sq, sr, skip, (cands, patterns(vec.levels)))
    expected = compare(prep, fields, sq, sr, levels_only=True, skip=skip).levels
    assert np.array_equal(got, expected)
    key = cands.query_row * prep.n_register + cands.register_row
    shared = np.isin(sq * prep.n_register + sr, key)
    assert 0 < shared.sum() < len(sq)  # some pairs of each kind


@pytest.mark.parametrize("fields", [4, 12])  # codes in a table; too many codes for one
@pytest.mark.parametrize("step", [1, 7, 500, 5000])
def test_patterns_of_slices_are_the_patterns_of_all_pairs(fields: int, step: int) -> None:
    """Fellegi-Sunter compares its candidates a slice at a time: their patterns, counts and each
    pair's pattern are those of every pair's levels grouped at once."""
    from bench.linkage.em import patterns, sliced_patterns

    rng = np.random.default_rng(fields * step)
    n_levels = [3, 2, 4] * (fields // 3) + [3] * (fields % 3)
    # levels -1..k-1, the top level absent from some fields (the data's radix is then smaller)
    levels = np.stack([rng.integers(-1, k - (j % 2), 3000) for j, k in enumerate(n_levels)], 1)
    levels = np.asfortranarray(levels.astype(np.int8))
    seen = []

    def levels_of(at: slice) -> np.ndarray:
        seen.append((at.start, at.stop))
        return levels[at]

    got = sliced_patterns(len(levels), n_levels, levels_of, step)
    want = patterns(levels)
    assert np.array_equal(got.levels, want.levels)
    assert np.array_equal(got.counts, want.counts)
    assert np.array_equal(
        got.per_pair(np.arange(len(want.counts))), want.per_pair(np.arange(len(want.counts)))
    )
    assert np.array_equal(got.pair_levels(np.arange(len(levels))), levels)
    assert seen == [(a, min(a + step, len(levels))) for a in range(0, len(levels), step)]
    empty = sliced_patterns(0, n_levels, levels_of, step)
    assert len(empty.counts) == 0 and len(empty.code) == 0
