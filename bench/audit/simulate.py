"""Audits on known truth: plan, draw, "review" with the truth, estimate, many times over.

Each simulated audit goes through the same functions a real one does
(:func:`bench.audit.design.allocate`, :func:`~bench.audit.design.draw`,
:func:`bench.audit.estimate.estimate`), with audit ``k`` drawn from seed ``seed + k``, and its
reviewer answers from the truth (optionally *cannot tell* on a random share of the sampled
links, to check the bounds). The coverage of the 95% intervals is the share of audits whose
interval holds the true count of wrong-person links; it should be near the nominal level
(the issue asks 93% to 97% over at least 200 audits). The same holds for the missed matches:
:func:`run_unlinked` makes the population a method's unlinked queries, "wrong" where the
query's person is in the register, and the draw uses the unlinked queries' streams.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from bench.audit.design import LINKS_STREAM, allocate, draw
from bench.audit.estimate import Tally, estimate
from bench.runs.rundir import RunDir
from synthetic.errors import ConfigError
from synthetic.rng import stream

#: Stratum label of links of a method without named paths.
ALL = "all"


@dataclass(frozen=True)
class Population:
    """Declared links with known truth: ``stratum`` label and ``wrong`` flag per link."""

    stratum: np.ndarray
    wrong: np.ndarray

    def sizes(self) -> dict[str, int]:
        labels, counts = np.unique(self.stratum, return_counts=True)
        return {str(k): int(v) for k, v in zip(labels, counts, strict=True)}

    def rates(self) -> dict[str, float]:
        return {k: float(self.wrong[self.stratum == k].mean()) for k in self.sizes()}


def run_links(run: RunDir, method: str, replicate: int = 0) -> Population:
    """A method's declared links in a run, stratified by path (methods with named paths) or in
    one stratum, each flagged wrong when it is not a true link."""
    if method not in run.info["methods"]:
        raise ConfigError(
            f"{run.path}: methods",
            f"no method {method!r} (run has {', '.join(run.info['methods'])})",
        )
    meta = run.method(method)
    paths = meta.get("paths")
    columns = ["query_row", "register_row", "link"] + (["path"] if paths else [])
    pairs = run.pairs(method, replicate, columns)
    pairs = pairs[pairs["link"].to_numpy(bool)]
    truth = run.truth(replicate)
    width = int(run.info["register_records"]) + 1
    keys = pairs["query_row"].to_numpy(np.int64) * width + pairs["register_row"].to_numpy(np.int64)
    true_keys = truth["query_row"].to_numpy(np.int64) * width + truth["register_row"].to_numpy(
        np.int64
    )
    wrong = ~np.isin(keys, true_keys)
    if paths:
        names = np.array([str(p) for p in paths], dtype=object)
        stratum = names[pairs["path"].to_numpy(np.int64)]
    else:
        stratum = np.full(len(pairs), ALL, dtype=object)
    if len(wrong) == 0:
        raise ConfigError(f"{run.path}: {method}", "declares no links: nothing to audit")
    return Population(stratum.astype(str), wrong)


def run_unlinked(run: RunDir, method: str, replicate: int = 0) -> Population:
    """A method's unlinked queries in a run (queries it linked to no register record), in one
    stratum, each flagged when its person is in the register (a missed match)."""
    if method not in run.info["methods"]:
        raise ConfigError(
            f"{run.path}: methods",
            f"no method {method!r} (run has {', '.join(run.info['methods'])})",
        )
    pairs = run.pairs(method, replicate, ["query_row", "link"])
    linked = pairs.loc[pairs["link"].to_numpy(bool), "query_row"].to_numpy(np.int64)
    queries = int((run.info if replicate == 0 else run.replicate(replicate))["queries"])
    unlinked = np.setdiff1d(np.arange(queries), linked)
    if len(unlinked) == 0:
        raise ConfigError(f"{run.path}: {method}", "links every query: no unlinked query to audit")
    in_register = np.isin(unlinked, run.truth(replicate)["query_row"].to_numpy(np.int64))
    return Population(np.full(len(unlinked), ALL), in_register)


@dataclass(frozen=True)
class Coverage:
    """Result of many simulated audits of one population."""

    audits: int
    covered: int
    covered_bounds: int
    true_wrong: int
    links: int
    mean_sample: float
    mean_half_width: float

    @property
    def rate(self) -> float:
        return self.covered / self.audits

    def interval(self) -> tuple[float, float]:
        """The Clopper-Pearson 95% interval of the coverage itself (it is estimated from a
        finite number of audits)."""
        ci = binomtest(self.covered, self.audits).proportion_ci(0.95, method="exact")
        return float(ci.low), float(ci.high)


def simulate(
    pop: Population,
    *,
    audits: int,
    margin: float,
    confidence: float = 0.95,
    priors: dict[str, float] | None = None,
    cannot_tell: float = 0.0,
    seed: int = 0,
    sample_stream: str = LINKS_STREAM,
) -> tuple[Coverage, pd.DataFrame]:
    """Run ``audits`` simulated audits of ``pop`` and return their coverage and one row per
    audit (seed, sample size, estimate, interval, whether it covers the true count); the draw
    uses ``sample_stream`` (:data:`~bench.audit.design.UNLINKED_STREAM` for unlinked queries)."""
    sizes = pop.sizes()
    plan = allocate(sizes, margin, confidence, priors)
    members = {s.label: np.flatnonzero(pop.stratum == s.label) for s in plan}
    n_total = len(pop.wrong)
    true_wrong = int(pop.wrong.sum())
    rows = []
    for k in range(audits):
        s_k = seed + k
        tallies = []
        for s in plan:
            picked = members[s.label][draw(s.label, s.size, s.sample, s_k, sample_stream)]
            wrong = pop.wrong[picked]
            unsure = np.zeros(len(picked), dtype=bool)
            if cannot_tell > 0:
                unsure = stream(s_k, "audit.simulate.cannot-tell", s.label).random(len(picked))
                unsure = unsure < cannot_tell
            tallies.append(
                Tally(s.label, s.size, len(picked), int((wrong & ~unsure).sum()), int(unsure.sum()))
            )
        total = estimate(tallies, confidence)[-1]
        share = total.mar if cannot_tell > 0 else total.cannot_tell_right
        low, high = share.low * n_total, share.high * n_total
        b_low, b_high = (x * n_total for x in total.bounds)
        rows.append(
            {
                "seed": s_k,
                "sample": total.reviewed,
                "estimate": share.share * n_total,
                "low": low,
                "high": high,
                "covers": bool(low - 1e-9 <= true_wrong <= high + 1e-9),
                "bounds_cover": bool(b_low * 1 - 1e-9 <= true_wrong <= b_high + 1e-9),
            }
        )
    frame = pd.DataFrame(rows)
    half = (frame["high"] - frame["low"]) / 2 / n_total
    cov = Coverage(
        audits=audits,
        covered=int(frame["covers"].sum()),
        covered_bounds=int(frame["bounds_cover"].sum()),
        true_wrong=true_wrong,
        links=n_total,
        mean_sample=float(frame["sample"].mean()),
        mean_half_width=float(half.mean()) if audits else math.nan,
    )
    return cov, frame
