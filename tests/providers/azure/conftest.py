"""Fixtures for the Azure adapter tests: a fake tenant over HTTPS on loopback, and a scanner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm, FakeCredential

pytest.importorskip("azure.mgmt.storage")
trustme = pytest.importorskip("trustme")


def build_tenant() -> FakeArm:
    """A healthcare tenant: production (the Netherlands/Ireland case, every SKU), DR, and a locked one."""
    fake = FakeArm(page_size=4)
    fake.add_subscription(t.SUB_PROD, "Region Stockholm prod", management_group="mg-healthcare")
    fake.add_subscription(t.SUB_DR, "Region Stockholm DR", management_group="mg-healthcare")
    fake.add_subscription(t.SUB_DENIED, "Research (no access)")
    p, rg = t.SUB_PROD, "journal"
    patient = {"data-class": "patient", "system": "journal"}
    for acct in [
        t.storage_account(p, rg, "journalnl", location="westeurope", sku="Standard_RAGRS",
                          secondary="northeurope", tags=patient),
        t.storage_account(p, rg, "lrsacct", location="swedencentral", sku="Standard_LRS"),
        t.storage_account(p, rg, "zrsacct", location="swedencentral", sku="Standard_ZRS"),
        t.storage_account(p, rg, "grsacct", location="swedencentral", sku="Standard_GRS", secondary="swedensouth"),
        t.storage_account(p, rg, "gzrsacct", location="germanywestcentral", sku="Standard_GZRS"),
        t.storage_account(p, rg, "ragzrsacct", location="westeurope", sku="Standard_RAGZRS",
                          secondary="northeurope", status_secondary="unavailable"),
        t.storage_account(p, rg, "premlrs", location="swedencentral", sku="Premium_LRS"),
        t.storage_account(p, rg, "premzrs", location="swedencentral", sku="Premium_ZRS"),
        t.storage_account(p, rg, "failedover", location="westeurope", primary="northeurope", sku="Standard_LRS",
                          last_failover="2025-03-01T08:30:00.0000000Z"),
        t.storage_account(p, rg, "marsacct", location="marscentral", sku="Standard_LRS"),
    ]:
        fake.add_resource(acct)
    weu = fake.add_resource(t.sql_server(p, rg, "journal-sql-weu", location="westeurope", tags=patient))
    neu = fake.add_resource(t.sql_server(t.SUB_DR, "dr", "journal-sql-neu", location="northeurope"))
    db = fake.add_resource(t.sql_database(weu, "journaldb", backup="Geo", tags=patient))
    fake.add_resource(t.sql_database(weu, "master", backup="Geo"))
    fake.add_resource(t.sql_database(weu, "localdb", backup="Local"))
    db2 = fake.add_resource(t.sql_database(neu, "journaldb", backup="Geo", secondary_type="Geo"))
    fake.add_sql_child(weu["id"], "replicationLinks", t.replication_link(
        db, partner_server="journal-sql-neu", partner_database="journaldb", partner_location="North Europe"))
    fake.add_sql_child(neu["id"], "replicationLinks", t.replication_link(
        db2, partner_server="journal-sql-weu", partner_database="journaldb", partner_location="West Europe",
        role="Secondary", partner_role="Primary", partner_id=db["id"]))
    fake.add_sql_child(weu["id"], "failoverGroups", t.failover_group(weu, "journal-fog", partner=neu, databases=[db]))
    labs = fake.add_resource(t.sql_server(p, "labs", "labs-sql", location="swedencentral"))
    labdb = fake.add_resource(t.sql_database(labs, "labdb", backup="Zone"))
    fake.add_sql_child(labs["id"], "replicationLinks", t.replication_link(
        labdb, partner_server="ext-sql", partner_database="labdb", partner_location="East US"))
    fake.add_resource(t.cosmos_account(p, rg, "journal-cosmos", regions=[("West Europe", 0), ("North Europe", 1)],
                                       backup="Geo", tags=patient))
    fake.add_resource(t.cosmos_account(p, rg, "multi-cosmos", regions=[("Sweden Central", 0), ("West Europe", 1),
                                                                       ("East US", 2)], writes=2, backup="Local"))
    fake.add_resource(t.recovery_vault(p, rg, "rsv-geo", location="westeurope", redundancy="GeoRedundant",
                                       crr="Enabled"))
    fake.add_resource(t.recovery_vault(p, rg, "rsv-lrs", location="swedencentral", redundancy="LocallyRedundant"))
    fake.add_resource(t.recovery_vault(t.SUB_DR, "dr", "rsv-unknown", location="northeurope", redundancy=None))
    fake.add_resource(t.backup_vault(p, rg, "bv-geo", location="swedencentral", redundancy="GeoRedundant"))
    fake.add_resource(t.key_vault(p, rg, "journal-kv", location="swedencentral", tags=patient))
    fake.add_resource(t.managed_hsm(p, rg, "journal-hsm", location="swedencentral",
                                    regions=[("swedencentral", True), ("westeurope", False)]))
    fake.add_resource(t.storage_account(t.SUB_DENIED, "x", "researchacct", location="eastus", sku="Standard_GRS",
                                        secondary="westus"))
    return fake


@pytest.fixture(scope="session")
def ca() -> Any:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_pem(ca: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("azure-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def fake_arm() -> FakeArm:
    return build_tenant()


@pytest.fixture
def scan(fake_arm: FakeArm, ca: Any, ca_pem: Path) -> Iterator[Callable[..., Any]]:
    """Run ``scan_azure`` against ``fake_arm`` over HTTPS with a fake credential (no retries by default)."""
    from residency_audit.providers.azure import scan_azure

    with fake_arm.serve(ca) as url:
        def run(**kwargs: Any) -> Any:
            kwargs.setdefault("credential", FakeCredential())
            kwargs.setdefault("base_url", url)
            client_kwargs = {"connection_verify": str(ca_pem), "retry_total": 0,
                             **kwargs.pop("client_kwargs", {})}
            return scan_azure(client_kwargs=client_kwargs, **kwargs)

        run.url = url  # type: ignore[attr-defined]
        yield run


@pytest.fixture(scope="module")
def scan_once(ca: Any, ca_pem: Path) -> Any:
    """One Resource Graph scan of the standard tenant, shared by a module's read-only checks."""
    from residency_audit.providers.azure import scan_azure

    fake = build_tenant()
    with fake.serve(ca) as url:
        return scan_azure(credential=FakeCredential(), base_url=url,
                          client_kwargs={"connection_verify": str(ca_pem), "retry_total": 0})
