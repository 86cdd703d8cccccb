"""Firestore databases (Native and Datastore mode), through Cloud Asset resource search.

A regional database (``europe-north1``) is that region; a multi-region location (``eur3``,
``nam5``) is written ``gcp:eur3``, looked up in Firestore's own code space (the resource's
service ``firestore``); a Spanner configuration of the same name is a different place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Resource, Role
from residency_audit.providers.gcp.assetdata import SEARCH, labels, last_segment, versioned
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement

__all__ = ["ASSET_TYPES", "firestore_location", "parse_asset"]

ASSET_TYPES = ("firestore.googleapis.com/Database",)


def firestore_location(code: str) -> str:
    """``europe-north1`` → ``gcp:europe-north1``; ``eur3`` → ``gcp:eur3``.

    >>> firestore_location("nam5"), firestore_location("europe-north1")
    ('gcp:nam5', 'gcp:europe-north1')
    """
    c = code.strip().lower()
    return gcp_location(c) if "-" in c else gcp_location(c, service_code=True)


def parse_asset(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A database's Resource (``locationId`` when present, else the search ``location``)."""
    data = versioned(result)
    code, path = str(data.get("locationId") or ""), "versionedResources.resource.locationId"
    if not code:
        code, path = str(result.get("location") or ""), "location"
    places = [placement(firestore_location(code), Role.PRIMARY, SEARCH, path)] if code else []
    return [build_resource(id=result["name"], service="firestore", kind="database",
                           name=last_segment(result["name"]), ctx=ctx, placements=places,
                           labels=labels(result),
                           attributes={"database_type": str(data.get("type") or ""),
                                       "location": code})]
