"""EFS: file systems and their replication configurations.

``DescribeFileSystems`` gives each file system (placed in the scanned region; a One Zone file
system names its zone). ``DescribeReplicationConfigurations`` gives, per source file system,
the ``Destinations[]`` with their ``Region`` and ``FileSystemId``: the destination is a file
system of its own, linked from the source and placed in the destination region.
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
    region_member,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "SPEC", "fetch_efs", "parse_efs"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="efs", operation=op, permission=f"elasticfilesystem:{op}")
    for op in ("DescribeFileSystems", "DescribeReplicationConfigurations"))


def fetch_efs(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``file_systems`` and ``replications`` (absent when unseen)."""
    out: dict[str, Any] = {}
    fs_pages = attempt.pages(client, "describe_file_systems", "DescribeFileSystems")
    if fs_pages is not None:
        out["file_systems"] = attempt.items("DescribeFileSystems", fs_pages, "FileSystems")
    rep_pages = attempt.pages(client, "describe_replication_configurations",
                              "DescribeReplicationConfigurations")
    if rep_pages is not None:
        out["replications"] = attempt.items("DescribeReplicationConfigurations", rep_pages, "Replications")
    return out


def _file_system(fs: Mapping[str, Any], *, account: str, region: str) -> list[Resource]:
    arn = arn_member(fs, "FileSystemArn")
    attributes = {}
    zone = optional_member(fs, "AvailabilityZoneName", str, "")
    if zone:
        attributes["availability_zone"] = zone
    return [Resource(
        id=arn, provider="aws", service="efs", kind="file-system", name=member(fs, "FileSystemId", str),
        account=account,
        placements=(placement(arn_region(arn) or region, Role.PRIMARY,
                              "DescribeFileSystems FileSystems[].FileSystemArn"),),
        tags=tags_from_pairs(fs.get("Tags")), attributes=freeze_tags(attributes))]


def _replication(rep: Mapping[str, Any], *, account: str, partition: str) -> list[Resource]:
    out: list[Resource] = []
    source = arn_member(rep, "SourceFileSystemArn")
    src_account = arn_account(source) or account
    links = []
    ref = "DescribeReplicationConfigurations Replications[].Destinations[].Region"
    for i, dest in enumerate(records(rep, "Destinations")):
        path = f"Destinations[{i}]."
        dest_region = region_member(dest, "Region", path=path)
        dest_account = optional_member(dest, "OwnerId", str, "", path=path) or src_account
        fs_id = member(dest, "FileSystemId", str, path=path)
        target = checked_arn(
            f"arn:{partition}:elasticfilesystem:{dest_region}:{dest_account}:file-system/{fs_id}",
            f"{path}FileSystemId")
        links.append(link(LinkRelation.REPLICATES_TO, target, ref,
                          detail=f"status {optional_member(dest, 'Status', str, '', path=path)}"))
        out.append(referenced(id=target, service="efs", kind="file-system", name=fs_id,
                              account=dest_account, placements=(placement(dest_region, Role.REPLICA, ref),)))
    home = optional_member(rep, "SourceFileSystemRegion", str, "") or arn_region(source)
    out.append(referenced(
        id=source, service="efs", kind="file-system", name=member(rep, "SourceFileSystemId", str),
        account=src_account,
        placements=(placement(home, Role.PRIMARY,
                              "DescribeReplicationConfigurations Replications[].SourceFileSystemRegion"),),
        links=tuple(links)))
    return out


def parse_efs(payload: Mapping[str, Any], scope: Scope) -> tuple[list[Resource], list[CoverageGap]]:
    """File systems, replication destinations, and the links between them.

    >>> rep = {"SourceFileSystemId": "fs-1", "SourceFileSystemRegion": "eu-north-1",
    ...   "SourceFileSystemArn": "arn:aws:elasticfilesystem:eu-north-1:1:file-system/fs-1",
    ...   "OriginalSourceFileSystemArn": "arn:aws:elasticfilesystem:eu-north-1:1:file-system/fs-1",
    ...   "CreationTime": 0, "Destinations": [{"Status": "ENABLED", "FileSystemId": "fs-2",
    ...   "Region": "eu-west-1"}]}
    >>> rs, gaps = parse_efs({"replications": [rep]}, Scope(account="1", region="eu-north-1", service="efs"))
    >>> [(r.name, [p.location for p in r.placements], len(r.links)) for r in rs]
    [('fs-2', ['aws:eu-west-1'], 0), ('fs-1', ['aws:eu-north-1'], 1)]
    """
    where = {"provider": "aws", "service": "efs", "scope": scope.account, "region": scope.region}
    file_systems, gaps = parse_records(
        payload.get("file_systems", ()), lambda fs: _file_system(fs, account=scope.account, region=scope.region),
        operation="DescribeFileSystems", id_fields=("FileSystemArn", "FileSystemId"), **where)
    replications, rep_gaps = parse_records(
        payload.get("replications", ()),
        lambda rep: _replication(rep, account=scope.account, partition=scope.partition),
        operation="DescribeReplicationConfigurations",
        id_fields=("SourceFileSystemArn", "SourceFileSystemId"), **where)
    return file_systems + replications, gaps + rep_gaps


SPEC = ServiceSpec(provider="aws", name="efs", operations=OPERATIONS, fetch=fetch_efs, parse=parse_efs,
                   scope_kind="region",
                   finds="file systems and their replication destinations")
