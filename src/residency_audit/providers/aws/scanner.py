"""Orchestration of an AWS scan: accounts, regions, services, with bounded concurrency and time.

The work is a set of small tasks over (account, region, service), run on one
:class:`~concurrent.futures.ThreadPoolExecutor`. boto3 sessions are not thread-safe, so every
client is created up front in the calling thread; clients are thread-safe and shared by tasks.
Accounts entered with ``AssumeRole`` get clients of the same session made with the assumed
credentials, so the caller's configuration (profile settings, endpoints, event handlers) applies
to every account without building a session per account (about 135 ms each).
No ``endpoint_url`` is ever passed: ``AWS_ENDPOINT_URL`` and the per-service endpoint settings of
the user's configuration (VPC or FIPS endpoints) keep working.

Every client carries botocore's adaptive retry mode, a ``residency-audit`` user-agent mark and
deliberate bounds: :data:`~residency_audit.providers.service.CONNECT_TIMEOUT`,
:data:`~residency_audit.providers.service.READ_TIMEOUT` and
:data:`~residency_audit.providers.service.MAX_ATTEMPTS` attempts per call (unless the user's
configuration sets ``max_attempts``). A :class:`~residency_audit.providers.aws.faults.Ledger`
gives up an (account, region) whose endpoint does not answer, and an (account, region, service)
that answers 5xx past retries, so a dead endpoint costs at most :func:`dead_endpoint_seconds`.
"""

from __future__ import annotations

import datetime as dt
import queue
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, Estate, GapLevel, Resource, ScanMetadata
from residency_audit.providers import service as shared
from residency_audit.providers.aws import config as aws_config
from residency_audit.providers.aws import discovery, s3
from residency_audit.providers.aws.faults import Attempt, Ledger, Scope
from residency_audit.providers.aws.operations import SPECS
from residency_audit.providers.aws.records import merge_resources
from residency_audit.providers.base import ProgressCallback
from residency_audit.providers.service import ServiceSpec

__all__ = ["DEFAULT_MAX_ATTEMPTS", "DEFAULT_MAX_WORKERS", "SERVICES", "USER_AGENT_MARK", "build_config",
           "dead_endpoint_seconds", "scan_aws"]

SERVICES: tuple[str, ...] = tuple(spec.name for spec in SPECS)
"""The services a scan covers (all by default)."""

_REGIONAL: dict[str, ServiceSpec] = {spec.name: spec for spec in SPECS if spec.scope_kind == "region"}

DEFAULT_MAX_WORKERS = 16
USER_AGENT_MARK = "residency-audit"
"""Added to the user agent of every client the adapter creates (``user_agent_extra``)."""

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = shared.MAX_ATTEMPTS
"""Attempts per call, the first included (botocore's ``total_max_attempts``), unless the user's
configuration (``AWS_MAX_ATTEMPTS``, ``max_attempts`` in the profile) or ``max_attempts=`` says
otherwise."""


