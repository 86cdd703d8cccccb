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

from residency_audit.model import Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, iter_items
from residency_audit.providers.aws.records import placement, tags_from_pairs
from residency_audit.providers.base import ReadOperation

__all__ = ["OPERATIONS", "fetch_dynamodb", "parse_dynamodb"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="dynamodb", operation=op, permission=f"dynamodb:{op}")
    for op in ("ListTables", "DescribeTable", "ListTagsOfResource", "ListGlobalTables",
               "DescribeGlobalTable"))


def fetch_dynamodb(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw answers: ``tables`` (DescribeTable ``Table``s), ``tags`` by ARN, ``global_tables``."""
    tables: list[dict[str, Any]] = []
    tags: dict[str, list[dict[str, Any]]] = {}
    for name in iter_names(attempt.pages(client, "list_tables", "ListTables")):
        answer = attempt.call("DescribeTable", client.describe_table, resource=name,
                              absent=("ResourceNotFoundException",), TableName=name)
        if not answer:
            continue
        table = answer["Table"]
        tables.append(table)
        tag_pages = attempt.pages(client, "list_tags_of_resource", "ListTagsOfResource",
                                  resource=table["TableArn"], ResourceArn=table["TableArn"])
        if tag_pages is not None:
            tags[table["TableArn"]] = list(iter_items(tag_pages, "Tags"))
    global_tables: list[dict[str, Any]] = []
    params: dict[str, Any] = {"RegionName": attempt.scope.region}
    while True:
        page = attempt.call("ListGlobalTables", client.list_global_tables, **params)
        if page is None:
            break
        for entry in page.get("GlobalTables", ()):
            described = attempt.call("DescribeGlobalTable", client.describe_global_table,
                                     resource=entry["GlobalTableName"],
                                     GlobalTableName=entry["GlobalTableName"])
            global_tables.append(described["GlobalTableDescription"] if described else entry)
        last = page.get("LastEvaluatedGlobalTableName")
        if not last:
            break
        params["ExclusiveStartGlobalTableName"] = last
    return {"tables": tables, "tags": tags, "global_tables": global_tables}


def iter_names(pages: list[dict[str, Any]] | None) -> list[str]:
    """Table names from ``ListTables`` pages."""
    return [str(n) for page in pages or () for n in page.get("TableNames", ())]


def parse_dynamodb(payload: Mapping[str, Any], *, account: str, region: str) -> list[Resource]:
    """One resource per table, with replica placements from either global-table version.

    >>> payload = {"tables": [{"TableName": "t", "TableArn": "arn:aws:dynamodb:eu-north-1:1:table/t",
    ...   "Replicas": [{"RegionName": "eu-north-1"}, {"RegionName": "eu-west-1"}]}],
    ...   "tags": {}, "global_tables": []}
    >>> [(p.location, p.role.value) for p in parse_dynamodb(payload, account="1", region="eu-north-1")[0].placements]
    [('aws:eu-north-1', 'primary'), ('aws:eu-west-1', 'replica')]
    """
    legacy: dict[str, set[str]] = {}
    for g in payload.get("global_tables", ()):
        legacy.setdefault(str(g["GlobalTableName"]), set()).update(
            str(r["RegionName"]) for r in g.get("ReplicationGroup", ()))
    out: list[Resource] = []
    for table in payload.get("tables", ()):
        arn = str(table["TableArn"])
        name = str(table["TableName"])
        placements = [placement(region, Role.PRIMARY, "DescribeTable Table.TableArn")]
        current = {str(r["RegionName"]) for r in table.get("Replicas", ())} - {region}
        placements += [placement(r, Role.REPLICA, "DescribeTable Table.Replicas[].RegionName",
                                 detail="global table version 2019.11.21") for r in sorted(current)]
        older = legacy.get(name, set()) - {region} - current
        placements += [placement(r, Role.REPLICA,
                                 "DescribeGlobalTable GlobalTableDescription.ReplicationGroup[].RegionName",
                                 detail="global table version 2017.11.29") for r in sorted(older)]
        attributes: dict[str, str] = {}
        if table.get("GlobalTableVersion"):
            attributes["global_table_version"] = str(table["GlobalTableVersion"])
        elif name in legacy:
            attributes["global_table_version"] = "2017.11.29"
        out.append(Resource(id=arn, provider="aws", service="dynamodb", kind="table", name=name,
                            account=account, placements=tuple(placements),
                            tags=tags_from_pairs(payload.get("tags", {}).get(arn)),
                            attributes=freeze_tags(attributes)))
    return out
