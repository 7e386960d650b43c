"""The ``linkrisk score`` subcommand: its parser and handler (:mod:`bench.score` does the work)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.inputs import arguments as pair
from bench.inputs.arguments import add_file_pair_arguments
from bench.usage import add_no_html
from synthetic.config import identifier
from synthetic.errors import ConfigError

if TYPE_CHECKING:
    from bench.runner import RunResult

SCORE_EPILOG = """\
the links file (CSV in UTF-8, or parquet), one row per pair:
  query_id, register_id   record ids of the query file and the register (required)
  score                   the linker's score of the pair (optional: threshold sweeps)
  link                    true/false or 1/0 (optional): the rows are then every pair the
                          linker considered and `link` marks the declared ones (blocking
                          loss and reduction ratio become known); without it every row is
                          a declared link

examples:
  linkrisk generate irs-ice --out data
  linkrisk score --task data --links my_links.csv
  linkrisk score --query q.csv --register r.csv --map map.toml --links my_links.csv
"""


def add_parser(sub: argparse._SubParsersAction, out_dir: Callable[[str], Path]) -> None:
    """Add ``score`` to the subcommands ``sub``; ``out_dir`` checks ``--out``."""
    sc = sub.add_parser(
        "score",
        help="score your own linker's declared links against a task's truth",
        description="Score the links another linker declared (record ids, optional score) as\n"
        "a method of its own: the same metrics, causes, subgroups, sweeps and report as a\n"
        "built-in method. The task is a directory written by `linkrisk generate` (--task), or\n"
        "a file pair with a truth as `linkrisk evaluate` takes it (--query, --register, --map).",
        epilog=SCORE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("--links", type=Path, required=True, help="the declared links (.csv, .parquet)")
    sc.add_argument("--task", type=Path, help="a directory written by linkrisk generate")
    add_file_pair_arguments(sc, required=False, column_flags=False)  # needs the map's [truth]
    sc.add_argument(
        "--name", default="declared", help="the method name the links are reported under"
    )
    sc.add_argument(
        "--out",
        type=out_dir,
        help="output directory: new, empty, or an earlier linkrisk run (default: "
        "results/score under the current directory)",
    )
    sc.add_argument(
        "--include-examples",
        action="store_true",
        help="with --query/--register: add a few false and missed matches with record values",
    )
    sc.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_no_html(sc)


def run_score(args: argparse.Namespace) -> RunResult:
    """Handle ``linkrisk score``: check the arguments, score, return the run."""
    from bench.evaluate import load_config
    from bench.inputs.userfiles import load_user_task
    from bench.runs.store import check_out_dir
    from bench.score import OUT_DIR, score_files, score_generated

    identifier({"name": args.name}, "name", "", "it names the method's raw files")
    if (args.task is None) == (not pair.given(args)):
        raise ConfigError("--task", "give either --task DIR or --query, --register and --map")
    if args.task is None and not pair.complete(args):
        raise ConfigError("--query", "--query, --register and --map go together")
    if args.task is not None and args.include_examples:
        raise ConfigError("--include-examples", "only with --query, --register and --map")
    out = OUT_DIR if args.out is None else args.out
    if args.out is None:
        check_out_dir(OUT_DIR)
    progress = False if args.no_progress else None
    command = ["linkrisk", "score", "--links", str(args.links)]
    command += ["--task", str(args.task)] if args.task is not None else pair.command_words(args)
    command += ["--name", args.name] if args.name != "declared" else []
    command += ["--include-examples"] if args.include_examples else []
    if args.task is not None:
        return score_generated(
            args.task,
            args.links,
            out_dir=out,
            name=args.name,
            command=shlex.join(command),
            progress=progress,
            html=not args.no_html,
        )
    cmap = pair.column_map(args)
    user = load_user_task(args.query, args.register, cmap)
    return score_files(
        user,
        cmap,
        args.links,
        load_config(),
        out_dir=out,
        name=args.name,
        command=shlex.join(command),
        include_examples=args.include_examples,
        progress=progress,
        html=not args.no_html,
    )


__all__ = ["add_parser", "run_score"]
