"""Regions from the source: the Locations API, cross-checked against the catalog."""

from __future__ import annotations

from typing import Any

from residency_audit.catalog import default_catalog
from residency_audit.providers.azure.locations import cross_check, parse_locations
from tests.providers.azure.fake_arm import DEFAULT_LOCATIONS, FakeArm, location
from tests.providers.azure.helpers import by_name, gaps


def test_default_locations_agree_with_the_catalog() -> None:
    regions = parse_locations(DEFAULT_LOCATIONS)
    assert cross_check(regions, default_catalog(), scope="s") == []
    assert regions["westeurope"].physical_location == "Netherlands"
    assert regions["westeurope"].paired == ("northeurope",)


def test_disagreements_and_unknown_regions_are_gaps() -> None:
    rows = [
        location("northeurope", "North Europe", physical="Netherlands", geography="Europe", paired="westeurope"),
        location("swedencentral", "Sweden Central", physical="Sweden", geography="Sweden", paired="northeurope"),
        location("atlantiscentral", "Atlantis Central", physical="Atlantis", geography="Ocean"),
        location("europe", "Europe", physical="", geography="Europe", region_type="Logical"),
    ]
    found = cross_check(parse_locations(rows), default_catalog(), scope="sub-1")
    summary = sorted((g.region, g.error) for g in found)
    assert summary == [("atlantiscentral", "UnknownRegion"), ("northeurope", "CatalogMismatch"),
                       ("swedencentral", "CatalogMismatch")]
    assert all(g.scope == "sub-1" and g.operation == "Subscriptions_ListLocations" for g in found)
    mismatch = next(g for g in found if g.region == "northeurope")
    assert "'Netherlands' (NL)" in mismatch.message and "says IE" in mismatch.message


def test_api_pair_wins_over_catalog_and_disagreement_is_reported(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.locations = [location("germanywestcentral", "Germany West Central", physical="Frankfurt",
                                   geography="Germany", paired="swedencentral"),
                          *[row for row in DEFAULT_LOCATIONS if row["name"] != "germanywestcentral"]]
    estate = scan()
    gzrs = by_name(estate, "gzrsacct")
    assert {p.location for p in gzrs.placements} == {"azure:germanywestcentral", "azure:swedencentral"}
    [gap] = gaps(estate, error="CatalogMismatch")
    assert gap.region == "germanywestcentral"


def test_only_one_locations_request_for_many_subscriptions(scan: Any, fake_arm: FakeArm) -> None:
    scan()
    assert fake_arm.count(r"/locations$") == 1
