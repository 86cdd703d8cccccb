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
and each reached node's parent pointer gives its shortest witness path. Laws that apply in the
same countries in the same ways (the CLOUD Act and FISA 702) reach along the same paths, so
:func:`exposure` traverses once for each such group, and the links each phase crosses at a node
are read from the graph once for all the laws.

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
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import networkx as nx

from residency_audit.graph import COPY_RELATIONS, LinkCategories, edge_evidence, gc_paused

__all__ = ["RELATION_PHRASES", "Blocked", "Reach", "exposure", "link_fact", "path_evidence", "reach_of", "route_kind"]


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


# A state of the traversal is a node in one of two phases: phase A reaches holders from the law's
# country, phase B walks back from a reached holder to the data it holds, with the categories a
# link lets through (``None``: every category). A phase-A state is its node; a phase-B state is
# ``(node, categories)``. How a phase-B state was reached: from a phase-B state (its node when
# that state lets every category through, else the state itself), or from the same holder's own
# phase-A state (``_FROM_A``).
_BState = tuple[str, frozenset[str] | None]
_FROM_A = True
_BParent = str | _BState | bool


@dataclass(slots=True)
class Reach:
    """What one law reaches. Paths are rebuilt on demand from parent pointers."""

    law: str
    holders: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    blocked: list[Blocked] = field(default_factory=list)
    # Phase A: each node's parent node (``None`` for the start). Phase B: the parent of each
    # state ``(node, None)`` keyed by node, of each filtered state keyed by the state.
    _a: dict[str, str | None] = field(default_factory=dict, repr=False)
    _b: dict[str, _BParent] = field(default_factory=dict, repr=False)
    _bf: dict[_BState, _BParent] = field(default_factory=dict, repr=False)
    _start: str = field(default="", repr=False)
    """The law node the traversal started from (another law with the same route shares it)."""

    def reaches(self, node: str) -> bool:
        if node == self.law:
            return True
        return (node in self._a and node != self._start) or node in self.data

    @property
    def nodes(self) -> set[str]:
        """Every node the law reaches: holders, data, and the places and entities on the way."""
        out = set(self._a)
        out.discard(self._start)
        out.add(self.law)
        return out | self.data

    @property
    def states(self) -> int:
        """How many traversal states were visited (a measure of the work done)."""
        return len(self._a) + len(self._b) + len(self._bf)

    def path(self, node: str) -> tuple[str, ...]:
        """The shortest witness path ``law → … → node``, or ``()`` if not reached."""
        if not self.reaches(node):
            return ()
        if node == self.law:
            return (node,)
        out: list[str] = []
        current: str | None = node
        if node not in self._a:  # a data category: its chain of phase-B states first
            b: _BParent = self._b[node]
            out.append(node)
            while b is not _FROM_A:
                if isinstance(b, str):
                    if out[-1] != b:
                        out.append(b)
                    b = self._b[b]
                else:
                    assert isinstance(b, tuple)
                    if out[-1] != b[0]:
                        out.append(b[0])
                    b = self._bf[b]
            current = out.pop()  # the holder whose phase-A state the walk back began from
        a = self._a
        while current is not None:
            if not out or out[-1] != current:
                out.append(current)
            current = a[current]
        if out[-1] == self._start:
            out[-1] = self.law
        return tuple(reversed(out))


class _Adjacency:
    """The reversed links each phase crosses, per node, read once from the graph and shared by
    every law's traversal (filled as the traversals first visit each node)."""

    __slots__ = ("a", "b", "g", "kind", "split")

    def __init__(self, g: nx.MultiDiGraph) -> None:
        self.g = g
        self.kind: dict[str, Any] = {n: attrs.get("kind") for n, attrs in g._node.items()}
        # node -> (predecessors to push, mitigated edges) for the kind's phase-A relations
        self.a: dict[str, tuple[list[str], list[tuple[str, Mapping[str, Any]]]]] = {}
        # node -> (phase-B steps (pred, categories or None, pred is data), mitigated edges)
        self.b: dict[str, tuple[list[tuple[str, frozenset[str] | None, bool]],
                                list[tuple[str, Mapping[str, Any]]]]] = {}
        self.split = LinkCategories()

    def crossing_a(self, node: str, rels: frozenset[str]) -> tuple[list[str], list[tuple[str, Mapping[str, Any]]]]:
        push: list[str] = []
        cut: list[tuple[str, Mapping[str, Any]]] = []
        for u, keyed in self.g._pred[node].items():
            for edge in keyed.values():
                if edge["relation"] not in rels:
                    continue
                if "mitigation_kind" in edge:
                    cut.append((u, edge))
                else:
                    push.append(u)
        return push, cut

    def crossing_b(self, node: str) -> tuple[list[tuple[str, frozenset[str] | None, bool]],
                                             list[tuple[str, Mapping[str, Any]]]]:
        steps: list[tuple[str, frozenset[str] | None, bool]] = []
        cut: list[tuple[str, Mapping[str, Any]]] = []
        kind, split = self.kind, self.split
        for u, keyed in self.g._pred[node].items():
            for edge in keyed.values():
                if edge["relation"] not in COPY_RELATIONS:
                    continue
                if "mitigation_kind" in edge:
                    cut.append((u, edge))
                    continue
                cats = edge.get("categories")
                steps.append((u, split[cats] if cats else None, kind.get(u) == "data"))
        return steps, cut


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


