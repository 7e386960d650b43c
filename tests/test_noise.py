"""Tests of synthetic.noise: contract tests over every registered noise type, then specifics."""

from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np
import pandas as pd
import pytest
from nicknames import NickNamer
from rapidfuzz.distance import OSA, Levenshtein

from synthetic import noise as noise_mod
from synthetic.errors import ConfigError
from synthetic.names import GROUPS
from synthetic.noise import (
    ADDRESS_FIELDS,
    NOISE,
    RECORD_FIELDS,
    NoiseContext,
    apply_noise,
    harness,
    validate_noise_spec,
)
from synthetic.variants import transliteration_variants

FIRST = ["WILLIAM", "ROBERT", "ELIZABETH", "MARY", "JOHN", "KATHERINE", "ZZQX", "J", "XYLIA"]
MIDDLE = ["ANN", "LEE", "J", "MARIE", "JAMES", None]
LAST = ["SMITH", "O'NEIL", "DE LA CRUZ", "LI", "NGUYEN", "AA", "MÜLLER"]
STREETS = ["MAPLE", "OAK", "N MAIN", "PINE", "S 1ST", "CEDAR", "ELM", "BIRCH"]
SUFFIXES = ["ST", "STREET", "AVE", "RD", "LANE", "DR", "WAY"]
EXTRA = ["person_id", "address_id", "note"]  # columns the harness must leave alone
NICKNAMER = NickNamer()


def make_pool(n_zip: int = 6, per_zip: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_zip * per_zip
    return pd.DataFrame(
        {
            "address_id": np.arange(n, dtype=np.int64),
            "house_number": [str(x) for x in rng.integers(1, 9999, n)],
            "street": [f"{rng.choice(STREETS)} {rng.choice(SUFFIXES)}" for _ in range(n)],
            "unit": ["" if rng.random() < 0.5 else f"APT {rng.integers(1, 20)}" for _ in range(n)],
            "city": [f"CITY{i // per_zip}" for i in range(n)],
            "state": ["NY" if i // per_zip % 2 else "NJ" for i in range(n)],
            "zip": [f"{10001 + i // per_zip:05d}" for i in range(n)],
        }
    )


def make_records(pool: pd.DataFrame, n: int = 400, seed: int = 1, blanks: bool = True):
    rng = np.random.default_rng(seed)
    addr = pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)
    dob = pd.Timestamp("1940-01-01") + pd.to_timedelta(rng.integers(0, 25000, n), unit="D")
    frame = pd.DataFrame(
        {
            "person_id": np.arange(n, dtype=np.int64),
            "first_name": rng.choice(np.array(FIRST, dtype=object), n),
            "middle_name": rng.choice(np.array(MIDDLE, dtype=object), n),
            "last_name": rng.choice(np.array(LAST, dtype=object), n),
            "suffix": rng.choice(np.array([None, "JR", "SR"], dtype=object), n),
            "dob": list(dob.strftime("%Y-%m-%d")),
            **{f: addr[f].to_numpy(dtype=object) for f in ADDRESS_FIELDS},
            "tin": [f"{x:09d}" for x in rng.integers(1_000_000, 899_999_999, n)],
            "address_id": addr["address_id"].to_numpy(),
            "note": ["keep"] * n,
        }
    )
    for f in RECORD_FIELDS:
        frame[f] = frame[f].astype(object)
        if blanks and f not in ADDRESS_FIELDS:  # address blanks would hide the current address
            frame.loc[rng.random(n) < 0.05, f] = None
    frame.index = pd.Index(1000 + 3 * np.arange(n), name="rid")  # not a RangeIndex
    return frame


def make_people(records: pd.DataFrame, pool: pd.DataFrame) -> pd.DataFrame:
    """Person attributes aligned with ``records`` by position: households of two rows, every
    group, and each life event on some households (compound surname, name change, a move to a
    previous address of the pool, a PO box)."""
    n = len(records)
    i = np.arange(n)
    hh = i // 2
    nothing = np.full(n, None, dtype=object)
    last = records["last_name"].fillna("SMITH").to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "household_id": hh,
            "group": np.array(GROUPS, dtype=object)[hh % len(GROUPS)],
            "sex": np.where(i % 2, "M", "F").astype(object),
            "last_name": last,
            "second_surname": np.where(i % 3 == 0, "LOPEZ", nothing),
            "spouse_surname": np.where(i % 4 == 0, "MARTINEZ", nothing),
            "previous_surname": np.where(i % 5 == 0, "OLDNAME", nothing),
            "previous_address_id": np.where(
                hh % 3 == 0, (records["address_id"].to_numpy()[hh * 2] + 1) % len(pool), -1
            ),
            "po_box": np.where(hh % 4 == 1, "PO BOX 12", nothing),
            "former_itin": np.where(i % 6 == 1, "912705555", nothing),
            "household_member_tin": np.where(i % 3 == 2, "123121234", nothing),
            "donor_ssn": np.where(i % 4 == 3, "555443333", nothing),
        }
    )


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    return make_pool()


@pytest.fixture(scope="module")
def records(pool) -> pd.DataFrame:
    return make_records(pool)


@pytest.fixture(scope="module")
def ctx(pool, records) -> NoiseContext:
    return NoiseContext(addresses=pool, people=make_people(records, pool))


def only(name: str, rate: float, **table) -> dict:
    """Settings with every type off except ``name``."""
    spec = {n: {"rate": 0.0} for n in NOISE}
    spec[name] = {"rate": rate, **table}
    return validate_noise_spec(spec, "test")


