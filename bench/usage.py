"""Command-line usage errors as every linkrisk command gives them: one line, exit status 2."""

from __future__ import annotations

import argparse
from typing import NoReturn

#: Exit status of bad input (scenario, arguments, files): one line on stderr, nothing written.
EXIT_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one line, ``linkrisk: error: ...``, and exit status 2."""

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(EXIT_INPUT, f"linkrisk: error: {line} (see `{self.prog} --help`)\n")
