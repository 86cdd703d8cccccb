"""Faults become coverage gaps and the scan goes on: throttling and 5xx past retries, access
denied, a region that refuses, a disabled region, an endpoint that does not answer.

These tests run without moto: answers are served on botocore's ``before-send`` event, so the
client's real retry machinery (adaptive mode) runs on them; nothing leaves the process.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError

from residency_audit.errors import InputError
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import CREDS, regions_xml

IDENTITY = ("<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
            "<Arn>arn:aws:iam::111122223333:user/auditor</Arn><UserId>AIDA</UserId><Account>111122223333</Account>"
            "</GetCallerIdentityResult></GetCallerIdentityResponse>")
FAST = Config(retries={"mode": "adaptive", "max_attempts": 1}, connect_timeout=1, read_timeout=1)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class FakeAws:
    """Answers by (service id, operation, region); counts every attempt (retries included)."""

    def __init__(self, session: boto3.Session) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.attempts: Counter[tuple[str, str, str]] = Counter()
        session.events.register("before-send", self._send)
        self.route("sts", "GetCallerIdentity", lambda region: (200, IDENTITY))
        self.route("ec2", "DescribeRegions", lambda region: (200, regions_xml()))

    def route(self, service: str, operation: str, answer: Any) -> None:
        self.routes[(service, operation)] = answer

    def _send(self, request: Any, event_name: str, **_: Any) -> Any:
        _, service, operation = event_name.split(".")
        host = re.match(r"https?://([^/]+)", request.url)
        region = next((p for p in (host.group(1).split(".") if host else []) if re.match(r"^[a-z]{2}-[a-z]+-\d$", p)), "")
        self.attempts[(service, operation, region)] += 1
        answer = self.routes.get((service, operation))
        if answer is None:
            raise AssertionError(f"unexpected call {service}.{operation}")
        got = answer(region)
        if isinstance(got, Exception):
            raise got
        status, body = got
        ctype = "application/x-amz-json-1.0" if body.startswith("{") else "text/xml"
        return AWSResponse(request.url, status, {"content-type": ctype}, _Raw(body.encode()))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> tuple[boto3.Session, FakeAws]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    session = boto3.Session(region_name="eu-north-1", **CREDS)
    return session, FakeAws(session)


def _tables(region: str) -> tuple[int, str]:
    return 200, '{"TableNames": []}'


def _json_error(status: int, code: str) -> tuple[int, str]:
    return status, json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "no"})


def _global_tables(region: str) -> tuple[int, str]:
    return 200, '{"GlobalTables": []}'


def test_throttling_and_5xx_past_retries_become_gaps(fake: tuple[boto3.Session, FakeAws]) -> None:
    session, aws = fake
    answers = {"eu-north-1": _json_error(400, "ThrottlingException"),
               "eu-west-1": _json_error(500, "InternalServerError"), "us-east-1": (200, '{"TableNames": []}')}
    aws.route("dynamodb", "ListTables", lambda region: answers[region])
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1", "us-east-1"], services=["dynamodb"],
                      config=FAST)
    gaps = {(g.region, g.operation, g.error, g.level.value) for g in estate.gaps}
    assert gaps == {("eu-north-1", "ListTables", "ThrottlingException", "service"),
                    ("eu-west-1", "ListTables", "InternalServerError", "service"),
                    # 5xx past retries gives the service up in that region: the rest is not called
                    ("eu-west-1", "ListGlobalTables", "GivenUp", "service"),
                    # and nothing at all was read in eu-west-1
                    ("eu-west-1", "*", "InternalServerError", "scope")}
    assert all(g.scope == "111122223333" for g in estate.gaps)
    assert all(g.service == "dynamodb" for g in estate.gaps if g.level.value == "service")
    # botocore retried before giving up (max_attempts counts retries): the gap is "past retries"
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 2
    assert aws.attempts[("dynamodb", "ListTables", "eu-west-1")] == 2
    assert aws.attempts[("dynamodb", "ListTables", "us-east-1")] == 1


def test_endpoint_that_does_not_answer(fake: tuple[boto3.Session, FakeAws], monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL_<SERVICE> is honoured (never overridden); a dead endpoint is a gap."""
    session, aws = fake
    aws.route("dynamodb", "ListTables", lambda region: ConnectTimeoutError(endpoint_url="https://dynamodb"))
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"], config=FAST)
    assert {(g.operation, g.error, g.level.value) for g in estate.gaps} == {
        ("ListTables", "ConnectTimeoutError", "service"), ("ListGlobalTables", "GivenUp", "service"),
        ("*", "ConnectTimeoutError", "scope")}
    assert aws.attempts[("dynamodb", "ListGlobalTables", "eu-north-1")] == 0


