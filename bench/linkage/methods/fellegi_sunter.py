"""Fellegi-Sunter with EM on comparison-pattern counts, estimated the way Splink does.

Two-class EM fitted directly on blocked candidates latches onto the strongest dependence in
them (members of one household agree on surname and address), not onto identity. So:

1. **u** (agreement among non-matches) is measured on uniformly random record pairs, which are
   almost all non-matches.
2. **m** (agreement among matches) is estimated by EM, with u fixed, in *training sessions*:
   pairs joined on a training block (e.g. first + last name; date of birth), leaving out the
   fields of that block; each field's m is averaged over the sessions that estimate it.
3. **lambda** (the share of matches among all pairs) is the fixed point of EM over the full
   pair space, non-candidates counting as non-matches.

A candidate's score is its posterior match probability; it is accepted at ``threshold``. EM runs
on the counts of distinct comparison vectors (fastLink-style), never per pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import numpy as np

from bench.linkage.blocking import validate_blocking
from bench.linkage.comparisons import (
    COMPARISONS,
    DEFAULT_FIELDS,
    compare,
    validate_fields,
)
from bench.linkage.em import (
    FSModel,
    Patterns,
    fit_em,
    full_space_lambda,
    level_frequencies,
    patterns,
    sliced_patterns,
)
from bench.linkage.fields import COMPOSITES, PreparedTask
from bench.linkage.kernels import positions_in
from bench.linkage.methods.base import Candidates, Method, Param, Scored, register
from bench.linkage.stages import stage
from synthetic.errors import ConfigError
from synthetic.precision import exp2_array, log2

#: Candidate pairs compared at a time (:meth:`FellegiSunter.score`): only a slice's levels are
#: held, besides each pair's pattern code.
SLICE_PAIRS = 4_000_000
#: Decimals of the published match-weight terms (:meth:`FellegiSunter.explain`).
WEIGHT_DECIMALS = 6

DEFAULT_TRAINING_BLOCKS = [
    [{"field": "first_name"}, {"field": "last_name"}],
    [{"field": "dob"}],
]


@register
class FellegiSunter(Method):
    """Unsupervised FS model; accepts pairs whose posterior match probability reaches threshold."""

    kind = "fellegi-sunter"
    summary = "Fellegi-Sunter: u from random pairs, m by EM in blocked sessions (numpy)"
    threshold_param = "threshold"
    score_scale = "probability"
    explains = True
    posterior_scores = True
    params_schema: ClassVar[Mapping[str, Param]] = {
        "threshold": Param(
            0.9, "accept pairs with posterior match probability >= this", lo=0.0, hi=1.0
        ),
        "fields": Param(dict(DEFAULT_FIELDS), "field = comparison kind", validator=validate_fields),
        "training_blocks": Param(DEFAULT_TRAINING_BLOCKS, "blocks of the m-estimation sessions"),
        "u_sample": Param(1_000_000, "random pairs used to estimate u", lo=1000),
        "session_max_pairs": Param(
            1_000_000, "pairs per training session at most (a random subsample)", lo=1000
        ),
        "max_iter": Param(500, "EM iterations at most", lo=1),
    }

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = super().validate(params, where)
        blocks = validate_blocking({"passes": out["training_blocks"]}, f"{where}.training_blocks")
        estimated = set()
        for block in blocks:
            estimated |= set(out["fields"]) - _block_fields(block)
        if missing := sorted(set(out["fields"]) - estimated):
            raise ConfigError(
                f"{where}.training_blocks",
                f"field {missing[0]!r} is in every training block, so its m is never estimated",
            )
        return out

    def reads(self) -> frozenset[str]:
        blocks = validate_blocking({"passes": self.params["training_blocks"]}, "training_blocks")
        return frozenset(self.params["fields"]).union(f for block in blocks for f, _, _ in block)

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        fields = self.params["fields"]
        q, r = candidates.query_row, candidates.register_row

        def levels_of(at: slice) -> np.ndarray:
            return compare(prep, fields, q[at], r[at], levels_only=True).levels

        # Every quantity below is a function of the comparison pattern: it is computed once per
        # distinct pattern (a few hundred) and gathered back to the pairs, which keep only
        # their pattern's code (the levels are compared a slice at a time).
        n_levels = [COMPARISONS[kind].n_levels for kind in fields.values()]
        pat = sliced_patterns(len(q), n_levels, levels_of, SLICE_PAIRS)
        model = self.estimate(prep, (candidates, pat))
        with stage("scoring"):
            bf = exp2_array(model.log2_bayes_factor(pat.levels))
            lam = full_space_lambda(bf, prep.n_query * prep.n_register, model.lam, pat.counts)
            self.model = FSModel(lam, model.m, model.u, model.iterations, model.converged)
            prob = pat.per_pair(self.model.match_probability(pat.levels).astype(np.float32))
            accept = prob >= self.params["threshold"]
        return Scored(candidates.query_row, candidates.register_row, prob, accept)

    def explain(
        self, prep: PreparedTask, query_row: np.ndarray, register_row: np.ndarray
    ) -> list[list[tuple[str, int, str, float]]]:
        """Each pair's match weight term by term: the prior log2(lambda / (1 - lambda)), then
        log2(m / u) of each field's agreement level (0 for a missing value), with the model
        fitted by the last :meth:`score`."""
        model = getattr(self, "model", None)
        if model is None:
            raise RuntimeError("explain() needs a model: call score() first")
        fields = self.params["fields"]
        vec = compare(
            prep, fields, np.asarray(query_row), np.asarray(register_row), levels_only=True
        )
        # The terms are published (raw/explanations.parquet) and the fitted m and u differ in
        # their last digits from one CPU to another: a millionth of a bit (6 decimals) keeps
        # every term the same anywhere, far below what the waterfall shows.
        prior = round(log2(model.lam / (1 - model.lam)), WEIGHT_DECIMALS)
        out = []
        for levels in vec.levels:
            terms = [("prior", -1, "share of matches among all pairs", prior)]
            for j, (field, kind) in enumerate(zip(vec.fields, vec.kinds, strict=True)):
                lv = int(levels[j])
                if lv < 0:
                    terms.append((field, -1, "missing", 0.0))
                else:
                    weight = round(log2(model.m[j][lv] / model.u[j][lv]), WEIGHT_DECIMALS)
                    terms.append((field, lv, kind.labels[lv], weight))
            out.append(terms)
        return out

    def estimate(
        self, prep: PreparedTask, compared: tuple[Candidates, Patterns] | None = None
    ) -> FSModel:
        """u from random pairs, m from the training sessions (lambda is a starting value).
        ``compared``: candidate pairs already compared, with their patterns, whose levels a
        training session takes instead of comparing those pairs again."""
        fields = self.params["fields"]
        n_levels = [COMPARISONS[kind].n_levels for kind in fields.values()]
        # A session's pairs and levels do not depend on u: a worker thread prepares them while
        # this one estimates u (both are partly serial: drawing, sampling, counting).
        with ThreadPoolExecutor(max_workers=1) as pool:
            sessions = pool.submit(self._sessions, prep, compared)
            with stage("u estimation"):
                qi, ri = prep.random_pairs(self.params["u_sample"], "fellegi-sunter", self.name)
                rand = compare(prep, fields, qi, ri, levels_only=True)
                u = level_frequencies(rand.levels, n_levels)
            with stage("EM training"):
                return self._fit_m(prep, sessions.result(), u, n_levels)

    def _sessions(
        self, prep: PreparedTask, compared: tuple[Candidates, Patterns] | None
    ) -> list[tuple[Patterns, list[bool]]]:
        """Each training session's comparison patterns and the fields it estimates."""
        fields = self.params["fields"]
        out = []
        blocks = validate_blocking({"passes": self.params["training_blocks"]}, "training_blocks")
        for block in blocks:
            index = prep.key_index(block)
            total = int(index.counts().sum())
            if total > self.params["session_max_pairs"]:  # subsample, deterministically
                # only the chosen pairs of the join are built
                sq, sr = index.pairs_at(session_sample(total, self.params["session_max_pairs"]))
            else:
                sq, sr = index.pairs()
            if len(sq) == 0:
                continue
            blocked = _block_fields(block)
            # The fields a session is blocked on carry no information there: not compared.
            levels = _session_levels(prep, fields, sq, sr, frozenset(blocked), compared)
            out.append((patterns(levels), [f not in blocked for f in fields]))
        return out

    def _fit_m(
        self,
        prep: PreparedTask,
        sessions: list[tuple[Patterns, list[bool]]],
        u: list[np.ndarray],
        n_levels: list[int],
    ) -> FSModel:
        """m by EM in the training sessions, u fixed (see :meth:`estimate`)."""
        estimates: list[list[np.ndarray]] = [[] for _ in n_levels]
        iterations, converged = 0, True
        for pat, active in sessions:
            fit = fit_em(pat, n_levels, fixed_u=u, active=active, max_iter=self.params["max_iter"])
            iterations += fit.iterations
            converged &= fit.converged
            for j, on in enumerate(active):
                if on:
                    estimates[j].append(fit.m[j])
        m = [
            np.mean(e, axis=0) if e else np.full(n, 1.0 / n)
            for e, n in zip(estimates, n_levels, strict=True)
        ]
        lam0 = min(prep.n_query, prep.n_register) / max(prep.n_query * prep.n_register, 1)
        return FSModel(lam0, m, u, iterations, converged)


