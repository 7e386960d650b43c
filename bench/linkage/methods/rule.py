"""Deterministic rules and cascades of rules, declared as conditions on fields.

A rule is a list of *passes*; each pass is a list of conditions that must all hold. Passes run in
order and a query linked by an earlier pass is not considered by later ones (a cascade, as in the
Census Bureau's PVS). A pass may be *named*, ``{ name = "A: TIN + name control", conditions =
[...] }`` instead of a bare list (name every pass or none): each declared link then remembers the
pass (the *path*) that declared it, and the reports count links per path. Conditions:

* key conditions, ``{field, compare = exact | first_n (n) | name_control | initial | soundex |
  metaphone | year | digits}``: both sides' keys are equal. These are evaluated as a join over
  *all* record pairs, never only over blocked candidates, so a rule is judged on everything it
  would match. ``transpositions = 1`` on one key condition of a pass also accepts keys that
  differ by one swap of two adjacent characters (a mistyped identifier: ``{ field = "tin",
  transpositions = 1 }``), still as joins over all pairs (one per swap position). ``blank =
  "value"`` makes a blank key agree with a blank one, ``blank = "missing"`` never; the default is
  "value" for the house number (a numberless "MAIN ST" is the same address line on both sides,
  as agencies compare it) and "missing" otherwise (:data:`bench.linkage.fields.BLANK_DEFAULTS`).
* ``{field, compare = "jw", min = 0.9}``: Jaro-Winkler similarity at least ``min``.
* ``{field, compare = "present", side = "both"}``: the field is not missing on that side.
* ``{field, compare = "absent", side = "query"}``: the field is missing on that side (on both
  sides for ``both``): the complement of ``present``, e.g. "queries without a TIN".
* ``{field, compare = "pattern", regex = "\\d{5}", side = "query"}``: the normalized value
  contains a match of ``regex`` on that side. Patterns are RE2 syntax, matched in linear time
  (:mod:`bench.linkage.patterns`): no backreferences or lookaround.

A pass without any key condition falls back to the scenario's blocked candidates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from bench.linkage.blocking import MAX_PAIRS_LIMIT, validate_passes
from bench.linkage.fields import (
    TRANSFORMS,
    Coded,
    PreparedTask,
    combine,
    jaro_winkler,
    join,
    known_fields,
    matches_pattern,
    swap_variants,
    validate_key,
)
from bench.linkage.methods.base import Candidates, Method, Param, Scored, register
from bench.linkage.patterns import compile_pattern
from synthetic.arrays import unique_pairs
from synthetic.errors import ConfigError

FILTERS = ("jw", "present", "absent", "pattern")
SIDES = ("both", "query", "register")
#: Key-condition option: adjacent transpositions tolerated (0 or 1).
TRANSPOSITIONS = "transpositions"
#: Keys of a named pass.
PASS_KEYS = ("name", "conditions")


def _validate_condition(cond: Any, where: str) -> dict[str, Any]:
    if not isinstance(cond, Mapping):
        raise ConfigError(where, "a condition must be a table like {field = ..., compare = ...}")
    compare = cond.get("compare", "exact")
    if compare in TRANSFORMS:
        swaps = cond.get(TRANSPOSITIONS, 0)
        if isinstance(swaps, bool) or swaps not in (0, 1):
            raise ConfigError(f"{where}.{TRANSPOSITIONS}", f"must be 0 or 1, got {swaps!r}")
        field, transform, params = validate_key(
            {k: v for k, v in cond.items() if k != TRANSPOSITIONS}, where
        )
        return {
            "field": field,
            "compare": transform,
            **params,
            **({TRANSPOSITIONS: 1} if swaps else {}),
        }
    if compare not in FILTERS:
        known = ", ".join((*TRANSFORMS, *FILTERS))
        raise ConfigError(f"{where}.compare", f"unknown condition {compare!r} ({known})")
    allowed = {
        "jw": {"min"}, "present": {"side"}, "absent": {"side"}, "pattern": {"regex", "side"}
    }[compare]  # fmt: skip
    for key in cond:
        if key not in {"field", "compare", *allowed}:
            raise ConfigError(f"{where}.{key}", f"unknown parameter for compare={compare!r}")
    name = cond.get("field")  # not yet known to be a str, unlike `field` above
    if name not in known_fields():
        raise ConfigError(f"{where}.field", f"unknown field {name!r}")
    out: dict[str, Any] = {"field": name, "compare": compare}
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
        "passes": Param(
            [],
            "list of passes; each a list of conditions that must all hold, or a named pass "
            "{name = ..., conditions = [...]}",
        ),
        # up to a billion, as [blocking] max_pairs: a rule at the real size may join ~120 million
        "max_pairs": Param(
            50_000_000, "refuse a join producing more pairs than this", lo=1, hi=MAX_PAIRS_LIMIT
        ),
    }

    @classmethod
    def validate(cls, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Check the passes; named passes become ``passes`` (lists of conditions, as unnamed
        ones) plus ``path_names`` (only when the passes are named, so that the parameters of
        an unnamed rule are what they always were)."""
        if "path_names" in params:
            raise ConfigError(f"{where}.path_names", "name passes as {name = ..., conditions}")
        out = super().validate(params, where)
        passes, names = _split_named(out["passes"], f"{where}.passes")
        out["passes"] = validate_passes(passes, f"{where}.passes", _validate_condition)
        for i, conds in enumerate(out["passes"]):
            if sum(TRANSPOSITIONS in c for c in conds) > 1:
                raise ConfigError(
                    f"{where}.passes[{i}]",
                    "at most one condition of a pass may allow transpositions",
                )
        if names is not None:
            out["path_names"] = names
        return out

    def uses_blocking(self) -> bool:
        return any(all(c["compare"] in FILTERS for c in p) for p in self.params["passes"])

    def path_names(self) -> list[str] | None:
        return self.params.get("path_names")

    def reads(self) -> frozenset[str]:
        return frozenset(c["field"] for conds in self.params["passes"] for c in conds)

    def score(self, prep: PreparedTask, candidates: Candidates | None) -> Scored:
        linked = np.zeros(prep.n_query, dtype=bool)
        parts_q, parts_r, parts_s, parts_p = [], [], [], []
        n_passes = len(self.params["passes"])
        for k, conds in enumerate(self.params["passes"]):
            keys = [c for c in conds if c["compare"] not in FILTERS]
            if keys:
                coded = [prep.key(c["field"], c["compare"], **_key_params(c)) for c in keys]
                swaps = [TRANSPOSITIONS in c for c in keys]
                try:
                    qi, ri = _join(coded, swaps, self.params["max_pairs"])
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
            parts_p.append(np.full(len(qi), k, dtype=np.int16))
        q, r, s, path = (np.concatenate(p) for p in (parts_q, parts_r, parts_s, parts_p))
        named = self.path_names() is not None
        return Scored(q, r, s, np.ones(len(q), dtype=bool), path if named else None)


