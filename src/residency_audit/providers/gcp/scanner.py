"""Scanning Google Cloud: the hierarchy, then Cloud Asset search, with per-project fallback.

The default path is one paged Cloud Asset ``searchAllResources`` per scope (organisation, folder
or project) for every supported service. Google's organisation and folder search leaves out,
with no error, the projects whose resources the caller may not search; so every project under
such a scope that the search returned nothing from is checked with
``projects.testIamPermissions`` (parallel, no permission needed), and one the caller cannot
search becomes a SCOPE gap. Where the search is refused (permission
denied, API disabled, no answer) or switched off (``use_asset_search=False``), Cloud Storage is
listed per project (``buckets.list``) and the services only the search finds are recorded as
coverage gaps for each project: unknown is never reported as compliant.

Every organisation, folder and project asked for ends read, read in part (gaps at SERVICE or
RECORD level), or not read (a gap at SCOPE level); :func:`scope_states` says which.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, Estate, GapLevel, Link, Resource, ScanMetadata
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.gcp import assets, cloudsql, compute, filestore, storage
from residency_audit.providers.gcp.assetdata import SEARCH
from residency_audit.providers.gcp.clients import SERVICES, ClientConfig, Clients
from residency_audit.providers.gcp.faults import GIVEN_UP, Guard, Limits
from residency_audit.providers.gcp.hierarchy import (
    Hierarchy,
    Project,
    fetch_hierarchy,
    fetch_search_visibility,
)
from residency_audit.providers.gcp.records import Context, link_key
from residency_audit.providers.gcp.search import SearchOutcome, fetch_search, fetch_search_json
from residency_audit.providers.service import RecordError, parse_records

__all__ = ["READ_IN_PART", "SEARCH_FORMATS", "scan_gcp", "scope_states"]

SEARCH_FORMATS = ("auto", "json", "protobuf")
"""How Cloud Asset search pages are read: ``json`` over an authorised HTTP session, ``protobuf``
through the generated client; ``auto`` is JSON over the REST transport, the client over gRPC."""

_LOG = logging.getLogger(__name__)

_SEARCH_ONLY = "BigQuery, Cloud SQL, Spanner, Firestore, Bigtable, Filestore, Compute disks and snapshots"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def _result_name(result: Any) -> str:
    name = result.get("name") if isinstance(result, Mapping) else None
    return name if isinstance(name, str) else ""


def _resources_of(result: Any, hier: Hierarchy, clients: Clients, guard: Guard
                  ) -> tuple[list[Resource], list[CoverageGap]]:
    """The Resources of one search result; a bucket without a located representation is read
    with ``buckets.get`` first. A result that cannot be parsed is one RECORD gap."""
    if isinstance(result, Mapping) and result.get("assetType") == storage.ASSET_TYPE:
        try:
            name = storage.bucket_name_to_get(result)
        except RecordError:
            name = None  # parse_result names the field
        if name is not None:
            ctx = assets.context_of(result, hier)
            payload, gaps = storage.fetch_bucket(clients.storage, name, scope=ctx.account,
                                                 guard=guard)
            if payload is not None:
                rs, more = parse_records(
                    [payload], lambda b: [storage.parse_bucket(b, ctx, operation=storage.GET)],
                    provider="gcp", service=storage.SERVICE, scope=ctx.account,
                    operation=storage.GET, id_fields=("name", "id"))
                return rs, gaps + more
            rs, more = assets.parse_result(result, hier)
            return rs, gaps + more
    return assets.parse_result(result, hier)


def _parse_buckets(payloads: list[dict[str, Any]], project: Project
                   ) -> tuple[list[Resource], list[CoverageGap]]:
    ctx = Context(project=project, project_ref=project.name)

    def one(payload: Any) -> list[Resource]:
        return [storage.parse_bucket(payload, ctx)]

    return parse_records(payloads, one, provider="gcp", service=storage.SERVICE,
                         scope=project.project_id, operation=storage.LIST,
                         id_fields=("name", "id"))


def _not_scanned(project: Project, reason: str) -> CoverageGap:
    return CoverageGap(provider="gcp", scope=project.project_id, service="cloudasset",
                       operation=SEARCH, error="NOT_SCANNED",
                       message=f"{reason}; Cloud Storage was listed per project, "
                               f"{_SEARCH_ONLY} were not scanned")


def _not_read(scope: str, reason: str) -> CoverageGap:
    return CoverageGap(provider="gcp", scope=scope, service="gcp", operation="scan",
                       error="NOT_READ", level=GapLevel.SCOPE, message=reason)


def _list_per_project(clients: Clients, guard: Guard, fallback: Mapping[str, tuple[Project, str]],
                      report: ProgressCallback
                      ) -> tuple[set[str], list[Resource], list[CoverageGap]]:
    """Cloud Storage listed per project for the projects the search did not cover: the
    project ids listed (at least in part), the buckets, and the gaps."""
    listed: set[str] = set()
    resources: list[Resource] = []
    gaps: list[CoverageGap] = []
    for n, key in enumerate(sorted(fallback)):
        project, reason = fallback[key]
        report("gcp: buckets per project", n, len(fallback))
        payloads, failed = storage.fetch_buckets(clients.storage, project.project_id, guard=guard)
        buckets, more = _parse_buckets(payloads, project)
        resources.extend(buckets)
        gaps.extend([*failed, *more, _not_scanned(project, reason)])
        if failed and not payloads:
            gaps.append(_not_read(project.project_id, f"{reason}, and its buckets could not be "
                                  "listed: nothing in this project was read"))
        else:
            listed.add(project.project_id)
    return listed, resources, gaps


def _unread_scopes(scopes: Sequence[str], hier: Hierarchy, searched: set[str], listed: set[str],
                   gaps: Sequence[CoverageGap]) -> list[CoverageGap]:
    """A SCOPE gap for each scope asked for whose search failed and none of whose projects
    could be listed either. Pure."""
    not_read = {g.scope for g in gaps if g.level is GapLevel.SCOPE}
    out: list[CoverageGap] = []
    for scope in scopes:
        under = {p.project_id for p in _projects_under(scope, hier)}
        if scope in searched or under & listed or (
                scope.startswith("projects/") and under & not_read):
            continue
        what = "no project under it is known" if not under else "none of its projects was read"
        out.append(_not_read(scope, f"Cloud Asset search of {scope} failed and {what}: "
                                    "nothing in this scope was read"))
    return out


def _add_links(resources: list[Resource], links: Mapping[str, set[Link]]) -> list[Resource]:
    out = []
    for r in resources:
        if r.id in links:
            merged = set(r.links) | links[r.id]
            r = replace(r, links=tuple(sorted(merged, key=link_key)))
        out.append(r)
    return out


READ_IN_PART = "READ_IN_PART"
"""Gap code that sums up, on a scope asked for, what inside it was not read."""


def scope_states(estate: Estate) -> dict[str, str]:
    """How each scope asked for ended: ``read``, ``read in part`` or ``not read``. Pure.

    Not read: a SCOPE-level gap names the scope. Read in part: some other gap names it (the
    scan writes a ``READ_IN_PART`` gap on every scope asked for that something inside it is
    missing from). Else read.

    >>> from residency_audit.model import ScanMetadata
    >>> scope_states(Estate(metadata=ScanMetadata(scopes=("projects/p",))))
    {'projects/p': 'read'}
    """
    out: dict[str, str] = {}
    for scope in estate.metadata.scopes:
        names = {scope, scope.removeprefix("projects/")}
        mine = [g for g in estate.gaps if g.provider == "gcp" and g.scope in names]
        if any(g.level is GapLevel.SCOPE for g in mine):
            out[scope] = "not read"
        else:
            out[scope] = "read in part" if mine else "read"
    return out


def _inside(scope: str, hier: Hierarchy) -> tuple[set[str], list[Project]]:
    """Every name a gap inside ``scope`` can carry as its scope, and the projects under it."""
    projects = _projects_under(scope, hier)
    names = {scope, scope.removeprefix("projects/")}
    if scope.startswith("organizations/"):
        names |= set(hier.folders)
    elif scope.startswith("folders/"):
        names |= {f for p in projects for f in p.folder_ids}
        names |= {name for name in hier.folders if _under_folder(name, scope, hier)}
    for p in projects:
        names |= {p.project_id, p.number, p.name, f"projects/{p.project_id}"}
    return names, projects


def _under_folder(name: str, scope: str, hier: Hierarchy) -> bool:
    seen: set[str] = set()
    while name.startswith("folders/") and name not in seen:
        if name == scope:
            return True
        seen.add(name)
        folder = hier.folders.get(name)
        name = folder.parent if folder is not None else ""
    return False


def _summaries(scopes: Sequence[str], hier: Hierarchy, gaps: Sequence[CoverageGap]
               ) -> list[CoverageGap]:
    """A ``READ_IN_PART`` gap on each scope asked for that is read, but not all of it. Pure."""
    out: list[CoverageGap] = []
    for scope in scopes:
        names, projects = _inside(scope, hier)
        own = {scope, scope.removeprefix("projects/")}
        mine = [g for g in gaps if g.scope in names]
        if not mine or any(g.level is GapLevel.SCOPE and g.scope in own for g in mine):
            continue
        lost = sorted({p.project_id for p in projects
                       if any(g.level is GapLevel.SCOPE and g.scope in
                              {p.project_id, p.number, p.name} for g in mine)})
        shown = ", ".join(lost[:20]) + (f" and {len(lost) - 20} more" if len(lost) > 20 else "")
        detail = f"{len(lost)} of {len(projects)} project(s) not read ({shown}); " if lost else ""
        out.append(CoverageGap(
            provider="gcp", scope=scope, service="gcp", operation="scan", error=READ_IN_PART,
            message=f"{detail}{len(mine)} gap(s) in this scope: read in part, not all of it"))
    return out


def _collapse_given_up(gaps: Sequence[CoverageGap]) -> list[CoverageGap]:
    """One ``GIVEN_UP`` gap per (scope, service, level): the calls not made there, together.
    Pure.

    >>> g = [CoverageGap(provider="gcp", scope="folders/1", service="resourcemanager",
    ...                  operation=op, error=GIVEN_UP, message="not called") for op in "ba"]
    >>> [(x.operation, x.message) for x in _collapse_given_up(g)]
    [('a, b', 'not called (2 calls)')]
    """
    kept = [g for g in gaps if g.error != GIVEN_UP]
    groups: dict[tuple[str, str, str, str], list[CoverageGap]] = {}
    for g in gaps:
        if g.error == GIVEN_UP:
            groups.setdefault((g.provider, g.scope, g.service, g.level.value), []).append(g)
    for group in groups.values():
        if len(group) == 1:
            kept.append(group[0])
            continue
        first = min(group, key=lambda g: g.key)
        ops = ", ".join(sorted({g.operation for g in group}))
        resources = sorted({g.resource for g in group if g.resource})
        shown = f"; resources: {', '.join(resources[:10])}" if resources else ""
        more = f" and {len(resources) - 10} more" if len(resources) > 10 else ""
        kept.append(replace(first, operation=ops, resource="",
                            message=f"{first.message} ({len(group)} calls{shown}{more})"))
    return kept


def _search(clients: Clients, scope: str, *, json_pages: bool, page_size: int, guard: Guard,
            consume: Any) -> SearchOutcome:
    if json_pages:
        session, base_url = clients.asset_session
        return fetch_search_json(session, base_url, scope, asset_types=assets.ASSET_TYPES,
                                 page_size=page_size, guard=guard, consume=consume)
    return fetch_search(clients.asset, scope, asset_types=assets.ASSET_TYPES,
                        page_size=page_size, guard=guard, consume=consume)


def _unseen(projects: Sequence[Project], seen: set[str]) -> list[Project]:
    """The projects no search result named (by ``projects/NUMBER`` or id). Pure."""
    return [p for p in projects
            if not {p.name, p.project_id, f"projects/{p.project_id}"} & seen]


def _guard(config: ClientConfig, limits: Limits) -> Guard:
    endpoints = {s: url for s in SERVICES if (url := config.endpoint(s))}
    return Guard(limits=limits, transport=config.transport, endpoints=endpoints)


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
    limits: Limits | None = None,
    check_search_visibility: bool = True,
    search_format: str = "auto",
    progress: ProgressCallback | None = None,
) -> Estate:
    """Scan an organisation, folders or projects and return what was found, with gaps.

    ``credentials`` default to ``google.auth.default()``. ``endpoints`` maps
    ``"storage"``, ``"resourcemanager"``, ``"cloudasset"`` or ``"*"`` to a base URL (Private
    Service Connect, local fakes); ``client_options`` (a ``ClientOptions`` or dict with
    ``api_endpoint``) applies to every client. ``transport`` is ``"grpc"`` or ``"rest"``
    (Cloud Storage always uses its JSON API). ``limits`` bounds every call (timeouts,
    attempts, back-off, giving up; see :class:`~residency_audit.providers.gcp.faults.Limits`):
    by default a call takes at most 85 s, and an endpoint that never answers is given up
    after one such call. ``check_search_visibility=False`` skips the per-project
    ``testIamPermissions`` check of organisation and folder searches (the projects the search
    cannot see are then not reported); the check is made only on projects the search returned
    nothing from, since a project with a result is one the search sees (permission is
    checked per scope, not per resource). ``search_format`` (:data:`SEARCH_FORMATS`) chooses how
    the search pages are read; both ways find the same resources.

    Example (against a local fake; see ``tests/providers/gcp``)::

        estate = scan_gcp(organization="123", credentials=AnonymousCredentials(),
                          transport="rest", endpoints={"*": "http://127.0.0.1:8080"})
    """
    started = _now()
    if search_format not in SEARCH_FORMATS:
        raise InputError("gcp", None, "search_format",
                         f"{search_format!r}; expected one of {', '.join(SEARCH_FORMATS)}")
    json_pages = search_format == "json" or (search_format == "auto" and transport == "rest")
    scopes = _scopes(organization, folders, projects)
    config = ClientConfig(credentials=credentials, transport=transport,
                          endpoints=dict(endpoints or {}), client_options=client_options)
    clients = Clients(config)
    guard = _guard(config, limits or Limits())
    report = progress or (lambda label, done, total: None)

    report("gcp: hierarchy", 0, 0)
    _loaded = clients.credentials  # once, before the walk and the search run side by side
    first_call = threading.Event()

    def walk() -> Hierarchy:
        try:
            return fetch_hierarchy(clients, organization=organization, folders=folders,
                                   projects=projects, guard=guard, on_first_call=first_call.set)
        finally:
            first_call.set()

    gaps: list[CoverageGap] = []
    found: dict[str, Resource] = {}
    fallback: dict[str, tuple[Project, str]] = {}
    to_check: dict[str, Project] = {}
    searched: set[str] = set()
    seen: set[str] = set()

    with ThreadPoolExecutor(max_workers=1) as walker:
        # The search does not need the walk until it parses a result: it starts once the walk's
        # first call has ended (so that an endpoint that never answers still costs one call),
        # and its first pages are read while the walk goes on.
        walked = walker.submit(walk)
        known: list[Hierarchy] = []

        def take(result: Any) -> None:
            ref = result.get("project") if isinstance(result, Mapping) else None
            if isinstance(ref, str) and ref:
                seen.add(ref)
            name = _result_name(result)
            if name and name in found:
                return
            if not known:
                known.append(walked.result())
            resources, more = _resources_of(result, known[0], clients, guard)
            gaps.extend(more)
            for r in resources:
                found[r.id] = r
            if len(found) % 500 == 0:
                report("gcp: resources found", len(found), 0)

        if use_asset_search:
            first_call.wait()
            for i, scope in enumerate(scopes):
                report("gcp: asset search", i, len(scopes))
                outcome = _search(clients, scope, json_pages=json_pages, page_size=page_size,
                                  guard=guard, consume=take)
                gaps.extend(outcome.gaps)
                hier = walked.result()
                if outcome.fallback:
                    reason = f"Cloud Asset search of {scope} failed ({outcome.gaps[0].error})"
                    for p in _projects_under(scope, hier):
                        fallback.setdefault(p.name, (p, reason))
                    continue
                searched.add(scope)
                if not scope.startswith("projects/"):
                    to_check.update({p.name: p for p in _projects_under(scope, hier)})
        hier = walked.result()
    gaps[:0] = hier.gaps
    if not use_asset_search:
        for scope in scopes:
            for p in _projects_under(scope, hier):
                fallback.setdefault(p.name, (p, "Cloud Asset search switched off"))

    unseen = _unseen([p for k, p in sorted(to_check.items()) if k not in fallback], seen)
    if check_search_visibility and unseen:
        report("gcp: search visibility", 0, len(unseen))
        _, more = fetch_search_visibility(clients, unseen, guard=guard)
        gaps.extend(more)

    listed, resources, more = _list_per_project(clients, guard, fallback, report)
    gaps.extend(more)
    found.update((r.id, r) for r in resources)
    gaps.extend(_unread_scopes(scopes, hier, searched, listed, gaps))

    linked, more = cloudsql.link_replicas(found.values())
    gaps.extend(more)
    gaps.extend(_summaries(scopes, hier, gaps))
    linked = _add_links(linked, filestore.backup_links(linked))
    linked = _add_links(linked, compute.snapshot_links(linked))
    report("gcp: done", 1, 1)
    unique_gaps = {g.key: g for g in _collapse_given_up(gaps)}
    estate = Estate(
        resources=tuple(sorted(linked, key=lambda r: r.id)),
        gaps=tuple(unique_gaps[k] for k in sorted(unique_gaps)),
        metadata=ScanMetadata(sources=("gcp",), started=started, finished=_now(),
                              scopes=tuple(scopes)),
    )
    for scope, state in sorted(scope_states(estate).items()):
        _LOG.info("gcp: %s %s", scope, state)
    return estate
