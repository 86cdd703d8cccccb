"""Shared pieces of the parsers: the result type, record-by-record parsing, placements, ids, the
unknown-region check.

Parsers read members with :func:`~residency_audit.providers.service.member` and
:func:`~residency_audit.providers.service.optional_member` (or :func:`text` here), so that a
missing or mistyped member raises :class:`~residency_audit.providers.service.RecordError` naming
the field; :func:`parse_each` turns that into a record-level gap and goes on with the next record.

>>> text({"properties": {"primaryLocation": "westeurope"}}, "properties.primaryLocation")
'westeurope'
>>> text({"properties": None}, "properties.primaryLocation")
''
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit.model import (
    CoverageGap,
    Evidence,
    GapLevel,
    Link,
    Placement,
    Resource,
    Role,
    freeze_tags,
)
from residency_audit.providers.azure.arm import subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.service import RecordError, member, optional_member, parse_records

__all__ = [
    "Parsed",
    "api",
    "base_resource",
    "entries",
    "obj",
    "parse_each",
    "placement",
    "region_gaps",
    "resource_group_of",
    "text",
]


@dataclass(slots=True)
class Parsed:
    """What parsing a payload gave: resources, links to attach to resources by id, and gaps."""

    resources: list[Resource] = field(default_factory=list)
    links: list[tuple[str, Link]] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)

    def extend(self, other: Parsed) -> None:
        self.resources.extend(other.resources)
        self.links.extend(other.links)
        self.gaps.extend(other.gaps)


@functools.cache
def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def _holder(record: Mapping[str, Any], parts: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The object holding the last of ``parts`` (None when an object on the way is absent or null)."""
    current: Any = record
    for i, part in enumerate(parts):
        if not isinstance(current, dict | Mapping):
            where = ".".join(parts[:i]) or part
            raise RecordError(where, f"expected an object, got {type(current).__name__}")
        current = current.get(part)
        if current is None:
            return None
    if not isinstance(current, dict | Mapping):
        raise RecordError(".".join(parts), f"expected an object, got {type(current).__name__}")
    return current


def obj(record: Mapping[str, Any], dotted: str) -> Mapping[str, Any]:
    """The object at ``dotted`` (``properties.backupPolicy``); ``{}`` when absent or null; a
    :class:`RecordError` naming the member when it is not an object."""
    found = _holder(record, _parts(dotted))
    return {} if found is None else found


def text(record: Mapping[str, Any], dotted: str) -> str:
    """The string at ``dotted`` (``properties.secondaryLocation``); '' when absent or null; a
    :class:`RecordError` naming the member when it (or an object on the way) has the wrong type."""
    parts = _parts(dotted)
    if type(record) is dict:  # the common case (JSON objects), answered without the general walk
        if len(parts) == 2:
            inner = record.get(parts[0])
            if inner is None:
                return ""
            value = inner.get(parts[1]) if type(inner) is dict else False
        elif len(parts) == 1:
            value = record.get(dotted)
        else:
            value = False
        if value is None:
            return ""
        if type(value) is str:
            return value
    holder = _holder(record, parts[:-1]) if len(parts) > 1 else record
    if holder is None:
        return ""
    if not isinstance(holder, dict | Mapping):
        raise RecordError(parts[0], f"expected an object, got {type(holder).__name__}")
    value = holder.get(parts[-1])
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RecordError(dotted, f"expected str, got {type(value).__name__}")
    return value


def entries(record: Mapping[str, Any], dotted: str) -> list[Mapping[str, Any]]:
    """The list of objects at ``dotted`` (``properties.locations``); ``[]`` when absent or null; a
    :class:`RecordError` naming ``dotted[i]`` for an entry that is not an object."""
    parent, _, name = dotted.rpartition(".")
    holder = obj(record, parent) if parent else record
    items = optional_member(holder, name, list, [], path=f"{parent}." if parent else "")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise RecordError(f"{dotted}[{i}]", f"expected an object, got {type(item).__name__}")
    return items


