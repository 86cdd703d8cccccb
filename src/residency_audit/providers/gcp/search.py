"""Cloud Asset Inventory resource search: one paged ``searchAllResources`` per scope.

``fetch_search`` calls it over a scope (an organisation, a folder or a project) for the asset
types the service modules declare, asking for the resources' own representations
(``versionedResources``) through the read mask. A first page that fails (permission denied, a
disabled API, quota exhausted after retries, no answer) tells the scanner to fall back to
per-project listing; a later page that fails is a coverage gap, and what was read before it
is kept. A page the transport cannot parse (a member of the wrong type) is such a failure too.

``fetch_search_json`` reads the same pages as JSON over an authorised HTTP session, with the
same request, timeouts, retries and give-up: no conversion of every result to protobuf and
back. It hands each result over in the shape :func:`result_dict` gives (the same members, the
same defaults, numbers as floats, as a protobuf ``Struct`` holds them), so
both paths find the same resources. A result of the wrong shape is left as it is, and its
parse makes it one RECORD gap; a page whose ``results`` or ``nextPageToken`` is not the
API's shape fails as the protobuf path's unparseable page does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from residency_audit.model import CoverageGap
from residency_audit.providers.base import ReadOperation
from residency_audit.providers.gcp.assetdata import SEARCH
from residency_audit.providers.gcp.faults import Guard, api_errors

__all__ = ["JSON_READ_MASK", "OPERATIONS", "READ_MASK", "ROUTES", "SERVICE", "SearchOutcome",
           "decode_page", "fetch_search", "fetch_search_json", "json_result", "result_dict"]

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

JSON_READ_MASK = ",".join(
    p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) for p in READ_MASK)
"""The read mask as the REST transport sends it (a ``FieldMask`` in JSON: camelCase, commas)."""


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


def decode_page(body: bytes | str) -> Any:
    """One JSON page, every number a float, as a protobuf ``Struct`` holds the numbers of a
    resource (the members of a result read here are strings, lists and maps). Pure.

    >>> decode_page('{"results": [{"resource": {"size": 3, "ok": true}}]}')
    {'results': [{'resource': {'size': 3.0, 'ok': True}}]}
    """
    return json.loads(body, parse_int=float)


_DEFAULTS: tuple[tuple[str, Any], ...] = (
    ("name", ""), ("assetType", ""), ("project", ""), ("folders", []), ("organization", ""),
    ("displayName", ""), ("location", ""), ("labels", {}), ("parentFullResourceName", ""))


def _versioned(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {"version": item.get("version", ""), "resource": item.get("resource", {})}


def json_result(raw: Any) -> Any:
    """One ``ResourceSearchResult`` of a page (:func:`decode_page`) in the shape
    :func:`result_dict` gives. Pure. Members of the wrong type are kept as they are (the parse names them).

    >>> r = json_result({"name": "//x/b", "assetType": "t", "versionedResources": [
    ...     {"resource": {"size": 3.0}}]})
    >>> r["project"], r["labels"], r["versionedResources"]
    ('', {}, [{'version': '', 'resource': {'size': 3.0}}])
    """
    if not isinstance(raw, dict):
        return raw
    # absent, or JSON null (the default value in protobuf JSON): the default
    out = {key: default if (value := raw.get(key)) is None else value
           for key, default in _DEFAULTS}
    attributes = raw.get("additionalAttributes")
    if attributes:
        out["additionalAttributes"] = attributes
    versions = raw.get("versionedResources")
    if versions:
        out["versionedResources"] = ([_versioned(v) for v in versions]
                                     if isinstance(versions, list) else versions)
    return out


def _page_of(payload: Any) -> tuple[list[Any], str]:
    """The results and next page token of one JSON page; a page not of the API's shape is a
    ``ParseError``, as the protobuf path's is."""
    from google.protobuf import json_format

    if not isinstance(payload, dict):
        raise json_format.ParseError(f"page: expected an object, got {type(payload).__name__}")
    results = payload.get("results") or []
    token = payload.get("nextPageToken") or ""
    if not isinstance(results, list):
        raise json_format.ParseError(f"results: expected a list, got {type(results).__name__}")
    if not isinstance(token, str):
        raise json_format.ParseError(
            f"nextPageToken: expected a string, got {type(token).__name__}")
    return results, token


def fetch_search_json(session: Any, base_url: str, scope: str, *, asset_types: Sequence[str],
                      guard: Guard, page_size: int = 500,
                      consume: Callable[[Any], None] | None = None) -> SearchOutcome:
    """:func:`fetch_search` reading the pages as JSON over ``session`` (a ``requests`` session
    that authorises its calls, such as ``google.auth``'s ``AuthorizedSession``) at
    ``base_url``: the same ``GET /v1/{scope}:searchAllResources`` the REST transport sends.

    Each call is bounded as a generated client's is (``guard.retry()``, the per-attempt
    ``(connect, read)`` timeout); an error answer becomes the ``google.api_core`` exception
    the REST transport raises, so that its gap carries the same code.
    """
    from google.api_core import exceptions as gexc
    from google.protobuf import json_format

    skipped = guard.skipped(SERVICE, scope, SEARCH)
    if skipped is not None:
        return SearchOutcome(scope=scope, gaps=[skipped], fallback=True)
    url = f"{base_url.rstrip('/')}/v1/{scope}:searchAllResources"
    timeout = guard.limits.attempt_timeout("rest")

    def get_page(token: str) -> Any:
        params: dict[str, Any] = {"assetTypes": list(asset_types), "pageSize": page_size,
                                  "readMask": JSON_READ_MASK}
        if token:
            params["pageToken"] = token
        params["$alt"] = "json;enum-encoding=int"
        # streamed, and then read whole as it comes: read in small pieces, as ``content`` reads
        # it, each piece waits for the interpreter while the previous page is parsed
        response = session.request("GET", url, params=params, timeout=timeout, stream=True)
        try:
            if response.status_code >= 400:
                raise gexc.from_http_response(response)  # type: ignore[no-untyped-call]
            body = b"".join(response.iter_content(chunk_size=None))
        finally:
            response.close()  # back to the pool once read whole, else closed
        try:
            return decode_page(body)
        except ValueError as exc:  # not JSON, or not UTF-8: an answer we cannot read
            raise json_format.ParseError(f"page: not JSON ({type(exc).__name__})") from exc

    results: list[Any] = []
    take = consume or results.append
    pages = count = 0
    token = ""
    fetch_page = guard.retry()(get_page)  # one Retry: the pages share the attempt count
    # the next page is asked for as soon as this one's token is known, and read while this one
    # is parsed: one request in flight at a time, pages handed over in order
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pending = pool.submit(fetch_page, token)
            while True:
                items, token = _page_of(pending.result())
                pages += 1
                if token:
                    pending = pool.submit(fetch_page, token)
                for item in items:
                    take(json_result(item))
                    count += 1
                if not token:
                    break
        except api_errors() as exc:
            gap = guard.fault(SERVICE, scope, SEARCH, exc, prefix=f"page {pages + 1}: ")
            return SearchOutcome(scope=scope, results=results, count=count, gaps=[gap],
                                 pages=pages, fallback=pages == 0)
    guard.answered(SERVICE, scope)
    return SearchOutcome(scope=scope, results=results, count=count, pages=pages)
