"""The read-only allow-list of the Azure adapter: every request it may send, and its permission.

Each service module declares the operations it calls (``OPERATIONS`` there); this module gathers
them, maps an HTTP request (method and path) back to an operation, and builds the shipped custom
role definition (``reader-role.json``) from the same list.

>>> operation_for_request("GET", "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts")
'StorageAccounts_List'
>>> operation_for_request("DELETE", "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts")
>>> operation_for_request("POST", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys")
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from residency_audit.providers.base import ReadOperation

__all__ = [
    "OPERATIONS",
    "ROUTES",
    "Route",
    "operation_for_request",
    "role_definition",
    "shipped_role_definition",
]

_SEG = r"[^/]+"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One REST route of an allow-listed operation: the HTTP method and a path pattern."""

    operation: ReadOperation
    method: str
    path: str

    def matches(self, method: str, path: str) -> bool:
        """Whether an HTTP request (method, path without query) is this route; case-insensitive."""
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", _SEG, re.escape(self.path)) + "/?$"
        return method.upper() == self.method and re.match(pattern, path, re.IGNORECASE) is not None


def _op(service: str, operation: str, permission: str) -> ReadOperation:
    return ReadOperation(provider="azure", service=service, operation=operation, permission=permission)


_RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"

ROUTES: tuple[Route, ...] = (
    Route(operation=_op("subscriptions", "Subscriptions_List", "Microsoft.Resources/subscriptions/read"),
          method="GET", path="/subscriptions"),
    Route(operation=_op("locations", "Subscriptions_ListLocations",
                        "Microsoft.Resources/subscriptions/locations/read"),
          method="GET", path="/subscriptions/{subscriptionId}/locations"),
    Route(operation=_op("resourcegraph", "Resources", "Microsoft.ResourceGraph/resources/read"),
          method="POST", path="/providers/Microsoft.ResourceGraph/resources"),
    Route(operation=_op("storage", "StorageAccounts_List", "Microsoft.Storage/storageAccounts/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts"),
    Route(operation=_op("sql", "Servers_List", "Microsoft.Sql/servers/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.Sql/servers"),
    Route(operation=_op("sql", "Databases_ListByServer", "Microsoft.Sql/servers/databases/read"),
          method="GET", path=_RG + "/providers/Microsoft.Sql/servers/{serverName}/databases"),
    Route(operation=_op("sql", "ReplicationLinks_ListByServer",
                        "Microsoft.Sql/servers/databases/replicationLinks/read"),
          method="GET", path=_RG + "/providers/Microsoft.Sql/servers/{serverName}/replicationLinks"),
    Route(operation=_op("sql", "FailoverGroups_ListByServer", "Microsoft.Sql/servers/failoverGroups/read"),
          method="GET", path=_RG + "/providers/Microsoft.Sql/servers/{serverName}/failoverGroups"),
    Route(operation=_op("cosmosdb", "DatabaseAccounts_List", "Microsoft.DocumentDB/databaseAccounts/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.DocumentDB/databaseAccounts"),
    Route(operation=_op("recoveryservices", "Vaults_ListBySubscriptionId",
                        "Microsoft.RecoveryServices/vaults/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.RecoveryServices/vaults"),
    Route(operation=_op("dataprotection", "BackupVaults_GetInSubscription",
                        "Microsoft.DataProtection/backupVaults/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.DataProtection/backupVaults"),
    Route(operation=_op("keyvault", "Vaults_ListBySubscription", "Microsoft.KeyVault/vaults/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/vaults"),
    Route(operation=_op("keyvault", "ManagedHsms_ListBySubscription", "Microsoft.KeyVault/managedHSMs/read"),
          method="GET", path="/subscriptions/{subscriptionId}/providers/Microsoft.KeyVault/managedHSMs"),
)
"""Every request the adapter may send. Nothing else: no keys, no writes, no actions."""

OPERATIONS: tuple[ReadOperation, ...] = tuple(sorted(
    {r.operation for r in ROUTES}, key=lambda o: (o.service, o.operation)))


def operation_for_request(method: str, path: str) -> str | None:
    """The allow-listed operation an HTTP request is, or None (a write, a key listing, anything else)."""
    path = path.split("?", 1)[0]
    for route in ROUTES:
        if route.matches(method, path):
            return route.operation.operation
    return None


def role_definition() -> dict[str, Any]:
    """The least-privilege custom role (Azure role definition JSON) built from :data:`OPERATIONS`.

    >>> role_definition()["Actions"][0]
    'Microsoft.DataProtection/backupVaults/read'
    """
    return {
        "Name": "Residency Audit Reader",
        "IsCustom": True,
        "Description": ("Read-only: lists subscriptions, locations, storage accounts, SQL servers and "
                        "databases with replication links and failover groups, Cosmos DB accounts, "
                        "Recovery Services and Backup vaults, key vaults and managed HSMs, and runs "
                        "Resource Graph queries. No data-plane access, no keys, no writes."),
        "Actions": sorted({op.permission for op in OPERATIONS}),
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"],
    }


def shipped_role_definition() -> dict[str, Any]:
    """The packaged ``reader-role.json``, as shipped."""
    text = resources.files("residency_audit.providers.azure").joinpath("reader-role.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
