"""Design-based estimates of wrong-person links from a reviewed stratified sample.

Per stratum ``h`` (``N_h`` declared links, ``n_h`` reviewed, ``d_h`` judged *different people*,
``c_h`` *cannot tell*), the share of wrong-person links is estimated by ``p_h = d_h / n_h`` and
the total share by ``p = sum_h W_h p_h`` (``W_h = N_h / N``), with the finite-population
corrected variance ``v = sum_h W_h^2 (1 - n_h/N_h) s_h^2 / n_h``, ``s_h^2 = n_h p_h (1 - p_h) /
(n_h - 1)`` (Cochran 5.9). Counts are ``N_h p_h`` and ``N p``.

Intervals are Wilson score intervals on an *effective sample size* (Korn and Graubard 1998,
"Confidence intervals for proportions with small expected number of positive counts estimated
from survey data"; Dean and Pagano 2015 compare such intervals for stratified samples): a Wald
interval ``p +- z sqrt(v)`` covers badly when wrong links are rare (with none in the sample it
is the single point 0), while Wilson's interval stays sensible at 0 and near it. The effective
size is ``n* = p (1 - p) / v``, the size of a simple random sample with the same variance; it
carries the finite-population correction (``n* = n (N - 1) / (N - n)`` for one stratum, infinite
for a census) and the stratification. When ``p`` is 0 or 1 (``v`` is 0), ``n*`` falls back to
that single-stratum formula over the whole sample. A stratum alone uses its own ``n*``. The
coverage of these intervals on known truth is what :mod:`bench.audit.simulate` measures.

Every interval is then kept within what the review itself proves: at least the links judged
*different* are wrong and at least those judged *same* are right (in a small stratum reviewed
almost whole, this is most of the information).

*Cannot tell* verdicts are carried three ways: as bounds (all of them right: the lower end; all
of them wrong: the upper end, each with its sampling interval), and as an estimate under the
assumption that they are *missing at random within their stratum*: the stratum's share among
the links the reviewers could judge (``d_h / (n_h - c_h)``, the sample reduced to those links).

The missed matches are estimated the same way from a sample of the queries the agency did *not*
link: ``d_h`` counts those a reviewer found *in the register* (a missed match), and every
formula above holds with "unlinked query" for "declared link".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bench.audit.design import z_value

#: The reviewer's verdicts on the form.
SAME, DIFFERENT, CANNOT_TELL = "same", "different", "cannot_tell"
VERDICTS = (SAME, DIFFERENT, CANNOT_TELL)
#: The verdicts on an unlinked query (a reviewer searched the register for its person).
IN_REGISTER, NOT_IN_REGISTER = "in_register", "not_in_register"
UNLINKED_VERDICTS = (IN_REGISTER, NOT_IN_REGISTER, CANNOT_TELL)


@dataclass(frozen=True)
class Tally:
    """One stratum's reviews: declared links ``size``, ``reviewed``, ``different`` and
    ``cannot_tell`` among them (for unlinked queries: ``different`` counts those found in the
    register)."""

    label: str
    size: int
    reviewed: int
    different: int
    cannot_tell: int = 0


@dataclass(frozen=True)
class Share:
    """An estimated share of wrong-person links with its interval (NaN: not estimable)."""

    share: float
    low: float
    high: float


def wilson(p: float, n_eff: float, z: float) -> tuple[float, float]:
    """Wilson's score interval for a share ``p`` observed on an effective ``n_eff`` (infinite:
    the share is known exactly)."""
    if math.isinf(n_eff):
        return p, p
    if n_eff <= 0:
        return 0.0, 1.0
    z2 = z * z
    centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
    half = z * math.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff * n_eff)) / (1 + z2 / n_eff)
    # at p = 0 (or 1) the end is exactly 0 (or 1); rounding must not move it
    low = 0.0 if p <= 0 else max(0.0, centre - half)
    high = 1.0 if p >= 1 else min(1.0, centre + half)
    return low, high


def _srs_effective(n: int, size: int) -> float:
    """Effective size of a simple random sample of ``n`` of ``size`` (finite-population
    corrected; infinite for a census)."""
    if n >= size:
        return math.inf
    return n * (size - 1) / (size - n)


def stratified_share(
    sizes: Sequence[int], reviewed: Sequence[int], wrong: Sequence[int], confidence: float
) -> Share:
    """The share of wrong links over all strata, with its interval (module docstring)."""
    total = sum(sizes)
    z = z_value(confidence)
    p = 0.0
    v = 0.0
    for n_pop, n, d in zip(sizes, reviewed, wrong, strict=True):
        if n == 0:
            return Share(math.nan, math.nan, math.nan)
        w = n_pop / total
        ph = d / n
        p += w * ph
        if n < n_pop:
            s2 = n * ph * (1 - ph) / (n - 1) if n > 1 else 0.25  # one review: the largest
            v += w * w * (1 - n / n_pop) * s2 / n
    # a census, or no variance seen: the whole sample's simple-random-sampling size
    n_eff = p * (1 - p) / v if v > 0 and 0 < p < 1 else _srs_effective(sum(reviewed), total)
    low, high = wilson(p, n_eff, z)
    return Share(p, low, high)


@dataclass(frozen=True)
class Estimate:
    """Wrong-person links of one stratum (or of all): declared ``size``, the share under the
    missing-at-random assumption (``mar``), and the bounds with *cannot tell* all right
    (``low``: its lower end) and all wrong (``high``: its upper end)."""

    label: str
    size: int
    reviewed: int
    different: int
    cannot_tell: int
    mar: Share
    cannot_tell_right: Share
    cannot_tell_wrong: Share

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval that holds whatever the *cannot tell* links are (it also holds the
        missing-at-random interval, whose smaller sample may make it wider)."""
        low, high = self.cannot_tell_right.low, self.cannot_tell_wrong.high
        if not math.isnan(self.mar.share):
            low, high = min(low, self.mar.low), max(high, self.mar.high)
        return low, high


