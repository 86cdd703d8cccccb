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
from residency_audit.model import CoverageGap, Evidence, GapLevel
from residency_audit.providers.azure.arm import list_items
from residency_audit.providers.azure.routes import AzureService, Route, azure_service, read_route
from residency_audit.providers.service import RecordError, member, optional_member, server_reason

__all__ = [
    "LOCATIONS_OPERATION",
    "ROUTES",
    "AzureRegion",
    "RegionFacts",
    "cross_check",
    "normalize",
    "parse_location",
    "parse_locations",
    "parse_subscription",
    "read_locations",
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
API_VERSION = "2022-12-01"
"""The Subscriptions API version read."""


_NORMALIZED: dict[str, str] = {}
"""Region spellings already normalised (a tenant names a few dozen regions, thousands of times)."""
_NORMALIZED_MAX = 4096


def normalize(code: str | None) -> str:
    """Azure's programmatic region name: lower case, no spaces (``West Europe`` → ``westeurope``).

    >>> normalize("North Europe")
    'northeurope'
    """
    if type(code) is not str:
        return normalize_region_code("azure", code or "")
    found = _NORMALIZED.get(code)
    if found is None:
        found = normalize_region_code("azure", code)
        if len(_NORMALIZED) < _NORMALIZED_MAX:
            _NORMALIZED[code] = found
    return found


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


def parse_location(row: Mapping[str, Any]) -> AzureRegion:
    """One region from a Locations API item (REST JSON); :class:`RecordError` naming a bad member."""
    meta = optional_member(row, "metadata", dict, {})

    def meta_text(name: str) -> str:
        return optional_member(meta, name, str, "", path="metadata.")

    pairs = optional_member(meta, "pairedRegion", list, [], path="metadata.")
    paired = []
    for i, p in enumerate(pairs):
        if not isinstance(p, Mapping):
            raise RecordError(f"metadata.pairedRegion[{i}]", f"expected an object, got {type(p).__name__}")
        name = optional_member(p, "name", str, "", path=f"metadata.pairedRegion[{i}].")
        if name:
            paired.append(normalize(name))
    return AzureRegion(
        name=normalize(member(row, "name", str)),
        display_name=optional_member(row, "displayName", str, ""),
        region_type=meta_text("regionType"), geography=meta_text("geography"),
        geography_group=meta_text("geographyGroup"), physical_location=meta_text("physicalLocation"),
        paired=tuple(paired),
    )


def parse_locations(rows: Iterable[Mapping[str, Any]]) -> dict[str, AzureRegion]:
    """Regions by programmatic name from Locations API items (REST JSON); a bad item raises."""
    out = {r.name: r for r in map(parse_location, rows)}
    return dict(sorted(out.items()))


def read_locations(rows: Iterable[Any], *, scope: str) -> tuple[dict[str, AzureRegion], list[CoverageGap]]:
    """Regions from Locations API items; an item that cannot be read is a record-level gap."""
    out: dict[str, AzureRegion] = {}
    gaps: list[CoverageGap] = []
    for index, row in enumerate(rows):
        try:
            region = parse_location(row)
        except RecordError as exc:
            name = row.get("name") if isinstance(row, Mapping) else None
            gaps.append(CoverageGap(provider="azure", scope=scope, service="locations", operation=LOCATIONS_OPERATION,
                                    error="UnparseableRecord", level=GapLevel.RECORD, field=exc.field,
                                    resource=name if isinstance(name, str) and name else f"record #{index}",
                                    message=server_reason(f"RecordError: {exc}")))
            continue
        out[region.name] = region
    return dict(sorted(out.items())), gaps


def parse_subscription(item: Mapping[str, Any]) -> tuple[str, str]:
    """(subscription id, state) of a ``Subscriptions_List`` item; :class:`RecordError` when unreadable.

    >>> parse_subscription({"subscriptionId": "s1", "state": "Enabled"})
    ('s1', 'Enabled')
    """
    sub = member(item, "subscriptionId", str).strip()
    if not sub or "/" in sub:
        raise RecordError("subscriptionId", "not a subscription id")
    return sub, optional_member(item, "state", str, "") or "Enabled"


@dataclass(frozen=True, slots=True, kw_only=True)
class RegionFacts:
    """The regions the API described, and the catalog to fall back on."""

    regions: Mapping[str, AzureRegion] = field(default_factory=dict)
    catalog: Catalog | None = None
    _pairs: dict[str, tuple[str, Evidence] | None] = field(default_factory=dict, init=False, repr=False,
                                                            compare=False)
    _known: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def pair(self, code: str) -> tuple[str, Evidence] | None:
        """The paired region of ``code``: the Locations API's, else the catalog's; None if neither."""
        code = normalize(code)
        if code in self._pairs:  # asked once per resource: the answer per region is kept
            return self._pairs[code]
        found = self._pairs[code] = self._pair(code)
        return found

    def _pair(self, code: str) -> tuple[str, Evidence] | None:
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
        found = self._known.get(code)
        if found is None:
            found = self._known[code] = code in self.regions or (
                self.catalog is not None and self.catalog.region(f"azure:{code}") is not None)
        return found


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


SERVICES: tuple[AzureService, ...] = (
    azure_service(name="subscriptions", routes=ROUTES[:1], fetch=list_items, parse=parse_subscription,
                  scope_kind="tenant", api_version=API_VERSION,
                  finds="the subscriptions the credential can read, and their state"),
    azure_service(name="locations", routes=ROUTES[1:], fetch=list_items, parse=parse_location,
                  api_version=API_VERSION,
                  finds="regions: physical location, geography, paired region (cross-checked with the catalog)"),
)
"""Subscriptions and the Locations API, declared once."""
