"""Scanning Oracle Cloud: tenancy, regions, compartments, then each service where it has data.

1. The tenancy (from the config or the signer), its realm (the OCID's third segment) and its
   subscribed regions (``ListRegionSubscriptions``); ``regions`` narrows them, and a requested
   region that is not subscribed is a scope-level gap.
2. The compartment tree under the tenancy, or under one compartment, each with its path.
3. Per region, one OCI Search query says which compartments hold which kinds of resource; only
   those (compartment, service) pairs are listed. Where Search fails, or with
   ``use_search=False``, every service is listed in every compartment.
4. Each listing is a service module's ``fetch`` (I/O, faults become gaps) and ``parse`` (pure,
   a bad record becomes a gap), run on a small thread pool.
5. A region whose endpoint stopped answering is a scope-level gap; every placement in a region the
   catalog does not know, or whose catalog operator is not its realm's, is a gap.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from residency_audit.catalog import Catalog, default_catalog
from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, Estate, GapLevel, Resource, ScanMetadata
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.oci import (
    autonomous,
    blockstorage,
    dbsystems,
    filestorage,
    identity,
    objectstorage,
    search,
    vault,
)
from residency_audit.providers.oci.clients import CLIENTS, Calls, Settings, build_retry
from residency_audit.providers.oci.operations import allowed_calls
from residency_audit.providers.oci.realms import realm_gaps, region_gaps
from residency_audit.providers.oci.records import Compartment, Where, merge_resources, ocid_realm
from residency_audit.providers.service import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    RecordError,
    ServiceSpec,
    server_reason,
)

__all__ = ["DEFAULT_MAX_WORKERS", "LISTED", "scan_oci"]

DEFAULT_MAX_WORKERS = 8

LISTED: tuple[tuple[ServiceSpec, str], ...] = (
    (objectstorage.SPEC, objectstorage.SERVICE), (autonomous.SPEC, autonomous.SERVICE),
    (dbsystems.SPEC, dbsystems.SERVICE), (blockstorage.SPEC, blockstorage.SERVICE),
    (filestorage.SPEC, filestorage.SERVICE), (vault.SPEC, vault.SERVICE))
"""The services listed per compartment and region (spec, SDK client), in this order."""

_REGION = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+-\d+$")
_OCID = re.compile(r"^ocid[12]\.(compartment|tenancy)\.[a-z0-9]+\.[a-z0-9-]*\.[A-Za-z0-9._-]+$")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _validate(regions: Sequence[str] | None, compartment: str | None, max_workers: int) -> None:
    for r in regions or ():
        if not _REGION.match(r):
            raise InputError("--oci-regions", None, None,
                             f"{r!r} is not an OCI region identifier (e.g. eu-stockholm-1)")
    if compartment is not None and not _OCID.match(compartment):
        raise InputError("--oci-compartment", None, None,
                         f"{compartment[:100]!r} is not a compartment or tenancy OCID")
    if max_workers < 1:
        raise InputError("max_workers", None, None, "must be at least 1")


def _load_config(config: Mapping[str, Any] | None, config_file: str | None, profile: str | None,
                 signer: Any) -> dict[str, Any]:
    """The SDK config: as given, else read from the config file and profile."""
    if config is not None:
        return dict(config)
    if signer is not None and config_file is None and profile is None:
        return {key: value for key, value in (("region", getattr(signer, "region", None)),
                                              ("tenancy", getattr(signer, "tenancy_id", None)))
                if value}
    import oci

    location = config_file or oci.config.DEFAULT_LOCATION
    try:
        loaded = oci.config.from_file(file_location=location, profile_name=profile or "DEFAULT")
    except (oci.exceptions.ConfigFileNotFound, oci.exceptions.ProfileNotFound,
            oci.exceptions.InvalidConfig, oci.exceptions.InvalidKeyFilePath, ValueError) as exc:
        raise InputError(config_file or "~/.oci/config", None, f"profile {profile or 'DEFAULT'}",
                         str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__) from None
    return dict(loaded)


_MAX_TOKEN_BYTES = 64 * 1024


def _session_signer(config: Mapping[str, Any]) -> Any:
    """The signer of a session made with ``oci session authenticate``: the config's
    ``security_token_file`` and its key."""
    import oci

    path = Path(str(config["security_token_file"])).expanduser()
    if not path.is_file() or path.stat().st_size > _MAX_TOKEN_BYTES:
        raise InputError(str(path), None, "security_token_file", "not a readable token file")
    token = path.read_text(encoding="utf-8").strip()
    key = oci.signer.load_private_key_from_file(config["key_file"], config.get("pass_phrase"))
    return oci.auth.signers.SecurityTokenSigner(token, key)


def _api_key_signer(config: Mapping[str, Any]) -> Any:
    """One signer for every client (parsing the key per client costs ~65 ms each): the
    session's when the config names a security token, else the API key's."""
    import oci

    try:
        if config.get("security_token_file"):
            return _session_signer(config)
        oci.config.validate_config(dict(config))
        return oci.signer.Signer(
            tenancy=config["tenancy"], user=config["user"], fingerprint=config["fingerprint"],
            private_key_file_location=config.get("key_file"), pass_phrase=config.get("pass_phrase"),
            private_key_content=config.get("key_content"))
    except (oci.exceptions.InvalidConfig, oci.exceptions.InvalidPrivateKey,
            oci.exceptions.MissingPrivateKeyPassphrase, oci.exceptions.InvalidKeyFilePath,
            KeyError, OSError, ValueError) as exc:
        raise InputError("oci config", None, "key", server_reason(
            f"{type(exc).__name__}: {exc}", limit=300)) from None


AUTH_KINDS = ("api_key", "instance_principal", "resource_principal")
"""How a scan signs its requests: the config's API key, or the SDK's principals signers."""


def _principal_signer(auth: str) -> Any:
    """The SDK's instance or resource principals signer (it asks the instance metadata service
    or the resource principal environment for its token)."""
    import oci

    try:
        if auth == "instance_principal":
            return oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
        return oci.auth.signers.get_resource_principals_signer()
    except Exception as exc:  # the SDK raises many kinds here; each is one clear input error
        raise InputError("--oci-auth", None, auth, server_reason(
            f"{type(exc).__name__}: {exc}", limit=300)) from None


def _check_clients(calls: Calls, region: str) -> None:
    """Make one client before any call, so that a config the SDK refuses (with a plain
    signer it still wants the API-key members) is one clear input error, not a gap per call."""
    import oci

    if not region:
        return
    try:
        calls.client("identity", region)
    except (oci.exceptions.InvalidConfig, ValueError, TypeError) as exc:
        raise InputError("oci config", None, None, server_reason(
            f"the SDK refuses the config: {exc}", limit=300)) from None


def _region_keys() -> dict[str, str]:
    """Short region keys (``lhr``) → region identifiers, as the SDK knows them."""
    import oci

    return {str(k).lower(): str(v) for k, v in oci.regions.REGIONS_SHORT_NAMES.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class _Tenancy:
    id: str
    realm: str
    home: str
    regions: tuple[str, ...]
    region_keys: Mapping[str, str]
    compartments: tuple[Compartment, ...]
    namespace: str


def _regions(calls: Calls, start: str, tenancy: str, requested: Sequence[str] | None,
             keys: dict[str, str]) -> tuple[str, list[str], list[CoverageGap]]:
    """The home region and the regions to scan (subscribed ∩ requested), with gaps."""
    rows = identity.fetch_region_subscriptions(calls, start, tenancy)
    if rows is None:
        # Not readable: scan what was asked for (or the config's region); the gap says why.
        return start, sorted(set(requested or [start])), []
    subscribed, home, found_keys = identity.parse_region_subscriptions(rows)
    keys.update(found_keys)
    gaps = [CoverageGap(provider="oci", scope=tenancy, region=r, service="identity",
                        operation="IdentityClient.list_region_subscriptions",
                        error="RegionNotSubscribed", level=GapLevel.SCOPE,
                        message=f"region {r!r} was requested but the tenancy does not subscribe "
                                "to it (or it is not ready); nothing there was read")
            for r in sorted(set(requested or ())) if r not in subscribed]
    chosen = [r for r in subscribed if not requested or r in set(requested)]
    return home or start, chosen, gaps


def _tenancy(calls: Calls, *, config: Mapping[str, Any], requested: Sequence[str] | None,
             compartment: str | None, report: ProgressCallback) -> tuple[_Tenancy, list[CoverageGap]]:
    tenancy = str(config.get("tenancy") or "")
    if not tenancy:
        raise InputError("oci config", None, "tenancy", "the config names no tenancy OCID")
    try:
        realm = ocid_realm(tenancy)
    except RecordError:
        raise InputError("oci config", None, "tenancy", f"{tenancy[:100]!r} is not an OCID") from None
    start = str(config.get("region") or (requested[0] if requested else ""))
    if not start:
        raise InputError("oci config", None, "region", "the config names no region; give one "
                         "there or with --oci-regions")
    gaps = realm_gaps(realm, tenancy=tenancy)
    report("oci: tenancy", 0, 0)
    keys = _region_keys()
    home, regions, more = _regions(calls, start, tenancy, requested, keys)
    gaps += more
    info = identity.fetch_tenancy(calls, home, tenancy)
    name = str(info.get("name") or "tenancy") if isinstance(info, dict) else "tenancy"
    root_id = compartment or tenancy
    above, rows = identity.fetch_compartments(calls, home, tenancy=tenancy, root=root_id)
    names = [name, *above]
    root = Compartment(id=root_id, name=names[-1], path="/".join(names))
    tree, more = identity.parse_compartments(rows or [], root=root)
    gaps += more
    namespace = objectstorage.fetch_namespace(calls, home, tenancy) or ""
    return _Tenancy(id=tenancy, realm=realm, home=home, regions=tuple(regions), region_keys=keys,
                    compartments=tuple(tree), namespace=namespace), gaps


def _search_pairs(calls: Calls, region: str, tenancy: str) -> set[tuple[str, str]] | None:
    rows = search.fetch_search(calls, region, tenancy=tenancy)
    if rows is None:
        return None
    pairs, unread = search.parse_search(rows, search.QUERY_TYPES)
    return None if unread else pairs


def _task(calls: Calls, spec: ServiceSpec, where: Where
          ) -> Callable[[], tuple[list[Resource], list[CoverageGap]]]:
    def run() -> tuple[list[Resource], list[CoverageGap]]:
        payload = spec.fetch(calls, where)
        if payload is None:
            return [], []
        resources, gaps = spec.parse(payload, where)
        return list(resources), list(gaps)
    return run


def _unavailable_regions(calls: Calls, t: _Tenancy) -> list[CoverageGap]:
    """A scope-level gap for each region that stopped answering, and a service-level gap for
    each service that kept failing with 5xx in a region."""
    out = []
    for region in sorted({t.home, *t.regions}):
        if calls.given_up(region):
            out.append(CoverageGap(
                provider="oci", scope=t.id, region=region, service="*", operation="*",
                error="RegionUnavailable", level=GapLevel.SCOPE,
                message=f"region {region!r} did not answer (timeout or no connection); the calls "
                        "after that were not made, and what they would have read is not here"))
            continue
        for service in sorted(CLIENTS):
            if calls.given_up(region, service):
                out.append(CoverageGap(
                    provider="oci", scope=t.id, region=region, service=service, operation="*",
                    error="ServiceUnavailable", level=GapLevel.SERVICE,
                    message=f"{service} in {region!r} kept failing (5xx after retries); its "
                            "later calls there were not made"))
    return out


def scan_oci(
    *,
    config: Mapping[str, Any] | None = None,
    config_file: str | None = None,
    profile: str | None = None,
    signer: Any = None,
    auth: str = "api_key",
    regions: Sequence[str] | None = None,
    compartment: str | None = None,
    endpoints: Mapping[str, str] | None = None,
    use_search: bool = True,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    max_attempts: int = MAX_ATTEMPTS,
    backoff_cap: float = BACKOFF_CAP,
    retry_strategy: Any = None,
    give_up_after: int = GIVE_UP_AFTER,
    max_workers: int = DEFAULT_MAX_WORKERS,
    catalog: Catalog | None = None,
    progress: ProgressCallback | None = None,
    called: set[tuple[str, str]] | None = None,
) -> Estate:
    """Scan an OCI tenancy (or one compartment subtree) and return what was found, with gaps.

    ``config`` is an SDK config dict; without it the config file (``config_file``, default
    ``~/.oci/config``) and ``profile`` (default ``DEFAULT``) are read. ``signer`` replaces the
    config's API key (``oci.auth.signers.InstancePrincipalsSecurityTokenSigner()``, a resource
    principals signer), or ``auth="instance_principal"`` / ``"resource_principal"`` builds the
    SDK's own; with a signer and no config, its region and tenancy are used.
    ``regions`` narrows the subscribed regions; ``compartment`` scans one compartment subtree.
    ``endpoints`` maps a region, or ``"*"`` for all, to one base URL for every service there.
    ``use_search=False`` lists every service in every compartment instead of asking OCI Search
    first. Each call waits at most ``connect_timeout`` + ``read_timeout`` per attempt, for
    ``max_attempts`` attempts at most ``backoff_cap`` apart (``retry_strategy`` replaces that
    SDK retry strategy); ``give_up_after`` unanswered calls give up a region. ``called``, when given, receives every ``(client, SDK method)`` the scan called.

    Example (against a local fake; see ``tests/providers/oci``)::

        estate = scan_oci(config=config, endpoints={"uk-london-1": "http://127.0.0.1:8080"},
                          regions=["uk-london-1"])
    """
    _validate(regions, compartment, max_workers)
    if auth not in AUTH_KINDS:
        raise InputError("--oci-auth", None, None, f"{auth!r}: one of {', '.join(AUTH_KINDS)}")
    if signer is None and auth != "api_key":
        signer = _principal_signer(auth)
    started = _now()
    cfg = _load_config(config, config_file, profile, signer)
    if signer is None:
        signer = _api_key_signer(cfg)
    settings = Settings(config=cfg, signer=signer, endpoints=dict(endpoints or {}),
                        connect_timeout=connect_timeout, read_timeout=read_timeout,
                        retry_strategy=retry_strategy or build_retry(
                            attempts=max_attempts, backoff_cap=backoff_cap),
                        give_up_after=give_up_after)
    calls = Calls(settings=settings, allowed=allowed_calls())
    _check_clients(calls, str(cfg.get("region") or (regions[0] if regions else "")))
    report = progress or (lambda label, done, total: None)
    t, gaps = _tenancy(calls, config=cfg, requested=regions, compartment=compartment, report=report)
    found: list[Resource] = []
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="residency-audit-oci") as pool:
        ads = {r: pool.submit(identity.fetch_availability_domains, calls, r, t.id) for r in t.regions}
        pairs = {r: pool.submit(_search_pairs, calls, r, t.id) if use_search else None
                 for r in t.regions}
        tasks = []
        for region in t.regions:
            ad_rows = ads[region].result()
            zones = identity.parse_availability_domains(ad_rows or [])
            future = pairs[region]
            wanted = future.result() if future is not None else None
            for c in t.compartments:
                where = Where(tenancy=t.id, realm=t.realm, region=region, compartment=c,
                              namespace=t.namespace, region_keys=t.region_keys,
                              availability_domains=zones)
                for spec, client in LISTED:
                    if wanted is not None and (c.id, spec.name) not in wanted:
                        continue
                    if calls.given_up(region, client):
                        continue  # the region (or service) gap below says what was not read
                    tasks.append(pool.submit(_task(calls, spec, where)))
        for n, f in enumerate(tasks):
            resources, more = f.result()
            found.extend(resources)
            gaps.extend(more)
            report("oci: listings", n + 1, len(tasks))
    gaps.extend(calls.gaps)
    if called is not None:
        called.update(calls.called)
    gaps.extend(_unavailable_regions(calls, t))
    merged = merge_resources(found)
    gaps.extend(region_gaps(merged, catalog or default_catalog(), realm=t.realm))
    unique = {g.key: g for g in gaps}
    scopes = (f"tenancy:{t.id}", *(f"region:{r}" for r in t.regions),
              *((f"compartment:{compartment}",) if compartment else ()))
    return Estate(resources=merged, gaps=tuple(unique[k] for k in sorted(unique)),
                  metadata=ScanMetadata(sources=("oci",), started=started, finished=_now(),
                                        scopes=tuple(sorted(scopes))))
