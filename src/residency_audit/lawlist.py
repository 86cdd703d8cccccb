"""The catalog's disclosure laws as they stood on a date: status, scope and citation.

The ``residency-audit laws`` command is a thin wrapper over :func:`law_rows` and
:func:`write_laws`.

>>> import datetime as dt
>>> from residency_audit.catalog import default_catalog
>>> rows = law_rows(default_catalog(), day=dt.date(2017, 6, 1))
>>> [(r.id, r.status, r.in_force) for r in rows if r.id in ("us-cloud-act", "us-fisa-702")]
[('us-cloud-act', 'not-in-force', False), ('us-fisa-702', 'in-force', True)]
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from typing import TextIO

from residency_audit.catalog import Catalog

__all__ = ["LawRow", "law_rows", "write_laws"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LawRow:
    """One law on one date: whether it can reach anything then, and what that rests on."""

    id: str
    name: str
    country: str
    scope: str
    status: str
    in_force: bool
    valid_from: str
    valid_to: str
    case: str
    status_note: str
    status_source: str
    status_verified: bool
    citation: str
    source: str
    source_kind: str
    verified: bool


def _scope(territorial: bool, extraterritorial: bool) -> str:
    if territorial and extraterritorial:
        return "territory and control"
    return "territory" if territorial else "control" if extraterritorial else "neither"


def law_rows(catalog: Catalog, *, day: dt.date) -> list[LawRow]:
    """Every law of ``catalog`` with its status on ``day``, sorted by id."""
    rows = []
    for law in sorted(catalog.at(day).laws.values(), key=lambda x: x.id):
        st = law.status
        rows.append(LawRow(
            id=law.id, name=law.name, country=law.country,
            scope=_scope(law.territorial, law.extraterritorial),
            status=st.status if st else "undated", in_force=law.in_force,
            valid_from=st.valid_from.isoformat() if st and st.valid_from else "",
            valid_to=st.valid_to.isoformat() if st and st.valid_to else "",
            case=st.case if st else "",
            status_note=st.note if st else "no dated status in the catalog: read as in force",
            status_source=st.source.url if st else "", status_verified=bool(st and st.source.verified),
            citation=law.citation, source=law.source.url, source_kind=law.source.kind,
            verified=law.source.verified))
    return rows


def write_laws(rows: list[LawRow], *, fmt: str, out: TextIO, day: dt.date) -> None:
    """Write ``rows`` as a table (for people) or JSON (for tools), deterministically."""
    if fmt == "json":
        from residency_audit.textsafe import json_safe

        doc = {"date": day.isoformat(), "laws": [asdict(r) for r in rows]}
        out.write(json_safe(json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True)) + "\n")
        return
    from residency_audit.display import print_table

    out.write(f"Laws as they stood on {day.isoformat()}\n")
    print_table(out, ["law", "country", "reaches by", "status", "since", "until", "citation"], [
        [r.id, r.country, r.scope if r.in_force else f"({r.scope})",
         r.status + ("" if r.status_verified or r.status == "undated" else " [unverified]"),
         r.valid_from, r.valid_to, _short(r.citation)] for r in rows], width=160)


def _short(text: str, limit: int = 72) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"
