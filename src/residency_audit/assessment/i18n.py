"""Messages in Swedish and English: gettext catalogs (``locale/<lang>/LC_MESSAGES/residency_audit``).

Every text a register shows is a message with a symbolic id (``register.title``) whose wording
lives in the ``.po`` sources, one per language; the compiled ``.mo`` files beside them are what is
read (:func:`compile_po` builds them, and a test checks that they are current). Dates and numbers
are written as each language writes them.

>>> import datetime as dt
>>> sv, en = messages("sv"), messages("en")
>>> sv.date(dt.date(2026, 11, 24)), en.date(dt.date(2026, 11, 24))
('24 november 2026', '24 November 2026')
>>> sv.number(1234.5), en.number(1234.5)
('1\\xa0234,5', '1,234.5')
"""

from __future__ import annotations

import ast
import datetime as dt
import gettext
import io
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["DOMAIN", "LANGUAGES", "Messages", "compile_po", "messages", "parse_po"]

DOMAIN = "residency_audit"
LANGUAGES = ("en", "sv")


def parse_po(text: str) -> dict[str, str]:
    """The ``msgid → msgstr`` pairs of a ``.po`` text (the header, msgid ``""``, included).

    >>> parse_po('msgid "a"\\nmsgstr ""\\n"b"\\n')
    {'a': 'b'}
    """
    out: dict[str, str] = {}
    field = ""
    parts: dict[str, list[str]] = {"msgid": [], "msgstr": []}

    def flush() -> None:
        if parts["msgid"] or parts["msgstr"]:
            out["".join(parts["msgid"])] = "".join(parts["msgstr"])
        parts["msgid"], parts["msgstr"] = [], []

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("msgid "):
            flush()
            field, line = "msgid", line[len("msgid "):]
        elif line.startswith("msgstr "):
            field, line = "msgstr", line[len("msgstr "):]
        if not (line.startswith('"') and line.endswith('"')) or not field:
            raise ValueError(f"line {number}: not a .po string: {raw!r}")
        parts[field].append(ast.literal_eval(line))
    flush()
    return out


def compile_po(text: str) -> bytes:
    """The GNU ``.mo`` bytes of a ``.po`` text, keys sorted (byte-identical for the same text)."""
    pairs = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in parse_po(text).items())
    n = len(pairs)
    ids = b"".join(k + b"\0" for k, _ in pairs)
    strs = b"".join(v + b"\0" for _, v in pairs)
    start = 7 * 4 + 16 * n
    offsets: list[int] = []
    pos = 0
    for k, _ in pairs:
        offsets += [len(k), start + pos]
        pos += len(k) + 1
    str_start = start + len(ids)
    pos = 0
    for _, v in pairs:
        offsets += [len(v), str_start + pos]
        pos += len(v) + 1
    key_table = offsets[: 2 * n]
    value_table = offsets[2 * n:]
    header = struct.pack("<7I", 0x950412DE, 0, n, 7 * 4, 7 * 4 + 8 * n, 0, 0)
    return header + struct.pack(f"<{4 * n}I", *key_table, *value_table) + ids + strs


@dataclass(frozen=True, slots=True)
class Messages:
    """One language's messages, with its date and number formats."""

    lang: str
    catalog: gettext.GNUTranslations

    def __call__(self, key: str, **params: Any) -> str:
        """The message ``key`` in this language, ``{name}`` fields filled from ``params``."""
        text = self.catalog.gettext(key)
        if text == key:
            raise KeyError(f"message {key!r} is not in the {self.lang} catalog")
        return text.format(**params) if params else text

    def date(self, day: dt.date | str) -> str:
        """``day`` as this language writes it (``24 november 2026``, ``24 November 2026``)."""
        d = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        return self("date.format", day=d.day, month=self(f"month.{d.month}"), year=d.year)

    def number(self, value: float) -> str:
        """``value`` with this language's decimal sign and thousands separator."""
        text = f"{value:,.1f}" if value != int(value) else f"{int(value):,}"
        if self.lang == "sv":
            return text.replace(",", "\xa0").replace(".", ",")
        return text


def messages(lang: str) -> Messages:
    """The messages of ``lang`` (``sv`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"no messages for language {lang!r}; use one of {', '.join(LANGUAGES)}")
    data = (resources.files("residency_audit") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").read_bytes()
    return Messages(lang, gettext.GNUTranslations(io.BytesIO(data)))
