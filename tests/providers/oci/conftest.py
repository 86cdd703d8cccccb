"""Fixtures for the OCI adapter tests: a tenancy of several regions and compartments on loopback.

The SDK signs every request with a throwaway RSA key generated here; nothing but 127.0.0.1 is
contacted. After each test the fake must have seen no request outside the allow-list.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.providers.oci.fake_oci import CREATED, FakeOci

TENANCY = "ocid1.tenancy.oc1..aaaaacmehealth"
HEALTH = "ocid1.compartment.oc1..health"
TIPOFF = "ocid1.compartment.oc1..tipoff"
FINANCE = "ocid1.compartment.oc1..finance"
SECRET = "ocid1.compartment.oc1..secret"

LON, FRA, ARN = "uk-london-1", "eu-frankfurt-1", "eu-stockholm-1"


@functools.cache
def signing_key() -> tuple[str, str]:
    """A throwaway RSA key (PEM) and its fingerprint, made once per run."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.md5(der, usedforsecurity=False).hexdigest()
    return pem, ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def public_key() -> Any:
    """The public half of :func:`signing_key`, for the fake to check signatures with."""
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(signing_key()[0].encode(), None).public_key()


def sdk_config(tenancy: str = TENANCY, region: str = LON) -> dict[str, Any]:
    pem, fingerprint = signing_key()
    return {"user": "ocid1.user.oc1..auditor", "fingerprint": fingerprint, "tenancy": tenancy,
            "region": region, "key_content": pem}


def _tags(**defined: dict[str, str]) -> dict[str, Any]:
    return {"definedTags": defined}


