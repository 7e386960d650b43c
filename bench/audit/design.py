"""The review's design: how many declared links to review in each stratum, and which ones.

The estimate is the share of wrong-person links among the declared links, a stratified mean of
per-stratum shares ``p_h`` weighted by ``W_h = N_h / N``. Its variance under stratified simple
random sampling without replacement (sizes ``n_h``) is

    V = sum_h W_h^2 (1 - n_h/N_h) S_h^2 / n_h,   S_h^2 = p_h (1 - p_h) N_h / (N_h - 1)

(Cochran, *Sampling Techniques*, 3rd ed., 5.9). For a target half-width ``m`` at confidence
``1 - a`` the sample must make ``z_{a/2} sqrt(V) <= m``. With prior rates per stratum the sizes
follow Neyman's allocation (``n_h`` proportional to ``N_h S_h``: the smallest total for the
margin); without priors every ``p_h`` is taken as 1/2 (the largest variance) and the sizes are
proportional to ``N_h``. Every stratum gets at least :data:`MIN_PER_STRATUM` reviews (when it
has them), so that its own share can be estimated.

The draw is reproducible: the links of each stratum in a fixed order (sorted by query id, then
register id: the order of the file does not matter), positions drawn without replacement from
the stream ``(seed, "audit.sample", <stratum>)`` (:func:`synthetic.rng.stream`), so that adding
a stratum never changes the sample of another. A sample of the queries the agency did *not* link
(to estimate the missed matches the same way) draws from streams of its own
(:data:`UNLINKED_STREAM`), so that adding it never changes the sample of the links.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from synthetic.rng import stream

#: Reviews each stratum gets at least (its variance needs two).
MIN_PER_STRATUM = 2
#: A prior rate is clipped into [PRIOR_FLOOR, 1 - PRIOR_FLOOR]: a prior of exactly 0 would
#: allocate nothing beyond the minimum to a stratum whose rate is merely believed small.
PRIOR_FLOOR = 0.01
#: Named streams of the draws and of the forms' order: declared links, unlinked queries.
LINKS_STREAM, LINKS_ORDER_STREAM = "audit.sample", "audit.form-order"
UNLINKED_STREAM, UNLINKED_ORDER_STREAM = "audit.unlinked.sample", "audit.unlinked.form-order"


@dataclass(frozen=True)
class Stratum:
    """One stratum of the plan: its label, declared links ``size``, reviews ``sample`` and the
    prior wrong-person rate the allocation used (None: no prior)."""

    label: str
    size: int
    sample: int
    prior: float | None


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 for 0.95)."""
    return float(norm.ppf(0.5 + confidence / 2))


def _unit_sd(p: float, size: int) -> float:
    """``S_h`` of a stratum of ``size`` links with wrong-person rate ``p``."""
    if size < 2:
        return 0.0
    return math.sqrt(p * (1 - p) * size / (size - 1))


def planned_variance(sizes: Sequence[int], samples: Sequence[int], rates: Sequence[float]) -> float:
    """``V`` of the module docstring for the given sizes, sample sizes and rates."""
    total = sum(sizes)
    v = 0.0
    for n_pop, n, p in zip(sizes, samples, rates, strict=True):
        if n == 0 or n >= n_pop:
            continue
        w = n_pop / total
        v += w * w * (1 - n / n_pop) * _unit_sd(p, n_pop) ** 2 / n
    return v


def total_sample_size(
    sizes: Sequence[int], rates: Sequence[float], margin: float, confidence: float, neyman: bool
) -> float:
    """The (real-valued) total sample size that meets ``margin`` at ``confidence`` under
    Neyman (``neyman``) or proportional allocation, before rounding and minimums."""
    total = sum(sizes)
    v0 = (margin / z_value(confidence)) ** 2
    w = [n_pop / total for n_pop in sizes]
    s = [_unit_sd(p, n_pop) for p, n_pop in zip(rates, sizes, strict=True)]
    fpc = sum(wh * sh * sh for wh, sh in zip(w, s, strict=True)) / total
    if neyman:
        num = sum(wh * sh for wh, sh in zip(w, s, strict=True)) ** 2
    else:
        num = sum(wh * sh * sh for wh, sh in zip(w, s, strict=True))
    return num / (v0 + fpc)


