"""What the credential may read in each scope asked for: "empty" told apart from "not visible".

Resource Graph answers only with the rows the caller may read and says nothing about the
subscriptions it left out, so an unreadable subscription would look empty. Before its rows are
trusted, each subscription (and management group) asked for is checked with one cheap read:
``GET {scope}/providers/Microsoft.Authorization/permissions`` (api-version 2022-04-01), the
caller's effective actions on that scope (the roles assigned there or above). The actions the
scan needs (each service's ``…/read``) must be allowed by some entry's ``actions`` and not taken
away by that entry's ``notActions``.

* The check answers 403/404 → a SCOPE gap with the server's reason: the scope is not read.
* None of the needed actions allowed → a SCOPE gap ``NotReadable``: roles held only on resource
  groups or resources show their part, the rest is invisible; the scope is read in part at best.
* Some allowed, some not → a SERVICE gap ``NotPermitted`` per service that cannot be read.

>>> grants = parse_permissions([{"actions": ["*/read"], "notActions": ["Microsoft.Sql/*"]}])
>>> allows(grants, "Microsoft.Storage/storageAccounts/read"), allows(grants, "Microsoft.Sql/servers/read")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.azure.arm import AzureContext, gap_from_error, guarded, list_items
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route
from residency_audit.providers.service import RecordError, optional_member, server_reason

__all__ = [
    "API_VERSION",
    "MG_OPERATION",
    "ROUTES",
    "SERVICES",
    "SUBSCRIPTION_OPERATION",
    "Grant",
    "allows",
    "check_scope",
    "parse_permissions",
    "scope_gaps",
]

API_VERSION = "2022-04-01"
SUBSCRIPTION_OPERATION = "Permissions_ListForSubscription"
MG_OPERATION = "Permissions_ListForManagementGroup"
_PERMISSION = "Microsoft.Authorization/permissions/read"
ROUTES: tuple[Route, ...] = (
    read_route("authorization", SUBSCRIPTION_OPERATION, _PERMISSION, "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.Authorization/permissions"),
    read_route("authorization", MG_OPERATION, _PERMISSION, "GET",
               "/providers/Microsoft.Management/managementGroups/{groupId}/providers/Microsoft.Authorization/permissions"),
)
"""The read operations of the per-scope check: the caller's own effective permissions."""


@dataclass(frozen=True, slots=True)
class Grant:
    """One entry of the permissions list: actions allowed, minus its notActions."""

    actions: tuple[str, ...]
    not_actions: tuple[str, ...]


def _strings(entry: Mapping[str, Any], name: str, index: int) -> tuple[str, ...]:
    items = optional_member(entry, name, list, [], path=f"value[{index}].")
    for j, item in enumerate(items):
        if not isinstance(item, str):
            raise RecordError(f"value[{index}].{name}[{j}]", f"expected str, got {type(item).__name__}")
    return tuple(items)


def parse_permissions(items: Iterable[Any]) -> tuple[Grant, ...]:
    """The grants of a permissions list (REST JSON ``value`` items); :class:`RecordError` when unreadable."""
    out = []
    for i, entry in enumerate(items):
        if not isinstance(entry, Mapping):
            raise RecordError(f"value[{i}]", f"expected an object, got {type(entry).__name__}")
        out.append(Grant(actions=_strings(entry, "actions", i), not_actions=_strings(entry, "notActions", i)))
    return tuple(out)


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$"
    return re.match(regex, action, re.IGNORECASE) is not None


def allows(grants: Sequence[Grant], action: str) -> bool:
    """Whether some grant allows ``action`` (wildcards ``*``, case-insensitive) and does not take it away."""
    return any(any(_matches(a, action) for a in g.actions) and not any(_matches(n, action) for n in g.not_actions)
               for g in grants)


def scope_gaps(grants: Sequence[Grant], needs: Mapping[str, Sequence[str]], *, scope: str,
               operation: str) -> list[CoverageGap]:
    """Gaps for what ``grants`` do not allow: ``needs`` maps service name → permissions it needs."""
    missing = {svc: sorted(p for p in perms if not allows(grants, p)) for svc, perms in sorted(needs.items())}
    missing = {svc: perms for svc, perms in missing.items() if perms}
    if not missing:
        return []
    if len(missing) == len(needs):
        actions = sorted({p for perms in missing.values() for p in perms})
        return [CoverageGap(provider="azure", scope=scope, service="authorization", operation=operation,
                            error="NotReadable", level=GapLevel.SCOPE,
                            message=server_reason(
                                "the credential holds no role on this whole scope that allows "
                                + ", ".join(actions) + ": only resources in resource groups or resources where "
                                "it holds a role are visible (Resource Graph leaves the rest out without saying so)"))]
    return [CoverageGap(provider="azure", scope=scope, service=svc, operation=operation, error="NotPermitted",
                        message=server_reason("the credential's roles on this scope do not allow "
                                              + ", ".join(perms) + ": this service's resources may be missing"))
            for svc, perms in missing.items()]


def check_scope(ctx: AzureContext, *, scope: str, needs: Mapping[str, Sequence[str]],
                management_group: bool = False) -> list[CoverageGap]:
    """Read the caller's permissions on one subscription (or management group) and say what it cannot read."""
    route = ROUTES[1] if management_group else ROUTES[0]
    path = route.format(groupId=scope) if management_group else route.format(subscriptionId=scope)
    label = f"managementGroups/{scope}" if management_group else scope
    operation = route.operation.operation
    items, failed = guarded(ctx, (label, "authorization"), lambda: list_items(ctx, path, API_VERSION))
    if failed is not None:
        return [gap_from_error(failed, scope=label, service="authorization", operation=operation,
                               level=GapLevel.SCOPE)]
    try:
        grants = parse_permissions(items)
    except RecordError as exc:
        return [CoverageGap(provider="azure", scope=label, service="authorization", operation=operation,
                            error="UnparseableRecord", level=GapLevel.SCOPE, field=exc.field,
                            message=server_reason(f"the permissions on this scope cannot be read: {exc}"))]
    return scope_gaps(grants, needs, scope=label, operation=operation)


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="authorization", routes=ROUTES, fetch=list_items, parse=parse_permissions,
                  api_version=API_VERSION,
                  finds="the caller's effective actions on each subscription and management group asked for"),
)
"""The per-scope permission check, declared once."""
