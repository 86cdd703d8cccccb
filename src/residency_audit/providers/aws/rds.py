"""RDS and Aurora: instances, clusters, cross-region read replicas, global databases, backup copies.

- ``DescribeDBInstances``: each instance (region from its ARN: a cross-region replica's
  ``AvailabilityZone`` may be copied from its source), its read replicas
  (``ReadReplicaDBInstanceIdentifiers``, ARNs when in another region) and the regions its
  automated backups are replicated to (``DBInstanceAutomatedBackupsReplications``).
- ``DescribeDBClusters``: Aurora/Multi-AZ clusters and their cross-region replica clusters
  (``ReadReplicaIdentifiers``).
- ``DescribeGlobalClusters``: Aurora global databases, the writer and secondary clusters.
- ``DescribeDBInstanceAutomatedBackups``: automated backups kept in the region, including the
  copies replicated there from another region.

A replica or backup copy that is its own resource gets a link from its source; when it lies in a
region that was not scanned it is still emitted, placed by the region in its ARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import (
    arn_account,
    arn_member,
    arn_region,
    checked_arn,
    link,
    placement,
    records,
    referenced,
    strings,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "SPEC", "fetch_rds", "parse_rds"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="rds", operation=op, permission=f"rds:{op}")
    for op in ("DescribeDBInstances", "DescribeDBClusters", "DescribeGlobalClusters",
               "DescribeDBInstanceAutomatedBackups"))

_CALLS = (
    ("instances", "describe_db_instances", "DescribeDBInstances", "DBInstances"),
    ("clusters", "describe_db_clusters", "DescribeDBClusters", "DBClusters"),
    ("global_clusters", "describe_global_clusters", "DescribeGlobalClusters", "GlobalClusters"),
    ("automated_backups", "describe_db_instance_automated_backups",
     "DescribeDBInstanceAutomatedBackups", "DBInstanceAutomatedBackups"),
)


def fetch_rds(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw items of the four describe calls, keyed ``instances``, ``clusters``, ... (absent when unseen)."""
    out: dict[str, Any] = {}
    for key, method, operation, items in _CALLS:
        pages = attempt.pages(client, method, operation)
        if pages is not None:
            out[key] = attempt.items(operation, pages, items)
    return out


def _instance_arn(identifier: str, *, region: str, account: str, partition: str) -> str:
    return identifier if identifier.startswith("arn:") else f"arn:{partition}:rds:{region}:{account}:db:{identifier}"


def _cluster_arn(identifier: str, *, region: str, account: str, partition: str) -> str:
    return identifier if identifier.startswith("arn:") else f"arn:{partition}:rds:{region}:{account}:cluster:{identifier}"


def _name_from_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


_REPLICA_REF = "DescribeDBInstances DBInstances[].ReadReplicaDBInstanceIdentifiers[]"
_BACKUP_REPLICATION_REF = ("DescribeDBInstances DBInstances[].DBInstanceAutomatedBackupsReplications[]"
                           ".DBInstanceAutomatedBackupsArn")
_AUTOMATED_REF = "DescribeDBInstanceAutomatedBackups DBInstanceAutomatedBackups[].DBInstanceAutomatedBackupsArn"


