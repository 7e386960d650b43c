"""Numberless addresses (issue 14, part 3): a blank house number in rules that require the
whole address, the key option ``blank`` and its default."""

from __future__ import annotations

import pytest

from bench.linkage.fields import BLANK_DEFAULTS, validate_key
from synthetic.errors import ConfigError
from tests.test_twopath import _pairs, _rule, _task

WHOLE_ADDRESS = [
    {"field": "first_name"},
    {"field": "last_name"},
    {"field": "house_number"},
    {"field": "street"},
    {"field": "unit"},
    {"field": "zip"},
]
ANN = {"first_name": "ANN", "last_name": "LEE", "street": "MAIN ST", "zip": "12345"}


def _blank_task():
    query = [
        {**ANN, "house_number": None},  # numberless, or the number not recorded
        {**ANN, "house_number": "12"},
    ]
    register = [
        {**ANN, "house_number": ""},  # numberless dwelling, as the generator writes it
        {**ANN, "house_number": None},
        {**ANN, "house_number": "12"},
        {**ANN, "house_number": "14"},
    ]
    return _task(query, register)


def test_blank_house_number_is_a_value_by_default() -> None:
    # An agency comparing the address line: "MAIN ST" equals "MAIN ST".
    assert BLANK_DEFAULTS["house_number"] == "value"
    got = _pairs(_rule([WHOLE_ADDRESS]), _blank_task())
    assert got == {(0, 0), (0, 1), (1, 2)}


def test_blank_missing_requires_a_number_on_both_sides() -> None:
    strict = [
        {**c, "blank": "missing"} if c["field"] == "house_number" else c for c in WHOLE_ADDRESS
    ]
    assert _pairs(_rule([strict]), _blank_task()) == {(1, 2)}


def test_blank_value_on_other_fields_and_transforms() -> None:
    task = _task([{"last_name": None}, {"last_name": "LEE"}], [{"last_name": ""}, {}])
    assert _pairs(_rule([[{"field": "last_name"}]]), task) == set()
    both = {(0, 0), (0, 1)}
    assert _pairs(_rule([[{"field": "last_name", "blank": "value"}]]), task) == both
    soundex = [{"field": "last_name", "compare": "soundex", "blank": "value"}]
    assert _pairs(_rule([soundex]), task) == both


def test_blank_value_on_unit_keeps_one_empty_value() -> None:
    # unit: "" is already a value; a missing unit then equals it too
    task = _task([{"unit": None}, {"unit": "APT 1"}], [{"unit": ""}, {"unit": "APT 1"}])
    assert _pairs(_rule([[{"field": "unit"}]]), task) == {(1, 1)}
    assert _pairs(_rule([[{"field": "unit", "blank": "value"}]]), task) == {(0, 0), (1, 1)}


def test_blank_option_is_validated_and_stored_only_when_value() -> None:
    assert validate_key({"field": "house_number"}, "k") == (
        "house_number",
        "exact",
        {"blank": "value"},
    )
    assert validate_key({"field": "house_number", "blank": "missing"}, "k")[2] == {}
    assert validate_key({"field": "street"}, "k")[2] == {}
    with pytest.raises(ConfigError, match=r"k\.blank"):
        validate_key({"field": "street", "blank": "equal"}, "k")
