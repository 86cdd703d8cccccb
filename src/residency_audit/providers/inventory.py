"""The declared inventory: what no cloud API shows, written by auditors in YAML.

Subprocessors (with their own subprocessors, to any depth; cycles are allowed), their legal
entities and locations, on-premises systems, data categories and where they go, and declared
mitigations. Every record keeps the file and line it came from as its evidence, and every error
names the file, the line and the field. ``docs/inventory.md`` documents the format.

>>> from residency_audit.demo import demo_inventory_path
>>> estate = load_inventory(demo_inventory_path())
>>> sorted(d.id for d in estate.data)[:2]
['archived-records', 'lab-results']
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.errors import InputError
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
    ScanMetadata,
    Subprocessor,
    freeze_tags,
)
from residency_audit.yamlfile import (
    CalendarDate,
    line_of,
    load_yaml,
    validation_error_to_input_error,
)

__all__ = ["INVENTORY_VERSION", "load_inventory", "parse_inventory"]

INVENTORY_VERSION = 1

Id = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9/][^\s]*$", max_length=2048)]
Text = Annotated[str, StringConstraints(max_length=10_000)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]
TagMap = dict[Annotated[str, StringConstraints(max_length=512)], Annotated[str, StringConstraints(max_length=2048)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LocationIn(_Model):
    """Either ``country: SE`` or ``region: azure:westeurope``, with a role."""

    country: CountryCode | None = None
    region: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+:[^\s]+$")] | None = None
    role: Role = Role.PRIMARY
    city: Text = ""

    @model_validator(mode="after")
    def _one_place(self) -> LocationIn:
        if (self.country is None) == (self.region is None):
            raise ValueError("give exactly one of 'country' or 'region'")
        return self


class EntityIn(_Model):
    id: Id
    name: Text
    country: CountryCode
    parent: Id | None = None
    controlled_from: CountryCode | None = None
    source: Text = ""
    certifications: list[Id] = []
    notes: Text = ""


class ResourceIn(_Model):
    id: Id
    name: Text
    provider: Id = "onprem"
    service: Id = "system"
    kind: Id = "system"
    account: Text = ""
    operator: Id | None = None
    locations: list[LocationIn] = Field(min_length=1)
    replicates_to: list[Id] = []
    backs_up_to: list[Id] = []
    tags: TagMap = {}
    transfer_tool: Text = ""
    source: Text = ""


class SubRef(_Model):
    """A subprocessor's subprocessor: a nested definition, or ``ref`` to one defined elsewhere."""

    ref: Id | None = None
    id: Id | None = None
    name: Text | None = None
    entity: Id | None = None
    locations: list[LocationIn] = []
    data: list[Id] = []
    subprocessors: list[SubRef] = []
    transfer_tool: Text = ""
    tags: TagMap = {}
    source: Text = ""

    @model_validator(mode="after")
    def _ref_or_definition(self) -> SubRef:
        if self.ref is not None:
            if self.id is not None or self.entity is not None or self.locations or self.subprocessors:
                raise ValueError("a 'ref' names a subprocessor defined elsewhere; give nothing "
                                 "else but 'data'")
        else:
            missing = [k for k in ("id", "name", "entity") if getattr(self, k) is None]
            if missing or not self.locations:
                raise ValueError("a subprocessor needs 'id', 'name', 'entity' and 'locations' "
                                 "(or 'ref' to one defined elsewhere)")
        return self


class SubprocessorIn(_Model):
    id: Id
    name: Text
    entity: Id
    locations: list[LocationIn] = Field(min_length=1)
    subprocessors: list[SubRef] = []
    transfer_tool: Text = ""
    tags: TagMap = {}
    source: Text = ""


class StoredIn(_Model):
    resource: Id | None = None
    tags: TagMap | None = None

    @model_validator(mode="after")
    def _one(self) -> StoredIn:
        if (self.resource is None) == (self.tags is None) or self.tags == {}:
            raise ValueError("give exactly one of 'resource' (an id) or 'tags' (a non-empty map)")
        return self


class DataIn(_Model):
    id: Id
    name: Text
    classification: Text = ""
    description: Text = ""
    stored_in: list[StoredIn] = []
    processed_by: list[Id] = []


class MitigationIn(_Model):
    kind: Id
    description: Text
    evidence: Text
    holder: Id | None = None
    entity: Id | None = None
    parent: Id | None = None
    expires: CalendarDate | None = None

    @model_validator(mode="after")
    def _target(self) -> MitigationIn:
        if (self.holder is None) == (self.entity is None):
            raise ValueError("give either 'holder' (keys or access kept from that holder) or "
                             "'entity' with 'parent' (a control link that does not hold)")
        if self.entity is not None and self.parent is None:
            raise ValueError("'entity' needs 'parent': the control link the mitigation cuts")
        return self


