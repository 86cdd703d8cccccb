"""Errors that reach the user as a clear message and exit code 2, never as a traceback."""

from __future__ import annotations

__all__ = ["InputError", "ResidencyAuditError"]


class ResidencyAuditError(Exception):
    """Base class of this library's errors."""


class InputError(ResidencyAuditError, ValueError):
    """Bad input: names the file, the line and the field where it went wrong.

    >>> str(InputError("inv.yaml", 12, "subprocessors[0].entity", "unknown entity 'acme'"))
    "inv.yaml:12: subprocessors[0].entity: unknown entity 'acme'"
    """

    def __init__(self, file: str, line: int | None, field: str | None, message: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
