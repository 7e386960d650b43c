"""The ``linkrisk`` command line.

Errors caused by input (bad scenario, unknown key, value out of range, missing file) print one
line, ``linkrisk: error: <file>: <key>: <problem>``, and exit with status 2; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bench.inputs.arguments import add_file_pair_arguments
from bench.interrupts import sigint_watch
from bench.pages import small_pages
from bench.usage import EXIT_INPUT, add_no_html, integer, scenario_integer
from bench.usage import OneLineParser as _Parser
from synthetic.config import shown
from synthetic.errors import ConfigError, LinkriskError

if TYPE_CHECKING:
    from bench.linkage.config import Benchmark
    from bench.runner import RunResult

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

EPILOG = """\
examples:
  linkrisk run irs-ice                  run the default IRS-ICE-like scenario, print the table
  linkrisk run my.toml --seed 7         run a scenario file with another seed
  linkrisk run irs-ice --replicates 10  pool 10 independently seeded populations
  linkrisk project irs-ice --clean      project the rules to 1.28M queries x 160M returns
  linkrisk project irs-ice --against results/irs-ice-1in10
                                        check the projection against a direct big run
  linkrisk calibrate my.toml            the unknowns' values that reproduce published counts
  linkrisk report results/irs-ice       rebuild metrics and report from raw outputs
  linkrisk generate irs-ice --out data  write the two agency files and the truth
  linkrisk evaluate --query q.csv --register r.csv --map map.toml
                                        the same methods and report on your own file pair
  linkrisk score --task data --links links.csv
                                        your own linker's links, scored as a method
  linkrisk describe irs-ice             the population's facts beside the Census tables
  linkrisk audit plan | estimate        audit an agency's declared links from a reviewed sample
  linkrisk publish                      rerun every preset into results/, refresh README
  linkrisk publish --big                the big-file presets instead (irs-ice-1in10: ~5 min;
                                        irs-ice-full, the real size: about an hour and more)
  linkrisk publish --big --only irs-ice-1in10   one of them
  linkrisk scenarios | methods | noise  list presets, method kinds, noise types
