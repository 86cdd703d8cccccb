"""Cloud Asset search pages read as JSON find what the generated client's pages find."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import pytest

from residency_audit.model import Estate
from residency_audit.providers.gcp.search import decode_page, json_result, result_dict
from tests.providers.gcp.conftest import add_services
from tests.providers.gcp.fakes import FakeGcp


def _doc(estate: Estate) -> str:
    from residency_audit.estate_io import estate_to_dict

    doc = estate_to_dict(estate)
    doc.pop("metadata")
    return json.dumps(doc, sort_keys=True)


def _requests(fake: FakeGcp) -> list[tuple[str, str, list[tuple[str, str]]]]:
    out = []
    for method, raw in fake.requests:
        parts = urlsplit(raw)
        out.append((method, parts.path, sorted(parse_qsl(parts.query))))
    return sorted(out)


def test_the_json_path_gives_the_estate_the_protobuf_path_gives(
        fake_org: FakeGcp, scan: Callable[..., Estate]) -> None:
    add_services(fake_org)
    fake_org.bucket_versioned = False  # buckets.get after the search, on both paths
    via_json = scan(organization="100", search_format="json", page_size=3)
    json_requests = _requests(fake_org)
    fake_org.requests.clear()
    via_pb = scan(organization="100", search_format="protobuf", page_size=3)
    assert via_json.resources and _doc(via_json) == _doc(via_pb)
    # the fake saw the same requests (several search pages), the same parameters in each
    assert json_requests == _requests(fake_org)
    assert sum(":searchAllResources" in r[1] for r in json_requests) > 2


@pytest.mark.parametrize("folders", [["11"], ["13"]])
def test_folder_searches_agree_too(fake_org: FakeGcp, scan: Callable[..., Estate],
                                   folders: list[str]) -> None:
    add_services(fake_org)
    assert _doc(scan(folders=folders, search_format="json")) == _doc(
        scan(folders=folders, search_format="protobuf"))


def test_a_json_result_has_the_shape_of_a_protobuf_result() -> None:
    from google.cloud import asset_v1

    raw = {"name": "//storage.googleapis.com/b", "assetType": "storage.googleapis.com/Bucket",
           "project": "projects/1", "labels": {"b": "2", "a": "1"},
           "additionalAttributes": {"n": 1},
           "versionedResources": [{"version": "v1", "resource": {
               "location": "EU", "n": 3, "xs": [1, {"y": None}], "ok": True}}]}
    message = asset_v1.ResourceSearchResult.from_json(json.dumps(raw))
    assert json_result(decode_page(json.dumps(raw))) == result_dict(message)
    assert json_result({"name": "x"}) == result_dict(
        asset_v1.ResourceSearchResult.from_json('{"name": "x"}'))


def test_an_unknown_search_format_is_one_clear_error(scan: Callable[..., Estate]) -> None:
    from residency_audit.errors import InputError

    with pytest.raises(InputError, match="search_format"):
        scan(organization="100", search_format="xml")


def test_a_page_that_is_not_json_is_a_gap_not_a_traceback(fake_org: FakeGcp,
                                                           scan: Callable[..., Estate]) -> None:
    from residency_audit.providers.gcp.faults import Guard
    from residency_audit.providers.gcp.search import fetch_search_json

    class Answer:  # the members of a streamed ``requests.Response`` the page is read with
        status_code = 200
        content = b"<html>not json"

        def iter_content(self, chunk_size: int | None = None) -> list[bytes]:
            return [self.content]

        def close(self) -> None:
            return None

    class Session:
        def request(self, *args: object, **kwargs: object) -> Answer:
            return Answer()

    outcome = fetch_search_json(Session(), "http://127.0.0.1:9", "organizations/100",
                                asset_types=["storage.googleapis.com/Bucket"], guard=Guard())
    [gap] = outcome.gaps
    assert outcome.fallback and gap.error == "UNPARSEABLE_RESPONSE"
    assert gap.message.startswith("page 1: page: not JSON")


def test_a_page_cut_short_is_retried_then_a_gap() -> None:
    """The page body is streamed and read whole: a connection closed before the body's end is
    a fault that may pass (retried), then a gap, as when the body was read by ``content``."""
    import socket
    import threading

    from google.auth.transport.requests import AuthorizedSession

    from residency_audit.providers.gcp.faults import Guard, Limits
    from residency_audit.providers.gcp.search import fetch_search_json

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    answered: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1000\r\n\r\n{\"results\": [{\"name\": ")
                answered.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        from google.auth.credentials import AnonymousCredentials

        guard = Guard(limits=Limits(connect_timeout=1, read_timeout=1, max_attempts=2,
                                    initial_backoff=0.01, backoff_cap=0.02))
        outcome = fetch_search_json(
            AuthorizedSession(AnonymousCredentials()),  # type: ignore[no-untyped-call]
            f"http://127.0.0.1:{listener.getsockname()[1]}", "organizations/100",
            asset_types=["storage.googleapis.com/Bucket"], guard=guard)
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    [gap] = outcome.gaps
    assert outcome.fallback and gap.error == "UNAVAILABLE" and len(answered) == 2
    assert gap.message.startswith("page 1: ")
