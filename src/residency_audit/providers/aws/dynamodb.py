"""DynamoDB: tables and the regions of their global-table replicas, both global-table versions.

- Version 2019.11.21: ``DescribeTable`` lists the replicas in ``Table.Replicas[].RegionName``.
- Version 2017.11.29: ``ListGlobalTables`` names the global tables and
  ``DescribeGlobalTable`` their ``ReplicationGroup[].RegionName``.

Each table is one :class:`~residency_audit.model.Resource` with a primary placement in its own
region and a replica placement in every other region of its global table. Tags come from
``ListTagsOfResource``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, GapLevel, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import (
    arn_member,
    placement,
    records,
    region_member,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "SPEC", "fetch_dynamodb", "parse_dynamodb"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="dynamodb", operation=op, permission=f"dynamodb:{op}")
    for op in ("ListTables", "DescribeTable", "ListTagsOfResource", "ListGlobalTables",
               "DescribeGlobalTable"))


def fetch_dynamodb(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw answers: ``tables`` (DescribeTable ``Table``s), ``tags`` by ARN, ``global_tables``."""
    tables: list[Any] = []
    tags: dict[str, list[Any]] = {}
    for name in attempt.items("ListTables", attempt.pages(client, "list_tables", "ListTables"), "TableNames"):
        if not isinstance(name, str) or not name:
            attempt.gap("ListTables", "UnparseableRecord", f"a table name is {type(name).__name__}, not text",
                        level=GapLevel.RECORD, field="TableNames[]")
            continue
        answer = attempt.call("DescribeTable", client.describe_table, resource=name,
                              absent=("ResourceNotFoundException",), TableName=name)
        if not answer:
            continue
        table = attempt.member("DescribeTable", answer, "Table", dict, resource=name)
        if table is None:
            continue
        tables.append(table)
        arn = table.get("TableArn")
        if isinstance(arn, str) and arn:
            tag_pages = attempt.pages(client, "list_tags_of_resource", "ListTagsOfResource",
                                      resource=arn, ResourceArn=arn)
            if tag_pages is not None:
                tags[arn] = attempt.items("ListTagsOfResource", tag_pages, "Tags")
    global_tables: list[Any] = []
    params: dict[str, Any] = {"RegionName": attempt.scope.region}
    seen: set[str] = set()
    while True:
        page = attempt.call("ListGlobalTables", client.list_global_tables, **params)
        if page is None:
            break
        for entry in attempt.items("ListGlobalTables", [page], "GlobalTables"):
            gname = entry.get("GlobalTableName") if isinstance(entry, Mapping) else None
            described = None
            if isinstance(gname, str) and gname:
                described = attempt.call("DescribeGlobalTable", client.describe_global_table,
                                         resource=gname, GlobalTableName=gname)
            desc = described.get("GlobalTableDescription") if described else None
            global_tables.append(desc if isinstance(desc, dict) else entry)
        last = attempt.token("ListGlobalTables", page, "LastEvaluatedGlobalTableName", seen)
        if last is None:
            break
        params["ExclusiveStartGlobalTableName"] = last
    return {"tables": tables, "tags": tags, "global_tables": global_tables}


def _legacy_regions(g: Mapping[str, Any]) -> tuple[str, set[str]]:
    name = member(g, "GlobalTableName", str)
    regions = {region_member(r, "RegionName", path=f"ReplicationGroup[{i}].")
               for i, r in enumerate(records(g, "ReplicationGroup"))}
    return name, regions


def _table(table: Mapping[str, Any], *, legacy: Mapping[str, set[str]], tags: Mapping[str, Any],
           account: str, region: str) -> list[Resource]:
    arn = arn_member(table, "TableArn")
    name = member(table, "TableName", str)
    placements = [placement(region, Role.PRIMARY, "DescribeTable Table.TableArn")]
    current = {region_member(r, "RegionName", path=f"Replicas[{i}].")
               for i, r in enumerate(records(table, "Replicas"))} - {region}
    placements += [placement(r, Role.REPLICA, "DescribeTable Table.Replicas[].RegionName",
                             detail="global table version 2019.11.21") for r in sorted(current)]
    older = set(legacy.get(name, set())) - {region} - current
    placements += [placement(r, Role.REPLICA,
                             "DescribeGlobalTable GlobalTableDescription.ReplicationGroup[].RegionName",
                             detail="global table version 2017.11.29") for r in sorted(older)]
    attributes: dict[str, str] = {}
    version = optional_member(table, "GlobalTableVersion", str, "")
    if version:
        attributes["global_table_version"] = version
    elif name in legacy:
        attributes["global_table_version"] = "2017.11.29"
    return [Resource(id=arn, provider="aws", service="dynamodb", kind="table", name=name,
                     account=account, placements=tuple(placements),
                     tags=tags_from_pairs(tags.get(arn)), attributes=freeze_tags(attributes))]


def parse_dynamodb(payload: Mapping[str, Any], scope: Scope) -> tuple[list[Resource], list[CoverageGap]]:
    """One resource per table, with replica placements from either global-table version.

    >>> payload = {"tables": [{"TableName": "t", "TableArn": "arn:aws:dynamodb:eu-north-1:1:table/t",
    ...   "Replicas": [{"RegionName": "eu-north-1"}, {"RegionName": "eu-west-1"}]}],
    ...   "tags": {}, "global_tables": []}
    >>> rs, gaps = parse_dynamodb(payload, Scope(account="1", region="eu-north-1", service="dynamodb"))
    >>> [(p.location, p.role.value) for p in rs[0].placements], gaps
    ([('aws:eu-north-1', 'primary'), ('aws:eu-west-1', 'replica')], [])
    """
    where = {"provider": "aws", "service": "dynamodb", "scope": scope.account, "region": scope.region}
    legacy: dict[str, set[str]] = {}

    def one_global(g: Any) -> list[Resource]:
        name, regions = _legacy_regions(g)
        legacy.setdefault(name, set()).update(regions)
        return []

    _, gaps = parse_records(payload.get("global_tables", ()), one_global, operation="ListGlobalTables",
                            id_fields=("GlobalTableName",), **where)
    tags = payload.get("tags", {})
    resources, table_gaps = parse_records(
        payload.get("tables", ()),
        lambda t: _table(t, legacy=legacy, tags=tags, account=scope.account, region=scope.region),
        operation="DescribeTable", id_fields=("TableArn", "TableName"), **where)
    return resources, gaps + table_gaps


SPEC = ServiceSpec(provider="aws", name="dynamodb", operations=OPERATIONS, fetch=fetch_dynamodb,
                   parse=parse_dynamodb, absent=frozenset({"ResourceNotFoundException"}),
                   scope_kind="region", finds="tables and the regions of their global-table replicas")
