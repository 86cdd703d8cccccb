"""One record never loses the scan: every parser, fed records generated from the Azure SDK's models
(members dropped, nulled, mistyped), gives resources or record-level gaps naming the field, never a
traceback; and through the CLI a bad record in a real answer is one gap while the rest is read."""

from __future__ import annotations

import contextlib
import importlib
from collections import Counter
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from residency_audit.catalog import default_catalog
from residency_audit.model import GapLevel
from residency_audit.providers.azure import cosmos, keyvault, locations, sql, storage, vaults
from residency_audit.providers.azure.locations import RegionFacts, parse_locations, read_locations
from residency_audit.providers.azure.records import Parsed, parse_each
from residency_audit.providers.service import RecordError
from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm
from tests.providers.azure.sdk_records import mutations_of, record_of

EXAMPLES = 50
RUN: Counter[str] = Counter()
"""Examples run per parser (printed at the end of the module with ``-s``)."""
RECORDS: Counter[str] = Counter()
"""Records parsed per parser (an example holds one to three)."""

FACTS = RegionFacts(regions=parse_locations([
    {"name": "westeurope", "metadata": {"regionType": "Physical", "pairedRegion": [{"name": "northeurope"}]}},
    {"name": "swedencentral", "metadata": {"regionType": "Physical", "pairedRegion": [{"name": "swedensouth"}]}},
]), catalog=default_catalog())


def _models(package: str) -> Any:
    return importlib.import_module(f"azure.mgmt.{package}.models")


def _records(package: str, model: str, arm_type: str) -> st.SearchStrategy[Any]:
    models = _models(package)
    one = record_of(getattr(models, model), models,
                    fixed={"type": st.sampled_from([arm_type, arm_type.upper(), "other/type"])})
    return st.lists(st.one_of(one, one, one, st.sampled_from([None, "row", 7, ["x"]])), min_size=1, max_size=3)


PARSERS: dict[str, tuple[str, st.SearchStrategy[Any], Callable[..., Parsed]]] = {
    "storage": ("storage", _records("storage", "StorageAccount", storage.RESOURCE_TYPE),
                storage.parse_storage_account),
    "sql-server": ("sql", _records("sql", "Server", sql.SERVER_TYPE), sql.parse_server),
    "sql-database": ("sql", _records("sql", "Database", sql.DATABASE_TYPE), sql.parse_database),
    "sql-replication-link": ("sql", _records("sql", "ReplicationLink", "microsoft.sql/servers/databases/replicationlinks"),
                             partial(sql.parse_replication_link, server_ids={"partner": t.rid("s2", "dr", "x")})),
    "sql-failover-group": ("sql", _records("sql", "FailoverGroup", "microsoft.sql/servers/failovergroups"),
                           sql.parse_failover_group),
    "cosmosdb": ("cosmosdb", _records("cosmosdb", "DatabaseAccountGetResults", cosmos.RESOURCE_TYPE),
                 cosmos.parse_cosmos_account),
    "recovery-vault": ("recoveryservices", _records("recoveryservices", "Vault", vaults.RS_VAULT_TYPE),
                       vaults.parse_recovery_vault),
    "backup-vault": ("dataprotection", st.lists(mutations_of(t.backup_vault(
        "s1", "rg", "bv", location="westeurope", redundancy="GeoRedundant")), min_size=1, max_size=3),
                     vaults.parse_backup_vault),
    "key-vault": ("keyvault", _records("keyvault", "Vault", keyvault.VAULT_TYPE), keyvault.parse_key_vault),
    "managed-hsm": ("keyvault", _records("keyvault", "ManagedHsm", keyvault.HSM_TYPE), keyvault.parse_managed_hsm),
}


def _check(name: str, records: list[Any]) -> None:
    service, _, parse = PARSERS[name]
    RUN[name] += 1
    RECORDS[name] += len(records)
    for record in records:
        out = parse_each([record], partial(parse, facts=FACTS, operation="X"), service=service, operation="X",
                         scope="s1")
        bad = [g for g in out.gaps if g.error == "UnparseableRecord"]
        # each record: read, or a gap saying why not (a failover group without partners holds nothing)
        assert out.resources or bad or name == "sql-failover-group", record
        for gap in bad:
            assert (gap.provider, gap.service, gap.scope, gap.level) == ("azure", service, "s1", GapLevel.RECORD)
            assert gap.field, gap  # the member at fault is named
            assert gap.resource
            assert not out.resources
        with contextlib.suppress(RecordError):  # the raw parser fails only by naming a field
            parse(record, facts=FACTS, operation="X")


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parser_never_raises_on_sdk_shaped_records(name: str) -> None:
    @settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(records=PARSERS[name][1])
    def run(records: list[Any]) -> None:
        _check(name, records)

    run()


@settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(st.one_of(record_of(_models("resource.subscriptions").Location,
                                         _models("resource.subscriptions")), st.none()), max_size=4))
def test_locations_never_raise(rows: list[Any]) -> None:
    RUN["locations"] += 1
    RECORDS["locations"] += len(rows)
    for row in rows:
        regions, gaps = read_locations([row], scope="s1")
        assert len(regions) + len(gaps) == 1  # each item: a region, or a gap saying why not
        assert all(g.level == GapLevel.RECORD and g.field and g.service == "locations" for g in gaps)


@settings(derandomize=True, max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(item=st.one_of(record_of(_models("resource.subscriptions").Subscription, _models("resource.subscriptions")),
                      st.none(), st.integers()))
def test_subscriptions_never_raise(item: Any) -> None:
    RUN["subscriptions"] += 1
    RECORDS["subscriptions"] += 1
    try:
        sub, state = locations.parse_subscription(item)
    except RecordError as exc:
        assert exc.field
    else:
        assert sub and state


@pytest.fixture(scope="module", autouse=True)
def _count() -> Iterator[None]:
    yield
    print(f"\nAzure parser examples run: {sum(RUN.values())} ({dict(sorted(RUN.items()))}), "
          f"{sum(RECORDS.values())} records, zero tracebacks")


def test_bad_records_through_the_cli_are_record_gaps_and_the_rest_is_read(
        fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from residency_audit.cli import main
    from residency_audit.estate_io import read_estate

    bad_id = t.rid(t.SUB_PROD, "journal", "Microsoft.Storage/storageAccounts/broken")
    fake_arm.add_resource({"id": bad_id, "name": "broken", "type": "Microsoft.Storage/storageAccounts",
                           "location": 42, "properties": []})
    fake_arm.add_resource({"id": t.rid(t.SUB_PROD, "journal", "Microsoft.KeyVault/vaults/kv2"), "name": "kv2",
                           "type": "Microsoft.KeyVault/vaults", "location": "swedencentral",
                           "properties": {"sku": "premium"}})
    token = tmp_path / "token"
    token.write_text("dummy-token")
    for extra in ([], ["--azure-no-resource-graph"]):
        out = tmp_path / f"estate{len(extra)}.json"
        with fake_arm.serve(ca) as url:
            code = main(["-q", "scan", "--azure", "--azure-endpoint", url, "--azure-ca-bundle", str(ca_pem),
                         "--azure-access-token-file", str(token), "-o", str(out), *extra])
        assert code == 0 and "Traceback" not in capsys.readouterr().err
        estate = read_estate(out)
        bad = sorted((g.service, g.resource.rsplit("/", 1)[-1], g.field, g.scope, g.level.value)
                     for g in estate.gaps if g.error == "UnparseableRecord")
        assert bad == [("keyvault", "kv2", "properties.sku", t.SUB_PROD, "record"),
                       ("storage", "broken", "location", t.SUB_PROD, "record")]
        names = {r.name for r in estate.resources}
        assert {"journalnl", "lrsacct", "journal-kv"} <= names and not {"broken", "kv2"} & names


def test_unreadable_page_is_a_service_gap_and_earlier_pages_are_kept(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 200, "", query="skiptoken=4",
                  reply={"value": "not a list"})
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD], services=["storage"])
    assert len([r for r in estate.resources if r.service == "storage"]) == 4
    [gap] = [g for g in estate.gaps if g.error == "UnparseableResponse"]
    assert (gap.service, gap.level.value) == ("storage", "service")


def test_next_link_off_the_endpoint_is_not_followed(scan: Any, fake_arm: FakeArm) -> None:
    first = t.storage_account(t.SUB_PROD, "rg", "one", location="swedencentral", sku="Standard_LRS")
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 200, "",
                  reply={"value": [first], "nextLink": "https://attacker.example/steal"})
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD], services=["storage"])
    assert [r.name for r in estate.resources] == ["one"]
    [gap] = [g for g in estate.gaps if g.error == "UnparseableResponse"]
    assert "not followed" in gap.message and "attacker" not in gap.message
