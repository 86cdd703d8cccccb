"""The allow-list: every OCI SDK method the adapter may call, and the IAM policy it needs.

Gathered from the service modules' declarations. Each operation is an SDK method of one client
(``service`` is the client: ``objectstorage`` → ``ObjectStorageClient``) and its REST form
(HTTP method and path), so that a loopback fake can refuse any request that is not one of them.
Every permission is an ``inspect`` or ``read`` verb on a resource type; the shipped policy
(``iam-policy.json``) is generated from the list and a test keeps the two equal.

>>> ("objectstorage", "list_buckets") in allowed_calls()
True
>>> operation_for_request("GET", "/n/acme/b?compartmentId=x")
('objectstorage', 'list_buckets')
>>> operation_for_request("PUT", "/n/acme/b/tips") is None
True
>>> policy_statements()[0]
'Allow group ResidencyAuditors to inspect autonomous-databases in tenancy'
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci import (
    autonomous,
    blockstorage,
    dbsystems,
    filestorage,
    identity,
    objectstorage,
    search,
    vault,
)
from residency_audit.providers.service import ServiceSpec

__all__ = ["GROUP", "OPERATIONS", "ROUTES", "SPECS", "allowed_calls", "iam_policy",
           "operation_for_request", "permissions", "permissions_text", "policy_statements",
           "shipped_policy"]

SPECS: tuple[ServiceSpec, ...] = tuple(m.SPEC for m in (
    identity, objectstorage, autonomous, dbsystems, blockstorage, filestorage, vault, search))
"""One declaration per service module, in scan order."""

OPERATIONS: tuple[ReadOperation, ...] = tuple(sorted(
    {(o.service, o.operation): o for s in SPECS for o in s.operations}.values(),
    key=lambda o: (o.service, o.operation)))
"""Every read operation of the OCI adapter."""

ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    k: v for m in (identity, objectstorage, autonomous, dbsystems, blockstorage, filestorage,
                   vault, search) for k, v in m.ROUTES.items()}
"""(client, SDK method) → (HTTP method, path template) of its REST form."""

GROUP = "ResidencyAuditors"

_COMPILED = [(key, method, re.compile("^" + re.sub(r"\{[A-Za-z]+\}", "[^/]+", path) + "$"))
             for key, (method, path) in sorted(ROUTES.items())]


def allowed_calls() -> frozenset[tuple[str, str]]:
    """``(client, SDK method)`` pairs the adapter may call."""
    return frozenset((o.service, o.operation) for o in OPERATIONS)


def operation_for_request(method: str, path: str) -> tuple[str, str] | None:
    """The allow-listed operation a REST request is, or None when it is none of them."""
    bare = path.split("?", 1)[0].rstrip("/") or "/"
    for key, m, pattern in _COMPILED:
        if method.upper() == m and pattern.match(bare):
            return key
    return None


def permissions() -> list[str]:
    """The ``<verb> <resource-type>`` grants of every operation, sorted, unique."""
    return sorted({o.permission for o in OPERATIONS if o.permission})


def policy_statements(group: str = GROUP) -> list[str]:
    """The least-privilege IAM policy statements, one per grant."""
    return [f"Allow group {group} to {p} in tenancy" for p in permissions()]


def iam_policy(group: str = GROUP) -> dict[str, Any]:
    """The policy as ``oci iam policy create`` takes it (name, description, statements)."""
    return {
        "name": "residency-audit-read",
        "description": "Read-only (inspect/read verbs): the tenancy, compartments, buckets, "
                       "databases, volumes, file system replications and vaults, as read by "
                       "residency-audit. Search needs no grant of its own.",
        "statements": policy_statements(group),
    }


def shipped_policy() -> dict[str, Any]:
    """The packaged ``iam-policy.json``."""
    text = resources.files("residency_audit.providers.oci").joinpath(
        "iam-policy.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def permissions_text() -> str:
    """The shipped policy, as JSON text."""
    return json.dumps(shipped_policy(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":  # regenerate: python -m residency_audit.providers.oci.operations
    print(json.dumps(iam_policy(), indent=2, sort_keys=True))
