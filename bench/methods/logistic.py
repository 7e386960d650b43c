"""Supervised logistic regression on comparison levels, trained on a separately seeded scenario.

The training task is the same scenario drawn with a different seed (a different population), so
no record or label of the evaluated task is ever seen in training.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.comparisons import DEFAULT_FIELDS, ComparisonVectors, compare, validate_fields
from bench.fields import PreparedTask
from bench.methods.base import Candidates, Method, Param, Scored, register
from synthetic.errors import LinkriskError


def _design(vec: ComparisonVectors) -> np.ndarray:
    """One-hot encode each field's level, with missing as its own category."""
    cols = []
    for j, kind in enumerate(vec.kinds):
        lv = vec.levels[:, j]
        cols.extend((lv == level).astype(np.float32) for level in range(-1, kind.n_levels))
    return np.column_stack(cols) if cols else np.zeros((len(vec.levels), 0), np.float32)


@register
class Logistic(Method):
    """scikit-learn LogisticRegression on one-hot comparison levels."""

    kind = "logistic"
    summary = (
        "supervised logistic regression trained on a separately seeded scenario "
        "(optimistic: agencies rarely have such labels)"
    )
    needs_training = True
    params_schema: ClassVar[Mapping[str, Param]] = {
        "threshold": Param(0.5, "accept pairs with predicted probability >= this", lo=0.0, hi=1.0),
        "fields": Param(dict(DEFAULT_FIELDS), "field = comparison kind", validator=validate_fields),
        "C": Param(1.0, "inverse L2 regularisation strength", lo=1e-6),
    }

    def fit(self, train: PreparedTask, candidates: Candidates, labels: np.ndarray) -> None:
        vec = compare(train, self.params["fields"], candidates.query_row, candidates.register_row)
        if labels.all() or not labels.any():
            raise LinkriskError(
                f"method {self.name!r}: the training task's candidate pairs are all "
                f"{'matches' if labels.all() else 'non-matches'}; a supervised model needs both "
                "(raise query.size or share_in_register, or widen blocking)"
            )
        self.model = LogisticRegression(C=self.params["C"], max_iter=2000)
        self.model.fit(_design(vec), labels.astype(np.int8))

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        vec = compare(prep, self.params["fields"], candidates.query_row, candidates.register_row)
        if len(candidates) == 0:
            prob = np.zeros(0, dtype=np.float32)
        else:
            prob = self.model.predict_proba(_design(vec))[:, 1].astype(np.float32)
        accept = prob >= self.params["threshold"]
        return Scored(candidates.query_row, candidates.register_row, prob, accept)
