"""Talking to Resource Manager for one scan, bounded in time, and turning failures into gaps.

The adapter never reaches for ambient configuration on its own: the credential, the Resource
Manager endpoint (public cloud, a sovereign cloud, a private endpoint), the time limits and any
extra client keyword arguments (``connection_verify``, ``retry_total``, ``transport``, …) travel
in one :class:`AzureContext`. SDK imports happen inside functions, never at import time.

Every request goes through a Resource Manager SDK client's pipeline (credential, retries, TLS)
with :meth:`send_request` and is read as plain JSON: one record that the SDK's models would not
deserialise must not lose the page it is on (the parsers make such a record a gap instead).

**Bounded time.** Each client gets ``connection_timeout``/``read_timeout`` and a retry policy of
``max_attempts`` attempts with back-off capped at ``backoff_cap`` (``Retry-After`` honoured up to
:data:`RETRY_AFTER_CAP`); each call is also bounded by :func:`~residency_audit.providers.service.worst_case_seconds`.
A call that gets no answer (connection refused, timeouts) counts against the whole endpoint, and
one answered with 5xx past the retries against its (scope, service), in the scan's
:class:`~residency_audit.providers.service.GiveUp`: once given up, the calls left are not made
and a gap says so.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.service import (
    BACKOFF_CAP,
    CONNECT_TIMEOUT,
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    READ_TIMEOUT,
    GiveUp,
    server_reason,
    worst_case_seconds,
)

__all__ = [
    "ENDPOINT",
    "MAX_TOKEN_FILE_BYTES",
    "PUBLIC_ARM",
    "RETRY_AFTER_CAP",
    "AzureContext",
    "GivenUp",
    "RefusedRequest",
    "StaticTokenCredential",
    "Timing",
    "UnreadableResponse",
    "error_code",
    "gap_from_error",
    "guarded",
    "is_fault",
    "is_sdk_error",
    "is_unanswered",
    "list_items",
    "read_token_file",
    "refusal",
    "request_json",
    "scopes_for_endpoint",
    "subscription_of",
]

PUBLIC_ARM = "https://management.azure.com"
"""Resource Manager of the public cloud (the default endpoint)."""
RETRY_AFTER_CAP = 30.0
"""Longest pause a server's ``Retry-After`` (throttling) can impose between two attempts, in seconds."""
ENDPOINT: tuple[str, ...] = ("endpoint",)
"""The :class:`GiveUp` key of the Resource Manager endpoint itself."""

_SOVEREIGN_AUDIENCES = {
    "management.chinacloudapi.cn": "https://management.chinacloudapi.cn/.default",
    "management.usgovcloudapi.net": "https://management.usgovcloudapi.net/.default",
}


def scopes_for_endpoint(base_url: str) -> tuple[str, ...]:
    """The token scope for a Resource Manager endpoint: the sovereign cloud's, else the public one.

    A private endpoint (Azure Resource Manager private link) keeps the public cloud's audience.

    >>> scopes_for_endpoint("https://management.chinacloudapi.cn/")
    ('https://management.chinacloudapi.cn/.default',)
    >>> scopes_for_endpoint("https://127.0.0.1:8443")
    ('https://management.azure.com/.default',)
    """
    host = (urlsplit(base_url).hostname or "").lower()
    return (_SOVEREIGN_AUDIENCES.get(host, "https://management.azure.com/.default"),)


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """Time limits of every request of a scan (defaults from :mod:`residency_audit.providers.service`).

    >>> Timing().worst_case_seconds()
    85.0
    """

    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    max_attempts: int = MAX_ATTEMPTS
    backoff_cap: float = BACKOFF_CAP
    give_up_after: int = GIVE_UP_AFTER

    def worst_case_seconds(self) -> float:
        """Longest time one call (all attempts) can take on an endpoint that never answers."""
        return worst_case_seconds(connect=self.connect_timeout, read=self.read_timeout,
                                  attempts=self.max_attempts, backoff_cap=self.backoff_cap, give_up_after=1)


