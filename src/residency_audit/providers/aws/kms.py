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

from residency_audit.model import Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, iter_items
from residency_audit.providers.aws.records import arn_region, placement, tags_from_pairs
from residency_audit.providers.base import ReadOperation

__all__ = ["OPERATIONS", "fetch_kms", "parse_kms"]

OPERATIONS: tuple[ReadOperation, ...] = tuple(
    ReadOperation(provider="aws", service="kms", operation=op, permission=f"kms:{op}")
    for op in ("ListKeys", "DescribeKey", "ListResourceTags"))


def fetch_kms(client: Any, attempt: Attempt) -> dict[str, Any]:
    """Raw ``keys`` (DescribeKey ``KeyMetadata``) and ``tags`` by key ARN."""
    keys: list[dict[str, Any]] = []
    tags: dict[str, list[dict[str, Any]]] = {}
    for entry in iter_items(attempt.pages(client, "list_keys", "ListKeys"), "Keys"):
        arn = entry.get("KeyArn", entry["KeyId"])
        described = attempt.call("DescribeKey", client.describe_key, resource=arn, KeyId=entry["KeyId"])
        if described is None:
            continue
        meta = described["KeyMetadata"]
        keys.append(meta)
        if meta.get("KeyManager") == "CUSTOMER":
            tag_pages = attempt.pages(client, "list_resource_tags", "ListResourceTags",
                                      resource=meta["Arn"], KeyId=meta["KeyId"])
            if tag_pages is not None:
                tags[meta["Arn"]] = list(iter_items(tag_pages, "Tags"))
    return {"keys": keys, "tags": tags}


def parse_kms(payload: Mapping[str, Any], *, account: str, region: str) -> list[Resource]:
    """One resource per key.

    >>> meta = {"KeyId": "mrk-1", "Arn": "arn:aws:kms:eu-north-1:1:key/mrk-1", "KeyManager": "CUSTOMER",
    ...   "MultiRegion": True, "MultiRegionConfiguration": {"MultiRegionKeyType": "PRIMARY",
    ...   "PrimaryKey": {"Arn": "arn:aws:kms:eu-north-1:1:key/mrk-1", "Region": "eu-north-1"},
    ...   "ReplicaKeys": [{"Arn": "arn:aws:kms:us-east-1:1:key/mrk-1", "Region": "us-east-1"}]}}
    >>> [(p.location, p.role.value) for p in parse_kms({"keys": [meta]}, account="1", region="eu-north-1")[0].placements]
    [('aws:eu-north-1', 'primary'), ('aws:us-east-1', 'replica')]
    """
    out: list[Resource] = []
    for meta in payload.get("keys", ()):
        arn = str(meta["Arn"])
        home = arn_region(arn) or region
        placements = [placement(home, Role.PRIMARY, "DescribeKey KeyMetadata.Arn")]
        config = meta.get("MultiRegionConfiguration") or {}
        others = {str(k["Region"]) for k in config.get("ReplicaKeys", ())}
        primary = config.get("PrimaryKey", {}).get("Region")
        if primary:
            others.add(str(primary))
        placements += [placement(r, Role.REPLICA, "DescribeKey KeyMetadata.MultiRegionConfiguration",
                                 detail="multi-region key") for r in sorted(others - {home})]
        attributes = {"key_manager": str(meta.get("KeyManager", "")), "key_state": str(meta.get("KeyState", "")),
                      "multi_region": str(bool(meta.get("MultiRegion", False))).lower()}
        if config.get("MultiRegionKeyType"):
            attributes["multi_region_key_type"] = str(config["MultiRegionKeyType"])
        out.append(Resource(id=arn, provider="aws", service="kms", kind="key", name=str(meta["KeyId"]),
                            account=account, placements=tuple(placements),
                            tags=tags_from_pairs(payload.get("tags", {}).get(arn), key="TagKey", value="TagValue"),
                            attributes=freeze_tags(attributes)))
    return out
