from __future__ import annotations

import networkx as nx

from residency_audit.graph import build
from residency_audit.jurisdiction import exposure, path_evidence, reach_of
from residency_audit.model import LinkRelation

from .estates import Estate, data, entity, link, mitigation, resource, sub

CLOUD = "law:us-cloud-act"


def test_deep_parent_chain_reaches_through_every_level() -> None:
    chain = [entity("top", "US")] + [entity(f"e{i}", "SE", "top" if i == 0 else f"e{i-1}")
                                     for i in range(8)]
    estate = Estate(entities=tuple(chain), resources=(resource("r", "country:SE", operator="e7"),),
                    data=(data("d", resources=("r",)),))
    reach = reach_of(build(estate), CLOUD)
    path = reach.path("data:d")
    assert path[:3] == (CLOUD, "country:US", "entity:top")
    assert path[-2:] == ("resource:onprem:r", "data:d")
    assert [p for p in path if p.startswith("entity:")] == ["entity:top"] + [f"entity:e{i}" for i in range(8)]


def test_replica_in_the_country_reaches_the_data_by_territory() -> None:
    estate = Estate(
        entities=(entity("se-co", "SE"),),
        resources=(resource("primary", "country:SE", operator="se-co", links=(link("replica"),)),
                   resource("replica", "aws:us-east-1", operator="se-co")),
        data=(data("d", resources=("primary",)),))
    reach = reach_of(build(estate), CLOUD)
    assert "resource:onprem:replica" in reach.holders
    assert "resource:onprem:primary" not in reach.holders  # the source itself is not reached
    assert reach.path("data:d") == (CLOUD, "country:US", "location:aws:us-east-1",
                                    "resource:onprem:replica", "resource:onprem:primary", "data:d")
    assert not reach.reaches("resource:onprem:primary")


def test_backup_chain_and_subprocessor_chain_with_cycle() -> None:
    estate = Estate(
        entities=(entity("us-co", "US"), entity("se-co", "SE")),
        subprocessors=(
            sub("a", "se-co", "country:SE", links=(link("b", LinkRelation.SUBCONTRACTS),)),
            sub("b", "se-co", "country:SE", links=(link("c", LinkRelation.SUBCONTRACTS),
                                                    link("a", LinkRelation.SUBCONTRACTS))),
            sub("c", "us-co", "country:SE")),
        data=(data("d", subprocessors=("a",)),))
    reach = reach_of(build(estate), CLOUD)
    assert reach.holders == {"subprocessor:c"}
    assert reach.path("data:d")[-4:] == ("subprocessor:c", "subprocessor:b", "subprocessor:a", "data:d")


def test_category_restriction_on_subcontracting_is_respected() -> None:
    estate = Estate(
        entities=(entity("us-co", "US"), entity("se-co", "SE")),
        subprocessors=(
            sub("a", "se-co", "country:SE",
                links=(link("gw", LinkRelation.SUBCONTRACTS, categories=("sms",)),)),
            sub("gw", "us-co", "country:SE")),
        data=(data("sms", subprocessors=("a",)), data("records", subprocessors=("a",))))
    reach = reach_of(build(estate), CLOUD)
    assert reach.data == {"data:sms"}


def test_mitigation_blocks_reach_and_is_reported() -> None:
    estate = Estate(
        entities=(entity("us-co", "US"),),
        resources=(resource("vault", "country:SE", operator="us-co"),),
        data=(data("d", resources=("vault",)),),
        mitigations=(mitigation("resource:onprem:vault"),))
    reach = reach_of(build(estate), CLOUD)
    assert "resource:onprem:vault" in reach.holders  # it holds ciphertext
    assert "data:d" not in reach.data
    assert [(b.source, b.target, b.kind) for b in reach.blocked] == [
        ("data:d", "resource:onprem:vault", "customer-held-keys")]


