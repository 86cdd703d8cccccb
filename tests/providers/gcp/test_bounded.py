"""Every failure through the CLI: exit code, no traceback, estate written, gaps present.

Dead endpoints (a loopback server that accepts and never answers), a service answering 5xx to
every call, quota errors that pass, a project the organisation search silently leaves out,
malformed search results, and a 403 whose reason sits behind a long URL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from residency_audit.cli import main
from residency_audit.providers.gcp.faults import Limits
from tests.providers.gcp.fakes import FakeGcp

FAST = ["--gcp-connect-timeout", "0.2", "--gcp-read-timeout", "0.3", "--gcp-attempts", "2",
        "--gcp-backoff-cap", "0.05"]
FAST_WORST = Limits(connect_timeout=0.2, read_timeout=0.3, max_attempts=2,
                    backoff_cap=0.05).worst_case_seconds()


SLACK = 8.0
"""Seconds allowed above the bound for process work on a loaded machine (the bound itself is
checked by counting the connections the silent server accepted)."""


@contextmanager
def silent_server(accepted: list[socket.socket] | None = None) -> Iterator[str]:
    """A loopback TCP server that accepts every connection and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = accepted if accepted is not None else []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


def _scan(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str
          ) -> tuple[int, dict[str, Any], float, str]:
    out = tmp_path / "estate.json"
    started = time.monotonic()
    code = main(["scan", "--gcp", "--gcp-transport", "rest", "--gcp-anonymous", *argv,
                 "-o", str(out)])
    elapsed = time.monotonic() - started
    err = capsys.readouterr().err
    assert "Traceback" not in err
    doc = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return code, doc, elapsed, err


