"""How far the real case is at its real size: each step's time and peak memory at 1:N.

The ``irs-ice`` case is run directly (``linkrisk run``'s code path, big files) at several
fractions 1:N of its real size (``irs-ice-1in10`` with the population and the list divided by N
instead of 10), each in a fresh process. Each step's time and peak memory are carried to 1:1:

* **candidate pairs** (blocking's), as ``a * size + b * size ** 2`` (least squares over every
  run, a and b not negative): a pass within a ZIP code grows with the size (so does the number
  of ZIP codes), a pass on a name or a birth date with its square (both sides grow, and names
  and birth dates are shared nationwide). From 1:10 to 1:1 they grow about 80 times, not 10;
* **time**, as ``a * size + b * pairs`` through the two largest runs (a and b not negative, so
  a step that grows no faster than the size gets b = 0): work per record (generation, reading)
  plus work per candidate pair (comparisons, scoring, error attribution). Steps of under
  :data:`MIN_FIT_S` seconds in the smaller run are carried linearly, as their split would be
  noise;
* **peak memory**, as a straight line in the size through the two largest runs (a fixed part,
  the interpreter, libraries and the query side, plus a part per person). One run per fraction
  cannot tell memory per record from memory per pair (resident memory moves by what the
  allocator keeps), so this leaves out what the pairs add beyond the size: a floor.

The projection is an extrapolation of today's code, not a run: it shows which steps keep the
full-size run (issue 16: at most 45 minutes and 16 GB on 2 cores) out of reach, and by how much.
Writes ``scale.md``, ``scale.csv`` and ``scale.json`` to ``--out``; ``--readme`` refills the
README's ``<!-- scale:start -->`` block. Not a test: timings depend on the machine and its load
(recorded alongside). ``--runs FILE`` carries the runs of an earlier ``scale.json`` again
(a change of the model, not of the code measured) instead of running.

    python -m bench.perf.scale [--fractions 1000,100,10,5] [--out results/scale] [--readme]
                               [--runs results/scale/scale.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.linkage.config import Benchmark, load_benchmark, parse_benchmark
from bench.perf.linkage import _load_average, machine, machine_lines, write_benchmark
from bench.runs.store import check_out_dir
from bench.runs.writers import write_json

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
OUT_DIR = ROOT / "results" / "scale"  # not inside results/perf: that is replaced whole
#: The preset the fractions are taken from, and its own fraction.
PRESET, PRESET_FRACTION = "irs-ice-1in10", 10
#: Register records per shard at 1:1 (the preset's 1,000,000 at 1:10); at least MIN_SHARD.
SHARD_AT_FULL, MIN_SHARD = 10_000_000, 10_000
#: 1:5 as well as 1:10: the two largest runs carry each step to 1:1, and a step that works per
#: candidate pair shows it only where the pairs outgrow the size (from 1:10 to 1:5, 3.6 times).
DEFAULT_FRACTIONS = (1000, 100, 10, 5)
#: Steps shorter than this (seconds) in the smaller run are carried to 1:1 linearly.
MIN_FIT_S = 0.5
#: Bytes a candidate pair takes as row numbers (:class:`bench.linkage.blocking.Candidates`:
#: two int64 arrays), the least the pairs add to memory.
PAIR_BYTES = 16
#: Issue 16's targets for the full-size run on 2 cores.
TARGET_MINUTES, TARGET_GB = 45, 16
SCALE_BLOCK = re.compile(r"(<!-- scale:start -->\n).*?(<!-- scale:end -->)", re.S)


def scaled(fraction: int) -> Benchmark:
    """The ``irs-ice`` case at 1:``fraction`` of its real size: the preset with the population
    and the list scaled (and the shard size, which changes no result)."""
    if isinstance(fraction, bool) or not isinstance(fraction, int) or fraction < 1:
        raise ValueError(f"fraction must be an integer >= 1, got {fraction!r}")
    data = copy.deepcopy(load_benchmark(PRESET).data)
    factor = PRESET_FRACTION / fraction
    data["scenario"]["name"] = f"irs-ice-1in{fraction}"
    data["scenario"]["description"] = f"The irs-ice case at 1:{fraction} of real scale."
    data["scenario"]["shard_size"] = max(MIN_SHARD, SHARD_AT_FULL // fraction)
    for section in ("population", "query"):
        data[section]["size"] = round(data[section]["size"] * factor)
    return parse_benchmark(data, source=f"{PRESET} at 1:{fraction}")


def run_child(fraction: int, out: Path) -> None:
    """Run the case at 1:``fraction`` in this process and write what it took to ``out``."""
    from bench.runner import run

    bench = scaled(fraction)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="linkrisk-scale-") as tmp:
        result = run(bench, out_dir=Path(tmp) / "run", progress=False, html=False)
    wall = time.perf_counter() - start
    fs = result.metrics.set_index("method")
    row = fs.loc["fellegi-sunter"] if "fellegi-sunter" in fs.index else fs.iloc[0]
    info = {
        "fraction": fraction,
        "population": bench.scenario.population.size,
        "queries": int(row["queries"]),
        "register_records": int(row["register_records"]),
        "candidates": int(row["candidates"]),
        "wall_s": wall,
        # the run's own high-water mark or its generation child's, whichever is higher (KB)
        "peak_mb": max(
            resource.getrusage(who).ru_maxrss
            for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        / 1024,
        "steps": [
            {"step": k, "time_s": t, "peak_mb": result.peaks.get(k)}
            for k, t in result.timings.items()
        ],
    }
    write_json(info, out)


def measure(fractions: Sequence[int]) -> list[dict[str, Any]]:
    """Run the case at each 1:N in a fresh child process, one after the other, printing each as
    it ends (the largest takes minutes); what each took (:func:`run_child`)."""
    runs = []
    with tempfile.TemporaryDirectory(prefix="linkrisk-scale-") as tmp:
        for n in fractions:
            out = Path(tmp) / f"{n}.json"
            print(f"1:{n} ...", end=" ", flush=True)
            cmd = [sys.executable, "-m", "bench.perf.scale", "--child", str(n), "--child-out"]
            subprocess.run([*cmd, str(out)], check=True, cwd=ROOT)
            runs.append(json.loads(out.read_text(encoding="utf-8")))
            print(f"{runs[-1]['wall_s']:.0f} s, peak {runs[-1]['peak_mb'] / 1024:.2f} GB")
    return runs


def _nonnegative_fit(columns: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of ``values`` on ``columns`` (one per column), none negative
    (:func:`scipy.optimize.nnls`; columns scaled to 1 first, as they differ by orders)."""
    from scipy.optimize import nnls

    scale = np.abs(columns).max(axis=0)
    scale[scale == 0] = 1.0
    coef, _ = nnls(columns / scale, values)
    return np.asarray(coef / scale)


