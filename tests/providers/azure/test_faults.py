"""Faults: 403 on a subscription, 429 with Retry-After, 5xx, a failing nextLink page, Resource Graph down."""

from __future__ import annotations

import time
from typing import Any

from tests.providers.azure import tenant as t
from tests.providers.azure.fake_arm import FakeArm
from tests.providers.azure.helpers import by_name, gaps

ALL = [t.SUB_PROD, t.SUB_DR, t.SUB_DENIED]


def test_403_on_one_subscription_is_a_gap_and_the_scan_goes_on(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(rf"^/subscriptions/{t.SUB_DENIED}/providers/", 403, "AuthorizationFailed", times=100,
                  message="The client does not have authorization to perform action "
                          "'Microsoft.Storage/storageAccounts/read' over scope '/subscriptions/3333'.")
    estate = scan(use_resource_graph=False, subscriptions=ALL)
    denied = gaps(estate, scope=t.SUB_DENIED, error="AuthorizationFailed")
    assert {g.service for g in denied} == {"authorization", "storage", "sql", "cosmosdb", "recoveryservices",
                                           "dataprotection", "keyvault"}
    [scope_gap] = [g for g in denied if g.level.value == "scope"]
    assert scope_gap.service == "authorization"
    assert all(g.message.startswith("HTTP 403: The client does not have authorization") for g in denied)
    assert not [r for r in estate.resources if r.account == t.SUB_DENIED]
    assert by_name(estate, "journalnl").account == t.SUB_PROD
    assert "fake-token" not in repr(estate)


def test_429_with_retry_after_is_retried(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 429, "TooManyRequests",
                  headers={"Retry-After": "1"}, times=1)
    start = time.monotonic()
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD], services=["storage"],
                  client_kwargs={"retry_total": 2, "retry_backoff_factor": 0.01})
    assert time.monotonic() - start >= 0.9  # Retry-After honoured
    assert not estate.gaps or {g.error for g in estate.gaps} <= {"UnknownRegion", "UnknownRedundancy"}
    assert fake_arm.count(rf"^/subscriptions/{t.SUB_PROD}/providers/Microsoft.Storage/storageAccounts$") == 4
    assert by_name(estate, "journalnl")


def test_429_past_retries_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 429, "TooManyRequests",
                  headers={"Retry-After": "0"}, times=100)
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD])
    [gap] = gaps(estate, service="storage", operation="StorageAccounts_List")
    assert gap.error == "TooManyRequests" and gap.scope == t.SUB_PROD
    assert by_name(estate, "journal-cosmos")  # the other services of the subscription still scanned


def test_5xx_is_retried_then_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.DocumentDB/databaseAccounts$", 503, "ServiceUnavailable", times=1)
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD],
                  client_kwargs={"retry_total": 1, "retry_backoff_factor": 0.01})
    assert by_name(estate, "journal-cosmos")
    assert not gaps(estate, service="cosmosdb")
    fake_arm.fail(r"/providers/Microsoft.DocumentDB/databaseAccounts$", 500, "InternalServerError", times=100)
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD])
    assert [g.error for g in gaps(estate, service="cosmosdb")] == ["InternalServerError"]


def test_failing_next_link_page_keeps_the_first_page_and_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 500, "InternalServerError",
                  query="skiptoken=4", times=100)
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD])
    storage = [r for r in estate.resources if r.service == "storage"]
    assert len(storage) == 4  # page size 4: the first page survived
    [gap] = gaps(estate, service="storage")
    assert gap.error == "InternalServerError" and gap.operation == "StorageAccounts_List"


def test_resource_graph_failure_falls_back_to_arm(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 403, "AuthorizationFailed",
                  method="POST", times=100)
    estate = scan()
    assert by_name(estate, "journalnl")
    listed = {p.split("/")[2] for _, p in fake_arm.requests if p.endswith("/Microsoft.Storage/storageAccounts")}
    assert listed == set(ALL)


def test_sql_details_denied_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/replicationLinks$", 403, "AuthorizationFailed", times=100)
    estate = scan()
    assert {g.resource.rsplit("/", 1)[-1] for g in gaps(estate, operation="ReplicationLinks_ListByServer")} == {
        "journal-sql-weu", "journal-sql-neu", "labs-sql"}


def test_subscription_list_denied_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"^/subscriptions$", 401, "InvalidAuthenticationToken", times=100)
    estate = scan()
    assert [g.error for g in estate.gaps] == ["InvalidAuthenticationToken"]
    assert estate.resources == ()


def test_disabled_subscription_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.subscriptions[t.SUB_DENIED]["state"] = "Disabled"
    estate = scan()
    [gap] = gaps(estate, error="SubscriptionDisabled")
    assert gap.scope == t.SUB_DENIED
    assert not [r for r in estate.resources if r.account == t.SUB_DENIED]


