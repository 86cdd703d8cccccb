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
import datetime as dt
import functools
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources
from typing import Any

from residency_audit.errors import InputError, unknown_field_message

__all__ = [
    "Catalog",
    "CatalogEntity",
    "CatalogSource",
    "Certification",
    "Country",
    "DatedStatus",
    "Holding",
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
    #: ``primary`` (statute, official journal, company register, the provider's own page),
    #: ``secondary`` (press, law firms, third-party reproductions) or empty when not said.
    kind: str = ""

    @property
    def ref(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        mark = "" if self.verified else " [unverified]"
        if self.kind == "secondary":
            mark += " [secondary source]"
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
    #: The status at the catalog's date (set by :meth:`Catalog.at`); None when the law has no
    #: dated status, which reads as in force.
    status: DatedStatus | None = None

    @property
    def in_force(self) -> bool:
        """Whether the law can reach anything at the catalog's date."""
        return self.status is None or self.status.holds


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
    #: The dated adequacy status that set ``adequacy`` at the catalog's date (see :meth:`Catalog.at`).
    adequacy_status: DatedStatus | None = None


#: Statuses under which a dated fact holds: a law reaches, an adequacy decision covers.
HOLDING_STATUSES = frozenset({"in-force", "renewed", "extended", "sunset-transition", "challenged",
                              "under-appeal", "unknown"})
#: Statuses under which it does not.
ENDED_STATUSES = frozenset({"lapsed", "expired", "invalidated", "repealed", "not-in-force"})
CONTROLS = ("yes", "no", "veto", "unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class DatedStatus:
    """What held for a law or a country's adequacy from ``valid_from`` to ``valid_to`` (inclusive).

    ``subject`` is the law id or the country code; ``case`` names a court case the status rests
    on (an appeal, a judgment); ``decision`` and ``scope`` are an adequacy decision's. A status
    the catalog does not know for a date is ``unknown`` and holds: unknown is never a pass.
    """

    subject: str
    status: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    case: str
    note: str
    source: CatalogSource
    decision: str = ""
    scope: str = ""

    @property
    def holds(self) -> bool:
        return self.status in HOLDING_STATUSES

    def covers(self, day: dt.date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))

    def describe(self) -> str:
        """One line: status, period, case and note, for reports and the ``laws`` command."""
        period = f"{self.valid_from or '…'} to {self.valid_to or '…'}"
        case = f"; {self.case}" if self.case else ""
        return f"{self.status} ({period}){case}. {self.note}".strip()


@dataclass(frozen=True, slots=True, kw_only=True)
class Holding:
    """A holding in an entity: who, what share (percent; None when not known), which control.

    ``control`` is ``yes`` (controls: majority, or appoints the management), ``no`` (a minority
    share without control), ``veto`` (a minority share with a veto) or ``unknown``.
    """

    entity: str
    parent: str
    share: float | None
    control: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    note: str
    source: CatalogSource

    def covers(self, day: dt.date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


@dataclass(frozen=True, slots=True, kw_only=True)
class Certification:
    """An entity's listing under a certification scheme (``dpf``: the EU-US Data Privacy
    Framework list), valid from ``valid_from`` to ``valid_to`` (inclusive; open when None).

    At an audit's date only the listings valid then count: an expired DPF listing no longer lets a
    certified-only adequacy decision cover the entity.
    """

    entity: str
    certification: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    note: str
    source: CatalogSource

    def covers(self, day: dt.date) -> bool:
        return ((self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or day <= self.valid_to))


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
    kind = str(row.get("source_kind") or "").strip().lower()
    if kind not in ("", "primary", "secondary"):
        raise InputError(file, line, "source_kind", f"{kind!r} is not primary or secondary")
    if verified and kind == "secondary":
        raise InputError(file, line, "verified", "a fact that rests on a secondary source is not "
                         "verified: cite a primary source (statute, official journal, company "
                         "register, the provider's own page) or set verified to no")
    return CatalogSource(url=url, retrieved=retrieved, verified=verified, file=file, line=line,
                         kind=kind)


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


def _date(value: str, file: str, line: int, field_name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(file, line, field_name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _period(row: Mapping[str, Any], file: str, line: int) -> tuple[dt.date | None, dt.date | None]:
    start = _date(_opt(row, "valid_from"), file, line, "valid_from")
    end = _date(_opt(row, "valid_to"), file, line, "valid_to")
    if start is not None and end is not None and end < start:
        raise InputError(file, line, "valid_to", f"{end} is before valid_from {start}")
    return start, end


def _status_value(row: Mapping[str, Any], file: str, line: int) -> str:
    status = _req(row, "status", file, line).lower()
    if status not in HOLDING_STATUSES | ENDED_STATUSES:
        raise InputError(file, line, "status", f"{status!r} is not one of "
                         + ", ".join(sorted(HOLDING_STATUSES | ENDED_STATUSES)))
    return status


def _law_status(row: Mapping[str, Any], file: str, line: int) -> DatedStatus:
    start, end = _period(row, file, line)
    return DatedStatus(subject=_req(row, "law", file, line), status=_status_value(row, file, line),
                       valid_from=start, valid_to=end, case=_opt(row, "case"),
                       note=_opt(row, "note"), source=_source(row, file, line))


def _adequacy(row: Mapping[str, Any], file: str, line: int) -> DatedStatus:
    start, end = _period(row, file, line)
    status = _status_value(row, file, line)
    decision = _opt(row, "decision")
    if status in HOLDING_STATUSES and not decision:
        raise InputError(file, line, "decision", f"a {status} adequacy status names its decision")
    return DatedStatus(subject=_country_code(_req(row, "country", file, line), file, line, "country"),
                       status=status, valid_from=start, valid_to=end, case=_opt(row, "case"),
                       note=_opt(row, "note"), source=_source(row, file, line), decision=decision,
                       scope=_opt(row, "scope"))


def _holding(row: Mapping[str, Any], file: str, line: int) -> Holding:
    start, end = _period(row, file, line)
    share_text = _opt(row, "share").rstrip("%").strip()
    share: float | None = None
    if share_text:
        try:
            share = float(share_text)
        except ValueError:
            raise InputError(file, line, "share", f"{share_text!r} is not a percentage") from None
        if not 0 <= share <= 100:
            raise InputError(file, line, "share", f"{share_text} is not between 0 and 100")
    control = _opt(row, "control").lower() or "unknown"
    if control not in CONTROLS:
        raise InputError(file, line, "control", f"{control!r} is not one of {', '.join(CONTROLS)}")
    return Holding(entity=_req(row, "entity", file, line), parent=_req(row, "parent", file, line),
                   share=share, control=control, valid_from=start, valid_to=end,
                   note=_opt(row, "note"), source=_source(row, file, line))


def _certification(row: Mapping[str, Any], file: str, line: int) -> Certification:
    start, end = _period(row, file, line)
    return Certification(entity=_req(row, "entity", file, line),
                         certification=_req(row, "certification", file, line).lower(),
                         valid_from=start, valid_to=end, note=_opt(row, "note"),
                         source=_source(row, file, line))


_PARSERS = {"regions": _region, "entities": _entity, "laws": _law, "countries": _country,
            "law_status": _law_status, "adequacy": _adequacy, "holdings": _holding,
            "certifications": _certification}


def _by_subject(items: Iterable[Any], key: Any) -> dict[str, tuple[Any, ...]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return {k: tuple(sorted(v, key=lambda i: (i.valid_from or dt.date.min, str(getattr(i, "parent", "")))))
            for k, v in sorted(out.items())}


def _status_at(periods: Sequence[DatedStatus], day: dt.date) -> DatedStatus | None:
    """The status of ``periods`` on ``day``: the covering one; ``not-in-force`` before the first
    when that one starts the fact; otherwise ``unknown`` (which holds for a law and covers no
    transfer); None when there are no periods."""
    if not periods:
        return None
    for p in periods:
        if p.covers(day):
            return p
    first = periods[0]
    if first.valid_from is not None and day < first.valid_from and first.holds:
        return replace(first, status="not-in-force", valid_from=None, valid_to=first.valid_from
                       - dt.timedelta(days=1), case="", decision="", scope="",
                       note=f"Not yet in force on {day}.")
    last = max(periods, key=lambda p: p.valid_to or dt.date.max)
    return replace(last, status="unknown", valid_from=None, valid_to=None, case="", decision="",
                   scope="", note=f"The catalog does not know the status on {day}; treated as "
                   "holding until a dated row says otherwise.")


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
    #: Dated statuses of laws and of countries' adequacy, and holdings, by subject, oldest first.
    law_statuses: Mapping[str, tuple[DatedStatus, ...]] = field(default_factory=dict)
    adequacy: Mapping[str, tuple[DatedStatus, ...]] = field(default_factory=dict)
    holdings: Mapping[str, tuple[Holding, ...]] = field(default_factory=dict)
    #: Entities' certification listings (e.g. ``dpf``), by entity, oldest first.
    certifications: Mapping[str, tuple[Certification, ...]] = field(default_factory=dict)
    #: The date the facts were evaluated at (:meth:`at`); None for the undated catalog.
    day: dt.date | None = None

    def law_status(self, law: str, day: dt.date) -> DatedStatus | None:
        """The status of ``law`` on ``day`` (None: no dated status, read as in force).

        >>> import datetime as dt
        >>> cat = default_catalog()
        >>> cat.law_status("us-cloud-act", dt.date(2017, 1, 1)).status
        'not-in-force'
        >>> cat.law_status("us-fisa-702", dt.date(2025, 1, 1)).status
        'renewed'
        """
        return _status_at(self.law_statuses.get(law, ()), day)

    def adequacy_status(self, country: str, day: dt.date) -> DatedStatus | None:
        """The adequacy status of ``country`` on ``day`` (None: no dated rows; countries.csv holds)."""
        return _status_at(self.adequacy.get(country, ()), day)

    def holdings_of(self, entity: str) -> tuple[Holding, ...]:
        """The holdings in ``entity`` (at the catalog's date when it has one)."""
        return self.holdings.get(entity, ())

    def certifications_of(self, entity: str) -> tuple[Certification, ...]:
        """The certification listings of ``entity`` (only those valid at the catalog's date when
        it has one)."""
        return self.certifications.get(entity, ())

    def at(self, day: dt.date) -> Catalog:
        """The facts that held on ``day``: each law with its status (a law not in force reaches
        nothing), each country's adequacy as it stood (a decision not in force covers nothing),
        only the holdings valid then, and each entity's parent from its controlling holding.

        >>> import datetime as dt
        >>> cat = default_catalog()
        >>> cat.at(dt.date(2021, 1, 1)).countries["US"].adequacy
        ''
        >>> cat.at(dt.date(2024, 1, 1)).countries["US"].adequacy_scope
        'certified-only'
        """
        laws = {k: replace(v, status=self.law_status(k, day)) for k, v in self.laws.items()}
        countries = dict(self.countries)
        for code, periods in self.adequacy.items():
            c = countries.get(code)
            status = _status_at(periods, day)
            if c is None or status is None:
                continue
            if status.holds and status.decision:
                countries[code] = replace(c, adequacy=status.decision, adequacy_scope=status.scope,
                                          adequacy_status=status)
            else:  # ended, not yet adopted, or unknown on that day: it covers no transfer
                countries[code] = replace(c, adequacy="", adequacy_scope="", adequacy_status=status)
        holdings = {k: kept for k, v in self.holdings.items()
                    if (kept := tuple(h for h in v if h.covers(day)))}
        certifications = {k: listed for k, v in self.certifications.items()
                          if (listed := tuple(c for c in v if c.covers(day)))}
        entities = dict(self.entities)
        for eid, current in holdings.items():
            e = entities.get(eid)
            controlling = [h.parent for h in current if h.control == "yes"]
            if e is not None and len(controlling) == 1 and e.parent != controlling[0]:
                entities[eid] = replace(e, parent=controlling[0])
        return replace(self, laws=laws, countries=countries, entities=entities, holdings=holdings,
                       certifications=certifications, day=day)

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
        todo = [region]
        seen: set[tuple[str, str, str]] = set()
        while todo:  # iterative, and each region once: a member cycle cannot recurse forever
            current = todo.pop()
            key = _region_key(current)
            if key in seen:
                continue
            seen.add(key)
            if current.country:
                out.add(current.country)
            out.update(current.countries)
            for member in current.members:
                m = self.region(f"{current.provider}:{member}")
                if m is not None:
                    todo.append(m)
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
        for group in (self.regions, self.entities, self.laws, self.countries, self.law_statuses,
                      self.adequacy, self.holdings, self.certifications):
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
        reader = csv.DictReader(io.StringIO(file.read_text(encoding="utf-8-sig")))
        for row in reader:
            rows.append((f"catalog/data/{file.name}", reader.line_num, row))
    return rows


#: The largest user catalog file read.
MAX_BYTES = 20 * 1024 * 1024

@functools.cache
def _fields(section: str) -> tuple[str, ...]:
    """The fields a row of ``section`` may have: the columns of its packaged files."""
    data = resources.files("residency_audit.catalog").joinpath("data")
    names: set[str] = set()
    for f in data.iterdir():
        if f.name.endswith(".csv") and (f.name == f"{section}.csv" or f.name.startswith(f"{section}_")):
            header = next(csv.reader(io.StringIO(f.read_text(encoding="utf-8-sig"))), [])
            names.update(h.strip() for h in header if h.strip())
    return tuple(sorted(names))


_FLAGS = {"verified", "territorial", "extraterritorial", "eu", "eea"}
_LISTS = {"members", "countries"}


def _cell(value: Any, key: str, file: str, line: int) -> str:
    """A YAML value of a catalog row as the text a CSV cell would hold; InputError otherwise."""
    if value is None:
        return ""
    if isinstance(value, bool):
        if key in _FLAGS:
            return "yes" if value else "no"
        raise InputError(file, line, key, "a boolean where text belongs; YAML reads yes, no, on, "
                         "off, true and false as booleans: put the value in quotes (country: 'NO')")
    if isinstance(value, str | int | float | dt.date):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if key in _LISTS and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "a value"
    raise InputError(file, line, key, f"{kind} where text belongs")


def _user_row(section: str, row: Mapping[Any, Any], file: str, line: int,
              key_line: Any) -> dict[str, str]:
    """A row of a user catalog file, checked: known fields only, each a piece of text."""
    fields = _fields(section)
    for key in sorted(row, key=str):
        if key not in fields:
            raise InputError(file, key_line(key), str(key), unknown_field_message(str(key), fields))
    return {str(k): _cell(v, str(k), file, key_line(k)) for k, v in row.items()}


def _rows_from_user(path: str | os.PathLike[str]) -> dict[str, list[tuple[str, int, Mapping[str, Any]]]]:
    from residency_audit.yamlfile import line_of, load_yaml

    origin = str(path)
    doc = load_yaml(path, max_bytes=MAX_BYTES, what="catalog")
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(origin, line_of(doc), None, "a catalog file is a mapping of sections")
    out: dict[str, list[tuple[str, int, Mapping[str, Any]]]] = {}
    for section, rows in doc.items():
        if section not in _PARSERS:
            raise InputError(origin, line_of(doc, section), str(section),
                             unknown_field_message(str(section), _PARSERS).replace(
                                 "unknown field", "unknown section", 1))
        if not isinstance(rows, list):
            raise InputError(origin, line_of(doc, section), str(section), "must be a list of rows")
        for i, row in enumerate(rows):
            line = line_of(rows, i) or 0
            if not isinstance(row, dict):
                raise InputError(origin, line, f"{section}[{i}]", "must be a mapping")

            def key_line(key: Any, row: Any = row, line: int = line) -> int:
                return line_of(row, key) or line

            out.setdefault(str(section), []).append(
                (origin, line, _user_row(str(section), row, origin, line, key_line)))
    return out


def _cycle(start: str, step: Any) -> list[str] | None:
    """The cycle reached from ``start`` by following ``step`` (a key to its next keys), if any."""
    path: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()
    stack: list[tuple[str, Any]] = [(start, iter(step(start)))]
    path.append(start)
    on_path.add(start)
    while stack:
        node, nexts = stack[-1]
        for nxt in nexts:
            if nxt in on_path:
                return [*path[path.index(nxt):], nxt]
            if nxt not in done:
                stack.append((nxt, iter(step(nxt))))
                path.append(nxt)
                on_path.add(nxt)
                break
        else:
            stack.pop()
            path.pop()
            on_path.discard(node)
            done.add(node)
    return None


def _blame(sources: Iterable[CatalogSource], files: Sequence[str]) -> CatalogSource:
    """The row of a cycle to name: the one read last (a user file's before a packaged one's)."""
    def order(src: CatalogSource) -> tuple[int, int]:
        return (files.index(src.file) if src.file in files else -1, src.line)

    return max(sources, key=order)


def _check_cycles(groups: Mapping[str, Mapping[Any, Any]], files: Sequence[str]) -> None:
    """Refuse a region that is, through its members, its own member, and an entity that is,
    through its parents, its own parent: facts that no reading can make sense of."""
    zones = {f"{k[0]}:{k[2]}": r for k, r in groups["regions"].items() if not k[1]}
    members = {key: [m for m in (f"{r.provider}:{normalize_region_code(r.provider, x)}"
                                 for x in r.members) if m in zones]
               for key, r in zones.items()}
    done: set[str] = set()
    for key in sorted(k for k, m in members.items() if m):
        cycle = None if key in done else _cycle(key, members.__getitem__)
        if cycle:
            src = _blame((zones[c].source for c in cycle[:-1]), files)
            raise InputError(src.file, src.line, "members", "region is its own member through "
                             + " -> ".join(cycle))
        done.add(key)
    entities: Mapping[str, CatalogEntity] = groups["entities"]

    def parent(key: str) -> list[str]:
        e = entities.get(key)
        return [e.parent] if e is not None and e.parent is not None and e.parent in entities else []

    for key in sorted(entities):
        cycle = _cycle(key, parent)
        if cycle:
            src = _blame((entities[c].source for c in cycle[:-1]), files)
            raise InputError(src.file, src.line, "parent", "entity is its own parent through "
                             + " -> ".join(cycle))


def load_catalog(*, extra: Sequence[str | os.PathLike[str]] = (), packaged: bool = True) -> Catalog:
    """The packaged catalog, with each file of ``extra`` (YAML) added on top, in order.

    A user file's errors name the file, the line and the field: an unknown section or field (with
    the closest known one), a value that is not text, a region that is its own member, an entity
    that is its own parent.
    """
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
                elif isinstance(item, DatedStatus):
                    key = (item.subject, item.valid_from)
                elif isinstance(item, Holding):
                    key = (item.entity, item.parent, item.valid_from)
                elif isinstance(item, Certification):
                    key = (item.entity, item.certification, item.valid_from)
                else:
                    key = item.id
                groups[name][key] = item
    _check_cycles(groups, [str(p) for p in extra])
    return Catalog(regions=groups["regions"], entities=groups["entities"], laws=groups["laws"],
                   countries=groups["countries"], files=tuple(str(p) for p in extra),
                   law_statuses=_by_subject(groups["law_status"].values(), lambda s: s.subject),
                   adequacy=_by_subject(groups["adequacy"].values(), lambda s: s.subject),
                   holdings=_by_subject(groups["holdings"].values(), lambda h: h.entity),
                   certifications=_by_subject(groups["certifications"].values(), lambda c: c.entity))


@functools.cache
def default_catalog() -> Catalog:
    """The packaged catalog alone (cached)."""
    return load_catalog()


def region_with(region: Region, **changes: Any) -> Region:
    """A copy of ``region`` with ``changes`` (for tests and overrides)."""
    return replace(region, **changes)
