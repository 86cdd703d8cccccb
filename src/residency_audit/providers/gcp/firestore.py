"""Firestore databases (Native and Datastore mode), through Cloud Asset resource search.

A regional database (``europe-north1``) is that region; a multi-region location (``eur3``,
``nam5``) is written ``gcp:eur3``, looked up in Firestore's own code space (the resource's
service ``firestore``); a Spanner configuration of the same name is a different place.
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

__all__ = ["ASSET_TYPES", "SPEC", "firestore_location", "parse_asset"]

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
    name = result_name(result)
    data = versioned(result)
    code, path = optional_member(data, "locationId", str, "", path=RESOURCE), f"{RESOURCE}locationId"
    if not code:
        code, path = optional_member(result, "location", str, ""), "location"
    places = [placement(firestore_location(code), Role.PRIMARY, SEARCH, path)] if code else []
    return [build_resource(id=name, service="firestore", kind="database",
                           name=last_segment(name), ctx=ctx, placements=places,
                           labels=labels(result),
                           attributes={"database_type": optional_member(data, "type", str, "",
                                                                        path=RESOURCE),
                                       "location": code})]


SPEC = ServiceSpec(provider="gcp", name="firestore", operations=search.OPERATIONS,
                   fetch=search.fetch_search, parse=parse_asset, scope_kind="project",
                   finds="Firestore and Datastore-mode databases (location)")
