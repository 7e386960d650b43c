"""Published precision: every float a published file holds, at a fixed precision on any CPU.

The published results must be byte-identical on every machine. numpy picks SIMD kernels for
``exp``, ``log``, ``log2``, ``exp2``, ``power`` ... by the CPU it runs on (AVX2, AVX-512, or
the baseline that calls the C library), and OpenBLAS picks its matrix kernels the same way;
these agree to within a unit in the last place (ULP, a relative 1e-16) but not always exactly.
Two defences, both used:

* **Computed without CPU-specific kernels** where a published number needs a transcendental
  function: :func:`exp` and :func:`log` here are correctly rounded by Python's ``decimal``
  module (software arithmetic, no libm, no SIMD). Counts are integers; ``+ - * /`` and
  ``sqrt`` are exactly rounded by IEEE 754 on every CPU.
* **Written at a fixed precision**: every float written to a published file (CSV through
  ``write_csv``, JSON through ``bench.runs.writers.write_json``, float64 parquet columns, the
  numbers behind the Markdown and HTML reports) is rounded to :data:`SIGNIFICANT_DIGITS` (12)
  significant digits by :func:`round_float`: the double nearest to the value's 12-digit
  decimal (Python's correctly rounded conversion), which ``repr`` then writes in at most 12
  digits. A last-ULP difference can change such a number only if the value lies within a few
  ULP of a 12-digit rounding boundary (a chance of about 1e-4 for a value that differs at all).
  Twelve digits are far beyond what any count-based rate here can resolve (the largest
  denominators are about 1e10 candidate pairs), so no reported figure loses information.

Values kept exactly, not rounded: integers, NaN and infinities, and float64 values that are
exactly a float32 value (method scores are stored as float32, so thresholds are such values:
rounding them could move a threshold across the score it stands for; small integers and
binary fractions such as 0.5 are such values too). float32 columns are kept as they are (at
most 9 significant digits). A CPU difference in the last bit of a float64 computation almost
never lands exactly on a float32 value (a chance of about 2**-29).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

#: Significant digits of every float in a published file (module docstring).
SIGNIFICANT_DIGITS = 12
_FORMAT = f".{SIGNIFICANT_DIGITS}g"
#: Enough digits that rounding the decimal result to a double is deterministic and accurate.
_CONTEXT = decimal.Context(prec=40, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
#: ln 2 at the context's precision (log2 and exp2 divide or multiply by it).
_LN2 = decimal.Decimal(2).ln(_CONTEXT)


def _is_float32(x: float) -> bool:
    """Whether the double ``x`` is exactly a float32 value (cast both ways is exact IEEE)."""
    return bool(np.float64(np.float32(x)) == x) if abs(x) <= 3.4e38 else False


def round_float(x: float) -> float:
    """``x`` at the published precision: rounded to :data:`SIGNIFICANT_DIGITS` significant
    digits, except NaN, infinities and exact float32 values, which are kept (module
    docstring). Always a Python float."""
    x = float(x)
    if not math.isfinite(x) or _is_float32(x):
        return x
    return float(format(x, _FORMAT))


def round_array(values: np.ndarray) -> np.ndarray:
    """A float64 array at the published precision (:func:`round_float` elementwise; a new
    array). Other dtypes are returned unchanged."""
    values = np.asarray(values)
    if values.dtype != np.float64:
        return values
    out = values.copy()
    with np.errstate(over="ignore"):  # beyond float32 range: inf, never equal, so rounded
        exact32 = out.astype(np.float32).astype(np.float64) == out
    todo = np.isfinite(out) & ~exact32
    if todo.any():
        out[todo] = [float(format(v, _FORMAT)) for v in out[todo].tolist()]
    return out


def _round_cell(value: Any) -> Any:
    """One value at the published precision: a float64 as a rounded Python float (the very
    object when it needs no rounding), anything else (float32 included) as it is."""
    if isinstance(value, float | np.floating) and not isinstance(value, np.float32 | np.float16):
        rounded = round_float(value)
        same = rounded == value or (math.isnan(rounded) and math.isnan(value))
        return value if same and type(value) is float else rounded
    return value


def round_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every float64 value at the published precision: float64 columns, and
    float cells of object columns (mixed text and numbers). The frame itself when nothing
    changes, else a copy (the input is never modified)."""
    out = frame
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if column.dtype == np.float64:
            values = column.to_numpy()
            rounded = round_array(values)
            if np.array_equal(rounded, values, equal_nan=True):
                continue
        elif column.dtype == object:
            values = column.to_numpy()
            rounded = np.empty(len(values), dtype=object)
            rounded[:] = [_round_cell(v) for v in values.tolist()]
            # `is` for cells left alone; a rounded float differs from its original
            if all(a is b for a, b in zip(rounded.tolist(), values.tolist(), strict=True)):
                continue
        else:
            continue
        if out is frame:
            out = frame.copy()
        out.isetitem(i, pd.Series(rounded, index=frame.index, dtype=column.dtype))
    return out


