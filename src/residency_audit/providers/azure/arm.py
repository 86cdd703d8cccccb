"""Building Azure SDK clients for one scan, and turning their failures into coverage gaps.

The adapter never reaches for ambient configuration on its own: the credential, the Resource
Manager endpoint (public cloud, a sovereign cloud, a private endpoint) and any extra client
keyword arguments (``connection_verify``, ``retry_total``, ``transport``, …) travel in one
:class:`AzureContext`. SDK imports happen inside functions, never at import time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from residency_audit.model import CoverageGap, GapLevel
from residency_audit.providers.service import server_reason

__all__ = [
    "MAX_TOKEN_FILE_BYTES",
    "PUBLIC_ARM",
    "AzureContext",
    "StaticTokenCredential",
    "collect",
    "error_code",
    "gap_from_error",
    "is_sdk_error",
    "read_token_file",
    "scopes_for_endpoint",
    "subscription_of",
    "to_rest",
]

PUBLIC_ARM = "https://management.azure.com"
"""Resource Manager of the public cloud (the default endpoint)."""

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
class AzureContext:
    """What every client of one scan is built from: credential, endpoint and extra client options."""

    credential: Any
    base_url: str = PUBLIC_ARM
    client_kwargs: Mapping[str, Any] = field(default_factory=dict)
    credential_scopes: tuple[str, ...] = ()

    def client(self, cls: Any, subscription_id: str | None = None) -> Any:
        """A new SDK client of class ``cls`` (per subscription when ``subscription_id`` is given)."""
        kwargs = dict(self.client_kwargs)
        kwargs.setdefault("credential_scopes", list(self.credential_scopes or scopes_for_endpoint(self.base_url)))
        if subscription_id is None:
            return cls(self.credential, base_url=self.base_url, **kwargs)
        return cls(self.credential, subscription_id, base_url=self.base_url, **kwargs)


def to_rest(item: Any) -> dict[str, Any]:
    """An SDK model as the REST JSON it came from (camelCase keys, ``properties`` nested)."""
    if isinstance(item, Mapping):
        as_dict = getattr(item, "as_dict", None)
        return dict(as_dict()) if callable(as_dict) else dict(item)
    serialize = getattr(item, "serialize", None)
    if callable(serialize):
        out: dict[str, Any] = serialize(keep_readonly=True)
        return out
    raise TypeError(f"cannot read {type(item).__name__} as REST JSON")


def is_sdk_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure the SDK reports for a request (HTTP error, connection, timeout)."""
    from azure.core.exceptions import AzureError

    return isinstance(exc, AzureError)


def error_code(exc: BaseException) -> str:
    """The Azure error code (``AuthorizationFailed``), else ``HTTP<status>``, else the exception type."""
    from azure.core.exceptions import HttpResponseError

    if isinstance(exc, HttpResponseError):
        err = getattr(exc, "error", None)
        code = getattr(err, "code", None) if err is not None else None
        if code:
            return str(code)
        if exc.status_code:
            return f"HTTP{exc.status_code}"
    return type(exc).__name__


def _message(exc: BaseException) -> str:
    err = getattr(exc, "error", None)
    raw = getattr(err, "message", None) or getattr(exc, "message", None) or exc
    return server_reason(str(raw))


def gap_from_error(exc: BaseException, *, scope: str, service: str, operation: str,
                   resource: str = "", region: str = "", level: GapLevel = GapLevel.SERVICE) -> CoverageGap:
    """A coverage gap for a failed request: the error code and the server's reason (no URL, no secret)."""
    status = getattr(exc, "status_code", None)
    message = _message(exc)
    if status:
        message = f"HTTP {status}: {message}"
    return CoverageGap(provider="azure", scope=scope, service=service, operation=operation,
                       error=error_code(exc), message=message, region=region, resource=resource, level=level)


def collect(pages: Iterable[Any]) -> tuple[list[dict[str, Any]], BaseException | None]:
    """Every item of a pager as REST JSON, and the SDK error that stopped it (None when complete).

    Items read before a failing page (a ``nextLink`` that fails) are kept.
    """
    items: list[dict[str, Any]] = []
    try:
        for item in pages:
            items.append(to_rest(item))
    except Exception as exc:
        if not is_sdk_error(exc):
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
