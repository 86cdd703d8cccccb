"""A declared REST route of a read operation: what a service module says it calls.

>>> r = read_route("storage", "StorageAccounts_List", "Microsoft.Storage/storageAccounts/read",
...                "GET", "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts")
>>> r.matches("get", "/SUBSCRIPTIONS/s1/providers/microsoft.storage/storageaccounts")
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from residency_audit.providers.base import ReadOperation

__all__ = ["RG_PATH", "Route", "read_route"]

RG_PATH = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
"""The resource-group prefix of a resource path."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    """One REST route of an allow-listed operation: the HTTP method and a path pattern."""

    operation: ReadOperation
    method: str
    path: str

    def matches(self, method: str, path: str) -> bool:
        """Whether an HTTP request (method, path without query) is this route; case-insensitive."""
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path)) + "/?$"
        return method.upper() == self.method and re.match(pattern, path, re.IGNORECASE) is not None


def read_route(service: str, operation: str, permission: str, method: str, path: str) -> Route:
    """A route of the Azure read operation ``operation`` needing ``permission``."""
    return Route(operation=ReadOperation(provider="azure", service=service, operation=operation,
                                         permission=permission), method=method, path=path)
