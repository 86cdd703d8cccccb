"""A small HTTPS fake of Azure Resource Manager on 127.0.0.1, for the real azure-mgmt clients.

It serves the list operations the adapter calls, shaped like the Azure REST API specifications'
examples (``StorageAccountList.json``, ``GetLocations.json`` wrapped in ``{"value": [...]}``,
SQL ``ReplicationLinkListByServer.json``/``FailoverGroupList.json``, Cosmos DB
``CosmosDBDatabaseAccountList.json``, Resource Graph ``ResourcesFirstPageQuery.json`` /
``ResourcesNextPageQuery.json`` with ``$skipToken``), with residency-relevant values of our own.
ARM lists are paged by ``nextLink``. Faults (403, 429 with Retry-After, 5xx, a failing page)
are injected per request; ``latency`` delays every answer (the round trip and API time that
loopback does not have, for the benchmark). Every request received is recorded, here and in the run-wide record of
``tests.plugins.readonly_azure``.

Resource Graph is not a KQL engine: the fake reads the quoted resource types of the adapter's
``type in~ (...)`` clause and answers with the matching resources of the requested subscriptions
(or management groups), ordered by id; ``ResourceContainers`` queries list subscriptions.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.plugins import readonly_azure
from tests.providers.servers import quiet_disconnect

__all__ = ["FakeArm", "FakeCredential", "Fault", "location"]


class FakeCredential:
    """A token credential that hands out a fixed dummy token (no secret: it is never checked)."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.scopes.append(scopes)
        return AccessToken("fake-token", 4_102_444_800)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        self.scopes.append(scopes)
        return AccessTokenInfo("fake-token", 4_102_444_800)


@dataclass(slots=True, kw_only=True)
class Fault:
    """Answer ``times`` requests matching ``method`` and ``path`` (a regex, case-insensitive)."""

    path: str
    status: int
    code: str
    method: str = "GET"
    query: str = ""
    body: str = ""
    message: str = "injected fault"
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    reply: Any = None
    """When set, the JSON body answered instead of an error envelope (a malformed answer)."""
    delay: float = 0.0
    """Seconds to wait before answering (longer than the client's read timeout: no answer)."""
    truncate: bool = False
    """Answer normally (``status`` and ``reply``), but send half of the body and close the connection."""


def location(name: str, display: str, *, physical: str, geography: str, group: str = "Europe",
             paired: str | None = None, region_type: str = "Physical") -> dict[str, Any]:
    """One Locations API item, shaped like GetLocations.json."""
    meta: dict[str, Any] = {"regionType": region_type, "regionCategory": "Recommended", "geography": geography,
                            "geographyGroup": group, "physicalLocation": physical,
                            "longitude": "0", "latitude": "0"}
    if paired:
        meta["pairedRegion"] = [{"name": paired, "id": f"/subscriptions/{{sub}}/locations/{paired}"}]
    return {"id": f"/subscriptions/{{sub}}/locations/{name}", "name": name, "type": "Region",
            "displayName": display, "regionalDisplayName": f"({group}) {display}", "metadata": meta}


DEFAULT_LOCATIONS = [
    location("westeurope", "West Europe", physical="Netherlands", geography="Europe", paired="northeurope"),
    location("northeurope", "North Europe", physical="Ireland", geography="Europe", paired="westeurope"),
    location("swedencentral", "Sweden Central", physical="Gävle", geography="Sweden", group="Europe",
             paired="swedensouth"),
    location("swedensouth", "Sweden South", physical="Sweden", geography="Sweden", paired="swedencentral"),
    location("germanywestcentral", "Germany West Central", physical="Frankfurt", geography="Germany",
             paired="germanynorth"),
    location("germanynorth", "Germany North", physical="Berlin", geography="Germany", paired="germanywestcentral"),
    location("eastus", "East US", physical="Virginia", geography="United States", group="US", paired="westus"),
    location("westus", "West US", physical="California", geography="United States", group="US", paired="eastus"),
    location("europe", "Europe", physical="", geography="Europe", region_type="Logical"),
]

_TRUNCATE = "x-fake-truncate"
"""Internal mark of an answer whose body is cut off (never sent as a header)."""
_PROVIDER_LIST = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+)/([^/]+)$", re.I)
_SERVER_CHILD = re.compile(
    r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.sql/servers/[^/]+)/"
    r"(databases|replicationlinks|failovergroups)$", re.I)


