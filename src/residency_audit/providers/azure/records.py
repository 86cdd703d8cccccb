"""Shared pieces of the parsers: the result type, placements, ids and the unknown-region check."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit.model import (
    CoverageGap,
    Evidence,
    Link,
    Placement,
    Resource,
    Role,
    freeze_tags,
)
from residency_audit.providers.azure.arm import subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize

__all__ = [
    "Parsed",
    "api",
    "base_resource",
    "placement",
    "region_gaps",
    "resource_group_of",
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


def api(operation: str, path: str, detail: str = "") -> Evidence:
    """Evidence that a fact is the API field ``path`` of ``operation``."""
    return Evidence(source="api", ref=f"{operation} {path}", detail=detail)


def placement(code: str, role: Role, evidence: Evidence) -> Placement:
    """A placement in Azure region ``code`` (normalised to the programmatic name)."""
    return Placement(location=f"azure:{normalize(code)}", role=role, evidence=evidence)


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
    rid = str(raw["id"])
    attrs = {"resource_group": resource_group_of(rid), **(attributes or {})}
    return Resource(
        id=rid, provider="azure", service=service, kind=kind, name=str(raw["name"]),
        account=subscription_of(rid),
        placements=tuple(sorted(set(placements), key=lambda p: (p.role, p.location, p.evidence.ref))),
        tags=freeze_tags({str(k): str(v) for k, v in (raw.get("tags") or {}).items()}),
        attributes=freeze_tags({k: v for k, v in attrs.items() if v not in (None, "")}),
    )


def region_gaps(resource: Resource, facts: RegionFacts, *, service: str, operation: str) -> list[CoverageGap]:
    """An ``UnknownRegion`` gap for every placement in a region neither the API nor the catalog knows."""
    out = []
    for p in resource.placements:
        if not facts.known(p.code):
            out.append(CoverageGap(provider="azure", scope=resource.account, service=service, operation=operation,
                                   error="UnknownRegion", region=p.code, resource=resource.id,
                                   message=f"{p.role} copy in region {p.code!r}, which neither the "
                                           "Locations API nor the catalog describes"))
    return out
