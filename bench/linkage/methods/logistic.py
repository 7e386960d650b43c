"""Supervised logistic regression on comparison levels, trained on a separately seeded scenario.

The training task is the same scenario drawn with a different seed (a different population), so
no record or label of the evaluated task is ever seen in training.

The model sees one-hot comparison levels, so it is fitted on the distinct (pattern, label) rows
weighted by their counts (the same likelihood as on every pair, far fewer rows) and scores each
distinct pattern once. Its scores must not depend on the CPU: the fit runs to a tight
tolerance and its coefficients are rounded (BLAS kernels stop a looser fit at different
points), the linear predictor is summed in a fixed order, and the logistic function uses
:func:`synthetic.precision.exp_array` instead of numpy's SIMD ``exp``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np

from bench.linkage.comparisons import DEFAULT_FIELDS, Comparison, compare, validate_fields
from bench.linkage.fields import PreparedTask
from bench.linkage.methods.base import Candidates, Method, Param, Scored, register
from synthetic.errors import LinkriskError
from synthetic.precision import exp_array


def _design(levels: np.ndarray, kinds: Sequence[Comparison]) -> np.ndarray:
    """One-hot encode each field's level, with missing as its own category and the top level
    (agreement) as the reference: with the intercept a full one-hot is collinear, which leaves
    the fit ill-conditioned and its last digits to the BLAS kernel."""
    cols: list[np.ndarray] = []
    for j, kind in enumerate(kinds):
        lv = levels[:, j]
        cols.extend((lv == level).astype(np.float32) for level in range(-1, kind.n_levels - 1))
    return np.column_stack(cols) if cols else np.zeros((len(levels), 0), np.float32)


def _rounded(x: float) -> float:
    """8 significant digits: far below any effect on a probability, far above the spread
    between BLAS kernels at the fit's tolerance."""
    return float(format(float(x), ".8g"))


@register
class Logistic(Method):
    """scikit-learn LogisticRegression on one-hot comparison levels."""

    kind = "logistic"
    summary = (
        "supervised logistic regression trained on a separately seeded scenario "
        "(optimistic: agencies rarely have such labels)"
    )
    needs_training = True
    threshold_param = "threshold"
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
        rows, weight = np.unique(
            np.column_stack([vec.levels, labels.astype(vec.levels.dtype)]),
            axis=0,
            return_counts=True,
        )
        design = _design(rows[:, :-1], vec.kinds)
        # imported here: scikit-learn takes ~1 s to import, and most commands never fit
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(
            C=self.params["C"], solver="newton-cholesky", max_iter=1000, tol=1e-12
        )
        # float64: a float32 design makes scikit-learn fit in float32, whose last digits
        # depend on the kernel
        model.fit(
            design.astype(np.float64),
            rows[:, -1].astype(np.int8),
            sample_weight=weight.astype(np.float64),
        )
        self.intercept = _rounded(model.intercept_[0])
        self.coef = [_rounded(c) for c in model.coef_[0]]

    def _probability(self, design: np.ndarray) -> np.ndarray:
        """P(match) of each row of the design, the same on any CPU (module docstring)."""
        logit = np.full(len(design), self.intercept)
        for j, c in enumerate(self.coef):  # fixed order, exact IEEE operations
            logit += design[:, j].astype(np.float64) * c
        return 1.0 / (1.0 + exp_array(-np.clip(logit, -700.0, 700.0)))

    def reads(self) -> frozenset[str]:
        return frozenset(self.params["fields"])

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        assert candidates is not None
        vec = compare(prep, self.params["fields"], candidates.query_row, candidates.register_row)
        if len(candidates) == 0:
            prob = np.zeros(0, dtype=np.float32)
        else:
            patterns, inverse = np.unique(vec.levels, axis=0, return_inverse=True)
            design = _design(patterns, vec.kinds)
            prob = self._probability(design).astype(np.float32)[inverse.reshape(-1)]
        accept = prob >= self.params["threshold"]
        return Scored(candidates.query_row, candidates.register_row, prob, accept)
