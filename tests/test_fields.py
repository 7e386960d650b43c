"""Normalization, integer coding, joins and comparisons of the linkage core."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rapidfuzz.distance import JaroWinkler

import bench.linkage.fields as F
from bench.linkage.fields import Coded, code, combine, jaro_winkler, join, normalize


def test_normalize_names_and_missing() -> None:
    s = pd.Series(["  José ", "o'brien", "Smith-Jones", "", None, "Ana  María"])
    assert normalize(s, "last_name").tolist() == [
        "JOSE",
        "OBRIEN",
        "SMITH JONES",
        None,
        None,
        "ANA MARIA",
    ]
    # An empty unit is a value (no unit), not a missing entry.
    assert normalize(pd.Series(["", "Apt 3", None]), "unit").tolist() == ["", "APT 3", None]
    assert normalize(pd.Series(["94110-1234", "9411O"]), "zip").tolist() == ["94110", "9411"]


def test_code_shares_vocabulary_across_sides() -> None:
    c = code(pd.Series(["Ann", "bob", None]), pd.Series(["BOB", "ann ", "Cy"]), "first_name")
    assert c.values[c.q[0]] == "ANN" and c.q[0] == c.r[1]
    assert c.q[1] == c.r[0]
    assert c.q[2] == -1


def _brute_join(kq: np.ndarray, kr: np.ndarray) -> set[tuple[int, int]]:
    return {(i, j) for i, a in enumerate(kq) for j, b in enumerate(kr) if a >= 0 and a == b}


def test_join_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    kq = rng.integers(-1, 6, 40)
    kr = rng.integers(-1, 6, 60)
    qi, ri = join(kq, kr)
    assert set(zip(qi.tolist(), ri.tolist(), strict=True)) == _brute_join(kq, kr)
    assert len(qi) == len(_brute_join(kq, kr))  # no duplicates
    assert np.all(np.diff(qi) >= 0)


def test_pairs_at_picks_the_same_pairs_as_the_whole_join() -> None:
    rng = np.random.default_rng(3)
    index = F.KeyIndex.build(rng.integers(-1, 8, 300), rng.integers(-1, 8, 500))
    qi, ri = index.pairs()
    positions = np.sort(rng.choice(len(qi), 200, replace=False))
    got_q, got_r = index.pairs_at(positions)
    assert np.array_equal(got_q, qi[positions]) and np.array_equal(got_r, ri[positions])


@pytest.mark.parametrize("seed", range(4))
def test_positions_in_finds_each_pair_or_minus_one(seed: int) -> None:
    from bench.linkage.kernels import positions_in

    rng = np.random.default_rng(seed)
    pairs = np.unique(rng.integers(0, 30, (400, 2)), axis=0)  # sorted by query, then register
    asked = np.unique(rng.integers(0, 30, (300, 2)), axis=0)
    where = {(int(q), int(r)): i for i, (q, r) in enumerate(pairs)}
    expected = [where.get((int(q), int(r)), -1) for q, r in asked]
    got = positions_in(pairs[:, 0], pairs[:, 1], asked[:, 0], asked[:, 1])
    assert got.tolist() == expected
    assert 0 < (got >= 0).sum() < len(asked)  # both kinds occur
    assert positions_in(pairs[:0, 0], pairs[:0, 1], asked[:, 0], asked[:, 1]).tolist() == [
        -1
    ] * len(asked)


@pytest.mark.parametrize(("total", "size"), [(5_000, 1_000), (30_000, 1_000), (3_329_669, 10**6)])
def test_session_sample_is_the_sorted_choice(total: int, size: int) -> None:
    """Fellegi-Sunter's training sessions keep the pairs that a sorted choice picked before
    (the published runs'), in both of numpy's regimes: for 1,000 out of 30,000 a choice without
    the shuffle would pick another set."""
    from bench.linkage.methods.fellegi_sunter import session_sample

    before = np.sort(np.random.default_rng(total).choice(total, size, replace=False))
    assert np.array_equal(session_sample(total, size), before)


@pytest.mark.parametrize("top", [0, 5, 70_000, 2**35, 2**62])
def test_a_join_index_holds_each_query_rows_register_rows_in_order(top: int) -> None:
    """Per query row, its run of the index is every register row with its key, ascending (the
    runs a stable sort of the register's keys gives), and none for a missing or unmatched key;
    register rows no query row can join are not held. Keys up to 2**62, some colliding in the
    hash table's slots, and no keys at all."""
    rng = np.random.default_rng(top)
    kq, kr = rng.integers(-1, top + 1, 3_000), rng.integers(-1, top + 1, 20_000)
    kq[:50] = kr[:50]  # some matches even among 2**62 keys
    index = F.KeyIndex.build(kq, kr)
    for q in range(len(kq)):
        run = index.order[index.lo[q] : index.lo[q] + index.n[q]]
        want = np.flatnonzero(kr == kq[q]) if kq[q] >= 0 else []
        assert np.array_equal(run, want)
    assert sorted(index.order.tolist()) == np.flatnonzero(np.isin(kr, kq[kq >= 0])).tolist()
    empty = F.KeyIndex.build(kq[:0], kr)
    assert len(empty.order) == 0 and len(empty.n) == 0
    none = F.KeyIndex.build(np.full(5, -1), kr)
    assert len(none.order) == 0 and none.n.tolist() == [0] * 5


def _coded(q: list[int], r: list[int], card: int) -> Coded:
    return Coded(np.array(q, np.int32), np.array(r, np.int32), np.arange(card).astype(object))


@pytest.mark.parametrize("limit", [2**62, 7])
def test_combine_keeps_missing_missing(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    # With a tiny limit the keys are re-coded between parts; missing must stay missing.
    monkeypatch.setattr(F, "RADIX_LIMIT", limit)
    a = _coded([0, 1, -1, 2], [0, -1, 1, 2], 3)
    b = _coded([1, 1, 1, -1], [1, 1, 1, -1], 2)
    c = _coded([0, 0, 0, 0], [0, 0, 0, 0], 1)
    kq, kr = combine([a, b, c])
    assert (kq[2], kq[3], kr[1], kr[3]) == (-1, -1, -1, -1)
    assert kq[0] == kr[0] and kq[0] >= 0
    assert len({kq[0], kq[1]}) == 2
    qi, ri = join(kq, kr)
    assert list(zip(qi.tolist(), ri.tolist(), strict=True)) == [(0, 0), (1, 2)]


@pytest.mark.parametrize("limit", [2**62, 7, 50])
@pytest.mark.parametrize("sizes", [(40, 3000), (3000, 40)])
def test_join_only_keys_join_the_same_pairs(
    monkeypatch: pytest.MonkeyPatch, limit: int, sizes: tuple[int, int]
) -> None:
    """Keys combined for joins only (a key no record of the other side has is -1) give every
    join the pairs the fully coded keys give, whichever side is the smaller, whenever the
    parts are re-coded; the smaller side's keys stay present where their parts are."""
    monkeypatch.setattr(F, "RADIX_LIMIT", limit)
    rng = np.random.default_rng(sum(sizes) + limit % 97)
    n_q, n_r = sizes
    parts = [
        _coded(list(rng.integers(-1, card, n_q)), list(rng.integers(-1, card, n_r)), card)
        for card in (4, 6, 3)
    ]
    full_q, full_r = combine(parts)
    kq, kr = combine(parts, join_only=True)
    assert np.array_equal(np.stack(join(kq, kr)), np.stack(join(full_q, full_r)))
    assert set(zip(*join(kq, kr), strict=True)) == _brute_join(full_q, full_r)
    small_full, small = (full_q, kq) if n_q <= n_r else (full_r, kr)
    assert np.array_equal(small >= 0, small_full >= 0)
    if limit == 7:  # re-coded: the larger side's keys the smaller lacks are dropped
        large_full, large = (full_r, kr) if n_q <= n_r else (full_q, kq)
        assert (large < 0).sum() > (large_full < 0).sum()


def test_jaro_winkler_gathered_from_distinct_pairs() -> None:
    c = code(pd.Series(["MARTHA", "DWAYNE", None]), pd.Series(["MARHTA", "DUANE"]), "first_name")
    qi, ri = np.array([0, 1, 2, 0, 0]), np.array([0, 1, 0, 0, 1])
    got = jaro_winkler(c, qi, ri)
    assert got[0] == pytest.approx(JaroWinkler.normalized_similarity("MARTHA", "MARHTA"), 1e-6)
    assert got[1] == pytest.approx(JaroWinkler.normalized_similarity("DWAYNE", "DUANE"), 1e-6)
    assert np.isnan(got[2])
    assert got[3] == got[0]


def test_composite_joins_normalized_parts() -> None:
    from tests.conftest import clean_task

    prep = F.PreparedTask(clean_task(n_people=1500, n_query=50))
    addr = prep.field("address")
    reg = prep.task.register.iloc[0]
    expected = " ".join(p for p in (reg["house_number"], reg["street"], reg["unit"]) if p)
    assert addr.values[addr.r[0]] == normalize(pd.Series([expected]), "address")[0]
    # Missing parts are skipped, not turned into double spaces.
    assert not any("  " in v for v in addr.values)


def test_query_field_codes_the_query_alone_with_the_same_values() -> None:
    from tests.conftest import clean_task

    task = clean_task(n_people=1500, n_query=50)
    alone = F.PreparedTask(task).query_field("full_address")
    assert len(alone.r) == 0  # no register record coded
    both = F.PreparedTask(task).field("full_address")
    values = [alone.values[c] if c >= 0 else None for c in alone.q]
    assert values == [both.values[c] if c >= 0 else None for c in both.q]
    prep = F.PreparedTask(task)
    coded = prep.field("full_address")
    assert prep.query_field("full_address") is coded  # coded on both sides already: that one


SCORERS = {name: s for name, s in vars(F).items() if isinstance(s, F.Scorer)}


def _value_sets() -> list[np.ndarray]:
    """Real dates, surnames and streets, and random ragged strings (one empty value, 63 and
    64 characters, repeated letters beyond what the bounds' masks count)."""
    from bench.linkage.kernels import MAX_LENGTH
    from tests.conftest import clean_task

    task = clean_task(n_people=3000, n_query=300)
    rng = np.random.default_rng(11)
    alphabet = np.array(list("AAB12- Z"))
    random_values = {"".join(rng.choice(alphabet, rng.integers(0, 16))) for _ in range(2000)}
    real = [code(task.register[f], task.register[f], f).values for f in ("dob", "last_name")]
    street = code(task.register["street"], task.register["street"], "street").values
    extra = {"X" * MAX_LENGTH, "Y" * 63, "AAAAAB", "BAAAAA"}
    return [*real, street, np.array(sorted(random_values | extra), dtype=object)]


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_kernel_equals_rapidfuzz_bit_for_bit(name: str) -> None:
    """A scorer's compiled kernel gives rapidfuzz's float32 similarity exactly, on every pair
    of real and random values; with a floor it only reports 0 for pairs below the floor (its
    bounds never cut a pair that reaches it). It steps aside for values it cannot hold."""
    from rapidfuzz import process

    from bench.linkage.kernels import MAX_LENGTH, pair_similarity, value_bytes

    scorer = SCORERS[name]
    rng = np.random.default_rng(12)
    for k, values in enumerate(_value_sets()):
        vb = value_bytes(values)
        assert vb is not None
        codes = np.arange(len(values), dtype=np.int32)
        a = rng.integers(0, len(values), 30_000)
        b = rng.integers(0, len(values), 30_000)
        true = process.cpdist(values[a], values[b], scorer=scorer.fn, dtype=np.float32)
        got = pair_similarity(scorer.kernel, vb, codes, codes, a, b, None)
        assert got.dtype == np.float32
        assert np.array_equal(got, true), values[:3]
        for floor in (0.7, 0.8):
            cut = pair_similarity(scorer.kernel, vb, codes, codes, a, b, floor)
            assert np.array_equal(cut[true >= floor], true[true >= floor])
            assert ((cut == true) | (cut == 0))[true < floor].all()
        if name == "JARO_WINKLER" and k > 0:  # names, not dates
            assert (cut == 0).sum() > (true == 0).sum()  # and the bound does skip pairs
    assert value_bytes(np.array(["ÉMILE", "A"], dtype=object)) is None
    assert value_bytes(np.array(["A" * (MAX_LENGTH + 1)], dtype=object)) is None
    assert value_bytes(np.array(["A\x00B"], dtype=object)) is None


@pytest.mark.parametrize("kind", ["name", "date", "exact"])
def test_levels_found_directly_are_the_levels_of_the_similarities(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``compare(levels_only=True)`` writes (each kind's levels found without holding the
    similarities, the kernels' in blocks) equals the similarities cut into levels, with values
    missing on either side and identical ones, over several blocks; and where the kernels do
    not apply (a value beyond their length), through rapidfuzz the same."""
    from bench.linkage import kernels
    from bench.linkage.comparisons import COMPARISONS, compare
    from synthetic.scenario import LinkageTask

    monkeypatch.setattr(kernels, "LEVEL_BLOCK", 1000)  # several blocks, the last one short
    rng = np.random.default_rng(3)
    names = ["JOHN", "JON", "JOHNNY", "MARIA", "MARIO", "MARIE", "1985-03-12", "1985-12-03", ""]
    for long in (False, True):
        values = np.array(names + (["X" * 70] if long else []), dtype=object)
        query = rng.choice(np.append(values, None), 700)
        register = rng.choice(np.append(values, None), 900)
        empty = pd.DataFrame()
        sides = [pd.DataFrame({"first_name": v}) for v in (query, register)]
        prep = F.PreparedTask(LinkageTask(*sides, empty, empty, empty, empty))
        qi, ri = rng.integers(0, 700, 5500), rng.integers(0, 900, 5500)
        direct = compare(prep, {"first_name": kind}, qi, ri, levels_only=True)
        full = compare(prep, {"first_name": kind}, qi, ri)
        assert direct.similarity is None and full.similarity is not None
        assert np.array_equal(direct.levels, full.levels)
        assert np.array_equal(full.levels[:, 0], COMPARISONS[kind].levels(full.similarity[:, 0]))
        assert set(np.unique(direct.levels)) >= {-1, 0, COMPARISONS[kind].n_levels - 1}


def test_value_bytes_rows_hold_each_value() -> None:
    """Each value's bytes, zero-padded, its length, and the row the bound reads (masks, length,
    first 8 bytes) in aligned 32-byte rows; also for no values and for empty values."""
    from bench.linkage.kernels import value_bytes

    values = np.array(["", "A", "JOHN SMITH", "1985-03-12", "Z" * 64], dtype=object)
    vb = value_bytes(values)
    assert vb is not None
    assert vb.raw.shape == (5, 64)
    for row, text in zip(vb.raw, values, strict=True):
        assert bytes(row).rstrip(b"\x00") == text.encode()
    assert vb.length.tolist() == [0, 1, 10, 10, 64]
    assert vb.props[:, 2].tolist() == [0, 1, 10, 10, 64]
    heads = [int.from_bytes(text.encode()[:8].ljust(8, b"\x00"), "little") for text in values]
    assert vb.props[:, 3].tolist() == heads
    assert vb.props.ctypes.data % 64 == 0 and vb.props.strides == (32, 8)
    empty = value_bytes(np.array([], dtype=object))
    assert empty is not None and empty.raw.shape[0] == 0 and empty.props.shape == (0, 4)


@pytest.mark.parametrize("name", sorted(SCORERS))
def test_pair_scores_handle_missing_equal_and_long_values(name: str) -> None:
    """Per record pair: NaN where a side is missing, 1 for equal values, the scorer's value
    otherwise, whether the kernel or rapidfuzz (a value over 64 characters) computes it."""
    scorer = SCORERS[name]
    for long in (False, True):
        extra = ["Q" * 70] if long else ["QUINN"]
        c = code(
            pd.Series(["MARTHA", "DWAYNE", None, *extra]),
            pd.Series(["MARHTA", "DUANE", "MARTHA", "QUIN"]),
            "first_name",
        )
        qi, ri = np.array([0, 1, 2, 0, 3, 0]), np.array([0, 1, 0, 2, 3, 3])
        got = F.PairScores(c, scorer)(qi, ri)
        want = [scorer.fn(c.values[c.q[i]], c.values[c.r[j]]) for i, j in zip(qi, ri, strict=True)]
        assert np.isnan(got[2]) and got[3] == 1.0
        keep = [0, 1, 4, 5]
        assert np.array_equal(got[keep], np.array(want, dtype=np.float32)[keep])


def test_levels_only_comparison_gives_the_same_levels() -> None:
    from bench.linkage.comparisons import DEFAULT_FIELDS, compare
    from tests.conftest import clean_task

    prep = F.PreparedTask(clean_task(n_people=3000, n_query=300))
    rng = np.random.default_rng(2)
    qi = rng.integers(0, prep.n_query, 50_000)
    ri = rng.integers(0, prep.n_register, 50_000)
    full = compare(prep, DEFAULT_FIELDS, qi, ri)
    fast = compare(F.PreparedTask(prep.task), DEFAULT_FIELDS, qi, ri, levels_only=True)
    assert fast.similarity is None
    assert np.array_equal(full.levels, fast.levels)


@pytest.mark.parametrize("chunk", [1 << 21, 50])
def test_duckdb_blocking_equals_numpy_blocking(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Two implementations of the union of the passes (numpy's merge of each query's runs, in
    chunks of queries; DuckDB's SQL union) give the same sorted candidates."""
    import bench.linkage.blocking as B
    from bench.linkage.blocking import block, validate_blocking
    from tests.conftest import clean_task

    monkeypatch.setattr(B, "CHUNK_PAIRS", chunk)
    monkeypatch.setattr(B, "UNION_CHUNK_PAIRS", chunk)  # DuckDB's union by ranges of queries
    task = clean_task(n_people=3000, n_query=300)
    passes = validate_blocking(
        {
            "passes": [
                [{"field": "last_name", "compare": "soundex"}, {"field": "zip"}],
                [{"field": "first_name"}, {"field": "last_name"}],
                [{"field": "dob"}],
            ]
        },
        "blocking",
    )
    a, per_a = block(F.PreparedTask(task), passes)
    b, per_b = block(F.PreparedTask(task, joins="duckdb"), passes)
    assert per_a == per_b and len(a) > 300
    assert np.array_equal(a.query_row, b.query_row)
    assert np.array_equal(a.register_row, b.register_row)


def test_union_ranges_cover_the_queries_in_order() -> None:
    from bench.linkage.blocking import union_ranges

    assert union_ranges(300, 0) == [(0, 300)]
    assert union_ranges(0, 10**9) == [(0, 0)]
    ranges = union_ranges(1000, 95, size=10)
    assert len(ranges) == 10 and ranges[0][0] == 0 and ranges[-1][1] == 1000
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in itertools.pairwise(ranges))
    assert len(union_ranges(3, 10**9)) == 3  # never a range without a query


def test_linkrisks_duckdb_connections_draw_no_bar_of_their_own() -> None:
    """DuckDB's own progress bar (queries of over 2 s) would write into linkrisk's."""
    from bench.linkage.blocking import spilling_duckdb

    con, spill = spilling_duckdb("test", 1)
    try:
        setting = con.execute("select current_setting('enable_progress_bar')").fetchone()
        assert setting == (False,)
    finally:
        con.close()
        spill.cleanup()


def test_categorical_records_code_like_strings(tmp_path) -> None:
    from tests.conftest import clean_task

    task = clean_task(n_people=3000, n_query=300)
    task.register.to_parquet(tmp_path / "r.parquet")
    cat = F.read_records(tmp_path / "r.parquet")
    assert isinstance(cat["last_name"].dtype, pd.CategoricalDtype)
    for field in ("last_name", "dob", "unit"):
        plain = code(task.query[field], task.register[field], field)
        fast = code(task.query[field].astype("category"), cat[field], field)
        assert np.array_equal(plain.values[plain.q], fast.values[fast.q])
        assert np.array_equal(plain.values[plain.r], fast.values[fast.r])
        assert np.array_equal(plain.r < 0, fast.r < 0)


@pytest.mark.parametrize(
    ("fields", "order", "rows"),
    [(5, "F", 20_000), (5, "C", 20_000), (7, "F", 20_000), (12, "C", 20_000), (5, "F", 2_500_000)],
)
def test_patterns_group_pairs_by_comparison_vector(fields: int, order: str, rows: int) -> None:
    """Distinct level vectors with their counts, and each pair's vector gathered back, as
    numpy's unique over rows gives them (a table of 16- or 32-bit codes for few fields, counted
    in parts by threads for millions of rows; hashing for many fields)."""
    from bench.linkage.em import patterns

    rng = np.random.default_rng(fields)
    levels = np.asarray(rng.integers(-1, 4, (rows, fields)), dtype=np.int8, order=order)
    pat = patterns(levels)
    uniq, counts = np.unique(levels, axis=0, return_counts=True)
    assert np.array_equal(pat.levels, uniq) and np.array_equal(pat.counts, counts)
    rows = pat.per_pair(np.arange(len(uniq)))
    assert np.array_equal(pat.levels[rows], levels)


@pytest.mark.parametrize(
    "odd, integers",
    [
        (None, True),  # digits and missing values only: coded through integers
        ("12345678901234567", True),  # 17 digits: the longest that fits
        ("123456789012345678", False),  # 18 digits: as strings
        ("12-345", False),
        ("", False),
        ("\u0661\u0662\u0663", False),  # Arabic-Indic digits: str.isdigit, but not [0-9]
        (7, False),  # not a string
    ],
)
def test_digit_strings_code_through_integers_as_strings_do(odd: object, integers: bool) -> None:
    """Plain digit strings (TINs) are coded through integers with the codes and distinct values
    (the same objects) that factorizing the strings gives: leading zeros kept apart, every kind
    of missing value missing; anything else falls back to the strings."""
    rng = np.random.default_rng(5)
    n = F.NEARLY_UNIQUE_MIN + 1000
    values = np.array([f"{v:09d}" for v in rng.integers(0, 200_000, n)], dtype=object)
    values[:4] = ["000000123", "123", "0123", "000000123"]
    values[rng.random(n) < 0.02] = None
    values[10], values[11], values[12] = np.nan, pd.NA, None
    values[n // 2] = odd
    q, r = pd.Series(values[:5000], dtype=object), pd.Series(values[5000:], dtype=object)
    assert (F._digit_codes(pd.concat([q, r], ignore_index=True)) is not None) == integers
    sides, uniques = F._raw_sides(q, r)
    assert [lookup for _, lookup in sides] == [None, None]  # plain values: coded as they are
    codes = np.concatenate([c for c, _ in sides])
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
    assert np.array_equal(codes, want_codes)
    assert len(uniques) == len(want_uniques)
    assert all(a is b or a == b for a, b in zip(uniques, want_uniques, strict=True))


@pytest.mark.parametrize("categorical_side", ["query", "register", "both"])
def test_a_categorical_beside_plain_strings_codes_as_plain_strings(categorical_side: str) -> None:
    """A big register read as categoricals beside a plain query file (a sharded run) is coded
    side by side, not record by record, and gives the codes and values of plain strings: the
    same when the categories are in first-seen order (as parquet's dictionaries are), and the
    same value for every record when they are not (unused and reordered categories)."""
    rng = np.random.default_rng(11)
    pool = np.array(
        ["GARCIA", "García", "garcia ", "LOPEZ", "O'BRIEN", "OBRIEN", "", None, "NGUYEN", "ÅSE"],
        dtype=object,
    )
    q = pd.Series(pool[rng.integers(0, len(pool), 300)], dtype=object)
    r = pd.Series(pool[rng.integers(0, len(pool), 5000)], dtype=object)
    plain = code(q, r, "last_name")

    def first_seen(s: pd.Series) -> pd.Series:
        return s.astype(pd.CategoricalDtype(pd.unique(s.dropna())))

    def scrambled(s: pd.Series) -> pd.Series:  # reordered, with categories no record has
        cats = [*pd.unique(s.dropna())[::-1], "UNUSED", "ZZ"]
        return s.astype(pd.CategoricalDtype(cats))

    for make in (first_seen, scrambled):
        cq = make(q) if categorical_side in ("query", "both") else q
        cr = make(r) if categorical_side in ("register", "both") else r
        got = code(cq, cr, "last_name")
        for side in ("q", "r"):
            want_codes, got_codes = getattr(plain, side), getattr(got, side)
            assert np.array_equal(want_codes < 0, got_codes < 0)  # missing where it was
            shown = np.where(got_codes < 0, None, got.values[np.maximum(got_codes, 0)])
            wanted = np.where(want_codes < 0, None, plain.values[np.maximum(want_codes, 0)])
            assert list(shown) == list(wanted)
        if make is first_seen:
            assert np.array_equal(got.q, plain.q) and np.array_equal(got.r, plain.r)
            assert list(got.values) == list(plain.values)


def test_a_row_groups_dictionary_counts_once_however_many_chunks_read_it(tmp_path) -> None:
    """A row group of 400,000 records with 100,000 distinct surnames is read in several chunks
    that share the row group's dictionary: the surnames are a quarter distinct, not nearly
    unique, and stay a categorical (counted per chunk they looked 100% distinct)."""
    rng = np.random.default_rng(3)
    n, distinct = 400_000, 100_000
    surnames = np.array([f"S{v:06d}" for v in range(distinct)], dtype=object)
    frame = pd.DataFrame({"last_name": surnames[rng.integers(0, distinct, n)]})
    frame.iloc[:distinct, 0] = surnames  # every surname present
    frame.to_parquet(tmp_path / "one.parquet", row_group_size=n)
    read = F.read_records(tmp_path / "one.parquet")
    assert (
        pq.read_table(tmp_path / "one.parquet", read_dictionary=["last_name"])[
            "last_name"
        ].num_chunks
        > 1
    )  # the case this test is about
    assert isinstance(read["last_name"].dtype, pd.CategoricalDtype)
    assert read["last_name"].tolist() == frame["last_name"].tolist()


def test_nearly_unique_columns_are_read_as_strings_and_code_the_same(tmp_path) -> None:
    """An identifier column (nearly every value distinct, many values) is read as strings: Arrow
    strings when every value is digits (as the TIN), else Python strings; the rest as
    categoricals. A small last shard, not nearly unique on its own, follows the others. Either
    way :func:`code` gives the same codes and values."""
    rng = np.random.default_rng(7)
    n = 2 * F.NEARLY_UNIQUE_MIN + 5000  # two parts, each with enough values, and a small third
    tin = np.array([f"{v:09d}" for v in rng.permutation(10**6)[:n]], dtype=object)
    tin[rng.random(n) < 0.01] = None
    tin[:50] = tin[50:100]  # a few repeats
    tin[7] = "0" + tin[8][1:]  # a leading zero of its own
    names = np.array(["ANA", "LUIS", "MARIA", None], dtype=object)[rng.integers(0, 4, n)]
    ids = np.array([f"R{i:07d}" for i in range(n)], dtype=object)
    register = pd.DataFrame({"tin": tin, "first_name": names, "record_id": ids})
    paths = []
    for i, part in enumerate(np.split(np.arange(n), [F.NEARLY_UNIQUE_MIN, n - 3000])):
        paths.append(tmp_path / f"part-{i}.parquet")
        register.iloc[part].to_parquet(paths[-1])
    read = F.read_records(paths)
    assert read["tin"].dtype == pd.ArrowDtype(pa.string())
    assert read["record_id"].dtype == object
    assert isinstance(read["first_name"].dtype, pd.CategoricalDtype)
    assert list(read.columns) == ["tin", "first_name", "record_id"]
    assert [None if pd.isna(v) else v for v in read["tin"]] == register["tin"].tolist()
    assert read["record_id"].tolist() == register["record_id"].tolist()
    query = pd.Series([tin[3], "999999999", None, tin[-1], tin[8][1:]], dtype=object)
    as_read = code(query, read["tin"], "tin")

    def categorical(values: pd.Series) -> pd.Series:  # as parquet's dictionaries: first seen first
        return values.astype(pd.CategoricalDtype(pd.unique(values.dropna())))

    as_strings = code(query, register["tin"], "tin")
    as_read_before = code(query, categorical(register["tin"]), "tin")
    both_categorical = code(categorical(query), categorical(register["tin"]), "tin")
    plain = F._raw_sides(query, register["tin"])  # the strings' own path, not through digits
    want_codes = np.concatenate([c for c, _ in plain[0]])
    for want in (as_strings, as_read_before, both_categorical):
        assert np.array_equal(as_read.q, want.q) and np.array_equal(as_read.r, want.r)
        assert np.array_equal(np.concatenate([as_read.q, as_read.r]), want_codes)
        assert as_read.cardinality == want.cardinality == len(plain[1])
        assert np.array_equal(as_read.values, want.values)
    assert list(as_read.values) == list(plain[1])


def test_digit_identifiers_build_their_strings_only_when_read() -> None:
    """An identifier coded through integers joins on its codes; its strings are built the first
    time they are read, equal to the records' own strings, leading zeros kept."""
    n = F.NEARLY_UNIQUE_MIN
    values = pd.Series([f"{v:0{1 + v % 12}d}" for v in range(n)], dtype=object)
    coded = code(values[:10], values, "tin")
    assert coded._values is None and coded.cardinality == n  # not built for a join
    assert list(coded.values) == list(values) and coded.values is coded.values
    assert list(coded.values[coded.q]) == list(values[:10])


def test_a_column_read_from_shards_at_once_equals_the_shards_read_one_by_one(tmp_path) -> None:
    """:func:`read_column` (Arrow unites the shards' dictionaries at once) gives exactly what
    :func:`read_records` gives for the column: the same categories in the same order (first
    seen, across row groups with dictionaries of their own), the same codes, missing values,
    and an identifier nearly unique in some shards only as Arrow strings; a nearly unique
    non-digit column (Python strings) and a non-string one as read_records reads them."""
    rng = np.random.default_rng(5)
    n = 2 * F.NEARLY_UNIQUE_MIN + 7000
    surnames = np.array([f"S{v:05d}" for v in range(30_000)] + [None], dtype=object)
    tin = np.array([f"{v:09d}" for v in rng.permutation(10**6)[:n]], dtype=object)
    tin[rng.random(n) < 0.02] = None
    frame = pd.DataFrame(
        {
            "last_name": surnames[np.minimum(rng.zipf(1.3, n), len(surnames)) - 1],
            "first_name": np.array(["ANA", None, "LUIS", "JOSÉ"], dtype=object)[
                rng.integers(0, 4, n)
            ],
            "tin": tin,
            "record_id": np.array([f"R{i:07d}" for i in range(n)], dtype=object),
            "age": rng.integers(0, 99, n),
            "empty": np.full(n, None, dtype=object),
        }
    )
    cuts = [F.NEARLY_UNIQUE_MIN, n - 4000, n - 1000]  # the small last shards are not nearly unique
    paths = []
    for i, part in enumerate(np.split(np.arange(n), cuts)):
        paths.append(tmp_path / f"part-{i}.parquet")
        frame.iloc[part].to_parquet(paths[-1], row_group_size=9_000, index=False)
    whole = F.read_records(paths)
    assert whole["tin"].dtype == pd.ArrowDtype(pa.string())  # the cases this test is about
    assert isinstance(whole["last_name"].dtype, pd.CategoricalDtype)
    for name in frame.columns:
        got, want = F.read_column(paths, name), whole[name]
        pd.testing.assert_series_equal(got, want)
        if isinstance(want.dtype, pd.CategoricalDtype):
            assert list(got.cat.categories) == list(want.cat.categories)
            assert np.array_equal(got.cat.codes.to_numpy(), want.cat.codes.to_numpy())
    assert F.read_column(paths[:1], "last_name").equals(F.read_records(paths[:1])["last_name"])


@pytest.mark.parametrize(
    ("values", "digits"),
    [
        (["123", "0001", None], True),
        (["1" * 17], True),
        (["1" * 18], False),
        ([""], False),
        (["12a"], False),
        (["12 "], False),
        (["١٢٣"], False),  # Arabic-Indic digits: not ASCII
        ([None], True),
    ],
)
def test_digit_strings_are_one_to_17_ascii_digits(values: list[str | None], digits: bool) -> None:
    assert F._digit_strings(pa.array(values, pa.string())) is digits
    assert (F.digit_keys(pd.Series(values * 70, dtype=object)) is not None) is digits
