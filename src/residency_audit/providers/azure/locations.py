"""Regions from the source: the Locations API, cross-checked against the catalog.

``GET /subscriptions/{id}/locations`` gives, for each region, its physical location, geography
and paired region. The adapter uses the API's pair first (the catalog's only when the API names
none) and reports every disagreement with the catalog and every region the catalog does not know
as a coverage gap (``CatalogMismatch``, ``UnknownRegion``), so that a stale catalog is visible.

>>> rows = [{"name": "westeurope", "displayName": "West Europe", "metadata": {"regionType": "Physical",
...          "physicalLocation": "Netherlands", "geography": "Europe",
...          "pairedRegion": [{"name": "northeurope"}]}}]
>>> facts = RegionFacts(regions=parse_locations(rows), catalog=None)
>>> facts.pair("westeurope")
('northeurope', Evidence(source='api', ref='Subscriptions_ListLocations metadata.pairedRegion[0].name', detail='westeurope'))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit.catalog import Catalog, normalize_region_code
from residency_audit.model import CoverageGap, Evidence
from residency_audit.providers.azure.routes import Route, read_route

__all__ = [
    "LOCATIONS_OPERATION",
    "ROUTES",
    "AzureRegion",
    "RegionFacts",
    "cross_check",
    "normalize",
    "parse_locations",
]

LOCATIONS_OPERATION = "Subscriptions_ListLocations"
SUBSCRIPTIONS_OPERATION = "Subscriptions_List"
ROUTES: tuple[Route, ...] = (
    read_route("subscriptions", SUBSCRIPTIONS_OPERATION, "Microsoft.Resources/subscriptions/read", "GET",
               "/subscriptions"),
    read_route("locations", LOCATIONS_OPERATION, "Microsoft.Resources/subscriptions/locations/read", "GET",
               "/subscriptions/{subscriptionId}/locations"),
)
"""The read operations of subscriptions and regions."""


def normalize(code: str | None) -> str:
    """Azure's programmatic region name: lower case, no spaces (``West Europe`` → ``westeurope``).

    >>> normalize("North Europe")
    'northeurope'
    """
    return normalize_region_code("azure", code or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureRegion:
    """One region as the Locations API describes it."""

    name: str
    display_name: str
    region_type: str
    geography: str
    geography_group: str
    physical_location: str
    paired: tuple[str, ...]


def parse_locations(rows: Iterable[Mapping[str, Any]]) -> dict[str, AzureRegion]:
    """Regions by programmatic name from Locations API items (REST JSON)."""
    out: dict[str, AzureRegion] = {}
    for row in rows:
        meta = row.get("metadata") or {}
        name = normalize(row["name"])
        out[name] = AzureRegion(
            name=name,
            display_name=str(row.get("displayName") or ""),
            region_type=str(meta.get("regionType") or ""),
            geography=str(meta.get("geography") or ""),
            geography_group=str(meta.get("geographyGroup") or ""),
            physical_location=str(meta.get("physicalLocation") or ""),
            paired=tuple(normalize(p["name"]) for p in (meta.get("pairedRegion") or []) if p.get("name")),
        )
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionFacts:
    """The regions the API described, and the catalog to fall back on."""

    regions: Mapping[str, AzureRegion] = field(default_factory=dict)
    catalog: Catalog | None = None

    def pair(self, code: str) -> tuple[str, Evidence] | None:
        """The paired region of ``code``: the Locations API's, else the catalog's; None if neither."""
        code = normalize(code)
        api = self.regions.get(code)
        if api is not None and api.paired:
            return api.paired[0], Evidence(source="api", ref=f"{LOCATIONS_OPERATION} metadata.pairedRegion[0].name",
                                           detail=code)
        if self.catalog is not None:
            row = self.catalog.region(f"azure:{code}")
            if row is not None and row.pair:
                return normalize(row.pair), Evidence(source="catalog", ref=row.source.ref,
                                                     detail=f"pair of {code}")
        return None

    def known(self, code: str) -> bool:
        """Whether the API or the catalog knows region ``code``."""
        code = normalize(code)
        return code in self.regions or (self.catalog is not None
                                        and self.catalog.region(f"azure:{code}") is not None)


def _country_by_name(catalog: Catalog) -> dict[str, str]:
    return {c.name.strip().lower(): code for code, c in catalog.countries.items()}


def cross_check(regions: Mapping[str, AzureRegion], catalog: Catalog, *, scope: str) -> list[CoverageGap]:
    """Disagreements between the Locations API and the catalog, and physical regions it lacks.

    Checked: the paired region, and the country where the API's ``physicalLocation`` is a country
    name (``Ireland``); a state or city (``Virginia``, ``Gävle``) is not compared. Logical regions
    (``europe``, ``global``) are skipped.
    """
    names = _country_by_name(catalog)
    gaps: list[CoverageGap] = []

    def gap(code: str, error: str, message: str) -> None:
        gaps.append(CoverageGap(provider="azure", scope=scope, service="locations",
                                operation=LOCATIONS_OPERATION, error=error, message=message, region=code))

    for code, api in sorted(regions.items()):
        if api.region_type and api.region_type.lower() != "physical":
            continue
        row = catalog.region(f"azure:{code}")
        if row is None:
            gap(code, "UnknownRegion", f"region {code!r} ({api.physical_location or 'no physical location'}, "
                                       f"geography {api.geography or '?'}) is not in the catalog")
            continue
        if api.paired and normalize(row.pair) != api.paired[0]:
            gap(code, "CatalogMismatch", f"paired region of {code!r}: Locations API says {api.paired[0]!r}, "
                                         f"catalog ({row.source.ref}) says {row.pair or 'none'!r}")
        country = names.get(api.physical_location.strip().lower())
        if country and row.country and country != row.country:
            gap(code, "CatalogMismatch", f"country of {code!r}: Locations API physicalLocation "
                                         f"{api.physical_location!r} ({country}), catalog ({row.source.ref}) "
                                         f"says {row.country}")
    return gaps
