"""The report formats: HTML, CSV (findings and placements), SARIF 2.1.0 and JUnit XML.

Every format is produced through the CLI for the demo and must be byte-identical across runs;
each is then parsed the way its consumers parse it. A hostile estate (labels with markup,
spreadsheet formulas and control characters, an exception, an unknown region and a gap) checks
escaping, defusing and suppression.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from residency_audit.cli import main
from residency_audit.demo import demo_estate
from residency_audit.model import CoverageGap, Entity, Estate, Evidence, Placement, Resource, Role
from residency_audit.pipeline import Audit, audit
from residency_audit.report import FORMATS, render
from residency_audit.report.copies import copies_by_country
from residency_audit.report.csv_report import FINDING_COLUMNS, PLACEMENT_COLUMNS
from residency_audit.report.html import graph_layout
from residency_audit.report.json_report import report_dict
from residency_audit.view import build_view

TODAY = dt.date(2026, 11, 24)
NEW_FORMATS = ("html", "csv", "csv-placements", "sarif", "junit")
SARIF_SCHEMA = Path(__file__).resolve().parent.parent / "data" / "sarif-schema-2.1.0.json"
EV = Evidence(source="inventory", ref="hostile.yaml:1")
SCRIPT = '<script>alert("x")</script>'
HOSTILE_NAME = f'=HYPERLINK("http://example.invalid/"){SCRIPT}\x07bell'
HOSTILE_ID = "arn:aws:s3:::bucket-<b>&co"

POLICY = """\
name: hostile-test
home: SE
rules:
  - id: reach
    type: reach
    severity: critical
  - id: coverage
    type: coverage
    severity: medium
  - id: in-eea
    type: location
    allowed: [EEA]
    severity: high
exceptions:
  - rule: in-eea
    node: "resource:aws:arn:aws:s3:::bucket-<b>&co"
    reason: "moving it <soon> & for sure"
    expires: 2027-01-31
"""


# helpers -------------------------------------------------------------------------------------

def _cli(fmt: str, path: Path) -> bytes:
    extra = ["--fail-on", "info"] if fmt == "junit" else []
    code = main(["demo", "--format", fmt, "--today", TODAY.isoformat(), "-o", str(path), *extra])
    assert code == (1 if extra else 0)
    return path.read_bytes()


@pytest.fixture(scope="module")
def demo_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("formats")
    return {fmt: _cli(fmt, folder / f"demo.{fmt}") for fmt in NEW_FORMATS}


@pytest.fixture(scope="module")
def demo_audit() -> Audit:
    return audit(demo_estate(), today=TODAY)


def _hostile_estate() -> Estate:
    evil = Entity(id="evil-corp", name=f"{SCRIPT} Corp", country="US", evidence=EV)
    return Estate(
        entities=(evil,),
        resources=(
            Resource(id=HOSTILE_ID, provider="aws", service="s3", kind="bucket", name=HOSTILE_NAME,
                     operator="evil-corp", operator_evidence=EV,
                     placements=(Placement(location="aws:us-east-1", evidence=EV),)),
            Resource(id="plain", provider="onprem", service="db", kind="db", name="-1+2 @sum",
                     operator="evil-corp", operator_evidence=EV,
                     placements=(Placement(location="aws:xx-nowhere-9", role=Role.BACKUP, evidence=EV),)),
        ),
        data=(_data("secrets", (HOSTILE_ID, "plain")),),
        gaps=(CoverageGap(provider="aws", scope="111122223333", service="s3", operation="GetBucketLocation",
                          error="AccessDenied", message="<denied>"),),
    )


def _data(did: str, resources: tuple[str, ...]) -> Any:
    from residency_audit.model import DataCategory

    return DataCategory(id=did, name=f"Secrets {SCRIPT}", resources=resources, evidence=EV)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    policy = tmp_path_factory.mktemp("hostile") / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return audit(_hostile_estate(), policy=policy, today=TODAY)


class _Tags(HTMLParser):
    """Every start tag with its attributes, in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse_html(text: str) -> _Tags:
    parser = _Tags()
    parser.feed(text)
    parser.close()
    return parser