def _split_named(passes: Any, where: str) -> tuple[Any, list[str] | None]:
    """(passes as lists of conditions, their names or None): every pass a bare list, or every
    pass a table ``{name, conditions}`` with a distinct non-empty name."""
    if not isinstance(passes, list) or not any(isinstance(p, Mapping) for p in passes):
        return passes, None
    names, lists = [], []
    for i, p in enumerate(passes):
        w = f"{where}[{i}]"
        if not isinstance(p, Mapping):
            raise ConfigError(w, "name every pass or none: {name = ..., conditions = [...]}")
        for key in p:
            if key not in PASS_KEYS:
                raise ConfigError(f"{w}.{key}", "unknown key of a named pass (name, conditions)")
        name = p.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{w}.name", "must be a non-empty text")
        if name in names:
            raise ConfigError(f"{w}.name", f"{name!r} names an earlier pass too")
        if "conditions" not in p:
            raise ConfigError(f"{w}.conditions", "missing: the list of conditions of the pass")
        names.append(name)
        lists.append(p["conditions"])
    return lists, names


def _join(coded: list[Coded], swaps: list[bool], max_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs agreeing on every key; on the key marked in ``swaps`` (at most one), also the
    pairs whose keys differ by one adjacent transposition: the union of the exact join and one
    join per swap position (:func:`bench.linkage.fields.swap_variants`), sorted by query then
    register
    row, without repeats."""
    qi, ri = join(*combine(coded, join_only=True), max_pairs=max_pairs)
    if not any(swaps):
        return qi, ri
    at = swaps.index(True)
    parts_q, parts_r, total = [qi], [ri], len(qi)
    for variant in swap_variants(coded[at]):
        variant_keys = [*coded[:at], variant, *coded[at + 1 :]]
        vq, vr = join(*combine(variant_keys, join_only=True), max_pairs=max_pairs)
        total += len(vq)
        if total > max_pairs:
            raise ConfigError("", f"join would produce over {max_pairs:,} pairs (the limit)")
        parts_q.append(vq)
        parts_r.append(vr)
    q, r = np.concatenate(parts_q), np.concatenate(parts_r)
    width = int(r.max(initial=0)) + 1
    q, r, _ = unique_pairs(q, r, width)  # sorted: by query row, then register row
    return q, r


def _key_params(cond: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in cond.items() if k not in ("field", "compare", TRANSPOSITIONS)}


def _filter(prep: PreparedTask, c: Mapping[str, Any], qi: np.ndarray, ri: np.ndarray) -> np.ndarray:
    # a condition on the query's own values needs no register codes (PreparedTask.query_field)
    query_only = c["compare"] != "jw" and c["side"] == "query"
    coded = prep.query_field(c["field"]) if query_only else prep.field(c["field"])
    if c["compare"] == "jw":
        return np.nan_to_num(jaro_winkler(coded, qi, ri), nan=0.0) >= c["min"]
    if c["compare"] == "present":
        hit_q, hit_r = coded.q >= 0, coded.r >= 0
    elif c["compare"] == "absent":
        hit_q, hit_r = coded.q < 0, coded.r < 0
    else:
        hit_q, hit_r = matches_pattern(coded, c["regex"])
    side = c["side"]
    ok_q = hit_q[qi] if side in ("both", "query") else True
    ok_r = hit_r[ri] if side in ("both", "register") else True
    return np.logical_and(ok_q, ok_r)