def parse_each(records: Iterable[Any], parse: Callable[[Any], Parsed], *, service: str, operation: str,
               scope: str) -> Parsed:
    """Parse each record with ``parse``; a record that fails becomes a record-level gap naming the
    service, scope (subscription), resource id and field, and the others go on."""
    out = Parsed()

    def one(record: Any) -> list[Resource]:
        parsed = parse(record)
        out.links.extend(parsed.links)
        out.gaps.extend(parsed.gaps)
        return parsed.resources

    resources, gaps = parse_records(records, one, provider="azure", service=service, scope=scope,
                                    operation=operation, id_fields=("id", "name"))
    out.resources.extend(resources)
    out.gaps.extend(gaps)
    return out


@functools.lru_cache(maxsize=1024)
def api(operation: str, path: str, detail: str = "") -> Evidence:
    """Evidence that a fact is the API field ``path`` of ``operation`` (one shared, immutable object
    per operation, field and detail)."""
    return Evidence(source="api", ref=f"{operation} {path}", detail=detail)


@functools.lru_cache(maxsize=4096)
def _placement(code: str, role: Role, evidence: Evidence) -> Placement:
    return Placement(location=f"azure:{code}", role=role, evidence=evidence)


def placement(code: str, role: Role, evidence: Evidence) -> Placement:
    """A placement in Azure region ``code`` (normalised to the programmatic name); an empty region
    is a :class:`RecordError` naming the field of ``evidence``. Placements are immutable: the same
    region, role and evidence give one shared object."""
    normal = normalize(code)
    if not normal:
        raise RecordError(evidence.ref.split(" ", 1)[-1], "empty region name")
    return _placement(normal, role, evidence)


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an Azure resource id ('' when there is none).

    >>> resource_group_of("/subscriptions/s/resourceGroups/rg-1/providers/Microsoft.Sql/servers/a")
    'rg-1'
    """
    parts = resource_id.split("/")
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[i + 1]
    return ""


def base_resource(raw: Mapping[str, Any], *, service: str, kind: str,
                  placements: Iterable[Placement], attributes: Mapping[str, str] | None = None) -> Resource:
    """A Resource from an ARM payload's common fields (``id``, ``name``, ``tags``)."""
    rid = member(raw, "id", str)
    name = optional_member(raw, "name", str, "") or rid.rstrip("/").rsplit("/", 1)[-1]
    attrs = {"resource_group": resource_group_of(rid), **(attributes or {})}
    tags = optional_member(raw, "tags", dict, {})
    places = tuple(placements)
    if len(places) == 2:  # the usual most: two need no set and no sort call
        a, b = places
        places = (a,) if a == b else (a, b) if _placement_order(a) <= _placement_order(b) else (b, a)
    elif len(places) > 2:
        places = tuple(sorted(set(places), key=_placement_order))
    return Resource(
        id=rid, provider="azure", service=service, kind=kind, name=name,
        account=subscription_of(rid),
        placements=places,
        tags=freeze_tags(tags if all(type(k) is str for k in tags) else {str(k): v for k, v in tags.items()}),
        attributes=freeze_tags({k: v for k, v in attrs.items() if v is not None and v != ""}),
    )


def _placement_order(p: Placement) -> tuple[str, str, str]:
    return (p.role, p.location, p.evidence.ref)


def region_gaps(resource: Resource, facts: RegionFacts, *, service: str, operation: str) -> list[CoverageGap]:
    """An ``UnknownRegion`` gap for every placement in a region neither the API nor the catalog knows."""
    out = []
    for p in resource.placements:
        if not facts.known(p.code):
            out.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=resource.account, service=service, operation=operation,
                                   error="UnknownRegion", region=p.code, resource=resource.id,
                                   message=f"{p.role} copy in region {p.code!r}, which neither the "
                                           "Locations API nor the catalog describes"))
    return out
