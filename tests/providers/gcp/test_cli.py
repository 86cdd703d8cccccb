"""The CLI hooks and an end-to-end ``residency-audit scan --gcp`` against the loopback fake."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from residency_audit.errors import InputError
from residency_audit.providers.gcp import cli
from residency_audit.providers.gcp.clients import parse_endpoints
from tests.providers.gcp.fakes import FakeGcp


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_options_and_is_requested() -> None:
    assert not cli.is_requested(_args())
    assert cli.is_requested(_args("--gcp"))
    args = _args("--gcp-folder", "1", "--gcp-folder", "2", "--gcp-project", "p",
                 "--gcp-endpoint", "http://127.0.0.1:1", "--gcp-transport", "rest",
                 "--gcp-no-asset-search")
    assert cli.is_requested(args)
    assert args.gcp_folder == ["1", "2"] and args.gcp_transport == "rest"
    assert args.gcp_no_asset_search


def test_endpoint_parsing() -> None:
    assert parse_endpoints(["cloudasset=http://a", "http://b"]) == {"cloudasset": "http://a",
                                                                     "*": "http://b"}
    with pytest.raises(InputError):
        parse_endpoints(["bigquery=http://a"])


def test_scan_from_args(fake_org: FakeGcp, scan: Any) -> None:
    args = _args("--gcp-organization", "100", "--gcp-endpoint", scan.url, "--gcp-transport",
                 "rest", "--gcp-anonymous")
    estate = cli.scan_from_args(args, progress=None)
    assert len([r for r in estate.resources if r.service == "storage"]) == 8


def test_end_to_end_through_the_core_cli(fake_org: FakeGcp, scan: Any, tmp_path: Path) -> None:
    from residency_audit.cli import main

    out = tmp_path / "estate.json"
    code = main(["scan", "--gcp", "--gcp-organization", "100", "--gcp-endpoint", scan.url,
                 "--gcp-transport", "rest", "--gcp-anonymous", "-o", str(out)])
    assert code == 0
    doc = json.loads(out.read_text())
    ids = [r["id"] for r in doc["resources"]]
    assert "//storage.googleapis.com/ehr-dr" in ids
    assert main(["scan", "--gcp", "--gcp-endpoint", scan.url, "--gcp-anonymous",
                 "-o", str(out)]) == 2


def test_permissions_command(capsys: pytest.CaptureFixture[str]) -> None:
    from residency_audit.cli import main

    assert main(["permissions", "gcp"]) == 0
    assert "storage.buckets.list" in capsys.readouterr().out


def test_grpc_clients_take_the_endpoint_host_without_scheme() -> None:
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp.clients import ClientConfig, Clients

    clients = Clients(ClientConfig(credentials=AnonymousCredentials(), transport="grpc",
                                   endpoints={"*": "https://cloudasset-psc.p.googleapis.com",
                                              "storage": "http://127.0.0.1:9"}))
    assert clients._options("cloudasset").api_endpoint == "cloudasset-psc.p.googleapis.com"
    assert clients._options("storage").api_endpoint == "http://127.0.0.1:9"
    with pytest.raises(InputError):
        Clients(ClientConfig(transport="carrier-pigeon"))
