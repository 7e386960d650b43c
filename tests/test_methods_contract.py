"""Contract tests run over every registered method kind (a new method file is covered as is)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.linkage.blocking import block, validate_blocking
from bench.linkage.fields import PreparedTask
from bench.linkage.methods import METHODS, Method, Scored
from bench.linkage.resolve import resolve
from tests.conftest import clean_task

#: Every registered kind that compares records (built in, or added through the
#: ``linkrisk.methods`` entry point); declared links read from a file compare none.
KINDS = sorted(kind for kind, cls in METHODS.items() if cls.scores_records)

BLOCKING = validate_blocking(
    {
        "passes": [
            [{"field": "last_name", "compare": "soundex"}, {"field": "zip"}],
            [{"field": "first_name"}, {"field": "dob"}],
        ]
    },
    "blocking",
)


@pytest.fixture(scope="module")
def task_and_train():
    """An evaluation task and a separately seeded training task, both 'clean'."""
    return clean_task(seed=3), clean_task(seed=4)


def _make(kind: str, **params: object) -> Method:
    cls = METHODS[kind]
    given = {**cls.example_params, **params}
    return cls(f"test-{kind}", cls.validate(given, kind), cls.default_resolve)


def _fit(method: Method, train) -> None:
    """Train ``method`` on the training task if it needs training."""
    if method.needs_training:
        tprep = PreparedTask(train, seed=2)
        tc, _ = block(tprep, BLOCKING)
        width = tprep.n_register
        truth = train.truth.query_row.to_numpy() * width + train.truth.register_row.to_numpy()
        method.fit(tprep, tc, np.isin(tc.query_row * width + tc.register_row, truth))


def _run(method: Method, task, train) -> tuple[Scored, np.ndarray, PreparedTask]:
    prep = PreparedTask(task, seed=1)
    cands, _ = block(prep, BLOCKING)
    _fit(method, train)
    scored = method.score(prep, cands if method.uses_blocking() else None)
    link = resolve(
        scored.query_row, scored.register_row, scored.score, scored.accept, method.resolve
    )
    return scored, link, prep


@pytest.mark.parametrize("kind", KINDS)
def test_output_schema(kind: str, task_and_train) -> None:
    scored, link, prep = _run(_make(kind), *task_and_train)
    n = len(scored.query_row)
    assert all(len(a) == n for a in (scored.register_row, scored.score, scored.accept, link))
    assert scored.accept.dtype == bool
    assert np.issubdtype(scored.query_row.dtype, np.integer)
    assert scored.query_row.min(initial=0) >= 0 and scored.query_row.max(initial=0) < prep.n_query
    assert scored.register_row.max(initial=0) < prep.n_register
    assert np.all(np.isfinite(scored.score))


@pytest.mark.parametrize("kind", KINDS)
def test_identical_records_link(kind: str, task_and_train) -> None:
    task, train = task_and_train
    scored, link, _ = _run(_make(kind), task, train)
    declared = set(
        zip(scored.query_row[link].tolist(), scored.register_row[link].tolist(), strict=True)
    )
    truth = set(zip(task.truth.query_row.tolist(), task.truth.register_row.tolist(), strict=True))
    found = len(truth & declared) / len(truth)
    assert found >= 0.97, f"{kind} linked only {found:.1%} of identically recorded people"


@pytest.mark.parametrize("kind", KINDS)
def test_clearly_different_people_do_not_link(kind: str, task_and_train) -> None:
    task, train = task_and_train
    scored, link, _ = _run(_make(kind), task, train)
    outside = np.flatnonzero(~task.query_people["in_register"].to_numpy())
    assert not np.isin(scored.query_row[link], outside).any()


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic(kind: str, task_and_train) -> None:
    a, la, _ = _run(_make(kind), *task_and_train)
    b, lb, _ = _run(_make(kind), *task_and_train)
    assert np.array_equal(a.query_row, b.query_row) and np.array_equal(a.score, b.score)
    assert np.array_equal(la, lb)


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_parameter_rejected(kind: str) -> None:
    from synthetic.errors import ConfigError

    with pytest.raises(ConfigError, match=r"methods\[0\]\.no_such_param"):
        METHODS[kind].validate({**METHODS[kind].example_params, "no_such_param": 1}, "methods[0]")


@pytest.mark.parametrize("kind", KINDS)
def test_score_scale_is_declared(kind: str) -> None:
    """A method's score scale is one reports know; a probability is bounded by [0, 1], so its
    threshold can be shown as a match weight."""
    cls = METHODS[kind]
    assert cls.score_scale in ("score", "probability"), kind
    if cls.score_scale == "probability":
        assert cls.threshold_param is not None, kind
        param = cls.params_schema[cls.threshold_param]
        assert (param.lo, param.hi) == (0.0, 1.0), kind


@pytest.mark.parametrize("kind", KINDS)
def test_threshold_param_is_declared_and_decides_acceptance(kind: str, task_and_train) -> None:
    """A method's threshold parameter (if any) is one of its parameters and decides acceptance
    as ``score >= threshold``: what threshold sweeps of its raw scores rely on."""
    cls = METHODS[kind]
    name = cls.threshold_param
    if name is None:
        return
    assert name in cls.params_schema, f"{kind}: threshold_param {name!r} is not a parameter"
    task, train = task_and_train
    for threshold in (0.3, 0.9):
        scored, _, _ = _run(_make(kind, **{name: threshold}), task, train)
        expected = scored.score >= np.float32(threshold)
        assert np.array_equal(scored.accept, expected), f"{kind} at {threshold}"


def test_fuzzy_scores_in_slices_as_at_once(task_and_train, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzzy method scores its pairs a slice at a time (memory at the real size): the same
    bits as at once, with slices that cut the pairs anywhere."""
    from bench.linkage.methods import fuzzy

    whole = _run(_make("fuzzy"), *task_and_train)[0]
    monkeypatch.setattr(fuzzy, "SLICE_PAIRS", 7)
    sliced = _run(_make("fuzzy"), *task_and_train)[0]
    assert len(whole.score) > 7 * 10
    assert whole.score.tobytes() == sliced.score.tobytes()
    assert np.array_equal(whole.accept, sliced.accept)