def build_tenancy(tenancy: str = TENANCY) -> FakeOci:
    """A healthcare tenancy: London (home), Frankfurt and Stockholm; five compartments.

    - tip-off (under health): the tip-off bucket in London replicated to Frankfurt, an Autonomous
      Database with a Data Guard peer in Frankfurt, a volume whose backup policy copies to
      Frankfurt, a volume group replicated to Frankfurt, a file system replicated to Frankfurt,
      a vault replicated to Stockholm;
    - health: a DB system in London with a Data Guard standby in Stockholm (its OCID uses the
      short key ``arn``), a journal bucket in Stockholm;
    - finance: nothing; secret: listed but not accessible.
    """
    fake = FakeOci(tenancy=tenancy, home=LON)
    fake.public_key = public_key()
    lon = fake.region(LON, "LHR")
    fra = fake.region(FRA, "FRA")
    arn = fake.region(ARN, "ARN")
    fake.compartment(HEALTH, "health", tags={"owner": "region-x"})
    fake.compartment(TIPOFF, "tip-off", parent=HEALTH)
    fake.compartment(FINANCE, "finance")
    fake.compartment(SECRET, "secret", accessible=False)
    ns = fake.namespace
    sensitive = {"Residency": {"data-class": "tip-off"}}

    lon.add("buckets", {"namespace": ns, "name": "tips", "compartmentId": TIPOFF,
                        "createdBy": "ocid1.user.oc1..a", "timeCreated": CREATED, "etag": "e1",
                        "id": f"ocid1.bucket.oc1.{LON}.tips", "storageTier": "Standard",
                        "publicAccessType": "NoPublicAccess", "replicationEnabled": True,
                        "isReadOnly": False, "freeformTags": {"team": "tips"}, **_tags(**sensitive)})
    lon.add("policies:tips", {"id": "rp1", "name": "to-frankfurt",
                               "destinationRegionName": FRA, "destinationBucketName": "tips-dr",
                               "timeCreated": CREATED, "timeLastSync": CREATED, "status": "ACTIVE",
                               "statusMessage": ""})
    fra.add("buckets", {"namespace": ns, "name": "tips-dr", "compartmentId": TIPOFF,
                        "timeCreated": CREATED, "etag": "e2", "id": f"ocid1.bucket.oc1.{FRA}.tipsdr",
                        "storageTier": "Standard", "replicationEnabled": False, "isReadOnly": True,
                        "freeformTags": {}, **_tags(**sensitive)})
    fra.add("sources:tips-dr", {"policyName": "to-frankfurt", "sourceRegionName": LON,
                                "sourceBucketName": "tips"})
    arn.add("buckets", {"namespace": ns, "name": "journal", "compartmentId": HEALTH,
                        "timeCreated": CREATED, "etag": "e3", "id": f"ocid1.bucket.oc1.{ARN}.journal",
                        "storageTier": "Standard", "replicationEnabled": False, "isReadOnly": False,
                        "freeformTags": {"data-class": "patient"}, "definedTags": {}})

    adb = f"ocid1.autonomousdatabase.oc1.{LON}.tipsdb"
    peer = f"ocid1.autonomousdatabase.oc1.{FRA}.tipsdbpeer"
    lon.add("adbs", {"id": adb, "compartmentId": TIPOFF, "displayName": "tipsdb", "dbName": "TIPS",
                     "lifecycleState": "AVAILABLE", "dbWorkload": "OLTP", "role": "PRIMARY",
                     "isDataGuardEnabled": True, "isLocalDataGuardEnabled": True,
                     "localStandbyDb": {"lagTimeInSeconds": 1, "lifecycleState": "AVAILABLE",
                                        "availabilityDomain": "Uocm:UK-LONDON-1-AD-2"},
                     "isRemoteDataGuardEnabled": True, "peerDbIds": [peer],
                     "remoteDisasterRecoveryConfiguration": {"disasterRecoveryType": "ADG",
                                                             "isReplicateAutomaticBackups": True},
                     "timeCreated": CREATED, "freeformTags": {}, **_tags(**sensitive)})
    lon.add(f"peers:{adb}", {"id": peer, "region": FRA})
    fra.add("adbs", {"id": peer, "compartmentId": TIPOFF, "displayName": "tipsdb", "dbName": "TIPS",
                     "lifecycleState": "AVAILABLE", "role": "STANDBY",
                     "disasterRecoveryRegionType": "REMOTE", "peerDbIds": [adb],
                     "isRemoteDataGuardEnabled": True, "timeCreated": CREATED})
    fra.add(f"peers:{peer}", {"id": adb, "region": LON})

    system = f"ocid1.dbsystem.oc1.{LON}.records"
    database = f"ocid1.database.oc1.{LON}.recordsdb"
    lon.add("dbsystems", {"id": system, "compartmentId": HEALTH, "displayName": "records",
                          "availabilityDomain": "Uocm:UK-LONDON-1-AD-1", "shape": "VM.Standard.E4.Flex",
                          "databaseEdition": "ENTERPRISE_EDITION_HIGH_PERFORMANCE",
                          "lifecycleState": "AVAILABLE", "timeCreated": CREATED,
                          "hostname": "records", "sshPublicKeys": [], "cpuCoreCount": 2,
                          "freeformTags": {"data-class": "patient"}})
    lon.add("databases", {"id": database, "compartmentId": HEALTH, "dbSystemId": system,
                          "dbName": "REC", "lifecycleState": "AVAILABLE", "timeCreated": CREATED,
                          "dbBackupConfig": {"autoBackupEnabled": True, "recoveryWindowInDays": 30,
                                             "backupDestinationDetails": [
                                                 {"type": "DBRS", "isRemote": True,
                                                  "remoteRegion": FRA,
                                                  "dbrsPolicyId": "ocid1.recoveryservicepolicy.oc1..p"}]}})
    lon.add(f"associations:{database}", {
        "id": "ocid1.dgassociation.oc1.lhr.dg1", "databaseId": database, "role": "PRIMARY",
        "lifecycleState": "AVAILABLE", "peerDbSystemId": "ocid1.dbsystem.oc1.arn.recordsstandby",
        "peerDatabaseId": "ocid1.database.oc1.arn.recordsstandbydb", "peerRole": "STANDBY",
        "protectionMode": "MAXIMUM_PERFORMANCE", "transportType": "ASYNC", "timeCreated": CREATED})

    volume = f"ocid1.volume.oc1.{LON}.tipsvol"
    lon.add("volumes", {"id": volume, "compartmentId": TIPOFF, "displayName": "tips-data",
                        "availabilityDomain": "Uocm:UK-LONDON-1-AD-1", "lifecycleState": "AVAILABLE",
                        "sizeInGBs": 100, "sizeInMBs": 102400, "timeCreated": CREATED,
                        "blockVolumeReplicas": [], **_tags(**sensitive)})
    lon.add(f"assignments:{volume}", {"id": "ocid1.volumebackuppolicyassignment.oc1.lhr.a1",
                                      "assetId": volume, "policyId": "ocid1.volumebackuppolicy.oc1.lhr.dr",
                                      "timeCreated": CREATED})
    lon.by_id["ocid1.volumebackuppolicy.oc1.lhr.dr"] = {
        "id": "ocid1.volumebackuppolicy.oc1.lhr.dr", "displayName": "daily-to-frankfurt",
        "compartmentId": TIPOFF, "destinationRegion": FRA, "timeCreated": CREATED,
        "schedules": [{"backupType": "INCREMENTAL", "period": "ONE_DAY", "retentionSeconds": 604800,
                       "offsetType": "STRUCTURED", "hourOfDay": 1, "timeZone": "UTC"}]}
    lon.add("bootvolumes", {"id": f"ocid1.bootvolume.oc1.{LON}.boot", "compartmentId": TIPOFF,
                            "displayName": "tips-boot", "availabilityDomain": "Uocm:UK-LONDON-1-AD-1",
                            "lifecycleState": "AVAILABLE", "sizeInGBs": 50, "timeCreated": CREATED,
                            "bootVolumeReplicas": [{
                                "displayName": "tips-boot-replica",
                                "bootVolumeReplicaId": "ocid1.bootvolumereplica.oc1.arn.b1",
                                "availabilityDomain": "Uocm:EU-STOCKHOLM-1-AD-1"}]})
    lon.add("volumegroups", {"id": f"ocid1.volumegroup.oc1.{LON}.tipsgroup", "compartmentId": TIPOFF,
                             "displayName": "tips-group", "availabilityDomain": "Uocm:UK-LONDON-1-AD-1",
                             "lifecycleState": "AVAILABLE", "sizeInMBs": 1024, "timeCreated": CREATED,
                             "volumeIds": [volume],
                             "volumeGroupReplicas": [{
                                 "displayName": "tips-group-replica",
                                 "volumeGroupReplicaId": f"ocid1.volumegroupreplica.oc1.{FRA}.r1",
                                 "availabilityDomain": "Uocm:EU-FRANKFURT-1-AD-1"}]})
    lon.add("filesystems", {"id": f"ocid1.filesystem.oc1.{LON}.tipsfs", "compartmentId": TIPOFF,
                            "displayName": "tips-fs"})
    lon.add("replications", {"id": f"ocid1.replication.oc1.{LON}.rep1", "compartmentId": TIPOFF,
                             "availabilityDomain": "Uocm:UK-LONDON-1-AD-1", "displayName": "tips-fs-dr",
                             "lifecycleState": "ACTIVE", "timeCreated": CREATED,
                             "sourceId": f"ocid1.filesystem.oc1.{LON}.tipsfs",
                             "targetId": f"ocid1.filesystem.oc1.{FRA}.tipsfsdr",
                             "replicationTargetId": f"ocid1.replicationtarget.oc1.{FRA}.t1",
                             "replicationInterval": 60})
    vault_id = f"ocid1.vault.oc1.{LON}.keys"
    lon.add("vaults", {"id": vault_id, "compartmentId": TIPOFF, "displayName": "tip-keys",
                       "cryptoEndpoint": "https://x-crypto.kms.uk-london-1.oraclecloud.com",
                       "managementEndpoint": "https://x-management.kms.uk-london-1.oraclecloud.com",
                       "lifecycleState": "ACTIVE", "timeCreated": CREATED,
                       "vaultType": "VIRTUAL_PRIVATE"})
    lon.add(f"vaultreplicas:{vault_id}", {"cryptoEndpoint": "https://y-crypto.kms.eu-stockholm-1.oraclecloud.com",
                                          "managementEndpoint": "https://y-management.kms.eu-stockholm-1.oraclecloud.com",
                                          "region": ARN, "status": "CREATED"})
    return fake


