"""Storage accounts: every SKU, primary and secondary, failover, the Netherlands/Ireland case."""

from __future__ import annotations

from typing import Any

import pytest

from residency_audit.catalog import default_catalog
from residency_audit.providers.azure.locations import RegionFacts
from residency_audit.providers.azure.storage import parse_sku, parse_storage_account
from tests.providers.azure import tenant as t
from tests.providers.azure.helpers import by_name, gaps, where


def test_netherlands_primary_ireland_secondary(scan: Any) -> None:
    estate = scan()
    acct = by_name(estate, "journalnl")
    assert where(acct) == {("azure:westeurope", "primary"), ("azure:northeurope", "secondary")}
    assert acct.attributes["redundancy"] == "RA-GRS"
    assert acct.attributes["read_access_secondary"] == "true"
    assert acct.attributes["status_of_secondary"] == "available"
    assert acct.attributes["secondary_source"] == "api"
    secondary = next(p for p in acct.placements if p.role.value == "secondary")
    assert secondary.evidence.source == "api"
    assert secondary.evidence.ref == "Resources properties.secondaryLocation"
    assert dict(acct.tags) == {"data-class": "patient", "system": "journal"}
    assert acct.account == t.SUB_PROD
    cat = default_catalog()
    assert {cat.region(p.location).country for p in acct.placements} == {"NL", "IE"}  # type: ignore[union-attr]


@pytest.mark.parametrize(("name", "redundancy", "tier", "expected"), [
    ("lrsacct", "LRS", "Standard", {("azure:swedencentral", "primary")}),
    ("zrsacct", "ZRS", "Standard", {("azure:swedencentral", "primary")}),
    ("premlrs", "LRS", "Premium", {("azure:swedencentral", "primary")}),
    ("premzrs", "ZRS", "Premium", {("azure:swedencentral", "primary")}),
    ("grsacct", "GRS", "Standard", {("azure:swedencentral", "primary"), ("azure:swedensouth", "secondary")}),
    ("journalnl", "RA-GRS", "Standard", {("azure:westeurope", "primary"), ("azure:northeurope", "secondary")}),
    ("gzrsacct", "GZRS", "Standard",
     {("azure:germanywestcentral", "primary"), ("azure:germanynorth", "secondary")}),
    ("ragzrsacct", "RA-GZRS", "Standard", {("azure:westeurope", "primary"), ("azure:northeurope", "secondary")}),
])
def test_every_sku(scan_once: Any, name: str, redundancy: str, tier: str, expected: set[tuple[str, str]]) -> None:
    acct = by_name(scan_once, name)
    assert acct.attributes["redundancy"] == redundancy
    assert acct.attributes["tier"] == tier
    assert where(acct) == expected


def test_secondary_omitted_by_api_comes_from_locations_api_pair(scan_once: Any) -> None:
    acct = by_name(scan_once, "gzrsacct")
    secondary = next(p for p in acct.placements if p.role.value == "secondary")
    assert secondary.evidence.source == "api"
    assert secondary.evidence.ref == "Subscriptions_ListLocations metadata.pairedRegion[0].name"
    assert "GZRS account without properties.secondaryLocation" in secondary.evidence.detail
    assert acct.attributes["secondary_source"] == "api"


def test_secondary_unavailable_is_recorded(scan_once: Any) -> None:
    assert by_name(scan_once, "ragzrsacct").attributes["status_of_secondary"] == "unavailable"


def test_failed_over_account(scan_once: Any) -> None:
    acct = by_name(scan_once, "failedover")
    assert where(acct) == {("azure:northeurope", "primary")}
    assert acct.attributes["failed_over"] == "true"
    assert acct.attributes["last_geo_failover_time"] == "2025-03-01T08:30:00.0000000Z"
    assert acct.attributes["primary_moved_from"] == "westeurope"
    assert acct.attributes["resource_location"] == "westeurope"
    assert by_name(scan_once, "journalnl").attributes["failed_over"] == "false"


def test_unknown_region_is_a_gap_not_a_pass(scan_once: Any) -> None:
    acct = by_name(scan_once, "marsacct")
    [gap] = gaps(scan_once, error="UnknownRegion", resource=acct.id)
    assert gap.region == "marscentral" and gap.scope == t.SUB_PROD


def test_catalog_pair_when_locations_api_has_none() -> None:
    raw = t.storage_account("s", "rg", "a", location="swedencentral", sku="Standard_GRS")
    parsed = parse_storage_account(raw, facts=RegionFacts(regions={}, catalog=default_catalog()))
    [acct] = parsed.resources
    secondary = next(p for p in acct.placements if p.role.value == "secondary")
    assert secondary.location == "azure:swedensouth"
    assert secondary.evidence.source == "catalog"
    assert acct.attributes["secondary_source"] == "catalog"
    assert parsed.gaps == []


def test_geo_account_without_any_pair_is_a_gap() -> None:
    raw = t.storage_account("s", "rg", "a", location="marscentral", sku="Standard_RAGZRS")
    parsed = parse_storage_account(raw, facts=RegionFacts(regions={}, catalog=default_catalog()))
    assert {g.error for g in parsed.gaps} == {"UnknownSecondaryRegion", "UnknownRegion"}
    assert all(g.scope == "s" for g in parsed.gaps)


def test_unknown_sku_is_a_gap() -> None:
    raw = t.storage_account("s", "rg", "a", location="westeurope", sku="Standard_XYZ")
    parsed = parse_storage_account(raw, facts=RegionFacts(regions={}, catalog=default_catalog()))
    assert [g.error for g in parsed.gaps] == ["UnknownSecondaryRegion"]
    assert parsed.resources[0].attributes["redundancy"] == "unknown"


def test_parse_sku() -> None:
    assert parse_sku("Standard_RAGRS") == ("Standard", "RA-GRS")
    assert parse_sku("Premium_ZRS") == ("Premium", "ZRS")


def test_same_answer_over_arm_and_resource_graph(scan: Any) -> None:
    def shape(estate: Any) -> dict[str, Any]:
        return {r.id: (where(r), dict(r.tags), {lk.target for lk in r.links},
                       {k: v for k, v in r.attributes.items()}) for r in estate.resources}

    graph = scan()
    arm = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD, t.SUB_DR, t.SUB_DENIED])
    assert shape(graph) == shape(arm)
    assert {(g.error, g.resource) for g in graph.gaps} == {(g.error, g.resource) for g in arm.gaps}
