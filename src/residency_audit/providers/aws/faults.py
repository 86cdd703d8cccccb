"""Turn what AWS refuses or never answers into coverage gaps, so that a scan goes on.

Every call the adapter makes goes through :meth:`Attempt.call` or :meth:`Attempt.pages`. An
``AccessDenied``, a disabled region, throttling past botocore's retries, a 5xx past retries or
an endpoint that does not answer becomes a :class:`~residency_audit.model.CoverageGap` naming the
account, region, service, operation and error code; the caller gets ``None`` and carries on.
Error codes that mean "there is nothing" (``ReplicationConfigurationNotFoundError``) are passed
as ``absent`` and return an empty answer instead. Anything else (a bug) propagates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from residency_audit.model import CoverageGap

__all__ = ["Attempt", "Scope", "error_code", "iter_items"]

PROVIDER = "aws"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """Where a call goes: the account, the region and the service (boto3's name)."""

    account: str
    region: str
    service: str
    partition: str = "aws"


def error_code(exc: BaseException) -> str:
    """The AWS error code of ``exc`` (``AccessDenied``), or its botocore class name.

    >>> error_code(ValueError("x"))
    'ValueError'
    """
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return f"HTTP{status}" if status else "ClientError"
    return type(exc).__name__


def _message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


@dataclass(slots=True)
class Attempt:
    """Calls made for one :class:`Scope`, and the gaps they left."""

    scope: Scope
    gaps: list[CoverageGap] = field(default_factory=list)

    def gap(self, operation: str, error: str, message: str = "", *, resource: str = "",
            service: str | None = None, region: str | None = None) -> None:
        """Record that ``operation`` could not be completed."""
        self.gaps.append(CoverageGap(
            provider=PROVIDER, scope=self.scope.account,
            region=self.scope.region if region is None else region,
            service=service or self.scope.service, operation=operation, error=error,
            message=message, resource=resource))

    def _record(self, operation: str, exc: BaseException, resource: str) -> None:
        # Missing credentials are the user's to fix, not a region's to report.
        if isinstance(exc, NoCredentialsError):
            raise exc
        self.gap(operation, error_code(exc), _message(exc), resource=resource)

    def call(self, operation: str, fn: Callable[..., dict[str, Any]], /, *,
             resource: str = "", absent: Iterable[str] = (), **params: Any,
             ) -> dict[str, Any] | None:
        """``fn(**params)``; ``{}`` when the error code is in ``absent``; ``None`` (and a gap) when unseen."""
        try:
            return fn(**params)
        except ClientError as exc:
            if error_code(exc) in set(absent):
                return {}
            self._record(operation, exc, resource)
        except BotoCoreError as exc:  # EndpointConnectionError, ConnectTimeoutError, ...
            self._record(operation, exc, resource)
        return None

    def pages(self, client: Any, method: str, operation: str, /, *, resource: str = "",
              **params: Any) -> list[dict[str, Any]] | None:
        """All pages of a paginated ``operation``; ``None`` (and a gap) when unseen.

        A failure after some pages also returns ``None``: a partial listing must not look whole.
        """
        try:
            paginator = client.get_paginator(method)
            return list(paginator.paginate(**params))
        except ClientError as exc:
            self._record(operation, exc, resource)
        except BotoCoreError as exc:  # EndpointConnectionError, ConnectTimeoutError, ...
            self._record(operation, exc, resource)
        return None


def iter_items(pages: Iterable[dict[str, Any]] | None, key: str) -> Iterator[dict[str, Any]]:
    """The items under ``key`` across ``pages`` (none when ``pages`` is ``None``)."""
    for page in pages or ():
        yield from page.get(key, ())
