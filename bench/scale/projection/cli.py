"""``linkrisk project``: the table, its Markdown, the output directory, and the command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from bench.scale.projection.check import agreement, direct_rows, run_target
from bench.scale.projection.estimates import COLUMNS, project
from bench.scale.projection.keys import (
    DEFAULT_FRACTIONS,
    DEFAULT_SIZES,
    LEVEL,
    M_REGISTER,
    N_QUERIES,
    US_POPULATION,
)
from synthetic.errors import ConfigError


# ----------------------------------------------------------------------------- CLI
def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "-"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def format_table(df: pd.DataFrame) -> str:
    """The projection as a Markdown (GitHub) table."""
    rows = []
    for _, r in df.iterrows():
        interval = (
            "-" if not np.isfinite(r["fp_lo"]) else f"{_fmt(r['fp_lo'])} - {_fmt(r['fp_hi'])}"
        )
        fn_int = "-" if not np.isfinite(r["fn_lo"]) else f"{_fmt(r['fn_lo'])} - {_fmt(r['fn_hi'])}"
        exp = (
            "-"
            if not np.isfinite(r["exponent"])
            else f"{r['exponent']:.3f} ± {r['exponent_se']:.3f}"
        )
        rows.append(
            [r["rule"], r["approach"], _fmt(r["fp"]), interval, _fmt(r["fp_per_query"]),
             _fmt(r["fn"]), fn_int, exp, r["scale"]]
        )  # fmt: skip
    return tabulate(
        rows,
        headers=["rule", "approach", "false matches", "interval", "per query", "misses",
                 "interval", "exponent b", "scale"],
        tablefmt="github",
        disable_numparse=True,
    )  # fmt: skip


def _command(args: argparse.Namespace) -> str:
    """The command that reproduces a projection (options that differ from the defaults)."""
    parts = ["linkrisk project", str(args.scenario)]
    if args.against is not None:  # sets the target
        parts.append(f"--against {args.against}")
    elif args.queries_target != N_QUERIES:
        parts.append(f"-N {args.queries_target}")
    if args.against is None and args.register_target != M_REGISTER:
        parts.append(f"-M {args.register_target}")
    if args.against is None and args.population != US_POPULATION:
        parts.append(f"--population {args.population}")
    if list(args.sizes) != list(DEFAULT_SIZES):
        parts.append("--sizes " + " ".join(map(str, args.sizes)))
    if args.seeds != 3:
        parts.append(f"--seeds {args.seeds}")
    for flag in ("clean", "no_cohort", "analytic_only"):
        if getattr(args, flag):
            parts.append("--" + flag.replace("_", "-"))
    return " ".join(parts)


def projection_markdown(df: pd.DataFrame, command: str) -> str:
    """The projection as Markdown: the table, the fits, every assumption, the command."""
    t = df.attrs["target"]
    lines = [
        f"Projected false matches and misses: {t.n_queries:,} queries against "
        f"{t.n_register:,} register records (population {t.population:,}).",
        "",
        f"Reproduce: `{command}`",
        "",
        format_table(df),
        "",
        "Simulated fits (false matches counted over all runs; household ones apart):",
        "",
        *(
            f"- {r.rule}, {r.approach}: {r.assumptions}"
            for r in df[df["approach"].str.startswith("simulated")].itertuples()
        ),
        "",
        "Assumptions:",
        "",
        *(f"- **{a['assumption']}**: {a['value_and_source']}" for a in df.attrs["assumptions"]),
    ]
    checked = agreement(df)
    if len(checked):
        lines += ["", *_agreement_markdown(checked)]
    skipped = df.attrs["simulation"].skipped
    if skipped:
        lines += ["", f"Not projected: {', '.join(skipped)} (not rules without blocking)."]
    return "\n".join(lines) + "\n"


def _agreement_markdown(checked: pd.DataFrame) -> list[str]:
    """The check against a direct run: each projection's false matches and misses beside the
    direct counts, and whether their intervals overlap."""

    def overlap(value: Any) -> str:
        return "-" if pd.isna(value) else "yes" if value else "no"

    rows = [
        [r.rule, r.approach, _fmt(r.projected), _fmt(r.direct),
         "-" if not np.isfinite(r.ratio) else f"{r.ratio:.2f}", overlap(r.consistent),
         _fmt(r.fn_projected), _fmt(r.fn_direct), overlap(r.fn_consistent)]
        for r in checked.itertuples()
    ]  # fmt: skip
    table = tabulate(
        rows,
        headers=["rule", "approach", "projected false matches", "direct", "projected / direct",
                 "intervals overlap", "projected misses", "direct", "intervals overlap"],
        tablefmt="github",
        disable_numparse=True,
    )  # fmt: skip
    return [
        "Checked against the direct simulation at this size (the direct intervals are exact "
        "Poisson; '-': the approach does not project misses):",
        "",
        table,
    ]


def write_projection(df: pd.DataFrame, text: str, out_dir: Path) -> Path:
    """Write ``projection.csv`` (derived), ``projection.md`` and the simulation's raw tables
    (``raw/*.parquet``) to ``out_dir`` atomically (nothing half-written on failure)."""
    from bench.runs.store import atomic_dir
    from bench.runs.writers import write_csv, write_parquet

    sim = df.attrs["simulation"]
    with atomic_dir(out_dir) as tmp:
        (tmp / "raw").mkdir()
        for name in ("passes", "rules", "analytic"):
            table = getattr(sim, name)
            if isinstance(table, pd.DataFrame):
                table = table.reset_index(drop=True)
                for c in table.columns:  # structured cells (e.g. PassPieces) stored as text
                    if (
                        table[c].dtype == object
                        and not table[c].map(lambda v: v is None or isinstance(v, str)).all()
                    ):
                        table[c] = table[c].map(repr)
                write_parquet(table, tmp / "raw" / f"{name}.parquet")
        write_csv(df, tmp / "projection.csv")
        (tmp / "projection.md").write_text(text, encoding="utf-8")
    return out_dir


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _out_error(exc: Exception) -> str:
    """The message of an error writing ``--out``: ``<path>: <problem>``."""
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    return str(exc) or type(exc).__name__


def with_direct(df: pd.DataFrame, run_dir: Path) -> pd.DataFrame:
    """The projection with a direct run's rows first in each rule's group."""
    order = {rule: i for i, rule in enumerate(df["rule"].unique())}
    direct = direct_rows(run_dir, order, COLUMNS, LEVEL)
    # direct rows first: a stable sort by rule keeps them ahead of their rule's projections
    out = pd.concat([direct, df], ignore_index=True)
    out = out.sort_values("rule", key=lambda r: r.map(order), kind="stable", ignore_index=True)
    out.attrs = df.attrs
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench.scale.projection SCENARIO [--sizes ...] [--seeds K]``: print the
    projection."""
    from bench.usage import OneLineParser as _Parser  # one line, exit 2, as every command

    ap = _Parser(prog="linkrisk project", description=__doc__.split("\n")[0])
    ap.add_argument("scenario", help="preset name or scenario TOML path")
    ap.add_argument("-N", "--queries-target", type=int, default=N_QUERIES, help="queries N")
    ap.add_argument("-M", "--register-target", type=int, default=M_REGISTER, help="records M")
    ap.add_argument("--population", type=int, default=US_POPULATION, help="target population")
    ap.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES),
                    help="population sizes of the simulation sweep")  # fmt: skip
    ap.add_argument("--seeds", type=int, default=3, help="seeds per size")
    ap.add_argument("--fractions", type=float, nargs="+", default=list(DEFAULT_FRACTIONS),
                    help="sub-register fractions of each simulated task")  # fmt: skip
    ap.add_argument("--queries", type=int, default=None, help="simulated list size")
    ap.add_argument("--clean", action="store_true", help="also simulate without noise")
    ap.add_argument("--no-cohort", action="store_true", help="first names ignore birth year")
    ap.add_argument("--analytic-only", action="store_true", help="do not run the rules")
    ap.add_argument("--out", type=Path, help="also write projection.csv/.md and raw tables here")
    ap.add_argument(
        "--against",
        type=Path,
        metavar="RUN",
        help="check against a direct run of the same case (a run directory of one population, "
        "e.g. of irs-ice-1in10): project to its queries, register records and population "
        "(instead of -N, -M, --population) and set its counts beside the projections",
    )
    args = ap.parse_args(argv)
    if args.out is not None:  # before hours of simulation, not after
        from bench.runs.store import check_out_dir
        from synthetic.errors import LinkriskError

        try:
            check_out_dir(args.out)
        except LinkriskError as exc:
            print(f"linkrisk: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
    start = time.perf_counter()
    if args.against is not None:
        from synthetic.errors import LinkriskError

        try:
            target = run_target(args.against)
        except LinkriskError as exc:
            print(f"linkrisk: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
        args.queries_target, args.register_target = target.n_queries, target.n_register
        args.population = target.population
    try:
        df = project(
            args.scenario, args.queries_target, args.register_target,
            population=args.population, sizes=args.sizes, seeds=args.seeds,
            fractions=args.fractions, queries=args.queries, clean=args.clean,
            cohort=not args.no_cohort, run_rules=not args.analytic_only,
        )  # fmt: skip
    except (ConfigError, ValueError) as exc:
        line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"linkrisk: error: {line}", file=sys.stderr)  # one line, as every command
        return 2
    if args.against is not None:
        from synthetic.errors import LinkriskError

        try:
            df = with_direct(df, args.against)
        except LinkriskError as exc:
            print(f"linkrisk: error: {_one_line(str(exc))}", file=sys.stderr)
            return 2
    text = projection_markdown(df, command=_command(args))
    print(text, end="")
    if args.out is not None:
        from synthetic.errors import LinkriskError

        try:
            write_projection(df, text, args.out)
        except (LinkriskError, OSError) as exc:
            print(f"linkrisk: error: {_one_line(_out_error(exc))}", file=sys.stderr)
            return 2
        print(f"\nwritten: {args.out}")
    print(f"\nRun time: {time.perf_counter() - start:.0f} s")
    return 0
