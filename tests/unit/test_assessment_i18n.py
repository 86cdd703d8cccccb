"""Message catalogs: every message in both languages, the compiled catalogs current, every id the
code uses present, the same fields in both translations; dates and numbers per language."""

from __future__ import annotations

import datetime as dt
import re
import string
from pathlib import Path

import pytest

from residency_audit.assessment.i18n import LANGUAGES, compile_po, messages, parse_po

SRC = Path(__file__).parents[2] / "src" / "residency_audit"
LOCALE = SRC / "locale"


def _po(lang: str) -> dict[str, str]:
    return parse_po((LOCALE / lang / "LC_MESSAGES" / "residency_audit.po").read_text(encoding="utf-8"))


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_fields() -> None:
    en, sv = _po("en"), _po("sv")
    assert set(en) == set(sv)
    for key in en:
        if key:
            assert en[key].strip() and sv[key].strip(), key
            assert _fields(en[key]) == _fields(sv[key]), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalogs_are_current(lang: str) -> None:
    folder = LOCALE / lang / "LC_MESSAGES"
    assert (folder / "residency_audit.mo").read_bytes() == compile_po(
        (folder / "residency_audit.po").read_text(encoding="utf-8")), \
        "run python -m residency_audit.assessment.catalogs on the .po files"


def _used_ids() -> set[str]:
    code = "\n".join(p.read_text(encoding="utf-8") for p in (SRC / "assessment").glob("*.py"))
    ids = set(re.findall(r"""\bm\(["']([a-z0-9.-]+)["']""", code)) | set(re.findall(r'key="([a-z0-9.-]+)"', code))
    dynamic = {f"status.{s}" for s in ("met", "not-met", "cannot-be-judged", "not-evaluated")}
    dynamic |= {f"role.{r}" for r in ("primary", "replica", "secondary", "backup", "processing", "cache")}
    dynamic |= {"route.territorial", "route.control", "route."}
    dynamic |= {f"basis.{b}" for b in ("adequacy", "transfer-tool", "none")}
    dynamic |= {f"framework.status.{s}" for s in ("published", "proposal", "law")}
    dynamic |= {f"verified.{v}" for v in ("yes", "partly", "no")}
    dynamic |= {f"month.{i}" for i in range(1, 13)} | {"date.format"}
    return ids | dynamic


def test_every_message_the_code_uses_is_in_the_catalogs_and_none_is_left_unused() -> None:
    used = _used_ids()
    known = set(_po("en")) - {""}
    assert used - known == set()
    assert known - used == set()


def test_dates_and_numbers_are_written_for_the_language() -> None:
    sv, en = messages("sv"), messages("en")
    assert sv.date(dt.date(2026, 7, 1)) == "1 juli 2026" and en.date("2026-07-01") == "1 July 2026"
    assert sv.number(12345) == "12\xa0345" and en.number(12345) == "12,345"
    assert sv.number(0.5) == "0,5" and en.number(0.5) == "0.5"
    with pytest.raises(KeyError):
        sv("no.such.message")
    with pytest.raises(ValueError, match="no messages"):
        messages("de")