def changed_cells(before: pd.DataFrame, after: pd.DataFrame) -> set[tuple[int, str]]:
    out = set()
    for f in RECORD_FIELDS:
        a, b = before[f].to_numpy(dtype=object), after[f].to_numpy(dtype=object)
        same = (pd.isna(a) & pd.isna(b)) | (~pd.isna(a) & ~pd.isna(b) & (a == b))
        out |= {(int(i), f) for i in np.flatnonzero(~same)}
    return out


def log_cells(log: pd.DataFrame, name: str | None = None) -> set[tuple[int, str]]:
    if name is not None:
        log = log[log["noise"] == name]
    return set(zip(log["row"].tolist(), log["field"].tolist(), strict=True))


@functools.cache
def has_nickname(name: str) -> bool:
    return bool({n.upper() for n in NICKNAMER.nicknames_of(name.lower())} - {name})


def eligible_cells(name: str, records: pd.DataFrame, ctx: NoiseContext) -> set[tuple[int, str]]:
    """Cells (joint types: rows, field "*") the harness must hand to the type at rate 1: present
    (joint: any field present) and, where the type says so, applicable to the person."""
    nt = NOISE[name]
    ok = np.ones(len(records), dtype=bool)
    if nt.applies_to is not None:
        ok = nt.applies_to(ctx.people[list(nt.needs)])
    if nt.joint:
        present = records[list(nt.fields)].notna().any(axis=1).to_numpy()
        return {(int(r), "*") for r in np.flatnonzero(ok & present)}
    return {
        (int(r), f)
        for f in nt.fields
        for r in np.flatnonzero(ok & (nt.fills_missing | records[f].notna().to_numpy()))
    }


# ---------------------------------------------------------------------------------------------
# Contract tests over every registered noise type
# ---------------------------------------------------------------------------------------------

ALL = list(NOISE)


def test_registry_order_and_metadata():
    # name conventions, then addresses, then dates; blanks and typos last
    assert ALL == [
        "surname_form", "previous_surname", "transliteration", "name_order", "middle_as_first",
        "diacritics", "stale_address", "other_address", "mailing_address", "invalid_address",
        "address_format", "nickname", "dob_placeholder", "dob_swap", "missing", "typo",
        "stale_itin", "household_tin", "tin_typo", "borrowed_ssn",
    ]  # fmt: skip
    for nt in NOISE.values():
        assert nt.description and "\n" not in nt.description
        assert 0 <= nt.default_rate <= 1
        assert set(nt.fields) <= set(RECORD_FIELDS)
        assert nt.fn.__doc__


@pytest.mark.parametrize("name", ALL)
def test_shape_index_columns_dtypes_and_extra_columns(name, records, ctx):
    out, log = apply_noise(records, only(name, 0.5), 7, "a", ctx)
    assert out.index.equals(records.index)
    assert list(out.columns) == list(records.columns)
    assert (out.dtypes == records.dtypes).all()
    pd.testing.assert_frame_equal(out[EXTRA], records[EXTRA])
    assert list(log.columns) == ["row", "field", "noise"]
    assert log["row"].dtype == np.int64
    assert len(log) > 0
    assert (np.diff(log["row"].to_numpy()) >= 0).all()
    assert set(log["noise"]) == {name}


@pytest.mark.parametrize("name", ALL)
def test_deterministic_for_same_seed(name, records, ctx):
    a, log_a = apply_noise(records, only(name, 0.5), 11, "a", ctx)
    b, log_b = apply_noise(records, only(name, 0.5), 11, "a", ctx)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(log_a, log_b)


@pytest.mark.parametrize("name", ALL)
def test_other_seed_or_side_changes_something(name, records, ctx):
    # At rate 1 a type like `missing` gives the same output for every seed, so the seed is
    # checked through the selection, at rate 0.5.
    _, log = apply_noise(records, only(name, 0.5), 11, "a", ctx)
    _, log_seed = apply_noise(records, only(name, 0.5), 12, "a", ctx)
    _, log_side = apply_noise(records, only(name, 0.5), 11, "b", ctx)
    assert log_cells(log) != log_cells(log_seed)
    assert log_cells(log) != log_cells(log_side)


@pytest.mark.parametrize("name", ALL)
def test_rate_zero_changes_nothing(name, records, ctx):
    out, log = apply_noise(records, only(name, 0.0), 3, "a", ctx)
    pd.testing.assert_frame_equal(out, records)
    assert log.empty


@pytest.mark.parametrize("name", ALL)
def test_rate_one_hands_every_eligible_cell_to_the_function(name, records, ctx, monkeypatch):
    calls: list = []
    monkeypatch.setitem(NOISE, name, _recording(name, calls, records.index))
    out, _ = apply_noise(records, only(name, 1.0), 5, "a", ctx)
    expected = eligible_cells(name, records, ctx)
    assert expected, f"fixture gives {name} nothing to change"
    assert set(calls) == expected
    rows = {r for r, _ in changed_cells(records, out)}
    assert rows <= {r for r, _ in expected}
    assert rows, f"{name} changed nothing at rate 1"


@pytest.mark.parametrize("rate", [0.3, 1.0])
@pytest.mark.parametrize("name", ALL)
def test_log_matches_changed_cells(name, rate, records, ctx):
    out, log = apply_noise(records, only(name, rate), 9, "a", ctx)
    assert log_cells(log) == changed_cells(records, out)
    assert not log.duplicated().any()


@pytest.mark.parametrize("name", ALL)
def test_rate_is_roughly_honoured(name, records, ctx, monkeypatch):
    calls: list = []
    monkeypatch.setitem(NOISE, name, _recording(name, calls, records.index))
    apply_noise(records, only(name, 0.3), 21, "a", ctx)
    share = len(set(calls)) / len(eligible_cells(name, records, ctx))
    assert 0.18 < share < 0.42, share


