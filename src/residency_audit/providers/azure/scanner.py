"""Orchestration of an Azure scan: subscriptions → Locations API → resources → SQL details → Estate.

Two ways to list resources, the same parsers for both:

* **Resource Graph** (default): one KQL query, paged by ``$skipToken``, over every subscription
  (or management group) at once. SQL replication links and failover groups are not in Resource
  Graph: they are read per SQL server over ARM.
* **ARM per subscription** (``use_resource_graph=False``, or when the Resource Graph query fails):
  each service's list operation in each subscription; a failure is a gap for that subscription and
  service, and the scan goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.model import CoverageGap, Estate, Link, Resource, ScanMetadata
from residency_audit.providers.azure import cosmos, keyvault, sql, storage, vaults
from residency_audit.providers.azure.arm import PUBLIC_ARM, AzureContext, collect, gap_from_error
from residency_audit.providers.azure.locations import (
    LOCATIONS_OPERATION,
    RegionFacts,
    cross_check,
    parse_locations,
)
from residency_audit.providers.azure.records import Parsed
from residency_audit.providers.azure.resourcegraph import (
    QUERY_OPERATION,
    SUBSCRIPTIONS_QUERY,
    build_query,
    fetch_graph,
)
from residency_audit.providers.base import ProgressCallback

__all__ = ["SERVICES", "scan_azure"]

log = logging.getLogger(__name__)

Fetch = Callable[[AzureContext, str], tuple[list[dict[str, Any]], BaseException | None]]
Parse = Callable[..., Parsed]


@dataclass(frozen=True, slots=True, kw_only=True)
class _Service:
    """One resource type: how ARM lists it per subscription, and how its payload is parsed."""

    name: str
    type: str
    operation: str
    fetch: Fetch | None
    parse: Parse


_SERVICES: tuple[_Service, ...] = (
    _Service(name="storage", type=storage.RESOURCE_TYPE, operation=storage.LIST_OPERATION,
             fetch=storage.fetch_storage_accounts, parse=storage.parse_storage_account),
    _Service(name="sql", type=sql.SERVER_TYPE, operation="Servers_List", fetch=sql.fetch_servers,
             parse=sql.parse_server),
    _Service(name="sql", type=sql.DATABASE_TYPE, operation="Databases_ListByServer", fetch=None,
             parse=sql.parse_database),
    _Service(name="cosmosdb", type=cosmos.RESOURCE_TYPE, operation=cosmos.LIST_OPERATION,
             fetch=cosmos.fetch_cosmos_accounts, parse=cosmos.parse_cosmos_account),
    _Service(name="recoveryservices", type=vaults.RS_VAULT_TYPE, operation=vaults.RS_LIST_OPERATION,
             fetch=vaults.fetch_recovery_vaults, parse=vaults.parse_recovery_vault),
    _Service(name="dataprotection", type=vaults.BACKUP_VAULT_TYPE, operation=vaults.BACKUP_LIST_OPERATION,
             fetch=vaults.fetch_backup_vaults, parse=vaults.parse_backup_vault),
    _Service(name="keyvault", type=keyvault.VAULT_TYPE, operation=keyvault.VAULT_LIST_OPERATION,
             fetch=keyvault.fetch_key_vaults, parse=keyvault.parse_key_vault),
    _Service(name="keyvault", type=keyvault.HSM_TYPE, operation=keyvault.HSM_LIST_OPERATION,
             fetch=keyvault.fetch_managed_hsms, parse=keyvault.parse_managed_hsm),
)

SERVICES: tuple[str, ...] = tuple(sorted({s.name for s in _SERVICES}))
"""Service names accepted by ``scan_azure(services=...)``."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def _default_credential() -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def _fetch_subscriptions(ctx: AzureContext,
                         management_groups: Sequence[str]) -> tuple[list[str], list[CoverageGap]]:
    """The subscriptions in scope: under the management groups (Resource Graph), else all readable."""
    if management_groups:
        rows, errors, _ = fetch_graph(ctx, SUBSCRIPTIONS_QUERY, management_groups=management_groups)
        gaps = [gap_from_error(e, scope=",".join(sorted(management_groups)), service="resourcegraph",
                               operation=QUERY_OPERATION) for e in errors]
        return sorted({str(r["subscriptionId"]) for r in rows}), gaps
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    with ctx.client(SubscriptionClient) as client:
        items, exc = collect(client.subscriptions.list())
    gaps = [] if exc is None else [gap_from_error(exc, scope="tenant", service="subscriptions",
                                                  operation="Subscriptions_List")]
    subs = []
    for item in items:
        sub_id = str(item["subscriptionId"])
        state = str(item.get("state") or "Enabled")
        if state.lower() == "disabled":
            gaps.append(CoverageGap(provider="azure", scope=sub_id, service="subscriptions",
                                    operation="Subscriptions_List", error="SubscriptionDisabled",
                                    message=f"subscription state {state}: its resources are not listed"))
            continue
        subs.append(sub_id)
    return sorted(set(subs)), gaps


def _fetch_regions(ctx: AzureContext, subscriptions: Sequence[str],
                   catalog: Catalog) -> tuple[RegionFacts, list[CoverageGap]]:
    """Locations API of the first subscription that answers, cross-checked against the catalog."""
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    gaps: list[CoverageGap] = []
    with ctx.client(SubscriptionClient) as client:
        for sub in subscriptions:
            items, exc = collect(client.subscriptions.list_locations(sub))
            if exc is not None:
                gaps.append(gap_from_error(exc, scope=sub, service="locations", operation=LOCATIONS_OPERATION))
                continue
            regions = parse_locations(items)
            return RegionFacts(regions=regions, catalog=catalog), gaps + cross_check(regions, catalog, scope=sub)
    return RegionFacts(regions={}, catalog=catalog), gaps


