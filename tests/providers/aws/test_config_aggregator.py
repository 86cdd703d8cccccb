"""Organisation mode through an AWS Config aggregator.

moto keeps configuration aggregators (``PutConfigurationAggregator``,
``DescribeConfigurationAggregators``) but has neither ``SelectAggregateResourceConfig`` nor
``DescribeConfigurationAggregatorSourcesStatus``: those two are answered with JSON bodies in the
service's published shape, parsed by botocore's own parser (:func:`canned`). The configuration
items are those of AWS Config's resource schema: ``configuration`` in the describe call's
members with their first letters in lower case, and an S3 bucket's replication in
``supplementaryConfiguration.ReplicationConfiguration``.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from residency_audit.model import GapLevel
from residency_audit.providers.aws import config as aws_config
from residency_audit.providers.aws.faults import Scope
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import canned
from tests.providers.aws.estates import make_bucket

MANAGEMENT = "123456789012"


def _accounts(session: boto3.Session, names: list[str]) -> list[str]:
    org = session.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    return [org.create_account(AccountName=n, Email=f"{n}@region.example")["CreateAccountStatus"]["AccountId"]
            for n in names]


def _as(session: boto3.Session, account: str) -> boto3.Session:
    creds = session.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup",
                                              RoleSessionName="setup")["Credentials"]
    return boto3.Session(region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def bucket_item(name: str, account: str, region: str, *, to: list[tuple[str, str]] = (),  # type: ignore[assignment]
                tags: dict[str, str] | None = None) -> dict[str, Any]:
    supplementary: dict[str, Any] = {}
    if to:
        supplementary["ReplicationConfiguration"] = json.dumps({
            "roleARN": f"arn:aws:iam::{account}:role/replication",
            "rules": [{"id": f"to-{dest}", "prefix": "", "status": "Enabled",
                       "destinationConfig": {"bucketARN": f"arn:aws:s3:::{dest}", "account": owner,
                                             "storageClass": "STANDARD"}} for dest, owner in to]})
    return {"resourceId": name, "resourceName": name, "resourceType": "AWS::S3::Bucket", "accountId": account,
            "awsRegion": region, "arn": f"arn:aws:s3:::{name}",
            "configuration": {"name": name, "owner": {"id": "x"}, "creationDate": "2025-01-01T00:00:00.000Z"},
            "supplementaryConfiguration": supplementary,
            "tags": [{"key": k, "value": v} for k, v in sorted((tags or {}).items())]}


def table_item(name: str, account: str, region: str, replicas: list[str]) -> dict[str, Any]:
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
    return {"resourceId": name, "resourceName": name, "resourceType": "AWS::DynamoDB::Table", "accountId": account,
            "awsRegion": region, "arn": arn,
            "configuration": {"tableName": name, "tableArn": arn, "tableStatus": "ACTIVE",
                              "globalTableVersion": "2019.11.21",
                              "replicas": [{"regionName": r, "replicaStatus": "ACTIVE"} for r in replicas]},
            "supplementaryConfiguration": {}, "tags": [{"key": "data-class", "value": "lab"}]}


def instance_item(name: str, account: str, region: str, replicas: list[str]) -> dict[str, Any]:
    arn = f"arn:aws:rds:{region}:{account}:db:{name}"
    return {"resourceId": "db-ABC" + name, "resourceName": name, "resourceType": "AWS::RDS::DBInstance",
            "accountId": account, "awsRegion": region, "arn": arn,
            "configuration": {"dBInstanceIdentifier": name, "dBInstanceArn": arn, "engine": "postgres",
                              "availabilityZone": f"{region}a", "readReplicaDBInstanceIdentifiers": replicas},
            "supplementaryConfiguration": {}, "tags": []}


def serve_config(session: boto3.Session, items: list[dict[str, Any]], statuses: list[dict[str, Any]],
                 seen: list[dict[str, Any]]) -> None:
    """Answer the two operations moto lacks; the items in pages of two."""
    texts = [json.dumps(i) for i in items]

    def select(region: str, params: dict[str, Any]) -> str:
        seen.append(params)
        start = int(params.get("NextToken") or 0)
        page: dict[str, Any] = {"Results": texts[start:start + 2],
                                "QueryInfo": {"SelectFields": [{"Name": "resourceId"}]}}
        if start + 2 < len(texts):
            page["NextToken"] = str(start + 2)
        return json.dumps(page)

    canned(session, "config-service", "SelectAggregateResourceConfig", select)
    canned(session, "config-service", "DescribeConfigurationAggregatorSourcesStatus",
           lambda region, p: json.dumps({"AggregatedSourceStatusList": statuses}))


def org_status(region: str, status: str = "SUCCEEDED") -> dict[str, Any]:
    return {"SourceId": "o-exampleorgid", "SourceType": "ORGANIZATION", "AwsRegion": region,
            "LastUpdateStatus": status, "LastUpdateTime": 1.7e9,
            **({"LastErrorCode": "AccessDenied", "LastErrorMessage": "no"} if status == "FAILED" else {})}


def _count(session: boto3.Session) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def count(model: Any, **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name))

    session.events.register("before-call", count)
    return calls


def _aggregator(session: boto3.Session, **source: Any) -> None:
    session.client("config", region_name="us-east-1").put_configuration_aggregator(
        ConfigurationAggregatorName="org-residency", **source)


def test_an_organisation_aggregator_stands_in_for_every_account(session: boto3.Session) -> None:
    calls = _count(session)
    ehr, lab = _accounts(session, ["ehr", "lab"])
    _aggregator(session, OrganizationAggregationSource={
        "RoleArn": f"arn:aws:iam::{MANAGEMENT}:role/aggregator", "AllAwsRegions": True})
    items = [bucket_item("ehr-journal", ehr, "eu-north-1", to=[("lab-dr", lab)], tags={"data-class": "patient"}),
             bucket_item("lab-dr", lab, "eu-west-1"),
             table_item("orders", lab, "eu-north-1", ["eu-north-1", "eu-west-1"]),
             instance_item("journal", ehr, "eu-north-1", [f"arn:aws:rds:eu-west-1:{ehr}:db:journal-dr"]),
             bucket_item("management-logs", MANAGEMENT, "eu-north-1")]
    selects: list[dict[str, Any]] = []
    serve_config(session, items, [org_status("eu-north-1"), org_status("eu-west-1")], selects)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["s3", "dynamodb", "rds"],
                      org_role="ResidencyAudit")
    found = {r.name: (r.account, sorted(p.code for p in r.placements), [x.target for x in r.links])
             for r in estate.resources}
    assert found == {
        "ehr-journal": (ehr, ["eu-north-1"], ["arn:aws:s3:::lab-dr"]),
        "lab-dr": (lab, ["eu-west-1"], []),
        "orders": (lab, ["eu-north-1", "eu-west-1"], []),
        "journal": (ehr, ["eu-north-1"], [f"arn:aws:rds:eu-west-1:{ehr}:db:journal-dr"]),
        "journal-dr": (ehr, ["eu-west-1"], []),
        "management-logs": (MANAGEMENT, ["eu-north-1"], [])}
    tags = {r.name: dict(r.tags) for r in estate.resources}
    assert tags["ehr-journal"] == {"data-class": "patient"} and tags["orders"] == {"data-class": "lab"}
    assert estate.gaps == ()
    orders = next(r for r in estate.resources if r.name == "orders")
    assert {p.evidence.ref for p in orders.placements} == {
        "SelectAggregateResourceConfig item (aggregator org-residency), read as DescribeTable Table.TableArn",
        "SelectAggregateResourceConfig item (aggregator org-residency), read as DescribeTable Table.Replicas[].RegionName"}
    # No account was entered: the aggregator answered for all of them, in three pages.
    assert ("sts", "AssumeRole") not in calls
    assert len(selects) == 3  # (the canned answers come before the counter's catch-all)
    assert {s["ConfigurationAggregatorName"] for s in selects} == {"org-residency"}
    assert "'AWS::S3::Bucket'" in selects[0]["Expression"]
    assert set(estate.metadata.scopes) == {f"aws:{a}" for a in (MANAGEMENT, ehr, lab)}


def test_accounts_and_regions_the_aggregator_misses_are_gaps_and_scanned_per_account(session: boto3.Session) -> None:
    ehr, lab = _accounts(session, ["ehr", "lab"])
    make_bucket(_as(session, lab), "lab-results", "eu-west-1")
    make_bucket(_as(session, ehr), "ehr-west", "eu-west-1")
    _aggregator(session, AccountAggregationSources=[{"AccountIds": [MANAGEMENT, ehr], "AllAwsRegions": True}])
    statuses = [{"SourceId": a, "SourceType": "ACCOUNT", "AwsRegion": r,
                 "LastUpdateStatus": "FAILED" if (a, r) == (ehr, "eu-west-1") else "SUCCEEDED",
                 **({"LastErrorCode": "AccessDenied"} if (a, r) == (ehr, "eu-west-1") else {})}
                for a in (MANAGEMENT, ehr) for r in ("eu-north-1", "eu-west-1")]
    serve_config(session, [bucket_item("ehr-journal", ehr, "eu-north-1"),
                           bucket_item("stale", ehr, "eu-west-1")], statuses, [])
    assumed: list[str] = []
    canned(session, "sts", "AssumeRole", lambda region, p: assumed.append(p["body"]["RoleArn"]))  # type: ignore[func-returns-value]
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["s3"],
                      org_role="ResidencyAudit")
    found = {r.name: (r.account, [p.code for p in r.placements]) for r in estate.resources}
    # ehr's eu-west-1 did not update: its per-account scan reads it (and the stale item is not used)
    assert found == {"ehr-journal": (ehr, ["eu-north-1"]), "ehr-west": (ehr, ["eu-west-1"]),
                     "lab-results": (lab, ["eu-west-1"])}
    assert sorted(assumed) == sorted(f"arn:aws:iam::{a}:role/ResidencyAudit" for a in (ehr, lab))
    gaps = [(g.scope, g.region, g.service, g.error, g.level) for g in estate.gaps]
    assert sorted(gaps) == sorted([(ehr, "eu-west-1", "config", "NotCoveredByAggregator", GapLevel.SERVICE),
                                   (lab, "", "config", "NotCoveredByAggregator", GapLevel.SERVICE)])
    message = {g.scope: g.message for g in estate.gaps}
    assert "FAILED AccessDenied" in message[ehr] and "not one of its sources" in message[lab]


def test_no_aggregator_means_the_fan_out_and_no_gap(session: boto3.Session) -> None:
    (ehr,) = _accounts(session, ["ehr"])
    make_bucket(_as(session, ehr), "ehr-journal", "eu-north-1")
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"], org_role="ResidencyAudit")
    assert [r.name for r in estate.resources] == ["ehr-journal"] and estate.gaps == ()


def test_select_refused_is_a_gap_and_the_fan_out_follows(session: boto3.Session) -> None:
    (ehr,) = _accounts(session, ["ehr"])
    make_bucket(_as(session, ehr), "ehr-journal", "eu-north-1")
    _aggregator(session, OrganizationAggregationSource={"RoleArn": "arn:aws:iam::1:role/a", "AllAwsRegions": True})
    canned(session, "config-service", "DescribeConfigurationAggregatorSourcesStatus",
           lambda region, p: json.dumps({"AggregatedSourceStatusList": [org_status("eu-north-1")]}))
    canned(session, "config-service", "SelectAggregateResourceConfig", lambda region, p: (
        400, json.dumps({"__type": "AccessDeniedException", "message": "not authorized"})))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"], org_role="ResidencyAudit")
    assert [r.name for r in estate.resources] == ["ehr-journal"]
    assert [(g.service, g.operation, g.error) for g in estate.gaps] == [
        ("config", "SelectAggregateResourceConfig", "AccessDeniedException")]


@pytest.mark.parametrize("broken", [
    "not json", json.dumps([1]), json.dumps({"resourceType": "AWS::S3::Bucket", "accountId": "1"}),
    json.dumps({"resourceType": "AWS::RDS::DBInstance", "accountId": "1", "awsRegion": "eu-north-1",
                "configuration": {"dBInstanceIdentifier": "x"}}),
    json.dumps({**bucket_item("b", "1", "eu-north-1"), "supplementaryConfiguration": {
        "ReplicationConfiguration": {"rules": [{"status": "Enabled", "destinationConfig": {}}]}}}),
])
def test_an_unreadable_item_is_a_record_gap_and_the_others_stay(broken: str) -> None:
    coverage = aws_config.Coverage(name="org", regions={"1": frozenset({"eu-north-1"})}, all_regions=True)
    good = json.dumps(bucket_item("good", "1", "eu-north-1"))
    found = aws_config.parse_items([broken, good], coverage=coverage,
                                   scope=Scope(account="1", region="us-east-1", service="config"))
    assert "good" in [r.name for r in found.resources]
    assert len(found.gaps) == 1 and found.gaps[0].level == GapLevel.RECORD and found.gaps[0].error == "UnparseableRecord"


def test_config_section_and_flags_reach_the_options() -> None:
    import argparse

    from residency_audit.errors import InputError
    from residency_audit.providers.aws.cli import (
        add_arguments,
        options_from_args,
        options_from_config,
    )

    opts = options_from_config({"tags": False, "config_aggregator": "org-residency"})
    assert (opts.tags, opts.config_aggregator) == (False, "org-residency")
    assert options_from_config({}).config_aggregator is True
    with pytest.raises(InputError, match="config_aggregator"):
        options_from_config({"config_aggregator": ""})
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--aws", "--aws-no-tags", "--aws-no-config"])
    assert (options_from_args(args).tags, options_from_args(args).config_aggregator) == (False, False)
    args = parser.parse_args(["--aws", "--aws-config-aggregator", "org-a"])
    assert options_from_args(args).config_aggregator == "org-a"