def dead_endpoint_seconds(*, connect_timeout: float = shared.CONNECT_TIMEOUT,
                          read_timeout: float = shared.READ_TIMEOUT,
                          max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> float:
    """The longest an (account, region) whose endpoint never answers can hold a scan.

    Every call in flight when the endpoint stops answering waits at most ``max_attempts``
    times ``connect_timeout + read_timeout``, with botocore's back-off between attempts (at most
    1 s, then 2 s, ... and never above :data:`~residency_audit.providers.service.BACKOFF_CAP`);
    the calls after the first failure are not made.

    >>> dead_endpoint_seconds()
    85.0
    >>> dead_endpoint_seconds(connect_timeout=2, read_timeout=5, max_attempts=1)
    7.0
    """
    return shared.worst_case_seconds(connect=connect_timeout, read=read_timeout, attempts=max_attempts,
                                     backoff_cap=shared.BACKOFF_CAP, give_up_after=shared.GIVE_UP_AFTER)


def build_config(config: Any = None, *, max_workers: int = DEFAULT_MAX_WORKERS,
                 max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
                 connect_timeout: float = shared.CONNECT_TIMEOUT,
                 read_timeout: float = shared.READ_TIMEOUT) -> Any:
    """The botocore ``Config`` of every client: adaptive retries, bounded attempts and timeouts,
    the user-agent mark, a pool as large as the worker count; ``config`` (the caller's) is
    merged over it.

    ``max_attempts`` counts every attempt of a call, the first included; ``None`` leaves it to the
    user's configuration (``AWS_MAX_ATTEMPTS``, ``max_attempts`` in the profile).
    """
    from botocore.config import Config

    retries: dict[str, Any] = {"mode": "adaptive"}
    if max_attempts is not None:
        retries["total_max_attempts"] = max_attempts
    base = Config(retries=retries, connect_timeout=connect_timeout, read_timeout=read_timeout,
                  max_pool_connections=max(10, max_workers), user_agent_extra=USER_AGENT_MARK)
    if config is None:
        return base
    merged = base.merge(config)
    extra = getattr(config, "user_agent_extra", None)
    if extra and USER_AGENT_MARK not in extra:
        merged = merged.merge(Config(user_agent_extra=f"{extra} {USER_AGENT_MARK}"))
    return merged


_AWS_HOSTS = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov")


def _custom_endpoint(client: Any) -> bool:
    """Whether the client's endpoint comes from the user's settings (``AWS_ENDPOINT_URL``,
    ``AWS_ENDPOINT_URL_<SERVICE>``, a profile's ``endpoint_url``) rather than from AWS's rules."""
    builtins = getattr(getattr(client, "_ruleset_resolver", None), "_builtins", None)
    if isinstance(builtins, dict) and "SDK::Endpoint" in builtins:
        return builtins["SDK::Endpoint"] is not None
    host = urlsplit(str(client.meta.endpoint_url)).hostname or ""
    return not host.endswith(_AWS_HOSTS)


def _keep_endpoint_host(endpoint: str) -> Callable[..., None]:
    """A ``before-call`` handler that sends the request to ``endpoint``'s own host.

    S3 Control names the account in the host (``<account-id>.<endpoint host>``), through the
    operation's host prefix and its endpoint rules alike; for a custom endpoint that is a lookup
    of another host (``123456789012.127.0.0.1``), which must never happen.
    """
    netloc = urlsplit(endpoint).netloc

    def handler(params: dict[str, Any], **_: Any) -> None:
        url = urlsplit(str(params.get("url", "")))
        if url.netloc != netloc and url.netloc.endswith("." + netloc):
            params["url"] = urlunsplit(url._replace(netloc=netloc))

    return handler


@dataclass
class _Run:
    """State shared by the phases of one scan (mutated only in the calling thread)."""

    session: Any
    config: Any
    pool: ThreadPoolExecutor
    progress: ProgressCallback | None
    ledger: Ledger = field(default_factory=Ledger)
    partition: str = "aws"
    home_region: str = "us-east-1"
    clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    credentials: dict[str, Mapping[str, str] | None] = field(default_factory=dict)
    gaps: list[CoverageGap] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    done: int = 0
    total: int = 0
    tags: bool = True
    coverage: aws_config.Coverage | None = None
    config_pending: dict[str, tuple[s3.ReplicationTarget, str]] = field(default_factory=dict)
    config_plan: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Accounts the aggregator answers for in whole (not entered): their regions."""

    def covered(self, account: str, region: str, service: str) -> bool:
        """Whether the aggregator's items stand for ``service`` in (account, region)."""
        return (self.coverage is not None and service in aws_config.SERVICES
                and self.coverage.covered(account, region))

    def client(self, account: str, region: str, service: str) -> Any:
        """The client for (account, region, service), created on first use (calling thread only)."""
        key = (account, region, service)
        if key not in self.clients:
            creds = self.credentials.get(account) or {}
            config = self.config
            if service == "s3control":
                from botocore.config import Config

                config = config.merge(Config(inject_host_prefix=False))
            client = self.session.client(service, region_name=region, config=config, **creds)
            if service == "s3control" and _custom_endpoint(client):
                client.meta.events.register("before-call.s3-control", _keep_endpoint_host(client.meta.endpoint_url),
                                            unique_id="residency-audit-keep-endpoint-host")
            self.clients[key] = client
        return self.clients[key]

    def attempt(self, account: str, region: str, service: str) -> Attempt:
        """An :class:`Attempt` for one task, sharing the scan's ledger."""
        return Attempt(scope=Scope(account=account, region=region, service=service, partition=self.partition),
                       ledger=self.ledger)

    def run(self, label: str, tasks: Sequence[Callable[[], T]]) -> list[T]:
        """Run ``tasks`` on the pool; results in task order; progress after each."""
        self.total += len(tasks)
        self._tick(label)
        futures = [self.pool.submit(t) for t in tasks]
        results: list[T] = []
        for f in futures:
            results.append(f.result())
            self.done += 1
            self._tick(label)
        return results

    def _tick(self, label: str) -> None:
        if self.progress is not None:
            self.progress(label, self.done, self.total)


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _validate(regions: Sequence[str] | None, services: Sequence[str] | None, max_workers: int,
              max_attempts: int | None, connect_timeout: float, read_timeout: float) -> None:
    for r in regions or ():
        if not _REGION_RE.match(r):
            raise InputError("--aws-regions", None, None, f"{r!r} is not an AWS region code (e.g. eu-north-1)")
    for s in services or ():
        if s not in SERVICES:
            raise InputError("--aws-services", None, None, f"unknown service {s!r}; known: {', '.join(SERVICES)}")
    if max_workers < 1:
        raise InputError("--aws-max-workers", None, None, "must be at least 1")
    if max_attempts is not None and not 1 <= max_attempts <= 20:
        raise InputError("--aws-max-attempts", None, None, "must be between 1 and 20")
    for name, value in (("--aws-connect-timeout", connect_timeout), ("--aws-read-timeout", read_timeout)):
        if not 0 < value <= 600:
            raise InputError(name, None, None, "must be more than 0 and at most 600 seconds")


def _session(session: Any, profile: str | None) -> Any:
    if session is not None:
        return session
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound as exc:
        raise InputError("--aws-profile", None, None, str(exc)) from None


def scan_aws(*, session: Any = None, profile: str | None = None, regions: Sequence[str] | None = None,
             services: Sequence[str] | None = None, org_role: str | None = None,
             external_id: str | None = None, max_workers: int = DEFAULT_MAX_WORKERS,
             max_attempts: int | None = None, connect_timeout: float = shared.CONNECT_TIMEOUT,
             read_timeout: float = shared.READ_TIMEOUT, tags: bool = True,
             config_aggregator: str | bool = True,
             config: Any = None, progress: ProgressCallback | None = None) -> Estate:
    """Scan AWS and return what was found, with a coverage gap for everything not seen.

    ``session`` is a ``boto3.Session`` (default: one built from ``profile`` or boto3's default
    chain). ``regions`` limits the regions (default: every enabled region, found with
    ``DescribeRegions``); ``services`` limits the services (default :data:`SERVICES`).
    With ``org_role``, every active account of the organisation is scanned by assuming that role
    (with ``external_id``). ``connect_timeout`` and ``read_timeout`` (seconds) and
    ``max_attempts`` (attempts per call, the first included; default: the user's
    ``max_attempts`` setting, else :data:`DEFAULT_MAX_ATTEMPTS`) bound the time a call can take:
    see :func:`dead_endpoint_seconds`. ``config`` is a botocore ``Config`` merged over the
    adapter's. ``progress(label, done, total)`` is called as tasks finish.

    ``tags=False`` reads no bucket tags (no ``tag:GetResources`` calls, one per 100 buckets of a
    region): use it when no policy or data category selects buckets by tag. In organisation mode, an AWS Config
    aggregator of the calling account (``config_aggregator=True``: the first with an organisation
    source; a name: that one; ``False``: none) stands in for the S3, DynamoDB and RDS listings of
    every account and region it covers (see :mod:`residency_audit.providers.aws.config`).

    Example (against a moto-mocked AWS)::

        estate = scan_aws(session=boto3.Session(region_name="eu-north-1"), regions=["eu-north-1"])
    """
    _validate(regions, services, max_workers, max_attempts, connect_timeout, read_timeout)
    chosen = tuple(s for s in SERVICES if s in set(services or SERVICES))
    started = _now()
    sess = _session(session, profile)
    if max_attempts is None and sess._session.get_config_variable("max_attempts") is None:
        max_attempts = DEFAULT_MAX_ATTEMPTS
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="residency-audit-aws") as pool:
        run = _Run(session=sess, pool=pool,
                   config=build_config(config, max_workers=max_workers, max_attempts=max_attempts,
                                       connect_timeout=connect_timeout, read_timeout=read_timeout),
                   progress=progress, home_region=sess.region_name or "us-east-1", tags=tags)
        use_config = (config_aggregator if isinstance(config_aggregator, str) and config_aggregator
                      else bool(config_aggregator)) if org_role and set(chosen) & aws_config.SERVICES else False
        accounts = _accounts(run, org_role=org_role, external_id=external_id, use_config=use_config,
                             chosen=chosen, requested=regions)
        # The plain bucket listings need no region list: they run while regions are discovered.
        early = {a: (pool.submit(_s3_probe, run, a, run.client(a, run.home_region, "s3")),
                     pool.submit(_s3_list, run, a, run.client(a, run.home_region, "s3"), None))
                 for a in accounts} if "s3" in chosen else {}
        regions_by_account = _regions(run, accounts, requested=regions)
        regional = _start_regional(run, regions_by_account, [s for s in chosen if s in _REGIONAL])
        if "s3" in chosen:
            s3_plan = {a: rs for a, rs in regions_by_account.items()
                       if not all(run.covered(a, r, "s3") for r in rs)}
            _scan_s3(run, s3_plan, {a: f for a, f in early.items() if a in s3_plan})
            _config_destinations(run)
        _finish_regional(run, regional)
    if run.coverage is not None:
        plan = {**run.config_plan, **regions_by_account}
        run.gaps.extend(aws_config.uncovered_gaps(run.coverage, plan, caller=accounts[0],
                                                  home_region=run.home_region))
    run.gaps.extend(_scopes_not_read(run.ledger, regions_by_account))
    gaps = {g.key: g for g in run.gaps}
    return Estate(
        resources=merge_resources(run.resources),
        gaps=tuple(gaps[k] for k in sorted(gaps)),
        metadata=ScanMetadata(sources=("aws",), started=started, finished=_now(),
                              scopes=tuple(sorted(f"aws:{a}" for a in {*regions_by_account, *run.config_plan}))))


