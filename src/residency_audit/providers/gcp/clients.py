"""Building the Google API clients: credentials, endpoints (Private Service Connect, fakes), transport.

Clients are built when a scan starts, never at import time. ``--gcp-endpoint URL`` sends every
API to ``URL``; ``--gcp-endpoint storage=URL`` (also ``resourcemanager=``, ``cloudasset=``)
overrides one API. Without an override, Cloud Storage keeps honouring ``STORAGE_EMULATOR_HOST``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from residency_audit.errors import InputError
from residency_audit.providers.service import server_reason

__all__ = ["SERVICES", "TRANSPORTS", "ClientConfig", "Clients", "parse_endpoints"]

SERVICES = ("cloudasset", "resourcemanager", "storage")
TRANSPORTS = ("grpc", "rest")

_ASSET_HOST = "cloudasset.googleapis.com"
_ASSET_SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
"""The Cloud Asset client's ``AUTH_SCOPES`` (the only scope the API accepts)."""


def parse_endpoints(values: Sequence[str]) -> dict[str, str]:
    """``["URL"]`` → ``{"*": URL}``; ``["storage=URL"]`` → ``{"storage": URL}``.

    >>> parse_endpoints(["http://127.0.0.1:8080", "storage=http://127.0.0.1:9000"])
    {'*': 'http://127.0.0.1:8080', 'storage': 'http://127.0.0.1:9000'}
    """
    out: dict[str, str] = {}
    for value in values:
        key, sep, url = value.partition("=")
        if sep and "://" not in key:
            if key not in SERVICES:
                raise InputError("--gcp-endpoint", None, None,
                                 f"unknown service {key!r}; expected one of {', '.join(SERVICES)}")
        else:
            key, url = "*", value
        if not url:
            raise InputError("--gcp-endpoint", None, None, f"empty URL in {value!r}")
        out[key] = url
    return out


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """How to reach Google: credentials (None: ``google.auth.default()``), transport, endpoints."""

    credentials: Any = None
    transport: str = "grpc"
    endpoints: Mapping[str, str] = field(default_factory=dict)
    client_options: Any = None

    def endpoint(self, service: str) -> str | None:
        """The override for ``service``, or the catch-all one, or None."""
        if service in self.endpoints:
            return self.endpoints[service]
        if "*" in self.endpoints:
            return self.endpoints["*"]
        opts = self.client_options
        if opts is None:
            return None
        value = opts.get("api_endpoint") if isinstance(opts, Mapping) else getattr(
            opts, "api_endpoint", None)
        return str(value) if value else None


class Clients:
    """The API clients of one scan, each built on first use and then reused."""

    def __init__(self, config: ClientConfig) -> None:
        if config.transport not in TRANSPORTS:
            raise InputError("--gcp-transport", None, None,
                             f"{config.transport!r}; expected one of {', '.join(TRANSPORTS)}")
        self.config = config

    @functools.cached_property
    def credentials(self) -> Any:
        if self.config.credentials is not None:
            return self.config.credentials
        import google.auth

        # No scopes here: each client asks for its own defaults. The Cloud Asset API accepts
        # only the cloud-platform OAuth scope (its client's AUTH_SCOPES), so narrowing the
        # token to cloud-platform.read-only would lose the organisation-wide search; read-only
        # is enforced by the IAM role (custom-role.json) and by the allow-list instead.
        from google.auth import exceptions as auth_exc

        try:
            credentials, _project = google.auth.default()
        except auth_exc.DefaultCredentialsError as exc:
            # no usable credentials is a setup error, not a gap: one line, exit code 2
            raise InputError("gcp", None, "credentials",
                             server_reason(str(exc), limit=400)) from None
        return credentials

    def _options(self, service: str) -> Any:
        from google.api_core.client_options import ClientOptions

        url = self.config.endpoint(service)
        if url is None:
            return None
        if self.config.transport == "grpc" and service != "storage":
            url = url.split("://", 1)[-1]
        return ClientOptions(api_endpoint=url)

    @functools.cached_property
    def folders(self) -> Any:
        from google.cloud import resourcemanager_v3

        return resourcemanager_v3.FoldersClient(
            credentials=self.credentials, transport=self.config.transport,
            client_options=self._options("resourcemanager"))

    @functools.cached_property
    def projects(self) -> Any:
        from google.cloud import resourcemanager_v3

        return resourcemanager_v3.ProjectsClient(
            credentials=self.credentials, transport=self.config.transport,
            client_options=self._options("resourcemanager"))

    @functools.cached_property
    def asset(self) -> Any:
        from google.cloud import asset_v1

        return asset_v1.AssetServiceClient(
            credentials=self.credentials, transport=self.config.transport,
            client_options=self._options("cloudasset"))

    @functools.cached_property
    def asset_session(self) -> tuple[Any, str]:
        """An authorised HTTP session for Cloud Asset pages read as JSON, and its base URL:
        the override (as the REST transport takes it: a URL without scheme is HTTPS), else
        Google's endpoint. The token asks for the client's own default scope."""
        from google.auth import credentials as auth_credentials
        from google.auth.transport.requests import AuthorizedSession

        url = self.config.endpoint("cloudasset") or _ASSET_HOST
        if "://" not in url:
            url = f"https://{url}"
        credentials = auth_credentials.with_scopes_if_required(  # type: ignore[no-untyped-call]
            self.credentials, None, default_scopes=_ASSET_SCOPES)
        session = AuthorizedSession(  # type: ignore[no-untyped-call]
            credentials, default_host=_ASSET_HOST)
        return session, url.rstrip("/")

    @functools.cached_property
    def storage(self) -> Any:
        from google.cloud.storage import Client as StorageClient

        options = self._options("storage")
        kwargs: dict[str, Any] = {"project": None}
        if options is not None:
            kwargs["client_options"] = options
        return StorageClient(credentials=self.credentials, **kwargs)
