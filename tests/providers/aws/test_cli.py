"""The CLI hooks, and a scan end to end through ``residency-audit scan --aws`` against a moto server."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from residency_audit.errors import InputError
from residency_audit.providers.aws import cli
from tests.providers.aws.estates import make_bucket, replicate


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_options() -> None:
    args = _parse(["--aws", "--aws-regions", "eu-north-1,eu-west-1", "--aws-regions", "us-east-1",
                   "--aws-org-role", "Audit", "--aws-external-id", "x", "--aws-max-workers", "4"])
    assert cli.is_requested(args)
    assert cli._split(args.aws_regions) == ["eu-north-1", "eu-west-1", "us-east-1"]
    assert args.aws_max_workers == 4
    assert not cli.is_requested(_parse([]))
    assert cli.is_requested(_parse(["--aws-profile", "audit"]))


def test_bounds_options_and_the_service_list() -> None:
    from residency_audit.providers.aws.scanner import SERVICES

    args = _parse(["--aws", "--aws-connect-timeout", "2", "--aws-read-timeout", "7.5", "--aws-max-attempts", "2"])
    assert (args.aws_connect_timeout, args.aws_read_timeout, args.aws_max_attempts) == (2.0, 7.5, 2)
    defaults = _parse(["--aws"])
    assert (defaults.aws_connect_timeout, defaults.aws_read_timeout, defaults.aws_max_attempts) == (5.0, 20.0, None)
    assert cli._SERVICES == SERVICES  # the CLI's list (no SDK import) is the SPECs' list


def test_external_id_needs_a_role() -> None:
    with pytest.raises(InputError, match="needs --aws-org-role"):
        cli.scan_from_args(_parse(["--aws", "--aws-external-id", "x"]), progress=None)


def test_cli_module_does_not_import_the_sdk() -> None:
    import subprocess
    import sys

    code = ("import sys, residency_audit.providers.aws.cli as c; c.permissions_text(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url, "AWS_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(k, v)
    try:
        yield url
    finally:
        server.stop()


def test_scan_end_to_end_through_the_cli(moto_server: str, tmp_path: Path) -> None:
    from residency_audit.cli import main

    session = boto3.Session(region_name="us-east-1")
    make_bucket(session, "ehr-journal", "eu-north-1", versioned=True, tags={"data-class": "patient"})
    make_bucket(session, "ehr-dr", "eu-west-1", versioned=True)
    make_bucket(session, "legacy-eu", "eu-west-1", legacy_eu=True)
    make_bucket(session, "elsewhere", "ap-southeast-2")
    replicate(session, "ehr-journal", "eu-north-1", [("ehr-dr", None)])
    session.client("kms", region_name="eu-north-1").create_key(MultiRegion=True)
    out = tmp_path / "estate.json"
    code = main(["--quiet", "scan", "--aws", "--aws-regions", "eu-north-1,eu-west-1,us-east-1",
                 "--aws-services", "s3,kms", "-o", str(out)])
    assert code == 0
    estate = json.loads(out.read_text())
    by_name = {r["name"]: r for r in estate["resources"] if r["kind"] == "bucket"}
    assert {n: [p["location"] for p in r["placements"]] for n, r in by_name.items()} == {
        "ehr-journal": ["aws:eu-north-1"], "ehr-dr": ["aws:eu-west-1"], "legacy-eu": ["aws:eu-west-1"],
        "elsewhere": ["aws:ap-southeast-2"]}
    assert [x["target"] for x in by_name["ehr-journal"]["links"]] == ["arn:aws:s3:::ehr-dr"]
    assert by_name["ehr-journal"]["tags"] == {"data-class": "patient"}
    assert [r["service"] for r in estate["resources"]].count("kms") == 1
    # S3 Control names the account in the host (123456789012.127.0.0.1): the adapter keeps the
    # custom endpoint's own host, so the call reaches the server and nothing is missing
    assert estate["gaps"] == []
    assert "AWS_SECRET" not in out.read_text() and "testing" not in out.read_text()


def test_permissions_command_prints_the_policy() -> None:
    import io

    from residency_audit.cli import main

    buf = io.StringIO()
    assert main(["permissions", "aws"], stdout=buf) == 0
    assert json.loads(buf.getvalue()) == json.loads(cli.permissions_text())
