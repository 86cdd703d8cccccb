"""Services found through Cloud Asset search: BigQuery, Cloud SQL, Spanner, Firestore, Bigtable,
Filestore, disks and snapshots — placements, links and gaps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from residency_audit.catalog import default_catalog
from residency_audit.model import Estate, LinkRelation, Resource, Role
from tests.providers.gcp.conftest import add_services
from tests.providers.gcp.fakes import FakeGcp

P = "ehr-prod"


@pytest.fixture
def estate(fake_org: FakeGcp, scan: Callable[..., Estate]) -> Estate:
    add_services(fake_org)
    return scan(organization="100")


def _get(estate: Estate, rid: str) -> Resource:
    return {r.id: r for r in estate.resources}[rid]


def _places(r: Resource) -> set[tuple[str, Role]]:
    return {(p.location, p.role) for p in r.placements}


def test_bigquery_multi_regions(estate: Estate) -> None:
    eu = _get(estate, f"//bigquery.googleapis.com/projects/{P}/datasets/analytics_eu")
    us = _get(estate, "//bigquery.googleapis.com/projects/shared-infra/datasets/logs_us")
    assert _places(eu) == {("gcp:EU", Role.PRIMARY)}
    assert _places(us) == {("gcp:US", Role.PRIMARY)}
    assert eu.tags["data-class"] == "patient"
    assert eu.attributes["folder_path"] == "Clinical/Stockholm"
    assert us.attributes["folder_path"] == "Shared"


def test_cloud_sql_replica_is_its_own_resource_linked_from_the_primary(estate: Estate) -> None:
    primary = _get(estate, f"//cloudsql.googleapis.com/projects/{P}/instances/pg-main")
    replica = _get(estate, f"//cloudsql.googleapis.com/projects/{P}/instances/pg-replica-nl")
    assert _places(primary) == {("gcp:europe-north1", Role.PRIMARY), ("gcp:EU", Role.BACKUP)}
    assert _places(replica) == {("gcp:europe-west4", Role.REPLICA)}
    targets = {(link.relation, link.target) for link in primary.links}
    assert (LinkRelation.REPLICATES_TO, replica.id) in targets
    assert replica.links == ()


def test_cloud_sql_replica_named_but_not_found_is_unknown_not_compliant(estate: Estate) -> None:
    gone = _get(estate, f"//cloudsql.googleapis.com/projects/{P}/instances/pg-replica-gone")
    assert gone.placements == ()
    gap = next(g for g in estate.gaps if g.resource == gone.id)
    assert gap.error == "NOT_FOUND"


def test_cloud_sql_default_backup_location_is_derived_and_says_so(estate: Estate) -> None:
    r = _get(estate, "//cloudsql.googleapis.com/projects/research/instances/mysql-default-backup")
    backup = next(p for p in r.placements if p.role == Role.BACKUP)
    assert backup.location == "gcp:EU"
    assert backup.evidence.source == "derived"
    assert r.attributes["backup_location"] == "default"


def test_spanner_configs(estate: Estate) -> None:
    cat = default_catalog()
    multi = _get(estate, f"//spanner.googleapis.com/projects/{P}/instances/sp-eur3")
    regional = _get(estate, f"//spanner.googleapis.com/projects/{P}/instances/sp-fi")
    assert _places(multi) == {("gcp:eur3", Role.PRIMARY)}
    assert _places(regional) == {("gcp:europe-north1", Role.PRIMARY)}
    found = cat.region(multi.placements[0].location, service=multi.service)
    assert found is not None and found.service == "spanner"
    assert "FI" in cat.region_countries(found)


def test_firestore_databases(estate: Estate) -> None:
    native = _get(estate, f"//firestore.googleapis.com/projects/{P}/databases/(default)")
    datastore = _get(estate, f"//firestore.googleapis.com/projects/{P}/databases/ds-fi")
    assert _places(native) == {("gcp:eur3", Role.PRIMARY)}
    assert _places(datastore) == {("gcp:europe-north1", Role.PRIMARY)}
    assert datastore.attributes["database_type"] == "DATASTORE_MODE"


def test_bigtable_cluster_zone_to_region(estate: Estate) -> None:
    r = _get(estate, f"//bigtableadmin.googleapis.com/projects/{P}/instances/bt/clusters/bt-c1")
    assert _places(r) == {("gcp:europe-north1", Role.PRIMARY)}
    assert r.attributes["zone"] == "europe-north1-a"
    assert r.attributes["instance"].endswith("/instances/bt")


def test_filestore_backup_linked_from_instance(estate: Estate) -> None:
    inst = _get(estate, f"//file.googleapis.com/projects/{P}/locations/europe-north1-b/instances/fs1")
    bak = _get(estate, f"//file.googleapis.com/projects/{P}/locations/europe-west4/backups/fs1-bak")
    assert _places(bak) == {("gcp:europe-west4", Role.BACKUP)}
    assert [(x.relation, x.target) for x in inst.links] == [(LinkRelation.BACKS_UP_TO, bak.id)]


def test_snapshot_storage_location_leaves_the_eu(estate: Estate) -> None:
    disk = _get(estate, f"//compute.googleapis.com/projects/{P}/zones/europe-north1-a/disks/disk1")
    snap = _get(estate, f"//compute.googleapis.com/projects/{P}/global/snapshots/disk1-snap")
    assert _places(disk) == {("gcp:europe-north1", Role.PRIMARY)}
    assert _places(snap) == {("gcp:US", Role.BACKUP)}
    assert [(x.relation, x.target) for x in disk.links] == [(LinkRelation.BACKS_UP_TO, snap.id)]


def test_estate_round_trips_through_json(estate: Estate) -> None:
    from residency_audit.estate_io import estate_from_dict, estate_to_dict

    assert estate_to_dict(estate_from_dict(estate_to_dict(estate))) == estate_to_dict(estate)
    assert estate.metadata.scopes == ("organizations/100",)


def test_two_links_to_one_replica_keep_one_order(estate: Estate) -> None:
    # pg-main names pg-replica-nl in replicaNames, and the replica names pg-main as its master:
    # two links to one target, ordered by their evidence (not by the order of a set)
    primary = _get(estate, f"//cloudsql.googleapis.com/projects/{P}/instances/pg-main")
    assert [(link.target.rsplit("/", 1)[-1], link.evidence.ref.split(".")[-1])
            for link in primary.links] == [
        ("pg-replica-gone", "replicaNames"), ("pg-replica-nl", "masterInstanceName"),
        ("pg-replica-nl", "replicaNames")]


_SCAN_TO_JSON = """
import json, sys
from google.auth.credentials import AnonymousCredentials
from residency_audit.estate_io import estate_to_dict
from residency_audit.providers.gcp import scan_gcp
from tests.providers.gcp.conftest import add_services, build_org
fake = build_org()
add_services(fake)
fake.on_request = lambda method, path: None
with fake.serve() as url:
    estate = scan_gcp(organization="100", credentials=AnonymousCredentials(), transport="rest",
                      endpoints={"*": url})
doc = estate_to_dict(estate)
doc["metadata"].pop("started"), doc["metadata"].pop("finished")
sys.stdout.write(json.dumps(doc, sort_keys=True))
"""


def test_the_estate_is_the_same_whatever_the_hash_seed() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    outs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed,
               "PYTHONPATH": os.pathsep.join([str(root), str(root / "src")])}
        done = subprocess.run([sys.executable, "-c", _SCAN_TO_JSON], env=env, cwd=root,
                              capture_output=True, text=True, timeout=120, check=True)
        outs.add(done.stdout)
    assert len(outs) == 1
