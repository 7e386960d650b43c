"""Property tests (hypothesis): normalization and every noise type take any Unicode without
crashing and are deterministic; the metrics keep their invariants on any truth and links.

Derandomized and without an example database, so the suite is the same on every run."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.linkage.fields import EMPTY_IS_VALUE, normalize
from bench.measurement.metrics import confusion
from bench.measurement.uncertainty import RATES, poisson_upper, with_intervals
from bench.scale.projection import collision_probability, expected_false_matches
from synthetic.noise import (
    ADDRESS_FIELDS,
    IDENTIFIER_FIELDS,
    NAME_FIELDS,
    NOISE,
    RECORD_FIELDS,
    NoiseContext,
    apply_noise,
)
from tests.test_noise import make_people, make_pool, only

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Any Unicode text but lone surrogates (not encodable, never in a decoded file): letters of
#: every script, combining marks, control characters, the empty string.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=24)
#: Text biased to the characters that trip normalizers: controls, spaces, marks, compatibility
#: forms (ligatures, full-width, Roman numerals), punctuation kept or dropped by normalize.
TRICKY = st.text(
    st.sampled_from(
        [*"\x00\t\n\r\x0b\x1f\x7f\u00a0\u2028\u200b\u0301\u0308 ﬁＡⅫß'.#-,/0éÑøİıǅ", "\U0001f600"]
    ),
    max_size=12,
)
VALUE = st.one_of(st.none(), TEXT, TRICKY)


# ---------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------

ALLOWED = {
    "dob": re.compile(r"[0-9-]*"),
    "zip": re.compile(r"[0-9]{0,5}"),
}
NAME_LIKE = re.compile(r"(?:[A-Z0-9#]+(?: [A-Z0-9#]+)*)?")  # single spaces between tokens


# One field of each kind of rule: names, dates, ZIP codes, a field where "" is a value, others.
@pytest.mark.parametrize("field", ["first_name", "dob", "zip", "unit", "street", "name"])
@PROPERTY
@given(values=st.lists(VALUE, max_size=12))
def test_normalize_any_unicode(field: str, values: list[str | None]) -> None:
    series = pd.Series(values, dtype=object)
    out = normalize(series, field)
    assert len(out) == len(series) and out.index.equals(series.index)
    pattern = ALLOWED.get(field, NAME_LIKE)
    for before, after in zip(values, out, strict=True):
        if before is None:
            assert after is None
            continue
        if after is None:  # only an empty result is missing, and only where empty means missing
            assert field not in EMPTY_IS_VALUE
            continue
        assert isinstance(after, str) and after.isascii() and after == after.upper()
        assert pattern.fullmatch(after), (before, after)
        assert after != "" or field in EMPTY_IS_VALUE
    # idempotent: normalizing normalized values changes nothing
    again = normalize(pd.Series(list(out), dtype=object), field)
    assert list(again) == list(out)


#: Values that are often normalized already (capitals, digits, "#", "-", spaces) or nearly.
CLEANISH = st.text(st.sampled_from([*"AZ09#- a."]), max_size=10)


@pytest.mark.parametrize("field", ["first_name", "dob", "zip", "unit", "tin"])
@PROPERTY
@given(values=st.lists(st.one_of(VALUE, CLEANISH), max_size=12))
def test_normalize_skips_only_values_its_steps_leave_unchanged(
    field: str, values: list[str | None]
) -> None:
    """normalize() passes values it recognizes as normalized through untouched; every value
    comes out as normalize's Arrow steps make it."""
    import pyarrow as pa

    from bench.linkage.fields import _normalize_arrow

    series = pd.Series(values, dtype=object)
    steps = _normalize_arrow(pa.array(series.astype("string"), type=pa.string()), field)
    assert list(normalize(series, field)) == steps.to_pylist()


# ---------------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------------

POOL = make_pool()
DOB = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31))


@st.composite
def records(draw: st.DrawFn) -> pd.DataFrame:
    """A few records whose name and address fields hold any Unicode (or are missing)."""
    n = draw(st.integers(1, 8))
    text_fields = (*NAME_FIELDS, *ADDRESS_FIELDS, *IDENTIFIER_FIELDS)
    cells = {f: draw(st.lists(VALUE, min_size=n, max_size=n)) for f in text_fields}
    dobs = draw(st.lists(st.one_of(st.none(), DOB.map(str)), min_size=n, max_size=n))
    frame = pd.DataFrame({f: pd.Series(cells[f], dtype=object) for f in cells})
    frame["dob"] = pd.Series(dobs, dtype=object)
    frame["address_id"] = np.arange(n, dtype=np.int64) % len(POOL)
    return frame[[*RECORD_FIELDS, "address_id"]]