class InventoryIn(_Model):
    version: Literal[1] = 1
    organisation: Text = ""
    entities: list[EntityIn] = []
    resources: list[ResourceIn] = []
    subprocessors: list[SubprocessorIn] = []
    data: list[DataIn] = []
    mitigations: list[MitigationIn] = []


# conversion ---------------------------------------------------------------------------------

class _Converter:
    def __init__(self, root: Any, origin: str, catalog: Catalog) -> None:
        self.root = root
        self.origin = origin
        self.catalog = catalog
        self.subs: dict[str, Subprocessor] = {}
        self.sub_lines: dict[str, int | None] = {}
        self.sub_paths: dict[str, list[int | str]] = {}

    def line(self, *path: int | str) -> int | None:
        node = self.root
        line = line_of(node)
        for step in path:
            try:
                line = line_of(node, step) or line
                node = node[step]
            except (KeyError, IndexError, TypeError):
                break
        return line

    def _spec(self, path: Sequence[int | str]) -> Any:
        """The loaded YAML node at ``path`` (validated already, so the steps exist)."""
        node = self.root
        for step in path:
            node = node[step]
        return node

    def ev(self, *path: int | str, source: str = "") -> Evidence:
        ref = f"{self.origin}:{self.line(*path)}"
        return Evidence(source="inventory", ref=ref, detail=source)

    def error(self, path: Sequence[int | str], message: str) -> InputError:
        field = ""
        for step in path:
            field += f"[{step}]" if isinstance(step, int) else (f".{step}" if field else str(step))
        return InputError(self.origin, self.line(*path), field, message)

    def placements(self, locs: Sequence[LocationIn], path: Sequence[int | str]) -> tuple[Placement, ...]:
        out = []
        for i, loc in enumerate(locs):
            where = f"country:{loc.country.upper()}" if loc.country else str(loc.region)
            out.append(Placement(location=where, role=loc.role, evidence=self.ev(*path, "locations", i)))
        return tuple(out)

    def subprocessor(self, s: SubprocessorIn | SubRef, path: list[int | str]) -> None:
        assert s.id is not None and s.name is not None and s.entity is not None
        if s.id in self.subs:
            raise self.error([*path, "id"], f"subprocessor {s.id!r} is defined twice "
                             f"(first at line {self.sub_lines[s.id]}); use 'ref' to point to it")
        links: list[Link] = []
        for i, child in enumerate(s.subprocessors):
            cpath = [*path, "subprocessors", i]
            target = child.ref if child.ref is not None else child.id
            assert target is not None
            links.append(Link(relation=LinkRelation.SUBCONTRACTS, target=target,
                              evidence=self.ev(*cpath, source=child.source),
                              categories=tuple(sorted(set(child.data)))))
        attrs = {"transfer_tool": s.transfer_tool} if s.transfer_tool else {}
        self.subs[s.id] = Subprocessor(
            id=s.id, name=s.name, entity=s.entity,
            placements=self.placements(s.locations, path),
            evidence=self.ev(*path, "entity", source=s.source), links=tuple(links),
            tags=freeze_tags(s.tags), attributes=freeze_tags(attrs))
        self.sub_lines[s.id] = self.line(*path)
        self.sub_paths[s.id] = path
        for i, child in enumerate(s.subprocessors):
            if child.ref is None:
                self.subprocessor(child, [*path, "subprocessors", i])

    def convert(self, inv: InventoryIn) -> Estate:
        entities = []
        ids: set[str] = set()
        for i, e in enumerate(inv.entities):
            if e.id in ids:
                raise self.error(["entities", i, "id"], f"entity {e.id!r} is defined twice")
            ids.add(e.id)
            entities.append(Entity(
                id=e.id, name=e.name, country=e.country.upper(), parent=e.parent,
                evidence=self.ev("entities", i, "country", source=e.source),
                parent_evidence=self.ev("entities", i, "parent", source=e.source) if e.parent else None,
                certifications=tuple(sorted(set(e.certifications))), notes=e.notes,
                controlled_from=e.controlled_from.upper() if e.controlled_from else None))
        known_entities = ids | set(self.catalog.entities)
        for i, e in enumerate(inv.entities):
            if e.parent and e.parent not in known_entities:
                raise self.error(["entities", i, "parent"], f"unknown entity {e.parent!r}")

        resources = []
        rids: set[str] = set()
        for i, r in enumerate(inv.resources):
            if r.id in rids:
                raise self.error(["resources", i, "id"], f"resource {r.id!r} is defined twice")
            rids.add(r.id)
            if r.operator and r.operator not in known_entities:
                raise self.error(["resources", i, "operator"], f"unknown entity {r.operator!r}")
            links = [Link(relation=LinkRelation.REPLICATES_TO, target=t,
                          evidence=self.ev("resources", i, "replicates_to", j))
                     for j, t in enumerate(r.replicates_to)]
            links += [Link(relation=LinkRelation.BACKS_UP_TO, target=t,
                           evidence=self.ev("resources", i, "backs_up_to", j))
                      for j, t in enumerate(r.backs_up_to)]
            attrs = {"transfer_tool": r.transfer_tool} if r.transfer_tool else {}
            resources.append(Resource(
                id=r.id, provider=r.provider, service=r.service, kind=r.kind, name=r.name,
                account=r.account, placements=self.placements(r.locations, ["resources", i]),
                tags=freeze_tags(r.tags), links=tuple(links), operator=r.operator,
                operator_evidence=self.ev("resources", i, "operator", source=r.source)
                if r.operator else None,
                attributes=freeze_tags(attrs)))

        for i, s in enumerate(inv.subprocessors):
            self.subprocessor(s, ["subprocessors", i])
        for sid, sub in self.subs.items():
            if sub.entity not in known_entities:
                raise self.error([*self.sub_paths[sid], "entity"], f"unknown entity {sub.entity!r}")
            for i, link in enumerate(sub.links):
                if link.target not in self.subs:
                    raise self.error([*self.sub_paths[sid], "subprocessors", i],
                                     f"unknown subprocessor {link.target!r}")

        data = []
        dids: set[str] = set()
        for i, d in enumerate(inv.data):
            if d.id in dids:
                raise self.error(["data", i, "id"], f"data category {d.id!r} is defined twice")
            dids.add(d.id)
            for j, sid in enumerate(d.processed_by):
                if sid not in self.subs:
                    raise self.error(["data", i, "processed_by", j], f"unknown subprocessor {sid!r}")
            data.append(DataCategory(
                id=d.id, name=d.name, classification=d.classification, description=d.description,
                resources=tuple(sorted({s.resource for s in d.stored_in if s.resource})),
                selectors=tuple(freeze_tags(s.tags) for s in d.stored_in if s.tags),
                subprocessors=tuple(sorted(set(d.processed_by))),
                evidence=self.ev("data", i)))
        for sid in self.subs:
            spec = self._spec(self.sub_paths[sid])
            for i, child in enumerate(spec.get("subprocessors", [])):
                for j, cat in enumerate(child.get("data", [])):
                    if cat.strip() not in dids:
                        raise self.error([*self.sub_paths[sid], "subprocessors", i, "data", j],
                                         f"unknown data category {cat!r}")

        mitigations = []
        for i, m in enumerate(inv.mitigations):
            ev = Evidence(source="inventory", ref=f"{self.origin}:{self.line('mitigations', i)}",
                          detail=m.evidence)
            if m.holder is not None:
                mitigations.append(Mitigation(kind=m.kind, source=m.holder, target="*",
                                              description=m.description, evidence=ev, expires=m.expires))
            else:
                assert m.entity is not None and m.parent is not None
                mitigations.append(Mitigation(kind=m.kind, source=f"entity:{m.entity}",
                                              target=f"entity:{m.parent}", description=m.description,
                                              evidence=ev, expires=m.expires))
        return Estate(resources=tuple(resources), subprocessors=tuple(self.subs.values()),
                      entities=tuple(entities), data=tuple(data), mitigations=tuple(mitigations),
                      metadata=ScanMetadata(sources=(f"inventory:{Path(self.origin).name}",),
                                            scopes=(inv.organisation,) if inv.organisation else ()))


def parse_inventory(doc: Any, origin: str, *, catalog: Catalog | None = None) -> Estate:
    """The :class:`Estate` declared by ``doc`` (as loaded by :mod:`residency_audit.yamlfile`)."""
    if doc is None:
        raise InputError(origin, None, None, "the inventory is empty")
    if not isinstance(doc, dict):
        raise InputError(origin, line_of(doc), None, "an inventory is a mapping (version, data, …)")
    try:
        inv = InventoryIn.model_validate(doc)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, doc, origin) from None
    return _Converter(doc, origin, catalog or default_catalog()).convert(inv)


def load_inventory(*paths: str | os.PathLike[str], catalog: Catalog | None = None) -> Estate:
    """Read one or more inventory files into one :class:`Estate`."""
    estates = [parse_inventory(load_yaml(p), str(p), catalog=catalog) for p in paths]
    if not estates:
        return Estate()
    return estates[0].merge(*estates[1:]) if len(estates) > 1 else estates[0]