@pytest.mark.parametrize("name", [n for n, nt in NOISE.items() if nt.unit == "household"])
def test_household_units_are_selected_together(name, records, ctx, monkeypatch):
    calls: list = []
    monkeypatch.setitem(NOISE, name, _recording(name, calls, records.index))
    apply_noise(records, only(name, 0.5), 3, "a", ctx)
    hh = ctx.people["household_id"].to_numpy()
    chosen = {hh[r] for r, _ in calls}
    eligible = {r for r, _ in eligible_cells(name, records, ctx)}
    assert chosen and all(r in {c for c, _ in calls} for r in eligible if hh[r] in chosen)


def test_group_rates_override_the_rate(records, ctx, monkeypatch):
    calls: list = []
    monkeypatch.setitem(NOISE, "typo", _recording("typo", calls, records.index))
    spec = {n: {"rate": 0.0} for n in NOISE}
    spec["typo"] = {"rate": 0.0, "fields": ["last_name"], "group_rates": {"api": 1.0}}
    apply_noise(records, validate_noise_spec(spec, "t"), 1, "a", ctx)
    groups = ctx.people["group"].to_numpy()
    present = records["last_name"].notna().to_numpy()
    assert {r for r, _ in calls} == set(np.flatnonzero((groups == "api") & present))


def test_person_attributes_are_required(records, pool):
    with pytest.raises(ValueError, match="second_surname"):
        apply_noise(records, only("surname_form", 0.5), 0, "a", NoiseContext(addresses=pool))
    # inactive types need nothing
    _, log = apply_noise(records, only("surname_form", 0.0), 0, "a", NoiseContext(pool))
    assert log.empty


def _recording(name: str, calls: list, index: pd.Index):
    nt = NOISE[name]

    def fn(values, rng, params, ctx):
        field = "*" if isinstance(values, pd.DataFrame) else values.name
        calls.extend((int(p), field) for p in index.get_indexer(values.index))
        return nt.fn(values, rng, params, ctx)

    return dataclasses.replace(nt, fn=fn)


@pytest.mark.parametrize(("name", "other"), [(a, b) for a in ALL for b in ALL if a != b])
def test_other_rates_do_not_change_selection(name, other, records, ctx, monkeypatch):
    """Changing another type's rate changes which cells this type selects only where the other
    type blanked a cell (blank cells are never selected)."""
    chosen = {}
    for other_rate in (0.0, 0.6):
        calls: list = []
        monkeypatch.setitem(NOISE, name, _recording(name, calls, records.index))
        spec = {n: {"rate": 0.0} for n in NOISE}
        spec[name] = {"rate": 0.3}
        spec[other] = {"rate": other_rate}
        _, log = apply_noise(records, validate_noise_spec(spec, "t"), 4, "a", ctx)
        chosen[other_rate] = set(calls)
    # cells the other type blanked (alone, as it ran before or after this one)
    alone, _ = apply_noise(records, only(other, 0.6), 4, "a", ctx)
    blanked = {
        (r, f)
        for r, f in log_cells(log, other)
        if pd.isna(alone[f].iloc[r]) and not pd.isna(records[f].iloc[r])
    }
    if NOISE[name].joint:
        blanked = {(r, "*") for r, _ in blanked}
    assert chosen[0.6] <= chosen[0.0]
    assert chosen[0.0] - chosen[0.6] <= blanked


def test_adding_a_noise_type_does_not_shift_the_others(records, ctx, monkeypatch):
    settings = validate_noise_spec({n: {"rate": 0.3} for n in NOISE}, "t")
    before, log_before = apply_noise(records, settings, 8, "a", ctx)

    def shout(values, rng, params, ctx):
        """Test noise."""
        return values.str.upper() + "!"

    extra = noise_mod.NoiseType("shout", shout, ("note",), 0.5, False, {}, "test noise")
    monkeypatch.setattr(harness, "NOISE", {"shout": extra, **NOISE})  # where the harness reads it
    settings = validate_noise_spec({n: {"rate": 0.3} for n in harness.NOISE}, "t")
    after, log_after = apply_noise(records, settings, 8, "a", ctx)
    pd.testing.assert_frame_equal(after[list(RECORD_FIELDS)], before[list(RECORD_FIELDS)])
    pd.testing.assert_frame_equal(
        log_after[log_after["noise"] != "shout"].reset_index(drop=True), log_before
    )
    assert (after["note"] == "KEEP!").any()


def test_default_settings_run_and_missing_stays_missing(records, ctx):
    out, log = apply_noise(records, validate_noise_spec(None, "t"), 0, "a", ctx)
    for f in RECORD_FIELDS:
        assert out[f][records[f].isna()].isna().all()
    assert set(log["noise"]) <= set(NOISE)
    # middle_name is blanked much more often than the others by default
    blanked = log[log["noise"] == "missing"]["field"].value_counts()
    assert blanked.get("middle_name", 0) > 3 * blanked.get("last_name", 0)


def test_apply_noise_rejects_unknown_type_and_missing_columns(records, ctx):
    with pytest.raises(ValueError, match="unknown noise"):
        apply_noise(records, {"bogus": only("typo", 0.1)["typo"]}, 0, "a", ctx)
    with pytest.raises(ValueError, match="dob"):
        apply_noise(records.drop(columns="dob"), only("typo", 0.1), 0, "a", ctx)