def test_control_link_mitigation_cuts_the_parent_chain() -> None:
    estate = Estate(
        entities=(entity("us-parent", "US"), entity("eu-operator", "DE", "us-parent")),
        resources=(resource("r", "country:DE", operator="eu-operator"),),
        data=(data("d", resources=("r",)),),
        mitigations=(mitigation("entity:eu-operator", "entity:us-parent", kind="no-foreign-control"),))
    reach = reach_of(build(estate), CLOUD)
    assert not reach.data
    assert reach.blocked[0].relation == "controlled_by"


def test_territorial_only_law_does_not_follow_control() -> None:
    estate = Estate(
        entities=(entity("gb-co", "GB"),),
        resources=(resource("r", "country:SE", operator="gb-co"),),
        data=(data("d", resources=("r",)),))
    g = build(estate)
    g.nodes["law:us-cloud-act"]["extraterritorial"] = False
    g.add_edge("law:us-cloud-act", "country:GB", key="applies_in", relation="applies_in",
               evidence_source="t", evidence_ref="t", evidence_detail="")
    g.remove_edge("law:us-cloud-act", "country:US", key="applies_in")
    assert not reach_of(g, CLOUD).data  # located in SE, operated from GB: no territorial reach


def test_multi_country_zone_counts_if_any_member_can_be_in_the_country() -> None:
    estate = Estate(entities=(entity("se-co", "SE"),),
                    resources=(resource("bucket", "gcp:EU", operator="se-co"),),
                    data=(data("d", resources=("bucket",)),))
    g = build(estate)
    assert g.nodes["location:gcp:EU"]["zone"] is True
    assert {"country:SE", "country:DE"} <= set(g.successors("location:gcp:EU"))
    assert not reach_of(g, CLOUD).data  # the EU zone has no US member


def test_witness_paths_are_shortest_and_evidenced() -> None:
    estate = Estate(
        entities=(entity("us-co", "US"), entity("mid", "SE", "us-co"), entity("op", "SE", "mid")),
        resources=(resource("r", "aws:us-east-1", operator="op"),),
        data=(data("d", resources=("r",)),))
    g = build(estate)
    reach = exposure(g)[CLOUD]
    path = reach.path("data:d")
    # territorial through us-east-1 (4 links) beats the 5-link control chain
    assert path == (CLOUD, "country:US", "location:aws:us-east-1", "resource:onprem:r", "data:d")
    undirected = nx.Graph(g.to_undirected(as_view=True))
    assert len(path) - 1 == nx.shortest_path_length(undirected, CLOUD, "data:d") or len(path) <= 5
    evidence = path_evidence(g, path)
    assert len(evidence) == len(path) - 1
    assert all("no link" not in e for e in evidence)


def test_unknown_entities_are_not_reached_but_remain_visible() -> None:
    estate = Estate(resources=(resource("r", "country:SE", operator="who-knows"),),
                    data=(data("d", resources=("r",)),))
    g = build(estate)
    assert g.nodes["entity:who-knows"]["known"] is False
    assert not any(r.data for law, r in exposure(g).items() if g.nodes[law]["country"] != "SE")


def test_exposure_is_linear_work_per_law() -> None:
    """One traversal per law: the number of states visited is bounded by twice the nodes."""
    n = 2000
    entities = (entity("us-co", "US"),)
    resources = tuple(resource(f"r{i}", "aws:eu-north-1", operator="us-co",
                               links=(link(f"r{i+1}"),) if i + 1 < n else ()) for i in range(n))
    estate = Estate(entities=entities, resources=resources, data=(data("d", resources=("r0",)),))
    g = build(estate)
    reach = reach_of(g, CLOUD)
    assert reach.states <= 2 * g.number_of_nodes()
    assert "data:d" in reach.data


def test_holding_incorporated_offshore_but_controlled_from_a_country_is_reached() -> None:
    from residency_audit.catalog import default_catalog

    assert default_catalog().entities["alibaba-group-holding"].controlled_from == "CN"
    estate = Estate(resources=(resource("r", "country:SG", operator="alibaba-cloud-singapore"),),
                    data=(data("d", resources=("r",)),))
    reach = reach_of(build(estate), "law:cn-national-intelligence-law")
    path = reach.path("data:d")
    assert path[:3] == ("law:cn-national-intelligence-law", "country:CN", "entity:alibaba-group-holding")
