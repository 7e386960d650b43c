"""CSV writing that spreadsheets cannot turn into formulas (CSV/formula injection).

A cell such as ``=HYPERLINK(...)`` or ``@SUM(A1)`` in a CSV file is evaluated when the file is
opened in Excel or LibreOffice. Following the OWASP recommendation, every text cell (and column
label) whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return, or whose
first character after leading whitespace is one of ``= + - @``, is written with a leading
apostrophe, which spreadsheets show as text. Numeric columns are left alone: a negative number
stays a number. A frame that needs no change is written byte for byte as pandas writes it.

Every float64 value is written at the published precision of :mod:`synthetic.precision` (12
significant digits, :func:`synthetic.precision.round_frame`), so that CPU-specific last-bit
differences cannot reach a written byte.

This lives in ``synthetic`` (which never imports ``bench``) so that ``linkrisk generate`` and the
benchmark's reports share one writer; ``bench.runs.writers.write_csv`` is the same function.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthetic.precision import round_frame

#: First characters a spreadsheet may read as the start of a formula (OWASP CSV injection).
FORMULA_CHARS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: A risky cell: a tab or carriage return first, or = + - @ first after any leading whitespace.
_RISKY = re.compile(r"[\t\r]|[ \t\r\n]*[=+\-@]")


def neutralize(value: Any) -> Any:
    """One cell: ``"'" + value`` if it is text a spreadsheet could read as a formula."""
    return "'" + value if isinstance(value, str) and _RISKY.match(value) else value


def _text(column: pd.Series) -> Any:
    """The ``.str`` accessor of a column that holds text, else None (numbers stay numbers)."""
    if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        return None
    try:
        return column.str  # raises for object columns that hold no text (e.g. only numbers)
    except AttributeError:
        return None


def _risky_cells(column: pd.Series) -> np.ndarray | None:
    """Positions of the risky text cells of a column (None: a column without text)."""
    text = _text(column)
    return None if text is None else text.match(_RISKY.pattern, na=False).to_numpy(dtype=bool)


def _has_carriage_return(frame: pd.DataFrame) -> bool:
    """Whether a text cell or label holds a carriage return. The csv module quotes cells that
    hold the line terminator (here ``\n``) but not a lone ``\r``, which readers take for the
    end of a row."""
    if any(isinstance(c, str) and "\r" in c for c in frame.columns):
        return True
    for i in range(frame.shape[1]):
        text = _text(frame.iloc[:, i])
        if text is not None and text.contains("\r", regex=False, na=False).any():
            return True
    return False


def neutralize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with risky text cells and column labels prefixed by an apostrophe: the frame
    itself when nothing needs it, else a copy (the input is never modified)."""
    out = frame
    for i in range(frame.shape[1]):
        mask = _risky_cells(frame.iloc[:, i])
        if mask is None or not mask.any():
            continue
        if out is frame:
            out = frame.copy()
        values = frame.iloc[:, i].to_numpy(dtype=object, copy=True)
        values[mask] = ["'" + v for v in values[mask]]  # only the risky cells: few or none
        out.isetitem(i, pd.Series(values, index=frame.index, dtype=object))
    labels = [neutralize(c) for c in frame.columns]
    return out if labels == list(frame.columns) else out.set_axis(labels, axis=1)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (no index, ``\\n`` line ends), formula-safe and every float at
    the published precision (module docstring).

    Where a text cell holds a carriage return, every text cell is quoted, so that the cell
    cannot split its row (:func:`_has_carriage_return`)."""
    safe = neutralize_frame(round_frame(frame))
    quoting = csv.QUOTE_NONNUMERIC if _has_carriage_return(safe) else csv.QUOTE_MINIMAL
    safe.to_csv(path, index=False, lineterminator="\n", quoting=quoting)


__all__ = ["FORMULA_CHARS", "neutralize", "neutralize_frame", "write_csv"]