def fast_retry() -> Any:
    from residency_audit.providers.oci.clients import build_retry

    return build_retry(attempts=3, backoff_cap=0.05, base_sleep=0.01)


@pytest.fixture
def fake_oci() -> Iterator[FakeOci]:
    fake = build_tenancy()
    yield fake
    assert not fake.violations, f"requests outside the allow-list: {fake.violations}"
    assert not fake.unsigned, f"unsigned requests: {fake.unsigned}"


@contextlib.contextmanager
def scanner(fake: FakeOci) -> Iterator[Callable[..., Any]]:
    """``scan_oci`` against ``fake``, each region on its own port, with short limits."""
    from residency_audit.providers.oci import scan_oci

    with fake.serve() as urls:
        def run(**kwargs: Any) -> Any:
            kwargs.setdefault("config", sdk_config())
            kwargs.setdefault("endpoints", urls)
            kwargs.setdefault("connect_timeout", 2.0)
            kwargs.setdefault("read_timeout", 3.0)
            kwargs.setdefault("retry_strategy", fast_retry())
            return scan_oci(**kwargs)

        run.urls = urls  # type: ignore[attr-defined]
        yield run


@pytest.fixture
def scan(fake_oci: FakeOci) -> Iterator[Callable[..., Any]]:
    with scanner(fake_oci) as run:
        yield run


@pytest.fixture(scope="session")
def tenancy_estate() -> Any:
    """One scan of the untouched tenancy, shared by the tests that only read it."""
    fake = build_tenancy()
    with scanner(fake) as run:
        estate = run()
    assert not fake.violations and not fake.unsigned
    return estate
