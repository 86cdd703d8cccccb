"""Errors that reach the user as a clear message and exit code 2, never as a traceback."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["InputError", "ResidencyAuditError", "display_path", "unknown_field_message"]

#: Characters that would break a one-line message or a terminal: C0/C1 controls, DEL, and the
#: line and paragraph separators; lone surrogates (undecodable bytes of a file name) too.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def display_path(text: str) -> str:
    """``text`` on one printable line: control characters, NUL and newlines escaped.

    >>> display_path("in\\nventory\\x00.yaml")
    'in\\\\nventory\\\\x00.yaml'
    """
    return _UNSAFE.sub(_escape, text)


class ResidencyAuditError(Exception):
    """Base class of this library's errors."""


class InputError(ResidencyAuditError, ValueError):
    """Bad input: names the file, the line and the field where it went wrong.

    The message is always one line: control characters in the file name, the field or the
    message (a file name with a newline, a value with a NUL byte) are escaped.

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
        file = display_path(self.file)
        where = file if self.line is None else f"{file}:{self.line}"
        text = f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        return display_path(text)


def unknown_field_message(key: str, known: Iterable[str]) -> str:
    """The message for an unknown key: the closest known one, or the list of known ones.

    >>> unknown_field_message("regoin", ["country", "region", "role"])
    "unknown field 'regoin' (did you mean 'region'?)"
    >>> unknown_field_message("Name", ["id", "name"])
    "unknown field 'Name' (did you mean 'name'?)"
    >>> unknown_field_message("zzz", ["b", "a"])
    "unknown field 'zzz'; expected one of a, b"
    """
    names = sorted(set(known))
    shown = key if len(key) <= 80 else key[:77] + "..."
    by_case = {n.lower(): n for n in names}
    close = [by_case[c] for c in difflib.get_close_matches(key.lower(), list(by_case), n=1, cutoff=0.6)]
    if close:
        return f"unknown field {shown!r} (did you mean {close[0]!r}?)"
    return f"unknown field {shown!r}; expected one of {', '.join(names)}"
