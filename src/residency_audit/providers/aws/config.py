"""AWS Config aggregators: an organisation's S3 buckets, DynamoDB tables and RDS databases in a
few paged queries, instead of a fan-out into every account and region.

When the calling account sees a configuration aggregator (``DescribeConfigurationAggregators``;
the one with an organisation source wins, else the first by name), the scan asks it once, paged
by 100, for every recorded item of the types below (``SelectAggregateResourceConfig``)::

    SELECT resourceId, resourceName, resourceType, accountId, awsRegion, arn, configuration,
           supplementaryConfiguration, tags
    WHERE resourceType IN ('AWS::S3::Bucket', 'AWS::DynamoDB::Table', 'AWS::RDS::DBInstance',
                           'AWS::RDS::DBCluster', 'AWS::RDS::GlobalCluster')

A configuration item's ``configuration`` is the describe call's answer with each member's first
letter in lower case (``dBInstanceArn``, ``readReplicaDBInstanceIdentifiers``, ``tableArn``,
``replicas[].regionName``): :func:`describe_shape` puts the first letters back, and the same
parsers as the per-account scan read them. An S3 bucket's replication is its
``supplementaryConfiguration.ReplicationConfiguration`` (``rules[].destinationConfig.bucketARN``),
an object or a JSON text.

Which (account, region) pairs the aggregator covers comes from its sources (account ids or the
whole organisation; all regions or a list) and from ``DescribeConfigurationAggregatorSourcesStatus``:
a source region whose last update did not succeed is not covered. Whatever is not covered is
scanned per account, and a gap says which accounts and regions the aggregator did not cover.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from residency_audit.model import CoverageGap, Evidence, GapLevel, Resource
from residency_audit.providers.aws import dynamodb, rds, s3
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import region_member, tags_from_pairs
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.service import RecordError, member, parse_records

__all__ = [
    "OPERATIONS",
    "QUERY",
    "RESOURCE_TYPES",
    "SERVICES",
    "ConfigItems",
    "Coverage",
    "choose_aggregator",
    "describe_shape",
    "fetch_aggregators",
    "fetch_items",
    "fetch_source_status",
    "parse_coverage",
    "parse_items",
    "uncovered_gaps",
    "via_config",
]


def _op(operation: str) -> ReadOperation:
    return ReadOperation(provider="aws", service="config", operation=operation, permission=f"config:{operation}")


OPERATIONS: tuple[ReadOperation, ...] = (
    _op("DescribeConfigurationAggregators"),
    _op("DescribeConfigurationAggregatorSourcesStatus"),
    _op("SelectAggregateResourceConfig"),
)

RESOURCE_TYPES: dict[str, str] = {
    "AWS::DynamoDB::Table": "dynamodb",
    "AWS::RDS::DBCluster": "rds",
    "AWS::RDS::DBInstance": "rds",
    "AWS::RDS::GlobalCluster": "rds",
    "AWS::S3::Bucket": "s3",
}
"""The configuration item types read from an aggregator, and the service each stands for."""

SERVICES: frozenset[str] = frozenset(RESOURCE_TYPES.values())
"""The services an aggregator can stand in for; the others are always scanned per account."""

QUERY = ("SELECT resourceId, resourceName, resourceType, accountId, awsRegion, arn, configuration, "
         "supplementaryConfiguration, tags WHERE resourceType IN ("
         + ", ".join(f"'{t}'" for t in sorted(RESOURCE_TYPES)) + ")")
"""The ``SelectAggregateResourceConfig`` expression."""

PAGE_SIZE = 100
"""The largest ``MaxResults`` the service accepts."""


# ---------------------------------------------------------------- fetch (I/O)

def fetch_aggregators(client: Any, attempt: Attempt, *, name: str | None = None) -> list[Any] | None:
    """The aggregators the caller sees (only ``name`` when given); ``None`` when unseen."""
    params: dict[str, Any] = {"ConfigurationAggregatorNames": [name]} if name else {}
    pages = attempt.pages(client, "describe_configuration_aggregators", "DescribeConfigurationAggregators",
                          resource=name or "", **params)
    return None if pages is None else attempt.items("DescribeConfigurationAggregators", pages,
                                                    "ConfigurationAggregators")


def fetch_source_status(client: Any, attempt: Attempt, name: str) -> list[Any] | None:
    """Every source's last update status (all statuses); ``None`` when unseen."""
    pages = attempt.pages(client, "describe_configuration_aggregator_sources_status",
                          "DescribeConfigurationAggregatorSourcesStatus", resource=name,
                          ConfigurationAggregatorName=name)
    return None if pages is None else attempt.items("DescribeConfigurationAggregatorSourcesStatus", pages,
                                                    "AggregatedSourceStatusList")


