"""SQL geo-replication and backups, Cosmos DB regions, vault redundancy, Key Vault and HSM."""

from __future__ import annotations

from typing import Any

from residency_audit.catalog import default_catalog
from residency_audit.model import LinkRelation
from residency_audit.providers.azure.locations import RegionFacts
from residency_audit.providers.azure.sql import parse_database, parse_replication_link
from tests.providers.azure import tenant as t
from tests.providers.azure.helpers import by_name, gaps, where


def _db(estate: Any, server: str, name: str) -> Any:
    [r] = [r for r in estate.resources if r.kind == "database" and r.id.endswith(f"/servers/{server}/databases/{name}")]
    return r


def test_sql_geo_replica_is_its_own_resource_with_a_link(scan_once: Any) -> None:
    primary = _db(scan_once, "journal-sql-weu", "journaldb")
    secondary = _db(scan_once, "journal-sql-neu", "journaldb")
    assert where(primary) == {("azure:westeurope", "primary"), ("azure:northeurope", "backup")}
    assert where(secondary) == {("azure:northeurope", "replica"), ("azure:westeurope", "backup")}
    assert "seen_via" not in secondary.attributes  # the real record, not a stand-in
    targets = {(lk.relation, lk.target, lk.evidence.ref.split(" ")[0]) for lk in primary.links}
    assert targets == {(LinkRelation.REPLICATES_TO, secondary.id, "ReplicationLinks_ListByServer"),
                       (LinkRelation.REPLICATES_TO, secondary.id, "FailoverGroups_ListByServer")}
    assert [lk.target for lk in secondary.links] == [primary.id]
    assert dict(primary.tags)["data-class"] == "patient"


def test_sql_backup_redundancy(scan_once: Any) -> None:
    primary = _db(scan_once, "journal-sql-weu", "journaldb")
    backup = next(p for p in primary.placements if p.role.value == "backup")
    assert backup.evidence.ref == "Resources properties.currentBackupStorageRedundancy"
    assert "paired region" in backup.evidence.detail
    assert where(_db(scan_once, "journal-sql-weu", "localdb")) == {("azure:westeurope", "primary"),
                                                                   ("azure:westeurope", "backup")}
    assert where(_db(scan_once, "labs-sql", "labdb")) == {("azure:swedencentral", "primary"),
                                                          ("azure:swedencentral", "backup")}
    assert not [r for r in scan_once.resources if r.name == "master"]


def test_sql_failover_group_links_servers(scan_once: Any) -> None:
    weu = by_name(scan_once, "journal-sql-weu", "server")
    neu = by_name(scan_once, "journal-sql-neu", "server")
    assert [lk.target for lk in weu.links] == [neu.id]
    assert where(neu) == {("azure:northeurope", "primary")}


def test_sql_partner_outside_the_scan_is_a_stand_in(scan_once: Any) -> None:
    lab = _db(scan_once, "labs-sql", "labdb")
    [link] = lab.links
    stub = next(r for r in scan_once.resources if r.id == link.target)
    assert stub.id == "/subscriptions/unknown/resourceGroups/unknown/providers/Microsoft.Sql/servers/ext-sql/databases/labdb"
    assert where(stub) == {("azure:eastus", "replica")}
    assert stub.attributes["seen_via"] == "sql-replication-link"


def test_sql_backup_redundancy_unknown_is_a_gap() -> None:
    server = t.sql_server("s", "rg", "a", location="westeurope")
    parsed = parse_database(t.sql_database(server, "d", backup=None), facts=RegionFacts(catalog=default_catalog()),
                             operation="X")
    assert [g.error for g in parsed.gaps] == ["UnknownBackupLocation"]


def test_sql_link_without_partner_location_is_a_gap() -> None:
    server = t.sql_server("s", "rg", "a", location="westeurope")
    link = t.replication_link(t.sql_database(server, "d"), partner_server="b", partner_database="d",
                              partner_location="")
    parsed = parse_replication_link(link, facts=RegionFacts(catalog=default_catalog()), operation="X",
                                    server_ids={})
    assert [g.error for g in parsed.gaps] == ["UnknownPartnerLocation"]
    assert parsed.resources[0].placements == ()


def test_cosmos_every_region_and_priority(scan_once: Any) -> None:
    acct = by_name(scan_once, "journal-cosmos")
    assert where(acct) == {("azure:westeurope", "primary"), ("azure:northeurope", "replica"),
                           ("azure:northeurope", "backup")}
    assert acct.attributes["failover_priorities"] == "westeurope=0,northeurope=1"
    multi = by_name(scan_once, "multi-cosmos")
    assert where(multi) == {("azure:swedencentral", "primary"), ("azure:westeurope", "primary"),
                            ("azure:eastus", "replica"), ("azure:swedencentral", "backup")}
    assert multi.attributes["multiple_write_locations"] == "true"


def test_recovery_and_backup_vaults(scan_once: Any) -> None:
    geo = by_name(scan_once, "rsv-geo")
    assert where(geo) == {("azure:westeurope", "primary"), ("azure:northeurope", "secondary")}
    assert geo.attributes["cross_region_restore"] == "Enabled"
    assert where(by_name(scan_once, "rsv-lrs")) == {("azure:swedencentral", "primary")}
    bv = by_name(scan_once, "bv-geo")
    assert where(bv) == {("azure:swedencentral", "primary"), ("azure:swedensouth", "secondary")}
    assert bv.attributes["cross_region_restore"] == "Enabled"
    unknown = by_name(scan_once, "rsv-unknown")
    assert [g.error for g in gaps(scan_once, resource=unknown.id)] == ["UnknownRedundancy"]


def test_key_vault_and_managed_hsm(scan_once: Any) -> None:
    kv = by_name(scan_once, "journal-kv")
    assert where(kv) == {("azure:swedencentral", "primary"), ("azure:swedensouth", "secondary")}
    secondary = next(p for p in kv.placements if p.role.value == "secondary")
    assert secondary.evidence.source == "derived"
    hsm = by_name(scan_once, "journal-hsm")
    assert where(hsm) == {("azure:swedencentral", "primary"), ("azure:westeurope", "replica")}


def test_services_filter(scan: Any) -> None:
    estate = scan(services=["storage"])
    assert {r.service for r in estate.resources} == {"storage"}


def test_key_vault_in_a_single_region_geography_has_no_secondary() -> None:
    from residency_audit.providers.azure.keyvault import parse_key_vault

    facts = RegionFacts(catalog=default_catalog())
    [kv] = parse_key_vault(t.key_vault("s", "rg", "kv", location="brazilsouth"), facts=facts).resources
    assert where(kv) == {("azure:brazilsouth", "primary")}
    assert facts.pair("brazilsouth") is not None  # storage still pairs it
