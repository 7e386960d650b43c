"""Subgroup accuracy: who bears the errors.

Every metric of :mod:`bench.measurement.metrics`, broken down by a *dimension* of the queried
person: their
name-origin group, how common their surname is, whether their household moved, their household
situation, and whether they are truly in the register. Dimensions are declared once, in the
registry :data:`DIMENSIONS` below, as small functions of a people frame (the truth-side attributes
of :data:`synthetic.scenario.PEOPLE_COLUMNS`) returning one label per person; each has a fixed
label order and a reference label. Adding a dimension is one decorated function.

How the counts are attributed: a declared link, a true link, a false match and a missed match
all belong to their **query** record, so each is counted under the labels of the queried person
(a link belongs to the person who was looked up, whoever it was linked to). Per label:

* ``FDR`` = FP / declared, ``wrong_person_rate`` = wrong_people / queries, ``FNMR`` = FN /
  true_links, ``unverified_address_rate`` = unverified_address / queries (queries with a
  declared link whose addresses do not match), as in :mod:`bench.measurement.metrics`; summed over
  the labels
  of one dimension, the counts equal the overall counts.
* Each rate carries a 95% **Wilson score interval** (``<rate>_lo``, ``<rate>_hi``; NaN when the
  denominator is zero).
* ``wrong_person_rate`` and ``FNMR`` carry their **ratio to the reference label's rate**, with a
  95% interval for the ratio of two independent binomial proportions by the **Katz log method**
  (``exp(log RR +/- z * sqrt(1/k1 - 1/n1 + 1/k0 - 1/n0))``). When either group has zero events,
  0.5 is added to each of the four cells (events and non-events of both groups; Haldane-Anscombe
  correction), for the point ratio and the interval alike, and ``<rate>_ratio_corrected`` is set.
  The ratio is NaN when both groups have zero events or either denominator is zero. The
  reference label's own ratio is exactly 1 (interval 1 to 1).

The reference label defaults to the dimension's registered one; ``None`` there means "the label
with the most queries" (the most precise denominator, ties by label order). ``in_register``
refers to ``in register``, because people outside the register have no true links (FNMR is
undefined for them).

:func:`match_matrix` tabulates false matches by the labels of both people (who was matched to
whom); :func:`cause_by_subgroup` crosses false-match causes (:mod:`bench.measurement.causes`) with
the query
person's labels. Everything is vectorized (numpy ``bincount`` over label codes); the plots import
matplotlib lazily and return a :class:`matplotlib.figure.Figure` (never saved or shown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd

from bench.measurement.attributed import attributed_false_matches, scaled_partition
from bench.measurement.causes import RegisterRows, take_rows
from bench.measurement.uncertainty import wilson  # the project's one Wilson interval (re-exported)
from bench.runs.rundir import RunDir
from synthetic.arrays import mark_sorted, unique_ints
from synthetic.names import GROUPS
from synthetic.precision import exp_array

if TYPE_CHECKING:
    from bench.measurement.derive import Attribution

#: z of a two-sided 95% interval.
Z95 = 1.959964
#: Rates per label: name -> (numerator column, denominator column).
RATES: dict[str, tuple[str, str]] = {
    "FDR": ("FP", "declared"),
    "wrong_person_rate": ("wrong_people", "queries"),
    "FNMR": ("FN", "true_links"),
    "unverified_address_rate": ("unverified_address", "queries"),
}
#: Rates that also get a ratio to the reference label.
RATIO_METRICS: tuple[str, ...] = ("wrong_person_rate", "FNMR")
#: Count columns of :func:`subgroup_metrics`, in order.
COUNTS: tuple[str, ...] = (
    "queries",
    "true_links",
    "declared",
    "TP",
    "FP",
    "FN",
    "wrong_people",
    "unverified_address",
)
#: Columns of :func:`match_matrix`.
MATRIX_COLUMNS = ("method", "dimension", "query_label", "register_label", "FP", "row_share")
#: Columns added to the false-match tables (:func:`match_matrix`, :func:`cause_by_subgroup`)
#: when some method's false matches are a sample: its false matches sampled and of how many,
#: the cell's count in the sample, and the 95% interval of each (then estimated) ``FP``.
ESTIMATE_COLUMNS = ("sampled", "of", "FP_in_sample", "FP_lo", "FP_hi")
#: ``reference`` value that picks the label with the most queries.
LARGEST = "largest"

#: How the subgroup tables count, printed in reports next to them.
DEFINITIONS: dict[str, str] = {
    "attribution": "every link, false match and missed match is counted under the labels of "
    "the queried person (the query record's person), whoever it was linked to",
    "interval": "95% Wilson score interval of a rate (NaN when its denominator is zero)",
    "ratio": "a label's rate divided by the reference label's rate; 95% interval by the Katz "
    "log method for the ratio of two independent binomial proportions",
    "continuity correction": "when either label has zero events, 0.5 is added to the events and "
    "non-events of both labels before the ratio and its interval are computed "
    "(`<rate>_ratio_corrected`); NaN when both have zero events",
    "reference": "the label each ratio compares to: by default the label with the most queries "
    "(`in register` for in_register, where FNMR is undefined outside the register)",
    "match matrix": "false matches by the query person's label (row) and the falsely linked "
    "register person's label (column); row share = share of the row's false matches",
}


# --- the dimension registry ------------------------------------------------------------------


@dataclass(frozen=True)
class Dimension:
    """A way of splitting people into labelled subgroups.

    ``label`` maps a people frame (one row per person, :data:`PEOPLE_COLUMNS` plus, for query
    people, ``in_register``) to one label per row, each in ``labels``. ``reference`` is the
    default reference label (None: the label with the most queries). ``needs`` lists the columns
    ``label`` reads.
    """

    name: str
    description: str
    labels: tuple[str, ...]
    reference: str | None
    needs: tuple[str, ...]
    label: Callable[[pd.DataFrame], np.ndarray]

    def codes(self, people: pd.DataFrame, who: str = "people") -> np.ndarray:
        """Label code (position in ``labels``) of every row of ``people``; raises on a missing
        column or a label outside ``labels``."""
        missing = [c for c in self.needs if c not in people.columns]
        if missing:
            raise ValueError(f"dimension {self.name!r} needs column(s) {missing} in the {who}")
        values = np.asarray(self.label(people), dtype=object)
        codes = pd.Categorical(values, categories=list(self.labels)).codes.astype(np.int64)
        if (codes < 0).any():
            bad = sorted({str(v) for v in values[codes < 0]})[:5]
            raise ValueError(
                f"dimension {self.name!r}: labels {bad} of the {who} not in {self.labels}"
            )
        return codes


#: The registry, in report order.
DIMENSIONS: dict[str, Dimension] = {}


def subgroup_dimension(
    name: str,
    description: str,
    labels: Sequence[str],
    *,
    reference: str | None = None,
    needs: Sequence[str] = (),
) -> Callable[[Callable[[pd.DataFrame], np.ndarray]], Callable[[pd.DataFrame], np.ndarray]]:
    """Decorator that registers ``fn(people) -> labels`` as the dimension ``name``."""
    if name in DIMENSIONS:
        raise ValueError(f"dimension {name!r} is already registered")
    if len(set(labels)) != len(labels) or not labels:
        raise ValueError(f"dimension {name!r}: labels must be distinct and non-empty")
    if reference is not None and reference not in labels:
        raise ValueError(f"dimension {name!r}: reference {reference!r} not among its labels")

    def register(fn: Callable[[pd.DataFrame], np.ndarray]) -> Callable[[pd.DataFrame], np.ndarray]:
        DIMENSIONS[name] = Dimension(name, description, tuple(labels), reference, tuple(needs), fn)
        return fn

    return register


@subgroup_dimension(
    "group", "name-origin group of the person (Census name tables)", GROUPS, needs=("group",)
)
def _group(people: pd.DataFrame) -> np.ndarray:
    return people["group"].to_numpy(dtype=object)


#: Surname-commonness bands: rank in the Census 2010 surname table, or not listed there.
SURNAME_BANDS: tuple[str, ...] = (
    "top 100",
    "101-1,000",
    "1,001-10,000",
    "beyond 10,000",
    "not listed",
)
_BAND_EDGES = np.array([100, 1_000, 10_000])


@lru_cache
def _surname_rank() -> pd.Series:
    """Census 2010 rank of each listed surname. Tied counts share the best rank, as in the
    Census file's own rank column (1 + the number of names with a larger count)."""
    from synthetic.names import surnames

    table = surnames()  # most frequent first
    neg = -table["count"].to_numpy(np.int64)
    rank = np.searchsorted(neg, neg, side="left") + 1
    return pd.Series(rank, index=pd.Index(table["name"].to_numpy(dtype=object)))


