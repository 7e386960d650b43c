"""Tests of synthetic.variants: table well-formedness, lookups and ASCII folding."""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from types import MappingProxyType

import pandas as pd
import pytest

from synthetic import variants
from synthetic.variants import (
    ACCENTED_FORMS,
    ASCII_FOLD,
    ASCII_FOLD_TABLE,
    TRANSLITERATION_SETS,
    accented_form,
    fold_to_ascii,
    transliteration_variants,
)

SPELLING = re.compile(r"^[A-Z]+(?:[ '-][A-Z]+)*$")
ALL_SPELLINGS = sorted({s for members in TRANSLITERATION_SETS for s in members})


def plain_fold(s: str) -> str:
    """The usual one-liner that ASCII_FOLD exists to fix."""
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode("ascii")


# --- TRANSLITERATION_SETS ----------------------------------------------------------------------


def test_sets_are_well_formed():
    assert len(TRANSLITERATION_SETS) >= 100
    for members in TRANSLITERATION_SETS:
        assert isinstance(members, tuple)
        assert len(members) >= 2, members
        assert len(set(members)) == len(members), members
        assert all(SPELLING.match(s) for s in members), members


def test_no_set_repeats_or_is_contained_in_another():
    as_sets = [frozenset(m) for m in TRANSLITERATION_SETS]
    for (i, a), (j, b) in itertools.permutations(enumerate(as_sets), 2):
        assert not a <= b, (TRANSLITERATION_SETS[i], TRANSLITERATION_SETS[j])


@pytest.mark.parametrize(
    "bad",
    [
        (("LEE",),),  # one spelling
        (("LEE", "LEE"),),  # duplicate
        (("LEE", "Yi"),),  # lower case
        (("NGUYỄN", "NGUYEN"),),  # not ASCII
        (("LEE", "LI "),),  # trailing space
    ],
)
def test_import_check_rejects_malformed_sets(bad):
    with pytest.raises(ValueError):
        variants._check_sets(bad)


def test_variants_are_symmetric():
    for a in ALL_SPELLINGS:
        for b in transliteration_variants(a):
            assert a in transliteration_variants(b), (a, b)


def test_variants_are_sorted_and_exclude_the_name():
    for name in ALL_SPELLINGS:
        got = transliteration_variants(name)
        assert got, name
        assert name not in got
        assert list(got) == sorted(set(got))


def test_variants_are_the_union_of_every_set_containing_the_name():
    for name in ALL_SPELLINGS:
        expected = {s for m in TRANSLITERATION_SETS if name in m for s in m} - {name}
        assert set(transliteration_variants(name)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MOHAMMED", {"MUHAMMAD", "MOHAMED", "MOHAMMAD"}),
        ("MUHAMMAD", {"MOHAMMED"}),
        ("LEE", {"YI", "LI", "RHEE"}),  # Korean and Chinese sets both apply
        ("LI", {"LEE"}),
        ("WONG", {"WANG", "HUANG"}),  # Cantonese WONG is both 王 and 黃
        ("PARK", {"PAK", "BAK"}),
        ("ZHANG", {"CHANG", "CHEUNG"}),
        ("ALEKSANDR", {"ALEXANDER"}),
        ("CHOWDHURY", {"CHOUDHURY", "CHAUDHRY"}),
        ("MUELLER", {"MULLER"}),
    ],
)
def test_known_variants(name, expected):
    assert expected <= set(transliteration_variants(name))


def test_one_letter_spellings_are_excluded():
    # A single letter in a name field reads as an initial.
    assert all(len(s) >= 2 for s in ALL_SPELLINGS)
    assert "I" not in transliteration_variants("LEE")


@pytest.mark.parametrize("name", ["SMITH", "OH", "HONG", "", "mohammed", "LEE ", "XYZZY"])
def test_names_without_variants(name):
    assert transliteration_variants(name) == ()


@pytest.mark.parametrize("value", [None, math.nan, 3, 2.5, b"LEE", ["LEE"], ("LEE",), pd.NA])
def test_non_str_input_has_no_variants(value):
    assert transliteration_variants(value) == ()


def test_variants_are_cached():
    first = transliteration_variants("HUSSEIN")
    hits = variants._variants.cache_info().hits
    second = transliteration_variants("HUSSEIN")
    assert second == first
    assert second is first
    assert variants._variants.cache_info().hits == hits + 1


