"""Weighted Jaro-Winkler: a similarity-weighted average over fields with one threshold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bench.linkage.comparisons import compare, validate_fields
from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method, Param, Scored, register, weights
from synthetic.errors import ConfigError

# Surname and date of birth carry more identifying information than street or ZIP.
DEFAULT_WEIGHTS = {
    "first_name": 1.0,
    "last_name": 1.5,
    "dob": 1.5,
    "house_number": 0.5,
    "street": 0.5,
    "zip": 0.5,
}
#: Pairs scored at a time (:meth:`Fuzzy.score`).
SLICE_PAIRS = 4_000_000
KINDS = {
    "first_name": "name",
    "last_name": "name",
    "dob": "date",
    "house_number": "exact",
    "street": "name",
    "zip": "exact",
}


@register
class Fuzzy(Method):
    """Score = sum_f w_f * sim_f / sum_f w_f over fields present on both sides."""

    kind = "fuzzy"
    summary = "weighted Jaro-Winkler similarity over fields, one threshold"
    threshold_param = "threshold"
    params_schema: ClassVar[Mapping[str, Param]] = {
        "threshold": Param(0.85, "accept pairs scoring at least this", lo=0.0, hi=1.0),
        "weights": Param(
            dict(DEFAULT_WEIGHTS), "field = weight (fields compared)", validator=weights
        ),
        "fields": Param(dict(KINDS), "field = comparison kind", validator=validate_fields),
    }

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = super().validate(params, where)
        for f in out["weights"]:
            if f not in out["fields"]:
                raise ConfigError(f"{where}.weights.{f}", "field is not in `fields`")
        return out

    def reads(self) -> frozenset[str]:
        return frozenset(self.params["weights"])

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        qi, ri = candidates.query_row, candidates.register_row
        # A pair's score is its own: scored a slice of pairs at a time, the similarities (a
        # float per field and pair) are held for one slice, not for the ~135 million pairs of
        # the real size (where the whole took the run out of memory).
        score = np.empty(len(qi), dtype=np.float32)
        for at in range(0, len(qi), SLICE_PAIRS):
            part = slice(at, at + SLICE_PAIRS)
            score[part] = self._scores(prep, qi[part], ri[part])
        accept = score >= self.params["threshold"]
        return Scored(qi, ri, score, accept)

    def _scores(self, prep: PreparedTask, qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
        """The scores of the pairs ``(qi, ri)``."""
        fields = {f: self.params["fields"][f] for f in self.params["weights"]}
        vec = compare(prep, fields, qi, ri)
        assert vec.similarity is not None  # fuzzy fields all have a similarity
        w = np.array([self.params["weights"][f] for f in vec.fields], dtype=np.float32)
        present = ~np.isnan(vec.similarity)
        similarity = np.where(present, vec.similarity, 0.0)
        # Weighted sums field by field, in a fixed order: elementwise IEEE operations give the
        # same bits on every CPU, where a BLAS product (`@`) picks CPU-specific kernels whose
        # last bits differ, which flipped pairs at the threshold on generic kernels.
        num = np.zeros(len(similarity), dtype=np.float64)
        den = np.zeros(len(similarity), dtype=np.float64)
        for j, wj in enumerate(w.astype(np.float64).tolist()):
            num += similarity[:, j] * wj
            den += present[:, j] * wj
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / den, 0.0).astype(np.float32)