def _session_levels(
    prep: PreparedTask,
    fields: Mapping[str, str],
    sq: np.ndarray,
    sr: np.ndarray,
    skip: frozenset[str],
    compared: tuple[Candidates, Patterns] | None,
) -> np.ndarray:
    """A session's comparison levels (``skip`` fields -1). A training block is often a blocking
    pass, so most of its pairs are candidates already compared the same way (levels only, on
    ``fields``): their levels are taken from their patterns, and only the others are
    compared."""
    if compared is None:
        return compare(prep, fields, sq, sr, levels_only=True, skip=skip).levels
    cands, pat = compared
    assert pat.levels.shape[1] == len(fields)
    with stage("comparisons"):
        at = positions_in(cands.query_row, cands.register_row, sq, sr)
        known = np.flatnonzero(at >= 0)
        levels = np.full((len(sq), len(fields)), -1, dtype=np.int8, order="F")
        given = pat.pair_levels(at[known])
        for j, field in enumerate(fields):
            if field not in skip:
                levels[known, j] = given[:, j]
    if len(known) < len(sq):
        rest = np.flatnonzero(at < 0)
        levels[rest] = compare(prep, fields, sq[rest], sr[rest], levels_only=True, skip=skip).levels
    return levels


def session_sample(total: int, size: int) -> np.ndarray:
    """The positions, ascending, of the ``size`` pairs a training session keeps of ``total``:
    a choice without replacement seeded by ``total``, put in order by a mask (no sort). The
    choice keeps numpy's default ``shuffle=True``: the shuffle only reorders the chosen
    positions, but the flag also decides which algorithm chooses them (and so which set)."""
    keep = np.zeros(total, dtype=bool)
    keep[np.random.default_rng(total).choice(total, size, replace=False)] = True
    return np.flatnonzero(keep)


def _block_fields(block: list[tuple[str, str, dict]]) -> set[str]:
    """Record fields a block constrains (composites expand to their parts)."""
    out: set[str] = set()
    for field, _, _ in block:
        out |= set(COMPOSITES.get(field, (field,)))
    return out
