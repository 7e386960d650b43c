"""What a probabilistic model says of its own errors, without labels (fastLink's approach).

A Fellegi-Sunter model (and Splink's) gives each candidate pair a posterior probability ``P``
that the two records are the same person. If those probabilities were right, the expected
number of wrong links among the declared ones would be ``sum over declared links of (1 - P)``
and the expected number of true matches it leaves out ``sum over candidate pairs not declared
of P`` (Enamorado, Fifield and Imai 2019, "Using a probabilistic model to assist merging of
large-scale administrative records", section 3.4). Divided by the declared links and by the
expected true matches (``sum of P`` over all candidate pairs), they are the model's own false
discovery rate (FDR) and false non-match rate (FNMR).

These are *model-based* estimates: they hold only as far as the model's posteriors are
calibrated. The model cannot see pairs that blocking never proposed, and it cannot know that a
record's best-scoring candidate is a household member when the person sought is not in the
register: the pair's fields agree as a true match's would. :mod:`bench.audit_calibration` shows,
on synthetic runs with known truth, how far the estimates are from the truth.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd

from bench.linkage.methods import METHODS
from bench.runs.rundir import RunDir

#: Columns of :func:`model_estimates`.
COLUMNS = (
    "method",
    "replicate",
    "declared",
    "model_false",
    "model_FDR",
    "model_missed",
    "model_FNMR",
    "true_false",
    "true_FDR",
    "true_FNMR",
)


def posterior_methods(run: RunDir) -> list[str]:
    """The run's methods whose scores are posterior match probabilities."""
    out = []
    for name in run.info["methods"]:
        if name in run.info.get("not_run", {}):
            continue
        kind = run.method(name).get("kind")
        cls = METHODS.get(str(kind))
        if cls is not None and cls.posterior_scores:
            out.append(name)
    return out


#: Values handed to math.fsum at a time (:func:`_fsum`).
FSUM_CHUNK = 1 << 20


def _fsum(values: np.ndarray | Iterable[np.ndarray]) -> float:
    """``math.fsum`` of ``values`` (an array, or the arrays of parts of them), a chunk of Python
    floats at a time: the same correctly rounded sum (fsum does not depend on the order or
    grouping of its inputs), without a Python float per value at once (156 million pairs at the
    real size: some 5 GB)."""
    parts = [values] if isinstance(values, np.ndarray) else values
    chunks = (p[a : a + FSUM_CHUNK].tolist() for p in parts for a in range(0, len(p), FSUM_CHUNK))
    return math.fsum(itertools.chain.from_iterable(chunks))


def _estimate(declared: int, false: float, missed: float, matches: float) -> dict[str, float]:
    """The row of :func:`model_estimate` from the declared links and the three posterior sums."""
    return {
        "declared": declared,
        "model_false": false,
        "model_FDR": false / declared if declared else float("nan"),
        "model_missed": missed,
        "model_FNMR": missed / matches if matches > 0 else float("nan"),
    }


def model_estimate(pairs: pd.DataFrame) -> dict[str, float]:
    """The model's own expected wrong links and misses from one method's scored pairs
    (``score`` a posterior probability, ``link`` whether it was declared)."""
    p = pairs["score"].to_numpy(np.float64)
    link = pairs["link"].to_numpy(bool)
    # math.fsum: exact, so the bytes written do not depend on the CPU's summation order
    return _estimate(int(link.sum()), _fsum(1 - p[link]), _fsum(p[~link]), _fsum(p))


def model_estimates(run: RunDir, replicates: bool = True) -> pd.DataFrame:
    """:func:`model_estimate` of every posterior method of a run, per replicate, beside the true
    FDR and FNMR. The model's FNMR is that of the first population only (NaN for the others,
    whose ``raw/`` does not keep every candidate pair).

    The declared links are read alone, and the sums over every pair a part at a time
    (:meth:`RunDir.pair_parts`): at the real size a method scored 156 million pairs."""
    rows: list[dict[str, Any]] = []
    ks = range(int(run.info["replicates"])) if replicates else range(1)
    for name in posterior_methods(run):
        for k in ks:
            links = run.links(name, k, ["query_row", "register_row", "score"])
            declared = len(links)
            # _fsum over the parts' scores: the sum of all of them at once, whatever the parts
            estimate = _estimate(
                declared,
                _fsum(1 - links["score"].to_numpy(np.float64)),
                _fsum(_scores(run, name, k, unlinked=True)),
                _fsum(_scores(run, name, k, unlinked=False)),
            )
            row: dict[str, Any] = {"method": name, "replicate": k, **estimate}
            if k > 0:
                # a later replicate's raw/ keeps only declared links and true candidates: the
                # posterior mass of the pairs left out is unknown there
                row["model_missed"] = row["model_FNMR"] = float("nan")
            truth = run.truth(k)
            width = int(run.info["register_records"]) + 1
            keys = links["query_row"].to_numpy(np.int64) * width + links["register_row"].to_numpy(
                np.int64
            )
            tkeys = truth["query_row"].to_numpy(np.int64) * width + truth["register_row"].to_numpy(
                np.int64
            )
            true_false = int((~np.isin(keys, tkeys)).sum())
            found = int(np.isin(tkeys, keys).sum())
            row["true_false"] = true_false
            row["true_FDR"] = true_false / declared if declared else float("nan")
            row["true_FNMR"] = 1 - found / len(tkeys) if len(tkeys) else float("nan")
            rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _scores(run: RunDir, name: str, k: int, unlinked: bool) -> Iterator[np.ndarray]:
    """The scores of a method's pairs (``unlinked``: of those not declared), a part of the
    pairs file at a time."""
    for part in run.pair_parts(name, k, ["score", "link"]):
        p = part["score"].to_numpy(np.float64)
        yield p[~part["link"].to_numpy(bool)] if unlinked else p
