"""Noise: the errors that make two records of the same person look different.

Modelled on pseudopeople (https://pseudopeople.readthedocs.io): every noise type is declared once,
in the registry ``NOISE`` below, as a small pure function. The harness (:func:`apply_noise`) decides
which cells (or, for joint types, which rows) to corrupt; the function only transforms the values it
is given. Each (side, noise type, field) draws from its own named random stream
(:func:`synthetic.rng.stream`), so adding a noise type, or changing the rate of one, never changes
which cells the others select. Scenario configs are checked against the registry by
:func:`validate_noise_spec`; unknown names and keys are rejected.

Adding a noise type: write ``fn(values, rng, params, ctx)`` that returns a Series (or DataFrame, for
``joint=True``) with the same index (and columns) as ``values``, decorate it with
:func:`noise_type`, and the contract tests in ``tests/test_noise.py`` cover it automatically.

Row noise (whole records omitted or recorded twice, pseudopeople's "row noise") has a registry of
its own, :data:`ROW_NOISE`, applied to a register's people before the cell noise
(:func:`apply_row_noise`; section "Row noise" at the end of this module).

Default rates: pseudopeople uses a cell probability of 0.01 for every column noise type by default
(``ColumnNoiseType.cell_probability = 0.01`` in ``pseudopeople/entity_types.py``); the other
defaults are labelled *assumption* where they are declared.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from synthetic.config import describe, join, like
from synthetic.errors import ConfigError
from synthetic.names import GROUPS
from synthetic.rng import stream
from synthetic.variants import accented_form, transliteration_variants

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
        nonlocal group_codes
        rng = stream(seed, "noise", side, nt.name, field)
        u = rng.random(n)
        if nt.unit == "household":
            hh = _people(ctx)["household_id"].to_numpy()
            _, first, inverse = np.unique(hh, return_index=True, return_inverse=True)
            u = u[first][inverse]
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
    """Integer codes of the ZIP and of the full address, over ``pool`` then ``rows``.

    Equal codes mean equal values (missing equals missing). Vectorized: one hash factorization
    per field, and the address code is refactorized after each field so it stays small.
    """

    def codes(f: str) -> np.ndarray:
        both = np.concatenate([pool[f].to_numpy(dtype=object), rows[f].to_numpy(dtype=object)])
        return pd.factorize(both, use_na_sentinel=False)[0].astype(np.int64)

    zip_code = codes("zip")
    key = zip_code
    for f in ADDRESS_FIELDS:
        if f != "zip":
            c = codes(f)
            key = pd.factorize(key * (int(c.max()) + 1) + c)[0].astype(np.int64)
    return zip_code, key


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


SURNAME_FORMS = ("paternal", "hyphenated", "concatenated", "reversed", "maternal", "married")


# Default rate 0.5 -- assumption: half of the people with a compound surname appear in a given
# agency's file in a form other than both surnames (US forms have one "last name" box; agencies and
# clerks keep the first surname, join the two or reorder them). The weights are assumptions.
@noise_type(
    "surname_form",
    ("last_name",),
    0.5,
    params={
        "paternal": 0.55,
        "hyphenated": 0.15,
        "concatenated": 0.1,
        "reversed": 0.05,
        "maternal": 0.05,
        "married": 0.1,
    },
    param_bounds={k: (0.0, math.inf) for k in SURNAME_FORMS},
    check=_weights_ok(SURNAME_FORMS),
    needs=("last_name", "second_surname", "spouse_surname", "sex"),
    applies_to=lambda p: p["second_surname"].notna().to_numpy(),
    description="compound surname GARCIA LOPEZ as GARCIA, GARCIA-LOPEZ, GARCIALOPEZ, LOPEZ GARCIA,"
    " LOPEZ, or a wife's GARCIA DE MARTINEZ",
    source="assumption (half of compound surnames recorded in another form; form weights assumed)",
    cause="compound_surname",
)
def surname_form(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Record a compound (paternal + maternal) surname in another form, drawn by the weights.

    The "married" form (own paternal + DE + husband's surname) applies only to women with a
    spouse; for others it falls back to the paternal surname alone.
    """
    p = _people(ctx)
    pat, mat = _obj(p["last_name"]), _obj(p["second_surname"])
    spouse = _obj(p["spouse_surname"])
    wife = (p["sex"].to_numpy(dtype=object) == "F") & ~pd.isna(spouse)
    form = _pick(rng, params, SURNAME_FORMS, len(values))
    forms = {
        "paternal": pat,
        "hyphenated": pat + "-" + mat,
        "concatenated": _obj(pd.Series(pat + mat, dtype=object).str.replace(" ", "")),
        "reversed": mat + " " + pat,
        "maternal": mat,
        "married": np.where(wife, pat + " DE " + np.where(wife, spouse, ""), pat),
    }
    out = np.empty(len(values), dtype=object)
    for i, name in enumerate(SURNAME_FORMS):
        out[form == i] = forms[name][form == i]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0.25 -- assumption: a quarter of people whose surname changed (marriage, divorce)
