"""DynamoDB, AWS Backup, EFS and KMS against moto, with AWS's documented shapes where moto has none."""

from __future__ import annotations

import json

import boto3

from residency_audit.model import LinkRelation, Role
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import canned, no_global_tables

ACCOUNT = "123456789012"


def _by_id(estate):
    return {r.id: r for r in estate.resources}


def _placed(r):
    return sorted((p.code, p.role.value) for p in r.placements)


def _describe_journal(region: str) -> str:
    """DescribeTable of a version 2019.11.21 global table (AWS's documented shape)."""
    return json.dumps({"Table": {
        "TableName": "journal", "TableStatus": "ACTIVE", "GlobalTableVersion": "2019.11.21",
        "TableArn": f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/journal",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "CreationDateTime": 1700000000.0, "ItemCount": 0, "TableSizeBytes": 0,
        "Replicas": [{"RegionName": "eu-north-1", "ReplicaStatus": "ACTIVE"},
                     {"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"},
                     {"RegionName": "us-east-1", "ReplicaStatus": "ACTIVE"}]}})


def test_dynamodb_global_tables_both_versions(session: boto3.Session) -> None:
    ddb = session.client("dynamodb", region_name="eu-north-1")
    for name in ("journal", "legacy", "local"):
        ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST", Tags=[{"Key": "data-class", "Value": name}])
    canned(session, "dynamodb", "DescribeTable",
           lambda region, p: _describe_journal(region) if p["TableName"] == "journal" else None)
    canned(session, "dynamodb", "ListGlobalTables", lambda region, p: json.dumps({"GlobalTables": [
        {"GlobalTableName": "legacy", "ReplicationGroup": [{"RegionName": "eu-north-1"}, {"RegionName": "ap-southeast-2"}]}]}))
    canned(session, "dynamodb", "DescribeGlobalTable", lambda region, p: json.dumps({"GlobalTableDescription": {
        "GlobalTableName": p["GlobalTableName"], "GlobalTableStatus": "ACTIVE",
        "GlobalTableArn": f"arn:aws:dynamodb::{ACCOUNT}:global-table/{p['GlobalTableName']}",
        "ReplicationGroup": [{"RegionName": "eu-north-1"}, {"RegionName": "ap-southeast-2"},
                             {"RegionName": "sa-east-1"}]}}))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["dynamodb"])
    rs = _by_id(estate)
    journal = rs[f"arn:aws:dynamodb:eu-north-1:{ACCOUNT}:table/journal"]
    assert _placed(journal) == [("eu-north-1", "primary"), ("eu-west-1", "replica"), ("us-east-1", "replica")]
    assert journal.attributes["global_table_version"] == "2019.11.21"
    legacy = rs[f"arn:aws:dynamodb:eu-north-1:{ACCOUNT}:table/legacy"]
    assert _placed(legacy) == [("ap-southeast-2", "replica"), ("eu-north-1", "primary"), ("sa-east-1", "replica")]
    assert legacy.attributes["global_table_version"] == "2017.11.29"
    local = rs[f"arn:aws:dynamodb:eu-north-1:{ACCOUNT}:table/local"]
    assert _placed(local) == [("eu-north-1", "primary")]
    assert dict(local.tags) == {"data-class": "local"}
    assert estate.gaps == ()


