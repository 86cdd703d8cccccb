"""Orchestration of an Azure scan: subscriptions → Locations API → access → resources → SQL details.

Two ways to list resources, the same parsers for both:

* **Resource Graph** (default): one KQL query, paged by ``$skipToken``, over every subscription
  (or management group) at once, its first page asked for while the Locations API is read. SQL
  replication links and failover groups are not in Resource Graph: they are read per SQL server
  over ARM.
* **ARM per subscription** (``use_resource_graph=False``, or when the Resource Graph query fails):
  each service's list operation in each subscription; a failure is a gap for that subscription and
  service, and the scan goes on.

Resource Graph leaves out, without a word, what the caller may not read; so every subscription
and management group asked for is also checked with one cheap read of the caller's own
permissions there (:mod:`~residency_audit.providers.azure.access`), in parallel with the query.
Each scope asked for ends *read*, *read in part* or *not read* (:func:`coverage`).

The service table is built from the services' own declarations (``SERVICES`` of each module).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial
from typing import Any

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.model import CoverageGap, Estate, GapLevel, Link, Resource, ScanMetadata
from residency_audit.providers.azure import access, cosmos, keyvault, sql, storage, vaults
from residency_audit.providers.azure import locations as locations_module
from residency_audit.providers.azure.arm import (
    ENDPOINT,
    PUBLIC_ARM,
    AzureContext,
    GivenUp,
    Timing,
    gap_from_error,
    guarded,
    list_items,
    subscription_of,
)
from residency_audit.providers.azure.locations import (
    LOCATIONS_OPERATION,
    SUBSCRIPTIONS_OPERATION,
    RegionFacts,
    cross_check,
    parse_subscription,
    read_locations,
)
from residency_audit.providers.azure.records import Parsed, parse_each
from residency_audit.providers.azure.resourcegraph import (
    QUERY_OPERATION,
    SUBSCRIPTIONS_QUERY,
    build_query,
    fetch_graph,
)
from residency_audit.providers.azure.routes import AzureService
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.service import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    GiveUp,
    RecordError,
    server_reason,
)

__all__ = ["NOT_READ", "READ", "READ_IN_PART", "SERVICES", "coverage", "scan_azure"]

log = logging.getLogger(__name__)

_LISTINGS: tuple[AzureService, ...] = tuple(
    s for s in (*storage.SERVICES, *sql.SERVICES, *cosmos.SERVICES, *vaults.SERVICES, *keyvault.SERVICES)
    if s.resource_type)
"""Services whose records are resources: in Resource Graph (by type) and listed over ARM."""
_SQL_DETAILS: tuple[AzureService, ...] = tuple(s for s in sql.SERVICES if s.scope_kind == "sql-server")
"""Per SQL server over ARM: databases (ARM path only), replication links, failover groups."""

SERVICES: tuple[str, ...] = tuple(sorted({s.name for s in _LISTINGS}))
"""Service names accepted by ``scan_azure(services=...)``."""

_CHECKS = 8
"""Permission checks run at a time."""

READ = "read"
READ_IN_PART = "read in part"
NOT_READ = "not read"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _record_gap(*, scope: str, service: str, operation: str, index: int, row: Any, exc: RecordError) -> CoverageGap:
    rid = row.get("id") if isinstance(row, Mapping) else None
    return CoverageGap(provider="azure", scope=scope, service=service, operation=operation,
                       error="UnparseableRecord", level=GapLevel.RECORD, field=exc.field,
                       resource=server_reason(rid, limit=300) if isinstance(rid, str) and rid else f"record #{index}",
                       message=server_reason(f"RecordError: {exc}"))


def _fetch_subscriptions(ctx: AzureContext,
                         management_groups: Sequence[str]) -> tuple[list[str], list[CoverageGap]]:
    """The subscriptions in scope: under the management groups (Resource Graph), else all readable."""
    gaps: list[CoverageGap] = []
    subs: list[str] = []
    if management_groups:
        rows, errors, _ = fetch_graph(ctx, SUBSCRIPTIONS_QUERY, management_groups=management_groups)
        for mg in sorted(management_groups):
            gaps += [gap_from_error(e, scope=f"managementGroups/{mg}", service="resourcegraph",
                                    operation=QUERY_OPERATION, level=GapLevel.SCOPE) for e in errors]
        for i, row in enumerate(rows):
            try:
                subs.append(parse_subscription(row)[0])
            except RecordError as exc:
                gaps.append(_record_gap(scope=",".join(sorted(management_groups)), service="subscriptions",
                                        operation=QUERY_OPERATION, index=i, row=row, exc=exc))
        return sorted(set(subs)), gaps
    route = locations_module.ROUTES[0]
    items, failed = guarded(ctx, ("tenant", "subscriptions"),
                            lambda: list_items(ctx, route.format(), locations_module.API_VERSION))
    if failed is not None:
        gaps.append(gap_from_error(failed, scope="tenant", service="subscriptions", operation=SUBSCRIPTIONS_OPERATION,
                                   level=GapLevel.SCOPE))
    for i, item in enumerate(items):
        try:
            sub_id, state = parse_subscription(item)
        except RecordError as rec:
            gaps.append(_record_gap(scope="tenant", service="subscriptions", operation=SUBSCRIPTIONS_OPERATION,
                                    index=i, row=item, exc=rec))
            continue
        if state.lower() == "disabled":
            gaps.append(CoverageGap(provider="azure", scope=sub_id, service="subscriptions",
                                    operation=SUBSCRIPTIONS_OPERATION, error="SubscriptionDisabled",
                                    level=GapLevel.SCOPE,
                                    message=f"subscription state {state}: its resources are not listed"))
            continue
        subs.append(sub_id)
    return sorted(set(subs)), gaps


def _fetch_regions(ctx: AzureContext, subscriptions: Sequence[str],
                   catalog: Catalog) -> tuple[RegionFacts, list[CoverageGap]]:
    """Locations API of the first subscription that answers, cross-checked against the catalog."""
    gaps: list[CoverageGap] = []
    route = locations_module.ROUTES[1]
    for sub in subscriptions:
        items, exc = guarded(ctx, (sub, "locations"), lambda sub=sub: list_items(  # type: ignore[misc]
            ctx, route.format(subscriptionId=sub), locations_module.API_VERSION))
        if exc is not None:
            gaps.append(gap_from_error(exc, scope=sub, service="locations", operation=LOCATIONS_OPERATION))
            if ctx.give_up.given_up(ENDPOINT):
                break
            continue
        regions, bad = read_locations(items, scope=sub)
        return RegionFacts(regions=regions, catalog=catalog), gaps + bad + cross_check(regions, catalog, scope=sub)
    return RegionFacts(regions={}, catalog=catalog), gaps


def _row_scope(row: Any) -> str:
    if not isinstance(row, Mapping):
        return "tenant"
    sub = row.get("subscriptionId")
    if isinstance(sub, str) and sub:
        return sub
    rid = row.get("id")
    return (subscription_of(rid) if isinstance(rid, str) else "") or "tenant"


def _parse_rows(rows: Sequence[Any], services: Sequence[AzureService], facts: RegionFacts,
                *, operation: str | None = None, scope: str | None = None) -> Parsed:
    """Parse rows (Resource Graph rows, or one ARM listing) by their ``type``; each bad row is a gap."""
    by_type = {s.resource_type: s for s in services}
    groups: dict[tuple[str, str], list[Any]] = {}
    out = Parsed()
    listing = services[0] if scope is not None and len(services) == 1 else None
    for index, row in enumerate(rows):
        where = scope or _row_scope(row)
        kind = row.get("type") if isinstance(row, Mapping) else None
        if listing is not None:  # one ARM listing: every item is of its service, whatever it says
            service = listing
        elif not isinstance(kind, str):
            out.gaps.append(_record_gap(scope=where, service="resourcegraph", operation=operation or QUERY_OPERATION,
                                        index=index, row=row, exc=RecordError("type", "missing or not a string")))
            continue
        else:
            found = by_type.get(kind.lower())
            if found is None:
                continue  # a type the query did not ask for
            service = found
        if service.resource_type == sql.DATABASE_TYPE and sql.is_system_database(row):
            continue
        groups.setdefault((where, service.resource_type), []).append(row)
    for (where, kind), items in sorted(groups.items()):
        service = by_type[kind]
        op = operation or service.operation
        out.extend(parse_each(items, partial(service.parse, facts=facts, operation=op), service=service.name,
                              operation=op, scope=where))
    return out


def _not_read(sub: str, exc: BaseException, *, services: Sequence[str]) -> CoverageGap:
    return CoverageGap(provider="azure", scope=sub, service="subscriptions", operation="",
                       error="GivenUp", level=GapLevel.SCOPE,
                       message=server_reason(f"{exc} (not listed: {', '.join(services)})"))


def _scan_subscription_arm(ctx: AzureContext, sub: str, services: Sequence[AzureService],
                           facts: RegionFacts) -> Parsed:
    """ARM listing of one subscription; every failed list is a gap and the rest goes on."""
    out = Parsed()
    services = [s for s in services if s.scope_kind == "subscription"]
    for i, service in enumerate(services):
        if ctx.give_up.given_up(ENDPOINT):
            rest = sorted({s.name for s in services[i:]})
            out.gaps.append(_not_read(sub, GivenUp("the Resource Manager endpoint gave no answer to an earlier "
                                                   "call; given up"), services=rest))
            break
        path = service.routes[0].format(subscriptionId=sub)
        items, exc = guarded(ctx, (sub, service.operation),
                             lambda path=path, s=service: s.fetch(ctx, path, s.api_version))  # type: ignore[misc]
        out.extend(_parse_rows(items, [service], facts, scope=sub))
        if exc is not None:
            out.gaps.append(gap_from_error(exc, scope=sub, service=service.name, operation=service.operation))
    return out


def _sql_details(ctx: AzureContext, server_ids: Sequence[str], facts: RegionFacts, *,
                 databases: bool, known_servers: Mapping[str, str]) -> Parsed:
    """Per SQL server over ARM: databases (ARM path only), replication links, failover groups.

    A (subscription, operation) given up (5xx past retries, or the endpoint not answering) is one
    gap naming how many servers were left unread, not one failed call per server.
    """
    out = Parsed()
    skipped: dict[tuple[str, str], list[str]] = {}
    steps = [s for s in _SQL_DETAILS if databases or s.resource_type != sql.DATABASE_TYPE]
    for server_id in server_ids:
        params = sql.server_path(server_id)
        sub = params["subscriptionId"]
        for service in steps:
            key = (sub, service.operation)
            path = service.routes[0].format(**params)
            items, exc = guarded(ctx, key, lambda path=path, s=service: s.fetch(  # type: ignore[misc]
                ctx, path, s.api_version))
            if isinstance(exc, GivenUp):
                skipped.setdefault(key, []).append(server_id)
                continue
            parse = service.parse
            if service.operation == "ReplicationLinks_ListByServer":
                parse = partial(parse, server_ids=known_servers)
            rows = [r for r in items if not (service.resource_type == sql.DATABASE_TYPE and sql.is_system_database(r))]
            out.extend(parse_each(rows, partial(parse, facts=facts, operation=service.operation), service="sql",
                                  operation=service.operation, scope=sub))
            if exc is not None:
                out.gaps.append(gap_from_error(exc, scope=sub, service="sql", operation=service.operation,
                                               resource=server_id))
    for (sub, operation), servers in sorted(skipped.items()):
        out.gaps.append(CoverageGap(provider="azure", scope=sub, service="sql", operation=operation, error="GivenUp",
                                    message=f"not requested for {len(servers)} SQL server(s): an earlier call gave "
                                            "no answer or answered 5xx after every attempt; given up"))
    return out


def _assemble(parsed: Parsed) -> tuple[list[Resource], list[CoverageGap]]:
    """Resources by id (real records beat stand-ins), links attached, everything sorted."""
    real: dict[str, Resource] = {}
    stubs: dict[str, Resource] = {}
    for r in parsed.resources:
        key = r.id.lower()
        if "seen_via" in r.attributes:
            if key in stubs:
                merged = tuple(sorted(set(stubs[key].placements) | set(r.placements),
                                      key=lambda p: (p.role, p.location, p.evidence.ref)))
                stubs[key] = replace(stubs[key], placements=merged)
            else:
                stubs[key] = r
        else:
            real[key] = r
    for key, stub in stubs.items():
        real.setdefault(key, stub)
    links: dict[str, set[Link]] = {}
    gaps = list(parsed.gaps)
    for source, link in parsed.links:
        target = real.get(link.target.lower())
        link = replace(link, target=target.id) if target is not None else link
        if source.lower() not in real:
            gaps.append(CoverageGap(provider="azure", scope=source.split("/")[2] if source.count("/") > 2 else "",
                                    service="sql", operation=link.evidence.ref.split(" ", 1)[0],
                                    error="LinkSourceNotFound", resource=source, level=GapLevel.RECORD,
                                    message=f"a copy to {link.target} was found but not the resource it copies"))
            continue
        links.setdefault(source.lower(), set()).add(link)
    out = []
    for key in sorted(real):
        r = real[key]
        if key in links:
            extra = set(r.links) | links[key]
            r = replace(r, links=tuple(sorted(extra, key=lambda lk: (lk.relation, lk.target, lk.evidence.ref))))
        out.append(r)
    unique = {g.key: g for g in gaps}
    return sorted(out, key=lambda r: r.id), [unique[k] for k in sorted(unique)]


def coverage(estate: Estate) -> dict[str, str]:
    """How each Azure scope of the scan ended: :data:`READ`, :data:`READ_IN_PART` or :data:`NOT_READ`.

    *Not read*: a scope-level gap names it (denied, not visible, given up, disabled). *Read in
    part*: some other gap names it (a service, a record or a detail). *Read*: no gap names it.

    >>> coverage(Estate(metadata=ScanMetadata(scopes=("azure:s1",))))
    {'azure:s1': 'read'}
    """
    out: dict[str, str] = {}
    for scope in estate.metadata.scopes:
        if not scope.startswith("azure:"):
            continue
        name = scope.removeprefix("azure:")
        mine = [g for g in estate.gaps if g.provider == "azure" and g.scope == name]
        if any(g.level == GapLevel.SCOPE for g in mine):
            out[scope] = NOT_READ
        elif mine:
            out[scope] = READ_IN_PART
        else:
            out[scope] = READ
    return out


def _needs(wanted: Sequence[AzureService], with_sql: bool) -> dict[str, tuple[str, ...]]:
    needs: dict[str, set[str]] = {}
    for s in (*wanted, *(_SQL_DETAILS if with_sql else ())):
        needs.setdefault(s.name, set()).update(s.permissions)
    return {k: tuple(sorted(v)) for k, v in sorted(needs.items())}


def scan_azure(
    *,
    credential: Any = None,
    subscriptions: Sequence[str] | None = None,
    management_groups: Sequence[str] = (),
    base_url: str = PUBLIC_ARM,
    use_resource_graph: bool = True,
    services: Sequence[str] | None = None,
    catalog: Catalog | None = None,
    client_kwargs: Mapping[str, Any] | None = None,
    credential_scopes: Sequence[str] = (),
    max_workers: int = 4,
    graph_page_size: int = 1000,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    max_attempts: int = MAX_ATTEMPTS,
    backoff_cap: float = BACKOFF_CAP,
    give_up_after: int = GIVE_UP_AFTER,
    progress: ProgressCallback | None = None,
) -> Estate:
    """Scan Azure: where storage accounts, SQL, Cosmos DB, vaults and key vaults keep their copies.

    ``credential`` is any azure-core token credential (``DefaultAzureCredential()`` when None).
    ``subscriptions`` limits the scan (default: every subscription the credential can read);
    ``management_groups`` scopes it to management groups (their subscriptions found through
    Resource Graph). ``base_url`` is the Resource Manager endpoint: a sovereign cloud
    (``https://management.chinacloudapi.cn``, ``https://management.usgovcloudapi.net``) or a
    private endpoint. ``client_kwargs`` go to every SDK client (``connection_verify``,
    ``retry_total``, ``transport``, …). ``use_resource_graph=False`` lists per subscription over ARM
    (``max_workers`` subscriptions at a time); ``graph_page_size`` rows per Resource Graph page
    (at most 1,000).

    Time is bounded: each attempt waits at most ``connect_timeout`` + ``read_timeout`` seconds,
    a call makes at most ``max_attempts`` attempts with pauses of at most ``backoff_cap`` seconds,
    and after ``give_up_after`` calls without an answer the endpoint is given up (with the
    defaults, 85 s: see :func:`~residency_audit.providers.service.worst_case_seconds`).

    What could not be read becomes a :class:`~residency_audit.model.CoverageGap`, never an
    empty result; :func:`coverage` tells each scope read, read in part or not read.

    Example (against a test double of Resource Manager, so not run here)::

        estate = scan_azure(credential=cred, base_url="https://127.0.0.1:8443",
                            client_kwargs={"connection_verify": "ca.pem"})
    """
    started = _now()
    chosen = set(services or SERVICES)
    unknown = chosen - set(SERVICES)
    if unknown:
        raise ValueError(f"unknown Azure services {sorted(unknown)}; choose from {list(SERVICES)}")
    if subscriptions and management_groups:
        raise ValueError("give subscriptions or management_groups, not both")
    if connect_timeout <= 0 or read_timeout <= 0 or max_attempts < 1 or backoff_cap < 0 or give_up_after < 1:
        raise ValueError("timeouts must be > 0, max_attempts and give_up_after >= 1, backoff_cap >= 0")
    wanted = [s for s in _LISTINGS if s.name in chosen]
    catalog = catalog or default_catalog()
    ctx = AzureContext(credential=credential if credential is not None else _default_credential(),
                       base_url=base_url.rstrip("/"), client_kwargs=dict(client_kwargs or {}),
                       credential_scopes=tuple(credential_scopes),
                       timing=Timing(connect_timeout=connect_timeout, read_timeout=read_timeout,
                                     max_attempts=max_attempts, backoff_cap=backoff_cap,
                                     give_up_after=give_up_after),
                       give_up=GiveUp(after=give_up_after), pool_size=max(16, max(1, max_workers) + _CHECKS + 2))

    try:
        def report(label: str, done: int, total: int) -> None:
            if progress is not None:
                progress(label, done, total)

        gaps: list[CoverageGap] = []
        if subscriptions:
            subs = sorted({s.strip() for s in subscriptions if s.strip()})
        else:
            subs, sub_gaps = _fetch_subscriptions(ctx, management_groups)
            gaps += sub_gaps
            if not subs and not [g for g in sub_gaps if g.level == GapLevel.SCOPE]:
                where = [f"managementGroups/{m}" for m in sorted(management_groups)] or ["tenant"]
                for scope in where:
                    gaps.append(CoverageGap(provider="azure", scope=scope, service="subscriptions",
                                            operation=QUERY_OPERATION if management_groups else SUBSCRIPTIONS_OPERATION,
                                            error="NoSubscriptions", level=GapLevel.SCOPE,
                                            message="the credential can read no subscription in this scope: nothing "
                                                    "was scanned"))
        report("azure: subscriptions", len(subs), len(subs))
        needs = _needs(wanted, "sql" in chosen)
        workers = max(1, max_workers)

        with ThreadPoolExecutor(max_workers=_CHECKS) as checks_pool:
            checks: list[Future[list[CoverageGap]]] = []

            def regions_then_checks() -> tuple[RegionFacts, list[CoverageGap]]:
                # The permission checks start once the regions are read, as they always did: an
                # endpoint given up while reading them is not asked again.
                found = _fetch_regions(ctx, subs, catalog)
                checks.extend(checks_pool.submit(access.check_scope, ctx, scope=sub, needs=needs) for sub in subs)
                checks.extend(checks_pool.submit(access.check_scope, ctx, scope=mg, needs=needs, management_group=True)
                              for mg in sorted(management_groups))
                return found

            graph_done = False
            if use_resource_graph and subs:
                # The Locations API is read while the Resource Graph query runs (one round trip less
                # before the first page). The query's outcome counts for the endpoint only once the
                # regions are read, and if reading them gave the endpoint up, the query's answer is
                # dropped as if it had not been sent: every fault ends as it did in sequence.
                regions = checks_pool.submit(regions_then_checks)
                from_graph = Parsed()
                count = 0
                pages: list[Future[Parsed]] = []

                def parse_page(rows: list[Any]) -> Parsed:
                    return _parse_rows(rows, wanted, regions.result()[0], operation=QUERY_OPERATION)

                def on_page(rows: list[Any]) -> None:
                    # parsed in a second thread while the next page is fetched (in order: one worker)
                    nonlocal count
                    pages.append(parse_pool.submit(parse_page, rows))
                    count += len(rows)
                    report("azure: resource graph", count, 0)

                with ThreadPoolExecutor(max_workers=1) as parse_pool:
                    _, errors, notes = fetch_graph(ctx, build_query([s.resource_type for s in wanted]),
                                                   subscriptions=subs, page_size=min(graph_page_size, 1000),
                                                   on_page=on_page, settle=regions.result)
                    facts, region_gaps = regions.result()
                    for page in pages:
                        from_graph.extend(page.result())
                gaps += region_gaps
                parsed = Parsed(gaps=gaps)
                if errors:
                    log.warning("Resource Graph query failed (%s); listing per subscription over ARM instead",
                                "; ".join(type(e).__name__ for e in errors))
                else:
                    parsed.extend(from_graph)
                    for note in notes:
                        parsed.gaps.append(CoverageGap(provider="azure", scope="tenant", service="resourcegraph",
                                                       operation=QUERY_OPERATION, error="ResultTruncated", message=note))
                    graph_done = True
                report("azure: resource graph", count, count)
            else:
                facts, region_gaps = regions_then_checks()
                gaps += region_gaps
                parsed = Parsed(gaps=gaps)

            if not graph_done and subs and ctx.give_up.given_up(ENDPOINT):
                for sub in subs:  # neither Resource Graph nor ARM will list it: not read
                    parsed.gaps.append(_not_read(sub, GivenUp(
                        "the Resource Manager endpoint gave no answer (Resource Graph query or an earlier call); "
                        "given up"), services=sorted(chosen)))
            elif not graph_done and subs:
                with ThreadPoolExecutor(max_workers=workers) as pool:
                    futures = [pool.submit(_scan_subscription_arm, ctx, sub, wanted, facts) for sub in subs]
                    for i, future in enumerate(futures, 1):
                        parsed.extend(future.result())
                        report("azure: subscriptions listed", i, len(subs))
            for i, check in enumerate(checks, 1):
                parsed.gaps.extend(check.result())
                report("azure: access checked", i, len(checks))

        if "sql" in chosen:
            server_ids = sorted({r.id for r in parsed.resources if r.kind == "server" and r.service == "sql"
                                 and "seen_via" not in r.attributes})
            known = {r.id.rstrip("/").rsplit("/", 1)[-1].lower(): r.id for r in parsed.resources
                     if r.kind == "server" and r.service == "sql"}
            parsed.extend(_sql_details(ctx, server_ids, facts, databases=not graph_done, known_servers=known))
            report("azure: sql details", len(server_ids), len(server_ids))

        resources, all_gaps = _assemble(parsed)
        scopes = tuple(sorted({f"azure:{s}" for s in subs}
                              | {f"azure:managementGroups/{m}" for m in management_groups}))
        estate = Estate(resources=tuple(resources), gaps=tuple(all_gaps),
                        metadata=ScanMetadata(sources=("azure",), started=started, finished=_now(), scopes=scopes))
        ended = coverage(estate)
        log.info("azure: %d scopes: %d read, %d read in part, %d not read", len(ended),
                 sum(v == READ for v in ended.values()), sum(v == READ_IN_PART for v in ended.values()),
                 sum(v == NOT_READ for v in ended.values()))
        return estate
    finally:
        ctx.close()
