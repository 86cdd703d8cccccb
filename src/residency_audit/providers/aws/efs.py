"""EFS: file systems and their replication configurations.

``DescribeFileSystems`` gives each file system (placed in the scanned region; a One Zone file
system names its zone). ``DescribeReplicationConfigurations`` gives, per source file system,
the ``Destinations[]`` with their ``Region`` and ``FileSystemId``: the destination is a file
system of its own, linked from the source and placed in the destination region.
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

__all__ = ["OPERATIONS", "fetch_efs", "parse_efs"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="efs", operation=op, permission=f"elasticfilesystem:{op}")
    for op in ("DescribeFileSystems", "DescribeReplicationConfigurations"))


def fetch_efs(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``file_systems`` and ``replications`` (absent when unseen)."""
    out: dict[str, Any] = {}
    fs_pages = attempt.pages(client, "describe_file_systems", "DescribeFileSystems")
    if fs_pages is not None:
        out["file_systems"] = list(iter_items(fs_pages, "FileSystems"))
    rep_pages = attempt.pages(client, "describe_replication_configurations",
                              "DescribeReplicationConfigurations")
    if rep_pages is not None:
        out["replications"] = list(iter_items(rep_pages, "Replications"))
    return out


def parse_efs(payload: Mapping[str, Any], *, account: str, region: str, partition: str = "aws",
              ) -> list[Resource]:
    """File systems, replication destinations, and the links between them.

    >>> rep = {"SourceFileSystemId": "fs-1", "SourceFileSystemRegion": "eu-north-1",
    ...   "SourceFileSystemArn": "arn:aws:elasticfilesystem:eu-north-1:1:file-system/fs-1",
    ...   "OriginalSourceFileSystemArn": "arn:aws:elasticfilesystem:eu-north-1:1:file-system/fs-1",
    ...   "CreationTime": 0, "Destinations": [{"Status": "ENABLED", "FileSystemId": "fs-2",
    ...   "Region": "eu-west-1"}]}
    >>> rs = parse_efs({"replications": [rep]}, account="1", region="eu-north-1")
    >>> [(r.name, [p.location for p in r.placements], len(r.links)) for r in rs]
    [('fs-2', ['aws:eu-west-1'], 0), ('fs-1', ['aws:eu-north-1'], 1)]
    """
    out: list[Resource] = []
    for fs in payload.get("file_systems", ()):
        arn = str(fs["FileSystemArn"])
        attributes = {}
        if fs.get("AvailabilityZoneName"):
            attributes["availability_zone"] = str(fs["AvailabilityZoneName"])
        out.append(Resource(
            id=arn, provider="aws", service="efs", kind="file-system", name=str(fs["FileSystemId"]),
            account=account,
            placements=(placement(arn_region(arn) or region, Role.PRIMARY,
                                  "DescribeFileSystems FileSystems[].FileSystemArn"),),
            tags=tags_from_pairs(fs.get("Tags")), attributes=freeze_tags(attributes)))
    for rep in payload.get("replications", ()):
        source = str(rep["SourceFileSystemArn"])
        src_account = arn_account(source) or account
        links = []
        for dest in rep.get("Destinations", ()):
            dest_region = str(dest["Region"])
            dest_account = str(dest.get("OwnerId") or src_account)
            target = f"arn:{partition}:elasticfilesystem:{dest_region}:{dest_account}:file-system/{dest['FileSystemId']}"
            ref = "DescribeReplicationConfigurations Replications[].Destinations[].Region"
            links.append(link(LinkRelation.REPLICATES_TO, target, ref, detail=f"status {dest.get('Status', '')}"))
            out.append(referenced(id=target, service="efs", kind="file-system", name=str(dest["FileSystemId"]),
                                  account=dest_account, placements=(placement(dest_region, Role.REPLICA, ref),)))
        out.append(referenced(
            id=source, service="efs", kind="file-system", name=str(rep["SourceFileSystemId"]),
            account=src_account,
            placements=(placement(str(rep.get("SourceFileSystemRegion") or arn_region(source)), Role.PRIMARY,
                                  "DescribeReplicationConfigurations Replications[].SourceFileSystemRegion"),),
            links=tuple(links)))
    return out