def test_backup_copy_actions_and_selections(session: boto3.Session) -> None:
    b = session.client("backup", region_name="eu-north-1")
    b.create_backup_vault(BackupVaultName="main")
    session.client("backup", region_name="eu-west-1").create_backup_vault(BackupVaultName="dr")
    dr = f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:dr"
    other = "arn:aws:backup:us-east-1:210987654321:backup-vault:offsite"
    plan = b.create_backup_plan(BackupPlan={"BackupPlanName": "daily", "Rules": [{
        "RuleName": "daily", "TargetBackupVaultName": "main", "ScheduleExpression": "cron(0 5 * * ? *)",
        "CopyActions": [{"DestinationBackupVaultArn": dr}, {"DestinationBackupVaultArn": other}]}]})
    plan_id = plan["BackupPlanId"]
    db = f"arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr"
    canned(session, "backup", "ListBackupSelections", lambda region, p: json.dumps({"BackupSelectionsList": [
        {"SelectionId": "sel-1", "SelectionName": "ehr", "BackupPlanId": plan_id,
         "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup"}]} if region == "eu-north-1" else {"BackupSelectionsList": []}))
    canned(session, "backup", "GetBackupSelection", lambda region, p: json.dumps({
        "BackupPlanId": plan_id, "SelectionId": "sel-1", "BackupSelection": {
            "SelectionName": "ehr", "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup",
            "Resources": [db, "arn:aws:ec2:*:*:volume/*"]}}))
    no_global_tables(session)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["backup"])
    rs = _by_id(estate)
    main = rs[f"arn:aws:backup:eu-north-1:{ACCOUNT}:backup-vault:main"]
    assert _placed(main) == [("eu-north-1", "backup")]
    assert [(x.relation, x.target) for x in main.links] == [
        (LinkRelation.BACKS_UP_TO, dr), (LinkRelation.BACKS_UP_TO, other)]
    assert "arn:aws:ec2:*:*:volume/*" in main.attributes["selections"]
    assert "observed" not in main.attributes
    assert _placed(rs[dr]) == [("eu-west-1", "backup")]
    offsite = rs[other]
    assert (offsite.account, _placed(offsite)) == ("210987654321", [("us-east-1", "backup")])
    assert [x.target for x in rs[db].links] == [main.id]
    assert estate.gaps == ()


def test_efs_replication(session: boto3.Session) -> None:
    efs = session.client("efs", region_name="eu-north-1")
    fs = efs.create_file_system(CreationToken="x", Tags=[{"Key": "data-class", "Value": "patient"}])
    fs_arn = fs["FileSystemArn"]
    canned(session, "efs", "DescribeReplicationConfigurations", lambda region, p: json.dumps({"Replications": [{
        "SourceFileSystemId": fs["FileSystemId"], "SourceFileSystemRegion": "eu-north-1",
        "SourceFileSystemArn": fs_arn, "OriginalSourceFileSystemArn": fs_arn, "CreationTime": 1700000000,
        "Destinations": [{"Status": "ENABLED", "FileSystemId": "fs-0f1e2d3c4b5a69788", "Region": "us-east-1"}]}]}
        if region == "eu-north-1" else {"Replications": []}))
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["efs"])
    rs = _by_id(estate)
    dest = f"arn:aws:elasticfilesystem:us-east-1:{ACCOUNT}:file-system/fs-0f1e2d3c4b5a69788"
    assert [(x.relation, x.target) for x in rs[fs_arn].links] == [(LinkRelation.REPLICATES_TO, dest)]
    assert _placed(rs[fs_arn]) == [("eu-north-1", "primary")]
    assert dict(rs[fs_arn].tags) == {"data-class": "patient"}
    assert _placed(rs[dest]) == [("us-east-1", "replica")]


def test_kms_multi_region_key(session: boto3.Session) -> None:
    kms = session.client("kms", region_name="eu-north-1")
    key = kms.create_key(MultiRegion=True, Tags=[{"TagKey": "purpose", "TagValue": "ehr"}])["KeyMetadata"]
    kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="eu-west-1")
    single = kms.create_key()["KeyMetadata"]
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["kms"])
    rs = _by_id(estate)
    assert _placed(rs[key["Arn"]]) == [("eu-north-1", "primary"), ("eu-west-1", "replica")]
    assert rs[key["Arn"]].attributes["multi_region"] == "true"
    assert dict(rs[key["Arn"]].tags) == {"purpose": "ehr"}
    assert _placed(rs[single["Arn"]]) == [("eu-north-1", "primary")]
    assert rs[single["Arn"]].placements[0].role is Role.PRIMARY
