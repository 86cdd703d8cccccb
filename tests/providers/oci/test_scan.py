"""A tenancy of several regions and compartments scans to the right placements, replicas and gaps."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from residency_audit.errors import InputError
from residency_audit.estate_io import estate_to_dict
from residency_audit.model import Estate, GapLevel, LinkRelation
from residency_audit.providers.oci.operations import allowed_calls
from tests.providers.oci.conftest import ARN, FRA, HEALTH, LON, SECRET, TENANCY, TIPOFF
from tests.providers.oci.fake_oci import FakeOci

Scan = Callable[..., Estate]


def placements(estate: Estate) -> dict[str, list[tuple[str, str]]]:
    return {r.id: [(p.code, p.role.value) for p in r.placements] for r in estate.resources}


def test_every_copy_is_found_with_its_role(tenancy_estate: Estate) -> None:
    got = placements(tenancy_estate)
    assert got["objectstorage:uk-london-1:acmens/tips"] == [(LON, "primary")]
    assert got["objectstorage:eu-frankfurt-1:acmens/tips-dr"] == [(FRA, "replica")]
    assert got["objectstorage:eu-stockholm-1:acmens/journal"] == [(ARN, "primary")]
    adb = f"ocid1.autonomousdatabase.oc1.{LON}.tipsdb"
    assert got[adb] == [(LON, "primary"), (LON, "replica")]  # the local standby
    assert got[f"ocid1.autonomousdatabase.oc1.{FRA}.tipsdbpeer"] == [(FRA, "backup"), (FRA, "replica")]
    assert got["ocid1.dbsystem.oc1.arn.recordsstandby"] == [(ARN, "replica")]
    assert got[f"ocid1.dbsystem.oc1.{LON}.records"] == [(FRA, "backup"), (LON, "backup"), (LON, "primary")]
    assert got[f"ocid1.volume.oc1.{LON}.tipsvol"] == [(FRA, "backup"), (LON, "backup"), (LON, "primary")]
    assert got[f"ocid1.volumegroupreplica.oc1.{FRA}.r1"] == [(FRA, "replica")]
    assert got[f"ocid1.bootvolume.oc1.{LON}.boot"] == [(LON, "primary")]  # no backup policy
    assert got["ocid1.bootvolumereplica.oc1.arn.b1"] == [(ARN, "replica")]
    assert got[f"ocid1.filesystem.oc1.{FRA}.tipsfsdr"] == [(FRA, "replica")]
    assert got[f"ocid1.vault.oc1.{LON}.keys"] == [(ARN, "replica"), (LON, "primary")]


def test_replicas_are_linked_from_their_source(tenancy_estate: Estate) -> None:
    by_id = {r.id: r for r in tenancy_estate.resources}
    def targets(rid: str) -> list[tuple[str, str]]:
        return [(x.relation.value, x.target) for x in by_id[rid].links]
    assert targets("objectstorage:uk-london-1:acmens/tips") == [
        ("replicates_to", "objectstorage:eu-frankfurt-1:acmens/tips-dr")]
    assert targets(f"ocid1.autonomousdatabase.oc1.{LON}.tipsdb") == [
        ("replicates_to", f"ocid1.autonomousdatabase.oc1.{FRA}.tipsdbpeer")]
    assert targets(f"ocid1.autonomousdatabase.oc1.{FRA}.tipsdbpeer") == []  # a standby sends nothing
    assert targets(f"ocid1.dbsystem.oc1.{LON}.records") == [
        ("replicates_to", "ocid1.dbsystem.oc1.arn.recordsstandby")]
    assert targets(f"ocid1.filesystem.oc1.{LON}.tipsfs") == [
        ("replicates_to", f"ocid1.filesystem.oc1.{FRA}.tipsfsdr")]
    assert by_id["objectstorage:eu-frankfurt-1:acmens/tips-dr"].attributes[
        "replication_sources"] == f"{LON}/tips"


def test_compartment_paths_realm_and_tags(tenancy_estate: Estate) -> None:
    by_id = {r.id: r for r in tenancy_estate.resources}
    tips = by_id["objectstorage:uk-london-1:acmens/tips"]
    assert tips.attributes["compartment_path"] == "acme-health/health/tip-off"
    assert tips.attributes["compartment_id"] == TIPOFF
    assert tips.attributes["realm"] == "oc1"
    assert tips.account == TENANCY
    assert dict(tips.tags) == {"Residency.data-class": "tip-off", "team": "tips"}
    assert by_id[f"ocid1.dbsystem.oc1.{LON}.records"].attributes["compartment_path"] == \
        "acme-health/health"


def test_a_compartment_that_cannot_be_read_is_a_scope_gap(tenancy_estate: Estate) -> None:
    gaps = [g for g in tenancy_estate.gaps if g.scope == SECRET]
    assert [(g.error, g.level) for g in gaps] == [("CompartmentNotAccessible", GapLevel.SCOPE)]


def test_search_and_per_compartment_listing_find_the_same(scan: Scan, fake_oci: FakeOci) -> None:
    searched = scan()
    with_search = fake_oci.total_requests()
    listed = scan(use_search=False)
    without = fake_oci.total_requests() - with_search
    assert _json(_timeless(searched)) == _json(_timeless(listed))
    assert with_search < without


def test_same_input_same_bytes(scan: Scan, tenancy_estate: Estate) -> None:
    assert _json(_timeless(scan())) == _json(_timeless(tenancy_estate))


def test_one_compartment_subtree(scan: Scan) -> None:
    estate = scan(compartment=HEALTH)
    paths = {r.attributes.get("compartment_path") for r in estate.resources
             if r.attributes.get("observed") != "referenced"}
    assert paths == {"acme-health/health", "acme-health/health/tip-off"}
    assert "compartment:" + HEALTH in estate.metadata.scopes


def test_regions_narrowed_and_a_region_not_subscribed(scan: Scan) -> None:
    estate = scan(regions=[LON, "uk-cardiff-1"])
    assert {p.code for r in estate.resources if r.attributes.get("observed") != "referenced"
            for p in r.placements if p.role.value == "primary"} == {LON}
    gap = next(g for g in estate.gaps if g.error == "RegionNotSubscribed")
    assert (gap.region, gap.level) == ("uk-cardiff-1", GapLevel.SCOPE)


def test_every_call_is_allow_listed(scan: Scan) -> None:
    called: set[tuple[str, str]] = set()
    scan(called=called)
    scan(called=called, use_search=False, compartment=HEALTH)
    assert called <= allowed_calls()
    assert called == allowed_calls()  # and the list holds nothing the scan never calls


def test_the_tip_off_case_through_the_audit(tenancy_estate: Estate) -> None:
    from residency_audit.pipeline import audit

    result = audit(tenancy_estate, policy="eea-only")
    nodes = {f.node for f in result.findings}
    assert any("tips" in n and "uk-london-1" in n for n in nodes), sorted(nodes)


def _json(estate: Estate) -> str:
    return json.dumps(estate_to_dict(estate), sort_keys=True)


def _timeless(estate: Estate) -> Estate:
    from dataclasses import replace

    return replace(estate, metadata=replace(estate.metadata, started="", finished=""))


@pytest.mark.parametrize("relation", [LinkRelation.REPLICATES_TO])
def test_links_point_at_resources_in_the_estate(tenancy_estate: Estate, relation: Any) -> None:
    ids = {r.id for r in tenancy_estate.resources}
    assert all(x.target in ids for r in tenancy_estate.resources for x in r.links if x.relation is relation)


def test_a_passed_signer_and_a_minimal_config(scan: Scan, fake_oci: FakeOci) -> None:
    import oci

    from tests.providers.oci.conftest import sdk_config

    full = sdk_config()
    signer = oci.signer.Signer(tenancy=full["tenancy"], user=full["user"],
                               fingerprint=full["fingerprint"], private_key_file_location=None,
                               private_key_content=full["key_content"])
    seen: list[tuple[str, int, int]] = []
    with pytest.raises(InputError, match="refuses the config"):
        scan(config={"tenancy": TENANCY, "region": LON}, signer=signer)
    estate = scan(config=full, signer=signer, regions=[LON],
                  progress=lambda label, done, total: seen.append((label, done, total)))
    assert "objectstorage:uk-london-1:acmens/tips" in {r.id for r in estate.resources}
    assert seen[-1][0] == "oci: listings" and seen[-1][1] == seen[-1][2] > 0
