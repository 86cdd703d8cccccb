"""A loopback fake of the OCI REST APIs the adapter reads, one HTTP server per region.

Bodies follow Oracle's API reference (the SDK models' ``attribute_map`` gives the JSON names):
Identity (``/20160918/tenancies``, ``/compartments``, ``/availabilityDomains``), Object Storage
(``/n``, ``/n/{ns}/b``, replication policies and sources), Database (``/20160918/autonomousDatabases``,
``/peers``, ``/dbSystems``, ``/databases``, ``/dataGuardAssociations``), Block Volume
(``/20160918/volumes``, ``/bootVolumes``, ``/volumeGroups``, backup policies and assignments),
File Storage (``/20171215/replications``), Key Management (``/20180608/vaults``,
``/actions/listReplicas``) and Resource Search (``POST /20180409/resources``). Lists page with
``limit``/``page`` and the ``opc-next-page`` header; errors are ``{"code", "message"}``.

Request signing carries no region, so each region is its own server (its own port). Every request
must carry an OCI signature (``Authorization: Signature version="1",keyId=…``), checked against
``public_key`` when one is set. A request that is
not one of the adapter's allow-listed read operations is refused with 405 and kept in
``violations``: the tests fail on any.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from residency_audit.providers.oci.operations import operation_for_request
from tests.providers.servers import quiet_disconnect

CREATED = "2026-01-15T10:00:00.000Z"


@dataclass
class Fault:
    """An injected answer: ``status`` with ``code``/``message``, ``times`` times (0: always);
    ``hang`` seconds of silence before answering (a dead endpoint)."""

    status: int = 500
    code: str = "InternalServerError"
    message: str = "Internal error"
    times: int = 0
    hang: float = 0.0
    used: int = 0


@dataclass
class Region:
    """What one region holds: records per collection, each a JSON body (camelCase)."""

    name: str
    key: str
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, collection: str, record: dict[str, Any]) -> dict[str, Any]:
        self.items.setdefault(collection, []).append(record)
        return record


class FakeOci:
    """A tenancy: regions, compartments and resources; ``serve()`` starts one server per region."""

    def __init__(self, *, tenancy: str = "ocid1.tenancy.oc1..aaaaacmehealth", name: str = "acme-health",
                 home: str = "uk-london-1", namespace: str = "acmens") -> None:
        self.tenancy = tenancy
        self.name = name
        self.home = home
        self.namespace = namespace
        self.regions: dict[str, Region] = {}
        self.subscriptions: list[dict[str, Any]] = []
        self.compartments: list[dict[str, Any]] = []
        self.faults: list[tuple[str, str, re.Pattern[str], Fault]] = []
        self.violations: list[str] = []
        self.requests: dict[str, int] = {}
        self.unsigned: list[str] = []
        self.key_ids: set[str] = set()
        self.public_key: Any = None
        """When set (a ``cryptography`` RSA public key), every request's signature is checked."""
        self.latency = 0.0
        """Seconds every answer waits (a stand-in for the network and the API's own time)."""
        self._lock = threading.Lock()

    # ------------------------------------------------------------ building the tenancy

    def region(self, name: str, key: str, *, subscribed: bool = True, status: str = "READY") -> Region:
        r = self.regions.setdefault(name, Region(name=name, key=key))
        if subscribed:
            self.subscriptions.append({"regionKey": key.upper(), "regionName": name,
                                       "status": status, "isHomeRegion": name == self.home})
        return r

    def compartment(self, cid: str, name: str, *, parent: str | None = None, accessible: bool = True,
                    tags: dict[str, Any] | None = None) -> str:
        self.compartments.append({
            "id": cid, "compartmentId": parent or self.tenancy, "name": name,
            "description": f"{name} compartment", "timeCreated": CREATED,
            "lifecycleState": "ACTIVE", "isAccessible": accessible,
            "freeformTags": tags or {}, "definedTags": {}})
        return cid

    def fault(self, region: str, method: str, path: str, fault: Fault) -> Fault:
        """Answer requests of ``method`` whose path and query match the regex ``path``."""
        self.faults.append((region, method.upper(), re.compile(path), fault))
        return fault

    # ------------------------------------------------------------ serving

    @contextlib.contextmanager
    def serve(self) -> Iterator[dict[str, str]]:
        """Start one server per region; yields region → base URL."""
        servers = []
        urls: dict[str, str] = {}
        for name in sorted(self.regions):
            server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, name))
            server.handle_error = quiet_disconnect(server.handle_error)  # type: ignore[method-assign]
            server.daemon_threads = True
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                      daemon=True)
            thread.start()
            servers.append(server)
            urls[name] = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield urls
        finally:
            for server in servers:
                server.shutdown()
                server.server_close()

    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def _count(self, region: str, op: str) -> None:
        with self._lock:
            self.requests[f"{region} {op}"] = self.requests.get(f"{region} {op}", 0) + 1

    def _fault_for(self, region: str, method: str, path: str) -> Fault | None:
        with self._lock:
            for where, m, pattern, fault in self.faults:
                if where in (region, "*") and m == method and pattern.search(path):
                    if fault.times and fault.used >= fault.times:
                        continue
                    fault.used += 1
                    return fault
        return None

    # ------------------------------------------------------------ answering

    def answer(self, region: str, method: str, path: str, query: dict[str, list[str]],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        r = self.regions[region]
        q = {k: v[0] for k, v in query.items()}
        parts = [unquote(p) for p in path.strip("/").split("/")]
        comp = q.get("compartmentId", "")

        def in_compartment(coll: str) -> list[dict[str, Any]]:
            return [x for x in r.items.get(coll, []) if x.get("compartmentId") == comp]

        if parts[:2] == ["20160918", "tenancies"]:
            if parts[2] != self.tenancy:
                return _error(404, "NotAuthorizedOrNotFound", "Authorization failed or requested "
                              "resource not found.")
            if len(parts) == 4:
                return 200, self.subscriptions, {}
            home_key = next(s["regionKey"] for s in self.subscriptions if s["isHomeRegion"])
            return 200, {"id": self.tenancy, "name": self.name, "description": "tenancy",
                         "homeRegionKey": home_key, "freeformTags": {}, "definedTags": {}}, {}
        if parts[:2] == ["20160918", "compartments"]:
            if len(parts) == 3:
                found = [c for c in self.compartments if c["id"] == parts[2]]
                return (200, found[0], {}) if found else _error(
                    404, "NotAuthorizedOrNotFound", "Authorization failed or requested resource not found.")
            if q.get("compartmentIdInSubtree") == "true":
                if comp != self.tenancy:
                    return _error(400, "InvalidParameter",
                                  "compartmentIdInSubtree can only be true for the root compartment")
                return self._page(self.compartments, q)
            return self._page([c for c in self.compartments if c["compartmentId"] == comp], q)
        if parts[:2] == ["20160918", "availabilityDomains"]:
            return 200, [{"name": f"Uocm:{region.upper()}-AD-{i}", "id": f"ocid1.availabilitydomain.oc1..ad{i}",
                          "compartmentId": self.tenancy} for i in (1, 2)], {}
        if parts == ["n"]:
            return 200, self.namespace, {}
        if parts[0] == "n":
            if parts[1] != self.namespace:
                return _error(404, "NamespaceNotFound", "You do not have authorization to perform "
                              "this request, or the requested resource could not be found.")
            if len(parts) == 3:
                return self._page([_summary(b) for b in in_compartment("buckets")], q)
            bucket = next((b for b in r.items.get("buckets", []) if b["name"] == parts[3]), None)
            if bucket is None:
                return _error(404, "BucketNotFound", f"Either the bucket named '{parts[3]}' does not "
                              "exist in the namespace or you are not authorized to access it")
            if len(parts) == 4:
                return 200, bucket, {}
            if parts[4] == "replicationPolicies":
                return self._page(r.items.get(f"policies:{parts[3]}", []), q)
            return self._page(r.items.get(f"sources:{parts[3]}", []), q)
        if parts[:2] == ["20160918", "autonomousDatabases"]:
            if len(parts) == 2:
                return self._page(in_compartment("adbs"), q)
            return 200, {"items": r.items.get(f"peers:{parts[2]}", [])}, {}
        if parts[:2] == ["20160918", "dbSystems"]:
            return self._page(in_compartment("dbsystems"), q)
        if parts[:2] == ["20160918", "databases"]:
            if len(parts) == 2:
                return self._page([d for d in in_compartment("databases")
                                   if d.get("dbSystemId") == q.get("systemId")], q)
            return self._page(r.items.get(f"associations:{parts[2]}", []), q)
        if parts[:2] == ["20160918", "volumes"]:
            return self._page(in_compartment("volumes"), q)
        if parts[:2] == ["20160918", "bootVolumes"]:
            return self._page(in_compartment("bootvolumes"), q)
        if parts[:2] == ["20160918", "volumeGroups"]:
            return self._page(in_compartment("volumegroups"), q)
        if parts[:2] == ["20160918", "volumeBackupPolicyAssignments"]:
            return self._page(r.items.get(f"assignments:{q.get('assetId')}", []), q)
        if parts[:2] == ["20160918", "volumeBackupPolicies"]:
            policy = r.by_id.get(parts[2])
            return (200, policy, {}) if policy else _error(404, "NotAuthorizedOrNotFound", "not found")
        if parts[:2] == ["20171215", "replications"]:
            if len(parts) == 2:
                rows = [x for x in in_compartment("replications")
                        if x.get("availabilityDomain") == q.get("availabilityDomain")]
                return self._page([{k: v for k, v in x.items() if k not in ("sourceId", "targetId")}
                                   for x in rows], q)
            rep = next((x for x in r.items.get("replications", []) if x["id"] == parts[2]), None)
            return (200, rep, {}) if rep else _error(404, "NotAuthorizedOrNotFound", "not found")
        if parts[:2] == ["20180608", "vaults"]:
            if len(parts) == 2:
                return self._page(in_compartment("vaults"), q)
            return self._page(r.items.get(f"vaultreplicas:{parts[2]}", []), q)
        if parts[:2] == ["20180409", "resources"]:
            return self._search(r, json.loads(body or b"{}"), q)
        return _error(404, "NotFound", f"no route {path}")

    def _page(self, rows: list[Any], q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        limit = int(q.get("limit") or 100)
        start = int(q.get("page") or 0)
        chunk = rows[start:start + limit]
        headers = {"opc-next-page": str(start + limit)} if start + limit < len(rows) else {}
        return 200, chunk, headers

    def _search(self, r: Region, details: dict[str, Any], q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if details.get("type") != "Structured" or not str(details.get("query", "")).startswith("query "):
            return _error(400, "InvalidParameter", "Invalid query")
        types = {t.strip().lower() for t in
                 str(details["query"]).removeprefix("query ").removesuffix(" resources").split(",")}
        names = {"buckets": "Bucket", "adbs": "AutonomousDatabase", "dbsystems": "DbSystem",
                 "volumes": "Volume", "bootvolumes": "BootVolume", "volumegroups": "VolumeGroup",
                 "filesystems": "FileSystem", "vaults": "Vault"}
        rows = []
        for coll, rtype in sorted(names.items()):
            if rtype.lower() not in types:
                continue
            for x in r.items.get(coll, []):
                rows.append({"resourceType": rtype,
                             "identifier": x.get("id") or f"ocid1.bucket.oc1.{r.name}.{x['name']}",
                             "compartmentId": x["compartmentId"], "timeCreated": CREATED,
                             "displayName": x.get("displayName") or x.get("name"),
                             "lifecycleState": x.get("lifecycleState", "ACTIVE"),
                             "freeformTags": x.get("freeformTags", {}),
                             "definedTags": x.get("definedTags", {}), "systemTags": {},
                             "identityContext": {}, "additionalDetails": {}})
        status, chunk, headers = self._page(rows, q)
        return status, {"items": chunk}, headers


def _summary(bucket: dict[str, Any]) -> dict[str, Any]:
    keep = ("namespace", "name", "compartmentId", "createdBy", "timeCreated", "etag",
            "freeformTags", "definedTags")
    return {k: bucket[k] for k in keep if k in bucket}


def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"code": code, "message": message}, {}


_KEY_ID = re.compile(r'^Signature .*keyId="([^"]+)"')
_PARAM = re.compile(r'(\w+)="([^"]*)"')


def signature_ok(public_key: Any, method: str, target: str, headers: Any, auth: str) -> bool:
    """Whether ``auth`` is a valid OCI (draft-cavage HTTP signature, rsa-sha256) signature of the
    request: the signing string is each signed header as ``name: value`` and
    ``(request-target)`` as ``method path?query``, joined by newlines."""
    import base64

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    params = dict(_PARAM.findall(auth))
    if params.get("algorithm") != "rsa-sha256" or "signature" not in params:
        return False
    lines = []
    for name in params.get("headers", "date").split():
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif headers.get(name) is None:
            return False
        else:
            lines.append(f"{name}: {headers.get(name)}")
    try:
        public_key.verify(base64.b64decode(params["signature"]), "\n".join(lines).encode(),
                          padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


def _handler(fake: FakeOci, region: str) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once: no delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            op = operation_for_request(method, split.path)
            if op is None:
                with fake._lock:
                    fake.violations.append(f"{region} {method} {split.path}")
                self._send(405, {"code": "NotAllowed", "message": "not a read operation"}, {})
                return
            fake._count(region, f"{op[0]}.{op[1]}")
            if fake.latency:
                threading.Event().wait(fake.latency)
            auth = self.headers.get("Authorization") or ""
            signed = _KEY_ID.match(auth)
            if signed and fake.public_key is not None and not signature_ok(
                    fake.public_key, method, self.path, self.headers, auth):
                signed = None
            if signed:
                with fake._lock:
                    fake.key_ids.add(signed.group(1))
            else:
                with fake._lock:
                    fake.unsigned.append(f"{method} {split.path}")
                self._send(401, {"code": "NotAuthenticated", "message": "The required information "
                                 "to complete authentication was not provided."}, {})
                return
            fault = fake._fault_for(region, method, self.path)
            if fault is not None:
                if fault.hang:
                    threading.Event().wait(fault.hang)
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self._send(fault.status, {"code": fault.code, "message": fault.message}, {})
                return
            status, payload, headers = fake.answer(region, method, split.path, parse_qs(split.query), body)
            self._send(status, payload, headers)

        def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("opc-request-id", "fake/req/1")
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

    return Handler
