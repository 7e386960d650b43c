"""Measure ``linkrisk calibrate`` against its budget: at most 15 minutes on 2 cores for the
``irs-ice`` calibration (issue 13).

Runs the whole calibration (dispersion runs, design points, tornado runs, outputs) once, as the
command does, and prints the wall time, the time per simulated run, the CPU time of this
process and its workers, and the machine's load (other jobs slow it down). Not a test: timings
depend on the machine and its load. Outputs go to a temporary directory unless ``--out``.

    python -m bench.perf.calibrate [SCENARIO] [--points N] [--workers 2] [--out DIR]

SCENARIO defaults to ``irs-ice``.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from bench.scale.calibration import calibrate, load_calibration, write_calibration

#: The budget of ``linkrisk calibrate irs-ice`` on 2 cores (issue 13).
BUDGET_SECONDS = 15 * 60


def main(argv: list[str] | None = None) -> int:
    """Time one calibration and print the result; exit 1 when over the budget."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.perf.calibrate",
        description="Time `linkrisk calibrate` (budget: 15 minutes on 2 cores for irs-ice).",
    )
    ap.add_argument("scenario", nargs="?", help="preset or .toml (default: irs-ice's)")
    ap.add_argument("--points", type=int, help="design points (default: the section's)")
    ap.add_argument("--workers", type=int, default=2, help="processes (2)")
    ap.add_argument("--out", type=Path, help="keep the outputs here (default: a temporary dir)")
    args = ap.parse_args(argv)
    scenario = args.scenario or "irs-ice"
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    bench, cal = load_calibration(scenario, points=args.points)
    res = calibrate(bench, cal, workers=args.workers, progress=None)
    t_sim = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "calibration"
        write_calibration(res, out, f"python -m bench.perf.calibrate {scenario}")
        wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = cal.dispersion_runs + cal.waves * cal.points * cal.replicates + 1 + 2 * len(cal.unknowns)
    print(
        f"machine: {os.cpu_count()} logical cores, {platform.machine()}, Python "
        f"{platform.python_version()}, load average {load0:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"scenario: {bench.name} ({scenario}); {cal.waves} wave(s) of {cal.points} points x "
        f"{cal.replicates} population(s), {cal.dispersion_runs} dispersion runs, "
        f"{1 + 2 * len(cal.unknowns)} "
        f"tornado runs = {runs} runs, {args.workers} worker(s)"
    )
    print(
        f"wall: {wall:.1f} s ({t_sim:.1f} s simulating; {wall / runs:.2f} s a run); "
        f"CPU: {cpu:.1f} s here + "
        f"{children.ru_utime + children.ru_stime:.1f} s in workers"
    )
    verdict = "within" if wall <= BUDGET_SECONDS else "OVER"
    print(f"budget: {BUDGET_SECONDS / 60:.0f} min -> {verdict} ({wall / 60:.1f} min)")
    if args.out:
        print(f"outputs: {args.out}")
    return 0 if wall <= BUDGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
