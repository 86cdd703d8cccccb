"""Object Storage: buckets per compartment and region, replication policies and targets.

A bucket lives in the region whose endpoint lists it (``ListBuckets`` per compartment, per
region). ``GetBucket`` says whether it is a replication source (``replicationEnabled``) or a
replication target (``isReadOnly``); only then are ``ListReplicationPolicies`` (destination
region and bucket: a REPLICA copy, linked) or ``ListReplicationSources`` (source region and
bucket) read. A bucket's id is ``objectstorage:<region>:<namespace>/<name>``, so that a
replication destination named by region and bucket name is the same node as the bucket itself
when the scan lists it.

>>> bucket_id("uk-london-1", "acme", "tips")
'objectstorage:uk-london-1:acme/tips'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, LinkRelation, Resource, Role
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.oci.records import (
    Where,
    build_resource,
    link,
    oci_tags,
    placement,
    referenced,
)
from residency_audit.providers.service import ServiceSpec, member, optional_member, parse_records

__all__ = ["OPERATIONS", "ROUTES", "SPEC", "bucket_id", "fetch_buckets", "fetch_namespace",
           "parse_bucket", "parse_buckets"]

SERVICE = "objectstorage"
LIST = "ObjectStorageClient.list_buckets"
GET = "ObjectStorageClient.get_bucket"
POLICIES = "ObjectStorageClient.list_replication_policies"
SOURCES = "ObjectStorageClient.list_replication_sources"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="get_namespace",
                  permission="read objectstorage-namespaces"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_buckets",
                  permission="inspect buckets"),
    ReadOperation(provider="oci", service=SERVICE, operation="get_bucket",
                  permission="read buckets"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_replication_policies",
                  permission="read buckets"),
    ReadOperation(provider="oci", service=SERVICE, operation="list_replication_sources",
                  permission="read buckets"),
)
"""The Object Storage API methods this adapter calls."""

ROUTES = {
    (SERVICE, "get_namespace"): ("GET", "/n"),
    (SERVICE, "list_buckets"): ("GET", "/n/{namespaceName}/b"),
    (SERVICE, "get_bucket"): ("GET", "/n/{namespaceName}/b/{bucketName}"),
    (SERVICE, "list_replication_policies"): ("GET", "/n/{namespaceName}/b/{bucketName}/replicationPolicies"),
    (SERVICE, "list_replication_sources"): ("GET", "/n/{namespaceName}/b/{bucketName}/replicationSources"),
}

SEARCH_TYPES = ("bucket",)
"""OCI Search resource types this service lists."""


def bucket_id(region: str, namespace: str, name: str) -> str:
    """The stable id of a bucket: region, namespace and name."""
    return f"objectstorage:{region}:{namespace}/{name}"


# ---------------------------------------------------------------- fetch (I/O)

def fetch_namespace(calls: Calls, region: str, tenancy: str) -> str | None:
    """``GetNamespace`` (one per tenancy, the same in every region)."""
    data = calls.call(SERVICE, region, "get_namespace", scope=tenancy)
    return data if isinstance(data, str) and data else None


def fetch_buckets(calls: Calls, where: Where) -> list[dict[str, Any]] | None:
    """The buckets of one compartment in one region, each with its details and replication."""
    if not where.namespace:
        return None
    rows = calls.call(SERVICE, where.region, "list_buckets", where.namespace, where.scope,
                      scope=where.scope, paged=True, fields=["tags"])
    if not isinstance(rows, list):
        return None
    out: list[dict[str, Any]] = []
    for row in sorted(rows, key=lambda r: str(r.get("name")) if isinstance(r, Mapping) else ""):
        name = row.get("name") if isinstance(row, Mapping) else None
        if not isinstance(name, str):
            out.append({"summary": row})
            continue
        rid = bucket_id(where.region, where.namespace, name)
        detail = calls.call(SERVICE, where.region, "get_bucket", where.namespace, name,
                            scope=where.scope, resource=rid)
        record: dict[str, Any] = {"name": name, "summary": row, "bucket": detail}
        if isinstance(detail, Mapping) and detail.get("replication_enabled") is True:
            record["policies"] = calls.call(SERVICE, where.region, "list_replication_policies",
                                            where.namespace, name, scope=where.scope,
                                            resource=rid, paged=True)
        if isinstance(detail, Mapping) and detail.get("is_read_only") is True:
            record["sources"] = calls.call(SERVICE, where.region, "list_replication_sources",
                                           where.namespace, name, scope=where.scope,
                                           resource=rid, paged=True)
        out.append(record)
    return out


# ---------------------------------------------------------------- parse (pure)

def parse_bucket(record: Mapping[str, Any], where: Where) -> list[Resource]:
    """A bucket (PRIMARY in its region) with its replication destinations (REPLICA, linked),
    and the destinations as resources of their own.

    >>> from residency_audit.providers.oci.records import Compartment
    >>> w = Where(tenancy="t", realm="oc1", region="uk-london-1", namespace="acme",
    ...           compartment=Compartment(id="c", name="tip", path="acme/tip"))
    >>> rs = parse_bucket({"summary": {"name": "tips"}, "bucket": {"name": "tips",
    ...     "replication_enabled": True}, "policies": [{"name": "dr",
    ...     "destination_region_name": "eu-frankfurt-1", "destination_bucket_name": "tips-dr"}]}, w)
    >>> [(r.name, [(p.code, p.role.value) for p in r.placements]) for r in rs]
    [('tips', [('uk-london-1', 'primary')]), ('tips-dr', [('eu-frankfurt-1', 'replica')])]
    """
    summary = member(record, "summary", dict)
    detail = optional_member(record, "bucket", dict, {})
    source: Mapping[str, Any] = detail or summary
    path = "" if detail else "summary."
    name = member(source, "name", str, path=path)
    operation = GET if detail else LIST
    tags = oci_tags(optional_member(source, "freeform_tags", dict, {}, path=path),
                    optional_member(source, "defined_tags", dict, {}, path=path))
    attributes = {"namespace": where.namespace, "storage_tier": optional_member(source, "storage_tier", str, ""),
                  "ocid": optional_member(source, "id", str, ""),
                  "kms_key_id": optional_member(source, "kms_key_id", str, ""),
                  "replication_enabled": str(optional_member(detail, "replication_enabled", bool, False)).lower()
                  if detail else "",
                  "replication_target": str(optional_member(detail, "is_read_only", bool, False)).lower()
                  if detail else "",
                  # GetBucket not read: whether it replicates is unknown (its gap names it).
                  "replication_unread": "" if detail else "true"}
    out: list[Resource] = []
    links = []
    for i, policy in enumerate(optional_member(record, "policies", list, [])):
        at = f"policies[{i}]."
        region = member(policy, "destination_region_name", str, path=at)
        target_name = member(policy, "destination_bucket_name", str, path=at)
        target = bucket_id(region, where.namespace, target_name)
        detail_text = f"policy {optional_member(policy, 'name', str, '', path=at)}".strip()
        links.append(link(LinkRelation.REPLICATES_TO, target, POLICIES,
                          "items[].destinationRegionName/destinationBucketName", detail_text))
        out.append(referenced(id=target, service=SERVICE, kind="bucket", name=target_name,
                              where=where, placements=[placement(
                                  region, Role.REPLICA, POLICIES, "items[].destinationRegionName",
                                  detail_text)]))
    sources = []
    for i, src in enumerate(optional_member(record, "sources", list, [])):
        at = f"sources[{i}]."
        sources.append(f"{member(src, 'source_region_name', str, path=at)}/"
                       f"{member(src, 'source_bucket_name', str, path=at)}")
    if sources:
        attributes["replication_sources"] = ",".join(sorted(sources))
    here = bucket_id(where.region, where.namespace, name)
    role = Role.REPLICA if sources else Role.PRIMARY
    out.insert(0, build_resource(
        id=here, service=SERVICE, kind="bucket", name=name, where=where,
        placements=[placement(where.region, role, operation, "namespace/name (regional endpoint)")],
        tags=tags, links=links, attributes={k: v for k, v in attributes.items() if v}))
    return out


def parse_buckets(payload: list[Any], where: Where) -> tuple[list[Resource], list[CoverageGap]]:
    """Every bucket record of one compartment and region; a bad record is a gap."""
    return parse_records(payload, lambda r: parse_bucket(r, where), provider="oci",
                         service=SERVICE, scope=where.scope, region=where.region, operation=LIST,
                         id_fields=("name",))


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_buckets, parse=parse_buckets,
    scope_kind="compartment",
    finds="buckets (namespace, region), replication policies (destination region and bucket), "
          "buckets that are replication targets, tags")
