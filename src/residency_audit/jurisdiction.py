"""Which nodes each disclosure law reaches, and the shortest witness path to each.

A law reaches a **holder** (a resource, a replica, a backup, a subprocessor) when it applies by
territory and the holder has a copy at a location in (or possibly in) the law's country, or when
it applies extraterritorially and the holder is operated by an entity incorporated in the law's
country or controlled, through any chain of parents, by one that is. A **data category** is
reached when any of its copies is: walking back from a reached holder along the links that
brought the data there (``replicates_to``, ``backs_up_to``, ``subcontracts``, ``stored_in``,
``processed_by``). A link that carries a mitigation is not crossed; the mitigation is reported.

All of this is one breadth-first traversal per law over the reversed edges, in two phases
(*reaching* holders, then *walking back* to the data), so it is linear in the size of the graph
and each reached node's parent pointer gives its shortest witness path.

>>> from residency_audit.demo import demo_estate
>>> from residency_audit.graph import build
>>> g = build(demo_estate())
>>> reach = exposure(g)["law:us-cloud-act"]
>>> reach.path("data:patient-records")[0]
'law:us-cloud-act'
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import networkx as nx

from residency_audit.graph import COPY_RELATIONS, edge_evidence, gc_paused

__all__ = ["RELATION_PHRASES", "Blocked", "Reach", "exposure", "link_fact", "path_evidence", "reach_of", "route_kind"]

_HOLDER_KINDS = frozenset({"resource", "subprocessor"})

# A state of the traversal: (node, phase, category filter). Phase "A" reaches holders from the
# law's country; phase "B" walks back from a reached holder to the data it holds.
_State = tuple[str, str, frozenset[str] | None]


@dataclass(frozen=True, slots=True)
class Blocked:
    """A link that a mitigation kept the law from crossing."""

    law: str
    source: str
    target: str
    relation: str
    kind: str
    description: str
    evidence: str


@dataclass(slots=True)
class Reach:
    """What one law reaches. Paths are rebuilt on demand from parent pointers."""

    law: str
    holders: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    blocked: list[Blocked] = field(default_factory=list)
    _parent: dict[_State, _State | None] = field(default_factory=dict, repr=False)
    _first: dict[str, _State] = field(default_factory=dict, repr=False)

    def reaches(self, node: str) -> bool:
        return node in self._first

    @property
    def nodes(self) -> set[str]:
        """Every node the law reaches: holders, data, and the places and entities on the way."""
        return set(self._first)

    def path(self, node: str) -> tuple[str, ...]:
        """The shortest witness path ``law → … → node``, or ``()`` if not reached."""
        state = self._first.get(node)
        if state is None:
            return ()
        out: list[str] = []
        current: _State | None = state
        while current is not None:
            if not out or out[-1] != current[0]:
                out.append(current[0])
            current = self._parent[current]
        return tuple(reversed(out))


def _edges_between(g: nx.MultiDiGraph, a: str, b: str) -> Iterable[Mapping[str, Any]]:
    if g.has_edge(a, b):
        yield from (g[a][b][k] for k in sorted(g[a][b]))
    if g.has_edge(b, a):
        yield from (g[b][a][k] for k in sorted(g[b][a]))


RELATION_PHRASES: dict[str, str] = {
    "stored_in": "is stored in",
    "processed_by": "is processed by",
    "replicates_to": "replicates to",
    "backs_up_to": "backs up to",
    "subcontracts": "subcontracts to",
    "located_in": "keeps a copy in",
    "in_country": "is in",
    "operated_by": "is operated by",
    "controlled_by": "is controlled by",
    "incorporated_in": "is incorporated in",
    "controlled_from": "is controlled from",
    "applies_in": "applies in",
}
"""How each relation reads as a sentence, from the edge's source to its target."""


def link_fact(g: nx.MultiDiGraph, a: str, b: str) -> str:
    """The fact behind the link between ``a`` and ``b`` as a sentence read in the edge's own
    direction, with its evidence: ``"Twilio Ireland Limited is controlled by Twilio Inc. —
    catalog: entities.csv:12"``. A pair with no edge reads ``"a — b: no link"``.
    """
    forward = g.has_edge(a, b)
    attrs = next(iter(_edges_between(g, a, b)), None)
    if attrs is None:
        return f"{a} — {b}: no link"
    src, dst = (a, b) if forward else (b, a)
    relation = str(attrs.get("relation", ""))
    phrase = RELATION_PHRASES.get(relation, relation.replace("_", " "))
    role = attrs.get("role")
    if relation == "located_in" and role:
        phrase = f"keeps a {role} copy in"

    def label(n: str) -> str:
        return str(g.nodes[n].get("label") or n) if n in g else n

    return f"{label(src)} {phrase} {label(dst)} [{src} → {dst}] — {edge_evidence(attrs)}"


def route_kind(path: tuple[str, ...]) -> str:
    """How a witness path ``law → country → …`` reaches: ``territorial`` when the next step is a
    location in that country, ``control`` when it is an entity incorporated in or controlled
    from it, ``""`` for a path too short to say.

    >>> route_kind(("law:x", "country:US", "location:aws:us-east-1", "resource:r", "data:d"))
    'territorial'
    >>> route_kind(("law:x", "country:US", "entity:amazon", "resource:r", "data:d"))
    'control'
    """
    if len(path) < 3:
        return ""
    return "territorial" if path[2].startswith("location:") else "control"


