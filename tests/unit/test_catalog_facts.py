"""The entity, law and country rows of the catalog: they parse, they link up, and known facts hold.

The region files are checked against these: every operator a region names is an entity here, and
every country a region (or a multi-country zone) names is a country here.
"""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from residency_audit.catalog import Catalog, default_catalog

# The dates the packaged facts were read.
_RETRIEVED = {"2026-11-24", "2026-12-01"}

_HEADERS = {
    "entities": ["id", "name", "country", "controlled_from", "parent", "notes", "source", "source_kind",
                 "retrieved", "verified"],
    "laws": ["id", "name", "country", "territorial", "extraterritorial", "citation", "summary", "source",
             "source_kind", "retrieved", "verified"],
    "countries": ["code", "name", "eu", "eea", "adequacy", "adequacy_scope", "source", "source_kind",
                  "retrieved", "verified"],
}
_KEYS = {"entities": "id", "laws": "id", "countries": "code"}
_SCOPES = {"full", "partial", "certified-only"}
_US_TECH_PARENTS = {"amazon-com-inc", "amazon-web-services-inc", "microsoft-corporation", "alphabet-inc",
                    "google-llc", "oracle-corporation"}


def _data_files(prefix: str) -> list[str]:
    data = resources.files("residency_audit.catalog").joinpath("data")
    return sorted(f.name for f in data.iterdir()
                  if f.name.endswith(".csv") and (f.name == f"{prefix}.csv" or f.name.startswith(f"{prefix}_")))


def _raw(file: str) -> tuple[list[str], list[dict[str, str]]]:
    text = resources.files("residency_audit.catalog").joinpath("data", file).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return default_catalog()


@pytest.mark.parametrize("group", sorted(_HEADERS))
def test_every_row_parses_with_a_dated_source(group: str, cat: Catalog) -> None:
    parsed = getattr(cat, group)
    for file in _data_files(group):
        header, rows = _raw(file)
        assert header == _HEADERS[group], file
        keys = [row[_KEYS[group]].strip() for row in rows]
        assert len(keys) == len(set(keys)), f"{file}: a key is defined twice"
        for row, key in zip(rows, keys, strict=True):
            item = parsed[key.upper() if group == "countries" else key]
            assert item.source.file == f"catalog/data/{file}"
            assert item.source.url.startswith(("https://", "http://")), key
            assert item.source.retrieved in _RETRIEVED, key
            assert row["verified"] in {"yes", "no"}, key
            assert item.name.strip() == item.name and item.name, key


def test_unverified_entities_say_why(cat: Catalog) -> None:
    for entity in cat.entities.values():
        if not entity.source.verified:
            assert entity.notes, f"{entity.id} is unverified without a note"


def test_every_parent_exists(cat: Catalog) -> None:
    missing = {e.id: e.parent for e in cat.entities.values() if e.parent and e.parent not in cat.entities}
    assert not missing


def test_parent_chains_have_no_cycles(cat: Catalog) -> None:
    for start in cat.entities:
        seen: list[str] = []
        current: str | None = start
        while current is not None:
            assert current not in seen, f"cycle: {' -> '.join([*seen, current])}"
            seen.append(current)
            current = cat.entities[current].parent


def test_every_entity_and_law_country_is_a_known_country(cat: Catalog) -> None:
    assert not {e.id: e.country for e in cat.entities.values() if e.country not in cat.countries}
    assert not {law.id: law.country for law in cat.laws.values() if law.country not in cat.countries}


def test_every_region_operator_is_an_entity(cat: Catalog) -> None:
    missing = {r.key: r.operator for r in cat.regions.values() if r.operator and r.operator not in cat.entities}
    assert not missing, f"region operators without an entity row: {dict(sorted(missing.items()))}"


def test_every_region_country_is_a_country(cat: Catalog) -> None:
    missing = {r.key: c for r in cat.regions.values() for c in ((r.country,) if r.country else ()) + r.countries
               if c not in cat.countries}
    assert not missing, f"region countries without a country row: {dict(sorted(missing.items()))}"


