"""One root error. Every error names the input it is about; the CLI turns it into one line and an exit code."""
from __future__ import annotations


class AuditError(Exception):
    """Root of every error mlaudit raises on purpose."""

    exit_code = 3

    def __init__(self, input: str, message: str):
        super().__init__(f"{input}: {message}")
        self.input = input
        self.message = message


class InputUnreadable(AuditError):
    """An input (path, card, repo id, network resource) could not be read. Exit code 3."""

    exit_code = 3


class UsageError(AuditError):
    """The command line or a configuration file is wrong. Exit code 2."""

    exit_code = 2


class PolicyError(UsageError):
    """A policy file is invalid. Carries file and line where known. Exit code 2."""

    def __init__(self, input: str, message: str, line: int | None = None):
        where = f"{input}:{line}" if line else input
        super().__init__(where, message)
        self.file = input
        self.line = line
