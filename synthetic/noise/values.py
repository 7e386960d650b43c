"""Noise in values as written: nicknames, placeholder and swapped birth dates, blanks, typos."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from synthetic.noise.harness import RECORD_FIELDS, NoiseContext, _choose_variant, noise_type


@lru_cache(maxsize=1)
def _nicknamer() -> Any:
    from nicknames import NickNamer

    return NickNamer()


_NAME_CHARS = re.compile(r"^[A-Z][A-Z' -]*$")


@lru_cache(maxsize=65536)
def _nicknames_of(name: str) -> tuple[str, ...]:
    """Upper-case nicknames of ``name`` (sorted, without ``name`` itself and odd entries)."""
    nicks = {n.upper() for n in _nicknamer().nicknames_of(name.lower())}
    return tuple(sorted(n for n in nicks if _NAME_CHARS.match(n) and n != name.upper()))


# Default rate 0.01: pseudopeople's default for use_nickname. Only names with nicknames change,
# so the effective rate is lower.
@noise_type(
    "nickname",
    ("first_name",),
    0.01,
    description="nickname instead of the formal first name (WILLIAM -> BILL), nicknames package",
    source="pseudopeople default for use_nickname (0.01); nicknames package",
)
def nickname(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace each name by one of its nicknames (uniformly); names without any stay."""
    return _choose_variant(values, rng, _nicknames_of)


