"""Recovery Services vaults and Backup vaults: storage redundancy and cross-region restore.

A vault whose backup storage is ``GeoRedundant`` keeps a copy in the paired region (SECONDARY
placement; Locations API pair, else catalog). Cross-region restore (``crossRegionRestore`` /
``featureSettings.crossRegionRestoreSettings.state``) is kept as an attribute: it makes that copy
restorable in the paired region. A vault whose redundancy is not reported is a coverage gap.

Like every listing of this adapter, both go through a Resource Manager client's ``send_request``
(a GET) and are read as plain JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import CoverageGap, Evidence, GapLevel, Placement, Role
from residency_audit.providers.azure.arm import list_items, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    entries,
    placement,
    region_gaps,
    text,
)
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route
from residency_audit.providers.service import member

__all__ = [
    "BACKUP_LIST_OPERATION",
    "BACKUP_VAULT_TYPE",
    "ROUTES",
    "RS_LIST_OPERATION",
    "RS_VAULT_TYPE",
    "SERVICES",
    "parse_backup_vault",
    "parse_recovery_vault",
]

RS_LIST_OPERATION = "Vaults_ListBySubscriptionId"
BACKUP_LIST_OPERATION = "BackupVaults_GetInSubscription"
RS_VAULT_TYPE = "microsoft.recoveryservices/vaults"
BACKUP_VAULT_TYPE = "microsoft.dataprotection/backupvaults"
BACKUP_VAULT_API_VERSION = "2024-04-01"
ROUTES: tuple[Route, ...] = (
    read_route("recoveryservices", RS_LIST_OPERATION, "Microsoft.RecoveryServices/vaults/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.RecoveryServices/vaults"),
    read_route("dataprotection", BACKUP_LIST_OPERATION, "Microsoft.DataProtection/backupVaults/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.DataProtection/backupVaults"),
)
"""The read operations this module calls."""


def _redundancy_placements(raw: Mapping[str, Any], redundancy: str, evidence: Evidence, facts: RegionFacts,
                           *, service: str, operation: str) -> tuple[list[Placement], list[CoverageGap]]:
    rid = member(raw, "id", str)
    location = normalize(member(raw, "location", str))
    placements = [placement(location, Role.PRIMARY, api(operation, "location"))]
    gaps: list[CoverageGap] = []
    red = redundancy.lower()
    if red == "georedundant":
        pair = facts.pair(location)
        if pair is None:
            gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service=service,
                                    operation=operation, error="UnknownSecondaryRegion", resource=rid,
                                    region=location, message=f"GeoRedundant vault in {location}: no paired "
                                                             "region known"))
        else:
            placements.append(placement(pair[0], Role.SECONDARY, replace(
                evidence, detail=f"GeoRedundant: paired region from {pair[1]}")))
    elif red not in ("locallyredundant", "zoneredundant", "zonallyredundant"):
        gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service=service, operation=operation,
                                error="UnknownRedundancy", resource=rid, region=location,
                                message=f"vault storage redundancy {redundancy or '(not reported)'!r}: whether a "
                                        "copy is kept in another region cannot be told"))
    return placements, gaps


def parse_recovery_vault(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = RS_LIST_OPERATION) -> Parsed:
    """A Recovery Services vault; GeoRedundant storage → SECONDARY in the paired region."""
    field = "properties.redundancySettings.standardTierStorageRedundancy"
    redundancy = text(raw, field)
    placements, gaps = _redundancy_placements(raw, redundancy, api(operation, field), facts,
                                              service="recoveryservices", operation=operation)
    r = base_resource(raw, service="recoveryservices", kind="recovery-services-vault", placements=placements,
                      attributes={"storage_redundancy": redundancy,
                                  "cross_region_restore": text(raw, "properties.redundancySettings.crossRegionRestore")})
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="recoveryservices", operation=operation))


def parse_backup_vault(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = BACKUP_LIST_OPERATION) -> Parsed:
    """A Backup vault (Data Protection); its VaultStore storage setting gives the redundancy."""
    settings = entries(raw, "properties.storageSettings")
    index, store = next(((i, s) for i, s in enumerate(settings) if text(s, "datastoreType").lower() == "vaultstore"),
                        (0, settings[0] if settings else {}))
    redundancy = text(store, "type") if store else ""
    ev = api(operation, f"properties.storageSettings[{index}].type")
    placements, gaps = _redundancy_placements(raw, redundancy, ev, facts, service="dataprotection",
                                              operation=operation)
    crr = text(raw, "properties.featureSettings.crossRegionRestoreSettings.state")
    r = base_resource(raw, service="dataprotection", kind="backup-vault", placements=placements,
                      attributes={"storage_redundancy": redundancy, "cross_region_restore": crr})
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="dataprotection", operation=operation))


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="recoveryservices", routes=ROUTES[:1], fetch=list_items, parse=parse_recovery_vault,
                  resource_type=RS_VAULT_TYPE, api_version="2023-04-01",
                  finds="Recovery Services vaults: storage redundancy, cross-region restore"),
    azure_service(name="dataprotection", routes=ROUTES[1:], fetch=list_items, parse=parse_backup_vault,
                  resource_type=BACKUP_VAULT_TYPE, api_version=BACKUP_VAULT_API_VERSION,
                  finds="Backup vaults: VaultStore redundancy, cross-region restore"),
)
"""The vault services, declared once."""
