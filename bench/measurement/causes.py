"""Error attribution: why each false match was declared and why each true link was missed.

False matches (FP) are attributed from the truth side of both records: who the two people are
(twins, Jr/Sr, a household, strangers sharing a name), where they lived, and which noise changed
either record. Causes are declared once, in the registry :data:`FALSE_MATCH_CAUSES` below, as
small predicates over the pairs (see :class:`PairFacts`); registration order is priority order.
Each FP gets the first cause that holds as its *primary* cause, and a flag for every cause that
holds. Adding a cause is one decorated function.

The template entry ``noise:<type>`` expands, in noise registry order, to one cause per noise type
("the type changed a field of the query record or of the falsely linked register record"), so
this module never names noise types except in the few predicates that need a specific one. The
last entry, ``similar``, is the fallback: it holds when no other cause does.

Missed matches (FN) are attributed to the noise types that changed either record of the true pair
(multi-label; primary = first in registry order; ``none`` when neither record was changed), and
flagged ``blocking_loss`` when the pair was never a candidate.

Everything here is vectorized over pairs (numpy / pandas); there are no per-pair Python loops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from bench.measurement.attributed import estimate, pair_arrays, scaled_partition
from bench.measurement.metrics import PER
from synthetic.arrays import isin_rows, isin_sorted, mark_sorted, unique_ints, unique_pairs

#: Name template of the per-noise-type causes; ``{noise}`` is the noise type's name.
NOISE_CAUSE = "noise:{noise}"
#: Missed-match cause when neither record of the true pair was changed by noise.
NO_NOISE = "none"
#: Leading columns of :func:`attribute_false_matches`; the cause flags follow, in priority order.
FP_COLUMNS: tuple[str, ...] = ("query_row", "register_row", "cause", "query_not_in_register")
#: Leading columns of :func:`attribute_missed_matches`; the cause flags follow, in order.
FN_COLUMNS: tuple[str, ...] = ("query_row", "register_row", "cause", "blocking_loss")

#: The people attributes (``synthetic.scenario.PEOPLE_COLUMNS``) the registered causes read;
#: runs on user files have none, and their errors are not attributed.
PEOPLE_NEEDED: tuple[str, ...] = (
    "person_id",
    "household_id",
    "twin_id",
    "namesake_id",
    "first_name",
    "last_name",
    "second_surname",
    "dob",
    "address_id",
    "previous_address_id",
)

#: How the cause tables count, printed in reports next to each cause's description.
DEFINITIONS: dict[str, str] = {
    "primary cause": "each false match is counted once, under the first cause in the order "
    "listed that holds for it (the attribution flags every cause that holds)",
    "query_not_in_register": "the query person has no true link at all, so any link of that "
    "query is wrong",
    "missed-match cause": "the noise types that changed a field of either record of a missed "
    "true link; counted under the first in noise registry order, `none` if neither record was "
    "changed",
}

#: Pairs given as a frame with ``query_row`` and ``register_row``, or as two aligned arrays.
PairsLike: TypeAlias = pd.DataFrame | tuple[np.ndarray, np.ndarray]
#: A field name, a tuple of them, or None (any field).
Fields = str | tuple[str, ...] | None


def compared_fields(params: Any) -> tuple[str, ...]:
    """The record fields a method's parameters name (composites such as ``name`` expanded), in
    record-field order. By the parameter convention of every method, fields are the values of
    ``field`` keys and the entries (or keys) of ``fields``, at any depth. Used to count only the
    noise a method could have seen."""
    from bench.linkage.fields import COMPOSITES
    from synthetic.noise import RECORD_FIELDS

    found: set[str] = set()

    def walk(x: Any, is_field: bool) -> None:
        if isinstance(x, str):
            if is_field:
                found.update(COMPOSITES.get(x, (x,)))
        elif isinstance(x, Mapping):
            for k, v in x.items():
                if is_field:  # {"first_name": "name", ...}: keys are the fields
                    walk(k, True)
                walk(v, k in ("field", "fields"))
        elif isinstance(x, list | tuple):
            for v in x:
                walk(v, is_field)

    walk(params, False)
    return tuple(f for f in RECORD_FIELDS if f in found)


def default_noise_order() -> list[str]:
    """Noise type names in registry (application) order."""
    from synthetic.noise import NOISE

    return list(NOISE)


def noise_description(name: str) -> str:
    """The registered description of a noise type ('' if the type is not registered)."""
    from synthetic.noise import NOISE

    nt = NOISE.get(name)
    return nt.description if nt is not None else ""


class NoiseIndex:
    """Which rows of each side each noise type changed, from a noise log.

    ``noise_log`` has one row per changed cell: ``side`` ("query" / "register"), ``row``,
    ``field`` and ``noise`` (as ``LinkageTask.noise_log``).
    """

    def __init__(self, noise_log: pd.DataFrame) -> None:
        self._log = {
            side: noise_log.loc[noise_log["side"] == side, ["row", "field", "noise"]]
            for side in ("query", "register")
        }
        self._groups: dict[str, dict[tuple[Any, Any], np.ndarray]] = {}
        self._rows: dict[tuple[str, str | None, Fields], np.ndarray] = {}

    def _grouped(self, side: str) -> dict[tuple[Any, Any], np.ndarray]:
        """The side's logged rows by (noise, field): a question then reads its groups only, not
        the whole log (many questions are asked of logs of millions of cells)."""
        if side not in self._groups:
            log = self._log[side]
            rows = log["row"].to_numpy(dtype=np.int64)
            groups = log.groupby(
                ["noise", "field"], sort=False, dropna=False, observed=True
            ).indices
            self._groups[side] = {key: rows[at] for key, at in groups.items()}
        return self._groups[side]

    def rows(self, side: str, noise: str | None = None, field: Fields = None) -> np.ndarray:
        """Sorted distinct rows of ``side`` where ``noise`` (any if None) changed ``field`` (a
        field name or a tuple of them; any if None)."""
        key = (side, noise, field)
        if key not in self._rows:
            wanted = None if field is None else {field} if isinstance(field, str) else set(field)
            parts = [
                rows
                for (n, f), rows in self._grouped(side).items()
                if (noise is None or n == noise) and (wanted is None or f in wanted)
            ]
            picked = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            self._rows[key] = unique_ints(picked)
        return self._rows[key]

    def changed(
        self,
        query_row: np.ndarray,
        register_row: np.ndarray,
        noise: str | None = None,
        field: Fields = None,
        side: str | None = None,
    ) -> np.ndarray:
        """Per pair: did ``noise`` change ``field`` of the query record, of the register record,
        or (``side=None``) of either?"""
        out = np.zeros(len(query_row), dtype=bool)
        if side in (None, "query"):
            out |= isin_rows(query_row, self.rows("query", noise, field))
        if side in (None, "register"):
            out |= isin_rows(register_row, self.rows("register", noise, field))
        return out


class RegisterRows:
    """A register-aligned table stored for some register rows only (the records in a true link
    or an attributed false match), read by row position as if it held every register row.

    ``frame.set_index("register_row").reindex(range(n))`` gives the same rows, but holds one
    row per register record: for a register of millions, most of a run's memory. :meth:`take`
    reindexes only the rows asked for; rows not stored are all-missing, and the columns have the
    dtypes the full reindex would give them (missing rows turn integers into floats, booleans
    into objects), so every value read is the same.
    """

    def __init__(self, frame: pd.DataFrame, n_rows: int) -> None:
        self._frame = frame.set_index("register_row")
        self._n = int(n_rows)
        self.columns = self._frame.columns

    def __len__(self) -> int:
        return self._n

    def stored(self, rows: np.ndarray) -> np.ndarray:
        """Per row of ``rows``: whether its person is stored (not an all-missing row)."""
        return isin_rows(np.asarray(rows, dtype=np.int64), self._frame.index.to_numpy(np.int64))

    def take(self, rows: np.ndarray) -> pd.DataFrame:
        """The rows at positions ``rows`` (index: the positions), as the full reindex has them."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(self._frame) < self._n:  # the full reindex has missing rows: their dtypes too
            return self._frame.reindex(np.append(rows, -1)).iloc[:-1]
        return self._frame.reindex(rows)