def _scopes_not_read(ledger: Ledger, regions_by_account: Mapping[str, Sequence[str]]) -> list[CoverageGap]:
    """A scope-level gap for every (account, region) of the plan where no call was answered."""
    out = []
    for account in sorted(regions_by_account):
        for region in regions_by_account[account]:
            fault = ledger.not_read(account, region)
            if fault is None:
                continue
            out.append(CoverageGap(
                provider="aws", scope=account, region=region, service="*", operation="*", error=fault.error,
                level=GapLevel.SCOPE,
                message=shared.server_reason(f"region {region} of account {account} was not read: no call "
                                             f"there was answered ({fault.error}: {fault.message})")))
    return out


# ---------------------------------------------------------------- accounts and regions

def _accounts(run: _Run, *, org_role: str | None, external_id: str | None, use_config: str | bool = False,
              chosen: Sequence[str] = (), requested: Sequence[str] | None = None) -> list[str]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    sts = run.client("", run.home_region, "sts")
    try:
        identity = discovery.fetch_caller_identity(sts)
    except NoCredentialsError:
        raise InputError("aws", None, None, "no AWS credentials found (set a profile with --aws-profile "
                         "or configure boto3's credential chain)") from None
    except (ClientError, BotoCoreError) as exc:
        from residency_audit.providers.aws.faults import error_code

        raise InputError("aws", None, None, f"GetCallerIdentity failed ({error_code(exc)}): "
                         "the credentials cannot be used") from None
    caller = identity.get("Account")
    if not isinstance(caller, str) or not caller:
        raise InputError("aws", None, "Account", "GetCallerIdentity answered without an account id")
    arn = identity.get("Arn")
    parts = arn.split(":") if isinstance(arn, str) else []
    run.partition = parts[1] if len(parts) > 1 and parts[1] else "aws"
    run.credentials[caller] = None
    run.clients[(caller, run.home_region, "sts")] = sts
    accounts = [caller]
    if not org_role:
        return accounts
    attempt = run.attempt(caller, run.home_region, "organizations")
    pages = discovery.fetch_accounts(run.client(caller, run.home_region, "organizations"), attempt)
    # The organisation is a scope of its own ("<caller>/organization"): when its accounts are not
    # known (or one of them cannot be read from the listing), that scope was not read in whole.
    organisation = {"scope": f"{caller}/organization", "region": ""}
    if pages is None:
        run.gaps.extend(_as_scope(g, **organisation) for g in attempt.gaps)
    else:
        run.gaps.extend(attempt.gaps)
    listed, gaps = discovery.parse_accounts(pages or [], attempt.scope)
    run.gaps.extend(_as_scope(g, **organisation) for g in gaps)
    members = [a for a, _ in listed if a != caller]
    if use_config and members:  # no member known: nothing for an aggregator to spare
        whole = _scan_config(run, [caller, *members], name=use_config if isinstance(use_config, str) else None,
                             chosen=chosen, requested=requested)
        members = [m for m in members if m not in whole]

    def assume(account: str) -> tuple[str, Mapping[str, str] | None, list[CoverageGap]]:
        a = run.attempt(account, run.home_region, "sts")
        creds = discovery.fetch_assumed_credentials(
            sts, a, arn=discovery.role_arn(account, org_role, run.partition), external_id=external_id)
        # An account that cannot be entered is a whole scope not read (no region: all of them).
        return account, creds, [_as_scope(g, region="") for g in a.gaps] if creds is None else a.gaps

    for account, creds, gaps in run.run("aws: accounts", [partial(assume, m) for m in members]):
        run.gaps.extend(gaps)
        if creds is not None:
            run.credentials[account] = creds
            accounts.append(account)
    return accounts