def test_noise_function_must_keep_length_and_index(records, ctx, monkeypatch):
    def bad(values, rng, params, ctx):
        """Drops a value."""
        return values.iloc[1:]

    monkeypatch.setitem(NOISE, "typo", dataclasses.replace(NOISE["typo"], fn=bad))
    with pytest.raises(TypeError, match="same length"):
        apply_noise(records, only("typo", 0.5), 0, "a", ctx)


def test_empty_records(records, ctx):
    empty = records.iloc[:0]
    empty_ctx = dataclasses.replace(ctx, people=ctx.people.iloc[:0])
    out, log = apply_noise(empty, validate_noise_spec(None, "t"), 0, "a", empty_ctx)
    pd.testing.assert_frame_equal(out, empty)
    assert log.empty


# ---------------------------------------------------------------------------------------------
# Specific noise types
# ---------------------------------------------------------------------------------------------


def _changed_pairs(before, after, field):
    a, b = before[field], after[field]
    mask = a.notna() & (a != b)
    return list(zip(a[mask], b[mask], strict=True))


@pytest.mark.parametrize("field", ["first_name", "middle_name", "last_name", "street", "city"])
def test_typo_is_one_keyboard_edit(field, records, ctx):
    out, _ = apply_noise(records, only("typo", 1.0), 2, "a", ctx)
    pairs = _changed_pairs(records, out, field)
    assert pairs
    for old, new in pairs:
        assert new, (old, new)
        assert OSA.distance(old, new) == 1, (old, new)  # transpositions count 1 here
        assert Levenshtein.distance(old, new) in (1, 2), (old, new)
        assert not re.search(r"[0-9]", new) or re.search(r"[0-9]", old), (old, new)


def test_typo_kinds(records, ctx):
    kinds = {"substitute": 0.0, "delete": 0.0, "insert": 0.0, "transpose": 0.0}
    fields = ["first_name", "last_name", "street", "city"]
    for kind in kinds:
        table = {**kinds, kind: 1.0, "fields": fields}
        out, _ = apply_noise(records, only("typo", 1.0, **table), 2, "a", ctx)
        for f in fields:
            for old, new in _changed_pairs(records, out, f):
                if kind == "delete" and len(old) >= 2:
                    assert len(new) == len(old) - 1 and Levenshtein.distance(old, new) == 1
                elif kind == "insert":
                    assert len(new) == len(old) + 1 and Levenshtein.distance(old, new) == 1
                elif kind == "transpose" and old not in ("AA", "J"):  # no swappable pair
                    assert sorted(new) == sorted(old) and Levenshtein.distance(old, new) == 2
                else:  # substitution (also the fallback)
                    assert len(new) == len(old) and Levenshtein.distance(old, new) == 1


def test_typo_never_empties_and_keeps_untypable_values():
    frame = make_records(make_pool(), n=6, blanks=False)
    frame["first_name"] = ["J", "A", "AA", "-", "É", "Q"]
    ctx = NoiseContext(make_pool())
    table = {"fields": ["first_name"], "substitute": 0.0, "insert": 0.0, "transpose": 0.0}
    out, _ = apply_noise(frame, only("typo", 1.0, **table), 0, "a", ctx)
    new = out["first_name"].tolist()
    assert all(new)
    assert new[3:5] == ["-", "É"]  # nothing to edit
    assert new[2] == "A"  # deletion allowed at length 2
    assert new[0] != "J" and len(new[0]) == 1  # deletion impossible: substitution instead


def test_typo_dob_changes_one_digit_only(records, ctx):
    out, _ = apply_noise(records, only("typo", 1.0, fields=["dob"]), 2, "a", ctx)
    pairs = _changed_pairs(records, out, "dob")
    assert len(pairs) == records["dob"].notna().sum()
    for old, new in pairs:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", new), new
        assert sum(a != b for a, b in zip(old, new, strict=True)) == 1
        i = next(i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b)
        assert abs(int(old[i]) - int(new[i])) in (1, 9)  # neighbouring key (0 sits next to 9)


def _addresses(frame):
    return list(frame[list(ADDRESS_FIELDS)].itertuples(index=False, name=None))


def test_stale_address_is_the_previous_address(pool, records, ctx):
    out, log = apply_noise(records, only("stale_address", 1.0), 1, "a", ctx)
    prev = ctx.people["previous_address_id"].to_numpy()
    moved = np.flatnonzero(prev >= 0)
    expected = pool.set_index("address_id").loc[prev[moved]]
    for f in ADDRESS_FIELDS:
        assert (out[f].iloc[moved].to_numpy() == expected[f].to_numpy()).all(), f
    stayed = np.flatnonzero(prev < 0)
    pd.testing.assert_frame_equal(out.iloc[stayed], records.iloc[stayed])
    assert set(log["field"]) <= set(ADDRESS_FIELDS)
    pd.testing.assert_series_equal(out["address_id"], records["address_id"])  # truth untouched


def test_stale_address_unknown_previous_address(records, ctx, pool):
    bad = ctx.people.assign(previous_address_id=np.where(ctx.people.index % 2, 10**6, -1))
    with pytest.raises(ValueError, match="address pool"):
        apply_noise(records, only("stale_address", 1.0), 0, "a", NoiseContext(pool, bad))


def test_stale_address_keeps_missing_fields_missing(pool, ctx, records):
    recs = records.copy()
    recs.loc[recs.index[:6], "house_number"] = None
    out, _ = apply_noise(recs, only("stale_address", 1.0), 0, "a", ctx)
    assert out["house_number"].iloc[:6].isna().all()


