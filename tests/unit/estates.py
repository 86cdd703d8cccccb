"""Small estates built in code for the unit tests."""

from __future__ import annotations

from residency_audit.model import (
    DataCategory,
    Entity,
    Estate,
    Evidence,
    Link,
    LinkRelation,
    Mitigation,
    Placement,
    Resource,
    Role,
    Subprocessor,
    freeze_tags,
)

EV = Evidence(source="inventory", ref="test.yaml:1")


def place(location: str, role: Role = Role.PRIMARY) -> Placement:
    return Placement(location=location, role=role, evidence=EV)


def resource(rid: str, *locations: str, provider: str = "onprem", operator: str | None = None,
             links: tuple[Link, ...] = (), tags: dict[str, str] | None = None,
             roles: tuple[Role, ...] = ()) -> Resource:
    placements = tuple(place(loc, roles[i] if i < len(roles) else Role.PRIMARY)
                       for i, loc in enumerate(locations))
    return Resource(id=rid, provider=provider, service="s", kind="k", name=rid, placements=placements,
                    operator=operator, operator_evidence=EV if operator else None, links=links,
                    tags=freeze_tags(tags))


def entity(eid: str, country: str, parent: str | None = None) -> Entity:
    return Entity(id=eid, name=eid, country=country, parent=parent, evidence=EV,
                  parent_evidence=EV if parent else None)


def data(did: str, *, resources: tuple[str, ...] = (), subprocessors: tuple[str, ...] = (),
         selectors: tuple[dict[str, str], ...] = ()) -> DataCategory:
    return DataCategory(id=did, name=did, resources=resources, subprocessors=subprocessors,
                        selectors=tuple(freeze_tags(s) for s in selectors), evidence=EV)


def link(target: str, relation: LinkRelation = LinkRelation.REPLICATES_TO,
         categories: tuple[str, ...] = ()) -> Link:
    return Link(relation=relation, target=target, evidence=EV, categories=categories)


def sub(sid: str, ent: str, *locations: str, links: tuple[Link, ...] = ()) -> Subprocessor:
    return Subprocessor(id=sid, name=sid, entity=ent, evidence=EV, links=links,
                        placements=tuple(place(loc, Role.PROCESSING) for loc in locations))


def mitigation(source: str, target: str = "*", kind: str = "customer-held-keys") -> Mitigation:
    return Mitigation(kind=kind, source=source, target=target, description="keys held by us",
                      evidence=EV)


__all__ = ["EV", "Estate", "data", "entity", "link", "mitigation", "place", "resource", "sub"]
