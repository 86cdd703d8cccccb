"""How AWS faults become coverage gaps, and how a scan gives up on what never answers.

Every API call of the adapter goes through :meth:`Attempt.call` or :meth:`Attempt.pages`. An
``AccessDenied``, a disabled region, throttling past botocore's retries, a 5xx past retries or
an endpoint that does not answer becomes a :class:`~residency_audit.model.CoverageGap` naming the
account, region, service, operation and error code, with the server's reason (no URL, no
credential); the caller gets ``None`` and carries on. Error codes that mean "there is nothing"
(``ReplicationConfigurationNotFoundError``) are passed as ``absent`` and return an empty answer.

Giving up (:class:`Ledger`, shared by the tasks of one scan):

* an endpoint that does not answer (``ReadTimeoutError``, ``ConnectTimeoutError``,
  ``EndpointConnectionError``, ``ConnectionClosedError`` and the other connection faults) gives
  up that (account, region) for every service;
* a service answering 5xx past botocore's retries gives up that (account, region, service);
* the calls that are then not made leave one ``GivenUp`` gap per task (one service in one
  scope), which names the fault that caused it: never one gap per skipped resource.

The ledger also counts, per (account, region), the calls answered and the calls refused, so that
the scanner can tell a region that was read in part from one that was not read at all.

>>> error_code(ValueError("x"))
'ValueError'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PaginationError,
    ParamValidationError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.service import GiveUp, RecordError, member, server_reason

__all__ = ["DENIED", "GIVEN_UP", "Attempt", "Ledger", "Scope", "error_code", "iter_items"]

PROVIDER = "aws"

T = TypeVar("T")

GIVEN_UP = "GivenUp"
"""Error of the gap left by calls that were not made because their scope was given up."""

ENDPOINT_FAULTS: tuple[type[BaseException], ...] = (BotoConnectionError, HTTPClientError)
"""Faults that mean the endpoint did not answer: connect/read timeouts, refused or closed
connections, TLS and proxy failures."""

DENIED = frozenset({
    "AccessDenied", "AccessDeniedException", "AuthFailure", "AuthorizationError",
    "InvalidClientTokenId", "OptInRequired", "UnauthorizedException", "UnauthorizedOperation",
    "UnrecognizedClientException",
})
"""Error codes that mean the caller may not read there (IAM, an SCP, a region not enabled)."""


_DISCOVERY = frozenset({"ec2", "organizations", "sts"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Where a call goes: the account, the region and the service (boto3's name)."""

    account: str
    region: str
    service: str
    partition: str = "aws"


