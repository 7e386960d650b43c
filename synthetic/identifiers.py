"""Residence status and taxpayer identification numbers (TINs) of a synthetic population.

Switched on by ``population.identifiers = true``; off, every column below is missing and no
random number is drawn (a population without identifiers is what it was before they existed).

* **Status** (``status``): ``citizen``, ``lawful`` (a lawful permanent or temporary resident who
  is not a citizen) or ``unauthorized``. A householder's status is drawn by name-origin group,
  with probabilities that make the group's share of each status population (its origin mix) and
  the status's share of all residents come out as configured; partners and other members share
  the householder's status or draw their own; children are US-born citizens or share it.
* **Identifiers** (``tin_type``, ``tin``): an SSN for citizens and lawful residents (assigned at
  birth for recent cohorts, or with work authorization), an ITIN for a share ``itin_share`` of
  unauthorized people, none for the rest. A share ``former_itin_share`` of lawful residents held
  an ITIN before their SSN (``former_itin``, for the ``stale_itin`` noise).
* **Who else's numbers a person's records may carry**: ``ssn_donor_id`` / ``donor_ssn``, the SSN
  a person without one would use (``borrowed_ssn`` noise): with probability
  ``donor_relative_share`` a household member's (one with the borrower's surname when there is
  one, so that a name check passes), else a stranger's; ``household_member_tin``, the TIN of a
  randomly chosen other member of the household (``household_tin`` noise).

Number structure (9 digits, no dashes): SSN area 001-899 except 666, group 01-99, serial
0001-9999 (SSA, "Social Security Number Randomization", 2011: areas 000, 666 and 900-999 are
never assigned); ITIN 9NN-GG-SSSS with the group GG in 50-65, 70-88, 90-92 or 94-99 (IRS,
"Understanding your IRS Individual Taxpayer Identification Number", Publication 1915: an ITIN
begins with 9 and its 4th and 5th digits are in those ranges); serial 0000 never used (an
assumption for ITINs). Numbers are unique over the whole population, also when it is generated
block by block: block ``b`` of ``n`` draws distinct positions in its own ``1/n`` of the number
space, scattered over the whole space by a fixed bijection.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

import numpy as np

from synthetic import names as N
from synthetic.arrays import take_rows
from synthetic.errors import ConfigError
from synthetic.rng import stream

STATUSES: tuple[str, ...] = ("citizen", "lawful", "unauthorized")
TIN_TYPES: tuple[str, ...] = ("ssn", "itin", "none")
CITIZEN, LAWFUL, UNAUTHORIZED = range(3)
SSN, ITIN, NO_TIN = range(3)

#: SSN areas ever assignable: 001-899 without 666 (SSA: 000, 666 and 900-999 are never issued).
SSN_AREAS = np.array([a for a in range(1, 900) if a != 666], dtype=np.int64)
#: ITIN 4th-5th digits (IRS Publication 1915; the 2011 expansion added 50-65 and 83-99 bands).
ITIN_GROUPS = np.array(
    [*range(50, 66), *range(70, 89), *range(90, 93), *range(94, 100)], dtype=np.int64
)
_SERIALS = 9999  # 0001-9999
SSN_SPACE = len(SSN_AREAS) * 99 * _SERIALS
ITIN_SPACE = 100 * len(ITIN_GROUPS) * _SERIALS
# A fixed bijection of each space (x -> a*x + c mod size, gcd(a, size) = 1) scatters the blocks'
# slices over the whole space; the constants are arbitrary.
_SCATTER = {SSN_SPACE: (2_654_435_761, 97_531), ITIN_SPACE: (2_246_822_519, 13_579)}
for _size, (_a, _) in _SCATTER.items():
    assert math.gcd(_a, _size) == 1


#: Defaults and their sources (``synthetic.population.SOURCES`` prints them in the ledger).
#: Pew Research Center (Passel & Krogstad, 2025-08-21): 14.0 million unauthorized immigrants in
#: 2023, of about 335 million residents (4.2%).
UNAUTHORIZED_SHARE = 0.042
#: DHS Office of Homeland Security Statistics, LPR population estimate for January 2023: about
#: 12.8 million lawful permanent residents (3.8%); lawful temporary residents are left out.
LAWFUL_SHARE = 0.038
#: Origin mix of the unauthorized population mapped to name-origin groups, approximate: Pew
#: Research Center 2023 (Mexico and Central/South America and the Spanish-speaking Caribbean about
#: three quarters, Asia about an eighth, the rest Africa, the other Caribbean, Europe and Canada).
UNAUTHORIZED_BY_GROUP: Mapping[str, float] = {
    "hispanic": 0.75,
    "api": 0.13,
    "black": 0.06,
    "white": 0.06,
}
#: Region of birth of lawful permanent residents (DHS OHSS LPR estimates, approximate: Mexico
#: ~20% and the rest of Latin America ~20%, Asia ~30%, Europe/Canada ~15%, Africa and the
#: non-Hispanic Caribbean ~15%).
LAWFUL_BY_GROUP: Mapping[str, float] = {
    "hispanic": 0.40,
    "api": 0.30,
    "white": 0.15,
    "black": 0.15,
}


class IdentifierConfig(Protocol):
    """The fields :func:`assign` reads (``synthetic.population.PopulationConfig`` has them; a
    protocol because ``population`` imports this module)."""

    @property
    def identifiers(self) -> bool: ...
    @property
    def unauthorized_share(self) -> float: ...
    @property
    def lawful_share(self) -> float: ...
    @property
    def unauthorized_by_group(self) -> Mapping[str, float]: ...
    @property
    def lawful_by_group(self) -> Mapping[str, float]: ...
    @property
    def household_shares_status(self) -> float: ...
    @property
    def child_citizen(self) -> float: ...
    @property
    def itin_share(self) -> float: ...
    @property
    def former_itin_share(self) -> float: ...
    @property
    def donor_relative_share(self) -> float: ...


def status_probabilities(
    unauthorized_share: float,
    lawful_share: float,
    unauthorized_by_group: Mapping[str, float],
    lawful_by_group: Mapping[str, float],
    scale: float = 1.0,
) -> np.ndarray:
    """P(status | group), shape (groups, 3), from each status's share of residents and its mix of
    groups: P(s | g) = share(s) x mix(s)[g] / share of g (``names.group_shares``), times
    ``scale`` (which makes up for the non-citizens' children born citizens). Raises ConfigError
    when a group would need probabilities above 1."""
    g_share = N.group_shares()
    out = np.zeros((len(N.GROUPS), 3))
    for s, share, mix in (
        (UNAUTHORIZED, unauthorized_share, unauthorized_by_group),
        (LAWFUL, lawful_share, lawful_by_group),
    ):
        total = sum(mix.values())
        for g, w in mix.items():
            gi = N.GROUPS.index(g)
            out[gi, s] = scale * share * (w / total if total > 0 else 0.0) / g_share[gi]
    out[:, CITIZEN] = 1.0 - out[:, LAWFUL] - out[:, UNAUTHORIZED]
    bad = np.flatnonzero(out[:, CITIZEN] < 0)
    if bad.size:
        g = N.GROUPS[bad[0]]
        raise ConfigError(
            "population.unauthorized_share",
            f"with these shares and group mixes {out[bad[0], 1] + out[bad[0], 2]:.2f} of group "
            f"{g!r} would be non-citizens (more than all of them); lower the shares",
        )
    return out


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal strings of non-negative integers (object array): ``f"{v:0{width}d}"``.

    The digits are computed as ASCII bytes, a column at a time, and decoded once: about twice
    as fast as one f-string per value (1 million SSNs: ~0.15 s against ~0.35 s), the same
    strings. Values wider than ``width`` or negative (never an SSN or ITIN) are formatted one
    by one.
    """
    rest = np.asarray(values, dtype=np.int64)
    if rest.size and (int(rest.max()) >= 10**width or int(rest.min()) < 0):
        return np.array([f"{v:0{width}d}" for v in rest.tolist()], dtype=object)
    ascii_ = np.empty((len(rest), width), dtype=np.uint8)
    for i in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, 10)
        ascii_[:, i] = digit + ord("0")
    return ascii_.view(f"S{width}").ravel().astype(f"U{width}").astype(object)


