"""Command-line usage errors as every linkrisk command gives them: one line, exit status 2."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

#: Exit status of bad input (scenario, arguments, files): one line on stderr, nothing written.
EXIT_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one line, ``linkrisk: error: ...``, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(EXIT_INPUT, f"linkrisk: error: {line} (see `{self.prog} --help`)\n")


def integer(
    lo: int, hi: int | None = None, *, name: str = "integer", of: str = ""
) -> Callable[[str], int]:
    """An argparse type: an integer in ``[lo, hi]``, refused in one line otherwise (``of`` names
    what sets the bound, e.g. the scenario key a flag stands for)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < lo:
            raise argparse.ArgumentTypeError("must be > 0" if lo == 1 else f"must be >= {lo}")
        if hi is not None and value > hi:
            raise argparse.ArgumentTypeError(f"must be at most {hi:,}{of}")
        return value

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def scenario_integer(key: str) -> Callable[[str], int]:
    """:func:`integer` within the bounds of scenario key ``key``
    (:data:`synthetic.scenario.KEY_BOUNDS`): a flag accepts nothing the scenario file would
    refuse."""
    from synthetic.scenario import KEY_BOUNDS  # here: `--help` stays fast

    lo, hi = KEY_BOUNDS[key]
    return integer(lo, hi, name=key.rpartition(".")[2], of=f" (as {key})")


def add_no_html(parser: argparse.ArgumentParser) -> None:
    """The ``--no-html`` flag of the commands that write a report."""
    parser.add_argument(
        "--no-html",
        action="store_true",
        help="skip report.html and its figures (faster; report.md, the tables and the "
        "manifest are written as always)",
    )
