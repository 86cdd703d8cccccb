"""What the loopback fakes of the cloud APIs share."""

from __future__ import annotations

import ssl
import sys
from typing import Any

__all__ = ["quiet_disconnect"]


def quiet_disconnect(default: Any) -> Any:
    """A server's ``handle_error`` that says nothing when the client went away (reset, closed,
    TLS EOF, timed out), and keeps ``default`` for every other error of a handler."""

    def handle_error(request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | ssl.SSLError | TimeoutError):
            return
        default(request, client_address)

    return handle_error
