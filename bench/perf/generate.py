"""Measure how fast the synthetic population is generated (people per second).

Runs ``synthetic.population.generate_population`` ``--repeat`` times after one small warm-up run
(which loads the vendored name tables and builds cached samplers) and prints the best wall time,
and the best CPU time of the process (less sensitive to other jobs on a shared machine, though
they still slow it down through the shared caches). The generator draws some components in
worker threads, so the CPU time can exceed the wall time. Not a test: timings depend on the
machine and on its load. Populations of more than ``BLOCK_SIZE`` people are generated block by
block.

    python -m bench.perf.generate [--people 1000000] [--repeat 3] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from synthetic.population import PopulationConfig, generate_population


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, time the generation and print the result; returns the exit code."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.perf.generate",
        description="Time synthetic population generation; prints best wall time and people/s.",
    )
    ap.add_argument("--people", type=int, default=1_000_000, help="population size (1000000)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs; the best is reported (3)")
    ap.add_argument("--seed", type=int, default=1, help="random seed (1)")
    ap.add_argument("--people-per-zip", type=int, default=10_000, help="mean people per ZIP")
    args = ap.parse_args(argv)
    if args.people < 1 or args.repeat < 1:
        ap.error("--people and --repeat must be >= 1")

    cfg = PopulationConfig(size=args.people, people_per_zip=args.people_per_zip)
    t0 = time.perf_counter()
    generate_population(PopulationConfig(size=10_000), args.seed)  # warm-up: loads tables
    warm = time.perf_counter() - t0

    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        pop = generate_population(cfg, args.seed)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        n_addr = len(pop.addresses)
        del pop  # free before the next run so runs do not compete for memory
    best = min(times)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"machine: {os.cpu_count()} logical cores, {platform.machine()}, "
        f"Python {platform.python_version()}, load average {load:.2f}"
    )
    print(f"warm-up (table loading, 10k people): {warm:.2f} s")
    print(
        f"people: {args.people:,}  addresses: {n_addr:,}  runs: "
        + ", ".join(f"{t:.3f}" for t in times)
        + " s"
    )
    print(f"best: {best:.3f} s  ->  {args.people / best:,.0f} people/s")
    print(f"best CPU time: {min(cpu):.3f} s  ->  {args.people / min(cpu):,.0f} people/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
