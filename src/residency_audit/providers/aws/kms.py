"""KMS: keys and the regions of multi-region keys' replicas.

A key's location matters for mitigations such as "keys the provider never holds". ``ListKeys``
then ``DescribeKey`` per key gives ``MultiRegionConfiguration`` (the primary key and the
replica keys with their regions); customer-managed keys' tags come from ``ListResourceTags``.
Each key is one resource: a primary placement in its own region and a replica placement in
every other region of its multi-region key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import (
    arn_member,
    arn_region,
    placement,
    records,
    region_member,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "SPEC", "fetch_kms", "parse_kms"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="kms", operation=op, permission=f"kms:{op}")
    for op in ("ListKeys", "DescribeKey", "ListResourceTags"))


def fetch_kms(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``keys`` (DescribeKey ``KeyMetadata``) and ``tags`` by key ARN."""
    keys: list[Any] = []
    tags: dict[str, list[Any]] = {}
    for entry in attempt.items("ListKeys", attempt.pages(client, "list_keys", "ListKeys"), "Keys"):
        arn = entry.get("KeyArn") if isinstance(entry, Mapping) else None
        key_id = attempt.member("ListKeys", entry, "KeyId", str, resource=arn if isinstance(arn, str) else "")
        if not key_id:
            continue
        described = attempt.call("DescribeKey", client.describe_key,
                                 resource=arn if isinstance(arn, str) and arn else key_id, KeyId=key_id)
        if described is None:
            continue
        meta = attempt.member("DescribeKey", described, "KeyMetadata", dict, resource=key_id)
        if meta is None:
            continue
        keys.append(meta)
        meta_arn = meta.get("Arn")
        if meta.get("KeyManager") == "CUSTOMER" and isinstance(meta_arn, str) and meta_arn:
            tag_pages = attempt.pages(client, "list_resource_tags", "ListResourceTags",
                                      resource=meta_arn, KeyId=key_id)
            if tag_pages is not None:
                tags[meta_arn] = attempt.items("ListResourceTags", tag_pages, "Tags")
    return {"keys": keys, "tags": tags}


def _key(meta: Mapping[str, Any], *, tags: Mapping[str, Any], account: str, region: str) -> list[Resource]:
    arn = arn_member(meta, "Arn")
    home = arn_region(arn) or region
    placements = [placement(home, Role.PRIMARY, "DescribeKey KeyMetadata.Arn")]
    config = optional_member(meta, "MultiRegionConfiguration", dict, {})
    path = "MultiRegionConfiguration."
    others = {region_member(k, "Region", path=f"{path}ReplicaKeys[{i}].")
              for i, k in enumerate(records(config, "ReplicaKeys", path=path))}
    primary = optional_member(config, "PrimaryKey", dict, {}, path=path)
    if primary.get("Region") is not None:
        others.add(region_member(primary, "Region", path=f"{path}PrimaryKey."))
    placements += [placement(r, Role.REPLICA, "DescribeKey KeyMetadata.MultiRegionConfiguration",
                             detail="multi-region key") for r in sorted(others - {home})]
    attributes = {"key_manager": optional_member(meta, "KeyManager", str, ""),
                  "key_state": optional_member(meta, "KeyState", str, ""),
                  "multi_region": str(optional_member(meta, "MultiRegion", bool, False)).lower()}
    key_type = optional_member(config, "MultiRegionKeyType", str, "", path=path)
    if key_type:
        attributes["multi_region_key_type"] = key_type
    return [Resource(id=arn, provider="aws", service="kms", kind="key", name=member(meta, "KeyId", str),
                     account=account, placements=tuple(placements),
                     tags=tags_from_pairs(tags.get(arn), key="TagKey", value="TagValue"),
                     attributes=freeze_tags(attributes))]


def parse_kms(payload: Mapping[str, Any], scope: Scope) -> tuple[list[Resource], list[CoverageGap]]:
    """One resource per key.

    >>> meta = {"KeyId": "mrk-1", "Arn": "arn:aws:kms:eu-north-1:1:key/mrk-1", "KeyManager": "CUSTOMER",
    ...   "MultiRegion": True, "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY",
    ...   "PrimaryKey": {"Arn": "arn:aws:kms:eu-north-1:1:key/mrk-1", "Region": "eu-north-1"},
    ...   "ReplicaKeys": [{"Arn": "arn:aws:kms:us-east-1:1:key/mrk-1", "Region": "us-east-1"}]}}
    >>> rs, gaps = parse_kms({"keys": [meta]}, Scope(account="1", region="eu-north-1", service="kms"))
    >>> [(p.location, p.role.value) for p in rs[0].placements]
    [('aws:eu-north-1', 'primary'), ('aws:us-east-1', 'replica')]
    """
    tags = payload.get("tags", {})
    return parse_records(payload.get("keys", ()),
                         lambda m: _key(m, tags=tags, account=scope.account, region=scope.region),
                         provider="aws", service="kms", scope=scope.account, region=scope.region,
                         operation="DescribeKey", id_fields=("Arn", "KeyId"))


SPEC = ServiceSpec(provider="aws", name="kms", operations=OPERATIONS, fetch=fetch_kms, parse=parse_kms,
                   scope_kind="region", finds="keys and the regions of multi-region keys' replicas")
