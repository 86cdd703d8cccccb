"""The demo's answers, end to end through the CLI, as the issue states them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from residency_audit.cli import main

TODAY = "2026-11-24"
AZURE = ("resource:azure:/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/journal"
         "/providers/Microsoft.Storage/storageAccounts/patientjournal")


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    code, text = run("demo", "--format", "json", "--today", TODAY)
    assert code == 0
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def findings(report: dict[str, Any], rule: str, node: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["rule"] == rule and f["node"] == node]


def test_azure_platform_in_the_eea_yet_reached_by_the_cloud_act_through_microsoft(report: dict[str, Any]) -> None:
    holder = next(h for h in report["holders"] if h["node"] == AZURE)
    assert {(p["location"], p["role"]) for p in holder["placements"]} == {
        ("location:azure:westeurope", "primary"), ("location:azure:northeurope", "secondary")}
    assert {c for p in holder["placements"] for c in p["countries"]} == {"NL", "IE"}
    assert not findings(report, "eea-only", AZURE)
    [f] = [f for f in findings(report, "esam-foreign-reach", "data:patient-records")
           if "law:us-cloud-act" in f["laws"]]
    nodes = [s["node"] for s in f["path"]]
    assert nodes[:2] == ["law:us-cloud-act", "country:US"]
    assert nodes.index("entity:microsoft-corporation") < nodes.index("entity:microsoft-ireland-operations")
    assert nodes[-2:] == [AZURE, "data:patient-records"]
    assert len(f["path_evidence"]) == len(nodes) - 1


def test_london_service_outside_the_eea_with_adequacy_and_reached_through_oracles_us_parent(
        report: dict[str, Any]) -> None:
    node = "resource:oci:tipoff-service"
    [outside] = findings(report, "eea-only", node)
    assert outside["countries"] == ["GB"] and "adequacy" in outside["message"]
    [transfer] = findings(report, "gdpr-transfers", node)
    assert transfer["severity"] == "info" and "adequacy" in transfer["message"]
    [reach] = [f for f in findings(report, "esam-foreign-reach", "data:whistleblower-reports")
               if "law:us-cloud-act" in f["laws"]]
    nodes = [s["node"] for s in reach["path"]]
    assert "entity:oracle-corporation" in nodes and nodes[-2] == node


def test_sms_provider_reached_only_through_its_us_gateway(report: dict[str, Any]) -> None:
    sms = next(h for h in report["holders"] if h["node"] == "subprocessor:sms-provider")
    assert sms["reached_by"] == [] or all(not law.startswith("law:us-") for law in sms["reached_by"])
    [f] = [f for f in findings(report, "esam-foreign-reach", "data:sms-reminders")
           if "law:us-cloud-act" in f["laws"]]
    nodes = [s["node"] for s in f["path"]]
    assert nodes[-3:] == ["subprocessor:messaging-gateway", "subprocessor:sms-provider", "data:sms-reminders"]
    assert "entity:global-messaging-inc" in nodes


def test_self_hosted_system_is_reached_by_no_foreign_law(report: dict[str, Any]) -> None:
    data = next(d for d in report["data"] if d["node"] == "data:archived-records")
    foreign = {law["node"] for law in report["laws"] if law["foreign"]}
    assert not set(data["reached_by"]) & foreign
    assert data["countries"] == ["SE"]


def test_stockholm_bucket_replica_is_in_the_us(report: dict[str, Any]) -> None:
    dr = "resource:aws:arn:aws:s3:::region-exempel-lab-results-dr"
    [f] = findings(report, "eea-only", dr)
    assert f["countries"] == ["US"]
    [t] = findings(report, "gdpr-transfers", dr)
    assert t["severity"] == "high"
    lab = next(d for d in report["data"] if d["node"] == "data:lab-results")
    assert lab["countries"] == ["SE", "US"]


def test_same_estate_gives_byte_identical_reports(tmp_path: Path) -> None:
    for fmt in ("json", "md"):
        a = tmp_path / f"a.{fmt}"
        b = tmp_path / f"b.{fmt}"
        assert run("demo", "--format", fmt, "--today", TODAY, "-o", str(a))[0] == 0
        assert run("demo", "--format", fmt, "--today", TODAY, "-o", str(b))[0] == 0
        assert a.read_bytes() == b.read_bytes()
        assert oct(a.stat().st_mode & 0o777) == "0o600"


def test_exit_codes_follow_fail_on() -> None:
    assert run("demo", "--today", TODAY, "--fail-on", "critical")[0] == 1
    assert run("demo", "--today", TODAY)[0] == 0  # the demo reports; it does not gate
    assert run("demo", "--bogus")[0] == 2


def test_audit_of_the_demo_inventory_file_matches_the_demo(tmp_path: Path) -> None:
    from residency_audit.demo import demo_inventory_path

    code, text = run("audit", "--inventory", str(demo_inventory_path()), "--format", "json",
                     "--today", TODAY, "--fail-on", "critical")
    assert code == 1
    assert {f["id"] for f in json.loads(text)["findings"]} == {
        f["id"] for f in json.loads(run("demo", "--format", "json", "--today", TODAY)[1])["findings"]}


def test_explain_prints_the_path_with_evidence() -> None:
    code, text = run("explain", "--demo", "--today", TODAY, "sms-reminders")
    assert code == 0
    assert "Global Messaging Inc." in text and "because:" in text
    assert run("explain", "--demo", "no-such-node")[0] == 2


def test_regions_json_has_the_documented_fields() -> None:
    code, text = run("regions", "--format", "json")
    rows = json.loads(text)
    assert code == 0 and {"aws", "azure", "gcp", "oci"} <= {r["provider"] for r in rows}
    by = {(r["provider"], r["code"], r["service"]): r for r in rows}
    assert by[("azure", "westeurope", None)]["pair"] == "northeurope"
    assert by[("aws", "eu-north-1", None)]["country"] == "SE"
    eur4 = by[("gcp", "EUR4", None)]
    assert eur4["country"] is None and sorted(eur4["members"]) == ["europe-north1", "europe-west4"]
    eu = by[("gcp", "EU", None)]
    assert eu["country"] is None and "SE" in eu["countries"]
    for r in rows:
        assert {"provider", "code", "country", "members", "pair"} <= set(r)


def test_console_script_runs_the_demo() -> None:
    proc = subprocess.run([sys.executable, "-m", "residency_audit", "demo", "--today", TODAY],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Residency audit")


def test_demo_with_the_us_region_denied_reports_the_gap_and_the_unseen_replica(tmp_path: Path) -> None:
    from residency_audit.demo import demo_estate
    from residency_audit.estate_io import write_estate
    from residency_audit.testing import FakeProvider

    estate = FakeProvider.from_estate(demo_estate()).deny("aws:us-east-1").scan()
    write_estate(estate, tmp_path / "estate.json")
    code, text = run("audit", "--estate", str(tmp_path / "estate.json"), "--policy", "eea-only",
                     "--format", "json", "--today", TODAY, "--fail-on", "high")
    assert code == 1
    report = json.loads(text)
    dr = "resource:aws:arn:aws:s3:::region-exempel-lab-results-dr"
    assert {f["title"] for f in findings(report, "coverage", dr)} == {"Copy not seen"}
    [gap] = [f for f in report["findings"] if f["node"].startswith("gap:")]
    assert gap["node"] == "gap:aws:111122223333:us-east-1:s3:GetBucketLocation"