@pytest.mark.parametrize("name", list(NOISE))
@settings(PROPERTY, max_examples=20)
@given(frame=records(), seed=st.integers(0, 2**32 - 1))
def test_noise_any_unicode_deterministic(name: str, frame: pd.DataFrame, seed: int) -> None:
    ctx = NoiseContext(addresses=POOL, people=make_people(frame, POOL))
    settings_ = only(name, 1.0)
    out, log = apply_noise(frame, settings_, seed, "query", ctx)
    assert out.shape == frame.shape and out.index.equals(frame.index)
    for f in RECORD_FIELDS:
        assert all(v is None or isinstance(v, str) for v in out[f]), f
        was_missing = frame[f].isna().to_numpy()
        if not NOISE[name].fills_missing:  # missing stays missing
            assert out[f].isna().to_numpy()[was_missing].all()
    assert set(log["noise"]) <= {name} and set(log["field"]) <= set(RECORD_FIELDS)
    again, log_again = apply_noise(frame, settings_, seed, "query", ctx)
    pd.testing.assert_frame_equal(out, again)
    pd.testing.assert_frame_equal(log, log_again)


def test_typo_on_empty_values_and_trailing_nuls() -> None:
    # found by the property above: a batch of only empty values, or a value ending in NUL
    # characters (which numpy's string length does not count), crashed the typo noise
    frame = pd.DataFrame({f: pd.Series(["", "", ""], dtype=object) for f in RECORD_FIELDS})
    frame["address_id"] = np.arange(3)
    ctx = NoiseContext(addresses=POOL, people=make_people(frame, POOL))
    out, log = apply_noise(frame, only("typo", 1.0), 1, "query", ctx)
    pd.testing.assert_frame_equal(out, frame)
    assert log.empty
    frame["city"] = pd.Series(["0", "\x00\x00", "AB"], dtype=object)
    out, log = apply_noise(frame, only("typo", 1.0), 1, "query", ctx)
    assert out["city"][2] != "AB" and set(log["field"]) == {"city"}


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------


@st.composite
def linkage(draw: st.DrawFn) -> dict:
    """Sizes, true links (at most one per query, as in a task), declared links and, for a
    blocked method, the candidate pairs it was shown (which hold its declared links)."""
    nq, nr = draw(st.integers(1, 25)), draw(st.integers(1, 25))
    pair = st.tuples(st.integers(0, nq - 1), st.integers(0, nr - 1))
    truth = draw(st.dictionaries(st.integers(0, nq - 1), st.integers(0, nr - 1), max_size=nq))
    links = draw(st.lists(pair, max_size=60))
    blocked = draw(st.booleans())
    considered = links + draw(st.lists(pair, max_size=40)) if blocked else None
    return {"nq": nq, "nr": nr, "truth": sorted(truth.items()), "links": links, "cand": considered}


