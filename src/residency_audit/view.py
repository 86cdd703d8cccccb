"""One frozen, typed view of an audit: what every report, frame, history row and notebook repr reads.

:func:`build_view` walks the audit's graph once and returns an :class:`AuditView` of plain frozen
records (summary, findings, holders, data categories, laws, mitigations, gaps, scopes). Writers
read attributes, never string keys, so mypy checks the contract: a renamed field breaks at the
writer, not in a user's report. :func:`view_dict` is the JSON form (the report schema, version
:data:`REPORT_SCHEMA_VERSION`).

Everything is sorted and no clock is read: the same estate, catalog, policy and evaluation date
give the same view.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.pipeline import audit
>>> v = build_view(audit(demo_estate(), today=dt.date(2026, 11, 24)))
>>> v.summary.findings["critical"], [law.node for law in v.laws if law.node == "law:us-cloud-act"]
(5, ['law:us-cloud-act'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit import __version__
from residency_audit.graph import gc_paused
from residency_audit.holders import HOLDER_KINDS, HolderLinks, Link
from residency_audit.model import Finding, Severity
from residency_audit.pipeline import Audit

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "AuditView",
    "CountryView",
    "DataView",
    "FindingView",
    "GapView",
    "GraphEdge",
    "GraphNode",
    "GraphView",
    "HolderView",
    "LawView",
    "MitigationView",
    "NodeRef",
    "PlacementView",
    "PolicyView",
    "RuleView",
    "ScopeView",
    "SummaryView",
    "build_view",
    "holder_dict",
    "placement_dict",
    "view_dict",
]

REPORT_SCHEMA_VERSION = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeRef:
    """A graph node and its human-readable name."""

    node: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacementView:
    """One copy of a holder: where, in which role, in which countries, and whether the place is known."""

    location: str
    role: str
    countries: tuple[str, ...]
    known: bool
    evidence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HolderView:
    """A resource or subprocessor, its copies, operators and the laws that reach it.

    ``origin`` is where the holder was declared or seen (``file:line`` of an inventory, or the
    API operation), for viewers that need a physical location (SARIF): the earliest inventory line
    among the evidence of its placements and operator, else the first evidence it has;
    ``declared`` says that ``origin`` is an inventory's ``file:line``.
    """

    node: str
    label: str
    kind: str
    provider: str
    service: str
    placements: tuple[PlacementView, ...]
    operators: tuple[str, ...]
    reached_by: tuple[str, ...]
    seen: bool
    origin: str
    declared: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DataView:
    """A data category, every copy of it, where they are and which laws reach it.

    ``copies`` counts placements (a holder with a primary and a secondary copy counts twice), the
    same way as the copies chart; ``holders`` lists the holders. ``origin`` is where the category
    was declared (the earliest inventory line of its links to holders), or ``""``.
    """

    node: str
    label: str
    classification: str
    holders: tuple[str, ...]
    copies: int
    countries: tuple[str, ...]
    reached_by: tuple[str, ...]
    origin: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CountryView:
    """A country of the catalog that the graph names: its code, name and EU/EEA membership."""

    code: str
    name: str
    eea: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphNode:
    """A node of the picture of the graph."""

    node: str
    kind: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphEdge:
    """A link of the picture of the graph (parallel links of one pair merged, relations joined)."""

    source: str
    target: str
    relation: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GraphView:
    """What a picture of the graph needs: the nodes of the kinds drawn (data, holders, locations,
    entities, countries, laws) and the links between them, sorted."""

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LawView:
    """A law of the catalog, as the report cites it once."""

    node: str
    label: str
    country: str
    citation: str
    territorial: bool
    extraterritorial: bool
    foreign: bool
    reaches_data: tuple[str, ...]
    reaches_holders: int


@dataclass(frozen=True, slots=True, kw_only=True)
class FindingView:
    """A finding with its nodes named; see :class:`~residency_audit.model.Finding`."""

    id: str
    rule: str
    severity: Severity
    node: str
    label: str
    title: str
    message: str
    remedy: str
    data: tuple[str, ...]
    locations: tuple[str, ...]
    countries: tuple[str, ...]
    laws: tuple[str, ...]
    holders: tuple[str, ...]
    route: str
    path: tuple[NodeRef, ...]
    path_evidence: tuple[str, ...]
    mitigations: tuple[str, ...]
    exception: str

    @property
    def active(self) -> bool:
        """Not covered by an unexpired policy exception."""
        return not self.exception


@dataclass(frozen=True, slots=True, kw_only=True)
class MitigationView:
    """A mitigation that kept a law from crossing a link."""

    law: str
    source: str
    target: str
    relation: str
    kind: str
    description: str
    evidence: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GapView:
    """Something a source could not see."""

    provider: str
    scope: str
    region: str
    service: str
    operation: str
    resource: str
    error: str
    message: str
    level: str
    field: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ScopeView:
    """A scope the scan was asked to read, and whether it was."""

    scope: str
    provider: str
    status: str
    resources: int
    gaps: int
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleView:
    id: str
    type: str
    severity: Severity
    description: str
    remedy: str
    scoped: bool = False
    """The rule selects some data or holders (an unscoped rule checks every one)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyView:
    name: str
    home: str
    rules: tuple[RuleView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryView:
    """Counts for a dashboard."""

    resources: int
    subprocessors: int
    data_categories: int
    countries: tuple[str, ...]
    findings: Mapping[str, int]
    excepted: int
    gaps: int
    scopes_not_read: int
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditView:
    """The whole audit as frozen records: what every writer reads."""

    tool_version: str
    catalog_version: str
    evaluated_on: str
    policy: PolicyView
    summary: SummaryView
    findings: tuple[FindingView, ...]
    data: tuple[DataView, ...]
    holders: tuple[HolderView, ...]
    laws: tuple[LawView, ...]
    mitigations: tuple[MitigationView, ...]
    gaps: tuple[GapView, ...]
    scopes: tuple[ScopeView, ...]
    countries: tuple[CountryView, ...] = ()
    picture: _Picture = field(default_factory=lambda: _Picture(GraphView()), repr=False, compare=False)
    """The picture of the graph, made when a writer first asks for :attr:`graph`."""

    @property
    def graph(self) -> GraphView:
        """What a picture of the graph needs (only the HTML report draws it; made on first use)."""
        return self.picture.get()

    @property
    def active_findings(self) -> tuple[FindingView, ...]:
        return tuple(f for f in self.findings if f.active)


class _Picture:
    """A :class:`GraphView`, or the audit to make it from when first asked (most reports never
    draw the graph, and at a million holders its nodes and links are the largest part of a view)."""

    __slots__ = ("_audit", "_view")

    def __init__(self, view: GraphView | None = None, audit: Audit | None = None) -> None:
        self._view = view
        self._audit = audit

    def get(self) -> GraphView:
        if self._view is None:
            self._view = _graph(self._audit) if self._audit is not None else GraphView()
            self._audit = None
        return self._view


# ---------------------------------------------------------------- building

def _label(g: Any, node: str) -> str:
    attrs = g._node.get(node)
    return str(attrs.get("label") or node) if attrs is not None else node


def _finding(g: Any, f: Finding) -> FindingView:
    return FindingView(
        id=f.id, rule=f.rule, severity=f.severity, node=f.node, label=_label(g, f.node), title=f.title,
        message=f.message, remedy=f.remedy, data=f.data, locations=f.locations, countries=f.countries,
        laws=f.all_laws, holders=f.all_holders, route=f.route,
        path=tuple(NodeRef(node=n, label=_label(g, n)) for n in f.path), path_evidence=f.path_evidence,
        mitigations=f.mitigations, exception=f.exception)


def _origin(attrs: Mapping[str, Any]) -> str:
    return str(attrs.get("evidence_ref") or "")


def _line_key(ref: str) -> tuple[int, str, int, str]:
    """Sort key of an evidence ref: ``file:line`` refs first, by file then line; others after."""
    path, sep, line = ref.rpartition(":")
    if sep and path and line.isdigit():
        return (0, path, int(line), ref)
    return (1, ref, 0, ref)


def _first_ref(refs: list[str]) -> str:
    distinct = {r for r in refs if r}  # the same ref many times over: a category's selected copies
    return min(distinct, key=_line_key) if distinct else ""


def _declared(edges: list[Mapping[str, Any]]) -> str:
    """The earliest inventory ``file:line`` among ``edges``' evidence, or ``""``."""
    return _first_ref([_origin(e) for e in edges if e.get("evidence_source") == "inventory"])


def _holder_parts(nodes: Mapping[str, Mapping[str, Any]], links: tuple[Link, ...],
                  countries_of: dict[str, tuple[str, ...]],
                  ) -> tuple[tuple[PlacementView, ...], tuple[str, ...], str, bool]:
    """A holder's placements, operators, origin and whether it was declared, from its links."""
    placements = []
    operators = []
    refs: list[str] = []
    inventory: list[str] = []
    for v, _key, rel, raw_role, raw_ref, source in sorted(links, key=lambda x: (x[0], str(x[3]), x[1])):
        role, ref = str(raw_role), str(raw_ref or "")
        if rel == "located_in":
            cs = countries_of.get(v)
            if cs is None:
                cs = countries_of[v] = tuple(sorted(str(nodes[v].get("countries") or "").split()))
            placements.append(PlacementView(location=v, role=role if role != "None" else "", countries=cs,
                                            known=bool(nodes[v].get("known")), evidence=ref))
        else:
            operators.append(v)
        refs.append(ref)
        if source == "inventory":
            inventory.append(ref)
    declared = _first_ref(inventory)
    return (tuple(sorted(placements, key=lambda p: (p.location, p.role))), tuple(operators),
            declared or _first_ref(refs), bool(declared))


def _reached_by(a: Audit) -> dict[str, tuple[str, ...]]:
    """For each reached holder, the laws that reach it, sorted. Laws that reach the same holders
    (one country's laws with one route) are taken together."""
    groups: list[tuple[set[str], list[str]]] = []
    for law in sorted(a.reach):
        holders = a.reach[law].holders
        same = next((g for g in groups if len(g[0]) == len(holders) and g[0] == holders), None)
        if same is None:
            groups.append((holders, [law]))
        else:
            same[1].append(law)
    masks: dict[str, int] = {}
    for i, (holders, _) in enumerate(groups):
        bit = 1 << i
        for h in holders:
            masks[h] = masks.get(h, 0) | bit
    laws_of: dict[int, tuple[str, ...]] = {}
    out: dict[str, tuple[str, ...]] = {}
    for h, mask in masks.items():
        laws = laws_of.get(mask)
        if laws is None:
            laws = laws_of[mask] = tuple(sorted(law for i, (_, group) in enumerate(groups) if mask >> i & 1
                                                for law in group))
        out[h] = laws
    return out


def _holders(a: Audit) -> tuple[HolderView, ...]:
    g = a.graph
    nodes, adj = g._node, g._adj
    reached = _reached_by(a)
    countries_of: dict[str, tuple[str, ...]] = {}
    # Holders share a few thousand distinct sets of links: each is read into views once.
    parts: dict[tuple[Link, ...], tuple[tuple[PlacementView, ...], tuple[str, ...], str, bool]] = {}
    out = []
    holder_links = a.holder_links or HolderLinks(g)
    profile_of, profiles = holder_links.profile_of, holder_links.profiles
    by_profile: list[tuple[tuple[PlacementView, ...], tuple[str, ...], str, bool] | None] = [None] * len(profiles)
    for n in sorted([x for x, attrs in nodes.items() if attrs.get("kind") in HOLDER_KINDS]):
        attrs = nodes[n]
        i = profile_of.get(n)
        found = by_profile[i] if i is not None else None
        if found is None:
            if i is not None:
                key = profiles[i]
            else:  # a holder added to the graph after the audit read it
                key = tuple((v, k, rel, e.get("role"), e.get("evidence_ref"), e.get("evidence_source"))
                            for v, keyed in adj[n].items() for k, e in keyed.items()
                            if (rel := e.get("relation")) == "located_in" or rel == "operated_by")
            found = parts.get(key)
            if found is None:
                found = parts[key] = _holder_parts(nodes, key, countries_of)
            if i is not None:
                by_profile[i] = found
        placements, operators, origin, declared = found
        out.append(HolderView(
            node=n, label=str(attrs.get("label") or n), kind=str(attrs.get("kind")),
            provider=str(attrs.get("provider") or ""), service=str(attrs.get("service") or ""),
            placements=placements, operators=operators, reached_by=reached.get(n, ()),
            seen=not attrs.get("stub", False), origin=origin, declared=declared))
    return tuple(out)


def _countries_of(placements: Iterable[tuple[PlacementView, ...]]) -> tuple[str, ...]:
    """The countries of the copies, sorted: each distinct placements tuple read once (holders of
    one profile share theirs)."""
    distinct = {id(p): p for p in placements}
    return tuple(sorted({c for pl in distinct.values() for p in pl for c in p.countries}))


def _data(a: Audit, holders: Mapping[str, HolderView]) -> tuple[DataView, ...]:
    g = a.graph
    out = []
    reached: dict[str, list[str]] = {}
    for law in sorted(a.reach):
        for d in a.reach[law].data:
            reached.setdefault(d, []).append(law)
    for d in sorted(a.copies):
        hs = sorted(a.copies[d])
        placements = [holders[h].placements for h in hs if h in holders]
        out.append(DataView(
            node=d, label=_label(g, d), classification=str(g._node[d].get("classification") or ""),
            holders=tuple(hs), copies=sum(map(len, placements)),
            countries=_countries_of(placements),
            reached_by=tuple(reached.get(d, ())),
            origin=_declared([e for v in g._adj[d] for e in g._adj[d][v].values()])))
    return tuple(out)


_PICTURED = frozenset({"data", "resource", "subprocessor", "location", "entity", "law", "country"})


def _graph(a: Audit) -> GraphView:
    g = a.graph
    nodes = g._node
    kept = {n for n, attrs in nodes.items() if attrs.get("kind") in _PICTURED}
    merged: dict[tuple[str, str], set[str]] = {}
    for u, v, rel in g.edges(data="relation"):
        if u in kept and v in kept and u != v:
            merged.setdefault((u, v), set()).add(str(rel))
    return GraphView(
        nodes=tuple(GraphNode(node=n, kind=str(nodes[n].get("kind")), label=str(nodes[n].get("label") or n))
                    for n in sorted(kept)),
        edges=tuple(GraphEdge(source=u, target=v, relation=", ".join(sorted(r)))
                    for (u, v), r in sorted(merged.items())))


def _countries(a: Audit) -> tuple[CountryView, ...]:
    nodes = a.graph._node
    return tuple(CountryView(code=str(nodes[n].get("code") or n.removeprefix("country:")),
                             name=str(nodes[n].get("label") or n), eea=bool(nodes[n].get("eea")))
                 for n in sorted(x for x, attrs in nodes.items() if attrs.get("kind") == "country"))


def _laws(a: Audit) -> tuple[LawView, ...]:
    g = a.graph
    out = []
    for law in sorted(a.reach):
        attrs = g._node[law]
        r = a.reach[law]
        out.append(LawView(
            node=law, label=str(attrs.get("label") or law), country=str(attrs.get("country") or ""),
            citation=str(attrs.get("citation") or ""), territorial=bool(attrs.get("territorial")),
            extraterritorial=bool(attrs.get("extraterritorial")), foreign=a.is_foreign(law),
            reaches_data=tuple(sorted(r.data)), reaches_holders=len(r.holders)))
    return tuple(out)


def build_view(a: Audit) -> AuditView:
    """The typed view of ``a``: build it once and hand it to every writer."""
    with gc_paused():  # a record per holder and no cycles: see graph.gc_paused
        return _build_view(a)


def _build_view(a: Audit) -> AuditView:
    g = a.graph
    holders = _holders(a)
    by_node = {h.node: h for h in holders}
    data = _data(a, by_node)
    countries = _countries_of(h.placements for h in holders)
    kinds = Counter(h.kind for h in holders)
    return AuditView(
        tool_version=__version__, catalog_version=a.catalog.version(),
        evaluated_on=a.evaluated_on.isoformat(),
        policy=PolicyView(name=a.policy.name, home=a.policy.home, rules=tuple(
            RuleView(id=r.id, type=r.type, severity=r.severity, description=r.description, remedy=r.remedy,
                     scoped=not r.scope.empty)
            for r in a.policy.rules)),
        summary=SummaryView(
            resources=kinds["resource"], subprocessors=kinds["subprocessor"],
            data_categories=len(data), countries=countries, findings=a.counts(),
            excepted=sum(1 for f in a.findings if f.exception), gaps=len(a.estate.gaps),
            scopes_not_read=sum(1 for s in a.scopes if str(s.status) == "not read"),
            sources=tuple(sorted(a.estate.metadata.sources))),
        findings=tuple(_finding(g, f) for f in a.findings),
        data=data, holders=holders, laws=_laws(a),
        mitigations=tuple(MitigationView(law=b.law, source=b.source, target=b.target, relation=b.relation,
                                         kind=b.kind, description=b.description, evidence=b.evidence)
                          for b in a.mitigations),
        gaps=tuple(GapView(provider=x.provider, scope=x.scope, region=x.region, service=x.service,
                           operation=x.operation, resource=x.resource, error=x.error, message=x.message,
                           level=x.level.value, field=x.field)
                   for x in sorted(a.estate.gaps, key=lambda x: x.key)),
        scopes=tuple(ScopeView(scope=s.scope, provider=s.provider, status=str(s.status), resources=s.resources,
                               gaps=len(s.gaps), reasons=s.reasons) for s in a.scopes),
        countries=_countries(a), picture=_Picture(audit=a))


# ---------------------------------------------------------------- the JSON form

def _finding_dict(f: FindingView) -> dict[str, Any]:
    return {
        "id": f.id, "rule": f.rule, "severity": str(f.severity), "node": f.node, "label": f.label,
        "title": f.title, "message": f.message, "remedy": f.remedy, "data": list(f.data),
        "locations": list(f.locations), "countries": list(f.countries), "laws": list(f.laws),
        "holders": list(f.holders), "holder_count": len(f.holders), "route": f.route or None,
        "path": [{"node": s.node, "label": s.label} for s in f.path],
        "path_evidence": list(f.path_evidence), "mitigations": list(f.mitigations),
        "exception": f.exception or None,
    }


def placement_dict(p: PlacementView) -> dict[str, Any]:
    """One placement of a holder as the JSON report writes it."""
    return {"location": p.location, "role": p.role, "countries": list(p.countries), "known": p.known}


def holder_dict(h: HolderView) -> dict[str, Any]:
    """One holder as the JSON report writes it."""
    return {"node": h.node, "label": h.label, "kind": h.kind, "provider": h.provider, "service": h.service,
            "placements": [placement_dict(p) for p in h.placements], "operators": list(h.operators),
            "reached_by": list(h.reached_by), "seen": h.seen}


def view_dict(v: AuditView, *, holders: bool = True) -> dict[str, Any]:
    """The view as the JSON report (schema version :data:`REPORT_SCHEMA_VERSION`); without the
    ``holders`` section when ``holders`` is false (a writer that streams it on its own)."""
    s = v.summary
    out = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "tool": {"name": "residency-audit", "version": v.tool_version},
        "catalog_version": v.catalog_version,
        "evaluated_on": v.evaluated_on,
        "policy": {"name": v.policy.name, "home": v.policy.home,
                   "rules": [{"id": r.id, "type": r.type, "severity": str(r.severity),
                              "description": r.description} for r in v.policy.rules]},
        "summary": {"resources": s.resources, "subprocessors": s.subprocessors,
                    "data_categories": s.data_categories, "countries": list(s.countries),
                    "findings": dict(s.findings), "excepted": s.excepted, "gaps": s.gaps,
                    "scopes_not_read": s.scopes_not_read, "sources": list(s.sources)},
        "findings": [_finding_dict(f) for f in v.findings],
        "data": [{"node": d.node, "label": d.label, "classification": d.classification,
                  "copies": list(d.holders), "copy_count": d.copies, "countries": list(d.countries),
                  "reached_by": list(d.reached_by)} for d in v.data],
        "laws": [{"node": law.node, "label": law.label, "country": law.country, "citation": law.citation,
                  "territorial": law.territorial, "extraterritorial": law.extraterritorial,
                  "foreign": law.foreign, "reaches_data": list(law.reaches_data),
                  "reaches_holders": law.reaches_holders} for law in v.laws],
        "mitigations": [{"law": m.law, "source": m.source, "target": m.target, "relation": m.relation,
                         "kind": m.kind, "description": m.description, "evidence": m.evidence}
                        for m in v.mitigations],
        "gaps": [{"provider": x.provider, "scope": x.scope, "region": x.region, "service": x.service,
                  "operation": x.operation, "resource": x.resource, "error": x.error, "message": x.message,
                  "level": x.level, "field": x.field} for x in v.gaps],
        "scopes": [{"scope": x.scope, "provider": x.provider, "status": x.status, "resources": x.resources,
                    "gaps": x.gaps, "reasons": list(x.reasons)} for x in v.scopes],
    }
    if holders:
        out["holders"] = [holder_dict(h) for h in v.holders]
    return out
