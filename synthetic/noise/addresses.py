"""Address noise: stale, other, mailing and invalid addresses, and the address's written format."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from synthetic.arrays import positions_of
from synthetic.noise.harness import (
    ADDRESS_FIELDS,
    NoiseContext,
    _address_codes,
    _choose_variant,
    _obj,
    _people,
    _pick,
    _weights_ok,
    noise_type,
)


# Default rate 0.5 -- assumption: half of the households that moved (population.mover_share) are
# still at their previous address in a given agency's file (one agency's snapshot predates the move
# or its update lags). The whole household is selected together.
@noise_type(
    "stale_address",
    ADDRESS_FIELDS,
    0.5,
    joint=True,
    needs=("previous_address_id",),
    applies_to=lambda p: (p["previous_address_id"] >= 0).to_numpy(),
    unit="household",
    description="the household's previous address (before its move) still on file",
    source="assumption (half of movers still at the old address in one agency's file)",
    cause="stale_address",
)
def stale_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace each row's address with its previous address, looked up in ``ctx.addresses``."""
    pool = ctx.addresses
    at = positions_of(pool["address_id"].to_numpy(), _people(ctx)["previous_address_id"].to_numpy())
    if (at < 0).any():
        raise ValueError("stale_address: a previous_address_id is not in the address pool")
    out = rows.copy()
    for f in rows.columns:
        if f in pool.columns:
            # the rows' values only: a compact pool (categoricals of every block's addresses)
            # is not expanded to one string per pool address first
            out[f] = pool[f].take(at).to_numpy(dtype=object)
    return out


# Default rate 0: for files that hold a person at an address unrelated to their household's history
# (e.g. a voter file of another state). Moves are modelled by the population and `stale_address`.
@noise_type(
    "other_address",
    ADDRESS_FIELDS,
    0.0,
    joint=True,
    params={"p_same_zip": 0.5},
    param_bounds={"p_same_zip": (0.0, 1.0)},
    description="an unrelated address: the whole address replaced by another from the pool",
    source="off by default (for lists of people registered elsewhere)",
)
def other_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace each row's address with another address of ``ctx.addresses``.

    With probability ``p_same_zip`` the replacement comes from the row's ZIP (if the pool has
    another address there), otherwise from anywhere in the pool. The row's current address (found
    by matching all address fields) is never drawn unless it is the only one in the pool.
    """
    pool = ctx.addresses
    if len(pool) == 0:
        raise ValueError("stale_address needs a non-empty address pool (NoiseContext.addresses)")
    n, size = len(rows), len(pool)
    zip_code, own = _address_codes(pool, rows)  # own: the row's address in the pool, or -1
    order = np.argsort(zip_code[:size], kind="stable")  # addresses of one ZIP are contiguous
    sorted_zip = zip_code[:size][order]
    # The row's address's first position in the sorted pool, or -1: the sort is stable and an
    # address is in one ZIP, so its lowest pool position comes first there too.
    position = np.empty(size, dtype=np.int64)
    position[order] = np.arange(size)
    current = np.where(own >= 0, position[np.maximum(own, 0)], -1)
    del position

    lo = np.searchsorted(sorted_zip, zip_code[size:], side="left")
    hi = np.searchsorted(sorted_zip, zip_code[size:], side="right")
    cur_in_zip = (current >= lo) & (current < hi)
    use_zip = (rng.random(n) < params["p_same_zip"]) & (hi - lo - cur_in_zip > 0)

    start = np.where(use_zip, lo, 0)
    span = np.where(use_zip, hi - lo, size)
    skip = np.where(use_zip, cur_in_zip, current >= 0)  # exclude the current address
    m = span - skip
    k = np.minimum(np.floor(rng.random(n) * m).astype(np.int64), np.maximum(m - 1, 0))
    pick = start + k
    pick += skip & (pick >= current)
    pick = np.where(m > 0, pick, current)  # pool holds only the current address

    new = pool.iloc[order[pick]]
    out = rows.copy()
    for f in rows.columns:
        if f in new.columns:
            out[f] = new[f].to_numpy(dtype=object)
    return out


# Default rate 0.5 -- assumption: half of the households with a PO box give it to a given agency
# as their address (tax returns ask for a mailing address).
@noise_type(
    "mailing_address",
    ("house_number", "street", "unit"),
    0.5,
    joint=True,
    needs=("po_box",),
    applies_to=lambda p: p["po_box"].notna().to_numpy(),
    unit="household",
    description="mailing address (PO BOX 123) recorded instead of the residence",
    source="assumption (tax returns ask for a mailing address)",
)
def mailing_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Street := the PO box, no house number, no unit (same city, state and ZIP)."""
    out = rows.copy()
    out["street"] = _obj(_people(ctx)["po_box"])
    out["house_number"] = np.full(len(rows), None, dtype=object)
    out["unit"] = np.full(len(rows), "", dtype=object)
    return out


INVALID_FORMS = ("zip_only", "number_only")


