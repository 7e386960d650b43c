"""Threshold sweeps: hand-computed cases, a brute-force reference, a real run, plots."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bench.measurement.sweeps as sweeps_mod
from bench.linkage.config import parse_benchmark
from bench.linkage.resolve import resolve
from bench.measurement.metrics import confusion
from bench.measurement.sweeps import (
    COLUMNS,
    operating_point,
    operating_points,
    sweep,
    sweep_run,
)
from bench.report.figures import (
    plot_error_tradeoff,
    plot_precision_recall,
    plot_rates_by_threshold,
)
from bench.runner import run
from tests.conftest import TINY, read_toml_text

# 4 queries, register of 10. True links q0-r0, q1-r1, q2-r2; q3 has none (non-mated).
# q1's two pairs tie (the true one has the lower register row, so `best` keeps it); q2's true
# link was never considered (blocking loss); q0 has a true and a false pair.
HAND_PAIRS = pd.DataFrame(
    {
        "query_row": [3, 1, 0, 2, 1, 0],
        "register_row": [3, 6, 5, 7, 1, 0],
        "score": np.array([0.95, 0.7, 0.8, 0.5, 0.7, 0.9], dtype=np.float32),
    }
)
HAND_TRUTH = pd.DataFrame({"query_row": [0, 1, 2], "register_row": [0, 1, 2]})
COUNTS = ["declared", "TP", "FP", "FN", "wrong_people", "verified"]
# Per threshold 0.5, 0.7, 0.8, 0.9, 0.95: declared, TP, FP, FN, wrong people, verified.
HAND_EXPECTED = {
    "all": [
        (6, 2, 4, 1, 4, 4),
        (5, 2, 3, 1, 3, 3),
        (3, 1, 2, 2, 2, 2),
        (2, 1, 1, 2, 1, 2),
        (1, 0, 1, 3, 1, 1),
    ],
    "best": [
        (4, 2, 2, 1, 2, 4),
        (3, 2, 1, 1, 1, 3),
        (2, 1, 1, 2, 1, 2),
        (2, 1, 1, 2, 1, 2),
        (1, 0, 1, 3, 1, 1),
    ],
    "unique-only": [
        (2, 0, 2, 3, 2, 2),  # q2, q3 (q0 and q1 have two accepted pairs)
        (1, 0, 1, 3, 1, 1),
        (1, 0, 1, 3, 1, 1),
        (2, 1, 1, 2, 1, 2),  # q0 is unique in (0.8, 0.9]
        (1, 0, 1, 3, 1, 1),
    ],
}


@pytest.mark.parametrize("mode", list(HAND_EXPECTED))
def test_hand_computed(mode: str) -> None:
    out = sweep(HAND_PAIRS, HAND_TRUTH, 4, 10, mode)
    assert list(out.columns) == COLUMNS
    assert out["threshold"].to_numpy() == pytest.approx([0.5, 0.7, 0.8, 0.9, 0.95])
    got = [tuple(int(v) for v in row) for row in out[COUNTS].itertuples(index=False)]
    assert got == HAND_EXPECTED[mode]
    fp, fn, declared = out["FP"], out["FN"], out["declared"]
    assert out["FMR"].to_numpy() == pytest.approx((fp / (4 * 10 - 3)).to_numpy())
    assert out["FNMR"].to_numpy() == pytest.approx((fn / 3).to_numpy())
    assert out["FDR"].to_numpy() == pytest.approx((fp / declared).to_numpy())
    assert out["recall"].to_numpy() == pytest.approx(1 - out["FNMR"].to_numpy())
    assert out["wrong_person_rate"].to_numpy() == pytest.approx(out["wrong_people"] / 4)
    # q3, the only non-mated query, is linked at every threshold.
    assert (out["FPIR"] == 1.0).all()
    assert not out["own_threshold"].any()  # no accept column, no declared threshold


def _reference(
    pairs: pd.DataFrame, truth: pd.DataFrame, nq: int, nr: int, mode: str, t: float
) -> dict[str, float]:
    """One threshold the slow way: accept, resolve with bench.linkage.resolve, count with
    confusion."""
    q, r = pairs["query_row"].to_numpy(), pairs["register_row"].to_numpy()
    s = pairs["score"].to_numpy()
    link = resolve(q, r, s, s >= t, mode)
    tq, tr = truth["query_row"].to_numpy(), truth["register_row"].to_numpy()
    c = confusion(q[link], r[link], tq, tr, nq, nr)
    nonmated = np.setdiff1d(np.arange(nq), tq)
    fpir = np.isin(nonmated, q[link]).sum() / nonmated.size
    return {**{k: getattr(c, k) for k in COUNTS}, "FPIR": fpir}


@pytest.mark.parametrize("mode", ["all", "best", "unique-only"])
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("in_order", [False, True])
@pytest.mark.parametrize("part", [None, 7])
def test_matches_resolve_and_confusion_at_every_threshold(
    mode: str, seed: int, in_order: bool, part: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pairs in any order, or in a run's order (by query, then register row: nothing sorted);
    taken whole, or a few pairs at a time where a sweep goes by parts (``part``)."""
    if part is not None:
        monkeypatch.setattr(sweeps_mod, "PART", part)
    rng = np.random.default_rng(seed)
    nq, nr = 40, 30
    keys = rng.choice(nq * nr, size=300, replace=False)
    if in_order:
        keys = np.sort(keys)
    pairs = pd.DataFrame(
        {
            "query_row": keys // nr,
            "register_row": keys % nr,
            # Few score levels, so ties (at a query's top too) are frequent.
            "score": (rng.integers(0, 12, keys.size) / 4).astype(np.float32),
        }
    )
    # Some true links are scored pairs, some were never considered; 8 queries have none.
    truth_q = np.arange(32)
    truth_r = rng.integers(0, nr, truth_q.size)
    scored_q = pairs.groupby("query_row")["register_row"].first()
    use = np.isin(truth_q, scored_q.index) & (rng.random(truth_q.size) < 0.7)
    truth_r[use] = scored_q.reindex(truth_q[use]).to_numpy()
    truth = pd.DataFrame({"query_row": truth_q, "register_row": truth_r})
    q, r = pairs["query_row"].to_numpy(), pairs["register_row"].to_numpy()
    assert (sweeps_mod._by_query_then_register(q, r) is None) == in_order
    out = sweep(pairs, truth, nq, nr, mode)
    assert len(out) == np.unique(pairs["score"]).size
    for row in out.itertuples(index=False):
        want = _reference(pairs, truth, nq, nr, mode, row.threshold)
        got = {k: getattr(row, k) for k in want}
        assert got == pytest.approx(want), (mode, row.threshold)


