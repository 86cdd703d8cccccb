"""The paths made for large estates keep their promises: the streamed JSON report is the
rendered one, the atomic writer stays atomic when the chunks fail, and an audit's objects are
kept from the collector only while the audit lives."""

from __future__ import annotations

import datetime as dt
import gc
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from residency_audit.demo import demo_estate
from residency_audit.pipeline import audit
from residency_audit.report.json_report import (
    indented_json_chunks,
    json_chunks,
    render_json,
    report_dict,
)
from residency_audit.safefile import write_text_chunks
from residency_audit.textsafe import json_safe

TODAY = dt.date(2026, 11, 24)


def test_streamed_json_is_the_rendered_json() -> None:
    a = audit(demo_estate(), today=TODAY)
    expected = json.dumps(report_dict(a), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "".join(json_chunks(a)) == render_json(a) == json_safe(expected)


@pytest.mark.parametrize("seed", [1, 2])
def test_streamed_json_of_a_synthetic_estate_is_the_rendered_json(seed: int) -> None:
    """The holders section is written from the view on its own: the same bytes as ``json.dumps``."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synthetic import synthetic_estate

    a = audit(synthetic_estate(400, seed=seed), today=TODAY)
    expected = json.dumps(report_dict(a), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "".join(json_chunks(a)) == json_safe(expected)
    assert len(report_dict(a)["holders"]) >= 400 + len(a.estate.subprocessors)


def test_chunked_write_is_atomic_when_the_chunks_fail(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")

    def chunks() -> Iterator[str]:
        yield "new"
        raise RuntimeError("rendering failed")

    with pytest.raises(RuntimeError):
        write_text_chunks(target, chunks())
    assert target.read_text(encoding="utf-8") == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["report.json"]


def test_chunked_write_writes_every_chunk_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_text_chunks(target, iter(["a", "\udc80", "b\n"]))
    assert target.read_bytes() == b"a\\udc80b\n"
    assert target.stat().st_mode & 0o777 == 0o600


def test_audit_objects_are_frozen_while_it_lives() -> None:
    if gc.get_freeze_count():
        pytest.skip("something else froze objects first")
    a = audit(demo_estate(), today=TODAY)
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()
    del a
    gc.collect()
    assert gc.get_freeze_count() == 0


_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20)


@settings(derandomize=True, max_examples=120, deadline=None)
@given(value=_values, chunk=st.integers(min_value=1, max_value=64))
def test_indented_chunks_are_json_dumps(value: object, chunk: int) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert "".join(indented_json_chunks(value, chunk_chars=chunk)) == expected


def test_indented_chunks_refuse_what_json_refuses() -> None:
    with pytest.raises(TypeError):
        "".join(indented_json_chunks({"a": [object()]}))
    with pytest.raises(TypeError):
        "".join(indented_json_chunks({"a": {1: "x"}}))


def test_countries_are_those_of_the_located_copies() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synthetic import synthetic_estate

    from residency_audit.view import build_view

    for a in (audit(demo_estate(), today=TODAY), audit(synthetic_estate(300, seed=3), today=TODAY)):
        g = a.graph
        every_edge = sorted({c for _, loc, rel in g.edges(data="relation") if rel == "located_in"
                             for c in str(g.nodes[loc].get("countries") or "").split()})
        assert a.countries() == every_edge == list(build_view(a).summary.countries)
        assert every_edge


def test_holder_links_agree_with_a_plain_reading_of_every_holder() -> None:
    """Profiles shared by many holders give each holder exactly its own placements and operators."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synthetic import synthetic_estate

    from residency_audit.graph import build
    from residency_audit.holders import HolderLinks

    g = build(synthetic_estate(2000, seed=5), today=TODAY)
    links = HolderLinks(g)
    holders = [n for n, k in g.nodes(data="kind") if k in ("resource", "subprocessor")]
    assert sorted(links.profile_of) == sorted(holders)
    assert len(links.profiles) < len(holders) / 2
    for h in holders:
        out = [(v, str(e["role"])) for v, keyed in g._adj[h].items() for e in keyed.values()
               if e["relation"] == "located_in"]
        ops = [v for v, keyed in g._adj[h].items() for e in keyed.values() if e["relation"] == "operated_by"]
        assert links.placements_of(h) == tuple(sorted(out))
        assert links.operators_of(h) == sorted(ops)
