"""BigQuery datasets, found through Cloud Asset resource search.

A dataset's ``location`` is a region (``europe-north1``) or a multi-region (``EU``, ``US``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Resource, Role
from residency_audit.providers.gcp.assetdata import SEARCH, labels, last_segment, versioned
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement

__all__ = ["ASSET_TYPES", "parse_asset"]

ASSET_TYPES = ("bigquery.googleapis.com/Dataset",)


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A dataset's Resource from its search result. Pure.

    >>> r = parse_asset({"name": "//bigquery.googleapis.com/projects/p/datasets/d",
    ...                  "assetType": "bigquery.googleapis.com/Dataset", "location": "eu"}, Context())
    >>> r[0].placements[0].location
    'gcp:EU'
    """
    data = versioned(result)
    location, path = result.get("location") or "", "location"
    if not location and data.get("location"):
        location, path = data["location"], "versionedResources.resource.location"
    places = [placement(gcp_location(location), Role.PRIMARY, SEARCH, path)] if location else []
    return [build_resource(id=result["name"], service="bigquery", kind="dataset",
                           name=last_segment(result["name"]), ctx=ctx, placements=places,
                           labels=labels(result), attributes={"location": str(location)})]
