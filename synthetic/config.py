"""Small validators for TOML-derived configuration tables.

Each validator names the exact path of the offending value (``query.share_in_register``) so that
the CLI can print one line that tells the user what to fix.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from synthetic.errors import ConfigError


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning I/O, encoding and syntax problems into one-line ConfigErrors."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read file ({exc.strerror})") from None
    if not raw.strip():
        raise ConfigError(str(path), "file is empty")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from None


def join(where: str, key: str) -> str:
    """Extend a config path: ``join("query", "size") == "query.size"``."""
    return f"{where}.{key}" if where else key


def table(parent: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> dict:
    """Return the sub-table ``parent[key]`` ({} when optional and absent)."""
    if key not in parent:
        if required:
            raise ConfigError(join(where, key), "missing section")
        return {}
    value = parent[key]
    if not isinstance(value, Mapping):
        raise ConfigError(join(where, key), f"must be a table, got {type(value).__name__}")
    return dict(value)


def check_keys(tbl: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    """Reject keys that are not in ``allowed`` (typos must not be silently ignored)."""
    allowed = list(allowed)
    for key in tbl:
        if key not in allowed:
            raise ConfigError(
                join(where, key), f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def number(
    tbl: Mapping[str, Any],
    key: str,
    where: str,
    *,
    default: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
    integer: bool = False,
) -> Any:
    """Fetch a number, checking type and the closed range [lo, hi]."""
    path = join(where, key)
    if key not in tbl:
        if default is None:
            raise ConfigError(path, "missing value")
        return default
    value = tbl[key]
    # bool is an int subclass in Python, but `rate = true` is a mistake, not 1.
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        kind = "an integer" if integer else "a number"
        raise ConfigError(path, f"must be {kind}, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(path, f"must be in [{_fmt(lo)}, {_fmt(hi)}], got {value!r}")
    return value


def rate(tbl: Mapping[str, Any], key: str, where: str, *, default: float | None = None) -> float:
    """Fetch a probability in [0, 1]."""
    return float(number(tbl, key, where, default=default, lo=0.0, hi=1.0))


def string(
    tbl: Mapping[str, Any],
    key: str,
    where: str,
    *,
    default: str | None = None,
    choices: Iterable[str] | None = None,
) -> str:
    """Fetch a string, optionally one of ``choices``."""
    path = join(where, key)
    if key not in tbl:
        if default is None:
            raise ConfigError(path, "missing value")
        return default
    value = tbl[key]
    if not isinstance(value, str):
        raise ConfigError(path, f"must be a string, got {value!r}")
    if choices is not None and value not in (choices := list(choices)):
        raise ConfigError(path, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


def _fmt(bound: float | None) -> str:
    return "inf" if bound is None else f"{bound:g}"
