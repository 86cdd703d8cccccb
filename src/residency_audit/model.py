"""The typed, immutable records that every stage of the pipeline passes on.

Adapters produce :class:`Resource` and :class:`CoverageGap` records; the inventory produces
:class:`DataCategory`, :class:`Subprocessor`, :class:`Entity` and :class:`Mitigation` records;
all of them travel in an :class:`Estate`. Nothing here does I/O.

Locations are written ``"<namespace>:<code>"``: a provider region keeps the provider's own
spelling (``"aws:eu-north-1"``, ``"azure:westeurope"``, ``"gcp:EUR4"``, ``"oci:uk-london-1"``),
and a place declared directly by country uses the ``country`` namespace (``"country:SE"``).

Examples
--------
>>> p = Placement(location="azure:northeurope", role=Role.SECONDARY,
...               evidence=Evidence(source="api", ref="properties.secondaryLocation"))
>>> p.namespace, p.code
('azure', 'northeurope')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

__all__ = [
    "AgreedLocations",
    "CoverageGap",
    "DataCategory",
    "Entity",
    "Estate",
    "Evidence",
    "Finding",
    "GapLevel",
    "Link",
    "LinkRelation",
    "Mitigation",
    "Placement",
    "Resource",
    "Role",
    "ScanMetadata",
    "Severity",
    "Subprocessor",
    "freeze_tags",
    "split_location",
]


class Role(StrEnum):
    """What a copy at a place is for."""

    PRIMARY = "primary"
    REPLICA = "replica"
    SECONDARY = "secondary"
    BACKUP = "backup"
    PROCESSING = "processing"
    CACHE = "cache"


class LinkRelation(StrEnum):
    """How one holder of data passes it to another holder."""

    REPLICATES_TO = "replicates_to"
    BACKS_UP_TO = "backs_up_to"
    SUBCONTRACTS = "subcontracts"


class Severity(StrEnum):
    """Finding severity, ordered from least to most severe by :meth:`rank`."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """Position in the order info < low < medium < high < critical."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def split_location(location: str) -> tuple[str, str]:
    """Split ``"aws:eu-north-1"`` into ``("aws", "eu-north-1")``.

    >>> split_location("country:SE")
    ('country', 'SE')
    """
    namespace, sep, code = location.partition(":")
    if not sep or not namespace or not code:
        raise ValueError(f"location {location!r} is not of the form 'namespace:code'")
    return namespace, code


def freeze_tags(tags: Mapping[str, str] | None) -> Mapping[str, str]:
    """A read-only, key-sorted copy of ``tags``."""
    return MappingProxyType({str(k): str(v) for k, v in sorted((tags or {}).items())})


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """Where a fact came from, so that an auditor can defend it.

    ``source`` is ``api`` (a cloud API field), ``inventory`` (a declared file), ``catalog``
    (a packaged or user catalog row) or ``derived`` (a rule of this library, named in ``ref``).
    ``ref`` says exactly where: an API operation and field, ``file:line``, or a catalog row.
    """

    source: str
    ref: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.source}: {self.ref}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass(frozen=True, slots=True, kw_only=True)