def take_rows(people: pd.DataFrame | RegisterRows, rows: np.ndarray) -> pd.DataFrame:
    """Rows of ``people`` by position (``people.iloc[rows]`` of a full table)."""
    return people.take(rows) if isinstance(people, RegisterRows) else people.iloc[rows]


class PairFacts:
    """Truth-side facts about both records of each pair, aligned by pair position.

    ``q(col)`` / ``r(col)`` give a person attribute (``synthetic.scenario.PEOPLE_COLUMNS``) of the
    query / register record of every pair; ``changed(...)`` asks the noise log. Columns are
    gathered on first use and cached, so a predicate pays only for what it reads.
    """

    def __init__(
        self,
        query_row: np.ndarray,
        register_row: np.ndarray,
        query_people: pd.DataFrame,
        register_people: pd.DataFrame | RegisterRows,
        noise: NoiseIndex,
        fields: tuple[str, ...] | None = None,
    ) -> None:
        self.fields = fields
        self.query_row = np.asarray(query_row, dtype=np.int64)
        self.register_row = np.asarray(register_row, dtype=np.int64)
        self._people = {"q": query_people, "r": register_people}
        self._taken: dict[str, pd.DataFrame] = {}
        self._rows = {"q": self.query_row, "r": self.register_row}
        self._cache: dict[tuple[str, str], np.ndarray] = {}
        self.noise = noise

    def __len__(self) -> int:
        return len(self.query_row)

    def _get(self, who: str, column: str) -> np.ndarray:
        key = (who, column)
        if key not in self._cache:
            people = self._people[who]
            if isinstance(people, RegisterRows):  # only the pairs' rows, taken once
                if who not in self._taken:
                    self._taken[who] = people.take(self._rows[who])
                self._cache[key] = self._taken[who][column].to_numpy()
            else:
                self._cache[key] = people[column].to_numpy()[self._rows[who]]
        return self._cache[key]

    def q(self, column: str) -> np.ndarray:
        """Attribute ``column`` of the query record's person, per pair."""
        return self._get("q", column)

    def r(self, column: str) -> np.ndarray:
        """Attribute ``column`` of the register record's person, per pair."""
        return self._get("r", column)

    def full_surname(self, who: str) -> np.ndarray:
        """True full surname (``last_name`` plus ``second_surname`` if any) of ``who`` ("q"/"r")."""
        key = (who, "__full_surname")
        if key not in self._cache:
            last = self._get(who, "last_name").astype(object)
            second = self._get(who, "second_surname").astype(object)
            full = last.copy()
            has = ~pd.isna(second)
            full[has] = last[has] + " " + second[has]
            self._cache[key] = full
        return self._cache[key]

    def changed_for(
        self, cause: str, field: str | None = None, side: str | None = None
    ) -> np.ndarray:
        """Per pair: did a noise type that declares ``cause`` (``@noise_type(..., cause=...)``)
        change ``field`` of the query or register record (as :meth:`changed`)?"""
        out = np.zeros(len(self), dtype=bool)
        for noise in noise_types_for(cause):
            out |= self.changed(noise, field, side)
        return out

    def changed(
        self, noise: str | None = None, field: str | None = None, side: str | None = None
    ) -> np.ndarray:
        """Per pair: did ``noise`` (any if None) change ``field`` (any if None) of the query
        record (``side="query"``), the register record (``"register"``), or either (None)?
        Only the fields the method compares count (``fields``, when known)."""
        wanted: Fields = field
        if self.fields is not None:
            wanted = tuple(
                f for f in (self.fields if field is None else (field,)) if f in self.fields
            )
            if not wanted:
                return np.zeros(len(self), dtype=bool)
        return self.noise.changed(self.query_row, self.register_row, noise, wanted, side)


