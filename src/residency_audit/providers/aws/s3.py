"""S3: each bucket's region, its replication rules and their destinations, Multi-Region Access Points.

How a bucket's region is found, cheapest first:

1. ``ListBuckets`` (paginated): AWS lists each bucket's ``BucketRegion``;
2. ``ListBuckets`` with the ``BucketRegion`` filter, once per scanned region, for buckets the
   plain list did not place;
3. ``GetBucketLocation`` per bucket that is still unplaced. Its legacy answers are normalised:
   an empty ``LocationConstraint`` (``None``) means ``us-east-1`` and ``EU`` means ``eu-west-1``.

Then one ``GetBucketReplication`` per bucket (``ReplicationConfigurationNotFoundError`` means no
replication, not a gap). Tags come from the Resource Groups Tagging API (``GetResources``, one
paginated call per region holding buckets) instead of one ``GetBucketTagging`` per bucket.
A replication destination outside the scanned buckets is located with ``GetBucketLocation``;
when that fails (typically another account's bucket) the destination is still emitted, with no
placement, and a coverage gap names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from residency_audit.model import LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt
from residency_audit.providers.aws.records import link, placement, referenced, tags_from_pairs
from residency_audit.providers.base import ReadOperation

__all__ = [
    "OPERATIONS",
    "ReplicationTarget",
    "bucket_arn",
    "bucket_name_from_arn",
    "fetch_bucket_location",
    "fetch_bucket_names",
    "fetch_bucket_replication",
    "fetch_multi_region_access_points",
    "fetch_tags",
    "normalize_bucket_location",
    "parse_bucket",
    "parse_bucket_list",
    "parse_destination",
    "parse_multi_region_access_point",
    "parse_replication",
    "parse_tag_mappings",
]


def _op(service: str, operation: str, permission: str) -> ReadOperation:
    return ReadOperation(provider="aws", service=service, operation=operation, permission=permission)


OPERATIONS: tuple[ReadOperation, ...] = (
    _op("s3", "ListBuckets", "s3:ListAllMyBuckets"),
    _op("s3", "GetBucketLocation", "s3:GetBucketLocation"),
    _op("s3", "GetBucketReplication", "s3:GetReplicationConfiguration"),
    _op("s3control", "ListMultiRegionAccessPoints", "s3:ListMultiRegionAccessPoints"),
    _op("resourcegroupstaggingapi", "GetResources", "tag:GetResources"),
)

MRAP_CONTROL_REGION = "us-west-2"
"""Multi-Region Access Point control-plane requests are served in us-west-2 only."""

_LEGACY_LOCATIONS = {"": "us-east-1", "EU": "eu-west-1"}


def normalize_bucket_location(constraint: str | None) -> str:
    """A region code from ``GetBucketLocation``'s ``LocationConstraint``.

    >>> normalize_bucket_location(None), normalize_bucket_location("EU")
    ('us-east-1', 'eu-west-1')
    >>> normalize_bucket_location("eu-north-1")
    'eu-north-1'
    """
    value = constraint or ""
    return _LEGACY_LOCATIONS.get(value, value)


def bucket_arn(name: str, partition: str = "aws") -> str:
    """``arn:aws:s3:::<name>``."""
    return f"arn:{partition}:s3:::{name}"


def bucket_name_from_arn(arn: str) -> str:
    """The bucket name in ``arn:aws:s3:::<name>`` (the text itself when it is not an ARN).

    >>> bucket_name_from_arn("arn:aws:s3:::dr-copy")
    'dr-copy'
    """
    return arn.split(":::", 1)[1].split("/", 1)[0] if ":::" in arn else arn


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicationTarget:
    """One enabled replication rule's destination."""

    rule: str
    bucket_arn: str
    account: str


# ---------------------------------------------------------------- fetch (I/O)

def fetch_bucket_names(client: Any, attempt: Attempt, *, region: str | None = None,
                       ) -> list[dict[str, Any]] | None:
    """``ListBuckets`` pages, filtered to ``region`` when given; ``None`` when unseen.

    Pages of 10,000 (the largest ``MaxBuckets``): AWS pages by ``ContinuationToken`` beyond that.
    """
    params: dict[str, Any] = {"PaginationConfig": {"PageSize": 10000}}
    if region:
        params["BucketRegion"] = region
    return attempt.pages(client, "list_buckets", "ListBuckets", **params)


def fetch_bucket_location(client: Any, attempt: Attempt, bucket: str) -> dict[str, Any] | None:
    """``GetBucketLocation`` of ``bucket``; ``None`` (and a gap naming the bucket) when unseen."""
    return attempt.call("GetBucketLocation", client.get_bucket_location,
                        resource=bucket_arn(bucket, attempt.scope.partition), Bucket=bucket)


def fetch_bucket_replication(client: Any, attempt: Attempt, bucket: str) -> dict[str, Any] | None:
    """``GetBucketReplication`` of ``bucket``: ``{}`` when it has none, ``None`` when unseen."""
    return attempt.call("GetBucketReplication", client.get_bucket_replication,
                        resource=bucket_arn(bucket, attempt.scope.partition),
                        absent=("ReplicationConfigurationNotFoundError",), Bucket=bucket)


def fetch_tags(client: Any, attempt: Attempt) -> list[dict[str, Any]] | None:
    """``GetResources`` pages for S3 resources in the client's region."""
    return attempt.pages(client, "get_resources", "GetResources", ResourceTypeFilters=["s3"])


