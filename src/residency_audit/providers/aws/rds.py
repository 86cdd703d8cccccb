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

from residency_audit.model import LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, iter_items
from residency_audit.providers.aws.records import (
    arn_account,
    arn_region,
    link,
    placement,
    referenced,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation

__all__ = ["OPERATIONS", "fetch_rds", "parse_rds"]

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
            out[key] = list(iter_items(pages, items))
    return out


def _instance_arn(identifier: str, *, region: str, account: str, partition: str) -> str:
    return identifier if identifier.startswith("arn:") else f"arn:{partition}:rds:{region}:{account}:db:{identifier}"


def _cluster_arn(identifier: str, *, region: str, account: str, partition: str) -> str:
    return identifier if identifier.startswith("arn:") else f"arn:{partition}:rds:{region}:{account}:cluster:{identifier}"


def _name_from_arn(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def parse_rds(payload: Mapping[str, Any], *, account: str, region: str, partition: str = "aws",
              ) -> list[Resource]:
    """Resources for instances, clusters, global clusters, automated backups and their copies.

    >>> inst = {"DBInstanceIdentifier": "p", "DBInstanceArn": "arn:aws:rds:eu-north-1:1:db:p",
    ...         "ReadReplicaDBInstanceIdentifiers": ["arn:aws:rds:us-east-1:1:db:p-dr"]}
    >>> rs = parse_rds({"instances": [inst]}, account="1", region="eu-north-1")
    >>> [(r.name, [p.location for p in r.placements]) for r in rs]
    [('p-dr', ['aws:us-east-1']), ('p', ['aws:eu-north-1'])]
    """
    ids = {"region": region, "account": account, "partition": partition}
    out: list[Resource] = []
    instance_arns: set[str] = set()
    for db in payload.get("instances", ()):
        arn = str(db["DBInstanceArn"])
        instance_arns.add(arn)
        home = arn_region(arn) or region
        is_replica = bool(db.get("ReadReplicaSourceDBInstanceIdentifier"))
        links = []
        for rep in db.get("ReadReplicaDBInstanceIdentifiers", ()):
            target = _instance_arn(str(rep), **ids)
            links.append(link(LinkRelation.REPLICATES_TO, target,
                              "DescribeDBInstances DBInstances[].ReadReplicaDBInstanceIdentifiers[]"))
            out.append(referenced(id=target, service="rds", kind="db-instance", name=_name_from_arn(target),
                                  account=arn_account(target) or account,
                                  placements=(placement(arn_region(target), Role.REPLICA,
                                                        "DescribeDBInstances DBInstances[].ReadReplicaDBInstanceIdentifiers[]"),)))
        for rep in db.get("DBInstanceAutomatedBackupsReplications", ()):
            target = str(rep["DBInstanceAutomatedBackupsArn"])
            ref = "DescribeDBInstances DBInstances[].DBInstanceAutomatedBackupsReplications[].DBInstanceAutomatedBackupsArn"
            links.append(link(LinkRelation.BACKS_UP_TO, target, ref))
            out.append(referenced(id=target, service="rds", kind="automated-backup", name=_name_from_arn(target),
                                  account=arn_account(target) or account,
                                  placements=(placement(arn_region(target), Role.BACKUP, ref),)))
        attributes = {"engine": str(db.get("Engine", ""))}
        if db.get("DBClusterIdentifier"):
            attributes["cluster"] = str(db["DBClusterIdentifier"])
        if is_replica:
            attributes["replica_of"] = str(db["ReadReplicaSourceDBInstanceIdentifier"])
        out.append(Resource(
            id=arn, provider="aws", service="rds", kind="db-instance", name=str(db["DBInstanceIdentifier"]),
            account=account,
            placements=(placement(home, Role.REPLICA if is_replica else Role.PRIMARY,
                                  "DescribeDBInstances DBInstances[].DBInstanceArn"),),
            links=tuple(links), tags=tags_from_pairs(db.get("TagList")), attributes=freeze_tags(attributes)))
    for cl in payload.get("clusters", ()):
        arn = str(cl["DBClusterArn"])
        home = arn_region(arn) or region
        is_replica = bool(cl.get("ReplicationSourceIdentifier"))
        links = []
        for rep in cl.get("ReadReplicaIdentifiers", ()):
            target = _cluster_arn(str(rep), **ids)
            ref = "DescribeDBClusters DBClusters[].ReadReplicaIdentifiers[]"
            links.append(link(LinkRelation.REPLICATES_TO, target, ref))
            out.append(referenced(id=target, service="rds", kind="db-cluster", name=_name_from_arn(target),
                                  account=arn_account(target) or account,
                                  placements=(placement(arn_region(target), Role.REPLICA, ref),)))
        attributes = {"engine": str(cl.get("Engine", ""))}
        if is_replica:
            attributes["replica_of"] = str(cl["ReplicationSourceIdentifier"])
        out.append(Resource(
            id=arn, provider="aws", service="rds", kind="db-cluster", name=str(cl["DBClusterIdentifier"]),
            account=account,
            placements=(placement(home, Role.REPLICA if is_replica else Role.PRIMARY,
                                  "DescribeDBClusters DBClusters[].DBClusterArn"),),
            links=tuple(links), tags=tags_from_pairs(cl.get("TagList")), attributes=freeze_tags(attributes)))
    for gc in payload.get("global_clusters", ()):
        out.extend(_parse_global_cluster(gc, account=account))
    for ab in payload.get("automated_backups", ()):
        arn = str(ab["DBInstanceAutomatedBackupsArn"])
        source = str(ab.get("DBInstanceArn", ""))
        ref = "DescribeDBInstanceAutomatedBackups DBInstanceAutomatedBackups[].DBInstanceAutomatedBackupsArn"
        out.append(Resource(
            id=arn, provider="aws", service="rds", kind="automated-backup", name=_name_from_arn(arn),
            account=account, placements=(placement(arn_region(arn) or region, Role.BACKUP, ref),),
            attributes=freeze_tags({"source": source, "source_region": str(ab.get("Region", ""))})))
        if source in instance_arns:
            out.append(referenced(id=source, service="rds", kind="db-instance", name=_name_from_arn(source),
                                  account=account, links=(link(LinkRelation.BACKS_UP_TO, arn, ref),)))
    return out


def _parse_global_cluster(gc: Mapping[str, Any], *, account: str) -> list[Resource]:
    arn = str(gc["GlobalClusterArn"])
    members = [m for m in gc.get("GlobalClusterMembers", ()) if m.get("DBClusterArn")]
    ref = "DescribeGlobalClusters GlobalClusters[].GlobalClusterMembers[].DBClusterArn"
    placements = sorted({(arn_region(str(m["DBClusterArn"])), Role.PRIMARY if m.get("IsWriter") else Role.REPLICA)
                         for m in members})
    out = [Resource(id=arn, provider="aws", service="rds", kind="global-cluster",
                    name=str(gc.get("GlobalClusterIdentifier", _name_from_arn(arn))), account=account,
                    placements=tuple(placement(r, role, ref) for r, role in placements),
                    attributes=freeze_tags({"members": ",".join(sorted(str(m["DBClusterArn"]) for m in members))}))]
    writers = [str(m["DBClusterArn"]) for m in members if m.get("IsWriter")]
    readers = sorted(str(m["DBClusterArn"]) for m in members if not m.get("IsWriter"))
    for writer in writers:
        out.append(referenced(
            id=writer, service="rds", kind="db-cluster", name=_name_from_arn(writer),
            account=arn_account(writer) or account,
            placements=(placement(arn_region(writer), Role.PRIMARY, ref),),
            links=tuple(link(LinkRelation.REPLICATES_TO, r, ref, detail="Aurora global database secondary")
                        for r in readers)))
    for reader in readers:
        out.append(referenced(id=reader, service="rds", kind="db-cluster", name=_name_from_arn(reader),
                              account=arn_account(reader) or account,
                              placements=(placement(arn_region(reader), Role.REPLICA, ref),)))
    return out