@dataclass(frozen=True)
class Cause:
    """A false-match cause: ``test`` maps :class:`PairFacts` to a bool mask (None: fallback,
    holds exactly when no other cause does). ``per_noise`` entries are templates whose test also
    takes a noise type name; they expand to one cause per noise type."""

    name: str
    description: str
    test: Callable[..., np.ndarray] | None
    per_noise: bool = False


#: The registry. Registration order is priority order (the first cause that holds is primary).
FALSE_MATCH_CAUSES: dict[str, Cause] = {}


def false_match_cause(
    name: str, description: str, *, per_noise: bool = False
) -> Callable[[Callable[..., np.ndarray]], Callable[..., np.ndarray]]:
    """Decorator that registers ``fn`` as the false-match cause ``name`` (priority: after the
    causes registered before it)."""
    if name in FALSE_MATCH_CAUSES:
        raise ValueError(f"cause {name!r} is already registered")
    if "\n" in description:
        raise ValueError(f"cause {name!r}: description must be one line")

    def register(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
        FALSE_MATCH_CAUSES[name] = Cause(name, description, fn, per_noise)
        return fn

    return register


@false_match_cause("twin", "the register record is the query person's twin")
def _twin(p: PairFacts) -> np.ndarray:
    return p.r("person_id") == p.q("twin_id")


@false_match_cause("jr_sr", "the register record is the query person's Jr/Sr namesake")
def _jr_sr(p: PairFacts) -> np.ndarray:
    return p.r("person_id") == p.q("namesake_id")


@false_match_cause("household", "another member of the query person's household")
def _household(p: PairFacts) -> np.ndarray:
    return p.r("household_id") == p.q("household_id")


@false_match_cause(
    "same_name_dob",
    "a stranger with the same true first name, full surname and date of birth",
)
def _same_name_dob(p: PairFacts) -> np.ndarray:
    return (
        (p.q("first_name") == p.r("first_name"))
        & (p.full_surname("q") == p.full_surname("r"))
        & (p.q("dob") == p.r("dob"))
        & (p.q("household_id") != p.r("household_id"))
    )


@false_match_cause("common_name", "a stranger with the same true first name and full surname")
def _common_name(p: PairFacts) -> np.ndarray:
    return (p.q("first_name") == p.r("first_name")) & (p.full_surname("q") == p.full_surname("r"))


# Gated on the noise that declares this cause: a move matters only if a record actually carried
# the old address (otherwise the two addresses differ and the link came from something else).
@false_match_cause(
    "stale_address",
    "one record carried its household's previous address, where the other person now lives",
)
def _stale_address(p: PairFacts) -> np.ndarray:
    query_stale = (p.r("address_id") == p.q("previous_address_id")) & p.changed_for(
        "stale_address", side="query"
    )
    register_stale = (p.q("address_id") == p.r("previous_address_id")) & p.changed_for(
        "stale_address", side="register"
    )
    return query_stale | register_stale


@false_match_cause(
    "compound_surname",
    "a compound surname (either person) and one record's surname recorded in another form",
)
def _compound_surname(p: PairFacts) -> np.ndarray:
    compound = ~pd.isna(p.q("second_surname")) | ~pd.isna(p.r("second_surname"))
    return compound & p.changed_for("compound_surname", "last_name")


@false_match_cause(
    NOISE_CAUSE,
    "the noise type changed a field of the query record or of the linked register record (one "
    "per type, in noise registry order; the change was present, not necessarily decisive)",
    per_noise=True,
)
def _noise(p: PairFacts, noise: str) -> np.ndarray:
    return p.changed(noise)


# Fallback (test None): different people whose records look alike by chance.
FALSE_MATCH_CAUSES["similar"] = Cause(
    "similar", "none of the above: different people whose records look alike by chance", None
)


def noise_types_for(cause: str) -> tuple[str, ...]:
    """The registered noise types that declare ``cause`` (in registry order)."""
    from synthetic.noise import NOISE

    return tuple(name for name, nt in NOISE.items() if nt.cause == cause)


def false_match_causes(noise_order: Sequence[str] | None = None) -> list[Cause]:
    """The registry with templates expanded, in priority order (noise types in ``noise_order``,
    default: noise registry order). Expanded noise causes carry the noise type's description."""
    order = default_noise_order() if noise_order is None else list(noise_order)
    out: list[Cause] = []
    for c in FALSE_MATCH_CAUSES.values():
        if not c.per_noise:
            out.append(c)
            continue
        assert c.test is not None  # a template always has a test
        for noise in order:
            name = c.name.format(noise=noise)
            description = noise_description(noise) or c.description
            out.append(Cause(name, description, partial(c.test, noise=noise)))
    return out


def missed_match_causes(noise_order: Sequence[str] | None = None) -> list[str]:
    """Missed-match cause names in order: one per noise type, then ``none``."""
    order = default_noise_order() if noise_order is None else list(noise_order)
    return [NOISE_CAUSE.format(noise=n) for n in order] + [NO_NOISE]


def _unique_pairs(pairs: PairsLike, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct pairs, sorted by (query_row, register_row), and their integer keys."""
    return unique_pairs(*pair_arrays(pairs), width)


def _pair_keys(pairs: PairsLike, width: int) -> np.ndarray:
    """The distinct keys ``q * width + r`` of pairs, sorted (no rows split back out: at the real
    size a rule declares 131 million links)."""
    q, r = pair_arrays(pairs)
    return unique_ints(q * width + r)


def _width(*pairs: PairsLike, n_register: int = 0) -> int:
    # Keys q * width + r must be unique: width above every register row in sight.
    top = max([n_register - 1] + [int(pair_arrays(p)[1].max(initial=-1)) for p in pairs])
    return max(top + 1, 1)


def _first_true(flags: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """Name of the first True column of each row of ``flags`` (n x k, k >= 1; each row has one)."""
    return np.asarray(names, dtype=object)[np.argmax(flags, axis=1)]


def attribute_false_matches(
    links: PairsLike,
    truth: PairsLike,
    query_people: pd.DataFrame,
    register_people: pd.DataFrame | RegisterRows,
    noise_log: pd.DataFrame | NoiseIndex,
    noise_order: Sequence[str] | None = None,
    fields: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """One row per false match (declared link not in ``truth``; duplicates count once).

    ``fields``: the record fields the method compares (see :func:`compared_fields`); noise on
    other fields is not counted as a cause. None: every field counts.

    Columns: :data:`FP_COLUMNS` (``cause`` = the first cause in priority order that holds;
    ``query_not_in_register`` = the query person has no true link, so any link is wrong), then
    one bool flag per cause of :func:`false_match_causes` (every cause that holds).
    """
    causes = false_match_causes(noise_order)
    width = _width(links, truth, n_register=len(register_people))
    q, r, keys = _unique_pairs(links, width)
    tq, _, tkeys = _unique_pairs(truth, width)
    false = ~mark_sorted(keys, tkeys)
    q, r = q[false], r[false]
    index = noise_log if isinstance(noise_log, NoiseIndex) else NoiseIndex(noise_log)
    facts = PairFacts(q, r, query_people, register_people, index, fields)

    flags = np.zeros((len(q), len(causes)), dtype=bool)
    fallback = [i for i, c in enumerate(causes) if c.test is None]
    for i, c in enumerate(causes):
        if c.test is not None:
            flags[:, i] = np.asarray(c.test(facts), dtype=bool)
    others = flags.any(axis=1)
    for i in fallback:
        flags[:, i] = ~others
    frame = pd.DataFrame(
        {
            "query_row": q,
            "register_row": r,
            "cause": _first_true(flags, [c.name for c in causes]),
            "query_not_in_register": ~np.isin(q, tq),
        }
    )
    return pd.concat([frame, pd.DataFrame(flags, columns=[c.name for c in causes])], axis=1).astype(
        {"cause": object}
    )


def attribute_missed_matches(
    links: PairsLike,
    truth: PairsLike,
    noise_log: pd.DataFrame | NoiseIndex,
    noise_order: Sequence[str] | None = None,
    considered: PairsLike | None = None,
    fields: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """One row per missed match (true link not declared). ``fields`` as for
    :func:`attribute_false_matches`.

    Columns: :data:`FN_COLUMNS` (``cause`` = the first noise type, in ``noise_order``, that
    changed a field of either record of the true pair, as ``noise:<type>``, or ``none``;
    ``blocking_loss`` = the pair is not among ``considered``, the candidates a blocked method was
    shown; None means every pair was considered), then one bool flag per cause of
    :func:`missed_match_causes` (multi-label).
    """
    order = default_noise_order() if noise_order is None else list(noise_order)
    names = missed_match_causes(order)
    extra: list[PairsLike] = [considered] if considered is not None else []
    width = _width(links, truth, *extra)
    tq, tr, tkeys = _unique_pairs(truth, width)
    missed = ~isin_sorted(tkeys, _pair_keys(links, width))
    q, r = tq[missed], tr[missed]
    lost = np.zeros(len(q), dtype=bool)
    if considered is not None:
        lost = ~isin_sorted(tkeys[missed], _pair_keys(considered, width))
    index = noise_log if isinstance(noise_log, NoiseIndex) else NoiseIndex(noise_log)

    flags = np.zeros((len(q), len(names)), dtype=bool)
    for i, noise in enumerate(order):
        flags[:, i] = index.changed(q, r, noise, fields)
    flags[:, -1] = ~flags[:, :-1].any(axis=1)
    frame = pd.DataFrame(
        {
            "query_row": q,
            "register_row": r,
            "cause": _first_true(flags, names),
            "blocking_loss": lost,
        }
    )
    return pd.concat([frame, pd.DataFrame(flags, columns=names)], axis=1).astype({"cause": object})


def cause_table(
    attribution: pd.DataFrame, n_queries: int, count: str | None = None, of: int | None = None
) -> pd.DataFrame:
    """Summary of an attribution frame, one row per cause in order (zeros included).

    Columns: ``cause``; ``<count>`` (rows whose primary cause it is; ``count`` defaults to "FP"
    for false matches, "FN" for missed matches); ``share`` of all rows (NaN if none);
    ``<count>_per_1M`` queries; ``flagged`` (rows for which the cause holds, primary or not); and
    the count of primary rows carrying the frame's extra flag (``query_not_in_register`` or
    ``blocking_loss``).

    ``of``: the number of errors the frame's rows are a simple random sample of
    (:mod:`bench.measurement.attributed`), given when some method of the run is sampled. Then
    every count is an estimate of the ``of`` errors (:func:`~bench.measurement.attributed.
    estimate`; the primary counts sum to ``of``), ``share`` is the sample's, and the columns
    ``sampled`` (rows), ``of``, and ``<c>_lo``, ``<c>_hi`` (95% interval) of each count ``c``
    follow. With ``of`` equal to the rows (nothing sampled) the counts are exact, and each
    interval is the count itself.
    """
    fp = attribution.columns[: len(FP_COLUMNS)].tolist() == list(FP_COLUMNS)
    fn = attribution.columns[: len(FN_COLUMNS)].tolist() == list(FN_COLUMNS)
    if not (fp or fn):
        raise ValueError("not an attribution frame (see attribute_false_matches)")
    leading = FP_COLUMNS if fp else FN_COLUMNS
    count = count or ("FP" if fp else "FN")
    extra = leading[-1]
    names = attribution.columns[len(leading) :].tolist()
    primary = pd.Categorical(attribution["cause"], categories=names)
    counts = pd.Series(primary).value_counts(sort=False).reindex(names).to_numpy(np.int64)
    extra_counts = (
        pd.Series(primary[attribution[extra].to_numpy(bool)])
        .value_counts(sort=False)
        .reindex(names)
        .to_numpy(np.int64)
    )
    total = len(attribution)
    share = counts / total if total else np.full(len(names), np.nan)
    flagged = attribution[names].sum(axis=0).to_numpy(np.int64)
    bounds: dict[str, np.ndarray] = {}
    if of is not None:
        if of < total:
            raise ValueError(f"a sample of {total:,} rows cannot be of {of:,} errors")
        # estimates of the `of` errors: the primary counts partition them, the flags do not
        counts, bounds[f"{count}_lo"], bounds[f"{count}_hi"] = scaled_partition(counts, total, of)
        flagged, bounds["flagged_lo"], bounds["flagged_hi"] = estimate(flagged, total, of)
        extra_counts, bounds[f"{extra}_lo"], bounds[f"{extra}_hi"] = estimate(
            extra_counts, total, of
        )
    frame = pd.DataFrame(
        {
            "cause": names,
            count: counts,
            "share": share,
            f"{count}_per_1M": counts * PER / n_queries if n_queries else np.nan,
            "flagged": flagged,
            extra: extra_counts,
        }
    )
    if of is None:
        return frame
    return frame.assign(sampled=total, of=int(of), **bounds)


def cause_descriptions(noise_order: Sequence[str] | None = None) -> dict[str, str]:
    """Every false-match and missed-match cause name with its one-line description."""
    out = {c.name: c.description for c in false_match_causes(noise_order)}
    out[NO_NOISE] = "neither record of the true pair was changed by noise"
    return out


__all__ = [
    "DEFINITIONS",
    "FALSE_MATCH_CAUSES",
    "FN_COLUMNS",
    "FP_COLUMNS",
    "NOISE_CAUSE",
    "NO_NOISE",
    "PEOPLE_NEEDED",
    "Cause",
    "NoiseIndex",
    "PairFacts",
    "RegisterRows",
    "attribute_false_matches",
    "attribute_missed_matches",
    "cause_descriptions",
    "cause_table",
    "default_noise_order",
    "false_match_cause",
    "false_match_causes",
    "missed_match_causes",
]
