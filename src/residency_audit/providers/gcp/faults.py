"""How Google API calls are bounded, and how their faults become coverage gaps.

``error_code`` is pure: it reads the structured fields of a ``google.api_core`` exception (the
``ErrorInfo`` reason, the legacy JSON ``errors[].reason``, the gRPC status) and never its text
beyond that, so that a gap names a stable code: ``PERMISSION_DENIED``, ``SERVICE_DISABLED``,
``RESOURCE_EXHAUSTED``, ``NOT_FOUND``, ``UNAUTHENTICATED``, ``UNAVAILABLE``, ``TIMEOUT``,
``UNPARSEABLE_RESPONSE`` or the exception type.

Every call is bounded by :class:`Limits` (defaults from :mod:`residency_audit.providers.service`):
each attempt waits at most ``connect_timeout`` to connect and ``read_timeout`` for the answer;
a fault that may pass (a timeout, a refused connection, 5xx) is tried ``max_attempts`` times;
a quota error (429 ``RESOURCE_EXHAUSTED``) backs off (at most ``backoff_cap`` seconds a pause)
until the retry deadline, which is chosen so that one call never takes longer than
:meth:`Limits.worst_case_seconds` (85 s by default). A :class:`Guard` counts the calls that
ended unanswered with :class:`~residency_audit.providers.service.GiveUp`: an endpoint that
never answers, or a service that answers 5xx to every call in a project, is given up after
``give_up_after`` such calls, and every call it would still have made becomes one gap at once.

>>> Limits().worst_case_seconds()
85.0
>>> Limits().retry_deadline()
60.0
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers import service as shared

__all__ = ["DISABLED_REASONS", "GIVEN_UP", "Guard", "Limits", "api_errors", "error_code",
           "error_message", "is_unanswered"]

DISABLED_REASONS = frozenset({"SERVICE_DISABLED", "accessNotConfigured", "API_DISABLED"})
"""Reasons Google gives when an API is not enabled on the project (ErrorInfo / JSON errors)."""

GIVEN_UP = "GIVEN_UP"
"""Gap code of a call not made because its endpoint or (service, project) was given up."""

_BY_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "BAD_GATEWAY",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def api_errors() -> tuple[type[BaseException], ...]:
    """Every way a Google API call can end without an answer we can use.

    An error answer (``GoogleAPICallError``), retries exhausted (``RetryError``), no answer at
    all (``requests`` timeouts and connection errors, ``google.auth`` transport errors), or an
    answer that is not the API's shape (a protobuf ``ParseError`` of the REST transport).
    """
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc
    from google.protobuf import json_format

    return (gexc.GoogleAPICallError, gexc.RetryError, requests.exceptions.RequestException,
            auth_exc.TransportError, json_format.ParseError, ConnectionError, TimeoutError)


def _cause(exc: BaseException) -> BaseException:
    cause = getattr(exc, "cause", None)
    if type(exc).__name__ == "RetryError" and isinstance(cause, BaseException):
        return _cause(cause)
    return exc


def _reasons(exc: BaseException) -> list[str]:
    out: list[str] = []
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        out.append(reason)
    errors: Iterable[Any] = getattr(exc, "errors", None) or ()
    if not isinstance(errors, list | tuple):
        errors = ()
    for item in errors:
        if isinstance(item, Mapping) and isinstance(item.get("reason"), str):
            out.append(item["reason"])
    return out


def _transport_code(exc: BaseException) -> str | None:
    """``TIMEOUT`` / ``UNAVAILABLE`` for faults with no answer, by exception class name."""
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"Timeout", "ReadTimeout", "ConnectTimeout", "TimeoutError", "socket.timeout"}:
        return "TIMEOUT"
    if names & {"ConnectionError", "TransportError", "ChunkedEncodingError", "ProtocolError"}:
        return "UNAVAILABLE"
    if "ParseError" in names or "JSONDecodeError" in names:
        return "UNPARSEABLE_RESPONSE"
    return None


def error_code(exc: BaseException) -> str:
    """A stable gap code for ``exc``.

    >>> from google.api_core import exceptions as e
    >>> error_code(e.Forbidden("no", errors=[{"reason": "accessNotConfigured"}]))
    'SERVICE_DISABLED'
    >>> error_code(e.TooManyRequests("slow down"))
    'RESOURCE_EXHAUSTED'
    >>> import requests
    >>> error_code(requests.exceptions.ReadTimeout("read timed out"))
    'TIMEOUT'
    """
    exc = _cause(exc)
    if any(r in DISABLED_REASONS for r in _reasons(exc)):
        return "SERVICE_DISABLED"
    status_name = getattr(getattr(exc, "grpc_status_code", None), "name", None)
    if isinstance(status_name, str) and status_name:
        return status_name
    code = getattr(exc, "code", None)
    if isinstance(code, int) and code in _BY_STATUS:
        return _BY_STATUS[code]
    return _transport_code(exc) or type(exc).__name__


_HOSTS = {"resourcemanager": "cloudresourcemanager.googleapis.com",
          "cloudasset": "cloudasset.googleapis.com", "storage": "storage.googleapis.com"}

_UNANSWERED = frozenset({"TIMEOUT", "UNAVAILABLE", "INTERNAL", "BAD_GATEWAY",
                         "DEADLINE_EXCEEDED", "UNKNOWN"})


def is_unanswered(exc: BaseException) -> bool:
    """True when ``exc`` means the endpoint did not answer usefully: a timeout, a refused or
    broken connection, or a 5xx (quota errors and 4xx are answers).

    >>> from google.api_core import exceptions as e
    >>> is_unanswered(e.ServiceUnavailable("x")), is_unanswered(e.TooManyRequests("x"))
    (True, False)
    """
    return error_code(exc) in _UNANSWERED


def _no_answer_at_all(exc: BaseException) -> bool:
    """No answer came at all: a requests timeout or connection error, or a gRPC
    ``UNAVAILABLE`` / ``DEADLINE_EXCEEDED`` raised by the channel (its ``response`` is the
    gRPC call, not an HTTP response)."""
    inner = _cause(exc)
    if _transport_code(inner) in {"TIMEOUT", "UNAVAILABLE"}:
        return True
    response = getattr(inner, "response", None)
    return (error_code(inner) in {"UNAVAILABLE", "DEADLINE_EXCEEDED"} and response is not None
            and not hasattr(response, "status_code"))


def error_message(exc: BaseException) -> str:
    """The server's reason for ``exc`` on one line: URLs (which carry the request, and often
    cut the reason in two) and secrets removed first, then bounded by
    :data:`~residency_audit.providers.service.MAX_REASON`.
    """
    inner = _cause(exc)
    text = getattr(inner, "message", None) or str(inner)
    prefix = "retries exhausted: " if inner is not exc else ""
    return shared.server_reason(prefix + str(text))


# ---------------------------------------------------------------- bounds

_FLAGS = {"connect_timeout": "--gcp-connect-timeout", "read_timeout": "--gcp-read-timeout",
          "max_attempts": "--gcp-attempts", "backoff_cap": "--gcp-backoff-cap",
          "give_up_after": "--gcp-give-up-after", "initial_backoff": "initial_backoff"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """How long one call may take: per-attempt timeouts, attempts, back-off, giving up.

    ``initial_backoff`` is the first pause between attempts (doubled each time, at most
    ``backoff_cap``). The retry deadline is derived: a call stops retrying when the next
    attempt could end later than :meth:`worst_case_seconds`.

    >>> Limits(connect_timeout=1, read_timeout=2, max_attempts=2, backoff_cap=1).worst_case_seconds()
    7.0
    """

    connect_timeout: float = shared.CONNECT_TIMEOUT
    read_timeout: float = shared.READ_TIMEOUT
    max_attempts: int = shared.MAX_ATTEMPTS
    backoff_cap: float = shared.BACKOFF_CAP
    give_up_after: int = shared.GIVE_UP_AFTER
    initial_backoff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "backoff_cap", "initial_backoff"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
                raise InputError(_FLAGS[name], None, None,
                                 f"{value!r}: expected a number of seconds above 0")
        for name in ("max_attempts", "give_up_after"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(_FLAGS[name], None, None,
                                 f"{value!r}: expected a whole number of at least 1")

    def worst_case_seconds(self) -> float:
        """The longest one call can take (:func:`~residency_audit.providers.service.worst_case_seconds`
        with ``give_up_after=1``)."""
        return shared.worst_case_seconds(connect=self.connect_timeout, read=self.read_timeout,
                                         attempts=self.max_attempts, backoff_cap=self.backoff_cap,
                                         give_up_after=1)

    def give_up_seconds(self) -> float:
        """The longest an endpoint that never answers holds up a scan before :class:`Guard`
        gives it up: ``give_up_after`` calls of :meth:`worst_case_seconds` each (calls made in
        parallel wait together).

        >>> Limits().give_up_seconds(), Limits(give_up_after=2).give_up_seconds()
        (85.0, 170.0)
        """
        return self.worst_case_seconds() * self.give_up_after

    def retry_deadline(self) -> float:
        """Seconds after the first attempt past which no new attempt starts."""
        return self.worst_case_seconds() - (self.connect_timeout + self.read_timeout)

    def attempt_timeout(self, transport: str) -> Any:
        """The per-attempt timeout in the form the transport takes: ``(connect, read)`` for
        HTTP (requests), one number for gRPC (a deadline per attempt)."""
        if transport == "rest":
            return (self.connect_timeout, self.read_timeout)
        return self.connect_timeout + self.read_timeout


class _AttemptTimeout:
    """A ``google.api_core`` timeout decorator that gives every attempt the same timeout."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        value = self._value

        def with_timeout(*args: Any, **kwargs: Any) -> Any:
            kwargs["timeout"] = value
            return func(*args, **kwargs)

        return with_timeout


