"""Pure helpers that shape OCI answers into :mod:`residency_audit.model` records.

OCI answers are read as the SDK models' dictionaries (``oci.util.to_dict``): member names are
the models' attribute names (``destination_region_name``), the same names as their
``swagger_types``. Every resource carries its compartment (``compartment_id``,
``compartment_path``), its realm and its tags (freeform as they are, defined tags as
``Namespace.key``).

>>> ocid_region("ocid1.autonomousdatabase.oc1.uk-london-1.anqwkljr", {})
'uk-london-1'
>>> ocid_region("ocid1.database.oc1.fra.abc", {"fra": "eu-frankfurt-1"})
'eu-frankfurt-1'
>>> ocid_realm("ocid1.tenancy.oc19..aaaa")
'oc19'
>>> dict(oci_tags({"team": "tip"}, {"Residency": {"data-class": "tip-off"}}))
{'Residency.data-class': 'tip-off', 'team': 'tip'}
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from residency_audit.model import (
    Evidence,
    Link,
    LinkRelation,
    Placement,
    Resource,
    Role,
    freeze_tags,
)
from residency_audit.providers.service import RecordError

__all__ = [
    "PROVIDER",
    "REFERENCED",
    "Compartment",
    "Where",
    "build_resource",
    "evidence",
    "link",
    "merge_resources",
    "oci_tags",
    "ocid_realm",
    "ocid_region",
    "placement",
    "referenced",
]

PROVIDER = "oci"
REFERENCED = "referenced"
"""Value of the ``observed`` attribute on a resource known only because another one names it."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Compartment:
    """A compartment of the tenancy: its OCID, name, parent and path from the root."""

    id: str
    name: str
    parent: str = ""
    path: str = ""
    tags: Mapping[str, str] = field(default_factory=lambda: freeze_tags(None))


@dataclass(frozen=True, slots=True, kw_only=True)
class Where:
    """Where a listing ran: tenancy, realm, region, compartment, namespace (pure data)."""

    tenancy: str
    realm: str
    region: str
    compartment: Compartment
    namespace: str = ""
    region_keys: Mapping[str, str] = field(default_factory=dict)
    availability_domains: tuple[str, ...] = ()

    @property
    def scope(self) -> str:
        return self.compartment.id


def _ocid_segments(ocid: str) -> list[str]:
    parts = ocid.split(".")
    if len(parts) < 5 or parts[0] not in ("ocid1", "ocid2"):
        raise RecordError("id", f"not an OCID: {ocid[:80]!r}")
    return parts


def ocid_realm(ocid: str) -> str:
    """The realm segment of an OCID (``oc1``, ``oc19``)."""
    return _ocid_segments(ocid)[2].lower()


def ocid_region(ocid: str, region_keys: Mapping[str, str]) -> str:
    """The region an OCID names (its region segment; a short key like ``fra`` is mapped
    through ``region_keys``); empty for a global resource."""
    segment = _ocid_segments(ocid)[3].lower()
    return region_keys.get(segment, segment)


def oci_tags(freeform: Mapping[str, Any] | None, defined: Mapping[str, Any] | None) -> Mapping[str, str]:
    """Freeform tags as they are, defined tags as ``Namespace.key``, sorted."""
    out: dict[str, str] = {}
    if freeform is not None and not isinstance(freeform, Mapping):
        raise RecordError("freeform_tags", f"expected an object, got {type(freeform).__name__}")
    if defined is not None and not isinstance(defined, Mapping):
        raise RecordError("defined_tags", f"expected an object, got {type(defined).__name__}")
    for key, value in (freeform or {}).items():
        out[str(key)] = "" if value is None else str(value)
    for namespace, values in (defined or {}).items():
        if not isinstance(values, Mapping):
            raise RecordError(f"defined_tags.{namespace}", "expected an object")
        for key, value in values.items():
            out[f"{namespace}.{key}"] = "" if value is None else str(value)
    return freeze_tags(out)


