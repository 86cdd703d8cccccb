"""The JSON report matches its published schema (``report/report-schema.json``)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from residency_audit.demo import demo_estate
from residency_audit.model import CoverageGap
from residency_audit.pipeline import audit
from residency_audit.providers.inventory import load_inventory
from residency_audit.report.json_report import (
    REPORT_SCHEMA_VERSION,
    render_json,
    report_dict,
    report_schema,
)

TODAY = dt.date(2026, 11, 24)

INVENTORY = """\
version: 1
organisation: Region Test
entities:
  - id: test-region
    name: Test Region
    country: SE
resources:
  - id: arn:aws:s3:::keys-held-here
    name: keys-held-here
    provider: aws
    service: s3
    kind: bucket
    account: "111122223333"
    locations:
      - region: aws:us-east-1
    replicates_to: [arn:aws:s3:::never-scanned]
  - id: arn:aws:s3:::somewhere-new
    name: somewhere-new
    provider: aws
    service: s3
    kind: bucket
    locations:
      - region: aws:xx-nowhere-9
  - id: local-archive
    name: Local archive
    operator: test-region
    locations:
      - country: SE
        role: backup
data:
  - id: records
    name: Records
    classification: confidential
    stored_in:
      - resource: arn:aws:s3:::keys-held-here
      - resource: arn:aws:s3:::somewhere-new
      - resource: local-archive
mitigations:
  - kind: customer-held-keys
    description: client-side encryption; the keys never leave the region
    evidence: key management procedure KM-7, 2026-10
    holder: resource:aws:arn:aws:s3:::keys-held-here
"""

POLICY = """\
name: test
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
    node: resource:aws:arn:aws:s3:::somewhere-new
    reason: region launched last week; catalog row pending
    expires: 2027-01-31
"""


def validator() -> jsonschema.Draft202012Validator:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def assert_valid(report: dict[str, Any]) -> None:
    errors = sorted(validator().iter_errors(report), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message}" for e in errors[:10])


@pytest.fixture(scope="module")
def demo_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(render_json(audit(demo_estate(), today=TODAY)))
    return report


@pytest.fixture(scope="module")
def gap_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder: Path = tmp_path_factory.mktemp("schema")
    (folder / "inventory.yaml").write_text(INVENTORY)
    (folder / "policy.yaml").write_text(POLICY)
    estate = load_inventory(folder / "inventory.yaml").merge(_gaps())
    report: dict[str, Any] = json.loads(render_json(audit(estate, policy=folder / "policy.yaml",
                                                          today=TODAY)))
    return report


def _gaps() -> Any:
    from residency_audit.model import Estate

    return Estate(gaps=(
        CoverageGap(provider="aws", scope="111122223333", region="eu-north-1", service="s3",
                    operation="GetBucketReplication", resource="arn:aws:s3:::keys-held-here",
                    error="AccessDenied", message="not authorised to read the replication rules"),
        CoverageGap(provider="aws", scope="444455556666", service="sts", operation="AssumeRole",
                    error="AccessDenied"),
    ))


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == REPORT_SCHEMA_VERSION


def test_the_demo_report_matches_the_schema(demo_report: dict[str, Any]) -> None:
    assert_valid(demo_report)


def test_a_report_with_gaps_mitigations_unknown_places_and_exceptions_matches(
        gap_report: dict[str, Any]) -> None:
    assert_valid(gap_report)
    assert len(gap_report["gaps"]) == 2 and gap_report["summary"]["gaps"] == 2
    assert gap_report["mitigations"], "the declared mitigation should block a law"
    assert {m["kind"] for m in gap_report["mitigations"]} == {"customer-held-keys"}
    assert any(not p["known"] for h in gap_report["holders"] for p in h["placements"])
    assert any(not h["seen"] for h in gap_report["holders"])
    assert any(f["exception"] for f in gap_report["findings"])
    assert gap_report["summary"]["excepted"] >= 1


def test_the_report_of_an_empty_estate_matches_the_schema() -> None:
    from residency_audit.model import Estate

    assert_valid(report_dict(audit(Estate(), policy="esam", today=TODAY)))


def _all_objects(schema: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    out = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            out.append((path, schema))
        for key, value in schema.items():
            out += _all_objects(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            out += _all_objects(value, f"{path}/{i}")
    return out


def test_every_object_is_closed_and_requires_every_property() -> None:
    for path, obj in _all_objects(report_schema()):
        assert obj.get("additionalProperties") is False, path
        assert sorted(obj["required"]) == sorted(obj["properties"]), path


@pytest.mark.parametrize(("where", "change"), [
    ("unknown top-level key", lambda r: r.update(extra=1)),
    ("missing summary", lambda r: r.pop("summary")),
    ("bad severity", lambda r: r["findings"][0].update(severity="severe")),
    ("bad rule type", lambda r: r["policy"]["rules"][0].update(type="other")),
    ("unknown finding key", lambda r: r["findings"][0].update(score=3)),
    ("count as text", lambda r: r["summary"]["findings"].update(high="1")),
    ("missing severity count", lambda r: r["summary"]["findings"].pop("info")),
    ("bad date", lambda r: r.update(evaluated_on="24/11/2026")),
    ("other version", lambda r: r.update(schema_version=1)),
    ("bad role", lambda r: r["holders"][0]["placements"][0].update(role="mirror")),
    ("known as text", lambda r: r["holders"][0]["placements"][0].update(known="yes")),
])
def test_the_schema_rejects_what_the_report_never_contains(demo_report: dict[str, Any], where: str,
                                                          change: Any) -> None:
    broken = copy.deepcopy(demo_report)
    change(broken)
    assert list(validator().iter_errors(broken)), where


def test_a_mitigation_may_name_its_holder_by_the_resources_own_id(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY.replace("holder: resource:aws:arn:aws:s3:::keys-held-here",
                                      "holder: arn:aws:s3:::keys-held-here"))
    result = audit(load_inventory(path), policy="esam", today=TODAY)
    assert result.mitigations