def _known(share: Share, size: int, wrong: int, right: int) -> Share:
    """``share`` with its interval kept within what the review proves: at least ``wrong`` of
    the ``size`` links are wrong and at least ``right`` are right (this matters in small
    strata, where the sample is much of the stratum)."""
    if math.isnan(share.share) or size == 0:
        return share
    lo, hi = wrong / size, 1 - right / size
    return Share(share.share, min(max(share.low, lo), hi), max(min(share.high, hi), lo))


def _estimate(label: str, tallies: Sequence[Tally], confidence: float) -> Estimate:
    sizes = [t.size for t in tallies]
    reviewed = [t.reviewed for t in tallies]
    judged = [t.reviewed - t.cannot_tell for t in tallies]
    different = [t.different for t in tallies]
    with_ct = [t.different + t.cannot_tell for t in tallies]
    size, wrong = sum(sizes), sum(different)
    right = sum(judged) - wrong
    return Estimate(
        label=label,
        size=size,
        reviewed=sum(reviewed),
        different=wrong,
        cannot_tell=sum(t.cannot_tell for t in tallies),
        mar=_known(stratified_share(sizes, judged, different, confidence), size, wrong, right),
        cannot_tell_right=_known(
            stratified_share(sizes, reviewed, different, confidence), size, wrong, right
        ),
        cannot_tell_wrong=_known(
            stratified_share(sizes, reviewed, with_ct, confidence), size, wrong, right
        ),
    )


def estimate(tallies: Sequence[Tally], confidence: float) -> list[Estimate]:
    """One :class:`Estimate` per stratum, then the total (label ``all``)."""
    per = [_estimate(t.label, [t], confidence) for t in tallies]
    return [*per, _estimate("all", tallies, confidence)]
