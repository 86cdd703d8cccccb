"""Small readers of a scanned Estate for the Azure tests."""

from __future__ import annotations

from typing import Any

from residency_audit.model import Estate, Resource


def by_name(estate: Estate, name: str, kind: str | None = None) -> Resource:
    found = [r for r in estate.resources if r.name == name and (kind is None or r.kind == kind)]
    assert len(found) == 1, f"{name}: {[r.id for r in found]}"
    return found[0]


def where(resource: Resource) -> set[tuple[str, str]]:
    """(location, role) pairs of a resource."""
    return {(p.location, p.role.value) for p in resource.placements}


def gaps(estate: Estate, **match: Any) -> list[Any]:
    return [g for g in estate.gaps if all(getattr(g, k) == v for k, v in match.items())]