def fetch_items(client: Any, attempt: Attempt, name: str) -> list[Any] | None:
    """The configuration items of :data:`QUERY` (JSON texts), every page; ``None`` when unseen."""
    pages = attempt.pages(client, "select_aggregate_resource_config", "SelectAggregateResourceConfig",
                          resource=name, Expression=QUERY, ConfigurationAggregatorName=name,
                          PaginationConfig={"PageSize": PAGE_SIZE})
    return None if pages is None else attempt.items("SelectAggregateResourceConfig", pages, "Results")


# ---------------------------------------------------------------- parse (pure)

def choose_aggregator(aggregators: Iterable[Any]) -> Mapping[str, Any] | None:
    """The aggregator to use: one with an organisation source first, then the first by name.

    >>> choose_aggregator([{"ConfigurationAggregatorName": "b", "OrganizationAggregationSource": {}},
    ...                    {"ConfigurationAggregatorName": "a"}])["ConfigurationAggregatorName"]
    'b'
    """
    usable = [a for a in aggregators if isinstance(a, Mapping)
              and isinstance(a.get("ConfigurationAggregatorName"), str) and a["ConfigurationAggregatorName"]]
    usable.sort(key=lambda a: (not isinstance(a.get("OrganizationAggregationSource"), Mapping),
                               a["ConfigurationAggregatorName"]))
    return usable[0] if usable else None


@dataclass(frozen=True, slots=True)
class Coverage:
    """Which (account, region) pairs an aggregator answers for.

    ``regions[account]`` are the regions covered in ``account``; ``all_regions`` is true when the
    sources take every region, so that the regions with a successful status are every region
    the aggregator has data from; ``failed`` maps (account or ``*``, region) to the reason.
    """

    name: str
    regions: Mapping[str, frozenset[str]]
    all_regions: bool
    failed: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def covered(self, account: str, region: str) -> bool:
        """Whether the aggregator's items for ``account`` in ``region`` are whole."""
        return region in self.regions.get(account, frozenset())


