"""Metrics and multiple-hit resolution on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.linkage.resolve import resolve
from bench.measurement.metrics import confusion


def arr(*xs: int) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


def test_confusion_hand_computed() -> None:
    # 5 queries, register of 10. True links: q0-r0, q1-r1, q2-r2.
    # Declared: q0-r0 (TP), q0-r5 (FP), q1-r7 (FP), q3-r3 (FP). q1-r1 and q2-r2 missed.
    c = confusion(arr(0, 0, 1, 3), arr(0, 5, 7, 3), arr(0, 1, 2), arr(0, 1, 2), 5, 10)
    assert (c.declared, c.TP, c.FP, c.FN) == (4, 1, 3, 2)
    assert pytest.approx(3 / 4) == c.FDR
    assert c.wrong_people == 3  # q0, q1, q3
    assert c.wrong_person_rate == pytest.approx(3 / 5)
    assert pytest.approx(2 / 3) == c.FNMR
    assert c.verified == 3 and c.verified_rate == pytest.approx(3 / 5)
    assert c.FP_per_1M == pytest.approx(3 / 5 * 1e6)
    assert c.FN_per_1M == pytest.approx(2 / 5 * 1e6)
    assert c.blocking_loss == 0
    assert c.true_links == c.TP + c.FN


def test_blocking_loss_counts_true_links_never_proposed() -> None:
    # Candidates miss q2-r2; the method declares only q0-r0.
    considered = (arr(0, 0, 1), arr(0, 4, 1))
    c = confusion(arr(0), arr(0), arr(0, 1, 2), arr(0, 1, 2), 3, 5, considered=considered)
    assert c.blocking_loss == 1
    assert c.FN == 2  # q1-r1 (scored but rejected) and q2-r2 (lost at blocking)
    assert c.candidates == 3


def test_empty_cases_give_nan_not_errors() -> None:
    c = confusion(arr(), arr(), arr(), arr(), 4, 4)
    assert c.declared == 0 and math.isnan(c.FDR) and math.isnan(c.FNMR)
    assert c.wrong_person_rate == 0.0


def test_duplicate_declared_pairs_count_once() -> None:
    c = confusion(arr(0, 0), arr(1, 1), arr(0), arr(1), 1, 2)
    assert (c.declared, c.TP, c.FP) == (1, 1, 0)


def test_resolve_modes() -> None:
    q = arr(0, 0, 0, 1, 2, 2)
    r = arr(5, 6, 7, 1, 3, 4)
    s = np.array([0.9, 0.95, 0.95, 0.7, 0.8, 0.6], dtype=np.float32)
    acc = np.array([True, True, True, True, True, False])
    assert resolve(q, r, s, acc, "all").tolist() == acc.tolist()
    # best: q0 -> tie 0.95 between r6 and r7, first register record wins; q2 only r3 accepted.
    assert resolve(q, r, s, acc, "best").tolist() == [False, True, False, True, True, False]
    # unique-only: q0 has three accepted hits -> none; q1 and q2 exactly one each.
    assert resolve(q, r, s, acc, "unique-only").tolist() == [False, False, False, True, True, False]
    with pytest.raises(ValueError):
        resolve(q, r, s, acc, "some")
