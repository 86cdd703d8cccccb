"""Promised against actual: every copy compared with the locations its contract agreed.

An ``agreed_locations`` declaration on a resource or a subprocessor (a supplier agreement) binds
that holder and every holder its data flows on to: replicas, backups and subprocessors, to any
depth. Each copy whose place is not among the agreed places is a finding that names the copy,
its place, the clause and the chain from the agreement to the copy. A copy whose place is unknown
cannot be shown to be inside the agreement, so it is a finding too (unknown is never compliant).

This module reads only the graph (:mod:`residency_audit.graph`), so that the policy can use it.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> a = audit(demo_estate(), today=dt.date(2026, 11, 24))
>>> [f.node for f in agreed_findings(a.graph, a.copies)]
['resource:aws:arn:aws:s3:::region-exempel-lab-results-dr', 'subprocessor:messaging-gateway']
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx

from residency_audit.graph import edge_evidence
from residency_audit.model import Finding, Severity

__all__ = ["AGREED_RULE", "Agreement", "CopyCheck", "agreed_findings", "agreements", "check_copies",
           "place_allows"]

AGREED_RULE = "agreed-locations"
_ONWARD = frozenset({"replicates_to", "backs_up_to", "subcontracts"})
_HOLDERS = frozenset({"resource", "subprocessor"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    """The agreed places declared on ``holder``, the clause, and where it was declared."""

    holder: str
    places: tuple[str, ...]
    clause: str
    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CopyCheck:
    """One copy bound by an agreement: inside it (``inside``), outside, or not known (``known``)."""

    agreement: Agreement
    holder: str
    location: str
    role: str
    countries: tuple[str, ...]
    known: bool
    inside: bool
    path: tuple[str, ...]
    path_evidence: tuple[str, ...]


def agreements(g: nx.MultiDiGraph) -> tuple[Agreement, ...]:
    """Every agreement declared on a holder of ``g``, sorted by holder."""
    out = []
    for n in sorted(g._node):
        attrs = g._node[n]
        if attrs.get("kind") in _HOLDERS and attrs.get("agreed_places"):
            out.append(Agreement(holder=n, places=tuple(str(attrs["agreed_places"]).split()),
                                 clause=str(attrs.get("agreed_clause") or ""),
                                 ref=str(attrs.get("agreed_ref") or "")))
    return tuple(out)


def place_allows(g: nx.MultiDiGraph, place: str, location: str, countries: Iterable[str]) -> bool:
    """Whether the agreed ``place`` (``EEA``, ``EU``, a country code or a location) covers a copy at
    ``location`` (a graph node) in ``countries`` (every one of them must be covered).

    >>> g = nx.MultiDiGraph()
    >>> g.add_node("country:SE", kind="country", eea=True, eu=True)
    >>> place_allows(g, "EEA", "location:country:SE", ["SE"]), place_allows(g, "NO", "location:country:SE", ["SE"])
    (True, False)
    """
    cs = list(countries)
    if place in ("EEA", "EU"):
        flag = place.lower()
        return bool(cs) and all(bool(g._node.get(f"country:{c}", {}).get(flag)) for c in cs)
    if len(place) == 2:
        return bool(cs) and all(c == place for c in cs)
    return location.casefold() == f"location:{place}".casefold()


def _bound(g: nx.MultiDiGraph, start: str) -> list[tuple[str, tuple[str, ...]]]:
    """``start`` and every holder its data flows on to, each with the shortest chain to it."""
    seen: dict[str, tuple[str, ...]] = {start: (start,)}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for v in sorted(g._adj[node]):
            if v in seen or g._node[v].get("kind") not in _HOLDERS:
                continue
            if any(e.get("relation") in _ONWARD for e in g._adj[node][v].values()):
                seen[v] = (*seen[node], v)
                queue.append(v)
    return sorted(seen.items())


def _link_evidence(g: nx.MultiDiGraph, path: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for u, v in pairwise(path):
        edges = [e for e in g._adj[u][v].values() if e.get("relation") in _ONWARD]
        out.append(edge_evidence(edges[0]) if edges else "")
    return tuple(out)


def check_copies(g: nx.MultiDiGraph) -> tuple[CopyCheck, ...]:
    """Every copy bound by an agreement, checked against it, sorted."""
    out = []
    for ag in agreements(g):
        for holder, path in _bound(g, ag.holder):
            if not any(e.get("relation") == "located_in" for keyed in g._adj[holder].values()
                       for e in keyed.values()):  # a copy not seen, or with no place at all
                out.append(CopyCheck(agreement=ag, holder=holder, location="", role="", countries=(),
                                     known=False, inside=False, path=path,
                                     path_evidence=_link_evidence(g, path)))
            for loc in sorted(g._adj[holder]):
                for e in sorted(g._adj[holder][loc].values(), key=lambda e: str(e.get("role"))):
                    if e.get("relation") != "located_in":
                        continue
                    attrs = g._node[loc]
                    countries = tuple(sorted(str(attrs.get("countries") or "").split()))
                    known = bool(attrs.get("known")) and bool(countries)
                    inside = known and any(place_allows(g, p, loc, countries) for p in ag.places)
                    out.append(CopyCheck(agreement=ag, holder=holder, location=loc,
                                         role=str(e.get("role") or ""), countries=countries, known=known,
                                         inside=inside, path=path, path_evidence=_link_evidence(g, path)))
    return tuple(out)


def _label(g: nx.MultiDiGraph, node: str) -> str:
    return str(g._node.get(node, {}).get("label") or node)


def agreed_findings(g: nx.MultiDiGraph, copies: Mapping[str, set[str]], *, rule: str = AGREED_RULE,
                    severity: Severity = Severity.HIGH, remedy: str = "",
                    holders: Iterable[str] | None = None) -> list[Finding]:
    """One finding per holder and agreement with a copy outside the agreed places (or not known).

    ``copies`` maps each data node to its holders (:func:`residency_audit.policy.data_copies`);
    ``holders`` limits the findings to some holders (a rule's scope), all when ``None``.
    """
    wanted = None if holders is None else set(holders)
    data_of: dict[str, set[str]] = {}
    for d, hs in copies.items():
        for h in hs:
            data_of.setdefault(h, set()).add(d)
    grouped: dict[tuple[str, str], list[CopyCheck]] = {}
    for c in check_copies(g):
        if not c.inside and (wanted is None or c.holder in wanted):
            grouped.setdefault((c.holder, c.agreement.holder), []).append(c)
    out = []
    for (holder, by), checks in sorted(grouped.items()):
        ag = checks[0].agreement
        places = ", ".join(f"{_label(g, c.location)} ({c.role}; {' '.join(c.countries) or 'country unknown'})"
                           for c in checks)
        via = "" if holder == by else f" through {' → '.join(_label(g, n) for n in checks[0].path)}"
        unknown = not all(c.known for c in checks)
        out.append(Finding(
            rule=rule, severity=severity, node=holder,
            title="Agreed location cannot be checked" if unknown else "Copy outside the agreed locations",
            message=(f"{_label(g, holder)} has a copy at {places}{via}; {_label(g, by)} agreed "
                     f"{', '.join(ag.places)} only: \"{ag.clause}\" (declared at {ag.ref})."),
            remedy=remedy or ("Move the copy inside the agreed locations, have the supplier confirm where "
                              "it is, or amend the agreement and assess the change."),
            data=tuple(sorted(data_of.get(holder, ()))),
            locations=tuple(sorted({c.location for c in checks})),
            countries=tuple(sorted({x for c in checks for x in c.countries})),
            path=checks[0].path, path_evidence=(f"agreed: {ag.ref} ({ag.clause})", *checks[0].path_evidence),
            key=by))
    return out
