"""Stage timers inside the linkage code: where a run's time goes.

The linkage functions mark their stages (``with stage("blocking"): ...``). Outside
:func:`profiling` a mark costs one context-variable lookup and records nothing; inside it, each
stage's *own* wall and CPU seconds (its time minus that of the stages nested in it) add up per
stage path ("u estimation / comparisons": comparisons run while estimating u), so the stages and
the time outside any stage ("other") sum to the profiled total.
``python -m bench.perf.linkage --profile`` prints them for the speed workload.

CPU seconds are the process's (every thread), so a stage that fans out to a thread pool counts
its workers' time; only the thread that opened :func:`profiling` records stages (a stage opened
by a worker thread counts toward the stage that started the pool).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

#: The time outside every named stage, in :meth:`StageClock.table`.
OTHER = "other"


@dataclass
class StageClock:
    """Own wall and CPU seconds per stage path, and the profiled total."""

    thread: threading.Thread = field(default_factory=threading.current_thread)
    wall: dict[str, float] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    total_wall: float = 0.0
    total_cpu: float = 0.0
    #: Per open stage: its name and the wall and CPU seconds of the stages nested in it so far.
    _open: list[tuple[str, list[float]]] = field(default_factory=list)

    def table(self) -> list[tuple[str, float, float, int]]:
        """``(stage, wall s, cpu s, calls)`` in the order stages first ran, then "other" (the
        total minus every stage's own time), so the rows sum to the total."""
        rows = [(n, self.wall[n], self.cpu[n], self.calls[n]) for n in self.wall]
        other_wall = self.total_wall - sum(self.wall.values())
        other_cpu = self.total_cpu - sum(self.cpu.values())
        return [*rows, (OTHER, other_wall, other_cpu, 0)]


_CLOCK: ContextVar[StageClock | None] = ContextVar("linkrisk_stage_clock", default=None)


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the enclosed code as stage ``name`` when :func:`profiling` is on (else nothing)."""
    clock = _CLOCK.get()
    if clock is None or threading.current_thread() is not clock.thread:
        yield
        return
    # A stage nested in one of the same name (coding a composite codes its parts) is the same.
    path = " / ".join(dict.fromkeys([*(n for n, _ in clock._open), name]))
    clock._open.append((name, [0.0, 0.0]))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        _, (nested_wall, nested_cpu) = clock._open.pop()
        clock.wall[path] = clock.wall.get(path, 0.0) + wall - nested_wall
        clock.cpu[path] = clock.cpu.get(path, 0.0) + cpu - nested_cpu
        clock.calls[path] = clock.calls.get(path, 0) + 1
        if clock._open:  # the enclosing stage's own time excludes this one
            clock._open[-1][1][0] += wall
            clock._open[-1][1][1] += cpu


@contextmanager
def profiling() -> Iterator[StageClock]:
    """Record the stages run inside the block (in this thread) into the clock it yields."""
    clock = StageClock()
    token = _CLOCK.set(clock)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    try:
        yield clock
    finally:
        clock.total_wall = time.perf_counter() - wall0
        clock.total_cpu = time.process_time() - cpu0
        _CLOCK.reset(token)
