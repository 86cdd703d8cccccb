"""What each holder's out-links say, read from the graph once for the whole audit.

A holder (a resource or a subprocessor) is placed by its ``located_in`` links, run by its
``operated_by`` links and passes data on by its copy links. The rules, the copy walk and the
view all ask these questions of every holder; :class:`HolderLinks` reads each holder's links
once, and groups the holders by their *profile*: the same placement and operator links with the
same evidence. A million holders share a few thousand profiles, so what follows from a profile
(its sorted placements and operators, the view's placements) is worked out once per profile.

>>> import datetime as dt
>>> from residency_audit.demo import demo_estate
>>> from residency_audit.graph import build
>>> links = HolderLinks(build(demo_estate(), today=dt.date(2026, 11, 24)))
>>> links.placements_of("resource:aws:arn:aws:s3:::region-exempel-lab-results")
(('location:aws:eu-north-1', 'primary'),)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import networkx as nx

from residency_audit.graph import COPY_RELATIONS, LinkCategories

__all__ = ["HOLDER_KINDS", "HolderLinks", "Link"]

HOLDER_KINDS = frozenset({"resource", "subprocessor"})

Link = tuple[str, Any, str, Any, Any, Any]
"""A placement or operator link of a holder as the graph has it: (target, key, relation, role,
evidence ref, evidence source)."""

_Placements = tuple[tuple[str, str], ...]


class HolderLinks:
    """Every holder's placement, operator and copy links, read in one pass over the graph.

    ``profile_of[holder]`` indexes ``profiles`` (each a tuple of :data:`Link`, in the graph's
    order); ``copy_links[holder]`` are its copy links as ``(target, categories the link carries,
    or None for every category)``.
    """

    __slots__ = ("_operators", "_placements", "copy_links", "profile_of", "profiles")

    def __init__(self, g: nx.MultiDiGraph) -> None:
        self.profiles: list[tuple[Link, ...]] = []
        self.profile_of: dict[str, int] = {}
        self.copy_links: dict[str, list[tuple[str, frozenset[str] | None]]] = {}
        index: dict[tuple[Link, ...], int] = {}
        split = LinkCategories()
        succ = g._adj
        copy_relations = COPY_RELATIONS
        for n, attrs in g._node.items():
            if attrs.get("kind") not in HOLDER_KINDS:
                continue
            links: list[Link] = []
            copies: list[tuple[str, frozenset[str] | None]] = []
            for v, keyed in succ[n].items():
                for k, edge in keyed.items():
                    relation = edge.get("relation")
                    if relation == "located_in" or relation == "operated_by":
                        links.append((v, k, relation, edge.get("role"), edge.get("evidence_ref"),
                                      edge.get("evidence_source")))
                    elif relation in copy_relations:
                        cats = edge.get("categories")
                        copies.append((v, split[cats] if cats else None))
            key = tuple(links)
            i = index.get(key)
            if i is None:
                i = index[key] = len(self.profiles)
                self.profiles.append(key)
            self.profile_of[n] = i
            self.copy_links[n] = copies
        interned: dict[_Placements, _Placements] = {}
        self._placements: list[_Placements] = []
        self._operators: list[list[str]] = []
        for profile in self.profiles:
            placements = tuple(sorted((v, "" if role is None else str(role))
                                      for v, _k, relation, role, _ref, _source in profile
                                      if relation == "located_in"))
            self._placements.append(interned.setdefault(placements, placements))
            self._operators.append(sorted(v for v, _k, relation, *_ in profile if relation == "operated_by"))

    def placements_of(self, holder: str) -> _Placements:
        """``(location node, role)`` of each copy at the holder, sorted."""
        return self._placements[self.profile_of[holder]]

    def operators_of(self, holder: str) -> list[str]:
        """The holder's operating entities, sorted (a list shared by its profile: do not change it)."""
        return self._operators[self.profile_of[holder]]

    def distinct_placements(self, holders: Iterable[str]) -> set[_Placements]:
        """The distinct placement lists of ``holders`` (a few, for many holders)."""
        pl, of = self._placements, self.profile_of
        return {pl[of[h]] for h in holders}
