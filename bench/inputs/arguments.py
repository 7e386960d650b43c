"""The options naming a user's file pair, shared by every command that reads one (`evaluate`,
`score`, `audit plan`): the same flags, the same help and the same column map everywhere."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the reader (pandas) loads only when a command reads files: fast --help
    from bench.inputs.userfiles import ColumnMap

COLUMN_HELP = (
    "map one field to a column of both files (query.FIELD=... or register.FIELD=... for one "
    "file); repeat for each field"
)


def add_file_pair_arguments(
    parser: argparse.ArgumentParser, *, required: bool, column_flags: bool = True
) -> None:
    """Add ``--query``, ``--register`` and the column map (``--map`` or, with ``column_flags``,
    ``--column``: one of them) to ``parser``; ``required``: the command cannot run without the
    pair. A command that needs the map's ``[truth]`` table offers ``--map`` alone."""
    parser.add_argument(
        "--query", type=Path, required=required, help="the query list (.csv or .parquet)"
    )
    parser.add_argument(
        "--register", type=Path, required=required, help="the register (.csv or .parquet)"
    )
    cols = parser.add_mutually_exclusive_group(required=required)
    cols.add_argument("--map", type=Path, help="column map TOML ([columns], [truth], [dates])")
    if column_flags:
        cols.add_argument("--column", action="append", metavar="FIELD=COLUMN", help=COLUMN_HELP)
    else:
        parser.set_defaults(column=None)


def given(args: argparse.Namespace) -> bool:
    """Whether any option of the file pair was given."""
    return any(v is not None for v in (args.query, args.register, args.map, args.column))


def complete(args: argparse.Namespace) -> bool:
    """Whether the whole file pair was given: both files and a column map."""
    return None not in (args.query, args.register) and bool(args.map or args.column)


def column_map(args: argparse.Namespace) -> ColumnMap:
    """The column map the options give (validated; errors name the file or the flag)."""
    from bench.inputs.userfiles import map_from_flags, read_map

    return read_map(args.map) if args.map is not None else map_from_flags(args.column)


def command_words(args: argparse.Namespace) -> list[str]:
    """The file-pair options as they would be typed again (for a run's reproduce command)."""
    words = ["--query", str(args.query), "--register", str(args.register)]
    words += ["--map", str(args.map)] if args.map is not None else []
    return words + [w for c in args.column or [] for w in ("--column", c)]


__all__ = [
    "COLUMN_HELP",
    "add_file_pair_arguments",
    "column_map",
    "command_words",
    "complete",
    "given",
]