def test_other_address_comes_from_pool_and_never_the_current_one(pool, ctx):
    recs = make_records(pool, n=300, blanks=False)
    out, log = apply_noise(recs, only("other_address", 1.0, p_same_zip=1.0), 1, "a", ctx)
    pool_set = set(_addresses(pool))
    for old, new in zip(_addresses(recs), _addresses(out), strict=True):
        assert new in pool_set
        assert new != old
        assert new[-1] == old[-1]  # same ZIP
    assert set(log["field"]) <= set(ADDRESS_FIELDS)
    pd.testing.assert_series_equal(out["address_id"], recs["address_id"])  # truth untouched


@pytest.mark.parametrize("p_same_zip", [0.0, 0.5, 0.9])
def test_other_address_respects_p_same_zip(p_same_zip, pool, ctx):
    recs = make_records(pool, n=3000, blanks=False)
    out, _ = apply_noise(recs, only("other_address", 1.0, p_same_zip=p_same_zip), 3, "a", ctx)
    same = (out["zip"] == recs["zip"]).mean()
    per_zip, size = 8, len(pool)
    anywhere_same = (per_zip - 1) / (size - 1)  # drawn anywhere except the current address
    expected = p_same_zip + (1 - p_same_zip) * anywhere_same
    assert abs(same - expected) < 0.04


def test_other_address_edge_pools(pool):
    recs = make_records(pool, n=50, blanks=False)
    lonely = pool.iloc[[0, 8]]  # two addresses, different ZIPs: falls back to the other ZIP
    recs_l = recs.copy()
    for f in ADDRESS_FIELDS:
        recs_l[f] = lonely[f].iloc[0]
    out, _ = apply_noise(
        recs_l, only("other_address", 1.0, p_same_zip=1.0), 0, "a", NoiseContext(lonely)
    )
    assert (out["zip"] == lonely["zip"].iloc[1]).all()
    single = pool.iloc[[0]]
    out, log = apply_noise(recs_l, only("other_address", 1.0), 0, "a", NoiseContext(single))
    pd.testing.assert_frame_equal(out, recs_l)  # nowhere else to have lived
    assert log.empty
    with pytest.raises(ValueError, match="address pool"):
        apply_noise(recs, only("other_address", 1.0), 0, "a", NoiseContext(pool.iloc[:0]))


def test_mailing_address_is_the_po_box(records, ctx):
    out, _ = apply_noise(records, only("mailing_address", 1.0), 0, "a", ctx)
    box = ctx.people["po_box"].notna().to_numpy()
    assert (out["street"].to_numpy()[box] == "PO BOX 12").all()
    assert out["house_number"][box].isna().all() and (out["unit"][box] == "").all()
    assert (out["zip"] == records["zip"]).all()
    pd.testing.assert_frame_equal(out[~box], records[~box])


def test_surname_forms(records, ctx):
    people = ctx.people
    recs = records.copy()
    compound = people["second_surname"].notna().to_numpy()
    both = people["last_name"] + " " + people["second_surname"]
    recs["last_name"] = np.where(compound, both, people["last_name"])
    forms = {}
    for form in noise_mod.SURNAME_FORMS:
        weights = {k: float(k == form) for k in noise_mod.SURNAME_FORMS}
        out, _ = apply_noise(recs, only("surname_form", 1.0, **weights), 0, "a", ctx)
        forms[form] = out["last_name"].to_numpy()
        assert (out["last_name"][~compound] == recs["last_name"][~compound]).all()
    i = np.flatnonzero(compound & (people["last_name"] == "SMITH").to_numpy())[0]
    assert recs["last_name"].iloc[i] == "SMITH LOPEZ"
    assert forms["paternal"][i] == "SMITH"  # differs from "both" on the other side
    assert forms["hyphenated"][i] == "SMITH-LOPEZ"
    assert forms["concatenated"][i] == "SMITHLOPEZ"
    assert forms["reversed"][i] == "LOPEZ SMITH"
    assert forms["maternal"][i] == "LOPEZ"
    wife = compound & (people["sex"] == "F").to_numpy() & people["spouse_surname"].notna()
    assert (forms["married"][wife] == people["last_name"][wife] + " DE MARTINEZ").all()
    assert (forms["married"][compound & ~wife] == people["last_name"][compound & ~wife]).all()


def test_previous_surname(records, ctx):
    out, _ = apply_noise(records, only("previous_surname", 1.0), 0, "a", ctx)
    had = ctx.people["previous_surname"].notna().to_numpy() & records["last_name"].notna()
    assert (out["last_name"][had] == "OLDNAME").all()
    assert (out["last_name"][~had].fillna("") == records["last_name"][~had].fillna("")).all()


def test_transliteration_one_scheme_per_person():
    pool = make_pool()
    recs = make_records(pool, n=200, blanks=False)
    recs["first_name"], recs["last_name"], recs["middle_name"] = "MOHAMMED", "LEE", "AHMED"
    ctx = NoiseContext(pool, make_people(recs, pool))
    out, _ = apply_noise(recs, only("transliteration", 1.0), 0, "a", ctx)
    assert (out["first_name"] != "MOHAMMED").all() and (out["last_name"] != "LEE").all()
    assert set(out["first_name"]) <= set(transliteration_variants("MOHAMMED"))
    # one draw u per person picks the variant of every name: floor(u * 6) for MOHAMMED's six,
    # floor(u * 4) for LEE's four, so a later MOHAMMED variant never comes with an earlier LEE one
    k_first = out["first_name"].map(transliteration_variants("MOHAMMED").index)
    k_last = out["last_name"].map(transliteration_variants("LEE").index)
    span = k_last.groupby(k_first).agg(["min", "max"]).sort_index()
    assert (span["max"].to_numpy()[:-1] <= span["min"].to_numpy()[1:]).all()
    assert k_last.nunique() > 1


