"""Memory the process has freed, given back to the system between the steps of a big run."""

from __future__ import annotations

import ctypes
import functools
import sys
from collections.abc import Callable

import pyarrow as pa


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (macOS, Windows, musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


def give_back_memory() -> None:
    """Return to the system what the last step freed: Arrow's pool keeps the memory it freed,
    and glibc's malloc the pages freed in its arenas, which would count in the next step's
    peak (at the real size, after a method: 19.06 GB resident, 17.27 GB once trimmed)."""
    pa.default_memory_pool().release_unused()
    if (trim := _malloc_trim()) is not None:
        trim(0)