def _random_pairs(seed: int, n: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    nq, nr = 200, 500
    keys = rng.choice(nq * nr, size=n, replace=False)
    pairs = pd.DataFrame({"query_row": keys // nr, "register_row": keys % nr})
    true = rng.random(n) < 0.1
    # True pairs score higher on average: a realistic, overlapping pair of distributions.
    pairs["score"] = (rng.normal(0, 1, n) + 2 * true).astype(np.float32)
    pairs["accept"] = pairs["score"] >= 1.0
    return pairs, pairs.loc[true, ["query_row", "register_row"]]


@pytest.mark.parametrize("mode", ["all", "best"])
def test_monotone_in_threshold(mode: str) -> None:
    pairs, truth = _random_pairs(5)
    out = sweep(pairs, truth, 200, 500, mode, max_points=None)
    assert out["threshold"].is_monotonic_increasing
    assert out["declared"].is_monotonic_decreasing
    assert out["FP"].is_monotonic_decreasing
    assert out["FMR"].is_monotonic_decreasing
    assert out["FNMR"].is_monotonic_increasing
    assert out["verified"].is_monotonic_decreasing


@pytest.mark.parametrize("mode", ["all", "best", "unique-only"])
def test_sweeps_at_several_sizes_are_the_sweeps_one_by_one(mode: str) -> None:
    """One preparation of the pairs serves every thinning: the frames are those of a sweep per
    thinning (the report's thinned table and its exact operating points come from one)."""
    from bench.measurement.sweeps import sweeps

    pairs, truth = _random_pairs(7)
    for own in (None, 1.25):
        sizes = [50, None, 3]
        got = sweeps(pairs, truth, 200, 500, mode, sizes, own_threshold=own)
        for size, frame in zip(sizes, got, strict=True):
            want = sweep(pairs, truth, 200, 500, mode, size, own_threshold=own)
            pd.testing.assert_frame_equal(frame, want)
    with pytest.raises(ValueError, match="at least 3"):
        sweeps(pairs, truth, 200, 500, mode, [None, 2])


def test_extremes_and_thinning() -> None:
    pairs, truth = _random_pairs(6)
    top = float(pairs["score"].max())
    none = sweep(pairs, truth, 200, 500, "all", thresholds=[top + 1]).iloc[0]
    assert none["declared"] == 0 and none["FP"] == 0 and none["TP"] == 0
    assert none["FNMR"] == 1.0 and none["FMR"] == 0.0 and none["recall"] == 0.0
    assert math.isnan(none["FDR"]) and math.isnan(none["precision"])

    full = sweep(pairs, truth, 200, 500, "all", max_points=None)
    assert full.iloc[0]["declared"] == len(pairs)
    assert full.iloc[-1]["threshold"] == top

    thin = sweep(pairs, truth, 200, 500, "all", max_points=10)
    assert len(thin) <= 10
    assert thin["threshold"].iloc[[0, -1]].tolist() == full["threshold"].iloc[[0, -1]].tolist()
    # The own threshold (lowest accepted score) survives thinning and matches the full sweep.
    own = thin[thin["own_threshold"]]
    assert len(own) == 1
    assert own.iloc[0]["threshold"] == pairs.loc[pairs["accept"], "score"].min()
    assert own.iloc[0]["declared"] == pairs["accept"].sum()
    pd.testing.assert_frame_equal(
        own.reset_index(drop=True),
        full[full["own_threshold"]].reset_index(drop=True),
    )


def test_empty_truth_and_nan_scores() -> None:
    pairs = HAND_PAIRS.assign(score=HAND_PAIRS["score"].where(HAND_PAIRS["query_row"] != 2))
    out = sweep(pairs, HAND_TRUTH.iloc[:0], 4, 10, "all")
    assert 0.5 not in out["threshold"].to_numpy()  # q2's NaN score is never accepted
    assert out["FNMR"].isna().all() and out["recall"].isna().all()
    assert (out["TP"] == 0).all() and (out["FN"] == 0).all()


def test_declared_threshold_is_rounded_like_the_scores() -> None:
    # 0.9 is not a float32: an exact score of 0.9 is stored as 0.89999998 and must still count.
    pairs = pd.DataFrame(
        {"query_row": [0, 1], "register_row": [0, 1], "score": np.float32([0.9, 0.5])}
    )
    out = sweep(pairs, pairs.iloc[:1, :2], 2, 2, "all", own_threshold=0.9)
    own = out[out["own_threshold"]].iloc[0]
    assert own["declared"] == 1 and own["TP"] == 1


def test_operating_point() -> None:
    frame = pd.DataFrame(
        {
            "threshold": [0.1, 0.2, 0.3, 0.4],
            "FMR": [1e-3, 2e-4, 5e-5, 0.0],
            "FNMR": [0.01, 0.05, 0.1, 0.4],
        }
    )
    shuffled = frame.iloc[[2, 0, 3, 1]]
    assert operating_point(shuffled, 1e-4)["threshold"] == 0.3  # lowest meeting the target
    assert operating_point(frame, 2e-4)["threshold"] == 0.2  # equality meets it
    assert operating_point(frame, 1.0)["threshold"] == 0.1
    assert operating_point(frame, 0.1, rate="FNMR")["threshold"] == 0.1
    missing = operating_point(frame.iloc[:3], 1e-6)
    assert missing.isna().all() and list(missing.index) == list(frame.columns)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real run: one scored method under each resolve mode, two rules."""
    data = read_toml_text(TINY)
    data["methods"] = [
        {"name": "fuzzy-all", "kind": "fuzzy", "threshold": 0.85, "resolve": "all"},
        {"name": "fuzzy-best", "kind": "fuzzy", "threshold": 0.85, "resolve": "best"},
        {"name": "fuzzy-unique", "kind": "fuzzy", "threshold": 0.8, "resolve": "unique-only"},
        {"name": "exact", "kind": "rule", "passes": [[{"field": "last_name"}, {"field": "dob"}]]},
        {
            "name": "cascade",
            "kind": "rule",
            "passes": [
                [{"field": "last_name"}, {"field": "dob"}],
                [{"field": "first_name"}, {"field": "last_name"}],
            ],
        },
    ]
    out = tmp_path_factory.mktemp("sweeps") / "run"
    run(parse_benchmark(data), out_dir=out, progress=False, html=False)
    return out


def test_own_threshold_reproduces_the_run(tiny_run: Path) -> None:
    raw = tiny_run / "raw"
    info = json.loads((raw / "run.json").read_text())
    truth = pd.read_parquet(raw / "truth.parquet")
    sweeps = sweep_run(tiny_run)
    # The constant-score rule is skipped; the cascade scores its passes and is swept.
    assert sweeps["method"].unique().tolist() == [
        "fuzzy-all",
        "fuzzy-best",
        "fuzzy-unique",
        "cascade",
    ]
    assert list(sweeps.columns) == ["method", *COLUMNS]
    for name, frame in sweeps.groupby("method", sort=False):
        pairs = pd.read_parquet(raw / f"{name}.parquet")
        links = pairs[pairs["link"]]
        want = confusion(
            links["query_row"].to_numpy(),
            links["register_row"].to_numpy(),
            truth["query_row"].to_numpy(),
            truth["register_row"].to_numpy(),
            info["queries"],
            info["register_records"],
        )
        own = frame[frame["own_threshold"]]
        assert len(own) == 1, name
        row = own.iloc[0]
        for key in [*COUNTS, "FDR", "wrong_person_rate", "FNMR"]:
            assert row[key] == pytest.approx(getattr(want, key), nan_ok=True), (name, key)
        assert frame["threshold"].is_monotonic_increasing


def test_operating_points_of_a_run(tiny_run: Path) -> None:
    sweeps = sweep_run(tiny_run)
    table = operating_points(sweeps, targets=(1e-3, 1e-9))
    assert list(table.columns[:3]) == ["method", "target", "threshold"]
    assert len(table) == 2 * sweeps["method"].nunique()
    met = table[table["threshold"].notna()]
    assert (met["FMR"] <= met["target"]).all()
    # From the run directory the sweeps are unthinned, so the answer is exact.
    exact = operating_points(tiny_run, targets=(1e-3,), rate="wrong_person_rate")
    assert (exact["wrong_person_rate"].dropna() <= 1e-3).all()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def test_plots(tiny_run: Path) -> None:
    sweeps = sweep_run(tiny_run)
    n = sweeps["method"].nunique()

    det = plot_error_tradeoff(sweeps)
    ax = det.axes[0]
    assert len(ax.get_lines()) == n + 1  # one curve per method and the reference FMR line
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert "FMR" in ax.get_xlabel() and "FNMR" in ax.get_ylabel()
    assert _png(det) == _png(plot_error_tradeoff(sweeps))  # deterministic

    pr = plot_precision_recall(sweeps)
    assert len(pr.axes[0].get_lines()) == n
    assert "Recall" in pr.axes[0].get_xlabel()

    rates = plot_rates_by_threshold(sweeps, "fuzzy-best")
    labels = [line.get_label() for line in rates.axes[0].get_lines()]
    assert len(labels) == 4  # FDR, wrong-person rate, FNMR, own threshold
    assert labels[-1].startswith("own threshold")
    with pytest.raises(ValueError):
        plot_rates_by_threshold(sweeps, "no-such-method")