def ssn_strings(index: np.ndarray) -> np.ndarray:
    """The SSNs at positions ``index`` of the valid SSN space (area, group, serial order)."""
    area, rest = np.divmod(index, 99 * _SERIALS)
    group, serial = np.divmod(rest, _SERIALS)
    number = SSN_AREAS[area] * 1_000_000 + (group + 1) * 10_000 + serial + 1
    return _digits(number, 9)


def itin_strings(index: np.ndarray) -> np.ndarray:
    """The ITINs at positions ``index`` of the valid ITIN space."""
    mid, rest = np.divmod(index, len(ITIN_GROUPS) * _SERIALS)
    group, serial = np.divmod(rest, _SERIALS)
    number = 900_000_000 + mid * 1_000_000 + ITIN_GROUPS[group] * 10_000 + serial + 1
    return _digits(number, 9)


def unique_positions(
    k: int, space: int, b: int, n_blocks: int, rng: np.random.Generator, what: str
) -> np.ndarray:
    """``k`` distinct positions of a number space of ``space``, drawn in block ``b``'s slice of
    ``n_blocks`` and scattered: distinct across blocks too."""
    lo, hi = b * space // n_blocks, (b + 1) * space // n_blocks
    if k > hi - lo:
        raise ConfigError(
            "population.identifiers",
            f"{k:,} {what}s needed in a block of the population, but its share of the {what} "
            f"number space holds {hi - lo:,}; lower the shares or the population size",
        )
    local = rng.choice(hi - lo, size=k, replace=False) + lo
    a, c = _SCATTER[space]
    return (local.astype(np.int64) * a + c) % space