def parse_coverage(aggregator: Mapping[str, Any], statuses: Iterable[Any], accounts: Sequence[str],
                   ) -> Coverage:
    """The :class:`Coverage` of ``aggregator`` over ``accounts``.

    An account is a source when the aggregator takes the organisation or names it; a region when
    the source takes all regions or names it, and a source status for it says ``SUCCEEDED``
    (a status of the organisation source, ``SourceType`` ``ORGANIZATION``, counts for every
    account). A region without any status is not covered: nothing says it was read.

    >>> agg = {"ConfigurationAggregatorName": "org", "OrganizationAggregationSource": {"AllAwsRegions": True}}
    >>> st = [{"SourceId": "o-1", "SourceType": "ORGANIZATION", "AwsRegion": r, "LastUpdateStatus": s}
    ...       for r, s in (("eu-north-1", "SUCCEEDED"), ("eu-west-1", "FAILED"))]
    >>> cov = parse_coverage(agg, st, ["111111111111"])
    >>> cov.covered("111111111111", "eu-north-1"), cov.covered("111111111111", "eu-west-1")
    (True, False)
    """
    name = str(aggregator.get("ConfigurationAggregatorName", ""))
    sourced: dict[str, set[str] | None] = {}  # account -> its source regions (None: all regions)

    def add(account: str, source: Mapping[str, Any]) -> None:
        if source.get("AllAwsRegions") is True or sourced.get(account, set()) is None:
            sourced[account] = None
            return
        regions = sourced.setdefault(account, set())
        assert regions is not None
        regions.update(r for r in source.get("AwsRegions") or () if isinstance(r, str))

    org = aggregator.get("OrganizationAggregationSource")
    if isinstance(org, Mapping):
        for a in accounts:
            add(a, org)
    for source in aggregator.get("AccountAggregationSources") or ():
        if isinstance(source, Mapping):
            for a in source.get("AccountIds") or ():
                if isinstance(a, str) and a in accounts:
                    add(a, source)
    succeeded: dict[str, set[str]] = {}
    failed: dict[tuple[str, str], str] = {}
    for st in statuses:
        if not isinstance(st, Mapping) or not isinstance(st.get("AwsRegion"), str):
            continue
        who = "*" if st.get("SourceType") == "ORGANIZATION" else str(st.get("SourceId", ""))
        if st.get("LastUpdateStatus") == "SUCCEEDED":
            succeeded.setdefault(who, set()).add(st["AwsRegion"])
        else:
            failed[(who, st["AwsRegion"])] = " ".join(
                str(x) for x in (st.get("LastUpdateStatus") or "no status", st.get("LastErrorCode") or "") if x)
    out: dict[str, frozenset[str]] = {}
    for a in sorted(sourced):
        ok = {r for r in succeeded.get(a, set()) | succeeded.get("*", set())
              if (a, r) not in failed and (("*", r) not in failed or r in succeeded.get(a, set()))}
        allowed = sourced[a]
        out[a] = frozenset(ok if allowed is None else ok & allowed)
    return Coverage(name=name, regions=out, all_regions=any(v is None for v in sourced.values()),
                    failed=dict(sorted(failed.items())))


def describe_shape(value: Any) -> Any:
    """A configuration item's ``configuration`` in the describe call's spelling (first letters up).

    >>> describe_shape({"dBInstanceArn": "a", "readReplicaDBInstanceIdentifiers": ["b"],
    ...                 "replicas": [{"regionName": "eu-west-1"}]})
    {'DBInstanceArn': 'a', 'ReadReplicaDBInstanceIdentifiers': ['b'], 'Replicas': [{'RegionName': 'eu-west-1'}]}
    """
    if isinstance(value, Mapping):
        return {(k[:1].upper() + k[1:] if isinstance(k, str) else k): describe_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [describe_shape(v) for v in value]
    return value


@dataclass
class ConfigItems:
    """What the aggregator's items gave: resources, gaps, and S3 replication destinations that
    none of its buckets is (ARN -> (target, source account))."""

    resources: list[Resource] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)
    pending: dict[str, tuple[s3.ReplicationTarget, str]] = field(default_factory=dict)


def _json(value: Any, name: str) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise RecordError(name, "not JSON") from None
    return value


def _replication(item: Mapping[str, Any]) -> dict[str, Any]:
    """``GetBucketReplication``'s shape from ``supplementaryConfiguration.ReplicationConfiguration``."""
    supplementary = _json(item.get("supplementaryConfiguration") or {}, "supplementaryConfiguration")
    if not isinstance(supplementary, Mapping):
        raise RecordError("supplementaryConfiguration", "expected an object")
    raw = _json(supplementary.get("ReplicationConfiguration"), "supplementaryConfiguration.ReplicationConfiguration")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise RecordError("supplementaryConfiguration.ReplicationConfiguration", "expected an object")
    rules = []
    for i, rule in enumerate(raw.get("rules") or ()):
        if not isinstance(rule, Mapping):
            raise RecordError(f"supplementaryConfiguration.ReplicationConfiguration.rules[{i}]", "expected an object")
        dest = rule.get("destinationConfig") or {}
        rules.append({"ID": rule.get("id"), "Status": rule.get("status"),
                      "Destination": {"Bucket": dest.get("bucketARN"), "Account": dest.get("account")}
                      if isinstance(dest, Mapping) else dest})
    return {"ReplicationConfiguration": {"Role": raw.get("roleARN"), "Rules": rules}}