def test_name_order_and_middle_as_first(records, ctx):
    out, _ = apply_noise(records, only("name_order", 1.0), 0, "a", ctx)
    both = records["first_name"].notna() & records["last_name"].notna()
    assert (out["first_name"][both] == records["last_name"][both]).all()
    assert (out["last_name"][both] == records["first_name"][both]).all()
    assert (out["last_name"].isna() == records["last_name"].isna()).all()
    out, _ = apply_noise(records, only("middle_as_first", 1.0), 0, "a", ctx)
    both = records["first_name"].notna() & records["middle_name"].notna()
    assert (out["first_name"][both] == records["middle_name"][both]).all()
    assert (out["middle_name"][both] == records["first_name"][both].str[0]).all()


def test_diacritics():
    values = pd.Series(["NGUYEN", "MUNOZ", "GARCIA LOPEZ", "SMITH"], name="last_name")
    out = noise_mod.diacritics(values, np.random.default_rng(0), {}, None)
    assert out.tolist() == ["NGUYỄN", "MUÑOZ", "GARCÍA LÓPEZ", "SMITH"]


def test_dob_noise():
    values = pd.Series(["1980-03-07", "1980-03-03", "1980-03-25", "x"], name="dob")
    out = noise_mod.dob_swap(values, np.random.default_rng(0), {}, None)
    assert out.tolist() == ["1980-07-03", "1980-03-03", "1980-03-25", "x"]
    always = noise_mod.dob_placeholder(values[:1], np.random.default_rng(0), {"p_jan1": 1.0}, None)
    never = noise_mod.dob_placeholder(values[:1], np.random.default_rng(0), {"p_jan1": 0.0}, None)
    assert always.tolist() == ["1980-01-01"] and never.tolist() == ["1900-01-01"]


def test_invalid_address():
    rows = pd.DataFrame(
        {"house_number": ["12", "12"], "street": ["MAIN ST"] * 2, "unit": ["APT 1"] * 2,
         "zip": ["10001"] * 2}, dtype=object
    )  # fmt: skip
    zip_only = noise_mod.invalid_address(
        rows, np.random.default_rng(0), {"zip_only": 1.0, "number_only": 0.0}, None
    )
    assert zip_only["street"].tolist() == ["10001"] * 2 and zip_only["house_number"].isna().all()
    number = noise_mod.invalid_address(
        rows, np.random.default_rng(0), {"zip_only": 0.0, "number_only": 1.0}, None
    )
    assert number["street"].tolist() == ["12"] * 2 and (number["unit"] == "").all()


def test_nickname_william(pool, ctx):
    recs = make_records(pool, n=60, blanks=False)
    recs["first_name"] = ["WILLIAM"] * 50 + ["ZZQX"] * 10
    out, log = apply_noise(recs, only("nickname", 1.0), 0, "a", ctx)
    allowed = {n.upper() for n in NICKNAMER.nicknames_of("william")}
    assert {"BILL", "WILL"} <= allowed
    new = out["first_name"].iloc[:50]
    assert new.isin(allowed).all()
    assert new.nunique() > 2
    assert (out["first_name"].iloc[50:] == "ZZQX").all()
    assert len(log) == 50


def _format(values, field, **params):
    frame = make_records(make_pool(), n=len(values), blanks=False)
    frame[field] = pd.Series(values, index=frame.index, dtype=object)
    table = {"fields": [field], **params}
    out, _ = apply_noise(
        frame, only("address_format", 1.0, **table), 0, "a", NoiseContext(make_pool())
    )
    return out[field].tolist()


def test_address_format_street():
    assert _format(["MAPLE ST"], "street") == ["MAPLE STREET"]
    assert _format(["OAK AVENUE"], "street") == ["OAK AVE"]
    assert _format(["ELM WAY"], "street") == ["ELM WAY"]
    assert _format(["MAPLE ST N"], "street") == ["MAPLE STREET N"]
    variants = set(_format(["N MAIN ST"] * 60, "street"))
    assert variants == {"NORTH MAIN ST", "N MAIN STREET", "NORTH MAIN STREET"}


def test_address_format_unit():
    kept = _format(["APT 3"] * 60 + [""] * 5, "unit", p_drop_unit=0.0)
    assert set(kept[:60]) == {"# 3", "#3", "UNIT 3", "APT3"}
    assert kept[60:] == [""] * 5
    assert _format(["APT 3", "UNIT 12", ""], "unit", p_drop_unit=1.0) == ["", "", ""]
    assert set(_format(["# 7"] * 40, "unit", p_drop_unit=0.0)) == {"#7", "APT 7", "APT7", "UNIT 7"}


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


def test_validate_defaults():
    settings = validate_noise_spec(None, "register.noise")
    assert list(settings) == ALL
    for name, s in settings.items():
        nt = NOISE[name]
        assert s.rate == nt.default_rate
        assert s.fields == nt.fields
        assert dict(s.params) == dict(nt.params)
    assert settings["missing"].rate_for("middle_name") == 0.2
    assert settings["missing"].rate_for("last_name") == 0.01
    assert settings["missing"].rate_for("suffix") == 0.5  # suffixes are often dropped
    assert validate_noise_spec({}, "x") == settings