class _Attempts:
    """Retry predicate of one call: quota errors until the deadline, faults that may pass
    (timeouts, refused connections, 5xx) for at most ``max_attempts`` attempts (the pages of
    one paged listing share the count)."""

    def __init__(self, limit: int) -> None:
        self._left = limit - 1
        self._lock = threading.Lock()

    def __call__(self, exc: BaseException) -> bool:
        code = error_code(exc)
        if code == "RESOURCE_EXHAUSTED":
            return True
        if code in _UNANSWERED:
            with self._lock:
                if self._left <= 0:
                    return False
                self._left -= 1
                return True
        return False


# ---------------------------------------------------------------- the guard

@dataclass
class Guard:
    """The limits of one scan, and which endpoints and (service, project) pairs were given up.

    ``endpoint(service)`` names where a service's calls go. A call that got no answer at all
    (a timeout, a refused connection) counts against the whole endpoint while the endpoint has
    answered nothing in this scan (a dead address: every service behind it is given up), and
    against (endpoint, service) once it has (one API behind a live endpoint hangs). A 5xx
    counts against (service, scope): one project's backend failing gives up that project. A
    call whose quota errors (429) outlasted its retry deadline counts against (endpoint,
    service): quota belongs to the caller, so the next calls would wait as long.
    """

    limits: Limits = field(default_factory=Limits)
    transport: str = "rest"
    endpoints: Mapping[str, str] = field(default_factory=dict)
    giveup: shared.GiveUp = field(init=False)
    _alive: set[str] = field(init=False, default_factory=set)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.giveup = shared.GiveUp(after=self.limits.give_up_after)

    def endpoint(self, service: str) -> str:
        """Where ``service``'s calls go (the override, or Google's host)."""
        return (self.endpoints.get(service) or self.endpoints.get("*")
                or _HOSTS.get(service, f"{service}.googleapis.com"))

    def retry(self) -> Any:
        """A fresh ``Retry`` for one call (it counts that call's attempts)."""
        from google.api_core import retry as gretry

        return gretry.Retry(predicate=_Attempts(self.limits.max_attempts),
                            initial=self.limits.initial_backoff, maximum=self.limits.backoff_cap,
                            multiplier=2.0, timeout=self.limits.retry_deadline())

    def timeout(self, *, sdk: str = "gapic") -> Any:
        """The ``timeout=`` argument of a call: a decorator for the generated (gapic) clients,
        the ``(connect, read)`` pair for the Cloud Storage client."""
        if sdk == "storage":
            return (self.limits.connect_timeout, self.limits.read_timeout)
        return _AttemptTimeout(self.limits.attempt_timeout(self.transport))

    def call_options(self) -> dict[str, Any]:
        """``retry=`` and ``timeout=`` for one call of a generated client."""
        return {"retry": self.retry(), "timeout": self.timeout()}

    def skipped(self, service: str, scope: str, operation: str, *,
                level: GapLevel = GapLevel.SERVICE, resource: str = "") -> CoverageGap | None:
        """A gap when the call is not to be made (its endpoint or scope was given up), else None."""
        where = self.endpoint(service)
        for key, what in (((where,), f"endpoint {where}"),
                          ((where, service), f"{service} at {where}"),
                          ((service, scope), f"{service} in {scope}")):
            if self.giveup.given_up(key):
                return CoverageGap(
                    provider="gcp", scope=scope, service=service, operation=operation,
                    error=GIVEN_UP, level=level, resource=resource,
                    message=f"not called: {what} was given up after "
                            f"{self.limits.give_up_after} call(s) that got no answer")
        return None

    def answered(self, service: str, scope: str) -> None:
        """A call got an answer (even an error answer such as 403)."""
        where = self.endpoint(service)
        with self._lock:
            self._alive.add(where)
        self.giveup.answered((where,))
        self.giveup.answered((where, service))
        self.giveup.answered((service, scope))

    def fault(self, service: str, scope: str, operation: str, exc: BaseException, *,
              level: GapLevel = GapLevel.SERVICE, resource: str = "", prefix: str = ""
              ) -> CoverageGap:
        """The gap for a call that ended with ``exc``; counts it when it got no answer."""
        if is_unanswered(exc):
            where = self.endpoint(service)
            if _no_answer_at_all(exc):
                with self._lock:
                    alive = where in self._alive
                self.giveup.failed((where, service) if alive else (where,))
            else:
                with self._lock:
                    self._alive.add(where)
                self.giveup.failed((service, scope))
        elif error_code(exc) == "RESOURCE_EXHAUSTED" and type(exc).__name__ == "RetryError":
            # quota is the caller's, not the project's: once one call has backed off to its
            # deadline, the service's next calls would only wait out theirs too
            self.giveup.failed((self.endpoint(service), service))
        else:
            self.answered(service, scope)
        return CoverageGap(provider="gcp", scope=scope, service=service, operation=operation,
                           error=error_code(exc), level=level, resource=resource,
                           message=shared.server_reason(prefix + error_message(exc)))
