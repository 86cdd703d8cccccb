"""The estate as a graph: who holds which data, where, operated by whom, under which laws.

:func:`build` turns an :class:`~residency_audit.model.Estate` and a
:class:`~residency_audit.catalog.Catalog` into a plain :class:`networkx.MultiDiGraph`. Node ids
carry a kind prefix (``data:``, ``resource:<provider>:``, ``subprocessor:``, ``location:``,
``country:``, ``entity:``, ``law:``); every node has a ``kind`` attribute. Edges point the way
the data or the control goes:

==================  ==============================  =====================================
relation            from → to                       meaning
==================  ==============================  =====================================
stored_in           data → resource                 the data category is kept there
processed_by        data → subprocessor             the data category is processed there
replicates_to       holder → holder                 a copy is replicated there
backs_up_to         holder → holder                 a backup copy is kept there
subcontracts        subprocessor → subprocessor     the processor passes the data on
located_in          holder → location               a copy is at that place (``role``)
in_country          location → country              the place is in (or may be in) that country
operated_by         holder → entity                 the entity runs the holder
controlled_by       entity → entity                 the parent controls the entity
holds_share_in      entity → entity                 a holding (``share``, ``control``) in it
incorporated_in     entity → country                where the entity is incorporated
controlled_from     entity → country                where a parentless entity is run from
applies_in          law → country                   the country that issues the law
==================  ==============================  =====================================

Every edge carries its evidence (``evidence_source``, ``evidence_ref``, ``evidence_detail``),
a catalog fact's notes and doubts ride along as ``caveat`` (on ``controlled_by`` and
``holds_share_in`` edges and on law nodes, with ``status``/``status_note``/``in_force`` there),
and a mitigated edge carries ``mitigation_kind``, ``mitigation_description`` and
``mitigation_evidence``. All attributes are plain strings, booleans or numbers, so that GraphML
and node-link JSON round-trip with nothing lost.

>>> from residency_audit.model import Estate
>>> g = build(Estate())
>>> g.nodes["law:us-cloud-act"]["kind"]
'law'
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from operator import attrgetter
from pathlib import Path
from typing import Any

import networkx as nx

from residency_audit.catalog import Catalog, Region, default_catalog
from residency_audit.errors import InputError
from residency_audit.model import (
    AgreedLocations,
    DataCategory,
    Estate,
    Evidence,
    Mitigation,
    Placement,
    Resource,
    Subprocessor,
)

__all__ = [
    "COPY_RELATIONS",
    "GRAPH_SCHEMA_VERSION",
    "LinkCategories",
    "build",
    "country_id",
    "data_id",
    "edge_evidence",
    "entity_id",
    "graphml_text",
    "law_id",
    "location_id",
    "read_graphml",
    "read_node_link",
    "resource_id",
    "subprocessor_id",
    "write_graphml",
    "write_node_link",
]

GRAPH_SCHEMA_VERSION = 1

COPY_RELATIONS = frozenset({"stored_in", "processed_by", "replicates_to", "backs_up_to",
                            "subcontracts"})
"""Relations along which data flows from a data category to every holder of a copy."""


class LinkCategories(dict[str, frozenset[str]]):
    """The categories a copy link's ``categories`` text lets through, parsed once per distinct
    text (``split[text]``); a link without the attribute lets every category through."""

    def __missing__(self, text: str) -> frozenset[str]:
        found = self[text] = frozenset(text.split())
        return found


def resource_id(provider: str, rid: str) -> str:
    return f"resource:{provider}:{rid}"


def subprocessor_id(sid: str) -> str:
    return f"subprocessor:{sid}"


def data_id(did: str) -> str:
    return f"data:{did}"


def entity_id(eid: str) -> str:
    return f"entity:{eid}"


def country_id(code: str) -> str:
    return f"country:{code}"


def law_id(lid: str) -> str:
    return f"law:{lid}"


def location_id(key: str) -> str:
    return f"location:{key}"


def _ev_attrs(ev: Evidence) -> dict[str, str]:
    return {"evidence_source": ev.source, "evidence_ref": ev.ref, "evidence_detail": ev.detail}


def _agreed_attrs(agreed: AgreedLocations | None) -> dict[str, str]:
    """A holder's agreed locations as node attributes (``agreed_places`` space-separated,
    ``agreed_clause``, ``agreed_ref``); none when nothing was agreed."""
    if agreed is None:
        return {}
    return {"agreed_places": " ".join(agreed.places), "agreed_clause": agreed.clause,
            "agreed_ref": agreed.evidence.ref}


def _catalog_ev(source: Any, what: str) -> Evidence:
    mark = "" if source.verified else "; unverified"
    if getattr(source, "kind", "") == "secondary":
        mark += " (secondary source)"
    return Evidence(source="catalog", ref=f"{source.ref} ({what})",
                    detail=f"{source.url}, retrieved {source.retrieved}{mark}")


def _caveat(source: Any, notes: str) -> str:
    """A catalog row's notes, with its doubt in front when it is not verified."""
    doubt = "" if source.verified else (
        "unverified, secondary source: " if getattr(source, "kind", "") == "secondary" else "unverified: ")
    return f"{doubt}{notes}".strip() if notes or doubt else ""


