"""Fixtures for the AWS adapter tests: moto in-process, and canned answers for what moto lacks.

moto keeps no DynamoDB global-table replicas and lacks EFS replication, ``ListGlobalTables`` and
Backup selections. :func:`canned` answers such calls on a session's ``before-call`` event with a
body shaped like AWS's documented example, parsed by botocore's own parser for the operation, so
a body of the wrong shape still fails the test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser
from moto import mock_aws

Answer = Callable[[str, dict[str, Any]], "tuple[int, str] | str | None"]

CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}


def request_params(model: Any, request: dict[str, Any]) -> dict[str, Any]:
    """The API parameters of a serialised request (JSON protocols), or the query string."""
    body = request.get("body") or b""
    if isinstance(body, bytes):
        body = body.decode()
    if _text_protocol(model) in ("json", "rest-json") and body and not isinstance(body, bytes):
        return dict(json.loads(body))
    return {"url_path": request.get("url", "") + request.get("url_path", ""), "query": request.get("query_string", {}), "body": body}


def _text_protocol(model: Any) -> str:
    """The client's protocol, or JSON where the service also speaks it (canned bodies are text)."""
    protocol = str(model.service_model.protocol)
    if protocol == "smithy-rpc-v2-cbor" and "json" in model.service_model.metadata.get("protocols", []):
        return "json"
    return protocol


def canned(session: boto3.Session, service_id: str, operation: str, answer: Answer) -> None:
    """Answer ``operation`` with ``answer(region, params)``: a body (200), ``(status, body)``,
    or ``None`` to let the call through to moto."""

    def handler(model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> Any:
        got = answer(context.get("client_region", ""), request_params(model, params))
        if got is None:
            return None
        status, body = got if isinstance(got, tuple) else (200, got)
        headers = {"content-type": "application/x-amz-json-1.0" if _text_protocol(model) == "json"
                   else "application/json"}
        parser = create_parser(_text_protocol(model))
        parsed = parser.parse({"body": body.encode(), "headers": headers, "status_code": status},
                              model.output_shape)
        return AWSResponse("https://canned.invalid/", status, headers, None), parsed

    session.events.register(f"before-call.{service_id}.{operation}", handler)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with dummy credentials and no leaked endpoint settings."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


ENABLED_REGIONS = ("ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-south-2", "eu-west-1",
                   "sa-east-1", "us-east-1", "us-west-2")
DISABLED_REGIONS = ("me-central-1",)


def regions_xml(enabled: tuple[str, ...] = ENABLED_REGIONS, disabled: tuple[str, ...] = DISABLED_REGIONS) -> str:
    """A DescribeRegions answer in AWS's documented shape (eu-south-2 is an opted-in region)."""
    def item(name: str, status: str) -> str:
        return (f"<item><regionName>{name}</regionName><regionEndpoint>ec2.{name}.amazonaws.com</regionEndpoint>"
                f"<optInStatus>{status}</optInStatus></item>")

    items = [item(r, "opted-in" if r == "eu-south-2" else "opt-in-not-required") for r in enabled]
    items += [item(r, "not-opted-in") for r in disabled]
    return ('<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
            f"<requestId>1</requestId><regionInfo>{''.join(items)}</regionInfo></DescribeRegionsResponse>")


@pytest.fixture
def raw_session(aws: None) -> boto3.Session:
    """A session in us-east-1 (the legacy S3 answers need a us-east-1 client), moto answering all."""
    return boto3.Session(region_name="us-east-1", **CREDS)


@pytest.fixture
def session(raw_session: boto3.Session) -> boto3.Session:
    """As ``raw_session``, with DescribeRegions answered in AWS's shape (moto's EC2 start-up is slow)."""
    canned(raw_session, "ec2", "DescribeRegions", lambda region, p: regions_xml())
    return raw_session


def no_global_tables(session: boto3.Session) -> None:
    """moto lacks ListGlobalTables, EFS replication and Backup selections: answer them empty."""
    canned(session, "dynamodb", "ListGlobalTables", lambda region, p: '{"GlobalTables": []}')
    canned(session, "efs", "DescribeReplicationConfigurations", lambda region, p: '{"Replications": []}')
    canned(session, "backup", "ListBackupSelections", lambda region, p: '{"BackupSelectionsList": []}')
