"""Faults where a user sees them: ``residency-audit scan --aws`` against a moto server on 127.0.0.1.

A loopback relay (:mod:`tests.providers.aws.loopback`) sits between the CLI and moto and makes
one region dead (accepts, never answers) or refused (AccessDenied, as a region-deny SCP), or
refuses one AssumeRole. Every case: exit code 0, no traceback, the estate written, and the gaps
say what was not read, at which level.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from residency_audit.cli import main
from residency_audit.estate_io import read_estate
from residency_audit.providers import service
from residency_audit.providers.aws.scanner import build_config, dead_endpoint_seconds
from residency_audit.scopes import ScopeState, scope_statuses
from tests.providers.aws.estates import make_bucket
from tests.providers.aws.loopback import (
    DENY_MESSAGE,
    Relay,
    dead_region,
    denied_body,
    denied_region,
)

ACCOUNT = "123456789012"
FAST = ["--aws-connect-timeout", "2", "--aws-read-timeout", "5", "--aws-max-attempts", "1"]


@pytest.fixture
def relay(monkeypatch: pytest.MonkeyPatch) -> Iterator[Relay]:
    from moto.server import ThreadedMotoServer

    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    urllib.request.urlopen(urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST"), timeout=10)
    relay = Relay(upstream=f"http://{host}:{port}").start()
    # set-up talks to moto directly; the scan goes through the relay (see _scan)
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": relay.upstream}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(relay, "monkeypatch", monkeypatch, raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    try:
        yield relay
    finally:
        relay.stop()
        server.stop()


def _scan(relay: Relay, tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str,
          ) -> tuple[int, dict[str, Any], str]:
    relay.monkeypatch.setenv("AWS_ENDPOINT_URL", relay.url)  # type: ignore[attr-defined]
    capsys.readouterr()
    out = tmp_path / "estate.json"
    code = main(["--quiet", "scan", "--aws", "-o", str(out), *args])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    estate = json.loads(out.read_text()) if out.exists() else {}
    return code, estate, err


def _gaps(estate: dict[str, Any], **match: str) -> list[dict[str, Any]]:
    return [g for g in estate["gaps"] if all(g.get(k) == v for k, v in match.items())]


def _seed(session: boto3.Session) -> None:
    session.client("ec2").describe_regions()  # moto builds its EC2 backend on first use (seconds)
    for region in ("eu-north-1", "eu-west-1"):
        session.client("kms", region_name=region).create_key(Description=f"key in {region}")
    make_bucket(session, "ehr-journal", "eu-north-1")


def test_dead_region_is_given_up_and_the_rest_completes(relay: Relay, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    _seed(boto3.Session(region_name="us-east-1"))
    relay.rules.append(dead_region("eu-west-1"))
    started = time.perf_counter()
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", "eu-north-1,eu-west-1",
                            "--aws-services", "s3,dynamodb,kms", *FAST)
    elapsed = time.perf_counter() - started
    print(f"dead region given up, scan finished in {elapsed:.1f} s (read timeout 5 s, one attempt)")
    assert code == 0
    assert elapsed < 60  # generous: the machine may be busy; the calls themselves are bounded below
    # the live region is read whole
    kms_regions = sorted(r["placements"][0]["location"] for r in estate["resources"] if r["service"] == "kms")
    assert kms_regions == ["aws:eu-north-1"]
    assert [r["name"] for r in estate["resources"] if r["kind"] == "bucket"] == ["ehr-journal"]
    # (moto answers 500 to ListGlobalTables: that is the only gap of the live region)
    assert [(g["operation"], g["level"]) for g in estate["gaps"] if g["region"] == "eu-north-1"] == [
        ("ListGlobalTables", "service")]
    # the dead one: a scope-level gap, the calls that timed out, and the calls given up
    [scope] = _gaps(estate, region="eu-west-1", level="scope")
    assert scope["error"] == "ReadTimeoutError" and "not read" in scope["message"]
    errors = {(g["service"], g["error"]) for g in _gaps(estate, region="eu-west-1", level="service")}
    assert {e for _, e in errors} <= {"ReadTimeoutError", "GivenUp"}
    assert {s for s, _ in errors} >= {"dynamodb", "kms"}
    assert "http" not in json.dumps(estate["gaps"])
    # each call that timed out was tried once (--aws-max-attempts 1); nothing after it was called
    assert relay.calls("eu-west-1", "kms") == 1
    assert relay.calls("eu-west-1", "dynamodb") == 1
    # S3 Control reached the custom endpoint's own host (not <account>.127.0.0.1)
    assert relay.calls("us-west-2", "s3", "/v20180820/mrap/instances") == 1


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3_CONTROL"])
def test_s3_control_keeps_a_custom_endpoints_host(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from residency_audit.providers.aws.scanner import _custom_endpoint, _keep_endpoint_host

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = boto3.Session(region_name="us-west-2", aws_access_key_id="a", aws_secret_access_key="b")
    assert not _custom_endpoint(session.client("s3control"))  # AWS's own endpoint: left alone
    monkeypatch.setenv(variable, "http://127.0.0.1:9")
    client = boto3.Session(region_name="us-west-2", aws_access_key_id="a", aws_secret_access_key="b").client("s3control")
    assert _custom_endpoint(client)
    params = {"url": f"http://{ACCOUNT}.127.0.0.1:9/v20180820/mrap/instances"}
    _keep_endpoint_host(client.meta.endpoint_url)(params=params)
    assert params["url"] == "http://127.0.0.1:9/v20180820/mrap/instances"


def test_default_bounds_give_up_a_dead_endpoint_within_two_minutes() -> None:
    config = build_config()
    assert (config.connect_timeout, config.read_timeout) == (service.CONNECT_TIMEOUT, service.READ_TIMEOUT)
    attempts = config.retries["total_max_attempts"]
    assert attempts == service.MAX_ATTEMPTS
    worst = service.worst_case_seconds(connect=config.connect_timeout, read=config.read_timeout,
                                       attempts=attempts)
    assert worst == dead_endpoint_seconds() == 85.0
    assert worst <= 120


def test_region_refused_by_an_scp_is_a_scope_gap_without_retries(relay: Relay, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _seed(boto3.Session(region_name="us-east-1"))
    relay.rules.append(denied_region("eu-west-1"))
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", "eu-north-1,eu-west-1",
                            "--aws-services", "dynamodb,kms,rds,efs,backup")
    assert code == 0
    [scope] = _gaps(estate, region="eu-west-1", level="scope")
    assert scope["error"] in ("AccessDenied", "AccessDeniedException")
    assert DENY_MESSAGE in scope["message"]
    assert {g["service"] for g in _gaps(estate, region="eu-west-1", level="service")} == {
        "dynamodb", "kms", "rds", "efs", "backup"}
    statuses = {s.scope: s.status for s in scope_statuses(read_estate(tmp_path / "estate.json"))}
    assert statuses == {f"aws:{ACCOUNT}": ScopeState.PARTIAL, f"aws:{ACCOUNT}/eu-west-1": ScopeState.NOT_READ}
    # refusals are not retried: one request per call (the default allows 3 attempts)
    assert all(n == 1 for (r, _, _), n in relay.seen.items() if r == "eu-west-1")
    assert [r["placements"][0]["location"] for r in estate["resources"] if r["service"] == "kms"] == [
        "aws:eu-north-1"]


def test_service_answering_500_costs_three_attempts_not_eight(relay: Relay, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """moto answers 500 to ListGlobalTables and DescribeReplicationConfigurations."""
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", "eu-north-1", "--aws-services", "dynamodb,efs")
    assert code == 0
    ops = {(g["service"], g["operation"], g["level"]) for g in estate["gaps"]}
    assert ops == {("dynamodb", "ListGlobalTables", "service"), ("efs", "DescribeReplicationConfigurations", "service")}
    assert relay.calls("eu-north-1", "dynamodb", "ListGlobalTables") == service.MAX_ATTEMPTS
    assert relay.calls("eu-north-1", "elasticfilesystem") - relay.calls(
        "eu-north-1", "elasticfilesystem", "/2015-02-01/file-systems") == service.MAX_ATTEMPTS


def test_unparseable_record_is_a_record_gap_and_the_rest_is_kept(relay: Relay, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """moto's automated-backup records carry no DBInstanceAutomatedBackupsArn (optional in botocore)."""
    rds = boto3.Session(region_name="eu-north-1").client("rds")
    rds.create_db_instance(DBInstanceIdentifier="ehr", Engine="postgres", DBInstanceClass="db.t3.micro",
                           AllocatedStorage=20, MasterUsername="u", MasterUserPassword="correct-horse-battery")
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", "eu-north-1", "--aws-services", "rds", *FAST)
    assert code == 0
    assert [r["name"] for r in estate["resources"] if r["kind"] == "db-instance"] == ["ehr"]
    [gap] = _gaps(estate, error="UnparseableRecord")
    assert (gap["service"], gap["operation"], gap["level"], gap["field"]) == (
        "rds", "DescribeDBInstanceAutomatedBackups", "record", "DBInstanceAutomatedBackupsArn")
    assert gap["resource"] in ("ehr", f"arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr")
    assert gap["scope"] == ACCOUNT and gap["region"] == "eu-north-1"