@functools.cache
def _retry_policy_class() -> Any:
    from azure.core.pipeline.policies import RetryPolicy

    class BoundedRetryPolicy(RetryPolicy):  # type: ignore[type-arg]
        """azure-core's retry policy with the server's ``Retry-After`` capped, and POST retried like
        GET: the adapter's only POST is the Resource Graph query, a read (throttled with 429 often)."""

        def __init__(self, *, retry_after_cap: float = RETRY_AFTER_CAP, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.retry_after_cap = retry_after_cap
            self._method_whitelist = frozenset(self._method_whitelist | {"POST"})

        def _sleep_for_retry(self, response: Any, transport: Any) -> bool:
            retry_after = self.get_retry_after(response)
            if retry_after:
                transport.sleep(min(float(retry_after), self.retry_after_cap))
                return True
            return False

    return BoundedRetryPolicy


@functools.cache
def _whole_answer_transport_class() -> Any:
    from azure.core.pipeline.transport import RequestsTransport

    class WholeAnswerTransport(RequestsTransport):  # type: ignore[misc]
        """azure-core's requests transport, reading every answer whole inside ``send`` (so within
        the retry policy: a body cut off is retried like any failed attempt), whatever the request's
        ``stream`` option says, and sending only reads (:func:`refusal`).

        :func:`request_json` sends with ``stream=True`` only so that the pipeline's
        ``ContentDecodePolicy`` leaves the body alone: it would parse every answer's JSON for the
        SDK's models, and the adapter then parses it again itself (a Resource Graph page is about a
        megabyte of JSON)."""

        def send(self, request: Any, **kwargs: Any) -> Any:
            refused = refusal(str(request.method), str(request.url))
            if refused is not None:
                raise refused
            kwargs["stream"] = False
            return super().send(request, **kwargs)

    return WholeAnswerTransport


@dataclass(frozen=True, slots=True, kw_only=True)
class AzureContext:
    """What every request of one scan is made with: credential, endpoint, time limits, give-ups."""

    credential: Any
    base_url: str = PUBLIC_ARM
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    credential_scopes: tuple[str, ...] = ()
    timing: Timing = field(default_factory=Timing)
    give_up: GiveUp = field(default_factory=GiveUp)
    pool_size: int = 16
    """Connections kept per host by the shared client: at least the scan's concurrent requests."""
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments every client gets: time limits and retry policy, then ``client_kwargs``."""
        t = self.timing
        kwargs: dict[str, Any] = {"connection_timeout": t.connect_timeout, "read_timeout": t.read_timeout,
                                  **self.client_kwargs}
        kwargs.setdefault("credential_scopes", list(self.credential_scopes or scopes_for_endpoint(self.base_url)))
        if "retry_policy" not in kwargs:
            retry = {"retry_total": max(0, t.max_attempts - 1), "retry_backoff_max": t.backoff_cap,
                     "timeout": t.worst_case_seconds(),
                     **{k: v for k, v in kwargs.items() if k.startswith("retry_") or k == "timeout"}}
            kwargs["retry_policy"] = _retry_policy_class()(**retry)
        return kwargs

    def shared_client(self, cls: Any) -> Any:
        """One client of class ``cls`` for the whole scan, shared by its threads (Azure SDK clients are
        thread-safe), so that connections are kept alive and reused; closed by :meth:`close`."""
        with self._lock:
            client = self._shared.get(cls)
            if client is None:
                kwargs = self.client_options()
                if "transport" not in kwargs:
                    kwargs["transport"] = self._transport(kwargs)
                client = self._shared[cls] = cls(self.credential, base_url=self.base_url, **kwargs)
            return client

    @property
    def reads_whole_answers(self) -> bool:
        """Whether the shared clients send through the adapter's own transport, which reads every
        answer whole (inside the retry policy) even when a request is sent with ``stream=True``;
        False when ``client_kwargs`` bring a transport of their own."""
        return "transport" not in self.client_kwargs

    def _transport(self, kwargs: Mapping[str, Any]) -> Any:
        """azure-core's requests transport with a pool of :attr:`pool_size` connections per host (the
        default 10 would drop connections when more threads share the client), reading every answer
        whole (:func:`_whole_answer_transport_class`)."""
        import requests
        from urllib3.util.retry import Retry

        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(
            pool_maxsize=self.pool_size, max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return _whole_answer_transport_class()(session=session, session_owner=True, **kwargs)

    def close(self) -> None:
        """Close the shared clients."""
        with self._lock:
            clients = list(self._shared.values())
            self._shared.clear()
        for client in clients:
            client.close()

    def client(self, cls: Any, subscription_id: str | None = None) -> Any:
        """A new SDK client of class ``cls`` (per subscription when ``subscription_id`` is given)."""
        kwargs = self.client_options()
        if subscription_id is None:
            return cls(self.credential, base_url=self.base_url, **kwargs)
        return cls(self.credential, subscription_id, base_url=self.base_url, **kwargs)


class RefusedRequest(Exception):
    """A request the pipeline made that is not a read, refused before it was sent; ``code`` names
    why (``MissingSubscriptionRegistration``: the SDK's own registration of a resource provider)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_REGISTER = re.compile(r"/subscriptions/[^/]+/providers/([^/]+)/register/?$", re.IGNORECASE)
_QUERY_PATH = "/providers/microsoft.resourcegraph/resources"


def refusal(method: str, url: str) -> RefusedRequest | None:
    """Why a request is not sent, or None for a read: a GET, or the Resource Graph query's POST.

    The Resource Manager clients' pipeline registers a resource provider on its own when a list
    answers 409 ``MissingSubscriptionRegistration`` (a POST to ``…/providers/{namespace}/register``,
    then a wait without a bound): that is a write, and the adapter's transport does not send it.
    The list's answer then ends as a gap naming that code.

    >>> refusal("GET", "https://management.azure.com/subscriptions?api-version=2022-12-01") is None
    True
    >>> refusal("POST", "https://management.azure.com/subscriptions/s/providers/Microsoft.Sql/register").code
    'MissingSubscriptionRegistration'
    """
    method = method.upper()
    path = urlsplit(url).path.rstrip("/")
    if method == "GET" or (method == "POST" and path.lower().endswith(_QUERY_PATH)):
        return None
    registration = _REGISTER.search(path) if method == "POST" else None
    if registration is not None:
        return RefusedRequest("MissingSubscriptionRegistration", (
            f"the subscription is not registered for the resource provider {registration.group(1)} (answer 409); "
            "the SDK's automatic registration (a write) was not sent"))
    return RefusedRequest("RefusedRequest", f"not sent: {method} is not a read")


class UnreadableResponse(Exception):
    """An answer that is not the JSON a list or query returns (not JSON, no ``value`` list, a
    ``nextLink`` off the endpoint). The page is lost; the pages before it are kept."""


class GivenUp(Exception):
    """A call not made: its endpoint or (scope, service) was given up earlier in the scan."""


def is_sdk_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure the SDK reports for a request (HTTP error, connection, timeout)."""
    from azure.core.exceptions import AzureError

    return isinstance(exc, AzureError)


def is_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is a request's fault that becomes a gap (SDK error, unreadable answer, given up)."""
    return isinstance(exc, UnreadableResponse | GivenUp | RefusedRequest) or is_sdk_error(exc)


def is_unanswered(exc: BaseException) -> bool:
    """Whether ``exc`` means no answer at all: connection refused, reset or timed out (after the
    retries). A request the client could not even send (an invalid header) is not: it is that
    call's gap, and the endpoint is not given up for it."""
    import requests
    from azure.core.exceptions import (
        ServiceRequestError,
        ServiceRequestTimeoutError,
        ServiceResponseError,
        ServiceResponseTimeoutError,
    )

    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return True
    if not isinstance(exc, ServiceRequestError | ServiceResponseError):
        return False
    inner = getattr(exc, "inner_exception", None) or exc.__cause__
    if inner is None or isinstance(inner, requests.ConnectionError | requests.Timeout):
        return True
    if isinstance(inner, requests.RequestException):  # every requests error is an OSError: not these
        return False
    return isinstance(inner, OSError) or type(inner).__module__.split(".", 1)[0] == "urllib3"


def _status(exc: BaseException) -> int:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else 0


def error_code(exc: BaseException) -> str:
    """The Azure error code (``AuthorizationFailed``), else ``HTTP<status>``, else the exception type."""
    from azure.core.exceptions import HttpResponseError

    if isinstance(exc, UnreadableResponse):
        return "UnparseableResponse"
    if isinstance(exc, RefusedRequest):
        return exc.code
    if isinstance(exc, GivenUp):
        return "GivenUp"
    if isinstance(exc, HttpResponseError):
        err = getattr(exc, "error", None)
        code = getattr(err, "code", None) if err is not None else None
        if code:
            return server_reason(str(code), limit=100)
        if exc.status_code:
            return f"HTTP{exc.status_code}"
    return type(exc).__name__


_HEADER_VALUE = re.compile(r"(?is)(header value\b[^:]*:).*")
"""A client-side error quoting a header (``Invalid … in header value: 'Bearer …'``): the value goes."""


def _message(exc: BaseException) -> str:
    err = getattr(exc, "error", None)
    raw = getattr(err, "message", None) or getattr(exc, "message", None) or exc
    return server_reason(_HEADER_VALUE.sub(r"\1 [redacted]", str(raw)))


def gap_from_error(exc: BaseException, *, scope: str, service: str, operation: str,
                   resource: str = "", region: str = "", level: GapLevel = GapLevel.SERVICE) -> CoverageGap:
    """A coverage gap for a failed request: the error code and the server's reason (no URL, no secret)."""
    status = _status(exc)
    message = _message(exc)
    if status:
        message = f"HTTP {status}: {message}"
    return CoverageGap(provider="azure", scope=scope, service=service, operation=operation,
                       error=error_code(exc), message=message, region=region, resource=resource, level=level)


def _refused(ctx: AzureContext, key: tuple[str, ...]) -> GivenUp | None:
    """Why a call for ``key`` is not made (its endpoint or ``key`` given up), else None."""
    if ctx.give_up.given_up(ENDPOINT):
        return GivenUp("not requested: the Resource Manager endpoint gave no answer to an earlier call "
                       "(connection or read timed out after every attempt); given up for the rest of the scan")
    if ctx.give_up.given_up(key):
        return GivenUp(f"not requested: an earlier call of {'/'.join(key)} answered 5xx after every attempt; "
                       "given up for the rest of the scan")
    return None


def guarded(ctx: AzureContext, key: tuple[str, ...],
            call: Callable[[], tuple[list[Any], BaseException | None]], *,
            settle: Callable[[], object] | None = None) -> tuple[list[Any], BaseException | None]:
    """Make ``call`` unless the endpoint or ``key`` was given up; record how it ended in ``ctx.give_up``.

    No answer at all counts against the endpoint (and ``key``); 5xx past the retries against ``key``.

    ``settle``: ``call`` was started early, side by side with calls that come before it (they are
    what ``settle`` waits for). Its outcome is recorded only once they are done, and if they gave
    the endpoint (or ``key``) up, its answer is dropped and it ends as if it had not been made: the
    same gaps, in the same order of events, as if it had been started after them.
    """
    refused = _refused(ctx, key)
    if refused is not None:
        return [], refused
    items, exc = call()
    if settle is not None:
        settle()
        refused = _refused(ctx, key)
        if refused is not None:
            return [], refused
    give_up = ctx.give_up
    if exc is None:
        give_up.answered(ENDPOINT)
        give_up.answered(key)
    elif is_unanswered(exc):
        give_up.failed(ENDPOINT)
        give_up.failed(key)
    elif _status(exc) >= 500:
        give_up.answered(ENDPOINT)
        give_up.failed(key)
    else:
        give_up.answered(ENDPOINT)
        give_up.answered(key)
    return items, exc


def _same_endpoint(url: str, base_url: str) -> bool:
    a, b = urlsplit(url), urlsplit(base_url)
    return (a.scheme.lower(), (a.netloc or "").lower()) == (b.scheme.lower(), (b.netloc or "").lower())


def request_json(client: Any, method: str, url: str, body: Mapping[str, Any] | None = None, *,
                 whole: bool = False) -> dict[str, Any]:
    """One request through ``client``'s pipeline; the answer as a JSON object, else an exception.

    ``whole``: the client's transport reads every answer whole (:attr:`AzureContext.reads_whole_answers`);
    the request is then sent with ``stream=True`` so that the pipeline does not parse the JSON too.
    """
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    request = HttpRequest(method, url, json=dict(body)) if body is not None else HttpRequest(method, url)
    response = client.send_request(request, stream=True) if whole else client.send_request(request)
    if response.status_code >= 400:
        raise HttpResponseError(response=response)
    try:
        data = response.json()
    except ValueError:
        raise UnreadableResponse(f"HTTP {response.status_code} answer is not JSON") from None
    if not isinstance(data, dict):
        raise UnreadableResponse(f"answer is a JSON {type(data).__name__}, not an object")
    return data


def list_items(ctx: AzureContext, path: str, api_version: str) -> tuple[list[Any], BaseException | None]:
    """Every item of an ARM list (``value``, following ``nextLink``), and the fault that stopped it.

    Items are raw JSON, as the server sent them. Items of pages before a failing page are kept. A
    ``nextLink`` to another host than the endpoint is not followed (the token would go there).
    """
    from azure.mgmt.resource.subscriptions import SubscriptionClient

    url: str | None = f"{ctx.base_url.rstrip('/')}{path}?api-version={api_version}"
    items: list[Any] = []
    client = ctx.shared_client(SubscriptionClient)
    try:
        while url:
            body = request_json(client, "GET", url, whole=ctx.reads_whole_answers)
            value = body.get("value")
            if not isinstance(value, list):
                raise UnreadableResponse("answer has no 'value' list")
            items.extend(value)
            link = body.get("nextLink")
            if link is not None and not isinstance(link, str):
                raise UnreadableResponse("'nextLink' is not a string")
            if link and not _same_endpoint(link, ctx.base_url):
                raise UnreadableResponse("'nextLink' points off the Resource Manager endpoint: not followed")
            url = link or None
    except Exception as exc:
        if not is_fault(exc):
            raise
        return items, exc
    return items, None


_SUB = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)


