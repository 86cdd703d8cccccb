"""A reference for :func:`residency_audit.jurisdiction.reach_of`: the traversal as first written.

Every state ``(node, phase, categories)`` is a tuple with its parent, one dictionary for all; the
library's traversal shares the links each phase crosses between laws and keys its states more
cheaply. The tests compare the two on varied estates: the same nodes, holders, data, places,
entities, mitigations and the same witness path to every node.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from residency_audit.graph import COPY_RELATIONS
from residency_audit.jurisdiction import Blocked

_HOLDER_KINDS = frozenset({"resource", "subprocessor"})
_State = tuple[str, str, frozenset[str] | None]


@dataclass(slots=True)
class ReferenceReach:
    law: str
    holders: set[str] = field(default_factory=set)
    data: set[str] = field(default_factory=set)
    entities: set[str] = field(default_factory=set)
    locations: set[str] = field(default_factory=set)
    blocked: list[Blocked] = field(default_factory=list)
    _parent: dict[_State, _State | None] = field(default_factory=dict)
    _first: dict[str, _State] = field(default_factory=dict)

    def path(self, node: str) -> tuple[str, ...]:
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


def reference_reach(g: nx.MultiDiGraph, law: str) -> ReferenceReach:
    """What ``law`` reaches in ``g``, state by state (the traversal as first written)."""
    attrs = g.nodes[law]
    territorial = bool(attrs.get("territorial"))
    extraterritorial = bool(attrs.get("extraterritorial"))
    reach = ReferenceReach(law=law)
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
