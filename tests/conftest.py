"""Test-wide guards: no packet leaves loopback, and no SDK probes a metadata server."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

# Read at import time by google-auth: set before anything imports it.
os.environ.setdefault("GCE_METADATA_HOST", "127.0.0.1:9")
os.environ.setdefault("GCE_METADATA_IP", "127.0.0.1:9")
os.environ["NO_GCE_CHECK"] = "true"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy",
             "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
             "GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402

pytest_plugins = [
    "tests.plugins.readonly_aws",
    "tests.plugins.readonly_azure",
    "tests.plugins.readonly_gcp",
]

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, bytes):
        host = host.decode()
    if not _is_loopback(host):
        raise OSError(f"test network guard: refusing to resolve non-loopback host {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def _check_address(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        raise OSError(f"test network guard: refusing to connect to {address[0]!r}")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    _check_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    _check_address(address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.getaddrinfo = _real_getaddrinfo
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
