"""Faults become coverage gaps and the scan goes on: denied, disabled, throttled, a failed page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from google.api_core import exceptions as gexc

from residency_audit.model import CoverageGap, Estate
from residency_audit.providers.gcp.faults import error_code
from tests.providers.gcp.fakes import FakeGcp

Scan = Callable[..., Estate]


def _gaps(estate: Estate, error: str) -> list[CoverageGap]:
    return [g for g in estate.gaps if g.error == error]


def _buckets(estate: Estate) -> set[str]:
    return {r.name for r in estate.resources if r.service == "storage"}


def test_permission_denied_on_one_project(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("buckets.list", "locked", "denied")
    estate = scan(organization="100", use_asset_search=False)
    [gap] = _gaps(estate, "PERMISSION_DENIED")
    assert (gap.scope, gap.service, gap.operation) == ("locked", "storage", "storage.buckets.list")
    assert "locked-bucket" not in _buckets(estate)
    assert {"ehr-records", "shared-us", "research-eu"} <= _buckets(estate)


def test_storage_api_disabled_on_a_project(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("buckets.list", "research", "disabled-storage")
    estate = scan(organization="100", use_asset_search=False)
    [gap] = _gaps(estate, "SERVICE_DISABLED")
    assert (gap.scope, gap.operation) == ("research", "storage.buckets.list")
    assert "research-eu" not in _buckets(estate) and "ehr-records" in _buckets(estate)


def test_asset_api_disabled_falls_back_to_per_project_listing(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("search", "organizations/100", "disabled")
    estate = scan(organization="100")
    [gap] = _gaps(estate, "SERVICE_DISABLED")
    assert (gap.service, gap.operation, gap.scope) == ("cloudasset", "cloudasset.searchAllResources",
                                                       "organizations/100")
    assert len(_buckets(estate)) == 8
    assert len(_gaps(estate, "NOT_SCANNED")) == 4
    lists = [p for m, p in fake_org.requests if p.startswith("/storage/v1/b?")]
    assert len(lists) == 4


def test_asset_search_denied_on_a_folder_falls_back_for_that_folder_only(
        fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("search", "folders/11", "denied")
    estate = scan(folders=["11", "13"])
    assert {g.scope for g in _gaps(estate, "NOT_SCANNED")} == {"ehr-prod", "research"}
    assert _buckets(estate) == {"ehr-records", "ehr-dr", "ehr-custom", "research-nam4",
                                "research-asia1", "research-eu", "shared-us"}


def test_quota_error_is_retried(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("search", "organizations/100", "quota", times=2)
    estate = scan(organization="100")
    assert estate.gaps == ()
    assert len(_buckets(estate)) == 8
    searches = [p for m, p in fake_org.requests if ":searchAllResources" in p]
    assert len(searches) == 3


def test_quota_exhausted_past_retries_is_a_gap_and_falls_back(fake_org: FakeGcp, scan: Scan) -> None:
    from residency_audit.providers.gcp.faults import Limits

    fake_org.fail("search", "organizations/100", "quota", times=1000)
    estate = scan(organization="100", limits=Limits(connect_timeout=0.1, read_timeout=0.1,
                                                    initial_backoff=0.01, backoff_cap=0.02))
    [gap] = _gaps(estate, "RESOURCE_EXHAUSTED")
    assert gap.service == "cloudasset"
    assert len(_buckets(estate)) == 8


def test_a_failed_page_keeps_earlier_pages_and_records_a_gap(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("search", "organizations/100@3", "denied")
    estate = scan(organization="100", page_size=3)
    [gap] = _gaps(estate, "PERMISSION_DENIED")
    assert gap.message.startswith("page 2:")
    assert len(_buckets(estate)) == 3
    assert not _gaps(estate, "NOT_SCANNED")


def test_paging_everywhere(fake_org: FakeGcp, scan: Scan) -> None:
    for i in range(5):
        fake_org.add_project(f"extra-{i}", f"20{i}", parent="folders/13")
        for j in range(3):
            fake_org.add_bucket(f"extra-{i}", f"extra-{i}-{j}", "EUROPE-NORTH1", "region")
    fake_org.list_page_size = 2
    fake_org.bucket_page_size = 2
    for use in (True, False):
        estate = scan(organization="100", use_asset_search=use, page_size=4)
        assert len(_buckets(estate)) == 8 + 15
        assert sum(r.attributes.get("folder_path") == "Shared" for r in estate.resources) == 16
    tokens = [p for m, p in fake_org.requests if "pageToken=" in p]
    assert any(p.startswith("/v3/projects") for p in tokens)
    assert any(p.startswith("/storage/v1/b?") for p in tokens)
    assert any(":searchAllResources" in p for p in tokens)


def test_folder_listing_denied_is_a_gap_and_search_still_finds_its_resources(
        fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("folders.list", "folders/11", "denied")
    estate = scan(organization="100")
    [gap] = _gaps(estate, "PERMISSION_DENIED")
    assert (gap.scope, gap.operation) == ("folders/11", "cloudresourcemanager.folders.list")
    hidden = next(r for r in estate.resources if r.name == "ehr-records")
    assert hidden.account == "1001"
    assert hidden.attributes["folder_ids"] == "folders/12/folders/11"


def test_project_get_denied(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("projects.get", "projects/locked", "denied")
    estate = scan(projects=["ehr-prod", "locked"], use_asset_search=False)
    [gap] = _gaps(estate, "PERMISSION_DENIED")
    assert (gap.scope, gap.operation) == ("projects/locked", "cloudresourcemanager.projects.get")
    assert "locked-bucket" in _buckets(estate)
    ehr = next(r for r in estate.resources if r.name == "ehr-records")
    assert ehr.attributes["folder_path"] == "Clinical/Stockholm"


@pytest.mark.parametrize(("exc", "code"), [
    (gexc.Forbidden("x", errors=[{"reason": "accessNotConfigured"}]), "SERVICE_DISABLED"),
    (gexc.PermissionDenied("x"), "PERMISSION_DENIED"),
    (gexc.Forbidden("x"), "PERMISSION_DENIED"),
    (gexc.ResourceExhausted("x"), "RESOURCE_EXHAUSTED"),
    (gexc.TooManyRequests("x"), "RESOURCE_EXHAUSTED"),
    (gexc.NotFound("x"), "NOT_FOUND"),
])
def test_error_codes(exc: Exception, code: str) -> None:
    assert error_code(exc) == code


def test_scope_is_required_and_single() -> None:
    from residency_audit.errors import InputError
    from residency_audit.providers.gcp import scan_gcp

    with pytest.raises(InputError):
        scan_gcp()
    with pytest.raises(InputError):
        scan_gcp(organization="1", projects=["p"])


def test_quota_error_on_bucket_listing_is_retried(fake_org: FakeGcp, scan: Scan) -> None:
    fake_org.fail("buckets.list", "research", "quota", times=2)
    estate = scan(organization="100", use_asset_search=False)
    assert not [g for g in estate.gaps if g.error not in ("NOT_SCANNED", "READ_IN_PART")]
    assert "research-eu" in _buckets(estate)


def test_progress_is_reported(scan: Scan) -> None:
    calls: list[tuple[str, int, int]] = []
    scan(organization="100", progress=lambda label, done, total: calls.append((label, done, total)))
    labels = [c[0] for c in calls]
    assert labels[0] == "gcp: hierarchy" and labels[-1] == "gcp: done"
    assert "gcp: asset search" in labels
