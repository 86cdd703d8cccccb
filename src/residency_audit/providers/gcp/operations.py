"""The allow-list: every Google API method this adapter may call, and the permissions it needs.

Gathered from the service modules' declarations; the shipped custom role
(``custom-role.json``) is generated from it and a test keeps the two equal.

>>> "storage.buckets.list" in permissions()
True
>>> operation_for_request("GET", "/storage/v1/b")
'storage.buckets.list'
>>> operation_for_request("DELETE", "/storage/v1/b/x") is None
True
"""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any

from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp import assets, hierarchy, search, storage
from residency_audit.providers.service import ServiceSpec

__all__ = ["OPERATIONS", "ROUTES", "SPECS", "custom_role", "operation_for_request", "permissions",
           "permissions_text", "shipped_custom_role"]

SPECS: tuple[ServiceSpec, ...] = (hierarchy.SPEC, *(m.SPEC for m in assets.MODULES))
"""Every service declaration of the GCP adapter."""

OPERATIONS: tuple[ReadOperation, ...] = tuple(sorted(
    {op for spec in SPECS for op in spec.operations},
    key=lambda o: (o.service, o.operation)))
"""Every read operation of the GCP adapter, gathered from the declarations."""

ROUTES: dict[str, tuple[str, str]] = {**hierarchy.ROUTES, **storage.ROUTES, **search.ROUTES}
"""Operation → (HTTP method, path pattern) of its REST form."""

_COMPILED = [(op, method, re.compile(pattern)) for op, (method, pattern) in sorted(ROUTES.items())]


def operation_for_request(method: str, path: str) -> str | None:
    """The allow-listed operation a REST request is, or None when it is none of them."""
    bare = path.split("?", 1)[0]
    for op, m, pattern in _COMPILED:
        if method.upper() == m and pattern.match(bare):
            return op
    return None


def permissions() -> list[str]:
    """The IAM permissions of every allow-listed operation, sorted, unique (an operation that
    needs none, such as ``projects.testIamPermissions``, adds none)."""
    return sorted({op.permission for op in OPERATIONS if op.permission})


def custom_role() -> dict[str, Any]:
    """The least-privilege custom role (``gcloud iam roles create --file`` accepts its YAML twin)."""
    return {
        "title": "Residency Audit Reader",
        "description": "Read-only: the Resource Manager hierarchy, Cloud Storage bucket "
                       "metadata and Cloud Asset resource search, as used by residency-audit.",
        "stage": "GA",
        "includedPermissions": permissions(),
    }


def shipped_custom_role() -> dict[str, Any]:
    """The packaged ``custom-role.json``."""
    text = resources.files("residency_audit.providers.gcp").joinpath(
        "custom-role.json").read_text(encoding="utf-8")
    return dict(json.loads(text))


def permissions_text() -> str:
    """The shipped custom role, as JSON text."""
    return json.dumps(shipped_custom_role(), indent=2, sort_keys=True) + "\n"
