"""Fixtures for the GCP adapter tests: a fake organisation served on loopback, and a scanner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.providers.gcp.fakes import ORG, FakeGcp


def build_org() -> FakeGcp:
    """A healthcare organisation: two folders (one nested), four projects, every bucket kind."""
    fake = FakeGcp()
    clinical = fake.add_folder("11", "Clinical")
    stockholm = fake.add_folder("12", "Stockholm", parent=clinical)
    shared = fake.add_folder("13", "Shared")
    fake.add_project("ehr-prod", "1001", parent=stockholm,
                     labels={"data-class": "patient", "env": "prod"})
    fake.add_project("research", "1002", parent=clinical, labels={"env": "test"})
    fake.add_project("shared-infra", "1003", parent=shared)
    fake.add_project("locked", "1004", parent=ORG)
    fake.add_bucket("ehr-prod", "ehr-records", "EUROPE-NORTH1", "region",
                    labels={"data-class": "restricted"})
    fake.add_bucket("ehr-prod", "ehr-dr", "EUR4", "dual-region", rpo="ASYNC_TURBO")
    fake.add_bucket("ehr-prod", "ehr-custom", "EU", "dual-region",
                    data_locations=["EUROPE-NORTH1", "EUROPE-WEST4"], rpo="DEFAULT")
    fake.add_bucket("research", "research-nam4", "NAM4", "dual-region", rpo="DEFAULT")
    fake.add_bucket("research", "research-asia1", "ASIA1", "dual-region")
    fake.add_bucket("research", "research-eu", "EU", "multi-region")
    fake.add_bucket("shared-infra", "shared-us", "US", "multi-region")
    fake.add_bucket("locked", "locked-bucket", "EUROPE-WEST1", "region")
    return fake


@pytest.fixture
def fake_org() -> FakeGcp:
    return build_org()


@pytest.fixture
def scan(fake_org: FakeGcp) -> Iterator[Callable[..., Any]]:
    """Run ``scan_gcp`` against ``fake_org`` over REST with anonymous credentials."""
    from google.auth.credentials import AnonymousCredentials

    from residency_audit.providers.gcp import scan_gcp
    from residency_audit.providers.gcp.faults import Limits

    with fake_org.serve() as url:
        def run(**kwargs: Any) -> Any:
            kwargs.setdefault("credentials", AnonymousCredentials())
            kwargs.setdefault("transport", "rest")
            kwargs.setdefault("endpoints", {"*": url})
            kwargs.setdefault("limits", Limits(connect_timeout=2.0, read_timeout=2.0,
                                               initial_backoff=0.01, backoff_cap=0.05))
            return scan_gcp(**kwargs)

        run.url = url  # type: ignore[attr-defined]
        yield run


def add_services(fake: FakeGcp) -> None:
    """Resources only Cloud Asset search finds, shaped like each service's REST representation."""
    p = "ehr-prod"
    fake.add_asset(p, "bigquery.googleapis.com/Dataset",
                   f"//bigquery.googleapis.com/projects/{p}/datasets/analytics_eu", "eu",
                   labels={"data-class": "patient"})
    fake.add_asset("shared-infra", "bigquery.googleapis.com/Dataset",
                   "//bigquery.googleapis.com/projects/shared-infra/datasets/logs_us", "US")
    fake.add_asset(p, "sqladmin.googleapis.com/Instance",
                   f"//cloudsql.googleapis.com/projects/{p}/instances/pg-main", "europe-north1",
                   resource={"kind": "sql#instance", "name": "pg-main", "project": p,
                             "region": "europe-north1", "databaseVersion": "POSTGRES_15",
                             "instanceType": "CLOUD_SQL_INSTANCE", "gceZone": "europe-north1-a",
                             "replicaNames": ["pg-replica-nl", "pg-replica-gone"],
                             "settings": {"tier": "db-custom-2-7680",
                                          "backupConfiguration": {"enabled": True,
                                                                  "location": "eu"}}})
    fake.add_asset(p, "sqladmin.googleapis.com/Instance",
                   f"//cloudsql.googleapis.com/projects/{p}/instances/pg-replica-nl",
                   "europe-west4",
                   resource={"kind": "sql#instance", "name": "pg-replica-nl", "project": p,
                             "region": "europe-west4", "databaseVersion": "POSTGRES_15",
                             "instanceType": "READ_REPLICA_INSTANCE",
                             "masterInstanceName": f"{p}:pg-main",
                             "settings": {"tier": "db-custom-2-7680"}})
    fake.add_asset("research", "sqladmin.googleapis.com/Instance",
                   "//cloudsql.googleapis.com/projects/research/instances/mysql-default-backup",
                   "europe-west1",
                   resource={"name": "mysql-default-backup", "region": "europe-west1",
                             "instanceType": "CLOUD_SQL_INSTANCE",
                             "settings": {"backupConfiguration": {"enabled": True}}})
    fake.add_asset(p, "spanner.googleapis.com/Instance",
                   f"//spanner.googleapis.com/projects/{p}/instances/sp-eur3", "eur3",
                   resource={"name": f"projects/{p}/instances/sp-eur3",
                             "config": f"projects/{p}/instanceConfigs/eur3",
                             "displayName": "sp-eur3", "nodeCount": 3, "state": "READY"})
    fake.add_asset(p, "spanner.googleapis.com/Instance",
                   f"//spanner.googleapis.com/projects/{p}/instances/sp-fi", "europe-north1",
                   resource={"name": f"projects/{p}/instances/sp-fi",
                             "config": f"projects/{p}/instanceConfigs/regional-europe-north1",
                             "processingUnits": 100, "state": "READY"})
    fake.add_asset(p, "firestore.googleapis.com/Database",
                   f"//firestore.googleapis.com/projects/{p}/databases/(default)", "eur3",
                   resource={"name": f"projects/{p}/databases/(default)", "locationId": "eur3",
                             "type": "FIRESTORE_NATIVE"})
    fake.add_asset(p, "firestore.googleapis.com/Database",
                   f"//firestore.googleapis.com/projects/{p}/databases/ds-fi", "europe-north1",
                   resource={"name": f"projects/{p}/databases/ds-fi",
                             "locationId": "europe-north1", "type": "DATASTORE_MODE"})
    fake.add_asset(p, "bigtableadmin.googleapis.com/Cluster",
                   f"//bigtableadmin.googleapis.com/projects/{p}/instances/bt/clusters/bt-c1",
                   "europe-north1-a",
                   resource={"name": f"projects/{p}/instances/bt/clusters/bt-c1",
                             "location": f"projects/{p}/locations/europe-north1-a",
                             "serveNodes": 3, "defaultStorageType": "SSD", "state": "READY"})
    fake.add_asset(p, "file.googleapis.com/Instance",
                   f"//file.googleapis.com/projects/{p}/locations/europe-north1-b/instances/fs1",
                   "europe-north1-b", resource={"name": f"projects/{p}/locations/europe-north1-b/"
                                                        "instances/fs1", "tier": "BASIC_HDD"})
    fake.add_asset(p, "file.googleapis.com/Backup",
                   f"//file.googleapis.com/projects/{p}/locations/europe-west4/backups/fs1-bak",
                   "europe-west4",
                   resource={"name": f"projects/{p}/locations/europe-west4/backups/fs1-bak",
                             "sourceInstance": f"projects/{p}/locations/europe-north1-b/"
                                               "instances/fs1",
                             "sourceFileShare": "share1", "state": "READY"})
    fake.add_asset(p, "compute.googleapis.com/Disk",
                   f"//compute.googleapis.com/projects/{p}/zones/europe-north1-a/disks/disk1",
                   "europe-north1-a", resource={"name": "disk1", "sizeGb": "100"})
    fake.add_asset(p, "compute.googleapis.com/Snapshot",
                   f"//compute.googleapis.com/projects/{p}/global/snapshots/disk1-snap", "us",
                   resource={"name": "disk1-snap", "storageLocations": ["us"],
                             "sourceDisk": "https://www.googleapis.com/compute/v1/projects/"
                                           f"{p}/zones/europe-north1-a/disks/disk1"})