def test_validate_overrides():
    settings = validate_noise_spec(
        {
            "typo": {"rate": 0.02, "fields": ["street", "last_name"], "delete": 1},
            "nickname": {"rate": 1},
            "missing": {"rate": 0.05},
            "address_format": {"p_drop_unit": 1},
            "name_order": {"group_rates": {"api": 0.5}},
        },
        "register.noise",
    )
    typo = settings["typo"]
    assert typo.rate == 0.02 and typo.fields == ("last_name", "street")
    assert typo.params["delete"] == 1.0 and isinstance(typo.params["delete"], float)
    assert settings["nickname"].rate == 1.0
    assert settings["missing"].rate_for("middle_name") == 0.05  # explicit rate: all fields
    assert settings["address_format"].params["p_drop_unit"] == 1.0
    assert dict(settings["name_order"].group_rates) == {"api": 0.5}
    assert dict(settings["transliteration"].group_rates) == {"api": 0.3}  # default
    assert not settings["nickname"].group_rates  # an explicit rate applies to every group
    fr = validate_noise_spec({"missing": {"field_rates": {"dob": 0.5}}}, "x")["missing"]
    assert fr.rate_for("dob") == 0.5 and fr.rate_for("zip") == 0.01


@pytest.mark.parametrize(
    ("spec", "path", "fragment"),
    [
        ({"typoo": {}}, "register.noise.typoo", "unknown noise type; known: surname_form"),
        ({"typo": {"rat": 0.1}}, "register.noise.typo.rat", "unknown key"),
        ({"typo": {"rate": 1.5}}, "register.noise.typo.rate", "in [0, 1], got 1.5"),
        ({"typo": {"rate": -0.1}}, "register.noise.typo.rate", "got -0.1"),
        ({"typo": {"rate": "high"}}, "register.noise.typo.rate", "got 'high'"),
        ({"typo": {"rate": True}}, "register.noise.typo.rate", "got True"),
        ({"typo": {"rate": float("nan")}}, "register.noise.typo.rate", "got nan"),
        ({"typo": {"fields": ["zip"]}}, "register.noise.typo.fields", "'zip' is not a field"),
        ({"typo": {"fields": "last_name"}}, "register.noise.typo.fields", "must be a list"),
        ({"typo": {"fields": []}}, "register.noise.typo.fields", "must not be empty"),
        ({"typo": {"fields": ["dob", "dob"]}}, "register.noise.typo.fields", "twice"),
        ({"typo": 0.1}, "register.noise.typo", "must be a table"),
        (
            {"typo": {"substitute": 0, "delete": 0, "insert": 0, "transpose": 0}},
            "register.noise.typo",
            "sum to 0",
        ),
        ({"typo": {"delete": -1}}, "register.noise.typo.delete", "must be a number in [0, inf]"),
        (
            {"address_format": {"p_drop_unit": "x"}},
            "register.noise.address_format.p_drop_unit",
            "must be a number in [0, 1], got 'x'",
        ),
        (
            {"address_format": {"p_drop_unit": 2}},
            "register.noise.address_format.p_drop_unit",
            "got 2",
        ),
        (
            {"typo": {"group_rates": {"martian": 0.1}}},
            "register.noise.typo.group_rates.martian",
            "unknown group",
        ),
        (
            {"typo": {"group_rates": {"api": 1.1}}},
            "register.noise.typo.group_rates.api",
            "in [0, 1], got 1.1",
        ),
        ({"typo": {"group_rates": 0.1}}, "register.noise.typo.group_rates", "table of name"),
        (
            {"stale_address": {"field_rates": {}}},
            "register.noise.stale_address.field_rates",
            "unknown key",
        ),
        (
            {"missing": {"field_rates": {"dob": 2}}},
            "register.noise.missing.field_rates.dob",
            "in [0, 1], got 2",
        ),
        (
            {"missing": {"fields": ["dob"], "field_rates": {"zip": 0.1}}},
            "register.noise.missing.field_rates.zip",
            "not a selected field",
        ),
        ([1, 2], "register.noise", "must be a table of noise types"),
    ],
)
def test_validate_errors(spec, path, fragment):
    with pytest.raises(ConfigError) as info:
        validate_noise_spec(spec, "register.noise")
    message = str(info.value)
    assert info.value.where == path
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message


# ---------------------------------------------------------------------------------------------
# Row noise: contract tests over every registered row noise type
# ---------------------------------------------------------------------------------------------

ROWS = list(noise_mod.ROW_NOISE)


def _row_people(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "person_id": np.arange(100, 100 + n, dtype=np.int64),
            "household_id": np.arange(n, dtype=np.int64) // 3,
            "relationship": rng.choice(np.array(["householder", "child"], dtype=object), n),
            "sex": rng.choice(np.array(["F", "M"], dtype=object), n),
            "age": rng.integers(18, 90, n),
            "group": rng.choice(np.array(GROUPS, dtype=object), n),
        }
    )


def _only_rows(name: str, rate: float) -> dict:
    return noise_mod.validate_row_noise_spec(
        {n: {"rate": rate if n == name else 0.0} for n in ROWS}, "t"
    )


def test_row_registry_and_metadata():
    assert ROWS == ["omit_record", "duplicate_record"]
    assert not set(ROWS) & set(NOISE)
    for rt in noise_mod.ROW_NOISE.values():
        assert rt.description and "\n" not in rt.description
        assert rt.source and rt.fn.__doc__
        assert rt.default_rate == 0.0  # off by default: set per scenario (see their sources)


