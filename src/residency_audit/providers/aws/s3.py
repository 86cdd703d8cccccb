"""S3: each bucket's region, its replication rules and their destinations, Multi-Region Access Points.

How a bucket's region is found, cheapest first:

1. ``ListBuckets`` (paginated): AWS lists each bucket's ``BucketRegion``;
2. ``ListBuckets`` with the ``BucketRegion`` filter, once per scanned region, only when the plain
   list (or a one-bucket sample of it, asked beside it so that the answer comes early) did not
   place every bucket, or could not be read;
3. ``GetBucketLocation`` per bucket that is still unplaced. Its legacy answers are normalised:
   an empty ``LocationConstraint`` (``None``) means ``us-east-1`` and ``EU`` means ``eu-west-1``.

Then one ``GetBucketReplication`` per bucket (``ReplicationConfigurationNotFoundError`` means no
replication, not a gap). Tags come from the Resource Groups Tagging API (``GetResources`` with the
ARNs of up to 100 buckets of one region a call, sent to that region) instead of one
``GetBucketTagging`` per bucket.
A replication destination outside the scanned buckets is located with ``GetBucketLocation``;
when that fails (typically another account's bucket) the destination is still emitted, with no
placement, and a coverage gap names it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from residency_audit.model import CoverageGap, GapLevel, LinkRelation, Resource, Role, freeze_tags
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import (
    checked_arn,
    link,
    placement,
    records,
    referenced,
    region_member,
    tags_from_pairs,
)
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import (
    RecordError,
    ServiceSpec,
    member,
    optional_member,
    parse_records,
    server_reason,
)

__all__ = [
    "MRAP_CONTROL_REGION",
    "OPERATIONS",
    "SPEC",
    "TAG_BATCH",
    "FetchedBucket",
    "ReplicationTarget",
    "bucket_arn",
    "bucket_name_from_arn",
    "buckets_by_region",
    "fetch_bucket_location",
    "fetch_bucket_names",
    "fetch_bucket_region",
    "fetch_bucket_replication",
    "fetch_bucket_sample",
    "fetch_multi_region_access_points",
    "fetch_tags",
    "lists_regions",
    "normalize_bucket_location",
    "parse_bucket",
    "parse_bucket_list",
    "parse_buckets",
    "parse_destination",
    "parse_multi_region_access_point",
    "parse_multi_region_access_points",
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

TAG_BATCH = 100
"""ARNs per ``GetResources`` call: the most its ``ResourceARNList`` takes."""

MRAP_CONTROL_REGION = "us-west-2"
"""Multi-Region Access Point control-plane requests are served in us-west-2 only."""

_LEGACY_LOCATIONS = {"": "us-east-1", "EU": "eu-west-1"}
_NO_REPLICATION = "ReplicationConfigurationNotFoundError"


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


@dataclass(frozen=True, slots=True)
class FetchedBucket:
    """What was read about one bucket: its region (and the field that said so), its replication."""

    name: str
    account: str
    region: str | None
    ref: str
    replication: dict[str, Any] | None


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


def fetch_bucket_sample(client: Any, attempt: Attempt) -> dict[str, Any] | None:
    """``ListBuckets`` of one bucket (``MaxBuckets=1``): whether the listing gives regions is
    known before the whole listing is in; ``None`` when unseen."""
    return attempt.call("ListBuckets", client.list_buckets, MaxBuckets=1)


def fetch_bucket_location(client: Any, attempt: Attempt, bucket: str) -> dict[str, Any] | None:
    """``GetBucketLocation`` of ``bucket``; ``None`` (and a gap naming the bucket) when unseen."""
    return attempt.call("GetBucketLocation", client.get_bucket_location,
                        resource=bucket_arn(bucket, attempt.scope.partition), Bucket=bucket)


def fetch_bucket_region(client: Any, attempt: Attempt, bucket: str) -> str | None:
    """The region ``GetBucketLocation`` gives for ``bucket`` (legacy answers normalised);
    ``None`` and a gap when unseen or when the answer is not a region code."""
    answer = fetch_bucket_location(client, attempt, bucket)
    if answer is None:
        return None
    try:
        constraint = optional_member(answer, "LocationConstraint", str, "")
        return region_member({"LocationConstraint": normalize_bucket_location(constraint)}, "LocationConstraint")
    except RecordError as exc:
        attempt.unparseable("GetBucketLocation", exc, resource=bucket_arn(bucket, attempt.scope.partition))
        return None


def fetch_bucket_replication(client: Any, attempt: Attempt, bucket: str) -> dict[str, Any] | None:
    """``GetBucketReplication`` of ``bucket``: ``{}`` when it has none, ``None`` when unseen."""
    return attempt.call("GetBucketReplication", client.get_bucket_replication,
                        resource=bucket_arn(bucket, attempt.scope.partition),
                        absent=(_NO_REPLICATION,), Bucket=bucket)


def fetch_tags(client: Any, attempt: Attempt, arns: Sequence[str] = ()) -> list[dict[str, Any]] | None:
    """``GetResources`` pages: with ``arns`` (at most :data:`TAG_BATCH`), the tags of those
    resources; without, every S3 resource in the client's region, 100 resources a page (the most
    the API gives; its default pages by tag count, fewer buckets a page).

    An ARN list takes no page size; a server that pages the answer anyway is followed by its
    ``PaginationToken``.
    """
    if arns:
        return attempt.pages(client, "get_resources", "GetResources", ResourceARNList=list(arns))
    return attempt.pages(client, "get_resources", "GetResources", ResourceTypeFilters=["s3"],
                         PaginationConfig={"PageSize": 100})


def fetch_multi_region_access_points(client: Any, attempt: Attempt) -> list[Any] | None:
    """All Multi-Region Access Points of the account (paged by ``NextToken``)."""
    points: list[Any] = []
    params: dict[str, Any] = {"AccountId": attempt.scope.account}
    seen: set[str] = set()
    while True:
        page = attempt.call("ListMultiRegionAccessPoints", client.list_multi_region_access_points,
                            **params)
        if page is None:
            return None
        points.extend(attempt.items("ListMultiRegionAccessPoints", [page], "AccessPoints"))
        token = attempt.token("ListMultiRegionAccessPoints", page, "NextToken", seen)
        if token is None:
            return points
        params["NextToken"] = token


# ---------------------------------------------------------------- parse (pure)

def _where(scope: Scope, operation: str) -> dict[str, str]:
    return {"provider": "aws", "service": scope.service, "scope": scope.account, "region": scope.region,
            "operation": operation}


def parse_bucket_list(pages: Iterable[Mapping[str, Any]], scope: Scope,
                      ) -> tuple[dict[str, str | None], list[CoverageGap]]:
    """Bucket name -> the ``BucketRegion`` the list gave (``None`` where it gave none).

    >>> names, gaps = parse_bucket_list([{"Buckets": [{"Name": "a", "BucketRegion": "eu-north-1"},
    ...     {"BucketRegion": "eu-west-1"}]}], Scope(account="1", region="us-east-1", service="s3"))
    >>> names, [(g.field, g.resource) for g in gaps]
    ({'a': 'eu-north-1'}, [('Name', 'record #1')])
    """
    out: dict[str, str | None] = {}
    gaps: list[CoverageGap] = []

    def one(b: Any) -> list[Resource]:
        name = member(b, "Name", str)
        listed = region_member(b, "BucketRegion") if b.get("BucketRegion") else None
        out[name] = listed
        return []

    for page in pages:
        _, page_gaps = parse_records(_page_items(page, "Buckets", scope, "ListBuckets", gaps), one,
                                     id_fields=("Name",), **_where(scope, "ListBuckets"))
        gaps += page_gaps
    return out, gaps


def lists_regions(sample: Mapping[str, Any] | None) -> bool:
    """Whether a ``ListBuckets`` answer gives ``BucketRegion`` for every bucket it lists (true
    when it lists none; false when it could not be read).

    >>> lists_regions({"Buckets": [{"Name": "a", "BucketRegion": "eu-north-1"}]}), lists_regions({"Buckets": []})
    (True, True)
    >>> lists_regions({"Buckets": [{"Name": "a"}]}), lists_regions(None)
    (False, False)
    """
    if not isinstance(sample, Mapping):
        return False
    items = sample.get("Buckets") or []
    return isinstance(items, list) and all(isinstance(b, Mapping) and b.get("BucketRegion") for b in items)


def _page_items(page: Any, key: str, scope: Scope, operation: str, gaps: list[CoverageGap]) -> list[Any]:
    """``page[key]`` (a list); a page whose ``key`` is not a list adds a record-level gap."""
    value = page.get(key) if isinstance(page, Mapping) else None
    if value is None:
        return []
    if not isinstance(value, list):
        gaps.append(CoverageGap(**_where(scope, operation), error="UnparseableRecord", level=GapLevel.RECORD,
                                field=key, message=f"RecordError: {key}: expected list, got {type(value).__name__}"))
        return []
    return value


def parse_tag_mappings(pages: Iterable[Mapping[str, Any]], scope: Scope,
                       ) -> tuple[dict[str, Mapping[str, str]], list[CoverageGap]]:
    """Resource ARN -> its tags, from ``GetResources`` pages."""
    out: dict[str, Mapping[str, str]] = {}
    gaps: list[CoverageGap] = []

    def one(m: Any) -> list[Resource]:
        arn = checked_arn(member(m, "ResourceARN", str), "ResourceARN")
        out[arn] = tags_from_pairs(m.get("Tags"))
        return []

    for page in pages:
        items = _page_items(page, "ResourceTagMappingList", scope, "GetResources", gaps)
        _, page_gaps = parse_records(items, one, id_fields=("ResourceARN",), **_where(scope, "GetResources"))
        gaps += page_gaps
    return out, gaps


def _rule_target(rule: Mapping[str, Any]) -> list[ReplicationTarget]:
    if rule.get("Status") != "Enabled":
        return []
    destination = member(rule, "Destination", dict)
    arn = checked_arn(member(destination, "Bucket", str, path="Destination."), "Destination.Bucket")
    rule_id = optional_member(rule, "ID", str, "")
    account = optional_member(destination, "Account", str, "", path="Destination.")
    return [ReplicationTarget(rule=rule_id, bucket_arn=arn, account=account)]


def parse_replication(config: Mapping[str, Any], scope: Scope | None = None, *, bucket: str = "",
                      ) -> tuple[list[ReplicationTarget], list[CoverageGap]]:
    """The destinations of the enabled rules of a ``GetBucketReplication`` answer.

    Disabled rules send nothing and are left out. A rule that cannot be read is a gap naming
    ``bucket`` (its ARN) and the rule.

    >>> cfg = {"ReplicationConfiguration": {"Role": "r", "Rules": [
    ...     {"ID": "dr", "Status": "Enabled",
    ...      "Destination": {"Bucket": "arn:aws:s3:::dr", "Account": "222233334444"}},
    ...     {"ID": "off", "Status": "Disabled", "Destination": {"Bucket": "arn:aws:s3:::x"}},
    ...     {"ID": "bad", "Status": "Enabled", "Destination": {"Bucket": "dr-copy"}}]}}
    >>> targets, gaps = parse_replication(cfg, bucket="arn:aws:s3:::src")
    >>> [(t.rule, t.bucket_arn, t.account) for t in targets]
    [('dr', 'arn:aws:s3:::dr', '222233334444')]
    >>> [(g.resource, g.field) for g in gaps]
    [('arn:aws:s3:::src rule bad', 'Destination.Bucket')]
    """
    scope = scope or Scope(account="", region="", service="s3")
    where = _where(scope, "GetBucketReplication")

    def gap(exc: RecordError, resource: str) -> CoverageGap:
        return CoverageGap(**where, error="UnparseableRecord", level=GapLevel.RECORD, resource=resource,
                           field=exc.field, message=server_reason(f"RecordError: {exc}"))

    try:
        body = optional_member(config, "ReplicationConfiguration", dict, {})
        rules = records(body, "Rules", path="ReplicationConfiguration.")
    except RecordError as exc:
        return [], [gap(exc, bucket)]
    targets: dict[tuple[str, str], ReplicationTarget] = {}
    gaps: list[CoverageGap] = []
    for i, rule in enumerate(rules):
        try:
            for t in _rule_target(rule):
                targets[(t.bucket_arn, t.rule)] = t
        except RecordError as exc:
            rule_id = rule.get("ID")
            label = server_reason(rule_id, limit=100) if isinstance(rule_id, str) and rule_id else f"#{i}"
            gaps.append(gap(exc, f"{bucket} rule {label}".strip()))
    return [targets[k] for k in sorted(targets)], gaps


def parse_bucket(*, name: str, account: str, partition: str, region: str | None, region_ref: str,
                 targets: Iterable[ReplicationTarget], tags: Mapping[str, str] | None) -> Resource:
    """A bucket :class:`Resource`; no placement when its region could not be read."""
    placements = (placement(region, Role.PRIMARY, region_ref),) if region else ()
    links = tuple(
        link(LinkRelation.REPLICATES_TO, t.bucket_arn,
             "GetBucketReplication ReplicationConfiguration.Rules[].Destination.Bucket",
             detail=f"rule {t.rule}" if t.rule else "")
        for t in targets)
    return Resource(id=bucket_arn(name, partition), provider="aws", service="s3", kind="bucket",
                    name=name, account=account, placements=placements, links=links,
                    tags=tags if tags is not None else freeze_tags(None))


def parse_buckets(fetched: Iterable[FetchedBucket], *, partition: str, tags: Mapping[str, Mapping[str, str]],
                  ) -> tuple[list[Resource], list[CoverageGap], dict[str, tuple[ReplicationTarget, str]]]:
    """The bucket resources, the gaps of unreadable replication rules, and the replication
    destinations (ARN -> (target, source account)) that none of ``fetched`` is."""
    resources: list[Resource] = []
    gaps: list[CoverageGap] = []
    all_targets: list[tuple[ReplicationTarget, str]] = []
    for f in sorted(fetched, key=lambda f: f.name):
        arn = bucket_arn(f.name, partition)
        scope = Scope(account=f.account, region=f.region or "", service="s3", partition=partition)
        targets, rule_gaps = parse_replication(f.replication or {}, scope, bucket=arn)
        gaps += rule_gaps
        all_targets += [(t, f.account) for t in targets]
        resources.append(parse_bucket(name=f.name, account=f.account, partition=partition, region=f.region,
                                      region_ref=f.ref, targets=targets, tags=tags.get(arn)))
    known = {r.id for r in resources}
    pending: dict[str, tuple[ReplicationTarget, str]] = {}
    for target, source_account in all_targets:
        if target.bucket_arn not in known:
            pending.setdefault(target.bucket_arn, (target, source_account))
    return resources, gaps, pending


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
    name = member(point, "Name", str)
    routes = records(point, "Regions")
    regions = sorted({region_member(r, "Region", path=f"Regions[{i}].")
                      for i, r in enumerate(routes) if r.get("Region")})
    buckets = sorted(member(r, "Bucket", str, path=f"Regions[{i}].") for i, r in enumerate(routes) if r.get("Bucket"))
    alias = optional_member(point, "Alias", str, "") or name
    return Resource(
        id=f"arn:{partition}:s3::{account}:accesspoint/{alias}", provider="aws", service="s3",
        kind="multi-region-access-point", name=name, account=account,
        placements=tuple(placement(r, Role.PRIMARY, "ListMultiRegionAccessPoints AccessPoints[].Regions[].Region")
                         for r in regions),
        attributes=freeze_tags({"buckets": ",".join(buckets)}))


def parse_multi_region_access_points(points: Iterable[Any], scope: Scope,
                                     ) -> tuple[list[Resource], list[CoverageGap]]:
    """:func:`parse_multi_region_access_point` for each point; an unreadable one is a gap."""
    return parse_records(
        points, lambda p: [parse_multi_region_access_point(p, account=scope.account, partition=scope.partition)],
        id_fields=("Alias", "Name"), **_where(scope, "ListMultiRegionAccessPoints"))


def buckets_by_region(pages_by_region: Mapping[str, Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """Bucket name -> region, from ``ListBuckets`` answers filtered by ``BucketRegion``."""
    out: dict[str, str] = {}
    for region in sorted(pages_by_region):
        names, _ = parse_bucket_list(pages_by_region[region], Scope(account="", region=region, service="s3"))
        for name in names:
            out[name] = region
    return out


SPEC = ServiceSpec(provider="aws", name="s3", operations=OPERATIONS, fetch=fetch_bucket_names,
                   parse=parse_bucket_list, absent=frozenset({_NO_REPLICATION}), scope_kind="account",
                   finds="buckets' regions, replication rules and destinations, Multi-Region Access Points")