def _parse_rows(rows: Iterable[Mapping[str, Any]], services: Sequence[_Service], facts: RegionFacts,
                *, operation: str | None = None) -> Parsed:
    by_type = {s.type: s for s in services}
    out = Parsed()
    for row in rows:
        service = by_type.get(str(row.get("type") or "").lower())
        if service is None:
            continue
        if service.type == sql.DATABASE_TYPE and str(row["name"]).lower() in sql.SYSTEM_DATABASES:
            continue
        out.extend(service.parse(row, facts=facts, operation=operation or service.operation))
    return out


def _scan_subscription_arm(ctx: AzureContext, sub: str, services: Sequence[_Service],
                           facts: RegionFacts) -> Parsed:
    """ARM listing of one subscription; every failed list is a gap and the rest goes on."""
    out = Parsed()
    for service in services:
        if service.fetch is None:
            continue
        items, exc = service.fetch(ctx, sub)
        for item in items:
            item.setdefault("type", service.type)
        out.extend(_parse_rows(items, [service], facts))
        if exc is not None:
            out.gaps.append(gap_from_error(exc, scope=sub, service=service.name, operation=service.operation))
    return out


def _sql_details(ctx: AzureContext, server_ids: Sequence[str], facts: RegionFacts, *,
                 databases: bool, known_servers: Mapping[str, str]) -> Parsed:
    """Per SQL server over ARM: databases (ARM path only), replication links, failover groups."""
    out = Parsed()
    steps: list[tuple[str, Callable[[AzureContext, str], tuple[list[dict[str, Any]], BaseException | None]]]] = []
    if databases:
        steps.append(("Databases_ListByServer", sql.fetch_databases))
    steps += [("ReplicationLinks_ListByServer", sql.fetch_replication_links),
              ("FailoverGroups_ListByServer", sql.fetch_failover_groups)]
    for server_id in server_ids:
        sub = server_id.split("/")[2]
        for operation, fetch in steps:
            items, exc = fetch(ctx, server_id)
            for item in items:
                if operation == "Databases_ListByServer":
                    if str(item["name"]).lower() not in sql.SYSTEM_DATABASES:
                        out.extend(sql.parse_database(item, facts=facts, operation=operation))
                elif operation == "ReplicationLinks_ListByServer":
                    out.extend(sql.parse_replication_link(item, facts=facts, operation=operation,
                                                          server_ids=known_servers))
                else:
                    out.extend(sql.parse_failover_group(item, facts=facts, operation=operation))
            if exc is not None:
                out.gaps.append(gap_from_error(exc, scope=sub, service="sql", operation=operation,
                                               resource=server_id))
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
                                    error="LinkSourceNotFound", resource=source,
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

    What could not be read becomes a :class:`~residency_audit.model.CoverageGap`, never an
    empty result.

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
    wanted = [s for s in _SERVICES if s.name in chosen]
    catalog = catalog or default_catalog()
    ctx = AzureContext(credential=credential if credential is not None else _default_credential(),
                       base_url=base_url.rstrip("/"), client_kwargs=dict(client_kwargs or {}),
                       credential_scopes=tuple(credential_scopes))

    def report(label: str, done: int, total: int) -> None:
        if progress is not None:
            progress(label, done, total)

    gaps: list[CoverageGap] = []
    if subscriptions:
        subs = sorted({s.strip() for s in subscriptions if s.strip()})
    else:
        subs, sub_gaps = _fetch_subscriptions(ctx, management_groups)
        gaps += sub_gaps
        if not subs and not sub_gaps:
            where = ", ".join(sorted(management_groups)) or "tenant"
            gaps.append(CoverageGap(provider="azure", scope=where, service="subscriptions",
                                    operation=QUERY_OPERATION if management_groups else "Subscriptions_List",
                                    error="NoSubscriptions",
                                    message="the credential can read no subscription in this scope: nothing "
                                            "was scanned"))
    report("azure: subscriptions", len(subs), len(subs))
    facts, region_gaps = _fetch_regions(ctx, subs, catalog)
    gaps += region_gaps
    parsed = Parsed(gaps=gaps)

    graph_done = False
    if use_resource_graph and subs:
        from_graph = Parsed()
        count = 0

        def on_page(rows: list[dict[str, Any]]) -> None:
            nonlocal count
            from_graph.extend(_parse_rows(rows, wanted, facts, operation=QUERY_OPERATION))
            count += len(rows)
            report("azure: resource graph", count, 0)

        _, errors, notes = fetch_graph(ctx, build_query([s.type for s in wanted]), subscriptions=subs,
                                       page_size=min(graph_page_size, 1000), on_page=on_page)
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

    if not graph_done and subs:
        with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
            futures = [pool.submit(_scan_subscription_arm, ctx, sub, wanted, facts) for sub in subs]
            for i, future in enumerate(futures, 1):
                parsed.extend(future.result())
                report("azure: subscriptions listed", i, len(subs))

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
    return Estate(resources=tuple(resources), gaps=tuple(all_gaps),
                  metadata=ScanMetadata(sources=("azure",), started=started, finished=_now(), scopes=scopes))