"""


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="linkrisk",
        description="Record-linkage accuracy benchmark: how many wrong people get matched, "
        "how many right ones are missed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="generate a scenario, run all its methods, write results")
    run.add_argument("scenario", help="preset name (see `linkrisk scenarios`) or a .toml path")
    run.add_argument("--seed", type=_seed, help="random seed (default: the scenario's seed)")
    run.add_argument(
        "--out",
        type=_out_dir,
        help="output directory: new, empty, or an earlier linkrisk output, which it replaces "
        "(default: results/<scenario> under the current directory; results/<scenario>@<option>="
        "<value>,... when --seed, --replicates or --engine differ from the scenario's own, or a "
        "scenario file shares a preset's name but not its configuration, so that the published "
        "results/<scenario> is never written over)",
    )
    run.add_argument(
        "--replicates",
        type=scenario_integer("scenario.replicates"),
        help="rerun on K independently seeded populations and pool them, with the spread of "
        "every rate (default: the scenario's `replicates`, else 1)",
    )
    run.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        help="run every method that offers this engine on it; spark needs the [spark] extra "
        "and Java 17+ (default: each method's own engine)",
    )
    run.add_argument(
        "--shards",
        type=Path,
        metavar="DIR",
        help="a big-file scenario: read its shards from DIR, as `linkrisk generate` wrote them "
        "for the same scenario and seed (checked), instead of generating them again (at the "
        "real size, some 20 minutes); the results are the same",
    )
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_no_html(run)

    proj = sub.add_parser(
        "project",
        help="project a scenario's rules to real scale (N queries x M register records)",
        add_help=False,
    )
    proj.add_argument("args", nargs=argparse.REMAINDER, help="see `linkrisk project --help`")

    _calibrate_parser(sub)

    rep = sub.add_parser("report", help="recompute metrics and report from a run's raw outputs")
    rep.add_argument("run_dir", help="a run directory, or a scenario name under results/")
    add_no_html(rep)

    gen = sub.add_parser("generate", help="write a scenario's two agency files and the truth")
    gen.add_argument("scenario", help="preset name or a .toml path")
    gen.add_argument(
        "--out",
        type=_out_dir,
        required=True,
        help="directory to write into: new, empty, or an earlier linkrisk output, which it "
        "replaces whole (with a manifest.json)",
    )
    gen.add_argument("--seed", type=_seed, help="random seed (default: the scenario's seed)")
    gen.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    gen.add_argument(
        "--shard-size",
        type=scenario_integer("scenario.shard_size"),
        help="write the big-file layout instead: generated block by block, the register in "
        "parquet parts of N records with a manifest.json (default: the scenario's "
        "`shard_size`, else one file per table, generated in memory)",
    )
    gen.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    des = sub.add_parser(
        "describe",
        help="print a scenario population's facts beside the Census tables",
        description="Generate a scenario's population and print its facts beside the Census "
        "tables: top-N surname and first-name coverage, name uniqueness, shared (first, last, "
        "DOB), household sizes, movers and other life events.",
    )
    des.add_argument("scenario", help="preset name or a .toml path")
    des.add_argument("--seed", type=_seed, help="random seed (default: the scenario's seed)")
    des.add_argument(
        "--size",
        type=scenario_integer("population.size"),
        help="number of people (default: the scenario's population.size)",
    )
    des.add_argument("--json", action="store_true", help="print JSON instead of Markdown")

    pub = sub.add_parser("publish", help="rerun every preset into results/ and refresh README")
    pub.add_argument(
        "--readme",
        type=Path,
        default=Path("README.md"),
        help="README whose headline blocks to refresh (default: README.md)",
    )
    pub.add_argument(
        "--big",
        action="store_true",
        help="instead, run the big-file presets (irs-ice-1in10: about 5 minutes and 5 GB of "
        "memory on 2 cores; irs-ice-full, the real size: see README, Big files) into results/ "
        "without their record-level raw tables, and check the projection of the case each one "
        "scales against it",
    )
    pub.add_argument(
        "--only",
        metavar="PRESET",
        action="append",
        help="with --big: only this big-file preset (repeatable)",
    )
    pub.add_argument(
        "--shards",
        type=Path,
        metavar="DIR",
        help="with --big and one --only: that preset's shards, as `linkrisk generate` wrote "
        "them (see `linkrisk run --shards`)",
    )

    _evaluate_parser(sub)
    from bench.score_command import add_parser as _score_parser

    _score_parser(sub, _out_dir)
    from bench.audit_command import add_parser as audit_parser

    audit_parser(sub)
    sub.add_parser("scenarios", help="list scenario presets (name, description)")
    sub.add_parser("methods", help="list registered method kinds (kind, summary)")
    sub.add_parser(
        "noise", help="list registered noise types (fields, default rates, unit, description)"
    )
    return p


def _out_dir(text: str) -> Path:
    """An ``--out`` linkrisk may write: refused while parsing, before hours of work, not after
    (:func:`bench.runs.store.check_out_dir`)."""
    from bench.runs.store import check_out_dir

    try:
        check_out_dir(text)
    except LinkriskError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return Path(text)


def default_run_dir(
    bench: Benchmark,
    seed: int | None = None,
    replicates: int | None = None,
    engine: str | None = None,
) -> Path:
    """Where ``linkrisk run`` writes without ``--out``: ``results/<scenario>`` when the run is the
    scenario's own (its seed, replicates and engine, and, for a scenario named as a preset, the
    preset's configuration), else ``results/<scenario>@<option>=<value>,...`` naming what
    differs, so that a run with other options never writes over published results."""
    from bench.linkage.config import load_benchmark, presets
    from bench.runs.store import RESULTS_DIR

    own = bench.scenario
    differs = []
    if bench.name in presets() and bench.config_hash != load_benchmark(bench.name).config_hash:
        differs.append(f"config={bench.config_hash[:8]}")
    if seed is not None and seed != own.seed:
        differs.append(f"seed={seed}")
    if replicates is not None and replicates != (own.replicates or 1):
        differs.append(f"replicates={replicates}")
    if engine is not None:  # recorded in raw/run.json: never the published bytes
        differs.append(f"engine={engine}")
    return RESULTS_DIR / (bench.name + ("@" + ",".join(differs) if differs else ""))


def _points(text: str) -> int:
    from bench.scale.calibration import MAX_POINTS  # here: `--help` stays fast

    return integer(2, MAX_POINTS, name="points")(text)


def _seed(text: str) -> int:
    return scenario_integer("scenario.seed")(text)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``linkrisk`` console script."""
    argv = sys.argv[1:] if argv is None else list(argv)
    small_pages()
    if argv[:1] == ["project"]:  # its own parser (and --help): bench.scale.projection.main
        from bench.scale.projection import main as project_main

        return project_main(argv[1:])
    args = _parser().parse_args(argv)
    with sigint_watch() as interrupted:
        try:
            return _dispatch(args)
        except Exception as exc:
            # Libraries turn Ctrl-C into their own errors (DuckDB: RuntimeError "Query
            # interrupted"; a killed subprocess: CalledProcessError): after a SIGINT, any
            # error is the interruption.
            if not (interrupted.is_set() or isinstance(exc, LinkriskError | OSError | MemoryError)):
                raise
            if args.debug:
                raise
            failure: BaseException = KeyboardInterrupt() if interrupted.is_set() else exc
        except KeyboardInterrupt as exc:
            if args.debug:
                raise
            failure = exc
    message, status = _error_line(failure, args)
    print(f"linkrisk: error: {message}", file=sys.stderr)
    return status


