"""Reading one Cloud Asset ``ResourceSearchResult`` (REST JSON shape, camelCase). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SEARCH", "labels", "last_segment", "versioned"]

SEARCH = "cloudasset.searchAllResources"
"""The operation name used in evidence refs of everything found through resource search."""


def versioned(result: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own API representation (``versionedResources[0].resource``), or ``{}``.

    >>> versioned({"versionedResources": [{"version": "v1", "resource": {"region": "eu"}}]})
    {'region': 'eu'}
    """
    for item in result.get("versionedResources") or ():
        resource = item.get("resource") if isinstance(item, Mapping) else None
        if isinstance(resource, Mapping) and resource:
            return dict(resource)
    return {}


def labels(result: Mapping[str, Any]) -> dict[str, str]:
    """The result's labels as strings."""
    return {str(k): str(v) for k, v in (result.get("labels") or {}).items()}


def last_segment(name: str) -> str:
    """``//x.googleapis.com/projects/p/instances/i`` → ``i``."""
    return name.rstrip("/").rsplit("/", 1)[-1]
