"""OCSF output: one Compliance Finding (class 2003) per finding, valid against OCSF 1.5.0.

Every event is validated twice: with ``py-ocsf-models`` (the OCSF models Prowler uses), dumped
back (an attribute the models do not know would be dropped there, so the round trip must give
the event back unchanged), and against the JSON Schema of the class compiled from the OCSF
schema sources at tag 1.5.0 (``tests/data/``: closed objects, required attributes, enums).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding

from residency_audit.cli import main
from residency_audit.demo import demo_estate
from residency_audit.model import (
    CoverageGap,
    DataCategory,
    Entity,
    Estate,
    Evidence,
    Placement,
    Resource,
)
from residency_audit.pipeline import Audit, audit
from residency_audit.report import FORMATS, render
from residency_audit.report.ocsf import (
    OCSF_VERSION,
    event_time,
    ocsf_events,
    render_ocsf,
    severity_id,
)
from residency_audit.view import build_view

TODAY = dt.date(2026, 11, 24)
EV = Evidence(source="inventory", ref="ocsf.yaml:1")

POLICY = """\
name: ocsf-test
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
    node: "resource:aws:arn:aws:s3:::us-bucket"
    reason: "moving to eu-north-1 in January"
    expires: 2027-01-31
"""


SCHEMA = Path(__file__).resolve().parent.parent / "data" / "ocsf-1.5.0-compliance-finding.schema.json"


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(event: dict[str, Any]) -> list[str]:
    return sorted(f"{e.json_path}: {e.message}" for e in _validator().iter_errors(event))


def _validated(event: dict[str, Any]) -> dict[str, Any]:
    """The event after the OCSF models' round trip; fails on any error of the OCSF schema."""
    assert _schema_errors(event) == []
    model = ComplianceFinding.model_validate(event)
    back: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return back


@pytest.fixture(scope="module")
def demo() -> Audit:
    return audit(demo_estate(), today=TODAY)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Audit:
    """A US-run bucket in us-east-1 under an exception, a copy in an unknown region, and a gap."""
    us = Entity(id="us-corp", name="US Corp", country="US", evidence=EV)
    estate = Estate(
        entities=(us,),
        resources=(
            Resource(id="arn:aws:s3:::us-bucket", provider="aws", service="s3", kind="bucket",
                     name="us-bucket \x07", operator="us-corp", operator_evidence=EV,
                     placements=(Placement(location="aws:us-east-1", evidence=EV),)),
            Resource(id="lost", provider="onprem", service="db", kind="db", name="lost",
                     placements=(Placement(location="aws:xx-nowhere-9", evidence=EV),)),
        ),
        data=(DataCategory(id="records", name="Records", evidence=EV,
                           resources=("arn:aws:s3:::us-bucket", "lost")),),
        gaps=(CoverageGap(provider="aws", scope="111122223333", service="s3",
                          operation="GetBucketLocation", error="AccessDenied", message="denied"),),
    )
    policy = tmp_path_factory.mktemp("ocsf") / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return audit(estate, policy=policy, today=TODAY)


def test_ocsf_is_a_registered_format_and_the_cli_writes_it(tmp_path: Path) -> None:
    assert "ocsf" in FORMATS
    out = tmp_path / "demo.ocsf.json"
    assert main(["demo", "--format", "ocsf", "--today", TODAY.isoformat(), "-o", str(out)]) == 0
    again = tmp_path / "again.ocsf.json"
    assert main(["demo", "--format", "ocsf", "--today", TODAY.isoformat(), "-o", str(again)]) == 0
    assert out.read_bytes() == again.read_bytes()
    events = json.loads(out.read_bytes())
    assert isinstance(events, list) and events


def test_every_demo_event_is_a_valid_ocsf_compliance_finding(demo: Audit) -> None:
    events = json.loads(render(demo, "ocsf"))
    assert len(events) == len(demo.findings)
    for event in events:
        assert _validated(event) == event, "an attribute the OCSF models do not know"
        assert event["class_uid"] == 2003 and event["category_uid"] == 2
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert event["metadata"]["version"] == OCSF_VERSION
        assert event["metadata"]["product"]["vendor_name"] == "residency-audit"
        assert event["time"] == event_time("2026-11-24") == 1795478400000
        assert event["finding_info"]["uid"] == event["metadata"]["uid"]
        assert event["compliance"]["status_id"] == 3  # Fail
        assert event["status_id"] == 1  # New


def test_events_follow_the_findings_order_and_severity(demo: Audit) -> None:
    events = ocsf_events(demo)
    assert [e["finding_info"]["uid"] for e in events] == [f.id for f in demo.findings]
    assert [e["severity_id"] for e in events] == [severity_id(f.severity) for f in demo.findings]
    assert [severity_id(s) for s in ("info", "low", "medium", "high", "critical")] == [1, 2, 3, 4, 5]
    ids = [e["severity_id"] for e in events]
    assert ids == sorted(ids, reverse=True)


