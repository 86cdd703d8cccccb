"""Base Database Service: DB systems, their Data Guard associations (the peer's region) and
their databases' backup destinations (a remote one's region).

``ListDbSystems`` (per compartment and region) gives each DB system; ``ListDatabases`` (by
``systemId``) its databases; ``ListDataGuardAssociations`` each database's associations. The
peer DB system of an association is a REPLICA in the region its OCID names (the association
carries no region field), linked ``replicates_to``. A DB system whose databases are all standbys
is itself a REPLICA where it is listed. A database's automatic backups
(``dbBackupConfig.autoBackupEnabled``) are a BACKUP copy in the system's region; a backup
destination marked remote (``backupDestinationDetails[].isRemote``) is a BACKUP copy in its
``remoteRegion``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Placement, Resource, Role
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.oci.records import (
    Where,
    build_resource,
    link,
    oci_tags,
    ocid_region,
    placement,
    referenced,
)
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "fetch_db_systems", "parse_db_system", "parse_db_systems"]

SERVICE = "database"
KIND = "db-system"
LIST = "DatabaseClient.list_db_systems"
DATABASES = "DatabaseClient.list_databases"
ASSOCIATIONS = "DatabaseClient.list_data_guard_associations"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="list_db_systems",
                  permission="inspect db-systems"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_databases",
                  permission="inspect databases"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_data_guard_associations",
                  permission="inspect databases"),
)
"""The Database API methods this module calls."""

ROUTES = {
    (SERVICE, "list_db_systems"): ("GET", "/20160918/dbSystems"),
    (SERVICE, "list_databases"): ("GET", "/20160918/databases"),
    (SERVICE, "list_data_guard_associations"): ("GET", "/20160918/databases/{databaseId}/dataGuardAssociations"),
}

SEARCH_TYPES = ("dbsystem",)


def fetch_db_systems(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """The DB systems of one compartment in one region, with databases and associations."""
    rows = calls.call(SERVICE, where.region, "list_db_systems", where.scope, scope=where.scope,
                      paged=True)
    if not isinstance(rows, list):
        return None
    out: list[dict[str, Any]] = []
    for row in rows:
        sid = row.get("id") if isinstance(row, Mapping) else None
        record: dict[str, Any] = {"id": sid, "system": row}
        if isinstance(sid, str):
            dbs = calls.call(SERVICE, where.region, "list_databases", where.scope, scope=where.scope,
                             resource=sid, paged=True, system_id=sid)
            record["databases"] = dbs
            associations: list[Any] = []
            for db in dbs if isinstance(dbs, list) else ():
                did = db.get("id") if isinstance(db, Mapping) else None
                if not isinstance(did, str):
                    continue
                found = calls.call(SERVICE, where.region, "list_data_guard_associations", did,
                                   scope=where.scope, resource=did, paged=True)
                associations.extend(found if isinstance(found, list) else ())
            record["associations"] = associations
        out.append(record)
    return out


def parse_db_system(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """A DB system and the peers of its databases' Data Guard associations.

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1", region_keys={"cwl": "uk-cardiff-1"},
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> rs = parse_db_system({"system": {"id": "ocid1.dbsystem.oc1.uk-london-1.a", "display_name": "db"},
    ...     "associations": [{"role": "PRIMARY", "peer_role": "STANDBY",
    ...                       "peer_db_system_id": "ocid1.dbsystem.oc1.cwl.b"}]}, w)
    >>> [[(p.code, p.role.value) for p in r.placements] for r in rs]
    [[('uk-london-1', 'primary')], [('uk-cardiff-1', 'replica')]]
    """
    system = member(record, "system", dict)
    rid = member(system, "id", str, path="system.")
    name = optional_member(system, "display_name", str, rid, path="system.")
    associations = optional_member(record, "associations", list, [])
    roles = []
    links = []
    out: list[Resource] = []
    for i, assoc in enumerate(associations):
        at = f"associations[{i}]."
        roles.append(optional_member(assoc, "role", str, "", path=at).upper())
        peer = optional_member(assoc, "peer_db_system_id", str, "", path=at)
        if not peer or peer == rid:
            continue
        peer_region = ocid_region(peer, where.region_keys)
        detail = f"Data Guard, peer role {optional_member(assoc, 'peer_role', str, '', path=at)}".strip()
        links.append(link(LinkRelation.REPLICATES_TO, peer, ASSOCIATIONS, "items[].peerDbSystemId", detail))
        if peer_region:
            out.append(referenced(id=peer, service="database", kind=KIND, name=f"{name} (peer)",
                                  where=where, placements=[placement(
                                      peer_region, Role.REPLICA, ASSOCIATIONS,
                                      "items[].peerDbSystemId (region of the OCID)", detail)]))
    standby = bool(roles) and all(r == "STANDBY" for r in roles)
    backups = _backups(record, where)
    attributes = {"shape": optional_member(system, "shape", str, "", path="system."),
                  "database_edition": optional_member(system, "database_edition", str, "", path="system."),
                  "kms_key_id": optional_member(system, "kms_key_id", str, "", path="system.")}
    tags = oci_tags(optional_member(system, "freeform_tags", dict, {}, path="system."),
                    optional_member(system, "defined_tags", dict, {}, path="system."))
    out.insert(0, build_resource(
        id=rid, service="database", kind=KIND, name=name, where=where,
        placements=[placement(where.region, Role.REPLICA if standby else Role.PRIMARY, LIST,
                              "items[].id (regional endpoint)"), *backups],
        tags=tags, links=links, attributes={k: v for k, v in attributes.items() if v}))
    return out


def _backups(record: Mapping[str, Any], where: Where) -> list[Placement]:
    """BACKUP copies of the system's databases: automatic backups in its region, and every
    backup destination marked remote (``isRemote``) in its ``remoteRegion``."""
    out = []
    for i, db in enumerate(optional_member(record, "databases", list, [])):
        at = f"databases[{i}].db_backup_config."
        cfg = optional_member(db, "db_backup_config", dict, {}, path=f"databases[{i}].")
        if optional_member(cfg, "auto_backup_enabled", bool, False, path=at):
            out.append(placement(where.region, Role.BACKUP, DATABASES,
                                 "items[].dbBackupConfig.autoBackupEnabled"))
        for j, dest in enumerate(optional_member(cfg, "backup_destination_details", list, [], path=at)):
            here = f"{at}backup_destination_details[{j}]."
            if optional_member(dest, "is_remote", bool, False, path=here):
                kind = optional_member(dest, "type", str, "", path=here)
                out.append(placement(
                    member(dest, "remote_region", str, path=here), Role.BACKUP, DATABASES,
                    "items[].dbBackupConfig.backupDestinationDetails[].remoteRegion",
                    f"{kind} backup destination".strip(), field=f"{here}remote_region"))
    return out


def parse_db_systems(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every DB system record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_db_system(r, where), provider="oci",
                         service="database", scope=where.scope, region=where.region,
                         operation=LIST, id_fields=("id",))


SPEC = ServiceSpec(
    provider="oci", name="db-system", operations=OPERATIONS, fetch=fetch_db_systems,
    parse=parse_db_systems, scope_kind="compartment",
    finds="DB systems (region) and their databases' Data Guard associations (peer region)")
