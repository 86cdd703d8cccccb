"""The hierarchy walk in parallel, and the search beside it: the same estate, the same bounds.

The walk asks for a folder's listings as soon as the listing that named it has answered, a few
at a time, the first call alone; the search starts once that first call has ended and reads
its first pages while the walk goes on. What is found, and in which order, is what a walk made
one call at a time finds; an endpoint that never answers still costs one call.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials

from residency_audit.cli import main
from residency_audit.estate_io import estate_to_dict
from residency_audit.providers.gcp import scan_gcp
from residency_audit.providers.gcp.clients import ClientConfig, Clients
from residency_audit.providers.gcp.faults import Guard, Limits
from residency_audit.providers.gcp.hierarchy import FirstCallAlone, fetch_hierarchy
from tests.providers.gcp.fakes import ORG, FakeGcp
from tests.providers.gcp.test_bounded import FAST, FAST_WORST, SLACK, silent_server

LIMITS = Limits(connect_timeout=2.0, read_timeout=2.0, initial_backoff=0.01, backoff_cap=0.05)


def deep_org() -> FakeGcp:
    """Three levels of folders, uneven, projects at every level, listings paged by two."""
    fake = FakeGcp(list_page_size=2)
    n = 0
    for top in range(3):
        a = fake.add_folder(str(20 + top), f"Top {top}")
        for mid in range(top + 1):
            b = fake.add_folder(f"{30 + top}{mid}", f"Mid {top}.{mid}", parent=a)
            for low in range(2 if mid else 0):
                c = fake.add_folder(f"{40 + top}{mid}{low}", f"Low {top}.{mid}.{low}", parent=b)
                for parent in (a, b, c):
                    n += 1
                    fake.add_project(f"p-{n:03d}", str(5000 + n), parent=parent,
                                     labels={"n": str(n)})
                    fake.add_bucket(f"p-{n:03d}", f"bucket-{n:03d}", "EUROPE-NORTH1", "region")
    fake.add_project("p-top", "4999", parent=ORG)
    fake.add_bucket("p-top", "bucket-top", "EU", "multi-region")
    return fake


def _walk(url: str, workers: int, **scope: Any) -> Any:
    clients = Clients(ClientConfig(credentials=AnonymousCredentials(), transport="rest",
                                   endpoints={"*": url}))
    return fetch_hierarchy(clients, guard=Guard(limits=LIMITS), workers=workers, **scope)


@pytest.mark.parametrize("scope", [{"organization": "100"}, {"folders": ["20", "311", "4210"]},
                                   {"projects": ["p-003", "p-top", "p-011", "p-001"]}])
def test_the_walk_in_parallel_finds_what_a_walk_one_call_at_a_time_finds(
        scope: dict[str, Any]) -> None:
    fake = deep_org()
    with fake.serve() as url:
        alone = _walk(url, 1, **scope)
        calls_alone = Counter(fake.requests)
        fake.requests.clear()
        parallel = _walk(url, 8, **scope)
    assert parallel == alone
    assert Counter(fake.requests) == calls_alone             # the same calls, none twice
    assert alone.projects and not alone.gaps


def test_a_failed_listing_in_the_parallel_walk_is_the_same_gap(fake_org: FakeGcp) -> None:
    fake_org.fail("folders.list", "folders/11", "denied", times=2)   # once for each walk
    fake_org.fail("projects.list", "folders/13", "denied", times=2)
    with fake_org.serve() as url:
        alone = _walk(url, 1, organization="100")
        parallel = _walk(url, 8, organization="100")
    assert parallel == alone
    assert sorted((g.scope, g.operation) for g in parallel.gaps) == [
        ("folders/11", "cloudresourcemanager.folders.list"),
        ("folders/13", "cloudresourcemanager.projects.list")]


def test_a_folder_given_up_after_its_first_listing_is_not_listed_again(
        fake_org: FakeGcp, scan: Any) -> None:
    # as in a walk one call at a time: 5xx to every folders.list of folders/12 gives up
    # Resource Manager in that folder, so its projects.list is not called
    fake_org.fail("folders.list", "folders/12", "unavailable", times=100)
    estate = scan(organization="100")
    calls = [p for _, p in fake_org.requests if p.startswith("/v3/")]
    assert not [p for p in calls if p.startswith("/v3/projects?") and "folders%2F12" in p]
    assert len([p for p in calls if p.startswith("/v3/folders?") and "folders%2F12" in p]) == 3
    given_up = [g for g in estate.gaps if g.error == "GIVEN_UP"]
    assert [(g.scope, g.operation) for g in given_up] == [
        ("folders/12", "cloudresourcemanager.projects.list")]
    # the search still finds what is inside, with the folders the search result names
    ehr = {r.name: r for r in estate.resources}["ehr-records"]
    assert ehr.account == "1001" and ehr.attributes["folder_ids"] == "folders/12/folders/11"


def test_the_first_call_goes_alone_and_the_others_wait_for_it_to_end() -> None:
    ended: list[str] = []
    gate = FirstCallAlone(lambda: ended.append("first call ended"))
    entered: list[str] = []
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with gate():
            entered.append("first")
            inside.set()
            release.wait(10)

    def other(name: str) -> None:
        with gate():
            entered.append(name)

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert inside.wait(10)
    threads += [threading.Thread(target=other, args=(f"other {i}",)) for i in range(3)]
    for t in threads[1:]:
        t.start()
    time.sleep(0.2)
    assert entered == ["first"] and ended == []              # the others are held
    release.set()
    for t in threads:
        t.join(10)
    assert entered[0] == "first" and sorted(entered[1:]) == ["other 0", "other 1", "other 2"]
    assert ended == ["first call ended"]
    gate.end()                                               # once only
    assert ended == ["first call ended"]


def test_a_walk_that_makes_no_call_still_lets_the_search_start() -> None:
    ended: list[bool] = []
    hier = fetch_hierarchy(object(), guard=Guard(), on_first_call=lambda: ended.append(True))
    assert hier.projects == () and ended == [True]


def test_the_search_reads_pages_while_the_walk_goes_on() -> None:
    fake = deep_org()
    with fake.serve() as url:
        one_at_a_time = scan_gcp(organization="100", credentials=AnonymousCredentials(),
                                 transport="rest", endpoints={"*": url}, limits=LIMITS,
                                 page_size=3)
        fake.requests.clear()
        fake.latency = 0.05
        estate = scan_gcp(organization="100", credentials=AnonymousCredentials(),
                          transport="rest", endpoints={"*": url}, limits=LIMITS, page_size=3)
    paths = [p for _, p in fake.requests]
    first_search = next(i for i, p in enumerate(paths) if ":searchAllResources" in p)
    last_walk = max(i for i, p in enumerate(paths) if p.startswith("/v3/"))
    assert paths[0].startswith("/v3/folders?")               # the walk's first call, alone
    assert first_search < last_walk
    assert len(estate.resources) == 19 and not estate.gaps

    def same(e: Any) -> Any:
        doc = estate_to_dict(e)
        doc["metadata"].pop("started")
        doc["metadata"].pop("finished")
        return doc

    assert same(estate) == same(one_at_a_time)


@pytest.mark.parametrize("scope", [["--gcp-organization", "100"],
                                   ["--gcp-folder", "11", "--gcp-folder", "13"],
                                   ["--gcp-project", "a", "--gcp-project", "b"]])
def test_a_dead_endpoint_costs_one_call_whatever_the_scope(
        scope: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    accepted: list[socket.socket] = []
    out = tmp_path / "estate.json"
    started = time.monotonic()
    with silent_server(accepted) as url:
        code = main(["scan", "--gcp", "--gcp-transport", "rest", "--gcp-anonymous", *scope,
                     "--gcp-endpoint", url, *FAST, "-o", str(out)])
    elapsed = time.monotonic() - started
    assert "Traceback" not in capsys.readouterr().err
    assert code == 0 and elapsed < FAST_WORST + SLACK, elapsed
    assert len(accepted) == 2                   # one call, --gcp-attempts 2; then given up
    gaps = json.loads(out.read_text(encoding="utf-8"))["gaps"]
    assert [g["service"] for g in gaps if g["error"] == "TIMEOUT"] == ["resourcemanager"]
    assert {g["service"] for g in gaps if g["error"] == "GIVEN_UP"} >= {"cloudasset"}
