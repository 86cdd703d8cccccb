from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from residency_audit.demo import demo_estate
from residency_audit.errors import InputError
from residency_audit.graph import (
    build,
    read_graphml,
    read_node_link,
    write_graphml,
    write_node_link,
)

from .estates import Estate, data, link, mitigation, resource

KINDS = {"data", "resource", "subprocessor", "location", "country", "entity", "law"}


def _as_sets(g: nx.MultiDiGraph) -> tuple[set[tuple[str, tuple[tuple[str, object], ...]]], set[tuple[str, str, str, tuple[tuple[str, object], ...]]]]:
    nodes = {(str(n), tuple(sorted(a.items()))) for n, a in g.nodes(data=True)}
    edges = {(str(u), str(v), str(k), tuple(sorted(a.items()))) for u, v, k, a in g.edges(keys=True, data=True)}
    return nodes, edges


def test_node_ids_kinds_and_relations_follow_the_design() -> None:
    g = build(demo_estate())
    for node, kind in g.nodes(data="kind"):
        assert kind in KINDS, node
        assert node.startswith(f"{kind}:"), node
    relations = {r for _, _, r in g.edges(data="relation")}
    assert {"stored_in", "processed_by", "replicates_to", "backs_up_to", "subcontracts", "located_in",
            "in_country", "operated_by", "controlled_by", "incorporated_in", "applies_in"} <= relations
    assert "resource:aws:arn:aws:s3:::region-exempel-lab-results" in g
    assert g.has_edge("location:azure:westeurope", "country:NL")


def test_every_edge_carries_evidence() -> None:
    g = build(demo_estate())
    for u, v, attrs in g.edges(data=True):
        assert attrs["evidence_source"] in {"api", "inventory", "catalog", "derived"}, (u, v)
        assert attrs["evidence_ref"], (u, v)
    catalog_edge = g.edges["location:azure:westeurope", "country:NL", "in_country"]
    assert catalog_edge["evidence_ref"].startswith("catalog/data/regions_azure.csv:")
    assert "learn.microsoft.com" in catalog_edge["evidence_detail"] or catalog_edge["evidence_detail"]
    inv_edge = g.edges["data:sms-reminders", "subprocessor:sms-provider", "processed_by"]
    assert inv_edge["evidence_ref"].startswith("residency_audit/demo/inventory.yaml:")


@pytest.mark.parametrize("suffix", [".graphml", ".json"])
def test_export_round_trips_with_nothing_lost(tmp_path: Path, suffix: str) -> None:
    g = build(demo_estate())
    path = tmp_path / f"g{suffix}"
    if suffix == ".graphml":
        write_graphml(g, path)
        back = read_graphml(path)
    else:
        write_node_link(g, path)
        back = read_node_link(path)
    assert isinstance(back, nx.MultiDiGraph)
    assert _as_sets(back) == _as_sets(g)
    assert back.graph.get("schema_version") == g.graph["schema_version"]
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_unknown_region_is_a_location_with_no_country() -> None:
    g = build(Estate(resources=(resource("r", "aws:mars-north-1", provider="aws"),)))
    attrs = g.nodes["location:aws:mars-north-1"]
    assert attrs["known"] is False
    assert not list(g.successors("location:aws:mars-north-1"))
    # the provider is still known, so its usual operator is recorded, with the reason
    op = [(v, a) for _, v, a in g.out_edges("resource:aws:r", data=True) if a["relation"] == "operated_by"]
    assert op and op[0][1]["evidence_source"] == "derived"


def test_link_to_an_unseen_resource_makes_a_stub() -> None:
    g = build(Estate(resources=(resource("r", "country:SE", links=(link("elsewhere"),)),),
                     data=(data("d", resources=("r",)),)))
    assert g.nodes["resource:onprem:elsewhere"]["stub"] is True


def test_tag_selectors_choose_resources_by_every_tag() -> None:
    estate = Estate(resources=(resource("a", "country:SE", tags={"class": "x", "env": "prod"}),
                               resource("b", "country:SE", tags={"class": "x", "env": "test"})),
                    data=(data("d", selectors=({"class": "x", "env": "prod"},)),))
    g = build(estate)
    assert set(g.successors("data:d")) == {"resource:onprem:a"}


def test_mitigation_on_a_missing_link_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no link"):
        build(Estate(mitigations=(mitigation("entity:a", "entity:b"),)))
