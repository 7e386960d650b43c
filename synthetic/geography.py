"""A synthetic US geography (ZIP codes, cities, streets, buildings, units), sized to the population.

Everything is vectorized numpy; Python loops run only over ZIPs/cities/states (hundreds) or small
vocabularies. All text is upper case. ZIP codes are real-looking 5-digit codes inside each state's
real ZIP range, but the streets and cities are invented.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider

from synthetic.arrays import take_rows
from synthetic.errors import ConfigError
from synthetic.rng import stream

# ~331M people / ~33,000 ZCTAs (2020 Census) = ~10,000 people per ZIP code on average.
DEFAULT_PEOPLE_PER_ZIP = 10_000
# Assumption: ~150 residents per street (a street segment of ~60 dwellings at ~2.5 people each).
PEOPLE_PER_STREET = 150
# Largest allowed people_per_zip: the biggest real ZCTAs hold ~130k people; 1M leaves headroom
# while the per-ZIP street-name vocabulary (~100k distinct names) stays ample.
MAX_PEOPLE_PER_ZIP = 1_000_000

# 2020 Census resident population (April 1, 2020) of the 50 states and DC, US Census Bureau,
# "2020 Census Apportionment Results", table 2 (resident population). Sum: 331,449,281.
STATE_POPULATION_2020: dict[str, int] = {
    "AL": 5_024_279, "AK": 733_391, "AZ": 7_151_502, "AR": 3_011_524, "CA": 39_538_223,
    "CO": 5_773_714, "CT": 3_605_944, "DE": 989_948, "DC": 689_545, "FL": 21_538_187,
    "GA": 10_711_908, "HI": 1_455_271, "ID": 1_839_106, "IL": 12_812_508, "IN": 6_785_528,
    "IA": 3_190_369, "KS": 2_937_880, "KY": 4_505_836, "LA": 4_657_757, "ME": 1_362_359,
    "MD": 6_177_224, "MA": 7_029_917, "MI": 10_077_331, "MN": 5_706_494, "MS": 2_961_279,
    "MO": 6_154_913, "MT": 1_084_225, "NE": 1_961_504, "NV": 3_104_614, "NH": 1_377_529,
    "NJ": 9_288_994, "NM": 2_117_522, "NY": 20_201_249, "NC": 10_439_388, "ND": 779_094,
    "OH": 11_799_448, "OK": 3_959_353, "OR": 4_237_256, "PA": 13_002_700, "RI": 1_097_379,
    "SC": 5_118_425, "SD": 886_667, "TN": 6_910_840, "TX": 29_145_505, "UT": 3_271_616,
    "VT": 643_077, "VA": 8_631_393, "WA": 7_705_281, "WV": 1_793_716, "WI": 5_893_718,
    "WY": 576_851,
}  # fmt: skip

STATES: tuple[str, ...] = tuple(STATE_POPULATION_2020)
# Real ZIP ranges per state from Faker's en_US address provider (inclusive bounds).
STATE_ZIP_RANGE: dict[str, tuple[int, int]] = {
    s: AddressProvider.states_postcode[s] for s in STATES
}

# Units in structure, share of housing units (ACS 5-year 2019-2023, approximate): 1 unit
# (detached/attached, plus mobile homes) ~74%, 2 units 3.6%, 3-4 4.3%, 5-9 4.7%, 10-19 4.5%,
# 20+ 9.5% -> ~26% of units are in multi-unit (2+) structures. We cap buildings at 50 units.
BUILDING_BANDS: tuple[tuple[int, int, float], ...] = (
    (1, 1, 73.4), (2, 2, 3.6), (3, 4, 4.3), (5, 9, 4.7), (10, 19, 4.5), (20, 50, 9.5),
)  # fmt: skip

# USPS standard suffix abbreviations (Publication 28, appendix C1) with assumed weights: ST, AVE,
# RD and DR dominate US street names.
STREET_SUFFIXES: dict[str, float] = {
    "ST": 20, "AVE": 14, "RD": 12, "DR": 12, "LN": 7, "CT": 6, "WAY": 5, "PL": 4, "CIR": 4,
    "BLVD": 3, "TER": 2, "PKWY": 2, "TRL": 2, "HWY": 1, "LOOP": 1, "PIKE": 0.5, "ROW": 0.5,
}  # fmt: skip
_TREES = (
    "OAK", "MAPLE", "PINE", "CEDAR", "ELM", "WALNUT", "CHERRY", "WILLOW", "BIRCH", "ASH",
    "SPRUCE", "HICKORY", "CHESTNUT", "POPLAR", "SYCAMORE", "MAGNOLIA", "DOGWOOD", "LOCUST",
    "CYPRESS", "LAUREL", "HOLLY", "JUNIPER", "ASPEN", "REDWOOD", "MULBERRY", "PECAN", "BEECH",
)  # fmt: skip
_COMMON = (
    "MAIN", "PARK", "VIEW", "LAKE", "HILL", "CHURCH", "MILL", "SPRING", "RIDGE", "HIGH",
    "CENTER", "SCHOOL", "RIVER", "FOREST", "MEADOW", "SUNSET", "VALLEY", "MARKET", "BROAD",
    "UNION", "WATER", "BRIDGE", "CREEK", "PROSPECT", "GROVE", "ORCHARD", "HIGHLAND", "FAIRVIEW",
    "COLLEGE", "DEPOT", "RAILROAD", "LIBERTY", "PLEASANT", "GREEN", "CANAL", "FRONT", "CROSS",
    "WASHINGTON", "LINCOLN", "JEFFERSON", "FRANKLIN", "MADISON", "JACKSON", "ADAMS", "MONROE",
)  # fmt: skip
_DIRECTIONS = ("", "N ", "S ", "E ", "W ")
# Assumption: ~12% of street names carry a directional prefix.
_DIRECTION_P = (0.88, 0.03, 0.03, 0.03, 0.03)
# Share of dwellings without a house number (rural and small-town addresses such as "MAIN ST" or a
# road without numbered lots): in pseudopeople's sample decennial census (src/pseudopeople/data/
# sample_datasets/decennial_census/decennial_census.parquet, repository commit c2b9abf, July
# 2025) 314 of 8,439 households (3.7%) have no street number on any member's row, and their
# members are 2.7% of all rows, so about 3% of true pairs lack the number on both sides. Only
# single-unit buildings are numberless here; numberless dwellings are spread over the streets as
# they are there (at most two on any one street name of the sample). With ~45 houses a street
# here, a street's numberless houses (about two) usually share their address line: `linkrisk
# describe` shows ~90% of numberless dwellings sharing it. No urban/rural split: the geography
# does not model one.
NUMBERLESS_SHARE = 0.037
# Unit designators; APT dominates residential addresses.
_UNIT_PREFIX = ("APT", "UNIT", "#")
_UNIT_PREFIX_P = (0.80, 0.15, 0.05)


def _ordinal(n: int) -> str:
    suffix = "TH" if 10 <= n % 100 <= 20 else {1: "ST", 2: "ND", 3: "RD"}.get(n % 10, "TH")
    return f"{n}{suffix}"


@lru_cache
def _street_bases() -> tuple[np.ndarray, np.ndarray]:
    """Street-name base vocabulary and sampling weights (numbered streets are the most common)."""
    numbered = [_ordinal(i) for i in range(1, 61)]
    # Assumption: low numbers dominate (2ND, 3RD, 1ST... are the most common US street names).
    w_num = [6.0 / (1 + i / 4) for i in range(60)]
    surn = sorted({s.upper() for s in PersonProvider.last_names} - set(_COMMON))
    bases = [*numbered, *_TREES, *_COMMON, *surn]
    weights = [*w_num, *[3.0] * len(_TREES), *[3.0] * len(_COMMON), *[0.5] * len(surn)]
    return np.array(bases, dtype=object), np.asarray(weights) / np.sum(weights)


def _segments(sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For groups of the given sizes: (group of each element, position of each element in group)."""
    group = np.repeat(np.arange(len(sizes)), sizes)
    starts = np.cumsum(sizes) - sizes
    return group, np.arange(int(sizes.sum())) - starts[group]


