"""BigQuery datasets, found through Cloud Asset resource search.

A dataset's ``location`` is a region (``europe-north1``) or a multi-region (``EU``, ``US``).
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
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement
from residency_audit.providers.service import ServiceSpec, optional_member

__all__ = ["ASSET_TYPES", "SPEC", "parse_asset"]

ASSET_TYPES = ("bigquery.googleapis.com/Dataset",)


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A dataset's Resource from its search result. Pure.

    >>> r = parse_asset({"name": "//bigquery.googleapis.com/projects/p/datasets/d",
    ...                  "assetType": "bigquery.googleapis.com/Dataset", "location": "eu"}, Context())
    >>> r[0].placements[0].location
    'gcp:EU'
    """
    name = result_name(result)
    data = versioned(result)
    location, path = optional_member(result, "location", str, ""), "location"
    if not location:
        location = optional_member(data, "location", str, "", path=RESOURCE)
        path = f"{RESOURCE}location"
    places = [placement(gcp_location(location), Role.PRIMARY, SEARCH, path)] if location else []
    return [build_resource(id=name, service="bigquery", kind="dataset", name=last_segment(name),
                           ctx=ctx, placements=places, labels=labels(result),
                           attributes={"location": location})]


SPEC = ServiceSpec(provider="gcp", name="bigquery", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="BigQuery datasets (location)")
