"""Cloud Storage buckets of every location type, through asset search and per-project listing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from residency_audit.catalog import default_catalog
from residency_audit.model import Estate, Resource, Role
from tests.providers.gcp.fakes import FakeGcp


def _bucket(estate: Estate, name: str) -> Resource:
    return {r.name: r for r in estate.resources if r.service == "storage"}[name]


def _places(r: Resource) -> list[tuple[str, Role]]:
    return [(p.location, p.role) for p in r.placements]


@pytest.fixture(params=["asset-search", "per-project"])
def estate(request: pytest.FixtureRequest, scan: Callable[..., Estate]) -> Estate:
    return scan(organization="100", use_asset_search=request.param == "asset-search")


def test_region_bucket(estate: Estate) -> None:
    r = _bucket(estate, "ehr-records")
    assert _places(r) == [("gcp:europe-north1", Role.PRIMARY)]
    assert r.attributes["location_type"] == "region"
    assert r.id == "//storage.googleapis.com/ehr-records"
    assert r.account == "ehr-prod"


def test_predefined_dual_regions_resolve_through_the_catalog(estate: Estate) -> None:
    cat = default_catalog()
    eur4 = _bucket(estate, "ehr-dr")
    assert _places(eur4) == [("gcp:EUR4", Role.PRIMARY)]
    assert eur4.attributes["turbo_replication"] == "true"
    assert eur4.attributes["rpo"] == "ASYNC_TURBO"
    region = cat.region("gcp:EUR4")
    assert region is not None and set(cat.region_countries(region)) == {"FI", "NL"}
    for name, code, country in (("research-nam4", "gcp:NAM4", "US"), ("research-asia1", "gcp:ASIA1", "JP")):
        r = _bucket(estate, name)
        assert _places(r) == [(code, Role.PRIMARY)]
        found = cat.region(code)
        assert found is not None and country in cat.region_countries(found)


def test_configurable_dual_region_is_one_primary_placement_per_data_location(estate: Estate) -> None:
    r = _bucket(estate, "ehr-custom")
    assert _places(r) == [("gcp:europe-north1", Role.PRIMARY), ("gcp:europe-west4", Role.PRIMARY)]
    assert r.attributes["location"] == "EU"
    assert r.attributes["location_type"] == "dual-region"
    assert r.attributes["data_locations"] == "europe-north1,europe-west4"
    assert r.attributes["turbo_replication"] == "false"
    assert all("dataLocations" in p.evidence.ref for p in r.placements)


def test_multi_regions_are_zones_of_countries(estate: Estate) -> None:
    cat = default_catalog()
    eu, us = _bucket(estate, "research-eu"), _bucket(estate, "shared-us")
    assert _places(eu) == [("gcp:EU", Role.PRIMARY)]
    assert _places(us) == [("gcp:US", Role.PRIMARY)]
    zone = cat.region("gcp:EU")
    assert zone is not None and "SE" in cat.region_countries(zone)
    assert eu.attributes["location_type"] == "multi-region"


def test_hierarchy_and_labels_travel_with_each_bucket(estate: Estate) -> None:
    r = _bucket(estate, "ehr-records")
    assert r.attributes["folder_path"] == "Clinical/Stockholm"
    assert r.attributes["folder_ids"] == "folders/11/folders/12"
    assert r.attributes["organization"] == "organizations/100"
    assert r.attributes["project_number"] == "1001"
    # project labels are defaults; the bucket's own labels win
    assert dict(r.tags) == {"data-class": "restricted", "env": "prod"}
    assert "folder_path" not in _bucket(estate, "locked-bucket").attributes


def test_every_bucket_found_and_sorted(estate: Estate) -> None:
    names = [r.name for r in estate.resources if r.service == "storage"]
    assert names == sorted(["ehr-records", "ehr-dr", "ehr-custom", "research-nam4",
                            "research-asia1", "research-eu", "shared-us", "locked-bucket"])
    assert [r.id for r in estate.resources] == sorted(r.id for r in estate.resources)


def test_per_project_listing_says_what_it_did_not_scan(scan: Callable[..., Estate]) -> None:
    estate = scan(organization="100", use_asset_search=False)
    not_scanned = sorted(g.scope for g in estate.gaps if g.error == "NOT_SCANNED")
    assert not_scanned == ["ehr-prod", "locked", "research", "shared-infra"]


def test_search_result_without_representation_falls_back_to_buckets_get(
        fake_org: FakeGcp, scan: Callable[..., Estate]) -> None:
    fake_org.bucket_versioned = False
    estate = scan(organization="100")
    r = _bucket(estate, "ehr-custom")
    assert _places(r) == [("gcp:europe-north1", Role.PRIMARY), ("gcp:europe-west4", Role.PRIMARY)]
    assert r.placements[0].evidence.ref.startswith("storage.buckets.get")
    gets = [p for m, p in fake_org.requests if p.startswith("/storage/v1/b/")]
    assert len(gets) == 8


def test_storage_bucket_get_denied_keeps_search_location_and_records_gap(
        fake_org: FakeGcp, scan: Callable[..., Estate]) -> None:
    fake_org.bucket_versioned = False
    fake_org.fail("buckets.get", "ehr-custom", "denied")
    estate = scan(organization="100")
    r = _bucket(estate, "ehr-custom")
    assert _places(r) == [("gcp:EU", Role.PRIMARY)]
    gap = next(g for g in estate.gaps if g.resource == r.id)
    assert (gap.error, gap.operation, gap.scope) == ("PERMISSION_DENIED", "storage.buckets.get",
                                                     "ehr-prod")


def test_storage_emulator_host_is_honoured(fake_org: FakeGcp, scan: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", scan.url)
    estate = scan(projects=["ehr-prod"], use_asset_search=False,
                  endpoints={"resourcemanager": scan.url})
    assert {r.name for r in estate.resources} == {"ehr-records", "ehr-dr", "ehr-custom"}
