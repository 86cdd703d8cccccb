"""Orchestration of an AWS scan: accounts, regions, services, with bounded concurrency.

The work is a set of small tasks over (account, region, service), run on one
:class:`~concurrent.futures.ThreadPoolExecutor`. boto3 sessions are not thread-safe, so every
client is created up front in the calling thread; clients are thread-safe and shared by tasks.
Accounts entered with ``AssumeRole`` get clients of the same session made with the assumed
credentials, so the caller's configuration (profile settings, endpoints, event handlers) applies
to every account without building a session per account (about 135 ms each).
Every client carries botocore's adaptive retry mode and a ``residency-audit`` user-agent mark.
No ``endpoint_url`` is ever passed: ``AWS_ENDPOINT_URL`` and the per-service endpoint settings of
the user's configuration (VPC or FIPS endpoints) keep working.
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

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, Estate, Resource, ScanMetadata
from residency_audit.providers.aws import backup, discovery, dynamodb, efs, kms, rds, s3
from residency_audit.providers.aws.faults import Attempt, Scope
from residency_audit.providers.aws.records import merge_resources
from residency_audit.providers.base import ProgressCallback

__all__ = ["DEFAULT_MAX_WORKERS", "SERVICES", "USER_AGENT_MARK", "build_config", "scan_aws"]

SERVICES: tuple[str, ...] = ("s3", "dynamodb", "rds", "backup", "efs", "kms")
"""The services a scan covers (all by default)."""

DEFAULT_MAX_WORKERS = 16
USER_AGENT_MARK = "residency-audit"
"""Added to the user agent of every client the adapter creates (``user_agent_extra``)."""

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")

T = TypeVar("T")

Parser = Callable[[Mapping[str, Any], str, str, str], list[Resource]]

_REGIONAL: dict[str, tuple[Callable[[Any, Attempt], dict[str, Any]], Parser]] = {
    "dynamodb": (dynamodb.fetch_dynamodb,
                 lambda p, account, region, partition: dynamodb.parse_dynamodb(p, account=account, region=region)),
    "rds": (rds.fetch_rds,
            lambda p, account, region, partition: rds.parse_rds(p, account=account, region=region, partition=partition)),
    "backup": (backup.fetch_backup,
               lambda p, account, region, partition: backup.parse_backup(p, account=account, region=region,
                                                                         partition=partition)),
    "efs": (efs.fetch_efs,
            lambda p, account, region, partition: efs.parse_efs(p, account=account, region=region, partition=partition)),
    "kms": (kms.fetch_kms,
            lambda p, account, region, partition: kms.parse_kms(p, account=account, region=region)),
}


DEFAULT_MAX_ATTEMPTS = 8
"""Retries (botocore's ``max_attempts``) unless the user's configuration (``AWS_MAX_ATTEMPTS``,
``max_attempts`` in the profile) or ``config`` says otherwise."""


def build_config(config: Any = None, *, max_workers: int = DEFAULT_MAX_WORKERS,
                 max_attempts: int | None = DEFAULT_MAX_ATTEMPTS) -> Any:
    """The botocore ``Config`` of every client: adaptive retries, the user-agent mark, a pool
    as large as the worker count; ``config`` (the caller's) is merged over it.

    ``max_attempts=None`` leaves the number of retries to the user's configuration.
    """
    from botocore.config import Config

    retries: dict[str, Any] = {"mode": "adaptive"}
    if max_attempts is not None:
        retries["max_attempts"] = max_attempts
    base = Config(retries=retries,
                  max_pool_connections=max(10, max_workers), user_agent_extra=USER_AGENT_MARK)
    if config is None:
        return base
    merged = base.merge(config)
    extra = getattr(config, "user_agent_extra", None)
    if extra and USER_AGENT_MARK not in extra:
        merged = merged.merge(Config(user_agent_extra=f"{extra} {USER_AGENT_MARK}"))
    return merged


@dataclass
class _Run:
    """State shared by the phases of one scan (mutated only in the calling thread)."""

    session: Any
    config: Any
    pool: ThreadPoolExecutor
    progress: ProgressCallback | None
    partition: str = "aws"
    home_region: str = "us-east-1"
    clients: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    credentials: dict[str, Mapping[str, str] | None] = field(default_factory=dict)
    gaps: list[CoverageGap] = field(default_factory=list)
    resources: list[Resource] = field(default_factory=list)
    done: int = 0
    total: int = 0

    def client(self, account: str, region: str, service: str) -> Any:
        """The client for (account, region, service), created on first use (calling thread only)."""
        key = (account, region, service)
        if key not in self.clients:
            creds = self.credentials.get(account) or {}
            client = self.session.client(service, region_name=region, config=self.config, **creds)
            self.clients[key] = client
        return self.clients[key]

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


def _validate(regions: Sequence[str] | None, services: Sequence[str] | None, max_workers: int) -> None:
    for r in regions or ():
        if not _REGION_RE.match(r):
            raise InputError("--aws-regions", None, None, f"{r!r} is not an AWS region code (e.g. eu-north-1)")
    for s in services or ():
        if s not in SERVICES:
            raise InputError("--aws-services", None, None, f"unknown service {s!r}; known: {', '.join(SERVICES)}")
    if max_workers < 1:
        raise InputError("--aws-max-workers", None, None, "must be at least 1")


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
             config: Any = None, progress: ProgressCallback | None = None) -> Estate:
    """Scan AWS and return what was found, with a coverage gap for everything not seen.

    ``session`` is a ``boto3.Session`` (default: one built from ``profile`` or boto3's default
    chain). ``regions`` limits the regions (default: every enabled region, found with
    ``DescribeRegions``); ``services`` limits the services (default :data:`SERVICES`).
    With ``org_role``, every active account of the organisation is scanned by assuming that role
    (with ``external_id``). ``config`` is a botocore ``Config`` merged over the adapter's.
    ``progress(label, done, total)`` is called as tasks finish.

    Example (against a moto-mocked AWS)::

        estate = scan_aws(session=boto3.Session(region_name="eu-north-1"), regions=["eu-north-1"])
    """
    _validate(regions, services, max_workers)
    chosen = tuple(s for s in SERVICES if s in set(services or SERVICES))
    started = _now()
    sess = _session(session, profile)
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="residency-audit-aws") as pool:
        configured = sess._session.get_config_variable("max_attempts")
        run = _Run(session=sess, pool=pool,
                   config=build_config(config, max_workers=max_workers,
                                       max_attempts=None if configured is not None else DEFAULT_MAX_ATTEMPTS),
                   progress=progress, home_region=sess.region_name or "us-east-1")
        accounts = _accounts(run, org_role=org_role, external_id=external_id)
        # The plain bucket listings need no region list: they run while regions are discovered.
        early = {a: pool.submit(_s3_list, run, a, run.client(a, run.home_region, "s3"), None)
                 for a in accounts} if "s3" in chosen else {}
        regions_by_account = _regions(run, accounts, requested=regions)
        regional = _start_regional(run, regions_by_account, [s for s in chosen if s in _REGIONAL])
        if "s3" in chosen:
            _scan_s3(run, regions_by_account, early)
        _finish_regional(run, regional)
    gaps = {g.key: g for g in run.gaps}
    return Estate(
        resources=merge_resources(run.resources),
        gaps=tuple(gaps[k] for k in sorted(gaps)),
        metadata=ScanMetadata(sources=("aws",), started=started, finished=_now(),
                              scopes=tuple(sorted(f"aws:{a}" for a in regions_by_account))))


# ---------------------------------------------------------------- accounts and regions

def _accounts(run: _Run, *, org_role: str | None, external_id: str | None) -> list[str]:
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
    caller = str(identity["Account"])
    run.partition = str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws"
    run.credentials[caller] = None
    run.clients[(caller, run.home_region, "sts")] = sts
    accounts = [caller]
    if not org_role:
        return accounts
    attempt = Attempt(scope=Scope(account=caller, region=run.home_region, service="organizations"))
    pages = discovery.fetch_accounts(run.client(caller, run.home_region, "organizations"), attempt)
    run.gaps.extend(attempt.gaps)
    members = [a for a, _ in discovery.parse_accounts(pages or []) if a != caller]

    def assume(account: str) -> tuple[str, Mapping[str, str] | None, list[CoverageGap]]:
        a = Attempt(scope=Scope(account=account, region=run.home_region, service="sts", partition=run.partition))
        creds = discovery.fetch_assumed_credentials(
            sts, a, arn=discovery.role_arn(account, org_role, run.partition), external_id=external_id)
        return account, creds, a.gaps

    for account, creds, gaps in run.run("aws: accounts", [partial(assume, m) for m in members]):
        run.gaps.extend(gaps)
        if creds is not None:
            run.credentials[account] = creds
            accounts.append(account)
    return accounts


def _regions(run: _Run, accounts: Sequence[str], *, requested: Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    ec2 = {a: run.client(a, run.home_region, "ec2") for a in accounts}

    def one(account: str) -> tuple[str, tuple[str, ...], list[CoverageGap]]:
        attempt = Attempt(scope=Scope(account=account, region=run.home_region, service="ec2"))
        answer = discovery.fetch_regions(ec2[account], attempt)
        if answer is None:
            # Region list unknown: scan what was asked, or the home region; the gap says so.
            return account, tuple(sorted(set(requested or [run.home_region]))), attempt.gaps
        plan = discovery.parse_regions(answer, requested=requested)
        for r in plan.disabled:
            attempt.gap("DescribeRegions", "RegionNotEnabled",
                        f"region {r} is not enabled for this account (opt-in region); not scanned", region=r)
        for r in plan.unknown:
            attempt.gap("DescribeRegions", "RegionUnknown",
                        f"region {r} is not listed by DescribeRegions; not scanned", region=r)
        return account, plan.enabled, attempt.gaps

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
                client = run.client(account, region, service)
                futures.append(run.pool.submit(_regional_task, run, account, region, service, client))
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


def _regional_task(run: _Run, account: str, region: str, service: str, client: Any,
                   ) -> tuple[list[Resource], list[CoverageGap]]:
    fetch, parse = _REGIONAL[service]
    attempt = Attempt(scope=Scope(account=account, region=region, service=service, partition=run.partition))
    payload = fetch(client, attempt)
    return parse(payload, account, region, run.partition), attempt.gaps


# ---------------------------------------------------------------- S3

@dataclass
class _Bucket:
    account: str
    region: str | None = None
    ref: str = ""


def _scan_s3(run: _Run, regions_by_account: Mapping[str, Sequence[str]],
             early: Mapping[str, Future[tuple[Any, list[CoverageGap]]]]) -> None:
    """Buckets, their replication and destinations, as a pipeline.

    The listings (plain, and filtered per region), the tag listings and the Multi-Region Access
    Points are requested at once; each bucket's ``GetBucketReplication`` is sent as soon as a
    listing has told its region, while the other listings are still running. Buckets that no
    listing placed go to ``GetBucketLocation`` once every listing is in. Records are built at the
    end, when the tags are known.
    """
    label = "aws: s3"
    futures: dict[Future[Any], tuple[str, Any]] = {}
    finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def submit(kind: str, key: Any, fn: Callable[[], Any] | Future[Any]) -> None:
        future = fn if isinstance(fn, Future) else run.pool.submit(fn)
        futures[future] = (kind, key)
        run.total += 1
        future.add_done_callback(finished.put)

    for account in sorted(regions_by_account):  # every client first, in this thread
        for region in (run.home_region, *regions_by_account[account]):
            run.client(account, region, "s3")
        for region in regions_by_account[account]:
            run.client(account, region, "resourcegroupstaggingapi")
        run.client(account, s3.MRAP_CONTROL_REGION, "s3control")
    for account in sorted(regions_by_account):
        home = run.client(account, run.home_region, "s3")
        submit("list", account, early.get(account) or partial(_s3_list, run, account, home, None))
        for region in regions_by_account[account]:
            c = run.client(account, region, "s3")
            submit("list-region", (account, region), partial(_s3_list, run, account, c, region))
            t = run.client(account, region, "resourcegroupstaggingapi")
            submit("tags", (account, region), partial(_s3_tags, run, account, region, t))
        ctl = run.client(account, s3.MRAP_CONTROL_REGION, "s3control")
        submit("mrap", account, partial(_s3_mraps, run, account, ctl))
    # Clients for every region a bucket may be in are made now, in this thread.
    homes = {a: run.clients[(a, run.home_region, "s3")] for a in regions_by_account}

    buckets: dict[str, _Bucket] = {}
    dispatched: set[str] = set()
    tags: dict[str, Mapping[str, str]] = {}
    fetched: list[_Fetched] = []
    listings_left = sum(1 + len(regions_by_account[a]) for a in regions_by_account)

    def dispatch(name: str, bucket: _Bucket) -> None:
        dispatched.add(name)
        regional = run.clients.get((bucket.account, bucket.region or "", "s3"))
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
            if kind in ("list", "list-region"):
                listings_left -= 1
            if result is None:
                pass
            elif kind == "list":
                for name, listed in sorted(s3.parse_bucket_list(result).items()):
                    if name not in buckets:
                        buckets[name] = _Bucket(account=key)
                    if listed:  # wins over a filtered listing, whichever came first
                        buckets[name].region, buckets[name].ref = listed, "ListBuckets Buckets[].BucketRegion"
                    if buckets[name].region is not None and name not in dispatched:
                        dispatch(name, buckets[name])
            elif kind == "list-region":
                account, region = key
                for name in sorted(s3.parse_bucket_list(result)):
                    b = buckets.setdefault(name, _Bucket(account=account))
                    if b.region is None:
                        b.region, b.ref = region, f"ListBuckets(BucketRegion={region}) Buckets[].Name"
                    if name not in dispatched:
                        dispatch(name, b)
            elif kind == "tags":
                tags.update(s3.parse_tag_mappings(result))
            elif kind == "mrap":
                run.resources.extend(result)
            elif kind == "bucket":
                fetched.append(result)
        if listings_left == 0 and not flushed:
            # Every listing is in: what none of them placed goes to GetBucketLocation.
            flushed = True
            for name in sorted(set(buckets) - dispatched):
                dispatch(name, buckets[name])
        run._tick(label)

    known: dict[str, str | None] = {}
    pending: dict[str, tuple[s3.ReplicationTarget, str]] = {}
    for f in sorted(fetched, key=lambda f: f.name):
        final = buckets[f.name]  # the evidence must not depend on which listing answered first
        ref = final.ref if final.region == f.region and final.ref else f.ref
        run.resources.append(s3.parse_bucket(
            name=f.name, account=f.account, partition=run.partition, region=f.region, region_ref=ref,
            replication=f.replication, tags=tags.get(s3.bucket_arn(f.name, run.partition))))
        known[s3.bucket_arn(f.name, run.partition)] = f.region
    for f in sorted(fetched, key=lambda f: f.name):
        for t in s3.parse_replication(f.replication or {}):
            if t.bucket_arn not in known:
                pending.setdefault(t.bucket_arn, (t, f.account))
    # Destinations no scanned account lists.
    tasks = []
    for arn in sorted(pending):
        target, source_account = pending[arn]
        client = run.client(source_account, run.home_region, "s3")
        tasks.append(partial(_s3_destination, run, target, source_account, client))
    for resource, gaps in run.run("aws: s3 destinations", tasks):
        run.resources.append(resource)
        run.gaps.extend(gaps)


@dataclass(frozen=True, slots=True)
class _Fetched:
    """What was read about one bucket."""

    name: str
    account: str
    region: str | None
    ref: str
    replication: dict[str, Any] | None


def _s3_list(run: _Run, account: str, client: Any, region: str | None) -> tuple[Any, list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account=account, region=region or run.home_region, service="s3",
                                  partition=run.partition))
    pages = s3.fetch_bucket_names(client, attempt, region=region)
    return pages, attempt.gaps


def _s3_tags(run: _Run, account: str, region: str, client: Any) -> tuple[Any, list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account=account, region=region, service="resourcegroupstaggingapi",
                                  partition=run.partition))
    return s3.fetch_tags(client, attempt), attempt.gaps


def _s3_mraps(run: _Run, account: str, client: Any) -> tuple[Any, list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account=account, region=s3.MRAP_CONTROL_REGION, service="s3control",
                                  partition=run.partition))
    points = s3.fetch_multi_region_access_points(client, attempt)
    if points is None:
        return None, attempt.gaps
    return [s3.parse_multi_region_access_point(p, account=account, partition=run.partition)
            for p in points], attempt.gaps


def _s3_bucket(run: _Run, name: str, bucket: _Bucket, home: Any, regional: Any,
               ) -> tuple[_Fetched, list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account=bucket.account, region=bucket.region or "", service="s3",
                                  partition=run.partition))
    region, ref = bucket.region, bucket.ref
    if region is None:
        answer = s3.fetch_bucket_location(home, attempt, name)
        if answer is not None:
            region = s3.normalize_bucket_location(answer.get("LocationConstraint"))
            ref = "GetBucketLocation LocationConstraint"
    replication = None
    if region is not None:
        replication = s3.fetch_bucket_replication(regional or home, attempt, name)
    return _Fetched(name=name, account=bucket.account, region=region, ref=ref,
                    replication=replication), attempt.gaps


def _s3_destination(run: _Run, target: s3.ReplicationTarget, source_account: str, client: Any,
                    ) -> tuple[Resource, list[CoverageGap]]:
    attempt = Attempt(scope=Scope(account=source_account, region="", service="s3", partition=run.partition))
    answer = s3.fetch_bucket_location(client, attempt, s3.bucket_name_from_arn(target.bucket_arn))
    region = s3.normalize_bucket_location(answer.get("LocationConstraint")) if answer is not None else None
    return s3.parse_destination(target=target, region=region), attempt.gaps