def _instance(db: Mapping[str, Any], ids: Mapping[str, str]) -> list[Resource]:
    account, region = ids["account"], ids["region"]
    arn = arn_member(db, "DBInstanceArn")
    name = member(db, "DBInstanceIdentifier", str)
    home = arn_region(arn) or region
    source = optional_member(db, "ReadReplicaSourceDBInstanceIdentifier", str, "")
    out: list[Resource] = []
    links = []
    for i, rep in enumerate(strings(db, "ReadReplicaDBInstanceIdentifiers")):
        target = checked_arn(_instance_arn(rep, **ids), f"ReadReplicaDBInstanceIdentifiers[{i}]", regional=True)
        links.append(link(LinkRelation.REPLICATES_TO, target, _REPLICA_REF))
        out.append(referenced(id=target, service="rds", kind="db-instance", name=_name_from_arn(target),
                              account=arn_account(target) or account,
                              placements=(placement(arn_region(target), Role.REPLICA, _REPLICA_REF),)))
    for i, backup in enumerate(records(db, "DBInstanceAutomatedBackupsReplications")):
        target = arn_member(backup, "DBInstanceAutomatedBackupsArn",
                            path=f"DBInstanceAutomatedBackupsReplications[{i}].", regional=True)
        links.append(link(LinkRelation.BACKS_UP_TO, target, _BACKUP_REPLICATION_REF))
        out.append(referenced(id=target, service="rds", kind="automated-backup", name=_name_from_arn(target),
                              account=arn_account(target) or account,
                              placements=(placement(arn_region(target), Role.BACKUP, _BACKUP_REPLICATION_REF),)))
    attributes = {"engine": optional_member(db, "Engine", str, "")}
    cluster = optional_member(db, "DBClusterIdentifier", str, "")
    if cluster:
        attributes["cluster"] = cluster
    if source:
        attributes["replica_of"] = source
    out.append(Resource(
        id=arn, provider="aws", service="rds", kind="db-instance", name=name, account=account,
        placements=(placement(home, Role.REPLICA if source else Role.PRIMARY,
                              "DescribeDBInstances DBInstances[].DBInstanceArn"),),
        links=tuple(links), tags=tags_from_pairs(db.get("TagList")), attributes=freeze_tags(attributes)))
    return out


def _cluster(cl: Mapping[str, Any], ids: Mapping[str, str]) -> list[Resource]:
    account, region = ids["account"], ids["region"]
    arn = arn_member(cl, "DBClusterArn")
    name = member(cl, "DBClusterIdentifier", str)
    home = arn_region(arn) or region
    source = optional_member(cl, "ReplicationSourceIdentifier", str, "")
    out: list[Resource] = []
    links = []
    ref = "DescribeDBClusters DBClusters[].ReadReplicaIdentifiers[]"
    for i, rep in enumerate(strings(cl, "ReadReplicaIdentifiers")):
        target = checked_arn(_cluster_arn(rep, **ids), f"ReadReplicaIdentifiers[{i}]", regional=True)
        links.append(link(LinkRelation.REPLICATES_TO, target, ref))
        out.append(referenced(id=target, service="rds", kind="db-cluster", name=_name_from_arn(target),
                              account=arn_account(target) or account,
                              placements=(placement(arn_region(target), Role.REPLICA, ref),)))
    attributes = {"engine": optional_member(cl, "Engine", str, "")}
    if source:
        attributes["replica_of"] = source
    out.append(Resource(
        id=arn, provider="aws", service="rds", kind="db-cluster", name=name, account=account,
        placements=(placement(home, Role.REPLICA if source else Role.PRIMARY,
                              "DescribeDBClusters DBClusters[].DBClusterArn"),),
        links=tuple(links), tags=tags_from_pairs(cl.get("TagList")), attributes=freeze_tags(attributes)))
    return out


def _automated_backup(ab: Mapping[str, Any], ids: Mapping[str, str], instance_arns: set[str]) -> list[Resource]:
    account, region = ids["account"], ids["region"]
    arn = arn_member(ab, "DBInstanceAutomatedBackupsArn")
    source = optional_member(ab, "DBInstanceArn", str, "")
    out = [Resource(
        id=arn, provider="aws", service="rds", kind="automated-backup", name=_name_from_arn(arn),
        account=account, placements=(placement(arn_region(arn) or region, Role.BACKUP, _AUTOMATED_REF),),
        attributes=freeze_tags({"source": source, "source_region": optional_member(ab, "Region", str, "")}))]
    if source in instance_arns:
        out.append(referenced(id=source, service="rds", kind="db-instance", name=_name_from_arn(source),
                              account=account, links=(link(LinkRelation.BACKS_UP_TO, arn, _AUTOMATED_REF),)))
    return out


