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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.errors import InputError
from residency_audit.model import (
    AgreedLocations,
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

__all__ = ["INVENTORY_VERSION", "MAX_BYTES", "load_inventory", "parse_inventory"]

INVENTORY_VERSION = 1

#: The largest inventory file read: far more than anyone writes by hand.
MAX_BYTES = 20 * 1024 * 1024

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
    source: Text = ""

    @model_validator(mode="after")
    def _one_place(self) -> LocationIn:
        if (self.country is None) == (self.region is None):
            raise ValueError("give exactly one of 'country' or 'region'")
        return self


Place = Annotated[str, StringConstraints(pattern=r"^(EEA|EU|[A-Za-z]{2}|[a-z0-9-]+:[^\s]+)$")]


class AgreedIn(_Model):
    """Where a contract says the data may be: ``places`` (EEA, EU, country codes or locations such
    as ``azure:westeurope``) and the ``clause`` that says so."""

    places: list[Place] = Field(min_length=1)
    clause: Text = Field(min_length=1)


class SourcesIn(_Model):
    """The source of each declared fact of a record, when they differ: the most specific one is
    the evidence of that fact (a location's own ``source`` beats ``sources.locations``, which
    beats the record's ``source``)."""

    operator: Text = ""
    locations: Text = ""
    replicates_to: Text = ""
    backs_up_to: Text = ""
    subprocessors: Text = ""
    entity: Text = ""
    country: Text = ""
    parent: Text = ""


def _most_specific(*sources: str) -> str:
    return next((x for x in sources if x), "")


class EntityIn(_Model):
    id: Id
    name: Text
    country: CountryCode
    parent: Id | None = None
    controlled_from: CountryCode | None = None
    source: Text = ""
    sources: SourcesIn = SourcesIn()
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
    agreed_locations: AgreedIn | None = None
    source: Text = ""
    sources: SourcesIn = SourcesIn()


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
    agreed_locations: AgreedIn | None = None
    source: Text = ""
    sources: SourcesIn = SourcesIn()

    @model_validator(mode="after")
    def _ref_or_definition(self) -> SubRef:
        if self.ref is not None:
            if (self.id is not None or self.entity is not None or self.locations or self.subprocessors
                    or self.agreed_locations is not None):
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
    agreed_locations: AgreedIn | None = None
    source: Text = ""
    sources: SourcesIn = SourcesIn()


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


def _format_version(value: Any) -> Any:
    """Refuse ``version: true``: YAML's booleans are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"the format version is the number {INVENTORY_VERSION}")
    return value


class InventoryIn(_Model):
    version: Annotated[Literal[1], BeforeValidator(_format_version)] = 1
    organisation: Text = ""
    entities: list[EntityIn] = []
    resources: list[ResourceIn] = []
    subprocessors: list[SubprocessorIn] = []
    data: list[DataIn] = []
    mitigations: list[MitigationIn] = []


# conversion ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _File:
    """One validated inventory file: its loaded YAML (for lines), its name and its content."""

    root: Any
    origin: str
    inv: InventoryIn

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

    def spec(self, path: Sequence[int | str]) -> Any:
        """The loaded YAML node at ``path`` (validated already, so the steps exist)."""
        node = self.root
        for step in path:
            node = node[step]
        return node

    def where(self, *path: int | str) -> str:
        return f"{self.origin}:{self.line(*path)}"

    def ev(self, *path: int | str, source: str = "") -> Evidence:
        return Evidence(source="inventory", ref=self.where(*path), detail=source)

    def error(self, path: Sequence[int | str], message: str) -> InputError:
        field = ""
        for step in path:
            field += f"[{step}]" if isinstance(step, int) else (f".{step}" if field else str(step))
        return InputError(self.origin, self.line(*path), field, message)


@dataclass(frozen=True, slots=True)
class _At:
    """Where a record was declared: its file and its path in that file."""

    file: _File
    path: tuple[int | str, ...]

    def error(self, *more: int | str, message: str) -> InputError:
        return self.file.error([*self.path, *more], message)

    def ev(self, *more: int | str, source: str = "") -> Evidence:
        return self.file.ev(*self.path, *more, source=source)

    @property
    def where(self) -> str:
        return self.file.where(*self.path)


def _defined_once(kind: str, ident: str, at: _At, seen: dict[str, _At]) -> None:
    """Refuse a second definition of ``ident``, naming both places."""
    first = seen.get(ident)
    if first is not None:
        hint = "; use 'ref' to point to it" if kind == "subprocessor" else ""
        raise at.error("id", message=f"{kind} {ident!r} is defined twice (first at {first.where}){hint}")
    seen[ident] = at


def _agreed(agreed: AgreedIn | None, at: _At) -> AgreedLocations | None:
    if agreed is None:
        return None
    places = sorted({p.upper() if len(p) == 2 or p.upper() in ("EEA", "EU") else p for p in agreed.places})
    return AgreedLocations(places=tuple(places), clause=agreed.clause,
                           evidence=at.ev("agreed_locations", source=agreed.clause))


def _placements(locs: Sequence[LocationIn], at: _At, *, sources: Sequence[str] = ()) -> tuple[Placement, ...]:
    """Each declared location, evidenced by its own line and its most specific source."""
    out = []
    for i, loc in enumerate(locs):
        where = f"country:{loc.country.upper()}" if loc.country else str(loc.region)
        out.append(Placement(location=where, role=loc.role,
                             evidence=at.ev("locations", i, source=_most_specific(loc.source, *sources))))
    return tuple(out)


class _Converter:
    """Turns validated inventory files into one estate: references resolve across all files."""

    def __init__(self, files: Sequence[_File], catalog: Catalog) -> None:
        self.files = files
        self.catalog = catalog
        self.subs: dict[str, Subprocessor] = {}
        self.sub_at: dict[str, _At] = {}

    def subprocessor(self, s: SubprocessorIn | SubRef, at: _At) -> None:
        assert s.id is not None and s.name is not None and s.entity is not None
        _defined_once("subprocessor", s.id, at, self.sub_at)
        links: list[Link] = []
        for i, child in enumerate(s.subprocessors):
            target = child.ref if child.ref is not None else child.id
            assert target is not None
            if target == s.id:
                raise at.error("subprocessors", i, message=f"subprocessor {s.id!r} cannot be its "
                               "own subprocessor")
            links.append(Link(relation=LinkRelation.SUBCONTRACTS, target=target,
                              evidence=at.ev("subprocessors", i, source=_most_specific(
                                  s.sources.subprocessors, child.source)),
                              categories=tuple(sorted(set(child.data)))))
        attrs = {"transfer_tool": s.transfer_tool} if s.transfer_tool else {}
        self.subs[s.id] = Subprocessor(
            id=s.id, name=s.name, entity=s.entity,
            placements=_placements(s.locations, at, sources=(s.sources.locations, s.source)),
            evidence=at.ev("entity", source=_most_specific(s.sources.entity, s.source)), links=tuple(links),
            tags=freeze_tags(s.tags), attributes=freeze_tags(attrs),
            agreed_locations=_agreed(s.agreed_locations, at))
        for i, child in enumerate(s.subprocessors):
            if child.ref is None:
                self.subprocessor(child, _At(at.file, (*at.path, "subprocessors", i)))

    def entities(self) -> tuple[list[Entity], set[str]]:
        entities: list[Entity] = []
        seen: dict[str, _At] = {}
        for f in self.files:
            for i, e in enumerate(f.inv.entities):
                at = _At(f, ("entities", i))
                _defined_once("entity", e.id, at, seen)
                entities.append(Entity(
                    id=e.id, name=e.name, country=e.country.upper(), parent=e.parent,
                    evidence=at.ev("country", source=_most_specific(e.sources.country, e.source)),
                    parent_evidence=(at.ev("parent", source=_most_specific(e.sources.parent, e.source))
                                     if e.parent else None),
                    certifications=tuple(sorted(set(e.certifications))), notes=e.notes,
                    controlled_from=e.controlled_from.upper() if e.controlled_from else None))
        known = set(seen) | set(self.catalog.entities)
        for entity, at in zip(entities, seen.values(), strict=True):
            if entity.parent and entity.parent not in known:
                raise at.error("parent", message=f"unknown entity {entity.parent!r}")
        self.parent_cycles(entities, seen)
        return entities, known

    def parent_cycles(self, entities: Sequence[Entity], seen: Mapping[str, _At]) -> None:
        """Refuse an entity that is, through its parents, its own parent (inventory first, then
        the catalog, as the graph reads them)."""
        parents = {k: e.parent for k, e in self.catalog.entities.items()}
        parents.update({e.id: e.parent for e in entities})
        done: set[str] = set()
        for e in entities:
            chain: list[str] = []
            current: str | None = e.id
            while current is not None and current not in done and current not in chain:
                chain.append(current)
                current = parents.get(current)
            if current is not None and current in chain:
                cycle = [*chain[chain.index(current):], current]
                first = min((seen[c] for c in cycle if c in seen),
                            key=lambda at: (self.files.index(at.file), at.path))
                raise first.error("parent", message="entity is its own parent through "
                                  + " -> ".join(cycle))
            done.update(chain)

    def resources(self, known_entities: set[str]) -> list[Resource]:
        resources: list[Resource] = []
        seen: dict[str, _At] = {}
        for f in self.files:
            for i, r in enumerate(f.inv.resources):
                at = _At(f, ("resources", i))
                _defined_once("resource", r.id, at, seen)
                if r.operator and r.operator not in known_entities:
                    raise at.error("operator", message=f"unknown entity {r.operator!r}")
                links = [Link(relation=LinkRelation.REPLICATES_TO, target=t,
                              evidence=at.ev("replicates_to", j, source=_most_specific(r.sources.replicates_to, r.source)))
                         for j, t in enumerate(r.replicates_to)]
                links += [Link(relation=LinkRelation.BACKS_UP_TO, target=t,
                               evidence=at.ev("backs_up_to", j, source=_most_specific(r.sources.backs_up_to, r.source)))
                          for j, t in enumerate(r.backs_up_to)]
                attrs = {"transfer_tool": r.transfer_tool} if r.transfer_tool else {}
                resources.append(Resource(
                    id=r.id, provider=r.provider, service=r.service, kind=r.kind, name=r.name,
                    account=r.account,
                    placements=_placements(r.locations, at, sources=(r.sources.locations, r.source)),
                    tags=freeze_tags(r.tags), links=tuple(links), operator=r.operator,
                    operator_evidence=(at.ev("operator", source=_most_specific(r.sources.operator, r.source))
                                       if r.operator else None),
                    attributes=freeze_tags(attrs), agreed_locations=_agreed(r.agreed_locations, at)))
        return resources

    def subprocessors(self, known_entities: set[str]) -> None:
        for f in self.files:
            for i, s in enumerate(f.inv.subprocessors):
                self.subprocessor(s, _At(f, ("subprocessors", i)))
        for sid, sub in self.subs.items():
            at = self.sub_at[sid]
            if sub.entity not in known_entities:
                raise at.error("entity", message=f"unknown entity {sub.entity!r}")
            for i, link in enumerate(sub.links):
                if link.target not in self.subs:
                    raise at.error("subprocessors", i,
                                   message=f"unknown subprocessor {link.target!r}")

    def data(self) -> list[DataCategory]:
        data: list[DataCategory] = []
        seen: dict[str, _At] = {}
        for f in self.files:
            for i, d in enumerate(f.inv.data):
                at = _At(f, ("data", i))
                _defined_once("data category", d.id, at, seen)
                for j, sid in enumerate(d.processed_by):
                    if sid not in self.subs:
                        raise at.error("processed_by", j, message=f"unknown subprocessor {sid!r}")
                data.append(DataCategory(
                    id=d.id, name=d.name, classification=d.classification,
                    description=d.description,
                    resources=tuple(sorted({s.resource for s in d.stored_in if s.resource})),
                    selectors=tuple(freeze_tags(s.tags) for s in d.stored_in if s.tags),
                    subprocessors=tuple(sorted(set(d.processed_by))), evidence=at.ev()))
        for at in self.sub_at.values():
            for i, child in enumerate(at.file.spec(at.path).get("subprocessors", [])):
                for j, cat in enumerate(child.get("data", [])):
                    if cat.strip() not in seen:
                        raise at.error("subprocessors", i, "data", j,
                                       message=f"unknown data category {cat!r}")
        return data

    def mitigations(self) -> list[Mitigation]:
        out: list[Mitigation] = []
        for f in self.files:
            for i, m in enumerate(f.inv.mitigations):
                ev = Evidence(source="inventory", ref=f.where("mitigations", i), detail=m.evidence)
                if m.holder is not None:
                    out.append(Mitigation(kind=m.kind, source=m.holder, target="*",
                                          description=m.description, evidence=ev,
                                          expires=m.expires))
                else:
                    assert m.entity is not None and m.parent is not None
                    out.append(Mitigation(kind=m.kind, source=f"entity:{m.entity}",
                                          target=f"entity:{m.parent}", description=m.description,
                                          evidence=ev, expires=m.expires))
        return out

    def convert(self) -> Estate:
        entities, known_entities = self.entities()
        resources = self.resources(known_entities)
        self.subprocessors(known_entities)
        data = self.data()
        mitigations = self.mitigations()
        sources = tuple(sorted({f"inventory:{Path(f.origin).name}" for f in self.files}))
        scopes = tuple(sorted({f.inv.organisation for f in self.files if f.inv.organisation}))
        return Estate(resources=tuple(resources), subprocessors=tuple(self.subs.values()),
                      entities=tuple(entities), data=tuple(data), mitigations=tuple(mitigations),
                      metadata=ScanMetadata(sources=sources, scopes=scopes))


def _validated(doc: Any, origin: str) -> _File:
    """One inventory document checked against the format (not yet its references)."""
    if doc is None:
        raise InputError(origin, None, None, "the inventory is empty")
    if not isinstance(doc, dict):
        raise InputError(origin, line_of(doc), None, "an inventory is a mapping (version, data, …)")
    try:
        inv = InventoryIn.model_validate(doc)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc, doc, origin, model=InventoryIn) from None
    return _File(doc, origin, inv)


def parse_inventory(doc: Any, origin: str, *, catalog: Catalog | None = None) -> Estate:
    """The :class:`Estate` declared by ``doc`` (as loaded by :mod:`residency_audit.yamlfile`)."""
    return _Converter([_validated(doc, origin)], catalog or default_catalog()).convert()


def load_inventory(*paths: str | os.PathLike[str], catalog: Catalog | None = None) -> Estate:
    """Read one or more inventory files into one :class:`Estate`.

    The files are merged first and checked as one: a reference resolves to an entity, resource,
    subprocessor or data category declared in any of them; an id defined in two places is an
    error naming both; every error names the file and the line where it is. A file named twice
    is read once.
    """
    files: list[_File] = []
    read: set[str] = set()
    for p in paths:
        key = os.path.realpath(p) if "\x00" not in os.fspath(p) else os.fspath(p)
        if key in read:
            continue
        read.add(key)
        files.append(_validated(load_yaml(p, max_bytes=MAX_BYTES, what="inventory"), str(p)))
    if not files:
        return Estate()
    estate = _Converter(files, catalog or default_catalog()).convert()
    return estate.merge() if len(files) > 1 else estate
