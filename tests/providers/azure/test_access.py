"""Each scope asked for ends read, read in part or not read: Resource Graph's silence is checked per scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from residency_audit.estate_io import read_estate
from residency_audit.providers.azure.access import Grant, allows
from residency_audit.providers.azure.scanner import NOT_READ, READ, READ_IN_PART, coverage
from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm
from tests.providers.azure.helpers import gaps

PERMISSIONS = r"/providers/Microsoft.Authorization/permissions$"


def _cli_scan(fake: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *extra: str) -> Any:
    from residency_audit.cli import main

    token = tmp_path / "token"
    token.write_text("dummy-token\n")
    out = tmp_path / "estate.json"
    with fake.serve(ca) as url:
        code = main(["-q", "scan", "--azure", "--azure-endpoint", url, "--azure-ca-bundle", str(ca_pem),
                     "--azure-access-token-file", str(token), "-o", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    return read_estate(out)


def test_denied_subscription_on_the_resource_graph_path_is_a_scope_gap(
        fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_arm.deny(t.SUB_DENIED)
    estate = _cli_scan(fake_arm, ca, ca_pem, tmp_path, capsys)
    assert f"azure:{t.SUB_DENIED}" in estate.metadata.scopes
    assert not [r for r in estate.resources if r.account == t.SUB_DENIED]  # Resource Graph said nothing
    [gap] = gaps(estate, scope=t.SUB_DENIED)
    assert (gap.level.value, gap.error, gap.operation) == ("scope", "AuthorizationFailed",
                                                           "Permissions_ListForSubscription")
    assert gap.message.startswith("HTTP 403: The client") and "does not have authorization" in gap.message
    status = coverage(estate)
    assert status[f"azure:{t.SUB_DENIED}"] == NOT_READ
    assert status[f"azure:{t.SUB_PROD}"] == READ_IN_PART  # marscentral: an unknown region
    assert fake_arm.count(PERMISSIONS) == 3  # one cheap check per subscription
    assert fake_arm.count("ResourceGraph", "POST") == 1


def test_readable_subscriptions_are_read() -> None:
    from residency_audit.model import Estate, ScanMetadata

    assert coverage(Estate(metadata=ScanMetadata(scopes=("azure:a", "aws:1")))) == {"azure:a": READ}


def test_no_read_role_on_the_subscription_is_a_scope_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.grant(t.SUB_DR, ["Microsoft.Compute/virtualMachines/read"])
    estate = scan()
    [gap] = gaps(estate, scope=t.SUB_DR, service="authorization")
    assert (gap.level.value, gap.error) == ("scope", "NotReadable")
    assert "Microsoft.Storage/storageAccounts/read" in gap.message
    assert coverage(estate)[f"azure:{t.SUB_DR}"] == NOT_READ


def test_some_services_not_permitted_are_service_gaps(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.grant(t.SUB_DR, ["*/read"], not_actions=["Microsoft.Sql/*", "Microsoft.KeyVault/vaults/read"])
    estate = scan()
    denied = gaps(estate, scope=t.SUB_DR, error="NotPermitted")
    assert {g.service for g in denied} == {"keyvault", "sql"}
    assert {g.level.value for g in denied} == {"service"}
    assert coverage(estate)[f"azure:{t.SUB_DR}"] == READ_IN_PART


def test_management_group_without_read_is_a_scope_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.grant("mg-healthcare", [])
    estate = scan(management_groups=["mg-healthcare"])
    [gap] = gaps(estate, scope="managementGroups/mg-healthcare")
    assert (gap.level.value, gap.error, gap.operation) == ("scope", "NotReadable", "Permissions_ListForManagementGroup")
    assert coverage(estate)["azure:managementGroups/mg-healthcare"] == NOT_READ
    assert coverage(estate)[f"azure:{t.SUB_PROD}"] == READ_IN_PART


def test_unreadable_permissions_answer_is_a_scope_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(rf"^/subscriptions/{t.SUB_DR}{PERMISSIONS}", 200, "", reply={"value": "everything"})
    fake_arm.fail(rf"^/subscriptions/{t.SUB_DENIED}{PERMISSIONS}", 200, "", reply={"value": [{"actions": [7]}]})
    estate = scan()
    [dr] = gaps(estate, scope=t.SUB_DR, service="authorization")
    assert (dr.level.value, dr.error) == ("scope", "UnparseableResponse")
    [other] = gaps(estate, scope=t.SUB_DENIED, service="authorization")
    assert (other.level.value, other.error, other.field) == ("scope", "UnparseableRecord", "value[0].actions[0]")


def test_server_reason_has_no_url_and_is_bounded(scan: Any, fake_arm: FakeArm) -> None:
    reason = ("Access denied, see https://aka.ms/rbac?token=abc&sig=secret-signature for help. " + "x" * 2000)
    fake_arm.fail(rf"^/subscriptions/{t.SUB_DR}{PERMISSIONS}", 403, "AuthorizationFailed", message=reason)
    estate = scan()
    [gap] = gaps(estate, scope=t.SUB_DR, service="authorization")
    assert "https://" not in gap.message and "secret-signature" not in gap.message and "[url]" in gap.message
    assert len(gap.message) <= 1000 + len("HTTP 403: ")
    assert "\n" not in json.dumps(gap.message).strip('"').replace("\\n", "\n")


def test_wildcards_and_not_actions() -> None:
    grants = [Grant(actions=("Microsoft.Storage/*",), not_actions=("Microsoft.Storage/storageAccounts/listKeys/action",)),
              Grant(actions=("*/read",), not_actions=("Microsoft.Sql/*",))]
    assert allows(grants, "microsoft.storage/storageaccounts/read")
    assert not allows(grants, "Microsoft.Sql/servers/read")
    assert allows(grants, "Microsoft.KeyVault/vaults/read")
    assert not allows([], "Microsoft.KeyVault/vaults/read")


def test_same_tenant_same_estate_with_faults(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.deny(t.SUB_DENIED)
    fake_arm.grant(t.SUB_DR, ["*/read"], not_actions=["Microsoft.Sql/*"])
    first, second = scan(), scan()
    assert first.resources == second.resources and first.gaps == second.gaps
    assert list(first.gaps) == sorted(first.gaps, key=lambda g: g.key)


def test_management_group_query_denied_is_a_scope_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 403, "AuthorizationFailed", method="POST",
                  body="managementGroups", times=100, message="no access to management group 'mg-healthcare'")
    estate = scan(management_groups=["mg-healthcare"])
    assert [(g.scope, g.level.value, g.error) for g in estate.gaps] == [
        ("managementGroups/mg-healthcare", "scope", "AuthorizationFailed")]
    assert coverage(estate) == {"azure:managementGroups/mg-healthcare": NOT_READ}
    assert estate.resources == ()
