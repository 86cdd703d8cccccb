from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from residency_audit.errors import InputError
from residency_audit.model import CoverageGap, Severity
from residency_audit.pipeline import audit
from residency_audit.policy import is_foreign, load_policy, preset_names

from .estates import Estate, data, entity, resource

TODAY = dt.date(2026, 11, 24)


def test_presets_exist_and_load() -> None:
    assert {"eea-only", "sweden-only", "gdpr-transfers", "esam", "swedish-public-sector"} <= set(preset_names())
    for name in preset_names():
        assert load_policy(name).home == "SE"


def test_home_law_and_eu_law_are_not_foreign() -> None:
    assert not is_foreign("SE", "SE", {"SE", "DE"})
    assert not is_foreign("EU", "DE", {"SE", "DE"})
    assert is_foreign("EU", "NO", {"SE", "DE"})
    assert is_foreign("US", "SE", {"SE"})


def _estate(*locations: str, operator: str = "se-co", country: str = "SE") -> Estate:
    return Estate(entities=(entity(operator, country),),
                  resources=(resource("r", *locations, operator=operator),),
                  data=(data("d", resources=("r",)),))


def test_eea_only_flags_a_copy_outside_and_passes_inside() -> None:
    a = audit(_estate("aws:eu-north-1", "aws:us-east-1"), policy="eea-only", today=TODAY)
    [f] = [f for f in a.findings if f.rule == "eea-only"]
    assert f.countries == ("US",) and f.data == ("data:d",)
    ok = audit(_estate("aws:eu-north-1", "azure:westeurope"), policy="eea-only", today=TODAY)
    assert not [f for f in ok.findings if f.rule == "eea-only"]


def test_multi_region_zone_is_judged_by_every_member_country() -> None:
    a = audit(_estate("gcp:EU"), policy="sweden-only", today=TODAY)
    [f] = [f for f in a.findings if f.rule == "sweden-only"]
    assert "DE" in f.countries and "SE" not in f.countries
    assert not [f for f in audit(_estate("gcp:EU"), policy="eea-only", today=TODAY).findings
                if f.rule == "eea-only"]


def test_unknown_region_is_a_finding_not_a_pass() -> None:
    a = audit(_estate("aws:xx-nowhere-9"), policy="eea-only", today=TODAY)
    [f] = [f for f in a.findings if f.title == "Unknown location"]
    assert f.severity.rank >= Severity.HIGH.rank
    assert a.failed("high")


def test_transfers_adequacy_certification_and_declared_tools(tmp_path: Path) -> None:
    gb = audit(_estate("oci:uk-london-1"), policy="gdpr-transfers", today=TODAY)
    [f] = [f for f in gb.findings if f.rule == "gdpr-transfers"]
    assert f.severity == Severity.INFO and "adequacy" in f.message
    us = audit(_estate("aws:us-east-1"), policy="gdpr-transfers", today=TODAY)
    [f] = [f for f in us.findings if f.rule == "gdpr-transfers"]
    assert f.severity == Severity.HIGH and "certified" in f.message
    certified = Estate(entities=(entity("us-co", "US"),),
                       resources=(resource("r", "aws:us-east-1", operator="us-co"),))
    certified = Estate(entities=(certified.entities[0].__class__(
        id="us-co", name="us-co", country="US", evidence=certified.entities[0].evidence,
        certifications=("dpf",)),), resources=certified.resources)
    [f] = [f for f in audit(certified, policy="gdpr-transfers", today=TODAY).findings
           if f.rule == "gdpr-transfers"]
    assert f.severity == Severity.INFO and "certified" in f.message


def test_esam_flags_reach_by_foreign_extraterritorial_law_only() -> None:
    a = audit(_estate("aws:eu-north-1", operator="us-co", country="US"), policy="esam", today=TODAY)
    reach = [f for f in a.findings if f.rule == "esam-foreign-reach"]
    assert {x for f in reach for x in f.laws} >= {"law:us-cloud-act", "law:us-fisa-702"}
    # The laws of one country that reach through one route are one finding, each law named once.
    [f] = [f for f in reach if f.node == "data:d"]
    assert f.path[0] in f.laws and f.path[-1] == "data:d" and f.route == "control"
    assert f.countries == ("SE",) and "within reach of" in f.message and "operator" in f.remedy
    home = audit(_estate("aws:eu-north-1"), policy="esam", today=TODAY)
    assert not [f for f in home.findings if f.rule == "esam-foreign-reach" and f.node == "data:d"
                and any(x.startswith("law:se-") for x in f.laws)]


