"""Errors that carry a one-line, user-facing message naming the file, the field and the problem."""

from __future__ import annotations


class LinkriskError(Exception):
    """Base class for errors caused by user input; the CLI prints them on one line and exits 2."""


class ConfigError(LinkriskError, ValueError):
    """A scenario or method configuration is invalid (unknown key, wrong type, out of range)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem
        super().__init__(f"{where}: {problem}" if where else problem)

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str]]:
        # as raised, when it comes back from a child process (the default rebuilds from the message)
        return type(self), (self.where, self.problem)
