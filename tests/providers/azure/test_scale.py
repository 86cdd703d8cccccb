"""A tenant of many subscriptions: Resource Graph pages, subscription batches, management groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from residency_audit.providers.azure import scan_azure
from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm, FakeCredential


def _many(subs: int, per_sub: int) -> FakeArm:
    fake = FakeArm(page_size=25)
    for i in range(subs):
        sub = f"{i:08d}-0000-0000-0000-000000000000"
        fake.add_subscription(sub, f"sub {i}", management_group="mg-even" if i % 2 == 0 else "mg-odd")
        for j in range(per_sub):
            sku = ["Standard_LRS", "Standard_RAGRS", "Standard_GZRS"][j % 3]
            fake.add_resource(t.storage_account(sub, "rg", f"acct{i}x{j}", location="swedencentral", sku=sku,
                                                secondary="swedensouth" if sku != "Standard_LRS" else None))
    return fake


def _scan(fake: FakeArm, ca: Any, ca_pem: Path, **kwargs: Any) -> Any:
    with fake.serve(ca) as url:
        return scan_azure(credential=FakeCredential(), base_url=url, services=["storage"],
                          client_kwargs={"connection_verify": str(ca_pem), "retry_total": 0}, **kwargs)


def test_many_subscriptions_resource_graph_pages(ca: Any, ca_pem: Path) -> None:
    fake = _many(12, 30)
    estate = _scan(fake, ca, ca_pem, graph_page_size=100)
    assert len(estate.resources) == 360
    assert fake.count(r"ResourceGraph", "POST") == 4  # 360 rows, 100 a page
    tokens = [b["options"].get("$skipToken") for b in fake.graph_bodies]
    assert tokens == [None, "100", "200", "300"]
    assert all(len(b["subscriptions"]) == 12 for b in fake.graph_bodies)
    assert len(estate.metadata.scopes) == 12


def test_many_subscriptions_arm_equals_graph(ca: Any, ca_pem: Path) -> None:
    fake = _many(8, 30)
    graph = _scan(fake, ca, ca_pem)
    arm = _scan(fake, ca, ca_pem, use_resource_graph=False, max_workers=3)
    assert [(r.id, r.placements[0].location) for r in graph.resources] == [
        (r.id, r.placements[0].location) for r in arm.resources]
    assert fake.count(r"storageAccounts$") == 8 * 2  # 30 accounts, 25 a page


def test_management_group_scope(ca: Any, ca_pem: Path) -> None:
    fake = _many(6, 2)
    estate = _scan(fake, ca, ca_pem, management_groups=["mg-even"])
    assert {r.account for r in estate.resources} == {f"{i:08d}-0000-0000-0000-000000000000" for i in (0, 2, 4)}
    assert fake.graph_bodies[0]["managementGroups"] == ["mg-even"]
    assert fake.count(r"^/subscriptions$") == 0
    assert "azure:managementGroups/mg-even" in estate.metadata.scopes
