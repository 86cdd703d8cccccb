"""A small loopback fake of the Google APIs the GCP adapter reads, over plain HTTP (REST).

It answers Resource Manager v3 (folders and projects, list and get, projects
``testIamPermissions``), Cloud Storage JSON API
v1 (buckets list and get) and Cloud Asset v1 ``searchAllResources``, with bodies shaped like
Google's published REST reference: camelCase fields, ``nextPageToken`` paging, upper-case bucket
``location``, ``locationType``, ``customPlacementConfig.dataLocations``, ``rpo``, and errors as
``{"error": {"code", "message", "status", "errors"?, "details"?}}``.

Every request it receives is passed to ``on_request`` (by default the run-wide read-only
record of ``tests.plugins.readonly_gcp``). Faults are queued per operation and key (a project,
a parent, a scope, or ``scope@pageToken`` for one page of a search).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.plugins import readonly_gcp
from tests.providers.servers import quiet_disconnect

ORG = "organizations/100"


def error_body(kind: str, *, service: str = "cloudasset.googleapis.com",
               consumer: str = "projects/0") -> tuple[int, dict[str, Any]]:
    """A Google error response: ``denied``, ``disabled``, ``disabled-storage``, ``quota``."""
    if kind == "denied":
        return 403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                               "message": "The caller does not have permission"}}
    if kind == "disabled":
        return 403, {"error": {
            "code": 403, "status": "PERMISSION_DENIED",
            "message": f"{service} has not been used in project {consumer} before or it is "
                       "disabled.",
            "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                         "reason": "SERVICE_DISABLED", "domain": "googleapis.com",
                         "metadata": {"service": service, "consumer": consumer}}]}}
    if kind == "disabled-storage":
        msg = "Cloud Storage JSON API has not been used in project before or it is disabled."
        return 403, {"error": {"code": 403, "message": msg,
                               "errors": [{"message": msg, "domain": "usageLimits",
                                           "reason": "accessNotConfigured"}]}}
    if kind == "quota":
        return 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                               "message": "Quota exceeded for quota metric 'Read requests'"}}
    if kind == "unavailable":
        return 503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "backend error"}}
    raise ValueError(kind)


@dataclass
class FakeGcp:
    """The state of a fake organisation. Add folders, projects, buckets and assets, then serve."""

    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    buckets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    assets: list[dict[str, Any]] = field(default_factory=list)
    faults: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    bucket_versioned: bool = True
    list_page_size: int = 100
    bucket_page_size: int = 1000
    latency: float = 0.0
    on_request: Callable[[str, str], None] = readonly_gcp.record
    requests: list[tuple[str, str]] = field(default_factory=list)
    unsearchable: set[str] = field(default_factory=set)
    """Project ids whose caller lacks ``cloudasset.assets.searchAllResources``: an organisation
    or folder search leaves their resources out with no error (as Google's does)."""
    raw_results: list[dict[str, Any]] = field(default_factory=list)
    """Search results served as given (malformed ones too), after the estate's own."""
    hang: set[str] = field(default_factory=set)
    """Operations (``search``, ``testIamPermissions``, ``buckets.list``, …, or ``*``) that
    accept the request and never answer (until the server stops)."""
    _stopping: threading.Event = field(default_factory=threading.Event)

    # -- building the estate -------------------------------------------------------------
    def add_folder(self, number: str, display_name: str, parent: str = ORG) -> str:
        name = f"folders/{number}"
        self.folders[name] = {"name": name, "displayName": display_name, "parent": parent,
                              "state": "ACTIVE"}
        return name

    def add_project(self, project_id: str, number: str, parent: str = ORG,
                    labels: dict[str, str] | None = None) -> str:
        name = f"projects/{number}"
        self.projects[name] = {"name": name, "projectId": project_id, "parent": parent,
                               "displayName": project_id, "state": "ACTIVE",
                               "labels": labels or {}}
        self.buckets.setdefault(project_id, [])
        return name

    def add_bucket(self, project_id: str, name: str, location: str, location_type: str,
                   *, data_locations: list[str] | None = None, rpo: str | None = None,
                   labels: dict[str, str] | None = None) -> None:
        number = self._project_by_id(project_id)["name"].removeprefix("projects/")
        body: dict[str, Any] = {
            "kind": "storage#bucket", "id": name, "name": name,
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{name}",
            "projectNumber": number, "metageneration": "1", "location": location.upper(),
            "locationType": location_type, "storageClass": "STANDARD",
            "timeCreated": "2026-01-10T09:00:00.000Z", "updated": "2026-01-10T09:00:00.000Z",
            "etag": "CAE=",
        }
        if data_locations:
            body["customPlacementConfig"] = {"dataLocations": [d.upper() for d in data_locations]}
        if rpo:
            body["rpo"] = rpo
        if labels:
            body["labels"] = labels
        self.buckets[project_id].append(body)

    def add_asset(self, project_id: str, asset_type: str, name: str, location: str,
                  resource: dict[str, Any] | None = None,
                  labels: dict[str, str] | None = None) -> None:
        project = self._project_by_id(project_id)
        result: dict[str, Any] = {
            "name": name, "assetType": asset_type, "project": project["name"],
            "folders": self._ancestors(project["parent"]), "organization": ORG,
            "displayName": name.rsplit("/", 1)[-1], "location": location,
            "labels": labels or {}, "state": "READY",
        }
        if resource is not None:
            result["versionedResources"] = [{"version": "v1", "resource": resource}]
        self.assets.append(result)

    def fail(self, operation: str, key: str, kind: str, times: int = 1) -> None:
        """Answer ``operation`` on ``key`` with error ``kind`` the next ``times`` times."""
        self.faults.setdefault((operation, key), []).extend([error_body(kind)] * times)

    # -- helpers -------------------------------------------------------------------------
    def _project_by_id(self, key: str) -> dict[str, Any]:
        for p in self.projects.values():
            if key.removeprefix("projects/") in (p["projectId"], p["name"].removeprefix("projects/")):
                return p
        raise KeyError(key)

    def _ancestors(self, parent: str) -> list[str]:
        out = []
        while parent.startswith("folders/") and parent in self.folders:
            out.append(parent)
            parent = self.folders[parent]["parent"]
        return out

    def _in_scope(self, project: dict[str, Any], scope: str) -> bool:
        if scope.startswith("organizations/"):
            return True
        if scope.startswith("folders/"):
            return scope in self._ancestors(project["parent"])
        key = scope.removeprefix("projects/")
        return key in (project["projectId"], project["name"].removeprefix("projects/"))

    def _bucket_asset(self, project: dict[str, Any], bucket: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = {
            "name": f"//storage.googleapis.com/{bucket['name']}",
            "assetType": "storage.googleapis.com/Bucket", "project": project["name"],
            "folders": self._ancestors(project["parent"]), "organization": ORG,
            "displayName": bucket["name"], "location": bucket["location"].lower(),
            "labels": bucket.get("labels", {}),
        }
        if self.bucket_versioned:
            result["versionedResources"] = [{"version": "v1", "resource": bucket}]
        return result

    def search(self, scope: str, asset_types: list[str]) -> list[dict[str, Any]]:
        out = []
        for project in sorted(self.projects.values(), key=lambda p: p["name"]):
            if not self._in_scope(project, scope):
                continue
            if project["projectId"] in self.unsearchable and not scope.startswith("projects/"):
                continue
            out.extend(self._bucket_asset(project, b) for b in self.buckets[project["projectId"]])
            out.extend(a for a in self.assets if a["project"] == project["name"])
        out = [r for r in out if not asset_types or r["assetType"] in asset_types]
        return out + list(self.raw_results)

    def test_permissions(self, name: str, asked: list[str]) -> tuple[int, dict[str, Any]]:
        """``projects.testIamPermissions``: the subset of ``asked`` the caller holds."""
        try:
            project = self._project_by_id(name)
        except KeyError:
            return 403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                   "message": f"Permission denied on resource '{name}' (or it "
                                              "may not exist)."}}
        held = [p for p in asked if not (p == "cloudasset.assets.searchAllResources"
                                         and project["projectId"] in self.unsearchable)]
        return 200, ({"permissions": sorted(held)} if held else {})

    # -- HTTP ----------------------------------------------------------------------------
    def _hangs(self, operation: str) -> bool:
        if operation in self.hang or "*" in self.hang:
            self._stopping.wait()
            return True
        return False

    def handle(self, method: str, raw_path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
        self.requests.append((method, raw_path))
        self.on_request(method, raw_path)
        if self.latency:
            time.sleep(self.latency)
        parts = urlsplit(raw_path)
        path, query = unquote(parts.path), parse_qs(parts.query)
        q = {k: v[0] for k, v in query.items()}
        operation = _operation(method, path)
        if self._hangs(operation):
            return 503, {"error": {"code": 503, "status": "UNAVAILABLE", "message": "stopping"}}
        if method == "POST" and path.startswith("/v3/projects/") and path.endswith(
                ":testIamPermissions"):
            name = path.removeprefix("/v3/").removesuffix(":testIamPermissions")
            fault = self._fault("testIamPermissions", name)
            if fault:
                return fault
            try:
                asked = json.loads(body or b"{}").get("permissions") or []
            except ValueError:
                return 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                       "message": "bad body"}}
            return self.test_permissions(name, list(asked))
        if method != "GET":
            return 405, {"error": {"code": 405, "message": "read-only fake", "status": "UNIMPLEMENTED"}}
        token = q.get("pageToken", "")
        if path == "/v3/folders":
            items = [f for f in self.folders.values() if f["parent"] == q.get("parent")]
            return self._paged("folders.list", q.get("parent", ""), "folders", items, q,
                               self.list_page_size)
        if path == "/v3/projects":
            items = [p for p in self.projects.values() if p["parent"] == q.get("parent")]
            return self._paged("projects.list", q.get("parent", ""), "projects", items, q,
                               self.list_page_size)
        if path.startswith("/v3/folders/"):
            name = path.removeprefix("/v3/")
            fault = self._fault("folders.get", name)
            if fault:
                return fault
            return (200, self.folders[name]) if name in self.folders else _not_found(name)
        if path.startswith("/v3/projects/"):
            name = path.removeprefix("/v3/")
            fault = self._fault("projects.get", name)
            if fault:
                return fault
            try:
                return 200, self._project_by_id(name)
            except KeyError:
                return _not_found(name)
        if path.endswith(":searchAllResources") and path.startswith("/v1/"):
            scope = path.removeprefix("/v1/").removesuffix(":searchAllResources")
            fault = self._fault("search", f"{scope}@{token}" if token else scope) or self._fault(
                "search", scope)
            if fault:
                return fault
            if scope.startswith("projects/") and self._project_by_id(scope)[
                    "projectId"] in self.unsearchable:
                return 403, {"error": {
                    "code": 403, "status": "PERMISSION_DENIED",
                    "message": f"The caller does not have permission "
                               f"'cloudasset.assets.searchAllResources' on {scope}"}}
            items = self.search(scope, query.get("assetTypes", []))
            if "versionedResources" not in q.get("readMask", "").split(","):
                # not returned unless the read mask names it (REST reference, readMask)
                items = [{k: v for k, v in r.items() if k != "versionedResources"} for r in items]
            size = min(int(q.get("pageSize") or 100), 500)
            return self._page("results", items, token, size)
        if path == "/storage/v1/b":
            project = q.get("project", "")
            fault = self._fault("buckets.list", project)
            if fault:
                return fault
            try:
                self._project_by_id(project)
            except KeyError:
                return _not_found(project)
            items = sorted(self.buckets.get(self._project_by_id(project)["projectId"], []),
                           key=lambda b: b["name"])
            size = min(int(q.get("maxResults") or 1000), self.bucket_page_size)
            status, body = self._page("items", items, token, size)
            body["kind"] = "storage#buckets"
            return status, body
        if path.startswith("/storage/v1/b/"):
            name = path.removeprefix("/storage/v1/b/")
            fault = self._fault("buckets.get", name)
            if fault:
                return fault
            for items in self.buckets.values():
                for b in items:
                    if b["name"] == name:
                        return 200, b
            return _not_found(name)
        return _not_found(path)

    def _fault(self, operation: str, key: str) -> tuple[int, dict[str, Any]] | None:
        queue = self.faults.get((operation, key))
        return queue.pop(0) if queue else None

    def _paged(self, operation: str, key: str, field_name: str, items: list[dict[str, Any]],
               q: dict[str, str], default: int) -> tuple[int, dict[str, Any]]:
        fault = self._fault(operation, key)
        if fault:
            return fault
        items = sorted(items, key=lambda x: x["name"])
        return self._page(field_name, items, q.get("pageToken", ""),
                          int(q.get("pageSize") or default))

    @staticmethod
    def _page(field_name: str, items: list[dict[str, Any]], token: str, size: int
              ) -> tuple[int, dict[str, Any]]:
        start = int(token or 0)
        body: dict[str, Any] = {field_name: items[start:start + size]}
        if start + size < len(items):
            body["nextPageToken"] = str(start + size)
        return 200, body

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve on 127.0.0.1 (a free port) while in the block; yields the base URL."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are written separately: without this, Nagle's algorithm and
            # delayed ACKs stall every keep-alive response by ~40 ms
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received = self.rfile.read(length) if length else b""
                status, body = fake.handle(self.command, self.path, received)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = _Server(("127.0.0.1", 0), Handler)
        # A client that gave up (a test of timeouts) closes while a handler still writes: that is
        # expected here, and must not print a traceback into a later test's captured output.
        server.handle_error = quiet_disconnect(server.handle_error)  # type: ignore[method-assign]
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                  daemon=True)
        thread.start()
        self._stopping.clear()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            self._stopping.set()
            server.shutdown()
            server.server_close()
            thread.join()


class _Server(ThreadingHTTPServer):
    """The fake's HTTP server, with a listen backlog as a real frontend has: the socketserver
    default (5) drops connections a client opens side by side (the hierarchy walk opens ten)
    while the accept loop is slow, and each dropped one waits a second for its SYN to be sent
    again."""

    request_queue_size = 128


def _not_found(name: str) -> tuple[int, dict[str, Any]]:
    return 404, {"error": {"code": 404, "status": "NOT_FOUND", "message": f"{name} not found"}}


def _operation(method: str, path: str) -> str:
    """The fake's name of the operation a request is (for ``hang``)."""
    if path.endswith(":testIamPermissions"):
        return "testIamPermissions"
    if path.endswith(":searchAllResources"):
        return "search"
    if path == "/v3/folders":
        return "folders.list"
    if path == "/v3/projects":
        return "projects.list"
    if path.startswith("/v3/folders/"):
        return "folders.get"
    if path.startswith("/v3/projects/"):
        return "projects.get"
    if path == "/storage/v1/b":
        return "buckets.list"
    if path.startswith("/storage/v1/b/"):
        return "buckets.get"
    return method
