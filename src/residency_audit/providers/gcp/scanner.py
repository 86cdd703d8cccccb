"""Scanning Google Cloud: the hierarchy, then Cloud Asset search, with per-project fallback.

The default path is one paged Cloud Asset ``searchAllResources`` per scope (organisation, folder
or project) for every supported service. Where the search is refused (permission denied, API
disabled) or switched off (``use_asset_search=False``), Cloud Storage is listed per project
(``buckets.list``) and the services only the search finds are recorded as coverage gaps for
each project: unknown is never reported as compliant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import (
    CoverageGap,
    Estate,
    Link,
    Resource,
    Role,
    ScanMetadata,
)
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.gcp import assets, cloudsql, compute, filestore, storage
from residency_audit.providers.gcp.assetdata import SEARCH, versioned
from residency_audit.providers.gcp.clients import ClientConfig, Clients
from residency_audit.providers.gcp.faults import build_retry
from residency_audit.providers.gcp.hierarchy import Hierarchy, Project, fetch_hierarchy
from residency_audit.providers.gcp.locations import gcp_location
from residency_audit.providers.gcp.records import Context, placement

__all__ = ["scan_gcp"]

_SEARCH_ONLY = "BigQuery, Cloud SQL, Spanner, Firestore, Bigtable, Filestore, Compute disks and snapshots"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _scopes(organization: str | None, folders: Sequence[str], projects: Sequence[str]) -> list[str]:
    given = [bool(organization), bool(folders), bool(projects)]
    if sum(given) == 0:
        raise InputError("gcp", None, "scope",
                         "give an organisation, a folder or projects (--gcp-organization, "
                         "--gcp-folder, --gcp-project)")
    if sum(given) > 1:
        raise InputError("gcp", None, "scope",
                         "give an organisation, folders or projects, not several kinds")
    if organization:
        return [f"organizations/{organization.removeprefix('organizations/')}"]
    if folders:
        return sorted({f"folders/{f.removeprefix('folders/')}" for f in folders})
    return sorted({f"projects/{p.removeprefix('projects/')}" for p in projects})


def _projects_under(scope: str, hier: Hierarchy) -> list[Project]:
    if scope.startswith("organizations/"):
        return list(hier.projects)
    if scope.startswith("folders/"):
        return [p for p in hier.projects if scope in p.folder_ids or p.parent == scope]
    found = hier.project(scope)
    return [found] if found is not None else []


def _context(result: Mapping[str, Any], hier: Hierarchy) -> Context:
    ref = str(result.get("project") or "")
    return Context(project=hier.project(ref) if ref else None, project_ref=ref,
                   folders=tuple(str(f) for f in result.get("folders") or ()))


def _bucket_from_search(result: Mapping[str, Any], ctx: Context, clients: Clients, retry: Any
                        ) -> tuple[Resource, list[CoverageGap]]:
    """A bucket from its search result, or from buckets.get when the result lacks its placement."""
    data = versioned(result)
    name = str(data.get("name") or result["name"].rsplit("/", 1)[-1])
    if data.get("location"):
        return storage.parse_bucket({**data, "name": name}, ctx, operation=SEARCH,
                                    prefix="versionedResources.resource."), []
    payload, gaps = storage.fetch_bucket(clients.storage, name, scope=ctx.account, retry=retry)
    if payload is not None:
        return storage.parse_bucket(payload, ctx, operation=storage.GET), gaps
    partial = storage.parse_bucket({"name": name, "labels": result.get("labels") or {}}, ctx)
    if result.get("location"):
        partial = replace(partial, placements=(placement(
            gcp_location(str(result["location"])), Role.PRIMARY, SEARCH, "location"),))
    return partial, gaps


def _parse_result(result: Mapping[str, Any], hier: Hierarchy, clients: Clients, retry: Any,
                  gaps: list[CoverageGap]) -> list[Resource]:
    """The Resources of one search result (a bucket may need a buckets.get; gaps go to ``gaps``)."""
    ctx = _context(result, hier)
    asset_type = str(result.get("assetType") or "")
    if asset_type == storage.ASSET_TYPE:
        bucket, more = _bucket_from_search(result, ctx, clients, retry)
        gaps.extend(more)
        return [bucket]
    parse = assets.PARSERS.get(asset_type)
    return parse(result, ctx) if parse is not None else []


def _not_scanned(project: Project, reason: str) -> CoverageGap:
    return CoverageGap(provider="gcp", scope=project.project_id, service="cloudasset",
                       operation=SEARCH, error="NOT_SCANNED",
                       message=f"{reason}; Cloud Storage was listed per project, "
                               f"{_SEARCH_ONLY} were not scanned")


def _add_links(resources: list[Resource], links: Mapping[str, set[Link]]) -> list[Resource]:
    out = []
    for r in resources:
        if r.id in links:
            merged = set(r.links) | links[r.id]
            r = replace(r, links=tuple(sorted(merged, key=lambda x: (x.relation, x.target))))
        out.append(r)
    return out


def scan_gcp(
    *,
    organization: str | None = None,
    folders: Sequence[str] = (),
    projects: Sequence[str] = (),
    credentials: Any = None,
    transport: str = "grpc",
    endpoints: Mapping[str, str] | None = None,
    client_options: Any = None,
    use_asset_search: bool = True,
    page_size: int = 500,
    retry: Any = None,
    progress: ProgressCallback | None = None,
) -> Estate:
    """Scan an organisation, folders or projects and return what was found, with gaps.

    ``credentials`` default to ``google.auth.default()``. ``endpoints`` maps
    ``"storage"``, ``"resourcemanager"``, ``"cloudasset"`` or ``"*"`` to a base URL (Private
    Service Connect, local fakes); ``client_options`` (a ``ClientOptions`` or dict with
    ``api_endpoint``) applies to every client. ``transport`` is ``"grpc"`` or ``"rest"``
    (Cloud Storage always uses its JSON API). ``retry`` replaces the retry on quota errors
    (429 ``RESOURCE_EXHAUSTED``), by default exponential up to two minutes.

    Example (against a local fake; see ``tests/providers/gcp``)::

        estate = scan_gcp(organization="123", credentials=AnonymousCredentials(),
                          transport="rest", endpoints={"*": "http://127.0.0.1:8080"})
    """
    started = _now()
    scopes = _scopes(organization, folders, projects)
    clients = Clients(ClientConfig(credentials=credentials, transport=transport,
                                   endpoints=dict(endpoints or {}), client_options=client_options))
    retry = retry if retry is not None else build_retry()
    report = progress or (lambda label, done, total: None)

    report("gcp: hierarchy", 0, 0)
    hier = fetch_hierarchy(clients, organization=organization, folders=folders,
                           projects=projects, retry=retry)
    gaps: list[CoverageGap] = list(hier.gaps)
    found: dict[str, Resource] = {}
    fallback: dict[str, tuple[Project, str]] = {}

    def take(result: dict[str, Any]) -> None:
        if str(result["name"]) in found:
            return
        for r in _parse_result(result, hier, clients, retry, gaps):
            found[r.id] = r
        if len(found) % 500 == 0:
            report("gcp: resources found", len(found), 0)

    if use_asset_search:
        for i, scope in enumerate(scopes):
            report("gcp: asset search", i, len(scopes))
            outcome = assets.fetch_search(clients.asset, scope, page_size=page_size, retry=retry,
                                          consume=take)
            gaps.extend(outcome.gaps)
            if outcome.fallback:
                reason = f"Cloud Asset search of {scope} failed ({outcome.gaps[0].error})"
                for p in _projects_under(scope, hier):
                    fallback.setdefault(p.name, (p, reason))
    else:
        for scope in scopes:
            for p in _projects_under(scope, hier):
                fallback.setdefault(p.name, (p, "Cloud Asset search switched off"))

    for n, key in enumerate(sorted(fallback)):
        project, reason = fallback[key]
        report("gcp: buckets per project", n, len(fallback))
        payloads, more = storage.fetch_buckets(clients.storage, project.project_id, retry=retry)
        gaps.extend(more)
        ctx = Context(project=project, project_ref=project.name)
        for b in payloads:
            bucket = storage.parse_bucket(b, ctx)
            found[bucket.id] = bucket
        gaps.append(_not_scanned(project, reason))

    linked, more = cloudsql.link_replicas(found.values())
    gaps.extend(more)
    linked = _add_links(linked, filestore.backup_links(linked))
    linked = _add_links(linked, compute.snapshot_links(linked))
    report("gcp: done", 1, 1)
    unique_gaps = {g.key: g for g in gaps}
    return Estate(
        resources=tuple(sorted(linked, key=lambda r: r.id)),
        gaps=tuple(unique_gaps[k] for k in sorted(unique_gaps)),
        metadata=ScanMetadata(sources=("gcp",), started=started, finished=_now(),
                              scopes=tuple(scopes)),
    )
