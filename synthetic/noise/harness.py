"""The noise harness: the registry of noise types (:data:`NOISE`, filled by :func:`noise_type`),
the validation of scenario noise tables against it, :func:`apply_noise` (which cells or rows each
type corrupts, each from its own named stream) and the helpers the noise functions share."""

from __future__ import annotations

import copyreg
import dataclasses
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from synthetic.config import describe, join, like
from synthetic.errors import ConfigError
from synthetic.names import GROUPS
from synthetic.rng import stream

NAME_FIELDS = ("first_name", "middle_name", "last_name", "suffix")
ADDRESS_FIELDS = ("house_number", "street", "unit", "city", "state", "zip")
#: Identifiers: the taxpayer identification number (SSN or ITIN), 9 digits without dashes;
#: missing (None) for people without one and in scenarios without identifiers.
IDENTIFIER_FIELDS = ("tin",)
RECORD_FIELDS = (*NAME_FIELDS, "dob", *ADDRESS_FIELDS, *IDENTIFIER_FIELDS)
#: Selection units: each row (person) on its own, or one draw shared by a household's rows.
UNITS = ("person", "household")

#: Keys of a noise table that are not parameters of the noise function.
_RESERVED_KEYS = ("rate", "fields", "field_rates", "group_rates")


@dataclasses.dataclass(frozen=True)
class NoiseContext:
    """Shared, read-only data the noise functions may draw from.

    ``people`` holds person attributes (``synthetic.population.PEOPLE_COLUMNS``) aligned by position
    with the records given to :func:`apply_noise`. A noise function sees only the attributes its
    type ``needs``, as ``ctx.people`` restricted to the rows it is given (same index as its input).
    """

    addresses: pd.DataFrame  # pool of real addresses: address_id, house_number, ..., zip
    people: pd.DataFrame | None = None


def _people(ctx: NoiseContext) -> pd.DataFrame:
    """``ctx.people`` where a noise type reads person attributes: :func:`apply_noise` has checked
    that it is given whenever the active types need any."""
    assert ctx.people is not None, "apply_noise refuses a missing people when attributes are needed"
    return ctx.people


NoiseFn = Callable[
    [pd.Series | pd.DataFrame, np.random.Generator, Mapping[str, Any], NoiseContext],
    pd.Series | pd.DataFrame,
]


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _pickle_frozen(mapping: MappingProxyType[str, Any]) -> tuple[Any, tuple[dict[str, Any]]]:
    return _frozen, (dict(mapping),)


# Settings hold read-only mappings, which pickle does not take: as a copy, read-only again (the
# configuration goes to the child process that generates a big population).
copyreg.pickle(MappingProxyType, _pickle_frozen)


@dataclasses.dataclass(frozen=True)
class NoiseType:
    """A registered noise type (see the module docstring)."""

    name: str
    fn: NoiseFn
    fields: tuple[str, ...]  # fields it may apply to
    default_rate: float  # applied when a scenario does not mention it
    joint: bool  # False: per field, fn gets a Series; True: per row, fn gets a DataFrame
    params: Mapping[str, Any]  # defaults of extra parameters (type-checked against these)
    description: str  # one line, shown in reports and `linkrisk noise` listings
    #: Inclusive (low, high) bounds of numeric parameters.
    param_bounds: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=_frozen)
    #: Default per-field rates that override ``default_rate`` (used only when a scenario gives
    #: neither ``rate`` nor ``field_rates`` for this type). Not allowed for joint types.
    default_field_rates: Mapping[str, float] = dataclasses.field(default_factory=_frozen)
    #: Cross-parameter check: returns a problem message, or None when the parameters are fine.
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    #: Person attributes (columns of ``NoiseContext.people``) the function reads.
    needs: tuple[str, ...] = ()
    #: Rows the type can apply to, from the person attributes in ``needs``; None: every row.
    applies_to: Callable[[pd.DataFrame], np.ndarray] | None = None
    #: "person": one selection draw per row; "household": one per household (a whole household's
    #: rows are selected together, e.g. a family that moved). Needs ``household_id``.
    unit: str = "person"
    #: Default rates by name-origin group, overriding the rate for people of that group.
    default_group_rates: Mapping[str, float] = dataclasses.field(default_factory=_frozen)
    #: Where the default rate and parameters come from (a citation, or "assumption"): reports
    #: print it in their assumptions ledger.
    source: str = "assumption"
    #: The false-match cause a change by this type can make (e.g. ``"stale_address"``: a record
    #: carried its household's previous address), or None. Error attribution asks which noise
    #: types produce a cause through this declaration, never by their names.
    cause: str | None = None
    #: Whether the type may write a value into a missing cell (a value the person's record
    #: lacks, e.g. a borrowed identifier); other types never select missing cells.
    fills_missing: bool = False


