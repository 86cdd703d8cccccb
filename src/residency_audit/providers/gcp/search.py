"""Cloud Asset Inventory resource search: one paged ``searchAllResources`` per scope.

``fetch_search`` calls it over a scope (an organisation, a folder or a project) for the asset
types the service modules declare, asking for the resources' own representations
(``versionedResources``) through the read mask. A first page that fails (permission denied, a
disabled API, quota exhausted after retries, no answer) tells the scanner to fall back to
per-project listing; a later page that fails is a coverage gap, and what was read before it
is kept. A page the transport cannot parse (a member of the wrong type) is such a failure too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from residency_audit.model import CoverageGap
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp.assetdata import SEARCH
from residency_audit.providers.gcp.faults import Guard, api_errors

__all__ = ["OPERATIONS", "READ_MASK", "ROUTES", "SERVICE", "SearchOutcome", "fetch_search",
           "result_dict"]

SERVICE = "cloudasset"

OPERATIONS = (
    ReadOperation(provider="gcp", service=SERVICE, operation=SEARCH,
                  permission="cloudasset.assets.searchAllResources"),
)
ROUTES = {SEARCH: ("GET", r"^/v1/(organizations|folders|projects)/[^/:]+:searchAllResources$")}

READ_MASK = ("name", "asset_type", "project", "folders", "location", "labels",
             "versioned_resources")
"""Fields asked for (only those read: a smaller answer parses faster); ``versioned_resources``
is not returned unless named here."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchOutcome:
    """One scope's search: results read (when not consumed page by page), pages, fallback."""

    scope: str
    results: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    gaps: list[CoverageGap] = field(default_factory=list)
    pages: int = 0
    fallback: bool = False


def _value(value: Any) -> Any:
    """A ``google.protobuf.Value`` as plain Python (numbers come back as floats)."""
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(value, kind)


def _struct(struct: Any) -> dict[str, Any]:
    return {k: _value(v) for k, v in struct.fields.items()}


def result_dict(result: Any) -> dict[str, Any]:
    """A ``ResourceSearchResult`` as its REST JSON shape (the fields this adapter reads).

    Reads the underlying protobuf directly: ``to_dict`` over every field of 10,000 results
    costs more than the search itself.
    """
    pb = type(result).pb(result)
    out: dict[str, Any] = {
        "name": pb.name, "assetType": pb.asset_type, "project": pb.project,
        "folders": list(pb.folders), "organization": pb.organization,
        "displayName": pb.display_name, "location": pb.location, "labels": dict(pb.labels),
        "parentFullResourceName": pb.parent_full_resource_name,
    }
    if pb.additional_attributes.fields:
        out["additionalAttributes"] = _struct(pb.additional_attributes)
    if len(pb.versioned_resources):
        out["versionedResources"] = [{"version": v.version, "resource": _struct(v.resource)}
                                     for v in pb.versioned_resources]
    return out


def fetch_search(client: Any, scope: str, *, asset_types: Sequence[str], guard: Guard,
                 page_size: int = 500,
                 consume: Callable[[dict[str, Any]], None] | None = None) -> SearchOutcome:
    """Every matching resource in ``scope`` (paged by ``nextPageToken``).

    With ``consume``, each result is handed over as its page arrives and not kept, so that
    memory stays at one page of raw results however large the organisation.
    """
    from google.protobuf import field_mask_pb2

    skipped = guard.skipped(SERVICE, scope, SEARCH)
    if skipped is not None:
        return SearchOutcome(scope=scope, gaps=[skipped], fallback=True)
    request = {"scope": scope, "asset_types": list(asset_types), "page_size": page_size,
               "read_mask": field_mask_pb2.FieldMask(paths=list(READ_MASK))}
    results: list[dict[str, Any]] = []
    take = consume or results.append
    pages = count = 0
    try:
        pager = client.search_all_resources(request=request, **guard.call_options())
        for page in pager.pages:
            pages += 1
            for r in page.results:
                take(result_dict(r))
                count += 1
    except api_errors() as exc:
        gap = guard.fault(SERVICE, scope, SEARCH, exc, prefix=f"page {pages + 1}: ")
        return SearchOutcome(scope=scope, results=results, count=count, gaps=[gap], pages=pages,
                             fallback=pages == 0)
    guard.answered(SERVICE, scope)
    return SearchOutcome(scope=scope, results=results, count=count, pages=pages)
