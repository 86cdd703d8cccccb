"""Where the copies are, country by country: the figure behind the HTML chart and ``plot_countries``.

A *copy* here is one placement of one holder (a resource or a subprocessor): a storage account
with a primary and a secondary location counts once in each place. A placement in a zone that
may store data in several countries (a multi-region) counts once in each of them. A placement
whose country is unknown counts under the empty country code, so that it is never left out.
The data table counts the copies of a category the same way (one per placement:
:attr:`~residency_audit.view.DataView.copies`).

A copy is *reached by a foreign law* when a foreign law (see the policy's home) reaches its
holder: a law that can compel the holder reaches every copy the holder keeps, wherever it is.
``reached`` counts those copies; ``copies - reached`` are the copies no foreign law reaches.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> rows = copies_by_country(audit(demo_estate(), today=dt.date(2026, 11, 24)))
>>> [(r.country, r.copies, r.reached, r.eea, r.laws) for r in rows if r.country == "US"]
[('US', 1, 1, False, ('law:us-cloud-act', 'law:us-fisa-702'))]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from residency_audit.pipeline import Audit
from residency_audit.view import AuditView, DataView

__all__ = ["CountryCopies", "copies_by_country", "copies_text"]

UNKNOWN = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryCopies:
    """The copies held in one country (``country`` is ``""`` for copies of unknown place).

    ``reached`` of the ``copies`` are held by a holder that a foreign law reaches; ``laws`` names
    those foreign laws.
    """

    country: str
    name: str
    eea: bool
    copies: int
    holders: tuple[str, ...]
    roles: tuple[tuple[str, int], ...]
    reached: int = 0
    laws: tuple[str, ...] = ()


def copies_by_country(a: Audit | AuditView) -> list[CountryCopies]:
    """One row per country that holds a copy, sorted by country code (unknown first)."""
    from residency_audit.report.json_report import as_view

    v = as_view(a)
    foreign = {law.node for law in v.laws if law.foreign}
    info = {c.code: c for c in v.countries}
    count: dict[str, int] = defaultdict(int)
    reached: dict[str, int] = defaultdict(int)
    laws: dict[str, set[str]] = defaultdict(set)
    holders: dict[str, set[str]] = defaultdict(set)
    roles: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for h in v.holders:
        by = sorted(foreign.intersection(h.reached_by))
        for p in h.placements:
            for c in sorted(set(p.countries)) or [UNKNOWN]:
                count[c] += 1
                holders[c].add(h.node)
                roles[c][p.role] += 1
                if by:
                    reached[c] += 1
                    laws[c].update(by)
    out = []
    for c in sorted(count):
        known = info.get(c) if c else None
        out.append(CountryCopies(
            country=c, name=known.name if known else c or "unknown", eea=bool(known and known.eea),
            copies=count[c], holders=tuple(sorted(holders[c])), roles=tuple(sorted(roles[c].items())),
            reached=reached[c], laws=tuple(sorted(laws[c]))))
    return out


def copies_text(d: DataView) -> str:
    """The copies of a data category as the data tables show them: placements, then holders.

    >>> from residency_audit.view import DataView
    >>> copies_text(DataView(node="data:x", label="x", classification="", holders=("a",), copies=2,
    ...                      countries=(), reached_by=()))
    '2 in 1 holder'
    """
    return f"{d.copies} in {len(d.holders)} holder{'' if len(d.holders) == 1 else 's'}"