def test_exceptions_apply_until_they_expire(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nhome: SE\nrules:\n  - id: eea\n    type: location\n    allowed: [EEA]\n"
        "exceptions:\n  - rule: eea\n    node: resource:onprem:r\n    reason: migration\n"
        "    expires: 2026-12-31\n")
    estate = _estate("aws:us-east-1")
    before = audit(estate, policy=policy, today=dt.date(2026, 12, 31))
    assert before.findings[0].exception.startswith("migration") and not before.failed("low")
    after = audit(estate, policy=policy, today=dt.date(2027, 1, 1))
    assert not after.findings[0].exception and after.failed("high")
    assert "expired on 2026-12-31" in after.findings[0].message


def test_scopes_select_by_data_category_and_tag(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nhome: SE\nrules:\n  - id: only-d\n    type: location\n    allowed: [SE]\n"
        "    scope: {data: [d]}\n  - id: tagged\n    type: location\n    allowed: [SE]\n"
        "    scope: {tags: {class: x}}\n")
    estate = Estate(entities=(entity("se-co", "SE"),),
                    resources=(resource("r", "aws:us-east-1", operator="se-co"),
                               resource("t", "aws:us-east-1", operator="se-co", tags={"class": "x"})),
                    data=(data("d", resources=("r",)),))
    a = audit(estate, policy=policy, today=TODAY)
    assert {(f.rule, f.node) for f in a.findings} == {("only-d", "resource:onprem:r"),
                                                      ("tagged", "resource:onprem:t")}


def test_coverage_gaps_become_findings() -> None:
    gap = CoverageGap(provider="aws", scope="111122223333", region="ap-east-1", service="s3",
                      operation="ListBuckets", error="AccessDenied")
    a = audit(Estate(gaps=(gap,)), policy="eea-only", today=TODAY)
    [f] = [f for f in a.findings if f.rule == "coverage" and f.node.startswith("gap:")]
    assert "AccessDenied" in f.message and f.node.startswith("gap:aws:111122223333:ap-east-1")
    # Nothing else was seen in that account: the scope itself was not read.
    [s] = [f for f in a.findings if f.node.startswith("scope:")]
    assert s.node == "scope:aws:111122223333" and s.severity == "high"


def test_bad_policy_file_names_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("name: p\nhome: SE\nrules:\n  - id: x\n    type: location\n    severity: urgent\n"
                   "    allowed: [EEA]\n")
    with pytest.raises(InputError) as err:
        load_policy(bad)
    assert f"{bad}:6: rules[0].severity:" in str(err.value)
    with pytest.raises(InputError, match="presets"):
        load_policy("no-such-preset")


def test_a_denied_region_hides_its_copies_and_both_become_coverage_findings() -> None:
    from residency_audit.testing import FakeProvider

    fake = (FakeProvider()
            .bucket("lab", region="aws:eu-north-1", replicates_to=["lab-dr"])
            .bucket("lab-dr", region="aws:us-east-1")
            .data("d", resources=["lab"]))
    seen = audit(fake.scan(), policy="eea-only", today=TODAY)
    assert [(f.rule, f.countries) for f in seen.findings] == [("eea-only", ("US",))]
    unseen = audit(fake.deny("aws:us-east-1").scan(), policy="eea-only", today=TODAY)
    assert not [f for f in unseen.findings if f.countries]  # no location is invented
    assert {(f.rule, f.title) for f in unseen.findings} >= {("coverage", "Not seen"),
                                                            ("coverage", "Copy not seen")}
    assert unseen.failed("high")


def test_expired_mitigation_stops_applying_and_is_reported() -> None:
    import dataclasses

    from .estates import mitigation

    base = Estate(entities=(entity("us-co", "US"),),
                  resources=(resource("vault", "country:SE", operator="us-co"),),
                  data=(data("d", resources=("vault",)),),
                  mitigations=(dataclasses.replace(mitigation("vault"), expires=dt.date(2026, 12, 31)),))
    before = audit(base, policy="esam", today=dt.date(2026, 12, 31))
    assert not [f for f in before.findings if f.node == "data:d"]
    assert before.mitigations and before.mitigations[0].kind == "customer-held-keys"
    after = audit(base, policy="esam", today=dt.date(2027, 1, 1))
    assert [f for f in after.findings if f.node == "data:d" and "law:us-cloud-act" in f.laws]
    [expired] = [f for f in after.findings if f.title == "Mitigation expired"]
    assert "2026-12-31" in expired.message
