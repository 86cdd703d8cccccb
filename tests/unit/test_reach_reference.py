"""The library's traversal agrees with the reference one on every law, node and path.

Estates: the demo, synthetic estates of several shapes (replica chains, links that carry only
some categories, mitigations, subprocessors that subcontract in cycles, unknown regions) and a
few built to hit the corners (a holder reached only by walking back, filtered chains, a
mitigated link beside an open one, two laws with the same route).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import networkx as nx
import pytest

from residency_audit.demo import demo_estate
from residency_audit.graph import build
from residency_audit.jurisdiction import Reach, exposure, reach_of
from residency_audit.model import LinkRelation

from .estates import Estate, data, entity, link, mitigation, resource, sub
from .reference_reach import reference_reach

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic import EstateShape, synthetic_estate

TODAY = dt.date(2026, 11, 24)


def _laws(g: nx.MultiDiGraph) -> list[str]:
    return sorted(n for n, k in g.nodes(data="kind") if k == "law")


def assert_same(g: nx.MultiDiGraph, reach: dict[str, Reach]) -> None:
    assert sorted(reach) == _laws(g)
    for law in _laws(g):
        ref, got = reference_reach(g, law), reach[law]
        assert got.law == law
        assert got.holders == ref.holders, law
        assert got.data == ref.data, law
        assert got.entities == ref.entities, law
        assert got.locations == ref.locations, law
        assert got.blocked == ref.blocked, law
        assert got.nodes == set(ref._first), law
        for node in g:
            assert got.reaches(node) == (node in ref._first), (law, node)
            assert got.path(node) == ref.path(node), (law, node)


def test_demo_estate() -> None:
    g = build(demo_estate(), today=TODAY)
    assert_same(g, exposure(g))


@pytest.mark.parametrize(("n", "seed", "shape"), [
    (300, 1, EstateShape()),
    (600, 2, EstateShape(link_share=0.6, chain_share=0.8, resources_per_category=50)),
    (400, 3, EstateShape(eu_share=0.2, unknown_region_share=0.05, resources_per_subprocessor=40)),
    (500, 4, EstateShape(link_share=0.9, chain_share=0.9, untagged_share=0.3, secondary_share=0.5)),
])
def test_synthetic_estates(n: int, seed: int, shape: EstateShape) -> None:
    g = build(synthetic_estate(n, seed=seed, shape=shape), today=TODAY)
    assert_same(g, exposure(g))


def test_corners() -> None:
    """Walk-back-only holders, category-filtered chains, a cycle, mitigated beside open links,
    subprocessors that subcontract in a cycle, and a law traversed alone vs shared."""
    entities = (entity("us-co", "US"), entity("se-co", "SE"), entity("se-sub", "SE", parent="us-co"))
    resources = (
        resource("a", "aws:eu-north-1", operator="se-co", links=(link("b", categories=("d1",)),)),
        resource("b", "country:SE", operator="se-co", links=(link("c", categories=("d1", "d2")),)),
        resource("c", "aws:us-east-1", operator="se-co", links=(link("a"),)),
        resource("x", "country:SE", operator="us-co", links=(link("a", categories=("d2",)),)),
        resource("y", "country:DE", "country:US", operator="se-co"),
        resource("z", "country:US", operator="se-sub", links=(link("y"),)),
    )
    subs = (sub("s1", "se-sub", "country:SE", links=(link("s2", relation=LinkRelation.SUBCONTRACTS),)),
            sub("s2", "us-co", "country:SE", links=(link("s1", relation=LinkRelation.SUBCONTRACTS),)))
    estate = Estate(entities=entities, resources=resources, subprocessors=subs,
                    data=(data("d1", resources=("a", "y")), data("d2", resources=("x",), subprocessors=("s1",)),
                          data("d3", resources=("b", "z"))),
                    mitigations=(mitigation("z"), mitigation("y", "z", kind="contract")))
    g = build(estate, today=TODAY)
    reach = exposure(g)
    assert_same(g, reach)
    assert reach["law:us-cloud-act"].path("data:d1")
    assert reach["law:us-cloud-act"].blocked
    single = reach_of(g, "law:us-fisa-702")
    for node in g:
        assert single.path(node) == reach["law:us-fisa-702"].path(node)
