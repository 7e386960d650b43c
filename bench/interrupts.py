"""Ctrl-C that survives the libraries it passes through.

Engines that run queries in C turn Python's KeyboardInterrupt into their own error (DuckDB:
``RuntimeError: Query interrupted``; a killed subprocess: ``CalledProcessError``). Whoever must
tell an interruption from a failure (the CLI: exit 130; the runner: end the run rather than
mark one method "not run") watches for SIGINT itself with :func:`sigint_watch`.

Known gap: DuckDB stops a running query on Ctrl-C only while Python's default SIGINT handler is
installed; under this watch's handler the query runs to its end and the interrupt is taken
after it. Learning of the signal from the C-level wakeup fd (``signal.set_wakeup_fd``) while
keeping the default handler fixes that, but clashed with file descriptors used by output
staging in one test and was left for later.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def sigint_watch() -> Iterator[threading.Event]:
    """Within the block, record whether SIGINT arrived (the event is set) and still raise
    KeyboardInterrupt, as Python does. Watches nest: an outer watch is told too. An ignored
    SIGINT stays ignored; outside the main thread (where no handler can be set) nothing is
    recorded."""
    event = threading.Event()
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is signal.SIG_IGN:
        yield event
        return

    def handler(signum: int, frame: Any) -> None:
        event.set()
        if callable(previous) and previous is not signal.default_int_handler:
            previous(signum, frame)  # an outer watch (or a caller's handler) sees it too
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def sigint_held() -> Iterator[None]:
    """Hold Ctrl-C for the block and deliver it at its end, once.

    For starting worker processes: SIGINT is blocked in this thread, so processes started here
    are born with it blocked (the mask survives exec) until they choose to ignore it, and one
    that reaches another thread of ours is recorded rather than raised mid-start. Outside the
    main thread, or where signal masks do not exist, the block runs as it is."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    arrived = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda signum, frame: arrived.set())
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a pending one runs now
        if arrived.is_set() and previous is not signal.SIG_IGN:
            signal.raise_signal(signal.SIGINT)
