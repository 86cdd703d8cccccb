"""Bigtable clusters (each cluster of an instance holds a full copy), via Cloud Asset search.

A cluster's location is a zone; its placement is the zone's region, the zone in attributes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Resource, Role
from residency_audit.providers.gcp import search
from residency_audit.providers.gcp.assetdata import (
    RESOURCE,
    SEARCH,
    labels,
    last_segment,
    result_name,
    versioned,
)
from residency_audit.providers.gcp.locations import gcp_location, is_zone
from residency_audit.providers.gcp.records import Context, build_resource, placement
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "parse_asset"]

ASSET_TYPES = ("bigtableadmin.googleapis.com/Cluster",)


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A cluster's Resource; ``attributes["instance"]`` names its instance.

    >>> r = parse_asset({"name": "//bigtableadmin.googleapis.com/projects/p/instances/i/clusters/c",
    ...                  "location": "europe-north1-b"}, Context())
    >>> r[0].placements[0].location, r[0].attributes["zone"]
    ('gcp:europe-north1', 'europe-north1-b')
    """
    name = result_name(result)
    data = versioned(result)
    code, path = optional_member(result, "location", str, ""), "location"
    if not code:
        code = optional_member(data, "location", str, "", path=RESOURCE).rsplit("/", 1)[-1]
        path = f"{RESOURCE}location"
    instance = name.rsplit("/clusters/", 1)[0] if "/clusters/" in name else ""
    places = [placement(gcp_location(code), Role.PRIMARY, SEARCH, path)] if code else []
    return [build_resource(id=name, service="bigtable", kind="cluster", name=last_segment(name),
                           ctx=ctx, placements=places, labels=labels(result),
                           attributes={"zone": code.lower() if is_zone(code) else "",
                                       "instance": instance})]


SPEC = ServiceSpec(provider="gcp", name="bigtable", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Bigtable clusters (zone)")
