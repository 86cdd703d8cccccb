"""How OCI SDK errors become coverage gaps. Pure: reads the exception's structured fields.

* an error answer (``oci.exceptions.ServiceError``) keeps the service's code
  (``NotAuthorizedOrNotFound``, ``NotAuthenticated``, ``TooManyRequests``,
  ``InternalServerError``) and its message, without URLs or secrets;
* no answer at all (connection refused, timeout, DNS, TLS) is ``EndpointUnavailable`` or
  ``Timeout``; with 5xx after the SDK's own retries these are the faults that count towards
  giving up a region's endpoint (:class:`~residency_audit.providers.service.GiveUp`).

>>> class E(Exception):
...     status, code, message = 404, "NotAuthorizedOrNotFound", "Authorization failed or not found."
>>> describe(E())
Fault(code='NotAuthorizedOrNotFound', message='Authorization failed or not found.', status=404, unavailable=False)
"""

from __future__ import annotations

from dataclasses import dataclass

from residency_audit.providers.service import server_reason

__all__ = ["Fault", "describe"]

_BY_STATUS = {400: "InvalidParameter", 401: "NotAuthenticated", 403: "NotAllowed",
              404: "NotAuthorizedOrNotFound", 409: "Conflict", 429: "TooManyRequests",
              500: "InternalServerError", 502: "BadGateway", 503: "ServiceUnavailable",
              504: "GatewayTimeout"}


@dataclass(frozen=True, slots=True)
class Fault:
    """What went wrong with one call: a stable code, the server's reason, the HTTP status (0
    when no answer came) and whether it counts as the endpoint not answering."""

    code: str
    message: str
    status: int
    unavailable: bool


_TIMEOUTS = frozenset({"Timeout", "ConnectTimeout", "ReadTimeout", "BaseConnectTimeout",
                       "TimeoutError"})


def _is_timeout(exc: BaseException) -> bool:
    """Whether ``exc`` (or the requests error the SDK wraps in it) is a timeout."""
    candidates = [exc, *(a for a in exc.args if isinstance(a, BaseException))]
    return any({cls.__name__ for cls in type(c).__mro__} & _TIMEOUTS for c in candidates)


def describe(exc: BaseException) -> Fault:
    """The :class:`Fault` of an exception raised by an OCI SDK call."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and not isinstance(status, bool) and status > 0:
        code = getattr(exc, "code", None)
        text = getattr(exc, "message", None)
        code = code if isinstance(code, str) and code else _BY_STATUS.get(status, f"HTTP{status}")
        message = server_reason(str(text)) if text else f"HTTP {status}"
        return Fault(code=server_reason(code, limit=100), message=message, status=status,
                     unavailable=status >= 500)
    if _is_timeout(exc):
        return Fault(code="Timeout", message=server_reason(f"no answer in time ({type(exc).__name__})"),
                     status=0, unavailable=True)
    if type(exc).__name__ == "CircuitBreakerError":
        return Fault(code="EndpointUnavailable", message="the SDK's circuit breaker is open",
                     status=0, unavailable=True)
    text = server_reason(f"{type(exc).__name__}: {exc}", limit=300)
    if _is_transport(exc):
        return Fault(code="EndpointUnavailable", message=text, status=0, unavailable=True)
    # Anything else (an answer the SDK could not read, a client-side error) is a gap for this
    # call only: it says nothing about whether the region answers.
    return Fault(code=f"ClientError.{type(exc).__name__}", message=text, status=0, unavailable=False)


_TRANSPORT = frozenset({"RequestException", "BaseRequestException", "ConnectionError",
                        "ProtocolError", "SSLError", "ProxyError", "ChunkedEncodingError",
                        "OSError"})


def _is_transport(exc: BaseException) -> bool:
    """Whether ``exc`` (or the requests error the SDK wraps in it) means no usable answer came."""
    candidates = [exc, *(a for a in exc.args if isinstance(a, BaseException))]
    return any({cls.__name__ for cls in type(c).__mro__} & _TRANSPORT for c in candidates)