# are still on a given agency's file under the previous one (updates lag, e.g. until the next
# filing or renewal).
@noise_type(
    "previous_surname",
    ("last_name",),
    0.25,
    needs=("previous_surname",),
    applies_to=lambda p: p["previous_surname"].notna().to_numpy(),
    description="surname before a marriage or divorce still on file",
    source="assumption (a quarter of name changes not yet on file)",
)
def previous_surname(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the surname by the person's previous surname."""
    return pd.Series(
        _obj(_people(ctx)["previous_surname"]), index=values.index, name=values.name, dtype=object
    )


def _by_token(variant: Callable[[str], tuple[str, ...]]) -> Callable[[str], tuple[str, ...]]:
    """Variants of a multi-word value: each word that has variants takes its k-th (cycling)."""

    @lru_cache(maxsize=65536)
    def of(value: str) -> tuple[str, ...]:
        words = value.split(" ")
        options = [variant(w) for w in words]
        k = max((len(o) for o in options), default=0)
        return tuple(
            " ".join(o[i % len(o)] if o else w for w, o in zip(words, options, strict=True))
            for i in range(k)
        )

    return of


_translit_of = _by_token(transliteration_variants)


# Default rate 0.02, 0.3 for the Asian/Pacific Islander group -- assumptions: agencies romanize
# names from documents in other scripts differently (see synthetic/variants.py for the systems);
# only names that have a listed variant change.
@noise_type(
    "transliteration",
    ("first_name", "middle_name", "last_name"),
    0.02,
    joint=True,
    default_group_rates={"api": 0.3},
    description="another romanization of the person's names (MOHAMMED/MUHAMMAD, LEE/YI, CHOI/CHOE)",
    source="assumption (romanization systems cited in synthetic/variants.py)",
)
def transliteration(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace every name of the row that has a transliteration variant by one of them; one draw
    per person, shared by their fields (the agency applies one scheme to the whole name)."""
    u = rng.random(len(rows))
    out = rows.copy()
    for f in rows.columns:
        out[f] = _choose_variant(rows[f], None, _translit_of, u=u)
    return out


# Default rate 0; 0.05 for the Asian/Pacific Islander group -- assumption: East Asian names are
# written family name first, and some records swap the given and family name.
@noise_type(
    "name_order",
    ("first_name", "last_name"),
    0.0,
    joint=True,
    default_group_rates={"api": 0.05},
    description="given and family name swapped (family-name-first order)",
    source="assumption (family-name-first order of East Asian names)",
)
def name_order(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Swap first and last name (rows with both)."""
    first, last = _obj(rows["first_name"]), _obj(rows["last_name"])
    both = ~pd.isna(first) & ~pd.isna(last)
    out = rows.copy()
    out["first_name"] = np.where(both, last, first)
    out["last_name"] = np.where(both, first, last)
    return out


# Default rate 0.01 -- assumption: people known by their middle name (J. EDGAR HOOVER) are
# recorded by it as the first name.
@noise_type(
    "middle_as_first",
    ("first_name", "middle_name"),
    0.01,
    joint=True,
    description="middle name used as the first name (the first name reduced to its initial)",
    source="assumption",
)
def middle_as_first(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """First name := middle name, middle name := the first name's initial (rows with both)."""
    first, middle = _obj(rows["first_name"]), _obj(rows["middle_name"])
    ok = ~pd.isna(first) & ~pd.isna(middle)
    out = rows.copy()
    new_first, new_middle = first.copy(), middle.copy()
    new_first[ok] = middle[ok]
    new_middle[ok] = _obj(pd.Series(first[ok], dtype=object).astype(str).str[:1])
    out["first_name"], out["middle_name"] = new_first, new_middle
    return out


_accents_of = _by_token(lambda w: (a,) if (a := accented_form(w)) else ())


# Default rate 0; 0.1 for the Hispanic and Asian/Pacific Islander groups -- assumption: records
# keyed from foreign documents keep native diacritics (NGUYỄN, MUÑOZ); US systems mostly drop them.
@noise_type(
    "diacritics",
    ("first_name", "middle_name", "last_name"),
    0.0,
    default_group_rates={"hispanic": 0.1, "api": 0.1},
    description="native diacritics kept (NGUYỄN, MUÑOZ, JOSÉ)",
    source="assumption (records keyed from foreign documents)",
)
def diacritics(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Write each name with its native diacritics where the table has them."""
    return _choose_variant(values, rng, _accents_of)


# Default rate 0.5 -- assumption: half of the households that moved (population.mover_share) are
# still at their previous address in a given agency's file (one agency's snapshot predates the move
# or its update lags). The whole household is selected together.
@noise_type(
    "stale_address",
    ADDRESS_FIELDS,
    0.5,
    joint=True,
    needs=("previous_address_id",),
    applies_to=lambda p: (p["previous_address_id"] >= 0).to_numpy(),
    unit="household",
    description="the household's previous address (before its move) still on file",
    source="assumption (half of movers still at the old address in one agency's file)",
    cause="stale_address",
)
def stale_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace each row's address with its previous address, looked up in ``ctx.addresses``."""
    pool = ctx.addresses
    at = pd.Index(pool["address_id"]).get_indexer(_people(ctx)["previous_address_id"].to_numpy())
    if (at < 0).any():
        raise ValueError("stale_address: a previous_address_id is not in the address pool")
    out = rows.copy()
    for f in rows.columns:
        if f in pool.columns:
            out[f] = pool[f].to_numpy(dtype=object)[at]
    return out


# Default rate 0: for files that hold a person at an address unrelated to their household's history
# (e.g. a voter file of another state). Moves are modelled by the population and `stale_address`.
@noise_type(
    "other_address",
    ADDRESS_FIELDS,
    0.0,
    joint=True,
    params={"p_same_zip": 0.5},
    param_bounds={"p_same_zip": (0.0, 1.0)},
    description="an unrelated address: the whole address replaced by another from the pool",
    source="off by default (for lists of people registered elsewhere)",
)
def other_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Replace each row's address with another address of ``ctx.addresses``.

    With probability ``p_same_zip`` the replacement comes from the row's ZIP (if the pool has
    another address there), otherwise from anywhere in the pool. The row's current address (found
    by matching all address fields) is never drawn unless it is the only one in the pool.
    """
    pool = ctx.addresses
    if len(pool) == 0:
        raise ValueError("stale_address needs a non-empty address pool (NoiseContext.addresses)")
    n, size = len(rows), len(pool)
    zip_code, key = _address_codes(pool, rows)
    order = np.argsort(zip_code[:size], kind="stable")  # addresses of one ZIP are contiguous
    sorted_zip = zip_code[:size][order]
    first = np.full(int(key.max()) + 1, -1, dtype=np.int64)
    first[key[:size][order][::-1]] = np.arange(size)[::-1]  # first position of each address
    current = first[key[size:]]  # position of the row's address in the sorted pool, or -1

    lo = np.searchsorted(sorted_zip, zip_code[size:], side="left")
    hi = np.searchsorted(sorted_zip, zip_code[size:], side="right")
    cur_in_zip = (current >= lo) & (current < hi)
    use_zip = (rng.random(n) < params["p_same_zip"]) & (hi - lo - cur_in_zip > 0)

    start = np.where(use_zip, lo, 0)
    span = np.where(use_zip, hi - lo, size)
    skip = np.where(use_zip, cur_in_zip, current >= 0)  # exclude the current address
    m = span - skip
    k = np.minimum(np.floor(rng.random(n) * m).astype(np.int64), np.maximum(m - 1, 0))
    pick = start + k
    pick += skip & (pick >= current)
    pick = np.where(m > 0, pick, current)  # pool holds only the current address

    new = pool.iloc[order[pick]]
    out = rows.copy()
    for f in rows.columns:
        if f in new.columns:
            out[f] = new[f].to_numpy(dtype=object)
    return out


# Default rate 0.5 -- assumption: half of the households with a PO box give it to a given agency
# as their address (tax returns ask for a mailing address).
@noise_type(
    "mailing_address",
    ("house_number", "street", "unit"),
    0.5,
    joint=True,
    needs=("po_box",),
    applies_to=lambda p: p["po_box"].notna().to_numpy(),
    unit="household",
    description="mailing address (PO BOX 123) recorded instead of the residence",
    source="assumption (tax returns ask for a mailing address)",
)
def mailing_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Street := the PO box, no house number, no unit (same city, state and ZIP)."""
    out = rows.copy()
    out["street"] = _obj(_people(ctx)["po_box"])
    out["house_number"] = np.full(len(rows), None, dtype=object)
    out["unit"] = np.full(len(rows), "", dtype=object)
    return out


INVALID_FORMS = ("zip_only", "number_only")


# Default rate 0.005 -- assumption: a few records per thousand hold an unusable street address.
@noise_type(
    "invalid_address",
    ("house_number", "street", "unit", "zip"),
    0.005,
    joint=True,
    params={"zip_only": 0.5, "number_only": 0.5},
    param_bounds={k: (0.0, math.inf) for k in INVALID_FORMS},
    check=_weights_ok(INVALID_FORMS),
    description="unusable street address: the street field holds only the ZIP or only a number",
    source="assumption",
)
def invalid_address(
    rows: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.DataFrame:
    """Street := the ZIP code (``zip_only``) or the house number (``number_only``); the house
    number and unit are emptied. The ZIP field itself is unchanged."""
    form = _pick(rng, params, INVALID_FORMS, len(rows))
    out = rows.copy()
    out["street"] = np.where(form == 0, _obj(rows["zip"]), _obj(rows["house_number"]))
    out["house_number"] = np.full(len(rows), None, dtype=object)
    out["unit"] = np.full(len(rows), "", dtype=object)
    return out


#: Street suffixes, USPS Publication 28 abbreviations -> full word (WAY, LOOP, RUN stay).
STREET_SUFFIXES = MappingProxyType(
    {
        "ST": "STREET",
        "AVE": "AVENUE",
        "RD": "ROAD",
        "DR": "DRIVE",
        "LN": "LANE",
        "BLVD": "BOULEVARD",
        "CT": "COURT",
        "PL": "PLACE",
        "CIR": "CIRCLE",
        "TER": "TERRACE",
        "PKWY": "PARKWAY",
        "HWY": "HIGHWAY",
        "TRL": "TRAIL",
        "SQ": "SQUARE",
        "ALY": "ALLEY",
    }
)
DIRECTIONALS = MappingProxyType(
    {
        "N": "NORTH",
        "S": "SOUTH",
        "E": "EAST",
        "W": "WEST",
        "NE": "NORTHEAST",
        "NW": "NORTHWEST",
        "SE": "SOUTHEAST",
        "SW": "SOUTHWEST",
    }
)


def _toggle(token: str, mapping: Mapping[str, str]) -> str | None:
    if token in mapping:
        return mapping[token]
    for short, full in mapping.items():
        if token == full:
            return short
    return None


@lru_cache(maxsize=65536)
def _street_variants(street: str) -> tuple[str, ...]:
    """Other spellings of ``street``: suffix and leading directional abbreviated <-> spelled out."""
    tokens = street.split()
    suffix_at = len(tokens) - 1
    if len(tokens) >= 3 and _toggle(tokens[-1], DIRECTIONALS) is not None:
        suffix_at -= 1  # post-directional: "MAPLE ST N"
    edits = []
    if len(tokens) >= 2 and (new := _toggle(tokens[suffix_at], STREET_SUFFIXES)) is not None:
        edits.append((suffix_at, new))
    if len(tokens) >= 3 and (new := _toggle(tokens[0], DIRECTIONALS)) is not None:
        edits.append((0, new))
    variants = set()
    for chosen in range(1, 2 ** len(edits)):
        t = list(tokens)
        for bit, (i, new) in enumerate(edits):
            if chosen >> bit & 1:
                t[i] = new
        variants.add(" ".join(t))
    variants.discard(street)
    return tuple(sorted(variants))


_UNIT = re.compile(r"^(?:APT|APARTMENT|UNIT|STE|SUITE|#)\s*(\S.*)$")


@lru_cache(maxsize=65536)
def _unit_variants(unit: str) -> tuple[str, ...]:
    """Other spellings of a unit: "APT 3" -> "APT3", "UNIT 3", "# 3", "#3"."""
    match = _UNIT.match(unit)
    if match is None:
        return ()
    num = match.group(1)
    forms = {f"APT {num}", f"APT{num}", f"UNIT {num}", f"# {num}", f"#{num}"}
    forms.discard(unit)
    return tuple(sorted(forms))


# Default rate 0.05 -- assumption: sources that do not standardize addresses to USPS Pub 28 differ
# in abbreviations often; sources that do, rarely. p_drop_unit = 0.25 -- assumption: a quarter of
# the unit format variants are the unit left off entirely.
@noise_type(
    "address_format",
    ("street", "unit"),
    0.05,
    params={"p_drop_unit": 0.25},
    param_bounds={"p_drop_unit": (0.0, 1.0)},
    description="address spelled differently: ST<->STREET, N<->NORTH, APT 3 -> # 3/UNIT 3/none",
    source="assumption (USPS Publication 28 abbreviations)",
)
def address_format(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Rewrite streets (suffix/directional abbreviation toggled) or units (other designator, or
    dropped with probability ``p_drop_unit``). Dispatches on ``values.name``; values without a
    known variant are unchanged."""
    if values.name != "unit":
        return _choose_variant(values, rng, _street_variants)
    out = _choose_variant(values, rng, _unit_variants)
    drop = (rng.random(len(out)) < params["p_drop_unit"]) & (values.to_numpy(dtype=object) != "")
    arr = out.to_numpy(dtype=object, copy=True)
    arr[drop] = ""
    return pd.Series(arr, index=values.index, name=values.name, dtype=object)


@lru_cache(maxsize=1)
def _nicknamer() -> Any:
    from nicknames import NickNamer

    return NickNamer()


_NAME_CHARS = re.compile(r"^[A-Z][A-Z' -]*$")


@lru_cache(maxsize=65536)
def _nicknames_of(name: str) -> tuple[str, ...]:
    """Upper-case nicknames of ``name`` (sorted, without ``name`` itself and odd entries)."""
    nicks = {n.upper() for n in _nicknamer().nicknames_of(name.lower())}
    return tuple(sorted(n for n in nicks if _NAME_CHARS.match(n) and n != name.upper()))


# Default rate 0.01: pseudopeople's default for use_nickname. Only names with nicknames change,
# so the effective rate is lower.
@noise_type(
    "nickname",
    ("first_name",),
    0.01,
    description="nickname instead of the formal first name (WILLIAM -> BILL), nicknames package",
    source="pseudopeople default for use_nickname (0.01); nicknames package",
)
def nickname(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace each name by one of its nicknames (uniformly); names without any stay."""
    return _choose_variant(values, rng, _nicknames_of)


# Default rate 0.003 -- assumption: placeholder birth dates are entered when only the year is known
# (common in immigration records of people from countries without birth registration). p_jan1 =
# 0.8 -- assumption: most placeholders keep the year.
@noise_type(
    "dob_placeholder",
    ("dob",),
    0.003,
    params={"p_jan1": 0.8},
    param_bounds={"p_jan1": (0.0, 1.0)},
    description="placeholder date of birth: January 1 of the birth year, or 1900-01-01",
    source="assumption (year-only birth dates in immigration records)",
)
def dob_placeholder(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """YYYY-01-01 (same year) with probability ``p_jan1``, else 1900-01-01."""
    year = values.astype(str).str.slice(0, 4).to_numpy(dtype=object)
    jan1 = rng.random(len(values)) < params["p_jan1"]
    out = np.where(jan1, year + "-01-01", "1900-01-01").astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0.005 -- assumption: day and month swapped when a date is written in day-month order
# (most of the world) and read in month-day order (the US), or the reverse.
@noise_type(
    "dob_swap",
    ("dob",),
    0.005,
    description="day and month of the birth date swapped (where both are <= 12 and differ)",
    source="assumption (day-month vs month-day order)",
)
def dob_swap(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """YYYY-MM-DD -> YYYY-DD-MM where DD <= 12 and DD != MM; other values are unchanged."""
    s = values.astype(str)
    ok = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}").to_numpy(dtype=bool)
    month = pd.to_numeric(s.str.slice(5, 7), errors="coerce").to_numpy()
    day = pd.to_numeric(s.str.slice(8, 10), errors="coerce").to_numpy()
    swap = ok & (day <= 12) & (day != month) & (day >= 1)
    out = values.to_numpy(dtype=object, copy=True)
    out[swap] = (s.str.slice(0, 5) + s.str.slice(8, 10) + "-" + s.str.slice(5, 7)).to_numpy(
        dtype=object
    )[swap]
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default 0.01: pseudopeople's default for leave_blank. middle_name 0.2 -- assumption: many
# sources do not collect or often omit the middle name. suffix 0.5 -- assumption: a name suffix
# (JR, SR) is often not recorded. tin 0 -- a tax register always holds the filer's TIN; a query
# list's share of records with a TIN is declared by query.tin_share.
@noise_type(
    "missing",
    RECORD_FIELDS,
    0.01,
    default_field_rates={"middle_name": 0.2, "suffix": 0.5, "tin": 0.0},
    description="field left blank (None)",
    source="pseudopeople default for leave_blank (0.01); middle name and suffix rates assumed",
)
def missing(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Blank every value."""
    return pd.Series(np.full(len(values), None, dtype=object), index=values.index, name=values.name)


def _keyboard_neighbours() -> tuple[np.ndarray, np.ndarray]:
    """(table, count): ``table[c, :count[c]]`` are the QWERTY neighbours of ASCII code ``c``.

    Letters neighbour letters (same row and the adjacent rows, staggered), digits neighbour the
    digits beside them on the number row, so digits stay digits and letters stay letters.
    """
    rows = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM")
    near: dict[str, list[str]] = {}
    for r, row in enumerate(rows):
        for j, ch in enumerate(row):
            cand = [row[i] for i in (j - 1, j + 1) if 0 <= i < len(row)]
            if r > 0:
                cand += [rows[r - 1][i] for i in (j, j + 1) if 0 <= i < len(rows[r - 1])]
            if r + 1 < len(rows):
                cand += [rows[r + 1][i] for i in (j - 1, j) if 0 <= i < len(rows[r + 1])]
            near[ch] = cand
            near[ch.lower()] = [c.lower() for c in cand]
    digits = "1234567890"
    for j, ch in enumerate(digits):
        near[ch] = [digits[i] for i in (j - 1, j + 1) if 0 <= i < len(digits)]
    table = np.zeros((128, max(len(v) for v in near.values())), dtype=np.uint32)
    count = np.zeros(128, dtype=np.int64)
    for ch, cand in near.items():
        table[ord(ch), : len(cand)] = [ord(c) for c in cand]
        count[ord(ch)] = len(cand)
    table.flags.writeable = False
    count.flags.writeable = False
    return table, count


_NEIGHBOURS, _N_NEIGHBOURS = _keyboard_neighbours()
_TYPO_KINDS = ("substitute", "delete", "insert", "transpose")
# Editable characters by code point (ASCII letters/digits; the last entry stands for all others).
_ALNUM = np.zeros(129, dtype=bool)
_ALNUM[[ord(c) for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"]] = True
_DIGITS = np.zeros(129, dtype=bool)
_DIGITS[[ord(c) for c in "0123456789"]] = True
_ALNUM.flags.writeable = False
_DIGITS.flags.writeable = False


def _pick_true(mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per row, the column of a uniformly chosen True of ``mask`` (by ``u``); -1 if none."""
    k = mask.sum(axis=1)
    r = np.minimum(np.floor(u * k), np.maximum(k - 1, 0)).astype(np.int64)
    small = mask.shape[1] < np.iinfo(np.int16).max
    pos = np.argmax(mask.cumsum(axis=1, dtype=np.int16 if small else np.int64) > r[:, None], axis=1)
    return np.where(k > 0, pos, -1)


def _typo_weights_ok(params: Mapping[str, Any]) -> str | None:
    return None if sum(params[k] for k in _TYPO_KINDS) > 0 else "the four typo weights sum to 0"


# Default rate 0.01: pseudopeople's default cell probability for make_typos (which, unlike this,
# may corrupt several characters of a cell: token_probability 0.1). The four kinds are Damerau's
# (1964) single-error classes; their weights are an assumption.
@noise_type(
    "typo",
    ("first_name", "middle_name", "last_name", "dob", "street", "city"),
    0.01,
    params={"substitute": 0.4, "delete": 0.25, "insert": 0.25, "transpose": 0.1},
    param_bounds={k: (0.0, math.inf) for k in _TYPO_KINDS},
    check=_typo_weights_ok,
    description="one keyboard slip: QWERTY-neighbour substitution, deletion, insertion, or swap",
    source="pseudopeople default for make_typos (0.01); Damerau (1964) kinds, assumed weights",
)
def typo(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Make one keyboard-style edit per value at a random letter/digit position.

    Kinds (relative weights in ``params``): substitution by a QWERTY neighbour, deletion (only
    when the value has 2+ characters, so nothing becomes empty), insertion of a neighbour before or
    after the position, transposition of two adjacent different letters/digits (falls back to a
    substitution when there is none). For ``dob`` only digits are substituted: dashes stay. Other
    characters (spaces, hyphens, accents) are never edited; values without letters or digits are
    unchanged.
    """
    n = len(values)
    if n == 0:
        return values.copy()
    strs = values.to_numpy(dtype=object).astype(str)
    length = np.char.str_len(strs)
    # Room for one insertion; the last column stays 0 (padding). From the array's width, not
    # the longest length: str_len does not count trailing NULs, the width does.
    w = strs.dtype.itemsize // 4 + 1
    codes = np.zeros((n, w), dtype=np.uint32)
    if w > 1:
        codes[:, :-1] = np.ascontiguousarray(strs).view(np.uint32).reshape(n, w - 1)

    if values.name == "dob":
        table = _DIGITS
        weights = np.array([1.0, 0.0, 0.0, 0.0])
    else:
        table = _ALNUM
        weights = np.array([params[k] for k in _TYPO_KINDS], dtype=float)
    editable = table[np.minimum(codes, len(table) - 1)]

    kind = rng.choice(4, size=n, p=weights / weights.sum())
    u_pos, u_near, u_side = rng.random(n), rng.random(n), rng.random(n)

    # Transposition needs two adjacent, different editable characters; else substitute.
    t_rows = np.flatnonzero(kind == 3)
    e, c = editable[t_rows], codes[t_rows]
    swappable = e[:, :-1] & e[:, 1:] & (c[:, :-1] != c[:, 1:])
    can_swap = swappable.any(axis=1)
    kind[t_rows[~can_swap]] = 0
    kind[(kind == 1) & (length < 2)] = 0  # never delete the only character
    pos = np.full(n, -1, dtype=np.int64)
    t_rows = t_rows[can_swap]
    pos[t_rows] = _pick_true(swappable[can_swap], u_pos[t_rows])
    o_rows = np.flatnonzero(kind != 3)
    pos[o_rows] = _pick_true(editable[o_rows], u_pos[o_rows])

    active = pos >= 0
    rows = np.arange(n)
    char = np.where(active, codes[rows, np.maximum(pos, 0)], 0)
    n_near = _N_NEIGHBOURS[char]
    pick = np.minimum(np.floor(u_near * n_near), np.maximum(n_near - 1, 0)).astype(np.int64)
    near = _NEIGHBOURS[char, pick]

    # Deletion and insertion shift the characters after the edit: gather by source column.
    delete = active & (kind == 1)
    insert = active & (kind == 2)
    ins_at = pos + (u_side < 0.5)  # before or after the chosen character
    new = codes.copy()
    s_rows = np.flatnonzero(delete | insert)
    col = np.arange(w)[None, :]
    src = np.where(
        delete[s_rows, None],
        col + (col >= pos[s_rows, None]),
        col - (col > ins_at[s_rows, None]),
    )
    new[s_rows] = np.take_along_axis(codes[s_rows], np.minimum(src, w - 1), axis=1)

    sub = active & (kind == 0)
    new[rows[sub], pos[sub]] = near[sub]
    new[rows[insert], ins_at[insert]] = near[insert]
    swap = active & (kind == 3)
    left, right = new[rows[swap], pos[swap]], new[rows[swap], pos[swap] + 1]
    new[rows[swap], pos[swap]], new[rows[swap], pos[swap] + 1] = right, left

    out = np.ascontiguousarray(new).view(f"U{w}").reshape(n).astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# ---------------------------------------------------------------------------------------------
# Identifier noise (the ``tin`` field; people's identifiers: synthetic.identifiers)
# ---------------------------------------------------------------------------------------------


def _present(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda p: p[column].notna().to_numpy()


def _replace_by(column: str, values: pd.Series, ctx: NoiseContext) -> pd.Series:
    return pd.Series(_obj(_people(ctx)[column]), index=values.index, name=values.name, dtype=object)


# Default rate 0 (switched on per side): the register is the tax agency's own file, under the
# current number; a list compiled from older records may carry the ITIN its holder used before
# getting an SSN (the IRS voids an ITIN once its holder gets an SSN; the old number stays in
# other agencies' files).
@noise_type(
    "stale_itin",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("former_itin",),
    applies_to=_present("former_itin"),
    description="the ITIN its holder used before getting an SSN recorded instead of the SSN",
    source="assumption (IRS voids an ITIN when its holder gets an SSN; old records keep it)",
)
def stale_itin(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN by the person's former ITIN."""
    return _replace_by("former_itin", values, ctx)


# Default rate 0 (switched on per side) -- assumption: a clerk or a form picks up another member
# of the household's number (a spouse's SSN on a joint return, a parent's on a child's form).
@noise_type(
    "household_tin",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("household_member_tin",),
    applies_to=_present("household_member_tin"),
    description="another household member's TIN recorded instead of the person's own",
    source="assumption (a spouse's or parent's number taken from the same household's papers)",
)
def household_tin(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN by the TIN of a randomly chosen other member of the household."""
    return _replace_by("household_member_tin", values, ctx)


TIN_TYPO_KINDS = ("substitute", "transpose")


# Default rate 0.01: pseudopeople's default cell probability for write_wrong_digits (which may
# change several digits: token_probability 0.1). The two kinds are Damerau's (1964) commonest
# single errors for digit strings; the 0.8/0.2 mix is an assumption.
@noise_type(
    "tin_typo",
    IDENTIFIER_FIELDS,
    0.01,
    params={"substitute": 0.8, "transpose": 0.2},
    param_bounds={k: (0.0, math.inf) for k in TIN_TYPO_KINDS},
    check=_weights_ok(TIN_TYPO_KINDS),
    description="one digit of the TIN changed, or two adjacent different digits swapped",
    source="pseudopeople default for write_wrong_digits (0.01); Damerau (1964) kinds, assumed mix",
)
def tin_typo(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """One keying error per value: a digit replaced by another digit (uniformly), or two
    adjacent different digits swapped (a substitution when the value has no such pair). Other
    characters are never edited; values without digits stay."""
    n = len(values)
    if n == 0:
        return values.copy()
    strs = values.to_numpy(dtype=object).astype(str)
    w = max(strs.dtype.itemsize // 4, 1)
    codes = np.zeros((n, w), dtype=np.uint32)
    codes[:] = np.ascontiguousarray(strs.astype(f"U{w}")).view(np.uint32).reshape(n, w)
    digit = (codes >= ord("0")) & (codes <= ord("9"))
    kind = _pick(rng, params, TIN_TYPO_KINDS, n)
    u_pos, u_digit = rng.random(n), rng.random(n)
    swappable = digit[:, :-1] & digit[:, 1:] & (codes[:, :-1] != codes[:, 1:])
    swap = (kind == 1) & swappable.any(axis=1)
    rows = np.arange(n)
    new = codes.copy()
    s_rows = np.flatnonzero(swap)
    at = _pick_true(swappable[s_rows], u_pos[s_rows])
    left, right = new[s_rows, at], new[s_rows, at + 1]
    new[s_rows, at], new[s_rows, at + 1] = right, left
    sub = ~swap
    at = _pick_true(digit[sub], u_pos[sub])
    ok = at >= 0
    r, at = rows[sub][ok], at[ok]
    # another digit: old + 1..9 (mod 10), uniformly
    old = codes[r, at] - ord("0")
    shift = 1 + np.minimum((u_digit[r] * 9).astype(np.int64), 8)
    new[r, at] = (old + shift) % 10 + ord("0")
    edited = np.zeros(n, dtype=bool)
    edited[s_rows] = True
    edited[r] = True
    out = values.to_numpy(dtype=object, copy=True)  # unedited values stay as they were
    out[edited] = np.ascontiguousarray(new[edited]).view(f"U{w}").reshape(-1).astype(object)
    return pd.Series(out, index=values.index, name=values.name, dtype=object)


# Default rate 0 (switched on per side). pseudopeople ("Borrowed SSN", docs/source/noise/
# column_noise.rst): W-2 and 1099 forms of people without an SSN carry an SSN borrowed from a
# household member who has one (a random SSN when nobody has). Here the donor is a property of the
# person (synthetic.identifiers: a household member with probability donor_relative_share, else a
# stranger), so each side's record of the person carries the same donor's number, and the
# register's record under that number is the donor's. Registered last: it may fill a missing TIN
# (a person without any TIN), which no type after it would then see.
@noise_type(
    "borrowed_ssn",
    IDENTIFIER_FIELDS,
    0.0,
    needs=("donor_ssn",),
    applies_to=_present("donor_ssn"),
    fills_missing=True,
    description="a person without an SSN recorded under another real person's SSN",
    source="pseudopeople 'Borrowed SSN' (W-2/1099); donor a household member or a stranger",
)
def borrowed_ssn(
    values: pd.Series, rng: np.random.Generator, params: Mapping[str, Any], ctx: NoiseContext
) -> pd.Series:
    """Replace the TIN (or fill the missing one) by the SSN of the person's donor."""
    return _replace_by("donor_ssn", values, ctx)


# ---------------------------------------------------------------------------------------------
# Row noise: whole records omitted or recorded more than once
# ---------------------------------------------------------------------------------------------
#
# As pseudopeople splits its noise into row noise (``RowNoiseType``: omit_row, do_not_respond,
# duplicate_with_guardian; ``src/pseudopeople/noise_entities.py``) applied first and column noise
# applied after, a register's records are first chosen row by row here (how many records each
# person the register covers gets: 0 = omitted, 2 = recorded twice), then each record, a
# duplicate included, gets its own cell noise from the types above. A row noise type is a small
# pure function of the selected people; its selection draws from its own named stream.

#: (selected people's attributes, rng, params) -> records per selected person (ints >= 0).
RowNoiseFn = Callable[[pd.DataFrame, np.random.Generator, Mapping[str, Any]], np.ndarray]


@dataclasses.dataclass(frozen=True)
class RowNoiseType:
    """A registered row noise type (see the section comment above)."""

    name: str
    fn: RowNoiseFn
    default_rate: float  # share of the covered people selected, when a scenario does not say
    params: Mapping[str, Any]
    description: str
    param_bounds: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=_frozen)
    source: str = "assumption"


@dataclasses.dataclass(frozen=True)
class RowNoiseSetting:
    """The validated configuration of one row noise type."""

    rate: float
    params: Mapping[str, Any]


#: The row noise registry. Registration order is application order.
ROW_NOISE: dict[str, RowNoiseType] = {}


def row_noise_type(
    name: str,
    default_rate: float,
    *,
    params: Mapping[str, Any] | None = None,
    param_bounds: Mapping[str, tuple[float, float]] | None = None,
    description: str = "",
    source: str = "assumption",
) -> Callable[[RowNoiseFn], RowNoiseFn]:
    """Decorator that registers ``fn`` as the row noise type ``name`` (applied last)."""
    params = dict(params or {})
    if name in ROW_NOISE or name in NOISE:
        raise ValueError(f"noise type {name!r} is already registered")
    if not _is_rate(default_rate):
        raise ValueError(f"row noise type {name!r}: default_rate must be in [0, 1]")
    for key, default in params.items():
        if key == "rate" or type(default) not in (bool, int, float, str):
            raise ValueError(f"row noise type {name!r}: invalid parameter {key!r}")

    def register(fn: RowNoiseFn) -> RowNoiseFn:
        ROW_NOISE[name] = RowNoiseType(
            name=name,
            fn=fn,
            default_rate=float(default_rate),
            params=_frozen(params),
            description=description or (fn.__doc__ or "").strip().splitlines()[0],
            param_bounds=_frozen(param_bounds),
            source=source,
        )
        return fn

    return register


def validate_row_noise_spec(
    spec: Mapping[str, Any] | None, where: str
) -> dict[str, RowNoiseSetting]:
    """Check a row noise table as parsed from TOML (``{name = {rate = ..., <params>}}``) and fill
    in the defaults: every registered row type appears in the result, in registry order."""
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise ConfigError(where, f"must be a table of row noise types, got {describe(spec)}")
    for name in spec:
        if name not in ROW_NOISE:
            raise ConfigError(
                join(where, str(name)), f"unknown row noise type; known: {', '.join(ROW_NOISE)}"
            )
    out = {}
    for name, nt in ROW_NOISE.items():
        w = join(where, name)
        table = spec.get(name) or {}
        if not isinstance(table, Mapping):
            raise ConfigError(w, f"must be a table (e.g. {{rate = 0.01}}), got {describe(table)}")
        for key in table:
            if key != "rate" and key not in nt.params:
                allowed = ", ".join(("rate", *nt.params))
                raise ConfigError(join(w, str(key)), f"unknown key; allowed: {allowed}")
        rate = _check_rate(table["rate"], join(w, "rate")) if "rate" in table else nt.default_rate
        params = dict(nt.params)
        for key, default in nt.params.items():
            if key in table:
                bounds = nt.param_bounds.get(key)
                params[key] = like(table[key], default, join(w, key), *(bounds or (None, None)))
        out[name] = RowNoiseSetting(rate, _frozen(params))
    return out


def apply_row_noise(
    people: pd.DataFrame,
    settings: Mapping[str, RowNoiseSetting],
    seed: int,
    side: str,
) -> np.ndarray:
    """Records per person of ``people`` (the people a file covers, one row each): an int64 array
    of the same length, 1 where no row noise applies.

    For each type in registry order: ``rng = stream(seed, "row_noise", side, name)``; ``u =
    rng.random(len(people))``; the people with ``u`` below the rate and still recorded (not
    omitted by an earlier type) are passed to the function with ``rng.spawn(1)[0]``, and their
    record count is multiplied by what it returns. The draws cover all rows, so which people a
    type selects does not depend on the other types.
    """
    unknown = [name for name in settings if name not in ROW_NOISE]
    if unknown:
        raise ValueError(f"unknown row noise types in settings: {', '.join(unknown)}")
    n = len(people)
    copies = np.ones(n, dtype=np.int64)
    for name, nt in ROW_NOISE.items():
        setting = settings.get(name)
        if setting is None or setting.rate <= 0:
            continue
        rng = stream(seed, "row_noise", side, name)
        pos = np.flatnonzero((rng.random(n) < setting.rate) & (copies > 0))
        if pos.size == 0:
            continue
        out = np.asarray(nt.fn(people.iloc[pos], rng.spawn(1)[0], setting.params))
        if out.shape != (pos.size,) or out.dtype.kind not in "iu" or (out < 0).any():
            raise TypeError(
                f"row noise {name!r} must return one non-negative integer per selected row"
            )
        copies[pos] *= out.astype(np.int64)
    return copies


# Default rate 0 (off; set per scenario). Whether a person is in a register at all is
# ``register.coverage``; this is a record the agency should hold but lost (a return filed late, an
# administrative error), so that a query of a covered person finds no true record. pseudopeople's
# omit_row defaults to 0.005 for WIC and the W-2/1099 tax forms and 0 for its other datasets
# (docs/source/noise/row_noise.rst), the rate to use for a tax register.
@row_noise_type(
    "omit_record",
    0.0,
    description="the person's record missing from the file (the person is covered, not found)",
    source="off by default; pseudopeople omit_row uses 0.005 for tax forms W-2/1099 and WIC",
)
def omit_record(
    people: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any]
) -> np.ndarray:
    """No record for each selected person."""
    return np.zeros(len(people), dtype=np.int64)


# Default rate 0 (off; set per scenario). The 2010 Census Coverage Measurement (Census Bureau
# release of 2012-05-22) found 3.3% of the 300.7 million people in housing units counted
# erroneously, 84.9% of them duplicates: about 2.8% of census records are duplicates, the rate
# to use for a census-like register. pseudopeople's duplicate_with_guardian (2% of minors in
# households, 5% of college students) covers one cause; its plain duplicate_row is not enabled.
@row_noise_type(
    "duplicate_record",
    0.0,
    description="the person recorded twice: a second record, with its own cell noise",
    source="off by default; 2010 Census Coverage Measurement: ~2.8% of census records duplicates "
    "(3.3% erroneous, 84.9% of them duplicates)",
)
def duplicate_record(
    people: pd.DataFrame, rng: np.random.Generator, params: Mapping[str, Any]
) -> np.ndarray:
    """Two records for each selected person."""
    return np.full(len(people), 2, dtype=np.int64)