def _sarif_validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def _assert_sarif_valid(doc: dict[str, Any]) -> None:
    errors = sorted(_sarif_validator().iter_errors(doc), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors[:10])


# every format --------------------------------------------------------------------------------

def test_the_new_formats_are_registered_for_every_report_command() -> None:
    from residency_audit.cli import build_parser

    assert set(NEW_FORMATS) <= set(FORMATS)
    assert build_parser().parse_args(["demo", "--format", "sarif"]).format == "sarif"
    with pytest.raises(ValueError, match="unknown format"):
        render(audit(Estate(), today=TODAY), "pdf")


@pytest.mark.parametrize("fmt", NEW_FORMATS)
def test_each_format_is_byte_identical_across_runs(demo_outputs: dict[str, bytes], tmp_path: Path,
                                                   fmt: str) -> None:
    again = _cli(fmt, tmp_path / f"again.{fmt}")
    assert again == demo_outputs[fmt]
    assert demo_outputs[fmt].decode("utf-8")
    assert (tmp_path / f"again.{fmt}").stat().st_mode & 0o077 == 0, "reports are owner-only"


@pytest.mark.parametrize("fmt", NEW_FORMATS)
def test_each_format_renders_an_empty_estate(fmt: str) -> None:
    assert render(audit(Estate(), policy="esam", today=TODAY), fmt)


# HTML ----------------------------------------------------------------------------------------

def test_the_html_report_has_the_graph_with_highlighted_witness_paths(demo_outputs: dict[str, bytes],
                                                                     demo_audit: Audit) -> None:
    text = demo_outputs["html"].decode()
    parsed = _parse_html(text)
    tags = [t for t, _ in parsed.tags]
    assert tags[:2] == ["html", "head"] and "body" in tags
    svgs = [a for t, a in parsed.tags if t == "svg"]
    assert any("graph" in a.get("class", "") for a in svgs)
    assert any("countries" in a.get("class", "") for a in svgs)
    hl_lines = [a for t, a in parsed.tags if t == "path" and "hl" in a.get("class", "").split()]
    hl_nodes = [a for t, a in parsed.tags if t == "circle" and "hl" in a.get("class", "").split()]
    assert hl_lines and hl_nodes
    # every link of every active witness path is drawn highlighted
    links = {frozenset(p) for f in demo_audit.active_findings for p in zip(f.path, f.path[1:], strict=False)}
    assert len(hl_lines) == len(links)
    nodes = {n for f in demo_audit.active_findings for n in f.path}
    assert len(hl_nodes) == len(nodes)
    body = "".join(parsed.text)
    for heading in ("Summary", "Where the copies are", "Data-flow graph", "Findings", "Coverage gaps",
                    "Mitigations", "Laws considered"):
        assert heading in body
    assert "Witness path:" in body and "evidence: " in body
    for sev in ("critical", "high", "medium", "info"):
        assert f'class="sev sev-{sev}"' in text


def test_the_html_report_loads_nothing_from_anywhere(demo_outputs: dict[str, bytes]) -> None:
    text = demo_outputs["html"].decode()
    parsed = _parse_html(text)
    for tag, attrs in parsed.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "base", "form"), tag
        for name, value in attrs.items():
            if name in ("src", "href", "xlink:href", "action", "poster", "data", "srcset"):
                assert not re.match(r"\s*(https?:|//|ftp:|data:|javascript:)", value, re.I), (tag, name, value)
                assert value.startswith("#"), (tag, name, value)
    assert "@import" not in text and "url(" not in text
    metas = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1
    csp = metas[0]["content"]
    assert "default-src 'none'" in csp and "script-src 'none'" in csp
    # the stylesheet is allowed by its hash, and only it
    import base64
    import hashlib

    style = re.search(r"<style>(.*?)</style>", text, re.S)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp
    assert ' style="' not in text