def round_obj(obj: Any) -> Any:
    """A JSON-like object (dicts, lists, tuples, scalars) with every float at the published
    precision (:func:`round_float`); the same structure otherwise."""
    if isinstance(obj, Mapping):
        return {k: round_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [round_obj(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(round_obj(v) for v in obj)
    return _round_cell(obj)


def exp(x: float) -> float:
    """``e ** x`` computed identically on every CPU (``decimal``, correctly rounded to 40
    digits, then to the nearest double); NaN stays NaN."""
    x = float(x)
    if math.isnan(x):
        return math.nan
    return float(decimal.Decimal(x).exp(_CONTEXT))


def log(x: float) -> float:
    """Natural logarithm computed identically on every CPU (as :func:`exp`); ``log(0)`` is
    ``-inf``, a negative ``x`` or NaN gives NaN."""
    x = float(x)
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return float(decimal.Decimal(x).ln(_CONTEXT))


def log2(x: float) -> float:
    """Base-2 logarithm computed identically on every CPU (as :func:`log`; numpy's ``log2``
    takes CPU-specific SIMD paths that may differ in the last bit)."""
    x = float(x)
    if math.isnan(x) or x < 0:
        return math.nan
    if x == 0:
        return -math.inf
    return float(decimal.Decimal(x).ln(_CONTEXT) / _LN2)


def log1p(x: float) -> float:
    """``log(1 + x)`` computed identically on every CPU, accurate for small ``x`` too (``1 + x``
    is formed in 40 decimal digits, not rounded to a double first)."""
    x = float(x)
    if math.isnan(x) or x < -1:
        return math.nan
    if x == -1:
        return -math.inf
    if abs(x) < 1e-20:  # log(1 + x) = x (1 - x/2 + ...): x is the double nearest to it
        return x
    return float(_CONTEXT.add(1, decimal.Decimal(x)).ln(_CONTEXT))


def exp2(x: float) -> float:
    """``2 ** x`` computed identically on every CPU (as :func:`exp`)."""
    x = float(x)
    if math.isnan(x):
        return math.nan
    return float(_CONTEXT.multiply(decimal.Decimal(x), _LN2).exp(_CONTEXT))


def exp10(x: float) -> float:
    """``10 ** x`` computed identically on every CPU (as :func:`exp`; exact for integers)."""
    x = float(x)
    if math.isnan(x):
        return math.nan
    return float(_CONTEXT.power(decimal.Decimal(10), decimal.Decimal(x)))


def _elementwise(function: Callable[[float], float], values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    out = [function(v) for v in values.ravel().tolist()]
    return np.array(out, dtype=np.float64).reshape(values.shape)


def exp_array(values: np.ndarray) -> np.ndarray:
    """:func:`exp` elementwise (a float64 array of the same shape)."""
    return _elementwise(exp, values)


def exp10_array(values: np.ndarray) -> np.ndarray:
    """:func:`exp10` elementwise (a float64 array of the same shape)."""
    return _elementwise(exp10, values)


def exp2_array(values: np.ndarray) -> np.ndarray:
    """:func:`exp2` elementwise (a float64 array of the same shape)."""
    return _elementwise(exp2, values)


def log_array(values: np.ndarray) -> np.ndarray:
    """:func:`log` elementwise (a float64 array of the same shape)."""
    return _elementwise(log, values)


def log2_array(values: np.ndarray) -> np.ndarray:
    """:func:`log2` elementwise (a float64 array of the same shape)."""
    return _elementwise(log2, values)


__all__ = [
    "SIGNIFICANT_DIGITS",
    "exp",
    "exp2",
    "exp2_array",
    "exp10",
    "exp10_array",
    "exp_array",
    "log",
    "log1p",
    "log2",
    "log2_array",
    "log_array",
    "round_array",
    "round_float",
    "round_frame",
    "round_obj",
]
