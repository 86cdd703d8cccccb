"""Unknown is never compliant, under every preset: unknown places, lost scopes, scans that saw nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from residency_audit.cli import main
from residency_audit.estate_io import write_estate
from residency_audit.model import CoverageGap, Estate, GapLevel, ScanMetadata, Severity
from residency_audit.pipeline import audit
from residency_audit.policy import preset_names
from residency_audit.scopes import ScopeState, scope_statuses

from .estates import data, entity, mitigation, resource

TODAY = dt.date(2026, 11, 24)


def _unknown_place(provider: str = "onprem") -> Estate:
    return Estate(resources=(resource("r", "aws:xx-nowhere-9", operator="se-co", provider=provider),),
                  entities=(entity("se-co", "SE"),), data=(data("d", resources=("r",)),))


@pytest.mark.parametrize("preset", preset_names())
def test_a_copy_in_an_unknown_location_is_a_failing_finding_under_every_preset(preset: str) -> None:
    a = audit(_unknown_place(), policy=preset, today=TODAY)
    unknown = [f for f in a.findings if f.title == "Unknown location"]
    assert unknown, f"{preset}: an unknown location passed in silence"
    assert all(f.severity.rank >= Severity.HIGH.rank for f in unknown)
    assert a.failed("high")


def test_a_policy_without_a_coverage_rule_still_reports_what_it_cannot_see(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: mine\nhome: SE\nrules:\n  - id: reach\n    type: reach\n")
    gap = CoverageGap(provider="aws", scope="1", service="s3", operation="ListBuckets", error="AccessDenied")
    a = audit(Estate(resources=_unknown_place().resources, entities=_unknown_place().entities,
                     data=_unknown_place().data, gaps=(gap,)), policy=policy, today=TODAY)
    titles = {f.title for f in a.findings}
    assert {"Unknown location", "Not seen", "Scope not read"} <= titles


def test_explain_says_an_unknown_location_cannot_be_judged() -> None:
    a = audit(_unknown_place(), policy="esam", today=TODAY)
    x = a.explain("data:d")
    assert x.verdict == "cannot be judged"
    text = str(x)
    assert "No law in the catalog reaches it." not in text
    assert "Cannot be judged" in text and "xx-nowhere-9" in text


def test_explain_names_the_laws_a_mitigation_keeps_out_once() -> None:
    estate = Estate(resources=(resource("r", "aws:eu-north-1", operator="us-co"),),
                    entities=(entity("us-co", "US"),), data=(data("d", resources=("r",)),),
                    mitigations=(mitigation("r"),))
    a = audit(estate, policy="esam", today=TODAY)
    x = a.explain("data:d")
    assert not x.paths and x.verdict == "mitigated"
    [m] = x.mitigated
    assert "law:us-cloud-act" in m.laws and len(m.laws) >= 2
    text = str(x)
    assert text.count("Kept out by mitigation") == 1 and "CLOUD Act" in text
    assert "No law in the catalog reaches it." not in text


def _denied(n_gaps: int = 5) -> Estate:
    gaps = tuple(CoverageGap(provider="aws", scope="111122223333", region=r, service=s, operation=op,
                             error="AccessDenied", message="not authorized")
                 for r in ("eu-north-1", "eu-west-1") for s, op in
                 (("s3", "ListBuckets"), ("rds", "DescribeDBInstances"), ("dynamodb", "ListTables")))[:n_gaps]
    return Estate(gaps=gaps, metadata=ScanMetadata(sources=("aws",), scopes=("aws:111122223333",)))


def test_scope_statuses_read_in_part_and_not_read() -> None:
    seen = resource("r", "aws:eu-north-1", provider="aws")
    seen = type(seen)(**{**{f: getattr(seen, f) for f in seen.__slots__}, "account": "2"})  # type: ignore[attr-defined]
    estate = Estate(
        resources=(seen,),
        gaps=(CoverageGap(provider="aws", scope="2", region="ap-east-1", service="ec2",
                          operation="DescribeRegions", error="AccessDenied", level=GapLevel.SCOPE),
              CoverageGap(provider="aws", scope="3", service="sts", operation="AssumeRole",
                          error="AccessDenied", level=GapLevel.SCOPE)),
        metadata=ScanMetadata(sources=("aws",), scopes=("aws:1", "aws:2", "aws:3")))
    got = {s.scope: s.status for s in scope_statuses(estate)}
    assert got == {"aws:1": ScopeState.READ, "aws:2": ScopeState.PARTIAL,
                   "aws:2/ap-east-1": ScopeState.NOT_READ, "aws:3": ScopeState.NOT_READ}


def test_a_scan_in_which_every_call_was_denied_fails_audit_with_default_options(tmp_path: Path) -> None:
    estate = tmp_path / "estate.json"
    write_estate(_denied(), estate)
    out = io.StringIO()
    code = main(["audit", "--estate", str(estate), "--format", "json", "--today", TODAY.isoformat()],
                stdout=out)
    assert code == 1, "a scan that saw nothing must not pass"
    report = json.loads(out.getvalue())
    text = json.dumps(report)
    assert "Scope not read" in text and "cannot be answered" in text


def test_a_lost_scope_is_high_and_says_what_cannot_be_answered() -> None:
    gap = CoverageGap(provider="azure", scope="sub-1", service="resourcegraph", operation="permissions",
                      error="AuthorizationFailed", message="no read on the subscription",
                      level=GapLevel.SCOPE)
    a = audit(Estate(gaps=(gap,), metadata=ScanMetadata(sources=("azure",), scopes=("azure:sub-1",))),
              today=TODAY)
    # One finding for one lost scope: the gap, with the server's reason.
    [lost] = [f for f in a.findings if f.title == "Scope not read"]
    assert lost.node.startswith("gap:azure:sub-1") and lost.severity.rank >= Severity.HIGH.rank
    lost = [lost]
    assert "no read on the subscription" in lost[0].message
    assert "which laws reach them" in lost[0].message


def test_a_record_gap_names_its_field() -> None:
    gap = CoverageGap(provider="aws", scope="1", region="eu-north-1", service="rds",
                      operation="DescribeDBInstanceAutomatedBackups", error="UnparseableRecord",
                      resource="db-1", field="DBInstanceAutomatedBackupsArn", level=GapLevel.RECORD)
    seen = resource("r", "aws:eu-north-1", provider="aws")
    a = audit(Estate(resources=(seen,), gaps=(gap,)), today=TODAY)
    [f] = [f for f in a.findings if f.title == "Record not read"]
    assert "DBInstanceAutomatedBackupsArn" in f.message and "db-1" in f.message


def test_esam_through_the_cli_flags_an_unknown_location_and_explain_says_it_cannot_be_judged(
        tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\nentities:\n  - id: se-co\n    name: SE Co\n    country: SE\n"
        "resources:\n  - id: r\n    name: r\n    provider: aws\n    service: s3\n    kind: bucket\n"
        "    operator: se-co\n    locations:\n      - region: aws:xx-nowhere-9\n"
        "data:\n  - id: d\n    name: d\n    stored_in:\n      - resource: r\n", encoding="utf-8")
    out = io.StringIO()
    code = main(["audit", "--inventory", str(inventory), "--policy", "esam", "--format", "json",
                 "--today", TODAY.isoformat()], stdout=out)
    assert code == 1
    titles = {f["title"] for f in json.loads(out.getvalue())["findings"]}
    assert "Unknown location" in titles
    out = io.StringIO()
    assert main(["explain", "--inventory", str(inventory), "--policy", "esam", "--today", TODAY.isoformat(),
                 "data:d"], stdout=out) == 0
    assert "Cannot be judged" in out.getvalue() and "No law in the catalog reaches it." not in out.getvalue()
