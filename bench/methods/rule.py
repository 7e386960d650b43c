"""Deterministic rules and cascades of rules, declared as conditions on fields.

A rule is a list of *passes*; each pass is a list of conditions that must all hold. Passes run in
order and a query linked by an earlier pass is not considered by later ones (a cascade, as in the
Census Bureau's PVS). Conditions:

* key conditions, ``{field, compare = exact | first_n (n) | initial | soundex | metaphone | year |
  digits}``: both sides' keys are equal. These are evaluated as a join over *all* record pairs,
  never only over blocked candidates, so a rule is judged on everything it would match.
* ``{field, compare = "jw", min = 0.9}``: Jaro-Winkler similarity at least ``min``.
* ``{field, compare = "present", side = "both"}``: the field is not missing on that side.
* ``{field, compare = "pattern", regex = "\\d{5}", side = "query"}``: the normalized value
  contains a match of ``regex`` on that side. Patterns are RE2 syntax, matched in linear time
  (:mod:`bench.patterns`): no backreferences or lookaround.

A pass without any key condition falls back to the scenario's blocked candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bench.blocking import validate_passes
from bench.fields import (
    COMPOSITES,
    TRANSFORMS,
    PreparedTask,
    combine,
    jaro_winkler,
    join,
    matches_pattern,
    validate_key,
)
from bench.methods.base import Candidates, Method, Param, Scored, register
from bench.patterns import compile_pattern
from synthetic.errors import ConfigError
from synthetic.scenario import RECORD_FIELDS

FILTERS = ("jw", "present", "pattern")
SIDES = ("both", "query", "register")


def _validate_condition(cond: Any, where: str) -> dict[str, Any]:
    if not isinstance(cond, Mapping):
        raise ConfigError(where, "a condition must be a table like {field = ..., compare = ...}")
    compare = cond.get("compare", "exact")
    if compare in TRANSFORMS:
        field, transform, params = validate_key(cond, where)
        return {"field": field, "compare": transform, **params}
    if compare not in FILTERS:
        known = ", ".join((*TRANSFORMS, *FILTERS))
        raise ConfigError(f"{where}.compare", f"unknown condition {compare!r} ({known})")
    allowed = {"jw": {"min"}, "present": {"side"}, "pattern": {"regex", "side"}}[compare]
    for key in cond:
        if key not in {"field", "compare", *allowed}:
            raise ConfigError(f"{where}.{key}", f"unknown parameter for compare={compare!r}")
    field = cond.get("field")
    if field not in (*RECORD_FIELDS, *COMPOSITES):
        raise ConfigError(f"{where}.field", f"unknown field {field!r}")
    out: dict[str, Any] = {"field": field, "compare": compare}
    if compare == "jw":
        t = cond.get("min")
        if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t <= 1:
            raise ConfigError(f"{where}.min", f"must be a number in [0, 1], got {t!r}")
        out["min"] = float(t)
    else:
        side = cond.get("side", "both")
        if side not in SIDES:
            raise ConfigError(f"{where}.side", f"must be one of {', '.join(SIDES)}")
        out["side"] = side
    if compare == "pattern":
        regex = cond.get("regex")
        compile_pattern(regex, f"{where}.regex")  # RE2: linear-time matching, refused here if not
        out["regex"] = regex
    return out


@register
class Rule(Method):
    """Deterministic rule (or cascade of rules) of exact, fuzzy, presence and pattern conditions."""

    kind = "rule"
    summary = "deterministic rule / cascade of conditions on fields"
    default_resolve = "all"
    example_params: ClassVar[Mapping[str, Any]] = {
        "passes": [[{"field": "first_name"}, {"field": "last_name"}, {"field": "dob"}]]
    }
    params_schema: ClassVar[Mapping[str, Param]] = {
        "passes": Param([], "list of passes; each a list of conditions that must all hold"),
        "max_pairs": Param(50_000_000, "refuse a join producing more pairs than this", lo=1),
    }

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        out = super().validate(params, where)
        out["passes"] = validate_passes(out["passes"], f"{where}.passes", _validate_condition)
        return out

    def uses_blocking(self) -> bool:
        return any(all(c["compare"] in FILTERS for c in p) for p in self.params["passes"])

    def paths(self) -> list[str]:
        """The passes, ``"1"``, ``"2"``, ...: a cascade's links counted by the pass that made
        them."""
        return [str(k + 1) for k in range(len(self.params["passes"]))]

    def path_of(self, score: np.ndarray) -> np.ndarray:
        """Pass k (from 0) scores ``n_passes - k`` (:meth:`score`)."""
        n_passes = len(self.params["passes"])
        return n_passes - np.rint(np.asarray(score, np.float64)).astype(np.int64)

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        linked = np.zeros(prep.n_query, dtype=bool)
        parts_q, parts_r, parts_s = [], [], []
        n_passes = len(self.params["passes"])
        for k, conds in enumerate(self.params["passes"]):
            keys = [c for c in conds if c["compare"] not in FILTERS]
            if keys:
                coded = [prep.key(c["field"], c["compare"], **_key_params(c)) for c in keys]
                try:
                    qi, ri = join(*combine(coded), max_pairs=self.params["max_pairs"])
                except ConfigError as exc:
                    raise ConfigError(f"method {self.name!r} pass {k + 1}", exc.problem) from None
            else:
                assert candidates is not None
                qi, ri = candidates.query_row, candidates.register_row
            keep = ~linked[qi]  # cascade: queries linked by an earlier pass are done
            for c in conds:
                if c["compare"] in FILTERS:
                    keep &= _filter(prep, c, qi, ri)
            qi, ri = qi[keep], ri[keep]
            linked[qi] = True
            parts_q.append(qi)
            parts_r.append(ri)
            # Earlier passes are stricter by design, so they score higher.
            parts_s.append(np.full(len(qi), float(n_passes - k), dtype=np.float32))
        q, r, s = (np.concatenate(p) for p in (parts_q, parts_r, parts_s))
        return Scored(q, r, s, np.ones(len(q), dtype=bool))


def _key_params(cond: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cond.items() if k not in ("field", "compare")}


def _filter(prep: PreparedTask, c: Mapping[str, Any], qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    coded = prep.field(c["field"])
    if c["compare"] == "jw":
        return np.nan_to_num(jaro_winkler(coded, qi, ri), nan=0.0) >= c["min"]
    if c["compare"] == "present":
        hit_q, hit_r = coded.q >= 0, coded.r >= 0
    else:
        hit_q, hit_r = matches_pattern(coded, c["regex"])
    side = c["side"]
    ok_q = hit_q[qi] if side in ("both", "query") else True
    ok_r = hit_r[ri] if side in ("both", "register") else True
    return np.logical_and(ok_q, ok_r)