def test_a_reach_finding_carries_resources_countries_law_and_witness_path(demo: Audit) -> None:
    f = next(f for f in demo.findings if f.path and f.node == "data:sms-reminders")
    event = next(e for e in ocsf_events(demo) if e["finding_info"]["uid"] == f.id)
    uids = [r["uid"] for r in event["resources"]]
    assert uids == sorted(uids) and "data:sms-reminders" in uids
    holders = [n for n in f.path if n.startswith(("resource:", "subprocessor:"))]
    assert holders and set(holders) <= set(uids)
    assert not any(u.startswith(("law:", "country:", "entity:")) for u in uids)
    data = next(r for r in event["resources"] if r["uid"] == "data:sms-reminders")
    assert data["data"]["countries"] and data["labels"] == [f"country:{c}" for c in data["data"]["countries"]]
    steps = event["evidences"]
    assert [s["data"]["node"] for s in steps] == list(f.path)
    assert [s["data"]["step"] for s in steps] == list(range(1, len(f.path) + 1))
    law = steps[0]["data"]
    assert law["kind"] == "law" and law["country"] == "US" and law["citation"]
    named = [x["node"] for x in event["unmapped"]["laws"]]
    assert named == sorted(set(f.all_laws) | {f.path[0]}) and len(named) >= 2  # CLOUD Act, FISA
    assert all(x["citation"] and x["country"] == "US" for x in event["unmapped"]["laws"])
    assert event["unmapped"]["route"] == f.route and f.route
    assert all("evidence" in s["data"] for s in steps[:-1])


def test_holder_resources_carry_region_and_countries(demo: Audit) -> None:
    events = ocsf_events(demo)
    holders = [r for e in events for r in e["resources"] if r["uid"].startswith("resource:aws:")]
    assert holders
    for r in holders:
        assert r["type"] == "aws/s3"
        assert r["region"] in {"eu-north-1", "us-east-1"}
        assert r["data"]["countries"] and r["labels"]


def test_exceptions_are_suppressed_and_gaps_are_warnings(mixed: Audit) -> None:
    text = render(mixed, "ocsf")
    text.encode("utf-8")
    assert "\x07" not in text
    events = json.loads(text)
    for event in events:
        assert _validated(event) == event
    excepted = [e for e in events if e["unmapped"]["exception"]]
    assert excepted and all(e["status_id"] == 3 and e["status"] == "Suppressed" for e in excepted)
    assert all(e["status_detail"].startswith("Policy exception: moving") for e in excepted)
    coverage = [e for e in events if e["compliance"]["control"] == "coverage"]
    assert coverage and all(e["compliance"]["status_id"] == 2 for e in coverage)  # Warning
    assert all(e["finding_info"]["types"] == ["Data residency/Coverage"] for e in coverage)
    assert {e["compliance"]["status_id"] for e in events} == {2, 3}


def test_the_output_is_deterministic_across_separate_audits() -> None:
    a = render(audit(demo_estate(), today=TODAY), "ocsf")
    b = render(audit(demo_estate(), today=TODAY), "ocsf")
    assert a == b and a.endswith("]\n")
    assert render_ocsf(build_view(audit(demo_estate(), today=TODAY))) == a
    later = json.loads(render(audit(demo_estate(), today=dt.date(2026, 12, 1)), "ocsf"))
    assert {e["time"] for e in later} == {event_time("2026-12-01")}


def test_an_empty_estate_gives_valid_events() -> None:
    events = json.loads(render(audit(Estate(), policy="esam", today=TODAY), "ocsf"))
    assert isinstance(events, list)
    for event in events:
        assert _validated(event) == event


def test_the_models_and_the_schema_reject_what_they_should(demo: Audit) -> None:
    event = ocsf_events(demo)[0]
    broken = {k: v for k, v in event.items() if k != "compliance"}
    with pytest.raises(ValueError):
        ComplianceFinding.model_validate(broken)
    with pytest.raises(ValueError):
        ComplianceFinding.model_validate(event | {"severity_id": 7})
    assert _schema_errors(broken) == ["$: 'compliance' is a required property"]
    assert len(_schema_errors(event | {"severity_id": 7, "class_uid": 2004})) == 2
    assert _schema_errors(event | {"compliance": event["compliance"] | {"status_id": 9}})
    assert _schema_errors(event | {"bogus": 1}), "the class is closed"
    assert _schema_errors(event | {"metadata": {"version": "1.5.0"}}), "metadata.product is required"
    step = event["evidences"][0]
    assert _schema_errors(event | {"evidences": [{"name": step["name"]}]}), "evidence needs data"


def test_events_grow_with_the_holders_they_concern_not_with_every_copy() -> None:
    """A data category in an event lists only its copies that the finding concerns (all of them
    in every event made the output grow with findings times copies: 0.66 GB at 20,000 resources)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from synthetic import synthetic_estate

    a = audit(synthetic_estate(1500, seed=4), today=TODAY)
    events = ocsf_events(a)
    copies_listed = 0
    for event in events:
        holders = {r["uid"] for r in event["resources"] if r.get("type") != "data category"}
        for r in event["resources"]:
            if r.get("type") == "data category":
                assert set(r["data"]["copies"]) <= holders
                assert r["data"]["holder_count"] >= len(r["data"]["copies"])
                copies_listed += len(r["data"]["copies"])
    assert copies_listed
    assert copies_listed <= sum(len(event["resources"]) for event in events)