@pytest.mark.parametrize("kind", KINDS)
def test_reads_names_every_field_the_method_reads(kind: str, task_and_train) -> None:
    """A run frees the fields no later method reads (:meth:`Method.reads`): a method reads no
    field it does not name (a composite it names brings its parts)."""
    from bench.linkage.fields import COMPOSITES

    task, train = task_and_train
    method = _make(kind)
    reads = method.reads()
    if reads is None:  # allowed (a run then keeps every field), but not for linkrisk's own
        assert not type(method).__module__.startswith("bench."), f"{kind} names no fields"
        pytest.skip(f"{kind} does not say which fields it reads: a run keeps them all")
    allowed = set(reads) | {p for f in reads for p in COMPOSITES.get(f, ())}
    cands, _ = block(PreparedTask(task, seed=1), BLOCKING)  # blocking reads its own fields
    _fit(method, train)
    prep = PreparedTask(task, seed=1)
    seen: set[str] = set()
    for name in ("field", "query_field"):
        read = getattr(prep, name)

        def recorded(field: str, read=read) -> object:  # type: ignore[no-untyped-def]
            seen.add(field)
            return read(field)

        setattr(prep, name, recorded)
    scored = method.score(prep, cands if method.uses_blocking() else None)
    if method.explains:
        method.explain(prep, scored.query_row[:5], scored.register_row[:5])
    assert seen, f"{kind} read no field through the task"
    assert seen <= allowed, f"{kind} reads {sorted(seen - allowed)} but names {sorted(reads)}"