def edge_evidence(attrs: Mapping[str, Any]) -> str:
    """The evidence of an edge as one line of text."""
    ev = Evidence(source=str(attrs.get("evidence_source", "")), ref=str(attrs.get("evidence_ref", "")),
                  detail=str(attrs.get("evidence_detail", "")))
    return str(ev)


_Plan = tuple[tuple[str, str, dict[str, Any], tuple[tuple[str, dict[str, Any]], ...]], ...]
"""The out-links one resource makes, planned once per distinct facts (see ``_Builder._plan``)."""


class _Builder:
    def __init__(self, estate: Estate, catalog: Catalog) -> None:
        self.estate = estate
        self.catalog = catalog
        self.g: nx.MultiDiGraph = nx.MultiDiGraph()
        self.g.graph.update({"schema_version": GRAPH_SCHEMA_VERSION, "catalog_version": catalog.version()})
        self.declared_entities = {e.id: e for e in estate.entities}
        self.default_operator = self._default_operators()
        # Memos for the facts that repeat across resources; the graph only grows during a build.
        self._locations: dict[tuple[str, str], tuple[str, Region | None]] = {}
        self._operator_evidence: dict[tuple[str, str, str, str], Evidence] = {}
        self._tags_json: dict[tuple[tuple[str, str], ...], str] = {(): "{}"}
        self._plans: dict[tuple[Any, ...], _Plan] = {}

    def _default_operators(self) -> dict[str, str]:
        counts: dict[str, Counter[str]] = defaultdict(Counter)
        for region in self.catalog.regions.values():
            if region.operator:
                counts[region.provider][region.operator] += 1
        return {p: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for p, c in counts.items()}

    # nodes -----------------------------------------------------------------------------------
    def add_edge(self, u: str, v: str, relation: str, ev: Evidence, key: str | None = None,
                 **attrs: Any) -> None:
        k = key or relation
        succ = self.g._succ
        if u not in succ or v not in succ:
            if self.g.has_edge(u, v, k):
                return
            self.g.add_edge(u, v, key=k, relation=relation, **_ev_attrs(ev), **attrs)
            return
        # Both ends exist (the usual case): fill the adjacency as MultiDiGraph.add_edge does,
        # one shared key dict in _succ[u][v] and _pred[v][u], without its per-call overhead.
        keyed = succ[u].get(v)
        if keyed is None:
            keyed = succ[u][v] = {}
            self.g._pred[v][u] = keyed
        elif k in keyed:
            return
        data = {"relation": relation, "evidence_source": ev.source, "evidence_ref": ev.ref,
                "evidence_detail": ev.detail}
        if attrs:
            data.update(attrs)
        keyed[k] = data

    def _add_edges_from(self, u: str, targets: Iterable[str], relation: str, ev: Evidence) -> None:
        """:meth:`add_edge` from ``u`` (a node of the graph) to each of ``targets`` (nodes of the
        graph) with the same relation and evidence, in one loop."""
        succ_u, pred = self.g._succ[u], self.g._pred
        data = {"relation": relation, "evidence_source": ev.source, "evidence_ref": ev.ref,
                "evidence_detail": ev.detail}
        for v in targets:
            keyed = succ_u.get(v)
            if keyed is None:
                keyed = succ_u[v] = {relation: data.copy()}
                pred[v][u] = keyed
            elif relation not in keyed:
                keyed[relation] = data.copy()

    def add_node(self, node: str, **attrs: Any) -> None:
        """:meth:`networkx.MultiDiGraph.add_node`, filling the node dicts directly."""
        g = self.g
        if node in g._succ:
            g._node[node].update(attrs)
            return
        g._succ[node] = {}
        g._pred[node] = {}
        g._node[node] = attrs

    def tags_json(self, tags: Mapping[str, str]) -> str:
        """The tags as sorted JSON text, once per distinct set of tags."""
        key = tuple(tags.items())
        text = self._tags_json.get(key)
        if text is None:
            text = self._tags_json[key] = json.dumps(dict(tags), sort_keys=True)
        return text

    def country(self, code: str) -> str:
        node = country_id(code)
        if node not in self.g:
            c = self.catalog.countries.get(code)
            self.g.add_node(node, kind="country", code=code, label=c.name if c else code,
                            eu=bool(c and c.eu), eea=bool(c and c.eea),
                            adequacy=c.adequacy if c else "",
                            adequacy_scope=c.adequacy_scope if c else "",
                            known=c is not None)
        return node

    def entity(self, eid: str) -> str:
        node = entity_id(eid)
        if node in self.g:
            return node
        declared = self.declared_entities.get(eid)
        cat = self.catalog.entities.get(eid)
        listed = {c.certification for c in self.catalog.certifications_of(eid)}  # valid at the date
        if declared is not None:
            self.g.add_node(node, kind="entity", label=declared.name, country=declared.country,
                            known=True, certifications=" ".join(sorted({*declared.certifications, *listed})),
                            notes=declared.notes)
            self.add_edge(node, self.country(declared.country), "incorporated_in", declared.evidence)
            if declared.controlled_from and declared.controlled_from != declared.country:
                self.add_edge(node, self.country(declared.controlled_from), "controlled_from",
                              declared.evidence)
            if declared.parent:
                parent = self.entity(declared.parent)
                self.add_edge(node, parent, "controlled_by",
                              declared.parent_evidence or declared.evidence)
        elif cat is not None:
            self.g.add_node(node, kind="entity", label=cat.name, country=cat.country, known=True,
                            certifications=" ".join(sorted(listed)), notes=cat.notes)
            self.add_edge(node, self.country(cat.country), "incorporated_in",
                          _catalog_ev(cat.source, f"{cat.id} incorporated in {cat.country}"))
            if cat.controlled_from and cat.controlled_from != cat.country:
                self.add_edge(node, self.country(cat.controlled_from), "controlled_from",
                              _catalog_ev(cat.source, f"{cat.id} controlled from {cat.controlled_from}"))
            if cat.parent:
                parent = self.entity(cat.parent)
                self.add_edge(node, parent, "controlled_by",
                              _catalog_ev(cat.source, f"{cat.id} controlled by {cat.parent}"),
                              caveat=_caveat(cat.source, cat.notes))
            for h in self.catalog.holdings_of(eid):  # minority holdings shown, control followed
                holder = self.entity(h.parent)
                if h.control == "yes" and h.parent != cat.parent:
                    self.add_edge(node, holder, "controlled_by",
                                  _catalog_ev(h.source, f"{cat.id} controlled by {h.parent}"),
                                  caveat=_caveat(h.source, h.note))
                share: dict[str, Any] = {} if h.share is None else {"share": h.share}
                self.add_edge(holder, node, "holds_share_in",
                              _catalog_ev(h.source, f"{h.parent} holds a share in {cat.id}"),
                              control=h.control, caveat=_caveat(h.source, h.note), **share)
        else:
            self.g.add_node(node, kind="entity", label=eid, country="", known=False,
                            certifications="", notes="not in the catalog or the inventory")
        return node

    def location(self, placement: Placement, *, service: str = "") -> tuple[str, Region | None]:
        memo_key = (placement.location, service)
        found = self._locations.get(memo_key)
        if found is None:
            found = self._locations[memo_key] = self._location(placement, service=service)
        return found

    def _location(self, placement: Placement, *, service: str = "") -> tuple[str, Region | None]:
        namespace, code = placement.namespace, placement.code
        if namespace == "country":
            cc = code.upper()
            node = location_id(f"country:{cc}")
            if node not in self.g:
                known = cc in self.catalog.countries
                self.g.add_node(node, kind="location", provider="country", code=cc, label=cc,
                                zone=False, known=known, countries=cc)
                self.add_edge(node, self.country(cc), "in_country",
                              Evidence(source="derived", ref="a declared country is that country"))
            return node, None
        region = self.catalog.region(placement.location, service=service)
        key = region.key if region is not None else f"{namespace.lower()}:{code}"
        node = location_id(key)
        if node in self.g:
            return node, region
        if region is None:
            self.g.add_node(node, kind="location", provider=namespace.lower(), code=code, label=code,
                            zone=False, known=False, countries="")
            return node, None
        countries = self.catalog.region_countries(region)
        self.g.add_node(node, kind="location", provider=region.provider, code=region.code,
                        label=f"{region.code} ({region.city})" if region.city else region.code,
                        zone=region.country is None, known=bool(countries),
                        countries=" ".join(countries), region_kind=region.kind,
                        pair=region.pair or "", operator=region.operator,
                        stores_in_all=bool(region.members),
                        caveat="" if region.source.verified else _caveat(region.source, region.notes))
        for cc in countries:
            # A dual-region or a multi-region configuration keeps a replica in each member region;
            # a multi-region with no published members may store data in any of its countries.
            what = (f"{region.code} in {cc}" if region.country == cc
                    else f"{region.code} stores copies in {cc}" if region.members
                    else f"{region.code} may store data in {cc}")
            self.add_edge(node, self.country(cc), "in_country", _catalog_ev(region.source, what),
                          zone=region.country is None)
        return node, region

    def holder_placements(self, node: str, placements: Sequence[Placement], service: str) -> list[Region]:
        regions: list[Region] = []
        if len(placements) > 1:
            placements = sorted(placements, key=lambda p: (p.role, p.location))
        for p in placements:
            loc, region = self.location(p, service=service)
            self.add_edge(node, loc, "located_in", p.evidence, key=f"located_in:{p.role}",
                          role=str(p.role))
            if region is not None:
                regions.append(region)
        return regions

    def resource(self, r: Resource) -> str:
        node = f"resource:{r.provider}:{r.id}"
        g = self.g
        tags = r.tags
        tags_text = self._tags_json.get(tuple(tags.items())) if tags else "{}"
        attrs = {"kind": "resource", "label": r.name, "provider": r.provider, "service": r.service,
                 "resource_kind": r.kind, "account": r.account, "native_id": r.id,
                 "tags": tags_text if tags_text is not None else self.tags_json(tags), "stub": False,
                 "transfer_tool": r.attributes.get("transfer_tool", "")}
        if r.agreed_locations is not None:
            attrs.update(_agreed_attrs(r.agreed_locations))
        if node in g._succ:  # the same node id again: add what is new, as networkx would
            self.add_node(node, **attrs)
            self._resource_links(node, r)
            return node
        # Resources share a few thousand distinct (placements, service, operator) facts even in a
        # large estate: the links they make are planned once and copied per resource.
        plan_key = (r.provider, r.service, r.placements, r.operator, r.operator_evidence,
                    r.id if r.operator and r.operator_evidence is None else "")  # its evidence names it
        succ: dict[str, Any] = {}
        g._succ[node] = succ
        g._pred[node] = {}
        g._node[node] = attrs
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = self._plan(node, r)
        pred = g._pred
        for v, k, data, more in plan:
            keyed = {k: data.copy()}
            if more:
                for k2, data2 in more:
                    keyed[k2] = data2.copy()
            succ[v] = keyed
            pred[v][node] = keyed
        return node

    def _plan(self, node: str, r: Resource) -> _Plan:
        """The out-links of a resource (placements, then operators) as ``(target, first key, its
        attributes, ((key, attributes), …) of further links to the same target)``, made once per
        distinct facts by building them on a scratch node."""
        scratch = f"{node}\x00plan"
        self.add_node(scratch)
        self._resource_links(scratch, r)
        plan = tuple((v, *next(iter(keyed.items())), tuple(keyed.items())[1:])
                     for v, keyed in self.g._succ[scratch].items())
        self.g.remove_node(scratch)
        return plan

    def _resource_links(self, node: str, r: Resource) -> None:
        regions = self.holder_placements(node, r.placements, r.service)
        if r.operator:
            ev = r.operator_evidence or Evidence(source="derived", ref=f"{r.id} declared operator")
            self.add_edge(node, self.entity(r.operator), "operated_by", ev)
            return
        first_region: dict[str, Region] = {}  # each operator's first region, in placement order
        for reg in regions:
            if reg.operator and reg.operator not in first_region:
                first_region[reg.operator] = reg
        if first_region:
            for op in sorted(first_region):
                reg = first_region[op]
                ev_key = (reg.provider, reg.service, reg.code, op)
                op_ev = self._operator_evidence.get(ev_key)
                if op_ev is None:
                    op_ev = self._operator_evidence[ev_key] = _catalog_ev(
                        reg.source, f"{reg.code} is operated by {op}")
                self.add_edge(node, self.entity(op), "operated_by", op_ev, key=f"operated_by:{op}")
        elif r.provider in self.default_operator:
            op = self.default_operator[r.provider]
            self.add_edge(node, self.entity(op), "operated_by",
                          Evidence(source="derived",
                                   ref=f"catalog: most {r.provider} regions are operated by {op}",
                                   detail="the resource's own region is unknown"))

    def subprocessor(self, s: Subprocessor) -> None:
        node = subprocessor_id(s.id)
        self.add_node(node, kind="subprocessor", label=s.name, entity=s.entity,
                      tags=self.tags_json(s.tags),
                      transfer_tool=s.attributes.get("transfer_tool", ""), **_agreed_attrs(s.agreed_locations))
        self.holder_placements(node, s.placements, "")
        self.add_edge(node, self.entity(s.entity), "operated_by", s.evidence)

    # build ---------------------------------------------------------------------------------
    def run(self) -> nx.MultiDiGraph:
        g = self.g
        for law in sorted(self.catalog.laws.values(), key=lambda x: x.id):
            node = law_id(law.id)
            g.add_node(node, kind="law", label=law.name, country=law.country,
                       territorial=law.territorial, extraterritorial=law.extraterritorial,
                       citation=law.citation, summary=law.summary,
                       status=law.status.status if law.status else "undated",
                       status_note=law.status.describe() if law.status else "",
                       in_force=law.in_force,
                       caveat=_caveat(law.status.source, law.status.note) if law.status else "")
            if len(law.country) == 2 and law.in_force:  # a law not in force reaches nothing
                self.add_edge(node, self.country(law.country), "applies_in",
                              _catalog_ev(law.source, f"{law.id} is a law of {law.country}"))
        for e in sorted(self.estate.entities, key=lambda x: x.id):
            self.entity(e.id)
        resource_nodes: dict[str, str] = {}
        for r in sorted(self.estate.resources, key=attrgetter("provider", "id")):
            resource_nodes.setdefault(r.id, self.resource(r))
        for s in sorted(self.estate.subprocessors, key=lambda x: x.id):
            self.subprocessor(s)
        for r in self.estate.resources:
            if not r.links:
                continue
            src = resource_id(r.provider, r.id)
            for link in r.links:
                dst = resource_nodes.get(link.target) or self._stub(r.provider, link.target)
                self.add_edge(src, dst, str(link.relation), link.evidence,
                              categories=" ".join(sorted(link.categories)))
        for s in self.estate.subprocessors:
            src = subprocessor_id(s.id)
            for link in s.links:
                dst = subprocessor_id(link.target)
                if dst not in g:
                    dst = resource_nodes.get(link.target) or self._stub("", link.target)
                self.add_edge(src, dst, str(link.relation), link.evidence,
                              categories=" ".join(sorted(link.categories)))
        self._data(resource_nodes)
        self._mitigations(self.estate.mitigations, resource_nodes)
        nx._clear_cache(g)  # as add_node/add_edge do after each change
        return g

    def _stub(self, provider: str, rid: str) -> str:
        node = resource_id(provider or "unknown", rid)
        if node not in self.g:
            self.g.add_node(node, kind="resource", label=rid, provider=provider or "unknown",
                            service="", resource_kind="", account="", native_id=rid, tags="{}",
                            stub=True)
        return node

    def _data(self, resource_nodes: Mapping[str, str]) -> None:
        tag_index: dict[tuple[str, str], list[str]] = defaultdict(list)
        needed = {(k, v) for d in self.estate.data for sel in d.selectors for k, v in sel.items()}
        if needed:
            for r in self.estate.resources:
                tags = r.tags
                if tags:
                    for kv in tags.items():
                        if kv in needed:
                            tag_index[kv].append(f"resource:{r.provider}:{r.id}")
        for d in sorted(self.estate.data, key=lambda x: x.id):
            self._data_category(d, resource_nodes, tag_index)

    def _data_category(self, d: DataCategory, resource_nodes: Mapping[str, str],
                       tag_index: Mapping[tuple[str, str], list[str]]) -> None:
        node = data_id(d.id)
        self.g.add_node(node, kind="data", label=d.name, classification=d.classification,
                        description=d.description)
        for rid in sorted(d.resources):
            target = resource_nodes.get(rid) or self._stub("", rid)
            self.add_edge(node, target, "stored_in", d.evidence)
        for sel in d.selectors:
            items = sorted(sel.items())
            matched: set[str] | None = None
            for kv in items:
                hits = set(tag_index.get(kv, ()))
                matched = hits if matched is None else matched & hits
            text = ", ".join(f"{k}={v}" for k, v in items)
            selected = Evidence(source=d.evidence.source, ref=d.evidence.ref,
                                detail=f"selected by tag {text}")
            self._add_edges_from(node, sorted(matched or ()), "stored_in", selected)
        for sid in sorted(d.subprocessors):
            target = subprocessor_id(sid)
            if target not in self.g:
                raise InputError(d.evidence.ref, None, f"data.{d.id}.processed_by",
                                 f"unknown subprocessor {sid!r}")
            self.add_edge(node, target, "processed_by", d.evidence)

    def _node_of(self, ref: str, resource_nodes: Mapping[str, str]) -> str:
        """The node a mitigation names: a node id, or a subprocessor, entity, data or resource id."""
        if ref == "*" or ref in self.g:
            return ref
        for candidate in (subprocessor_id(ref), entity_id(ref), data_id(ref)):
            if candidate in self.g:
                return candidate
        return resource_nodes.get(ref, ref)

    def _mitigations(self, mitigations: Iterable[Mitigation], resource_nodes: Mapping[str, str]) -> None:
        g = self.g
        for original in sorted(mitigations, key=lambda x: (x.source, x.target, x.kind)):
            m = replace(original, source=self._node_of(original.source, resource_nodes),
                        target=self._node_of(original.target, resource_nodes))
            attrs = {"mitigation_kind": m.kind, "mitigation_description": m.description,
                     "mitigation_evidence": str(m.evidence),
                     "mitigation_expires": m.expires.isoformat() if m.expires else ""}
            hit = False
            if m.target == "*" and m.source in g:
                for u, _, k, rel in list(g.in_edges(m.source, keys=True, data="relation")):
                    if rel in COPY_RELATIONS:
                        g.edges[u, m.source, k].update(attrs)
                        hit = True
            else:
                for u, v in ((m.source, m.target), (m.target, m.source)):
                    if g.has_node(u) and g.has_node(v) and g.has_edge(u, v):
                        for k in list(g[u][v]):
                            g.edges[u, v, k].update(attrs)
                            hit = True
            if not hit:
                what = (f"no holder {original.source!r} to mitigate" if m.target == "*" else
                        f"no link between {original.source!r} and {original.target!r} to mitigate")
                raise InputError(m.evidence.ref, None, "mitigations", what)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a stage that only allocates.

    Building the graph, computing reach and evaluating a policy allocate millions of small
    containers for a large estate and make no cycles worth collecting; with the collector on,
    each collection walks every live object, so the stages slow down as the estate grows.
    Reference counting still frees everything; the collector's state is restored on exit.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(estate: Estate, catalog: Catalog | None = None, *,
          today: dt.date | None = None) -> nx.MultiDiGraph:
    """The graph of ``estate`` with the facts of ``catalog`` (the packaged one by default) as
    they held on ``today`` (default: the catalog's own date if it has one, else today)."""
    cat = catalog or default_catalog()
    if today is not None or cat.day is None:
        cat = cat.at(today or dt.date.today())
    # The build only allocates (millions of attribute dicts for a large estate): about a fifth
    # faster with the cyclic collector paused.
    with gc_paused():
        return _Builder(estate, cat).run()