def _scan_config(run: _Run, accounts: Sequence[str], *, name: str | None, chosen: Sequence[str],
                 requested: Sequence[str] | None) -> set[str]:
    """Read the aggregator's items; the accounts (other than the caller) it answers for in whole.

    An account is answered for in whole when every chosen service is one the aggregator stands
    in for and every region to scan (the requested ones, or, for sources of every region, the
    regions the aggregator has data from) is covered: it is then not entered at all.
    """
    caller = accounts[0]
    client = run.client(caller, run.home_region, "config")
    attempt = run.attempt(caller, run.home_region, "config")
    listed = aws_config.fetch_aggregators(client, attempt, name=name)
    chosen_agg = aws_config.choose_aggregator(listed or [])
    if chosen_agg is None:
        if name or listed is None:  # asked for by name, or not listable: say so; the fan-out follows
            run.gaps.extend(attempt.gaps or [CoverageGap(
                provider="aws", scope=caller, region=run.home_region, service="config",
                operation="DescribeConfigurationAggregators", error="NoSuchConfigurationAggregatorException",
                message=f"no configuration aggregator {name!r}; every account is scanned in turn")])
        return set()
    agg_name = str(chosen_agg["ConfigurationAggregatorName"])
    statuses = aws_config.fetch_source_status(client, attempt, agg_name)
    items = aws_config.fetch_items(client, attempt, agg_name) if statuses is not None else None
    run.gaps.extend(attempt.gaps)
    if statuses is None or items is None:
        return set()
    coverage = aws_config.parse_coverage(chosen_agg, statuses, accounts)
    found = aws_config.parse_items(items, coverage=coverage, scope=attempt.scope)
    run.coverage = coverage
    run.resources.extend(found.resources)
    run.gaps.extend(found.gaps)
    run.config_pending = found.pending
    whole: set[str] = set()
    if not set(chosen) <= aws_config.SERVICES:
        return whole
    for account in accounts[1:]:
        regions = coverage.regions.get(account, frozenset())
        target = tuple(sorted(set(requested))) if requested else (
            tuple(sorted(regions)) if coverage.all_regions else ())
        if target and all(coverage.covered(account, r) for r in target):
            whole.add(account)
            run.config_plan[account] = target
    return whole


