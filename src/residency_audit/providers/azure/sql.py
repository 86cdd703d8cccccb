"""Azure SQL: servers, databases, geo-replication links, failover groups and backup redundancy.

A geo-secondary (replication link partner, failover group partner) is its own Resource, reached
by a ``REPLICATES_TO`` link from the database or server that names it. When the partner was not
found by the scan (another tenant, no access), a stand-in Resource carries what the link says
about it (``partnerLocation``), marked ``seen_via`` in its attributes.

Backup storage redundancy (``currentBackupStorageRedundancy``, else
``requestedBackupStorageRedundancy``): ``Geo``/``GeoZone`` put a BACKUP placement in the paired
region; ``Local``/``Zone`` in the database's own region.

>>> backup_role_region("Geo", "westeurope", RegionFacts(regions={}, catalog=None)) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from residency_audit.model import (
    CoverageGap,
    Evidence,
    GapLevel,
    Link,
    LinkRelation,
    Resource,
    Role,
    freeze_tags,
)
from residency_audit.providers.azure.arm import list_items, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    entries,
    obj,
    placement,
    region_gaps,
    text,
)
from residency_audit.providers.azure.routes import (
    RG_PATH,
    AzureService,
    Route,
    azure_service,
    read_route,
)
from residency_audit.providers.service import RecordError, member

__all__ = [
    "DATABASE_TYPE",
    "ROUTES",
    "SERVER_TYPE",
    "SERVICES",
    "backup_role_region",
    "parse_database",
    "parse_failover_group",
    "parse_replication_link",
    "parse_server",
    "server_path",
]

SERVER_TYPE = "microsoft.sql/servers"
DATABASE_TYPE = "microsoft.sql/servers/databases"
API_VERSION = "2021-11-01"
"""The SQL API version read (stable; has replication links and failover groups by server)."""
_SERVER = RG_PATH + "/providers/Microsoft.Sql/servers/{serverName}"
ROUTES: tuple[Route, ...] = (
    read_route("sql", "Servers_List", "Microsoft.Sql/servers/read", "GET",
               "/subscriptions/{subscriptionId}/providers/Microsoft.Sql/servers"),
    read_route("sql", "Databases_ListByServer", "Microsoft.Sql/servers/databases/read", "GET",
               _SERVER + "/databases"),
    read_route("sql", "ReplicationLinks_ListByServer", "Microsoft.Sql/servers/databases/replicationLinks/read",
               "GET", _SERVER + "/replicationLinks"),
    read_route("sql", "FailoverGroups_ListByServer", "Microsoft.Sql/servers/failoverGroups/read", "GET",
               _SERVER + "/failoverGroups"),
)
"""The read operations this module calls."""
SYSTEM_DATABASES = frozenset({"master"})
"""Skipped: system databases hold server metadata, not customer data."""

_GEO_BACKUP = {"geo", "geozone"}
_LOCAL_BACKUP = {"local", "zone"}


def server_path(server_id: str) -> dict[str, str]:
    """The route parameters of a SQL server's resource id.

    >>> server_path("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Sql/servers/a")
    {'subscriptionId': 's', 'resourceGroupName': 'rg', 'serverName': 'a'}
    """
    parts = server_id.strip("/").split("/")
    return {"subscriptionId": parts[1], "resourceGroupName": parts[3], "serverName": parts[-1]}


def parse_server(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str) -> Parsed:
    """A SQL logical server (placement: its location)."""
    location = member(raw, "location", str)
    r = base_resource(raw, service="sql", kind="server",
                      placements=[placement(location, Role.PRIMARY, api(operation, "location"))],
                      attributes={"fully_qualified_domain_name": text(raw, "properties.fullyQualifiedDomainName")})
    return Parsed(resources=[r], gaps=region_gaps(r, facts, service="sql", operation=operation))


def backup_role_region(redundancy: str, location: str, facts: RegionFacts) -> tuple[str, Evidence | None] | None:
    """Where backups of a database in ``location`` with ``redundancy`` are kept; None if unknown.

    Returns (region, evidence of the region when it is not the database's own).
    """
    red = redundancy.strip().lower()
    if red in _LOCAL_BACKUP:
        return normalize(location), None
    if red in _GEO_BACKUP:
        pair = facts.pair(location)
        return (pair[0], pair[1]) if pair is not None else None
    return None


def parse_database(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str) -> Parsed:
    """A SQL database, with its BACKUP placement from its backup storage redundancy."""
    rid = member(raw, "id", str)
    location = normalize(member(raw, "location", str))
    secondary_type = text(raw, "properties.secondaryType")
    role = Role.REPLICA if secondary_type else Role.PRIMARY
    placements = [placement(location, role, api(operation, "location"))]
    field = "properties.currentBackupStorageRedundancy"
    redundancy = text(raw, field)
    if not redundancy:
        field = "properties.requestedBackupStorageRedundancy"
        redundancy = text(raw, field)
    gaps: list[CoverageGap] = []
    where = backup_role_region(redundancy, location, facts) if redundancy else None
    if where is not None:
        code, pair_evidence = where
        evidence = api(operation, field, detail=f"{redundancy} backup storage"
                       + (f"; paired region from {pair_evidence}" if pair_evidence else ""))
        placements.append(placement(code, Role.BACKUP, evidence))
    elif redundancy or not secondary_type:
        gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(rid), service="sql", operation=operation,
                                error="UnknownBackupLocation", resource=rid, region=location,
                                message=f"backup storage redundancy {redundancy or '(not reported)'!r}: "
                                        "the region of the backups cannot be told"))
    r = base_resource(raw, service="sql", kind="database", placements=placements, attributes={
        "backup_storage_redundancy": redundancy, "secondary_type": secondary_type, "sku": text(raw, "sku.name"),
    })
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="sql", operation=operation))


def is_system_database(raw: Any) -> bool:
    """Whether a database record is a system database (skipped); a record without a readable name is not."""
    name = raw.get("name") if isinstance(raw, Mapping) else None
    return isinstance(name, str) and name.lower() in SYSTEM_DATABASES


def _stub(rid: str, *, kind: str, location: str, role: Role, evidence: Evidence, seen_via: str) -> Resource:
    name = rid.rstrip("/").rsplit("/", 1)[-1]
    placements = (placement(location, role, evidence),) if location else ()
    return Resource(id=rid, provider="azure", service="sql", kind=kind, name=name, account=subscription_of(rid),
                    placements=placements, attributes=freeze_tags({"seen_via": seen_via}))


def _database_of_link(link_id: str) -> str:
    marker = "/replicationlinks/"
    i = link_id.lower().find(marker)
    if i < 0:
        raise RecordError("id", "not a replication link id (no /replicationLinks/)")
    return link_id[:i]


def partner_database_id(props: Mapping[str, Any], server_ids: Mapping[str, str]) -> str:
    """The partner database's resource id: ``partnerDatabaseId``, else by (globally unique) server name.

    A partner server the scan did not see gets ``unknown`` subscription and resource group.
    """
    given = text({"properties": props}, "properties.partnerDatabaseId")
    if given:
        return given
    server = text({"properties": props}, "properties.partnerServer") or "unknown"
    database = text({"properties": props}, "properties.partnerDatabase") or "unknown"
    server_id = server_ids.get(server.lower()) or (
        f"/subscriptions/unknown/resourceGroups/unknown/providers/Microsoft.Sql/servers/{server}")
    return f"{server_id}/databases/{database}"


def parse_replication_link(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str,
                           server_ids: Mapping[str, str]) -> Parsed:
    """A geo-replication link: REPLICATES_TO from the local database to its partner, and the partner."""
    props = obj(raw, "properties")
    source = _database_of_link(member(raw, "id", str))
    target = partner_database_id(props, server_ids)
    partner_location = normalize(text(raw, "properties.partnerLocation"))
    partner_role_text = text(raw, "properties.partnerRole")
    evidence = api(operation, "properties.partnerDatabaseId" if text(raw, "properties.partnerDatabaseId")
                   else "properties.partnerServer", detail=f"link type {text(raw, 'properties.linkType') or '?'}, "
                   f"partner role {partner_role_text or '?'}")
    partner_role = Role.PRIMARY if partner_role_text.lower() == "primary" else Role.REPLICA
    stub = _stub(target, kind="database", location=partner_location, role=partner_role,
                 evidence=api(operation, "properties.partnerLocation"), seen_via="sql-replication-link")
    out = Parsed(links=[(source, Link(relation=LinkRelation.REPLICATES_TO, target=target, evidence=evidence))],
                 resources=[stub])
    if not partner_location:
        out.gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(source), service="sql",
                                    operation=operation, error="UnknownPartnerLocation", resource=target,
                                    message="replication link names no partnerLocation"))
    else:
        out.gaps += region_gaps(stub, facts, service="sql", operation=operation)
    return out


def parse_failover_group(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str) -> Parsed:
    """A failover group: REPLICATES_TO from the server and each member database to the partner's."""
    fog_id = member(raw, "id", str)
    cut = fog_id.lower().find("/failovergroups/")
    if cut < 0:
        raise RecordError("id", "not a failover group id (no /failoverGroups/)")
    server_id = fog_id[:cut]
    name = text(raw, "name")
    databases = obj(raw, "properties").get("databases") or []
    if not isinstance(databases, list):
        raise RecordError("properties.databases", f"expected list, got {type(databases).__name__}")
    for j, db_id in enumerate(databases):
        if not isinstance(db_id, str):
            raise RecordError(f"properties.databases[{j}]", f"expected str, got {type(db_id).__name__}")
    out = Parsed()
    for i, partner in enumerate(entries(raw, "properties.partnerServers")):
        pid = member(partner, "id", str, path=f"properties.partnerServers[{i}].")
        loc = normalize(text(partner, "location"))
        role = Role.PRIMARY if text(partner, "replicationRole").lower() == "primary" else Role.REPLICA
        ev = api(operation, f"properties.partnerServers[{i}].id", detail=f"failover group {name}")
        loc_ev = api(operation, f"properties.partnerServers[{i}].location")
        out.links.append((server_id, Link(relation=LinkRelation.REPLICATES_TO, target=pid, evidence=ev)))
        out.resources.append(_stub(pid, kind="server", location=loc, role=Role.PRIMARY, evidence=loc_ev,
                                   seen_via="sql-failover-group"))
        for j, db_id in enumerate(databases):
            db_name = db_id.rstrip("/").rsplit("/", 1)[-1]
            target = f"{pid}/databases/{db_name}"
            out.links.append((db_id, Link(relation=LinkRelation.REPLICATES_TO, target=target, evidence=replace(
                ev, detail=f"failover group {name}: properties.databases[{j}]"))))
            out.resources.append(_stub(target, kind="database", location=loc, role=role, evidence=loc_ev,
                                       seen_via="sql-failover-group"))
        if not loc:
            out.gaps.append(CoverageGap(provider="azure", level=GapLevel.RECORD, scope=subscription_of(fog_id), service="sql",
                                        operation=operation, error="UnknownPartnerLocation", resource=pid,
                                        message="failover group partner server without a location"))
    for r in out.resources:
        out.gaps += region_gaps(r, facts, service="sql", operation=operation)
    return out


def _service(route: Route, parse: Any, *, scope_kind: str, resource_type: str = "", finds: str) -> AzureService:
    return azure_service(name="sql", routes=(route,), fetch=list_items, parse=parse, scope_kind=scope_kind,
                         resource_type=resource_type, api_version=API_VERSION, finds=finds)


SERVICES: tuple[AzureService, ...] = (
    _service(ROUTES[0], parse_server, scope_kind="subscription", resource_type=SERVER_TYPE,
             finds="SQL logical servers: region"),
    _service(ROUTES[1], parse_database, scope_kind="sql-server", resource_type=DATABASE_TYPE,
             finds="SQL databases: region, geo-secondary role, backup storage redundancy"),
    _service(ROUTES[2], parse_replication_link, scope_kind="sql-server",
             finds="SQL geo-replication links: partner database and region"),
    _service(ROUTES[3], parse_failover_group, scope_kind="sql-server",
             finds="SQL failover groups: partner servers and member databases"),
)
"""The SQL services, declared once (databases are in Resource Graph; links and groups only over ARM)."""