def test_the_html_report_escapes_labels_from_user_files(hostile: Audit) -> None:
    text = render(hostile, "html")
    assert "<script" not in text.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    parsed = _parse_html(text)
    assert not [t for t, _ in parsed.tags if t in ("script", "b", "soon", "denied")]
    assert SCRIPT in "".join(parsed.text), "the label is shown, as text"
    assert "moving it &lt;soon&gt; &amp; for sure" in text


def test_the_graph_layout_is_layered_and_stable(demo_audit: Audit) -> None:
    lay = graph_layout(demo_audit)
    names = [name for name, _ in lay.columns]
    assert names[:4] == ["Data", "Holders", "Locations", "Operators"] and names[-2:] == ["Countries", "Laws"]
    xs = {name: {lay.pos[n][0] for n in members} for name, members in lay.columns if members}
    assert all(len(x) == 1 for x in xs.values())
    assert "entity:amazon-com-inc" in dict(lay.columns)["Parents"]
    laws = dict(lay.columns)["Laws"]
    assert "law:us-cloud-act" in laws and "law:au-tola" not in laws, "laws that reach nothing are left out"
    assert graph_layout(audit(demo_estate(), today=TODAY)) == lay


def test_a_large_graph_keeps_the_witness_paths_and_says_what_it_left_out(demo_audit: Audit) -> None:
    full = graph_layout(demo_audit)
    small = graph_layout(demo_audit, max_nodes=10)
    assert small.omitted > 0 and len(small.pos) + small.omitted == len(full.pos)
    assert {n for f in demo_audit.active_findings for n in f.path} <= set(small.pos)
    assert {n for n, k in demo_audit.graph.nodes(data="kind") if k == "data"} <= set(small.pos)
    roomy = graph_layout(demo_audit, max_nodes=len(full.pos) - 1)
    assert {f.node for f in demo_audit.active_findings} <= set(roomy.pos)


# CSV -----------------------------------------------------------------------------------------

def _rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_findings_csv_has_one_sorted_row_per_finding(demo_outputs: dict[str, bytes],
                                                         demo_audit: Audit) -> None:
    rows = _rows(demo_outputs["csv"])
    assert tuple(rows[0]) == FINDING_COLUMNS
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    assert len(body) == len(demo_audit.findings)
    assert {r["id"] for r in body} == {f.id for f in demo_audit.findings}
    order = ["critical", "high", "medium", "low", "info"]
    keys = [(order.index(r["severity"]), r["rule"], r["node"], r["id"]) for r in body]
    assert keys == sorted(keys)
    reach = next(r for r in body if r["rule"] == "esam-foreign-reach")
    assert reach["path"].startswith(reach["laws"].split("; ")[0] + " → ") and reach["path"].endswith(reach["node"])
    assert reach["route"] in ("territorial", "control") and reach["countries"]
    assert Counter(r["severity"] for r in body) == Counter(str(f.severity) for f in demo_audit.findings)


