"""The analytic estimate: a pass's collision probability times its geographic and household
factors."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.linkage.fields import matches_pattern
from bench.scale.projection.keys import PassSpec, Target
from bench.scale.projection.strata import _Adults
from synthetic import names as N
from synthetic.scenario import ScenarioConfig


# ----------------------------------------------------------------- geography, households
@dataclass(frozen=True)
class PassPieces:
    """What a population contributes to a pass's analytic rate (see :func:`analytic_rate`).

    p_geo: P(two adults of different households share the pass's address keys) (1: none).
    h_unit: mean number of *other* adults of the list person's household sharing the whole
        key (list-weighted by group), before the chance that they are in the register.
    filt: share of records passing the pass's filter conditions (presence, pattern).
    """

    p_geo: float
    geo_scales: bool
    h_unit: float
    filt: float


def pass_pieces(
    adults: _Adults, spec: PassSpec, scenario: ScenarioConfig, mix: np.ndarray | None = None
) -> PassPieces:
    """Measure a pass's geographic factor, household term and filter share on a population
    (the household term weighted by the list's group ``mix``, by default the scenario's)."""
    hh = adults.household
    geo = [k for k in spec.keys if k.geo]
    p_geo, scales = 1.0, False
    if geo:
        v = adults.codes(geo)
        ok = v >= 0
        n_v = np.bincount(v[ok]).astype(np.float64)
        n_h = np.bincount(hh[ok]).astype(np.float64)  # members of a household share an address
        n = float(ok.sum())
        p_geo = float(((n_v**2).sum() - (n_h**2).sum()) / (n**2 - (n_h**2).sum()))
        scales = any(k.field != "state" for k in geo)  # ZIPs, streets grow with the population
    # household term: other adults of the same household with the same whole key
    key = adults.codes(spec.keys)
    ok = (key >= 0) & adults.register_ok
    codes, uniq = pd.factorize(hh * np.int64(key.max() + 2) + key + 1)
    same = np.bincount(codes[ok], minlength=len(uniq)).astype(np.float64)
    others = same[codes] - ok  # exclude the person themself
    others[key < 0] = 0.0
    mix = adults.list_weights_by_group(scenario) if mix is None else mix
    lo = adults.list_ok
    per_group = np.bincount(adults.group[lo], weights=others[lo], minlength=len(N.GROUPS))
    n_group = np.bincount(adults.group[lo], minlength=len(N.GROUPS))
    h_unit = float(mix @ np.divide(per_group, n_group, out=np.zeros(len(mix)), where=n_group > 0))
    filt = 1.0
    for f in spec.filters:
        coded = adults.prep.field(f["field"])
        if f["compare"] in ("present", "absent"):
            hit = (coded.q >= 0) == (f["compare"] == "present")
        else:
            hit = matches_pattern(coded, f["regex"])[0]
        # the same share on each side it applies to (clean records of the same population)
        filt *= float(hit.mean()) ** (2 if f["side"] == "both" else 1)
    return PassPieces(p_geo, scales, h_unit, filt)


def analytic_rate(
    passes: Sequence[PassSpec],
    p_names: Sequence[float],
    pieces: Sequence[PassPieces],
    *,
    target: Target,
    population: int,
    adult_share: float,
    mated: float,
    reach: Sequence[float] | None = None,
    presence: Sequence[float] | None = None,
) -> tuple[float, float, list[float]]:
    """Expected (false matches per query, misses per query, per-pass FP per query) at ``target``.

    Per pass: ``filt x [h_unit x P(in register) + (M - mated) x P(names) x P(geo)]`` with
    P(in register) = M / (target population x adult share) and P(geo) measured on a population
    of ``population`` people, scaled by population / target population for ZIP and address keys.
    A cascade's later passes see only queries not linked before (``reach``; by default: clean
    keys link every mated query at its first pass, and a query with a false match is linked).
    ``presence`` multiplies each pass (share of pairs with the key present on both sides).
    """
    m_total = target.n_register
    in_reg = min(1.0, m_total / (target.population * adult_share))
    share, mated_left, missed, fp, per_pass = 1.0, mated, mated, 0.0, []
    for k, (_, pn, pc) in enumerate(zip(passes, p_names, pieces, strict=True)):
        p_geo = pc.p_geo * (population / target.population if pc.geo_scales else 1.0)
        rate = pc.filt * (pc.h_unit * in_reg + max(m_total - mated_left, 0.0) * pn * p_geo)
        if presence is not None:
            rate *= presence[k]
        r = reach[k] if reach is not None else share
        per_pass.append(r * rate)
        fp += r * rate
        # clean keys: a mated query's true pair agrees on every key (if it passes the filters)
        a = pc.filt
        linked = mated_left * a + (1 - mated_left * a) * (1 - math.exp(-rate))
        mated_left = mated_left * (1 - a) / max(1 - mated_left * a, 1e-300)
        missed *= 1 - a
        share *= 1 - linked
    return fp, missed, per_pass
