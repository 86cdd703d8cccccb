"""Organisation mode against moto: accounts listed by Organizations, reached by AssumeRole."""

from __future__ import annotations

import boto3

from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import canned
from tests.providers.aws.estates import make_bucket, replicate

MANAGEMENT = "123456789012"


def _accounts(session: boto3.Session, names: list[str]) -> list[str]:
    org = session.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    ids = []
    for name in names:
        status = org.create_account(AccountName=name, Email=f"{name}@region.example")["CreateAccountStatus"]
        ids.append(status["AccountId"])
    return ids


def _as(session: boto3.Session, account: str) -> boto3.Session:
    creds = session.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/setup",
                                              RoleSessionName="setup")["Credentials"]
    return boto3.Session(region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


def test_each_account_is_scanned_through_the_role(session: boto3.Session) -> None:
    ehr, lab, closed = _accounts(session, ["ehr", "lab", "locked"])
    make_bucket(_as(session, ehr), "ehr-journal", "eu-north-1", versioned=True)
    make_bucket(_as(session, lab), "lab-results", "eu-west-1", versioned=True)
    make_bucket(_as(session, lab), "lab-dr", "us-east-1", versioned=True)
    replicate(_as(session, ehr), "ehr-journal", "eu-north-1", [("lab-dr", lab)])
    make_bucket(session, "management-logs", "eu-north-1")
    assumed: list[dict] = []

    def assume(region: str, params: dict) -> tuple[int, str] | None:
        body = params["body"]  # the query protocol's parameters
        assumed.append(body)
        if closed in body["RoleArn"]:
            return 403, ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                         "<Message>not authorized to perform sts:AssumeRole</Message></Error></ErrorResponse>")
        return None

    canned(session, "sts", "AssumeRole", assume)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1", "us-east-1"], services=["s3"],
                      org_role="ResidencyAudit", external_id="ext-123")
    buckets = {r.name: r for r in estate.resources if r.kind == "bucket"}
    assert {n: (b.account, [p.code for p in b.placements]) for n, b in buckets.items()} == {
        "ehr-journal": (ehr, ["eu-north-1"]), "lab-results": (lab, ["eu-west-1"]),
        "lab-dr": (lab, ["us-east-1"]), "management-logs": (MANAGEMENT, ["eu-north-1"])}
    # cross-account replication resolved through the other account's own scan: no gap
    assert [x.target for x in buckets["ehr-journal"].links] == ["arn:aws:s3:::lab-dr"]
    assert sorted(b["RoleArn"] for b in assumed) == sorted(
        f"arn:aws:iam::{a}:role/ResidencyAudit" for a in (ehr, lab, closed))
    assert {b["ExternalId"] for b in assumed} == {"ext-123"}
    assert len(assumed) == 3
    assert [(g.scope, g.service, g.operation, g.error, g.resource) for g in estate.gaps] == [
        (closed, "sts", "AssumeRole", "AccessDenied", f"arn:aws:iam::{closed}:role/ResidencyAudit")]
    assert set(estate.metadata.scopes) == {f"aws:{a}" for a in (MANAGEMENT, ehr, lab)}


def test_organizations_denied_is_a_gap_and_the_caller_is_still_scanned(session: boto3.Session) -> None:
    make_bucket(session, "own", "eu-north-1")
    canned(session, "organizations", "ListAccounts", lambda region, p: (
        400, '{"__type": "AccessDeniedException", "Message": "denied"}'))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["s3"], org_role="ResidencyAudit")
    assert [r.name for r in estate.resources] == ["own"]
    assert [(g.service, g.operation, g.error) for g in estate.gaps] == [
        ("organizations", "ListAccounts", "AccessDeniedException")]


def test_region_discovery_with_moto(raw_session: boto3.Session) -> None:
    """moto's own DescribeRegions: opt-in regions that are off become gaps."""
    make_bucket(raw_session, "only", "eu-north-1")
    answer = raw_session.client("ec2", region_name="us-east-1").describe_regions(AllRegions=True)["Regions"]
    off = sorted(r["RegionName"] for r in answer if r["OptInStatus"] == "not-opted-in")
    assert off
    estate = scan_aws(session=raw_session, regions=[off[0], "eu-north-1"], services=["s3"])
    assert [(g.region, g.error) for g in estate.gaps] == [(off[0], "RegionNotEnabled")]
    assert [p.code for p in estate.resources[0].placements] == ["eu-north-1"]
