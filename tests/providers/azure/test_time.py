"""Bounded time: a dead endpoint is given up (one call, not one per subscription), throttling recovers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from residency_audit.providers.azure import scan_azure
from residency_audit.providers.azure.arm import AzureContext, Timing
from residency_audit.providers.azure.scanner import NOT_READ, coverage
from residency_audit.providers.service import worst_case_seconds
from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm, FakeCredential, silent_server
from tests.providers.azure.helpers import by_name, gaps

SUBS = [t.SUB_PROD, t.SUB_DR, t.SUB_DENIED]


def test_default_worst_case_is_under_two_minutes() -> None:
    timing = Timing()
    assert timing.worst_case_seconds() == worst_case_seconds() == 85.0 <= 120
    options = AzureContext(credential=FakeCredential(), timing=timing).client_options()
    assert (options["connection_timeout"], options["read_timeout"]) == (5.0, 20.0)
    retry = options["retry_policy"]
    assert (retry.total_retries, retry.backoff_max, retry.timeout) == (2, 5.0, 85.0)


def test_timing_options_reach_the_client() -> None:
    ctx = AzureContext(credential=FakeCredential(), timing=Timing(connect_timeout=1, read_timeout=2, max_attempts=4,
                                                                  backoff_cap=0.5))
    options = ctx.client_options()
    assert (options["connection_timeout"], options["read_timeout"]) == (1, 2)
    assert (options["retry_policy"].total_retries, options["retry_policy"].backoff_max) == (3, 0.5)


@pytest.mark.parametrize("graph", [True, False], ids=["resource-graph", "arm"])
def test_endpoint_that_never_answers_is_given_up_once(graph: bool, ca: Any, ca_pem: Path) -> None:
    with silent_server(ca) as (url, accepted):
        start = time.monotonic()
        estate = scan_azure(credential=FakeCredential(), base_url=url, subscriptions=SUBS, use_resource_graph=graph,
                            client_kwargs={"connection_verify": str(ca_pem)}, connect_timeout=0.3,
                            read_timeout=0.3, max_attempts=2, backoff_cap=0.05)
        took = time.monotonic() - start
    bound = worst_case_seconds(connect=0.3, read=0.3, attempts=2, backoff_cap=0.05)
    assert took < 2 * bound + 1.0, took  # one call's attempts sequentially (plus the access checks in parallel)
    assert len(accepted) <= 2 + 2 * len(SUBS)  # given up: not every call of every subscription
    assert set(coverage(estate).values()) == {NOT_READ}
    assert {g.scope for g in estate.gaps if g.level.value == "scope"} == set(SUBS)
    assert estate.resources == ()
    assert any(g.error == "GivenUp" for g in estate.gaps)


def test_dead_endpoint_through_the_cli_is_gaps_not_a_hang(ca: Any, ca_pem: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from residency_audit.cli import main
    from residency_audit.estate_io import read_estate

    token = tmp_path / "token"
    token.write_text("dummy-token\n")
    out = tmp_path / "estate.json"
    with silent_server(ca) as (url, _):
        start = time.monotonic()
        code = main(["-q", "scan", "--azure", "--azure-endpoint", url, "--azure-ca-bundle", str(ca_pem),
                     "--azure-access-token-file", str(token), "--azure-connect-timeout", "0.3",
                     "--azure-read-timeout", "0.3", "--azure-max-attempts", "1", "-o", str(out)])
        took = time.monotonic() - start
    assert code == 0 and took < 5
    assert "Traceback" not in capsys.readouterr().err
    [gap] = read_estate(out).gaps
    assert (gap.scope, gap.level.value, gap.operation) == ("tenant", "scope", "Subscriptions_List")


def test_5xx_past_retries_gives_up_that_service_in_that_subscription(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/replicationLinks$", 503, "ServiceUnavailable", times=100)
    estate = scan()
    assert fake_arm.count(r"/replicationLinks$") == 2  # one server per subscription, then given up
    given_up = gaps(estate, operation="ReplicationLinks_ListByServer", error="GivenUp")
    assert [g.scope for g in given_up] == [t.SUB_PROD]  # the second server of the subscription
    assert "1 SQL server" in given_up[0].message
    assert fake_arm.count(r"/failoverGroups$") == 3  # other operations go on


def test_throttling_with_retry_after_backs_off_and_recovers_with_default_retries(
        fake_arm: FakeArm, ca: Any, ca_pem: Path) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 429, "TooManyRequests",
                  headers={"Retry-After": "1"}, times=2)
    with fake_arm.serve(ca) as url:
        start = time.monotonic()
        estate = scan_azure(credential=FakeCredential(), base_url=url, subscriptions=[t.SUB_PROD],
                            services=["storage"], use_resource_graph=False,
                            client_kwargs={"connection_verify": str(ca_pem)})
        took = time.monotonic() - start
    assert took >= 1.9  # both Retry-After pauses honoured
    assert not gaps(estate, error="TooManyRequests")
    assert by_name(estate, "journalnl")


def test_retry_after_is_capped(fake_arm: FakeArm, ca: Any, ca_pem: Path) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 429, "TooManyRequests",
                  headers={"Retry-After": "3600"}, times=1)
    with fake_arm.serve(ca) as url:
        ctx_kwargs: dict[str, Any] = {"connection_verify": str(ca_pem), "retry_after_cap": 0.2}
        start = time.monotonic()
        from residency_audit.providers.azure.arm import _retry_policy_class

        policy = _retry_policy_class()(retry_total=1, retry_after_cap=ctx_kwargs.pop("retry_after_cap"))
        estate = scan_azure(credential=FakeCredential(), base_url=url, subscriptions=[t.SUB_PROD],
                            services=["storage"], use_resource_graph=False,
                            client_kwargs={**ctx_kwargs, "retry_policy": policy})
        assert time.monotonic() - start < 5
    assert by_name(estate, "journalnl")


def test_throttled_query_and_5xx_details_through_the_cli(fake_arm: FakeArm, ca: Any, ca_pem: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from residency_audit.cli import main
    from residency_audit.estate_io import read_estate

    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 429, "TooManyRequests", method="POST",
                  headers={"Retry-After": "1"}, times=1)
    fake_arm.fail(r"/failoverGroups$", 500, "InternalServerError", times=100)
    token = tmp_path / "token"
    token.write_text("dummy-token")
    out = tmp_path / "estate.json"
    with fake_arm.serve(ca) as url:
        code = main(["-q", "scan", "--azure", "--azure-endpoint", url, "--azure-ca-bundle", str(ca_pem),
                     "--azure-access-token-file", str(token), "--azure-backoff-cap", "0.1", "-o", str(out)])
    assert code == 0 and "Traceback" not in capsys.readouterr().err
    estate = read_estate(out)
    assert fake_arm.count("ResourceGraph", "POST") == 2  # throttled once, then answered: no fallback
    assert fake_arm.count(r"/providers/Microsoft.Storage/storageAccounts$") == 0
    assert by_name(estate, "journalnl")
    failed = gaps(estate, operation="FailoverGroups_ListByServer")
    assert {g.error for g in failed} == {"InternalServerError", "GivenUp"}
    assert fake_arm.count(r"/failoverGroups$") == 2 * 3  # one server per subscription, three attempts each



def test_endpoint_stopping_at_the_query_leaves_every_subscription_not_read(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 200, "", method="POST", times=100,
                  reply={"data": []}, delay=1.5)
    start = time.monotonic()
    estate = scan(subscriptions=SUBS, read_timeout=0.3, connect_timeout=0.3)
    assert time.monotonic() - start < 10
    assert set(coverage(estate).values()) == {NOT_READ}
    assert {g.scope for g in estate.gaps if g.level.value == "scope" and g.error == "GivenUp"} == set(SUBS)
    assert fake_arm.count(r"/providers/Microsoft.Storage/storageAccounts$") == 0  # no ARM call after giving up


def test_endpoint_stopping_at_the_regions_drops_the_query_read_side_by_side(scan: Any, fake_arm: FakeArm) -> None:
    # The Resource Graph query runs while the Locations API is read. When the Locations API gets no
    # answer (the endpoint is given up there), the query's answer is dropped: the scan ends as it
    # does when the query comes after the regions, every subscription not read.
    fake_arm.fail(r"/locations$", 200, "", reply={"value": []}, times=100, delay=1.5)
    start = time.monotonic()
    estate = scan(subscriptions=SUBS, read_timeout=0.3, connect_timeout=0.3, max_attempts=1)
    assert time.monotonic() - start < 10
    assert fake_arm.count("ResourceGraph", "POST") >= 1  # sent side by side, and answered
    assert estate.resources == ()
    assert set(coverage(estate).values()) == {NOT_READ}
    [located] = gaps(estate, operation="Subscriptions_ListLocations")
    assert located.scope == SUBS[0] and located.error.startswith("ServiceResponse")
    checks = [g for g in estate.gaps if g.service == "authorization"]
    assert {g.error for g in checks} == {"GivenUp"} and {g.scope for g in checks} == set(SUBS)  # not asked
    assert {g.scope for g in gaps(estate, error="GivenUp", service="subscriptions")} == set(SUBS)
    assert fake_arm.count(r"/providers/Microsoft.Authorization/permissions$") == 0