def surname_band(last_name: np.ndarray | pd.Series) -> np.ndarray:
    """Commonness band (:data:`SURNAME_BANDS`) of each true surname: for a hyphenated married
    name (BIRTH-SPOUSE) the part before the hyphen; ``not listed`` for names outside the Census
    table (the synthesized rare names) and missing ones."""
    first_part = pd.Series(np.asarray(last_name, dtype=object)).str.split("-", n=1).str[0]
    ranks = _surname_rank()
    pos = ranks.index.get_indexer(first_part.to_numpy(dtype=object))
    band = np.searchsorted(_BAND_EDGES, ranks.to_numpy()[pos], side="left")
    band[pos < 0] = len(SURNAME_BANDS) - 1
    return np.asarray(SURNAME_BANDS, dtype=object)[band]


@subgroup_dimension(
    "surname_band",
    "commonness of the person's true surname: rank in the Census 2010 surname table (first part "
    "of a hyphenated married name), or not listed (rare)",
    SURNAME_BANDS,
    needs=("last_name",),
)
def _surname_band(people: pd.DataFrame) -> np.ndarray:
    return surname_band(people["last_name"])


@subgroup_dimension(
    "mover",
    "whether the person's household moved (has a previous address)",
    ("stayed", "moved"),
    needs=("previous_address_id",),
)
def _mover(people: pd.DataFrame) -> np.ndarray:
    moved = people["previous_address_id"].to_numpy() >= 0
    return np.where(moved, "moved", "stayed").astype(object)


