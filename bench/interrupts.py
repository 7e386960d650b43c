"""Ctrl-C that survives the libraries it passes through.

Engines that run queries in C turn Python's KeyboardInterrupt into their own error (DuckDB:
``RuntimeError: Query interrupted``; a killed subprocess: ``CalledProcessError``). Whoever must
tell an interruption from a failure (the CLI: exit 130; the runner: end the run rather than
mark one method "not run") watches for SIGINT itself with :func:`sigint_watch`.

The watch leaves the SIGINT *handler* alone: DuckDB only interrupts a running query on Ctrl-C
while Python's default handler is installed (with any other handler the query runs to its end,
and the handler runs after it). It learns of a SIGINT from the C-level wakeup file descriptor
instead (:func:`signal.set_wakeup_fd`), which the interpreter writes to the moment the signal
arrives, whatever the handler.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Wakeup:
    """The process's one wakeup pipe while any watch is open, and the SIGINTs read from it."""

    def __init__(self) -> None:
        self.depth = 0
        self.sigints = 0
        self.read_fd = -1
        self.write_fd = -1
        self.previous_fd = -1

    def open(self) -> None:
        if self.depth == 0:
            self.read_fd, self.write_fd = os.pipe()
            os.set_blocking(self.read_fd, False)
            os.set_blocking(self.write_fd, False)
            self.previous_fd = signal.set_wakeup_fd(self.write_fd)
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.drain()
            signal.set_wakeup_fd(self.previous_fd)
            os.close(self.read_fd)
            os.close(self.write_fd)

    def drain(self) -> int:
        """Count the SIGINTs written to the pipe since the last look; return the total."""
        while True:
            try:
                data = os.read(self.read_fd, 512)
            except BlockingIOError:
                break
            if not data:
                break
            self.sigints += data.count(int(signal.SIGINT).to_bytes(1, "little"))
        return self.sigints


_WAKEUP = _Wakeup()


class Interrupted:
    """Whether a SIGINT arrived since the watch began (an Event-like ``is_set``)."""

    def __init__(self, start: int | None) -> None:
        self._start = start

    def is_set(self) -> bool:
        if self._start is None:  # not watching: outside the main thread, or SIGINT ignored
            return False
        return _WAKEUP.drain() > self._start


@contextmanager
def sigint_watch() -> Iterator[Interrupted]:
    """Within the block, record whether SIGINT arrived (``is_set()``), while SIGINT keeps its
    handler (Python's default raises KeyboardInterrupt, and lets DuckDB interrupt a query).
    Watches nest: each tells of the SIGINTs since it began. An ignored SIGINT stays ignored;
    outside the main thread (where no wakeup fd can be set) nothing is recorded."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield Interrupted(None)
        return
    _WAKEUP.open()
    try:
        yield Interrupted(_WAKEUP.drain())
    finally:
        _WAKEUP.close()
