"""The region catalog against the installed SDKs' own region data, so that a new region fails here.

Every region of every partition in botocore's endpoint data (ISO partitions and the European
Sovereign Cloud included) and every region of every realm in the ``oci`` SDK's region tables
must have a catalog row with a country; a row for an isolated partition or a separate realm
says so in its notes. A test skips when its SDK is not installed.
"""

from __future__ import annotations

import json
from importlib import resources

import pytest

from residency_audit.catalog import default_catalog


def _botocore_partitions() -> dict[str, tuple[str, dict[str, str]]]:
    pytest.importorskip("botocore")
    data = json.loads(resources.files("botocore").joinpath("data", "endpoints.json").read_text("utf-8"))
    return {p["partition"]: (p.get("partitionName", ""), {code: str(v.get("description", ""))
                                                           for code, v in p["regions"].items()})
            for p in data["partitions"]}


def _oci_regions() -> dict[str, str]:
    definitions = pytest.importorskip("oci.regions_definitions")
    return dict(definitions.REGION_REALMS)


def test_every_botocore_region_of_every_partition_has_a_row_with_a_country() -> None:
    cat = default_catalog()
    partitions = _botocore_partitions()
    assert {"aws", "aws-iso", "aws-iso-b", "aws-eusc"} <= set(partitions)
    missing: list[str] = []
    for pid, (_, regions) in sorted(partitions.items()):
        for code in sorted(regions):
            region = cat.region(f"aws:{code}")
            if region is None or not region.country:
                missing.append(f"{pid}/{code}")
            elif pid != "aws":
                assert f"partition {pid}" in region.notes, (code, region.notes)
    assert not missing, f"regions in botocore's endpoint data without a catalog row and country: {missing}"


def test_every_oci_region_of_every_realm_has_a_row_with_a_country() -> None:
    cat = default_catalog()
    realms = _oci_regions()
    missing: list[str] = []
    for code, realm in sorted(realms.items()):
        region = cat.region(f"oci:{code}")
        if region is None or not region.country:
            missing.append(f"{realm}/{code}")
        elif realm != "oc1":
            assert realm.upper() in region.notes, (code, realm, region.notes)
    assert not missing, f"regions in the oci SDK's region tables without a catalog row and country: {missing}"


def test_realm_and_partition_rows_that_rest_on_the_identifier_alone_are_not_verified() -> None:
    cat = default_catalog()
    for code in ("eu-dcc-rating-1", "me-dcc-muscat-1", "us-somerset-1"):
        region = cat.region(f"oci:{code}")
        assert region is not None and not region.source.verified
    iso_e = cat.region("aws:eu-isoe-west-1")
    assert iso_e is not None and iso_e.country == "GB" and not iso_e.source.verified


@pytest.mark.parametrize(("code", "pair"), [
    ("eastus2euap", "centraluseuap"), ("centraluseuap", "eastus2euap"),
    ("eastusstg", "southcentralusstg"), ("southcentralusstg", "eastusstg"),
])
def test_azure_staging_and_canary_regions_are_flagged_and_paired(code: str, pair: str) -> None:
    region = default_catalog().region(f"azure:{code}")
    assert region is not None and region.pair == pair and region.country == "US"
    assert "staging" in region.notes or "canary" in region.notes
    assert not region.source.verified


def test_a_zone_inside_one_country_carries_that_country() -> None:
    cat = default_catalog()
    for region in cat.regions.values():
        if region.kind not in ("dual-region", "multi-region") or not region.members:
            continue
        countries = cat.region_countries(region)
        if len(countries) == 1 and not region.countries:
            assert region.country == countries[0], region.key
    asia1 = cat.region("gcp:ASIA1")
    assert asia1 is not None and asia1.country == "JP"
