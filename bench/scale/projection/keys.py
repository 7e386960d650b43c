"""What a projection is of: the target scale, the rules' passes and their keys, and the
birthday-problem collision formulas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from bench.linkage.config import Benchmark
from bench.linkage.methods.base import Method
from synthetic.geography import STATE_POPULATION_2020
from synthetic.noise import IDENTIFIER_FIELDS  # each value belongs to one person

#: Queries: about 1.28 million names and addresses were sent to the IRS in the 2025-26 IRS-ICE
#: case (as reported; see the description of ``bench/scenarios/irs-ice.toml``).
N_QUERIES = 1_280_000
#: Register records: roughly 160 million individual income tax returns are filed a year (IRS
#: Statistics of Income, individual returns; IRS filing-season statistics counted ~164 million
#: individual returns received in calendar 2022). Returns, not people: a joint return names two.
M_REGISTER = 160_000_000
#: US resident population, 2020 Census apportionment count (sum of ``STATE_POPULATION_2020``):
#: sets the register density M / population at the target and the number of ZIPs.
US_POPULATION = sum(STATE_POPULATION_2020.values())
#: Population sizes of the simulation sweep (registers of ~25k to ~400k at 80% coverage).
DEFAULT_SIZES: tuple[int, ...] = (40_000, 80_000, 160_000, 320_000, 640_000)
#: Random sub-registers of each simulated task (vary the register density at a fixed geography).
DEFAULT_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 1.0)
LEVEL = 0.95
_DRAWS = 20_000  # Monte Carlo draws for projection intervals

GEO_FIELDS = ("house_number", "street", "unit", "city", "state", "zip", "address", "full_address")
FILTERS = ("jw", "present", "absent", "pattern")
#: Approaches, in table order.
APPROACHES = (
    "analytic: Census tables",
    "analytic: population",
    "analytic: Census x key presence",
    "simulated",
    "simulated, b=1",
    "simulated clean",
    "simulated clean, b=1",
)


# ----------------------------------------------------------------------------- targets, keys
@dataclass(frozen=True)
class Target:
    """The scale projected to: queries, register records, and the population they come from."""

    n_queries: int = N_QUERIES
    n_register: int = M_REGISTER
    population: int = US_POPULATION

    def __post_init__(self) -> None:
        for name in ("n_queries", "n_register", "population"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")

    @property
    def density(self) -> float:
        """Register records per person of the population (the scale of ZIP and address keys)."""
        return self.n_register / self.population


@dataclass(frozen=True)
class Key:
    """One key condition of a rule pass: a field under a transform (``compare``)."""

    field: str
    compare: str = "exact"
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def geo(self) -> bool:
        return self.field in GEO_FIELDS

    @property
    def identifier(self) -> bool:
        return self.field in IDENTIFIER_FIELDS


@dataclass(frozen=True)
class PassSpec:
    """A pass of a rule: key conditions joined over all pairs, then filters."""

    keys: tuple[Key, ...]
    filters: tuple[Mapping[str, Any], ...]

    @property
    def geo(self) -> bool:
        """True if the pass keys on an address part: its collisions scale with density."""
        return any(k.geo for k in self.keys)

    @property
    def owned(self) -> bool:
        """True if the pass keys on an identifier: a value belongs to one person, so a query
        carrying another person's number (borrowed, a relative's) matches that person's record
        if that person is in the register: its collisions scale with density, not with M
        (checked against a direct simulation at 1:10 of real scale: ``linkrisk project
        irs-ice --against``)."""
        return any(k.identifier for k in self.keys)

    @property
    def scale(self) -> str:
        return "M/population" if self.geo or self.owned else "M"

    @cached_property
    def unsupported(self) -> str | None:
        """Why the analytic model cannot handle this pass (None if it can)."""
        if not self.keys:
            return "a pass without key conditions runs on blocked candidates"
        if any(f["compare"] == "jw" for f in self.filters):
            return "fuzzy (Jaro-Winkler) conditions have no frequency-table model"
        parts: list[str] = []
        for k in self.keys:
            if k.field == "name" and k.compare != "exact":
                return "only exact comparison of the composite `name` is modelled"
            if k.field in ("middle_name", "suffix", "tin"):
                return f"no frequency table for {k.field}"
            if k.compare == "name_control":
                return "the IRS name control has no frequency-table model"
            if k.field == "dob" and k.compare not in ("exact", "digits", "year"):
                return f"dob compare={k.compare} is not modelled (exact, digits, year are)"
            if k.geo and k.field != "state" and k.compare != "exact":
                return f"{k.field} compare={k.compare}: synthetic ZIP/address prefixes are not real"
            part = "geo" if k.geo else k.field
            fields = ("first_name", "last_name") if k.field == "name" else (part,)
            if part != "geo" and any(f in parts for f in fields):
                return f"two conditions on {k.field} are not independent parts"
            parts.extend(fields)
        return None

    @property
    def name_keys(self) -> tuple[Key, ...]:
        """Non-geographic keys, with the composite `name` split into first and last name."""
        out: list[Key] = []
        for k in self.keys:
            if k.field == "name":
                out += [Key("first_name"), Key("last_name")]
            elif not k.geo:
                out.append(k)
        return tuple(out)


def rule_passes(method: Method) -> list[PassSpec]:
    """The passes of a rule method as :class:`PassSpec` (raises ValueError for other kinds)."""
    if method.kind != "rule":
        raise ValueError(f"method {method.name!r} is a {method.kind!r}, not a rule")
    out = []
    for conds in method.params["passes"]:
        keys = tuple(
            Key(
                c["field"],
                c["compare"],
                tuple(sorted((k, v) for k, v in c.items() if k not in ("field", "compare"))),
            )
            for c in conds
            if c["compare"] not in FILTERS
        )
        out.append(PassSpec(keys, tuple(c for c in conds if c["compare"] in FILTERS)))
    return out


def projectable_rules(bench: Benchmark) -> list[Method]:
    """The benchmark's rules that run without blocking (every pass has a key condition)."""
    return [m for m in bench.methods if m.kind == "rule" and not m.uses_blocking()]