def _gaps(doc: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [g for g in doc.get("gaps", []) if all(g.get(k) == v for k, v in match.items())]


def test_default_worst_case_is_within_two_minutes() -> None:
    limits = Limits()
    assert limits.worst_case_seconds() == limits.give_up_seconds() == 85.0 <= 120
    assert limits.retry_deadline() + limits.connect_timeout + limits.read_timeout == 85.0


def test_a_dead_endpoint_is_given_up_once_and_every_scope_is_a_gap(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted: list[socket.socket] = []
    with silent_server(accepted) as url:
        code, doc, elapsed, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                      "--gcp-endpoint", url, *FAST)
    assert code == 0 and doc["resources"] == []
    assert len(accepted) == 2                   # one call, --gcp-attempts 2; then given up
    assert elapsed < FAST_WORST + SLACK, elapsed
    [timeout] = _gaps(doc, error="TIMEOUT")
    assert (timeout["service"], timeout["scope"]) == ("resourcemanager", "organizations/100")
    assert _gaps(doc, error="GIVEN_UP")                     # the rest were not even called
    [not_read] = _gaps(doc, error="NOT_READ")
    assert (not_read["scope"], not_read["level"]) == ("organizations/100", "scope")


def test_a_dead_storage_endpoint_costs_one_call_for_all_projects(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted: list[socket.socket] = []
    with fake_org.serve() as url, silent_server(accepted) as dead:
        code, doc, elapsed, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                      "--gcp-endpoint", url, "--gcp-endpoint", f"storage={dead}",
                                      "--gcp-no-asset-search", *FAST)
    assert code == 0
    assert len(accepted) == 2 and elapsed < FAST_WORST + SLACK, elapsed
    assert len(_gaps(doc, error="TIMEOUT", service="storage")) == 1
    assert len(_gaps(doc, error="GIVEN_UP", service="storage")) == 3
    not_read = {g["scope"] for g in _gaps(doc, error="NOT_READ", level="scope")}
    assert not_read == {"ehr-prod", "research", "shared-infra", "locked", "organizations/100"}


def test_a_search_that_hangs_falls_back_within_the_bound(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.hang = {"search"}
    with fake_org.serve() as url:
        code, doc, elapsed, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                      "--gcp-endpoint", url, *FAST)
    assert code == 0 and elapsed < FAST_WORST + SLACK, elapsed
    assert len([r for r in doc["resources"] if r["service"] == "storage"]) == 8
    assert len([p for _, p in fake_org.requests if ":searchAllResources" in p]) == 2
    [gap] = _gaps(doc, error="TIMEOUT")
    assert gap["service"] == "cloudasset"
    assert len(_gaps(doc, error="NOT_SCANNED")) == 4
    assert _gaps(doc, error="READ_IN_PART", scope="organizations/100")


def test_5xx_on_every_call_is_given_up_for_that_project_not_retried_to_exhaustion(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.fail("buckets.list", "research", "unavailable", times=1000)
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, "--gcp-no-asset-search", *FAST)
    assert code == 0
    calls = [p for _, p in fake_org.requests if p.startswith("/storage/v1/b?project=research")]
    assert len(calls) == 2                                   # --gcp-attempts 2, then given up
    [gap] = _gaps(doc, error="UNAVAILABLE")
    assert (gap["scope"], gap["service"]) == ("research", "storage")
    assert _gaps(doc, error="NOT_READ", scope="research")
    assert {r["name"] for r in doc["resources"]} >= {"ehr-records", "shared-us", "locked-bucket"}


def test_quota_errors_back_off_and_recover(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.fail("search", "organizations/100", "quota", times=4)   # more than --gcp-attempts
    fake_org.fail("buckets.get", "ehr-dr", "quota", times=3)
    fake_org.bucket_versioned = False
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0 and doc["gaps"] == []
    assert len([r for r in doc["resources"] if r["service"] == "storage"]) == 8
    searches = [p for _, p in fake_org.requests if ":searchAllResources" in p]
    assert len(searches) == 5


def test_a_project_the_search_cannot_see_is_a_scope_gap_with_the_reason(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.unsearchable = {"research"}
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0
    assert not [r for r in doc["resources"] if r.get("account") == "research"]
    [gap] = _gaps(doc, scope="research", level="scope")
    assert gap["error"] == "PERMISSION_DENIED"
    assert "cloudasset.assets.searchAllResources" in gap["message"]
    [part] = _gaps(doc, error="READ_IN_PART", scope="organizations/100")
    assert "1 of 4 project(s) not read (research)" in part["message"]
    checks = [m for m, p in fake_org.requests if p.split("?")[0].endswith(":testIamPermissions")]
    # only the project the search returned nothing from is checked (one with a result is seen)
    assert checks == ["POST"]


def test_a_folder_scope_checks_only_its_projects(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.unsearchable = {"shared-infra"}
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-folder", "11", "--gcp-folder", "13",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0
    assert [g["scope"] for g in _gaps(doc, level="scope")] == ["shared-infra"]
    assert {g["scope"] for g in _gaps(doc, error="READ_IN_PART")} == {"folders/13"}


def test_a_project_scope_search_denied_is_a_gap_and_falls_back(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.unsearchable = {"research"}
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-project", "research",
                                "--gcp-project", "ehr-prod", "--gcp-endpoint", url, *FAST)
    assert code == 0
    [denied] = _gaps(doc, error="PERMISSION_DENIED")
    assert denied["scope"] == "projects/research"
    assert "cloudasset.assets.searchAllResources" in denied["message"]
    assert {r["name"] for r in doc["resources"] if r["account"] == "research"} == {
        "research-nam4", "research-asia1", "research-eu"}
    assert _gaps(doc, error="NOT_SCANNED", scope="research")


def test_malformed_search_results_are_record_gaps_and_the_rest_is_read(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.raw_results = [
        {"name": "//sqladmin.googleapis.com/projects/ehr-prod/instances/bad",
         "assetType": "sqladmin.googleapis.com/Instance", "project": "projects/1001",
         "versionedResources": [{"version": "v1", "resource": {"region": ["europe-north1"]}}]},
        {"name": "//bigquery.googleapis.com/projects/ehr-prod/datasets/odd",
         "assetType": "bigquery.googleapis.com/Dataset", "project": "projects/1001",
         "versionedResources": [{"version": "v1", "resource": {"location": {"eu": 1}}}]},
    ]
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0
    records = sorted((g["service"], g["scope"], g["resource"], g["field"])
                     for g in _gaps(doc, level="record"))
    assert records == [
        ("bigquery", "ehr-prod", "//bigquery.googleapis.com/projects/ehr-prod/datasets/odd",
         "versionedResources.resource.location"),
        ("cloudsql", "ehr-prod", "//sqladmin.googleapis.com/projects/ehr-prod/instances/bad",
         "versionedResources.resource.region")]
    assert len([r for r in doc["resources"] if r["service"] == "storage"]) == 8


def test_a_result_of_the_wrong_shape_is_a_record_gap_and_the_page_is_read(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_org.raw_results = [{"name": 3, "assetType": ["not", "a", "string"]}]
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0
    [gap] = _gaps(doc, service="cloudasset", level="record")
    assert gap["field"] == "assetType"
    assert not _gaps(doc, error="UNPARSEABLE_RESPONSE")
    # the rest of the page was read through the search, not per project
    assert not _gaps(doc, error="NOT_SCANNED")
    assert len([r for r in doc["resources"] if r["service"] == "storage"]) == 8


def test_a_page_the_protobuf_transport_cannot_parse_is_a_gap(
        fake_org: FakeGcp, scan: Any) -> None:
    fake_org.raw_results = [{"name": 3, "assetType": ["not", "a", "string"]}]
    estate = scan(organization="100", search_format="protobuf")
    [gap] = [g for g in estate.gaps if g.service == "cloudasset"
             and g.scope == "organizations/100" and g.error == "UNPARSEABLE_RESPONSE"]
    assert gap.message.startswith("page 1:")
    # the first page could not be read: Cloud Storage is listed per project instead
    assert len([r for r in estate.resources if r.service == "storage"]) == 8


def test_a_json_page_not_of_the_api_shape_is_a_gap(fake_org: FakeGcp, scan: Any) -> None:
    fake_org.faults[("search", "organizations/100")] = [(200, {"results": {"not": "a list"}})]
    estate = scan(organization="100")
    [gap] = [g for g in estate.gaps if g.service == "cloudasset"
             and g.scope == "organizations/100"]
    assert gap.error == "UNPARSEABLE_RESPONSE"
    assert gap.message.startswith("page 1: results: expected a list")
    assert len([r for r in estate.resources if r.service == "storage"]) == 8


def test_a_403_reason_behind_a_long_url_keeps_the_permission(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url_part = "https://storage.googleapis.com/storage/v1/b?project=locked&" + "x=1&" * 120
    message = (f"GET {url_part}: caller@example.iam.gserviceaccount.com does not have "
               "storage.buckets.list access to the Google Cloud project. Permission "
               "'storage.buckets.list' denied on resource (or it may not exist).")
    fake_org.faults[("buckets.list", "locked")] = [
        (403, {"error": {"code": 403, "message": message,
                         "errors": [{"message": message, "domain": "global",
                                     "reason": "forbidden"}]}})]
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, "--gcp-no-asset-search", *FAST)
    assert code == 0
    [gap] = _gaps(doc, error="PERMISSION_DENIED", scope="locked")
    assert "Permission 'storage.buckets.list' denied" in gap["message"]
    assert "https://" not in gap["message"] and len(gap["message"]) <= 1000


@pytest.mark.parametrize(("flag", "value"), [("--gcp-connect-timeout", "0"),
                                             ("--gcp-read-timeout", "-1"),
                                             ("--gcp-attempts", "0"),
                                             ("--gcp-give-up-after", "0")])
def test_bad_limits_are_one_clear_line(flag: str, value: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--gcp", "--gcp-organization", "100", "--gcp-anonymous",
                 "--gcp-endpoint", "http://127.0.0.1:9", flag, value,
                 "-o", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and flag in err
    assert not (tmp_path / "e.json").exists()


def test_every_scope_asked_for_ends_read_in_part_or_not_read(fake_org: FakeGcp) -> None:
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp import scan_gcp
    from residency_audit.providers.gcp.scanner import scope_states

    fake_org.unsearchable = {"research"}
    limits = Limits(connect_timeout=0.2, read_timeout=0.3, max_attempts=2, backoff_cap=0.05)
    common: dict[str, Any] = {"credentials": AnonymousCredentials(), "transport": "rest",
                              "limits": limits}
    with fake_org.serve() as url:
        folders = scan_gcp(folders=["11", "13"], endpoints={"*": url}, **common)
        fake_org.fail("projects.get", "projects/gone", "denied")
        fake_org.fail("search", "projects/gone", "denied")
        projects = scan_gcp(projects=["ehr-prod", "gone"], endpoints={"*": url}, **common)
    with silent_server() as dead:
        nothing = scan_gcp(organization="100", endpoints={"*": dead}, **common)
    assert scope_states(folders) == {"folders/11": "read in part", "folders/13": "read"}
    assert scope_states(projects) == {"projects/ehr-prod": "read", "projects/gone": "not read"}
    assert scope_states(nothing) == {"organizations/100": "not read"}
    for estate in (folders, projects, nothing):
        assert estate.metadata.started.endswith("Z") and estate.metadata.finished.endswith("Z")


def test_a_dead_endpoint_over_grpc_is_bounded_too(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    accepted: list[socket.socket] = []
    with silent_server(accepted) as url:
        out = tmp_path / "estate.json"
        started = time.monotonic()
        code = main(["scan", "--gcp", "--gcp-transport", "grpc", "--gcp-anonymous",
                     "--gcp-folder", "1", "--gcp-folder", "2", "--gcp-endpoint", url, *FAST,
                     "-o", str(out)])
        elapsed = time.monotonic() - started
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [g["error"] for g in doc["gaps"] if g["service"] == "resourcemanager"
            and g["error"] != "GIVEN_UP"] == ["DEADLINE_EXCEEDED"]
    assert {g["scope"] for g in _gaps(doc, error="NOT_READ", level="scope")} == {
        "folders/1", "folders/2"}
    assert elapsed < FAST_WORST + SLACK, elapsed


@pytest.mark.parametrize("content", [None, "{not json", '{"type": "authorized_user"}'])
def test_unusable_credentials_are_one_clear_line(content: str | None, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "key.json"
    if content is not None:
        key.write_text(content, encoding="utf-8")
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    code = main(["scan", "--gcp", "--gcp-organization", "100", "--gcp-transport", "rest",
                 "--gcp-endpoint", "http://127.0.0.1:9", "-o", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "gcp: credentials:" in err
    assert not (tmp_path / "e.json").exists()


def test_quota_exhausted_past_the_deadline_gives_the_service_up(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for project in ("ehr-prod", "research", "shared-infra", "locked"):
        fake_org.fail("buckets.list", project, "quota", times=1000)
    with fake_org.serve() as url:
        code, doc, elapsed, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                      "--gcp-endpoint", url, "--gcp-no-asset-search", *FAST)
    assert code == 0 and elapsed < FAST_WORST + SLACK
    [exhausted] = _gaps(doc, error="RESOURCE_EXHAUSTED")
    assert exhausted["scope"] == "ehr-prod" and exhausted["message"].startswith(
        "retries exhausted:")
    assert {g["scope"] for g in _gaps(doc, error="GIVEN_UP")} == {"research", "shared-infra",
                                                                   "locked"}


def test_the_same_faults_give_byte_identical_estates(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from tests.providers.gcp.conftest import add_services, build_org

    texts = []
    for _ in range(2):
        fake = build_org()
        add_services(fake)
        fake.unsearchable = {"research"}
        fake.fail("buckets.get", "ehr-dr", "denied")
        fake.bucket_versioned = False
        fake.raw_results = [{"name": "//bigquery.googleapis.com/projects/ehr-prod/datasets/x",
                             "assetType": "bigquery.googleapis.com/Dataset",
                             "project": "projects/1001",
                             "versionedResources": [{"version": "v1",
                                                     "resource": {"location": [1]}}]}]
        with fake.serve() as url:
            code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                    "--gcp-endpoint", url, *FAST)
        assert code == 0 and len(doc["gaps"]) >= 4
        doc.pop("metadata")
        texts.append(json.dumps(doc, sort_keys=True))
    assert texts[0] == texts[1]


def test_a_visibility_check_that_fails_is_a_scope_gap_not_a_pass(
        fake_org: FakeGcp, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # only projects the search returned nothing from are checked: two empty ones here
    fake_org.add_project("empty-a", "1005", parent="folders/13")
    fake_org.add_project("empty-b", "1006")
    fake_org.fail("testIamPermissions", "projects/1005", "denied")
    fake_org.fail("testIamPermissions", "projects/1006", "unavailable", times=1000)
    with fake_org.serve() as url:
        code, doc, _, _ = _scan(tmp_path, capsys, "--gcp-organization", "100",
                                "--gcp-endpoint", url, *FAST)
    assert code == 0
    scope_gaps = {g["scope"]: g for g in _gaps(doc, level="scope")}
    assert set(scope_gaps) == {"empty-a", "empty-b"}
    assert scope_gaps["empty-a"]["error"] == "PERMISSION_DENIED"
    assert scope_gaps["empty-b"]["error"] == "UNAVAILABLE"
    assert all(g["message"].startswith("could not check whether Cloud Asset search sees")
               for g in scope_gaps.values())