def test_the_placements_csv_has_one_row_per_copy(demo_outputs: dict[str, bytes], demo_audit: Audit) -> None:
    rows = _rows(demo_outputs["csv-placements"])
    assert tuple(rows[0]) == PLACEMENT_COLUMNS
    body = [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]
    holders = report_dict(demo_audit)["holders"]
    assert len(body) == sum(len(h["placements"]) for h in holders) >= 9
    keys = [(r["holder"], r["location"], r["role"]) for r in body]
    assert keys == sorted(keys)
    dr = next(r for r in body if r["holder"].endswith("region-exempel-lab-results-dr"))
    assert (dr["location"], dr["role"], dr["countries"], dr["eea"]) == ("location:aws:us-east-1", "replica", "US", "no")
    assert dr["data"] == "data:lab-results" and "law:us-cloud-act" in dr["reached_by"]


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(hostile: Audit) -> None:
    rows = _rows(render(hostile, "csv-placements").encode())
    labels = {r[0]: r[1] for r in rows[1:]}
    assert labels[f"resource:aws:{HOSTILE_ID}"].startswith("'=HYPERLINK(")
    assert labels["resource:onprem:plain"] == "'-1+2 @sum"
    unknown = next(r for r in rows[1:] if r[0] == "resource:onprem:plain")
    assert unknown[PLACEMENT_COLUMNS.index("known")] == "no"
    findings = _rows(render(hostile, "csv").encode())
    for row in findings[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert any(r[FINDING_COLUMNS.index("excepted")] == "yes" for r in findings[1:])


# SARIF ---------------------------------------------------------------------------------------

def test_the_demo_sarif_is_valid_sarif_2_1_0(demo_outputs: dict[str, bytes], demo_audit: Audit) -> None:
    doc = json.loads(demo_outputs["sarif"])
    _assert_sarif_valid(doc)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "residency-audit" and driver["version"] and driver["informationUri"]
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == [r.id for r in demo_audit.policy.rules]
    for r in rules.values():
        assert r["shortDescription"]["text"] and r["help"]["text"]
        assert r["defaultConfiguration"]["level"] in ("error", "warning", "note")
    results = run["results"]
    assert len(results) == len(demo_audit.findings)
    assert {r["partialFingerprints"]["residencyAuditFindingId/v1"] for r in results} == {
        f.id for f in demo_audit.findings}
    by_id = {f.id: f for f in demo_audit.findings}
    for res in results:
        f = by_id[res["partialFingerprints"]["residencyAuditFindingId/v1"]]
        assert res["ruleId"] == f.rule and driver["rules"][res["ruleIndex"]]["id"] == f.rule
        assert res["level"] == {"critical": "error", "high": "error", "medium": "warning",
                                "low": "note", "info": "note"}[str(f.severity)]
        loc = res["locations"][0]["logicalLocations"][0]
        assert loc["fullyQualifiedName"] == f.node and loc["kind"] == f.node.split(":")[0]
        if f.path:
            steps = res["codeFlows"][0]["threadFlows"][0]["locations"]
            assert [s["location"]["logicalLocations"][0]["fullyQualifiedName"] for s in steps] == list(f.path)
        else:
            assert "codeFlows" not in res
        assert "suppressions" not in res


def test_excepted_findings_are_suppressed_in_sarif(hostile: Audit) -> None:
    doc = json.loads(render(hostile, "sarif"))
    _assert_sarif_valid(doc)
    results = doc["runs"][0]["results"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == sum(1 for f in hostile.findings if f.exception) >= 1
    s = suppressed[0]["suppressions"][0]
    assert s["kind"] == "external" and s["state"] == "accepted" and "moving it <soon>" in s["justification"]
    assert len(results) - len(suppressed) == len(hostile.active_findings)


def test_the_vendored_sarif_schema_rejects_what_it_should(demo_outputs: dict[str, bytes]) -> None:
    doc = json.loads(demo_outputs["sarif"])
    doc["runs"][0]["results"][0]["level"] = "critical"
    doc["runs"][0]["results"][1]["suppressions"] = [{"kind": "external", "status": "accepted"}]
    assert len(list(_sarif_validator().iter_errors(doc))) >= 2


# JUnit ---------------------------------------------------------------------------------------

def _suites(data: bytes) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.fromstring(data)
    assert root.tag == "testsuites"
    return root, {s.get("name", ""): s for s in root.findall("testsuite")}


def test_the_demo_junit_has_a_suite_per_rule_and_the_right_counts(demo_outputs: dict[str, bytes],
                                                                  demo_audit: Audit) -> None:
    assert demo_outputs["junit"].startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n')
    root, suites = _suites(demo_outputs["junit"])
    assert list(suites) == [r.id for r in demo_audit.policy.rules]
    failing = {(f.rule, f.node) for f in demo_audit.active_findings}  # --fail-on info: every one fails
    total = failures = 0
    for rid, suite in suites.items():
        cases = suite.findall("testcase")
        assert int(suite.get("tests", -1)) == len(cases)
        fails = [c for c in cases if c.find("failure") is not None]
        assert int(suite.get("failures", -1)) == len(fails) == len({n for r, n in failing if r == rid})
        assert suite.get("errors") == "0" and suite.get("skipped") == "0"
        names = [c.get("name", "") for c in cases]
        assert len(set(names)) == len(names)
        total += len(cases)
        failures += len(fails)
    assert int(root.get("tests", -1)) == total and int(root.get("failures", -1)) == failures == len(failing)
    # unscoped rules list the holders (or data) that passed
    holders = [n for n, k in demo_audit.graph.nodes(data="kind") if k in ("resource", "subprocessor")]
    assert int(suites["eea-only"].get("tests", -1)) == len(holders)
    reach = suites["esam-foreign-reach"]
    lab = next(c for c in reach.findall("testcase") if c.get("name", "").endswith("[data:lab-results]"))
    failure = lab.find("failure")
    assert failure is not None and failure.get("type") == "critical"
    assert "Witness path:" in (failure.text or "") and "law:us-fisa-702" in (failure.text or "")
    archived = next(c for c in reach.findall("testcase") if c.get("name", "").endswith("[data:archived-records]"))
    assert list(archived) == [], "reached only by the home country's law: passes"


def test_junit_marks_excepted_findings_skipped_and_survives_control_characters(hostile: Audit) -> None:
    text = render(hostile, "junit")
    root, suites = _suites(text.encode("utf-8"))
    in_eea = suites["in-eea"]
    skipped = [c for c in in_eea.findall("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 1 and in_eea.get("skipped") == "1" and root.get("skipped") == "1"
    assert "moving it <soon> & for sure" in (skipped[0].find("skipped").get("message") or "")  # type: ignore[union-attr]
    assert "\x07" not in text and "\\x07bell" in text
    coverage = suites["coverage"]
    assert any(c.find("failure") is not None and "gap:" in c.get("name", "") for c in coverage.findall("testcase"))


# chart ---------------------------------------------------------------------------------------

def test_copies_by_country_counts_placements_and_keeps_unknown_places(demo_audit: Audit, hostile: Audit) -> None:
    rows = {r.country: r for r in copies_by_country(demo_audit)}
    view = build_view(demo_audit)
    assert set(rows) == {c for h in view.holders for p in h.placements for c in p.countries}
    assert sum(r.copies for r in rows.values()) == sum(len(p.countries) for h in view.holders for p in h.placements)
    assert {c: r.eea for c, r in rows.items() if c in ("GB", "IE", "NL", "SE", "US")} == {
        "GB": False, "IE": True, "NL": True, "SE": True, "US": False}
    assert (rows["US"].copies, rows["US"].reached) == (1, 1)
    assert 0 < rows["SE"].reached < rows["SE"].copies, "the on-premises archive in Sweden is reached by no foreign law"
    assert rows["SE"].laws == ("law:us-cloud-act", "law:us-fisa-702"), "home laws are not foreign"
    hostile_rows = {r.country: r for r in copies_by_country(hostile)}
    assert hostile_rows[""].copies == 1 and hostile_rows[""].name == "unknown"


def test_plot_countries_draws_a_bar_per_country_and_old_display_functions_still_work(
        demo_audit: Audit) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from residency_audit.display import audit_html, plot_audit, plot_countries

    try:
        ax = plot_countries(demo_audit)
        assert [t.get_text() for t in ax.get_xticklabels()][:5] == ["GB*", "IE", "NL", "SE", "US*"]
        rows = copies_by_country(demo_audit)
        reached, clear = ax.patches[:len(rows)], ax.patches[len(rows):2 * len(rows)]
        assert [p.get_height() for p in reached] == [r.reached for r in rows]
        assert [p.get_height() for p in clear] == [r.copies - r.reached for r in rows]
        assert reached[3].get_facecolor() != clear[3].get_facecolor()
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "reached by a foreign law", "not reached by a foreign law"]
        assert demo_audit.plot_countries() is not None
        assert plot_audit(demo_audit) is not None
        assert "<table>" in audit_html(demo_audit)
    finally:
        plt.close("all")