def test_dead_endpoint_setting_is_used_and_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "http://127.0.0.1:9")
    session = boto3.Session(region_name="eu-north-1", **CREDS)
    aws = FakeAws(session)
    session.events.unregister("before-send", aws._send)
    # only KMS goes to the dead endpoint; everything else is answered by the fake
    session.events.register("before-send", lambda request, event_name, **kw: None
                            if event_name.startswith("before-send.kms") else aws._send(request, event_name))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["kms"], config=FAST)
    assert [(g.operation, g.error, g.level.value) for g in estate.gaps] == [
        ("*", "EndpointConnectionError", "scope"), ("ListKeys", "EndpointConnectionError", "service")]
    assert "http" not in " ".join(g.message for g in estate.gaps)


def test_region_that_refuses_and_access_denied(fake: tuple[boto3.Session, FakeAws]) -> None:
    session, aws = fake
    answers = {"eu-south-2": _json_error(400, "UnrecognizedClientException"),
               "eu-north-1": _json_error(400, "AccessDeniedException"), "us-east-1": (200, '{"TableNames": []}')}
    aws.route("dynamodb", "ListTables", lambda region: answers[region])
    aws.route("dynamodb", "ListGlobalTables", lambda region: answers[region] if region != "us-east-1" else _global_tables(region))
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-south-2", "us-east-1"], services=["dynamodb"],
                      config=FAST)
    gaps = {(g.region, g.operation, g.error) for g in estate.gaps}
    assert gaps == {("eu-north-1", "ListTables", "AccessDeniedException"),
                    ("eu-north-1", "ListGlobalTables", "AccessDeniedException"),
                    ("eu-south-2", "ListTables", "UnrecognizedClientException"),
                    ("eu-south-2", "ListGlobalTables", "UnrecognizedClientException"),
                    # every call of these regions was refused: whole scopes not read
                    ("eu-north-1", "*", "AccessDeniedException"),
                    ("eu-south-2", "*", "UnrecognizedClientException")}
    assert {g.region for g in estate.gaps if g.level.value == "scope"} == {"eu-north-1", "eu-south-2"}
    # refusals are not retried
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 1


def test_disabled_regions_are_gaps_not_skipped(fake: tuple[boto3.Session, FakeAws]) -> None:
    session, aws = fake
    aws.route("dynamodb", "ListTables", _tables)
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, services=["dynamodb"], config=FAST)
    assert [(g.region, g.operation, g.error, g.level.value) for g in estate.gaps] == [
        ("me-central-1", "DescribeRegions", "RegionNotEnabled", "scope")]
    scanned = {r for (s, op, r) in aws.attempts if s == "dynamodb"}
    assert scanned == {"ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-2",
                       "eu-west-1", "sa-east-1", "us-east-1", "us-west-2"}
    # asked for explicitly: the disabled region and an unknown one are gaps too
    estate = scan_aws(session=session, regions=["me-central-1", "eu-north-1", "xx-north-9"],
                      services=["dynamodb"], config=FAST)
    assert [(g.region, g.error) for g in estate.gaps] == [("me-central-1", "RegionNotEnabled"),
                                                          ("xx-north-9", "RegionUnknown")]


