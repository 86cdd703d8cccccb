"""Reading one Cloud Asset ``ResourceSearchResult`` (REST JSON shape, camelCase). Pure.

Every reader checks the member's type and raises
:class:`~residency_audit.providers.service.RecordError` naming the field (``name``,
``versionedResources.resource.region``), so that one malformed result becomes one record gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.providers.service import RecordError, member, optional_member

__all__ = ["RESOURCE", "SEARCH", "labels", "last_segment", "member", "optional_member",
           "result_name", "string_list", "string_map", "versioned"]

SEARCH = "cloudasset.searchAllResources"
"""The operation name used in evidence refs of everything found through resource search."""

RESOURCE = "versionedResources.resource."
"""The field path prefix of members of a result's own representation."""


def result_name(result: Mapping[str, Any]) -> str:
    """The result's full resource name (``name``), which must be a non-empty string.

    >>> result_name({"name": "//x.googleapis.com/projects/p/i/1"})
    '//x.googleapis.com/projects/p/i/1'
    """
    name = member(result, "name", str)
    if not name.strip():
        raise RecordError("name", "empty")
    return name


def versioned(result: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's own API representation (``versionedResources[0].resource``), or ``{}``.

    >>> versioned({"versionedResources": [{"version": "v1", "resource": {"region": "eu"}}]})
    {'region': 'eu'}
    """
    items = optional_member(result, "versionedResources", list, [])
    for index, item in enumerate(items):
        resource = optional_member(item, "resource", dict, {},
                                   path=f"versionedResources[{index}].")
        if resource:
            return dict(resource)
    return {}


def string_list(record: Mapping[str, Any], name: str, *, path: str = "") -> list[str]:
    """``record[name]`` as a list of strings (absent: empty); any other element is an error.

    >>> string_list({"zones": ["a", "b"]}, "zones")
    ['a', 'b']
    """
    items = optional_member(record, name, list, [], path=path)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            raise RecordError(f"{path}{name}[{index}]", f"expected str, got {type(item).__name__}")
    return list(items)


def string_map(record: Mapping[str, Any], name: str, *, path: str = "") -> dict[str, str]:
    """``record[name]`` as a mapping of strings to strings (absent: empty).

    >>> string_map({"labels": {"env": "prod"}}, "labels")
    {'env': 'prod'}
    """
    items = optional_member(record, name, dict, {}, path=path)
    out: dict[str, str] = {}
    for key in sorted(items, key=str):
        out[str(key)] = member(items, key, str, path=f"{path}{name}.")
    return out


def labels(result: Mapping[str, Any]) -> dict[str, str]:
    """The result's labels."""
    return string_map(result, "labels")


def last_segment(name: str) -> str:
    """``//x.googleapis.com/projects/p/instances/i`` → ``i``."""
    return name.rstrip("/").rsplit("/", 1)[-1]
