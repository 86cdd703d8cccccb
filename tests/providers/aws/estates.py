"""Builders of AWS estates in moto, shared by the adapter tests."""

from __future__ import annotations

from typing import Any

import boto3

REGIONS8 = ("us-east-1", "eu-west-1", "eu-north-1", "eu-central-1", "us-west-2", "ap-southeast-2",
            "sa-east-1", "ca-central-1")
ROLE = "arn:aws:iam::123456789012:role/replication"


def make_bucket(session: boto3.Session, name: str, region: str, *, legacy_eu: bool = False,
                tags: dict[str, str] | None = None, versioned: bool = False) -> None:
    """Create ``name`` in ``region`` (``legacy_eu``: as ``EU`` from a us-east-1 client)."""
    if legacy_eu:
        client = session.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "EU"})
    elif region == "us-east-1":
        client = session.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=name)
    else:
        client = session.client("s3", region_name=region)
        client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if tags:
        client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
    if versioned:
        client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def replicate(session: boto3.Session, source: str, region: str, destinations: list[tuple[str, str | None]]) -> None:
    """Put a replication configuration on ``source``: one enabled rule per (bucket, account)."""
    rules: list[dict[str, Any]] = []
    for i, (dest, account) in enumerate(destinations):
        destination: dict[str, Any] = {"Bucket": f"arn:aws:s3:::{dest}"}
        if account:
            destination["Account"] = account
        rules.append({"ID": f"rule-{i}", "Priority": i + 1, "Status": "Enabled", "Filter": {"Prefix": ""},
                      "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": destination})
    session.client("s3", region_name=region).put_bucket_replication(
        Bucket=source, ReplicationConfiguration={"Role": ROLE, "Rules": rules})


def build_s3_estate(session: boto3.Session) -> dict[str, str]:
    """Buckets in eight regions, two legacy answers, replication in-account and cross-account.

    Returns the answer key: bucket name -> region.
    """
    key: dict[str, str] = {}
    for region in REGIONS8:
        name = f"data-{region}"
        make_bucket(session, name, region, versioned=True,
                    tags={"data-class": "patient"} if region == "eu-north-1" else None)
        key[name] = region
    make_bucket(session, "legacy-eu", "eu-west-1", legacy_eu=True)
    key["legacy-eu"] = "eu-west-1"
    # eu-north-1 -> eu-west-1 (same account) and -> a bucket of another account, not visible here.
    replicate(session, "data-eu-north-1", "eu-north-1",
              [("data-eu-west-1", None), ("partner-dr-copy", "210987654321")])
    replicate(session, "data-eu-central-1", "eu-central-1", [("data-us-east-1", None)])
    return key