def test_locations_denied_is_a_gap_and_catalog_pairs_stand_in(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/locations$", 403, "AuthorizationFailed", times=100)
    estate = scan()
    assert {g.scope for g in gaps(estate, operation="Subscriptions_ListLocations")} == set(ALL)
    gzrs = by_name(estate, "gzrsacct")
    secondary = next(p for p in gzrs.placements if p.role.value == "secondary")
    assert (secondary.location, secondary.evidence.source) == ("azure:germanynorth", "catalog")


def test_failing_resource_graph_page_falls_back_to_arm(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 500, "InternalServerError",
                  method="POST", body='"$skipToken"', times=100)
    estate = scan(graph_page_size=5)
    assert fake_arm.count("ResourceGraph", "POST") == 2  # first page fine, second failed
    graph_ids = {r.id for r in scan(graph_page_size=1000).resources}
    assert {r.id for r in estate.resources} == graph_ids
    assert fake_arm.count(r"/providers/Microsoft.Storage/storageAccounts$") >= 3


def test_truncated_resource_graph_result_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    original = fake_arm._graph

    def truncated(request: dict[str, Any]) -> dict[str, Any]:
        body = original(request)
        body.pop("$skipToken", None)
        body["resultTruncated"] = "true"
        return body

    fake_arm._graph = truncated  # type: ignore[method-assign]
    estate = scan(graph_page_size=5, services=["storage"])
    [gap] = gaps(estate, error="ResultTruncated")
    assert gap.operation == "Resources"


def test_no_readable_subscription_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.subscriptions.clear()
    estate = scan()
    assert [(g.error, g.scope) for g in estate.gaps] == [("NoSubscriptions", "tenant")]
    assert fake_arm.count("ResourceGraph") == 0


def test_answer_cut_off_mid_body_is_retried_like_any_failed_attempt(scan: Any, fake_arm: FakeArm) -> None:
    # The adapter's transport reads every answer whole inside the retry policy (the pipeline is
    # told the answer is streamed only so that it does not parse the JSON a second time).
    fake_arm.page_size = 100
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 200, "", reply={"value": []},
                  truncate=True)
    fake_arm.fail(r"^/providers/Microsoft.ResourceGraph/resources$", 200, "", method="POST",
                  reply={"data": []}, truncate=True)
    arm = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD], client_kwargs={"retry_total": 1})
    graph = scan(subscriptions=[t.SUB_PROD], client_kwargs={"retry_total": 1})
    assert fake_arm.count(r"/providers/Microsoft.Storage/storageAccounts$") == 2  # cut off, then whole
    assert fake_arm.count("ResourceGraph", "POST") == 2
    for estate in (arm, graph):
        assert not [g for g in estate.gaps if g.service in ("storage", "resourcegraph") and g.level.value != "record"]
        assert by_name(estate, "journalnl").account == t.SUB_PROD


def test_answer_cut_off_without_retries_is_a_gap(scan: Any, fake_arm: FakeArm) -> None:
    fake_arm.fail(r"/providers/Microsoft.Storage/storageAccounts$", 200, "", reply={"value": []},
                  truncate=True)
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD])
    [gap] = gaps(estate, service="storage")
    assert gap.operation == "StorageAccounts_List" and gap.error in ("IncompleteReadError", "ServiceResponseError")
    assert by_name(estate, "journal-kv").account == t.SUB_PROD  # the other services are read


def test_a_transport_of_the_callers_own_gives_the_same_estate(scan: Any, ca_pem: Any) -> None:
    from azure.core.pipeline.transport import RequestsTransport

    from residency_audit.estate_io import estate_to_dict

    def content(estate: Any) -> Any:
        d = estate_to_dict(estate)
        d["metadata"]["started"] = d["metadata"]["finished"] = ""
        return d

    own = scan(client_kwargs={"transport": RequestsTransport(connection_verify=str(ca_pem))})
    assert content(own) == content(scan())
    assert own.resources and not [g for g in own.gaps if g.service == "resourcegraph"]


def test_unregistered_resource_provider_is_a_gap_and_nothing_is_registered(scan: Any, fake_arm: FakeArm) -> None:
    # On 409 MissingSubscriptionRegistration the Resource Manager clients' pipeline would register
    # the provider itself (a POST .../register, then a wait without a bound): a write, not sent.
    fake_arm.fail(rf"^/subscriptions/{t.SUB_PROD}/providers/Microsoft.DocumentDB/databaseAccounts$", 409,
                  "MissingSubscriptionRegistration", times=100,
                  message="The subscription is not registered to use namespace 'Microsoft.DocumentDB'. "
                          "See https://aka.ms/rps-not-found for how to register subscriptions.")
    start = time.monotonic()
    estate = scan(use_resource_graph=False, subscriptions=[t.SUB_PROD])
    assert time.monotonic() - start < 10
    assert {m for m, _ in fake_arm.requests} == {"GET"}
    assert not [p for _, p in fake_arm.requests if "register" in p.lower()]
    [gap] = gaps(estate, service="cosmosdb")
    assert (gap.error, gap.operation, gap.scope) == ("MissingSubscriptionRegistration", "DatabaseAccounts_List",
                                                     t.SUB_PROD)
    assert "Microsoft.DocumentDB" in gap.message
    assert by_name(estate, "journalnl")  # the other services are read
