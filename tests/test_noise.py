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
from synthetic.noise import (
    ADDRESS_FIELDS,
    NOISE,
    RECORD_FIELDS,
    NoiseContext,
    apply_noise,
    validate_noise_spec,
)

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
            "dob": list(dob.strftime("%Y-%m-%d")),
            **{f: addr[f].to_numpy(dtype=object) for f in ADDRESS_FIELDS},
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


@pytest.fixture(scope="module")
def pool() -> pd.DataFrame:
    return make_pool()


@pytest.fixture(scope="module")
def ctx(pool) -> NoiseContext:
    return NoiseContext(addresses=pool)


@pytest.fixture(scope="module")
def records(pool) -> pd.DataFrame:
    return make_records(pool)


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


def can_change(name: str, records: pd.DataFrame, field: str) -> np.ndarray:
    """Cells the noise type can change (all present cells unless the type says otherwise).

    A new noise type that can change only some values needs an entry here.
    """
    values = records[field]
    present = values.notna().to_numpy()
    if name == "nickname":
        return present & values.map(lambda v: isinstance(v, str) and has_nickname(v)).to_numpy()
    if name == "address_format" and field == "street":
        return present & ~values.str.endswith(" WAY", na=False).to_numpy(dtype=bool)
    if name == "address_format" and field == "unit":
        return present & (values != "").to_numpy()
    if name == "typo":
        return present & values.str.contains(r"[A-Z0-9]", na=False).to_numpy(dtype=bool)
    return present


# ---------------------------------------------------------------------------------------------
# Contract tests over every registered noise type
# ---------------------------------------------------------------------------------------------

ALL = list(NOISE)


def test_registry_order_and_metadata():
    assert ALL[:5] == ["stale_address", "address_format", "nickname", "missing", "typo"]
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
def test_rate_one_changes_every_cell_it_can(name, records, ctx):
    nt = NOISE[name]
    out, _ = apply_noise(records, only(name, 1.0), 5, "a", ctx)
    cells = changed_cells(records, out)
    if nt.joint:
        rows_changed = {r for r, _ in cells}
        eligible = records[list(nt.fields)].notna().any(axis=1).to_numpy()
        assert rows_changed <= set(np.flatnonzero(eligible))
        assert len(rows_changed) >= 0.95 * eligible.sum()
        return
    for f in nt.fields:
        hit = {r for r, g in cells if g == f}
        present = set(np.flatnonzero(records[f].notna().to_numpy()))
        assert hit <= present, f"{name} changed missing cells of {f}"
        expected = can_change(name, records, f)
        assert expected.sum() > 0, f"fixture gives {name} nothing to change in {f}"
        assert len(hit) >= 0.95 * expected.sum(), f"{name} changed too few cells of {f}"


@pytest.mark.parametrize("rate", [0.3, 1.0])
@pytest.mark.parametrize("name", ALL)
def test_log_matches_changed_cells(name, rate, records, ctx):
    out, log = apply_noise(records, only(name, rate), 9, "a", ctx)
    assert log_cells(log) == changed_cells(records, out)
    assert not log.duplicated().any()


@pytest.mark.parametrize("name", ALL)
def test_rate_is_roughly_honoured(name, records, ctx):
    nt = NOISE[name]
    out, _ = apply_noise(records, only(name, 0.3), 21, "a", ctx)
    if nt.joint:
        share = len({r for r, _ in changed_cells(records, out)}) / len(records)
    else:
        f = nt.fields[0]
        expected = can_change(name, records, f)
        hit = {r for r, g in changed_cells(records, out) if g == f}
        share = len(hit) / expected.sum()
    assert 0.2 < share < 0.4


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
    blanked = log_cells(log, other)
    if NOISE[name].joint:
        blanked = {(r, "*") for r, _ in blanked}
    assert chosen[0.6] <= chosen[0.0]
    assert chosen[0.0] - chosen[0.6] <= blanked
    if other != "missing":
        assert chosen[0.6] == chosen[0.0]


def test_adding_a_noise_type_does_not_shift_the_others(records, ctx, monkeypatch):
    settings = validate_noise_spec({n: {"rate": 0.3} for n in NOISE}, "t")
    before, log_before = apply_noise(records, settings, 8, "a", ctx)

    def shout(values, rng, params, ctx):
        """Test noise."""
        return values.str.upper() + "!"

    extra = noise_mod.NoiseType("shout", shout, ("note",), 0.5, False, {}, "test noise")
    monkeypatch.setattr(noise_mod, "NOISE", {"shout": extra, **NOISE})
    settings = validate_noise_spec({n: {"rate": 0.3} for n in noise_mod.NOISE}, "t")
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
    out, log = apply_noise(empty, validate_noise_spec(None, "t"), 0, "a", ctx)
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


