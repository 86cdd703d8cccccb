"""Read-only, proven: the allow-list, the shipped role, and the run-wide request guard."""

from __future__ import annotations

import re
from typing import Any

from residency_audit.providers.azure.operations import (
    OPERATIONS,
    ROUTES,
    operation_for_request,
    role_definition,
    shipped_role_definition,
)
from tests.plugins import readonly_azure
from tests.providers.azure.fake_arm import FakeArm


def test_shipped_role_matches_the_allow_list() -> None:
    shipped = shipped_role_definition()
    assert shipped == role_definition()
    assert shipped["Actions"] == sorted({op.permission for op in OPERATIONS})
    assert shipped["DataActions"] == [] and shipped["NotActions"] == []
    assert all(a.endswith("/read") for a in shipped["Actions"])


def test_routes_are_reads_only() -> None:
    for route in ROUTES:
        assert route.method == "GET" or route.path == "/providers/Microsoft.ResourceGraph/resources"


def test_writes_and_secrets_are_not_allowed() -> None:
    sa = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a"
    assert operation_for_request("POST", sa + "/listKeys") is None
    assert operation_for_request("PUT", sa) is None
    assert operation_for_request("DELETE", "/subscriptions/s/providers/Microsoft.Storage/storageAccounts") is None
    cosmos = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DocumentDB/databaseAccounts/c"
    assert operation_for_request("POST", cosmos + "/listKeys") is None
    assert operation_for_request("GET", "/subscriptions/s/resourcegroups") is None
    assert operation_for_request("get", "/SUBSCRIPTIONS/s/LOCATIONS") == "Subscriptions_ListLocations"


def test_guard_flags_requests_outside_the_allow_list() -> None:
    bad = readonly_azure.offenders([("GET", "/subscriptions"),
                                    ("POST", "/subscriptions/s/resourceGroups/rg/providers/"
                                             "Microsoft.Storage/storageAccounts/a/listKeys")])
    assert len(bad) == 1 and "listKeys" in bad[0]


def test_every_request_of_a_full_scan_is_allow_listed(scan: Any, fake_arm: FakeArm) -> None:
    scan()
    scan(use_resource_graph=False)
    scan(management_groups=["mg-healthcare"])
    seen = {operation_for_request(m, p) for m, p in fake_arm.requests}
    assert None not in seen
    assert seen == {op.operation for op in OPERATIONS}  # and every allow-listed operation is used
    assert readonly_azure.RECORD  # the run-wide record saw them too


def test_credential_scope_is_resource_manager(scan: Any) -> None:
    from tests.providers.azure.fake_arm import FakeCredential

    cred = FakeCredential()
    scan(credential=cred, services=["storage"])
    assert {s for scopes in cred.scopes for s in scopes} == {"https://management.azure.com/.default"}


def test_sovereign_cloud_scopes() -> None:
    from residency_audit.providers.azure.arm import scopes_for_endpoint

    assert scopes_for_endpoint("https://management.usgovcloudapi.net") == (
        "https://management.usgovcloudapi.net/.default",)
    assert re.match(r"https://management\.chinacloudapi\.cn/\.default",
                    scopes_for_endpoint("https://management.chinacloudapi.cn/")[0])