def pairs_at_full(runs: Sequence[dict[str, Any]]) -> float:
    """Blocking's candidate pairs carried to 1:1 as ``a * size + b * size ** 2`` (module
    docstring), fitted over every run."""
    size = np.array([1 / r["fraction"] for r in runs])
    pairs = np.array([r["candidates"] for r in runs], dtype=np.float64)
    return float(_nonnegative_fit(np.c_[size, size**2], pairs).sum())


def time_at_full(
    times: tuple[float, float], sizes: tuple[float, float], pairs: tuple[float, float], full: float
) -> tuple[float, float]:
    """A step's seconds at 1:1 and the part of them from candidate pairs, from the two largest
    runs' ``times`` at ``sizes`` with ``pairs`` candidates, ``full`` candidates at 1:1: as
    ``a * size + b * pairs`` (a, b not negative; module docstring), or linearly in the size
    where the smaller run's time is under :data:`MIN_FIT_S` (too short to split)."""
    (t_small, t_large), s_large = times, sizes[1]
    if t_small < MIN_FIT_S or t_large <= 0:
        return t_large / s_large, 0.0
    per_size, per_pair = _nonnegative_fit(np.array([sizes, pairs]).T, np.array(times))
    return per_size + per_pair * full, per_pair * full


def project(runs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per step of the largest run: its time and peak at every fraction and both
    carried to 1:1 (module docstring), with the seconds at 1:1 that come from candidate pairs;
    then the whole run (sum of times, largest peak)."""
    runs = sorted(runs, key=lambda r: -r["fraction"])  # smallest first
    small, large = runs[-2], runs[-1]
    sizes = (1 / small["fraction"], 1 / large["fraction"])
    pairs = (float(small["candidates"]), float(large["candidates"]))
    full_pairs = pairs_at_full(runs)
    by_step = [{s["step"]: s for s in r["steps"]} for r in runs]
    rows = []
    for step in large["steps"]:
        name = step["step"]
        row: dict[str, Any] = {"step": name}
        for r, steps in zip(runs, by_step, strict=True):
            found = steps.get(name, {})
            row[f"s at 1:{r['fraction']}"] = found.get("time_s", math.nan)
            row[f"GB at 1:{r['fraction']}"] = _gb(found.get("peak_mb"))
        t_small = row[f"s at 1:{small['fraction']}"]
        t_small = 0.0 if math.isnan(t_small) else t_small
        total, from_pairs = time_at_full((t_small, step["time_s"]), sizes, pairs, full_pairs)
        row["s at 1:1 (projected)"] = total
        row["of which from pairs"] = from_pairs
        p_small, p_large = row[f"GB at 1:{small['fraction']}"], row[f"GB at 1:{large['fraction']}"]
        slope = (p_large - p_small) / (sizes[1] - sizes[0])  # NaN where a peak is unknown
        row["GB at 1:1 (projected)"] = p_large + slope * (1 - sizes[1])
        rows.append(row)
    table = pd.DataFrame(rows)
    total_row: dict[str, Any] = {"step": "whole run"}
    for r in runs:
        total_row[f"s at 1:{r['fraction']}"] = r["wall_s"]
        total_row[f"GB at 1:{r['fraction']}"] = _gb(r["peak_mb"])
    total_row["s at 1:1 (projected)"] = table["s at 1:1 (projected)"].sum()
    total_row["of which from pairs"] = table["of which from pairs"].sum()
    total_row["GB at 1:1 (projected)"] = table["GB at 1:1 (projected)"].max()
    return pd.concat([table, pd.DataFrame([total_row])], ignore_index=True)


def _gb(mb: float | None) -> float:
    return math.nan if mb is None else mb / 1024


def markdown(table: pd.DataFrame) -> str:
    """The table, rounded for reading (times to 0.1 s, memory to 0.01 GB)."""
    shown = table.copy()
    for col in shown.columns[1:]:
        digits = 2 if col.startswith("GB") else 1
        shown[col] = ["-" if v is None or math.isnan(v) else f"{v:,.{digits}f}" for v in shown[col]]
    return tabulate(shown, headers="keys", tablefmt="github", showindex=False) + "\n"


def verdict(table: pd.DataFrame, runs: Sequence[dict[str, Any]]) -> str:
    """Plain sentences: the projected full-size run against the targets, what weighs most, and
    the candidate pairs behind it."""
    total = table.iloc[-1]
    steps = table.iloc[:-1].sort_values("s at 1:1 (projected)", ascending=False)
    minutes, gb = total["s at 1:1 (projected)"] / 60, total["GB at 1:1 (projected)"]
    heavy = ", ".join(
        f"{s['step']} {s['s at 1:1 (projected)'] / 60:.0f} min" for _, s in steps.head(3).iterrows()
    )
    biggest = table.iloc[:-1].sort_values("GB at 1:1 (projected)", ascending=False).iloc[0]
    large = min(runs, key=lambda r: r["fraction"])
    full = pairs_at_full(runs)
    return (
        f"With today's code the whole case at its real size would take about {minutes:.0f} "
        f"minutes (target {TARGET_MINUTES}) and peak at about {gb:.0f} GB (target {TARGET_GB}); "
        f"the longest steps: {heavy}; the largest memory: {biggest['step']} "
        f"({biggest['GB at 1:1 (projected)']:.0f} GB). Extrapolated from the runs, not measured "
        f"at 1:1. Blocking's candidate pairs grow with the square of the size: "
        f"{large['candidates'] / 1e6:,.1f} million at 1:{large['fraction']}, about "
        f"{full / 1e6:,.0f} million at 1:1; {total['of which from pairs'] / 60:.0f} of the "
        f"{minutes:.0f} minutes are work per pair. The memory figures leave out what the pairs "
        f"add beyond the size (their row numbers alone are "
        f"{full * PAIR_BYTES / 1e9:.1f} GB at 1:1): a floor."
    )


def report(table: pd.DataFrame, meta: dict[str, Any]) -> str:
    """scale.md: the table, the verdict, the runs' sizes, the models and the machine."""
    lines = [
        "# The real case at its real size: time and memory per step at 1:N, carried to 1:1",
        "",
        markdown(table),
        verdict(table, meta["runs"]),
        "",
        "Runs (`irs-ice` at 1:N of its real size, seed "
        f"{meta['seed']}, each in a fresh process, one after the other):",
        "",
    ]
    for r in sorted(meta["runs"], key=lambda r: -r["fraction"]):
        lines.append(
            f"- 1:{r['fraction']}: population {r['population']:,}, {r['queries']:,} queries, "
            f"{r['register_records']:,} register records, {r['candidates']:,} candidate pairs "
            f"(blocking); {r['wall_s']:.0f} s, peak {r['peak_mb'] / 1024:.2f} GB"
        )
    lines += [
        "",
        "Candidate pairs: carried to 1:1 as a * size + b * size^2 (least squares over the runs, "
        "a, b >= 0). Time: a step's seconds; carried to 1:1 as a * size + b * candidate pairs "
        "through the two largest runs (a, b >= 0; `of which from pairs`: b * pairs at 1:1; "
        f"steps under {MIN_FIT_S:g} s in the smaller run: linearly). Memory: the step's "
        "peak resident memory, its child processes' included (sampled every 20 ms; the whole "
        "run: the high-water mark of the process or of its generation child, whichever is "
        "higher), carried to 1:1 as a straight line in the size through the two largest runs. "
        "The whole run's time includes work between steps.",
        "",
        f"- code: commit {meta['commit']}"
        + (f" (carried to 1:1 at {meta['projected_at']})" if "projected_at" in meta else ""),
        *machine_lines(meta, versions=False),
        "",
    ]
    return "\n".join(lines)


def write_results(table: pd.DataFrame, meta: dict[str, Any], out_dir: Path) -> str:
    """Write scale.csv, scale.md and scale.json atomically; return scale.md's text."""
    text = report(table, meta)
    write_benchmark(out_dir, "scale", table, text, meta, "%.4g")
    return text


def update_readme(readme: Path, out_dir: Path) -> None:
    """Refill README's ``<!-- scale:start -->`` block with scale.md's table and verdict."""
    text = readme.read_text(encoding="utf-8")
    if not SCALE_BLOCK.search(text):
        raise RuntimeError(f"{readme}: no <!-- scale:start --> ... <!-- scale:end --> block")
    block = readme_block(out_dir)
    readme.write_text(SCALE_BLOCK.sub(lambda m: m.group(1) + block + m.group(2), text), "utf-8")


def readme_block(out_dir: Path) -> str:
    """What the README's scale block shows of ``out_dir``'s scale.md: the table, the verdict."""
    body = (out_dir / "scale.md").read_text(encoding="utf-8").split("\n\n")
    return body[1] + "\n\n" + body[2] + "\n"


def commit() -> str:
    """The checkout's commit (``-dirty`` with uncommitted changes), or "unknown"."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def earlier_runs(path: Path) -> dict[str, Any]:
    """An earlier ``scale.json`` (its runs, machine and commit), for ``--runs``; ValueError,
    naming the file, if it is not one."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        runs = meta["runs"]
        if len(runs) < 2 or not all({"fraction", "candidates", "steps"} <= set(r) for r in runs):
            raise ValueError("needs two runs or more, each with fraction, candidates and steps")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a scale.json of this benchmark ({exc})") from None
    return meta


def _fractions(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()}, reverse=True)
    except ValueError:
        raise argparse.ArgumentTypeError(f"integers separated by commas, got {text!r}") from None
    if len(values) < 2 or values[-1] < 1:
        raise argparse.ArgumentTypeError("at least two fractions, each >= 1 (1:N)")
    return values