# --- ACCENTED_FORMS ----------------------------------------------------------------------------


def test_accented_forms_are_well_formed():
    assert isinstance(ACCENTED_FORMS, MappingProxyType)
    assert len(ACCENTED_FORMS) >= 100
    for key, value in ACCENTED_FORMS.items():
        assert SPELLING.match(key), key
        assert value != key, key
        assert value == value.upper(), value
        assert unicodedata.is_normalized("NFC", value), value  # stored composed


def test_every_accented_form_folds_back_to_its_key():
    for key, value in ACCENTED_FORMS.items():
        assert fold_to_ascii(value) == key, (key, value)


def test_accented_forms_need_ascii_fold():
    # Plain NFKD folding loses Đ, Ł and Ø, so some entries would not round-trip without it.
    lost = {k for k, v in ACCENTED_FORMS.items() if plain_fold(v) != k}
    assert {"DANG", "DO", "DUC", "LUKASZ", "SOREN"} <= lost


def test_accented_forms_are_read_only():
    with pytest.raises(TypeError):
        ACCENTED_FORMS["SMITH"] = "SMÍTH"  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NGUYEN", "NGUYỄN"),
        ("DANG", "ĐẶNG"),
        ("GARCIA", "GARCÍA"),
        ("MUNOZ", "MUÑOZ"),
        ("NUNEZ", "NÚÑEZ"),
        ("JOSE", "JOSÉ"),
        ("THI", "THỊ"),
        ("MULLER", "MÜLLER"),
        ("FRANCOIS", "FRANÇOIS"),
        ("LUKASZ", "ŁUKASZ"),
        ("SOREN", "SØREN"),
        ("WOJCIK", "WÓJCIK"),
    ],
)
def test_known_accented_forms(name, expected):
    assert accented_form(name) == expected


def test_nguyen_round_trip():
    assert fold_to_ascii(accented_form("NGUYEN")) == "NGUYEN"


@pytest.mark.parametrize("value", ["SMITH", "", "garcia", "PHAN", None, math.nan, 7, ["GARCIA"]])
def test_no_accented_form(value):
    assert accented_form(value) is None


# --- ASCII folding -----------------------------------------------------------------------------


def test_plain_nfkd_drops_letters():
    # Why ASCII_FOLD exists: Đ has no NFKD decomposition, so ascii-ignore deletes it.
    assert plain_fold("ĐẶNG") == "ANG"
    assert plain_fold("ŁUKASZ") == "UKASZ"
    assert fold_to_ascii("ĐẶNG") == "DANG"


def test_ascii_fold_covers_exactly_what_nfkd_loses():
    required = "ĐđŁłØøßẞÆæŒœÞþÐðıĦħ"
    assert set(required) <= set(ASCII_FOLD)
    for char, replacement in ASCII_FOLD.items():
        assert len(char) == 1
        assert plain_fold(char) == "", char  # otherwise NFKD alone would do
        assert replacement.isascii() and replacement.isalpha(), char


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ĐẶNG", "DANG"),
        ("ŁUKASZ", "LUKASZ"),
        ("SØREN", "SOREN"),
        ("STRAẞE", "STRASSE"),
        ("GROß", "GROSS"),
        ("ÆSIR", "AESIR"),
        ("ÞÓRA", "THORA"),
        ("Ǿ", "O"),  # Ø + acute: NFKD exposes the Ø, which is then folded
        ("NGUYỄN THỊ", "NGUYEN THI"),
        ("O'NEIL-DE LA CRUZ", "O'NEIL-DE LA CRUZ"),
        ("", ""),
    ],
)
def test_fold_to_ascii(text, expected):
    assert fold_to_ascii(text) == expected


def test_fold_table_works_with_pandas():
    s = pd.Series(["ĐẶNG", "ŁUKASZ", None])
    folded = s.str.translate(ASCII_FOLD_TABLE)
    assert folded.tolist()[:2] == ["DẶNG", "LUKASZ"]
    assert folded.isna().tolist() == [False, False, True]


def test_import_check_rejects_accented_forms_that_do_not_fold_back():
    with pytest.raises(ValueError):
        variants._check_accented({"DANG": "ĐẶNH"})
    with pytest.raises(ValueError):
        variants._check_accented({"SMITH": "SMITH"})
