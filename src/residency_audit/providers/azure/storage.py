"""Storage accounts: SKU → redundancy → primary and secondary location, secondary state, failover.

Redundancy comes from the SKU name (``Standard_RAGZRS`` → tier ``Standard``, ``RA-GZRS``). The
primary and secondary come from the account's own ``properties.primaryLocation`` and
``properties.secondaryLocation``; when a geo-redundant account does not name its secondary, the
paired region stands in (Locations API, else catalog) with that evidence. A past failover shows as
``lastGeoFailoverTime`` or as a ``primaryLocation`` different from ``location`` (the primary
moved); both are kept in the attributes.

>>> parse_sku("Standard_RAGZRS"), parse_sku("Premium_LRS"), parse_sku("StandardV2_GRS")
(('Standard', 'RA-GZRS'), ('Premium', 'LRS'), ('StandardV2', 'GRS'))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import CoverageGap, GapLevel, Role
from residency_audit.providers.azure.arm import list_items, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    placement,
    region_gaps,
    text,
)
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route
from residency_audit.providers.service import member

__all__ = [
    "GEO_REDUNDANT",
    "LIST_OPERATION",
    "RESOURCE_TYPE",
    "ROUTES",
    "SERVICES",
    "parse_sku",
    "parse_storage_account",
]

LIST_OPERATION = "StorageAccounts_List"
RESOURCE_TYPE = "microsoft.storage/storageaccounts"
ROUTES: tuple[Route, ...] = (
    read_route("storage", LIST_OPERATION, "Microsoft.Storage/storageAccounts/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts"),
)
"""The read operations this module calls."""
_REDUNDANCY = {"LRS": "LRS", "ZRS": "ZRS", "GRS": "GRS", "RAGRS": "RA-GRS", "GZRS": "GZRS", "RAGZRS": "RA-GZRS"}
GEO_REDUNDANT = frozenset({"GRS", "RA-GRS", "GZRS", "RA-GZRS"})
"""Redundancies that keep a copy in a second region."""


def parse_sku(name: str) -> tuple[str, str]:
    """(tier, redundancy) of a storage SKU name; redundancy ``unknown`` for a name not understood."""
    tier, _, red = name.partition("_")
    return tier, _REDUNDANCY.get(red.upper(), "unknown")


def parse_storage_account(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = LIST_OPERATION) -> Parsed:
    """A storage account's Resource, with a gap when a geo-secondary's region cannot be told."""
    rid = member(raw, "id", str)
    sku = text(raw, "sku.name")
    tier, redundancy = parse_sku(sku) if sku else ("", "unknown")
    location = normalize(member(raw, "location", str))
    primary_raw = text(raw, "properties.primaryLocation")
    secondary_raw = text(raw, "properties.secondaryLocation")
    last_failover = text(raw, "properties.lastGeoFailoverTime")
    primary = normalize(primary_raw) or location
    primary_ref = "properties.primaryLocation" if primary_raw else "location"
    placements = [placement(primary, Role.PRIMARY, api(operation, primary_ref))]
    gaps: list[CoverageGap] = []
    secondary_source = ""
    if secondary_raw:
        placements.append(placement(secondary_raw, Role.SECONDARY, api(operation, "properties.secondaryLocation")))
        secondary_source = "api"
    elif redundancy in GEO_REDUNDANT or redundancy == "unknown":
        pair = facts.pair(primary)
        if pair is not None and redundancy in GEO_REDUNDANT:
            code, evidence = pair
            placements.append(placement(code, Role.SECONDARY, replace(
                evidence, detail=f"{redundancy} account without properties.secondaryLocation: paired region of {primary}")))
            secondary_source = evidence.source
        else:
            why = ("no paired region known for " + primary) if redundancy in GEO_REDUNDANT \
                else f"SKU {sku or '(none)'!r} not understood"
            gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service="storage", operation=operation,
                                    error="UnknownSecondaryRegion", resource=rid, region=primary,
                                    message=f"storage account may keep a copy in a second region: {why}"))
    failed_over = bool(last_failover) or primary != location
    attributes = {
        "sku": sku, "tier": tier, "redundancy": redundancy, "account_kind": text(raw, "kind"),
        "geo_redundant": "true" if redundancy in GEO_REDUNDANT else "false",
        "read_access_secondary": "true" if redundancy.startswith("RA-") else "false",
        "status_of_primary": text(raw, "properties.statusOfPrimary"),
        "status_of_secondary": text(raw, "properties.statusOfSecondary"),
        "last_geo_failover_time": last_failover,
        "failed_over": "true" if failed_over else "false",
        "resource_location": location,
        "primary_moved_from": location if primary != location else "",
        "secondary_source": secondary_source,
    }
    resource = base_resource(raw, service="storage", kind="storage-account", placements=placements,
                             attributes=attributes)
    gaps += region_gaps(resource, facts, service="storage", operation=operation)
    return Parsed(resources=[resource], gaps=gaps)


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="storage", routes=ROUTES, fetch=list_items, parse=parse_storage_account,
                  resource_type=RESOURCE_TYPE, api_version="2023-05-01",
                  finds="storage accounts: SKU redundancy, primary and secondary region, failover"),
)
"""The storage service: declared once; allow-list, role and scanner table come from here."""