def _split(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers >= 0 summing to ``total``, proportional to ``weights`` (cumulative rounding)."""
    bounds = np.rint(np.cumsum(weights) / weights.sum() * total).astype(np.int64)
    bounds[-1] = total
    return np.diff(bounds, prepend=0)


def _allocate_zips(n_zips: int, rng: np.random.Generator) -> np.ndarray:
    """Number of ZIPs per state: multinomial by population, capped by the state's ZIP range."""
    pop = np.array([STATE_POPULATION_2020[s] for s in STATES], dtype=np.float64)
    cap = np.array([hi - lo + 1 for lo, hi in STATE_ZIP_RANGE.values()])
    if n_zips > cap.sum():
        raise ConfigError("population.people_per_zip", f"needs {n_zips} ZIP codes, max {cap.sum()}")
    counts = rng.multinomial(n_zips, pop / pop.sum())
    while (over := np.maximum(counts - cap, 0)).any():
        # A state cannot hold more ZIPs than its real range: move the excess to states with room.
        counts -= over
        room = np.where(counts < cap, pop, 0.0)
        counts += rng.multinomial(over.sum(), room / room.sum())
    return counts


def zip_count(n_households: int, people_per_household: float, people_per_zip: int) -> int:
    """Number of ZIP codes of a geography of ``n_households`` dwellings (at least one)."""
    return max(1, round(n_households * people_per_household / people_per_zip))


def zip_codes(n_zips: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n_zips`` distinct ZIP codes spread over the states by population, as (state index into
    ``STATES``, code), ordered by state and then code."""
    per_state = _allocate_zips(n_zips, rng)
    zip_state = np.repeat(np.arange(len(STATES)), per_state)
    zip_code = np.empty(n_zips, dtype=np.int64)
    pos = 0
    for s, k in enumerate(per_state):  # loop over 51 states
        if k:
            lo, hi = STATE_ZIP_RANGE[STATES[s]]
            zip_code[pos : pos + k] = np.sort(rng.choice(hi - lo + 1, k, replace=False)) + lo
            pos += k
    return zip_state, zip_code


def block_zip_codes(counts: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint ZIP codes for the blocks of a big population: ``counts[b]`` for block ``b``, as
    :func:`zip_codes` gives them. One allocation over the states for all blocks, dealt out at
    random, so no ZIP code holds people of two blocks (which would double its population)."""
    rng = stream(seed, "geography", "zips")
    state, code = zip_codes(int(np.sum(counts)), rng)
    dealt = rng.permutation(len(code))
    bounds = np.cumsum(counts) - counts
    out = []
    for lo, k in zip(bounds, counts, strict=True):
        mine = np.sort(dealt[lo : lo + k])  # positions in (state, code) order
        out.append((state[mine], code[mine]))
    return out


@lru_cache
def _city_vocab() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upper-cased city prefixes, city suffixes, first names, last names of Faker's en_US."""
    pre = np.array([p.upper() for p in AddressProvider.city_prefixes], dtype=object)
    suf = np.array([s.upper() for s in AddressProvider.city_suffixes], dtype=object)
    first = np.array(sorted({s.upper() for s in PersonProvider.first_names}), dtype=object)
    last = np.array(sorted({s.upper() for s in PersonProvider.last_names}), dtype=object)
    return pre, suf, first, last


def _city_names(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` city names in the formats of Faker's en_US provider, built from its vocabularies."""
    pre, suf, first, last = _city_vocab()
    fmt = rng.integers(0, 4, n)  # the 4 city_formats of the en_US provider, equally likely
    p, s = pre[rng.integers(0, len(pre), n)], suf[rng.integers(0, len(suf), n)]
    f, la = first[rng.integers(0, len(first), n)], last[rng.integers(0, len(last), n)]
    out = np.where(fmt == 0, p + " " + f + s, np.where(fmt == 1, p + " " + f, f + s))
    return np.where(fmt == 3, la + s, out)


@lru_cache
def _unit_vocab() -> tuple[np.ndarray, int]:
    """Unit labels indexed [prefix, style, position in building] flattened; style 0 = "APT 7",
    1 = "APT 3B" (floor + letter, 4 per floor), 2 = "APT 304" (floor * 100 + door)."""
    maxu = BUILDING_BANDS[-1][1]
    labels = []
    for pre in _UNIT_PREFIX:
        sep = "" if pre == "#" else " "
        for style in range(3):
            for k in range(maxu):
                if style == 0:
                    code = f"{k + 1}"
                elif style == 1:
                    code = f"{k // 4 + 1}{'ABCD'[k % 4]}"
                else:
                    code = f"{k // 8 + 1}{k % 8 + 1:02d}"
                labels.append(f"{pre}{sep}{code}")
    return np.array(labels, dtype=object), maxu


#: Code of the blank house number ("") of a numberless dwelling in :func:`_number_vocab`.
NO_NUMBER = 10_000


@lru_cache
def _number_vocab() -> np.ndarray:
    """House-number strings "0" to "9999" (numbers are taken from it, not formatted per row),
    then "" (code :data:`NO_NUMBER`: a dwelling without a number)."""
    return np.array([*(str(i) for i in range(10_000)), ""], dtype=object)


def build_addresses(
    n_households: int,
    people_per_zip: int = DEFAULT_PEOPLE_PER_ZIP,
    seed: int = 0,
    *,
    people_per_household: float = 2.5,
    numberless_share: float = NUMBERLESS_SHARE,
) -> pd.DataFrame:
    """Build ``n_households`` occupied dwellings spread over a synthetic geography.

    The number of ZIP codes is ``n_households * people_per_household / people_per_zip`` (at least
    one, :func:`zip_count`), so ZIPs hold ``people_per_zip`` people on average (sizes vary, gamma
    shape 2).

    Returns one row per dwelling, ordered by ZIP, street and house number: address_id (int64,
    0..n-1), house_number ("" for a numberless dwelling: a share ``numberless_share`` of all
    dwellings, all in single-unit buildings), street, unit ("" for single-unit buildings), city,
    state (2 letters), zip (5 digits, zero-padded) - all str, upper case. Units in the same
    building share house_number/street/zip and have distinct unit labels. (:func:`address_codes` and
    :func:`address_frame` build it in two steps, also for the blocks of a big population.)
    """
    codes = address_codes(
        n_households,
        people_per_zip,
        seed,
        people_per_household=people_per_household,
        numberless_share=numberless_share,
    )
    return address_frame(codes)


#: An address field as (vocabulary, code per dwelling): the field is ``vocabulary[code]``.
Coded = tuple[np.ndarray, np.ndarray]


def address_frame(codes: dict[str, Coded], first_id: int = 0) -> pd.DataFrame:
    """The frame :func:`build_addresses` returns, from :func:`address_codes`, with address ids
    from ``first_id``."""
    n = len(codes["zip"][1])
    cols = {"address_id": np.arange(first_id, first_id + n, dtype=np.int64)}
    cols.update({f: take_rows(vocab, code) for f, (vocab, code) in codes.items()})
    return pd.DataFrame(cols, copy=False)  # fresh arrays: no block consolidation (a full copy)


def address_codes(
    n_households: int,
    people_per_zip: int = DEFAULT_PEOPLE_PER_ZIP,
    seed: int = 0,
    *,
    people_per_household: float = 2.5,
    stream_key: tuple[str, ...] = (),
    zips: tuple[np.ndarray, np.ndarray] | None = None,
    numberless_share: float = NUMBERLESS_SHARE,
) -> dict[str, Coded]:
    """The address fields of :func:`build_addresses` (parameters as there), coded: gathering
    small integer codes and then the strings is cheaper than gathering the strings (one
    reference count update per string, in a small hot vocabulary).

    For a block of a big population: ``stream_key`` (e.g. ``("block", "3")``) is inserted in the
    names of the random streams, and ``zips`` gives the block's own ZIP codes
    (:func:`block_zip_codes`) instead of drawing them.
    """
    if n_households < 1:
        raise ConfigError("population.size", f"needs at least one household, got {n_households}")
    if not 1 <= people_per_zip <= MAX_PEOPLE_PER_ZIP:
        raise ConfigError(
            "population.people_per_zip", f"must be in 1..{MAX_PEOPLE_PER_ZIP}, got {people_per_zip}"
        )
    if not people_per_household > 0:
        raise ConfigError("population.people_per_household", "must be > 0")
    if not 0 <= numberless_share <= 1:
        raise ConfigError("population.numberless_share", "must be a share in [0, 1]")
    n_units = int(n_households)

    # --- ZIP codes and states
    rng = stream(seed, "geography", *stream_key, "zips")
    if zips is None:
        n_zips = zip_count(n_units, people_per_household, people_per_zip)
        zip_state, zip_code = zip_codes(n_zips, rng)
    else:
        zip_state, zip_code = zips
    n_zips = len(zip_code)
    per_state = np.bincount(zip_state, minlength=len(STATES))
    zip_units = _split(n_units, rng.gamma(2.0, size=n_zips))

    # --- cities: each state has a pool of cities; big (Zipf-weighted) cities span several ZIPs.
    rng = stream(seed, "geography", *stream_key, "cities")
    zip_city_name = np.empty(n_zips, dtype=object)
    pos = 0
    for k in per_state:  # loop over 51 states
        if not k:
            continue
        n_city = max(1, int(np.ceil(0.7 * k)))  # assumption: ~1.4 ZIPs per city name
        names = pd.unique(_city_names(4 * n_city + 8, rng))[:n_city]
        w = 1.0 / np.arange(1, len(names) + 1)
        zip_city_name[pos : pos + k] = names[rng.choice(len(names), k, p=w / w.sum())]
        pos += k

    # --- streets: ~PEOPLE_PER_STREET residents each, names unique within a ZIP.
    rng = stream(seed, "geography", *stream_key, "streets")
    units_per_street = PEOPLE_PER_STREET / people_per_household
    n_streets_z = np.maximum(1, np.rint(zip_units / units_per_street)).astype(np.int64)
    street_zip, _ = _segments(n_streets_z)
    n_streets = len(street_zip)
    # Street capacities (in units) within each ZIP, gamma-distributed around the mean.
    w = rng.gamma(2.0, size=n_streets)
    zip_w = np.bincount(street_zip, weights=w, minlength=n_zips)
    zip_start = np.cumsum(zip_units) - zip_units
    cum_in_zip = np.cumsum(w) - (np.cumsum(zip_w) - zip_w)[street_zip]
    street_end = zip_start[street_zip] + cum_in_zip / zip_w[street_zip] * zip_units[street_zip]
    bases, base_p = _street_bases()
    suffixes = np.array(list(STREET_SUFFIXES), dtype=object)
    suf_p = np.array(list(STREET_SUFFIXES.values()))
    suf_p /= suf_p.sum()
    b = rng.choice(len(bases), n_streets, p=base_p)
    sf = rng.choice(len(suffixes), n_streets, p=suf_p)
    d = rng.choice(len(_DIRECTIONS), n_streets, p=_DIRECTION_P)
    for _ in range(100):  # redraw duplicated names within a ZIP; converges in a few rounds
        key = (street_zip * len(bases) + b) * len(suffixes) + sf
        dup = pd.Series(key * len(_DIRECTIONS) + d).duplicated().to_numpy()
        if not dup.any():
            break
        k = int(dup.sum())
        b[dup] = rng.choice(len(bases), k, p=base_p)
        sf[dup] = rng.choice(len(suffixes), k, p=suf_p)
        d[dup] = rng.integers(0, len(_DIRECTIONS), k)
    dirs = np.array(_DIRECTIONS, dtype=object)
    street_name = dirs[d] + bases[b] + " " + suffixes[sf]

    # --- buildings: sizes by the ACS units-in-structure shares, filled along the streets.
    rng = stream(seed, "geography", *stream_key, "buildings")
    lo_b = np.array([x[0] for x in BUILDING_BANDS])
    hi_b = np.array([x[1] for x in BUILDING_BANDS])
    # Unit shares -> building probabilities: divide by the band's mean building size.
    p_band = np.array([x[2] for x in BUILDING_BANDS]) / ((lo_b + hi_b) / 2)
    p_band /= p_band.sum()
    n_draw = int(n_units / (p_band @ ((lo_b + hi_b) / 2)) * 1.1) + 64
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < n_units:
        band = rng.choice(len(BUILDING_BANDS), n_draw, p=p_band)
        sizes = np.concatenate([sizes, rng.integers(lo_b[band], hi_b[band] + 1)])
    ends = np.cumsum(sizes)
    n_bld = int(np.searchsorted(ends, n_units)) + 1
    sizes = sizes[:n_bld].copy()
    sizes[-1] -= ends[n_bld - 1] - n_units  # truncate the last building
    bld_start = np.cumsum(sizes) - sizes
    # A building belongs to the street on which its first unit falls.
    bld_street = np.minimum(np.searchsorted(street_end, bld_start, side="right"), n_streets - 1)

    # House numbers ascend along a street: start + cumulated even gaps (one side of the street).
    _, k_on_street = _segments(np.bincount(bld_street, minlength=n_streets))
    gap = 2 * rng.integers(1, 5, n_bld)
    cg = np.cumsum(gap)
    first_of_street = k_on_street == 0
    offset = cg - np.maximum.accumulate(np.where(first_of_street, cg - gap, 0))
    span = np.zeros(n_streets, dtype=np.int64)
    np.maximum.at(span, bld_street, offset)
    # Street start: small (1-99), hundreds block or thousands block, kept <= 9999 overall.
    start_max = np.clip(9999 - span, 1, None)
    scale = np.array([99, 999, 8999])[rng.choice(3, n_streets, p=[0.3, 0.45, 0.25])]
    start = 1 + (rng.random(n_streets) * np.minimum(scale, start_max)).astype(np.int64)
    house_no = np.clip(start[bld_street] + offset - gap, 1, 9999)
    # Numberless dwellings: single-unit buildings drawn (own stream, so no other draw moves) at
    # the rate that makes them ``numberless_share`` of all dwellings.
    single = sizes == 1
    p_single = min(1.0, numberless_share * n_units / max(int(single.sum()), 1))
    rng_nl = stream(seed, "geography", *stream_key, "numberless")
    house_no = np.where(single & (rng_nl.random(n_bld) < p_single), NO_NUMBER, house_no)

    # Units: labels from a small vocabulary; single-unit buildings get "".
    unit_vocab, maxu = _unit_vocab()
    style = rng.integers(0, 3, n_bld)
    prefix = rng.choice(len(_UNIT_PREFIX), n_bld, p=_UNIT_PREFIX_P)
    unit_bld, k_in_bld = _segments(sizes)
    label = (prefix[unit_bld] * 3 + style[unit_bld]) * maxu + k_in_bld
    unit = np.where(sizes[unit_bld] > 1, label, len(unit_vocab))  # the last word: ""

    # --- vocabularies and codes (no per-row string formatting)
    zip_str = np.array([f"{z:05d}" for z in zip_code], dtype=object)
    u_street = bld_street[unit_bld]
    u_zip = street_zip[u_street]
    return {
        "house_number": (_number_vocab(), house_no[unit_bld]),
        "street": (street_name, u_street),
        "unit": (np.append(unit_vocab, ""), unit),
        "city": (zip_city_name, u_zip),
        "state": (np.array(STATES, dtype=object)[zip_state], u_zip),
        "zip": (zip_str, u_zip),
    }
