"""Faults become gaps with the server's reason, in bounded time; the scan goes on."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from residency_audit.catalog import default_catalog
from residency_audit.model import Estate, GapLevel, Role
from residency_audit.providers.oci.realms import region_gaps
from residency_audit.providers.service import worst_case_seconds
from tests.providers.oci.conftest import FRA, LON, TIPOFF, build_tenancy, scanner, sdk_config
from tests.providers.oci.fake_oci import FakeOci, Fault

Scan = Callable[..., Estate]


def _gaps(estate: Estate, error: str) -> list[Any]:
    return [g for g in estate.gaps if g.error == error]


def test_not_authorized_is_a_gap_with_the_reason(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault(LON, "GET", rf"/autonomousDatabases\?.*compartmentId={TIPOFF}",
                   Fault(status=404, code="NotAuthorizedOrNotFound",
                         message="Authorization failed or requested resource not found."))
    estate = scan()
    gap = _gaps(estate, "NotAuthorizedOrNotFound")[0]
    assert (gap.scope, gap.region, gap.service) == (TIPOFF, LON, "database")
    assert gap.operation == "DatabaseClient.list_autonomous_databases"
    assert gap.message == "Authorization failed or requested resource not found."
    assert "objectstorage:uk-london-1:acmens/tips" in {r.id for r in estate.resources}


def test_a_detail_not_read_keeps_the_resource_and_names_it(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault(LON, "GET", r"/n/acmens/b/tips$", Fault(status=404, code="BucketNotFound",
                                                          message="not authorized for the bucket"))
    estate = scan()
    gap = _gaps(estate, "BucketNotFound")[0]
    assert gap.resource == "objectstorage:uk-london-1:acmens/tips"
    tips = {r.id: r for r in estate.resources}["objectstorage:uk-london-1:acmens/tips"]
    assert [p.code for p in tips.placements] == [LON] and not tips.links  # replication unread


def test_throttling_is_retried(scan: Scan, fake_oci: FakeOci) -> None:
    fault = fake_oci.fault(LON, "GET", r"/n/acmens/b\?", Fault(status=429, code="TooManyRequests",
                                                               message="Too many requests", times=2))
    estate = scan()
    assert fault.used == 2
    assert not _gaps(estate, "TooManyRequests")
    assert "objectstorage:uk-london-1:acmens/tips" in {r.id for r in estate.resources}


def test_throttling_past_the_retries_is_a_gap(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault(LON, "GET", r"/n/acmens/b\?", Fault(status=429, code="TooManyRequests",
                                                       message="Too many requests for the tenant"))
    gap = _gaps(scan(), "TooManyRequests")[0]
    assert gap.message == "Too many requests for the tenant"
    assert gap.level is GapLevel.SERVICE


def test_server_errors_give_up_that_service_in_that_region(scan: Scan, fake_oci: FakeOci) -> None:
    fault = fake_oci.fault(LON, "GET", r"/20180608/vaults", Fault(status=500))
    estate = scan(use_search=False, max_workers=1)
    assert fault.used == 3  # one call, three attempts; the other compartments are not asked
    assert [g.service for g in _gaps(estate, "ServiceUnavailable")] == ["kms"]
    assert _gaps(estate, "InternalServerError")
    assert f"ocid1.volume.oc1.{LON}.tipsvol" in {r.id for r in estate.resources}


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_region_that_does_not_answer_is_given_up_in_bounded_time(
        fake_oci: FakeOci, dead_port: int) -> None:
    with scanner(fake_oci) as run:
        endpoints = {**run.urls, FRA: f"http://127.0.0.1:{dead_port}"}  # type: ignore[attr-defined]
        started = time.monotonic()
        estate = run(endpoints=endpoints, connect_timeout=0.3, read_timeout=0.3)
        took = time.monotonic() - started
    gap = _gaps(estate, "RegionUnavailable")[0]
    assert (gap.region, gap.level) == (FRA, GapLevel.SCOPE)
    assert took < 8, took
    assert "objectstorage:eu-stockholm-1:acmens/journal" in {r.id for r in estate.resources}


def test_defaults_give_up_a_dead_endpoint_within_two_minutes() -> None:
    from residency_audit.providers.oci.clients import Settings, build_retry
    from residency_audit.providers.service import BACKOFF_CAP, MAX_ATTEMPTS

    retry = build_retry()
    limits = {type(c).__name__: vars(c) for c in retry.checkers.checkers}
    assert limits["LimitBasedRetryChecker"]["max_attempts"] == MAX_ATTEMPTS
    assert retry.max_wait_between_calls_seconds == BACKOFF_CAP
    settings = Settings(config={})
    assert worst_case_seconds(connect=settings.connect_timeout, read=settings.read_timeout,
                              give_up_after=settings.give_up_after) <= 120


def test_search_failing_falls_back_to_listing(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault("*", "POST", r"/20180409/resources",
                   Fault(status=404, code="NotAuthorizedOrNotFound", message="not authorized"))
    estate = scan()
    gaps = _gaps(estate, "NotAuthorizedOrNotFound")
    assert {g.region for g in gaps} == {LON, FRA, "eu-stockholm-1"}
    assert all("listed compartment by compartment instead" in g.message for g in gaps)
    assert "objectstorage:eu-frankfurt-1:acmens/tips-dr" in {r.id for r in estate.resources}


def test_compartments_not_listed_is_a_scope_gap(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault(LON, "GET", r"/20160918/compartments",
                   Fault(status=404, code="NotAuthorizedOrNotFound", message="no inspect"))
    gap = _gaps(scan(), "NotAuthorizedOrNotFound")[0]
    assert (gap.level, gap.operation) == (GapLevel.SCOPE, "IdentityClient.list_compartments")


def test_an_unparseable_record_is_a_record_gap(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.regions[LON].items["policies:tips"][0]["destinationRegionName"] = None
    estate = scan()
    gap = _gaps(estate, "UnparseableRecord")[0]
    assert (gap.level, gap.field, gap.resource) == (GapLevel.RECORD, "policies[0].destination_region_name",
                                                    "tips")
    assert "objectstorage:eu-stockholm-1:acmens/journal" in {r.id for r in estate.resources}


def test_an_unknown_region_is_a_gap(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.regions[LON].items["policies:tips"][0]["destinationRegionName"] = "xx-mars-1"
    gap = _gaps(scan(), "UnknownRegion")[0]
    assert (gap.region, gap.resource) == ("xx-mars-1", "objectstorage:xx-mars-1:acmens/tips-dr")


def test_an_unknown_realm_is_a_gap() -> None:
    fake = build_tenancy(tenancy="ocid1.tenancy.oc77..aaaa")
    with scanner(fake) as run:
        estate = run(config=sdk_config(tenancy=fake.tenancy))
    gap = _gaps(estate, "UnknownRealm")[0]
    assert "oc77" in gap.message
    assert "objectstorage:uk-london-1:acmens/tips" in {r.id for r in estate.resources}


def test_a_region_whose_catalog_operator_is_not_its_realms() -> None:
    from residency_audit.model import Resource
    from residency_audit.providers.oci.records import placement

    r = Resource(id="x", provider="oci", service="objectstorage", kind="bucket", name="x",
                 placements=(placement("eu-frankfurt-2", Role.PRIMARY, "op", "f"),))
    assert [g.error for g in region_gaps([r], default_catalog(), realm="oc1")] == ["RealmOperatorMismatch"]
    assert region_gaps([r], default_catalog(), realm="oc19") == []


def test_a_bad_config_is_one_clear_error() -> None:
    from residency_audit.errors import InputError
    from residency_audit.providers.oci import scan_oci

    with pytest.raises(InputError, match="tenancy"):
        scan_oci(config={**sdk_config(), "tenancy": "not-an-ocid"}, endpoints={"*": "http://127.0.0.1:9"})
    with pytest.raises(InputError, match="key"):
        scan_oci(config={**sdk_config(), "key_content": "garbage"}, endpoints={"*": "http://127.0.0.1:9"})
    with pytest.raises(InputError):
        scan_oci(config_file="/nonexistent/oci-config", endpoints={"*": "http://127.0.0.1:9"})


def test_fault_kinds() -> None:
    import requests

    from residency_audit.providers.oci.faults import describe

    refused = describe(type("RequestException", (Exception,), {})(
        requests.exceptions.ConnectionError("refused by http://10.0.0.1/x?token=abc")))
    assert (refused.code, refused.unavailable) == ("EndpointUnavailable", True)
    assert "10.0.0.1" not in refused.message and "abc" not in refused.message
    timeout = describe(type("RequestException", (Exception,), {})(requests.exceptions.ReadTimeout()))
    assert (timeout.code, timeout.unavailable) == ("Timeout", True)
    local = describe(ValueError("bad value"))
    assert (local.code, local.unavailable) == ("ClientError.ValueError", False)


def test_region_subscriptions_not_readable_scan_the_asked_regions(scan: Scan, fake_oci: FakeOci) -> None:
    fake_oci.fault(LON, "GET", r"/regionSubscriptions",
                   Fault(status=404, code="NotAuthorizedOrNotFound", message="no inspect tenancies"))
    estate = scan(regions=[LON, FRA])
    gap = _gaps(estate, "NotAuthorizedOrNotFound")[0]
    assert (gap.level, gap.operation) == (GapLevel.SCOPE, "IdentityClient.list_region_subscriptions")
    ids = {r.id for r in estate.resources}
    assert {"objectstorage:uk-london-1:acmens/tips", "objectstorage:eu-frankfurt-1:acmens/tips-dr"} <= ids
