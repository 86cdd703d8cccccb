"""A loopback HTTP relay in front of a moto server that can make one region misbehave.

Every request is relayed to moto unless a rule says otherwise; the region and service of a
request are read from its SigV4 credential scope, the operation from ``X-Amz-Target``, the
query protocol's ``Action`` or the path. A rule can make a request:

- ``dead``: the connection is accepted and never answered (until the relay stops);
- ``deny``: answered ``AccessDenied`` in the service's protocol, as an SCP would.

Each request is counted by (region, service, operation), retries included. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
DENY_MESSAGE = "with an explicit deny in a service control policy"


class _QuietServer(ThreadingHTTPServer):
    """A client that gave up (its read timeout) leaves a broken pipe here: not worth a report."""

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@dataclass(frozen=True)
class Request:
    region: str
    service: str
    operation: str
    body: bytes


Rule = Callable[[Request], "str | None"]


@dataclass
class Relay:
    upstream: str
    rules: list[Rule] = field(default_factory=list)
    seen: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Relay:
        relay = self
        upstream = urlsplit(self.upstream)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = _describe(self.path, dict(self.headers.items()), body)
                relay.seen[(request.region, request.service, request.operation)] += 1
                verdict = next((v for v in (rule(request) for rule in relay.rules) if v), None)
                if verdict == "dead":
                    relay.release.wait(60)
                    self.close_connection = True
                    return
                if verdict == "deny":
                    self._deny(self.headers.get("Content-Type", ""), request)
                    return
                conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for k, v in answer.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def _deny(self, content_type: str, request: Request) -> None:
                message = f"User is not authorized to perform {request.operation} {DENY_MESSAGE}"
                if "json" in content_type or request.service in ("efs", "backup", "elasticfilesystem"):
                    body = json.dumps({"__type": "AccessDeniedException", "message": message,
                                       "Message": message}).encode()
                    self.send_response(400 if "amz-json" in content_type else 403)
                    self.send_header("Content-Type", content_type or "application/json")
                    self.send_header("x-amzn-ErrorType", "AccessDeniedException")
                else:
                    body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                            f"<Message>{message}</Message></Error><RequestId>1</RequestId></ErrorResponse>").encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def calls(self, region: str, service: str | None = None, operation: str | None = None) -> int:
        """Requests seen for ``region`` (and ``service``, ``operation``), retries included."""
        return sum(n for (r, s, o), n in self.seen.items()
                   if r == region and service in (None, s) and operation in (None, o))


def _describe(path: str, headers: dict[str, str], body: bytes) -> Request:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    m = _SCOPE.search(auth)
    region, service = (m.group(1), m.group(2)) if m else ("", "")
    target = next((v for k, v in headers.items() if k.lower() == "x-amz-target"), "")
    if target:
        operation = target.rsplit(".", 1)[-1]
    else:
        form = parse_qs(body.decode("utf-8", "replace")) if body and b"Action=" in body else {}
        operation = form.get("Action", [""])[0] or urlsplit(path).path
    return Request(region=region, service=service, operation=operation, body=body)


def dead_region(region: str) -> Rule:
    """Every request signed for ``region`` is accepted and never answered."""
    return lambda r: "dead" if r.region == region else None


def denied_region(region: str) -> Rule:
    """Every request signed for ``region`` is refused, as a region-deny SCP does."""
    return lambda r: "deny" if r.region == region else None


def denied_body(text: str) -> Rule:
    """Every request whose body contains ``text`` is refused (an AssumeRole of one role, say)."""
    return lambda r: "deny" if text.encode() in r.body else None