def draw_status(
    probs: np.ndarray,
    group: np.ndarray,
    hh: np.ndarray,
    hh_start: np.ndarray,
    is_hh: np.ndarray,
    is_child: np.ndarray,
    shared: float,
    child_citizen: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Status codes (``STATUSES``) of the people of one block.

    Householders and members who do not share the householder's status (probability
    ``1 - shared``) draw by their group (``probs``); children of a non-citizen householder are
    US-born citizens with probability ``child_citizen``, else share the householder's status.
    """
    n = len(group)
    cdf = np.cumsum(probs, axis=1)
    own = (rng.random(n)[:, None] >= cdf[group][:, :-1]).sum(axis=1)
    head = own[hh_start][hh]
    copy = rng.random(n) < shared
    born_here = rng.random(n) < child_citizen
    status = np.where(is_hh, own, np.where(copy, head, own))
    kid = is_child & (head != CITIZEN)
    status[kid] = np.where(born_here[kid], CITIZEN, head[kid])
    status[is_child & (head == CITIZEN)] = CITIZEN
    return status.astype(np.int8)


def pick_in_segments(
    key: np.ndarray, cand_key: np.ndarray, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each query key, a uniformly chosen position (by ``u``) among the candidates with the
    same key (``cand_key`` sorted ascending): (position, found)."""
    lo = np.searchsorted(cand_key, key, side="left")
    hi = np.searchsorted(cand_key, key, side="right")
    m = hi - lo
    pick = lo + np.minimum((u * m).astype(np.int64), np.maximum(m - 1, 0))
    return pick, m > 0


