"""How Google API errors become coverage gaps, and the retry used for quota errors.

``error_code`` is pure: it reads the structured fields of a ``google.api_core`` exception (the
``ErrorInfo`` reason, the legacy JSON ``errors[].reason``, the gRPC status) and never its text
beyond that, so that a gap names a stable code: ``PERMISSION_DENIED``, ``SERVICE_DISABLED``,
``RESOURCE_EXHAUSTED``, ``NOT_FOUND``, ``UNAUTHENTICATED``, ``UNAVAILABLE`` or the exception type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["DISABLED_REASONS", "api_errors", "build_retry", "error_code", "error_message"]


def api_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a Google API call ends with: an error answer, or retries exhausted."""
    from google.api_core import exceptions as gexc

    return (gexc.GoogleAPICallError, gexc.RetryError)

DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured", "API_DISABLED"})
"""Reasons Google gives when an API is not enabled on the project (ErrorInfo / JSON errors)."""

_BY_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _reasons(exc: BaseException) -> list[str]:
    out: list[str] = []
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        out.append(reason)
    errors: Iterable[Any] = getattr(exc, "errors", None) or ()
    for item in errors:
        if isinstance(item, Mapping) and isinstance(item.get("reason"), str):
            out.append(item["reason"])
    return out


def error_code(exc: BaseException) -> str:
    """A stable gap code for ``exc``.

    >>> from google.api_core import exceptions as e
    >>> error_code(e.Forbidden("no", errors=[{"reason": "accessNotConfigured"}]))
    'SERVICE_DISABLED'
    >>> error_code(e.TooManyRequests("slow down"))
    'RESOURCE_EXHAUSTED'
    """
    cause = getattr(exc, "cause", None)
    if type(exc).__name__ == "RetryError" and isinstance(cause, BaseException):
        return error_code(cause)
    if any(r in DISABLED_REASONS for r in _reasons(exc)):
        return "SERVICE_DISABLED"
    status_name = getattr(getattr(exc, "grpc_status_code", None), "name", None)
    if isinstance(status_name, str) and status_name:
        return status_name
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code in _BY_STATUS:
        return _BY_STATUS[code]
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    """The server's message for ``exc`` (one line, bounded); never request headers or tokens."""
    cause = getattr(exc, "cause", None)
    if type(exc).__name__ == "RetryError" and isinstance(cause, BaseException):
        return "retries exhausted: " + error_message(cause)
    text = getattr(exc, "message", None) or str(exc)
    return " ".join(str(text).split())[:300]


def build_retry(*, deadline: float = 120.0, initial: float = 1.0, maximum: float = 32.0) -> Any:
    """A ``google.api_core.retry.Retry`` for quota (429) and transient (500/503) errors."""
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry

    return gretry.Retry(
        predicate=gretry.if_exception_type(gexc.TooManyRequests, gexc.ResourceExhausted,
                                           gexc.ServiceUnavailable, gexc.InternalServerError),
        initial=initial, maximum=maximum, multiplier=2.0, timeout=deadline)
