"""The OCI SDK clients of a scan, and the one door every call goes through.

:class:`Calls` is that door. It refuses any SDK method that is not on the allow-list
(:mod:`residency_audit.providers.oci.operations`), skips calls to an endpoint that has been
given up (:class:`~residency_audit.providers.service.GiveUp`), follows pagination, turns the
SDK's models into plain dictionaries (``oci.util.to_dict``), and turns every fault into a
coverage gap with the server's reason. It records each method it called, so that a test can
check the calls of a whole scan against the allow-list.

Endpoints: with no override the SDK derives each service's endpoint from the region
(``https://objectstorage.uk-london-1.oraclecloud.com``). ``endpoints`` maps a region (or ``*``
for every scanned region) to one base URL that all services of that region are sent to (a
private endpoint, a proxy, a local fake): OCI request signing carries no region, so one URL
cannot serve several regions.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.oci.faults import Fault, describe
from residency_audit.providers.service import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    GiveUp,
)

__all__ = ["CLIENTS", "Calls", "NotAllowed", "Settings", "build_retry", "parse_endpoints"]

CLIENTS: dict[str, tuple[str, str]] = {
    "identity": ("oci.identity", "IdentityClient"),
    "objectstorage": ("oci.object_storage", "ObjectStorageClient"),
    "database": ("oci.database", "DatabaseClient"),
    "blockstorage": ("oci.core", "BlockstorageClient"),
    "filestorage": ("oci.file_storage", "FileStorageClient"),
    "kms": ("oci.key_management", "KmsVaultClient"),
    "search": ("oci.resource_search", "ResourceSearchClient"),
}
"""SDK client of each API the adapter reads: module and class."""


_MAX_PAGES = 10_000


class NotAllowed(AssertionError):
    """An SDK method outside the allow-list was about to be called (a bug, never a gap)."""


def parse_endpoints(values: list[str]) -> dict[str, str]:
    """``--oci-endpoint`` values: ``URL`` (every region) or ``REGION=URL``; checked.

    >>> parse_endpoints(["http://127.0.0.1:8080", "eu-frankfurt-1=http://127.0.0.1:8081"])
    {'*': 'http://127.0.0.1:8080', 'eu-frankfurt-1': 'http://127.0.0.1:8081'}
    """
    out: dict[str, str] = {}
    for value in values:
        region, sep, url = value.partition("=")
        if not sep or "://" in region:
            region, url = "*", value
        region, url = region.strip(), url.strip()
        if not url.startswith(("http://", "https://")) or (len(url.split("/", 3)) > 3 and url.split("/", 3)[3]):
            raise InputError("--oci-endpoint", None, None,
                             f"{value!r}: give a base URL without a path (https://host[:port]), "
                             "optionally as REGION=URL")
        if region in out:
            raise InputError("--oci-endpoint", None, None, f"{region!r} is given twice")
        out[region] = url.rstrip("/")
    return out


def build_retry(*, attempts: int = MAX_ATTEMPTS, backoff_cap: float = BACKOFF_CAP,
                base_sleep: float = 1.0, total_seconds: float | None = None) -> Any:
    """The SDK retry strategy: 429 and 5xx and no-answer retried ``attempts`` times in all,
    exponential back-off with jitter, at most ``backoff_cap`` seconds between attempts."""
    import oci

    return oci.retry.RetryStrategyBuilder(
        max_attempts_check=True, max_attempts=attempts,
        total_elapsed_time_check=total_seconds is not None,
        total_elapsed_time_seconds=total_seconds or 600,
        retry_max_wait_between_calls_seconds=backoff_cap,
        retry_base_sleep_time_seconds=base_sleep,
        service_error_check=True, service_error_retry_on_any_5xx=True,
        service_error_retry_config={429: []},
        backoff_type=oci.retry.BACKOFF_FULL_JITTER_EQUAL_ON_THROTTLE_VALUE,
    ).get_retry_strategy()


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How clients are made: SDK config (dict), optional signer, endpoints, time limits."""

    config: Mapping[str, Any]
    signer: Any = None
    endpoints: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    retry_strategy: Any = None
    give_up_after: int = GIVE_UP_AFTER

    def endpoint(self, region: str) -> str | None:
        return self.endpoints.get(region) or self.endpoints.get("*")