def other_member(hh_start_of: np.ndarray, size_of: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Position of a uniformly chosen other member of each person's household (itself in a
    household of one). People are contiguous by household, ``hh_start_of``/``size_of`` per
    person."""
    n = len(u)
    offset = np.arange(n) - hh_start_of
    step = 1 + np.minimum((u * (size_of - 1)).astype(np.int64), np.maximum(size_of - 2, 0))
    return np.where(
        size_of > 1, hh_start_of + (offset + step) % np.maximum(size_of, 1), np.arange(n)
    )


#: Person columns this module adds to ``synthetic.population.PEOPLE_COLUMNS`` (see the module
#: docstring), and their values for a population without identifiers.
COLUMNS: tuple[str, ...] = (
    "status", "tin_type", "tin", "former_itin", "ssn_donor_id", "donor_ssn",
    "household_member_tin",
)  # fmt: skip


def absent(n: int) -> dict[str, np.ndarray]:
    """The identifier columns of ``n`` people of a population without identifiers."""
    nothing = np.full(n, None, dtype=object)
    return {c: np.full(n, -1, dtype=np.int64) if c == "ssn_donor_id" else nothing for c in COLUMNS}


def assign(
    cfg: IdentifierConfig,
    seed: int,
    bkey: tuple[str, ...],
    b: int,
    n_blocks: int,
    *,
    group: np.ndarray,
    hh: np.ndarray,
    hh_start: np.ndarray,
    sizes: np.ndarray,
    is_hh: np.ndarray,
    is_child: np.ndarray,
    surname: np.ndarray,
    person0: int,
) -> dict[str, np.ndarray]:
    """The identifier columns of one generation block (``cfg``: a ``PopulationConfig``).

    ``group``: group codes; ``hh``: household index of each person (people contiguous by
    household), ``hh_start`` / ``sizes`` per household; ``surname``: a surname code per person;
    ``person0``: the block's first person id. Every draw comes from streams named
    ``("population", *bkey, "identifiers", ...)``.
    """
    n = len(group)
    if not getattr(cfg, "identifiers", False):
        return absent(n)

    def rng(part: str) -> np.random.Generator:
        return stream(seed, "population", *bkey, "identifiers", part)

    # Children turned citizens would lower the shares below the configured ones: draw the others
    # with probabilities raised to make up for it (children are about a quarter of the people).
    scale = 1.0 / max(1.0 - float(is_child.mean()) * cfg.child_citizen, 1e-9)
    probs = status_probabilities(
        cfg.unauthorized_share,
        cfg.lawful_share,
        cfg.unauthorized_by_group,
        cfg.lawful_by_group,
        scale,
    )
    status = draw_status(
        probs, group, hh, hh_start, is_hh, is_child,
        cfg.household_shares_status, cfg.child_citizen, rng("status"),
    )  # fmt: skip
    r = rng("tin_type")
    itin = (status == UNAUTHORIZED) & (r.random(n) < cfg.itin_share)
    former = (status == LAWFUL) & (r.random(n) < cfg.former_itin_share)
    tin_type = np.where(status == UNAUTHORIZED, np.where(itin, ITIN, NO_TIN), SSN)

    # numbers: SSNs of SSN holders; ITINs of current holders, then of former holders
    i_ssn, i_itin, i_former = (np.flatnonzero(m) for m in (tin_type == SSN, itin, former))
    r = rng("numbers")
    ssn = ssn_strings(unique_positions(len(i_ssn), SSN_SPACE, b, n_blocks, r, "SSN"))
    k_itin = len(i_itin) + len(i_former)
    itins = itin_strings(unique_positions(k_itin, ITIN_SPACE, b, n_blocks, r, "ITIN"))
    tin = np.full(n, None, dtype=object)
    tin[i_ssn] = ssn
    tin[i_itin] = itins[: len(i_itin)]
    former_itin = np.full(n, None, dtype=object)
    former_itin[i_former] = itins[len(i_itin) :]

    # SSN donors of people without an SSN: a household member (one with the same surname if
    # any) with probability donor_relative_share, else a stranger of the block
    r = rng("donors")
    borrower = np.flatnonzero(tin_type != SSN)
    u_rel, u_pick, u_any = (r.random(len(borrower)) for _ in range(3))
    donor = np.full(len(borrower), -1, dtype=np.int64)
    if len(i_ssn) and len(borrower):
        code = surname - surname.min()
        width = np.int64(code.max() + 1)
        same_key = hh.astype(np.int64) * width + code
        by_name = np.sort(same_key[i_ssn])
        order = np.argsort(same_key[i_ssn], kind="stable")
        pos, found = pick_in_segments(same_key[borrower], by_name, u_pick)
        donor[found] = i_ssn[order[pos[found]]]
        pos, found_hh = pick_in_segments(hh[borrower], hh[i_ssn], u_pick)  # i_ssn is sorted
        fallback = ~found & found_hh
        donor[fallback] = i_ssn[pos[fallback]]
        stranger = (u_rel >= cfg.donor_relative_share) | (donor < 0)
        donor[stranger] = i_ssn[np.minimum((u_any[stranger] * len(i_ssn)).astype(np.int64),
                                           len(i_ssn) - 1)]  # fmt: skip
    donor_id = np.full(n, -1, dtype=np.int64)
    donor_ssn = np.full(n, None, dtype=object)
    has = donor >= 0
    donor_id[borrower[has]] = person0 + donor[has]
    donor_ssn[borrower[has]] = tin[donor[has]]

    member = other_member(hh_start[hh], sizes[hh], rng("household_member").random(n))
    # None as a 0-d object array: a bare None makes mypy pick np.where's one-argument overload
    no_tin = np.array(None, dtype=object)
    household_tin = np.where(member != np.arange(n), tin[member], no_tin).astype(object)
    return {
        "status": take_rows(np.array(STATUSES, dtype=object), status),
        "tin_type": take_rows(np.array(TIN_TYPES, dtype=object), tin_type),
        "tin": tin,
        "former_itin": former_itin,
        "ssn_donor_id": donor_id,
        "donor_ssn": donor_ssn,
        "household_member_tin": household_tin,
    }