@pytest.mark.parametrize("name", ROWS)
def test_row_noise_function_contract(name):
    """One non-negative integer per selected person, deterministic in its stream, input kept."""
    people = _row_people()
    before = people.copy()
    fn = noise_mod.ROW_NOISE[name].fn
    params = noise_mod.ROW_NOISE[name].params
    a = fn(people, np.random.default_rng(1), params)
    b = fn(people, np.random.default_rng(1), params)
    assert isinstance(a, np.ndarray) and a.shape == (len(people),) and a.dtype.kind in "iu"
    assert (a >= 0).all() and (a != 1).any()  # a row noise type changes the record count
    np.testing.assert_array_equal(a, b)
    pd.testing.assert_frame_equal(people, before)
    assert len(fn(people.iloc[:0], np.random.default_rng(1), params)) == 0


@pytest.mark.parametrize("name", ROWS)
def test_row_noise_selection_rate_and_streams(name):
    people = _row_people(4000)
    off = noise_mod.apply_row_noise(people, _only_rows(name, 0.0), 3, "register")
    assert (off == 1).all()
    copies = noise_mod.apply_row_noise(people, _only_rows(name, 0.1), 3, "register")
    hit = copies != 1
    assert 0.07 < hit.mean() < 0.13
    # the same people whatever the other types' rates (each type has its own stream)
    others = noise_mod.validate_row_noise_spec({n: {"rate": 0.1} for n in ROWS}, "t")
    both = noise_mod.apply_row_noise(people, others, 3, "register")
    if name == ROWS[0]:  # applied first: its selection is untouched
        np.testing.assert_array_equal(both == 0, copies == 0)
    else:  # applied after omissions: the same people among those still recorded
        kept = both > 0
        np.testing.assert_array_equal((both != 1)[kept], hit[kept])
    # another seed or side draws other people
    other_side = noise_mod.apply_row_noise(people, _only_rows(name, 0.1), 3, "query")
    assert not np.array_equal(other_side, copies)


def test_row_noise_harness_refuses_a_bad_function(monkeypatch):
    rt = noise_mod.ROW_NOISE["duplicate_record"]
    bad = dataclasses.replace(rt, fn=lambda p, rng, params: np.full(len(p), -1))
    monkeypatch.setitem(noise_mod.ROW_NOISE, "duplicate_record", bad)
    with pytest.raises(TypeError, match="duplicate_record"):
        noise_mod.apply_row_noise(_row_people(), _only_rows("duplicate_record", 1.0), 3, "r")


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"omit": {"rate": 0.1}}, "t.omit"),
        ({"omit_record": {"rate": 1.5}}, "t.omit_record.rate"),
        ({"omit_record": {"fields": ["zip"]}}, "t.omit_record.fields"),
        ({"omit_record": 0.1}, "t.omit_record"),
        ([1], "t"),
    ],
)
def test_row_noise_spec_errors_name_the_key(spec, where):
    with pytest.raises(ConfigError) as err:
        noise_mod.validate_row_noise_spec(spec, "t")
    assert err.value.where == where


def test_address_codes_of_a_compact_pool_are_those_of_its_strings() -> None:
    """The address pool kept as categoricals (every block's addresses) is coded as its strings
    are: the same numbers for the ZIP, whose order picks the replacement, and for the address."""
    from synthetic.noise.harness import ADDRESS_FIELDS, _address_codes

    rng = np.random.default_rng(4)
    n = 3_000
    pool = pd.DataFrame(
        {f: [f"{f[0]}{v}" for v in rng.integers(0, 40, n)] for f in ADDRESS_FIELDS}, dtype=object
    )
    rows = pool.iloc[rng.integers(0, n, 200)].reset_index(drop=True)
    rows.loc[:9, "street"] = "NEW STREET"  # values the pool has not
    rows.loc[10:14, "unit"] = None
    # categories in another order than first appearance, and one no record has
    compact = pool.apply(lambda c: c.astype(pd.CategoricalDtype(sorted({*c, "UNUSED"}))))
    want = _address_codes(pool, rows)
    got = _address_codes(compact, rows)
    assert all(np.array_equal(w, g) for w, g in zip(want, got, strict=True))
    # the ZIP numbered by first appearance; each row's address: its lowest pool position
    assert np.array_equal(want[0], pd.factorize(pd.concat([pool["zip"], rows["zip"]]))[0])
    fields = list(ADDRESS_FIELDS)
    for i, row in enumerate(rows[fields].itertuples(index=False)):
        same = (pool[fields] == pd.Series(row, index=fields)).all(axis=1).to_numpy()
        assert want[1][i] == (np.flatnonzero(same)[0] if same.any() else -1), i
    assert (want[1][:10] == -1).all() and (want[1][20:] >= 0).all()


def test_address_codes_pack_past_64_bits() -> None:
    """Fields with many values each: packed past 2**62, the kept values are renumbered first."""
    from synthetic.noise import harness
    from synthetic.noise.harness import ADDRESS_FIELDS, _address_codes

    rng = np.random.default_rng(5)
    n = 4_000
    pool = pd.DataFrame({f: rng.integers(0, 2**40, n).astype(str) for f in ADDRESS_FIELDS})
    pool = pool.astype(object)
    pool.iloc[n // 2 :] = pool.iloc[: n // 2].to_numpy()  # every address twice
    rows = pool.iloc[rng.integers(0, n, 300)].reset_index(drop=True)
    rows.loc[:4, "state"] = "elsewhere"
    _, own = _address_codes(pool.astype("category"), rows)
    assert (own[:5] == -1).all() and (own[5:] >= 0).all() and (own < n // 2).all()
    fields = list(ADDRESS_FIELDS)
    assert (pool.iloc[own[5:]][fields].to_numpy() == rows.iloc[5:][fields].to_numpy()).all()
    assert harness._PACK_ORDER[0] == "house_number"
