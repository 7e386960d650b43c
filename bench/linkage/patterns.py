"""Regular expressions from users, matched in linear time.

A rule's ``pattern`` condition holds a user's regular expression. Python's ``re`` backtracks, so
a pattern such as ``(a+)+$`` takes exponential time on a long value and a run would hang.
Patterns are therefore compiled and matched with RE2 (``google-re2``), whose matching time is
linear in the length of the text whatever the pattern. RE2 has no backreferences and no
lookaround (they are what makes backtracking necessary); a pattern using them is refused when the
configuration is read, with one line naming the key.
"""

from __future__ import annotations

import functools
from typing import Any

import re2

from synthetic.errors import ConfigError

#: Longest pattern accepted (a configuration value, not a program).
MAX_PATTERN_LENGTH = 1000
#: Memory RE2 may use for one compiled pattern (bytes); larger automata are refused.
MAX_PATTERN_MEMORY = 8 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # RE2 would print parse errors on stderr; ours is one line
    options.max_mem = MAX_PATTERN_MEMORY
    return options


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> Any:
    return re2.compile(pattern, _options())


def compile_pattern(pattern: Any, where: str = "regex") -> Any:
    """A user's regular expression compiled for linear-time matching (``.search(text)``).

    Raises a one-line :class:`ConfigError` at ``where`` for a value that is not a string, is
    too long, or uses what RE2 does not support (backreferences, lookaround).
    """
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(where, f"must be a non-empty regular expression, got {pattern!r}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConfigError(where, f"regular expression longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return _compile(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "backslashreplace")
        raise ConfigError(
            where,
            f"invalid or unsupported regular expression ({reason}; matched with RE2 in linear "
            "time: no backreferences or lookaround)",
        ) from None


__all__ = ["MAX_PATTERN_LENGTH", "compile_pattern"]