def _arrays(pairs: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    a = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


@PROPERTY
@given(case=linkage())
def test_confusion_invariants(case: dict) -> None:
    tq, tr = _arrays(case["truth"])
    lq, lr = _arrays(case["links"])
    cand = None if case["cand"] is None else _arrays(case["cand"])
    c = confusion(lq, lr, tq, tr, case["nq"], case["nr"], considered=cand)
    n_true, n_declared = len(set(case["truth"])), len(set(case["links"]))
    assert c.TP + c.FN == c.true_links == n_true
    assert c.TP + c.FP == c.declared == n_declared
    counts = (c.TP, c.FP, c.FN, c.blocking_loss, c.wrong_people, c.verified, c.candidates)
    assert min(counts) >= 0
    assert c.blocking_loss <= c.FN and c.wrong_people <= min(c.FP, c.verified)
    assert c.verified <= c.queries
    assert len(set(case["truth"]) & set(case["links"])) == c.TP
    for rate, (num, den) in RATES.items():
        value = getattr(c, rate)
        if getattr(c, den) == 0:
            assert np.isnan(value)
        else:
            assert 0.0 <= value <= 1.0 and value == getattr(c, num) / getattr(c, den)
    for per in (c.FP_per_1M, c.FN_per_1M, c.wrong_people_per_1M):
        assert per >= 0
    # Wilson intervals hold their rate and stay in [0, 1]
    frame = with_intervals(pd.DataFrame([c.as_dict()]))
    for rate in RATES:
        lo, value, hi = frame[f"{rate}_lo"][0], frame[rate][0], frame[f"{rate}_hi"][0]
        if not np.isnan(value):
            assert 0.0 <= lo <= value + 1e-12 and value - 1e-12 <= hi <= 1.0
    # the same input gives the same confusion (pure function)
    again = confusion(lq, lr, tq, tr, case["nq"], case["nr"], considered=cand)
    np.testing.assert_equal(again.as_dict(), c.as_dict())


@PROPERTY
@given(
    weights=st.lists(st.floats(0, 1), min_size=1, max_size=8).flatmap(
        lambda w: st.tuples(st.just(w), st.lists(st.floats(0, 1), min_size=len(w), max_size=len(w)))
    ),
    n_queries=st.integers(1, 2_000_000),
    n_register=st.integers(1, 400_000_000),
    mated=st.floats(0, 1),
    k=st.integers(0, 10_000),
)
def test_projected_counts_are_non_negative(
    weights: tuple[list[float], list[float]], n_queries: int, n_register: int, mated: float, k: int
) -> None:
    p, q = (np.asarray(w) / max(sum(w), 1.0) for w in weights)  # each sums to at most 1
    share = collision_probability(p, q)
    assert 0.0 <= share <= 1.0 + 1e-12
    share = min(share, 1.0)
    expected = expected_false_matches(n_queries, n_register, share, mated)
    assert expected >= 0 and np.isfinite(expected)
    assert expected <= n_queries * n_register
    assert float(poisson_upper(k)) >= k


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-(2**62), 2**62), max_size=60),
    st.sampled_from([np.int64, np.int32, np.uint8, np.bool_, np.float64]),
)
def test_unique_ints_is_np_unique(values: list[int], dtype: type) -> None:
    from synthetic.arrays import unique_ints

    x = np.asarray(values).astype(dtype)  # narrower dtypes wrap around: repeats and negatives
    want = np.unique(x)
    for arr in (x, np.sort(x)):  # in any order, and already in order (no sort then)
        before = arr.copy()
        got = unique_ints(arr)
        assert got.dtype == want.dtype
        assert np.array_equal(got, want)
        got[:1] = 0 if got.dtype.kind != "b" else False  # a new array: the input is untouched
        assert np.array_equal(arr, before)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-50, 50), max_size=60),
    st.lists(st.integers(-60, 60), max_size=30),
)
def test_searching_sorted_keys_is_np_isin(keys: list[int], values: list[int]) -> None:
    """isin_sorted (in one chunk or several) and mark_sorted answer as np.isin does, values
    repeated, outside the keys' range, or none."""
    import synthetic.arrays as A

    k = np.unique(np.asarray(keys, dtype=np.int64))
    v = np.asarray(values, dtype=np.int64)
    assert np.array_equal(A.mark_sorted(k, v), np.isin(k, v))
    assert np.array_equal(A.found_at(k, np.unique(v)), np.flatnonzero(np.isin(k, v)))
    chunk = A.SEARCH_CHUNK
    try:
        for A.SEARCH_CHUNK in (chunk, 7):  # one chunk, and several
            assert np.array_equal(A.isin_sorted(v, k), np.isin(v, k))
    finally:
        A.SEARCH_CHUNK = chunk


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 10**12), max_size=40), st.integers(1, 13))
def test_identifier_digits_are_zero_padded_decimals(values: list[int], width: int) -> None:
    from synthetic.identifiers import _digits

    x = np.asarray(values, dtype=np.int64)
    got = _digits(x, width)
    assert got.dtype == object and got.shape == x.shape
    assert got.tolist() == [str(v).zfill(width) for v in values]
    if values:  # numpy's zfill, which it replaced, cannot take an empty array
        assert got.tolist() == np.char.zfill(x.astype(str), width).tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 10**7), max_size=60),
    st.lists(st.integers(0, 10**7), max_size=60),
    st.sampled_from([np.int64, np.int32]),
)
def test_isin_rows_is_np_isin(values: list[int], rows: list[int], dtype: type) -> None:
    from synthetic.arrays import isin_rows

    x, r = np.asarray(values, dtype=dtype), np.asarray(rows, dtype=np.int64)
    got = isin_rows(x, r)
    assert got.dtype == np.bool_ and got.shape == x.shape
    assert np.array_equal(got, np.isin(x, r))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=1, max_size=30),
    st.lists(st.integers(-40, 40), max_size=60),
    st.sampled_from(["object", "int16", "bool"]),
)
def test_take_rows_is_ndarray_take(values: list[str | None], rows: list[int], kind: str) -> None:
    from synthetic.arrays import take_rows

    # the values, or as many numbers or booleans
    x = np.array(values, dtype=object) if kind == "object" else np.arange(len(values)).astype(kind)
    r = np.asarray(rows, dtype=np.int64)
    try:
        want = x.take(r)
    except IndexError:  # out of bounds either way
        with pytest.raises(IndexError):
            take_rows(x, r)
        return
    got = take_rows(x, r)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tolist() == want.tolist()  # -1 counts from the end, as numpy does
    if kind == "object":  # the very objects, not copies
        assert all(a is b for a, b in zip(got.tolist(), want.tolist(), strict=True))


