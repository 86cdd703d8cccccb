"""The Azure and GCP rows of the region catalog: they parse, are consistent, and hold known facts.

Azure region pairs are symmetric except where Microsoft documents a one-way pair; every member
of a dual-/multi-region zone is itself a region of the catalog, so that ``region_countries``
can follow it to a country. A Spanner witness replica holds replicated data, so its region's
country must show up among the countries of the configuration.

Not in the catalog on purpose: Azure's geography-level logical locations (``europe``,
``unitedstates`` …), whose member regions the Locations API does not document, and regions
that only some subscriptions see (``israelnorthwest``, ``taiwannorth`` …). Such codes reach
the audit as unknown locations, which it reports as findings.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from residency_audit.catalog import Region, default_catalog


def _countries_of(region: Region) -> tuple[str, ...]:
    return default_catalog().region_countries(region)


# The dates the packaged facts were read.
_RETRIEVED = {"2026-11-24", "2026-12-01"}

_FILES = {"azure": "regions_azure.csv", "gcp": "regions_gcp.csv"}
_HEADER = ["provider", "code", "service", "kind", "country", "city", "members", "countries", "pair",
           "operator", "notes", "source", "retrieved", "verified"]
_OPERATORS = {
    "azure": {"microsoft-corporation", "shanghai-blue-cloud-technology"},
    "gcp": {"google-llc"},
}
_KINDS = {"region", "multi-region", "dual-region"}
# Documented one-way Azure pairs: region -> its secondary, whose own pair is another region.
_ONE_WAY_PAIRS = {
    "brazilsouth": "southcentralus",  # secondary outside the Brazil geography
    "brazilsoutheast": "brazilsouth",
    "westindia": "southindia",
    "westus3": "eastus",
    "usgovvirginia": "usgovtexas",
    "usgoviowa": "usgovvirginia",
}
_EU_TEXT = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK"
_EU = frozenset(_EU_TEXT.split())


def _raw_rows(provider: str) -> list[dict[str, str]]:
    text = resources.files("residency_audit.catalog").joinpath("data", _FILES[provider]).read_text(
        encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == _HEADER
    return list(reader)


def _rows(provider: str) -> list[Region]:
    return [r for key, r in default_catalog().regions.items() if key[0] == provider]


def _region(location: str, *, service: str = "") -> Region:
    region = default_catalog().region(location, service=service)
    assert region is not None, location
    return region


@pytest.mark.parametrize("provider", sorted(_FILES))
def test_every_row_parses_from_its_own_file(provider: str) -> None:
    raw = _raw_rows(provider)
    assert raw, f"{_FILES[provider]} is empty"
    parsed = {(r.service, r.code): r for r in _rows(provider)}
    for row in raw:
        region = parsed[(row["service"], row["code"])]
        assert region.provider == provider == row["provider"]
        assert region.source.file == f"catalog/data/{_FILES[provider]}", region
        assert region.kind in _KINDS, region
        assert region.operator in _OPERATORS[provider], region
        assert region.source.url.startswith("https://"), region
        assert region.source.retrieved in _RETRIEVED, region
        assert row["verified"] in {"yes", "no"}
        if row["verified"] == "no":
            assert region.notes, f"{provider}:{region.code} is unverified without saying why"
        if region.kind == "region":
            assert region.country and not region.members and not region.countries, region
        else:
            assert region.members or region.countries, region
            if region.country is not None:  # a zone inside one country carries it
                assert _countries_of(region) == (region.country,), region


@pytest.mark.parametrize("provider", sorted(_FILES))
def test_codes_are_unique_per_provider_and_service(provider: str) -> None:
    seen: set[tuple[str, str]] = set()
    for row in _raw_rows(provider):
        key = (row["service"], row["code"].strip().lower())
        assert key not in seen, f"duplicate {provider} code {key}"
        seen.add(key)


def test_azure_and_gcp_rows_live_only_in_their_own_files() -> None:
    data = resources.files("residency_audit.catalog").joinpath("data")
    for f in data.iterdir():
        if not f.name.startswith("regions") or not f.name.endswith(".csv"):
            continue
        providers = {row["provider"] for row in csv.DictReader(io.StringIO(f.read_text(encoding="utf-8")))}
        for provider in set(_FILES) & providers:
            assert f.name == f"regions_{provider}.csv", (f.name, provider)


def test_azure_pairs_exist_and_are_symmetric_except_the_documented_one_way_pairs() -> None:
    regions = {r.code: r for r in _rows("azure")}
    for code, region in sorted(regions.items()):
        if region.pair is None:
            continue
        partner = regions.get(region.pair)
        assert partner is not None, f"{code} is paired with {region.pair}, which has no row"
        if code in _ONE_WAY_PAIRS:
            assert region.pair == _ONE_WAY_PAIRS[code]
            assert partner.pair != code, f"{code} -> {region.pair} is documented as one-way"
            assert "one-way" in region.notes
        else:
            assert partner.pair == code, f"{code} -> {region.pair} but {region.pair} -> {partner.pair}"


def test_the_azure_pairs_that_cross_a_border_are_known() -> None:
    regions = {r.code: r for r in _rows("azure")}
    crossing = sorted(code for code, r in regions.items()
                      if r.pair is not None and regions[r.pair].country != r.country)
    # Brazil South's secondary is in the US; the "Europe" geography pairs the Netherlands with
    # Ireland; the "Asia Pacific" geography pairs Hong Kong with Singapore.
    assert crossing == ["brazilsouth", "eastasia", "northeurope", "southeastasia", "westeurope"]


def test_members_of_zones_are_regions_of_the_catalog() -> None:
    for provider in sorted(_FILES):
        for zone in _rows(provider):
            for member in zone.members:
                region = default_catalog().region(f"{provider}:{member}")
                assert region is not None and region.kind == "region", f"{zone.key}: {member}"


@pytest.mark.parametrize(("location", "country", "pair"), [
    ("azure:westeurope", "NL", "northeurope"),
    ("azure:West Europe", "NL", "northeurope"),
    ("azure:northeurope", "IE", "westeurope"),
    ("azure:swedencentral", "SE", "swedensouth"),
    ("azure:swedensouth", "SE", "swedencentral"),
    ("azure:norwayeast", "NO", "norwaywest"),
    ("azure:germanywestcentral", "DE", "germanynorth"),
    ("azure:polandcentral", "PL", None),
    ("azure:italynorth", "IT", None),
    ("azure:spaincentral", "ES", None),
    ("azure:mexicocentral", "MX", None),
    ("azure:newzealandnorth", "NZ", None),
    ("azure:indonesiacentral", "ID", None),
    ("azure:malaysiawest", "MY", None),
    ("azure:chilecentral", "CL", None),
    ("azure:brazilsouth", "BR", "southcentralus"),
    ("azure:usgovvirginia", "US", "usgovtexas"),
    ("azure:usdodeast", "US", "usdodcentral"),
])
def test_known_azure_facts(location: str, country: str, pair: str | None) -> None:
    region = _region(location)
    assert (region.country, region.pair) == (country, pair)


def test_azure_china_is_operated_by_21vianet_and_government_by_microsoft() -> None:
    china = [r for r in _rows("azure") if r.code.startswith("china")]
    assert sorted(r.code for r in china) == ["chinaeast", "chinaeast2", "chinaeast3",
                                              "chinanorth", "chinanorth2", "chinanorth3"]
    for region in china:
        assert region.country == "CN" and region.operator == "shanghai-blue-cloud-technology"
        assert "21Vianet" in region.notes
    gov = [r for r in _rows("azure") if r.code.startswith(("usgov", "usdod"))]
    assert {r.code for r in gov} >= {"usgovvirginia", "usgovtexas", "usgovarizona", "usdodeast", "usdodcentral"}
    for region in gov:
        assert region.country == "US" and region.operator == "microsoft-corporation"
        assert "Azure Government" in region.notes


@pytest.mark.parametrize(("location", "country", "city"), [
    ("gcp:europe-north1", "FI", "Hamina"),
    ("gcp:EUROPE-NORTH1", "FI", "Hamina"),
    ("gcp:europe-north2", "SE", "Stockholm"),
    ("gcp:europe-west4", "NL", "Eemshaven"),
    ("gcp:europe-west2", "GB", "London"),
    ("gcp:europe-west6", "CH", "Zurich"),
    ("gcp:me-central2", "SA", "Dammam"),
    ("gcp:africa-south1", "ZA", "Johannesburg"),
    ("gcp:northamerica-south1", "MX", "Querétaro"),
    ("gcp:asia-east2", "HK", "Hong Kong"),
])
def test_known_gcp_regions(location: str, country: str, city: str) -> None:
    region = _region(location)
    assert (region.kind, region.country, region.city) == ("region", country, city)


@pytest.mark.parametrize(("code", "countries"), [
    ("EUR4", ("FI", "NL")),
    ("eur4", ("FI", "NL")),
    ("EUR5", ("BE", "GB")),
    ("EUR7", ("DE", "GB")),
    ("EUR8", ("CH", "DE")),
    ("ASIA1", ("JP",)),
    ("NAM4", ("US",)),
])
def test_cloud_storage_dual_regions(code: str, countries: tuple[str, ...]) -> None:
    cat = default_catalog()
    zone = _region(f"gcp:{code}")
    assert zone.kind == "dual-region" and len(zone.members) == 2
    assert cat.region_countries(zone) == countries


def test_eur4_members() -> None:
    assert _region("gcp:EUR4").members == ("europe-north1", "europe-west4")


def test_cloud_storage_multi_regions() -> None:
    cat = default_catalog()
    eu, us, asia = _region("gcp:EU"), _region("gcp:US"), _region("gcp:ASIA")
    assert {eu.kind, us.kind, asia.kind} == {"multi-region"}
    assert set(cat.region_countries(eu)) == _EU, "EU is a zone of EU member states only"
    assert cat.region_countries(us) == ("US",)
    assert "BigQuery" in eu.notes and "BigQuery" in us.notes
    assert "GB" not in cat.region_countries(eu) and "CH" not in cat.region_countries(eu)
    assert not asia.source.verified and {"JP", "SG", "IN"} <= set(asia.countries)


def test_spanner_configurations_are_the_services_own_codes() -> None:
    spanner = _region("gcp:eur3", service="spanner")
    assert spanner.service == "spanner" and spanner.key == "gcp:spanner/eur3"
    assert _region("gcp:spanner/eur3") is spanner
    # Spanner's eur5 is not Cloud Storage's EUR5: the service's own code wins when asked for.
    assert _region("gcp:eur5", service="spanner").members == ("europe-west1", "europe-west2", "europe-west4")
    assert _region("gcp:eur5").members == ("europe-west1", "europe-west2")
    for code in ("eur3", "eur5", "eur6", "nam3", "nam6", "nam-eur-asia1", "asia1"):
        assert _region(f"gcp:{code}", service="spanner").kind == "multi-region"


@pytest.mark.parametrize(("code", "countries"), [
    # eur6: read-write in the Netherlands and Frankfurt, witness in Zurich.
    ("eur6", ("CH", "DE", "NL")),
    # eur5: read-write in London and Belgium, witness in the Netherlands.
    ("eur5", ("BE", "GB", "NL")),
    ("eur3", ("BE", "FI", "NL")),
    ("nam14", ("CA", "US")),
    ("nam-eur-asia1", ("BE", "TW", "US")),
])
def test_spanner_witness_and_read_only_countries_count(code: str, countries: tuple[str, ...]) -> None:
    cat = default_catalog()
    config = _region(f"gcp:{code}", service="spanner")
    assert "witness" in config.notes
    assert cat.region_countries(config) == countries


def test_a_spanner_witness_outside_the_read_write_countries_is_listed() -> None:
    cat = default_catalog()
    config = _region("gcp:eur6", service="spanner")
    read_write = {cat.region(f"gcp:{r}").country for r in ("europe-west4", "europe-west3")}  # type: ignore[union-attr]
    witness = cat.region("gcp:europe-west6")
    assert witness is not None and witness.country not in read_write
    assert witness.country in cat.region_countries(config)
    assert "holds replicated data" in config.notes