def _config_destinations(run: _Run) -> None:
    """Replication destinations of the aggregator's buckets that no bucket scanned is."""
    known = {r.id for r in run.resources if r.kind == "bucket" and r.attributes.get("observed") != "referenced"}
    tasks = []
    for arn in sorted(run.config_pending):
        if arn in known:
            continue
        target, source_account = run.config_pending[arn]
        account = source_account if source_account in run.credentials else next(iter(run.credentials))
        client = run.client(account, run.home_region, "s3")
        tasks.append(partial(_s3_destination, run, target, account, client))
    for resource, gaps in run.run("aws: s3 destinations", tasks):
        run.resources.append(resource)
        run.gaps.extend(gaps)


def _as_scope(gap: CoverageGap, **changes: str) -> CoverageGap:
    from dataclasses import replace

    return replace(gap, level=GapLevel.SCOPE, **changes)


def _regions(run: _Run, accounts: Sequence[str], *, requested: Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    ec2 = {a: run.client(a, run.home_region, "ec2") for a in accounts}

    def one(account: str) -> tuple[str, tuple[str, ...], list[CoverageGap]]:
        attempt = run.attempt(account, run.home_region, "ec2")
        answer = discovery.fetch_regions(ec2[account], attempt)
        if answer is None:
            # Region list unknown: scan what was asked, or the home region; the gap says so (the
            # account is then read in part when every enabled region was asked for).
            return account, tuple(sorted(set(requested or [run.home_region]))), attempt.gaps
        plan = discovery.parse_regions(answer, requested=requested, scope=attempt.scope)
        for r in plan.disabled:
            attempt.gap("DescribeRegions", "RegionNotEnabled",
                        f"region {r} is not enabled for this account (opt-in region); not scanned", region=r,
                        level=GapLevel.SCOPE)
        for r in plan.unknown:
            attempt.gap("DescribeRegions", "RegionUnknown",
                        f"region {r} is not listed by DescribeRegions; not scanned", region=r,
                        level=GapLevel.SCOPE)
        return account, plan.enabled, [*attempt.gaps, *plan.gaps]

    out: dict[str, tuple[str, ...]] = {}
    for account, enabled, gaps in run.run("aws: regions", [partial(one, a) for a in accounts]):
        run.gaps.extend(gaps)
        out[account] = enabled
    return out


# ---------------------------------------------------------------- regional services

def _start_regional(run: _Run, regions_by_account: Mapping[str, Sequence[str]], services: Sequence[str],
                    ) -> list[Future[tuple[list[Resource], list[CoverageGap]]]]:
    """Submit one task per (account, region, service); S3 runs beside them."""
    futures = []
    for account in sorted(regions_by_account):
        for region in regions_by_account[account]:
            for service in services:
                if run.covered(account, region, service):
                    continue
                client = run.client(account, region, service)
                futures.append(run.pool.submit(_regional_task, run, account, region, _REGIONAL[service], client))
    run.total += len(futures)
    return futures


def _finish_regional(run: _Run, futures: Sequence[Future[tuple[list[Resource], list[CoverageGap]]]]) -> None:
    """Collect the regional tasks, in submission order."""
    for future in futures:
        resources, gaps = future.result()
        run.resources.extend(resources)
        run.gaps.extend(gaps)
        run.done += 1
        run._tick("aws: services")


def _regional_task(run: _Run, account: str, region: str, spec: ServiceSpec, client: Any,
                   ) -> tuple[list[Resource], list[CoverageGap]]:
    attempt = run.attempt(account, region, spec.name)
    payload = spec.fetch(client, attempt)
    resources, gaps = spec.parse(payload, attempt.scope)
    return list(resources), [*attempt.gaps, *gaps]


# ---------------------------------------------------------------- S3

@dataclass
class _Bucket:
    account: str
    region: str | None = None
    ref: str = ""


def _scan_s3(run: _Run, regions_by_account: Mapping[str, Sequence[str]],
             early: Mapping[str, tuple[Future[tuple[Any, list[CoverageGap]]], ...]]) -> None:
    """Buckets, their replication and destinations, as a pipeline.

    The plain listing and a one-bucket sample of it (both started while the regions were
    discovered) and the Multi-Region Access Points come first. When the sample and the listing
    give every bucket's ``BucketRegion``, nothing else is listed; otherwise the listings
    filtered by region follow, once per scanned region, as soon as either tells.
    Each bucket's ``GetBucketReplication`` is sent as soon as a listing has told its region,
    while the other listings are still running; buckets that no listing placed go to
    ``GetBucketLocation`` once every listing is in. Tags are read for the placed buckets,
    :data:`~residency_audit.providers.aws.s3.TAG_BATCH` ARNs of one region a call, sent to that
    region (the session's region for buckets outside the scanned regions or of unknown region).
    Records are built at the end, when the tags are known. Clients are made in this thread, only
    for the regions that are called.
    """
    label = "aws: s3"
    futures: dict[Future[Any], tuple[str, Any]] = {}
    finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def submit(kind: str, key: Any, fn: Callable[[], Any] | Future[Any]) -> None:
        future = fn if isinstance(fn, Future) else run.pool.submit(fn)
        futures[future] = (kind, key)
        run.total += 1
        future.add_done_callback(finished.put)

    scanned = {a: frozenset(regions_by_account[a]) for a in regions_by_account}
    homes = {a: run.client(a, run.home_region, "s3") for a in sorted(regions_by_account)}
    for account in sorted(regions_by_account):
        probe, listing = early.get(account) or (partial(_s3_probe, run, account, homes[account]),
                                                partial(_s3_list, run, account, homes[account], None))
        submit("probe", account, probe)
        submit("list", account, listing)
        ctl = run.client(account, s3.MRAP_CONTROL_REGION, "s3control")
        submit("mrap", account, partial(_s3_mraps, run, account, ctl))

    buckets: dict[str, _Bucket] = {}
    dispatched: set[str] = set()
    locating: set[str] = set()
    tags: dict[str, Mapping[str, str]] = {}
    tag_batches: dict[tuple[str, str], list[str]] = {}
    tag_queued: set[str] = set()
    tags_final = False
    fetched: list[s3.FetchedBucket] = []
    listings_left = 2 * len(regions_by_account)  # the plain listing and its sample, per account
    by_region: set[str] = set()

    def list_by_region(account: str) -> None:
        if account in by_region:
            return
        nonlocal listings_left
        by_region.add(account)
        for region in regions_by_account[account]:
            c = run.client(account, region, "s3")
            submit("list-region", (account, region), partial(_s3_list, run, account, c, region))
            listings_left += 1

    def send_tags(account: str, region: str) -> None:
        names = tag_batches.pop((account, region), [])
        if names:
            client = run.client(account, region, "resourcegroupstaggingapi")
            arns = [s3.bucket_arn(n, run.partition) for n in names]
            submit("tags", (account, region, names[0]), partial(_s3_tags, run, account, region, client, arns))

    def want_tags(name: str, account: str, region: str | None) -> None:
        if not run.tags or name in tag_queued:
            return
        tag_queued.add(name)
        where = region if region in scanned[account] else run.home_region
        batch = tag_batches.setdefault((account, where), [])
        batch.append(name)
        if tags_final or len(batch) >= s3.TAG_BATCH:
            send_tags(account, where)

    def dispatch(name: str, bucket: _Bucket) -> None:
        dispatched.add(name)
        region = bucket.region
        regional = run.client(bucket.account, region, "s3") if region in scanned[bucket.account] else None
        if region is None:
            locating.add(name)
        else:
            want_tags(name, bucket.account, region)
        submit("bucket", name, partial(_s3_bucket, run, name, bucket, homes[bucket.account], regional))

    flushed = False
    while futures:
        done = [finished.get()]
        while not finished.empty():
            done.append(finished.get())
        for future in sorted(done, key=lambda f: futures[f]):
            kind, key = futures.pop(future)
            result, gaps = future.result()
            run.gaps.extend(gaps)
            run.done += 1
            if kind in ("probe", "list", "list-region"):
                listings_left -= 1
            if kind == "list":
                names: dict[str, str | None] = {}
                list_gaps: list[CoverageGap] = []
                if result is not None:
                    names, list_gaps = s3.parse_bucket_list(result, Scope(
                        account=key, region=run.home_region, service="s3", partition=run.partition))
                run.gaps.extend(list_gaps)
                for name, listed in sorted(names.items()):
                    if name not in buckets:
                        buckets[name] = _Bucket(account=key)
                    if listed:  # wins over a filtered listing, whichever came first
                        buckets[name].region, buckets[name].ref = listed, "ListBuckets Buckets[].BucketRegion"
                    if buckets[name].region is not None and name not in dispatched:
                        dispatch(name, buckets[name])
                if result is None or list_gaps or not all(names.values()):
                    list_by_region(key)  # not every bucket placed by the plain listing
            elif kind == "probe":
                if not s3.lists_regions(result):
                    list_by_region(key)  # the listing will not place the buckets either
            elif result is None:
                pass
            elif kind == "list-region":
                account, region = key
                names, list_gaps = s3.parse_bucket_list(result, Scope(account=account, region=region,
                                                                      service="s3", partition=run.partition))
                run.gaps.extend(list_gaps)
                for name in sorted(names):
                    b = buckets.setdefault(name, _Bucket(account=account))
                    if b.region is None:
                        b.region, b.ref = region, f"ListBuckets(BucketRegion={region}) Buckets[].Name"
                    if name not in dispatched:
                        dispatch(name, b)
            elif kind == "tags":
                account, region, _ = key
                found, tag_gaps = s3.parse_tag_mappings(result, Scope(
                    account=account, region=region, service="resourcegroupstaggingapi", partition=run.partition))
                tags.update(found)
                run.gaps.extend(tag_gaps)
            elif kind == "mrap":
                run.resources.extend(result)
            elif kind == "bucket":
                fetched.append(result)
                if key in locating:
                    locating.discard(key)
                    want_tags(key, result.account, result.region)
        if listings_left == 0 and not flushed:
            # Every listing is in: what none of them placed goes to GetBucketLocation.
            flushed = True
            for name in sorted(set(buckets) - dispatched):
                dispatch(name, buckets[name])
        if flushed and not locating and not tags_final:
            # Every bucket's region is known: the partial tag batches go out.
            tags_final = True
            for account, region in sorted(tag_batches):
                send_tags(account, region)
        run._tick(label)
    # The evidence must not depend on which listing answered first: the final listing's ref wins.
    settled = [s3.FetchedBucket(name=f.name, account=f.account, region=f.region, replication=f.replication,
                                ref=buckets[f.name].ref if buckets[f.name].region == f.region and buckets[f.name].ref
                                else f.ref)
               for f in fetched]
    resources, rule_gaps, pending = s3.parse_buckets(settled, partition=run.partition, tags=tags)
    run.resources.extend(resources)
    run.gaps.extend(rule_gaps)
    if not run.tags:  # not read on request: said, so that a selection by tag is not taken as complete
        for account in sorted({r.account for r in resources}):
            run.gaps.append(CoverageGap(
                provider="aws", scope=account, service="s3", operation="tag:GetResources",
                error="NotRequested", level=GapLevel.SERVICE, field="tags",
                message="bucket tags were not read (--aws-no-tags)"))
    # Destinations no scanned account lists.
    tasks = []
    for arn in sorted(pending):
        target, source_account = pending[arn]
        client = run.client(source_account, run.home_region, "s3")
        tasks.append(partial(_s3_destination, run, target, source_account, client))
    for resource, gaps in run.run("aws: s3 destinations", tasks):
        run.resources.append(resource)
        run.gaps.extend(gaps)


def _s3_list(run: _Run, account: str, client: Any, region: str | None) -> tuple[Any, list[CoverageGap]]:
    attempt = run.attempt(account, region or run.home_region, "s3")
    pages = s3.fetch_bucket_names(client, attempt, region=region)
    return pages, attempt.gaps


def _s3_probe(run: _Run, account: str, client: Any) -> tuple[Any, list[CoverageGap]]:
    attempt = run.attempt(account, run.home_region, "s3")
    return s3.fetch_bucket_sample(client, attempt), attempt.gaps


def _s3_tags(run: _Run, account: str, region: str, client: Any, arns: Sequence[str],
             ) -> tuple[Any, list[CoverageGap]]:
    attempt = run.attempt(account, region, "resourcegroupstaggingapi")
    return s3.fetch_tags(client, attempt, arns), attempt.gaps


def _s3_mraps(run: _Run, account: str, client: Any) -> tuple[Any, list[CoverageGap]]:
    attempt = run.attempt(account, s3.MRAP_CONTROL_REGION, "s3control")
    points = s3.fetch_multi_region_access_points(client, attempt)
    if points is None:
        return None, attempt.gaps
    resources, gaps = s3.parse_multi_region_access_points(points, attempt.scope)
    return resources, [*attempt.gaps, *gaps]


def _s3_bucket(run: _Run, name: str, bucket: _Bucket, home: Any, regional: Any,
               ) -> tuple[s3.FetchedBucket, list[CoverageGap]]:
    attempt = run.attempt(bucket.account, bucket.region or "", "s3")
    region, ref = bucket.region, bucket.ref
    if region is None:
        region = s3.fetch_bucket_region(home, attempt, name)
        ref = "GetBucketLocation LocationConstraint" if region else ref
    replication = None
    if region is not None:
        if bucket.region is None:  # the region is known now: give-ups of that region apply
            attempt.scope = Scope(account=bucket.account, region=region, service="s3", partition=run.partition)
        replication = s3.fetch_bucket_replication(regional or home, attempt, name)
    return s3.FetchedBucket(name=name, account=bucket.account, region=region, ref=ref,
                    replication=replication), attempt.gaps


def _s3_destination(run: _Run, target: s3.ReplicationTarget, source_account: str, client: Any,
                    ) -> tuple[Resource, list[CoverageGap]]:
    attempt = run.attempt(source_account, "", "s3")
    region = s3.fetch_bucket_region(client, attempt, s3.bucket_name_from_arn(target.bucket_arn))
    return s3.parse_destination(target=target, region=region), attempt.gaps
