"""Cosmos DB accounts: every read and write region with its failover priority, and backups.

Each region of ``properties.locations`` is a placement of the same account: PRIMARY for a write
region (``writeLocations``; failover priority 0 when that list is absent), REPLICA for the
others. Periodic-mode backups with ``backupStorageRedundancy`` ``Geo`` are kept in the paired
region of the write region (BACKUP placement); ``Local``/``Zone`` in the write region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, GapLevel, Role
from residency_audit.providers.azure.arm import list_items, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    entries,
    obj,
    placement,
    region_gaps,
    text,
)
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route
from residency_audit.providers.azure.sql import backup_role_region
from residency_audit.providers.service import member, optional_member

__all__ = ["LIST_OPERATION", "RESOURCE_TYPE", "ROUTES", "SERVICES", "parse_cosmos_account"]

LIST_OPERATION = "DatabaseAccounts_List"
RESOURCE_TYPE = "microsoft.documentdb/databaseaccounts"
ROUTES: tuple[Route, ...] = (
    read_route("cosmosdb", LIST_OPERATION, "Microsoft.DocumentDB/databaseAccounts/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.DocumentDB/databaseAccounts"),
)
"""The read operations this module calls (never ``listKeys``)."""


def parse_cosmos_account(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = LIST_OPERATION) -> Parsed:
    """A Cosmos DB account with one placement per region."""
    rid = member(raw, "id", str)
    field = "properties.locations"
    locations = entries(raw, field)
    if not locations:
        field = "properties.readLocations"
        locations = entries(raw, field)
    writes = {normalize(text(w, "locationName")) for w in entries(raw, "properties.writeLocations")}
    ranked = []
    for i, loc in enumerate(locations):
        prio = optional_member(loc, "failoverPriority", int, 0, path=f"{field}[{i}].")
        ranked.append((prio, i, text(loc, "locationName")))
    placements = []
    priorities = []
    for prio, i, name in sorted(ranked):
        code = normalize(name)
        if not code:
            continue
        is_write = code in writes if writes else prio == 0
        placements.append(placement(code, Role.PRIMARY if is_write else Role.REPLICA,
                                    api(operation, f"{field}[{i}].locationName", detail=f"failoverPriority {prio}")))
        priorities.append(f"{code}={prio}")
    gaps: list[CoverageGap] = []
    if not placements:
        placements.append(placement(member(raw, "location", str), Role.PRIMARY, api(operation, "location")))
        gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service="cosmosdb",
                                operation=operation, error="UnknownReplicaLocations", resource=rid,
                                message="account lists no properties.locations: its replicas cannot be told"))
    redundancy = text(raw, "properties.backupPolicy.periodicModeProperties.backupStorageRedundancy")
    write_region = next((p.code for p in placements if p.role == Role.PRIMARY), placements[0].code)
    if redundancy:
        where = backup_role_region(redundancy, write_region, facts)
        if where is None:
            gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service="cosmosdb",
                                    operation=operation, error="UnknownBackupLocation", resource=rid,
                                    region=write_region, message=f"backup storage redundancy {redundancy!r}: "
                                    "the region of the backups cannot be told"))
        else:
            code, pair_ev = where
            placements.append(placement(code, Role.BACKUP, api(
                operation, "properties.backupPolicy.periodicModeProperties.backupStorageRedundancy",
                detail=f"{redundancy}" + (f"; paired region from {pair_ev}" if pair_ev else ""))))
    props = obj(raw, "properties")
    r = base_resource(raw, service="cosmosdb", kind="database-account", placements=placements, attributes={
        "failover_priorities": ",".join(priorities),
        "multiple_write_locations": str(props.get("enableMultipleWriteLocations") is True).lower(),
        "automatic_failover": str(props.get("enableAutomaticFailover") is True).lower(),
        "backup_policy": text(raw, "properties.backupPolicy.type"),
        "backup_storage_redundancy": redundancy,
    })
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="cosmosdb", operation=operation))


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="cosmosdb", routes=ROUTES, fetch=list_items, parse=parse_cosmos_account,
                  resource_type=RESOURCE_TYPE, api_version="2024-11-15",
                  finds="Cosmos DB accounts: every read and write region, failover priority, backup redundancy"),
)
"""The Cosmos DB service, declared once."""