def fetch_multi_region_access_points(client: Any, attempt: Attempt) -> list[dict[str, Any]] | None:
    """All Multi-Region Access Points of the account (paged by ``NextToken``)."""
    points: list[dict[str, Any]] = []
    params: dict[str, Any] = {"AccountId": attempt.scope.account}
    while True:
        page = attempt.call("ListMultiRegionAccessPoints", client.list_multi_region_access_points,
                            **params)
        if page is None:
            return None
        points.extend(page.get("AccessPoints", ()))
        token = page.get("NextToken")
        if not token:
            return points
        params["NextToken"] = token


# ---------------------------------------------------------------- parse (pure)

def parse_bucket_list(pages: Iterable[Mapping[str, Any]]) -> dict[str, str | None]:
    """Bucket name -> the ``BucketRegion`` the list gave (``None`` where it gave none)."""
    out: dict[str, str | None] = {}
    for page in pages:
        for b in page.get("Buckets", ()):
            out[str(b["Name"])] = b.get("BucketRegion") or None
    return out


def parse_tag_mappings(pages: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, str]]:
    """Resource ARN -> its tags, from ``GetResources`` pages."""
    return {str(m["ResourceARN"]): tags_from_pairs(m.get("Tags"))
            for page in pages for m in page.get("ResourceTagMappingList", ())}


def parse_replication(config: Mapping[str, Any]) -> list[ReplicationTarget]:
    """The destinations of the enabled rules of a ``GetBucketReplication`` answer.

    Disabled rules send nothing and are left out.

    >>> cfg = {"ReplicationConfiguration": {"Role": "r", "Rules": [
    ...     {"ID": "dr", "Status": "Enabled",
    ...      "Destination": {"Bucket": "arn:aws:s3:::dr", "Account": "222233334444"}},
    ...     {"ID": "off", "Status": "Disabled", "Destination": {"Bucket": "arn:aws:s3:::x"}}]}}
    >>> [(t.rule, t.bucket_arn, t.account) for t in parse_replication(cfg)]
    [('dr', 'arn:aws:s3:::dr', '222233334444')]
    """
    rules = config.get("ReplicationConfiguration", {}).get("Rules", ())
    targets = {
        (str(r["Destination"]["Bucket"]), str(r.get("ID", ""))):
            ReplicationTarget(rule=str(r.get("ID", "")), bucket_arn=str(r["Destination"]["Bucket"]),
                              account=str(r["Destination"].get("Account", "")))
        for r in rules if r.get("Status") == "Enabled"
    }
    return [targets[k] for k in sorted(targets)]


def parse_bucket(*, name: str, account: str, partition: str, region: str | None, region_ref: str,
                 replication: Mapping[str, Any] | None, tags: Mapping[str, str] | None) -> Resource:
    """A bucket :class:`Resource`; no placement when its region could not be read."""
    placements = (placement(region, Role.PRIMARY, region_ref),) if region else ()
    links = tuple(
        link(LinkRelation.REPLICATES_TO, t.bucket_arn,
             "GetBucketReplication ReplicationConfiguration.Rules[].Destination.Bucket",
             detail=f"rule {t.rule}" if t.rule else "")
        for t in parse_replication(replication or {}))
    return Resource(id=bucket_arn(name, partition), provider="aws", service="s3", kind="bucket",
                    name=name, account=account, placements=placements, links=links,
                    tags=tags if tags is not None else freeze_tags(None))


def parse_destination(*, target: ReplicationTarget, region: str | None) -> Resource:
    """A replication destination that no scanned account lists (placed when its region is known)."""
    placements = (placement(region, Role.REPLICA, "GetBucketLocation LocationConstraint"),) if region else ()
    # Without ``Destination.Account`` the owner is not stated: a bucket of another account
    # needs no such field unless ownership is overridden, so the account is left unknown.
    return referenced(id=target.bucket_arn, service="s3", kind="bucket",
                      name=bucket_name_from_arn(target.bucket_arn),
                      account=target.account, placements=placements)


def parse_multi_region_access_point(point: Mapping[str, Any], *, account: str, partition: str,
                                    ) -> Resource:
    """A Multi-Region Access Point: a placement in each region it routes to.

    The buckets behind it are scanned as buckets; their names are kept in ``attributes``.
    """
    regions = sorted({str(r["Region"]) for r in point.get("Regions", ()) if r.get("Region")})
    buckets = sorted(str(r["Bucket"]) for r in point.get("Regions", ()) if r.get("Bucket"))
    alias = str(point.get("Alias") or point["Name"])
    return Resource(
        id=f"arn:{partition}:s3::{account}:accesspoint/{alias}", provider="aws", service="s3",
        kind="multi-region-access-point", name=str(point["Name"]), account=account,
        placements=tuple(placement(r, Role.PRIMARY, "ListMultiRegionAccessPoints AccessPoints[].Regions[].Region")
                         for r in regions),
        attributes=freeze_tags({"buckets": ",".join(buckets)}))


def buckets_by_region(pages_by_region: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """Bucket name -> region, from ``ListBuckets`` answers filtered by ``BucketRegion``."""
    out: dict[str, str] = {}
    for region in sorted(pages_by_region):
        for name in parse_bucket_list(pages_by_region[region]):
            out[name] = region
    return out


__all__ += ["MRAP_CONTROL_REGION", "buckets_by_region"]
