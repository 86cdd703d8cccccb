"""The declarations of the Azure adapter: a REST route of a read operation, and one service.

Every service module declares its services as :class:`AzureService` values (a
:class:`~residency_audit.providers.service.ServiceSpec` with the REST routes, the ARM resource
type its records have and the API version it reads). The allow-list, the shipped reader role and
the scanner's service table are all built from these declarations.

>>> r = read_route("storage", "StorageAccounts_List", "Microsoft.Storage/storageAccounts/read",
...                "GET", "/subscriptions/{subscriptionId}/providers/Microsoft.Storage/storageAccounts")
>>> r.matches("get", "/SUBSCRIPTIONS/s1/providers/microsoft.storage/storageaccounts")
True
>>> r.format(subscriptionId="s1")
'/subscriptions/s1/providers/Microsoft.Storage/storageAccounts'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec

__all__ = ["RG_PATH", "AzureService", "Route", "azure_service", "read_route"]

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

    def format(self, **params: str) -> str:
        """The path with its ``{placeholders}`` filled in."""
        return self.path.format(**params)


def read_route(service: str, operation: str, permission: str, method: str, path: str) -> Route:
    """A route of the Azure read operation ``operation`` needing ``permission``."""
    return Route(operation=ReadOperation(provider="azure", service=service, operation=operation,
                                         permission=permission), method=method, path=path)


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureService(ServiceSpec):
    """One Azure service listing: a :class:`ServiceSpec` plus what the REST layer needs.

    ``routes[0]`` is the list call (``scope_kind`` ``subscription``: per subscription; ``sql-server``:
    per SQL server; ``tenant``: once). ``resource_type`` is the lower-case ARM type of its records
    (how Resource Graph rows are told apart; '' when Resource Graph does not hold them).
    """

    routes: tuple[Route, ...] = ()
    resource_type: str = ""
    api_version: str = ""

    @property
    def operation(self) -> str:
        """The name of the list operation."""
        return self.routes[0].operation.operation if self.routes else ""

    @property
    def permissions(self) -> tuple[str, ...]:
        """The permissions its operations need, sorted."""
        return tuple(sorted({op.permission for op in self.operations}))


def azure_service(*, name: str, routes: tuple[Route, ...], fetch: Callable[..., Any], parse: Callable[..., Any],
                  scope_kind: str = "subscription", resource_type: str = "", api_version: str = "",
                  finds: str = "") -> AzureService:
    """An :class:`AzureService` whose ``operations`` are its routes' operations."""
    return AzureService(provider="azure", name=name, operations=tuple(r.operation for r in routes), fetch=fetch,
                        parse=parse, scope_kind=scope_kind, finds=finds, routes=routes,
                        resource_type=resource_type, api_version=api_version)
