"""The AWS and OCI rows of the region catalog: they parse, are unique, and cover every AWS region.

The AWS list is checked against the endpoint data of the installed botocore, so that a region
AWS adds (and botocore learns about) fails this test until the catalog has a row for it.
"""

from __future__ import annotations

import csv
import io
from importlib import resources
from typing import Any

import pytest

from residency_audit.catalog import Region, default_catalog, load_catalog

# The dates the packaged facts were read.
_RETRIEVED = {"2026-11-24", "2026-12-01"}

_FILES = {"aws": "regions_aws.csv", "oci": "regions_oci.csv"}
_HEADER = ["provider", "code", "service", "kind", "country", "city", "members", "countries", "pair",
           "operator", "notes", "source", "retrieved", "verified"]
_OPERATORS = {
    "aws": {"amazon-web-services-inc", "beijing-sinnet-technology", "ningxia-western-cloud-data-technology",
            "aws-european-sovereign-cloud"},
    "oci": {"oracle-corporation", "oracle-eu-sovereign-cloud"},
}
# Partitions of botocore's endpoint data whose regions are public; the classified US/EU
# partitions (aws-iso, aws-iso-b, aws-iso-e, aws-iso-f) are not public regions.
_PUBLIC_PARTITIONS = {"aws", "aws-cn", "aws-us-gov"}
# The 249 officially assigned ISO 3166-1 alpha-2 codes (as listed by pycountry 26.2.16).
_ISO_ALPHA2_TEXT = (
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE "
    "BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD "
    "CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU "
    "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI "
    "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK "
    "TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW"
)
_ISO_ALPHA2 = frozenset(_ISO_ALPHA2_TEXT.split())


def _raw_rows(provider: str) -> list[dict[str, str]]:
    text = resources.files("residency_audit.catalog").joinpath("data", _FILES[provider]).read_text(
        encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == _HEADER
    return list(reader)


def _regions(provider: str) -> dict[str, Region]:
    cat = default_catalog()
    return {r.code: r for key, r in cat.regions.items() if key[0] == provider and not r.service}


@pytest.mark.parametrize("provider", sorted(_FILES))
def test_every_row_parses_from_its_own_file(provider: str) -> None:
    rows = _raw_rows(provider)
    assert rows, f"{_FILES[provider]} is empty"
    regions = _regions(provider)
    for row in rows:
        region = regions[row["code"]]
        assert region.provider == provider == row["provider"]
        assert region.source.file == f"catalog/data/{_FILES[provider]}"
        assert region.kind == "region"
        assert region.service == "" and region.members == () and region.countries == () and region.pair is None
        assert region.operator in _OPERATORS[provider], region
        assert region.source.url.startswith("https://"), region
        assert region.source.retrieved in _RETRIEVED, region
        assert row["verified"] in {"yes", "no"}
        if row["verified"] == "no":
            assert region.notes, f"{provider}:{region.code} is unverified without saying why"


@pytest.mark.parametrize("provider", sorted(_FILES))
def test_codes_are_unique_per_provider(provider: str) -> None:
    codes = [row["code"].strip().lower() for row in _raw_rows(provider)]
    assert len(codes) == len(set(codes))


def test_no_aws_or_oci_row_is_left_in_another_packaged_file() -> None:
    data = resources.files("residency_audit.catalog").joinpath("data")
    for file in sorted(f.name for f in data.iterdir() if f.name.startswith("regions")):
        if file in _FILES.values():
            continue
        rows = csv.DictReader(io.StringIO(data.joinpath(file).read_text(encoding="utf-8")))
        assert not [r["code"] for r in rows if r["provider"] in _FILES], file


@pytest.mark.parametrize("provider", sorted(_FILES))
def test_countries_are_iso_alpha2(provider: str) -> None:
    assert len(_ISO_ALPHA2) == 249
    for region in _regions(provider).values():
        assert region.country in _ISO_ALPHA2, region


@pytest.mark.parametrize(("location", "country"), [
    ("aws:eu-north-1", "SE"),
    ("aws:us-east-1", "US"),
    ("aws:eu-west-1", "IE"),
    ("aws:ap-southeast-2", "AU"),
    ("aws:cn-north-1", "CN"),
    ("aws:us-gov-west-1", "US"),
    ("aws:eusc-de-east-1", "DE"),
    ("oci:uk-london-1", "GB"),
    ("oci:eu-stockholm-1", "SE"),
    ("oci:eu-frankfurt-2", "DE"),
])
def test_known_facts(location: str, country: str) -> None:
    region = default_catalog().region(location)
    assert region is not None, location
    assert region.country == country


def test_operators_of_special_regions() -> None:
    cat = default_catalog()
    expected = {
        "aws:cn-north-1": "beijing-sinnet-technology",
        "aws:cn-northwest-1": "ningxia-western-cloud-data-technology",
        "aws:eusc-de-east-1": "aws-european-sovereign-cloud",
        "aws:us-gov-east-1": "amazon-web-services-inc",
        "oci:eu-madrid-2": "oracle-eu-sovereign-cloud",
    }
    assert {loc: cat.region(loc).operator for loc in expected} == expected  # type: ignore[union-attr]


def _botocore_region_names() -> dict[str, set[str]]:
    loaders = pytest.importorskip("botocore.loaders")
    data: dict[str, Any] = loaders.Loader().load_data("endpoints")
    out: dict[str, set[str]] = {}
    for partition in data["partitions"]:
        pid = partition["partition"]
        sovereign = "sovereign" in str(partition.get("partitionName", "")).lower() or pid.startswith("aws-eusc")
        if pid in _PUBLIC_PARTITIONS or sovereign:
            out[pid] = set(partition["regions"])
    return out


def test_aws_list_covers_every_region_in_botocore() -> None:
    partitions = _botocore_region_names()
    assert {"aws", "aws-cn", "aws-us-gov"} <= set(partitions)
    catalog_codes = set(_regions("aws"))
    missing = {pid: sorted(names - catalog_codes) for pid, names in sorted(partitions.items())
               if names - catalog_codes}
    assert not missing, f"AWS regions known to botocore but missing from the catalog: {missing}"


def test_lookup_is_case_insensitive_and_unknown_is_none() -> None:
    cat = load_catalog()
    assert cat.region("aws:EU-NORTH-1") is cat.region("aws:eu-north-1")
    assert cat.region("oci:mars-olympus-1") is None