def test_region_discovery_denied_falls_back_and_says_so(fake: tuple[boto3.Session, FakeAws]) -> None:
    session, aws = fake
    aws.route("ec2", "DescribeRegions", lambda region: (
        403, "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors></Response>"))
    aws.route("dynamodb", "ListTables", _tables)
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, services=["dynamodb"], config=FAST)
    # the account is read in part (its home region): not a whole scope lost
    assert [(g.operation, g.error, g.level.value) for g in estate.gaps] == [
        ("DescribeRegions", "UnauthorizedOperation", "service")]
    assert {r for (s, _, r) in aws.attempts if s == "dynamodb"} == {"eu-north-1"}


def test_no_credentials_is_an_input_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(InputError, match="no AWS credentials"):
        scan_aws(session=boto3.Session(region_name="eu-north-1"), services=["kms"])


def test_bad_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="not an AWS region"):
        scan_aws(session=object(), regions=["Europe"])
    with pytest.raises(InputError, match="unknown service"):
        scan_aws(session=object(), services=["ec2"])


def test_throttling_backs_off_and_recovers(fake: tuple[boto3.Session, FakeAws]) -> None:
    """Throttled twice, answered on the third attempt: no gap, and the scope is not given up."""
    session, aws = fake
    throttled = Counter[str]()

    def tables(region: str) -> tuple[int, str]:
        throttled[region] += 1
        if throttled[region] <= 2:
            return _json_error(400, "ThrottlingException")
        return 200, '{"TableNames": []}'

    aws.route("dynamodb", "ListTables", tables)
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"])  # default bounds
    assert estate.gaps == ()
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 3
    assert aws.attempts[("dynamodb", "ListGlobalTables", "eu-north-1")] == 1


def test_users_max_attempts_setting_is_kept(fake: tuple[boto3.Session, FakeAws],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_MAX_ATTEMPTS (or the profile's max_attempts) wins over the adapter's default of 3."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    session = boto3.Session(region_name="eu-north-1", **CREDS)
    aws = FakeAws(session)
    aws.route("dynamodb", "ListTables", lambda region: _json_error(500, "InternalServerError"))
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"],
             config=Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard"}))
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 5
    # and max_attempts= wins over both
    aws.attempts.clear()
    scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"], max_attempts=1)
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 1


def test_dead_discovery_endpoint_does_not_give_up_the_home_region(fake: tuple[boto3.Session, FakeAws]) -> None:
    """Organizations not answering loses the organisation (a scope), not the caller's region."""
    session, aws = fake
    aws.route("organizations", "ListAccounts", lambda region: ConnectTimeoutError(endpoint_url="https://organizations"))
    aws.route("dynamodb", "ListTables", _tables)
    aws.route("dynamodb", "ListGlobalTables", _global_tables)
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"], org_role="Audit", config=FAST)
    assert [(g.scope, g.region, g.service, g.error, g.level.value) for g in estate.gaps] == [
        ("111122223333/organization", "", "organizations", "ConnectTimeoutError", "scope")]
    assert aws.attempts[("dynamodb", "ListTables", "eu-north-1")] == 1


def test_a_value_botocore_refuses_as_a_parameter_is_a_record_gap_not_a_dead_region() -> None:
    import boto3
    import botocore.config

    from residency_audit.model import GapLevel
    from residency_audit.providers.aws.faults import Attempt, Ledger, Scope

    client = boto3.Session(region_name="eu-north-1", aws_access_key_id="x",
                           aws_secret_access_key="y").client(
        "rds", endpoint_url="http://127.0.0.1:9",  # a closed loopback port: nothing leaves
        config=botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1))
    attempt = Attempt(scope=Scope(account="1", region="eu-north-1", service="rds"), ledger=Ledger())
    # An id that is not text: botocore refuses it before anything is sent.
    assert attempt.call("DescribeDBInstances", client.describe_db_instances, resource="t",
                        DBInstanceIdentifier=["t"]) is None
    [gap] = attempt.gaps
    assert (gap.error, gap.level, gap.resource, gap.field) == (
        "UnparseableRecord", GapLevel.RECORD, "t", "DBInstanceIdentifier")
    # The region is not given up for it: the next call is made (refused by the closed port).
    attempt.call("DescribeDBInstances", client.describe_db_instances, resource="u", DBInstanceIdentifier="u")
    assert attempt.gaps[-1].resource == "u" and attempt.gaps[-1].error != "GivenUp"
