"""The scan as a whole: deterministic output, progress, one estate for every service."""

from __future__ import annotations

import subprocess
import sys

import boto3

from residency_audit.estate_io import estate_to_dict
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import no_global_tables
from tests.providers.aws.estates import REGIONS8, build_s3_estate


def _strip_times(d: dict) -> dict:
    d["metadata"]["started"] = d["metadata"]["finished"] = ""
    return d


def test_same_estate_same_output_and_progress(session: boto3.Session) -> None:
    build_s3_estate(session)
    session.client("dynamodb", region_name="eu-north-1").create_table(
        TableName="t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    session.client("kms", region_name="eu-west-1").create_key()
    no_global_tables(session)
    calls: list[tuple[str, int, int]] = []
    first = scan_aws(session=session, regions=list(REGIONS8), max_workers=4,
                     progress=lambda label, done, total: calls.append((label, done, total)))
    second = scan_aws(session=session, regions=list(REGIONS8), max_workers=16)
    assert _strip_times(estate_to_dict(first)) == _strip_times(estate_to_dict(second))
    assert [r.id for r in first.resources] == sorted(r.id for r in first.resources)
    assert {r.service for r in first.resources} == {"s3", "dynamodb", "kms"}
    labels = {label for label, _, _ in calls}
    assert {"aws: regions", "aws: services", "aws: s3"} <= labels
    assert all(0 <= done <= total for _, done, total in calls)
    last = {label: (done, total) for label, done, total in calls}
    assert last["aws: services"][0] == last["aws: services"][1]
    assert first.metadata.sources == ("aws",)
    assert first.metadata.scopes == ("aws:123456789012",)


def test_importing_the_library_does_not_import_boto3() -> None:
    code = ("import sys, residency_audit, residency_audit.providers.aws, residency_audit.providers.aws.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
