"""recordlinkage's ECMClassifier on the same comparison vectors, for a side-by-side check.

The ECM classifier takes binary features, so each field is reduced to "agrees exactly" (1) or
not (0; a missing value counts as disagreement, as recordlinkage's ``missing_value=0``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd

from bench.linkage.comparisons import DEFAULT_FIELDS, compare, validate_fields
from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method, Param, Scored, register

_LOG_FLOOR = float(np.log(1e-12))


@register
class ECM(Method):
    """recordlinkage.ECMClassifier (expectation-conditional maximisation) on binary agreement."""

    kind = "ecm"
    summary = "recordlinkage ECMClassifier on binary exact-agreement vectors"
    threshold_param = "threshold"
    score_scale = "probability"
    params_schema: ClassVar[Mapping[str, Param]] = {
        "threshold": Param(0.5, "accept pairs with match probability >= this", lo=0.0, hi=1.0),
        "fields": Param(dict(DEFAULT_FIELDS), "field = comparison kind", validator=validate_fields),
    }

    def reads(self) -> frozenset[str]:
        return frozenset(self.params["fields"])

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        # only the top level (exact agreement) is read: levels alone, as Fellegi-Sunter's
        q, r = candidates.query_row, candidates.register_row
        vec = compare(prep, self.params["fields"], q, r, levels_only=True)
        top = np.array([k.n_levels - 1 for k in vec.kinds], dtype=np.int8)
        features = pd.DataFrame((vec.levels == top).astype(np.int8), columns=list(vec.fields))
        if len(features) == 0:
            empty = np.zeros(0, dtype=np.float32)
            return Scored(candidates.query_row, candidates.register_row, empty, empty.astype(bool))
        # imported here: recordlinkage (with scikit-learn) takes ~1 s to import
        import recordlinkage

        ecm = recordlinkage.ECMClassifier(binarize=None)
        with np.errstate(divide="ignore", invalid="ignore"):
            ecm.fit(features)
        # A level never seen in one class gets log(0) = -inf, and 0 * -inf poisons the scores
        # with NaN (perfectly separated data); floor the log-probabilities instead.
        kernel = ecm.kernel
        kernel.feature_log_prob_ = np.maximum(
            np.nan_to_num(kernel.feature_log_prob_, nan=_LOG_FLOOR), _LOG_FLOOR
        )
        prob = ecm.prob(features).to_numpy(dtype=np.float32)
        accept = prob >= self.params["threshold"]
        return Scored(candidates.query_row, candidates.register_row, prob, accept)
