"""Cloud Storage buckets: location, location type, dual-region data locations, turbo replication.

Placements (see ``docs/providers/gcp.md``):

- a region bucket (``EUROPE-NORTH1``) → ``gcp:europe-north1``;
- a predefined dual-region (``EUR4``, ``NAM4``, ``ASIA1``) → ``gcp:EUR4``; the catalog knows its
  member regions;
- a configurable dual-region (``location`` ``EU`` with ``customPlacementConfig.dataLocations``
  ``[EUROPE-NORTH1, EUROPE-WEST4]``) → one PRIMARY placement per data location (the data is in
  both), the multi-region code kept in ``attributes["location"]``;
- a multi-region (``EU``, ``US``, ``ASIA``) → ``gcp:EU``; the catalog knows its countries.

``rpo`` ``ASYNC_TURBO`` (turbo replication) is kept as ``attributes["turbo_replication"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from residency_audit.model import CoverageGap, Resource, Role
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp.faults import api_errors, error_code, error_message
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement

__all__ = ["ASSET_TYPE", "OPERATIONS", "ROUTES", "bucket_id", "bucket_payload", "fetch_bucket",
           "fetch_buckets", "parse_bucket"]

SERVICE = "storage"
ASSET_TYPE = "storage.googleapis.com/Bucket"
LIST = "storage.buckets.list"
GET = "storage.buckets.get"

OPERATIONS = (
    ReadOperation(provider="gcp", service=SERVICE, operation=LIST, permission="storage.buckets.list"),
    ReadOperation(provider="gcp", service=SERVICE, operation=GET, permission="storage.buckets.get"),
)
"""The Cloud Storage JSON API methods this adapter calls."""

ROUTES = {
    LIST: ("GET", r"^/storage/v1/b$"),
    GET: ("GET", r"^/storage/v1/b/[^/]+$"),
}


def bucket_id(name: str) -> str:
    """The bucket's full resource name (as Cloud Asset Inventory writes it).

    >>> bucket_id("patient-records")
    '//storage.googleapis.com/patient-records'
    """
    return f"//storage.googleapis.com/{name}"


def bucket_payload(bucket: Any) -> dict[str, Any]:
    """The JSON-API fields of a ``google.cloud.storage.Bucket`` that matter here (no I/O)."""
    out: dict[str, Any] = {"name": bucket.name}
    for key, value in (("location", bucket.location), ("locationType", bucket.location_type),
                       ("rpo", bucket.rpo), ("projectNumber", bucket.project_number),
                       ("labels", dict(bucket.labels or {}))):
        if value not in (None, "", {}):
            out[key] = value
    if bucket.data_locations:
        out["customPlacementConfig"] = {"dataLocations": list(bucket.data_locations)}
    return out


def parse_bucket(payload: Mapping[str, Any], ctx: Context, *, operation: str = LIST,
                 prefix: str = "") -> Resource:
    """A bucket's Resource from its JSON-API representation. Pure.

    ``operation`` and ``prefix`` name where the representation came from, for the evidence
    (``storage.buckets.list``, or Cloud Asset search's ``versionedResources.resource.``).

    >>> r = parse_bucket({"name": "b", "location": "EU", "locationType": "multi-region"}, Context())
    >>> [p.location for p in r.placements], r.attributes["location_type"]
    (['gcp:EU'], 'multi-region')
    """
    name = payload["name"]
    location = str(payload.get("location") or "")
    location_type = str(payload.get("locationType") or "").lower()
    data_locations = sorted(str(x) for x in
                            (payload.get("customPlacementConfig") or {}).get("dataLocations") or ())
    if data_locations:
        placements = [placement(gcp_location(code), Role.PRIMARY, operation,
                                f"{prefix}customPlacementConfig.dataLocations[{code}]")
                      for code in data_locations]
    elif location:
        placements = [placement(gcp_location(location), Role.PRIMARY, operation, f"{prefix}location")]
    else:
        placements = []
    rpo = str(payload.get("rpo") or "")
    attributes = {
        "location": location.upper(),
        "location_type": location_type,
        "data_locations": ",".join(code.lower() for code in data_locations),
        "rpo": rpo,
        "turbo_replication": "true" if rpo == "ASYNC_TURBO" else ("false" if rpo else ""),
    }
    return build_resource(id=bucket_id(name), service=SERVICE, kind="bucket", name=name, ctx=ctx,
                          placements=placements, labels=payload.get("labels") or {},
                          attributes=attributes)


def _gap(scope: str, operation: str, exc: BaseException, resource: str = "") -> CoverageGap:
    return CoverageGap(provider="gcp", scope=scope, service=SERVICE, operation=operation,
                       error=error_code(exc), message=error_message(exc), resource=resource)


def fetch_buckets(client: Any, project: str, *, retry: Any = None, page_size: int | None = None
                  ) -> tuple[list[dict[str, Any]], list[CoverageGap]]:
    """Every bucket of ``project`` (buckets.list, paged); a failure is a gap, with what was read."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"project": project}
    if retry is not None:
        kwargs["retry"] = retry
    if page_size:
        kwargs["page_size"] = page_size
    try:
        for bucket in client.list_buckets(**kwargs):
            out.append(bucket_payload(bucket))
    except api_errors() as exc:
        return out, [_gap(project, LIST, exc)]
    return out, []


def fetch_bucket(client: Any, name: str, *, scope: str, retry: Any = None
                 ) -> tuple[dict[str, Any] | None, list[CoverageGap]]:
    """One bucket (buckets.get); a failure is a gap naming the bucket."""
    kwargs: dict[str, Any] = {}
    if retry is not None:
        kwargs["retry"] = retry
    try:
        return bucket_payload(client.get_bucket(name, **kwargs)), []
    except api_errors() as exc:
        return None, [_gap(scope, GET, exc, resource=bucket_id(name))]