def test_stale_address_comes_from_pool_and_never_the_current_one(pool, ctx):
    recs = make_records(pool, n=300, blanks=False)
    out, log = apply_noise(recs, only("stale_address", 1.0, p_same_zip=1.0), 1, "a", ctx)
    pool_set = set(_addresses(pool))
    for old, new in zip(_addresses(recs), _addresses(out), strict=True):
        assert new in pool_set
        assert new != old
        assert new[-1] == old[-1]  # same ZIP
    assert set(log["field"]) <= set(ADDRESS_FIELDS)
    pd.testing.assert_series_equal(out["address_id"], recs["address_id"])  # truth untouched


@pytest.mark.parametrize("p_same_zip", [0.0, 0.5, 0.9])
def test_stale_address_respects_p_same_zip(p_same_zip, pool, ctx):
    recs = make_records(pool, n=3000, blanks=False)
    out, _ = apply_noise(recs, only("stale_address", 1.0, p_same_zip=p_same_zip), 3, "a", ctx)
    same = (out["zip"] == recs["zip"]).mean()
    per_zip, size = 8, len(pool)
    anywhere_same = (per_zip - 1) / (size - 1)  # drawn anywhere except the current address
    expected = p_same_zip + (1 - p_same_zip) * anywhere_same
    assert abs(same - expected) < 0.04


def test_stale_address_edge_pools(pool):
    recs = make_records(pool, n=50, blanks=False)
    lonely = pool.iloc[[0, 8]]  # two addresses, different ZIPs: falls back to the other ZIP
    recs_l = recs.copy()
    for f in ADDRESS_FIELDS:
        recs_l[f] = lonely[f].iloc[0]
    out, _ = apply_noise(
        recs_l, only("stale_address", 1.0, p_same_zip=1.0), 0, "a", NoiseContext(lonely)
    )
    assert (out["zip"] == lonely["zip"].iloc[1]).all()
    single = pool.iloc[[0]]
    out, log = apply_noise(recs_l, only("stale_address", 1.0), 0, "a", NoiseContext(single))
    pd.testing.assert_frame_equal(out, recs_l)  # nowhere else to have lived
    assert log.empty
    with pytest.raises(ValueError, match="address pool"):
        apply_noise(recs, only("stale_address", 1.0), 0, "a", NoiseContext(pool.iloc[:0]))


def test_stale_address_keeps_missing_fields_missing(pool, ctx):
    recs = make_records(pool, n=20, blanks=False)
    recs.loc[recs.index[:5], "house_number"] = None
    out, _ = apply_noise(recs, only("stale_address", 1.0), 0, "a", ctx)
    assert out["house_number"].iloc[:5].isna().all()
    assert out["house_number"].iloc[5:].notna().all()


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
    assert validate_noise_spec({}, "x") == settings


def test_validate_overrides():
    settings = validate_noise_spec(
        {
            "typo": {"rate": 0.02, "fields": ["street", "last_name"], "delete": 1},
            "nickname": {"rate": 1},
            "missing": {"rate": 0.05},
            "stale_address": {"p_same_zip": 1},
        },
        "register.noise",
    )
    typo = settings["typo"]
    assert typo.rate == 0.02 and typo.fields == ("last_name", "street")
    assert typo.params["delete"] == 1.0 and isinstance(typo.params["delete"], float)
    assert settings["nickname"].rate == 1.0
    assert settings["missing"].rate_for("middle_name") == 0.05  # explicit rate: all fields
    assert settings["stale_address"].params["p_same_zip"] == 1.0
    assert settings["address_format"].rate == NOISE["address_format"].default_rate
    fr = validate_noise_spec({"missing": {"field_rates": {"dob": 0.5}}}, "x")["missing"]
    assert fr.rate_for("dob") == 0.5 and fr.rate_for("zip") == 0.01


@pytest.mark.parametrize(
    ("spec", "path", "fragment"),
    [
        ({"typoo": {}}, "register.noise.typoo", "unknown noise type; known: stale_address"),
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
            {"stale_address": {"p_same_zip": "x"}},
            "register.noise.stale_address.p_same_zip",
            "must be a number in [0, 1], got 'x'",
        ),
        (
            {"stale_address": {"p_same_zip": 2}},
            "register.noise.stale_address.p_same_zip",
            "got 2",
        ),
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