def _error_line(exc: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The one-line message (file, field, problem) and exit status of an error of ``main``."""
    status = EXIT_INPUT
    if isinstance(exc, ConfigError) and getattr(args, "scenario", None) is not None:
        # Found while generating or running (e.g. more queries than eligible people): the
        # message must still name the scenario file.
        path = _scenario_file(args.scenario)
        named = exc.where.startswith((shown(path), shown(args.scenario), "-"))
        message = str(exc) if named else f"{shown(path)}: {exc}"
    elif isinstance(exc, OSError):
        message, status = _os_error(exc, args), EXIT_FAILURE if _is_environment(exc) else status
    elif isinstance(exc, MemoryError):
        message, status = "out of memory (lower population.size or query.size)", EXIT_FAILURE
    elif isinstance(exc, KeyboardInterrupt):
        message, status = "interrupted", EXIT_INTERRUPTED
    else:
        message = str(exc) or type(exc).__name__
    # One line, whatever the message holds (a path may contain a newline or non-UTF-8 bytes).
    return shown(message.replace("\r", "\\r").replace("\n", "\\n")), status


#: errno values of a full or failing disk, not of bad input: exit status 1 (as out of memory).
_ENVIRONMENT_ERRNOS = frozenset(
    getattr(errno, name) for name in ("ENOSPC", "EDQUOT", "EIO", "EROFS") if hasattr(errno, name)
)


def _is_environment(exc: OSError) -> bool:
    return exc.errno in _ENVIRONMENT_ERRNOS


def _user_path(name: str | bytes | int) -> str:
    """The path to show for a file linkrisk was writing: a staging directory's file under the
    output directory it stands for (``.linkrisk-tmp-<name>-<pid>/x`` -> ``<name>/x``)."""
    from bench.runs.writers import STAGING_PREFIX

    text = os.fsdecode(name) if isinstance(name, str | bytes) else str(name)
    parts = list(Path(text).parts)
    for i, part in enumerate(parts):
        if part.startswith(STAGING_PREFIX):
            parts[i] = part.removeprefix(STAGING_PREFIX).rpartition("-")[0] or part
    return str(Path(*parts)) if parts else text


def _os_error(exc: OSError, args: argparse.Namespace) -> str:
    """``<path>: <problem>`` for an OSError; the command's output (or input) path when the
    error itself names none (pyarrow and DuckDB raise OSErrors without a file name)."""
    problem = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if exc.filename is not None:
        other = f" -> {_user_path(exc.filename2)}" if exc.filename2 is not None else ""
        return f"{_user_path(exc.filename)}{other}: {problem}"
    where = next(
        (
            str(getattr(args, key))
            for key in ("out", "run_dir", "readme")
            if getattr(args, key, None) is not None
        ),
        None,
    )
    if where is None and exc.errno in _ENVIRONMENT_ERRNOS:
        where = "writing the outputs"
    return f"{where}: {problem}" if where else problem


def _scenario_file(name_or_path: str) -> str:
    from bench.linkage.config import scenario_path

    try:
        return str(scenario_path(name_or_path))
    except ConfigError:
        return name_or_path


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args)
    if args.command == "report":
        return _report(args)
    if args.command == "calibrate":
        return _calibrate(args)
    if args.command == "generate":
        return _generate(args)
    if args.command == "describe":
        return _describe(args)
    if args.command == "evaluate":
        return _evaluate(args)
    if args.command == "score":
        from bench.score_command import run_score

        contents = "parameters" if args.task is not None else "inputs"
        _print_result("linkrisk score", run_score(args), contents)
        return 0
    if args.command == "audit":
        from bench.audit_command import main as audit_main

        return audit_main(args)
    if args.command == "publish":
        from bench.publish import publish, publish_big

        if args.only and not args.big:
            raise ConfigError("--only", "goes with --big (it names big-file presets)")
        if args.shards is not None and (not args.big or len(args.only or ()) != 1):
            raise ConfigError("--shards", "goes with --big and one --only (one preset's shards)")
        paths = (
            publish_big(args.readme, only=args.only, shards=args.shards)
            if args.big
            else publish(args.readme)
        )
        for path in paths:
            print(path)
        return 0
    return _listing(args.command)


def _run(args: argparse.Namespace) -> int:
    from bench.linkage.config import load_benchmark
    from bench.runner import run
    from bench.runs.store import check_out_dir

    bench = load_benchmark(args.scenario)
    out = args.out
    if out is None:
        out = default_run_dir(bench, args.seed, args.replicates, args.engine)
        check_out_dir(out)  # --out was checked while parsing
    result = run(
        bench,
        seed=args.seed,
        out_dir=out,
        progress=False if args.no_progress else None,
        replicates=bench.scenario.replicates if args.replicates is None else args.replicates,
        engine=args.engine,
        html=not args.no_html,
        shards=args.shards,
    )
    seed = bench.scenario.seed if args.seed is None else args.seed
    _print_result(f"linkrisk {bench.name} (seed {seed})", result, "parameters")
    return 0


def _print_result(title: str, result: RunResult, contents: str) -> None:
    """The sizes, the headline table and where the report is (stdout); the timings (stderr)."""
    from bench.report.sections.headline import headline_table

    print(f"{title}: {_sizes(result.out_dir)}")
    print(headline_table(result.metrics))
    print(f"\nreport: {result.out_dir / 'report.md'}  (definitions, {contents}, manifest)")
    for line in result.step_lines():
        print(line, file=sys.stderr)


CALIBRATE_EPILOG = """\
the scenario's [calibration] section (see bench/calibration.py for every key):
  [calibration]
  list_size = 1_280_000         the real list's size: every count is scaled to it
  points = 64                   design size; seed, replicates_per_point, size_scale optional
  [[calibration.targets]]       name, method, metric (declared, verified, FP, ...), path
                                (optional: a rule's pass), value, precision or rel_precision,
                                source (where it was published)
  [[calibration.unknowns]]      key (e.g. query.share_in_register), low, high, why
  [[calibration.outputs]]       name, method, metric, path: the counts to answer (default: FP
                                and wrong_people of each target's method)

writes points.csv, implied.csv, tornado.csv, indices.csv, region.png, tornado.png,
calibration.md and manifest.json. Bad input prints one line and exits with status 2.
"""


def _calibrate_parser(sub: argparse._SubParsersAction) -> None:
    cal = sub.add_parser(
        "calibrate",
        help="find the unknowns' values that reproduce published counts, and what they imply",
        description="Calibrate a scenario to published counts: simulate a seeded space-filling\n"
        "design over the unknowns its [calibration] section declares, scale each count to the\n"
        "real list size, keep the points that reproduce every published target, and report the\n"
        "consistent region, the implied counts with intervals (calibration spread and sampling)\n"
        "and the sensitivity of each count to each unknown (tornado, global indices).",
        epilog=CALIBRATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    cal.add_argument("scenario", help="preset name or a .toml path with a [calibration] section")
    cal.add_argument(
        "--points",
        type=_points,
        help="points of the design (default: the section's `points`)",
    )
    cal.add_argument(
        "--seed",
        type=_seed,
        help="seed of the design, the populations and the draws (default: the section's "
        "`seed`, else the scenario's)",
    )
    cal.add_argument(
        "--out",
        type=_out_dir,
        help="output directory: new, empty, or an earlier linkrisk output, which it replaces "
        "(default: results/calibration/<scenario>; results/calibration/<scenario>@<option>="
        "<value>,... when --points or --seed differ from the scenario's own)",
    )
    cal.add_argument(
        "--workers",
        type=integer(1, 64, name="workers"),
        default=2,
        help="processes simulating points in parallel (default 2; results do not depend on it)",
    )
    cal.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def _calibrate(args: argparse.Namespace) -> int:
    import time

    from bench.runs.store import check_out_dir
    from bench.scale.calibration import (
        calibrate,
        default_out_dir,
        load_calibration,
        reproduce_command,
        write_calibration,
    )

    start = time.perf_counter()
    bench, cal = load_calibration(args.scenario, points=args.points, seed=args.seed)
    out = args.out
    if out is None:
        out = default_out_dir(bench, args.points, args.seed)
        check_out_dir(out)  # before any simulation; --out was checked while parsing
    result = calibrate(
        bench, cal, workers=args.workers, progress=False if args.no_progress else None
    )
    command = reproduce_command(result, args.points, args.seed)
    write_calibration(result, out, command)
    ok = int(result.points["consistent"].sum())
    print(f"linkrisk calibrate {bench.name}: {ok} of {cal.points} points consistent")
    for r in result.implied.itertuples():
        if ok:
            print(f"  {r.output}: {r.median:,.0f} (95% {r.lo:,.0f} - {r.hi:,.0f})")
    print(f"\nsummary: {out / 'calibration.md'}")
    elapsed = time.perf_counter() - start
    print(
        f"time: {elapsed:.1f}s ({elapsed / (cal.points + 1 + 2 * len(cal.unknowns)):.2f}s a run)",
        file=sys.stderr,
    )
    return 0


EVALUATE_EPILOG = """\
column map (--map FILE, TOML):
  [columns]                     linkrisk field = "their column", or {query = .., register = ..}
  first_name = "FNAME"          fields: record_id, first_name, middle_name, last_name, suffix,
  last_name = "SURNAME"           dob, house_number, street, unit, city, state, zip
  dob = "BIRTH_DATE"            (at least one name field; unmapped fields are missing)
  [truth]
  column = "PERSON_ID"          or: pairs = "truth.csv", query = "QID", register = "RID"
  [dates]
  format = "%m/%d/%Y"           default: detect ISO, MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD
  unreadable = "missing"        dates no format reads: missing (default "error": refused)

Reports and every output hold aggregates only (counts, rates, row numbers, scores), never
record values, unless --include-examples. Bad input prints one line and exits with status 2.

example:
  linkrisk evaluate --query examples/evaluate/query.csv \\
      --register examples/evaluate/register.csv --map examples/evaluate/map.toml
"""


def _evaluate_parser(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser(
        "evaluate",
        help="run the methods on your own query and register files with a known truth",
        description="Evaluate linkage methods on your own file pair: a query file and a\n"
        "register file (CSV in UTF-8, or parquet), a map from their columns to linkrisk's\n"
        "fields, and the truth (a shared entity-id column or a file of true pairs). Runs the\n"
        "configured methods and writes the same metrics and report as `linkrisk run`.",
        epilog=EVALUATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_file_pair_arguments(ev, required=True)
    truth = ev.add_mutually_exclusive_group()
    truth.add_argument(
        "--truth-column",
        metavar="COLUMN",
        help="entity-id column of both files: equal non-empty ids are true links",
    )
    truth.add_argument(
        "--truth-pairs",
        type=Path,
        metavar="FILE",
        help="file of true pairs with columns query_id, register_id (record ids; the map's "
        "[truth] query/register name other columns)",
    )
    ev.add_argument(
        "--config",
        metavar="FILE",
        help="[blocking] and [[methods]] as in bench/defaults.toml (the default), or a scenario "
        "file or preset, whose population then also trains supervised methods",
    )
    ev.add_argument(
        "--methods", metavar="A,B", help="run only these configured methods (comma-separated)"
    )
    ev.add_argument(
        "--out",
        type=_out_dir,
        help="output directory: new, empty, or an earlier linkrisk run (default: "
        "results/evaluate under the current directory)",
    )
    ev.add_argument(
        "--include-examples",
        action="store_true",
        help="add a few false and missed matches per method, with record values, to raw/ and "
        "the report (off: outputs hold aggregates only)",
    )
    ev.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_no_html(ev)


def _evaluate(args: argparse.Namespace) -> int:
    import shlex

    from bench.evaluate import OUT_DIR, evaluate, load_config
    from bench.inputs.arguments import column_map, command_words
    from bench.runs.store import check_out_dir

    if args.out is None:
        check_out_dir(OUT_DIR)  # before reading the files; --out was checked while parsing

    cmap = column_map(args).with_truth(args.truth_column, args.truth_pairs)
    methods = None
    if args.methods is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bench = load_config(args.config, methods)
    command = ["linkrisk", "evaluate", *command_words(args)]
    for flag, value in (
        ("--truth-column", args.truth_column),
        ("--truth-pairs", args.truth_pairs),
        ("--config", args.config),
        ("--methods", args.methods),
    ):
        command += [flag, str(value)] if value is not None else []
    command += ["--include-examples"] if args.include_examples else []
    result = evaluate(
        args.query,
        args.register,
        cmap,
        bench=bench,
        out_dir=OUT_DIR if args.out is None else args.out,
        include_examples=args.include_examples,
        command=shlex.join(command),
        progress=False if args.no_progress else None,
        html=not args.no_html,
    )
    _print_result("linkrisk evaluate", result, "inputs")
    return 0


def _sizes(run_dir: Path) -> str:
    from bench.runs.rundir import RunDir

    info = RunDir(run_dir).info
    k = info.get("replicates", 1)
    pooled = f"; counts below pooled over {k} replicates" if k > 1 else ""
    return (
        f"{info['queries']:,} queries, {info['register_records']:,} register records, "
        f"{info['true_links']:,} true links{pooled}"
    )


def _report(args: argparse.Namespace) -> int:
    from bench.report.document import write_outputs
    from bench.report.sections.headline import headline_table
    from bench.runner import RESULTS_DIR
    from bench.runs.store import atomic_dir, check_out_dir, check_run_dir, copy_run

    run_dir = Path(args.run_dir)
    if not run_dir.exists() and (RESULTS_DIR / args.run_dir).exists():
        run_dir = RESULTS_DIR / args.run_dir  # a scenario name
    check_run_dir(run_dir)
    check_out_dir(run_dir)  # e.g. `.`: the swap cannot replace the current directory
    # Rebuilt in a staging copy and swapped in whole: a killed `report` leaves the run as it was.
    with atomic_dir(run_dir) as tmp:
        copy_run(run_dir, tmp)
        metrics = write_outputs(tmp, html=not args.no_html)
    print(headline_table(metrics))
    print(f"\nreport: {run_dir / 'report.md'}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from bench.linkage.config import load_benchmark
    from bench.runs.store import atomic_dir
    from bench.score import write_generated
    from synthetic import scenario as sc

    bench = load_benchmark(args.scenario)
    seed = bench.scenario.seed if args.seed is None else args.seed
    shard_size = bench.scenario.shard_size if args.shard_size is None else args.shard_size
    if shard_size is not None:
        from synthetic.shards import write_sharded_task

        if args.format != "parquet":
            raise ConfigError("--format", "sharded tasks are written as parquet only")
        progress = False if args.no_progress else None
        # Staged and swapped in whole, as a run: a killed generate leaves the earlier output.
        with atomic_dir(args.out) as tmp:
            manifest = write_sharded_task(bench.scenario, seed, tmp, shard_size, progress)
        sizes = manifest["sizes"]
        print(args.out / "manifest.json")
        print(
            f"{sizes['query']:,} queries, {sizes['register']:,} register records in "
            f"{len(manifest['shards'])} parts, {sizes['true_links']:,} true links",
            file=sys.stderr,
        )
        return 0
    written = write_generated(
        sc.build_task(bench.scenario, seed), bench, seed, args.out, args.format
    )
    for path in written:
        print(args.out / path.name)
    return 0


def _describe(args: argparse.Namespace) -> int:
    import dataclasses
    import time

    from bench.linkage.config import load_benchmark
    from synthetic.population import generate_population
    from synthetic.summary import summarize_population, summary_markdown

    bench = load_benchmark(args.scenario)
    seed = bench.scenario.seed if args.seed is None else args.seed
    cfg = bench.scenario.population
    if args.size is not None:
        cfg = dataclasses.replace(cfg, size=args.size)
    t0 = time.perf_counter()
    pop = generate_population(cfg, seed)
    t1 = time.perf_counter()
    summary = summarize_population(pop, cfg)
    t2 = time.perf_counter()
    if args.json:
        doc = {"scenario": bench.name, "seed": seed, "summary": summary}
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(f"linkrisk describe {bench.name} (seed {seed}): {cfg.size:,} people\n")
        print(summary_markdown(summary))
    print(f"time: generate {t1 - t0:.1f}s, summarize {t2 - t1:.1f}s", file=sys.stderr)
    return 0


def _listing(what: str) -> int:
    if what == "scenarios":
        from bench.linkage.config import load_benchmark, presets

        for name in presets():
            print(f"{name}\t{load_benchmark(name).scenario.description.strip().splitlines()[0]}")
    elif what == "methods":
        from bench.linkage.methods import METHODS

        for kind, cls in METHODS.items():
            print(f"{kind}\t{cls.summary}")
    else:
        from bench.publish import noise_table

        print(noise_table(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