def parse_rds(payload: Mapping[str, Any], scope: Scope) -> tuple[list[Resource], list[CoverageGap]]:
    """Resources for instances, clusters, global clusters, automated backups and their copies.

    >>> inst = {"DBInstanceIdentifier": "p", "DBInstanceArn": "arn:aws:rds:eu-north-1:1:db:p",
    ...         "ReadReplicaDBInstanceIdentifiers": ["arn:aws:rds:us-east-1:1:db:p-dr"]}
    >>> rs, gaps = parse_rds({"instances": [inst], "automated_backups": [{"DBInstanceArn": "x"}]},
    ...                      Scope(account="1", region="eu-north-1", service="rds"))
    >>> [(r.name, [p.location for p in r.placements]) for r in rs]
    [('p-dr', ['aws:us-east-1']), ('p', ['aws:eu-north-1'])]
    >>> [(g.operation, g.field, g.level.value) for g in gaps]
    [('DescribeDBInstanceAutomatedBackups', 'DBInstanceAutomatedBackupsArn', 'record')]
    """
    ids = {"region": scope.region, "account": scope.account, "partition": scope.partition}
    where = {"provider": "aws", "service": "rds", "scope": scope.account, "region": scope.region}
    out, gaps = parse_records(payload.get("instances", ()), lambda db: _instance(db, ids),
                              operation="DescribeDBInstances",
                              id_fields=("DBInstanceArn", "DBInstanceIdentifier"), **where)
    instance_arns = {r.id for r in out if r.kind == "db-instance" and r.attributes.get("observed") != "referenced"}
    for key, parse_one, operation, id_fields in (
            ("clusters", lambda cl: _cluster(cl, ids), "DescribeDBClusters",
             ("DBClusterArn", "DBClusterIdentifier")),
            ("global_clusters", lambda gc: _parse_global_cluster(gc, account=scope.account),
             "DescribeGlobalClusters", ("GlobalClusterArn", "GlobalClusterIdentifier")),
            ("automated_backups", lambda ab: _automated_backup(ab, ids, instance_arns),
             "DescribeDBInstanceAutomatedBackups",
             ("DBInstanceAutomatedBackupsArn", "DBInstanceArn", "DBInstanceIdentifier"))):
        rs, gs = parse_records(payload.get(key, ()), parse_one, operation=operation, id_fields=id_fields, **where)
        out += rs
        gaps += gs
    return out, gaps


def _parse_global_cluster(gc: Mapping[str, Any], *, account: str) -> list[Resource]:
    arn = arn_member(gc, "GlobalClusterArn")
    members = []
    for i, m in enumerate(records(gc, "GlobalClusterMembers")):
        if m.get("DBClusterArn") is None:
            continue
        member_arn = arn_member(m, "DBClusterArn", path=f"GlobalClusterMembers[{i}].", regional=True)
        writer = optional_member(m, "IsWriter", bool, False, path=f"GlobalClusterMembers[{i}].")
        members.append((member_arn, writer))
    ref = "DescribeGlobalClusters GlobalClusters[].GlobalClusterMembers[].DBClusterArn"
    placements = sorted({(arn_region(a), Role.PRIMARY if w else Role.REPLICA) for a, w in members})
    out = [Resource(id=arn, provider="aws", service="rds", kind="global-cluster",
                    name=optional_member(gc, "GlobalClusterIdentifier", str, "") or _name_from_arn(arn),
                    account=account,
                    placements=tuple(placement(r, role, ref) for r, role in placements),
                    attributes=freeze_tags({"members": ",".join(sorted(a for a, _ in members))}))]
    writers = [a for a, w in members if w]
    readers = sorted(a for a, w in members if not w)
    for writer_arn in writers:
        out.append(referenced(
            id=writer_arn, service="rds", kind="db-cluster", name=_name_from_arn(writer_arn),
            account=arn_account(writer_arn) or account,
            placements=(placement(arn_region(writer_arn), Role.PRIMARY, ref),),
            links=tuple(link(LinkRelation.REPLICATES_TO, r, ref, detail="Aurora global database secondary")
                        for r in readers)))
    for reader in readers:
        out.append(referenced(id=reader, service="rds", kind="db-cluster", name=_name_from_arn(reader),
                              account=arn_account(reader) or account,
                              placements=(placement(arn_region(reader), Role.REPLICA, ref),)))
    return out


SPEC = ServiceSpec(provider="aws", name="rds", operations=OPERATIONS, fetch=fetch_rds, parse=parse_rds,
                   scope_kind="region",
                   finds="instances, clusters, cross-region read replicas, global databases, backup copies")