def main(argv: list[str] | None = None) -> int:
    """Parse arguments; run every fraction in a child process, project, write; exit code."""
    ap = argparse.ArgumentParser(
        prog="python -m bench.perf.scale",
        description="Run the irs-ice case at 1:N of its real size for several N (fresh process "
        "each) and carry each step's time and peak memory to 1:1.",
    )
    ap.add_argument(
        "--fractions",
        type=_fractions,
        default=list(DEFAULT_FRACTIONS),
        help="the N of each run, comma-separated (1000,100,10,5: about 20 minutes on 2 cores)",
    )
    ap.add_argument("--out", type=Path, default=OUT_DIR, help=f"results directory ({OUT_DIR})")
    ap.add_argument(
        "--readme", type=Path, nargs="?", const=README, help="refill the README's scale block"
    )
    ap.add_argument(
        "--runs",
        type=Path,
        help="carry the runs of an earlier scale.json to 1:1 again instead of running",
    )
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        run_child(args.child, args.child_out)
        return 0
    check_out_dir(args.out)  # before minutes of work, not after
    if args.readme is not None and not SCALE_BLOCK.search(args.readme.read_text(encoding="utf-8")):
        ap.error(
            f"--readme: {args.readme} has no <!-- scale:start --> ... <!-- scale:end --> block"
        )
    if args.runs is not None:
        try:
            meta = earlier_runs(args.runs)
        except ValueError as exc:
            ap.error(f"--runs: {exc}")
        meta["projected_at"] = commit()
    else:
        before = _load_average()
        runs = measure(args.fractions)
        meta = {
            "preset": PRESET,
            "seed": scaled(args.fractions[-1]).scenario.seed,
            "runs": runs,
            "machine": machine(),
            "load_average": {"before": before, "after": _load_average()},
            "targets": {"minutes": TARGET_MINUTES, "gb": TARGET_GB},
            "commit": commit(),
        }
    table = project(meta["runs"])
    write_results(table, meta, args.out)
    if args.readme is not None:
        update_readme(args.readme, args.out)
    print()
    print(markdown(table), end="")
    print(verdict(table, meta["runs"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