@settings(max_examples=200, deadline=None)
@given(
    st.sets(st.integers(-50, 50), max_size=40),
    st.lists(st.integers(-60, 60), max_size=40),
    st.booleans(),
)
def test_positions_of_is_get_indexer(ids: set[int], wanted: list[int], ordered: bool) -> None:
    from synthetic.arrays import positions_of

    x = np.array(sorted(ids) if ordered else list(ids), dtype=np.int64)  # increasing, or any
    w = np.asarray(wanted, dtype=np.int64)
    got = positions_of(x, w)
    assert np.array_equal(got, pd.Index(x).get_indexer(w))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 9)), max_size=60))
def test_unique_pairs_are_numpys_distinct_rows(pairs: list[tuple[int, int]]) -> None:
    from synthetic.arrays import unique_pairs

    rows = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    q, r, keys = unique_pairs(rows[:, 0], rows[:, 1], 10)
    want = np.unique(rows, axis=0)
    assert np.array_equal(np.stack([q, r], axis=1), want.reshape(-1, 2))
    assert np.array_equal(keys, q * 10 + r)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 10**6), st.integers(-1, 999)), max_size=50))
def test_mix_key_is_where_of_the_mixed_radix(parts: list[tuple[int, int]]) -> None:
    from bench.linkage.kernels import mix_key

    key = np.array([k for k, _ in parts], dtype=np.int64)
    codes = np.array([c for _, c in parts], dtype=np.int32)
    expected = np.where((key < 0) | (codes < 0), -1, key * 1000 + codes)
    mix_key(key, codes, 1000)
    assert np.array_equal(key, expected)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(-1, 5), min_size=1, max_size=20),
    st.lists(st.integers(-1, 5), min_size=1, max_size=20),
    st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=40),
)
def test_equal_levels_are_the_levels_of_equal(
    q: list[int], r: list[int], pairs: list[tuple[int, int]]
) -> None:
    from bench.linkage.fields import Coded, equal, equal_levels
    from bench.linkage.kernels import levels

    coded = Coded(np.array(q, np.int32), np.array(r, np.int32), np.array(list("abcdef"), object))
    qi = np.array([a % len(q) for a, _ in pairs], dtype=np.int64)
    ri = np.array([b % len(r) for _, b in pairs], dtype=np.int64)
    expected = levels(equal(coded, qi, ri), np.array([1.0], np.float32))
    assert np.array_equal(equal_levels(coded, qi, ri), expected)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 2**62), max_size=60), st.integers(0, 4))
def test_first_seen_is_pd_factorize(values: list[int], repeat: int) -> None:
    from bench.linkage.kernels import first_seen

    keys = np.array(values * (1 + repeat % 2), dtype=np.int64)  # with repeats, or without
    keys[keys < 0] = -1  # negative: missing, as pandas' sentinel
    codes, n = first_seen(keys)
    want = np.full(len(keys), -1, dtype=np.int64)  # what _digit_codes did before
    want[keys >= 0], uniques = pd.factorize(keys[keys >= 0])
    assert np.array_equal(codes, want)
    assert n == len(uniques)
