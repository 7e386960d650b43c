"""Small validators for TOML-derived configuration tables.

Each validator names the exact path of the offending value (``query.share_in_register``) so that
the CLI can print one line that tells the user what to fix.
"""

from __future__ import annotations

import math
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from synthetic.errors import ConfigError

#: Largest input file read whole (scenario, column map, user files): a bound that turns a huge
#: or endless file into a one-line error instead of exhausted memory.
MAX_INPUT_BYTES = 8 * 1024**3


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return kind
    return "not a regular file"


def shown(path: Path | str) -> str:
    """A path as printable text: bytes that are not UTF-8 (kept by Python as surrogates) shown
    as ``\\xNN`` escapes, so that an error naming the path can always be printed."""
    text = str(path)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that does not stand for a byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def read_input(path: Path) -> bytes:
    """The bytes of an input file; a one-line ConfigError naming the path if it cannot be read,
    is empty, or is not a regular file (a FIFO would block forever, a device never end)."""
    try:
        # O_NONBLOCK: opening a FIFO without a writer must not block; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ConfigError(shown(path), f"cannot read file ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _file_kind(info.st_mode)
            # a directory in the words of EISDIR, as open() on other systems reports it
            problem = "Is a directory" if stat.S_ISDIR(info.st_mode) else f"{kind}, not a file"
            raise ConfigError(shown(path), f"cannot read file ({problem})")
        if info.st_size > MAX_INPUT_BYTES:
            raise ConfigError(
                shown(path), f"file too large ({info.st_size:,} bytes; limit {MAX_INPUT_BYTES:,})"
            )
        with os.fdopen(fd, "rb", closefd=True) as fh:
            fd = -1
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(shown(path), f"cannot read file ({exc.strerror})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if not raw.strip():
        raise ConfigError(shown(path), "file is empty")
    return raw


def read_toml_text(path: Path) -> tuple[dict[str, Any], str]:
    """A TOML file's table and text (read once), I/O, encoding and syntax problems as one-line
    ConfigErrors naming the path."""
    raw = read_input(path)
    try:
        # utf-8-sig: a byte-order mark (Windows editors add one) is not part of the text
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(shown(path), f"not UTF-8 text (byte {exc.start}, line {line})") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown(path), f"invalid TOML: {exc}") from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning I/O, encoding and syntax problems into one-line ConfigErrors."""
    return read_toml_text(path)[0]


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


def describe(value: Any) -> str:
    """How a wrong value is shown in an error message."""
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but `rate = true` is a mistake, not 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


def like(
    value: Any, default: Any, where: str, lo: float | None = None, hi: float | None = None
) -> Any:
    """Check that ``value`` has the type of ``default`` and, for numbers, lies in [lo, hi].

    The one type rule of every configuration value: an integer is accepted where a float is
    expected (and converted), a TOML array of numbers where a tuple is expected; booleans are
    never numbers; NaN and infinities are rejected. Returns the (converted) value.
    """
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(where, f"must be true or false, got {describe(value)}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(where, f"must be a string, got {describe(value)}")
        return value
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple) or not all(
            _is_number(v) and math.isfinite(v) for v in value
        ):
            raise ConfigError(where, f"must be a list of numbers, got {describe(value)}")
        return tuple(float(v) for v in value)
    if isinstance(default, list | Mapping):
        if not isinstance(value, type(default)):
            kind = "a list" if isinstance(default, list) else "a table"
            raise ConfigError(where, f"must be {kind}, got {describe(value)}")
        return value
    integer = isinstance(default, int)
    ok = _is_number(value) and (isinstance(value, int) if integer else math.isfinite(value))
    if ok and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        ok = False
    if not ok:
        kind = "an integer" if integer else "a number"
        span = "" if lo is None and hi is None else f" in [{_fmt(lo, '-inf')}, {_fmt(hi)}]"
        raise ConfigError(where, f"must be {kind}{span}, got {describe(value)}")
    return value if integer else float(value)


def _fetch(tbl: Mapping[str, Any], key: str, where: str, default: Any) -> tuple[str, Any]:
    """The value at ``key`` (or ``default``; None means required) and its path."""
    path = join(where, key)
    if key in tbl:
        return path, tbl[key]
    if default is None:
        raise ConfigError(path, "missing value")
    return path, default


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
    path, value = _fetch(tbl, key, where, default)
    return like(value, 0 if integer else 0.0, path, lo, hi)


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
    path, value = _fetch(tbl, key, where, default)
    value = like(value, "", path)
    if choices is not None and value not in (choices := list(choices)):
        raise ConfigError(path, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


#: Names that become file and directory names (scenarios, methods): no path separators, no
#: leading dot or dash, nothing a shell or a spreadsheet would interpret.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
NAME_RULE = "must be a name of letters, digits and . _ + - (starting with a letter or digit)"


def identifier(tbl: Mapping[str, Any], key: str, where: str, why: str = "") -> str:
    """Fetch a name matching :data:`NAME` (``why``: what the name is used for, for the message)."""
    path, value = _fetch(tbl, key, where, None)
    value = like(value, "", path)
    if not NAME.match(value) or len(value) > 100:
        reason = f"; {why}" if why else ""
        raise ConfigError(path, f"{NAME_RULE}, at most 100 characters{reason}; got {value!r}")
    return value


def _fmt(bound: float | None, unbounded: str = "inf") -> str:
    if bound is None:
        return unbounded
    # whole bounds in full (100,000,000, not 1e+08); fractions as they are written
    return f"{int(bound):,}" if float(bound).is_integer() and abs(bound) >= 1e6 else f"{bound:g}"


_KEY = re.compile(r"""^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=""")
_TABLE = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def _trailing_comment(line: str) -> str:
    """The text after a '#' that is outside quoted strings ('' if none)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i + 1 :].strip()
    return ""


def toml_comments(text: str) -> dict[str, str]:
    """The comment of every key of a TOML text, by dotted path (``register.noise.typo``): the
    comment at the end of the key's line, else the comment lines just above it ('' if none).

    Scenario files cite the source of each value this way; reports print it. Keys inside arrays
    of tables (``[[methods]]``) and inside multi-line strings are skipped.
    """
    out: dict[str, str] = {}
    section: str | None = ""
    above: list[str] = []
    in_string = False
    for line in text.splitlines():
        if in_string:
            in_string = line.count('"""') % 2 == 0
            continue
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        if not stripped:
            above = []
            continue
        if stripped.startswith("[["):
            section, above = None, []
            continue
        if m := _TABLE.match(line):
            section, above = m.group(1).strip(), []
            continue
        if section is not None and (m := _KEY.match(line)):
            key = m.group(1).strip('"')
            path = f"{section}.{key}" if section else key
            out[path] = _trailing_comment(line[m.end() :]) or " ".join(above)
        above = []
        in_string = line.count('"""') % 2 == 1
    return out