@dataclass
class Calls:
    """Every SDK call of one scan: allow-list, give-up, paging, faults as gaps (thread-safe)."""

    settings: Settings
    allowed: frozenset[tuple[str, str]]
    give_up: GiveUp = field(default_factory=GiveUp)
    gaps: list[CoverageGap] = field(default_factory=list)
    called: set[tuple[str, str]] = field(default_factory=set)
    memo: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)

    def __post_init__(self) -> None:
        self.give_up = GiveUp(after=self.settings.give_up_after)

    @staticmethod
    def keys(region: str, service: str) -> tuple[tuple[str, str], tuple[str, str]]:
        """The give-up keys of a call: the region (no answer at all: the region is not
        reachable, every later call there is skipped) and the region's service (5xx after
        retries: that service is skipped there)."""
        return (region, "*"), (region, service)

    def client(self, service: str, region: str) -> Any:
        """This thread's SDK client for ``service`` in ``region``."""
        cache: dict[tuple[str, str], Any] | None = getattr(self._local, "clients", None)
        if cache is None:
            cache = self._local.clients = {}
        if (service, region) not in cache:
            module, name = CLIENTS[service]
            import oci

            cls = getattr(importlib.import_module(module), name)
            config = {**self.settings.config, "region": region}
            kwargs: dict[str, Any] = {
                "timeout": (self.settings.connect_timeout, self.settings.read_timeout),
                "retry_strategy": self.settings.retry_strategy or build_retry(),
                "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            }
            if self.settings.signer is not None:
                kwargs["signer"] = self.settings.signer
            endpoint = self.settings.endpoint(region)
            if endpoint:
                kwargs["service_endpoint"] = endpoint
            cache[(service, region)] = cls(config, **kwargs)
        return cache[(service, region)]

    def add_gap(self, gap: CoverageGap) -> None:
        with self._lock:
            self.gaps.append(gap)

    def remember(self, key: tuple[str, ...], compute: Callable[[], Any]) -> Any:
        """``compute()`` once per ``key`` for the whole scan (a shared backup policy)."""
        with self._lock:
            if key in self.memo:
                return self.memo[key]
        value = compute()
        with self._lock:
            return self.memo.setdefault(key, value)

    def given_up(self, region: str, service: str = "*") -> bool:
        """Whether calls of ``service`` (default: any) in ``region`` are no longer made."""
        return any(self.give_up.given_up(k) for k in self.keys(region, service))

    def call(self, service: str, region: str, method: str, *args: Any, scope: str,
             resource: str = "", paged: bool = False, absent: frozenset[str] = frozenset(),
             level: GapLevel = GapLevel.SERVICE, note: str = "", **kwargs: Any) -> Any:
        """``client.method(*args, **kwargs)`` as plain data; None (and a gap) when not read.

        ``absent`` error codes are "nothing there" and give an empty answer, not a gap;
        ``note`` is added to the gap's message (what the scan did instead).
        """
        if (service, method) not in self.allowed:
            raise NotAllowed(f"{service}.{method} is not on the OCI allow-list")
        with self._lock:
            self.called.add((service, method))
        whole, one = self.keys(region, service)
        operation = f"{CLIENTS[service][1]}.{method}"
        if self.given_up(region, service):
            # Not called. One gap for the region (or the service there) says so, made by the
            # scanner: a gap per skipped call would depend on thread timing.
            return None
        import oci

        try:
            func: Callable[..., Any] = getattr(self.client(service, region), method)
            data = self._pages(func, *args, **kwargs) if paged else func(*args, **kwargs).data
        except Exception as exc:  # every SDK fault becomes a gap (faults.describe classifies it)
            fault = describe(exc)
            if fault.unavailable:
                self.give_up.failed(one if fault.status else whole)
            else:
                self.give_up.answered(whole)
                self.give_up.answered(one)
            if fault.code in absent:
                return []
            self.add_gap(self._gap(fault, scope=scope, region=region, service=service,
                                   operation=operation, resource=resource, level=level, note=note))
            return None
        self.give_up.answered(whole)
        self.give_up.answered(one)
        if paged:
            return [oci.util.to_dict(item) for item in data]
        return oci.util.to_dict(data)

    @staticmethod
    def _pages(func: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Any]:
        """Every item of a paged list (``opc-next-page``), under the client's own retries only
        (``oci.pagination`` would wrap them in the SDK's default strategy: 8 more attempts)."""
        items: list[Any] = []
        page: str | None = None
        for _ in range(_MAX_PAGES):
            response = func(*args, **({**kwargs, "page": page} if page else kwargs))
            data = response.data
            items.extend(data if isinstance(data, list) else getattr(data, "items", None) or ())
            page = response.next_page
            if not page:
                return items
        raise RuntimeError(f"more than {_MAX_PAGES} pages")

    @staticmethod
    def _gap(fault: Fault, *, scope: str, region: str, service: str, operation: str,
             resource: str, level: GapLevel, note: str = "") -> CoverageGap:
        message = f"{fault.message}; {note}" if note else fault.message
        return CoverageGap(provider="oci", scope=scope, region=region, service=service,
                           operation=operation, error=fault.code, message=message,
                           resource=resource, level=level)
