"""CLI hooks and the end-to-end `residency-audit scan --azure` / `permissions azure`."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path
from typing import Any

import pytest

from residency_audit.errors import InputError
from residency_audit.providers.azure import cli
from residency_audit.providers.azure.operations import role_definition
from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_options_and_is_requested() -> None:
    assert not cli.is_requested(_parse())
    assert cli.is_requested(_parse("--azure"))
    args = _parse("--azure-subscription", "a", "--azure-subscription", "b", "--azure-management-group", "mg",
                  "--azure-endpoint", "https://management.chinacloudapi.cn", "--azure-no-resource-graph")
    assert cli.is_requested(args)
    assert args.azure_subscription == ["a", "b"] and args.azure_management_group == ["mg"]
    assert args.azure_no_resource_graph


def test_plain_http_endpoint_is_an_input_error() -> None:
    with pytest.raises(InputError, match="https"):
        cli.scan_from_args(_parse("--azure", "--azure-endpoint", "http://127.0.0.1:1"), progress=None)


def test_subscription_and_management_group_together_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not both"):
        cli.scan_from_args(_parse("--azure-subscription", "a", "--azure-management-group", "mg"), progress=None)


def test_permissions_text_is_the_role() -> None:
    assert json.loads(cli.permissions_text()) == role_definition()


def test_scan_from_args(fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path) -> None:
    token = tmp_path / "token.json"
    token.write_text(json.dumps({"accessToken": "dummy", "tokenType": "Bearer"}))
    with fake_arm.serve(ca) as url:
        estate = cli.scan_from_args(_parse("--azure-subscription", t.SUB_PROD, "--azure-endpoint", url,
                                           "--azure-ca-bundle", str(ca_pem), "--azure-access-token-file",
                                           str(token)), progress=None)
    assert {r.account for r in estate.resources if "seen_via" not in r.attributes} == {t.SUB_PROD}
    assert "dummy" not in repr(estate)


def test_end_to_end_through_main(fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path) -> None:
    from residency_audit.cli import main

    token = tmp_path / "token.txt"
    token.write_text("dummy-token\n")
    out = tmp_path / "estate.json"
    with fake_arm.serve(ca) as url:
        code = main(["scan", "--azure", "--azure-endpoint", url, "--azure-ca-bundle", str(ca_pem),
                     "--azure-access-token-file", str(token), "-o", str(out)])
    assert code == 0
    text = out.read_text()
    assert "dummy-token" not in text
    data = json.loads(text)
    assert "azure:northeurope" in text and "journalnl" in text
    assert data["metadata"]["sources"] == ["azure"]


def test_permissions_command() -> None:
    from residency_audit.cli import main

    stdout = io.StringIO()
    assert main(["permissions", "azure"], stdout=stdout) == 0
    assert json.loads(stdout.getvalue())["Actions"] == role_definition()["Actions"]
