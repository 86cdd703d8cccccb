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
from residency_audit.providers.gcp.assetdata import (
    RESOURCE,
    SEARCH,
    labels,
    member,
    optional_member,
    string_list,
    string_map,
    versioned,
)
from residency_audit.providers.gcp.faults import Guard, api_errors
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, build_resource, placement
from residency_audit.providers.service import RecordError, ServiceSpec

__all__ = ["ASSET_TYPE", "OPERATIONS", "ROUTES", "SPEC", "bucket_id", "bucket_name_to_get",
           "bucket_payload", "fetch_bucket", "fetch_buckets", "parse_bucket",
           "parse_search_result"]

SERVICE = "storage"
ASSET_TYPE = "storage.googleapis.com/Bucket"
ASSET_TYPES = (ASSET_TYPE,)
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
    """The JSON-API resource of a ``google.cloud.storage.Bucket`` as the server sent it (no I/O).

    The client keeps the answer in ``_properties``; its typed properties re-shape members and
    raise on a mistyped one (``customPlacementConfig`` a string), which the parser must see
    and name instead.
    """
    properties = getattr(bucket, "_properties", None)
    if isinstance(properties, Mapping):
        return dict(properties)
    return {"name": getattr(bucket, "name", None)}


def parse_bucket(payload: Mapping[str, Any], ctx: Context, *, operation: str = LIST,
                 prefix: str = "") -> Resource:
    """A bucket's Resource from its JSON-API representation. Pure.

    ``operation`` and ``prefix`` name where the representation came from, for the evidence
    (``storage.buckets.list``, or Cloud Asset search's ``versionedResources.resource.``).
    A missing or mistyped member raises :class:`RecordError` naming it.

    >>> r = parse_bucket({"name": "b", "location": "EU", "locationType": "multi-region"}, Context())
    >>> [p.location for p in r.placements], r.attributes["location_type"]
    (['gcp:EU'], 'multi-region')
    """
    name = member(payload, "name", str, path=prefix)
    if not name.strip():
        raise RecordError(f"{prefix}name", "empty")
    location = optional_member(payload, "location", str, "", path=prefix)
    location_type = optional_member(payload, "locationType", str, "", path=prefix).lower()
    custom = optional_member(payload, "customPlacementConfig", dict, {}, path=prefix)
    data_locations = sorted(string_list(custom, "dataLocations",
                                        path=f"{prefix}customPlacementConfig."))
    if data_locations:
        placements = [placement(gcp_location(code), Role.PRIMARY, operation,
                                f"{prefix}customPlacementConfig.dataLocations[{code}]")
                      for code in data_locations]
    elif location:
        placements = [placement(gcp_location(location), Role.PRIMARY, operation, f"{prefix}location")]
    else:
        placements = []
    rpo = optional_member(payload, "rpo", str, "", path=prefix)
    attributes = {
        "location": location.upper(),
        "location_type": location_type,
        "data_locations": ",".join(code.lower() for code in data_locations),
        "rpo": rpo,
        "turbo_replication": "true" if rpo == "ASYNC_TURBO" else ("false" if rpo else ""),
    }
    return build_resource(id=bucket_id(name), service=SERVICE, kind="bucket", name=name, ctx=ctx,
                          placements=placements, labels=string_map(payload, "labels", path=prefix),
                          attributes=attributes)


def _search_bucket_name(result: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    name = optional_member(data, "name", str, "", path=RESOURCE)
    if name:
        return name
    full = member(result, "name", str)
    tail = full.rstrip("/").rsplit("/", 1)[-1]
    if not tail:
        raise RecordError("name", "no bucket name in it")
    return tail


def bucket_name_to_get(result: Mapping[str, Any]) -> str | None:
    """The bucket to read with ``buckets.get`` when its search result has no representation
    with a location, else None. Pure; a malformed result is a :class:`RecordError`.

    >>> bucket_name_to_get({"name": "//storage.googleapis.com/b", "location": "eu"})
    'b'
    """
    data = versioned(result)
    if optional_member(data, "location", str, "", path=RESOURCE):
        return None
    return _search_bucket_name(result, data)


def parse_search_result(result: Mapping[str, Any], ctx: Context) -> list[Resource]:
    """A bucket from its search result: its own representation when that has a location, else
    the coarse search ``location`` (the scanner reads ``buckets.get`` for those first). Pure.

    >>> [p.location for p in parse_search_result(
    ...     {"name": "//storage.googleapis.com/b", "location": "eu"}, Context())[0].placements]
    ['gcp:EU']
    """
    data = versioned(result)
    name = _search_bucket_name(result, data)
    if optional_member(data, "location", str, "", path=RESOURCE):
        return [parse_bucket({**data, "name": name}, ctx, operation=SEARCH, prefix=RESOURCE)]
    coarse = optional_member(result, "location", str, "")
    places = [placement(gcp_location(coarse), Role.PRIMARY, SEARCH, "location")] if coarse else []
    return [build_resource(id=bucket_id(name), service=SERVICE, kind="bucket", name=name,
                           ctx=ctx, placements=places, labels=labels(result))]


def fetch_buckets(client: Any, project: str, *, guard: Guard, page_size: int | None = None
                  ) -> tuple[list[dict[str, Any]], list[CoverageGap]]:
    """Every bucket of ``project`` (buckets.list, paged); a failure is a gap, with what was read."""
    skipped = guard.skipped(SERVICE, project, LIST)
    if skipped is not None:
        return [], [skipped]
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"project": project, "retry": guard.retry(),
                              "timeout": guard.timeout(sdk="storage")}
    if page_size:
        kwargs["page_size"] = page_size
    try:
        for bucket in client.list_buckets(**kwargs):
            out.append(bucket_payload(bucket))
    except api_errors() as exc:
        return out, [guard.fault(SERVICE, project, LIST, exc)]
    guard.answered(SERVICE, project)
    return out, []


def fetch_bucket(client: Any, name: str, *, scope: str, guard: Guard
                 ) -> tuple[dict[str, Any] | None, list[CoverageGap]]:
    """One bucket (buckets.get); a failure is a gap naming the bucket."""
    skipped = guard.skipped(SERVICE, scope, GET, resource=bucket_id(name))
    if skipped is not None:
        return None, [skipped]
    try:
        bucket = client.get_bucket(name, retry=guard.retry(), timeout=guard.timeout(sdk="storage"))
    except api_errors() as exc:
        return None, [guard.fault(SERVICE, scope, GET, exc, resource=bucket_id(name))]
    guard.answered(SERVICE, scope)
    return bucket_payload(bucket), []


SPEC = ServiceSpec(provider="gcp", name=SERVICE, operations=OPERATIONS, fetch=fetch_buckets,
                   parse=parse_bucket, scope_kind="project",
                   finds="Cloud Storage buckets (location, location type, dual-region data "
                         "locations, turbo replication)")
"""Cloud Storage: found by asset search, or listed per project; ``buckets.get`` fills in a
search result that lacks the bucket's representation."""
