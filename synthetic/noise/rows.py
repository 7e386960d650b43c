"""Row noise: whole records omitted or recorded more than once (their own registry,
:data:`ROW_NOISE`).

As pseudopeople splits its noise into row noise (``RowNoiseType``: omit_row, do_not_respond,
duplicate_with_guardian; ``src/pseudopeople/noise_entities.py``) applied first and column noise
applied after, a register's records are first chosen row by row here (how many records each
person the register covers gets: 0 = omitted, 2 = recorded twice), then each record, a
duplicate included, gets its own cell noise from the types above. A row noise type is a small
pure function of the selected people; its selection draws from its own named stream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from synthetic.config import describe, join, like
from synthetic.errors import ConfigError
from synthetic.noise.harness import NOISE, _check_rate, _frozen, _is_rate
from synthetic.rng import stream

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