def evidence(operation: str, path: str, detail: str = "") -> Evidence:
    """Evidence from an API field: ``ref`` is ``"<operation> <field path>"``."""
    return Evidence(source="api", ref=f"{operation} {path}", detail=detail)


_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)*-\d+$")


def placement(region: str, role: Role, operation: str, path: str, detail: str = "", *,
              field: str = "region") -> Placement:
    """A placement at ``oci:<region>`` backed by the API field ``path`` of ``operation``;
    :class:`RecordError` naming ``field`` when ``region`` is not a region identifier."""
    if not isinstance(region, str) or not _REGION.match(region):
        raise RecordError(field, f"not a region identifier: {str(region)[:60]!r}")
    return Placement(location=f"{PROVIDER}:{region}", role=role,
                     evidence=evidence(operation, path, detail))


def link(relation: LinkRelation, target: str, operation: str, path: str, detail: str = "") -> Link:
    """A link to ``target`` backed by the API field ``path`` of ``operation``."""
    return Link(relation=relation, target=target, evidence=evidence(operation, path, detail))


def _attributes(where: Where, extra: Mapping[str, str] | None) -> dict[str, str]:
    out = {"compartment_id": where.compartment.id, "compartment_path": where.compartment.path,
           "realm": where.realm, "region": where.region}
    out.update(extra or {})
    return {k: v for k, v in out.items() if v}


def build_resource(*, id: str, service: str, kind: str, name: str, where: Where,
                   placements: Iterable[Placement], tags: Mapping[str, str] | None = None,
                   links: Iterable[Link] = (), attributes: Mapping[str, str] | None = None) -> Resource:
    """A resource seen by the scan, with its compartment, realm and tags; sorted members."""
    unique = {(p.location, p.role): p for p in placements}
    merged_links = {(x.relation, x.target): x for x in links}
    return Resource(
        id=id, provider=PROVIDER, service=service, kind=kind, name=name, account=where.tenancy,
        placements=tuple(unique[k] for k in sorted(unique)),
        links=tuple(merged_links[k] for k in sorted(merged_links)),
        tags=freeze_tags(dict(tags or {})), attributes=freeze_tags(_attributes(where, attributes)))


def referenced(*, id: str, service: str, kind: str, name: str, where: Where,
               placements: Iterable[Placement] = ()) -> Resource:
    """A resource known only because another one names it (a standby, a replica, a target)."""
    return Resource(id=id, provider=PROVIDER, service=service, kind=kind, name=name,
                    account=where.tenancy, placements=tuple(placements),
                    attributes=freeze_tags({"observed": REFERENCED, "realm": where.realm}))


def merge_resources(resources: Iterable[Resource]) -> tuple[Resource, ...]:
    """One resource per id, sorted by id.

    A resource the scan saw keeps its own name, tags and attributes; placements of every record
    of the id are joined (a replica's REPLICA placement named by its source stays beside the
    replica's own PRIMARY placement), and so are links.
    """
    groups: dict[str, list[Resource]] = {}
    for r in resources:
        groups.setdefault(r.id, []).append(r)
    out: list[Resource] = []
    for rid in sorted(groups):
        group = groups[rid]
        seen = [r for r in group if r.attributes.get("observed") != REFERENCED]
        base = seen[0] if seen else group[0]
        placements = {(p.location, p.role): p for r in group for p in r.placements}
        links = {(x.relation, x.target): x for r in group for x in r.links}
        tags: dict[str, str] = {}
        attributes: dict[str, str] = {}
        for r in group:
            attributes.update(r.attributes)
        for r in seen or group:
            tags.update(r.tags)
            attributes.update(r.attributes)
        if seen:
            attributes.pop("observed", None)
        out.append(replace(base, placements=tuple(placements[k] for k in sorted(placements)),
                           links=tuple(links[k] for k in sorted(links)),
                           tags=freeze_tags(tags), attributes=freeze_tags(attributes)))
    return tuple(out)
