"""Recovery Services vaults and Backup vaults: storage redundancy and cross-region restore.

A vault whose backup storage is ``GeoRedundant`` keeps a copy in the paired region (SECONDARY
placement; Locations API pair, else catalog). Cross-region restore (``crossRegionRestore`` /
``featureSettings.crossRegionRestoreSettings.state``) is kept as an attribute: it makes that copy
restorable in the paired region. A vault whose redundancy is not reported is a coverage gap.

Backup vaults (``Microsoft.DataProtection``) have no SDK among this adapter's dependencies: the
ARM listing goes through the Resource Manager client's ``send_request`` (a GET).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import CoverageGap, Evidence, Role
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

__all__ = [
    "BACKUP_LIST_OPERATION",
    "BACKUP_VAULT_TYPE",
    "ROUTES",
    "RS_LIST_OPERATION",
    "RS_VAULT_TYPE",
    "fetch_backup_vaults",
    "fetch_recovery_vaults",
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


def fetch_recovery_vaults(ctx: AzureContext, subscription: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every Recovery Services vault of a subscription."""
    from azure.mgmt.recoveryservices import RecoveryServicesClient

    with ctx.client(RecoveryServicesClient, subscription) as client:
        return collect(client.vaults.list_by_subscription_id())


def fetch_backup_vaults(ctx: AzureContext, subscription: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every Backup vault of a subscription (GET, following ``nextLink``)."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest
    from azure.mgmt.resource.resources import ResourceManagementClient

    url: str | None = (f"{ctx.base_url.rstrip('/')}/subscriptions/{subscription}/providers/"
                       f"Microsoft.DataProtection/backupVaults?api-version={BACKUP_VAULT_API_VERSION}")
    items: list[dict[str, Any]] = []
    with ctx.client(ResourceManagementClient, subscription) as client:
        try:
            while url:
                response = client.send_request(HttpRequest("GET", url))
                if response.status_code >= 400:
                    raise HttpResponseError(response=response)
                body = response.json()
                items.extend(body.get("value") or [])
                url = body.get("nextLink")
        except Exception as exc:
            from residency_audit.providers.azure.arm import is_sdk_error

            if not is_sdk_error(exc):
                raise
            return items, exc
    return items, None


def _redundancy_placements(raw: Mapping[str, Any], redundancy: str, evidence: Evidence, facts: RegionFacts,
                           *, service: str, operation: str) -> tuple[list[Any], list[CoverageGap]]:
    rid = str(raw["id"])
    location = normalize(raw["location"])
    placements = [placement(location, Role.PRIMARY, api(operation, "location"))]
    gaps: list[CoverageGap] = []
    red = redundancy.lower()
    if red == "georedundant":
        pair = facts.pair(location)
        if pair is None:
            gaps.append(CoverageGap(provider="azure", scope=subscription_of(rid), service=service,
                                    operation=operation, error="UnknownSecondaryRegion", resource=rid,
                                    region=location, message=f"GeoRedundant vault in {location}: no paired "
                                                             "region known"))
        else:
            placements.append(placement(pair[0], Role.SECONDARY, replace(
                evidence, detail=f"GeoRedundant: paired region from {pair[1]}")))
    elif red not in ("locallyredundant", "zoneredundant", "zonallyredundant"):
        gaps.append(CoverageGap(provider="azure", scope=subscription_of(rid), service=service, operation=operation,
                                error="UnknownRedundancy", resource=rid, region=location,
                                message=f"vault storage redundancy {redundancy or '(not reported)'!r}: whether a "
                                        "copy is kept in another region cannot be told"))
    return placements, gaps


def parse_recovery_vault(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = RS_LIST_OPERATION) -> Parsed:
    """A Recovery Services vault; GeoRedundant storage → SECONDARY in the paired region."""
    settings = (raw.get("properties") or {}).get("redundancySettings") or {}
    redundancy = str(settings.get("standardTierStorageRedundancy") or "")
    ev = api(operation, "properties.redundancySettings.standardTierStorageRedundancy")
    placements, gaps = _redundancy_placements(raw, redundancy, ev, facts, service="recoveryservices",
                                              operation=operation)
    r = base_resource(raw, service="recoveryservices", kind="recovery-services-vault", placements=placements,
                      attributes={"storage_redundancy": redundancy,
                                  "cross_region_restore": str(settings.get("crossRegionRestore") or "")})
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="recoveryservices", operation=operation))


def parse_backup_vault(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = BACKUP_LIST_OPERATION) -> Parsed:
    """A Backup vault (Data Protection); its VaultStore storage setting gives the redundancy."""
    props = raw.get("properties") or {}
    settings = props.get("storageSettings") or []
    index, store = next(((i, s) for i, s in enumerate(settings)
                         if str(s.get("datastoreType") or "").lower() == "vaultstore"),
                        (0, settings[0] if settings else {}))
    redundancy = str(store.get("type") or "")
    ev = api(operation, f"properties.storageSettings[{index}].type")
    placements, gaps = _redundancy_placements(raw, redundancy, ev, facts, service="dataprotection",
                                              operation=operation)
    crr = ((props.get("featureSettings") or {}).get("crossRegionRestoreSettings") or {}).get("state")
    r = base_resource(raw, service="dataprotection", kind="backup-vault", placements=placements,
                      attributes={"storage_redundancy": redundancy, "cross_region_restore": str(crr or "")})
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="dataprotection", operation=operation))
