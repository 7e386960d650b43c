"""Threshold sweeps of scored methods: error rates over the full threshold range.

A scored method declares the pairs whose score reaches its threshold (then resolves multiple
hits). Its raw output holds every pair it considered with its score, so the links it *would*
declare at any other threshold follow from ``raw/`` alone. :func:`sweep` evaluates all of them
at once: for a threshold ``t`` the method accepts the pairs with ``score >= t`` and resolves them
exactly as :func:`bench.linkage.resolve.resolve` does.

Rates, besides those of :mod:`bench.measurement.metrics` (FDR, wrong-person rate, FNMR):

* **FMR (false match rate)** = false matches / different-person pairs, where the different-person
  (impostor) pairs are all ``queries x register records`` pairs that are not true links. It is a
  rate per comparison over the full pair space, as in NIST 1:1 verification evaluations, so
  methods with different blocking are compared on the same denominator.
* **FPIR (false positive identification rate)** = queries with no true link in the register
  (non-mated queries) that are linked to anything / non-mated queries, as in NIST FRVT 1:N.
* **recall** = 1 - FNMR; **precision** = 1 - FDR.

True links a method never considered (blocking loss) are missed at every threshold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.linkage.methods import METHODS
from bench.linkage.methods.base import RESOLVE_MODES
from bench.runs.rundir import RunDir
from synthetic.arrays import isin_sorted, unique_ints

#: Pairs at a time for a sweep's steps that need a temporary per pair (at the real size a
#: method's sweep reads 156 million pairs).
PART = 4_000_000

COUNT_COLUMNS = ["declared", "TP", "FP", "FN", "wrong_people", "verified"]
RATE_COLUMNS = ["FDR", "wrong_person_rate", "FNMR", "FMR", "FPIR", "recall", "precision"]
#: Columns of a sweep. ``own_threshold`` marks the row at the method's own threshold.
COLUMNS = ["threshold", *COUNT_COLUMNS, *RATE_COLUMNS, "own_threshold"]

SWEEP_DEFINITIONS: dict[str, str] = {
    "threshold": "pairs scoring at least this are accepted, then multiple hits are resolved",
    "FMR": "false match rate = false matches / different-person pairs (all queries x register)",
    "FPIR": "queries with no true link that are linked to anything / such queries",
    "recall": "1 - FNMR = declared true links / true links",
    "precision": "1 - FDR = true matches / declared links",
    "own_threshold": "True on the row at the method's own threshold",
}


def sweep(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    n_queries: int,
    n_register: int,
    resolve: str,
    max_points: int | None = 2000,
    *,
    thresholds: Iterable[float] | None = None,
    own_threshold: float | None = None,
) -> pd.DataFrame:
    """Counts and rates of the links a scored method would declare at every threshold.

    ``pairs`` holds the pairs the method considered (``query_row``, ``register_row``, ``score``;
    optionally ``accept``), each pair once as the runner writes them; ``truth`` the true links.
    At threshold ``t`` the pairs with ``score >= t`` are accepted and resolved with ``resolve``
    (``all``, ``best`` or ``unique-only``, as :func:`bench.linkage.resolve.resolve`; ``best``
    breaks score
    ties by the lowest register row). Pairs with a NaN score are never accepted.

    Thresholds are the distinct scores, thinned to at most ``max_points`` evenly spaced in rank
    (always keeping the lowest and the highest; ``None``: no thinning), or exactly ``thresholds``
    when given. The method's own threshold is included (unless ``thresholds`` is given) and
    marked in ``own_threshold``: the lowest score among pairs its ``accept`` column accepts (that
    row reproduces its accept decision whenever it is a threshold on the stored score), or, with
    no accepted pair, the ``own_threshold`` argument rounded to the score's precision (scores are
    stored rounded, as float32).

    Columns: see :data:`COLUMNS`, :data:`SWEEP_DEFINITIONS` and
    :data:`bench.measurement.metrics.DEFINITIONS`.
    FMR's denominator is ``n_queries * n_register - true links`` (every pair of the full pair
    space that is not a true link, as in NIST 1:1 evaluations); FPIR is the NIST FRVT 1:N false
    positive identification rate. Rows are sorted by threshold ascending; a rate is NaN where its
    denominator is 0.
    """
    return sweeps(
        pairs,
        truth,
        n_queries,
        n_register,
        resolve,
        [max_points],
        thresholds=thresholds,
        own_threshold=own_threshold,
    )[0]


def sweeps(
    pairs: pd.DataFrame,
    truth: pd.DataFrame,
    n_queries: int,
    n_register: int,
    resolve: str,
    max_points: Sequence[int | None],
    *,
    thresholds: Iterable[float] | None = None,
    own_threshold: float | None = None,
) -> list[pd.DataFrame]:
    """:func:`sweep` thinned to each of ``max_points`` in turn, from one pass over the pairs
    (their order by query and score, their truth, each query's best pairs: most of the work)."""
    if resolve not in RESOLVE_MODES:
        raise ValueError(f"unknown resolve mode {resolve!r}")
    if any(m is not None and m < 3 for m in max_points):
        raise ValueError("max_points must be at least 3 (both extremes and the own threshold)")
    given = None if thresholds is None else list(thresholds)
    q = pairs["query_row"].to_numpy(np.int64)
    r = pairs["register_row"].to_numpy(np.int64)
    s = pairs["score"].to_numpy()
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    s = s + s.dtype.type(0)  # -0.0 becomes 0.0: equal scores must sort as equal
    scored = ~np.isnan(s)
    own = _own_threshold(pairs, s, scored, own_threshold)
    if not scored.all():
        q, r, s = q[scored], r[scored], s[scored]

    width = max(n_register, 1)
    truth_keys = unique_ints(
        truth["query_row"].to_numpy(np.int64) * width + truth["register_row"].to_numpy(np.int64)
    )
    n_true = int(truth_keys.size)
    is_true = np.empty(q.size, dtype=bool)
    for lo in range(0, q.size, PART):  # a part's keys at a time, not 8 bytes for every pair
        is_true[lo : lo + PART] = isin_sorted(
            q[lo : lo + PART] * width + r[lo : lo + PART], truth_keys
        )
    mated = unique_ints(truth_keys // width)

    # Each query's pairs as one run, by register row within it (as a run writes them: then
    # nothing is sorted); every per-query figure below is a reduction over the runs.
    order = _by_query_then_register(q, r)
    if order is not None:
        q, s, is_true = q[order], s[order], is_true[order]  # r has done its part: the order
    n = q.size
    start = np.flatnonzero(np.r_[True, q[1:] != q[:-1]]) if n else np.zeros(0, np.int64)
    size = np.diff(np.r_[start, n])
    top = np.maximum.reduceat(s, start) if n else s[:0]  # each query's highest score
    # The pair `best` keeps: the first at the top score, the lowest register row of a tie.
    at_top = np.flatnonzero(s == np.repeat(top, size))
    kept = at_top[np.searchsorted(at_top, start)]
    top_true = is_true[kept]
    nonmated = ~isin_sorted(q[start], mated)
    two = size >= 2
    below = s.copy()
    below[kept] = -np.inf  # the second highest score: the highest but for the kept pair
    second = np.maximum.reduceat(below, start)[two] if n else s[:0]
    del below

    # What each count reads, sorted once for every grid.
    if resolve == "all":
        false = ~is_true
        with_false = np.add.reduceat(false, start) > 0 if n else np.zeros(0, bool)
        highest_false = np.maximum.reduceat(np.where(false, s, -np.inf), start) if n else s[:0]
        reads = {
            "declared": s,
            "tp": s[is_true],
            "wrong": highest_false[with_false],  # each query's highest-scoring false pair
            "verified": top,
            "nonmated": top[nonmated],
        }
    else:
        reads = {"top": top, "top_true": top[top_true], "nonmated": top[nonmated]}
        if resolve == "unique-only":
            reads |= {
                "second": second,
                "second_true": second[top_true[two]],
                "second_nonmated": second[nonmated[two]],
            }
    ordered = {name: _ascending(values) for name, values in reads.items()}
    distinct = None if given is not None else np.unique(s).astype(np.float64)
    impostors = n_queries * n_register - n_true
    n_nonmated = n_queries - int(mated.size)

    out = []
    for points in max_points:
        grid = _thresholds(distinct, given, points, own)
        c = {name: _count_ge(values, grid) for name, values in ordered.items()}
        if resolve == "all":
            declared, tp, wrong = c["declared"], c["tp"], c["wrong"]
            verified, nonmated_linked = c["verified"], c["nonmated"]
        elif resolve == "best":
            declared = c["top"]
            verified = declared.copy()
            tp = c["top_true"]
            wrong = declared - tp
            nonmated_linked = c["nonmated"]
        else:
            # A query is verified exactly for thresholds in (second, top]: the pairs reaching `top`
            # minus those where its second pair is accepted too (equal scores: never unique).
            declared = c["top"] - c["second"]
            verified = declared.copy()
            tp = c["top_true"] - c["second_true"]
            wrong = declared - tp
            nonmated_linked = c["nonmated"] - c["second_nonmated"]

        fp = declared - tp
        fn = n_true - tp
        fdr = _rate(fp, declared)
        fnmr = _rate(fn, n_true)
        # copy=False keeps one block per column: consolidating them costs more than the sweep.
        out.append(
            pd.DataFrame(
                {
                    "threshold": grid,
                    "declared": declared,
                    "TP": tp,
                    "FP": fp,
                    "FN": fn,
                    "wrong_people": wrong,
                    "verified": verified,
                    "FDR": fdr,
                    "wrong_person_rate": _rate(wrong, n_queries),
                    "FNMR": fnmr,
                    "FMR": _rate(fp, impostors),
                    "FPIR": _rate(nonmated_linked, n_nonmated),
                    "recall": 1.0 - fnmr,
                    "precision": 1.0 - fdr,
                    "own_threshold": grid == own if own is not None else np.zeros(grid.size, bool),
                },
                copy=False,
            )
        )
    return out


def operating_point(sweep_frame: pd.DataFrame, target: float, rate: str = "FMR") -> pd.Series:
    """The row with the lowest threshold whose ``rate`` is at most ``target``.

    The lowest such threshold is the most permissive one meeting a declared rate (e.g. a false
    match rate of 1e-4): it declares the most links, so it misses the fewest, among thresholds
    meeting the target. FMR (and FP) never increase with the threshold under ``all`` and ``best``
    resolution, so every higher threshold meets the target too; under ``unique-only``, and for
    FDR, rates need not be monotone. The answer is exact only over the thresholds of the sweep
    (unthinned sweeps: ``max_points=None``). When no threshold meets the target the row is all
    NaN, ``threshold`` included (the method cannot reach that rate at any threshold where it
    declares anything).
    """
    frame = sweep_frame.sort_values("threshold", kind="stable")
    meets = (frame[rate] <= target).to_numpy()  # NaN rates never meet a target
    if not meets.any():
        return pd.Series(np.nan, index=frame.columns, dtype=float)
    return frame.iloc[int(np.argmax(meets))].copy()


def declared_threshold(meta: Mapping[str, Any]) -> float | None:
    """The numeric threshold a method's metadata (``raw/<name>.json``) declares, read from the
    parameter its class names (:attr:`Method.threshold_param`); None for methods without one
    (rules) or of a kind no longer registered."""
    cls = METHODS.get(meta.get("kind", ""))
    name = getattr(cls, "threshold_param", None)
    thr = meta.get("params", {}).get(name) if name else None
    return float(thr) if isinstance(thr, int | float) and not isinstance(thr, bool) else None


def is_scored(meta: Mapping[str, Any], scores: np.ndarray) -> bool:
    """True for a method with a declared threshold or with non-constant scores."""
    if declared_threshold(meta) is not None:
        return True
    finite = scores[~np.isnan(scores)] if np.issubdtype(scores.dtype, np.floating) else scores
    return finite.size > 0 and bool(finite.min() != finite.max())


def sweep_run(run_dir: Path, max_points: int | None = 2000) -> pd.DataFrame:
    """Sweeps of every scored method of a run, stacked with a leading ``method`` column.

    Reads ``raw/`` only. Rules whose scores are all equal are skipped (a single operating point);
    a rule with several score levels (a cascade scoring its passes) is swept over them. Only the
    run's own seed (replicate 1) is swept: replicates 2..K (``raw/replicates/``) keep declared
    links and considered true links only, not every scored pair.
    """
    return sweep_runs(run_dir, [max_points])[0]


def sweep_runs(run_dir: Path, max_points: Sequence[int | None]) -> list[pd.DataFrame]:
    """:func:`sweep_run` thinned to each of ``max_points`` in turn, each method's pairs read and
    prepared once (:func:`sweeps`)."""
    run = RunDir(run_dir)
    info = run.info
    truth = run.truth()
    frames: list[list[pd.DataFrame]] = [[] for _ in max_points]
    for name in info["methods"]:
        meta = run.method(name)
        pairs = run.pairs(name, columns=["query_row", "register_row", "score", "accept"])
        if not is_scored(meta, pairs["score"].to_numpy()):
            continue
        # The declared threshold marks the own point only if nothing was accepted (the data
        # otherwise pins the effective threshold down exactly).
        own = declared_threshold(meta) if not pairs["accept"].any() else None
        found = sweeps(
            pairs,
            truth,
            info["queries"],
            info["register_records"],
            meta["resolve"],
            max_points,
            own_threshold=own,
        )
        for kept, frame in zip(frames, found, strict=True):
            frame.insert(0, "method", name)
            kept.append(frame)
        del pairs  # before the next method's are read (at the real size, 3 GB a method)
    return [
        pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=["method", *COLUMNS])
        for kept in frames
    ]


def operating_points(
    run_dir_or_sweeps: Path | str | pd.DataFrame,
    targets: Sequence[float] = (1e-4, 1e-5, 1e-6),
    rate: str = "FMR",
) -> pd.DataFrame:
    """Each method's :func:`operating_point` at each target: method, target, threshold, metrics.

    Given a run directory, the sweeps are computed unthinned so the thresholds are exact.
    """
    if isinstance(run_dir_or_sweeps, pd.DataFrame):
        sweeps = run_dir_or_sweeps
    else:
        sweeps = sweep_run(Path(run_dir_or_sweeps), max_points=None)
    metrics = [c for c in COLUMNS if c != "own_threshold"]
    rows = []
    for name, frame in sweeps.groupby("method", sort=False):
        for target in targets:
            point = operating_point(frame[metrics], target, rate)
            rows.append({"method": name, "target": target, **point.to_dict()})
    return pd.DataFrame(rows, columns=["method", "target", *metrics])


def _own_threshold(
    pairs: pd.DataFrame, s: np.ndarray, scored: np.ndarray, given: float | None
) -> float | None:
    if "accept" in pairs:
        accepted = pairs["accept"].to_numpy(bool) & scored
        if accepted.any():
            return float(s[accepted].min())
    if given is None:
        return None
    # A stored (rounded) score reaches the rounded threshold iff the exact score reached the
    # exact one, up to ties created by rounding; comparing with the exact threshold would drop
    # accepted pairs that rounded down onto it.
    return float(np.asarray(given, dtype=s.dtype))


def _thresholds(
    distinct: np.ndarray | None,
    given: Iterable[float] | None,
    max_points: int | None,
    own: float | None,
) -> np.ndarray:
    """The grid: ``given`` (distinct, sorted), or the scores' ``distinct`` values thinned to
    ``max_points`` evenly spaced in rank, with the own threshold."""
    if given is not None:
        grid = np.asarray(list(given), dtype=np.float64)
        if np.isnan(grid).any():
            raise ValueError("thresholds must not be NaN")
        return np.unique(grid)
    assert distinct is not None
    if max_points is not None:
        room = max_points - (own is not None)
        if distinct.size > room:
            keep = np.unique(np.rint(np.linspace(0, distinct.size - 1, room)).astype(np.int64))
            distinct = distinct[keep]
    return np.unique(np.r_[distinct, [own] if own is not None else []])


def _ascending(values: np.ndarray) -> np.ndarray:
    """``values`` sorted, as float64, for :func:`_count_ge`."""
    # Sorting in the scores' own precision is several times faster; float64 holds it exactly.
    return np.sort(values).astype(np.float64)


def _count_ge(ordered: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """For each threshold of ``grid``: how many of the ``ordered`` values
    (:func:`_ascending`) are at least it."""
    return ordered.size - np.searchsorted(ordered, grid, side="left").astype(np.int64)


def _by_query_then_register(q: np.ndarray, r: np.ndarray) -> np.ndarray | None:
    """None if the pairs are in order of query, then register row (as a run writes a blocked
    method's pairs), else the permutation that puts them so."""
    for lo in range(0, q.size - 1, PART):  # a part at a time (with the next part's first pair)
        dq = np.diff(q[lo : lo + PART + 1])
        if (dq < 0).any() or (np.diff(r[lo : lo + PART + 1])[dq == 0] <= 0).any():
            return np.lexsort((r, q))
    return None


def _rate(num: np.ndarray, den: np.ndarray | int) -> np.ndarray:
    """``num / den`` elementwise, NaN where ``den`` is 0."""
    den = np.broadcast_to(np.asarray(den, np.float64), num.shape)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out
