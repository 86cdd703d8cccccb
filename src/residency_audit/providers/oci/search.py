"""OCI Search: which compartments hold which kinds of resource, in one query per region.

One structured query (``POST /20180409/resources``, a read: it changes nothing) per region asks
for every resource type the services list. The answer says which (compartment, service) pairs
hold something; the scanner then lists only those, instead of every service in every
compartment. Search answers only with what the caller may inspect, and it is regional: where it
fails, the region is listed compartment by compartment instead.

>>> pairs, unread = parse_search([{"resource_type": "Bucket", "compartment_id": "c1"},
...                               {"resource_type": "Vault", "compartment_id": "c2"}], QUERY_TYPES)
>>> sorted(pairs), unread
([('c1', 'objectstorage'), ('c2', 'kms')], 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from residency_audit.providers.base import ReadOperation
from residency_audit.providers.oci import (
    autonomous,
    blockstorage,
    dbsystems,
    filestorage,
    objectstorage,
    vault,
)
from residency_audit.providers.oci.clients import Calls
from residency_audit.providers.service import ServiceSpec

__all__ = ["OPERATIONS", "QUERY", "QUERY_TYPES", "ROUTES", "SPEC", "fetch_search", "parse_search"]

SERVICE = "search"

OPERATIONS = (
    ReadOperation(provider="oci", service=SERVICE, operation="search_resources", permission=""),
)
"""Search needs no permission of its own: it returns only what the caller may inspect."""

ROUTES = {(SERVICE, "search_resources"): ("POST", "/20180409/resources")}

QUERY_TYPES: dict[str, str] = {
    t: spec.name
    for module in (objectstorage, autonomous, dbsystems, blockstorage, filestorage, vault)
    for spec in (module.SPEC,) for t in module.SEARCH_TYPES
}
"""Search resource type (lower case) → the service spec that lists it."""

QUERY = f"query {', '.join(sorted(QUERY_TYPES))} resources"

RESULT_CAP = 3000
"""Oracle documents at most 3,000 results for a Search query (the Terraform data source's
reference); an answer that reaches it may be cut, so the region is listed in full instead."""


def fetch_search(calls: Calls, region: str, *, tenancy: str) -> list[dict[str, Any]] | None:
    """Every resource of the searched types that ``region``'s Search returns (paged)."""
    from oci.resource_search.models import StructuredSearchDetails

    details = StructuredSearchDetails(type="Structured", query=QUERY, matching_context_type="NONE")
    rows = calls.call(SERVICE, region, "search_resources", details, scope=tenancy, paged=True,
                      limit=1000, note="the region was listed compartment by compartment instead")
    return rows if isinstance(rows, list) else None


def parse_search(rows: Iterable[Any], types: Mapping[str, str]) -> tuple[set[tuple[str, str]], int]:
    """The (compartment id, service spec name) pairs the results hold, and how many results
    could not be read or trusted (then the scanner lists the region in full): an answer of
    :data:`RESULT_CAP` results or more may have been cut."""
    out: set[tuple[str, str]] = set()
    unread = 0
    rows = list(rows)
    if len(rows) >= RESULT_CAP:
        return out, len(rows)  # possibly cut: trust none of it
    for row in rows:
        kind = row.get("resource_type") if isinstance(row, Mapping) else None
        compartment = row.get("compartment_id") if isinstance(row, Mapping) else None
        if not isinstance(kind, str) or not isinstance(compartment, str):
            unread += 1
        elif kind.lower() in types:
            out.add((compartment, types[kind.lower()]))
    return out, unread


SPEC = ServiceSpec(
    provider="oci", name=SERVICE, operations=OPERATIONS, fetch=fetch_search, parse=parse_search,
    scope_kind="region", finds="which compartments hold resources of the listed services")
