"""Interval code against published values, and the replicate summary on hand-built counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.measurement.uncertainty import (
    RATES,
    across_replicates,
    clopper_pearson,
    wilson,
    with_intervals,
)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (0, 100, 0.0, 0.0370),  # Brown, Cai & DasGupta (2001); 1 - (z^2/n)/(1 + z^2/n)
        (5, 100, 0.0215, 0.1118),
        (50, 100, 0.4038, 0.5962),
        (100, 100, 0.9630, 1.0),
    ],
)
def test_wilson_known_values(k: int, n: int, lo: float, hi: float) -> None:
    got = wilson(k, n)
    assert got[0] == pytest.approx(lo, abs=5e-5) and got[1] == pytest.approx(hi, abs=5e-5)


@pytest.mark.parametrize(
    ("k", "n", "lo", "hi"),
    [
        (0, 100, 0.0, 0.0362),  # the "rule of three" neighbourhood: 1 - 0.025^(1/100)
        (5, 100, 0.0164, 0.1128),
        (100, 100, 0.9638, 1.0),
    ],
)
def test_clopper_pearson_known_values(k: int, n: int, lo: float, hi: float) -> None:
    got = clopper_pearson(k, n)
    assert got[0] == pytest.approx(lo, abs=5e-5) and got[1] == pytest.approx(hi, abs=5e-5)


def test_intervals_are_vectorized_nested_and_nan_without_trials() -> None:
    k, n = np.array([0, 3, 7, 0]), np.array([10, 30, 7, 0])
    wl, wh = wilson(k, n)
    cl, ch = clopper_pearson(k, n)
    assert np.isnan(wl[3]) and np.isnan(ch[3])
    p = k[:3] / n[:3]
    assert ((wl[:3] <= p) & (p <= wh[:3]) & (cl[:3] <= p) & (p <= ch[:3])).all()
    assert (wilson(3, 30, 0.99)[1] > wh[1]) and (wilson(3, 30, 0.8)[1] < wh[1])
    with pytest.raises(ValueError, match="0 <= k <= n"):
        wilson(5, 3)
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 3, 1.5)


def _metrics(rep: int, fp: int, declared: int) -> dict:
    return {
        "replicate": rep, "method": "m", "queries": 100, "declared": declared, "FP": fp,
        "wrong_people": fp, "FN": 10, "true_links": 40, "verified": declared,
        "FDR": fp / declared, "wrong_person_rate": fp / 100, "FNMR": 10 / 40,
        "verified_rate": declared / 100, "unverified_address": 1,
        "unverified_address_rate": 1 / 100, "unverified_address_share": 1 / declared,
    }  # fmt: skip


def test_with_intervals_adds_bounds_next_to_each_rate() -> None:
    frame = pd.DataFrame([_metrics(0, 5, 50)]).drop(columns="replicate")
    out = with_intervals(frame)
    for rate in RATES:
        i = list(out.columns).index(rate)
        assert list(out.columns[i + 1 : i + 3]) == [f"{rate}_lo", f"{rate}_hi"]
    assert out["FDR_lo"].iloc[0] < 0.1 < out["FDR_hi"].iloc[0]


def test_across_replicates_pools_counts_and_reports_spread() -> None:
    per = pd.DataFrame([_metrics(0, 5, 50), _metrics(1, 15, 50), _metrics(2, 10, 50)])
    out = across_replicates(per).set_index("method").loc["m"]
    assert out["replicates"] == 3 and out["FP"] == 30 and out["declared"] == 150
    assert out["FDR"] == pytest.approx(0.2)  # pooled: 30 / 150
    assert out["FDR_mean"] == pytest.approx(0.2) and out["FDR_sd"] == pytest.approx(0.1)
    assert (out["FDR_min"], out["FDR_max"]) == (0.1, 0.3)
    # t-interval of the mean with 2 degrees of freedom: 0.2 +- 4.303 * 0.1 / sqrt(3)
    assert out["FDR_t_hi"] == pytest.approx(0.2 + 4.3027 * 0.1 / np.sqrt(3), abs=1e-4)
    assert out["FDR_upper"] == pytest.approx(max(out["FDR_hi"], out["FDR_t_hi"]))
    single = across_replicates(per[per["replicate"] == 0]).iloc[0]
    assert np.isnan(single["FDR_t_hi"]) and single["FDR_upper"] == single["FDR_hi"]