#: The registry. Registration order is application order.
NOISE: dict[str, NoiseType] = {}


def noise_type(
    name: str,
    fields: tuple[str, ...] | list[str],
    default_rate: float,
    *,
    joint: bool = False,
    params: Mapping[str, Any] | None = None,
    description: str = "",
    param_bounds: Mapping[str, tuple[float, float]] | None = None,
    default_field_rates: Mapping[str, float] | None = None,
    check: Callable[[Mapping[str, Any]], str | None] | None = None,
    needs: tuple[str, ...] = (),
    applies_to: Callable[[pd.DataFrame], np.ndarray] | None = None,
    unit: str = "person",
    default_group_rates: Mapping[str, float] | None = None,
    source: str = "assumption",
    cause: str | None = None,
    fills_missing: bool = False,
) -> Callable[[NoiseFn], NoiseFn]:
    """Decorator that registers ``fn`` as the noise type ``name`` (appended: applied last)."""
    fields = tuple(fields)
    default_group_rates = dict(default_group_rates or {})
    if unit not in UNITS:
        raise ValueError(f"noise type {name!r}: unit must be one of {', '.join(UNITS)}")
    if set(default_group_rates) - set(GROUPS) or not all(
        _is_rate(r) for r in default_group_rates.values()
    ):
        raise ValueError(f"noise type {name!r}: invalid default_group_rates")
    params = dict(params or {})
    param_bounds = dict(param_bounds or {})
    default_field_rates = dict(default_field_rates or {})
    if name in NOISE:
        raise ValueError(f"noise type {name!r} is already registered")
    if not fields or len(set(fields)) != len(fields):
        raise ValueError(f"noise type {name!r}: fields must be non-empty and distinct")
    if not _is_rate(default_rate):
        raise ValueError(f"noise type {name!r}: default_rate must be in [0, 1]")
    if fills_missing and joint:
        raise ValueError(f"noise type {name!r}: a joint type cannot fill missing cells")
    if "\n" in description:
        raise ValueError(f"noise type {name!r}: description must be one line")
    for key, default in params.items():
        if key in _RESERVED_KEYS:
            raise ValueError(f"noise type {name!r}: parameter name {key!r} is reserved")
        if type(default) not in (bool, int, float, str):
            raise ValueError(f"noise type {name!r}: parameter {key!r} must be bool/int/float/str")
    if set(param_bounds) - set(params):
        raise ValueError(f"noise type {name!r}: bounds given for unknown parameters")
    if default_field_rates and (
        joint
        or set(default_field_rates) - set(fields)
        or not all(_is_rate(r) for r in default_field_rates.values())
    ):
        raise ValueError(f"noise type {name!r}: invalid default_field_rates")

    def register(fn: NoiseFn) -> NoiseFn:
        NOISE[name] = NoiseType(
            name=name,
            fn=fn,
            fields=fields,
            default_rate=float(default_rate),
            joint=joint,
            params=_frozen(params),
            description=description or (fn.__doc__ or "").strip().splitlines()[0],
            param_bounds=_frozen(param_bounds),
            default_field_rates=_frozen(default_field_rates),
            check=check,
            needs=tuple(needs),
            applies_to=applies_to,
            unit=unit,
            default_group_rates=_frozen(default_group_rates),
            source=source,
            cause=cause,
            fills_missing=fills_missing,
        )
        return fn

    return register