def subscription_of(resource_id: str) -> str:
    """The subscription id in an Azure resource id ('' when there is none).

    >>> subscription_of("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Sql/servers/a")
    's1'
    """
    m = _SUB.match(resource_id)
    return m.group(1) if m else ""


MAX_TOKEN_FILE_BYTES = 64 * 1024
"""Largest token file read: an Azure access token is a few KiB; anything bigger is not one."""
_TOKEN = re.compile(r"[A-Za-z0-9._~+/-]+=*")
"""RFC 6750 ``b64token``: the characters a bearer token may have."""
_TOKEN_FLAG = "--azure-access-token-file"


def read_token_file(path: str) -> str:
    """The one bearer token in ``path``: plain text, or ``az account get-access-token`` JSON.

    Surrounding whitespace is stripped. A file that is not a regular file, is empty or larger than
    :data:`MAX_TOKEN_FILE_BYTES`, is not UTF-8, holds more than one word or line, or holds
    characters a bearer token cannot have is an :class:`~residency_audit.errors.InputError`
    naming the file; the message never repeats what the file holds.
    """
    import json
    import os
    import stat

    from residency_audit.errors import InputError

    def bad(message: str) -> InputError:
        return InputError(path, None, _TOKEN_FLAG, message)

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise bad("not a regular file")
        if info.st_size > MAX_TOKEN_FILE_BYTES:
            raise bad(f"larger than {MAX_TOKEN_FILE_BYTES // 1024} KiB: not a token file")
        with open(path, "rb") as f:
            data = f.read(MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise bad(f"cannot read: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise bad(f"larger than {MAX_TOKEN_FILE_BYTES // 1024} KiB: not a token file")
    try:
        text = data.decode("utf-8-sig").strip()
    except UnicodeDecodeError:
        raise bad("not UTF-8 text") from None
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except ValueError:
            raise bad("starts with '{' but is not valid JSON") from None
        value = doc.get("accessToken") if isinstance(doc, dict) else None
        if not isinstance(value, str):
            raise bad("JSON without a string member 'accessToken'")
        text = value.strip()
    if not text:
        raise bad("no token in the file")
    if any(ch.isspace() for ch in text):
        raise bad("holds more than one line or word; expected exactly one token")
    if _TOKEN.fullmatch(text) is None:
        raise bad("holds characters a bearer token cannot have")
    return text


class StaticTokenCredential:
    """A credential that hands out one bearer token read from a file (never logged, never stored).

    For runs where the token is issued separately (``az account get-access-token``). The token's
    expiry is not known here: a scan that outlives it fails with gaps (HTTP 401).

    >>> StaticTokenCredential("abc.def")
    StaticTokenCredential(<redacted>)
    """

    __slots__ = ("_token",)

    def __init__(self, token: str) -> None:
        token = token.strip()
        if not token or _TOKEN.fullmatch(token) is None:
            raise ValueError("not a bearer token (empty, inner whitespace or characters a token cannot have)")
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenCredential(<redacted>)"

    @classmethod
    def from_file(cls, path: str) -> StaticTokenCredential:
        """Read the token from ``path`` with :func:`read_token_file`."""
        return cls(read_token_file(path))

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self._token, 4_102_444_800)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        return AccessTokenInfo(self._token, 4_102_444_800)
