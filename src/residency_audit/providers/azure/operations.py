"""The read-only allow-list of the Azure adapter: every request it may send, and its permission.

Each service module declares its services once (``SERVICES`` there, :class:`AzureService`
values with their routes); this module gathers them, maps an HTTP request (method and path) back
to an operation, and builds the shipped custom role definition (``reader-role.json``) from the
same declarations.

>>> operation_for_request("GET", "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts")
'StorageAccounts_List'
>>> operation_for_request("DELETE", "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts")
>>> operation_for_request("POST", "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/listKeys")
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from residency_audit.providers.azure import (
    access,
    cosmos,
    keyvault,
    locations,
    resourcegraph,
    sql,
    storage,
    vaults,
)
from residency_audit.providers.azure.routes import AzureService, Route
from residency_audit.providers.base import ReadOperation

__all__ = [
    "OPERATIONS",
    "ROUTES",
    "SERVICES",
    "Route",
    "operation_for_request",
    "role_definition",
    "shipped_role_definition",
]

SERVICES: tuple[AzureService, ...] = (
    *locations.SERVICES, *access.SERVICES, *resourcegraph.SERVICES, *storage.SERVICES, *sql.SERVICES,
    *cosmos.SERVICES, *vaults.SERVICES, *keyvault.SERVICES,
)
"""Every service the adapter reads, each declared once in its module."""

ROUTES: tuple[Route, ...] = tuple(route for service in SERVICES for route in service.routes)
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
    'Microsoft.Authorization/permissions/read'
    """
    return {
        "Name": "Residency Audit Reader",
        "IsCustom": True,
        "Description": ("Read-only: lists subscriptions, locations, the caller's own permissions, storage "
                        "accounts, SQL servers and databases with replication links and failover groups, "
                        "Cosmos DB accounts, Recovery Services and Backup vaults, key vaults and managed "
                        "HSMs, and runs Resource Graph queries. No data-plane access, no keys, no writes."),
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