# ----------------------------------------------------------------------------- collisions
def collision_probability(p_list: Any, p_register: Any) -> float:
    """P(a random list person and a random register person share a key value): sum_k p_k q_k.

    ``p_list`` and ``p_register`` are the key's distributions on each side: aligned arrays, or
    Series indexed by key value (aligned on the index; a value absent from one side has
    probability 0 there). Each must be non-negative and sum to at most 1 (the rest is mass that
    never collides, e.g. missing keys or unique rare names).
    """
    if isinstance(p_list, pd.Series) and isinstance(p_register, pd.Series):
        p_list, p_register = p_list.align(p_register, fill_value=0.0)
    p = np.asarray(p_list, dtype=np.float64)
    q = np.asarray(p_register, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in shape: {p.shape} vs {q.shape}")
    for name, a in (("p_list", p), ("p_register", q)):
        if (a < 0).any() or not np.isfinite(a).all():
            raise ValueError(f"{name} must hold finite non-negative probabilities")
        if a.sum() > 1 + 1e-9:
            raise ValueError(f"{name} sums to {a.sum():.6g} > 1")
    return float(p @ q)


def expected_false_matches(n_queries: int, n_register: int, p_share: float, mated: float) -> float:
    """Expected false matches of N queries against M records when two different people share the
    key with probability ``p_share``: N x (M - mated) x p_share (a mated query's own record is not
    a false match; ``mated`` is the share of queries in the register)."""
    Target(n_queries, n_register, 1)  # validates N and M
    if not 0 <= mated <= 1:
        raise ValueError(f"mated must be a share in [0, 1], got {mated!r}")
    if not 0 <= p_share <= 1:
        raise ValueError(f"p_share must be a probability, got {p_share!r}")
    return n_queries * max(n_register - mated, 0.0) * p_share