def _route(g: nx.MultiDiGraph, law: str) -> tuple[tuple[str, ...], bool, bool]:
    """What decides a law's traversal: the countries it applies in (in link order) and how."""
    attrs = g.nodes[law]
    countries = tuple(c for c, keyed in g._succ[law].items() for e in keyed.values()
                      if e.get("relation") == "applies_in")
    return countries, bool(attrs.get("territorial")), bool(attrs.get("extraterritorial"))


def reach_of(g: nx.MultiDiGraph, law: str, *, _adjacency: _Adjacency | None = None) -> Reach:
    """What ``law`` (a ``law:`` node id) reaches in ``g``: one two-phase breadth-first traversal."""
    adj = _adjacency or _Adjacency(g)
    countries, territorial, extraterritorial = _route(g, law)
    reach = Reach(law=law, _start=law)
    pa, pb, pbf = reach._a, reach._b, reach._bf
    holders, data, entities, locations = reach.holders, reach.data, reach.entities, reach.locations
    kind_of, a_memo, b_memo = adj.kind, adj.a, adj.b
    country_rels = frozenset(({"in_country"} if territorial else set()) | (
        {"incorporated_in", "controlled_from"} if extraterritorial else set()))
    location_rels = frozenset({"located_in"})
    entity_rels = frozenset({"controlled_by", "operated_by"})
    cut: list[tuple[str, str, Mapping[str, Any]]] = []  # (source, target, edge) a mitigation kept
    pa[law] = None
    queue: deque[str | _BState] = deque()
    push = queue.append
    for country in countries:
        if country not in pa:
            pa[country] = law
            push(country)
    popleft = queue.popleft
    country_crossing: dict[str, tuple[list[str], list[tuple[str, Mapping[str, Any]]]]] = {}
    # The visits are written out in the loop (no helper call per edge). A phase-B state is new
    # unless it, or the same node with no category filter, was seen.
    while queue:
        state = popleft()
        if isinstance(state, str):  # phase A
            node = state
            kind = kind_of[node]
            if kind == "resource" or kind == "subprocessor":
                holders.add(node)
                if node not in pb:
                    pb[node] = _FROM_A
                    push((node, None))
                continue
            if kind == "location":
                crossing = a_memo.get(node)
                if crossing is None:
                    crossing = a_memo[node] = adj.crossing_a(node, location_rels)
                locations.add(node)
            elif kind == "entity":
                crossing = a_memo.get(node)
                if crossing is None:
                    crossing = a_memo[node] = adj.crossing_a(node, entity_rels)
                entities.add(node)
            elif kind == "country":
                crossing = country_crossing.get(node)
                if crossing is None:
                    crossing = country_crossing[node] = adj.crossing_a(node, country_rels)
            else:
                continue
            ups, cuts = crossing
            for u in ups:
                if u not in pa:
                    pa[u] = node
                    push(u)
            if cuts:
                cut.extend((u, node, e) for u, e in cuts)
            continue
        node, filt = state  # phase B
        crossing_b = b_memo.get(node)
        if crossing_b is None:
            crossing_b = b_memo[node] = adj.crossing_b(node)
        steps, cuts = crossing_b
        if cuts:
            cut.extend((u, node, e) for u, e in cuts)
        parent: _BParent = node if filt is None else state
        for u, allowed, is_data in steps:
            if u in data:  # reached already, and its only state, (u, None), is known
                continue
            new_filt = filt
            if allowed is not None:
                new_filt = allowed if filt is None else filt & allowed
            if is_data:
                if new_filt is not None and u.removeprefix("data:") not in new_filt:
                    continue
                data.add(u)
                new_filt = None
            if new_filt is None:
                if u in pb:
                    continue
                pb[u] = parent
                push((u, None))
            else:
                key = (u, new_filt)
                if key in pbf or u in pb:
                    continue
                pbf[key] = parent
                push(key)
    blocked = {Blocked(law=law, source=u, target=v, relation=str(e.get("relation", "")),
                       kind=str(e["mitigation_kind"]), description=str(e.get("mitigation_description", "")),
                       evidence=str(e.get("mitigation_evidence", ""))) for u, v, e in cut}
    reach.blocked = sorted(blocked, key=lambda b: (b.source, b.target, b.relation, b.kind, b.description,
                                                   b.evidence))
    return reach


def _shared(reach: Reach, law: str) -> Reach:
    """``reach`` for another law whose traversal is the same (same countries, same route kinds)."""
    return Reach(law=law, holders=set(reach.holders), data=set(reach.data), entities=set(reach.entities),
                 locations=set(reach.locations),
                 blocked=[replace(b, law=law) for b in reach.blocked],
                 _a=reach._a, _b=reach._b, _bf=reach._bf, _start=reach._start)


def exposure(g: nx.MultiDiGraph, *, laws: Iterable[str] | None = None) -> dict[str, Reach]:
    """For each law in ``g`` (or each of ``laws``), what it reaches, keyed by law node id.

    Laws that apply in the same countries in the same ways (territorially, extraterritorially)
    reach the same nodes by the same paths: each such group is traversed once.
    """
    chosen = sorted(laws) if laws is not None else sorted(
        n for n, k in g.nodes(data="kind") if k == "law")
    adj = _Adjacency(g)
    done: dict[tuple[tuple[str, ...], bool, bool], Reach] = {}
    out: dict[str, Reach] = {}
    with gc_paused():
        for law in chosen:
            route = _route(g, law)
            same = done.get(route)
            if same is None:
                out[law] = done[route] = reach_of(g, law, _adjacency=adj)
            else:
                out[law] = _shared(same, law)
    return out