def test_account_that_cannot_be_entered_is_a_scope_gap(relay: Relay, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    org = boto3.Session(region_name="us-east-1").client("organizations")
    org.create_organization(FeatureSet="ALL")
    locked = org.create_account(AccountName="locked", Email="locked@region.example")["CreateAccountStatus"]["AccountId"]
    relay.rules.append(denied_body(f"iam%3A%3A{locked}%3Arole"))
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", "eu-north-1", "--aws-services", "kms",
                            "--aws-org-role", "ResidencyAudit")
    assert code == 0
    [gap] = _gaps(estate, scope=locked)
    assert (gap["service"], gap["operation"], gap["error"], gap["level"]) == ("sts", "AssumeRole", "AccessDenied", "scope")
    assert gap["resource"] == f"arn:aws:iam::{locked}:role/ResidencyAudit"
    assert gap["region"] == ""  # the whole account, every region
    assert f"aws:{locked}" not in estate["metadata"]["scopes"]
    # the audit names the account as a scope not read
    statuses = {s.scope: s.status for s in scope_statuses(read_estate(tmp_path / "estate.json"))}
    assert statuses[f"aws:{locked}"] is ScopeState.NOT_READ
    assert statuses[f"aws:{ACCOUNT}"] is ScopeState.READ


def test_region_not_enabled_is_a_scope_gap(relay: Relay, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    regions = boto3.Session(region_name="us-east-1").client("ec2").describe_regions(AllRegions=True)["Regions"]
    off = sorted(r["RegionName"] for r in regions if r["OptInStatus"] == "not-opted-in")[0]
    code, estate, _ = _scan(relay, tmp_path, capsys, "--aws-regions", f"eu-north-1,{off}", "--aws-services", "kms")
    assert code == 0
    assert [(g["region"], g["error"], g["level"]) for g in estate["gaps"]] == [(off, "RegionNotEnabled", "scope")]
    assert relay.calls(off) == 0


@pytest.mark.parametrize(("flag", "value"), [("--aws-max-attempts", "0"), ("--aws-read-timeout", "-1"),
                                             ("--aws-connect-timeout", "0")])
def test_bad_bounds_are_one_clear_line(flag: str, value: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--quiet", "scan", "--aws", flag, value, "-o", str(tmp_path / "e.json")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and flag in err and "Traceback" not in err
    assert not (tmp_path / "e.json").exists()
