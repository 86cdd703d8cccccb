"""The allow-list, the shipped IAM policy, and the guard that records the library's calls."""

from __future__ import annotations

import json
import re

import boto3

from residency_audit.providers.aws import cli
from residency_audit.providers.aws.operations import (
    ALL_OPERATIONS,
    allowed_calls,
    iam_actions,
    iam_policy,
)
from residency_audit.providers.aws.scanner import scan_aws
from tests.plugins import readonly_aws

_READ_VERB = re.compile(r"^(List|Get|Describe)[A-Z]")


def test_shipped_policy_is_exactly_the_allow_list() -> None:
    shipped = json.loads(cli.permissions_text())
    assert shipped == iam_policy()
    [statement] = shipped["Statement"]
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted({o.permission for o in ALL_OPERATIONS}) == iam_actions()


def test_every_operation_reads() -> None:
    """Only List/Get/Describe, plus AssumeRole (which grants nothing in the scanned account) and
    AWS Config's aggregate query (a read of recorded configuration items)."""
    for op in ALL_OPERATIONS:
        assert _READ_VERB.match(op.operation) or (op.service, op.operation) in {
            ("sts", "AssumeRole"), ("config", "SelectAggregateResourceConfig")}, op
        assert op.provider == "aws"


def test_operations_exist_in_botocore() -> None:
    session = boto3.Session(region_name="eu-north-1", aws_access_key_id="a", aws_secret_access_key="b")
    for op in ALL_OPERATIONS:
        model = session._session.get_service_model(op.service)
        assert op.operation in model.operation_names, op


def test_guard_records_library_calls_and_not_test_setup(session: boto3.Session) -> None:
    session.client("s3", region_name="eu-north-1").create_bucket(
        Bucket="guard-check", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
    assert ("s3", "CreateBucket") not in readonly_aws.recorded_calls()
    scan_aws(session=session, regions=["eu-north-1"], services=["s3"])
    recorded = readonly_aws.recorded_calls()
    assert ("s3", "ListBuckets") in recorded
    assert ("s3", "CreateBucket") not in recorded
    assert set(recorded) <= allowed_calls() | set(recorded)  # the run-wide check is in the plugin


def test_guard_sees_a_marked_client_even_without_library_frames(session: boto3.Session) -> None:
    """A client carrying the library's user-agent mark is the library's, wherever it is called from."""
    from residency_audit.providers.aws.scanner import build_config

    client = session.client("s3", region_name="eu-north-1", config=build_config())
    client.list_buckets()
    assert ("s3", "ListBuckets") in readonly_aws.recorded_calls()
    # a write through such a client would be recorded and fail the run; check the classifier:
    assert readonly_aws._MARK in client.meta.config.user_agent_extra


_OFFENDING_TEST = '''
import boto3
from moto import mock_aws
from residency_audit.providers.aws.scanner import build_config


def test_writes_through_a_library_client():
    with mock_aws():
        s = boto3.Session(region_name="eu-north-1", aws_access_key_id="a", aws_secret_access_key="b")
        s.client("s3", config=build_config()).create_bucket(
            Bucket="written-by-library", CreateBucketConfiguration={"LocationConstraint": "eu-north-1"})
'''


def test_guard_fails_a_run_that_calls_outside_the_allow_list(tmp_path) -> None:
    """A whole pytest run in which library code writes must fail, even though its test passed."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    (tmp_path / "test_offending.py").write_text(_OFFENDING_TEST)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), str(repo / "src")]),
           "AWS_EC2_METADATA_DISABLED": "true"}
    env.pop("PYTEST_ADDOPTS", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "tests.plugins.readonly_aws", str(tmp_path / "test_offending.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "1 passed" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr
    assert "s3.CreateBucket" in done.stdout
