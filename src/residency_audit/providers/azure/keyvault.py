"""Key vaults and managed HSMs: where the keys are (for the customer-held-keys mitigation).

A key vault's contents are replicated by Microsoft to the paired region, where there is one
(Key Vault availability and redundancy documentation); that copy is a SECONDARY placement with
``derived`` evidence naming the page. A managed HSM stays in its region unless multi-region
replication lists more ``properties.regions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import Evidence, Role
from residency_audit.providers.azure.arm import list_items
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
from residency_audit.providers.service import member

__all__ = [
    "HSM_LIST_OPERATION",
    "HSM_TYPE",
    "ROUTES",
    "SERVICES",
    "VAULT_LIST_OPERATION",
    "VAULT_TYPE",
    "parse_key_vault",
    "parse_managed_hsm",
]

VAULT_LIST_OPERATION = "Vaults_ListBySubscription"
HSM_LIST_OPERATION = "ManagedHsms_ListBySubscription"
VAULT_TYPE = "microsoft.keyvault/vaults"
HSM_TYPE = "microsoft.keyvault/managedhsms"
KEY_VAULT_REDUNDANCY_DOC = "https://learn.microsoft.com/en-us/azure/key-vault/general/disaster-recovery-guidance"
KEY_VAULT_IN_REGION_ONLY = frozenset({"brazilsouth", "qatarcentral"})
"""Single-region geographies where Key Vault keeps vault contents in the region (the page above
names these two as examples), although storage pairs Brazil South with South Central US."""
ROUTES: tuple[Route, ...] = (
    read_route("keyvault", VAULT_LIST_OPERATION, "Microsoft.KeyVault/vaults/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults"),
    read_route("keyvault", HSM_LIST_OPERATION, "Microsoft.KeyVault/managedHSMs/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/managedHSMs"),
)
"""The read operations this module calls (management plane only: no keys, no secrets)."""


def parse_key_vault(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = VAULT_LIST_OPERATION) -> Parsed:
    """A key vault: its region, and the paired region Microsoft replicates it to."""
    location = normalize(member(raw, "location", str))
    placements = [placement(location, Role.PRIMARY, api(operation, "location"))]
    pair = None if location in KEY_VAULT_IN_REGION_ONLY else facts.pair(location)
    if pair is not None:
        placements.append(placement(pair[0], Role.SECONDARY, Evidence(
            source="derived", ref=KEY_VAULT_REDUNDANCY_DOC,
            detail=f"key vault contents are replicated to the paired region; pair from {pair[1]}")))
    r = base_resource(raw, service="keyvault", kind="key-vault", placements=placements, attributes={
        "sku": text(raw, "properties.sku.name"),
        "purge_protection": str(obj(raw, "properties").get("enablePurgeProtection") is True).lower(),
    })
    return Parsed(resources=[r], gaps=region_gaps(r, facts, service="keyvault", operation=operation))


def parse_managed_hsm(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str = HSM_LIST_OPERATION) -> Parsed:
    """A managed HSM: its region and any extra regions of multi-region replication."""
    location = member(raw, "location", str)
    placements = [placement(location, Role.PRIMARY, api(operation, "location"))]
    for i, region in enumerate(entries(raw, "properties.regions")):
        name = text(region, "name")
        if name and normalize(name) != normalize(location):
            role = Role.PRIMARY if region.get("isPrimary") is True else Role.REPLICA
            placements.append(placement(name, role, api(operation, f"properties.regions[{i}].name")))
    r = base_resource(raw, service="keyvault", kind="managed-hsm", placements=placements,
                      attributes={"sku": text(raw, "sku.name")})
    return Parsed(resources=[r], gaps=region_gaps(r, facts, service="keyvault", operation=operation))


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="keyvault", routes=ROUTES[:1], fetch=list_items, parse=parse_key_vault,
                  resource_type=VAULT_TYPE, api_version="2023-07-01",
                  finds="key vaults: region and the paired region their contents are replicated to"),
    azure_service(name="keyvault", routes=ROUTES[1:], fetch=list_items, parse=parse_managed_hsm,
                  resource_type=HSM_TYPE, api_version="2023-07-01",
                  finds="managed HSMs: region and multi-region replicas"),
)
"""The Key Vault services, declared once."""
