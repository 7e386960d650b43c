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
    from bench.linkage.methods.fellegi_sunter import _session_levels

    bench = load_benchmark(str(DATA / "fs-regression.toml"))
    task = build_task(bench.scenario, bench.scenario.seed)
    prep = PreparedTask(task, bench.scenario.seed)
    cands, _ = block(prep, bench.blocking)
    fields = {"first_name": "name", "last_name": "name", "dob": "date", "zip": "exact"}
    vec = compare(prep, fields, cands.query_row, cands.register_row, levels_only=True)
    sq, sr = prep.key_index([("zip", "exact", {})]).pairs()  # mostly not candidates
    skip = frozenset({"zip"})
    got = _session_levels(prep, fields, sq, sr, skip, (cands, vec))
    expected = compare(prep, fields, sq, sr, levels_only=True, skip=skip).levels
    assert np.array_equal(got, expected)
    key = cands.query_row * prep.n_register + cands.register_row
    shared = np.isin(sq * prep.n_register + sr, key)
    assert 0 < shared.sum() < len(sq)  # some pairs of each kind
