"""Where the copies are, country by country: the figure behind the HTML chart and ``plot_countries``.

A *copy* here is one placement of one holder (a resource or a subprocessor): a storage account
with a primary and a secondary location counts once in each place. A placement in a zone that
may store data in several countries (a multi-region) counts once in each of them. A placement
whose country is unknown counts under the empty country code, so that it is never left out.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> rows = copies_by_country(audit(demo_estate(), today=dt.date(2026, 11, 24)))
>>> [(r.country, r.copies, r.eea) for r in rows if r.country in ("SE", "US")]
[('SE', 5, True), ('US', 1, False)]
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from residency_audit.pipeline import Audit

__all__ = ["CountryCopies", "copies_by_country"]

UNKNOWN = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryCopies:
    """The copies held in one country (``country`` is ``""`` for copies of unknown place)."""

    country: str
    name: str
    eea: bool
    copies: int
    holders: tuple[str, ...]
    roles: tuple[tuple[str, int], ...]


def copies_by_country(a: Audit) -> list[CountryCopies]:
    """One row per country that holds a copy, sorted by country code (unknown first)."""
    g = a.graph
    count: dict[str, int] = defaultdict(int)
    holders: dict[str, set[str]] = defaultdict(set)
    roles: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for h in sorted(n for n, k in g.nodes(data="kind") if k in ("resource", "subprocessor")):
        for _, loc, attrs in sorted(g.out_edges(h, data=True), key=lambda t: (t[1], str(t[2].get("role")))):
            if attrs.get("relation") != "located_in":
                continue
            countries = sorted(set(str(g.nodes[loc].get("countries") or "").split())) or [UNKNOWN]
            for c in countries:
                count[c] += 1
                holders[c].add(h)
                roles[c][str(attrs.get("role") or "")] += 1
    out = []
    for c in sorted(count):
        node = g.nodes.get(f"country:{c}", {}) if c else {}
        out.append(CountryCopies(
            country=c, name=str(node.get("label") or c or "unknown"), eea=bool(node.get("eea")),
            copies=count[c], holders=tuple(sorted(holders[c])),
            roles=tuple(sorted(roles[c].items()))))
    return out