# Default rate 0.003 -- assumption: placeholder birth dates are entered when only the year is known
# (common in immigration records of people from countries without birth registration). p_jan1 =
# 0.8 -- assumption: most placeholders keep the year.
@noise_type(
    "dob_placeholder",
    ("dob",),
    0.003,
    params={"p_jan1": 0.8},
    param_bounds={"p_jan1": (0.0, 1.0)},
    description="placeholder date of birth: January 1 of the birth year, or 1900-01-01",
    source="assumption (year-only birth dates in immigration records)",
)
def dob_placeholder(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """YYYY-01-01 (same year) with probability ``p_jan1``, else 1900-01-01."""
    year = values.astype(str).str.slice(0, 4).to_numpy(dtype=object)
    jan1 = rng.random(len(values)) < params["p_jan1"]
    out = np.where(jan1, year + "-01-01", "1900-01-01").astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0.005 -- assumption: day and month swapped when a date is written in day-month order
# (most of the world) and read in month-day order (the US), or the reverse.
@noise_type(
    "dob_swap",
    ("dob",),
    0.005,
    description="day and month of the birth date swapped (where both are <= 12 and differ)",
    source="assumption (day-month vs month-day order)",
)
def dob_swap(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """YYYY-MM-DD -> YYYY-DD-MM where DD <= 12 and DD != MM; other values are unchanged."""
    s = values.astype(str)
    ok = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)
    month = pd.to_numeric(s.str.slice(5, 7), errors="coerce").to_numpy()
    day = pd.to_numeric(s.str.slice(8, 10), errors="coerce").to_numpy()
    swap = ok & (day <= 12) & (day != month) & (day >= 1)
    out = values.to_numpy(dtype=object, copy=True)
    out[swap] = (s.str.slice(0, 5) + s.str.slice(8, 10) + "-" + s.str.slice(5, 7)).to_numpy(
        dtype=object
    )[swap]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default 0.01: pseudopeople's default for leave_blank. middle_name 0.2 -- assumption: many
# sources do not collect or often omit the middle name. suffix 0.5 -- assumption: a name suffix
# (JR, SR) is often not recorded. tin 0 -- a tax register always holds the filer's TIN; a query
# list's share of records with a TIN is declared by query.tin_share.
@noise_type(
    "missing",
    RECORD_FIELDS,
    0.01,
    default_field_rates={"middle_name": 0.2, "suffix": 0.5, "tin": 0.0},
    description="field left blank (None)",
    source="pseudopeople default for leave_blank (0.01); middle name and suffix rates assumed",
)
def missing(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Blank every value."""
    return pd.Series(np.full(len(values), None, dtype=object), index=values.index, name=values.name)


def _keyboard_neighbours() -> tuple[np.ndarray, np.ndarray]:
    """(table, count): ``table[c, :count[c]]`` are the QWERTY neighbours of ASCII code ``c``.

    Letters neighbour letters (same row and the adjacent rows, staggered), digits neighbour the
    digits beside them on the number row, so digits stay digits and letters stay letters.
    """
    rows = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
    near: dict[str, list[str]] = {}
    for r, row in enumerate(rows):
        for j, ch in enumerate(row):
            cand = [row[i] for i in (j - 1, j + 1) if 0 <= i < len(row)]
            if r > 0:
                cand += [rows[r - 1][i] for i in (j, j + 1) if 0 <= i < len(rows[r - 1])]
            if r + 1 < len(rows):
                cand += [rows[r + 1][i] for i in (j - 1, j) if 0 <= i < len(rows[r + 1])]
            near[ch] = cand
            near[ch.lower()] = [c.lower() for c in cand]
    digits = "1234567890"
    for j, ch in enumerate(digits):
        near[ch] = [digits[i] for i in (j - 1, j + 1) if 0 <= i < len(digits)]
    table = np.zeros((128, max(len(v) for v in near.values())), dtype=np.uint32)
    count = np.zeros(128, dtype=np.int64)
    for ch, cand in near.items():
        table[ord(ch), : len(cand)] = [ord(c) for c in cand]
        count[ord(ch)] = len(cand)
    table.flags.writeable = False
    count.flags.writeable = False
    return table, count


_NEIGHBOURS, _N_NEIGHBOURS = _keyboard_neighbours()
_TYPO_KINDS = ("substitute", "delete", "insert", "transpose")
# Editable characters by code point (ASCII letters/digits; the last entry stands for all others).
_ALNUM = np.zeros(129, dtype=bool)
_ALNUM[[ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]] = True
_DIGITS = np.zeros(129, dtype=bool)
_DIGITS[[ord(c) for c in "0123456789"]] = True
_ALNUM.flags.writeable = False
_DIGITS.flags.writeable = False


def _pick_true(mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row, the column of a uniformly chosen True of ``mask`` (by ``u``); -1 if none."""
    k = mask.sum(axis=1)
    r = np.minimum(np.floor(u * k), np.maximum(k - 1, 0)).astype(np.int64)
    small = mask.shape[1] < np.iinfo(np.int16).max
    pos = np.argmax(mask.cumsum(axis=1, dtype=np.int16 if small else np.int64) > r[:, None], axis=1)
    return np.where(k > 0, pos, -1)


def _typo_weights_ok(params: Mapping[str, Any]) -> str | None:
    return None if sum(params[k] for k in _TYPO_KINDS) > 0 else "the four typo weights sum to 0"


# Default rate 0.01: pseudopeople's default cell probability for make_typos (which, unlike this,
# may corrupt several characters of a cell: token_probability 0.1). The four kinds are Damerau's
# (1964) single-error classes; their weights are an assumption.
@noise_type(
    "typo",
    ("first_name", "middle_name", "last_name", "dob", "street", "city"),
    0.01,
    params={"substitute": 0.4, "delete": 0.25, "insert": 0.25, "transpose": 0.1},
    param_bounds={k: (0.0, math.inf) for k in _TYPO_KINDS},
    check=_typo_weights_ok,
    description="one keyboard slip: QWERTY-neighbour substitution, deletion, insertion, or swap",
    source="pseudopeople default for make_typos (0.01); Damerau (1964) kinds, assumed weights",
)
def typo(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Make one keyboard-style edit per value at a random letter/digit position.

    Kinds (relative weights in ``params``): substitution by a QWERTY neighbour, deletion (only
    when the value has 2+ characters, so nothing becomes empty), insertion of a neighbour before or
    after the position, transposition of two adjacent different letters/digits (falls back to a
    substitution when there is none). For ``dob`` only digits are substituted: dashes stay. Other
    characters (spaces, hyphens, accents) are never edited; values without letters or digits are
    unchanged.
    """
    n = len(values)
    if n == 0:
        return values.copy()
    strs = values.to_numpy(dtype=object).astype(str)
    length = np.char.str_len(strs)
    # Room for one insertion; the last column stays 0 (padding). From the array's width, not
    # the longest length: str_len does not count trailing NULs, the width does.
    w = strs.dtype.itemsize // 4 + 1
    codes = np.zeros((n, w), dtype=np.uint32)
    if w > 1:
        codes[:, :-1] = np.ascontiguousarray(strs).view(np.uint32).reshape(n, w - 1)

    if values.name == "dob":
        table = _DIGITS
        weights = np.array([1.0, 0.0, 0.0, 0.0])
    else:
        table = _ALNUM
        weights = np.array([params[k] for k in _TYPO_KINDS], dtype=float)
    editable = table[np.minimum(codes, len(table) - 1)]

    kind = rng.choice(4, size=n, p=weights / weights.sum())
    u_pos, u_near, u_side = rng.random(n), rng.random(n), rng.random(n)

    # Transposition needs two adjacent, different editable characters; else substitute.
    t_rows = np.flatnonzero(kind == 3)
    e, c = editable[t_rows], codes[t_rows]
    swappable = e[:, :-1] & e[:, 1:] & (c[:, :-1] != c[:, 1:])
    can_swap = swappable.any(axis=1)
    kind[t_rows[~can_swap]] = 0
    kind[(kind == 1) & (length < 2)] = 0  # never delete the only character
    pos = np.full(n, -1, dtype=np.int64)
    t_rows = t_rows[can_swap]
    pos[t_rows] = _pick_true(swappable[can_swap], u_pos[t_rows])
    o_rows = np.flatnonzero(kind != 3)
    pos[o_rows] = _pick_true(editable[o_rows], u_pos[o_rows])

    active = pos >= 0
    rows = np.arange(n)
    char = np.where(active, codes[rows, np.maximum(pos, 0)], 0)
    n_near = _N_NEIGHBOURS[char]
    pick = np.minimum(np.floor(u_near * n_near), np.maximum(n_near - 1, 0)).astype(np.int64)
    near = _NEIGHBOURS[char, pick]

    # Deletion and insertion shift the characters after the edit: gather by source column.
    delete = active & (kind == 1)
    insert = active & (kind == 2)
    ins_at = pos + (u_side < 0.5)  # before or after the chosen character
    new = codes.copy()
    s_rows = np.flatnonzero(delete | insert)
    col = np.arange(w)[None, :]
    src = np.where(
        delete[s_rows, None],
        col + (col >= pos[s_rows, None]),
        col - (col > ins_at[s_rows, None]),
    )
    new[s_rows] = np.take_along_axis(codes[s_rows], np.minimum(src, w - 1), axis=1)

    sub = active & (kind == 0)
    new[rows[sub], pos[sub]] = near[sub]
    new[rows[insert], ins_at[insert]] = near[insert]
    swap = active & (kind == 3)
    left, right = new[rows[swap], pos[swap]], new[rows[swap], pos[swap] + 1]
    new[rows[swap], pos[swap]], new[rows[swap], pos[swap] + 1] = right, left

    out = np.ascontiguousarray(new).view(f"U{w}").reshape(n).astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)