def _round_allocation(
    shares: np.ndarray, n: int, caps: np.ndarray, floor: np.ndarray
) -> np.ndarray:
    """Integers within ``[floor, caps]`` summing to ``n`` (at least ``floor.sum()``, at most
    ``caps.sum()``), close to ``n * shares``: each further review goes to the stratum furthest
    below its share (what a capped stratum cannot take goes to the others)."""
    n = int(min(n, caps.sum()))
    out = np.maximum(floor, np.minimum(caps, np.floor(n * shares))).astype(np.int64)
    while out.sum() < n:
        deficit = np.where(out < caps, n * shares - out, -np.inf)
        out[int(np.argmax(deficit))] += 1
    return out


def allocate(
    strata: Mapping[str, int],
    margin: float,
    confidence: float,
    priors: Mapping[str, float] | None = None,
) -> list[Stratum]:
    """Sample sizes per stratum (label -> declared links) for ``margin`` on the total share at
    ``confidence``: Neyman with ``priors`` (label -> prior rate), proportional without."""
    labels = sorted(strata)
    sizes = [strata[label] for label in labels]
    neyman = priors is not None
    rates = [
        min(max(priors[label], PRIOR_FLOOR), 1 - PRIOR_FLOOR) if priors is not None else 0.5
        for label in labels
    ]
    n = math.ceil(total_sample_size(sizes, rates, margin, confidence, neyman) - 1e-9)
    caps = np.array(sizes, dtype=np.int64)
    floor = np.minimum(caps, MIN_PER_STRATUM)
    weight = np.array(
        [
            n_pop * (_unit_sd(p, n_pop) if neyman else 1.0)
            for n_pop, p in zip(sizes, rates, strict=True)
        ]
    )
    if weight.sum() == 0:
        weight = caps.astype(float)
    counts = _round_allocation(weight / weight.sum(), max(n, int(floor.sum())), caps, floor)
    # Rounding and the minimums may leave the margin just short: add reviews where they help most.
    while (
        z_value(confidence) * math.sqrt(planned_variance(sizes, counts.tolist(), rates)) > margin
        and counts.sum() < caps.sum()
    ):
        gain = [
            planned_variance([s], [c], [p]) - planned_variance([s], [c + 1], [p]) if c < s else -1.0
            for s, c, p in zip(sizes, counts.tolist(), rates, strict=True)
        ]
        counts[int(np.argmax(np.array(gain) * np.square(caps / caps.sum())))] += 1
    return [
        Stratum(label, size, int(c), priors[label] if priors is not None else None)
        for label, size, c in zip(labels, sizes, counts, strict=True)
    ]


def expected_margin(plan: Sequence[Stratum], confidence: float) -> float:
    """The half-width the plan's sizes give on the total share when every stratum's rate is its
    prior (1/2 without priors)."""
    rates = [
        0.5 if s.prior is None else min(max(s.prior, PRIOR_FLOOR), 1 - PRIOR_FLOOR) for s in plan
    ]
    variance = planned_variance([s.size for s in plan], [s.sample for s in plan], rates)
    return z_value(confidence) * math.sqrt(variance)


def draw(label: str, size: int, sample: int, seed: int, name: str = LINKS_STREAM) -> np.ndarray:
    """The sorted positions (0-based, within the stratum's sorted links) of the stratum's
    sample, drawn from the stream ``name``."""
    rng = stream(seed, name, label)
    return np.sort(rng.choice(size, size=sample, replace=False))


def form_order(n: int, seed: int, name: str = LINKS_ORDER_STREAM) -> np.ndarray:
    """The order in which the form lists the ``n`` sampled links: shuffled, so that the
    reviewer does not see them grouped by stratum (e.g. by match path)."""
    return stream(seed, name).permutation(n)
