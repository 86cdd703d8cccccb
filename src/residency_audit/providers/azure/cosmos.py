"""Cosmos DB accounts: every read and write region with its failover priority, and backups.

Each region of ``properties.locations`` is a placement of the same account: PRIMARY for a write
region (``writeLocations``; failover priority 0 when that list is absent), REPLICA for the
others. Periodic-mode backups with ``backupStorageRedundancy`` ``Geo`` are kept in the paired
region of the write region (BACKUP placement); ``Local``/``Zone`` in the write region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, Role
from residency_audit.providers.azure.arm import AzureContext, collect, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    placement,
    region_gaps,
)
from residency_audit.providers.azure.routes import Route, read_route
from residency_audit.providers.azure.sql import backup_role_region

__all__ = ["LIST_OPERATION", "RESOURCE_TYPE", "ROUTES", "fetch_cosmos_accounts", "parse_cosmos_account"]

LIST_OPERATION = "DatabaseAccounts_List"
RESOURCE_TYPE = "microsoft.documentdb/databaseaccounts"
ROUTES: tuple[Route, ...] = (
    read_route("cosmosdb", LIST_OPERATION, "Microsoft.DocumentDB/databaseAccounts/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.DocumentDB/databaseAccounts"),
)
"""The read operations this module calls (never ``listKeys``)."""


def fetch_cosmos_accounts(ctx: AzureContext, subscription: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every Cosmos DB account of a subscription."""
    from azure.mgmt.cosmosdb import CosmosDBManagementClient

    with ctx.client(CosmosDBManagementClient, subscription) as client:
        return collect(client.database_accounts.list())


def parse_cosmos_account(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = LIST_OPERATION) -> Parsed:
    """A Cosmos DB account with one placement per region."""
    props = raw.get("properties") or {}
    rid = str(raw["id"])
    locations = props.get("locations") or props.get("readLocations") or []
    writes = {normalize(w.get("locationName")) for w in props.get("writeLocations") or []}
    placements = []
    priorities = []
    for i, loc in enumerate(sorted(locations, key=lambda x: int(x.get("failoverPriority") or 0))):
        code = normalize(loc.get("locationName"))
        if not code:
            continue
        prio = int(loc.get("failoverPriority") or 0)
        is_write = code in writes if writes else prio == 0
        placements.append(placement(code, Role.PRIMARY if is_write else Role.REPLICA,
                                    api(operation, f"properties.locations[{i}].locationName",
                                        detail=f"failoverPriority {prio}")))
        priorities.append(f"{code}={prio}")
    gaps: list[CoverageGap] = []
    if not placements:
        placements.append(placement(raw["location"], Role.PRIMARY, api(operation, "location")))
        gaps.append(CoverageGap(provider="azure", scope=subscription_of(rid), service="cosmosdb",
                                operation=operation, error="UnknownReplicaLocations", resource=rid,
                                message="account lists no properties.locations: its replicas cannot be told"))
    backup = props.get("backupPolicy") or {}
    redundancy = str((backup.get("periodicModeProperties") or {}).get("backupStorageRedundancy") or "")
    write_region = next((p.code for p in placements if p.role == Role.PRIMARY), placements[0].code)
    if redundancy:
        where = backup_role_region(redundancy, write_region, facts)
        if where is None:
            gaps.append(CoverageGap(provider="azure", scope=subscription_of(rid), service="cosmosdb",
                                    operation=operation, error="UnknownBackupLocation", resource=rid,
                                    region=write_region, message=f"backup storage redundancy {redundancy!r}: "
                                    "the region of the backups cannot be told"))
        else:
            code, pair_ev = where
            placements.append(placement(code, Role.BACKUP, api(
                operation, "properties.backupPolicy.periodicModeProperties.backupStorageRedundancy",
                detail=f"{redundancy}" + (f"; paired region from {pair_ev}" if pair_ev else ""))))
    r = base_resource(raw, service="cosmosdb", kind="database-account", placements=placements, attributes={
        "failover_priorities": ",".join(priorities),
        "multiple_write_locations": str(bool(props.get("enableMultipleWriteLocations"))).lower(),
        "automatic_failover": str(bool(props.get("enableAutomaticFailover"))).lower(),
        "backup_policy": str(backup.get("type") or ""),
        "backup_storage_redundancy": redundancy,
    })
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="cosmosdb", operation=operation))
