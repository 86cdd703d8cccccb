"""RDS and Aurora against moto: cross-region read replicas, global databases, backup replication."""

from __future__ import annotations

import boto3

from residency_audit.model import LinkRelation, Role
from residency_audit.providers.aws.scanner import scan_aws
from tests.providers.aws.conftest import canned

ACCOUNT = "123456789012"
PW = "correct-horse-battery"


def _by_id(estate):
    return {r.id: r for r in estate.resources}


def _placed(r):
    return sorted((p.code, p.role.value) for p in r.placements)


def _no_moto_backups(session: boto3.Session) -> None:
    """moto's automated-backup entries lack their ARN: answer the documented shape (empty here)."""
    canned(session, "rds", "DescribeDBInstanceAutomatedBackups", lambda region, p: (
        "<DescribeDBInstanceAutomatedBackupsResponse><DescribeDBInstanceAutomatedBackupsResult>"
        "<DBInstanceAutomatedBackups/></DescribeDBInstanceAutomatedBackupsResult>"
        "</DescribeDBInstanceAutomatedBackupsResponse>"))


def test_cross_region_read_replica_and_global_cluster(session: boto3.Session) -> None:
    north = session.client("rds", region_name="eu-north-1")
    west = session.client("rds", region_name="us-east-1")
    src = north.create_db_instance(DBInstanceIdentifier="patients", Engine="postgres", DBInstanceClass="db.t3.micro",
                                   AllocatedStorage=20, MasterUsername="u", MasterUserPassword=PW,
                                   Tags=[{"Key": "data-class", "Value": "patient"}])["DBInstance"]
    west.create_db_instance_read_replica(DBInstanceIdentifier="patients-dr", SourceDBInstanceIdentifier=src["DBInstanceArn"],
                                         DBInstanceClass="db.t3.micro")
    north.create_global_cluster(GlobalClusterIdentifier="journal", Engine="aurora-postgresql")
    north.create_db_cluster(DBClusterIdentifier="journal-se", Engine="aurora-postgresql", GlobalClusterIdentifier="journal",
                            MasterUsername="u", MasterUserPassword=PW)
    west.create_db_cluster(DBClusterIdentifier="journal-us", Engine="aurora-postgresql", GlobalClusterIdentifier="journal")
    _no_moto_backups(session)
    estate = scan_aws(session=session, regions=["eu-north-1", "us-east-1"], services=["rds"])
    rs = _by_id(estate)
    primary = rs[f"arn:aws:rds:eu-north-1:{ACCOUNT}:db:patients"]
    replica_arn = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:patients-dr"
    assert _placed(primary) == [("eu-north-1", "primary")]
    assert dict(primary.tags) == {"data-class": "patient"}
    assert [(x.relation, x.target) for x in primary.links] == [(LinkRelation.REPLICATES_TO, replica_arn)]
    # the replica's zone is copied from its source by moto: the region comes from the ARN
    assert _placed(rs[replica_arn]) == [("us-east-1", "replica")]
    assert "observed" not in rs[replica_arn].attributes
    glob = rs[f"arn:aws:rds::{ACCOUNT}:global-cluster:journal"]
    assert _placed(glob) == [("eu-north-1", "primary"), ("us-east-1", "replica")]
    writer = rs[f"arn:aws:rds:eu-north-1:{ACCOUNT}:cluster:journal-se"]
    assert [x.target for x in writer.links] == [f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:journal-us"]
    assert _placed(writer) == [("eu-north-1", "primary")]
    assert estate.gaps == ()


def test_replica_in_an_unscanned_region_is_still_placed(session: boto3.Session) -> None:
    north = session.client("rds", region_name="eu-north-1")
    src = north.create_db_instance(DBInstanceIdentifier="p", Engine="postgres", DBInstanceClass="db.t3.micro",
                                   AllocatedStorage=20, MasterUsername="u", MasterUserPassword=PW)["DBInstance"]
    session.client("rds", region_name="ap-southeast-2").create_db_instance_read_replica(
        DBInstanceIdentifier="p-au", SourceDBInstanceIdentifier=src["DBInstanceArn"], DBInstanceClass="db.t3.micro")
    _no_moto_backups(session)
    estate = scan_aws(session=session, regions=["eu-north-1"], services=["rds"])
    stub = _by_id(estate)[f"arn:aws:rds:ap-southeast-2:{ACCOUNT}:db:p-au"]
    assert _placed(stub) == [("ap-southeast-2", "replica")]
    assert stub.attributes["observed"] == "referenced"


INSTANCES_XML = f"""<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
<DescribeDBInstancesResult><DBInstances><DBInstance>
  <DBInstanceIdentifier>ehr</DBInstanceIdentifier>
  <DBInstanceArn>arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr</DBInstanceArn>
  <Engine>postgres</Engine>
  <AvailabilityZone>eu-north-1a</AvailabilityZone>
  <ReadReplicaDBInstanceIdentifiers/>
  <DBInstanceAutomatedBackupsReplications>
    <DBInstanceAutomatedBackupsReplication>
      <DBInstanceAutomatedBackupsArn>arn:aws:rds:eu-west-1:{ACCOUNT}:auto-backup:ab-wrq5bkgyqpkgw6vh</DBInstanceAutomatedBackupsArn>
    </DBInstanceAutomatedBackupsReplication>
  </DBInstanceAutomatedBackupsReplications>
  <TagList><Tag><Key>data-class</Key><Value>patient</Value></Tag></TagList>
</DBInstance></DBInstances></DescribeDBInstancesResult>
<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeDBInstancesResponse>"""

BACKUPS_XML = f"""<DescribeDBInstanceAutomatedBackupsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
<DescribeDBInstanceAutomatedBackupsResult><DBInstanceAutomatedBackups><DBInstanceAutomatedBackup>
  <DBInstanceArn>arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr</DBInstanceArn>
  <DbiResourceId>db-QAYNWTBXRVJ6KCIW2TW7OWOZH4</DbiResourceId>
  <Region>eu-north-1</Region>
  <DBInstanceIdentifier>ehr</DBInstanceIdentifier>
  <Status>replicating</Status>
  <Engine>postgres</Engine>
  <DBInstanceAutomatedBackupsArn>arn:aws:rds:eu-west-1:{ACCOUNT}:auto-backup:ab-wrq5bkgyqpkgw6vh</DBInstanceAutomatedBackupsArn>
</DBInstanceAutomatedBackup></DBInstanceAutomatedBackups></DescribeDBInstanceAutomatedBackupsResult>
</DescribeDBInstanceAutomatedBackupsResponse>"""

EMPTY_BACKUPS_XML = BACKUPS_XML.split("<DBInstanceAutomatedBackups>")[0] + "<DBInstanceAutomatedBackups/>" + \
    "</DescribeDBInstanceAutomatedBackupsResult></DescribeDBInstanceAutomatedBackupsResponse>"


def test_automated_backup_replication_to_another_region(session: boto3.Session) -> None:
    """moto cannot start backup replication: AWS's documented shapes, parsed by botocore."""
    canned(session, "rds", "DescribeDBInstances",
           lambda region, p: INSTANCES_XML if region == "eu-north-1" else None)
    canned(session, "rds", "DescribeDBInstanceAutomatedBackups",
           lambda region, p: BACKUPS_XML if region == "eu-west-1" else EMPTY_BACKUPS_XML)
    estate = scan_aws(session=session, regions=["eu-north-1", "eu-west-1"], services=["rds"])
    rs = _by_id(estate)
    backup_arn = f"arn:aws:rds:eu-west-1:{ACCOUNT}:auto-backup:ab-wrq5bkgyqpkgw6vh"
    ehr = rs[f"arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr"]
    assert [(x.relation, x.target) for x in ehr.links] == [(LinkRelation.BACKS_UP_TO, backup_arn)]
    backup = rs[backup_arn]
    assert [(p.code, p.role) for p in backup.placements] == [("eu-west-1", Role.BACKUP)]
    assert backup.attributes["source"] == f"arn:aws:rds:eu-north-1:{ACCOUNT}:db:ehr"
    assert "observed" not in backup.attributes
