"""Autonomous Database: the database's region, its Data Guard standbys and cross-region peers.

``ListAutonomousDatabases`` (per compartment and region) gives each database with its Data Guard
state. A local standby (``isLocalDataGuardEnabled``, ``localStandbyDb``) is a REPLICA in the same
region. Cross-region peers come from ``ListAutonomousDatabasePeers`` (each peer's id and region),
read when the database names peers (``peerDbIds``) or has remote Data Guard enabled: an
Autonomous Data Guard peer is a REPLICA (``replicates_to``); a backup-based disaster-recovery peer
(``remoteDisasterRecoveryConfiguration.disasterRecoveryType`` ``BACKUP_BASED``) holds backup
copies (BACKUP, ``backs_up_to``); ``isReplicateAutomaticBackups`` adds a BACKUP copy at the peer.
A database whose own role is standby is a REPLICA where it is listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Resource, Role
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

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "fetch_autonomous", "parse_autonomous",
           "parse_autonomous_database"]

SERVICE = "database"
LIST = "DatabaseClient.list_autonomous_databases"
PEERS = "DatabaseClient.list_autonomous_database_peers"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="list_autonomous_databases",
                  permission="inspect autonomous-databases"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_autonomous_database_peers",
                  permission="inspect autonomous-databases"),
)
"""The Database API methods this module calls."""

ROUTES = {
    (SERVICE, "list_autonomous_databases"): ("GET", "/20160918/autonomousDatabases"),
    (SERVICE, "list_autonomous_database_peers"): ("GET", "/20160918/autonomousDatabases/{autonomousDatabaseId}/peers"),
}

SEARCH_TYPES = ("autonomousdatabase",)


# ---------------------------------------------------------------- fetch (I/O)

def _has_peers(db: Mapping[str, Any]) -> bool:
    return bool(db.get("peer_db_ids")) or db.get("is_remote_data_guard_enabled") is True


def fetch_autonomous(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """The Autonomous Databases of one compartment in one region, with their peers."""
    rows = calls.call(SERVICE, where.region, "list_autonomous_databases", where.scope,
                      scope=where.scope, paged=True)
    if not isinstance(rows, list):
        return None
    out: list[dict[str, Any]] = []
    for row in rows:
        record: dict[str, Any] = {"db": row}
        rid = row.get("id") if isinstance(row, Mapping) else None
        if isinstance(rid, str) and isinstance(row, Mapping) and _has_peers(row):
            record["peers"] = calls.call(SERVICE, where.region, "list_autonomous_database_peers",
                                         rid, scope=where.scope, resource=rid, paged=True)
        record["id"] = rid
        out.append(record)
    return out


# ---------------------------------------------------------------- parse (pure)

def _peers(record: Mapping[str, Any], db: Mapping[str, Any], where: Where) -> list[tuple[str, str, str]]:
    """(peer id, peer region, evidence operation) of every cross-region peer."""
    listed = optional_member(record, "peers", list, [])
    if listed:
        out = []
        for i, peer in enumerate(listed):
            at = f"peers[{i}]."
            out.append((member(peer, "id", str, path=at), member(peer, "region", str, path=at), PEERS))
        return out
    ids = optional_member(db, "peer_db_ids", list, [], path="db.")
    return [(str(pid), ocid_region(str(pid), where.region_keys), LIST) for pid in ids
            if isinstance(pid, str)]


def parse_autonomous_database(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """An Autonomous Database and its cross-region peers.

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1",
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> rs = parse_autonomous_database({"db": {"id": "ocid1.autonomousdatabase.oc1.uk-london-1.a",
    ...     "display_name": "tips", "peer_db_ids": ["ocid1.autonomousdatabase.oc1.uk-cardiff-1.b"]},
    ...     "peers": [{"id": "ocid1.autonomousdatabase.oc1.uk-cardiff-1.b",
    ...                "region": "uk-cardiff-1"}]}, w)
    >>> [[(p.code, p.role.value) for p in r.placements] for r in rs]
    [[('uk-london-1', 'primary')], [('uk-cardiff-1', 'replica')]]
    """
    db = member(record, "db", dict)
    rid = member(db, "id", str, path="db.")
    name = optional_member(db, "display_name", str, "", path="db.") or \
        optional_member(db, "db_name", str, rid, path="db.")
    standby = (optional_member(db, "role", str, "", path="db.").upper() in ("STANDBY", "SNAPSHOT_STANDBY")
               or optional_member(db, "disaster_recovery_region_type", str, "", path="db.").upper() == "REMOTE")
    placements = [placement(where.region, Role.REPLICA if standby else Role.PRIMARY, LIST,
                            "items[].id (regional endpoint)")]
    local = optional_member(db, "local_standby_db", dict, {}, path="db.")
    if optional_member(db, "is_local_data_guard_enabled", bool, False, path="db.") or local:
        placements.append(placement(where.region, Role.REPLICA, LIST,
                                    "items[].isLocalDataGuardEnabled/localStandbyDb",
                                    optional_member(local, "availability_domain", str, "",
                                                    path="db.local_standby_db.")))
    dr = optional_member(db, "remote_disaster_recovery_configuration", dict, {}, path="db.")
    dr_path = "db.remote_disaster_recovery_configuration."
    backup_based = optional_member(dr, "disaster_recovery_type", str, "", path=dr_path).upper() == "BACKUP_BASED"
    replicate_backups = optional_member(dr, "is_replicate_automatic_backups", bool, False, path=dr_path)
    out: list[Resource] = []
    links = []
    # A standby receives from its peers: only a primary's peers are copies of its data.
    for peer_id, peer_region, operation in ([] if standby else _peers(record, db, where)):
        if peer_id == rid:
            continue
        relation = LinkRelation.BACKS_UP_TO if backup_based else LinkRelation.REPLICATES_TO
        role = Role.BACKUP if backup_based else Role.REPLICA
        kind = "backup-based disaster recovery peer" if backup_based else "Autonomous Data Guard peer"
        links.append(link(relation, peer_id, operation, "items[].id/region", kind))
        peer_places = [placement(peer_region, role, operation, "items[].region", kind)]
        if replicate_backups:
            peer_places.append(placement(peer_region, Role.BACKUP, LIST,
                                         "remoteDisasterRecoveryConfiguration.isReplicateAutomaticBackups"))
        out.append(referenced(id=peer_id, service="autonomous-database", kind="autonomous-database",
                              name=f"{name} (peer)", where=where, placements=peer_places))
    attributes = {
        "db_name": optional_member(db, "db_name", str, "", path="db."),
        "db_workload": optional_member(db, "db_workload", str, "", path="db."),
        "data_guard_role": optional_member(db, "role", str, "", path="db."),
        "kms_key_id": optional_member(db, "kms_key_id", str, "", path="db."),
        "vault_id": optional_member(db, "vault_id", str, "", path="db."),
        "disaster_recovery_type": optional_member(dr, "disaster_recovery_type", str, "", path=dr_path),
    }
    tags = oci_tags(optional_member(db, "freeform_tags", dict, {}, path="db."),
                    optional_member(db, "defined_tags", dict, {}, path="db."))
    out.insert(0, build_resource(id=rid, service="autonomous-database", kind="autonomous-database",
                                 name=name, where=where, placements=placements, tags=tags,
                                 links=links, attributes={k: v for k, v in attributes.items() if v}))
    return out


def parse_autonomous(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every Autonomous Database record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_autonomous_database(r, where), provider="oci",
                         service="autonomous-database", scope=where.scope, region=where.region,
                         operation=LIST, id_fields=("id",))


SPEC = ServiceSpec(
    provider="oci", name="autonomous-database", operations=OPERATIONS, fetch=fetch_autonomous,
    parse=parse_autonomous, scope_kind="compartment",
    finds="Autonomous Databases (region), local standbys, cross-region Data Guard peers and "
          "backup-based disaster-recovery peers (their regions), replicated backups, tags")
