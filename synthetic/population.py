"""A vectorized synthetic US population: households, ages, name-origin groups, names, addresses.

Names follow the vendored Census/SSA tables (``synthetic.names``): surnames by group including a
synthesized rare tail, first and middle names by group, sex and birth year. Everything is numpy:
loops run over categories (group x sex x birth year) or small vocabularies, never over people. Each
component draws from its own named random stream (``synthetic.rng.stream``). Populations of more
than ``BLOCK_SIZE`` people are generated in blocks, each from its own streams (:func:`block_layout`,
:func:`generate_block`), so that big scenarios never hold all their people at once. Within a block,
three worker threads draw the components that need only what is already drawn (addresses,
first names, surnames, rare first names) while the main thread draws the others; every component
keeps its own stream and its own order of draws, so the result does not depend on the threads'
timing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from synthetic import births as B
from synthetic import identifiers as ID
from synthetic import names as N
from synthetic.arrays import take_rows
from synthetic.errors import ConfigError
from synthetic.geography import (
    DEFAULT_PEOPLE_PER_ZIP,
    MAX_PEOPLE_PER_ZIP,
    NUMBERLESS_SHARE,
    address_codes,
    address_frame,
    block_zip_codes,
    zip_count,
)
from synthetic.rng import stream

RELATIONSHIPS: tuple[str, ...] = ("householder", "partner", "child", "other")
HOUSEHOLDER, PARTNER, CHILD, OTHER = range(4)
SEXES: tuple[str, ...] = ("F", "M")  # order matches names.first_name_arrays()/cohort_model()

# Household sizes 1..7+ (ACS/CPS 2023, approximate): 28%, 35%, 15%, 12.5%, 6%, 2.3%, 1.2%.
DEFAULT_HOUSEHOLD_SIZE_SHARES = (0.28, 0.35, 0.15, 0.125, 0.06, 0.023, 0.012)
# Assumption: the 7+ class is split over sizes 7..10 with these relative weights.
_SIZE_7PLUS = (7, 8, 9, 10)
_SIZE_7PLUS_W = (0.5, 0.25, 0.15, 0.10)

# 2020 Census resident population by 5-year age band, millions (DHC table P12, approximate):
# 0-4, 5-9, ..., 95-99, 100-104.
AGE_PYRAMID_2020 = (
    19.4, 20.3, 21.6, 22.0, 21.6, 22.0, 22.6, 21.9, 20.9, 20.4, 20.9,
    22.0, 21.0, 17.9, 14.4, 9.6, 6.2, 3.7, 1.8, 0.55, 0.1,
)  # fmt: skip
MAX_AGE = 5 * len(AGE_PYRAMID_2020) - 1
# Headship rate (householders / people) by age, CPS 2023 "America's Families and Living
# Arrangements", approximate: 18-24, 25-34, 35-44, 45-54, 55-64, 65-74, 75+.
_HEADSHIP = ((18, 0.20), (25, 0.48), (35, 0.55), (45, 0.58), (55, 0.61), (65, 0.67), (75, 0.63))
# Assumption (tuned so that householders 65+ are ~27% of householders, as in CPS 2023, and the
# whole population roughly follows the pyramid): relative weights on the _HEADSHIP age classes
# for householders of households with a child member and of households without one.
_PARENT_FACTOR = ((18, 0.6), (25, 1.3), (35, 1.5), (45, 1.3), (55, 0.8), (65, 0.45), (75, 0.3))
_NO_CHILD_FACTOR = ((18, 1.0), (25, 0.8), (35, 0.6), (45, 0.7), (55, 1.1), (65, 1.6), (75, 1.9))
# Assumption: age gap parent -> child is 18 + 27 * Beta(2, 3) years (18..45, mean ~29).
_GAP_MIN, _GAP_RANGE = 18, 27


@dataclass(frozen=True)
class PopulationConfig:
    """Parameters of the synthetic population. Rates are documented assumptions (defaults).

    size: number of people (> 0).
    people_per_zip: mean residents per ZIP code (~331M / ~33,000 ZCTAs, 2020 Census).
    reference_date: ISO date at which ages are computed.
    household_size_shares: shares of households with 1, 2, ..., 6, 7+ people (sum 1).
    partner_share: share of 2+ person households with a spouse/partner of the householder.
    same_sex_partner: share of partners of the same sex as the householder.
    partner_same_group: P(partner has the householder's group); else drawn by population share.
    member_same_group: same for children and other relatives.
    partner_takes_surname: P(partner has the householder's surname); else their own.
    child_takes_surname: P(child has the householder's surname); else the partner's (if any) or
        their own.
    other_takes_surname: P(an "other" relative has the householder's surname); else their own.
    other_share: share of non-partner members who are "other" (relatives, roomers), not children.
    no_middle_name: share of people without a middle name.
    partner_takes_surname_by_group: overrides of partner_takes_surname by the partner's group.
    partner_hyphenates: P(a partner who changes surname hyphenates: BIRTH-SPOUSE).
    divorced_reverted: P(a single mother householder has reverted to her birth surname after a
        divorce; her children keep the married surname).
    compound_surname_by_group: P(a person's own surname is compound, paternal + maternal, e.g.
        GARCIA LOPEZ), by name-origin group (others: never); children inherit the convention.
    twin_share: share of children who are twins (of a sibling in the household).
    junior_share: P(a son of the householder with his father's surname is named after him: same
        first and middle name, suffix JR; the father gets SR).
    mover_share: share of households whose address changed during the period between the two
        agencies' snapshots; they keep a previous address (``previous_address_id``).
    move_same_zip: P(a mover's previous address is in the same ZIP code).
    po_box_share: share of households that receive mail at a PO box (``po_box``).
    numberless_share: share of dwellings without a house number (``house_number`` "").
    identifiers: whether people have a residence status and taxpayer identification numbers
        (``synthetic.identifiers``); the other identifier fields below apply only when true.
    unauthorized_share / lawful_share: share of residents who are unauthorized immigrants /
        lawful residents who are not citizens (householders and people drawn on their own).
    unauthorized_by_group / lawful_by_group: how each of these populations divides among the
        name-origin groups (shares summing to 1; groups not named: 0).
    household_shares_status: P(a partner or other member has the householder's status).
    child_citizen: P(a child of a non-citizen householder is a US-born citizen).
    itin_share: P(an unauthorized person holds an ITIN in use); the others have no TIN.
    former_itin_share: P(a lawful resident held an ITIN before getting an SSN).
    donor_relative_share: P(the SSN a person without one would borrow is a household member's,
        when the household has an SSN holder); else a stranger's.
    born_abroad_by_group: share of each group's adults (18+) born abroad (groups not named: 0);
        with identifiers, every non-citizen is born abroad as well.
    born_abroad_children: share of children (under 18) born abroad.
    dob_placeholder_share: P(a person born abroad carries a placeholder birth date in every
        document), by placeholder (``synthetic.births.PLACEHOLDERS``): January 1, the 1st of
        the birth month, July 1 of the birth year.
    """

    size: int
    people_per_zip: int = DEFAULT_PEOPLE_PER_ZIP
    reference_date: str = "2025-07-01"
    household_size_shares: tuple[float, ...] = DEFAULT_HOUSEHOLD_SIZE_SHARES
    partner_share: float = 0.6
    same_sex_partner: float = 0.03
    partner_same_group: float = 0.85
    member_same_group: float = 0.9
    partner_takes_surname: float = 0.6
    child_takes_surname: float = 0.9
    other_takes_surname: float = 0.5
    other_share: float = 0.2
    no_middle_name: float = 0.22
    # Pew Research Center (2023) survey of women in opposite-sex marriages: 79% took the spouse's
    # last name, 14% kept theirs, 5% hyphenated. Applied to all partners (cohabiting included)
    # the default 0.6 above is an assumption; Hispanic women traditionally keep their surnames
    # (assumption: 0.4).
    partner_takes_surname_by_group: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"hispanic": 0.4}
    )
    partner_hyphenates: float = 0.06  # Pew (2023): 5% of 84% who changed their name
    divorced_reverted: float = 0.1  # assumption
    # Assumption: about a third of US Hispanics are foreign-born (Pew Research Center, 2022:
    # 32%); people from Latin America carry two surnames, some US-born keep both.
    compound_surname_by_group: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"hispanic": 0.35}
    )
    # CDC NVSS: about 31-33 twin births per 1,000 live births in 2014-2022, so ~3.2% of children.
    twin_share: float = 0.032
    junior_share: float = 0.03  # assumption: ~3% of sons living with their father are "Jr."
    # CPS ASEC: 8.7% of people moved within the year before March 2022 (assumption: households
    # move together and the period is one year).
    mover_share: float = 0.087
    # Assumption: most moves are local (in the CPS ~60-65% of movers stay in the same county); a
    # same-ZIP move is narrower.
    move_same_zip: float = 0.5
    po_box_share: float = 0.05  # assumption: share of households getting mail at a PO box
    numberless_share: float = NUMBERLESS_SHARE  # pseudopeople's census: synthetic.geography
    # Identifiers (synthetic.identifiers, whose constants cite the sources); off by default.
    identifiers: bool = False
    unauthorized_share: float = ID.UNAUTHORIZED_SHARE
    lawful_share: float = ID.LAWFUL_SHARE
    unauthorized_by_group: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: dict(ID.UNAUTHORIZED_BY_GROUP)
    )
    lawful_by_group: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: dict(ID.LAWFUL_BY_GROUP)
    )
    # Assumption: most households of immigrants share a status, mixed-status households exist.
    household_shares_status: float = 0.8
    # Assumption: most children of immigrant householders are US-born (Pew Research Center
    # counts several US-born children for each unauthorized child living with unauthorized
    # parents).
    child_citizen: float = 0.8
    # Assumption: ~5 million ITINs in use of ~14 million unauthorized residents. TIGTA
    # (2018-40-011): 23.8 million ITINs issued by August 2017, 12.0 million deactivated for
    # non-use at the end of 2016 (holders include nonresidents and dependents); TIGTA (2012):
    # nearly 3 million returns filed with ITINs in 2011.
    itin_share: float = 0.35
    former_itin_share: float = 0.1  # assumption
    # Assumption: pseudopeople borrows the SSN of a household member with one (a random SSN
    # when there is none); half of the donors here are strangers (e.g. bought documents).
    donor_relative_share: float = 0.5
    # Approximate foreign-born shares of adults by name-origin group, from ACS 2022 foreign-born
    # shares by race and Hispanic origin (Pew Research Center fact sheets: 32% of Hispanics, 57%
    # of Asian Americans, 10% of Black Americans, ~4% of non-Hispanic whites are foreign-born;
    # few children are, so adults' shares are higher).
    born_abroad_by_group: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {
            "hispanic": 0.43,
            "api": 0.66,
            "black": 0.12,
            "white": 0.05,
            "aian": 0.05,
            "2prace": 0.08,
        }
    )
    # ACS 2022: about 2.7 million of ~73 million children under 18 are foreign-born (~3.7%).
    born_abroad_children: float = 0.037
    # Placeholder birth dates of people born abroad. The State Department gave about 11,000 of
    # the ~80,000 refugees resettled in 2009 a January 1 birth date (LA Times, 2010-01-01, "New
    # Year's birthdays aplenty"): 14% of refugees; refugees (~3 million resettled since 1975)
    # are ~7% of the 46 million foreign-born, so refugees alone put ~1% of the foreign-born on
    # January 1. Assumption: 2% on January 1 (others whose home documents give only a year),
    # 0.5% on the 1st of their birth month, 0.3% on July 1 (mid-year).
    dob_placeholder_share: Mapping[str, float] = dataclasses.field(
        default_factory=lambda: {"jan1": 0.02, "first_of_month": 0.005, "july1": 0.003}
    )

    def __post_init__(self) -> None:
        def bad(field: str, problem: str) -> ConfigError:
            return ConfigError(f"population.{field}", problem)

        if not isinstance(self.size, int | np.integer) or isinstance(self.size, bool):
            raise bad("size", f"must be an integer, got {self.size!r}")
        if self.size <= 0:
            raise bad("size", f"must be > 0, got {self.size}")
        ppz = self.people_per_zip
        if not isinstance(ppz, int | np.integer) or isinstance(ppz, bool):
            raise bad("people_per_zip", f"must be an integer, got {ppz!r}")
        if not 1 <= ppz <= MAX_PEOPLE_PER_ZIP:
            raise bad("people_per_zip", f"must be in 1..{MAX_PEOPLE_PER_ZIP}, got {ppz}")
        try:
            ref = dt.date.fromisoformat(self.reference_date)
        except (TypeError, ValueError):
            problem = f"must be an ISO date (YYYY-MM-DD), got {self.reference_date!r}"
            raise bad("reference_date", problem) from None
        if not 1900 <= ref.year <= 2200:
            raise bad("reference_date", f"year must be in 1900..2200, got {ref.year}")
        shares = self.household_size_shares
        if (
            len(shares) != len(DEFAULT_HOUSEHOLD_SIZE_SHARES)
            or not all(isinstance(x, int | float) and x >= 0 for x in shares)
            or not math.isclose(sum(shares), 1.0, abs_tol=1e-6)
        ):
            problem = "must be 7 non-negative shares (sizes 1..6, 7+) summing to 1"
            raise bad("household_size_shares", problem)
        for f in (
            "partner_share", "same_sex_partner", "partner_same_group", "member_same_group",
            "partner_takes_surname", "child_takes_surname", "other_takes_surname", "other_share",
            "no_middle_name", "partner_hyphenates", "divorced_reverted",
            "twin_share", "junior_share", "mover_share", "numberless_share",
            "move_same_zip", "po_box_share", "unauthorized_share", "lawful_share",
            "household_shares_status", "child_citizen", "itin_share", "former_itin_share",
            "donor_relative_share", "born_abroad_children",
        ):  # fmt: skip
            v = getattr(self, f)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise bad(f, f"must be a probability in [0, 1], got {v!r}")
        for f in ("partner_takes_surname_by_group", "compound_surname_by_group"):
            by_group = getattr(self, f)
            if not isinstance(by_group, Mapping):
                raise bad(f, "must be a table of group = probability")
            for g, v in by_group.items():
                if g not in N.GROUPS:
                    raise bad(f"{f}.{g}", f"unknown group; known: {', '.join(N.GROUPS)}")
                if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                    raise bad(f"{f}.{g}", f"must be a probability in [0, 1], got {v!r}")
            object.__setattr__(self, f, dict(by_group))  # a copy: the config stays as validated
        ba = self.born_abroad_by_group
        if not isinstance(ba, Mapping):
            raise bad("born_abroad_by_group", "must be a table of group = share")
        for g, v in ba.items():
            if g not in N.GROUPS:
                raise bad(
                    f"born_abroad_by_group.{g}", f"unknown group; known: {', '.join(N.GROUPS)}"
                )
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise bad(f"born_abroad_by_group.{g}", f"must be a share in [0, 1], got {v!r}")
        object.__setattr__(self, "born_abroad_by_group", dict(ba))
        ph = self.dob_placeholder_share
        if not isinstance(ph, Mapping):
            raise bad("dob_placeholder_share", "must be a table of placeholder = share")
        for k, v in ph.items():
            if k not in B.PLACEHOLDERS:
                known = ", ".join(B.PLACEHOLDERS)
                raise bad(f"dob_placeholder_share.{k}", f"unknown placeholder; known: {known}")
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                raise bad(f"dob_placeholder_share.{k}", f"must be a share in [0, 1], got {v!r}")
        if sum(ph.values()) > 1.0 + 1e-9:
            raise bad("dob_placeholder_share", f"shares sum to {sum(ph.values()):g} > 1")
        object.__setattr__(self, "dob_placeholder_share", dict(ph))
        if not isinstance(self.identifiers, bool):
            raise bad("identifiers", f"must be true or false, got {self.identifiers!r}")
        for f in ("unauthorized_by_group", "lawful_by_group"):
            mix = getattr(self, f)
            if not isinstance(mix, Mapping):
                raise bad(f, "must be a table of group = share")
            for g, v in mix.items():
                if g not in N.GROUPS:
                    raise bad(f"{f}.{g}", f"unknown group; known: {', '.join(N.GROUPS)}")
                if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= v <= 1.0:
                    raise bad(f"{f}.{g}", f"must be a share in [0, 1], got {v!r}")
            if not math.isclose(sum(mix.values()), 1.0, abs_tol=1e-6):
                raise bad(f, f"shares must sum to 1, got {sum(mix.values()):g}")
            object.__setattr__(self, f, dict(mix))
        if self.identifiers:  # probabilities above 1 for a group: one-line error
            ID.status_probabilities(
                self.unauthorized_share,
                self.lawful_share,
                self.unauthorized_by_group,
                self.lawful_by_group,
            )


#: Source of each PopulationConfig default (reports print it in their assumptions ledger; a test
#: checks every field has one).
SOURCES: dict[str, str] = {
    "size": "scenario (no default)",
    "people_per_zip": "2020 Census: ~331M people / ~33,000 ZCTAs",
    "reference_date": "assumption (mid-2025)",
    "household_size_shares": "ACS/CPS 2023 household sizes (approximate)",
    "partner_share": "assumption (CPS: about 60% of households with 2+ people have a couple)",
    "same_sex_partner": "assumption (ACS 2021 puts same-sex couples near 2% of couples)",
    "partner_same_group": "assumption",
    "member_same_group": "assumption",
    "partner_takes_surname": "Pew Research Center 2023 (79% of married women took the name); "
    "assumption for all partners",
    "child_takes_surname": "assumption",
    "other_takes_surname": "assumption",
    "other_share": "assumption",
    "no_middle_name": "assumption",
    "partner_takes_surname_by_group": "assumption (Hispanic women traditionally keep surnames)",
    "partner_hyphenates": "Pew Research Center 2023 (5% of married women hyphenated)",
    "divorced_reverted": "assumption",
    "compound_surname_by_group": "assumption (about a third of US Hispanics are foreign-born, "
    "Pew Research Center 2022)",
    "twin_share": "CDC NVSS: 31-33 twin births per 1,000 live births, 2014-2022",
    "junior_share": "assumption",
    "mover_share": "CPS ASEC 2022: 8.7% of people moved in the year",
    "move_same_zip": "assumption (CPS: ~60-65% of movers stay in the county)",
    "po_box_share": "assumption",
    "numberless_share": "pseudopeople sample decennial census: 3.7% of households without a "
    "street number",
    "identifiers": "scenario (off by default)",
    "unauthorized_share": "Pew Research Center 2025: 14.0 million unauthorized immigrants in 2023 "
    "of ~335 million residents",
    "lawful_share": "DHS OHSS: about 12.8 million lawful permanent residents, January 2023",
    "unauthorized_by_group": "Pew Research Center 2023 regions of birth mapped to name-origin "
    "groups (approximate)",
    "lawful_by_group": "DHS OHSS LPR regions of birth mapped to name-origin groups (approximate)",
    "household_shares_status": "assumption (mixed-status households exist)",
    "child_citizen": "assumption (most children of immigrant parents are US-born; Pew Research "
    "Center)",
    "itin_share": "assumption (~5M ITINs in use of ~14M unauthorized; TIGTA 2018-40-011: 23.8M "
    "issued, 12.0M deactivated for non-use in 2016)",
    "former_itin_share": "assumption",
    "donor_relative_share": "assumption (pseudopeople borrows a household member's SSN)",
    "born_abroad_by_group": "ACS 2022 foreign-born shares by race and Hispanic origin (Pew "
    "Research Center fact sheets), adults, approximate",
    "born_abroad_children": "ACS 2022: ~2.7M of ~73M children under 18 foreign-born",
    "dob_placeholder_share": "State Department via LA Times 2010-01-01: ~11,000 of ~80,000 "
    "refugees resettled in 2009 given a January 1 birth date (refugees alone: ~1% of the "
    "foreign-born); assumption: 2% January 1, 0.5% 1st of month, 0.3% July 1",
}


@dataclass(frozen=True)
class Population:
    """people: one row per person (see ``PEOPLE_COLUMNS``); addresses: every address of the
    geography (the pool for "stale address" noise), as returned by ``build_addresses``."""

    people: pd.DataFrame
    addresses: pd.DataFrame


#: Columns of ``Population.people``. Besides the record fields: ``second_surname`` (maternal part
#: of a compound surname, else None: the full surname is "LAST SECOND"), ``suffix`` (JR/SR or
#: None), ``previous_surname`` (before a marriage or after a divorce reversion), ``spouse_surname``
#: (the partner's surname), ``twin_id`` / ``namesake_id`` (person_id of the co-twin / the Jr-Sr
#: counterpart, else -1), ``previous_address_id`` (the household's address before its move, else
#: -1), ``po_box`` (the household's mailing PO box, else None) and the identifier columns
#: ``synthetic.identifiers.COLUMNS`` (all missing without ``identifiers``).
PEOPLE_COLUMNS: tuple[str, ...] = (
    "person_id", "household_id", "relationship", "sex", "dob", "age", "group", "first_name",
    "middle_name", "last_name", "second_surname", "suffix", "surname_rare", "first_name_rare",
    "previous_surname", "spouse_surname", "twin_id", "namesake_id", "address_id",
    "previous_address_id", "po_box", "house_number", "street", "unit", "city", "state", "zip",
    *ID.COLUMNS,
)  # fmt: skip
_ADDRESS_FIELDS = ("house_number", "street", "unit", "city", "state", "zip")


# ----------------------------------------------------------------------------- helpers
def _segments(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group index of each element, position within its group) for consecutive groups."""
    group = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    return group, np.arange(len(group)) - starts[group]


class _Sampler:
    """Draws indices i with P(i) proportional to ``weights`` by the guide-table (cutpoint) method:
    O(1) expected work per draw instead of a cache-unfriendly binary search over up to 162k names.
    The result equals ``searchsorted(cdf, u, side="right")`` for the same uniforms ``u``; small
    batches use exactly that (the guide table is built on the first large batch)."""

    __slots__ = ("buckets", "cdf", "guide", "last", "scale", "total")

    #: Batches smaller than this use a binary search: building the guide table costs more.
    GUIDE_MIN = 4096
    #: Forward steps from the guide before the binary search finishes the rest: tail names have
    #: tiny weights and share buckets by the hundred, and one numpy pass per step is dear.
    MAX_STEPS = 1

    def __init__(self, weights: np.ndarray, buckets_per_item: int = 2) -> None:
        k = len(weights)
        self.cdf = np.empty(k + 1)
        cdf = np.cumsum(weights, dtype=np.float64, out=self.cdf[:k])
        self.cdf[k] = np.inf  # sentinel: stops the forward walk in draw()
        self.total = float(cdf[-1])
        if not self.total > 0:
            raise ValueError("weights must have a positive sum")
        self.buckets = buckets_per_item * k
        self.scale = self.buckets / self.total
        self.guide: np.ndarray | None = None
        self.last = int(np.searchsorted(cdf, self.total, side="left"))  # last positive weight

    def _build_guide(self) -> np.ndarray:
        # guide[j] = first i with bucket(cdf[i]) >= j. bucket(x) = floor(x * scale) is monotone in
        # x, so for u in bucket j every i < guide[j] has cdf[i] < u: the answer is >= guide[j].
        m = self.buckets
        counts = np.bincount((self.cdf[:-1] * self.scale).astype(np.int64), minlength=m + 1)
        guide = np.empty(m + 1, dtype=np.int32)  # int32: half the cache lines of int64
        guide[0] = 0
        np.cumsum(counts[:m], out=guide[1:])
        return guide

    def expect(self, k: int) -> None:
        """Build the guide table now if ``k`` draws are coming (in batches of any size)."""
        if self.guide is None and k >= min(self.GUIDE_MIN, self.buckets // 16):
            self.guide = self._build_guide()

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` independent draws (consumes exactly ``k`` uniforms of ``rng``)."""
        return self.lookup(rng.random(k))

    def lookup(self, uniforms: np.ndarray) -> np.ndarray:
        """The draws made with these uniforms (in [0, 1)): ``draw`` is ``lookup(rng.random(k))``,
        and one lookup of several streams' uniforms costs less than a draw from each."""
        # u can round up to the total (p ~ 1e-16): keep such a draw on the last real item
        return np.minimum(self.search(uniforms * self.total), self.last)

    def search(self, u: np.ndarray) -> np.ndarray:
        """``searchsorted(cumsum(weights), u, side="right")`` for values ``u`` in [0, total]
        (up to rounding): the guide table's answer on large batches, a binary search on small
        ones."""
        if self.guide is None:
            if len(u) < min(self.GUIDE_MIN, self.buckets // 16):
                return np.searchsorted(self.cdf, u, side="right")
            self.guide = self._build_guide()
        # a value rounded just above the total stays in the last bucket (a valid lower bound)
        bucket = np.minimum((u * self.scale).astype(np.intp), self.buckets)
        idx = self.guide.take(bucket).astype(np.intp)
        act = np.flatnonzero(self.cdf[idx] <= u)
        for _ in range(self.MAX_STEPS):  # walk forward on a shrinking subset
            if not act.size:
                break
            idx[act] += 1
            act = act[self.cdf[idx[act]] <= u[act]]
        if act.size:
            idx[act] = np.searchsorted(self.cdf, u[act], side="right")
        return idx


def _by_category(codes: np.ndarray, n_codes: int) -> list[tuple[int, np.ndarray]]:
    """Indices of the elements of each category, in a deterministic order (stable sort)."""
    # int16 keys make numpy use a radix sort: ~6x faster than sorting int64 codes
    order = np.argsort(codes.astype(np.int16 if n_codes < 2**15 else np.int64), kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=n_codes))
    out, lo = [], 0
    for c, hi in enumerate(bounds):
        if hi > lo:
            out.append((c, order[lo:hi]))
        lo = hi
    return out


def _age_weights(factors: tuple[tuple[int, float], ...], min_age: int) -> np.ndarray:
    """Weights of single years 0..MAX_AGE: the pyramid (each band spread evenly over its 5 years)
    times a factor per age class (``(lower age, factor)`` pairs), zero below ``min_age``."""
    w = np.repeat(np.asarray(AGE_PYRAMID_2020) / 5.0, 5)
    ages = np.arange(len(w))
    for lo, f in factors:
        w[ages >= lo] = np.repeat(np.asarray(AGE_PYRAMID_2020) / 5.0, 5)[ages >= lo] * f
    w[ages < min_age] = 0.0
    return w


@lru_cache
def _age_samplers() -> tuple[_Sampler, _Sampler, _Sampler, _Sampler]:
    """(householder ages: households without / with a child member, any age, child age gap)."""

    def times(fac: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
        return tuple((lo, h * f) for (lo, h), (_, f) in zip(_HEADSHIP, fac, strict=True))

    gaps = np.arange(_GAP_RANGE + 1) + 0.5
    beta23 = (gaps / (_GAP_RANGE + 1)) * (1 - gaps / (_GAP_RANGE + 1)) ** 2  # Beta(2,3) density
    return (
        _Sampler(_age_weights(times(_NO_CHILD_FACTOR), 18)),
        _Sampler(_age_weights(times(_PARENT_FACTOR), 18)),
        _Sampler(_age_weights((), 0)),
        _Sampler(beta23),
    )


@dataclass(frozen=True)
class _BlendTable:
    """Raw material for invented rare names: the listed names as a char matrix and, per category,
    a sampler of source names (weighted by type share, so blends look like the category's rarer
    names rather than like SMITH or JOHN)."""

    sources: tuple[_Sampler, ...]
    chars: np.ndarray  # (n, W) uint8, zero-padded
    lens: np.ndarray  # (n,)
    listed_keys: pd.Index  # keys of listed names of <= _RARE_MAX letters (a hashed lookup)
    padded: np.ndarray  # (n, W + 2 * _RARE_MAX) chars with _RARE_MAX zero columns either side


def _blend_table(names: np.ndarray, weights: np.ndarray) -> _BlendTable:
    """``weights``: (n_names, n_categories) holders; sources ~ share of the name in its category."""
    enc = names.astype(f"S{_RARE_MAX}" if max(map(len, names)) < _RARE_MAX else "S")
    chars = np.frombuffer(enc.tobytes(), dtype=np.uint8).reshape(len(names), enc.dtype.itemsize)
    lens = (chars > 0).sum(axis=1)
    pct = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    short = lens <= _RARE_MAX
    letters = np.all((chars[short, :_RARE_MAX] == 0) | (chars[short, :_RARE_MAX] >= 65), axis=1)
    keys = pd.Index(np.unique(_pack(chars[short][letters, :_RARE_MAX])))
    padded = np.zeros((len(chars), chars.shape[1] + 2 * _RARE_MAX), dtype=np.uint8)
    padded[:, _RARE_MAX:-_RARE_MAX] = chars
    sources = tuple(_Sampler(pct[:, c]) for c in range(pct.shape[1]))
    return _BlendTable(sources, chars, lens, keys, padded)


@lru_cache
def _surname_tables() -> tuple[list[_Sampler], _BlendTable, np.ndarray]:
    """(listed-surname sampler per group, rare-surname blend table per group, listed names)."""
    names, w = N.surname_arrays()
    listed = [_Sampler(w[:, g]) for g in range(len(N.GROUPS))]
    # Only letters (no spaces/apostrophes) are blended: pieces of "DE LA CRUZ" are not names.
    plain = np.array([n.isalpha() for n in names])
    return listed, _blend_table(names[plain], w[plain]), names


@lru_cache
def _first_name_blend() -> _BlendTable:
    """Blend table for rare first names, one category per (group, sex): index group * 2 + sex."""
    names, w, sex = N.first_name_arrays()
    plain = np.array([n.isalpha() for n in names])
    cats = (w[:, :, None] * sex[:, None, :]).reshape(len(names), -1)  # (n, group*2+sex)
    return _blend_table(names[plain], cats[plain])


_RARE_MIN, _RARE_MAX = 4, 12


def _pack(chars: np.ndarray) -> np.ndarray:
    """uint64 key of upper-case names given as (k, <=12) uint8 matrices (5 bits per letter)."""
    width = chars.shape[1]
    key = np.zeros(len(chars), dtype=np.uint64)
    for j in range(width):  # column by column: a reduce over 12 columns is slow in numpy
        # letters: A = 65 -> 1, ..., Z = 90 -> 26 (the low 5 bits); no letter: 0
        key |= (chars[:, j] & 31).astype(np.uint64) << np.uint64(5 * (width - 1 - j))
    return key


def _synthesize_rare(cats: np.ndarray, rng: np.random.Generator, table: _BlendTable) -> np.ndarray:
    """Invented names for elements of the given categories: prefix of one listed name + suffix of
    another (4-12 letters), none equal to a listed name, unique among themselves."""
    src, chars, lens = table.sources, table.chars, table.lens
    k = len(cats)
    out = np.zeros((k, _RARE_MAX), dtype=np.uint8)
    keys = np.zeros(k, dtype=np.uint64)
    todo = np.arange(k)
    width = chars.shape[1]
    # below[p, j]: position j comes before p (p clipped to _RARE_MAX)
    below = np.arange(_RARE_MAX)[None, :] < np.arange(_RARE_MAX + 1)[:, None]
    for _ in range(50):  # redraw collisions and bad lengths; a handful of rounds suffices
        a = np.empty(len(todo), dtype=np.int64)
        b = np.empty(len(todo), dtype=np.int64)
        for ci, idx in _by_category(cats[todo], len(src)):
            a[idx] = src[ci].draw(rng, len(idx))
            b[idx] = src[ci].draw(rng, len(idx))
        la, lb = lens[a], lens[b]
        # prefix of A: 2..len-1 letters; suffix of B: 2..len-1 letters (whole name if short)
        pa = np.minimum(la, 2 + (rng.random(len(todo)) * np.maximum(la - 2, 1)).astype(np.int64))
        sb = np.minimum(lb, 2 + (rng.random(len(todo)) * np.maximum(lb - 2, 1)).astype(np.int64))
        total = pa + sb
        # letters 0..pa-1 of A, then letters lb-sb.. of B at positions pa..total-1: B's row
        # shifted by pa-(lb-sb) is a window of its zero-padded row (whole-row takes and one
        # window per row: much faster than 2-D fancy indexing)
        from_a = chars.take(a, axis=0)[:, :_RARE_MAX]  # width >= _RARE_MAX
        shift = np.clip(lb - sb - pa, -_RARE_MAX, width) + _RARE_MAX
        windows = np.lib.stride_tricks.sliding_window_view(
            table.padded.take(b, axis=0), _RARE_MAX, axis=1
        )
        from_b = windows[np.arange(len(todo)), shift]
        in_a = below.take(np.minimum(pa, _RARE_MAX), axis=0)
        in_name = below.take(np.minimum(total, _RARE_MAX), axis=0)
        mat = np.where(in_a, from_a, np.where(in_name, from_b, 0))
        out[todo] = mat
        keys[todo] = _pack(mat)
        listed = table.listed_keys.get_indexer(keys[todo]) >= 0
        bad = pd.Series(keys).duplicated().to_numpy()
        bad[todo] |= (total < _RARE_MIN) | (total > _RARE_MAX) | listed
        todo = np.flatnonzero(bad)
        if not len(todo):
            break
    return out.view(f"S{_RARE_MAX}").ravel().astype(np.dtypes.StringDType()).astype(object)


@lru_cache
def living_by_year() -> tuple[tuple[int, float], ...]:
    """(birth year, people alive in 2020 born in it), from the 2020 age pyramid: the weights
    that make cohort-adjusted first names average back to the Census 2020 (living) table."""
    per_year = np.repeat(np.asarray(AGE_PYRAMID_2020) / 5.0, 5)
    return tuple((2020 - a, float(per_year[a])) for a in range(len(per_year)))


def _cohorts() -> N.CohortModel:
    return N.cohort_model(living_by_year())


@lru_cache
def _first_name_parts() -> tuple[np.ndarray, tuple[tuple[_Sampler | None, ...], ...]]:
    """Per (group, sex) category ``g * 2 + s``: the name weights holders in g x share of s,
    (12, n) contiguous; and one sampler per low-rank component of the cohort model (None where
    it has no weight)."""
    _, w, sex = N.first_name_arrays()
    m = _cohorts()
    base = np.ascontiguousarray(
        [w[:, g] * sex[:, s] for g in range(len(N.GROUPS)) for s in range(2)]
    )
    comps = []
    for gs in range(len(base)):
        row = []
        for k in range(len(m.vec)):
            wk = base[gs] * m.vec[k, :, gs % 2]
            smp = _Sampler(wk) if wk.sum() > 0 else None
            if smp is not None:  # drawn from in many small batches: the guide table pays
                smp.expect(smp.GUIDE_MIN)
            row.append(smp)
        comps.append(tuple(row))
    return base, tuple(comps)


class _FirstNameTable:
    """First names by (group, sex, birth year) category ``(g * 2 + s) * ny + y``: P(name) ~
    holders in the group x share of the sex x cohort ratio of the year (``names.CohortModel``):
    the year's SSA-listed names from a ``_Sampler`` of the category, the low-rank remainder from
    the (group, sex) samplers of ``_first_name_parts``.

    One table serves every block of the process (:func:`first_name_table`): a category's
    sampler is made on its first draw (by :meth:`first_names`, in a worker thread, for the
    categories of a block) and kept. Draws equal those
    of one sampler object per category (the earlier ``_FirstNameSampler``): same uniforms, same
    arithmetic, same picks.
    """

    __slots__ = ("_base", "_comps", "_entries", "_model", "_ny")

    def __init__(self) -> None:
        self._base, self._comps = _first_name_parts()
        self._model = _cohorts()
        self._ny = len(self._model.years)
        self._entries: dict[int, tuple] = {}  # category -> what lookup needs

    def _entry(self, c: int) -> tuple:
        entry = self._entries.get(c)
        if entry is not None:
            return entry
        m, ny = self._model, self._ny
        gs, y = divmod(c, ny)
        s = gs % 2
        lo, hi = int(m.indptr[s * ny + y]), int(m.indptr[s * ny + y + 1])
        w = self._base[gs].take(m.idx[lo:hi]) * m.value[lo:hi]  # holders x sex share x ratio
        main_mass = float(w.sum()) if len(w) else 0.0
        main = _Sampler(w) if main_mass > 0 else None
        masses = [main_mass]
        comps = self._comps[gs]
        for k, smp in enumerate(comps):
            masses.append(smp.total * float(m.scale[k, s, y]) if smp is not None else 0.0)
        cum = np.cumsum(masses)
        entry = (main, m.idx[lo:hi], cum, float(cum[0]), float(cum[-1]), comps)
        self._entries[c] = entry
        return entry

    def first_names(
        self,
        by_cat: list[tuple[int, np.ndarray]],
        starts: list[int],
        uniforms: np.ndarray,
        out: np.ndarray,
    ) -> None:
        """First names into ``out[idx]`` for each (category, idx) of ``by_cat``, drawn with the
        uniforms from ``starts`` (one per person): the categories' uniforms as one call per
        category, in increasing category order, would draw them. Makes the tables of these
        categories (a worker thread's job; two workers share the categories)."""
        for (c, idx), lo in zip(by_cat, starts, strict=True):
            main = self._entry(c)[0]
            if main is not None:  # the middle names will draw as many
                main.expect(2 * len(idx))
            out[idx] = self.lookup(c, uniforms[lo : lo + len(idx)])

    def lookup(self, c: int, uniforms: np.ndarray) -> np.ndarray:
        """Name indices of category ``c`` drawn with these uniforms (one per draw)."""
        main, idx, cum, cum0, cum_end, comps = self._entry(c)
        x = uniforms * cum_end
        below_one = np.nextafter(1.0, 0.0)
        if main is not None:  # most draws: the year's listed names
            out = idx.take(main.lookup(np.minimum(x / cum0, below_one)))
        else:
            out = np.zeros(len(x), dtype=np.int64)
        rest = np.flatnonzero(x >= cum0)
        if rest.size:
            part = np.minimum(np.searchsorted(cum, x[rest], side="right"), len(cum) - 1)
            for k in range(1, len(cum)):
                sel = rest[part == k]
                smp = comps[k - 1]
                if not sel.size or smp is None:
                    continue
                lo = cum[k - 1]
                out[sel] = smp.lookup(np.minimum((x[sel] - lo) / (cum[k] - lo), below_one))
        return out

    def draw(self, c: int, rng: np.random.Generator, k: int) -> np.ndarray:
        """``k`` independent draws of category ``c``."""
        return self.lookup(c, rng.random(k))

    def draw_many(self, cats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One draw for each element of ``cats`` (categories), category by category in
        increasing order (each drawing as many uniforms of ``rng`` as it has elements)."""
        out = np.empty(len(cats), dtype=np.int64)
        for c, idx in _by_category(cats, len(N.GROUPS) * 2 * self._ny):
            out[idx] = self.draw(c, rng, len(idx))
        return out


@lru_cache(maxsize=1)
def first_name_table() -> _FirstNameTable:
    """The process's first-name table, shared by every block and population: a category's
    sampler is the same wherever it is drawn, and making the samplers of a block's categories
    is a third of the work of generating a small population (a calibration's points, a
    replicate). Up to ~300 MB once every category is made: :func:`release_first_name_table`
    frees it (the big-file path does, once its population is written)."""
    return _FirstNameTable()


def release_first_name_table() -> None:
    """Free the shared first-name table (made again on the next draw)."""
    first_name_table.cache_clear()


@lru_cache
def _box_vocab() -> np.ndarray:
    """PO box labels "PO BOX 0" to "PO BOX 9999", then None (code -1)."""
    return np.array([f"PO BOX {i}" for i in range(10_000)] + [None], dtype=object)


@lru_cache(maxsize=4)
def _day_vocab(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """For days lo..hi (days since 1970-01-01): ISO strings (object) and years (int)."""
    days = np.arange(lo, hi + 1).astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.datetime_as_string(days).astype(object), years


@lru_cache(maxsize=4)
def _day_cum(lo: int, hi: int) -> tuple[np.ndarray, _Sampler]:
    """Cumulative birth weights (``synthetic.births.day_weights``) of days lo..hi, from 0; and
    the sampler of these weights (its guide table finds the day of a cumulative weight)."""
    days = _Sampler(B.day_weights(lo, hi))
    return np.concatenate([[0.0], days.cdf[:-1]]), days


def _age_at(day: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Age at the reference date of people born on ``day`` (``upper[a]``: the day ``a`` years
    before it): the number of a >= 1 with ``upper[a] >= day``."""
    return len(upper) - np.searchsorted(upper[::-1], day, side="left") - 1


def _placeholder_dates(
    cfg: PopulationConfig,
    seed: int,
    bkey: tuple[str, ...],
    day: np.ndarray,
    age: np.ndarray,
    group: np.ndarray,
    status: np.ndarray,
    tw: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """Birth days with the placeholders of people born abroad (``cfg.dob_placeholder_share``):
    January 1, the 1st of the month or July 1 of their birth year, recorded everywhere. Who is
    born abroad: ``cfg.born_abroad_by_group`` of adults, ``cfg.born_abroad_children`` of
    children, and every non-citizen (with identifiers). Co-twins share the first twin's date."""
    n = len(day)
    rng = stream(seed, "population", *bkey, "born_abroad")
    p_adult = np.array([cfg.born_abroad_by_group.get(g, 0.0) for g in N.GROUPS])
    abroad = rng.random(n) < np.where(age >= 18, p_adult[group], cfg.born_abroad_children)
    known = pd.notna(status)  # none known without identifiers: no string comparisons then
    if known.any():
        abroad[known] |= status[known] != "citizen"
    shares = np.array([cfg.dob_placeholder_share.get(k, 0.0) for k in B.PLACEHOLDERS])
    kind = np.searchsorted(np.cumsum(shares), rng.random(n), side="right")  # len: none
    kind[~abroad] = len(shares)
    kind[tw] = kind[tw - 1]
    out = day.copy()
    who = np.flatnonzero(kind < len(shares))  # a few percent: dates computed for them only
    d = day[who].astype("datetime64[D]")
    year_start = d.astype("datetime64[Y]")
    placeholder = np.stack([
        year_start.astype("datetime64[D]"),
        d.astype("datetime64[M]").astype("datetime64[D]"),
        (year_start.astype("datetime64[M]") + 6).astype("datetime64[D]"),
    ]).astype(np.int64)  # fmt: skip
    pick = placeholder[kind[who], np.arange(len(who))]
    ok = (pick > upper[-1]) & (pick <= upper[0])
    out[who[ok]] = pick[ok]
    return out


def _years_before(ref: dt.date, years: int) -> int:
    """Day number (since 1970-01-01) of ``ref`` moved back by ``years`` (Feb 29 -> Feb 28)."""
    y = ref.year - years
    try:
        d = ref.replace(year=y)
    except ValueError:
        d = ref.replace(year=y, day=28)
    return (d - dt.date(1970, 1, 1)).days


def _household_sizes(cfg: PopulationConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    """Household sizes drawn until exactly ``n`` people (the last household is truncated)."""
    shares = np.asarray(cfg.household_size_shares, dtype=np.float64)
    size_vals = np.array([1, 2, 3, 4, 5, 6, *_SIZE_7PLUS])
    size_p = np.concatenate([shares[:6], shares[6] * np.asarray(_SIZE_7PLUS_W)])
    size_p /= size_p.sum()
    mean = float(size_vals @ size_p)
    chunks, total = [], 0
    while total < n:
        c = rng.choice(size_vals, int((n - total) / mean * 1.05) + 16, p=size_p)
        chunks.append(c)
        total += int(c.sum())
    sizes = np.concatenate(chunks)
    ends = np.cumsum(sizes)
    n_hh = int(np.searchsorted(ends, n)) + 1
    sizes = sizes[:n_hh].copy()
    sizes[-1] -= int(ends[n_hh - 1]) - n
    return sizes


# ----------------------------------------------------------------------------- blocks
#: People per generation block. A population larger than this is generated block by block, each
#: block from its own random streams (see :func:`block_layout`); a module constant so that tests
#: can use small blocks.
BLOCK_SIZE = 2**20


@dataclass(frozen=True)
class BlockLayout:
    """How a population is cut into generation blocks (contiguous ranges of person ids).

    ``people[b]`` / ``households[b]``: people and households (= dwellings, = addresses) of block
    ``b``; ``zips[b]``: the block's own ZIP codes as (state index, code). ``households`` and
    ``zips`` are None for a population of one block: its ids start at 0 and it draws its ZIP
    codes as a small population always has.
    """

    people: np.ndarray
    households: np.ndarray | None
    zips: tuple[tuple[np.ndarray, np.ndarray], ...] | None

    @property
    def n_blocks(self) -> int:
        """Number of blocks."""
        return len(self.people)

    def person_start(self, b: int) -> int:
        """person_id of the first person of block ``b``."""
        return int(self.people[:b].sum())

    def household_start(self, b: int) -> int:
        """household_id (and address_id) of the first household of block ``b``."""
        if b == 0:
            return 0
        assert self.households is not None, "only a one-block population has none (b is 0)"
        return int(self.households[:b].sum())

    def key(self, b: int) -> tuple[str, ...]:
        """Names inserted in block ``b``'s random streams: none for a one-block population (so
        every small population is what it was before blocks existed)."""
        return block_key(self.n_blocks, b)


def block_key(n_blocks: int, b: int) -> tuple[str, ...]:
    """Stream-name key of block ``b`` of ``n_blocks``: ``()`` for a single block, else
    ``("block", str(b))``."""
    return () if n_blocks == 1 else ("block", str(b))


def block_sizes(size: int) -> np.ndarray:
    """People in each block of a population of ``size``: ``ceil(size / BLOCK_SIZE)`` blocks of
    equal sizes (up to one person)."""
    k = -(-size // BLOCK_SIZE)
    return np.full(k, size // k, dtype=np.int64) + (np.arange(k) < size % k)


def block_layout(cfg: PopulationConfig, seed: int) -> BlockLayout:
    """The blocks of the population ``(cfg, seed)``: sizes, household counts (from each block's
    household stream: cheap) and, for several blocks, disjoint ZIP codes per block."""
    people = block_sizes(cfg.size)
    if len(people) == 1:
        return BlockLayout(people, None, None)
    households = np.array(
        [
            len(_household_sizes(cfg, n, stream(seed, "population", "block", str(b), "households")))
            for b, n in enumerate(people.tolist())
        ]
    )
    # as build_addresses counts them, from the block's mean household size
    counts = np.array(
        [
            zip_count(h, n / h, cfg.people_per_zip)
            for n, h in zip(people.tolist(), households.tolist(), strict=True)
        ]
    )
    return BlockLayout(people, households, tuple(block_zip_codes(counts, seed)))


# ----------------------------------------------------------------------------- main
def generate_population(cfg: PopulationConfig, seed: int) -> Population:
    """Generate ``cfg.size`` people in households with addresses, names, sex, dob and group.

    Deterministic: the same (cfg, seed) gives an identical result; each component uses its own
    random stream so adding a component never changes the others. A population of more than
    ``BLOCK_SIZE`` people is the concatenation of its blocks (:func:`generate_block`); big
    populations are better generated block by block (``synthetic.shards``).
    """
    layout = block_layout(cfg, seed)
    if layout.n_blocks == 1:
        return generate_block(cfg, seed, 0, layout)
    blocks = [generate_block(cfg, seed, b, layout) for b in range(layout.n_blocks)]
    return Population(
        people=pd.concat([p.people for p in blocks], ignore_index=True),
        addresses=pd.concat([p.addresses for p in blocks], ignore_index=True),
    )


def _household_addresses(
    cfg: PopulationConfig,
    seed: int,
    bkey: tuple[str, ...],
    n: int,
    n_hh: int,
    hh0: int,
    zips: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[dict, pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """The addresses of a block and, per household: its address position, its previous address
    (movers) and its PO box label (None without one). Needs the households only (own streams)."""
    # one dwelling per household, assigned in random order
    codes = address_codes(
        n_hh,
        cfg.people_per_zip,
        seed,
        people_per_household=n / n_hh,
        stream_key=bkey,
        zips=zips,
        numberless_share=cfg.numberless_share,
    )
    addresses = address_frame(codes, hh0)
    hh_addr = stream(seed, "population", *bkey, "address_assignment").permutation(n_hh)
    # Movers: the household's address before its last move (within the period; see mover_share)
    rng = stream(seed, "population", *bkey, "moves")
    moved = rng.random(n_hh) < cfg.mover_share
    prev_addr = np.full(n_hh, -1, dtype=np.int64)
    zip_of_address = codes["zip"][1]  # ZIP position: as the ZIP strings, without hashing them
    prev_addr[moved] = hh0 + previous_addresses(
        zip_of_address, hh_addr[moved], cfg.move_same_zip, rng
    )
    # Mailing addresses: some households receive mail at a post-office box.
    rng = stream(seed, "population", *bkey, "po_boxes")
    boxes = rng.random(n_hh) < cfg.po_box_share
    box_no = rng.integers(1, 10_000, n_hh)
    hh_box = _box_vocab().take(np.where(boxes, box_no, -1))
    return codes, addresses, hh_addr, prev_addr, hh_box


def _rare_first_names(
    seed: int, bkey: tuple[str, ...], group: np.ndarray, male: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(people whose first name comes from the Census tail, their synthesized names)."""
    rng_r = stream(seed, "population", *bkey, "first_names_rare")
    first_rare = rng_r.random(len(group)) < N.rare_first_name_prob()[group]
    i_fr = np.flatnonzero(first_rare)
    rare_first = _synthesize_rare(group[i_fr] * 2 + male[i_fr], rng_r, _first_name_blend())
    return i_fr, rare_first


def _surnames(
    cfg: PopulationConfig,
    seed: int,
    bkey: tuple[str, ...],
    *,
    group: np.ndarray,
    male: np.ndarray,
    age: np.ndarray,
    hh: np.ndarray,
    hh_start: np.ndarray,
    has_partner: np.ndarray,
    has_child: np.ndarray,
    partner_idx: np.ndarray,
    hh_male: np.ndarray,
    is_hh: np.ndarray,
    is_partner: np.ndarray,
    is_child: np.ndarray,
    is_other: np.ndarray,
    tw: np.ndarray,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Surname codes of a block's people and their surname columns (last, second, previous and
    spouse's surname; rare or not), from the stream ``surnames`` (see the comments)."""
    n = len(group)
    # --- surnames. Every surname is a code into one vocabulary: listed Census names first, then
    # invented rare names, then hyphenated married names. Own draws (birth surnames, surnames
    # reverted after a divorce, maternal second surnames) are made in one batch, so invented
    # names are unique overall. Then couples and children take surnames from each other.
    rng = stream(seed, "population", *bkey, "surnames")
    s_listed, s_blend, listed = _surname_tables()
    u = rng.random(n)
    child_other_name = is_child & (u >= cfg.child_takes_surname)
    child_gets_partner = child_other_name & has_partner[hh]  # the other parent's surname
    own = is_hh | is_partner | (is_other & (u >= cfg.other_takes_surname))
    own |= child_other_name & ~has_partner[hh]
    # In a couple the wife changes her surname (or either partner of a same-sex couple: the
    # partner); when she is the householder, she takes her husband's, else he takes hers.
    wife_hh = has_partner & ~hh_male & male[np.maximum(partner_idx, 0)]
    chg = np.where(wife_hh, hh_start, partner_idx)[has_partner]
    keep = np.where(wife_hh, partner_idx, hh_start)[has_partner]
    takes = np.full(n, cfg.partner_takes_surname)
    for g, r in cfg.partner_takes_surname_by_group.items():
        takes[group == N.GROUPS.index(g)] = r
    u_c, u_h = rng.random(len(chg)), rng.random(len(chg))
    c_takes = u_c < takes[chg]
    c_hyph = c_takes & (u_h < cfg.partner_hyphenates)
    # A divorced mother who reverted to her birth surname; her children keep the married one.
    reverts = is_hh & ~male & ~has_partner[hh] & has_child[hh] & (age >= 25)
    reverts &= rng.random(n) < cfg.divorced_reverted
    p_compound = np.zeros(len(N.GROUPS))
    for g, r in cfg.compound_surname_by_group.items():
        p_compound[N.GROUPS.index(g)] = r
    compound = own & (rng.random(n) < p_compound[group])

    own_idx, rev_idx, cmp_idx = (
        np.flatnonzero(own),
        np.flatnonzero(reverts),
        np.flatnonzero(compound),
    )
    slots = np.concatenate([own_idx, rev_idx, cmp_idx])
    slot_group = group[slots]
    rare = rng.random(len(slots)) < N.rare_surname_prob()[slot_group]
    code = np.empty(len(slots), dtype=np.int64)
    listed_idx = np.flatnonzero(~rare)
    for gi, idx in _by_category(slot_group[listed_idx], len(N.GROUPS)):
        code[listed_idx[idx]] = s_listed[gi].draw(rng, len(idx))
    rare_idx = np.flatnonzero(rare)
    rare_names = _synthesize_rare(slot_group[rare_idx], rng, s_blend)
    code[rare_idx] = len(listed) + np.arange(len(rare_idx))
    own_code, rev_code, second_code = np.split(code, [len(own_idx), len(own_idx) + len(rev_idx)])
    vocab = np.concatenate([listed, rare_names])

    sur = np.full(n, -1, dtype=np.int64)
    sur[own_idx] = own_code
    second = np.full(n, -1, dtype=np.int64)
    second[cmp_idx] = second_code
    previous = np.full(n, -1, dtype=np.int64)
    birth_first = sur.copy()  # first (paternal) birth surname of everyone who drew one
    # Marriage: taken (the spouse's surname, no second surname) or hyphenated (BIRTH-SPOUSE).
    c, k = chg[c_takes & ~c_hyph], keep[c_takes & ~c_hyph]
    previous[c], sur[c], second[c] = sur[c], sur[k], -1
    c, k = chg[c_hyph], keep[c_hyph]
    previous[c], second[c] = sur[c], -1
    sur[c] = len(vocab) + np.arange(len(c))
    vocab = np.concatenate([vocab, vocab[previous[c]] + "-" + vocab[birth_first[k]]])
    previous[rev_idx] = sur[rev_idx]  # the married surname (kept by her children)
    # Inheritance: children take the husband's surname (the householder's without a partner),
    # else the other parent's; relatives take the householder's.
    head = np.where(wife_hh, partner_idx, hh_start)
    other_parent = np.where(wife_hh, hh_start, partner_idx)  # the mother; -1 without a partner
    kid_other = is_child & ~own & child_gets_partner
    kid_head = is_child & ~own & ~kid_other
    rel_hh = ~own & ~is_child
    for m, src in ((kid_head, head), (kid_other, other_parent), (rel_hh, hh_start)):
        i = np.flatnonzero(m)
        sur[i], second[i] = sur[src[hh[i]]], second[src[hh[i]]]
    second[kid_other] = -1
    # Children of a compound-surname household: the father's first surname, then the mother's
    # first birth surname (when she is in the household), e.g. HIGDON MCGLOTHLIN.
    kid = np.flatnonzero(kid_head & (second >= 0) & has_partner[hh])
    second[kid] = birth_first[other_parent[hh[kid]]]
    sur[tw], second[tw] = sur[tw - 1], second[tw - 1]  # twins share their surname
    sur[rev_idx] = rev_code  # reverted after the children inherited the married surname
    previous[previous == sur] = -1  # a spouse with the same surname by chance: no change
    spouse = np.full(n, -1, dtype=np.int64)  # the partner's current surname
    i_p = np.flatnonzero(is_partner)
    spouse[i_p] = sur[hh_start[hh[i_p]]]
    spouse[hh_start[has_partner]] = sur[partner_idx[has_partner]]
    # code -1 -> None (None as an object array: np.append's stubs refuse a bare None; same result)
    vocab_na = np.append(vocab, np.array([None], dtype=object))
    last_name = take_rows(vocab, sur)
    surname_rare = sur >= len(listed)
    surname_rare &= sur < len(listed) + len(rare_names)
    cols = {
        "last_name": last_name,
        "second_surname": vocab_na.take(second),
        "surname_rare": surname_rare,
        "previous_surname": vocab_na.take(previous),
        "spouse_surname": vocab_na.take(spouse),
    }
    return sur, cols


def generate_block(cfg: PopulationConfig, seed: int, b: int, layout: BlockLayout) -> Population:
    """Block ``b`` of the population ``(cfg, seed)`` (``layout`` = :func:`block_layout`).

    A block is a population of its own: its households, addresses, ZIP codes and moves stay
    within it (an assumption: moves between blocks are not modelled; a block holds ~1M people of
    every state), and its invented rare names are unique within it. Its ids are global:
    ``person_id`` from ``layout.person_start(b)``, ``household_id``, ``address_id`` and
    ``previous_address_id`` from ``layout.household_start(b)``; ``twin_id`` and ``namesake_id``
    are person ids. Its random streams are keyed by the block (``layout.key(b)``).
    """
    # Components on their own random streams are drawn by worker threads while this one draws
    # the others (numpy releases the GIL in its loops): the results do not depend on timing.
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="population") as pool:
        return _generate_block(cfg, seed, b, layout, pool)


def _generate_block(
    cfg: PopulationConfig, seed: int, b: int, layout: BlockLayout, pool: ThreadPoolExecutor
) -> Population:
    n = int(layout.people[b])
    bkey = layout.key(b)
    person0, hh0 = layout.person_start(b), layout.household_start(b)

    # --- households: sizes until exactly n people (the last household is truncated)
    rng = stream(seed, "population", *bkey, "households")
    sizes = _household_sizes(cfg, n, rng)
    n_hh = len(sizes)
    hh, pos = _segments(sizes)
    hh_start = np.cumsum(sizes) - sizes  # person index of each householder
    zips = None if layout.zips is None else layout.zips[b]
    addresses_job = pool.submit(_household_addresses, cfg, seed, bkey, n, n_hh, hh0, zips)

    has_partner = (sizes >= 2) & (rng.random(n_hh) < cfg.partner_share)
    rel = np.where(pos == 0, HOUSEHOLDER, CHILD).astype(np.int8)
    rel[(pos == 1) & has_partner[hh]] = PARTNER
    rest = rel == CHILD
    rel[rest & (rng.random(n) < cfg.other_share)] = OTHER
    is_hh, is_partner, is_child, is_other = (rel == r for r in range(4))
    has_child = np.bincount(hh[is_child], minlength=n_hh) > 0
    partner_idx = np.where(has_partner, hh_start + 1, -1)  # partner is always at position 1

    # --- sex
    rng = stream(seed, "population", *bkey, "sex")
    male = rng.random(n) < 0.5  # householders, children and others: 50/50 (assumption)
    hh_male = male[hh_start]
    flip = rng.random(n) >= cfg.same_sex_partner
    male[is_partner] = np.where(flip, ~hh_male[hh], hh_male[hh])[is_partner]

    # --- ages (drawn only for the people who need them)
    rng = stream(seed, "population", *bkey, "ages")
    s_hh, s_parent, s_any, s_gap = _age_samplers()
    age = np.empty(n, dtype=np.int64)
    hh_age = s_hh.draw(rng, n_hh)
    hh_age[has_child] = s_parent.draw(rng, int(has_child.sum()))
    age[hh_start] = hh_age
    i_partner, i_child, i_other = (np.flatnonzero(m) for m in (is_partner, is_child, is_other))
    # Partner: similar age; husbands ~2 years older than wives on average (assumption).
    h = hh[i_partner]
    shift = np.where(hh_male[h], -2.0, 2.0) + rng.normal(0.0, 4.0, len(h))
    age[i_partner] = np.clip(np.rint(hh_age[h] + shift), 18, MAX_AGE)
    # Children: householder's age minus a gap of 18..45 years (Beta(2,3)-shaped, mean ~29),
    # redrawn while the child would be "born" before the householder's 18th year (truncation).
    ca = hh_age[hh[i_child]] - _GAP_MIN - s_gap.draw(rng, len(i_child))
    for _ in range(4):
        neg = np.flatnonzero(ca < 0)
        if not neg.size:
            break
        ca[neg] = hh_age[hh[i_child[neg]]] - _GAP_MIN - s_gap.draw(rng, neg.size)
    age[i_child] = np.maximum(ca, 0)
    age[i_other] = s_any.draw(rng, len(i_other))  # relatives, roomers: any age
    # Twins: a child paired with the household's previous child (same age here, same dob below).
    # cfg.twin_share of children are twins, i.e. twin_share / 2 x children pairs; no triplets.
    rng_t = stream(seed, "population", *bkey, "twin_pairs")
    after_child = np.zeros(n, dtype=bool)
    after_child[1:] = is_child[:-1] & (hh[1:] == hh[:-1])
    cand = np.flatnonzero(is_child & after_child)
    p_twin = min(1.0, cfg.twin_share / 2 * len(i_child) / max(len(cand), 1))
    tw = cand[rng_t.random(len(cand)) < p_twin]
    tw = tw[~np.isin(tw - 1, tw)]
    twin_of = np.full(n, -1, dtype=np.int64)
    twin_of[tw], twin_of[tw - 1] = tw - 1, tw
    age[tw] = age[tw - 1]

    # dob: within the year of age ending at the reference date, by the daily birth pattern
    # (synthetic.births): real daily counts where known, the average pattern elsewhere
    ref = dt.date.fromisoformat(cfg.reference_date)
    upper = np.array([_years_before(ref, a) for a in range(MAX_AGE + 2)], dtype=np.int64)
    day_lo = int(upper[-1])
    # cum[i] = weight of the days before day_lo + i
    cum, day_sampler = _day_cum(day_lo, int(upper[0]))
    first_day = upper[age + 1] + 1 - day_lo  # the window is upper[age + 1] < day <= upper[age]
    a_w, b_w = cum.take(first_day), cum.take(upper[age] - day_lo + 1)
    t_w = a_w + rng.random(n) * (b_w - a_w)
    dob_day = day_lo + day_sampler.search(t_w)  # searchsorted(cum, t_w, "right") - 1
    dob_day = np.clip(dob_day, upper[age + 1] + 1, upper[age])
    dob_day[tw] = dob_day[tw - 1]
    day_str, day_year = _day_vocab(day_lo, int(upper[0]))
    dob_code = dob_day - day_lo

    # --- groups
    rng = stream(seed, "population", *bkey, "groups")
    group = _Sampler(N.group_shares()).draw(rng, n)  # by population share, unless inherited:
    hh_group = group[hh_start][hh]
    same = rng.random(n) < np.where(is_partner, cfg.partner_same_group, cfg.member_same_group)
    group = np.where(~is_hh & same, hh_group, group)
    # first-name categories (group, sex, birth year): their tables are made by worker threads
    cohorts = _cohorts()
    ny = len(cohorts.years)
    y_idx = cohorts.year_index(day_year).take(dob_code)  # per day of the vocabulary, then person
    cat = (group * 2 + male) * ny + y_idx
    names_of = first_name_table()  # kept for the siblings' redraws below
    by_cat = _by_category(cat, len(N.GROUPS) * 2 * ny)  # <= 6 x 2 x 113 categories
    # first names: one uniform per person, in category order (= one call per category)
    u_first = stream(seed, "population", *bkey, "first_names").random(n)
    starts = np.cumsum([0] + [len(idx) for _, idx in by_cat[:-1]]).tolist()
    first = np.empty(n, dtype=np.int64)
    names_jobs = [  # every other category: both workers make tables and draw
        pool.submit(names_of.first_names, by_cat[i::2], starts[i::2], u_first, first)
        for i in (0, 1)
    ]

    # --- surnames (drawn by a worker thread while the first and middle names are drawn here)
    surnames_job = pool.submit(
        _surnames, cfg, seed, bkey, group=group, male=male, age=age, hh=hh, hh_start=hh_start,
        has_partner=has_partner, has_child=has_child, partner_idx=partner_idx, hh_male=hh_male,
        is_hh=is_hh, is_partner=is_partner, is_child=is_child, is_other=is_other, tw=tw,
    )  # fmt: skip
    rare_first_job = pool.submit(_rare_first_names, seed, bkey, group, male)

    # --- first and middle names by (group, sex, birth year); a share of first names comes
    # from the Census "ALL OTHER NAMES" tail, synthesized as rare (mostly unique) names.
    rng_m = stream(seed, "population", *bkey, "middle_names")
    for job in names_jobs:
        job.result()
    middle = np.empty(n, dtype=np.int64)
    for ci, idx in by_cat:
        f = first[idx]
        m = names_of.draw(ci, rng_m, len(idx))
        for _ in range(3):  # middle name differs from the first name where possible
            eq = m == f
            if not eq.any():
                break
            m[eq] = names_of.draw(ci, rng_m, int(eq.sum()))
        middle[idx] = m
    fnames, _, _ = N.first_name_arrays()
    i_fr, rare_first = rare_first_job.result()
    first[i_fr] = len(fnames) + np.arange(len(i_fr))
    fvocab = np.concatenate([fnames, rare_first])
    no_middle = stream(seed, "population", *bkey, "middle_absent").random(n) < cfg.no_middle_name
    middle[no_middle] = -1

    sur, surname_cols = surnames_job.result()

    # --- siblings (twins included) get different first names: parents do not reuse one
    rng = stream(seed, "population", *bkey, "twins")
    i_kid = kids = np.flatnonzero(is_child)
    for _ in range(5):
        key = hh[kids] * np.int64(len(fvocab)) + first[kids]
        dup = pd.Series(key).duplicated().to_numpy()
        if not dup.any():
            break
        j = kids[dup]
        first[j] = names_of.draw_many(cat[j], rng)
        # only the households with a new name can have a new duplicate (kids stay in order)
        touched = np.zeros(n_hh, dtype=bool)
        touched[hh[j]] = True
        kids = i_kid[touched[hh[i_kid]]]

    # --- Jr/Sr: a son named after his father (first and middle name), both at one address
    rng = stream(seed, "population", *bkey, "juniors")
    father = hh_start[hh]
    son = is_child & male & hh_male[hh] & (sur == sur[father]) & (twin_of < 0)
    son &= rng.random(n) < cfg.junior_share
    # not when a sibling already has the father's first name (siblings' names differ)
    cand = np.flatnonzero(son)
    width = np.int64(len(fvocab))
    taken = pd.Series(hh[cand] * width + first[father[cand]]).isin(hh[i_kid] * width + first[i_kid])
    son[cand] = ~taken.to_numpy()
    son_idx = np.flatnonzero(son)
    son_idx = son_idx[~pd.Series(hh[son_idx]).duplicated().to_numpy()]  # one junior per father
    namesake = np.full(n, -1, dtype=np.int64)
    dad_idx = father[son_idx]
    namesake[son_idx], namesake[dad_idx] = dad_idx, son_idx
    first[son_idx], middle[son_idx] = first[dad_idx], middle[dad_idx]
    suffix = np.full(n, None, dtype=object)
    suffix[son_idx], suffix[dad_idx] = "JR", "SR"

    middle_name = np.append(fvocab, np.array([None], dtype=object)).take(middle)  # -1 -> None

    # --- addresses (drawn by a worker thread since the households were known)
    codes, addresses, hh_addr, prev_addr, hh_box = addresses_job.result()
    addr = hh_addr[hh]

    if person0:  # global ids of a later block
        twin_of[twin_of >= 0] += person0
        namesake[namesake >= 0] += person0
    cols: dict[str, np.ndarray] = {
        "person_id": np.arange(person0, person0 + n, dtype=np.int64),
        "household_id": hh0 + hh.astype(np.int64),
        # take_rows: the fastest gather of objects (vocabulary[codes]; see synthetic.arrays)
        "relationship": take_rows(np.array(RELATIONSHIPS, dtype=object), rel),
        "sex": take_rows(np.array(SEXES, dtype=object), male.view(np.int8)),
        "group": take_rows(np.array(N.GROUPS, dtype=object), group),
        "first_name": take_rows(fvocab, first),
        "middle_name": middle_name,
        "suffix": suffix,
        "first_name_rare": first >= len(fnames),  # not first_rare: twins, juniors changed
        **surname_cols,
        "twin_id": twin_of,
        "namesake_id": namesake,
        "address_id": hh0 + addr.astype(np.int64),
        "previous_address_id": prev_addr[hh],
        "po_box": take_rows(hh_box, hh),
    }
    cols |= ID.assign(
        cfg, seed, bkey, b, layout.n_blocks,
        group=group, hh=hh, hh_start=hh_start, sizes=sizes, is_hh=is_hh, is_child=is_child,
        surname=sur, person0=person0,
    )  # fmt: skip
    # --- placeholder birth dates of people born abroad (after the status: non-citizens are)
    true_day = dob_day
    dob_day = _placeholder_dates(cfg, seed, bkey, dob_day, age, group, cols["status"], tw, upper)
    cols["dob"] = take_rows(day_str, dob_day - day_lo)
    # the age of a true birth day is the age it was drawn for; only placeholders can change it
    moved = np.flatnonzero(dob_day != true_day)
    cols["age"] = age.astype(np.int16)  # a copy: the workers' inputs stay as they were given
    cols["age"][moved] = _age_at(dob_day[moved], upper)
    person_code: dict[int, np.ndarray] = {}  # city, state and zip share the ZIP's code
    for field in _ADDRESS_FIELDS:
        vocab, code = codes[field]
        if id(code) not in person_code:
            person_code[id(code)] = code.take(addr)
        # small codes first, strings last: take_rows is the fastest gather of objects
        cols[field] = take_rows(vocab, person_code[id(code)])
    # copy=False: no block consolidation (stacking 13 object columns would double the run time);
    # object columns as Series of dtype object: pandas skips its scan of every value for dates
    # (the columns hold strings and None only, which it would leave as they are)
    people = pd.DataFrame(
        {
            k: pd.Series(v, dtype=object, copy=False) if v.dtype == object else v
            for k, v in cols.items()
        },
        columns=list(PEOPLE_COLUMNS),
        copy=False,
    )
    return Population(people=people, addresses=addresses)


def previous_addresses(
    zips: np.ndarray, current: np.ndarray, p_same_zip: float, rng: np.random.Generator
) -> np.ndarray:
    """For households at address positions ``current``, a previous address: with probability
    ``p_same_zip`` another address in the same ZIP (when there is one), else another address
    anywhere. ``zips`` lists the ZIP (or any code of it) of every address; addresses of one ZIP
    are contiguous (as ``build_addresses`` orders them). Never the current address, unless it
    is the only one."""
    size, k = len(zips), len(current)
    zip_code = pd.factorize(zips)[0]
    lo_of = np.searchsorted(zip_code, np.arange(zip_code.max() + 1), side="left")
    hi_of = np.searchsorted(zip_code, np.arange(zip_code.max() + 1), side="right")
    lo, hi = lo_of[zip_code[current]], hi_of[zip_code[current]]
    use_zip = (rng.random(k) < p_same_zip) & (hi - lo > 1)
    start = np.where(use_zip, lo, 0)
    m = np.where(use_zip, hi - lo, size) - 1  # candidates, the current one excluded
    pick = start + np.minimum((rng.random(k) * m).astype(np.int64), np.maximum(m - 1, 0))
    pick += pick >= current  # skip the current address
    return np.where(m > 0, pick, current)