@subgroup_dimension(
    "household",
    "lives alone, with others, or with a Jr/Sr namesake or a twin in the household",
    ("alone", "with others", "with namesake or twin"),
    needs=("household_size", "twin_id", "namesake_id"),
)
def _household(people: pd.DataFrame) -> np.ndarray:
    out = np.where(people["household_size"].to_numpy() <= 1, "alone", "with others").astype(object)
    # Twins and Jr/Sr pairs always share a household: the look-alike most likely to be linked.
    lookalike = (people["twin_id"].to_numpy() >= 0) | (people["namesake_id"].to_numpy() >= 0)
    out[lookalike] = "with namesake or twin"
    return out


@subgroup_dimension(
    "in_register",
    "whether the queried person is truly in the register (else every link of theirs is wrong)",
    ("in register", "not in register"),
    reference="in register",
    needs=("in_register",),
)
def _in_register(people: pd.DataFrame) -> np.ndarray:
    inside = people["in_register"].to_numpy(dtype=bool)
    return np.where(inside, "in register", "not in register").astype(object)


def dimension_descriptions() -> dict[str, str]:
    """Every registered dimension with its one-line description."""
    return {d.name: d.description for d in DIMENSIONS.values()}


# --- intervals -------------------------------------------------------------------------------


def rate_ratio(
    k1: np.ndarray, n1: np.ndarray, k0: np.ndarray | float, n0: np.ndarray | float, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ratio of proportions ``(k1/n1) / (k0/n0)`` with its Katz log interval, elementwise.

    Returns ``(ratio, lo, hi, corrected)``. Where either ``k`` is zero (and not both), 0.5 is
    added to the events and non-events of both groups (``corrected`` is True). NaN where both
    ``k`` are zero or either ``n`` is zero. Computed identically on every CPU (IEEE basic
    operations and :func:`synthetic.precision.exp`).
    """
    k1, n1, k0, n0 = np.broadcast_arrays(
        *(np.asarray(x, dtype=np.float64) for x in (k1, n1, k0, n0))
    )
    valid = (n1 > 0) & (n0 > 0) & ((k1 > 0) | (k0 > 0))
    corrected = valid & ((k1 == 0) | (k0 == 0))
    half = np.where(corrected, 0.5, 0.0)
    a, m1 = k1 + half, n1 + 2 * half
    b, m0 = k0 + half, n0 + 2 * half
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / m1) / (b / m0)
        se = np.sqrt(np.maximum(1 / a - 1 / m1 + 1 / b - 1 / m0, 0.0))
        # exp by the CPU-independent `synthetic.precision.exp`: numpy's SIMD exp differs by
        # CPU in the last bit, which reached published intervals
        lo, hi = ratio * exp_array(-z * se), ratio * exp_array(z * se)
    nan = np.full(ratio.shape, np.nan)
    return (
        np.where(valid, ratio, nan),
        np.where(valid, lo, nan),
        np.where(valid, hi, nan),
        corrected,
    )


# --- per-label metrics -----------------------------------------------------------------------

#: Pairs as a frame (``query_row``, ``register_row``, optionally ``link``) or two aligned arrays.
PairsLike: TypeAlias = pd.DataFrame | tuple[np.ndarray, np.ndarray]


def _links(pairs: PairsLike) -> tuple[np.ndarray, np.ndarray]:
    """Declared links of a method's pairs: the rows with ``link`` True when the frame has that
    column (the raw pairs of a run), else every pair."""
    if isinstance(pairs, pd.DataFrame):
        if "link" in pairs.columns:
            link = pairs["link"].to_numpy(dtype=bool)
            if not link.all():  # declared links alone (RunDir.links) are taken without a copy
                pairs = pairs.loc[link]
        q, r = pairs["query_row"], pairs["register_row"]
    else:
        q, r = pairs
    return np.asarray(q, dtype=np.int64), np.asarray(r, dtype=np.int64)


def _unverified(pairs: PairsLike) -> np.ndarray:
    """Query rows with a declared link whose addresses do not match (``address_match`` False);
    none for pairs without that column (declared links given as arrays)."""
    if not isinstance(pairs, pd.DataFrame) or "address_match" not in pairs.columns:
        return np.zeros(0, dtype=np.int64)
    link = pairs["link"].to_numpy(dtype=bool) if "link" in pairs.columns else True
    off = link & ~pairs["address_match"].to_numpy(dtype=bool)
    return unique_ints(pairs["query_row"].to_numpy(dtype=np.int64)[off])


@dataclass(frozen=True)
class _Split:
    """Distinct declared links of one method, split into true and false, as query rows."""

    width: int
    link_q: np.ndarray  # query row of every distinct declared link
    true: np.ndarray  # bool per declared link
    fp_q: np.ndarray  # query row of every false match
    fp_r: np.ndarray  # register row of every false match


def _split(pairs: PairsLike, truth_keys: np.ndarray, width: int) -> _Split:
    q, r = _links(pairs)
    keys = unique_ints(q * width + r)
    true = mark_sorted(keys, truth_keys)
    fp_q, fp_r = np.divmod(keys[~true], width)
    return _Split(width, keys // width, true, fp_q, fp_r)


def _width(n_register: int, truth_r: np.ndarray, pairs: Mapping[str, PairsLike]) -> int:
    # Keys q * width + r must be unique: width above every register row in sight.
    top = max([n_register - 1, int(truth_r.max(initial=-1))])
    for p in pairs.values():
        top = max(top, int(_links(p)[1].max(initial=-1)))
    return max(top + 1, 1)


def _dimensions(dimensions: Sequence[str] | None) -> list[Dimension]:
    names = list(DIMENSIONS) if dimensions is None else list(dimensions)
    unknown = [d for d in names if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown dimension(s) {unknown}; registered: {list(DIMENSIONS)}")
    return [DIMENSIONS[d] for d in names]


def _reference(dim: Dimension, queries: np.ndarray, reference: Mapping[str, str] | None) -> int:
    """Code of the reference label: given, registered, or the label with the most queries."""
    wanted = (reference or {}).get(dim.name, dim.reference) or LARGEST
    if wanted == LARGEST:
        return int(np.argmax(queries))  # first label on ties
    if wanted not in dim.labels:
        raise ValueError(f"reference {wanted!r} is not a label of {dim.name!r}: {dim.labels}")
    return dim.labels.index(wanted)


def _query_people(query_people: pd.DataFrame, truth_q: np.ndarray) -> pd.DataFrame:
    # Membership comes from the truth used for the counts, so the two can never disagree.
    inside = np.zeros(len(query_people), dtype=bool)
    inside[truth_q] = True
    return query_people.assign(in_register=inside)


def subgroup_metrics(
    pairs_by_method: Mapping[str, PairsLike],
    truth: PairsLike,
    query_people: pd.DataFrame,
    n_register: int,
    dimensions: Sequence[str] | None = None,
    reference: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Counts, rates, intervals and ratios per method x dimension x label.

    ``pairs_by_method``: each method's pairs (raw pairs with a ``link`` column, or its declared
    links). ``truth``: the true links. ``query_people``: one row per query record, aligned by
    query row. ``dimensions``: names in :data:`DIMENSIONS` (default: all, registry order).
    ``reference``: dimension name -> reference label, or ``"largest"`` (default: the
    dimension's registered reference).

    One row per (method, dimension, label), every label in its fixed order, empty ones too.
    Columns: method, dimension, label, reference (the reference label), :data:`COUNTS`, then per
    rate of :data:`RATES` the rate, ``_lo``, ``_hi``, then per rate of :data:`RATIO_METRICS`
    ``_ratio``, ``_ratio_lo``, ``_ratio_hi``, ``_ratio_corrected``.
    """
    dims = _dimensions(dimensions)
    tq, tr = _links(truth)
    width = _width(n_register, tr, pairs_by_method)
    truth_keys = unique_ints(tq * width + tr)
    truth_q = truth_keys // width
    people = _query_people(query_people, truth_q)
    codes = {d.name: d.codes(people, "query people") for d in dims}

    blocks = []
    for method, pairs in pairs_by_method.items():
        s = _split(pairs, truth_keys, width)
        wrong_q = unique_ints(s.fp_q)
        unverified_q = _unverified(pairs)
        for d in dims:
            c, k = codes[d.name], len(d.labels)
            counts = {
                "queries": np.bincount(c, minlength=k),
                "true_links": np.bincount(c[truth_q], minlength=k),
                "declared": np.bincount(c[s.link_q], minlength=k),
                "TP": np.bincount(c[s.link_q[s.true]], minlength=k),
            }
            counts["FP"] = counts["declared"] - counts["TP"]
            counts["FN"] = counts["true_links"] - counts["TP"]
            counts["wrong_people"] = np.bincount(c[wrong_q], minlength=k)
            counts["unverified_address"] = np.bincount(c[unverified_q], minlength=k)
            ref = _reference(d, counts["queries"], reference)
            blocks.append(_label_block(method, d, ref, counts))
    if not blocks:
        return pd.DataFrame(columns=_metric_columns())
    return pd.concat(blocks, ignore_index=True)


def _metric_columns() -> list[str]:
    cols = ["method", "dimension", "label", "reference", *COUNTS]
    for rate in RATES:
        cols += [rate, f"{rate}_lo", f"{rate}_hi"]
    for rate in RATIO_METRICS:
        cols += [f"{rate}_{x}" for x in ("ratio", "ratio_lo", "ratio_hi", "ratio_corrected")]
    return cols


def _label_block(
    method: str, dim: Dimension, ref: int, counts: dict[str, np.ndarray]
) -> pd.DataFrame:
    """The rows of one method x dimension: counts, rates with intervals, ratios to ``ref``."""
    k = len(dim.labels)
    out: dict[str, object] = {
        "method": [method] * k,
        "dimension": [dim.name] * k,
        "label": list(dim.labels),
        "reference": [dim.labels[ref]] * k,
    }
    out.update({name: counts[name].astype(np.int64) for name in COUNTS})
    for rate, (num, den) in RATES.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            out[rate] = np.where(counts[den] > 0, counts[num] / counts[den], np.nan)
        out[f"{rate}_lo"], out[f"{rate}_hi"] = wilson(counts[num], counts[den])
    for rate in RATIO_METRICS:
        events, total = counts[RATES[rate][0]], counts[RATES[rate][1]]
        ratio, lo, hi, corrected = rate_ratio(events, total, events[ref], total[ref])
        # The reference against itself is 1 by definition (where its rate exists).
        one = 1.0 if total[ref] > 0 else np.nan
        ratio[ref] = lo[ref] = hi[ref] = one
        corrected[ref] = False
        out[f"{rate}_ratio"], out[f"{rate}_ratio_lo"], out[f"{rate}_ratio_hi"] = ratio, lo, hi
        out[f"{rate}_ratio_corrected"] = corrected
    return pd.DataFrame(out)[_metric_columns()]


# --- who was matched to whom -----------------------------------------------------------------


def match_matrix(
    pairs_by_method: Mapping[str, PairsLike],
    truth: PairsLike,
    query_people: pd.DataFrame,
    register_people: pd.DataFrame | RegisterRows,
    dimension: str = "group",
) -> pd.DataFrame:
    """False matches by the query person's label and the falsely linked register person's label.

    ``register_people`` is aligned by register row position (as
    :func:`bench.measurement.derive.read_register_people`); only the rows of false matches are read.
    One row per (method, query label, register label), all label pairs in order (zeros
    included). Columns: method, dimension, query_label, register_label, FP, row_share (FP / the
    query label's FP; NaN for a row without false matches).

    The false matches read are those attributed
    (:func:`bench.measurement.attributed.attributed_false_matches`): for a method with more than
    its bound, a seeded sample, whose cells then estimate the method's counts
    (:data:`ESTIMATE_COLUMNS` added, see :func:`_with_estimates`; ``row_share`` is the sample's).
    """
    (dim,) = _dimensions([dimension])
    tq, tr = _links(truth)
    width = _width(len(register_people), tr, pairs_by_method)
    truth_keys = unique_ints(tq * width + tr)
    q_codes = dim.codes(_query_people(query_people, truth_keys // width), "query people")
    blocks, sizes = [], []
    for method, pairs in pairs_by_method.items():
        chosen = attributed_false_matches(method, _links(pairs), (tq, tr))
        fp_people = take_rows(register_people, chosen.register_row)
        if dim.needs and fp_people[list(dim.needs)].isna().all(axis=1).any():
            raise ValueError(f"{method}: register people missing for falsely linked rows")
        r_codes = dim.codes(fp_people, "register people")
        blocks.append(
            _crosstab(
                q_codes[chosen.query_row], r_codes, dim.labels, dim.labels, "query_label",
                "register_label", "row_share",
            ).assign(method=method, dimension=dim.name)
        )  # fmt: skip
        sizes.append((len(chosen), chosen.total))
    return _stack(blocks, sizes, list(MATRIX_COLUMNS))


def _with_estimates(
    blocks: list[pd.DataFrame], sizes: list[tuple[int, int]]
) -> tuple[list[pd.DataFrame], bool]:
    """``blocks`` of false-match counts (``FP``, partitioning ``n`` false matches of ``total``
    per block, as ``sizes``) and whether they carry :data:`ESTIMATE_COLUMNS`: unchanged when no
    block is a sample; else every block's ``FP`` estimates its ``total`` (scaled by total / n,
    summing to it, with 95% intervals; exact where n == total)."""
    if all(n == total for n, total in sizes):
        return blocks, False
    out = []
    for block, (n, total) in zip(blocks, sizes, strict=True):
        k = block["FP"].to_numpy(np.int64)
        point, lo, hi = scaled_partition(k, n, total)
        out.append(block.assign(FP=point, sampled=n, of=total, FP_in_sample=k, FP_lo=lo, FP_hi=hi))
    return out, True


def _stack(
    blocks: list[pd.DataFrame], sizes: list[tuple[int, int]], columns: list[str]
) -> pd.DataFrame:
    """The blocks of a false-match table in one frame, estimated if some block is a sample."""
    blocks, estimated = _with_estimates(blocks, sizes)
    columns = columns + list(ESTIMATE_COLUMNS) * estimated
    return (
        pd.concat(blocks, ignore_index=True)[columns] if blocks else pd.DataFrame(columns=columns)
    )


def _crosstab(
    rows: np.ndarray,
    cols: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    row_name: str,
    col_name: str,
    share_name: str,
) -> pd.DataFrame:
    """Counts of every (row label, col label) cell of two code arrays, zeros included, in label
    order, with each cell's share of its row (NaN for an empty row)."""
    k, m = len(row_labels), len(col_labels)
    cells = np.bincount(rows * m + cols, minlength=k * m).reshape(k, m)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = cells / cells.sum(axis=1, keepdims=True)
    return pd.DataFrame(
        {
            row_name: np.repeat(np.asarray(row_labels, dtype=object), m),
            col_name: np.tile(np.asarray(col_labels, dtype=object), k),
            "FP": cells.ravel().astype(np.int64),
            share_name: share.ravel(),
        }
    )


# --- false-match causes by subgroup ----------------------------------------------------------


def cause_by_subgroup(
    attributions: Mapping[str, pd.DataFrame],
    query_people: pd.DataFrame,
    dimensions: Sequence[str] | None = None,
    totals: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """False matches by primary cause within each label of the query person.

    ``attributions``: method -> :func:`bench.measurement.causes.attribute_false_matches` frame (its
    cause
    flag columns give the cause order). ``query_people`` needs an ``in_register`` column for
    that dimension (as written by a run). One row per (method, dimension, label, cause), zeros
    included. Columns: method, dimension, label, cause, FP, share (of the
    label's false matches; NaN if it has none).

    ``totals``: method -> its false matches, when a frame holds a sample of them
    (:class:`bench.measurement.derive.Attribution`); if any does, ``FP`` estimates the
    method's counts and :data:`ESTIMATE_COLUMNS` are added (``share`` is the sample's).
    """
    from bench.measurement.causes import FP_COLUMNS

    dims = _dimensions(dimensions)
    codes = {d.name: d.codes(query_people, "query people") for d in dims}
    blocks, sizes = [], []
    for method, fp in attributions.items():
        causes = fp.columns[len(FP_COLUMNS) :].tolist()
        cause_codes = pd.Categorical(fp["cause"], categories=causes).codes.astype(np.int64)
        rows = fp["query_row"].to_numpy(dtype=np.int64)
        total = len(fp) if totals is None else int(totals[method])
        for d in dims:
            blocks.append(
                _crosstab(
                    codes[d.name][rows], cause_codes, d.labels, causes, "label", "cause", "share"
                ).assign(method=method, dimension=d.name)
            )
            sizes.append((len(fp), total))
    return _stack(blocks, sizes, ["method", "dimension", "label", "cause", "FP", "share"])


# --- from a run's raw outputs ----------------------------------------------------------------


def _read_run(run_dir: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    run = RunDir(run_dir)
    info = run.info
    truth = run.truth()
    query_people = run.query_people()
    # A method's declared links: all the subgroup tables read of its considered pairs, and
    # every method's are held at once (at the real size, considered pairs run to hundreds of
    # millions).
    pairs = {name: run.links(name, columns=_PAIR_COLUMNS) for name in info["methods"]}
    return info, truth, query_people, pairs


_PAIR_COLUMNS = ["query_row", "register_row", "link", "address_match"]


def pool_subgroup_metrics(
    frames: Sequence[pd.DataFrame], reference: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """:func:`subgroup_metrics` of several replicates pooled as the headline pools them:
    counts summed per method, dimension and label, then rates, intervals and ratios computed
    from the sums (the reference chosen on the pooled counts)."""
    if len(frames) == 1:
        return frames[0]
    keys = ["method", "dimension", "label"]
    summed = pd.concat(frames, ignore_index=True).groupby(keys, sort=False)[list(COUNTS)].sum()
    blocks = []
    for (method, dim_name), rows in summed.groupby(level=[0, 1], sort=False):
        dim = DIMENSIONS[str(dim_name)]
        by_label = rows.droplevel([0, 1]).reindex(list(dim.labels), fill_value=0)
        counts = {c: by_label[c].to_numpy(dtype=np.int64) for c in COUNTS}
        ref = _reference(dim, counts["queries"], reference)
        blocks.append(_label_block(str(method), dim, ref, counts))
    return pd.concat(blocks, ignore_index=True)


def subgroups_run(
    run_dir: Path,
    dimensions: Sequence[str] | None = None,
    reference: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(subgroup_metrics, match_matrix)`` of every method of a run, from its ``raw/`` alone.
    The metrics pool every replicate when each keeps its query people (as the headline pools
    them); the match matrix is the run's own seed's (replicates keep no register people)."""
    from bench.measurement.derive import read_register_people

    info, truth, query_people, pairs = _read_run(run_dir)
    if dimensions is None:  # those the people carry (runs on user files: register presence)
        known = {*query_people.columns, "in_register"}
        dimensions = [d.name for d in DIMENSIONS.values() if set(d.needs) <= known]
    frames = [
        subgroup_metrics(
            pairs, truth, query_people, info["register_records"], dimensions, reference
        )
    ]
    run = RunDir(run_dir)
    if info["replicates"] > 1 and run.has_replicate_people():
        for k in range(1, info["replicates"]):
            rep = run.replicate(k)
            frames.append(
                subgroup_metrics(
                    {name: run.links(name, k, columns=_PAIR_COLUMNS) for name in info["methods"]},
                    run.truth(k),
                    run.query_people(replicate=k),
                    rep["register_records"],
                    dimensions,
                    reference,
                )
            )
    metrics = pool_subgroup_metrics(frames, reference)
    if not set(DIMENSIONS["group"].needs) <= set(query_people.columns):
        return metrics, pd.DataFrame(columns=list(MATRIX_COLUMNS))
    matrix = match_matrix(pairs, truth, query_people, read_register_people(Path(run_dir)))
    return metrics, matrix


#: The false discovery rate at which subgroup ratios are flagged (Benjamini-Hochberg).
RATIO_FDR = 0.05


def ratio_significance(
    frame: pd.DataFrame,
    metric: str = "wrong_person_rate",
    dimensions: Sequence[str] | None = None,
    fdr: float = RATIO_FDR,
) -> pd.DataFrame:
    """``frame`` (:func:`subgroup_metrics` rows) with, per row, the two-sided p-value of its
    ``metric`` ratio to the reference (``<metric>_ratio_p``, from the Katz log interval:
    z = log(ratio) / se) and whether it survives the Benjamini-Hochberg procedure at false
    discovery rate ``fdr`` over the family of ratios tested (``<metric>_ratio_significant``).

    The family: every row of ``dimensions`` (default: all) that is not its reference and has
    events on both sides (a ratio built on a 0.5 correction is not a point estimate and is not
    tested); other rows get NaN and False."""
    from scipy.stats import false_discovery_control, norm

    out = frame.copy()
    ratio = out[f"{metric}_ratio"].to_numpy(np.float64)
    lo = out[f"{metric}_ratio_lo"].to_numpy(np.float64)
    hi = out[f"{metric}_ratio_hi"].to_numpy(np.float64)
    tested = (
        (out["label"] != out["reference"]).to_numpy()
        & ~out[f"{metric}_ratio_corrected"].to_numpy(bool)
        & np.isfinite(ratio)
        & (lo > 0)
        & (hi > lo)
    )
    if dimensions is not None:
        tested &= out["dimension"].isin(list(dimensions)).to_numpy()
    p = np.full(len(out), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.log(hi[tested] / lo[tested]) / (2 * Z95)
        p[tested] = 2 * norm.sf(np.abs(np.log(ratio[tested]) / se))
    survives = np.zeros(len(out), dtype=bool)
    if tested.any():
        survives[tested] = false_discovery_control(p[tested], method="bh") <= fdr
    out[f"{metric}_ratio_p"] = p
    out[f"{metric}_ratio_significant"] = survives
    return out


def subgroup_causes_run(
    run_dir: Path,
    dimensions: Sequence[str] | None = None,
    attributions: Mapping[str, Attribution] | None = None,
) -> pd.DataFrame:
    """:func:`cause_by_subgroup` of every method of a run, from its ``raw/`` alone; false
    matches attributed by :func:`bench.measurement.derive.attribute_run` (or given as its
    result), estimated for a method whose false matches were sampled."""
    from bench.measurement.derive import attribute_run

    run = RunDir(run_dir)  # the truth and who was queried; no method's pairs
    truth, query_people = run.truth(), run.query_people()
    attributions = attribute_run(Path(run_dir)) if attributions is None else attributions
    if attributions is None:
        raise ValueError(f"{run_dir}: raw/ lacks what error attribution needs")
    people = _query_people(query_people, truth["query_row"].to_numpy(dtype=np.int64))
    fps = {m: a.false_matches for m, a in attributions.items()}
    totals = {m: a.false_total for m, a in attributions.items()}
    return cause_by_subgroup(fps, people, dimensions, totals)


__all__ = [
    "COUNTS",
    "DEFINITIONS",
    "DIMENSIONS",
    "ESTIMATE_COLUMNS",
    "LARGEST",
    "RATES",
    "RATIO_METRICS",
    "SURNAME_BANDS",
    "Z95",
    "Dimension",
    "cause_by_subgroup",
    "dimension_descriptions",
    "match_matrix",
    "pool_subgroup_metrics",
    "rate_ratio",
    "ratio_significance",
    "subgroup_causes_run",
    "subgroup_dimension",
    "subgroup_metrics",
    "subgroups_run",
    "surname_band",
    "wilson",
]