def _tags(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    raw = _json(item.get("tags"), "tags")
    if raw is None:
        return []
    if isinstance(raw, Mapping):  # {"key": "value"} in some answers
        return [{"Key": k, "Value": v} for k, v in sorted(raw.items())]
    if not isinstance(raw, list):
        raise RecordError("tags", f"expected a list, got {type(raw).__name__}")
    return [describe_shape(t) for t in raw]


@dataclass(frozen=True, slots=True)
class _Item:
    kind: str
    account: str
    region: str
    body: Any


def _item(text: Any, keep: Any) -> _Item | None:
    item = _json(text, "Results[]")
    if not isinstance(item, Mapping):
        raise RecordError("Results[]", f"expected an object, got {type(item).__name__}")
    kind = member(item, "resourceType", str)
    account = member(item, "accountId", str)
    region = region_member(item, "awsRegion")
    if kind not in RESOURCE_TYPES or not keep(account, region):
        return None
    return _Item(kind=kind, account=account, region=region, body=item)


def parse_items(results: Iterable[Any], *, coverage: Coverage, scope: Scope) -> ConfigItems:
    """Resources from the aggregator's items (JSON texts) in covered (account, region) pairs.

    Items are grouped per (account, region) and read by the per-account parsers
    (:func:`~residency_audit.providers.aws.s3.parse_buckets`, ``dynamodb.parse_dynamodb``,
    ``rds.parse_rds``); an item that cannot be read is a record-level gap naming it. Items of
    pairs the aggregator does not cover are left to the per-account scan.
    """
    out = ConfigItems()
    items: list[_Item] = []

    def one(text: Any) -> list[Resource]:
        it = _item(text, coverage.covered)
        if it is not None:
            items.append(it)
        return []

    where = {"provider": "aws", "service": "config", "scope": scope.account, "region": scope.region,
             "operation": "SelectAggregateResourceConfig"}
    _, gaps = parse_records(results, one, id_fields=("arn", "resourceId"), **where)
    out.gaps += gaps
    groups: dict[tuple[str, str], list[_Item]] = {}
    for it in items:
        groups.setdefault((it.account, it.region), []).append(it)
    buckets: list[s3.FetchedBucket] = []
    bucket_tags: dict[str, Any] = {}
    for (account, region), group in sorted(groups.items()):
        payload_ddb: dict[str, Any] = {"tables": [], "tags": {}, "global_tables": []}
        payload_rds: dict[str, Any] = {"instances": [], "clusters": [], "global_clusters": []}

        def sort_one(it: _Item, account: str = account, region: str = region,
                     payload_ddb: dict[str, Any] = payload_ddb, payload_rds: dict[str, Any] = payload_rds,
                     ) -> list[Resource]:
            body = it.body
            if it.kind == "AWS::S3::Bucket":
                name = member(body, "resourceName", str)
                replication = _replication(body)
                tags = _tags(body)
                buckets.append(s3.FetchedBucket(name=name, account=account, region=region,
                                                ref="awsRegion",
                                                replication=replication))
                bucket_tags[s3.bucket_arn(name, scope.partition)] = tags
                return []
            conf = describe_shape(_json(body.get("configuration"), "configuration"))
            if not isinstance(conf, Mapping):
                raise RecordError("configuration", "missing" if conf is None else "expected an object")
            if it.kind == "AWS::DynamoDB::Table":
                payload_ddb["tables"].append(conf)
                arn = conf.get("TableArn")
                if isinstance(arn, str):
                    payload_ddb["tags"][arn] = _tags(body)
            elif it.kind == "AWS::RDS::DBInstance":
                payload_rds["instances"].append({**conf, "TagList": _tags(body)})
            elif it.kind == "AWS::RDS::DBCluster":
                payload_rds["clusters"].append({**conf, "TagList": _tags(body)})
            else:
                payload_rds["global_clusters"].append(conf)
            return []

        _, gaps = parse_records([it for it in group], sort_one, provider="aws", service="config",
                                scope=account, region=region, operation="SelectAggregateResourceConfig")
        out.gaps += gaps
        part = scope.partition
        for service, payload, parse in (("dynamodb", payload_ddb, dynamodb.parse_dynamodb),
                                        ("rds", payload_rds, rds.parse_rds)):
            if any(payload[k] for k in payload if k != "tags"):
                rs, gs = parse(payload, Scope(account=account, region=region, service=service, partition=part))
                out.resources += [via_config(r, coverage.name) for r in rs]
                out.gaps += gs
    tag_maps: dict[str, Mapping[str, str]] = {}
    for arn, pairs in bucket_tags.items():
        try:
            tag_maps[arn] = tags_from_pairs(pairs)
        except RecordError as exc:
            out.gaps.append(CoverageGap(**where, error="UnparseableRecord", level=GapLevel.RECORD,
                                        resource=arn, field=f"tags.{exc.field}", message=f"RecordError: {exc}"))
    resources, rule_gaps, pending = s3.parse_buckets(buckets, partition=scope.partition, tags=tag_maps)
    out.resources += [via_config(r, coverage.name) for r in resources]
    out.gaps += rule_gaps
    out.pending = pending
    return out


def _evidence(e: Evidence, aggregator: str) -> Evidence:
    return replace(e, ref=f"SelectAggregateResourceConfig item (aggregator {aggregator}), read as {e.ref}")


def via_config(resource: Resource, aggregator: str) -> Resource:
    """``resource`` with the evidence of its placements and links naming the aggregator's query.

    The per-account parsers name the describe call's field (``DescribeTable
    Table.Replicas[].RegionName``); read from a configuration item, the same field came from
    ``SelectAggregateResourceConfig``, and the evidence says so.
    """
    return replace(resource,
                   placements=tuple(replace(p, evidence=_evidence(p.evidence, aggregator)) for p in resource.placements),
                   links=tuple(replace(x, evidence=_evidence(x.evidence, aggregator)) for x in resource.links))


def uncovered_gaps(coverage: Coverage, plan: Mapping[str, Sequence[str]], *, caller: str,
                   home_region: str) -> list[CoverageGap]:
    """One gap per account of ``plan`` with regions the aggregator does not cover (scanned per account)."""
    out = []
    for account in sorted(plan):
        missing = [r for r in sorted(plan[account]) if not coverage.covered(account, r)]
        if not missing:
            continue
        whole = account not in coverage.regions
        reasons = sorted({coverage.failed[k] for r in missing for k in ((account, r), ("*", r))
                          if k in coverage.failed})
        why = ("the account is not one of its sources" if whole
               else f"regions {', '.join(missing)} are not among its sources or did not update"
               + (f" ({'; '.join(reasons)})" if reasons else ""))
        out.append(CoverageGap(
            provider="aws", scope=account, region="" if whole else ",".join(missing), service="config",
            operation="SelectAggregateResourceConfig", error="NotCoveredByAggregator", level=GapLevel.SERVICE,
            resource=coverage.name,
            message=f"aggregator {coverage.name} (account {caller}, {home_region}) does not cover account "
                    f"{account} in {', '.join(missing)}: {why}; scanned per account instead"))
    return out
