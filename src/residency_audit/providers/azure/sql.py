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
    Link,
    LinkRelation,
    Resource,
    Role,
    freeze_tags,
)
from residency_audit.providers.azure.arm import AzureContext, collect, subscription_of
from residency_audit.providers.azure.locations import RegionFacts, normalize
from residency_audit.providers.azure.records import (
    Parsed,
    api,
    base_resource,
    placement,
    region_gaps,
)
from residency_audit.providers.azure.routes import RG_PATH, Route, read_route

__all__ = [
    "DATABASE_TYPE",
    "ROUTES",
    "SERVER_TYPE",
    "backup_role_region",
    "fetch_databases",
    "fetch_failover_groups",
    "fetch_replication_links",
    "fetch_servers",
    "parse_database",
    "parse_failover_group",
    "parse_replication_link",
    "parse_server",
]

SERVER_TYPE = "microsoft.sql/servers"
DATABASE_TYPE = "microsoft.sql/servers/databases"
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


def fetch_servers(ctx: AzureContext, subscription: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every SQL logical server of a subscription."""
    from azure.mgmt.sql import SqlManagementClient

    with ctx.client(SqlManagementClient, subscription) as client:
        return collect(client.servers.list())


def _server_parts(server_id: str) -> tuple[str, str, str]:
    parts = server_id.strip("/").split("/")
    return parts[1], parts[3], parts[-1]


def fetch_databases(ctx: AzureContext, server_id: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every database of a server (by server resource id)."""
    from azure.mgmt.sql import SqlManagementClient

    sub, rg, name = _server_parts(server_id)
    with ctx.client(SqlManagementClient, sub) as client:
        return collect(client.databases.list_by_server(rg, name))


def fetch_replication_links(ctx: AzureContext, server_id: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every replication link of a server's databases."""
    from azure.mgmt.sql import SqlManagementClient

    sub, rg, name = _server_parts(server_id)
    with ctx.client(SqlManagementClient, sub) as client:
        return collect(client.replication_links.list_by_server(rg, name))


def fetch_failover_groups(ctx: AzureContext, server_id: str) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every failover group of a server."""
    from azure.mgmt.sql import SqlManagementClient

    sub, rg, name = _server_parts(server_id)
    with ctx.client(SqlManagementClient, sub) as client:
        return collect(client.failover_groups.list_by_server(rg, name))


def parse_server(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str) -> Parsed:
    """A SQL logical server (placement: its location)."""
    props = raw.get("properties") or {}
    r = base_resource(raw, service="sql", kind="server",
                      placements=[placement(raw["location"], Role.PRIMARY, api(operation, "location"))],
                      attributes={"fully_qualified_domain_name": str(props.get("fullyQualifiedDomainName") or "")})
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
    props = raw.get("properties") or {}
    location = normalize(raw["location"])
    secondary_type = str(props.get("secondaryType") or "")
    role = Role.REPLICA if secondary_type else Role.PRIMARY
    placements = [placement(location, role, api(operation, "location"))]
    field = "properties.currentBackupStorageRedundancy"
    redundancy = str(props.get("currentBackupStorageRedundancy") or "")
    if not redundancy:
        field, redundancy = "properties.requestedBackupStorageRedundancy", str(
            props.get("requestedBackupStorageRedundancy") or "")
    gaps: list[CoverageGap] = []
    rid = str(raw["id"])
    where = backup_role_region(redundancy, location, facts) if redundancy else None
    if where is not None:
        code, pair_evidence = where
        evidence = api(operation, field, detail=f"{redundancy} backup storage"
                       + (f"; paired region from {pair_evidence}" if pair_evidence else ""))
        placements.append(placement(code, Role.BACKUP, evidence))
    elif redundancy or not secondary_type:
        gaps.append(CoverageGap(provider="azure", scope=subscription_of(rid), service="sql", operation=operation,
                                error="UnknownBackupLocation", resource=rid, region=location,
                                message=f"backup storage redundancy {redundancy or '(not reported)'!r}: "
                                        "the region of the backups cannot be told"))
    r = base_resource(raw, service="sql", kind="database", placements=placements, attributes={
        "backup_storage_redundancy": redundancy, "secondary_type": secondary_type,
        "sku": str((raw.get("sku") or {}).get("name") or ""),
    })
    return Parsed(resources=[r], gaps=gaps + region_gaps(r, facts, service="sql", operation=operation))


def _stub(rid: str, *, kind: str, location: str, role: Role, evidence: Evidence, seen_via: str) -> Resource:
    name = rid.rstrip("/").rsplit("/", 1)[-1]
    placements = (placement(location, role, evidence),) if location else ()
    return Resource(id=rid, provider="azure", service="sql", kind=kind, name=name, account=subscription_of(rid),
                    placements=placements, attributes=freeze_tags({"seen_via": seen_via}))


def _database_of_link(link_id: str) -> str:
    marker = "/replicationlinks/"
    i = link_id.lower().find(marker)
    return link_id[:i] if i >= 0 else link_id


def partner_database_id(props: Mapping[str, Any], server_ids: Mapping[str, str]) -> str:
    """The partner database's resource id: ``partnerDatabaseId``, else by (globally unique) server name.

    A partner server the scan did not see gets ``unknown`` subscription and resource group.
    """
    if props.get("partnerDatabaseId"):
        return str(props["partnerDatabaseId"])
    server = str(props.get("partnerServer") or "unknown")
    server_id = server_ids.get(server.lower()) or (
        f"/subscriptions/unknown/resourceGroups/unknown/providers/Microsoft.Sql/servers/{server}")
    return f"{server_id}/databases/{props.get('partnerDatabase') or 'unknown'}"


def parse_replication_link(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str,
                           server_ids: Mapping[str, str]) -> Parsed:
    """A geo-replication link: REPLICATES_TO from the local database to its partner, and the partner."""
    props = raw.get("properties") or {}
    source = _database_of_link(str(raw["id"]))
    target = partner_database_id(props, server_ids)
    partner_location = normalize(props.get("partnerLocation"))
    evidence = api(operation, "properties.partnerDatabaseId" if props.get("partnerDatabaseId")
                   else "properties.partnerServer", detail=f"link type {props.get('linkType') or '?'}, "
                   f"partner role {props.get('partnerRole') or '?'}")
    partner_role = Role.PRIMARY if str(props.get("partnerRole") or "").lower() == "primary" else Role.REPLICA
    stub = _stub(target, kind="database", location=partner_location, role=partner_role,
                 evidence=api(operation, "properties.partnerLocation"), seen_via="sql-replication-link")
    out = Parsed(links=[(source, Link(relation=LinkRelation.REPLICATES_TO, target=target, evidence=evidence))],
                 resources=[stub])
    if not partner_location:
        out.gaps.append(CoverageGap(provider="azure", scope=subscription_of(source), service="sql",
                                    operation=operation, error="UnknownPartnerLocation", resource=target,
                                    message="replication link names no partnerLocation"))
    else:
        out.gaps += region_gaps(stub, facts, service="sql", operation=operation)
    return out


def parse_failover_group(raw: Mapping[str, Any], *, facts: RegionFacts, operation: str) -> Parsed:
    """A failover group: REPLICATES_TO from the server and each member database to the partner's."""
    props = raw.get("properties") or {}
    fog_id = str(raw["id"])
    server_id = fog_id[: fog_id.lower().find("/failovergroups/")]
    out = Parsed()
    for i, partner in enumerate(props.get("partnerServers") or []):
        pid = str(partner["id"])
        loc = normalize(partner.get("location"))
        role = Role.PRIMARY if str(partner.get("replicationRole") or "").lower() == "primary" else Role.REPLICA
        ev = api(operation, f"properties.partnerServers[{i}].id", detail=f"failover group {raw.get('name')}")
        loc_ev = api(operation, f"properties.partnerServers[{i}].location")
        out.links.append((server_id, Link(relation=LinkRelation.REPLICATES_TO, target=pid, evidence=ev)))
        out.resources.append(_stub(pid, kind="server", location=loc, role=Role.PRIMARY, evidence=loc_ev,
                                   seen_via="sql-failover-group"))
        for j, db_id in enumerate(props.get("databases") or []):
            db_name = str(db_id).rstrip("/").rsplit("/", 1)[-1]
            target = f"{pid}/databases/{db_name}"
            out.links.append((str(db_id), Link(relation=LinkRelation.REPLICATES_TO, target=target, evidence=replace(
                ev, detail=f"failover group {raw.get('name')}: properties.databases[{j}]"))))
            out.resources.append(_stub(target, kind="database", location=loc, role=role, evidence=loc_ev,
                                       seen_via="sql-failover-group"))
        if not loc:
            out.gaps.append(CoverageGap(provider="azure", scope=subscription_of(fog_id), service="sql",
                                        operation=operation, error="UnknownPartnerLocation", resource=pid,
                                        message="failover group partner server without a location"))
    for r in out.resources:
        out.gaps += region_gaps(r, facts, service="sql", operation=operation)
    return out