class Placement:
    """One place where a holder keeps (or processes) a copy, and the role of that copy."""

    location: str
    role: Role = Role.PRIMARY
    evidence: Evidence

    @property
    def namespace(self) -> str:
        return split_location(self.location)[0]

    @property
    def code(self) -> str:
        return split_location(self.location)[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreedLocations:
    """Where a contract says the data may be: ``places`` are ``EEA``, ``EU``, country codes or
    locations (``"aws:eu-north-1"``); ``clause`` is the contract clause that says so.

    Declared on a resource or a subprocessor (a supplier agreement), it binds that holder and every
    copy that flows on from it: replicas, backups and subprocessors, to any depth.
    """

    places: tuple[str, ...]
    clause: str
    evidence: Evidence


@dataclass(frozen=True, slots=True, kw_only=True)
class Mitigation:
    """A declared fact that removes a holder's access to data in the clear.

    It sits on a link of the graph, named by the ids of its two ends (``source`` and
    ``target`` graph node ids, in either order), and blocks reach across that link.
    """

    kind: str
    source: str
    target: str
    description: str
    evidence: Evidence
    expires: dt.date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A copy of a holder's data sent to another holder (replication, backup, subcontracting).

    ``categories`` limits which data categories flow across the link; empty means all.
    """

    relation: LinkRelation
    target: str
    evidence: Evidence
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Resource:
    """A cloud or on-premises resource that holds data.

    ``id`` is stable and provider-native (an ARN, an Azure resource id, a GCP full resource
    name, or an inventory id). ``operator`` names the legal entity that runs it when known
    beyond what the catalog says for the provider and region.
    """

    id: str
    provider: str
    service: str
    kind: str
    name: str
    account: str = ""
    placements: tuple[Placement, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: freeze_tags(None))
    links: tuple[Link, ...] = ()
    operator: str | None = None
    operator_evidence: Evidence | None = None
    attributes: Mapping[str, str] = field(default_factory=lambda: freeze_tags(None))
    agreed_locations: AgreedLocations | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Entity:
    """A legal entity: a company, an authority. ``parent`` is the id of its controller."""

    id: str
    name: str
    country: str
    parent: str | None = None
    evidence: Evidence
    parent_evidence: Evidence | None = None
    notes: str = ""
    certifications: tuple[str, ...] = ()
    controlled_from: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Subprocessor:
    """A processor outside the clouds' APIs (a SaaS, a carrier), declared in the inventory."""

    id: str
    name: str
    entity: str
    placements: tuple[Placement, ...]
    evidence: Evidence
    links: tuple[Link, ...] = ()
    tags: Mapping[str, str] = field(default_factory=lambda: freeze_tags(None))
    attributes: Mapping[str, str] = field(default_factory=lambda: freeze_tags(None))
    agreed_locations: AgreedLocations | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DataCategory:
    """A category of data (``patient-records``) and where it is stored or processed.

    ``resources`` are explicit resource ids; ``selectors`` pick resources by tag
    (``{"data-class": "patient"}``); ``subprocessors`` are subprocessor ids.
    """

    id: str
    name: str
    classification: str = ""
    resources: tuple[str, ...] = ()
    selectors: tuple[Mapping[str, str], ...] = ()
    subprocessors: tuple[str, ...] = ()
    evidence: Evidence
    description: str = ""


class GapLevel(StrEnum):
    """How much a coverage gap hides: a whole scope, one service in it, or one record."""

    SCOPE = "scope"
    SERVICE = "service"
    RECORD = "record"


@dataclass(frozen=True, slots=True, kw_only=True)
class CoverageGap:
    """Something a source could not see. Never read as compliant.

    ``level`` says how much was lost: :attr:`GapLevel.SCOPE` (a whole account, subscription,
    project, compartment or region was not read), :attr:`GapLevel.SERVICE` (one service's listing
    in a scope), or :attr:`GapLevel.RECORD` (one record or one detail of a resource). ``field``
    names the member of a record that could not be parsed, when known.
    """

    provider: str
    scope: str
    service: str
    operation: str
    error: str
    message: str = ""
    region: str = ""
    resource: str = ""
    level: GapLevel = GapLevel.SERVICE
    field: str = ""

    @property
    def key(self) -> tuple[str, ...]:
        return (self.provider, self.scope, self.region, self.service, self.operation,
                self.resource, self.error, self.message, self.level.value, self.field)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanMetadata:
    """Who scanned what, when, with which sources."""

    sources: tuple[str, ...] = ()
    started: str = ""
    finished: str = ""
    tool_version: str = ""
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Estate:
    """Everything known about an organisation's data: the input of :func:`residency_audit.audit`."""

    resources: tuple[Resource, ...] = ()
    subprocessors: tuple[Subprocessor, ...] = ()
    entities: tuple[Entity, ...] = ()
    data: tuple[DataCategory, ...] = ()
    mitigations: tuple[Mitigation, ...] = ()
    gaps: tuple[CoverageGap, ...] = ()
    metadata: ScanMetadata = field(default_factory=ScanMetadata)

    def merge(self, *others: Estate) -> Estate:
        """This estate and ``others`` together; later records win where ids collide."""
        estates = (self, *others)

        def by_id(items: list[Any]) -> tuple[Any, ...]:
            merged: dict[str, Any] = {}
            for item in items:
                merged[item.id] = item
            return tuple(merged[k] for k in sorted(merged))

        gaps = {g.key: g for e in estates for g in e.gaps}
        mitigations = {(m.source, m.target, m.kind): m for e in estates for m in e.mitigations}
        return Estate(
            resources=by_id([r for e in estates for r in e.resources]),
            subprocessors=by_id([s for e in estates for s in e.subprocessors]),
            entities=by_id([x for e in estates for x in e.entities]),
            data=by_id([d for e in estates for d in e.data]),
            mitigations=tuple(mitigations[k] for k in sorted(mitigations)),
            gaps=tuple(gaps[k] for k in sorted(gaps)),
            metadata=ScanMetadata(
                sources=tuple(sorted({s for e in estates for s in e.metadata.sources})),
                started=min((e.metadata.started for e in estates if e.metadata.started), default=""),
                finished=max((e.metadata.finished for e in estates), default=""),
                tool_version=self.metadata.tool_version,
                scopes=tuple(sorted({s for e in estates for s in e.metadata.scopes})),
            ),
        )

    def _repr_html_(self) -> str:
        from residency_audit.display import estate_html

        return estate_html(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """A policy rule that does not hold, with the evidence that shows it.

    A finding may stand for several holders that share the rule, placements, operator chain
    and verdict (``holders`` lists them all, ``node`` is the first), and a reach finding for
    every law that reaches a data category through the same route (``laws``; ``law`` is set
    only when there is one). ``route`` says how a law reaches: ``territorial`` (a copy is in its
    country) or ``control`` (an entity in the operator chain is incorporated in or controlled
    from it). ``key`` identifies a group across runs (the finding's :attr:`id` uses it).
    """

    rule: str
    severity: Severity
    node: str
    title: str
    message: str
    remedy: str
    data: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    law: str = ""
    path: tuple[str, ...] = ()
    path_evidence: tuple[str, ...] = ()
    mitigations: tuple[str, ...] = ()
    exception: str = ""
    holders: tuple[str, ...] = ()
    laws: tuple[str, ...] = ()
    route: str = ""
    key: str = ""

    @property
    def id(self) -> str:
        """A stable id for history and diffs: the rule, the node, and the law or group key."""
        return f"{self.rule}|{self.node}|{self.key or self.law}"

    @property
    def all_holders(self) -> tuple[str, ...]:
        """Every holder the finding concerns (the node alone when it stands for one)."""
        return self.holders or ((self.node,) if not self.node.startswith(("data:", "gap:", "scope:")) else ())

    @property
    def all_laws(self) -> tuple[str, ...]:
        """Every law the finding names."""
        return self.laws or ((self.law,) if self.law else ())

    @property
    def sort_key(self) -> tuple[int, str, str, str]:
        return (-self.severity.rank, self.rule, self.node, self.key or self.law)

    def _repr_html_(self) -> str:
        from residency_audit.display import finding_html

        return finding_html(self)