class FakeArm:
    """A fake tenant: subscriptions, locations, resources by subscription, SQL children, faults."""

    def __init__(self, *, page_size: int = 50, locations: list[dict[str, Any]] | None = None) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.management_groups: dict[str, list[str]] = {}
        self.locations = list(DEFAULT_LOCATIONS if locations is None else locations)
        self.resources: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sql_children: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.faults: list[Fault] = []
        self.denied: set[str] = set()
        self.permissions: dict[str, list[dict[str, Any]]] = {}
        self.page_size = page_size
        self.latency = 0.0
        """Seconds every request waits before it is answered (0: answered at once)."""
        self.requests: list[tuple[str, str]] = []
        self.graph_bodies: list[dict[str, Any]] = []
        self.url = ""
        self._lock = threading.Lock()

    # -- building the tenant -------------------------------------------------------------------
    def add_subscription(self, sub: str, name: str = "", *, state: str = "Enabled",
                         management_group: str | None = None) -> str:
        self.subscriptions[sub] = {"id": f"/subscriptions/{sub}", "subscriptionId": sub,
                                   "tenantId": "72f988bf-0000-0000-0000-000000000000",
                                   "displayName": name or sub, "state": state,
                                   "authorizationSource": "RoleBased",
                                   "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                            "quotaId": "Internal_2014-09-01",
                                                            "spendingLimit": "Off"}}
        if management_group:
            self.management_groups.setdefault(management_group.lower(), []).append(sub)
        return sub

    def add_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        sub = resource["id"].split("/")[2]
        self.resources.setdefault((sub.lower(), resource["type"].lower()), []).append(resource)
        return resource

    def add_sql_child(self, server_id: str, kind: str, item: dict[str, Any]) -> dict[str, Any]:
        self.sql_children.setdefault((server_id.lower(), kind.lower()), []).append(item)
        return item

    def deny(self, sub: str) -> None:
        """The caller holds no role on ``sub``: 403 on its paths, and Resource Graph leaves its rows out."""
        self.denied.add(sub.lower())

    def grant(self, scope: str, actions: list[str], not_actions: list[str] | None = None) -> None:
        """The caller's effective permissions on a subscription or management group (default ``*/read``)."""
        self.permissions[scope.lower()] = [{"actions": actions, "notActions": not_actions or [],
                                            "dataActions": [], "notDataActions": []}]

    def fail(self, path: str, status: int, code: str, **kwargs: Any) -> Fault:
        fault = Fault(path=path, status=status, code=code, **kwargs)
        self.faults.append(fault)
        return fault

    def count(self, pattern: str, method: str | None = None) -> int:
        """How many received requests match ``pattern`` (a regex, case-insensitive)."""
        return sum(1 for m, p in self.requests if re.search(pattern, p, re.I) and (method is None or m == method))

    # -- answering ----------------------------------------------------------------------------
    def _fault(self, method: str, path: str, query: str,
               body: bytes) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        answer: tuple[int, Any, dict[str, str]] | None = None
        delay = 0.0
        with self._lock:
            for fault in self.faults:
                if (fault.times > 0 and fault.method == method and re.search(fault.path, path, re.I)
                        and fault.query in query and fault.body in body.decode("utf-8", "replace")):
                    fault.times -= 1
                    delay = fault.delay
                    payload = fault.reply if fault.reply is not None else {
                        "error": {"code": fault.code, "message": fault.message}}
                    answer = (fault.status, payload, {**fault.headers, _TRUNCATE: "1"} if fault.truncate
                              else fault.headers)
                    break
        if delay:
            time.sleep(delay)  # outside the lock: other requests are answered meanwhile
        return answer

    def _page(self, items: list[dict[str, Any]], path: str, query: dict[str, list[str]]) -> dict[str, Any]:
        start = int((query.get("$skiptoken") or ["0"])[0])
        page = items[start:start + self.page_size]
        body: dict[str, Any] = {"value": page}
        if start + self.page_size < len(items):
            version = (query.get("api-version") or [""])[0]
            body["nextLink"] = f"{self.url}{path}?api-version={version}&$skiptoken={start + self.page_size}"
        return body

    def handle(self, method: str, raw: str, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        split = urlsplit(raw)
        path = split.path.rstrip("/") or "/"
        query = parse_qs(split.query)
        with self._lock:
            self.requests.append((method, path))
        readonly_azure.record(method, path)
        if self.latency:
            time.sleep(self.latency)  # outside the lock: requests in flight wait side by side
        fault = self._fault(method, path, split.query, body)
        if fault is not None:
            return fault
        low = path.lower()
        denied = re.match(r"^/subscriptions/([^/]+)", low)
        if denied and denied.group(1) in self.denied:
            sub = path.split("/")[2]
            return 403, {"error": {"code": "AuthorizationFailed", "message": (
                f"The client '00000000-aaaa-bbbb-cccc-000000000000' with object id "
                f"'00000000-aaaa-bbbb-cccc-000000000000' does not have authorization to perform action "
                f"'Microsoft.Authorization/permissions/read' over scope '/subscriptions/{sub}' or the scope is "
                f"invalid. If access was recently granted, please refresh your credentials.")}}, {}
        perm = re.match(r"^(?:/subscriptions/([^/]+)|/providers/microsoft\.management/managementgroups/([^/]+))"
                        r"/providers/microsoft\.authorization/permissions$", low)
        if perm and method == "GET":
            scope = perm.group(1) or perm.group(2)
            default = [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]
            return 200, {"value": self.permissions.get(scope, default)}, {}
        if method == "POST" and low == "/providers/microsoft.resourcegraph/resources":
            return 200, self._graph(json.loads(body or b"{}")), {}
        if method != "GET":
            return 405, {"error": {"code": "MethodNotAllowed", "message": f"{method} not served"}}, {}
        if low == "/subscriptions":
            return 200, self._page(sorted(self.subscriptions.values(), key=lambda s: s["subscriptionId"]),
                                   path, query), {}
        m = re.match(r"^/subscriptions/([^/]+)/locations$", low)
        if m:
            sub = path.split("/")[2]
            items = json.loads(json.dumps(self.locations).replace("{sub}", sub))
            return 200, {"value": items}, {}
        m = _PROVIDER_LIST.match(path)
        if m:
            sub, ns, typ = m.groups()
            items = self.resources.get((sub.lower(), f"{ns}/{typ}".lower()), [])
            return 200, self._page(sorted(items, key=lambda r: r["id"].lower()), path, query), {}
        m = _SERVER_CHILD.match(path)
        if m:
            server, kind = m.groups()
            items = list(self.sql_children.get((server.lower(), kind.lower()), []))
            if kind.lower() == "databases":
                items += [r for r in self.resources.get((path.split("/")[2].lower(), "microsoft.sql/servers/databases"), [])
                          if r["id"].lower().startswith(server.lower() + "/databases/")]
            return 200, self._page(items, path, query), {}
        return 404, {"error": {"code": "NotFound", "message": f"no route {path}"}}, {}

    def _graph(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.graph_bodies.append(request)
        options = request.get("options") or {}
        rows = self.graph_rows(request)
        top = int(options.get("$top") or 100)
        start = int(options.get("$skipToken") or 0)
        page = rows[start:start + top]
        body: dict[str, Any] = {"totalRecords": len(rows), "count": len(page), "data": page, "facets": [],
                                "resultTruncated": "false"}
        if start + top < len(rows):
            body["$skipToken"] = str(start + top)
        return body

    def graph_rows(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row of a Resource Graph query (built again for each page asked for)."""
        query = str(request.get("query") or "")
        subs = [s.lower() for s in request.get("subscriptions") or []]
        for mg in request.get("managementGroups") or []:
            subs += [s.lower() for s in self.management_groups.get(mg.lower(), [])]
        subs = [s for s in subs if s not in self.denied]  # left out without a word, as Resource Graph does
        if "resourcecontainers" in query.lower():
            rows = [{"id": s["id"], "subscriptionId": s["subscriptionId"], "name": s["displayName"]}
                    for s in self.subscriptions.values() if s["subscriptionId"].lower() in subs]
        else:
            clause = re.search(r"type in~ \(([^)]*)\)", query)
            types = set(re.findall(r"'([^']+)'", clause.group(1))) if clause else set()
            rows = [dict(r, subscriptionId=sub) for (sub, typ), items in self.resources.items()
                    if sub in subs and typ in types for r in items]
        rows.sort(key=lambda r: r["id"].lower())
        return rows

    # -- serving ------------------------------------------------------------------------------
    @contextmanager
    def serve(self, ca: Any) -> Iterator[str]:
        """Serve HTTPS on 127.0.0.1 with a certificate of ``ca`` (a trustme CA); yields the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The status line and headers go out in one write, the body in another: with Nagle's
            # algorithm on, the body waits for the client's delayed ACK of the headers (40 ms on
            # Linux loopback), which would add that much to every answer.
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload, headers = fake.handle(self.command, self.path, body)
                data = json.dumps(payload).encode()
                truncate = _TRUNCATE in headers
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-ms-request-id", "00000000-0000-0000-0000-000000000000")
                for k, v in headers.items():
                    if k != _TRUNCATE:
                        self.send_header(k, v)
                self.end_headers()
                if truncate:  # the body is cut off: half of it, then the connection closes
                    self.wfile.write(data[:len(data) // 2])
                    self.close_connection = True
                    return
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A client that gave up (a test of timeouts) closes while a handler still writes: that is
        # expected here, and must not print a traceback into a later test's captured output.
        server.handle_error = quiet_disconnect(server.handle_error)  # type: ignore[method-assign]
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self.url
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@contextmanager
def silent_server(ca: Any) -> Iterator[tuple[str, list[int]]]:
    """A TLS server on 127.0.0.1 that accepts connections, completes the handshake and never answers.

    Yields the base URL and a list that gets one entry per connection accepted.
    """
    import socket

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    accepted: list[int] = []
    held: list[Any] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            accepted.append(1)
            try:
                conn.settimeout(5)
                held.append(context.wrap_socket(conn, server_side=True))
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{listener.getsockname()[1]}", accepted
    finally:
        stop.set()
        thread.join(timeout=5)
        for s in held:
            s.close()
        listener.close()