# Default rate 0.005 -- assumption: a few records per thousand hold an unusable street address.
@noise_type(
    "invalid_address",
    ("house_number", "street", "unit", "zip"),
    0.005,
    joint=True,
    params={"zip_only": 0.5, "number_only": 0.5},
    param_bounds={k: (0.0, math.inf) for k in INVALID_FORMS},
    check=_weights_ok(INVALID_FORMS),
    description="unusable street address: the street field holds only the ZIP or only a number",
    source="assumption",
)
def invalid_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Street := the ZIP code (``zip_only``) or the house number (``number_only``); the house
    number and unit are emptied. The ZIP field itself is unchanged."""
    form = _pick(rng, params, INVALID_FORMS, len(rows))
    out = rows.copy()
    out["street"] = np.where(form == 0, _obj(rows["zip"]), _obj(rows["house_number"]))
    out["house_number"] = np.full(len(rows), None, dtype=object)
    out["unit"] = np.full(len(rows), "", dtype=object)
    return out


#: Street suffixes, USPS Publication 28 abbreviations -> full word (WAY, LOOP, RUN stay).
STREET_SUFFIXES = MappingProxyType(
    {
        "ST": "STREET",
        "AVE": "AVENUE",
        "RD": "ROAD",
        "DR": "DRIVE",
        "LN": "LANE",
        "BLVD": "BOULEVARD",
        "CT": "COURT",
        "PL": "PLACE",
        "CIR": "CIRCLE",
        "TER": "TERRACE",
        "PKWY": "PARKWAY",
        "HWY": "HIGHWAY",
        "TRL": "TRAIL",
        "SQ": "SQUARE",
        "ALY": "ALLEY",
    }
)
DIRECTIONALS = MappingProxyType(
    {
        "N": "NORTH",
        "S": "SOUTH",
        "E": "EAST",
        "W": "WEST",
        "NE": "NORTHEAST",
        "NW": "NORTHWEST",
        "SE": "SOUTHEAST",
        "SW": "SOUTHWEST",
    }
)


def _toggle(token: str, mapping: Mapping[str, str]) -> str | None:
    if token in mapping:
        return mapping[token]
    for short, full in mapping.items():
        if token == full:
            return short
    return None


@lru_cache(maxsize=65536)
def _street_variants(street: str) -> tuple[str, ...]:
    """Other spellings of ``street``: suffix and leading directional abbreviated <-> spelled out."""
    tokens = street.split()
    suffix_at = len(tokens) - 1
    if len(tokens) >= 3 and _toggle(tokens[-1], DIRECTIONALS) is not None:
        suffix_at -= 1  # post-directional: "MAPLE ST N"
    edits = []
    if len(tokens) >= 2 and (new := _toggle(tokens[suffix_at], STREET_SUFFIXES)) is not None:
        edits.append((suffix_at, new))
    if len(tokens) >= 3 and (new := _toggle(tokens[0], DIRECTIONALS)) is not None:
        edits.append((0, new))
    variants = set()
    for chosen in range(1, 2 ** len(edits)):
        t = list(tokens)
        for bit, (i, new) in enumerate(edits):
            if chosen >> bit & 1:
                t[i] = new
        variants.add(" ".join(t))
    variants.discard(street)
    return tuple(sorted(variants))


_UNIT = re.compile(r"^(?:APT|APARTMENT|UNIT|STE|SUITE|#)\s*(\S.*)$")


@lru_cache(maxsize=65536)
def _unit_variants(unit: str) -> tuple[str, ...]:
    """Other spellings of a unit: "APT 3" -> "APT3", "UNIT 3", "# 3", "#3"."""
    match = _UNIT.match(unit)
    if match is None:
        return ()
    num = match.group(1)
    forms = {f"APT {num}", f"APT{num}", f"UNIT {num}", f"# {num}", f"#{num}"}
    forms.discard(unit)
    return tuple(sorted(forms))


# Default rate 0.05 -- assumption: sources that do not standardize addresses to USPS Pub 28 differ
# in abbreviations often; sources that do, rarely. p_drop_unit = 0.25 -- assumption: a quarter of
# the unit format variants are the unit left off entirely.
@noise_type(
    "address_format",
    ("street", "unit"),
    0.05,
    params={"p_drop_unit": 0.25},
    param_bounds={"p_drop_unit": (0.0, 1.0)},
    description="address spelled differently: ST<->STREET, N<->NORTH, APT 3 -> # 3/UNIT 3/none",
    source="assumption (USPS Publication 28 abbreviations)",
)
def address_format(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Rewrite streets (suffix/directional abbreviation toggled) or units (other designator, or
    dropped with probability ``p_drop_unit``). Dispatches on ``values.name``; values without a
    known variant are unchanged."""
    if values.name != "unit":
        return _choose_variant(values, rng, _street_variants)
    out = _choose_variant(values, rng, _unit_variants)
    drop = (rng.random(len(out)) < params["p_drop_unit"]) & (values.to_numpy(dtype=object) != "")
    arr = out.to_numpy(dtype=object, copy=True)
    arr[drop] = ""
    return pd.Series(arr, index=values.index, name=values.name, dtype=object)