# export --------------------------------------------------------------------------------------

def graphml_text(g: nx.MultiDiGraph) -> str:
    """``g`` as a well-formed GraphML document, whatever its strings hold.

    Characters XML 1.0 cannot carry (most C0 controls, lone surrogates, U+FFFE), raw or as the
    character references the serialiser writes for some, can only stand in text or attribute
    values of the serialised document, so each is replaced there by its visible escape
    (``\\x01``).
    """
    from residency_audit.textsafe import xml_document

    return xml_document("\n".join(nx.generate_graphml(g, named_key_ids=True,
                                                       edge_id_from_attribute=None))) + "\n"


def write_graphml(g: nx.MultiDiGraph, path: str | os.PathLike[str], *,
                  inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``g`` as GraphML, atomically and owner-readable only; never over one of ``inputs``."""
    from residency_audit.safefile import write_text

    write_text(path, graphml_text(g), inputs=inputs)


def read_graphml(path: str | os.PathLike[str]) -> nx.MultiDiGraph:
    """Read a graph written by :func:`write_graphml`."""
    g = nx.read_graphml(Path(path), force_multigraph=True)
    if not isinstance(g, nx.MultiDiGraph):
        g = nx.MultiDiGraph(g)
    return g


def write_node_link(g: nx.MultiDiGraph, path: str | os.PathLike[str], *,
                    inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write ``g`` as node-link JSON (sorted; atomically, owner-readable only; never over ``inputs``)."""
    from residency_audit.safefile import write_text

    data = nx.node_link_data(g, edges="edges")
    data["nodes"] = sorted(data["nodes"], key=lambda n: n["id"])
    data["edges"] = sorted(data["edges"], key=lambda e: (e["source"], e["target"], str(e["key"])))
    write_text(path, json.dumps(data, indent=1, sort_keys=True) + "\n", inputs=inputs)


def read_node_link(path: str | os.PathLike[str]) -> nx.MultiDiGraph:
    """Read a graph written by :func:`write_node_link`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    g = nx.node_link_graph(data, directed=True, multigraph=True, edges="edges")
    return g