def error_code(exc: BaseException) -> str:
    """The AWS error code of ``exc`` (``AccessDenied``), or its botocore class name."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"HTTP{status}" if status else "ClientError"
    return type(exc).__name__


def _message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        text = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    else:
        text = str(exc)
    return server_reason(text)


def _status(exc: ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if isinstance(status, int) else 0


@dataclass(frozen=True, slots=True)
class Fault:
    """Why a scope was given up: the call that failed and what it said."""

    operation: str
    error: str
    message: str


@dataclass
class Ledger:
    """What the calls of one scan met, per (account, region) and (account, region, service).

    Thread-safe: the tasks of a scan share one ledger.

    >>> led = Ledger()
    >>> led.given_up(Scope(account="1", region="eu-north-1", service="rds"))
    >>> led.unanswered(Scope(account="1", region="eu-north-1", service="rds"), "DescribeDBInstances",
    ...                "ReadTimeoutError", "timed out", endpoint=True)
    >>> led.given_up(Scope(account="1", region="eu-north-1", service="kms")).error
    'ReadTimeoutError'
    """

    give_up: GiveUp = field(default_factory=GiveUp)
    _answered: dict[tuple[str, str], int] = field(default_factory=dict)
    _refused: dict[tuple[str, str], set[Fault]] = field(default_factory=dict)
    _unanswered: dict[tuple[str, str], set[Fault]] = field(default_factory=dict)
    _why: dict[tuple[str, ...], Fault] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(scope: Scope) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (scope.account, scope.region), (scope.account, scope.region, scope.service)

    def given_up(self, scope: Scope) -> Fault | None:
        """Why calls for ``scope`` are no longer made, or ``None`` while they are."""
        for key in self._keys(scope):
            if self.give_up.given_up(key):
                with self._lock:
                    return self._why.get(key, Fault("", "", ""))
        return None

    def answered(self, scope: Scope) -> None:
        """A call for ``scope`` got an answer (an error answer such as 403 included)."""
        for key in self._keys(scope):
            self.give_up.answered(key)

    def read(self, scope: Scope) -> None:
        """A call for ``scope`` was answered with data (or with "nothing there").

        Discovery calls (STS, Organizations, EC2's region list) do not count as reading a region.
        """
        self.answered(scope)
        if scope.service in _DISCOVERY:
            return
        with self._lock:
            key = (scope.account, scope.region)
            self._answered[key] = self._answered.get(key, 0) + 1

    def refused(self, scope: Scope, operation: str, error: str, message: str) -> None:
        """A call for ``scope`` was refused (access denied, region not enabled)."""
        self.answered(scope)
        if scope.service in _DISCOVERY:
            return
        with self._lock:
            self._refused.setdefault((scope.account, scope.region), set()).add(Fault(operation, error, message))

    def unanswered(self, scope: Scope, operation: str, error: str, message: str, *,
                   endpoint: bool) -> None:
        """A call ended unanswered: the endpoint (``endpoint=True``) or the service (5xx).

        A discovery endpoint (STS, Organizations, EC2's region list) that does not answer gives
        up only itself: those endpoints are often global or reached otherwise than the region's.
        """
        region_key, service_key = self._keys(scope)
        discovery = scope.service in _DISCOVERY
        key = region_key if endpoint and not discovery else service_key
        with self._lock:
            self._why.setdefault(key, Fault(operation, error, message))
            if not discovery:
                self._unanswered.setdefault((scope.account, scope.region), set()).add(
                    Fault(operation, error, message))
        self.give_up.failed(key)

    def not_read(self, account: str, region: str) -> Fault | None:
        """Why (account, region) was not read at all: no call answered, and one was refused or
        unanswered; ``None`` when something was read there (or nothing was asked).

        Of several faults the least (by operation, error, message) is named, so that the
        answer does not depend on which thread failed first.
        """
        key = (account, region)
        with self._lock:
            if self._answered.get(key, 0):
                return None
            faults = self._unanswered.get(key) or self._refused.get(key)
            return min(faults, key=lambda f: (f.operation, f.error, f.message)) if faults else None


@dataclass(slots=True)
class Attempt:
    """Calls made for one :class:`Scope` (one task), and the gaps they left."""

    scope: Scope
    ledger: Ledger = field(default_factory=Ledger)
    gaps: list[CoverageGap] = field(default_factory=list)
    _skipped: bool = False

    def gap(self, operation: str, error: str, message: str = "", *, resource: str = "",
            service: str | None = None, region: str | None = None,
            level: GapLevel = GapLevel.SERVICE, field: str = "") -> None:
        """Record that ``operation`` could not be completed."""
        self.gaps.append(CoverageGap(
            provider=PROVIDER, scope=self.scope.account,
            region=self.scope.region if region is None else region,
            service=service or self.scope.service, operation=operation, error=error,
            message=server_reason(message), resource=" ".join(str(resource).split())[:300],
            level=level, field=field))

    def unparseable(self, operation: str, error: RecordError, *, resource: str = "",
                    level: GapLevel = GapLevel.RECORD) -> None:
        """Record that a record of ``operation``'s answer could not be read (``error.field``)."""
        self.gap(operation, "UnparseableRecord", f"RecordError: {error}", resource=resource,
                 level=level, field=error.field)

    def _skip(self, operation: str) -> bool:
        """Whether the scope is given up; the first skipped call of this task leaves a gap."""
        why = self.ledger.given_up(self.scope)
        if why is None:
            return False
        if not self._skipped:
            self._skipped = True
            where = self.scope.region or "this account"
            self.gap(operation, GIVEN_UP,
                     f"not called, nor the remaining {self.scope.service} calls of this task: {where} was "
                     f"given up after an earlier call ended with {why.error or 'no answer'}: {why.message}")
        return True

    def _fault(self, operation: str, exc: BaseException, resource: str) -> None:
        # Missing credentials are the user's to fix, not a region's to report.
        if isinstance(exc, NoCredentialsError):
            raise exc
        code, message = error_code(exc), _message(exc)
        if isinstance(exc, ENDPOINT_FAULTS):
            self.ledger.unanswered(self.scope, operation, code, message, endpoint=True)
        elif isinstance(exc, ClientError) and _status(exc) >= 500:
            self.ledger.unanswered(self.scope, operation, code, message, endpoint=False)
        elif code in DENIED:
            self.ledger.refused(self.scope, operation, code, message)
        else:
            self.ledger.answered(self.scope)
        self.gap(operation, code, message, resource=resource)

    def call(self, operation: str, fn: Callable[..., dict[str, Any]], /, *,
             resource: str = "", absent: Iterable[str] = (), **params: Any,
             ) -> dict[str, Any] | None:
        """``fn(**params)``; ``{}`` when the error code is in ``absent``; ``None`` (and a gap)
        when unseen or when the scope is given up."""
        if self._skip(operation):
            return None
        try:
            answer = fn(**params)
        except ClientError as exc:
            if error_code(exc) in set(absent):
                self.ledger.read(self.scope)
                return {}
            self._fault(operation, exc, resource)
            return None
        except ParamValidationError as exc:
            self._refused_parameter(operation, exc, resource, params)
            return None
        except BotoCoreError as exc:  # EndpointConnectionError, ConnectTimeoutError, ...
            self._fault(operation, exc, resource)
            return None
        self.ledger.read(self.scope)
        return answer if isinstance(answer, dict) else {}

    def _refused_parameter(self, operation: str, exc: BaseException, resource: str,
                           params: Mapping[str, Any]) -> None:
        """botocore refused a value taken from an earlier answer (a table name too short, an
        id with characters the API never accepts): that record cannot be followed. No request
        was sent, so the endpoint is not judged by it."""
        self.gap(operation, "UnparseableRecord",
                 server_reason(f"a value from an earlier answer cannot be sent: {exc}"),
                 resource=resource or "record", level=GapLevel.RECORD,
                 field=",".join(sorted(str(k) for k in params)))

    def pages(self, client: Any, method: str, operation: str, /, *, resource: str = "",
              **params: Any) -> list[dict[str, Any]] | None:
        """All pages of a paginated ``operation``; ``None`` (and a gap) when unseen.

        A failure after some pages also returns ``None``: a partial listing must not look whole.
        A server that hands back the same page token again is a gap too (botocore stops it).
        """
        if self._skip(operation):
            return None
        try:
            paginator = client.get_paginator(method)
            pages = [p for p in paginator.paginate(**params)]
        except ClientError as exc:
            self._fault(operation, exc, resource)
            return None
        except ParamValidationError as exc:
            self._refused_parameter(operation, exc, resource, params)
            return None
        except PaginationError as exc:
            self.ledger.answered(self.scope)
            self.gap(operation, "PaginationError", _message(exc), resource=resource)
            return None
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # botocore's paginator reads the result key and the page token itself: an answer
            # whose listing is not a list cannot be paged, and the listing is lost (said so).
            self.ledger.answered(self.scope)
            self.gap(operation, "UnparseableRecord", f"{type(exc).__name__}: {exc}", resource=resource)
            return None
        except BotoCoreError as exc:  # EndpointConnectionError, ConnectTimeoutError, ...
            self._fault(operation, exc, resource)
            return None
        self.ledger.read(self.scope)
        return [p for p in pages if isinstance(p, dict)]

    def member(self, operation: str, record: Any, name: str, kind: type[T], *,
               resource: str = "") -> T | None:
        """``record[name]`` when it is a ``kind``; else ``None`` and a record-level gap naming
        the field (for the members a fetch needs to make its next call)."""
        try:
            return member(record, name, kind)
        except RecordError as exc:
            self.unparseable(operation, exc, resource=resource)
            return None

    def items(self, operation: str, pages: Iterable[Mapping[str, Any]] | None, key: str) -> list[Any]:
        """The items under ``key`` across ``pages``; a page whose ``key`` is not a list is a
        record-level gap (never a silent empty listing)."""
        out: list[Any] = []
        for page in pages or ():
            value = page.get(key)
            if value is None:
                continue
            if not isinstance(value, list):
                self.unparseable(operation, RecordError(key, f"expected list, got {type(value).__name__}"))
                continue
            out.extend(value)
        return out

    def token(self, operation: str, page: Mapping[str, Any], name: str, seen: set[str]) -> str | None:
        """The next-page token ``page[name]`` of a hand-paged ``operation``; ``None`` at the end.

        A token that is not text, or one already seen (a server paging in a circle), ends the
        listing with a gap instead of a loop.
        """
        value = page.get(name)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or value in seen:
            self.gap(operation, "PaginationError",
                     f"{name} repeats or is not text: the listing may be incomplete", field=name)
            return None
        seen.add(value)
        return value


def iter_items(pages: Iterable[Mapping[str, Any]] | None, key: str) -> Iterator[Any]:
    """The items under ``key`` across ``pages`` (none when ``pages`` is ``None``).

    A page whose ``key`` is not a list yields nothing for it; the parsers report such records.

    >>> list(iter_items([{"A": [1, 2]}, {"A": None}, {"A": 3}], "A"))
    [1, 2]
    """
    for page in pages or ():
        items = page.get(key) if isinstance(page, Mapping) else None
        if isinstance(items, list):
            yield from items
