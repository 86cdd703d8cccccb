"""Facts with sources: regions, legal entities, disclosure laws, countries and adequacy.

The packaged facts are CSV files in ``catalog/data`` (one row a fact, each with its source URL,
the date it was read and whether it was verified there). A user file (YAML, same fields) adds
rows or overrides packaged ones by key.

>>> cat = default_catalog()
>>> cat.region("aws:eu-north-1").country
'SE'
>>> cat.region("azure:West Europe").pair
'northeurope'
>>> cat.region("aws:mars-central-1") is None
True
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from typing import Any

from residency_audit.errors import InputError

__all__ = [
    "Catalog",
    "CatalogEntity",
    "CatalogSource",
    "Country",
    "Law",
    "Region",
    "default_catalog",
    "load_catalog",
    "normalize_region_code",
]

_YES = {"yes", "true", "1", "y"}


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogSource:
    """Where a catalog row comes from: a public URL, the date read, and whether it was verified."""

    url: str
    retrieved: str
    verified: bool
    file: str
    line: int

    @property
    def ref(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        mark = "" if self.verified else " [unverified]"
        return f"{self.url} (retrieved {self.retrieved}){mark}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Region:
    """A provider location: a region, or a multi-/dual-region zone with member regions.

    ``service`` is empty for a location of the whole provider, or names the one service whose
    location codes it belongs to (``spanner`` instance configurations).
    """

    provider: str
    code: str
    service: str
    kind: str
    country: str | None
    city: str
    members: tuple[str, ...]
    countries: tuple[str, ...]
    pair: str | None
    operator: str
    notes: str
    source: CatalogSource

    @property
    def key(self) -> str:
        """The location id: ``provider:code`` (``provider:service/code`` for a service's own)."""
        return f"{self.provider}:{self.service}/{self.code}" if self.service else f"{self.provider}:{self.code}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogEntity:
    """A legal entity in the catalog, with its parent (controller) and country of incorporation.

    ``controlled_from`` names the country from which an entity with no parent is in fact
    controlled when that differs from where it is incorporated (a Cayman Islands holding run from
    China); laws that reach by control treat it like incorporation there.
    """

    id: str
    name: str
    country: str
    parent: str | None
    notes: str
    source: CatalogSource
    controlled_from: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Law:
    """A disclosure law: who issues it and whether it reaches by territory, by control, or both."""

    id: str
    name: str
    country: str
    territorial: bool
    extraterritorial: bool
    citation: str
    summary: str
    source: CatalogSource


@dataclass(frozen=True, slots=True, kw_only=True)
class Country:
    """A country: EU/EEA membership and the EU adequacy decision that covers it, if any.

    ``adequacy_scope`` is ``full``, ``partial`` (e.g. commercial organisations only) or
    ``certified-only`` (the EU-US Data Privacy Framework covers only certified organisations).
    """

    code: str
    name: str
    eu: bool
    eea: bool
    adequacy: str
    adequacy_scope: str
    source: CatalogSource


def normalize_region_code(provider: str, code: str) -> str:
    """The spelling used to look a region up: case-insensitive, Azure display names too.

    >>> normalize_region_code("azure", "West Europe"), normalize_region_code("gcp", "EUROPE-NORTH1")
    ('westeurope', 'europe-north1')
    """
    c = code.strip().lower()
    if provider == "azure":
        c = c.replace(" ", "")
    return c


def _split(value: str) -> tuple[str, ...]:
    return tuple(sorted({v for v in value.replace(",", " ").split() if v}))


def _source(row: Mapping[str, Any], file: str, line: int) -> CatalogSource:
    url = str(row.get("source") or "").strip()
    retrieved = str(row.get("retrieved") or "").strip()
    if not url:
        raise InputError(file, line, "source", "every catalog row needs a source")
    if not retrieved:
        raise InputError(file, line, "retrieved", "every catalog row needs the date it was read")
    verified = str(row.get("verified", "no")).strip().lower() in _YES
    return CatalogSource(url=url, retrieved=retrieved, verified=verified, file=file, line=line)


def _req(row: Mapping[str, Any], key: str, file: str, line: int) -> str:
    value = str(row.get(key) or "").strip()
    if not value:
        raise InputError(file, line, key, "required")
    return value


def _opt(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    return "" if value is None else str(value).strip()


def _country_code(value: str, file: str, line: int, field: str) -> str:
    v = value.strip().upper()
    if len(v) != 2 or not v.isalpha() or not v.isascii():
        raise InputError(file, line, field, f"{value!r} is not an ISO 3166-1 alpha-2 code")
    return v


def _region(row: Mapping[str, Any], file: str, line: int) -> Region:
    provider = _req(row, "provider", file, line).lower()
    country = _opt(row, "country")
    return Region(
        provider=provider,
        code=_req(row, "code", file, line),
        service=_opt(row, "service").lower(),
        kind=_opt(row, "kind") or "region",
        country=_country_code(country, file, line, "country") if country else None,
        city=_opt(row, "city"),
        members=_split(_opt(row, "members")),
        countries=tuple(_country_code(c, file, line, "countries") for c in _split(_opt(row, "countries"))),
        pair=_opt(row, "pair") or None,
        operator=_opt(row, "operator"),
        notes=_opt(row, "notes"),
        source=_source(row, file, line),
    )


def _entity(row: Mapping[str, Any], file: str, line: int) -> CatalogEntity:
    return CatalogEntity(
        id=_req(row, "id", file, line),
        name=_req(row, "name", file, line),
        country=_country_code(_req(row, "country", file, line), file, line, "country"),
        parent=_opt(row, "parent") or None,
        notes=_opt(row, "notes"),
        source=_source(row, file, line),
        controlled_from=_country_code(_opt(row, "controlled_from"), file, line, "controlled_from")
        if _opt(row, "controlled_from") else None,
    )


def _law(row: Mapping[str, Any], file: str, line: int) -> Law:
    return Law(
        id=_req(row, "id", file, line),
        name=_req(row, "name", file, line),
        country=_req(row, "country", file, line).upper(),
        territorial=_opt(row, "territorial").lower() in _YES,
        extraterritorial=_opt(row, "extraterritorial").lower() in _YES,
        citation=_req(row, "citation", file, line),
        summary=_opt(row, "summary"),
        source=_source(row, file, line),
    )


def _country(row: Mapping[str, Any], file: str, line: int) -> Country:
    return Country(
        code=_country_code(_req(row, "code", file, line), file, line, "code"),
        name=_req(row, "name", file, line),
        eu=_opt(row, "eu").lower() in _YES,
        eea=_opt(row, "eea").lower() in _YES,
        adequacy=_opt(row, "adequacy"),
        adequacy_scope=_opt(row, "adequacy_scope"),
        source=_source(row, file, line),
    )


_PARSERS = {"regions": _region, "entities": _entity, "laws": _law, "countries": _country}


def _region_key(r: Region) -> tuple[str, str, str]:
    return (r.provider, r.service, normalize_region_code(r.provider, r.code))


@dataclass(frozen=True, slots=True)
class Catalog:
    """All facts, keyed for lookup. Build with :func:`load_catalog` or :func:`default_catalog`."""

    regions: Mapping[tuple[str, str, str], Region]
    entities: Mapping[str, CatalogEntity]
    laws: Mapping[str, Law]
    countries: Mapping[str, Country]
    files: tuple[str, ...] = ()

    def region(self, location: str, *, service: str = "") -> Region | None:
        """The region for ``"provider:code"``, preferring ``service``'s own codes; else None."""
        provider, sep, code = location.partition(":")
        if not sep:
            return None
        provider = provider.lower()
        if "/" in code and not service:
            service, _, code = code.partition("/")
        norm = normalize_region_code(provider, code)
        if service:
            found = self.regions.get((provider, service.lower(), norm))
            if found is not None:
                return found
        return self.regions.get((provider, "", norm))

    def region_countries(self, region: Region) -> tuple[str, ...]:
        """Every country where data in ``region`` can be: its own, its zone's, its members'."""
        out: set[str] = set()
        if region.country:
            out.add(region.country)
        out.update(region.countries)
        for member in region.members:
            m = self.region(f"{region.provider}:{member}")
            if m is not None and m is not region:
                out.update(self.region_countries(m))
        return tuple(sorted(out))

    def is_eea(self, country: str) -> bool:
        c = self.countries.get(country)
        return bool(c and c.eea)

    def parent_chain(self, entity: str) -> list[str]:
        """``entity`` and its parents up to the top, stopping at a cycle."""
        chain: list[str] = []
        current: str | None = entity
        while current is not None and current not in chain:
            chain.append(current)
            e = self.entities.get(current)
            current = e.parent if e else None
        return chain

    def version(self) -> str:
        """A short digest of every row, so that history can say which facts a run used."""
        import hashlib

        h = hashlib.sha256()
        for group in (self.regions, self.entities, self.laws, self.countries):
            for key in sorted(group, key=str):
                h.update(repr((key, group[key])).encode())  # type: ignore[index]
        return h.hexdigest()[:12]


def _rows_from_packaged(name: str) -> Iterable[tuple[str, int, dict[str, str]]]:
    """Rows of ``data/<name>.csv`` and of every ``data/<name>_*.csv``, in sorted filename order."""
    data = resources.files("residency_audit.catalog").joinpath("data")
    files = sorted((f for f in data.iterdir() if f.name.endswith(".csv") and (
        f.name == f"{name}.csv" or f.name.startswith(f"{name}_"))), key=lambda f: f.name)
    rows: list[tuple[str, int, dict[str, str]]] = []
    for file in files:
        reader = csv.DictReader(io.StringIO(file.read_text(encoding="utf-8")))
        for row in reader:
            rows.append((f"catalog/data/{file.name}", reader.line_num, row))
    return rows


def _rows_from_user(path: str | os.PathLike[str]) -> dict[str, list[tuple[str, int, Mapping[str, Any]]]]:
    from residency_audit.yamlfile import line_of, load_yaml

    origin = str(path)
    doc = load_yaml(path)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(origin, line_of(doc), None, "a catalog file is a mapping of sections")
    out: dict[str, list[tuple[str, int, Mapping[str, Any]]]] = {}
    for section, rows in doc.items():
        if section not in _PARSERS:
            raise InputError(origin, line_of(doc, section), str(section),
                             f"unknown section; expected one of {', '.join(sorted(_PARSERS))}")
        if not isinstance(rows, list):
            raise InputError(origin, line_of(doc, section), str(section), "must be a list of rows")
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise InputError(origin, line_of(rows, i), f"{section}[{i}]", "must be a mapping")
            out.setdefault(str(section), []).append((origin, line_of(rows, i) or 0, row))
    return out


def load_catalog(*, extra: Sequence[str | os.PathLike[str]] = (), packaged: bool = True) -> Catalog:
    """The packaged catalog, with each file of ``extra`` (YAML) added on top, in order."""
    groups: dict[str, dict[Any, Any]] = {name: {} for name in _PARSERS}
    layers: list[dict[str, list[tuple[str, int, Mapping[str, Any]]]]] = []
    if packaged:
        layers.append({name: list(_rows_from_packaged(name)) for name in _PARSERS})
    layers.extend(_rows_from_user(p) for p in extra)
    for layer in layers:
        for name, rows in layer.items():
            parse = _PARSERS[name]
            for file, line, row in rows:
                item: Any = parse(row, file, line)
                if isinstance(item, Region):
                    key: Any = _region_key(item)
                elif isinstance(item, Country):
                    key = item.code
                else:
                    key = item.id
                groups[name][key] = item
    return Catalog(regions=groups["regions"], entities=groups["entities"], laws=groups["laws"],
                   countries=groups["countries"], files=tuple(str(p) for p in extra))


@functools.cache
def default_catalog() -> Catalog:
    """The packaged catalog alone (cached)."""
    return load_catalog()


def region_with(region: Region, **changes: Any) -> Region:
    """A copy of ``region`` with ``changes`` (for tests and overrides)."""
    return replace(region, **changes)
