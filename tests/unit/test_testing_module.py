"""residency_audit.testing used the way a user's own test suite would use it."""

from __future__ import annotations

import datetime as dt
import doctest
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import residency_audit
import residency_audit.testing
from residency_audit import Severity, audit, load_policy, read_estate, write_estate
from residency_audit.cli import main
from residency_audit.errors import InputError
from residency_audit.providers.base import Adapter
from residency_audit.testing import FakeProvider

TODAY = dt.date(2026, 11, 24)

LAB_POLICY = """\
name: lab-data-in-sweden
home: SE
rules:
  - id: lab-in-sweden
    type: location
    allowed: [SE]
    severity: critical
    scope: {tags: {data-class: lab}}
    remedy: Keep lab data in Stockholm.
  - id: coverage
    type: coverage
    severity: medium
"""


def lab_estate() -> FakeProvider:
    return (FakeProvider()
            .bucket("lab", region="aws:eu-north-1", replicates_to=["lab-dr"], tags={"data-class": "lab"})
            .bucket("lab-dr", region="aws:eu-west-1", tags={"data-class": "lab"})
            .bucket("web", region="aws:us-east-1"))


def test_module_doctests_run() -> None:
    result = doctest.testmod(residency_audit.testing, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 20
    assert result.failed == 0


def test_nothing_new_is_exported_from_the_package() -> None:
    assert "FakeProvider" not in residency_audit.__all__
    assert "testing" not in residency_audit.__all__


def test_the_fake_loads_no_provider_sdk() -> None:
    code = ("import sys\n"
            "from residency_audit.testing import FakeProvider\n"
            "FakeProvider().bucket('a', region='eu-north-1').storage_account('b', region='westeurope')"
            ".gcs_bucket('c', location='EU').deny('aws:eu-north-1').scan()\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'azure', 'google')]\n"
            "sys.exit(1 if bad else 0)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_fake_is_an_adapter() -> None:
    adapter: Adapter = FakeProvider()
    assert adapter.scan().resources == ()


def test_a_users_policy_finds_the_replica_outside_sweden(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(LAB_POLICY, encoding="utf-8")
    result = audit(lab_estate().scan(), policy=load_policy(policy_file), today=TODAY)
    assert [(f.rule, f.severity, f.node, f.countries) for f in result.active_findings] == [
        ("lab-in-sweden", Severity.CRITICAL, "resource:aws:arn:aws:s3:::lab-dr", ("IE",))]
    assert result.failed("high")


def test_an_exception_in_the_policy_accepts_the_finding_until_it_expires(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(LAB_POLICY + """\
exceptions:
  - rule: lab-in-sweden
    node: resource:aws:arn:aws:s3:::lab-dr
    reason: DR copy moves to eu-north-1 in Q1
    expires: 2026-12-31
""", encoding="utf-8")
    estate = lab_estate().scan()
    assert not audit(estate, policy=load_policy(policy_file), today=TODAY).failed("low")
    assert audit(estate, policy=load_policy(policy_file), today=dt.date(2027, 1, 1)).failed("high")


def test_a_denied_region_is_a_coverage_finding_never_a_pass(tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(LAB_POLICY, encoding="utf-8")
    fake = lab_estate().deny("aws:eu-west-1")
    estate = fake.scan()
    assert [r.name for r in estate.resources] == ["lab", "web"]
    [gap] = estate.gaps
    assert (gap.provider, gap.scope, gap.region, gap.service, gap.error) == (
        "aws", "111122223333", "eu-west-1", "s3", "AccessDenied")
    result = audit(estate, policy=load_policy(policy_file), today=TODAY)
    by_title = {(f.rule, f.title): f for f in result.active_findings}
    assert by_title[("coverage", "Not seen")].node == "gap:aws:111122223333:eu-west-1:s3:GetBucketLocation"
    assert by_title[("coverage", "Copy not seen")].node == "resource:aws:arn:aws:s3:::lab-dr"
    assert "unknown, not compliant" in by_title[("coverage", "Not seen")].message
    assert result.failed("high")


def test_a_denied_empty_region_still_reports_a_gap() -> None:
    [gap] = FakeProvider().deny("azure:swedencentral", service="storage").scan().gaps
    assert (gap.provider, gap.region, gap.service, gap.operation) == (
        "azure", "swedencentral", "storage", "StorageAccounts_List")


def test_a_raw_gap_goes_through_as_declared() -> None:
    fake = FakeProvider().gap(provider="gcp", scope="projects/lab", service="storage",
                              operation="storage.buckets.list", error="PERMISSION_DENIED",
                              message="caller lacks storage.buckets.list")
    result = audit(fake.scan(), policy="eea-only", today=TODAY)
    finding, scope = sorted(result.active_findings, key=lambda f: f.node)
    assert finding.node == "gap:gcp:projects/lab:storage:storage.buckets.list"
    assert scope.node == "scope:gcp:projects/lab" and scope.title == "Scope not read"
    assert "PERMISSION_DENIED" in finding.message


def test_geo_redundant_storage_and_a_us_owned_subprocessor_under_esam() -> None:
    fake = (FakeProvider()
            .storage_account("journal", region="azure:swedencentral", secondary="azure:swedensouth",
                             tags={"data-class": "patient"})
            .entity("sms-ab", country="SE")
            .entity("gateway-inc", country="US")
            .entity("gateway-nordic-ab", country="SE", parent="gateway-inc")
            .subprocessor("sms", entity="sms-ab", locations=["country:SE"], subcontracts=["gateway"])
            .subprocessor("gateway", entity="gateway-nordic-ab", locations=["country:SE"])
            .data("reminders", subprocessors=["sms"])
            .data("patient-records", tags={"data-class": "patient"}))
    result = audit(fake.scan(), policy="esam", today=TODAY)
    reached = {(f.node, law) for f in result.active_findings if f.rule != "coverage" for law in f.all_laws}
    assert ("data:reminders", "law:us-cloud-act") in reached
    assert ("data:patient-records", "law:us-cloud-act") in reached
    why = result.explain("data:reminders")
    assert any("gateway-inc" in step for p in why.paths for step in p.path)
    sweden_only = audit(fake.scan(), policy="sweden-only", today=TODAY)
    assert not [f for f in sweden_only.active_findings if f.rule != "coverage" and not f.all_laws]


def test_gcs_dual_region_is_judged_by_both_regions(tmp_path: Path) -> None:
    fake = (FakeProvider()
            .gcs_bucket("scans", location="gcp:EU", data_locations=["europe-north1", "us-east1"],
                        tags={"data-class": "lab"})
            .data("scans", tags={"data-class": "lab"}))
    result = audit(fake.scan(), policy="eea-only", today=TODAY)
    [finding] = result.active_findings
    assert (finding.node, finding.countries) == ("resource:gcp://storage.googleapis.com/scans", ("US",))
    [gap] = fake.deny("gcp:europe-north1").scan().gaps
    assert (gap.provider, gap.scope, gap.service, gap.operation) == (
        "gcp", "fake-project", "storage", "storage.buckets.list")


def test_progress_is_reported_for_every_resource() -> None:
    calls: list[tuple[str, int, int]] = []
    lab_estate().scan(progress=lambda label, done, total: calls.append((label, done, total)))
    assert calls == [("fake: resources", i, 3) for i in range(4)]


def test_scans_are_fresh_deterministic_and_counted() -> None:
    fake = lab_estate()
    first = fake.scan()
    again = (FakeProvider()
             .bucket("web", region="us-east-1")
             .bucket("lab-dr", region="eu-west-1", tags={"data-class": "lab"})
             .bucket("lab", region="eu-north-1", replicates_to=["arn:aws:s3:::lab-dr"],
                     tags={"data-class": "lab"})).scan()
    assert first == again
    fake.bucket("lab-dr", region="aws:eu-north-1", tags={"data-class": "lab"})
    moved = fake.scan()
    assert fake.scans == 2
    assert [p.location for r in moved.resources for p in r.placements if r.name == "lab-dr"] == [
        "aws:eu-north-1"]


def test_from_inventory_yaml_adds_to_a_declared_estate_and_errors_name_the_line() -> None:
    fake = FakeProvider.from_inventory("""\
version: 1
entities:
  - {id: region-x, name: Region X, country: SE}
resources:
  - id: archive
    name: Archive
    operator: region-x
    locations: [{country: SE}]
data:
  - id: journal
    name: Journal
    stored_in: [{resource: archive}, {tags: {data-class: lab}}]
""")
    estate = fake.bucket("lab", region="aws:eu-north-1", tags={"data-class": "lab"}).scan()
    assert [r.id for r in estate.resources] == ["archive", "arn:aws:s3:::lab"]
    assert not audit(estate, policy="sweden-only", today=TODAY).failed("low")
    with pytest.raises(InputError) as err:
        FakeProvider.from_inventory("version: 1\nresources:\n  - id: x\n    name: X\n    locations: []\n",
                                    origin="mine.yaml")
    assert str(err.value).startswith("mine.yaml:5: resources[0].locations")


def test_a_denial_hides_inventory_resources_too() -> None:
    fake = FakeProvider.from_inventory({"version": 1, "resources": [
        {"id": "r1", "name": "R1", "provider": "aws", "locations": [{"region": "aws:eu-west-1"}]}]})
    estate = fake.deny("aws:eu-west-1").scan()
    assert estate.resources == ()
    assert [g.operation for g in estate.gaps] == ["all reads"]


def test_bad_regions_are_refused() -> None:
    with pytest.raises(ValueError, match="not a location of aws"):
        FakeProvider().bucket("x", region="azure:westeurope")
    with pytest.raises(ValueError, match="namespace:code"):
        FakeProvider().deny("eu-west-1")


def test_a_failing_scan_raises_what_it_was_given() -> None:
    fake = FakeProvider().fail_with(TimeoutError("connect timeout"))
    with pytest.raises(TimeoutError):
        fake.scan()
    assert fake.scans == 1


def test_a_scheduled_job_fails_on_the_replica_and_passes_when_it_moves(tmp_path: Path) -> None:
    fake = lab_estate()
    estate_file = tmp_path / "estate.json"
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(LAB_POLICY, encoding="utf-8")
    argv = ["-q", "audit", "--estate", str(estate_file), "--policy", str(policy_file),
            "--format", "json", "--today", TODAY.isoformat(), "--fail-on", "high"]

    write_estate(fake.scan(), estate_file)
    out = io.StringIO()
    assert main(argv, stdout=out) == 1
    assert [f["node"] for f in json.loads(out.getvalue())["findings"]] == [
        "resource:aws:arn:aws:s3:::lab-dr"]

    fake.bucket("lab-dr", region="aws:eu-north-1", tags={"data-class": "lab"})
    write_estate(fake.scan(), estate_file)
    assert read_estate(estate_file) == fake.scan()
    assert main(argv, stdout=io.StringIO()) == 0


def test_a_nightly_run_and_its_diff_see_the_replica_move(tmp_path: Path) -> None:
    fake = (FakeProvider()
            .bucket("lab", region="aws:eu-north-1", replicates_to=["lab-dr"], tags={"data-class": "lab"})
            .bucket("lab-dr", region="aws:eu-west-1", tags={"data-class": "lab"})
            .data("lab-results", tags={"data-class": "lab"}))
    config = tmp_path / "residency.toml"
    config.write_text('policy = "eea-only"\nfail_on = "high"\n[sources]\nestates = ["estate.json"]\n'
                      '[[outputs]]\nformat = "json"\npath = "report.json"\n', encoding="utf-8")

    def night(day: str) -> int:
        write_estate(fake.scan(), tmp_path / "estate.json")
        return main(["-q", "run", "--config", str(config), "--today", day], stdout=io.StringIO())

    assert night("2026-11-24") == 0
    fake.bucket("lab-dr", region="aws:us-east-1", tags={"data-class": "lab"})
    assert night("2026-11-25") == 1
    out = io.StringIO()
    assert main(["-q", "diff", "--config", str(config), "--format", "json"], stdout=out) == 1
    diff = json.loads(out.getvalue())
    [moved] = diff["moved"]
    assert (moved["node"], moved["countries_added"], moved["countries_removed"]) == (
        "resource:aws:arn:aws:s3:::lab-dr", ["US"], ["IE"])
    assert [f["rule"] for f in diff["findings_new"]] == ["eea-only"]
