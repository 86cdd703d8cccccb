"""Read-only, proven: the allow-list, the shipped custom role, and the run-wide request guard."""

from __future__ import annotations

import json
from collections.abc import Callable

from residency_audit.model import Estate
from residency_audit.providers.gcp import cli
from residency_audit.providers.gcp.operations import (
    OPERATIONS,
    ROUTES,
    custom_role,
    operation_for_request,
    permissions,
    shipped_custom_role,
)
from tests.plugins import readonly_gcp
from tests.providers.gcp.conftest import add_services
from tests.providers.gcp.fakes import FakeGcp


def test_shipped_custom_role_matches_the_allow_list_exactly() -> None:
    assert shipped_custom_role() == custom_role()
    assert shipped_custom_role()["includedPermissions"] == permissions()
    assert set(permissions()) == {
        "cloudasset.assets.searchAllResources", "resourcemanager.folders.get",
        "resourcemanager.folders.list", "resourcemanager.projects.get",
        "resourcemanager.projects.list", "storage.buckets.get", "storage.buckets.list"}


def test_permissions_text_prints_the_role() -> None:
    assert json.loads(cli.permissions_text()) == custom_role()


def test_every_operation_is_a_read_with_a_route() -> None:
    assert {op.operation for op in OPERATIONS} == set(ROUTES)
    for op in OPERATIONS:
        assert op.provider == "gcp"
        if op.operation == "cloudresourcemanager.projects.testIamPermissions":
            # asks which permissions the caller holds; needs none, changes nothing
            assert op.permission == "" and ROUTES[op.operation][0] == "POST"
            continue
        verb = op.permission.rsplit(".", 1)[-1]
        assert verb in {"list", "get", "searchAllResources"}, op
        assert ROUTES[op.operation][0] == "GET"


def test_the_allow_list_is_built_from_the_service_declarations() -> None:
    from residency_audit.providers.gcp import assets
    from residency_audit.providers.gcp.operations import SPECS

    assert {s.name for s in SPECS} == {"resourcemanager", "storage", "bigquery", "cloudsql",
                                       "spanner", "firestore", "bigtable", "filestore", "compute"}
    assert set(OPERATIONS) == {op for s in SPECS for op in s.operations}
    assert all(s.provider == "gcp" and s.finds for s in SPECS)
    assert set(assets.ASSET_TYPES) == {t for m in assets.MODULES for t in m.ASSET_TYPES}


def test_writes_and_unknown_paths_are_offenders() -> None:
    assert operation_for_request("GET", "/v3/projects/123?x=1") == "cloudresourcemanager.projects.get"
    assert operation_for_request("POST", "/v3/projects") is None
    assert operation_for_request("DELETE", "/storage/v1/b/x") is None
    assert operation_for_request("GET", "/v3/projects/1:getIamPolicy") is None
    assert operation_for_request("POST", "/v3/projects/1:getIamPolicy") is None
    assert operation_for_request("POST", "/v3/projects/1:setIamPolicy") is None
    assert operation_for_request("GET", "/v3/projects/1:testIamPermissions") is None
    assert (operation_for_request("POST", "/v3/projects/1:testIamPermissions")
            == "cloudresourcemanager.projects.testIamPermissions")
    bad = readonly_gcp.offenders([("GET", "/storage/v1/b"), ("PATCH", "/storage/v1/b/x"),
                                  ("GET", "/v1/projects/1/assets")])
    assert bad == ["GET /v1/projects/1/assets -> no allow-listed operation",
                   "PATCH /storage/v1/b/x -> no allow-listed operation"]


def test_a_full_scan_calls_only_allow_listed_operations(fake_org: FakeGcp,
                                                        scan: Callable[..., Estate]) -> None:
    add_services(fake_org)
    fake_org.bucket_versioned = False
    # a project with nothing in it: the search returns nothing from it, so it is checked
    fake_org.add_project("empty", "1009", parent="folders/11")
    scan(organization="100")
    scan(organization="100", search_format="protobuf")
    scan(projects=["ehr-prod", "research"], use_asset_search=False)
    scan(folders=["11"])
    seen = {operation_for_request(m, p) for m, p in fake_org.requests}
    assert seen == {op.operation for op in OPERATIONS}
    assert readonly_gcp.offenders(fake_org.requests) == []
    # the fake reported every request to the run-wide record the plugin checks at the end
    assert {(m, p.split("?", 1)[0]) for m, p in fake_org.requests} <= set(readonly_gcp.RECORD)
