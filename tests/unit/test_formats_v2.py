"""Report formats read from the typed view, and formats their consumers accept.

Every format goes through the CLI and must equal the writer given the view; SARIF is validated
against the vendored 2.1.0 schema and every result must carry a physical location (the file and
line its holder comes from); JUnit failures follow ``--fail-on``; the HTML picture scales to its
box and keeps its labels clear of the links; the notebook plot uses the same layout.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from residency_audit.cli import main
from residency_audit.demo import demo_estate
from residency_audit.estate_io import write_estate
from residency_audit.model import (
    CoverageGap,
    DataCategory,
    Estate,
    Evidence,
    Placement,
    Resource,
    Severity,
)
from residency_audit.pipeline import Audit, audit
from residency_audit.report import FORMATS, render
from residency_audit.report.copies import copies_by_country
from residency_audit.report.html import graph_layout, render_html
from residency_audit.report.json_report import report_schema
from residency_audit.report.sarif import PSEUDO_ESTATE, render_sarif
from residency_audit.view import AuditView, build_view

TODAY = dt.date(2026, 11, 24)
SARIF_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "sarif-schema-2.1.0.json"
BUCKET = "arn:aws:s3:::scanned-bucket"


@pytest.fixture(scope="module")
def demo() -> Audit:
    return audit(demo_estate(), today=TODAY)


@pytest.fixture(scope="module")
def view(demo: Audit) -> AuditView:
    return build_view(demo)


def _cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    out = tmp_path / "report.out"
    code = main([*args, "--today", TODAY.isoformat(), "-o", str(out)])
    return code, out.read_bytes().decode("utf-8")


def _sarif_errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [f"{e.json_path}: {e.message}" for e in sorted(validator.iter_errors(doc), key=lambda e: e.json_path)]


def _results(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for run in doc["runs"]:
        yield from run["results"]


# the view, everywhere ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_through_the_cli_is_the_writer_given_the_view(fmt: str, tmp_path: Path, demo: Audit,
                                                                   view: AuditView) -> None:
    code, text = _cli(tmp_path, "demo", "--format", fmt)
    assert code == 0
    # the demo's --fail-on is none (the JUnit threshold; no other format reads it)
    assert text == render(view, fmt, fail_on="none") == render(demo, fmt, fail_on="none"), (
        "an Audit and its view give the same bytes")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["schema_version"] == 2
        jsonschema.Draft202012Validator(report_schema()).validate(doc)


def test_the_writers_read_only_the_view(view: AuditView) -> None:
    """The view is enough: no writer needs the graph or the audit behind it."""
    for fmt in sorted(FORMATS):
        assert render(view, fmt)
    assert graph_layout(view).pos


def test_the_data_table_and_the_chart_count_copies_alike(view: AuditView) -> None:
    md = render(view, "md")
    html = render(view, "html")
    for d in view.data:
        cell = f"{d.copies} in {len(d.holders)} holder"
        assert cell in md and cell in html
        assert d.copies == sum(len(h.placements) for h in view.holders if h.node in d.holders)
    by_country = copies_by_country(view)
    places = sum(max(1, len(p.countries)) for h in view.holders for p in h.placements)
    assert sum(r.copies for r in by_country) == places


# SARIF ---------------------------------------------------------------------------------------

def _demo_inventory_lines() -> list[str]:
    text = resources.files("residency_audit.demo").joinpath("inventory.yaml").read_text(encoding="utf-8")
    return text.splitlines()


def test_demo_sarif_is_valid_and_every_result_has_a_physical_location(tmp_path: Path, view: AuditView) -> None:
    code, text = _cli(tmp_path, "demo", "--format", "sarif")
    doc = json.loads(text)
    assert code == 0 and not _sarif_errors(doc)
    lines = _demo_inventory_lines()
    holders = {h.node: h for h in view.holders}
    results = list(_results(doc))
    assert len(results) == len(view.findings)
    for res in results:
        for loc in [*res["locations"], *res.get("relatedLocations", [])]:
            phys = loc["physicalLocation"]
            assert phys["artifactLocation"]["uri"] == "residency_audit/demo/inventory.yaml"
            line = phys["region"]["startLine"]
            assert 1 <= line <= len(lines) and lines[line - 1].strip(), "a real, non-blank line"
        fqn = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        if fqn in holders:
            assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == int(
                holders[fqn].origin.rsplit(":", 1)[1])
    artifacts = doc["runs"][0]["artifacts"]
    assert artifacts == [{"location": {"uri": "residency_audit/demo/inventory.yaml"}}]


def test_sarif_locates_a_holder_at_the_inventory_line_that_declares_it(view: AuditView) -> None:
    lines = _demo_inventory_lines()
    doc = json.loads(render_sarif(view))
    tipoff = next(r for r in _results(doc) if r["ruleId"] == "eea-only"
                  and r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "resource:oci:tipoff-service")
    line = tipoff["locations"][0]["physicalLocation"]["region"]["startLine"]
    block = "\n".join(lines[max(0, line - 8):line])
    assert "tipoff-service" in block, "the line is inside the holder's own entry"


def test_sarif_rules_carry_help_uri_tags_and_precision(view: AuditView) -> None:
    driver = json.loads(render_sarif(view))["runs"][0]["tool"]["driver"]
    for rule in driver["rules"]:
        assert rule["helpUri"].startswith("https://") and "/docs/" in rule["helpUri"]
        props = rule["properties"]
        assert "data-residency" in props["tags"] and props["tags"] == sorted(props["tags"])
        assert props["precision"] in ("very-high", "high", "medium", "low")
        assert props["problem.severity"] in ("error", "warning", "recommendation")
        assert rule["help"]["text"] and rule["help"]["markdown"]


def _scanned_estate() -> Estate:
    api = Evidence(source="api", ref=f"GetBucketLocation {BUCKET}", detail="us-east-1")
    return Estate(
        resources=(Resource(id=BUCKET, provider="aws", service="s3", kind="bucket", name="scanned-bucket",
                            account="111122223333", placements=(Placement(location="aws:us-east-1", evidence=api),)),),
        data=(DataCategory(id="logs", name="Logs", resources=(BUCKET,), evidence=api),),
        gaps=(CoverageGap(provider="aws", scope="111122223333", region="eu-west-1", service="s3",
                          operation="ListBuckets", error="AccessDenied", message="denied"),))


def test_sarif_locates_api_seen_holders_in_the_estate_file_given(tmp_path: Path) -> None:
    estate = tmp_path / "scan estate.json"
    write_estate(_scanned_estate(), estate)
    code, text = _cli(tmp_path, "audit", "--estate", str(estate), "--policy", "eea-only",
                      "--format", "sarif", "--fail-on", "none")
    doc = json.loads(text)
    assert code == 0 and not _sarif_errors(doc)
    results = list(_results(doc))
    assert results
    estate_lines = estate.read_text(encoding="utf-8").splitlines()
    want_uri = estate.resolve().as_uri()
    kinds = set()
    for res in results:
        phys = res["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"]["uri"] == want_uri
        kind = res["locations"][0]["logicalLocations"][0]["kind"]
        kinds.add(kind)
        if kind == "resource":
            assert json.dumps(BUCKET) in estate_lines[phys["region"]["startLine"] - 1]
        else:
            assert phys["region"]["startLine"] == 1, "a gap is located at the estate file itself"
    assert {"resource", "gap"} <= kinds


def test_sarif_without_an_estate_file_points_to_the_stable_pseudo_artifact() -> None:
    doc = json.loads(render(audit(_scanned_estate(), policy="eea-only", today=TODAY), "sarif"))
    assert not _sarif_errors(doc)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in _results(doc)}
    assert uris == {PSEUDO_ESTATE}


# JUnit ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("fail_on", ["info", "low", "medium", "high", "critical", "none"])
def test_junit_failures_follow_fail_on(fail_on: str, tmp_path: Path, demo: Audit) -> None:
    code, text = _cli(tmp_path, "demo", "--format", "junit", "--fail-on", fail_on)
    root = ET.fromstring(text)
    bar = None if fail_on == "none" else Severity(fail_on).rank
    failing = {(f.rule, f.node) for f in demo.active_findings if bar is not None and f.severity.rank >= bar}
    below = {(f.rule, f.node) for f in demo.active_findings} - failing
    assert int(root.get("failures", -1)) == len(failing)
    assert code == (1 if failing else 0), "the dashboard fails exactly when the exit code does"
    for suite in root.findall("testsuite"):
        rid = suite.get("name")
        for case in suite.findall("testcase"):
            node = re.sub(r"^.*\[(.*)\]$", r"\1", case.get("name", ""))
            if (rid, node) in failing:
                assert case.find("failure") is not None
            elif (rid, node) in below:
                assert case.find("failure") is None and case.find("skipped") is None
                out = case.find("system-out")
                assert out is not None and "Below the --fail-on threshold" in (out.text or "")
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}  # type: ignore[union-attr]
    assert props["fail_on"] == fail_on


# HTML picture --------------------------------------------------------------------------------

def _svg(html: str, cls: str) -> ET.Element:
    m = re.search(rf'<svg class="{cls}[^"]*".*?</svg>', html, re.S)
    assert m is not None
    return ET.fromstring(m.group(0))


def test_the_graph_scales_to_its_box_and_draws_labels_over_the_links(view: AuditView) -> None:
    html = render_html(view)
    svg = _svg(html, "graph")
    lay = graph_layout(view)
    assert (svg.get("width"), svg.get("height")) == (str(lay.width), str(lay.height))
    assert svg.get("viewBox") == f"0 0 {lay.width} {lay.height}"
    assert "svg.graph,svg.countries{display:block;max-width:100%;height:auto}" in html, "shrinks to its box"
    assert "svg.graph.wide{min-width:1000px}" in html and ("wide" in svg.get("class", "")) == (lay.width > 1000)
    assert re.search(r"@media print\{[^@]*svg\.graph[^}]*max-height", html), "fits a printed page"
    children = list(svg)
    first_label = next(i for i, el in enumerate(children) if el.tag == "g")
    assert all(el.tag != "path" for el in children[first_label:]), "every link is drawn before any label"
    for g in svg.iter("g"):
        title = g.find("title")
        label = g.find("text")
        assert title is not None and label is not None and "lbl" in label.get("class", "")
        full = (title.text or "").rsplit(" [", 1)[0]
        assert full == lay.labels[(title.text or "").rsplit(" [", 1)[1][:-1]]
        shown = label.text or ""
        assert shown == full or (shown.endswith("…") and full.startswith(shown[:-1]))
    xs = [float(c.get("cx", 0)) for c in svg.iter("circle")]
    assert min(xs) >= 80 and max(xs) <= lay.width - 80, "room for centred labels at both sides"


def test_the_copies_chart_shows_what_foreign_laws_reach(view: AuditView) -> None:
    svg = _svg(render_html(view), "countries")
    rows = {r.country: r for r in copies_by_country(view)}
    bars: dict[str, dict[str, str]] = {}
    for rect in svg.iter("rect"):
        title = rect.find("title")
        if title is None:
            continue
        country = (title.text or "").split(" ", 1)[0].replace("unknown", "")
        kind = rect.get("class", "").split()[-1]
        bars.setdefault(country, {})[kind] = title.text or ""
    assert set(bars) == set(rows)
    for c, r in rows.items():
        assert ("reached" in bars[c]) == bool(r.reached)
        assert ("clear" in bars[c]) == (r.copies > r.reached)
        if r.reached:
            assert f"{r.reached} of {r.copies} copies reached by" in bars[c]["reached"]
    assert rows["SE"].reached and rows["SE"].copies > rows["SE"].reached


# notebook plot -------------------------------------------------------------------------------

def test_plot_uses_the_html_layout_with_a_legend_and_only_laws_that_reach(demo: Audit, view: AuditView) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from residency_audit.display import plot_audit

    try:
        ax = plot_audit(view)
        lay = graph_layout(view)
        points = sorted((round(x), round(y)) for coll in ax.collections for x, y in coll.get_offsets())
        assert points == sorted((x, lay.height - y) for x, y in lay.pos.values())
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "witness path of a finding" in legend and "reached by a foreign law" in legend
        drawn_laws = {n for n, k in lay.kinds.items() if k == "law"}
        assert drawn_laws == {law.node for law in view.laws if law.reaches_data}
        assert demo.plot() is not None
    finally:
        plt.close("all")