def test_membership_counts_and_adequacy_shape(cat: Catalog) -> None:
    eu = {c.code for c in cat.countries.values() if c.eu}
    eea = {c.code for c in cat.countries.values() if c.eea}
    assert len(eu) == 27
    assert eea == eu | {"IS", "LI", "NO"}
    for c in cat.countries.values():
        assert bool(c.adequacy) == bool(c.adequacy_scope), c.code
        assert not c.adequacy_scope or c.adequacy_scope in _SCOPES, c.code
        assert not (c.eea and c.adequacy), f"{c.code} is in the EEA and needs no adequacy decision"


@pytest.mark.parametrize(("code", "scope"), [
    ("US", "certified-only"),
    ("GB", "full"),
    ("CH", "full"),
    ("BR", "full"),
    ("CA", "partial"),
    ("JP", "partial"),
    ("KR", "partial"),
    ("CN", ""),
    ("IN", ""),
    ("RU", ""),
])
def test_known_adequacy(code: str, scope: str, cat: Catalog) -> None:
    country = cat.countries[code]
    assert not country.eea
    assert country.adequacy_scope == scope


def test_known_membership(cat: Catalog) -> None:
    assert cat.is_eea("SE") and cat.countries["SE"].eu
    assert cat.is_eea("NO") and not cat.countries["NO"].eu
    assert not cat.is_eea("GB") and cat.countries["GB"].adequacy
    assert not cat.is_eea("CH") and cat.countries["CH"].adequacy
    assert "2023/1795" in cat.countries["US"].adequacy


def test_known_entity_chains(cat: Catalog) -> None:
    google = cat.parent_chain("google-llc")
    assert google[-1] == "alphabet-inc" and cat.entities["alphabet-inc"].country == "US"
    assert cat.entities["microsoft-ireland-operations"].country == "IE"
    assert cat.parent_chain("microsoft-ireland-operations")[-1] == "microsoft-corporation"
    assert cat.parent_chain("amazon-web-services-inc")[-1] == "amazon-com-inc"
    assert cat.parent_chain("aws-european-sovereign-cloud")[-1] == "amazon-com-inc"
    assert cat.entities["aws-european-sovereign-cloud"].country == "DE"
    assert cat.parent_chain("oracle-eu-sovereign-cloud")[-1] == "oracle-corporation"
    assert cat.entities["oracle-corporation-uk"].country == "GB"
    assert cat.parent_chain("vonage-holdings-corp")[-1] == "ericsson"
    assert cat.entities["vonage-holdings-corp"].country == "US"


@pytest.mark.parametrize("entity", [
    "beijing-sinnet-technology", "ningxia-western-cloud-data-technology", "shanghai-blue-cloud-technology",
    "delos-cloud", "bleu", "s3ns", "t-systems-international",
])
def test_licensees_of_us_technology_are_not_controlled_from_the_us(entity: str, cat: Catalog) -> None:
    chain = cat.parent_chain(entity)
    assert not set(chain) & _US_TECH_PARENTS, chain
    assert all(cat.entities[e].country != "US" for e in chain), chain


@pytest.mark.parametrize("entity", ["beijing-sinnet-technology", "ningxia-western-cloud-data-technology",
                                    "shanghai-blue-cloud-technology"])
def test_china_region_operators_are_chinese(entity: str, cat: Catalog) -> None:
    assert cat.entities[entity].country == "CN"


def test_required_laws_and_their_scope(cat: Catalog) -> None:
    laws = cat.laws
    for law_id in ("us-cloud-act", "us-fisa-702", "us-eo-12333", "cn-national-intelligence-law",
                   "cn-data-security-law", "in-it-act-s69", "gb-investigatory-powers-act", "au-tola",
                   "se-fra-signals-act"):
        assert law_id in laws, law_id
    assert [law_id for law_id in laws if law_id.startswith("ru-")]
    assert laws["us-cloud-act"].extraterritorial and laws["us-cloud-act"].country == "US"
    assert "2713" in laws["us-cloud-act"].citation
    assert "1881a" in laws["us-fisa-702"].citation
    assert all(law.extraterritorial for law in laws.values() if law.country == "CN")
    home = laws["se-fra-signals-act"]
    assert home.country == "SE" and home.territorial and not home.extraterritorial
    for law in laws.values():
        assert law.summary, law.id