# ---------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class NoiseSetting:
    """The validated configuration of one noise type for one side."""

    rate: float
    fields: tuple[str, ...]
    params: Mapping[str, Any]
    #: Per-field rates overriding ``rate`` (non-joint types only).
    field_rates: Mapping[str, float] = dataclasses.field(default_factory=_frozen)
    #: Per-group rates overriding the (field) rate for people of that name-origin group.
    group_rates: Mapping[str, float] = dataclasses.field(default_factory=_frozen)

    def rate_for(self, field: str) -> float:
        """The selection rate of ``field`` (before group overrides)."""
        return self.field_rates.get(field, self.rate)

    @property
    def active(self) -> bool:
        """Whether any cell can be selected."""
        rates = (self.rate, *self.field_rates.values(), *self.group_rates.values())
        return any(r > 0 for r in rates)


def _is_rate(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1


def _check_rate(value: Any, where: str) -> float:
    return like(value, 0.0, where, 0.0, 1.0)


def _check_fields(value: Any, allowed: tuple[str, ...], where: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(f, str) for f in value):
        raise ConfigError(where, f"must be a list of field names, got {describe(value)}")
    if not value:
        raise ConfigError(where, "must not be empty (use rate = 0 to switch the noise off)")
    for f in value:
        if f not in allowed:
            raise ConfigError(
                where, f"{f!r} is not a field this noise applies to ({', '.join(allowed)})"
            )
    if len(set(value)) != len(value):
        raise ConfigError(where, "lists a field twice")
    return tuple(f for f in allowed if f in value)  # registry order, for determinism


def _rate_table(
    table: Mapping[str, Any], key: str, allowed: tuple[str, ...], problem: str, where: str
) -> dict[str, float] | None:
    """The ``key = {name = rate, ...}`` table of a noise table (None if absent), names checked
    against ``allowed`` (``problem`` + the allowed names is the error for others)."""
    if key not in table:
        return None
    raw, w = table[key], join(where, key)
    if not isinstance(raw, Mapping):
        raise ConfigError(w, f"must be a table of name = rate, got {describe(raw)}")
    for name in raw:
        if name not in allowed:
            raise ConfigError(join(w, str(name)), f"{problem} ({', '.join(allowed)})")
    return {name: _check_rate(r, join(w, name)) for name, r in raw.items()}


def _validate_one(nt: NoiseType, table: Any, where: str) -> NoiseSetting:
    if table is None:
        table = {}
    if not isinstance(table, Mapping):
        raise ConfigError(where, f"must be a table (e.g. {{rate = 0.01}}), got {describe(table)}")
    allowed = ("rate", "fields", *(() if nt.joint else ("field_rates",)), "group_rates", *nt.params)
    for key in table:
        if key not in allowed:
            raise ConfigError(join(where, str(key)), f"unknown key; allowed: {', '.join(allowed)}")
    rate = _check_rate(table["rate"], join(where, "rate")) if "rate" in table else nt.default_rate
    fields = (
        _check_fields(table["fields"], nt.fields, join(where, "fields"))
        if "fields" in table
        else nt.fields
    )
    # An explicit rate applies to every field and group, unless overridden in the same table.
    field_rates = _rate_table(
        table, "field_rates", fields, "not a selected field of this noise", where
    )
    if field_rates is None:
        field_rates = (
            {}
            if "rate" in table
            else {f: r for f, r in nt.default_field_rates.items() if f in fields}
        )
    group_rates = _rate_table(table, "group_rates", GROUPS, "unknown group; known", where)
    if group_rates is None:
        group_rates = {} if "rate" in table else dict(nt.default_group_rates)
    params = dict(nt.params)
    for key, default in nt.params.items():
        if key in table:
            bounds = nt.param_bounds.get(key)
            params[key] = like(table[key], default, join(where, key), *(bounds or (None, None)))
    if nt.check is not None and (problem := nt.check(params)) is not None:
        raise ConfigError(where, problem)
    return NoiseSetting(rate, fields, _frozen(params), _frozen(field_rates), _frozen(group_rates))


def validate_noise_spec(spec: Mapping[str, Any] | None, where: str) -> dict[str, NoiseSetting]:
    """Check a noise table as parsed from TOML and fill in the defaults.

    ``spec`` maps noise names to tables with optional keys ``rate`` (in [0, 1]), ``fields`` (a
    subset of the fields the noise applies to), ``field_rates`` (per-field rates overriding
    ``rate``; not for joint types), ``group_rates`` (rates by name-origin group, overriding the
    others for people of that group) and the noise's own parameters. Every registered type
    appears in the result, in registry order; unmentioned types get their defaults. Raises
    :class:`ConfigError` naming the offending path, e.g. ``register.noise.typo.rate``.
    """
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ConfigError(where, f"must be a table of noise types, got {describe(spec)}")
    for name in spec:
        if name not in NOISE:
            raise ConfigError(
                join(where, str(name)), f"unknown noise type; known: {', '.join(NOISE)}"
            )
    return {
        name: _validate_one(nt, spec.get(name), join(where, name)) for name, nt in NOISE.items()
    }


# ---------------------------------------------------------------------------------------------
# Harness
# ---------------------------------------------------------------------------------------------


def _same(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Element-wise equality of two object arrays, with missing == missing."""
    old_na, new_na = pd.isna(old), pd.isna(new)
    both = ~old_na & ~new_na
    eq = old_na & new_na
    eq[both] = old[both] == new[both]
    return eq


def _checked(out: Any, chosen: pd.Series | pd.DataFrame, name: str) -> None:
    if type(out) is not type(chosen) or len(out) != len(chosen):
        raise TypeError(f"noise {name!r} must return a {type(chosen).__name__} of the same length")
    if not out.index.equals(chosen.index):
        raise ValueError(f"noise {name!r} changed the index of its input")
    if isinstance(out, pd.DataFrame) and not set(chosen.columns) <= set(out.columns):
        raise ValueError(f"noise {name!r} dropped columns of its input")


def apply_noise(
    records: pd.DataFrame,
    settings: Mapping[str, NoiseSetting],
    seed: int,
    side: str,
    ctx: NoiseContext,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Corrupt ``records`` as configured; return ``(noised copy, log)``.

    The copy has the same index, columns and dtypes. The log has one row per changed cell:
    ``row`` (int64 position), ``field`` and ``noise``, sorted by row, then application order. A cell
    changed by two noise types appears twice. Types missing from ``settings`` are not applied.

    Selection, for each type in registry order and each of its configured fields (once per row for
    joint types): ``rng = stream(seed, "noise", side, name, field or "*")``; ``u =
    rng.random(len(records))`` (for household units, every row takes the ``u`` of its household's
    first row); the cells with ``u`` below their rate (the group's rate if ``group_rates`` names the
    row's group) that the type ``applies_to`` and that are not missing (joint: rows with any
    configured field not missing) are passed to the noise function with ``rng.spawn(1)[0]``.
    Missing cells stay missing, except for types that fill them (``fills_missing``: their
    selection includes missing cells). The draws cover all rows, so which cells a type selects
    does not depend on other types (except that cells another type has blanked are skipped).
    """
    unknown = [name for name in settings if name not in NOISE]
    if unknown:
        raise ValueError(f"unknown noise types in settings: {', '.join(unknown)}")
    active = {name: s for name, s in settings.items() if s.active}
    needed = {
        f
        for name, s in active.items()
        for f in (NOISE[name].fields if NOISE[name].joint else s.fields)
    }
    absent = sorted(needed - set(records.columns))
    if absent:
        raise ValueError(f"records lack the columns the noise needs: {', '.join(absent)}")
    people = ctx.people
    attrs = required_attributes(active)
    if attrs:
        if people is None or len(people) != len(records):
            raise ValueError(
                "these noise types need person attributes aligned with the records "
                f"(NoiseContext.people): {', '.join(sorted(attrs))}"
            )
        missing_attrs = sorted(attrs - set(people.columns))
        if missing_attrs:
            raise ValueError(
                f"NoiseContext.people lacks the attributes: {', '.join(missing_attrs)}"
            )

    n = len(records)
    work: dict[str, np.ndarray] = {}
    changed_fields: set[str] = set()
    log_rows: list[np.ndarray] = []
    log_fields: list[tuple[str, str]] = []
    group_codes = None
    household_first: np.ndarray | None = None

    def column(f: str) -> np.ndarray:
        if f not in work:
            work[f] = records[f].to_numpy(dtype=object, copy=True)
        return work[f]

    def write(f: str, pos: np.ndarray, new: np.ndarray, step_name: str) -> None:
        col = column(f)
        changed = ~_same(col[pos], new)
        if changed.any():
            col[pos] = new
            changed_fields.add(f)
            log_rows.append(pos[changed])
            log_fields.append((f, step_name))

    def select(nt: NoiseType, setting: NoiseSetting, field: str, eligible: np.ndarray | None):
        nonlocal group_codes, household_first
        rng = stream(seed, "noise", side, nt.name, field)
        u = rng.random(n)
        if nt.unit == "household":
            if household_first is None:  # once for every household-unit type (a sort)
                hh = _people(ctx)["household_id"].to_numpy()
                _, first, inverse = np.unique(hh, return_index=True, return_inverse=True)
                household_first = first[inverse]  # each row's household's first row
            u = u[household_first]
        rate = np.full(n, setting.rate_for(field) if field != "*" else setting.rate)
        if setting.group_rates:
            if group_codes is None:
                group_codes = _people(ctx)["group"].to_numpy(dtype=object)
            for g, r in setting.group_rates.items():
                rate[group_codes == g] = r
        hit = u < rate
        if eligible is not None:
            hit &= eligible
        return rng, np.flatnonzero(hit)

    def view(nt: NoiseType, pos: np.ndarray) -> NoiseContext:
        if not nt.needs:
            return ctx
        sub = _people(ctx)[list(nt.needs)].iloc[pos].set_axis(records.index[pos])
        return dataclasses.replace(ctx, people=sub)

    for name, nt in NOISE.items():
        setting = active.get(name)
        if setting is None:
            continue
        eligible = None
        if nt.applies_to is not None:
            eligible = np.asarray(nt.applies_to(_people(ctx)[list(nt.needs)]), dtype=bool)
        if nt.joint:
            rng, pos = select(nt, setting, "*", eligible)
            blank = {f: pd.isna(column(f)[pos]) for f in setting.fields}
            keep = ~np.logical_and.reduce([blank[f] for f in setting.fields])
            pos = pos[keep]
            blank = {f: b[keep] for f, b in blank.items()}
            if pos.size == 0:
                continue
            chosen = pd.DataFrame(
                {f: column(f)[pos] for f in nt.fields}, index=records.index[pos], dtype=object
            )
            out = nt.fn(chosen, rng.spawn(1)[0], setting.params, view(nt, pos))
            _checked(out, chosen, name)
            for f in setting.fields:
                new = out[f].to_numpy(dtype=object)
                new = np.where(blank[f], column(f)[pos], new)  # missing stays missing
                write(f, pos, new, name)
        else:
            for f in setting.fields:
                rng, pos = select(nt, setting, f, eligible)
                if not nt.fills_missing:
                    pos = pos[~pd.isna(column(f)[pos])]
                if pos.size == 0:
                    continue
                chosen = pd.Series(column(f)[pos], index=records.index[pos], name=f, dtype=object)
                out = nt.fn(chosen, rng.spawn(1)[0], setting.params, view(nt, pos))
                _checked(out, chosen, name)
                write(f, pos, out.to_numpy(dtype=object), name)

    noised = records.copy()
    for f in changed_fields:
        noised[f] = pd.Series(work[f], index=records.index, name=f, dtype=records[f].dtype)

    if log_rows:
        rows = np.concatenate(log_rows).astype(np.int64)
        sizes = [len(r) for r in log_rows]
        step = np.repeat(np.arange(len(log_rows)), sizes)
        fields = np.repeat(np.array([f for f, _ in log_fields], dtype=object), sizes)
        noises = np.repeat(np.array([s for _, s in log_fields], dtype=object), sizes)
        order = np.lexsort((step, rows))
        log = pd.DataFrame({"row": rows[order], "field": fields[order], "noise": noises[order]})
    else:
        log = pd.DataFrame(
            {
                "row": np.array([], dtype=np.int64),
                "field": np.array([], dtype=object),
                "noise": np.array([], dtype=object),
            }
        )
    return noised, log


def required_attributes(settings: Mapping[str, NoiseSetting]) -> set[str]:
    """Person attributes (``NoiseContext.people`` columns) that ``settings`` need."""
    return {a for name, s in settings.items() if s.active for a in _attributes(NOISE[name], s)}


def _attributes(nt: NoiseType, setting: NoiseSetting) -> tuple[str, ...]:
    """Person attributes an active setting of ``nt`` reads."""
    extra = ("household_id",) if nt.unit == "household" else ()
    return (*nt.needs, *extra, *(("group",) if setting.group_rates else ()))


# ---------------------------------------------------------------------------------------------
# Helpers for the noise functions
# ---------------------------------------------------------------------------------------------


def _choose_variant(
    values: pd.Series,
    rng: np.random.Generator | None,
    variants_of: Callable[[str], tuple[str, ...]],
    u: np.ndarray | None = None,
) -> pd.Series:
    """Replace each value by one of ``variants_of(value)`` (uniformly), or keep it if none.

    ``variants_of`` is called once per distinct value; the choice per cell is vectorized. Pass
    ``u`` (uniforms, one per value) instead of ``rng`` to make the same choice for several fields
    of a row, e.g. one romanization scheme for all of a person's names.
    """
    arr = values.to_numpy(dtype=object)
    codes, uniques = pd.factorize(arr)
    variants = [variants_of(u) if isinstance(u, str) else () for u in uniques]
    counts = np.array([len(v) for v in variants] + [0], dtype=np.int64)  # [-1] -> missing
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    flat = np.array([x for v in variants for x in v], dtype=object)
    n_var = counts[codes]
    if u is None:
        assert rng is not None, "pass rng or u"
        u = rng.random(len(arr))
    k = np.minimum(np.floor(u * n_var).astype(np.int64), n_var - 1)
    ok = n_var > 0
    out = arr.copy()
    out[ok] = flat[offsets[codes[ok]] + k[ok]]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


def _address_codes(pool: pd.DataFrame, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the ZIP over ``pool`` then ``rows`` (numbered by first appearance: their
    order picks replacements), and for each row the lowest position of ``pool`` holding the
    row's whole address (all of :data:`ADDRESS_FIELDS` equal, missing equal to missing), or -1.

    At the real size the pool holds every address of 331 million people (~130 million), so no
    step hashes or sorts the pool's whole addresses: the fields are packed into one integer a
    field at a time, and after each field only the pool positions whose packed value some row
    has are kept (after the ZIP, the house number and the street: about one a row).
    """
    size = len(pool)
    zip_code = _field_codes(pool["zip"], rows["zip"], first_appearance=True)
    packed, span = zip_code, int(zip_code.max(initial=0)) + 1
    keep = np.arange(size + len(rows))  # positions (pool, then rows) that may still match
    rest = sorted((f for f in ADDRESS_FIELDS if f != "zip"), key=_PACK_ORDER.index)
    for f in rest:
        c = _field_codes(pool[f], rows[f])[keep]
        m = int(c.max(initial=0)) + 1
        if span * m >= 2**62:  # renumber the kept values first (a few per row by then)
            packed = pd.factorize(packed)[0].astype(np.int64)
            span = int(packed.max(initial=0)) + 1
        packed = packed * m + c
        span *= m
        del c
        is_row = keep >= size
        wanted = np.unique(packed[is_row])
        at = np.searchsorted(wanted, packed)
        held = wanted[np.minimum(at, max(len(wanted) - 1, 0))] == packed if len(wanted) else is_row
        held |= is_row
        keep, packed = keep[held], packed[held]
        del at, held, is_row
    in_pool = keep < size
    values, where = packed[in_pool], keep[in_pool]  # ``where`` ascending
    order = np.argsort(values, kind="stable")  # equal values: lowest position first
    values, where = values[order], where[order]
    wanted = packed[~in_pool]
    at = np.minimum(np.searchsorted(values, wanted), max(len(values) - 1, 0))
    found = values[at] == wanted if len(values) else np.zeros(len(wanted), bool)
    return zip_code, np.where(found, where[at] if len(values) else -1, -1).astype(np.int64)


#: The order in which :func:`_address_codes` packs the fields after the ZIP: the most telling
#: first, so that few pool positions are left after three.
_PACK_ORDER = ("house_number", "street", "unit", "city", "state")


def _field_codes(pool: pd.Series, rows: pd.Series, first_appearance: bool = False) -> np.ndarray:
    """One integer per value of ``pool`` then ``rows``; equal integers for equal values (missing
    equal to missing). ``first_appearance``: numbered in order of first appearance, as
    :func:`pd.factorize` of the strings numbers them (else any numbering). A compact pool
    (a categorical: every block's addresses) is numbered from its codes, without a string per
    pool value."""
    if not isinstance(pool.dtype, pd.CategoricalDtype):
        both = np.concatenate([pool.to_numpy(dtype=object), rows.to_numpy(dtype=object)])
        return pd.factorize(both, use_na_sentinel=False)[0].astype(np.int64)
    cats = np.asarray(pool.cat.categories, dtype=object)
    codes = pool.cat.codes.to_numpy()
    if first_appearance:
        # number the categories by their codes' first appearance, then the rows' values after
        # them: the numbers factorizing the strings gives
        at, seen = pd.factorize(codes)
        first = np.where(seen >= 0, cats[np.maximum(seen, 0)], None)
        both = np.concatenate([first, rows.to_numpy(dtype=object)])
        number = pd.factorize(both, use_na_sentinel=False)[0].astype(np.int64)
        return np.concatenate([number[: len(first)][at], number[len(first) :]])
    # the category's code; missing: len(cats); a value the pool lacks: after those
    values = rows.to_numpy(dtype=object)
    missing = pd.isna(values)
    out = pd.Index(cats).get_indexer(np.where(missing, None, values)).astype(np.int64)
    out[missing] = len(cats)
    new = (out < 0) & ~missing
    if new.any():
        out[new] = len(cats) + 1 + pd.factorize(values[new])[0]
    own = codes.astype(np.int64)
    own[own < 0] = len(cats)
    return np.concatenate([own, out])


# ---------------------------------------------------------------------------------------------
# Noise types (registration order = application order)
# ---------------------------------------------------------------------------------------------


def _weights_ok(keys: tuple[str, ...]) -> Callable[[Mapping[str, Any]], str | None]:
    def check(params: Mapping[str, Any]) -> str | None:
        return (
            None if sum(params[k] for k in keys) > 0 else f"the weights {', '.join(keys)} sum to 0"
        )

    return check


def _pick(rng: np.random.Generator, params: Mapping[str, Any], keys: tuple[str, ...], n: int):
    """``n`` indices into ``keys``, drawn with the relative weights ``params[key]``."""
    w = np.array([params[k] for k in keys], dtype=float)
    return rng.choice(len(keys), size=n, p=w / w.sum())


def _obj(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=object)