def path_evidence(g: nx.MultiDiGraph, path: tuple[str, ...]) -> tuple[str, ...]:
    """For each link of ``path``, the fact it rests on, read forward, with its evidence.

    Line ``i`` is the link between ``path[i]`` and ``path[i + 1]``.
    """
    return tuple(link_fact(g, a, b) for a, b in pairwise(path))


def reach_of(g: nx.MultiDiGraph, law: str) -> Reach:
    """What ``law`` (a ``law:`` node id) reaches in ``g``: one two-phase traversal."""
    attrs = g.nodes[law]
    territorial = bool(attrs.get("territorial"))
    extraterritorial = bool(attrs.get("extraterritorial"))
    reach = Reach(law=law)
    parent = reach._parent
    first = reach._first
    holders, data, entities, locations = reach.holders, reach.data, reach.entities, reach.locations
    pred = g._pred
    kinds = g._node  # the node attribute dicts, without a view per lookup
    # The relations that phase A crosses backwards into a node, by the node's kind.
    country_rels = ({"in_country"} if territorial else set()) | (
        {"incorporated_in", "controlled_from"} if extraterritorial else set())
    crossing: dict[Any, frozenset[str]] = {
        "country": frozenset(country_rels), "location": frozenset({"located_in"}),
        "entity": frozenset({"controlled_by", "operated_by"})}
    split_cats: dict[str, frozenset[str]] = {}
    walked_back: list[str] = []  # nodes first seen on the walk back (phase B)
    start: _State = (law, "A", None)
    parent[start] = None
    first[law] = start
    queue: deque[_State] = deque([start])
    popleft, push = queue.popleft, queue.append

    def blocked(u: str, v: str, edge: Mapping[str, Any]) -> None:
        reach.blocked.append(Blocked(
            law=law, source=u, target=v, relation=str(edge.get("relation", "")),
            kind=str(edge["mitigation_kind"]), description=str(edge.get("mitigation_description", "")),
            evidence=str(edge.get("mitigation_evidence", ""))))

    # The visits are written out in the loop (no helper call per edge): a state is new unless
    # it, or the same node and phase with no category filter, was seen; a node's first state is
    # its first phase-A state if it has one, else its first phase-B state.
    while queue:
        state = popleft()
        node, phase, filt = state
        kind = kinds[node].get("kind")
        if phase == "A":
            if kind == "law":
                for country, keyed in g._succ[node].items():
                    for edge in keyed.values():
                        if edge.get("relation") == "applies_in":
                            nxt: _State = (country, "A", None)
                            if nxt not in parent:
                                parent[nxt] = state
                                seen = first.get(country)
                                if seen is None or seen[1] == "B":
                                    first[country] = nxt
                                push(nxt)
                continue
            if kind in _HOLDER_KINDS:
                holders.add(node)
                nxt = (node, "B", None)
                if nxt not in parent:
                    parent[nxt] = state
                    if node not in first:
                        first[node] = nxt
                        walked_back.append(node)
                    push(nxt)
                continue
            rels = crossing.get(kind)
            if rels:
                for u, keyed in pred[node].items():
                    for edge in keyed.values():
                        if edge["relation"] not in rels:
                            continue
                        if "mitigation_kind" in edge:
                            blocked(u, node, edge)
                            continue
                        nxt = (u, "A", None)
                        if nxt not in parent:
                            parent[nxt] = state
                            seen = first.get(u)
                            if seen is None or seen[1] == "B":
                                first[u] = nxt
                            push(nxt)
            if kind == "entity":
                entities.add(node)
            elif kind == "location":
                locations.add(node)
            continue
        for u, keyed in pred[node].items():
            for edge in keyed.values():
                if edge["relation"] not in COPY_RELATIONS:
                    continue
                if "mitigation_kind" in edge:
                    blocked(u, node, edge)
                    continue
                if u in data:  # reached already, and its only state, (u, "B", None), is known
                    continue
                cats = edge.get("categories") or ""
                new_filt = filt
                if cats:
                    allowed = split_cats.get(cats)
                    if allowed is None:
                        allowed = split_cats[cats] = frozenset(cats.split())
                    new_filt = allowed if filt is None else filt & allowed
                if kinds[u].get("kind") == "data":
                    if new_filt is not None and u.removeprefix("data:") not in new_filt:
                        continue
                    data.add(u)
                    new_filt = None
                nxt = (u, "B", new_filt)
                if nxt in parent or (new_filt is not None and (u, "B", None) in parent):
                    continue
                parent[nxt] = state
                if u not in first:
                    first[u] = nxt
                    walked_back.append(u)
                push(nxt)
    # A node first seen only on the walk back is not itself reached, unless it is data.
    for node in walked_back:
        st = first.get(node)
        if (st is not None and st[1] == "B" and kinds[node].get("kind") != "data"
                and node not in holders):
            del first[node]
    reach.blocked.sort(key=lambda b: (b.source, b.target, b.relation, b.kind))
    reach.blocked[:] = list(dict.fromkeys(reach.blocked))
    return reach


def exposure(g: nx.MultiDiGraph, *, laws: Iterable[str] | None = None) -> dict[str, Reach]:
    """For each law in ``g`` (or each of ``laws``), what it reaches, keyed by law node id."""
    chosen = sorted(laws) if laws is not None else sorted(
        n for n, k in g.nodes(data="kind") if k == "law")
    with gc_paused():
        return {law: reach_of(g, law) for law in chosen}
