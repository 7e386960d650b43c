"""Identifier noise (the ``tin`` field; people's identifiers come from synthetic.identifiers)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthetic.noise.harness import (
    IDENTIFIER_FIELDS,
    NoiseContext,
    _obj,
    _people,
    _pick,
    _weights_ok,
    noise_type,
)
from synthetic.noise.values import _pick_true


def _present(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda p: p[column].notna().to_numpy()


def _replace_by(column: str, values: pd.Series, ctx: NoiseContext) -> pd.Series:
    return pd.Series(_obj(_people(ctx)[column]), index=values.index, name=values.name, dtype=object)


# Default rate 0 (switched on per side): the register is the tax agency's own file, under the
# current number; a list compiled from older records may carry the ITIN its holder used before
# getting an SSN (the IRS voids an ITIN once its holder gets an SSN; the old number stays in
# other agencies' files).
@noise_type(
    "stale_itin",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("former_itin",),
    applies_to=_present("former_itin"),
    description="the ITIN its holder used before getting an SSN recorded instead of the SSN",
    source="assumption (IRS voids an ITIN when its holder gets an SSN; old records keep it)",
)
def stale_itin(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN by the person's former ITIN."""
    return _replace_by("former_itin", values, ctx)


# Default rate 0 (switched on per side) -- assumption: a clerk or a form picks up another member
# of the household's number (a spouse's SSN on a joint return, a parent's on a child's form).
@noise_type(
    "household_tin",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("household_member_tin",),
    applies_to=_present("household_member_tin"),
    description="another household member's TIN recorded instead of the person's own",
    source="assumption (a spouse's or parent's number taken from the same household's papers)",
)
def household_tin(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN by the TIN of a randomly chosen other member of the household."""
    return _replace_by("household_member_tin", values, ctx)


TIN_TYPO_KINDS = ("substitute", "transpose")


# Default rate 0.01: pseudopeople's default cell probability for write_wrong_digits (which may
# change several digits: token_probability 0.1). The two kinds are Damerau's (1964) commonest
# single errors for digit strings; the 0.8/0.2 mix is an assumption.
@noise_type(
    "tin_typo",
    IDENTIFIER_FIELDS,
    0.01,
    params={"substitute": 0.8, "transpose": 0.2},
    param_bounds={k: (0.0, math.inf) for k in TIN_TYPO_KINDS},
    check=_weights_ok(TIN_TYPO_KINDS),
    description="one digit of the TIN changed, or two adjacent different digits swapped",
    source="pseudopeople default for write_wrong_digits (0.01); Damerau (1964) kinds, assumed mix",
)
def tin_typo(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """One keying error per value: a digit replaced by another digit (uniformly), or two
    adjacent different digits swapped (a substitution when the value has no such pair). Other
    characters are never edited; values without digits stay."""
    n = len(values)
    if n == 0:
        return values.copy()
    strs = values.to_numpy(dtype=object).astype(str)
    w = max(strs.dtype.itemsize // 4, 1)
    codes = np.zeros((n, w), dtype=np.uint32)
    codes[:] = np.ascontiguousarray(strs.astype(f"U{w}")).view(np.uint32).reshape(n, w)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    kind = _pick(rng, params, TIN_TYPO_KINDS, n)
    u_pos, u_digit = rng.random(n), rng.random(n)
    swappable = digit[:, :-1] & digit[:, 1:] & (codes[:, :-1] != codes[:, 1:])
    swap = (kind == 1) & swappable.any(axis=1)
    rows = np.arange(n)
    new = codes.copy()
    s_rows = np.flatnonzero(swap)
    at = _pick_true(swappable[s_rows], u_pos[s_rows])
    left, right = new[s_rows, at], new[s_rows, at + 1]
    new[s_rows, at], new[s_rows, at + 1] = right, left
    sub = ~swap
    at = _pick_true(digit[sub], u_pos[sub])
    ok = at >= 0
    r, at = rows[sub][ok], at[ok]
    # another digit: old + 1..9 (mod 10), uniformly
    old = codes[r, at] - ord("0")
    shift = 1 + np.minimum((u_digit[r] * 9).astype(np.int64), 8)
    new[r, at] = (old + shift) % 10 + ord("0")
    edited = np.zeros(n, dtype=bool)
    edited[s_rows] = True
    edited[r] = True
    out = values.to_numpy(dtype=object, copy=True)  # unedited values stay as they were
    out[edited] = np.ascontiguousarray(new[edited]).view(f"U{w}").reshape(-1).astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0 (switched on per side). pseudopeople ("Borrowed SSN", docs/source/noise/
# column_noise.rst): W-2 and 1099 forms of people without an SSN carry an SSN borrowed from a
# household member who has one (a random SSN when nobody has). Here the donor is a property of the
# person (synthetic.identifiers: a household member with probability donor_relative_share, else a
# stranger), so each side's record of the person carries the same donor's number, and the
# register's record under that number is the donor's. Registered last: it may fill a missing TIN
# (a person without any TIN), which no type after it would then see.
@noise_type(
    "borrowed_ssn",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("donor_ssn",),
    applies_to=_present("donor_ssn"),
    fills_missing=True,
    description="a person without an SSN recorded under another real person's SSN",
    source="pseudopeople 'Borrowed SSN' (W-2/1099); donor a household member or a stranger",
)
def borrowed_ssn(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN (or fill the missing one) by the SSN of the person's donor."""
    return _replace_by("donor_ssn", values, ctx)
