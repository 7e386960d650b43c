"""Name noise: surname forms, previous surnames, transliteration, name order, a middle name used
as the first, dropped diacritics."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from synthetic.noise.harness import (
    NoiseContext,
    _choose_variant,
    _obj,
    _people,
    _pick,
    _weights_ok,
    noise_type,
)
from synthetic.variants import accented_form, transliteration_variants

SURNAME_FORMS = ("paternal", "hyphenated", "concatenated", "reversed", "maternal", "married")


# Default rate 0.5 -- assumption: half of the people with a compound surname appear in a given
# agency's file in a form other than both surnames (US forms have one "last name" box; agencies and
# clerks keep the first surname, join the two or reorder them). The weights are assumptions.
@noise_type(
    "surname_form",
    ("last_name",),
    0.5,
    params={
        "paternal": 0.55,
        "hyphenated": 0.15,
        "concatenated": 0.1,
        "reversed": 0.05,
        "maternal": 0.05,
        "married": 0.1,
    },
    param_bounds={k: (0.0, math.inf) for k in SURNAME_FORMS},
    check=_weights_ok(SURNAME_FORMS),
    needs=("last_name", "second_surname", "spouse_surname", "sex"),
    applies_to=lambda p: p["second_surname"].notna().to_numpy(),
    description="compound surname GARCIA LOPEZ as GARCIA, GARCIA-LOPEZ, GARCIALOPEZ, LOPEZ GARCIA,"
    " LOPEZ, or a wife's GARCIA DE MARTINEZ",
    source="assumption (half of compound surnames recorded in another form; form weights assumed)",
    cause="compound_surname",
)
def surname_form(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Record a compound (paternal + maternal) surname in another form, drawn by the weights.

    The "married" form (own paternal + DE + husband's surname) applies only to women with a
    spouse; for others it falls back to the paternal surname alone.
    """
    p = _people(ctx)
    pat, mat = _obj(p["last_name"]), _obj(p["second_surname"])
    spouse = _obj(p["spouse_surname"])
    wife = (p["sex"].to_numpy(dtype=object) == "F") & ~pd.isna(spouse)
    form = _pick(rng, params, SURNAME_FORMS, len(values))
    forms = {
        "paternal": pat,
        "hyphenated": pat + "-" + mat,
        "concatenated": _obj(pd.Series(pat + mat, dtype=object).str.replace(" ", "")),
        "reversed": mat + " " + pat,
        "maternal": mat,
        "married": np.where(wife, pat + " DE " + np.where(wife, spouse, ""), pat),
    }
    out = np.empty(len(values), dtype=object)
    for i, name in enumerate(SURNAME_FORMS):
        out[form == i] = forms[name][form == i]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0.25 -- assumption: a quarter of people whose surname changed (marriage, divorce)
# are still on a given agency's file under the previous one (updates lag, e.g. until the next
# filing or renewal).
@noise_type(
    "previous_surname",
    ("last_name",),
    0.25,
    needs=("previous_surname",),
    applies_to=lambda p: p["previous_surname"].notna().to_numpy(),
    description="surname before a marriage or divorce still on file",
    source="assumption (a quarter of name changes not yet on file)",
)
def previous_surname(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the surname by the person's previous surname."""
    return pd.Series(
        _obj(_people(ctx)["previous_surname"]), index=values.index, name=values.name, dtype=object
    )


def _by_token(variant: Callable[[str], tuple[str, ...]]) -> Callable[[str], tuple[str, ...]]:
    """Variants of a multi-word value: each word that has variants takes its k-th (cycling)."""

    @lru_cache(maxsize=65536)
    def of(value: str) -> tuple[str, ...]:
        words = value.split(" ")
        options = [variant(w) for w in words]
        k = max((len(o) for o in options), default=0)
        return tuple(
            " ".join(o[i % len(o)] if o else w for w, o in zip(words, options, strict=True))
            for i in range(k)
        )

    return of


_translit_of = _by_token(transliteration_variants)


# Default rate 0.02, 0.3 for the Asian/Pacific Islander group -- assumptions: agencies romanize
# names from documents in other scripts differently (see synthetic/variants.py for the systems);
# only names that have a listed variant change.
@noise_type(
    "transliteration",
    ("first_name", "middle_name", "last_name"),
    0.02,
    joint=True,
    default_group_rates={"api": 0.3},
    description="another romanization of the person's names (MOHAMMED/MUHAMMAD, LEE/YI, CHOI/CHOE)",
    source="assumption (romanization systems cited in synthetic/variants.py)",
)
def transliteration(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace every name of the row that has a transliteration variant by one of them; one draw
    per person, shared by their fields (the agency applies one scheme to the whole name)."""
    u = rng.random(len(rows))
    out = rows.copy()
    for f in rows.columns:
        out[f] = _choose_variant(rows[f], None, _translit_of, u=u)
    return out


# Default rate 0; 0.05 for the Asian/Pacific Islander group -- assumption: East Asian names are
# written family name first, and some records swap the given and family name.
@noise_type(
    "name_order",
    ("first_name", "last_name"),
    0.0,
    joint=True,
    default_group_rates={"api": 0.05},
    description="given and family name swapped (family-name-first order)",
    source="assumption (family-name-first order of East Asian names)",
)
def name_order(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Swap first and last name (rows with both)."""
    first, last = _obj(rows["first_name"]), _obj(rows["last_name"])
    both = ~pd.isna(first) & ~pd.isna(last)
    out = rows.copy()
    out["first_name"] = np.where(both, last, first)
    out["last_name"] = np.where(both, first, last)
    return out


# Default rate 0.01 -- assumption: people known by their middle name (J. EDGAR HOOVER) are
# recorded by it as the first name.
@noise_type(
    "middle_as_first",
    ("first_name", "middle_name"),
    0.01,
    joint=True,
    description="middle name used as the first name (the first name reduced to its initial)",
    source="assumption",
)
def middle_as_first(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """First name := middle name, middle name := the first name's initial (rows with both)."""
    first, middle = _obj(rows["first_name"]), _obj(rows["middle_name"])
    ok = ~pd.isna(first) & ~pd.isna(middle)
    out = rows.copy()
    new_first, new_middle = first.copy(), middle.copy()
    new_first[ok] = middle[ok]
    new_middle[ok] = _obj(pd.Series(first[ok], dtype=object).astype(str).str[:1])
    out["first_name"], out["middle_name"] = new_first, new_middle
    return out


_accents_of = _by_token(lambda w: (a,) if (a := accented_form(w)) else ())


# Default rate 0; 0.1 for the Hispanic and Asian/Pacific Islander groups -- assumption: records
# keyed from foreign documents keep native diacritics (NGUYỄN, MUÑOZ); US systems mostly drop them.
@noise_type(
    "diacritics",
    ("first_name", "middle_name", "last_name"),
    0.0,
    default_group_rates={"hispanic": 0.1, "api": 0.1},
    description="native diacritics kept (NGUYỄN, MUÑOZ, JOSÉ)",
    source="assumption (records keyed from foreign documents)",
)
def diacritics(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Write each name with its native diacritics where the table has them."""
    return _choose_variant(values, rng, _accents_of)
